"""Exploration controller: data browser, topography, slicers and spectra bound to the shared state.

Positions are physical (metres), so a click in any map selects the same point in every co-registered map
(topography included) and the spectra of every co-registered grid at that point are plotted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from analysis.channels import preferred_channel
from analysis.dataset import BWD_SUFFIX, Grid, Image, Spectrum
from analysis.io.file_cube import FileCube
from analysis.processing.levelling import level
from app.features.host import Host
from app.features.map_docks import MapDocks, default_levelling
from app.features.slicers import SlicerController
from app.features.spares import Spare
from app.state.app_state import ViewState
from app.state.collections import MISSING
from app.state.edits import AddPin, RemovePins, SetView
from app.workers.slicing import BiasMajorCache
from app.workers.turns import NextTurns
from widgets.data_browser import DataBrowser
from widgets.map_view import MapView
from widgets.slicer_panel import SlicerPanel
from widgets.spectrum_panel import Curve, PlotSpec, SpectrumPanel
from widgets.topography_panel import TopographyPanel

TOPOGRAPHY_VIEW = "topography"  # key of the topography panel's view state


def _pixel_text(value: float, unit: str) -> str:
    if value is None or not np.isfinite(value):
        return "NaN"
    return pg.siFormat(float(value), suffix=unit, precision=4) if unit else f"{value:.5g}"


def pin_label(index: int, x: float, y: float) -> str:
    """How pin number ``index`` (0-based) is named in the pin list and in exports."""
    return f"Pin {index + 1}: x = {x * 1e9:.2f} nm, y = {y * 1e9:.2f} nm"


class Exploration:
    """Creates the exploration docks and keeps them in step with ``window.state``."""

    def __init__(self, window: Host) -> None:
        self.window = window
        self.state = window.state
        self.cache = BiasMajorCache()
        #: refreshes that follow a dataset or the current one changing run in event-loop turns of their own
        self.turns = NextTurns(window)
        self.slicers: list[SlicerController] = []
        self._slicer_numbers = 0
        self._seen: set[str] = set()
        self.auto_slicers = True
        self.plot_channel: dict[str, str] = {}
        self.explicit_plot_channel: set[str] = set()
        self.quantity = "didv"
        self.direction = "fwd"
        self.topo_key: str | None = None
        self.topo_channel: str | None = None
        self.topo_levelling = "plane"
        self.height_levelling = "plane"  # the user's levelling for heights; other maps are not levelled
        #: counts of curve redraws (all curves / the hover curve only), for tests and benchmarks
        self.curve_refreshes = 0
        self.hover_refreshes = 0
        self.last_slicer: SlicerController | None = None  # the slicer the user last clicked or changed
        #: a slicer panel built ahead while the window starts: the first slicer's turn does not build one
        self.spare_slicer = Spare(window, lambda: SlicerPanel("Slicer"))

        area = Qt.DockWidgetArea
        # Left column: data + topography; top: slicers side by side; bottom: spectra; right: feature docks.
        window.setCorner(Qt.Corner.TopLeftCorner, area.LeftDockWidgetArea)
        window.setCorner(Qt.Corner.BottomLeftCorner, area.LeftDockWidgetArea)
        window.setCorner(Qt.Corner.TopRightCorner, area.RightDockWidgetArea)
        window.setCorner(Qt.Corner.BottomRightCorner, area.RightDockWidgetArea)
        self.browser = DataBrowser()
        window.add_dock("browser", "Data", self.browser, area.LeftDockWidgetArea)
        self.topography = TopographyPanel()
        window.add_dock("topography", "Topography", self.topography, area.LeftDockWidgetArea)
        self.spectra = SpectrumPanel()
        window.add_dock("spectra", "Spectra", self.spectra, area.BottomDockWidgetArea)
        self.bind_map(self.topography)
        window.register_map_panel(self.topography)
        # any 2D map (fitted parameters, images, a grid's Z) in a dock of its own, used like a slicer
        self.map_docks = MapDocks(self)
        # the topography's levelling is state too (so a change is undoable)
        self.state.views[TOPOGRAPHY_VIEW] = ViewState(
            TOPOGRAPHY_VIEW, "", "", "topography", levelling=self.topo_levelling
        )
        self.state.view_edited.connect(self._topo_view_edited)
        self.topography.add_context_action(
            "Open this map in a new map view", lambda _x, _y: self._topography_to_map_view()
        )

        self.state.datasets_changed.connect(self._datasets_changed)
        self.state.current_changed.connect(self._current_changed)
        self.state.cursor_changed.connect(self._cursor_changed)
        self.state.hover_changed.connect(self._hover_changed)
        self.state.pinned_changed.connect(self._pins_changed)
        self._creating = False
        self.state.views.edited.connect(self._view_edited)

        self.browser.current_selected.connect(self.state.set_current)
        self.browser.channel_activated.connect(lambda k, c: self.new_slicer(k, c))
        self.browser.param_activated.connect(lambda k, name: self.open_map(k, name))
        self.browser.image_activated.connect(lambda k, name: self.open_map(k, name))
        self.browser.topography_requested.connect(self.show_in_topography)
        self.browser.remove_requested.connect(self.state.remove_dataset)
        self.topography.channel_selected.connect(self._topo_channel)
        self.topography.levelling_selected.connect(self._topo_levelling)
        self.spectra.channel_selected.connect(self._plot_channel_selected)
        self.spectra.direction_selected.connect(self._direction_selected)
        self.spectra.quantity_selected.connect(self._quantity_selected)
        self.spectra.bias_line_moved.connect(self._bias_line_moved)
        self.spectra.unpin_requested.connect(lambda k: self.state.undo.push(RemovePins(self.state, [k])))
        self.spectra.clear_pins_requested.connect(self._clear_pins)
        self.spectra.pin_selected_requested.connect(self._pin_cursor)
        self.pin_on_click = True
        self.spectra.pin_on_click_toggled.connect(lambda on: setattr(self, "pin_on_click", bool(on)))
        self.spectra.export_requested.connect(self._export_plot)

    # -- maps ---------------------------------------------------------------------------------------------
    def bind_map(self, panel: MapView) -> None:
        panel.hovered.connect(lambda xy, p=panel: self._map_hovered(p, xy))
        panel.clicked.connect(lambda x, y, p=panel: self._map_clicked(p, x, y))
        panel.pin_requested.connect(lambda x, y, p=panel: self.pin_point(p, x, y))
        panel.export_requested.connect(lambda kind, p=panel: self.window.exporter.export_map(p, kind))

    def open_map(self, key: str, name: str | None = None) -> Any:
        """Open map ``name`` of dataset ``key`` (an image channel or a grid parameter) in a new map view;
        returns its :class:`app.features.map_docks.MapDock` (None with a logged reason when it cannot)."""
        return self.map_docks.open(key, name)

    def _topography_to_map_view(self) -> None:
        if self.topo_key in self.state.entries and self.topo_channel:
            md = self.open_map(self.topo_key, self.topo_channel)
            if md is not None and md.levelling != self.topo_levelling:
                self.map_docks.set_levelling(md, self.topo_levelling)

    def _map_hovered(self, panel: MapView, xy: tuple[float, float] | None) -> None:
        self.state.set_hover(xy)
        self.window.readout.setText(self.readout_text(panel, xy))

    def _map_clicked(self, panel: MapView, x: float, y: float) -> None:
        """A click selects the point in every co-registered map and, with "Pin on click", pins it."""
        slicer = self.slicer_for_panel(panel)
        with self.state.batch():  # cursor and pin: the views refresh once
            if slicer is not None:
                self.note_viewed(slicer)
            self.state.set_cursor((x, y))
            if self.pin_on_click:
                self.pin_point(panel, x, y)

    def pin_point(self, panel: MapView, x: float, y: float) -> None:
        """Pin (x, y) unless a pin already sits on the same pixel of ``panel``'s frame."""
        frame = panel.frame
        if frame is not None:
            here = frame.nearest_pixel(x, y)
            if here is not None and any(frame.nearest_pixel(p.x, p.y) == here for p in self.state.pinned):
                return
        self.state.undo.push(AddPin(self.state, x, y))

    def readout_text(self, panel: MapView, xy: tuple[float, float] | None) -> str:
        """Status-bar text, most telling first: the value with its unit, the sweep point exactly as the
        slicer shows it, the position in nm (wave vector in 1/nm on a reciprocal map), the pixel index."""
        if xy is None or panel.frame is None:
            return ""
        parts = []
        pix = panel.frame.nearest_pixel(*xy)
        image = panel.current_image()
        if pix is not None and image is not None and pix[0] < image.shape[0] and pix[1] < image.shape[1]:
            parts.append(f"{panel.value_label} = {_pixel_text(image[pix], panel.value_unit)}")
        slicer = self.slicer_for_panel(panel)
        if slicer is not None and slicer.grid is not None:
            parts.append(f"{slicer.grid.sweep_signal} = {slicer.panel.sweep_text()}")
        if panel.frame.reciprocal:  # wave vectors (1/m) read in 1/nm
            parts.append(f"qx = {xy[0] * 1e-9:.3f} 1/nm, qy = {xy[1] * 1e-9:.3f} 1/nm")
        else:
            parts.append(f"x = {xy[0] * 1e9:.2f} nm, y = {xy[1] * 1e9:.2f} nm")
        if pix is not None:
            parts.append(f"pixel (ix {pix[1]}, iy {pix[0]})")
        return "  |  ".join(parts)

    # -- slicers ------------------------------------------------------------------------------------------
    def _view_edited(self, vkey: str, old: Any, new: Any) -> None:
        """A slicer view added to the state by another controller (a project being opened) gets its dock."""
        if old is not MISSING or new is MISSING or getattr(new, "kind", "") != "slicer" or self._creating:
            return
        if not any(s.dock_key == vkey for s in self.slicers):
            ctl = self.new_slicer(new.dataset, new.channel, view_key=vkey)
            if ctl is None:
                self.state.views.pop(vkey, None)
            else:
                ctl.apply_view(new.to_dict())

    def new_slicer(
        self,
        key: str | None = None,
        channel: str | None = None,
        value: float | None = None,
        view_key: str = "",
    ) -> SlicerController | None:
        """Open a slicer on grid ``key`` (default: the current grid) at sweep ``value`` (SI); ``view_key``
        names the state's view it shows when that view came first."""
        key = key or self.window.current_grid_key()
        entry = self.state.entries.get(key) if key else None
        if entry is None or not isinstance(entry.dataset, Grid):
            self.window.log("warning", "Open a grid first: a slicer shows a grid channel at one sweep point")
            return None
        grid = entry.dataset
        if grid.shape[2] == 0 or not grid.channels:
            self.window.log("warning", f"{entry.label} has no sweep points to slice")
            return None
        channel = channel if channel in grid.channels else preferred_channel(grid, self.quantity)
        self._slicer_numbers += 1
        self._creating = True
        try:
            ctl = SlicerController(
                self, self._slicer_numbers, key, channel, view_key, panel=self.spare_slicer.take()
            )
        finally:
            self._creating = False
        self._place_slicer_dock(ctl)
        self.slicers.append(ctl)
        self.bind_map(ctl.panel)
        self.window.register_map_panel(ctl.panel)
        self._refresh_overlays(ctl.panel)
        if value is None:
            value = 0.0 if grid.bias[0] <= 0 <= grid.bias[-1] else float(grid.bias[len(grid.bias) // 2])
        ctl.panel.set_index(grid.bias_index(value))
        ctl.request()
        self.turns.call(self._refresh_spectra)
        if len(self.slicers) <= 2:
            self.arrange_docks()
        return ctl

    def arrange_docks(self) -> None:
        """Share the space: data/topography column, the visible slicers side by side above the spectra,
        and the right column of feature docks."""
        w = self.window
        width, height = max(w.width(), 800), max(w.height(), 600)
        area = Qt.DockWidgetArea
        right = [
            d
            for k, d in w._docks.items()
            if w.dockWidgetArea(d) == area.RightDockWidgetArea and d.isVisible()
        ]
        shown = [w.dock(s.dock_key) for s in self.slicers if w.dock(s.dock_key).isVisible()][:2]
        side = 0.2 if right else 0.0
        docks, sizes = [w.dock("browser")], [int(0.2 * width)]
        for d in shown:
            docks.append(d)
            sizes.append(int((0.8 - side) * width / len(shown)))
        if right:
            docks.append(right[0])
            sizes.append(int(side * width))
        w.resizeDocks(docks, sizes, Qt.Orientation.Horizontal)
        w.resizeDocks(
            [w.dock("browser"), w.dock("topography")],
            [int(0.4 * height), int(0.6 * height)],
            Qt.Orientation.Vertical,
        )
        if shown:
            w.resizeDocks(
                [shown[0], w.dock("spectra")],
                [int(0.58 * height), int(0.42 * height)],
                Qt.Orientation.Vertical,
            )

    def _place_slicer_dock(self, ctl: SlicerController) -> None:
        w = self.window
        visible = [s for s in self.slicers if w.dock(s.dock_key).isVisible()]
        # a third slicer is tabbed before it is shown: shown first as a third column, its minimum width
        # widened the window (1600 -> 1747 px) and the tabs never gave the room back
        tab = visible[-1].dock_key if len(visible) > 1 else None
        dock = w.add_dock(
            ctl.dock_key, ctl.title(), ctl.panel, Qt.DockWidgetArea.TopDockWidgetArea, tabify_with=tab
        )
        if len(visible) == 1:
            w.splitDockWidget(w.dock(visible[0].dock_key), dock, Qt.Orientation.Horizontal)
        elif tab is not None:
            dock.raise_()

    def slicer_for_panel(self, panel: MapView) -> SlicerController | None:
        for s in self.slicers:
            if s.panel is panel:
                return s
        return None

    def note_viewed(self, slicer: SlicerController) -> None:
        """``slicer`` is the one the user looks at (clicked, or its channel changed): the state hears of it
        (the fit and region views follow the channel through ``state.viewed_channel_changed``)."""
        self.last_slicer = slicer
        self.state.note_viewed(slicer.key, slicer.channel)

    def viewed_channel(self, key: str) -> str:
        """The forward channel of grid ``key`` the user is looking at (see
        :meth:`app.state.AppState.viewed_channel`), else :func:`preferred_channel`."""
        entry = self.state.entries.get(key)
        if entry is None or not isinstance(entry.dataset, Grid | Spectrum):
            return ""
        return self.state.viewed_channel(key) or preferred_channel(entry.dataset)

    def slicers_for(self, key: str) -> list[SlicerController]:
        return [s for s in self.slicers if s.key == key]

    def close_slicer(self, ctl: SlicerController) -> None:
        ctl.shutdown()
        self.slicers.remove(ctl)
        self.window.unregister_map_panel(ctl.panel)
        self.window.remove_dock(ctl.dock_key)
        self._refresh_bias_lines()

    def slicer_bias_changed(self, ctl: SlicerController) -> None:
        self._refresh_bias_lines()

    def _bias_line_moved(self, line_id: str, value: float) -> None:
        for s in self.slicers:
            if s.dock_key == line_id:
                s.set_value(value)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        for s in self.slicers:
            s.shutdown(timeout_ms)

    def release_files(self) -> None:
        """The window is closing and its jobs are done: close the cache files of the display copies and of
        file-backed grid channels (their disk space is freed at once)."""
        self.turns.flush()
        self.cache.clear()
        for entry in self.state.entries.values():
            if isinstance(entry.dataset, Grid):
                for cube in entry.dataset.channels.values():
                    if isinstance(cube, FileCube):
                        cube.close()

    # -- datasets -----------------------------------------------------------------------------------------
    def _datasets_changed(self) -> None:
        entries = self.state.entries
        ordered: list[tuple[str, str, str | None, Any]] = []

        def add(key: str) -> None:
            e = entries[key]
            ordered.append((e.key, e.label, e.parent, e.dataset))
            for child in self.state.children(key):
                add(child.key)

        for e in entries.values():
            if e.parent is None or e.parent not in entries:
                add(e.key)
        self.browser.set_datasets(ordered)
        self.browser.set_current(self.state.current)
        for s in [s for s in self.slicers if s.key not in entries]:
            self.close_slicer(s)
        self.map_docks.datasets_changed()
        for key in list(self._seen - set(entries)):
            self.cache.forget(key)
            self.plot_channel.pop(key, None)
        new = [e for e in entries.values() if e.key not in self._seen]
        self._seen = set(entries)
        for e in new:
            if self.auto_slicers and e.parent is None and isinstance(e.dataset, Grid):
                self.new_slicer(e.key)
        if self.topo_key not in entries:
            self.turns.call(self._refresh_topography)
        self.turns.call(self._refresh_spectra)

    def _current_changed(self, key: str | None) -> None:
        self.browser.set_current(key)
        # at once when the user picks a dataset; in their own turns when new data are still being shown
        if key is not None and isinstance(self.state.entries[key].dataset, Grid | Image):
            self.turns.now_or_queued(self._refresh_topography)
        self.turns.now_or_queued(self._refresh_spectra)

    def focus_key(self) -> str | None:
        return self.state.current if self.state.current in self.state.entries else None

    # -- topography ---------------------------------------------------------------------------------------
    def _shows_in_topography(self, key: str) -> bool:
        """Whether selecting ``key`` moves the topography panel to it: a grid, an image file, a derived
        height map, or the dataset already shown. Derived maps of other quantities (fitted gaps, ...)
        open in map views and leave the topography on the sample's height."""
        entry = self.state.entries.get(key)
        if entry is None or not isinstance(entry.dataset, Grid | Image):
            return False
        if isinstance(entry.dataset, Grid) or entry.parent is None or key == self.topo_key:
            return True
        return any(entry.dataset.unit(n) == "m" for n in entry.dataset.channels)

    def _topo_source(self) -> tuple[str | None, dict[str, np.ndarray], dict[str, str]]:
        """(key, {name: 2D array}, units) of the dataset the topography panel should show."""
        key = self.state.current
        if key is None or not self._shows_in_topography(key):
            key = self.topo_key if self.topo_key in self.state.entries else None
        if key is None:
            candidates = [e for e in self.state.entries.values() if isinstance(e.dataset, Grid | Image)]
            key = candidates[0].key if candidates else None
        if key is None:
            return None, {}, {}
        ds = self.state.entries[key].dataset
        if isinstance(ds, Image):
            return key, dict(ds.channels), dict(ds.units)
        return key, dict(ds.params), dict(ds.param_units)  # type: ignore[union-attr]

    def _refresh_topography(self) -> None:
        key, maps, units = self._topo_source()
        panel = self.topography
        if key is None or not maps:
            self.topo_key = key
            panel.dataset_key = key
            panel.set_image(None)
            panel.set_channels([])
            panel.set_title_text("no topography in this dataset" if key else "")
            self.window.dock("topography").setWindowTitle("Topography")
            return
        ds = self.state.entries[key].dataset
        names = list(maps)
        if key != self.topo_key or self.topo_channel not in maps:
            topo_names = [n for n in names if n in ("Z", "Z (m)", "Topography")] or [
                n for n in names if units.get(n) == "m"
            ]
            self.topo_channel = topo_names[0] if topo_names else names[0]
            self._default_topo_levelling(units.get(self.topo_channel, ""), ds)
        self.topo_key = key
        panel.dataset_key = key
        panel.set_channels(names, self.topo_channel)
        z = np.asarray(maps[self.topo_channel], dtype=np.float64)
        valid = getattr(ds, "valid", None)
        if self.topo_levelling != "none":
            z = level(
                z,
                self.topo_levelling,
                valid if isinstance(valid, np.ndarray) and valid.shape == z.shape else None,
            )
        panel.set_frame(ds.frame)  # type: ignore[union-attr]
        unit = units.get(self.topo_channel, "")
        panel.set_value_label(self.topo_channel, unit)
        panel.set_image(z.astype(np.float32))
        panel.set_title_text("")
        self.window.dock("topography").setWindowTitle(f"Topography: {self.state.entries[key].label}")
        self._refresh_overlays(panel)

    def _topo_channel(self, name: str) -> None:
        self.topo_channel = name
        self._refresh_topography()

    def _topo_levelling(self, method: str) -> None:
        """The user chose a levelling for the topography: one undoable step through its view state."""
        if method == self.topo_levelling:
            return
        self.state.undo.push(
            SetView(self.state, TOPOGRAPHY_VIEW, f"Level topography: {method}", levelling=method)
        )

    def _topo_view_edited(self, vkey: str, name: str, _old: Any, new: Any) -> None:
        if vkey != TOPOGRAPHY_VIEW or name != "levelling" or new == self.topo_levelling:
            return
        self.topo_levelling = new
        self.topography.set_levelling(new)
        if self.topo_channel and self._topo_unit(self.topo_key, self.topo_channel) == "m":
            self.height_levelling = new
        self._refresh_topography()

    def _topo_unit(self, key: str | None, name: str) -> str:
        entry = self.state.entries.get(key or "")
        if entry is None:
            return ""
        ds = entry.dataset
        return ds.unit(name) if isinstance(ds, Image) else getattr(ds, "param_units", {}).get(name, "")

    def _default_topo_levelling(self, unit: str, dataset: Any = None) -> None:
        """Heights get the user's levelling, other maps (gaps, currents, ...) and maps that are already the
        result of a levelling (derived levelled images) none."""
        self.topo_levelling = self.height_levelling if default_levelling(unit, dataset) != "none" else "none"
        self.topography.set_levelling(self.topo_levelling)
        if TOPOGRAPHY_VIEW in self.state.views:
            self.state.set_view(TOPOGRAPHY_VIEW, levelling=self.topo_levelling)

    def show_in_topography(self, key: str, name: str) -> None:
        """Show map ``name`` of dataset ``key`` in the topography panel (levelled only if a height)."""
        self.topo_key = key
        self.topo_channel = name
        entry = self.state.entries.get(key)
        self._default_topo_levelling(self._topo_unit(key, name), entry.dataset if entry else None)
        self.state.set_current(key)
        self._refresh_topography()

    # -- cursor, hover and pins ---------------------------------------------------------------------------
    def _panels(self) -> list[MapView]:
        return self.window.map_panels()

    def _inside(self, panel: MapView, xy: tuple[float, float] | None) -> bool:
        return xy is not None and panel.frame is not None and panel.frame.nearest_pixel(*xy) is not None

    def refresh_overlays(self, panel: MapView) -> None:
        """Show the shared cursor and the pinned points that fall inside ``panel``'s frame."""
        self._refresh_overlays(panel)

    def _refresh_overlays(self, panel: MapView) -> None:
        cur = self.state.cursor
        panel.set_crosshair(cur if self._inside(panel, cur) else None)
        pins = [(p.x, p.y, p.color) for p in self.state.pinned if self._inside(panel, (p.x, p.y))]
        panel.set_markers(pins)

    def _cursor_changed(self, xy: tuple[float, float] | None) -> None:
        for panel in self._panels():
            panel.set_crosshair(xy if self._inside(panel, xy) else None)
        self.state.hub.later(self._refresh_curves)  # once per batch (a click also pins)

    def _hover_changed(self, _xy: tuple[float, float] | None) -> None:
        self._refresh_hover_curves()

    def _pins_changed(self) -> None:
        for panel in self._panels():
            self._refresh_overlays(panel)
        self.spectra.set_pins(
            [(p.key, pin_label(i, p.x, p.y), p.color) for i, p in enumerate(self.state.pinned)]
        )
        self.state.hub.later(self._refresh_curves)

    def _pin_cursor(self) -> None:
        if self.state.cursor is None:
            self.window.log(
                "info", "Click a map to select a point, then pin it (or Shift+click to pin at once)"
            )
            return
        x, y = self.state.cursor
        panel = next((p for p in self.window.map_panels() if self._inside(p, (x, y))), None)
        if panel is None:
            self.state.undo.push(AddPin(self.state, x, y))
        else:
            self.pin_point(panel, x, y)

    def _clear_pins(self) -> None:
        if self.state.pinned:
            self.state.undo.push(RemovePins(self.state, [p.key for p in self.state.pinned]))

    # -- spectra ------------------------------------------------------------------------------------------
    def spectrum_grids(self) -> list[str]:
        """Keys of the grids whose spectra are plotted: the grids co-registered with the current dataset."""
        key = self.focus_key()
        if key is None or not isinstance(self.state.entries[key].dataset, Grid | Image):
            grids = self.state.grids()
            if not grids:
                return []
            key = grids[0].key
        return [
            e.key for e in self.state.co_registered(key) if isinstance(e.dataset, Grid) and e.dataset.shape[2]
        ]

    def channel_for_plot(self, key: str) -> str:
        """The channel plotted for grid ``key``: the user's choice for that plot, else by quantity."""
        grid: Grid | Spectrum = self.state.entries[key].dataset  # type: ignore[assignment]
        chosen = self.plot_channel.get(key)
        if key in self.explicit_plot_channel and chosen in grid.channels:
            return chosen
        return preferred_channel(grid, self.quantity if self.quantity != "any" else "didv")

    def _refresh_spectra(self) -> None:
        specs = []
        for key in self.spectrum_grids():
            e = self.state.entries[key]
            grid: Grid = e.dataset  # type: ignore[assignment]
            channel = self.channel_for_plot(key)
            self.plot_channel[key] = channel
            specs.append(
                PlotSpec(
                    key,
                    e.label,
                    grid.channel_names("fwd"),
                    channel,
                    grid.sweep_signal,
                    grid.sweep_unit,
                    channel,
                    grid.unit(channel),
                )
            )
        focus = self.focus_key()
        if focus is not None and isinstance(self.state.entries[focus].dataset, Spectrum):
            e = self.state.entries[focus]
            sp: Spectrum = e.dataset  # type: ignore[assignment]
            channel = self.channel_for_plot(focus)
            self.plot_channel[focus] = channel
            specs.insert(
                0,
                PlotSpec(
                    focus,
                    e.label,
                    sp.channel_names("fwd"),
                    channel,
                    sp.x_name,
                    sp.x_unit,
                    channel,
                    sp.unit(channel),
                ),
            )
        self.spectra.set_plots(specs)
        self._refresh_curves()
        self._refresh_bias_lines()

    def _plot_channel_selected(self, key: str, channel: str) -> None:
        self.plot_channel[key] = channel
        self.explicit_plot_channel.add(key)
        self._refresh_spectra()

    def _quantity_selected(self, quantity: str) -> None:
        self.quantity = quantity
        self.explicit_plot_channel.clear()
        self._refresh_spectra()

    def _direction_selected(self, direction: str) -> None:
        self.direction = direction
        self._refresh_curves()

    def spectrum_at(self, key: str, channel: str, xy: tuple[float, float]) -> np.ndarray | None:
        """(nb,) spectrum of ``channel`` of grid ``key`` at the pixel containing ``xy``, or None."""
        grid: Grid = self.state.entries[key].dataset  # type: ignore[assignment]
        pix = grid.frame.nearest_pixel(*xy)
        if pix is None or channel not in grid.channels:
            return None
        return grid.spectrum(channel, *pix)

    def _curve_channels(self, key: str, grid: Grid | Spectrum) -> list[tuple[str, str, str]]:
        """(channel, id suffix, line style) of the curves drawn for grid ``key`` in the chosen direction."""
        base = self.plot_channel.get(key) or preferred_channel(grid)
        channels: list[tuple[str, str, str]] = []
        bwd = base + BWD_SUFFIX
        if self.direction in ("fwd", "both") or bwd not in grid.channels:
            channels.append((base, "", "solid"))
        if self.direction in ("bwd", "both") and bwd in grid.channels:
            channels.append((bwd, " bwd", "dash" if self.direction == "both" else "solid"))
        return channels

    def _point_curves(
        self,
        key: str,
        grid: Grid,
        channels: list[tuple[str, str, str]],
        points: list[tuple[str, tuple[float, float], tuple[int, int, int], float, str]],
    ) -> list[Curve]:
        curves: list[Curve] = []
        for cid, xy, colour, width, name in points:
            for channel, suffix, style in channels:
                y = self.spectrum_at(key, channel, xy)
                if y is not None:
                    label = f"{name} ({channel})" if len(channels) > 1 else name
                    curves.append(
                        Curve(cid + suffix, grid.bias, y, colour, width, style, label, cid != "hover")
                    )
        return curves

    def _hover_point(self) -> list[tuple[str, tuple[float, float], tuple[int, int, int], float, str]]:
        if self.state.hover is None:
            return []
        return [("hover", self.state.hover, (150, 150, 150), 1.2, "under the mouse")]

    def _refresh_curves(self) -> None:
        """Redraw every curve of every spectrum plot (pins, selected point, hover)."""
        self.curve_refreshes += 1
        for key in self.spectra.plot_keys():
            if key not in self.state.entries:
                continue
            grid: Grid = self.state.entries[key].dataset  # type: ignore[assignment]
            channels = self._curve_channels(key, grid)
            if isinstance(grid, Spectrum):  # a point spectrum: its own curve(s)
                sp = grid
                curves = []
                for channel, suffix, style in channels:
                    y = np.asarray(sp.channels[channel], dtype=np.float64)
                    curves.append(Curve("data" + suffix, sp.x, y, (30, 60, 160), 1.6, style, sp.x_name))
                self.spectra.set_curves(key, curves)
                continue
            points: list[tuple[str, tuple[float, float], tuple[int, int, int], float, str]] = []
            for i, p in enumerate(self.state.pinned):
                points.append((f"pin:{p.key}", (p.x, p.y), p.color, 1.6, pin_label(i, p.x, p.y)))
            if self.state.cursor is not None:
                cx, cy = self.state.cursor
                name = f"Selected: x = {cx * 1e9:.2f} nm, y = {cy * 1e9:.2f} nm"
                points.append(("cursor", self.state.cursor, (0, 0, 0), 2.2, name))
            points += self._hover_point()
            self.spectra.set_curves(key, self._point_curves(key, grid, channels, points))

    def _refresh_hover_curves(self) -> None:
        """Replace only the curve under the mouse in each plot (the pinned ones stay as they are)."""
        self.hover_refreshes += 1
        for key in self.spectra.plot_keys():
            entry = self.state.entries.get(key)
            if entry is None or not isinstance(entry.dataset, Grid):
                continue
            channels = self._curve_channels(key, entry.dataset)
            curves = self._point_curves(key, entry.dataset, channels, self._hover_point())
            self.spectra.update_curves(key, curves, prefix="hover")

    def _refresh_bias_lines(self) -> None:
        for key in self.spectra.plot_keys():
            lines = [(s.dock_key, s.sweep_value(), s.colour) for s in self.slicers if s.key == key]
            self.spectra.set_bias_lines(key, lines)

    def _export_plot(self, kind: str, key: str) -> None:
        item = self.spectra.plot_item(key)
        if item is not None:
            label = self.state.entries[key].label if key in self.state.entries else key
            self.window.exporter.export_plot(
                item, kind, name=f"spectra {label}", items=self.spectra.exported_items(key)
            )
