"""Qt-free change signals for the application state, with batches that coalesce a burst of changes.

A :class:`Signal` calls its slots in connection order. Signals made with the same :class:`EventHub` can be
held together: inside ``with hub.batch():`` nothing is delivered; when the outermost batch ends, each
coalescing signal is delivered once with the arguments of its newest emission, and each keyed signal
(``coalesce=False``, e.g. ``edited(key, old, new)``) delivers every emission in order, so no edit is lost
and a view that only cares that *something* changed refreshes once. Deliveries keep the order of each
signal's first emission in the batch.

``with hub.batch(spread=queue):`` holds the same way, but when it ends each slot's delivery is handed to
``queue`` (e.g. :meth:`app.workers.turns.NextTurns.call`) instead of being called: a burst that makes many
views rebuild (a project opened) lets each view rebuild in an event-loop turn of its own, in the order the
batch would have delivered them. The state itself is complete when the block ends.
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
        self._spread: Callable[[Callable[[], Any]], Any] | None = None

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
    def batch(self, spread: Callable[[Callable[[], Any]], Any] | None = None) -> Iterator[None]:
        """Deliver the signals emitted inside the block once it ends (see the module docstring). With
        ``spread`` (outermost batch only) each slot's delivery is handed to it as a call to make later."""
        if spread is not None and self._depth == 0:
            self._spread = spread
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                spread, self._spread = self._spread, None
                if spread is None:
                    self._flush()
                else:
                    self._queue(spread)

    def _queue(self, spread: Callable[[Callable[[], Any]], Any]) -> None:
        """Hand every held delivery to ``spread``, one call per slot, then the ``later`` calls."""
        pending, self._pending = self._pending, {}
        for signal, calls in pending.items():
            for args in calls:
                signal.deliveries += 1
                for slot in list(signal._slots):
                    spread(lambda signal=signal, slot=slot, args=args: signal.deliver_to(slot, args))
        after, self._after = self._after, {}
        for fn in after:
            spread(fn)

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

    def deliver_to(self, slot: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Call one ``slot`` with ``args`` if it is still connected (a delivery spread over turns)."""
        if slot in self._slots:
            slot(*args)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return f"Signal({self.name!r}, {len(self._slots)} slots)"
