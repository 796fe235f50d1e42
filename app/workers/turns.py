"""Work spread over event-loop turns: :class:`NextTurns` runs queued refreshes later, one per turn.

When one change (a file opened, a project restored) makes several views refresh, doing it all at once
holds the GUI thread for the sum of their costs. Queued here instead, each refresh runs in an event-loop
turn of its own (input and painting are handled between them), and a refresh queued again before it ran
runs once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer


class NextTurns(QObject):
    """``call(fn)`` queues ``fn`` (once however often it is queued); each queued function runs in a later
    event-loop turn of its own, in queueing order. ``flush()`` runs everything still queued at once."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: dict[Callable[[], Any], None] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_one)

    def call(self, fn: Callable[[], Any]) -> None:
        self._queue[fn] = None
        if not self._timer.isActive():
            self._timer.start()

    def pending(self) -> bool:
        return bool(self._queue)

    def queued(self, fn: Callable[[], Any]) -> bool:
        return fn in self._queue

    def now_or_queued(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` now unless it is already queued (then it runs in its turn, once)."""
        if fn not in self._queue:
            fn()

    def _run_one(self) -> None:
        if not self._queue:
            return
        fn = next(iter(self._queue))
        del self._queue[fn]
        if self._queue:
            self._timer.start()
        fn()

    def flush(self) -> None:
        self._timer.stop()
        while self._queue:
            fn = next(iter(self._queue))
            del self._queue[fn]
            fn()
