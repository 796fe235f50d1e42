"""Line-cut feature: draw a line or polyline on any map, see the cut through every co-registered grid.

``install(window)`` adds the "Line cuts" dock (:class:`widgets.linecut_panel.LineCutPanel`: top view,
waterfall and 3D surface, one column per co-registered grid, narrowest sweep first so a Josephson grid
sits left of its QP grid as in [JSTM] Fig. 6), the "Cut profile" dock (:class:`widgets.profile_panel.
ProfilePanel`), an Analysis > Line cuts menu, a line-cut drawer on every map panel and a context action on
each map. Cuts live in ``window.state.linecuts`` ({id: :class:`analysis.maps.linecut.CutPath`}, positions in
metres) and ``state.linecuts_changed`` refreshes the overlays and the views. The cuts are computed off the
GUI thread (newest request wins); hovering a cut view sets ``state.hover`` to that point, which marks it
on every map and plots its spectra.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from analysis.channels import preferred_channel
from analysis.dataset import Grid, Image
from analysis.errors import WorkbenchError
from analysis.maps.linecut import (
    CutPath,
    LineCut,
    cut_path,
    peak_height,
    position_at,
    project_onto_path,
    value_at,
    write_cut_csv,
)
from analysis.maps.profile_fit import fit_profile
from app.features.host import Host
from app.state.undo import DELETE, DictEdit, Macro
from widgets.linecut_drawing import CutShape, LineCutDrawer
from widgets.linecut_panel import CutColumn, CutSettings, LineCutPanel
from widgets.profile_panel import ProfilePanel, ProfileRequest, ProfileSource
from widgets.slicer_panel import format_sweep

CUT_COLOURS = [(255, 80, 0), (0, 200, 255), (255, 0, 200), (120, 255, 0), (255, 220, 0), (160, 100, 255)]


def _cut_job(
    tasks: list[tuple[str, Grid, str]],
    path: CutPath,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, LineCut]:
    """tasks: (grid key, grid, channel) -> {grid key: the cut along ``path``}."""
    out: dict[str, LineCut] = {}
    for i, (key, grid, channel) in enumerate(tasks):
        out[key] = cut_path(grid, path, channel=channel, cancel=cancel)
        if progress is not None:
            progress(i + 1, len(tasks))
    return out


class LineCutController:
    """Binds the drawers, the line-cut panel and the profile panel to ``window.state.linecuts``."""

    def __init__(self, window: Host) -> None:
        self.window = window
        self.state = window.state
        self.current: str | None = None
        self.anchor: dict[str, str] = {}  # cut id -> key of the dataset whose map it was drawn on
        self.quantity = "didv"
        self.results: dict[str, LineCut] = {}
        self.result_cut: CutPath | None = None
        self.drawers: dict[int, tuple[Any, LineCutDrawer]] = {}
        self._job: Any = None
        self._generation = 0
        self._pending = False
        self._colours: dict[str, tuple[int, int, int]] = {}

        self.panel = LineCutPanel()
        self.profile = ProfilePanel()
        window.add_dock("linecuts", "Line cuts", self.panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        window.add_dock("profile", "Cut profile", self.profile, Qt.DockWidgetArea.RightDockWidgetArea)
        self._build_menu()

        self.panel.draw_requested.connect(self.set_tool)
        self.panel.cut_selected.connect(self.select)
        self.panel.delete_requested.connect(self.delete)
        self.panel.settings_changed.connect(self._settings_changed)
        self.panel.hovered.connect(self._cut_hovered)
        self.profile.request_changed.connect(lambda _r: self.refresh_profile())
        self.profile.fit_requested.connect(self.fit)
        self.profile.hovered.connect(self._cut_hovered)

        self.state.linecuts_changed.connect(self._linecuts_changed)
        self.state.datasets_changed.connect(self._datasets_changed)
        self.state.hover_changed.connect(self._hover_changed)
        for panel in window.map_panels():
            self._attach(panel)
        window.map_panel_added.connect(self._attach)
        removed = getattr(window, "map_panel_removed", None)
        if removed is not None:
            removed.connect(self._detach)

    # -- menu -------------------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        menu = self.window.menu("Analysis").addMenu("&Line cuts")
        self.menu = menu
        line = QAction("Draw line cut", self.window)
        line.setShortcut(QKeySequence("Ctrl+Shift+L"))
        line.triggered.connect(lambda: self.set_tool("line"))
        menu.addAction(line)
        menu.addAction("Draw polyline cut").triggered.connect(lambda: self.set_tool("polyline"))
        menu.addSeparator()
        menu.addAction("Export current cut (CSV)...").triggered.connect(self._export_dialog)
        menu.addSeparator()
        menu.addAction("Delete current cut").triggered.connect(lambda: self.delete(self.current))
        menu.addAction("Delete all cuts").triggered.connect(self.delete_all)

    # -- map panels -----------------------------------------------------------------------------------
    def _attach(self, panel: Any) -> None:
        if id(panel) in self.drawers or getattr(panel, "view_box", None) is None:
            return
        drawer = LineCutDrawer(panel.view_box)
        drawer.drawn.connect(lambda verts, p=panel: self.add_cut(verts, getattr(p, "dataset_key", None)))
        drawer.edited.connect(self.edit_cut)
        drawer.cut_clicked.connect(self.select)
        drawer.tool_changed.connect(self._drawer_tool_changed)
        self.drawers[id(panel)] = (panel, drawer)
        add = getattr(panel, "add_context_action", None)
        if add is not None:
            add("Draw a line cut", lambda _x, _y: self.set_tool("line"))
            add("Draw a polyline cut", lambda _x, _y: self.set_tool("polyline"))
        drawer.set_cuts(self._shapes())

    def _detach(self, panel: Any) -> None:
        item = self.drawers.pop(id(panel), None)
        if item is not None:
            item[1].detach()

    def drawer_for(self, panel: Any) -> LineCutDrawer:
        return self.drawers[id(panel)][1]

    def set_tool(self, tool: str) -> None:
        """Start drawing a ``"line"`` or ``"polyline"`` on any map ("" stops)."""
        for _, d in self.drawers.values():
            d.set_tool(tool)
        if tool:
            self.window.log(
                "info",
                "Line cut: drag on a map from start to end"
                if tool == "line"
                else "Polyline cut: click the vertices on a map, double-click to finish",
            )

    def _drawer_tool_changed(self, tool: str) -> None:
        if not tool:  # one map finished or cancelled: stop drawing on the others too
            for _, d in self.drawers.values():
                if d.tool():
                    d.set_tool("")

    # -- cuts -----------------------------------------------------------------------------------------
    def _next_name(self) -> str:
        used = {getattr(c, "name", "") for c in self.state.linecuts.values()}
        i = 1
        while f"Cut {i}" in used:
            i += 1
        return f"Cut {i}"

    def add_cut(self, vertices: Any, anchor: str | None = None) -> str:
        """Add a cut along ``vertices`` ((x, y) in metres); it becomes the current cut."""
        s = self.panel.settings()
        path = CutPath(
            tuple((float(x), float(y)) for x, y in vertices),
            s.width_m,
            s.n_points or None,
            self._next_name(),
        )
        cid = self.state.new_key("cut")
        self._colours[cid] = CUT_COLOURS[len(self._colours) % len(CUT_COLOURS)]
        if anchor is not None and anchor in self.state.entries:
            self.anchor[cid] = anchor
        self.current = cid
        self.state.undo.push(DictEdit(f"Add {path.name}", self.state.linecuts, cid, path))
        return cid

    def edit_cut(self, cid: str, vertices: Any) -> None:
        path = self.state.linecuts.get(cid)
        if path is None:
            return
        new = path.with_vertices(vertices)
        if new == path:
            return
        self.current = cid
        self.state.undo.push(DictEdit(f"Move {path.name}", self.state.linecuts, cid, new))

    def select(self, cid: str) -> None:
        if cid in self.state.linecuts and cid != self.current:
            self.current = cid
            self.state.linecuts_changed.emit()

    def delete(self, cid: str | None) -> None:
        if cid is None or cid not in self.state.linecuts:
            return
        name = getattr(self.state.linecuts[cid], "name", cid)
        self.state.undo.push(DictEdit(f"Delete {name}", self.state.linecuts, cid, DELETE))

    def delete_all(self) -> None:
        cids = list(self.state.linecuts)
        if cids:
            text = f"Delete {len(cids)} line cuts"
            self.state.undo.push(Macro(text, [DictEdit(text, self.state.linecuts, c, DELETE) for c in cids]))

    def current_path(self) -> CutPath | None:
        p = self.state.linecuts.get(self.current) if self.current is not None else None
        return p if isinstance(p, CutPath) else None

    def _shapes(self) -> list[CutShape]:
        out = []
        for cid, path in self.state.linecuts.items():
            if not isinstance(path, CutPath):
                continue
            colour = self._colours.setdefault(cid, CUT_COLOURS[len(self._colours) % len(CUT_COLOURS)])
            out.append(CutShape(cid, path.vertices, colour, path.name, path.width_m, cid == self.current))
        return out

    def _settings_changed(self, s: CutSettings) -> None:
        self.quantity = s.quantity
        path = self.current_path()
        if path is not None:
            new = CutPath(path.vertices, s.width_m, s.n_points or None, path.name)
            if new != path:
                text = f"Change {path.name}"
                self.state.undo.push(DictEdit(text, self.state.linecuts, self.current, new))  # type: ignore[arg-type]
                return
        self.recompute()

    def _linecuts_changed(self) -> None:
        if self.current not in self.state.linecuts:
            self.current = next(reversed(self.state.linecuts), None) if self.state.linecuts else None
        shapes = self._shapes()
        for _, d in self.drawers.values():
            d.set_cuts(shapes)
        self.panel.set_cut_list(
            [(cid, getattr(p, "name", cid)) for cid, p in self.state.linecuts.items()], self.current
        )
        path = self.current_path()
        if path is not None:
            self.panel.set_settings(CutSettings(path.width_m, path.n_points or 0, self.quantity))
        self.recompute()

    def _datasets_changed(self) -> None:
        for cid in [c for c, k in self.anchor.items() if k not in self.state.entries]:
            del self.anchor[cid]
        if self.state.linecuts:
            self.recompute()

    # -- grids and computation ---------------------------------------------------------------------
    def grid_keys(self) -> list[str]:
        """Grids the current cut goes through: those co-registered with the map it was drawn on (else
        the current grid), narrowest sweep first (Josephson left of QP, as in [JSTM] Fig. 6)."""
        key = self.anchor.get(self.current or "") or self.window.current_grid_key()
        if key is None or key not in self.state.entries:
            return []
        grids = [
            e
            for e in self.state.co_registered(key)
            if isinstance(e.dataset, Grid) and e.dataset.channels and e.dataset.bias.size >= 2
        ]
        grids.sort(key=lambda e: float(np.max(np.abs(e.dataset.bias))))
        return [e.key for e in grids]

    def channel_for(self, grid: Grid) -> str:
        return preferred_channel(grid, self.quantity)

    def is_busy(self) -> bool:
        return self._job is not None or self._pending

    def recompute(self) -> None:
        """Cut the current path through every grid, off the GUI thread (a newer request replaces it)."""
        path = self.current_path()
        keys = self.grid_keys() if path is not None else []
        if path is None or not keys:
            self._generation += 1
            if self._job is not None:
                self._job.cancel()
                self._job = None
            self._show({}, None)
            return
        tasks = []
        for k in keys:
            grid: Grid = self.state.entries[k].dataset  # type: ignore[assignment]
            tasks.append((k, grid, self.channel_for(grid)))
        self._generation += 1
        gen = self._generation
        if self._job is not None:
            self._job.cancel()
        self._job = self.window.run_job(
            _cut_job,
            tasks,
            path,
            name="Line cut",
            on_finished=lambda res, g=gen, p=path: self._finished(g, p, res),
            on_failed=lambda msg, g=gen: self._failed(g, msg),
            on_cancelled=lambda g=gen: self._ended(g),
        )

    def _ended(self, gen: int) -> bool:
        if gen != self._generation:
            return False
        self._job = None
        return True

    def _finished(self, gen: int, path: CutPath, results: dict[str, LineCut]) -> None:
        if self._ended(gen):
            self._show(results, path)

    def _failed(self, gen: int, message: str) -> None:
        if self._ended(gen):
            self._show({}, None)

    def _show(self, results: dict[str, LineCut], path: CutPath | None) -> None:
        self.results = results
        self.result_cut = path
        columns = []
        for key, cut in results.items():
            if key not in self.state.entries:
                continue
            grid: Grid = self.state.entries[key].dataset  # type: ignore[assignment]
            columns.append(
                CutColumn(
                    key,
                    self.state.entries[key].label,
                    cut.distance,
                    cut.sweep if cut.sweep is not None else grid.bias,
                    cut.values,
                    cut.label,
                    cut.unit,
                    grid.sweep_signal,
                    grid.sweep_unit,
                )
            )
        self.panel.set_columns(columns)
        self._refresh_profile_sources()
        self.refresh_profile()
        if not results and self.current_path() is not None and self.profile.current_source() is not None:
            # a cut with no grid under it (an image): its result is the height profile, so show it
            self.window.dock("profile").raise_()

    # -- export ---------------------------------------------------------------------------------------
    def export_csv(self, path: str | Path) -> list[Path]:
        """Write the current cut of every grid shown as CSV: ``path`` itself for one grid, else
        ``<stem> <grid label>.csv`` next to it, one file per grid. Returns the files written."""
        path = Path(path)
        if not self.results:
            raise WorkbenchError("there is no line cut to export")
        written = []
        for key, cut in self.results.items():
            if len(self.results) == 1:
                target = path
            else:
                label = self.state.entries[key].label if key in self.state.entries else key
                safe = re.sub(r"[^A-Za-z0-9._+-]+", "_", label).strip("_") or key
                target = path.with_name(f"{path.stem} {safe}{path.suffix or '.csv'}")
            write_cut_csv(cut, target)
            written.append(target)
        return written

    def _export_dialog(self) -> None:
        if not self.results:
            self.window.log("warning", "Draw a line cut first: there is nothing to export")
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Export line cut", "line cut.csv", "CSV (*.csv)")
        if not path:
            return
        try:
            files = self.export_csv(path)
        except (OSError, WorkbenchError) as exc:
            self.window.log("error", f"Line cut export failed: {exc}")
            return
        self.window.log("info", "Line cut written to " + ", ".join(str(f) for f in files))

    # -- hover ----------------------------------------------------------------------------------------
    def _cut_hovered(self, distance: float | None) -> None:
        path = self.result_cut or self.current_path()
        if distance is None or path is None:
            self.state.set_hover(None)
            return
        self.state.set_hover(position_at(path.vertices, distance))

    def _hover_changed(self, xy: tuple[float, float] | None) -> None:
        """Mark the hovered point along the cut when it lies on (or within the width of) the path."""
        path = self.result_cut
        d = None
        if xy is not None and path is not None and self.results:
            along, off = project_onto_path(path.vertices, *xy)
            cut = next(iter(self.results.values()))
            step = cut.length / max(cut.n_points - 1, 1)
            if off <= max(step, path.width_m / 2):
                d = along
        self.panel.set_marker(d)
        self.profile.set_marker(d)
        mark = position_at(path.vertices, d) if d is not None and path is not None else None
        for _, drawer in self.drawers.values():
            drawer.set_marker(mark)

    # -- profile --------------------------------------------------------------------------------------
    def profile_sources(self) -> list[ProfileSource]:
        """The grids of the cut (spectral sources) and every 2D map co-registered with them; a cut drawn
        on an image with no grid under it offers that image's channels (a height profile of Z)."""
        out = [ProfileSource(k, f"{self.state.entries[k].label}: {r.label}") for k, r in self.results.items()]
        if self.results:
            base: str | None = next(iter(self.results))
        else:
            base = self.anchor.get(self.current or "") if self.current_path() is not None else None
        if base is None or base not in self.state.entries:
            return out
        for e in self.state.co_registered(base):
            ds = e.dataset
            if isinstance(ds, Image):
                for ch in ds.channels:
                    out.append(ProfileSource(f"map|{e.key}|image|{ch}", f"{e.label}: {ch}", False))
            elif isinstance(ds, Grid):
                for name in ds.params:
                    out.append(ProfileSource(f"map|{e.key}|param|{name}", f"{e.label}: {name}", False))
        return out

    def _refresh_profile_sources(self) -> None:
        self.profile.set_sources(self.profile_sources())

    def profile_values(self, req: ProfileRequest) -> tuple[np.ndarray, np.ndarray, str, str]:
        """(distance m, values, label, unit) of the profile ``req`` along the current cut."""
        path = self.result_cut or self.current_path()
        if path is None:
            raise WorkbenchError("no line cut to take a profile from")
        if req.source.startswith("map|"):
            _, key, kind, name = req.source.split("|", 3)
            ds = self.state.entries[key].dataset
            if kind == "image":
                data, unit, frame = ds.channels[name], ds.unit(name), ds.frame  # type: ignore[union-attr]
            else:
                data, unit, frame = ds.params[name], ds.param_units.get(name, ""), ds.frame  # type: ignore[union-attr]
            # sampled like the grid cuts beside it; alone, as the cut asks (default: one per pixel)
            n = next(iter(self.results.values())).n_points if self.results else path.n_points
            cut = cut_path(np.asarray(data, dtype=np.float32), CutPath(path.vertices, path.width_m, n), frame)
            return cut.distance, cut.values.astype(np.float64), name, unit
        cut = self.results[req.source]
        if req.measure == "peak":
            return cut.distance, peak_height(cut, req.lo, req.hi), f"{cut.label} peak height", cut.unit
        v = value_at(cut, req.bias)
        at = ""
        if cut.sweep is not None and cut.sweep.size:
            k = int(np.argmin(np.abs(cut.sweep - req.bias)))
            step = float(np.median(np.abs(np.diff(cut.sweep)))) * 1e3 if cut.sweep.size > 1 else 0.0
            nearest_zero = k == int(np.argmin(np.abs(cut.sweep)))
            at = f" at {format_sweep(cut.sweep[k] * 1e3, step, snap=nearest_zero)} mV"
        return cut.distance, v, f"{cut.label}{at}", cut.unit

    def refresh_profile(self) -> None:
        req = self.profile.request()
        if req is None or (self.result_cut is None and self.current_path() is None):
            self.profile.set_profile(np.zeros(0), np.zeros(0), "", "")
            return
        try:
            d, y, label, unit = self.profile_values(req)
        except (WorkbenchError, KeyError, ValueError) as exc:
            self.profile.set_profile(np.zeros(0), np.zeros(0), "", "")
            self.profile.set_message(f"No profile: {exc}")
            return
        self.profile.set_profile(d, y, label, unit)

    def fit(self, kind: str, d_range: tuple[float, float] | None = None) -> Any:
        """Fit the profile on display; show and return the :class:`~analysis.maps.profile_fit.ProfileFit`."""
        d, y = self.profile.profile()
        try:
            res = fit_profile(d, y, kind, d_range)
        except WorkbenchError as exc:
            self.profile.set_message(f"Fit failed: {exc}")
            return None
        dd = np.linspace(res.d[0], res.d[-1], 400)
        self.profile.set_fit(dd, res.evaluate(dd), res.summary())
        self.window.log("info", f"{self.profile.source_combo.currentText()}: {kind} fit {res.summary()}")
        return res


def install(window: Host) -> None:
    """Add the line-cut feature to the main window (``window.linecuts`` is its controller)."""
    window.linecuts = LineCutController(window)  # type: ignore[attr-defined]
