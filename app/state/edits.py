"""Undoable edits of the application state beyond one key of a collection (:class:`~app.state.undo.DictEdit`
covers regions, line cuts and fit records): pins, datasets made in the session, and view fields.

Each is a :class:`~app.state.undo.Command` pushed on ``AppState.undo``; ``redo`` applies it, ``undo``
restores what was there, and both go through the state's own methods, so every view hears of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analysis.dataset import Dataset
from app.state.app_state import AppState, DatasetEntry, PinnedPoint
from app.state.undo import Command


class AddPin(Command):
    """Pin (x, y) metres; undo unpins it, redo puts the same pin (key, colour) back."""

    def __init__(self, state: AppState, x: float, y: float) -> None:
        self.state = state
        self.xy = (float(x), float(y))
        self.text = f"Pin ({self.xy[0] * 1e9:.1f}, {self.xy[1] * 1e9:.1f}) nm"
        self.pin: PinnedPoint | None = None

    def redo(self) -> None:
        if self.pin is None:
            self.pin = self.state.pin(*self.xy)
        else:
            self.state.insert_pin(self.pin)

    def undo(self) -> None:
        if self.pin is not None:
            self.state.unpin(self.pin.key)


class RemovePins(Command):
    """Unpin ``keys``; undo puts them back where they were in the list."""

    def __init__(self, state: AppState, keys: Sequence[str]) -> None:
        self.state = state
        self.keys = [k for k in keys if state.pin_index(k) is not None]
        self.text = "Unpin a point" if len(self.keys) == 1 else f"Unpin {len(self.keys)} points"
        self.removed: list[tuple[int, PinnedPoint]] = []

    def redo(self) -> None:
        self.removed = []
        for key in self.keys:
            i = self.state.pin_index(key)
            if i is not None:
                self.removed.append((i, self.state.pinned[i]))
                self.state.unpin(key)

    def undo(self) -> None:
        for i, pin in reversed(self.removed):
            self.state.insert_pin(pin, i)


class AddDataset(Command):
    """Add a dataset made in the session (a derived channel, fitted maps); undo removes it (and what was
    derived from it), redo adds it back under the same key."""

    def __init__(self, state: AppState, dataset: Dataset, label: str, parent: str | None = None) -> None:
        self.state = state
        self.dataset = dataset
        self.label = label
        self.parent = parent
        self.key: str | None = None
        self.text = f"Add {label}"
        self._children: list[DatasetEntry] = []

    def redo(self) -> None:
        self.key = self.state.add_dataset(self.dataset, self.label, self.parent, key=self.key)
        for child in self._children:
            self.state.add_dataset(child.dataset, child.label, self.key, key=child.key)

    def undo(self) -> None:
        if self.key is not None and self.key in self.state.entries:
            self._children = self.state.children(self.key)
            self.state.remove_dataset(self.key)


class SetView(Command):
    """Change fields of one :class:`~app.state.app_state.ViewState` (levels, colour map, channel...)."""

    def __init__(self, state: AppState, key: str, text: str = "", **changes: Any) -> None:
        self.state = state
        self.key = key
        self.changes = changes
        self.old = {name: getattr(state.views[key], name) for name in changes}
        self.text = text or f"Change {', '.join(changes)}"

    def redo(self) -> None:
        if self.key in self.state.views:
            self.state.set_view(self.key, **self.changes)

    def undo(self) -> None:
        if self.key in self.state.views:
            self.state.set_view(self.key, **self.old)
