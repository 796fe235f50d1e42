"""Map docks: any 2D map of an open dataset in a dock of its own, usable like a slicer.

A map is a channel of an image dataset (fitted parameter maps with their standard errors, reduced
chi-square and success mask; a levelled topography; an .sxm or Createc image) or a grid's per-pixel
parameter (Z, ...). Each dock holds a :class:`widgets.topography_panel.TopographyPanel` (channel, levelling
and colour-map choices) that is registered with the window as a map panel, so the shared crosshair, pinned
points, region and line-cut overlays and drawing, the features' context actions and export all work on it.
Several can be open at once; a dock's close button removes it, and closing a dataset closes its docks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer

from analysis.dataset import Frame, Grid, Image
from analysis.processing.levelling import level
from app.features.spares import Spare
from app.state.app_state import ViewState
from app.state.collections import MISSING
from app.state.edits import SetView
from widgets.topography_panel import LEVELLING, TopographyPanel

IMAGE = "image"
PARAM = "param"


@dataclass
class MapContent:
    """The 2D maps of one dataset: ``maps`` {name: (ny, nx) array} in ``frame``, with their units."""

    kind: str  # IMAGE (channels of an Image) or PARAM (per-pixel parameters of a Grid)
    maps: dict[str, np.ndarray]
    units: dict[str, str]
    frame: Frame
    valid: np.ndarray | None  # (ny, nx) bool of a grid, None for an image


def map_content(dataset: object) -> MapContent | None:
    """The 2D maps an Image (its channels) or a Grid (its per-pixel parameters) holds, else None."""
    if isinstance(dataset, Image):
        units = {n: dataset.unit(n) for n in dataset.channels}
        return MapContent(IMAGE, dict(dataset.channels), units, dataset.frame, None)
    if isinstance(dataset, Grid):
        shape = tuple(dataset.frame.shape)
        maps = {n: a for n, a in dataset.params.items() if np.shape(a) == shape}
        units = {n: dataset.param_units.get(n, "") for n in maps}
        valid = dataset.valid if np.shape(dataset.valid) == shape else None
        return MapContent(PARAM, maps, units, dataset.frame, valid)
    return None


def default_levelling(unit: str, dataset: Any = None) -> str:
    """Heights (metres) are plane-levelled by default; other maps (gaps, chi-square, ...) are shown as is,
    and so is a ``dataset`` that is itself the result of a levelling (its last provenance step) or lives in
    reciprocal space (a Fourier transform, whose amplitude has no tilt to remove)."""
    frame = getattr(dataset, "frame", None)
    if frame is not None and frame.reciprocal:
        return "none"
    prov = getattr(dataset, "provenance", None) or []
    if prov and isinstance(prov[-1], dict) and prov[-1].get("operation") == "level":
        return "none"
    return "plane" if unit == "m" else "none"


def display_map(values: np.ndarray, method: str, valid: np.ndarray | None = None) -> np.ndarray:
    """(ny, nx) float32 image shown for ``values`` with levelling ``method`` (``"none"``: the values)."""
    if method == "none":
        return np.array(values, dtype=np.float32)
    return level(np.asarray(values, dtype=np.float64), method, valid).astype(np.float32)


@dataclass(eq=False)
class MapDock:
    """One open map dock: map ``channel`` of dataset ``key`` shown in ``panel``."""

    number: int
    key: str
    channel: str
    levelling: str
    panel: TopographyPanel
    shown: object = field(default=None, repr=False)  # the dataset object last drawn
    view_key: str = ""  # key of its ViewState in state.views (default: the dock key)

    @property
    def dock_key(self) -> str:
        return self.view_key or f"map{self.number}"


class MapDocks(QObject):
    """Opens, refreshes and closes the map docks of the exploration controller."""

    def __init__(self, exploration: Any) -> None:
        super().__init__()
        self.ex = exploration
        self.window = exploration.window
        self.state = exploration.state
        self.docks: list[MapDock] = []
        self._numbers = 0
        self._opening = False
        #: a map panel built ahead while the window starts: the first map view (a batch fit's, a project's)
        #: does not build one in its turn
        self.spare = Spare(self.window, lambda: TopographyPanel("Map"))
        # a map view added to the state by another controller (e.g. a finished batch fit) gets its dock
        self.state.views.edited.connect(self._view_edited)
        self.state.view_edited.connect(self._field_edited)

    def _field_edited(self, vkey: str, name: str, _old: Any, new: Any) -> None:
        """A map view's levelling changed in the state (a user's choice, or its undo): show it."""
        md = next((d for d in self.docks if d.dock_key == vkey), None)
        if md is None:
            return
        if name == "levelling" and isinstance(new, str) and new != md.levelling:
            self.set_levelling(md, new)
        elif name == "colormap" and isinstance(new, str) and new != md.panel.colormap_name:
            md.panel.colormap_combo.setCurrentText(new)
        elif name == "levels" and isinstance(new, tuple) and md.panel.levels() != new:
            md.panel.set_levels(*new)

    def level_undoably(self, md: MapDock, method: str) -> None:
        """The user chose a levelling in the dock: one undoable step."""
        if method in LEVELLING and method != md.levelling and md.dock_key in self.state.views:
            text = f"Level {md.channel}: {LEVELLING[method].lower()}"
            self.state.undo.push(SetView(self.state, md.dock_key, text, levelling=method))

    def _view_edited(self, vkey: str, old: Any, new: Any) -> None:
        if old is not MISSING or new is MISSING or getattr(new, "kind", "") != "map" or self._opening:
            return
        if not any(d.dock_key == vkey for d in self.docks):
            if self.open(new.dataset, new.channel, view_key=vkey) is None:
                self.state.views.pop(vkey, None)

    # -- opening ------------------------------------------------------------------------------------
    def open(self, key: str, channel: str | None = None, view_key: str = "") -> MapDock | None:
        """Open map ``channel`` (default: the first) of dataset ``key`` in a new dock (for the state's
        view ``view_key`` when given, else with a view state of its own)."""
        entry = self.state.entries.get(key)
        content = map_content(entry.dataset) if entry is not None else None
        if entry is None or content is None or not content.maps:
            what = entry.label if entry is not None else key
            self.window.log("warning", f"{what} has no 2D map to open in a map view")
            return None
        if channel is None:
            channel = next(iter(content.maps))
        if channel not in content.maps:
            self.window.log("warning", f"{entry.label} has no map called {channel!r}")
            return None
        if np.shape(content.maps[channel]) != tuple(content.frame.shape):
            self.window.log(
                "warning",
                f"{entry.label}: {channel} has shape {np.shape(content.maps[channel])}, "
                f"its frame {tuple(content.frame.shape)}",
            )
            return None
        self._numbers += 1
        while (
            not view_key and f"map{self._numbers}" in self.window.dock_keys()
        ):  # a project's map kept its key
            self._numbers += 1
        panel = self.spare.take()  # the one built ahead, else a new one
        panel.title = f"Map {self._numbers}"
        panel.dataset_key = key
        panel.setObjectName(f"map-panel-{self._numbers}")
        levelling = default_levelling(content.units[channel], entry.dataset)
        adopted = self.state.views.get(view_key) if view_key else None
        if adopted is not None and adopted.levelling in LEVELLING:
            levelling = adopted.levelling  # the view came first (a project being opened): its levelling
        md = MapDock(self._numbers, key, channel, levelling, panel, view_key=view_key)
        if content.units[channel] != "m":
            panel.colormap_combo.setCurrentText("viridis")
        panel.channel_selected.connect(lambda name, m=md: self.set_channel(m, name))
        panel.levelling_selected.connect(lambda method, m=md: self.level_undoably(m, method))
        self._place(md)
        self.docks.append(md)
        if md.dock_key not in self.state.views:
            self._opening = True
            try:
                self.state.views[md.dock_key] = ViewState(
                    md.dock_key, key, channel, "map", colormap=panel.colormap_name, levelling=md.levelling
                )
            finally:
                self._opening = False
        panel.levels_changed.connect(lambda lo, hi, m=md: self._set_view(m, levels=(lo, hi)))
        panel.colormap_changed.connect(lambda name, m=md: self._set_view(m, colormap=name))
        self.render(md)
        self.ex.bind_map(panel)
        self.window.register_map_panel(panel)
        self.ex.refresh_overlays(panel)
        return md

    def _place(self, md: MapDock) -> None:
        """Next to the slicers (right of the last visible one); further map docks as tabs of the first."""
        w = self.window
        area = Qt.DockWidgetArea.TopDockWidgetArea
        had_maps = [d for d in self.docks if w.dock(d.dock_key).isVisible()]
        size = w.size()
        dock = w.add_dock(md.dock_key, self.title(md), md.panel, area, visible=False)
        slicers = [w.dock(s.dock_key) for s in self.ex.slicers if w.dock(s.dock_key).isVisible()]
        if had_maps:
            w.tabifyDockWidget(w.dock(had_maps[-1].dock_key), dock)
        elif len(slicers) >= 2:
            # a third column beside two slicers would not fit: it widened the window by itself
            w.tabifyDockWidget(slicers[-1], dock)
        else:
            if slicers:
                w.splitDockWidget(slicers[-1], dock, Qt.Orientation.Horizontal)
                width = max(w.width(), 800)
                shown = [*slicers[:2], dock]
                w.resizeDocks(shown, [int(0.6 * width / len(shown))] * len(shown), Qt.Orientation.Horizontal)
        dock.show()
        dock.raise_()
        if not (w.isMaximized() or w.isFullScreen()) and w.size() != size:
            w.resize(size)  # the window never grows by itself
        dock.installEventFilter(self)

    def title(self, md: MapDock) -> str:
        entry = self.state.entries.get(md.key)
        return f"Map {md.number}: {entry.label if entry else md.key}: {md.channel}"

    # -- content ------------------------------------------------------------------------------------
    def render(self, md: MapDock) -> None:
        """Show ``md``'s channel with its levelling (the dataset is read, never changed)."""
        entry = self.state.entries.get(md.key)
        content = map_content(entry.dataset) if entry is not None else None
        if entry is None or content is None or md.channel not in content.maps:
            return
        panel = md.panel
        md.shown = entry.dataset
        panel.set_channels(list(content.maps), md.channel)
        panel.set_levelling(md.levelling)
        panel.set_frame(content.frame)
        panel.set_value_label(md.channel, content.units.get(md.channel, ""))
        panel.set_image(display_map(content.maps[md.channel], md.levelling, content.valid))
        levelled = "" if md.levelling == "none" else f" ({LEVELLING[md.levelling].lower()} levelled)"
        panel.set_title_text(f"{entry.label}: {md.channel}{levelled}")
        self.window.dock(md.dock_key).setWindowTitle(self.title(md))

    def set_channel(self, md: MapDock, channel: str) -> None:
        entry = self.state.entries.get(md.key)
        content = map_content(entry.dataset) if entry is not None else None
        if content is None or channel not in content.maps or channel == md.channel:
            return
        md.channel = channel
        md.levelling = default_levelling(content.units.get(channel, ""), entry.dataset)  # type: ignore[union-attr]
        self._set_view(md, channel=channel, levels=None, levelling=md.levelling)
        self.render(md)

    def set_levelling(self, md: MapDock, method: str) -> None:
        if method in LEVELLING and method != md.levelling:
            md.levelling = method
            self._set_view(md, levelling=method)
            self.render(md)

    def _set_view(self, md: MapDock, **changes: Any) -> None:
        if md.dock_key in self.state.views:
            self.state.set_view(md.dock_key, **changes)

    def dock_for_panel(self, panel: object) -> MapDock | None:
        return next((d for d in self.docks if d.panel is panel), None)

    # -- closing ------------------------------------------------------------------------------------
    def close(self, md: MapDock) -> None:
        """Remove the dock (its overlays detach through ``map_panel_removed``)."""
        if md not in self.docks:
            return
        self.docks.remove(md)
        self.state.views.pop(md.dock_key, None)
        self.window.unregister_map_panel(md.panel)
        self.window.remove_dock(md.dock_key)

    def datasets_changed(self) -> None:
        """Close the docks whose dataset (or map) is gone; redraw those whose dataset was replaced."""
        for md in list(self.docks):
            entry = self.state.entries.get(md.key)
            content = map_content(entry.dataset) if entry is not None else None
            if entry is None or content is None or md.channel not in content.maps:
                self.close(md)
            elif entry.dataset is not md.shown:
                self.render(md)
            else:
                self.window.dock(md.dock_key).setWindowTitle(self.title(md))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # the dock's close button removes the map view (hiding it from the View menu keeps it)
        if event.type() == QEvent.Type.Close:
            keys = set(self.window.dock_keys())
            md = next(
                (d for d in self.docks if d.dock_key in keys and self.window.dock(d.dock_key) is obj), None
            )
            if md is not None:
                QTimer.singleShot(0, lambda m=md: self.close(m))
        return super().eventFilter(obj, event)
