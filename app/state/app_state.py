"""Application state shared by the views: plain Python objects with change signals (no Qt).

Widgets never read this module (they cannot import ``app``); controllers in ``app`` connect the signals
below to widget setters and widget Qt signals to the setters here. Positions are physical, in metres, so
one cursor, pinned point, region or line cut applies to every co-registered grid and image.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from analysis.dataset import Dataset, Grid, Image
from app.state.events import Signal

_ids = itertools.count(1)


@dataclass
class DatasetEntry:
    """A dataset open in the workbench. ``parent`` is the key of the dataset a derived one came from."""

    key: str
    dataset: Dataset
    label: str
    parent: str | None = None

    @property
    def kind(self) -> str:
        return self.dataset.kind


@dataclass
class PinnedPoint:
    """A pinned cursor position (metres) with the colour its spectra are drawn in."""

    key: str
    x: float
    y: float
    color: tuple[int, int, int]


PIN_COLOURS = [
    (228, 26, 28),
    (55, 126, 184),
    (77, 175, 74),
    (152, 78, 163),
    (255, 127, 0),
    (166, 86, 40),
    (247, 129, 191),
    (0, 0, 0),
]


@dataclass
class AppState:
    """Everything the views share. Mutate only through the methods, which emit the signals."""

    entries: dict[str, DatasetEntry] = field(default_factory=dict)
    current: str | None = None
    cursor: tuple[float, float] | None = None  # selected point (click), metres
    hover: tuple[float, float] | None = None  # point under the mouse, metres
    pinned: list[PinnedPoint] = field(default_factory=list)
    # Feature collections (regions, line cuts, fit records) keyed by id; their types live in analysis.
    regions: dict[str, Any] = field(default_factory=dict)
    linecuts: dict[str, Any] = field(default_factory=dict)
    fits: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.datasets_changed = Signal("datasets_changed")  # ()
        self.current_changed = Signal("current_changed")  # (key | None)
        self.cursor_changed = Signal("cursor_changed")  # (x, y) | None
        self.hover_changed = Signal("hover_changed")  # (x, y) | None
        self.pinned_changed = Signal("pinned_changed")  # ()
        self.regions_changed = Signal("regions_changed")  # ()
        self.linecuts_changed = Signal("linecuts_changed")  # ()
        self.fits_changed = Signal("fits_changed")  # ()
        self.message = Signal("message")  # (level: str, text: str)

    # -- datasets ---------------------------------------------------------------------------------
    def add_dataset(self, dataset: Dataset, label: str | None = None, parent: str | None = None) -> str:
        key = f"d{next(_ids)}"
        label = label or dataset.name or key
        self.entries[key] = DatasetEntry(key, dataset, label, parent)
        self.datasets_changed.emit()
        if self.current is None:
            self.set_current(key)
        return key

    def remove_dataset(self, key: str) -> None:
        doomed = {key} | {k for k, e in self.entries.items() if e.parent == key}
        for k in doomed:
            self.entries.pop(k, None)
        if self.current in doomed:
            self.set_current(next(iter(self.entries), None))
        self.datasets_changed.emit()

    def set_current(self, key: str | None) -> None:
        if key is not None and key not in self.entries:
            raise KeyError(key)
        if key != self.current:
            self.current = key
            self.current_changed.emit(key)

    def entry(self, key: str) -> DatasetEntry:
        return self.entries[key]

    def children(self, key: str) -> list[DatasetEntry]:
        return [e for e in self.entries.values() if e.parent == key]

    def grids(self) -> list[DatasetEntry]:
        return [e for e in self.entries.values() if isinstance(e.dataset, Grid)]

    def co_registered(self, key: str) -> list[DatasetEntry]:
        """Grids and images covering the same frame as ``key`` (itself included)."""
        base = self.entries[key].dataset
        frame = getattr(base, "frame", None)
        if frame is None:
            return [self.entries[key]]
        out = []
        for e in self.entries.values():
            other = getattr(e.dataset, "frame", None)
            if isinstance(e.dataset, Grid | Image) and other is not None and frame.same_area(other):
                out.append(e)
        return out

    # -- cursor and pins --------------------------------------------------------------------------
    def set_cursor(self, xy: tuple[float, float] | None) -> None:
        if xy != self.cursor:
            self.cursor = xy
            self.cursor_changed.emit(xy)

    def set_hover(self, xy: tuple[float, float] | None) -> None:
        if xy != self.hover:
            self.hover = xy
            self.hover_changed.emit(xy)

    def pin(self, x: float, y: float) -> PinnedPoint:
        colour = PIN_COLOURS[len(self.pinned) % len(PIN_COLOURS)]
        p = PinnedPoint(f"p{next(_ids)}", float(x), float(y), colour)
        self.pinned.append(p)
        self.pinned_changed.emit()
        return p

    def unpin(self, key: str) -> None:
        self.pinned = [p for p in self.pinned if p.key != key]
        self.pinned_changed.emit()

    # -- feature collections ----------------------------------------------------------------------
    def new_key(self, prefix: str) -> str:
        return f"{prefix}{next(_ids)}"

    def log(self, level: str, text: str) -> None:
        """level in {"info", "warning", "error"}."""
        self.message.emit(level, text)
