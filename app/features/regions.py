"""Regions feature: draw regions on maps, make them from a colour scale or clustering, average spectra.

``install(window)`` adds three docks (Regions list, Region spectra side by side for the co-registered
grids, Map correlation), an Analysis > Regions menu, a drawing overlay on every map panel and a context
action on each map. Regions live in ``window.state.regions`` ({id: :class:`analysis.maps.regions.Region`});
every edit goes through one undo stack (:class:`app.state.undo.UndoStack`) and then
``state.regions_changed`` is emitted, which refreshes the list, the overlays and the spectra.
Averaging and clustering run off the GUI thread; the newest request wins.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from analysis.channels import axis_label, default_channel, quantity_of
from analysis.dataset import Frame, Grid, Image
from analysis.errors import WorkbenchError
from analysis.maps.averaging import RegionAverage, region_average
from analysis.maps.clustering import cluster_spectra
from analysis.maps.correlation import correlate_maps, labels_from_masks, map_in_frame
from analysis.maps.normalisation import Normalisation, auto_offset, normalise
from analysis.maps.regions import (
    Geometry,
    Region,
    new_region_id,
    region_colour,
    regions_from_bands,
    regions_from_labels,
    resample_mask,
)
from analysis.store.region_io import (
    ATTACHMENT_NAME,
    SpectraBlock,
    regions_attachment,
    regions_from_attachment,
    write_masks_npz,
    write_spectra_csv,
)
from app.features.host import Host
from app.features.spares import Spare
from app.state.project_io import REGIONS
from app.state.undo import DELETE, DictEdit, Macro
from widgets.correlation_panel import CorrelationPanel
from widgets.region_dialogs import BandsDialog, ClusterDialog
from widgets.region_drawing import TOOLS, RegionDrawer, RegionShape
from widgets.region_list_panel import RegionListPanel, RegionRow
from widgets.region_spectra_panel import RegionCurve, RegionSpectraPanel, SpectraSettings, grid_plot


@dataclass(frozen=True)
class MapSource:
    """A 2D map the user can pick: values (ny, nx) float in ``frame``, with a label and unit."""

    key: str
    label: str
    values: np.ndarray | None  # None: a map panel whose first image has not arrived yet
    frame: Frame
    unit: str = ""


def spectral_channel(grid: Grid) -> str:
    """The channel averaged for a grid when nothing else says: :func:`analysis.channels.default_channel`."""
    return default_channel(grid)


def _average_job(
    tasks: list[tuple[str, Any, np.ndarray | None, dict[str, np.ndarray]]],
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, dict[str, RegionAverage]]:
    """tasks: (grid key, cube, valid, {region id: mask}) -> {grid key: {region id: average}}."""
    total = sum(len(m) for *_, m in tasks)
    done = 0
    out: dict[str, dict[str, RegionAverage]] = {}
    for key, cube, valid, masks in tasks:
        res = {}
        for rid, mask in masks.items():
            res[rid] = region_average(cube, mask, valid, cancel=cancel)
            done += 1
            if progress is not None:
                progress(done, total)
        out[key] = res
    return out


class RegionsController:
    """Binds the region widgets to ``window.state.regions`` through an undo stack."""

    def __init__(self, window: Host) -> None:
        self.window = window
        self.state = window.state
        self.undo = window.state.undo  # the session's one stack (Edit > Undo, Ctrl+Z)
        self.averages: dict[str, dict[str, RegionAverage]] = {}
        self.average_grids: list[str] = []
        self._avg_dirty = False
        self._avg_job: Any = None
        self._selected: list[str] = []
        self._highlight_mask: tuple[np.ndarray, Frame] | None = None
        self._correlation_frame: Frame | None = None
        self._maps_chosen = False  # the user picked the correlation maps (no more automatic pairing)
        self.last_correlation: Any = None
        self.drawers: dict[int, tuple[Any, RegionDrawer]] = {}
        self.bands_dialog: BandsDialog | None = None
        self.cluster_dialog: ClusterDialog | None = None

        self.list_panel = RegionListPanel()
        self.spectra_panel = RegionSpectraPanel()
        # the first grid's region spectra plot is built ahead while the window starts, not in its turn
        self._spare_plot = Spare(window, grid_plot)
        self.spectra_panel.make_plot = self._new_plot
        self.corr_panel = CorrelationPanel()
        window.add_dock("regions", "Regions", self.list_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        window.add_dock(
            "region_spectra", "Region spectra", self.spectra_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        window.add_dock(
            "correlation",
            "Map correlation",
            self.corr_panel,
            Qt.DockWidgetArea.RightDockWidgetArea,
            tabify_with="regions",
        )
        self._build_menu()
        window.dock("regions").raise_()

        self.undo.on_change(self._undo_changed)
        lp = self.list_panel
        lp.tool_requested.connect(self.set_tool)
        lp.rename_requested.connect(self.rename)
        lp.recolour_requested.connect(self.recolour)
        lp.delete_requested.connect(self.delete)
        lp.selection_changed.connect(self._list_selection)
        lp.undo_requested.connect(self.undo_edit)
        lp.redo_requested.connect(self.redo_edit)
        lp.bands_requested.connect(lambda: self.open_bands_dialog())
        lp.cluster_requested.connect(self.open_cluster_dialog)
        lp.export_requested.connect(lambda _kind: self._export_spectra_dialog())
        self.spectra_panel.settings_changed.connect(lambda _s: self.render_spectra())
        self.spectra_panel.channel_chosen.connect(self._channel_chosen)
        #: channel averaged per grid: the user's choice in the dock, else the slicer's (see channel_of)
        self.chosen_channel: dict[str, str] = {}
        self.average_channels: dict[str, str] = {}  # grid key -> channel the current averages are of
        self.state.viewed_channel_changed.connect(self._viewed_channel_changed)
        self.state.attachment_providers[REGIONS] = self.project_attachment  # saved with the project
        self.corr_panel.maps_changed.connect(self._maps_picked)
        self.corr_panel.selection_changed.connect(self._brushed)

        self.state.regions_changed.connect(self._regions_changed)
        self.state.datasets_changed.connect(self._datasets_changed)
        self.state.current_changed.connect(lambda _k: self._datasets_changed())
        for panel in window.map_panels():
            self._attach(panel)
        window.map_panel_added.connect(self._attach)
        removed = getattr(window, "map_panel_removed", None)
        if removed is not None:
            removed.connect(self._detach)
        self._datasets_changed()

    def _new_plot(self, title: str) -> Any:
        plot = self._spare_plot.take()
        plot.set_title(title)
        return plot

    # -- menu ---------------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        menu = self.window.menu("Analysis").addMenu("&Regions")
        self.menu = menu
        draw = menu.addMenu("Draw region")
        for tool in TOOLS:
            act = draw.addAction(tool.capitalize())
            act.triggered.connect(lambda _=False, t=tool: self.set_tool(t))
        menu.addAction("From a map's colour scale...").triggered.connect(lambda: self.open_bands_dialog())
        menu.addAction("From clustering of spectra...").triggered.connect(self.open_cluster_dialog)
        menu.addSeparator()
        menu.addAction("Delete all regions").triggered.connect(lambda: self.delete(list(self.state.regions)))
        menu.addSeparator()
        menu.addAction("Export region spectra (CSV)...").triggered.connect(self._export_spectra_dialog)
        menu.addAction("Export region masks (NPZ)...").triggered.connect(self._export_masks_dialog)
        menu.addAction("Save project with regions...").triggered.connect(self._save_project_dialog)
        menu.addAction("Import regions from a project...").triggered.connect(self._import_project_dialog)
        self._undo_changed()

    # -- map panels ---------------------------------------------------------------------------------
    def _attach(self, panel: Any) -> None:
        if id(panel) in self.drawers:
            return
        drawer = RegionDrawer(panel.view_box, getattr(panel, "image_item", None))
        drawer.drawn.connect(self.add_geometry)
        drawer.geometry_edited.connect(self.edit_geometry)
        drawer.region_clicked.connect(lambda rid: self.list_panel.select([rid]))
        drawer.tool_changed.connect(self._drawer_tool_changed)
        self.drawers[id(panel)] = (panel, drawer)
        add = getattr(panel, "add_context_action", None)
        if add is not None:
            add("Regions from this map's colour scale...", lambda x, y, p=panel: self.open_bands_dialog(p))
        # a map view switched to another map (channel, levelling): its name in the map lists follows
        for name in ("channel_selected", "levelling_selected"):
            sig = getattr(panel, name, None)
            if sig is not None:
                sig.connect(lambda *_a, p=panel: self._panel_map_changed(p))
        self._refresh_panel(panel, drawer)
        self._refresh_map_choices()

    def _panel_map_changed(self, panel: Any) -> None:
        if id(panel) in self.drawers:
            self._refresh_map_choices()

    def _detach(self, panel: Any) -> None:
        item = self.drawers.pop(id(panel), None)
        if item is not None:
            item[1].detach()
            self._refresh_map_choices()

    def drawer_for(self, panel: Any) -> RegionDrawer:
        return self.drawers[id(panel)][1]

    def set_tool(self, tool: str) -> None:
        """Activate a drawing tool on every map ("" for none)."""
        for _, d in self.drawers.values():
            d.set_tool(tool)
        self.list_panel.set_tool(tool)

    def _drawer_tool_changed(self, tool: str) -> None:
        if not tool:
            self.set_tool("")

    # -- region edits (all undoable) ----------------------------------------------------------------
    def _push(self, command: Any) -> None:
        self.undo.push(command)  # the evented collection tells every view

    def undo_edit(self) -> None:
        self.undo.undo()

    def redo_edit(self) -> None:
        self.undo.redo()

    def _next_name(self) -> str:
        used = {r.name for r in self.state.regions.values()}
        i = 1
        while f"Region {i}" in used:
            i += 1
        return f"Region {i}"

    def add_geometry(self, geometry: Geometry) -> Region:
        r = Region(self._next_name(), region_colour(len(self.state.regions)), geometry=geometry)
        self._push(DictEdit(f"Add {r.name}", self.state.regions, r.id, r))
        return r

    def add_regions(self, regions: list[Region], text: str) -> None:
        # a name already taken (a second colour-scale split gives "Region 1" again) moves on to the next
        # free number of the same prefix, so every region in the list is told apart by its name
        used = {r.name for r in self.state.regions.values()}
        named = []
        for r in regions:
            if r.name in used:
                m = re.match(r"^(.*?)\s*\d+(?:\.\d+)?$", r.name)
                prefix = (m.group(1) if m else r.name) or "Region"
                i = 1
                while f"{prefix} {i}" in used:
                    i += 1
                r = r.with_changes(name=f"{prefix} {i}")
            used.add(r.name)
            named.append(r)
        regions = named
        if regions:
            self._push(Macro(text, [DictEdit(text, self.state.regions, r.id, r) for r in regions]))

    def edit_geometry(self, rid: str, geometry: Geometry) -> None:
        r = self.state.regions.get(rid)
        if r is None or r.geometry == geometry:
            return
        self._push(DictEdit(f"Reshape {r.name}", self.state.regions, rid, r.with_changes(geometry=geometry)))

    def rename(self, rid: str, name: str) -> None:
        r = self.state.regions.get(rid)
        if r is not None and name and name != r.name:
            self._push(DictEdit(f"Rename {r.name}", self.state.regions, rid, r.with_changes(name=name)))

    def recolour(self, rid: str, colour: tuple[int, int, int]) -> None:
        r = self.state.regions.get(rid)
        if r is not None and tuple(colour) != r.colour:
            self._push(DictEdit(f"Recolour {r.name}", self.state.regions, rid, r.with_changes(colour=colour)))

    def delete(self, ids: list[str]) -> None:
        ids = [i for i in ids if i in self.state.regions]
        if not ids:
            return
        text = f"Delete {self.state.regions[ids[0]].name}" if len(ids) == 1 else f"Delete {len(ids)} regions"
        self._push(Macro(text, [DictEdit(text, self.state.regions, i, DELETE) for i in ids]))

    def _undo_changed(self) -> None:
        u = self.undo
        self.list_panel.set_undo_state(u.can_undo, u.can_redo, u.undo_text, u.redo_text)

    # -- reference grid and grids shown side by side ------------------------------------------------
    def reference_key(self) -> str | None:
        return self.window.current_grid_key()

    def reference_frame(self) -> Frame | None:
        key = self.reference_key()
        if key is not None:
            return self.state.entries[key].dataset.frame  # type: ignore[union-attr]
        for panel, _ in self.drawers.values():
            if getattr(panel, "frame", None) is not None:
                return panel.frame
        return None

    def spectra_grids(self) -> list[str]:
        """Keys of the grids co-registered with the reference grid, widest sweep first (QP, Josephson)."""
        key = self.reference_key()
        if key is None:
            return []
        grids = [
            e for e in self.state.co_registered(key) if isinstance(e.dataset, Grid) and e.dataset.channels
        ]
        grids.sort(key=lambda e: -float(np.max(np.abs(e.dataset.bias))) if e.dataset.bias.size else 0.0)
        return [e.key for e in grids]

    def channel_of(self, key: str) -> str:
        """The channel averaged for grid ``key``: chosen in the dock, else shown in the slicer, else the
        default channel."""
        g: Grid = self.state.entries[key].dataset  # type: ignore[assignment]
        chosen = self.chosen_channel.get(key)
        if chosen in g.channels:
            return chosen  # type: ignore[return-value]
        ch = self.state.viewed_channel(key)
        if ch in g.channels:
            return ch
        return spectral_channel(g)

    def _show_channels(self) -> None:
        for key in self.spectra_panel.grid_keys():
            e = self.state.entries.get(key)
            if e is None or not isinstance(e.dataset, Grid):
                continue
            g = e.dataset
            labels = []
            for n in g.channel_names("fwd") or list(g.channels):
                unit = g.unit(n)
                labels.append((n, f"{n} ({unit + ', ' if unit else ''}{quantity_of(g, n)})"))
            self.spectra_panel.set_channels(key, labels, self.channel_of(key))

    def _channel_chosen(self, key: str, channel: str) -> None:
        self.chosen_channel[key] = channel
        self.recompute_averages()

    def _viewed_channel_changed(self, key: str, _channel: str) -> None:
        if key in self.spectra_panel.grid_keys() and key not in self.chosen_channel:
            self.recompute_averages()

    def _datasets_changed(self) -> None:
        keys = self.spectra_grids()
        self.spectra_panel.set_grids([(k, self.state.entries[k].label) for k in keys])
        self._show_channels()
        self._refresh_map_choices()
        self._regions_changed()

    def _refresh_map_choices(self, a: str | None = None, b: str | None = None) -> None:
        """Update the correlation map lists; by default pair the narrowest-sweep grid's map (x, e.g. the
        Josephson map) with the widest one's (y, e.g. the QP map)."""
        sources = self.map_sources(pending=True)
        if a is None and b is None and not self._maps_chosen:
            keys = self.spectra_grids()
            by_grid = {
                getattr(p, "dataset_key", None): f"panel:{id(p)}"
                for p, _ in self.drawers.values()
                if hasattr(p, "sweep_value")
            }
            if len(keys) >= 2 and keys[0] in by_grid and keys[-1] in by_grid:
                a, b = by_grid[keys[-1]], by_grid[keys[0]]
        self.corr_panel.set_map_choices([(s.key, s.label) for s in sources], a, b)

    # -- refresh ------------------------------------------------------------------------------------
    def _regions_changed(self) -> None:
        self._refresh_list()
        for panel, drawer in self.drawers.values():
            self._refresh_panel(panel, drawer)
        self.recompute_averages()

    def _refresh_list(self) -> None:
        frame = self.reference_frame()
        key = self.reference_key()
        valid = self.state.entries[key].dataset.valid if key is not None else None  # type: ignore[union-attr]
        rows = []
        for r in self.state.regions.values():
            pixels = invalid = 0
            if frame is not None:
                m = r.mask_in(frame)
                pixels = int(np.count_nonzero(m))
                if valid is not None and valid.shape == m.shape:
                    invalid = int(np.count_nonzero(m & ~valid))
            rows.append(RegionRow(r.id, r.name, r.colour, pixels, r.area_m2 * 1e18, invalid))
        self.list_panel.set_rows(rows)

    def _refresh_panel(self, panel: Any, drawer: RegionDrawer) -> None:
        shapes = [
            RegionShape(r.id, r.colour, r.geometry, r.id in self._selected)
            for r in self.state.regions.values()
        ]
        drawer.set_regions(shapes)
        frame = getattr(panel, "frame", None)
        if frame is None:
            drawer.set_mask_overlay([])
            drawer.set_highlight(None)
            return
        masks = [(r.mask_in(frame), r.colour) for r in self.state.regions.values() if r.geometry is None]
        drawer.set_mask_overlay(masks)
        if self._highlight_mask is not None:
            m, f = self._highlight_mask
            drawer.set_highlight(resample_mask(m, f, frame))
        else:
            drawer.set_highlight(None)

    def _list_selection(self, ids: list[str]) -> None:
        self._selected = list(ids)
        for _panel, drawer in self.drawers.values():
            drawer.set_regions(
                [RegionShape(r.id, r.colour, r.geometry, r.id in ids) for r in self.state.regions.values()]
            )

    # -- averaging ----------------------------------------------------------------------------------
    def recompute_averages(self) -> None:
        """Average every region over every co-registered grid, off the GUI thread.

        At most one job runs; a request made meanwhile marks the result stale and one new job starts when
        the running one ends (newest wins, requests never queue up).
        """
        if self._avg_job is not None:
            self._avg_dirty = True
            return
        self._avg_dirty = False
        keys = self.spectra_grids()
        regions = list(self.state.regions.values())
        if not keys or not regions:
            self.averages = {}
            self.average_grids = keys
            self.render_spectra()
            return
        tasks = []
        channels: dict[str, str] = {}
        self._show_channels()
        for k in keys:
            g: Grid = self.state.entries[k].dataset  # type: ignore[assignment]
            ch = channels[k] = self.channel_of(k)
            tasks.append((k, g.channels[ch], g.valid, {r.id: r.mask_in(g.frame) for r in regions}))
        self._avg_job = self.window.run_job(
            _average_job,
            tasks,
            name="Region spectra",
            on_finished=lambda res, keys=keys, chs=channels: self._averages_ready(keys, res, chs),
            on_failed=lambda _msg: self._averages_ended(),
            on_cancelled=self._averages_ended,
        )

    def _averages_ended(self) -> None:
        self._avg_job = None
        if self._avg_dirty:
            self.recompute_averages()

    def _averages_ready(
        self, keys: list[str], result: dict[str, dict[str, RegionAverage]], channels: dict[str, str]
    ) -> None:
        self._avg_job = None
        if self._avg_dirty:
            self.recompute_averages()
            return
        self.averages = result
        self.average_grids = keys
        self.average_channels = channels
        self.render_spectra()

    def is_busy(self) -> bool:
        return self._avg_job is not None

    def render_spectra(self) -> None:
        s: SpectraSettings = self.spectra_panel.settings()
        for key in self.spectra_panel.grid_keys():
            entry = self.state.entries.get(key)
            avgs = self.averages.get(key, {})
            if entry is None:
                continue
            g: Grid = entry.dataset  # type: ignore[assignment]
            ch = self.average_channels.get(key) or self.channel_of(key)
            regions = [r for r in self.state.regions.values() if r.id in avgs]
            if not regions:
                self.spectra_panel.set_curves(key, [])
                continue
            ys = np.vstack([avgs[r.id].mean for r in regions])
            sds = np.vstack([avgs[r.id].std for r in regions])
            norm = self._normalisation_for(g, s)
            try:
                ny_, nsd = normalise(g.bias, ys, norm, sds)
            except ValueError as exc:
                self.window.log(
                    "warning", f"Region spectra of {entry.label}: {exc}; shown without normalisation"
                )
                norm = Normalisation("none")
                ny_, nsd = normalise(g.bias, ys, norm, sds)
            step = auto_offset(ny_) if s.auto_offset else s.offset
            if s.auto_offset and key == self.spectra_panel.grid_keys()[0]:
                self.spectra_panel.set_offset_value(step)
            curves = []
            for i, r in enumerate(regions):
                a = avgs[r.id]
                curves.append(
                    RegionCurve(
                        r.id,
                        r.name,
                        r.colour,
                        g.bias,
                        ny_[i] + i * step,
                        None if nsd is None else nsd[i],
                        a.n_used,
                        a.n_invalid,
                    )
                )
            if norm.mode == "none":
                name, unit = axis_label(ch, g.unit(ch), g.sweep_signal)
                label = f"{name} ({unit})" if unit else name
            else:
                label = f"{axis_label(ch, g.unit(ch), g.sweep_signal)[0]}, normalised"
            self.spectra_panel.set_curves(key, curves, label)

    @staticmethod
    def _normalisation_for(g: Grid, s: SpectraSettings) -> Normalisation:
        if s.mode == "high_bias":
            vmax = float(np.max(np.abs(g.bias))) if g.bias.size else 0.0
            return Normalisation("high_bias", window=((1.0 - s.outer_fraction) * vmax * (1 - 1e-9), vmax))
        return Normalisation(s.mode, at=s.at)

    def spectra_blocks(self) -> list[SpectraBlock]:
        blocks = []
        for key in self.average_grids:
            if key not in self.averages or key not in self.state.entries:
                continue
            e = self.state.entries[key]
            g: Grid = e.dataset  # type: ignore[assignment]
            ch = self.average_channels.get(key) or self.channel_of(key)
            blocks.append(SpectraBlock(e.label, ch, g.unit(ch), g.bias, self.averages[key]))
        return blocks

    # -- map sources (bands and correlation) --------------------------------------------------------
    def map_sources(self, pending: bool = False) -> list[MapSource]:
        """Maps on display (each map panel's current image) and per-pixel maps of the open datasets.

        With ``pending`` the map panels whose image is not ready yet are listed too (values None), so a
        choice list can name them before their first image arrives.
        """
        out: list[MapSource] = []
        for panel, _ in self.drawers.values():
            img = panel.current_image() if hasattr(panel, "current_image") else None
            frame = getattr(panel, "frame", None)
            if img is None or frame is None or np.shape(img) != tuple(frame.shape):
                if pending and frame is not None:
                    label = f"{getattr(panel, 'title', 'Map')} (current image)"
                    out.append(MapSource(f"panel:{id(panel)}", label, None, frame))
                continue
            entry = self.state.entries.get(getattr(panel, "dataset_key", None) or "")
            what = getattr(panel, "value_label", "") or ""
            extra = ""
            if hasattr(panel, "sweep_text"):
                try:
                    extra = f" at {panel.sweep_text()}"
                except (IndexError, TypeError, ValueError):
                    extra = ""
            label = f"{getattr(panel, 'title', 'Map')}: {entry.label if entry else ''} {what}{extra}".strip()
            out.append(
                MapSource(
                    f"panel:{id(panel)}", label, np.asarray(img), frame, getattr(panel, "value_unit", "")
                )
            )
        for e in self.state.entries.values():
            ds = e.dataset
            if isinstance(ds, Grid):
                for name, arr in ds.params.items():
                    if np.shape(arr) == tuple(ds.frame.shape):
                        out.append(
                            MapSource(
                                f"param:{e.key}:{name}",
                                f"{e.label}: {name}",
                                arr,
                                ds.frame,
                                ds.param_units.get(name, ""),
                            )
                        )
            elif isinstance(ds, Image):
                for name, arr in ds.channels.items():
                    out.append(
                        MapSource(f"image:{e.key}:{name}", f"{e.label}: {name}", arr, ds.frame, ds.unit(name))
                    )
        return out

    def map_source(self, key: str) -> MapSource | None:
        return next((s for s in self.map_sources() if s.key == key), None)

    # -- regions from a colour scale ----------------------------------------------------------------
    def open_bands_dialog(self, panel: Any = None) -> BandsDialog:
        sources = self.map_sources()
        ranges = {}
        for s in sources:
            v = np.asarray(s.values, dtype=float)
            fin = v[np.isfinite(v)]
            if fin.size:
                ranges[s.key] = f"{fin.min():.4g} .. {fin.max():.4g} {s.unit}"
        current = f"panel:{id(panel)}" if panel is not None else None
        dlg = BandsDialog([(s.key, s.label) for s in sources], ranges, self.window, current=current)
        dlg.accepted.connect(lambda: self.apply_bands(dlg.request()))
        self.bands_dialog = dlg
        dlg.open()
        return dlg

    def apply_bands(self, req: Any) -> list[Region]:
        src = self.map_source(req.map_key)
        if src is None:
            self.window.log("error", "Regions from colour scale: the chosen map is no longer available")
            return []
        try:
            regions = regions_from_bands(
                src.values,
                src.frame,
                n=req.n,
                thresholds=req.thresholds or None,
                mode=req.mode,
                split_components=req.split_components,
                min_pixels=req.min_pixels,
                connectivity=req.connectivity,
            )
        except ValueError as exc:
            self.window.log("error", f"Regions from colour scale: {exc}")
            return []
        regions = [r.with_changes(origin={**r.origin, "map": src.label}) for r in regions]
        self.add_regions(regions, f"Regions from {src.label}")
        self.window.log("info", f"{len(regions)} regions from the colour scale of {src.label}")
        return regions

    # -- regions from clustering --------------------------------------------------------------------
    def open_cluster_dialog(self) -> ClusterDialog:
        grids = self.state.grids()
        dlg = ClusterDialog(
            [(e.key, e.label) for e in grids],
            {e.key: list(e.dataset.channels) for e in grids},
            {
                e.key: (float(e.dataset.bias[0]), float(e.dataset.bias[-1]))
                for e in grids
                if e.dataset.bias.size
            },
            self.window,
            current=self.reference_key(),
        )
        dlg.accepted.connect(lambda: self.apply_clustering(dlg.request()))
        self.cluster_dialog = dlg
        dlg.open()
        return dlg

    def apply_clustering(self, req: Any) -> Any:
        entry = self.state.entries.get(req.grid_key)
        if entry is None or not isinstance(entry.dataset, Grid):
            self.window.log("error", "Clustering: the chosen grid is no longer open")
            return None
        g: Grid = entry.dataset
        label = entry.label

        def done(res: Any) -> None:
            origin = {"method": res.method, "k": res.k, "window": list(res.window), "grid": label}
            regions = regions_from_labels(res.labels, g.frame, prefix="Cluster", origin=origin)
            self.add_regions(regions, f"Clusters of {label}")
            self.window.log("info", f"{len(regions)} regions from {res.method} clustering of {label}")

        return self.window.run_job(
            cluster_spectra,
            g.channels[req.channel],
            g.bias,
            req.k,
            window=req.window,
            method=req.method,
            valid=g.valid,
            n_components=req.n_components,
            seed=req.seed,
            name="Clustering",
            on_finished=done,
        )

    # -- correlation --------------------------------------------------------------------------------
    def _maps_picked(self, key_a: str, key_b: str) -> None:
        self._maps_chosen = True
        self.compute_correlation(key_a, key_b)

    def compute_correlation(self, key_a: str, key_b: str) -> Any:
        self._refresh_map_choices(key_a, key_b)
        a = self.map_source(key_a)
        b = self.map_source(key_b)
        if a is None or b is None:
            self.window.log("warning", "Correlation: a chosen map has no image yet")
            return None
        try:
            bvals = map_in_frame(b.values, b.frame, a.frame)
        except ValueError as exc:
            self.window.log("error", f"Correlation: {exc}")
            return None
        regions = list(self.state.regions.values())
        labels = labels_from_masks([r.mask_in(a.frame) for r in regions], a.frame.shape) if regions else None
        res = correlate_maps(a.values, bvals, labels)
        self.last_correlation = res
        self._correlation_frame = a.frame
        groups = {i: (r.name, r.colour) for i, r in enumerate(regions)}
        o = res.overall
        lines = [f"Pearson r = {o.pearson:.3f}, Spearman \u03c1 = {o.spearman:.3f} (n = {o.n})"]
        for i, c in res.per_label.items():
            lines.append(f"{regions[i].name}: r = {c.pearson:.3f}, \u03c1 = {c.spearman:.3f} (n = {c.n})")
        self.corr_panel.set_points(
            res.x, res.y, res.pixels, res.labels, groups, a.label, b.label, a.unit, b.unit, "\n".join(lines)
        )
        return res

    def _brushed(self, pixels: np.ndarray) -> None:
        frame = self._correlation_frame
        if frame is None or pixels.size == 0:
            self._highlight_mask = None
        else:
            m = np.zeros(frame.shape, dtype=bool)
            m.ravel()[pixels] = True
            self._highlight_mask = (m, frame)
        for panel, drawer in self.drawers.values():
            self._refresh_panel(panel, drawer)

    # -- export -------------------------------------------------------------------------------------
    def export_spectra_csv(self, path: str) -> int:
        return write_spectra_csv(path, self.spectra_blocks(), self.state.regions)

    def export_masks(self, path: str) -> None:
        frame = self.reference_frame()
        if frame is None:
            raise ValueError("no grid open to rasterise the regions in")
        write_masks_npz(path, list(self.state.regions.values()), frame)

    def project_attachment(self) -> Any:
        """The regions and their spectra as an :class:`analysis.store.Attachment` for the project file."""
        return regions_attachment(list(self.state.regions.values()), self.spectra_blocks())

    def save_project(self, path: str, on_finished: Callable[[Any], None] | None = None) -> Any:
        """Save every open dataset plus the regions and their spectra (attachment ``"regions"``) to a
        project file, off the GUI thread."""
        from analysis.store import ProjectEntry, save_project

        entries = [ProjectEntry(e.key, e.label, e.dataset, e.parent) for e in self.state.entries.values()]
        attachment = self.project_attachment()

        def done(result: Any) -> None:
            self.window.log(
                "info", f"Saved {len(entries)} datasets and {len(self.state.regions)} regions to {path}"
            )
            if on_finished is not None:
                on_finished(result)

        return self.window.run_job(
            save_project, path, entries, {ATTACHMENT_NAME: attachment}, name="Save project", on_finished=done
        )

    def import_regions(self, path: str) -> list[Region]:
        """Add (undoably) the regions stored in a project file's ``"regions"`` attachment."""
        from analysis.store import open_project

        try:
            with open_project(path) as project:
                att = project.attachments.get(ATTACHMENT_NAME)
                regions = regions_from_attachment(att) if att is not None else []
        except (OSError, ValueError, WorkbenchError) as exc:
            self.window.log("error", f"Could not read regions from {path}: {exc}")
            return []
        if not regions:
            self.window.log("warning", f"{path} holds no regions")
            return []
        existing = set(self.state.regions)
        regions = [r if r.id not in existing else r.with_changes(id=new_region_id()) for r in regions]
        self.add_regions(regions, f"Import {len(regions)} regions")
        return regions

    def _save_project_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save project with regions", "project.h5", "STS Workbench project (*.h5 *.hdf5)"
        )
        if path:
            self.save_project(path)

    def _import_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Import regions", "", "STS Workbench project (*.h5 *.hdf5);;All files (*)"
        )
        if path:
            self.import_regions(path)

    def _export_spectra_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export region spectra", "region_spectra.csv", "CSV (*.csv)"
        )
        if path:
            try:
                n = self.export_spectra_csv(path)
            except OSError as exc:
                self.window.log("error", f"Could not write {path}: {exc}")
            else:
                self.window.log("info", f"Wrote {n} rows of region spectra to {path}")

    def _export_masks_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export region masks", "region_masks.npz", "NumPy (*.npz)"
        )
        if path:
            try:
                self.export_masks(path)
            except (OSError, ValueError) as exc:
                self.window.log("error", f"Could not write {path}: {exc}")
            else:
                self.window.log("info", f"Wrote {len(self.state.regions)} region masks to {path}")


def install(window: Host) -> None:
    """Add the regions feature to the main window (``window.regions`` is its controller)."""
    window.regions = RegionsController(window)  # type: ignore[attr-defined]
