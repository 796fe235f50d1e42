"""Qt-free change signals for the application state, with batches that coalesce a burst of changes.

A :class:`Signal` calls its slots in connection order. Signals made with the same :class:`EventHub` can be
held together: inside ``with hub.batch():`` nothing is delivered; when the outermost batch ends, each
coalescing signal is delivered once with the arguments of its newest emission, and each keyed signal
(``coalesce=False``, e.g. ``edited(key, old, new)``) delivers every emission in order, so no edit is lost
and a view that only cares that *something* changed refreshes once. Deliveries keep the order of each
signal's first emission in the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class EventHub:
    """Holds the emissions of its signals while a batch is open (batches nest)."""

    def __init__(self) -> None:
        self._depth = 0
        self._flushing = False
        self._pending: dict[Signal, list[tuple[Any, ...]]] = {}
        self._after: dict[Callable[[], Any], None] = {}

    @property
    def holding(self) -> bool:
        return self._depth > 0

    def later(self, fn: Callable[[], Any]) -> None:
        """Call ``fn`` once the current batch has delivered all its signals (at once outside a batch).

        A view that hears several signals of one batch (the cursor moved *and* a pin was added) asks for
        its refresh here, and refreshes once."""
        if self._depth > 0 or self._flushing:
            self._after[fn] = None
        else:
            fn()

    def hold(self, signal: Signal, args: tuple[Any, ...]) -> None:
        queue = self._pending.setdefault(signal, [])
        if signal.coalesce:
            queue[:] = [args]
        else:
            queue.append(args)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Deliver the signals emitted inside the block once it ends (see the module docstring)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._flush()

    def _flush(self) -> None:
        # a slot may emit again while we deliver: those emissions are delivered at once (not held)
        self._flushing = True
        try:
            while self._pending:
                pending, self._pending = self._pending, {}
                for signal, calls in pending.items():
                    for args in calls:
                        signal.deliver(*args)
        finally:
            self._flushing = False
        while self._after:
            after, self._after = self._after, {}
            for fn in after:
                fn()


class Signal:
    """A list of callbacks; ``emit`` calls each with the given arguments, in connection order.

    With a ``hub``, emissions inside the hub's batch are held (coalesced to the newest unless
    ``coalesce=False``) and delivered when the batch ends.
    """

    def __init__(self, name: str = "", hub: EventHub | None = None, coalesce: bool = True) -> None:
        self.name = name
        self.hub = hub
        self.coalesce = coalesce
        self._slots: list[Callable[..., Any]] = []
        #: number of deliveries so far (what a test or a benchmark counts as refreshes)
        self.deliveries = 0

    def connect(self, slot: Callable[..., Any]) -> None:
        if slot not in self._slots:
            self._slots.append(slot)

    def disconnect(self, slot: Callable[..., Any]) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        if self.hub is not None and self.hub.holding:
            self.hub.hold(self, args)
        else:
            self.deliver(*args)

    def deliver(self, *args: Any) -> None:
        self.deliveries += 1
        for slot in list(self._slots):
            slot(*args)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return f"Signal({self.name!r}, {len(self._slots)} slots)"
