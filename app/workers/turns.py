"""Work spread over event-loop turns: :class:`NextTurns` runs queued refreshes later, one per turn.

When one change (a file opened, a project restored) makes several views refresh, doing it all at once
holds the GUI thread for the sum of their costs. Queued here instead, each refresh runs in an event-loop
turn of its own (input and painting are handled between them), and a refresh queued again before it ran
runs once.

Every :class:`NextTurns` of the application feeds one queue with one zero-interval timer. Qt fires each
due timer once per pass over its timers, so separate timers that are due together run in the same turn:
a slicer being built, a project's next step and a view's refresh would add up again. Through the shared
queue one call runs per turn, whichever queue it came from, in the order the calls were made.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer


class _Turns(QObject):
    """The application's queue of calls for later turns: (owner, function), one per timer firing."""

    def __init__(self) -> None:
        super().__init__()
        self._calls: deque[tuple[NextTurns, Callable[[], Any]]] = deque()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_one)

    def add(self, owner: NextTurns, fn: Callable[[], Any]) -> None:
        self._calls.append((owner, fn))
        if not self._timer.isActive():
            self._timer.start()

    def pending(self) -> bool:
        """Whether a call is queued other than those waiting to be last (see :meth:`NextTurns.call_last`)."""
        return any(not getattr(fn, "waits_to_be_last", False) for _owner, fn in self._calls)

    def _run_one(self) -> None:
        while self._calls:
            owner, fn = self._calls.popleft()
            # a call run by flush(), or whose owner is gone with its window, is skipped
            if shiboken6.isValid(owner) and owner.take(fn):
                if self._calls:
                    self._timer.start()
                fn()
                return


_shared: _Turns | None = None


def _turns() -> _Turns:
    global _shared
    if _shared is None or not shiboken6.isValid(_shared):
        _shared = _Turns()
    return _shared


class NextTurns(QObject):
    """``call(fn)`` queues ``fn`` (once however often it is queued); each queued function runs in a later
    event-loop turn of its own, in queueing order. ``flush()`` runs everything still queued at once."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: dict[Callable[[], Any], None] = {}

    def call(self, fn: Callable[[], Any]) -> None:
        if fn not in self._queue:
            self._queue[fn] = None
            _turns().add(self, fn)

    def pending(self) -> bool:
        return bool(self._queue)

    def call_last(self, fn: Callable[[], Any], limit: int = 200) -> None:
        """Queue ``fn`` to run once no other call is queued, from any queue of the application: after the
        turns that the calls queued before it queue in their turn (at most ``limit`` turns later)."""

        def last() -> None:
            nonlocal limit
            if _turns().pending() and limit > 0:
                limit -= 1
                self.call(last)
            else:
                fn()

        last.waits_to_be_last = True  # type: ignore[attr-defined]
        self.call(last)

    def queued(self, fn: Callable[[], Any]) -> bool:
        return fn in self._queue

    def now_or_queued(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` now unless it is already queued (then it runs in its turn, once)."""
        if fn not in self._queue:
            fn()

    def take(self, fn: Callable[[], Any]) -> bool:
        """Remove ``fn`` from the queue; False when it was not queued (it ran already)."""
        if fn in self._queue:
            del self._queue[fn]
            return True
        return False

    def cancel(self) -> None:
        """Drop everything still queued (its window is closing)."""
        self._queue.clear()

    def flush(self) -> None:
        while self._queue:
            fn = next(iter(self._queue))
            del self._queue[fn]
            fn()
