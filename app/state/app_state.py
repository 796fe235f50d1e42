"""Application state shared by the views: plain Python objects with change signals (no Qt).

Widgets never read this module (they cannot import ``app``); controllers in ``app`` connect the signals
below to widget setters and widget Qt signals to the setters here. Positions are physical, in metres, so
one cursor, pinned point, region or line cut applies to every co-registered grid and image.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from analysis.dataset import BWD_SUFFIX, Dataset, Grid, Image
from app.state.collections import EventedDict
from app.state.events import EventHub, Signal
from app.state.undo import UndoStack

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
class ViewState:
    """What one map view or slicer shows: the single source of truth for it (widgets mirror it).

    ``dataset``: key of the grid or image; ``channel``: its channel (a grid's) or map name (an image's or a
    parameter map's); ``index``: the sweep index a slicer shows (None for a 2D map); ``window``: number of
    sweep points averaged around it; ``levels``: (low, high) colour levels in the channel's SI unit, or
    None for automatic; ``colormap``: name of the colour map; ``levelling``: the levelling applied to a
    2D map (``analysis.processing.levelling`` method, ``"none"`` for none); ``kind``: ``"slicer"`` or
    ``"map"``.
    """

    key: str
    dataset: str
    channel: str
    kind: str = "slicer"
    index: int | None = None
    window: int = 1
    levels: tuple[float, float] | None = None
    colormap: str = "viridis"
    levelling: str = "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "dataset": self.dataset,
            "channel": self.channel,
            "kind": self.kind,
            "index": self.index,
            "window": self.window,
            "levels": list(self.levels) if self.levels is not None else None,
            "colormap": self.colormap,
            "levelling": self.levelling,
        }


VIEW_FIELDS = ("dataset", "channel", "index", "window", "levels", "colormap", "levelling")


@dataclass
class AppState:
    """Everything the views share. Mutate only through the methods and the evented collections, which
    emit the signals; ``with state.batch():`` coalesces a burst of changes (one click is one refresh).
    Datasets of every kind live in ``entries``: grids, images, spectra and transport series alike.

    Signals (Qt-free, :class:`app.state.events.Signal`):

    * ``datasets_changed()`` and ``dataset_edited(key, old, new)``, ``current_changed(key | None)``,
      ``cursor_changed(xy | None)``, ``hover_changed(xy | None)``, ``pinned_changed()`` and
      ``pin_edited(key, old, new)``;
    * ``regions``, ``linecuts``, ``fits``, ``views``, ``figures`` and ``fit_starts`` are
      :class:`app.state.collections.EventedDict` with ``edited(key, old, new)`` and ``changed()``
      (``regions_changed``, ``linecuts_changed`` and ``fits_changed`` are their ``changed``);
    * ``view_edited(view key, field, old, new)`` when one field of a :class:`ViewState` changes;
    * ``annotations``: an :class:`~app.state.collections.EventedDict` of the marks features keep on a
      dataset (picked Bragg peaks, the height profile line), edited through the undo stack.
    """

    entries: dict[str, DatasetEntry] = field(default_factory=dict)
    current: str | None = None
    cursor: tuple[float, float] | None = None  # selected point (click), metres
    hover: tuple[float, float] | None = None  # point under the mouse, metres
    pinned: list[PinnedPoint] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hub = EventHub()
        hub = self.hub
        #: the session's one undo stack: every user edit of the state goes through it
        self.undo = UndoStack(batch=hub.batch)
        # Feature collections keyed by id: regions (analysis.maps.regions.Region), line cuts
        # (analysis.maps.linecut.CutPath), fit records (analysis.fitting.entries, series fits), map views
        # and slicers (ViewState).
        self.regions: EventedDict[Any] = EventedDict("regions", hub)
        self.linecuts: EventedDict[Any] = EventedDict("linecuts", hub)
        self.fits: EventedDict[Any] = EventedDict("fits", hub)
        self.views: EventedDict[ViewState] = EventedDict("views", hub)
        #: figures of the composer (analysis.figures.description.FigureDescription), keyed ``fig...``;
        #: a changed figure is a new description under the same key (edits go through ``undo``)
        self.figures: EventedDict[Any] = EventedDict("figures", hub)
        #: model name -> {param: {value, min, max, vary, expr}}: the fit dock's start settings the user
        #: edited (or took from a fit result), through ``undo`` like every other edit
        self.fit_starts: EventedDict[dict[str, dict[str, Any]]] = EventedDict("fit_starts", hub)
        #: marks features keep on a dataset, saved with the project (see :func:`annotation_key`): key ->
        #: JSON-able dict with ``"kind"`` and ``"dataset"`` (the dataset key), e.g. picked Bragg peaks
        self.annotations: EventedDict[dict[str, Any]] = EventedDict("annotations", hub)
        self.datasets_changed = Signal("datasets_changed", hub)  # ()
        self.dataset_edited = Signal("dataset_edited", hub, coalesce=False)  # (key, old | None, new | None)
        self.current_changed = Signal("current_changed", hub)  # (key | None)
        self.cursor_changed = Signal("cursor_changed", hub)  # (x, y) | None
        self.hover_changed = Signal("hover_changed", hub)  # (x, y) | None
        self.pinned_changed = Signal("pinned_changed", hub)  # ()
        self.pin_edited = Signal("pin_edited", hub, coalesce=False)  # (key, old | None, new | None)
        self.view_edited = Signal("view_edited", hub, coalesce=False)  # (view key, field, old, new)
        #: attachment name -> callable returning the project attachment a feature adds to a save
        self.attachment_providers: dict[str, Callable[[], Any]] = {}
        #: attachment name -> callable ``restore(attachment, keys)`` that puts a feature's attachment of an
        #: opened project back (``keys``: old key -> new key of datasets, regions, cuts, fits, figures);
        #: returns warnings (texts)
        self.attachment_restorers: dict[str, Callable[[Any, dict[str, str]], list[str]]] = {}
        #: grid key -> the channel the user last looked at in a slicer of that grid
        self.viewed: dict[str, str] = {}
        self.viewed_channel_changed = Signal("viewed_channel_changed", hub)  # (grid key, channel)
        self.regions_changed = self.regions.changed  # ()
        self.linecuts_changed = self.linecuts.changed  # ()
        self.fits_changed = self.fits.changed  # ()
        self.message = Signal("message")  # (level: str, text: str), never held

    def batch(self, spread: Callable[[Callable[[], Any]], Any] | None = None) -> AbstractContextManager[None]:
        """``with state.batch():`` holds the signals and delivers each once when the block ends; with
        ``spread`` each view's delivery is handed to it to make later (see :mod:`app.state.events`)."""
        return self.hub.batch(spread)

    # -- views --------------------------------------------------------------------------------------------
    def note_viewed(self, key: str, channel: str) -> None:
        """The user looked at ``channel`` of grid ``key`` (clicked or changed a slicer showing it)."""
        if self.viewed.get(key) != channel:
            self.viewed[key] = channel
            self.viewed_channel_changed.emit(key, channel)

    def viewed_channel(self, key: str) -> str:
        """The forward channel of grid ``key`` the user is looking at: that of the slicer last clicked or
        changed, else of the newest slicer of the grid; "" when no slicer shows the grid."""
        entry = self.entries.get(key)
        if entry is None or not hasattr(entry.dataset, "channels"):
            return ""
        channels = entry.dataset.channels
        shown = [v.channel for v in self.views.values() if v.kind == "slicer" and v.dataset == key]
        shown = [c for c in shown if c in channels]
        noted = self.viewed.get(key)
        ch = noted if noted in shown else (shown[-1] if shown else "")
        if ch.endswith(BWD_SUFFIX) and ch[: -len(BWD_SUFFIX)] in channels:
            ch = ch[: -len(BWD_SUFFIX)]
        return ch

    def set_view(self, key: str, **changes: Any) -> None:
        """Change fields of view ``key`` (see :data:`VIEW_FIELDS`); emits ``view_edited`` per changed
        field and ``views.changed`` once."""
        view = self.views[key]
        bad = set(changes) - set(VIEW_FIELDS)
        if bad:
            raise KeyError(f"not a view field: {sorted(bad)}")
        with self.batch():
            for name, value in changes.items():
                if name == "levels" and value is not None:
                    value = (float(value[0]), float(value[1]))
                old = getattr(view, name)
                if old != value:
                    setattr(view, name, value)
                    self.view_edited.emit(key, name, old, value)
                    self.views.changed.emit()

    # -- datasets ---------------------------------------------------------------------------------
    def add_dataset(
        self, dataset: Dataset, label: str | None = None, parent: str | None = None, key: str | None = None
    ) -> str:
        """Add ``dataset`` under a new key (or ``key``, when an undone addition is redone)."""
        if key is None or key in self.entries:
            key = f"d{next(_ids)}"
        label = label or dataset.name or key
        self.entries[key] = DatasetEntry(key, dataset, label, parent)
        self.dataset_edited.emit(key, None, self.entries[key])
        self.datasets_changed.emit()
        if self.current is None:
            self.set_current(key)
        return key

    def remove_dataset(self, key: str) -> None:
        doomed = {key} | {k for k, e in self.entries.items() if e.parent == key}
        for k in doomed:
            gone = self.entries.pop(k, None)
            if gone is not None:
                self.dataset_edited.emit(k, gone, None)
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
        """Pin (x, y) metres with the next colour (not undoable; see :class:`app.state.edits.AddPin`)."""
        colour = PIN_COLOURS[len(self.pinned) % len(PIN_COLOURS)]
        p = PinnedPoint(f"p{next(_ids)}", float(x), float(y), colour)
        self.insert_pin(p)
        return p

    def insert_pin(self, pin: PinnedPoint, index: int | None = None) -> None:
        """Put ``pin`` back (at ``index``, default last): what undoing a removal does."""
        self.pinned.insert(len(self.pinned) if index is None else index, pin)
        self.pin_edited.emit(pin.key, None, pin)
        self.pinned_changed.emit()

    def unpin(self, key: str) -> None:
        gone = [p for p in self.pinned if p.key == key]
        if not gone:
            return
        self.pinned = [p for p in self.pinned if p.key != key]
        self.pin_edited.emit(key, gone[0], None)
        self.pinned_changed.emit()

    def pin_index(self, key: str) -> int | None:
        return next((i for i, p in enumerate(self.pinned) if p.key == key), None)

    # -- feature collections ----------------------------------------------------------------------
    def new_key(self, prefix: str) -> str:
        return f"{prefix}{next(_ids)}"

    def log(self, level: str, text: str) -> None:
        """level in {"info", "warning", "error"}."""
        self.message.emit(level, text)


def annotation_key(kind: str, dataset: str) -> str:
    """The key in ``AppState.annotations`` of the mark of ``kind`` on ``dataset``."""
    return f"{kind}:{dataset}"


class AnnotationMap(MutableMapping[str, Any]):
    """The ``field`` of the annotations of one ``kind``, as ``{dataset key: value}`` over
    ``state.annotations`` (so a :class:`~app.state.undo.DictEdit` on it is an undoable state edit)."""

    def __init__(self, state: AppState, kind: str, field_name: str) -> None:
        self.state = state
        self.kind = kind
        self.field = field_name

    def _keys(self) -> list[tuple[str, str]]:
        return [
            (k, v["dataset"])
            for k, v in self.state.annotations.items()
            if v.get("kind") == self.kind and isinstance(v.get("dataset"), str)
        ]

    def __getitem__(self, dataset: str) -> Any:
        v = self.state.annotations.get(annotation_key(self.kind, dataset))
        if v is None or self.field not in v:
            raise KeyError(dataset)
        return v[self.field]

    def __setitem__(self, dataset: str, value: Any) -> None:
        self.state.annotations[annotation_key(self.kind, dataset)] = {
            "kind": self.kind,
            "dataset": dataset,
            self.field: value,
        }

    def __delitem__(self, dataset: str) -> None:
        del self.state.annotations[annotation_key(self.kind, dataset)]

    def __iter__(self) -> Iterator[str]:
        return iter([d for _k, d in self._keys()])

    def __len__(self) -> int:
        return len(self._keys())
