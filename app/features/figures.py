"""The figure composer: views added as panels of a publication figure that stays live.

``install(host)`` adds the Figure dock (:class:`widgets.figure_composer.FigureComposer`), the Figure menu
(New figure, Figure from scenario > Fig. 4 / 5 / 6 and the transport scenarios' figures, Export figure...)
and an "Add to figure" entry to the right-click menu of the maps (slicers at their bias, map views, the
topography), the region spectra, the line cut's top view (also as a 3D surface), waterfall and profile, the
correlation scatter, the fit plot (with its residuals) and the Series dock's overlay and waterfall.
``host.figures`` is the :class:`FiguresController`.

A panel never holds a copy of the data: it names them by key (dataset, region, line cut keys; the view it
follows in ``Panel.view``). Figures live in ``state.figures`` (one
:class:`~analysis.figures.description.FigureDescription` per key); every edit (add, remove, move a
panel, its letter, the width) is a new description pushed on the session's undo stack. At preview and
export the description is brought up to date with the views it follows (a slicer's dataset, channel, bias,
averaging, colour map and levels) and resolved against the current state, so changing a bias or a region
redraws the preview (debounced, drawn by the engine in a worker thread). Export writes PDF, SVG, PNG or
TIFF (with each panel's data beside it) in a worker too; the window keeps running meanwhile.
"""

from __future__ import annotations

import json
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu

from analysis.dataset import Grid, Image
from analysis.figures.description import (
    DOUBLE_COLUMN_CM,
    CorrelationPanel,
    FigureDescription,
    FitPanel,
    LineCutPanel,
    MapPanel,
    Panel,
    ProfilePanel,
    RegionSpectraPanel,
    SeriesMapPanel,
    XYPanel,
)
from analysis.figures.resolve import FigureSources, XYSeries
from analysis.store import Attachment
from app.features.host import Host
from app.state.collections import MISSING
from app.state.edits import AddDataset
from app.state.project_io import FIGURES, figures_attachment, remap_figure
from app.state.undo import Command, DictEdit
from widgets.figure_composer import ExportFigureDialog, FigureComposer, PanelRow
from widgets.map_view import MapView

ADD_TEXT = "Add to figure"
#: Quiet time after the last change before the preview is drawn again (ms).
PREVIEW_DELAY_MS = 150
#: Previews kept by what they show (see ``FiguresController.preview_key``): undo and redo in the composer
#: show a figure drawn before at once, and a change that leaves the figure as shown (an edit of data no
#: panel draws) draws nothing.
PREVIEW_CACHE = 6
#: Most columns a figure gets when panels are added one by one (further panels start a new row).
MAX_AUTO_COLUMNS = 3
#: Figures the Figure from scenario menu offers beside the transport scenarios: (name, menu text).
PAPER_FIGURES = (("fig4", "Fig. 4"), ("fig5", "Fig. 5"), ("fig6", "Fig. 6"))


def _copy(desc: FigureDescription, **changes: Any) -> FigureDescription:
    """A new description with ``changes`` (raises ValueError when the grid becomes invalid)."""
    d = desc.to_dict()
    d.update(changes)
    return FigureDescription.from_dict(d)


def fitted_grid(panels: list[Panel]) -> tuple[int, int]:
    """(rows, cols) just large enough for ``panels``."""
    rows = max((p.row + p.rowspan for p in panels), default=1)
    cols = max((p.col + p.colspan for p in panels), default=1)
    return max(1, rows), max(1, cols)


def free_cell(desc: FigureDescription) -> tuple[int, int]:
    """Where a new panel goes: the first free cell in reading order of a grid of at most
    :data:`MAX_AUTO_COLUMNS` columns (a new row when the grid is full)."""
    cols = max(desc.cols, min(MAX_AUTO_COLUMNS, len(desc.panels) + 1))
    taken = {
        (r, c)
        for p in desc.panels
        for r in range(p.row, p.row + p.rowspan)
        for c in range(p.col, p.col + p.colspan)
    }
    r = 0
    while True:
        for c in range(cols):
            if (r, c) not in taken:
                return r, c
        r += 1


def panel_text(panel: Panel) -> str:
    """What a panel shows, in a few words (for the composer's table)."""
    if isinstance(panel, MapPanel):
        what = panel.channel if panel.source == "channel" else f"{panel.channel} (map)"
        at = f" at {panel.bias * 1e3:.3g} mV" if panel.bias is not None and panel.source == "channel" else ""
        return f"{panel.dataset}: {what}{at}"
    if isinstance(panel, RegionSpectraPanel):
        n = "all regions" if panel.all_regions else f"{len(panel.regions)} regions"
        return f"{panel.dataset}: {panel.channel}, {n}"
    if isinstance(panel, SeriesMapPanel):
        return f"{panel.series}: {panel.channel} against {panel.x or 'x'} and {panel.tag}"
    if isinstance(panel, LineCutPanel):
        return f"{panel.dataset}: {panel.channel} along {panel.cut} ({panel.style})"
    ds = getattr(panel, "dataset", "")
    return f"{ds}: {panel.kind}" if ds else panel.kind


FIT_DATA = "figure_fits"
#: Project attachment of the curves scenario figures computed (see ``FiguresController.frozen_series``).
CURVES = "figure_curves"
#: Separator of the fields of a series curve's key (see :func:`series_curve_key`).
SEP = "|"


def series_curve_key(
    dataset: str, sweep: int, x: str, y: str, offset: float = 0.0, colour: tuple[int, int, int] = (0, 0, 0)
) -> str:
    """The key of one sweep's curve ``y(x)`` of series ``dataset`` in an x-y panel, with its vertical
    ``offset`` (y units) and RGB ``colour``: ``"dataset|sweep|x|y|offset|r,g,b"``."""
    return SEP.join(
        (dataset, str(int(sweep)), x, y, repr(float(offset)), ",".join(str(int(c)) for c in colour))
    )


def _unit(series: Any, quantity: str) -> str:
    from analysis.transport.grids import derivative_name

    if quantity in series.channel_names("all"):
        return series.unit(quantity) or ""
    names = series.channel_names("fwd")
    for a in names:
        for b in names:
            if a != b and derivative_name(series, a, b)[0] == quantity:
                return derivative_name(series, a, b)[1]
    return ""


class SeriesCurves(Mapping[str, XYSeries]):
    """Curves of series sweeps by :func:`series_curve_key`, read (and derivatives computed) when a figure
    asks for them, so in the worker that draws it. ``datasets``: the session's datasets by key."""

    def __init__(self, datasets: Mapping[str, Any], fixed: Mapping[str, XYSeries] | None = None) -> None:
        self.datasets = datasets
        self.fixed = dict(fixed or {})
        self._derived: dict[tuple[str, str], Any] = {}

    def __getitem__(self, key: str) -> XYSeries:
        if key in self.fixed:
            return self.fixed[key]
        from analysis.series import Series
        from analysis.transport import derivative
        from analysis.transport.grids import derivative_name

        try:
            dkey, k, x, y, offset, colour = key.split(SEP)
            s = self.datasets[dkey]
            sweep, off = int(k), float(offset)
            rgb = tuple(int(c) for c in colour.split(","))
        except (KeyError, ValueError) as exc:
            raise KeyError(key) from exc
        if not isinstance(s, Series):
            raise KeyError(key)

        def values(q: str) -> np.ndarray:
            if q in s.channel_names("all"):
                return np.asarray(s.sweeps[sweep].channel(q), float)
            names = s.channel_names("fwd")
            for a in names:
                for b in names:
                    if a != b and derivative_name(s, a, b)[0] == q:
                        if (a, b) not in self._derived:
                            self._derived[(a, b)] = derivative(s, a, b)
                        return np.asarray(self._derived[(a, b)].sweeps[sweep].channel(q), float)
            raise KeyError(key)

        return XYSeries(values(x), values(y) + off, f"sweep {sweep + 1}", colour=rgb)  # type: ignore[arg-type]

    def __contains__(self, key: object) -> bool:
        if key in self.fixed:
            return True
        if not isinstance(key, str) or key.count(SEP) != 5:
            return False
        dkey = key.split(SEP)[0]
        return dkey in self.datasets

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


class _ScenarioFigure(Command):
    """Add a scenario's figure with what its builder made: its datasets (new keys issued when first
    applied), regions and line cuts; the figure's references follow the new keys. Undo removes them all."""

    def __init__(self, state: Any, text: str, fkey: str, name: str, desc: FigureDescription, sources: Any):
        self.state, self.text, self.fkey, self.name, self.desc, self.sources = (
            state,
            text,
            fkey,
            name,
            desc,
            sources,
        )
        self.datasets = [
            (old, AddDataset(state, ds, getattr(ds, "name", "") or old))
            for old, ds in getattr(sources, "datasets", {}).items()
            if old not in state.entries
        ]
        self.edits: list[Command] = []

    def redo(self) -> None:
        keys: dict[str, str] = {}
        for old, cmd in self.datasets:
            cmd.redo()
            if cmd.key is not None:
                keys[old] = cmd.key
        if not self.edits:  # first time: issue the keys of regions and cuts
            for old, region in getattr(self.sources, "regions", {}).items():
                if old in self.state.regions:
                    continue
                new = region.id if region.id not in self.state.regions else self.state.new_key("r")
                keys[old] = new
                self.edits.append(DictEdit("", self.state.regions, new, region.with_changes(id=new)))
            for old, cut in getattr(self.sources, "linecuts", {}).items():
                if old not in self.state.linecuts:
                    keys[old] = self.state.new_key("cut")
                    self.edits.append(DictEdit("", self.state.linecuts, keys[old], cut))
            d = self.desc.to_dict()
            for p in d["panels"]:
                if "series" in p:
                    p["series"] = [f"{self.fkey}:{k}" for k in p["series"]]
            d = remap_figure(d, keys)
            d["name"] = d.get("name") or self.name
            self.edits.append(DictEdit("", self.state.figures, self.fkey, FigureDescription.from_dict(d)))
        for e in self.edits:
            e.redo()

    def undo(self) -> None:
        for e in reversed(self.edits):
            e.undo()
        for _old, cmd in reversed(self.datasets):
            cmd.undo()


class FiguresController(QObject):
    """The Figure dock, menu and right-click entries; see the module docstring."""

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self.state = host.state
        self.current: str | None = None
        self.composer = FigureComposer()
        dock = host.add_dock(
            "figures", "Figure", self.composer, Qt.DockWidgetArea.RightDockWidgetArea, visible=False
        )
        dock.visibilityChanged.connect(lambda shown: shown and self._stale and self.schedule_preview())
        self._stale = False  # a change arrived while the composer was hidden: redraw when it shows
        #: the last preview drawn (RGBA) and how many were drawn, for tests and benchmarks
        self.last_preview: np.ndarray | None = None
        self.previews = 0
        self.export_job: Any = None
        self.dialog: ExportFigureDialog | None = None  # the export dialog while it is open
        self.last_export: Any = None
        self._preview_job: Any = None
        self._preview_again = False
        self._shown_key: tuple[Any, ...] | None = None  # what the preview on screen shows
        #: previews kept: key -> (RGBA, the objects drawn, held so their identities stay theirs)
        self._drawn: OrderedDict[tuple[Any, ...], tuple[np.ndarray, tuple[Any, ...]]] = OrderedDict()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.refresh_preview)
        self._plots: weakref.WeakSet[Any] = weakref.WeakSet()
        #: fit key -> the arrays of a fit a figure draws ({"x", "y", "residual", "x_all", "model_all",
        #: "record"}), saved with the project beside the fit records (which hold no arrays)
        self.fit_data: dict[str, dict[str, Any]] = {}
        #: curves a scenario's figure builder computed (not session data), by "figure key:curve key"
        self.frozen_series: dict[str, XYSeries] = {}

        menu = host.menu("Figure")
        menu.addAction("New figure").triggered.connect(lambda: self.new_figure())
        scen = menu.addMenu("Figure from scenario")
        for name, text in self._scenario_figures():
            scen.addAction(text).triggered.connect(lambda _=False, n=name: self.figure_from_scenario(n))
        menu.addAction("Export figure...").triggered.connect(self.export_dialog)
        menu.addAction("Show figure composer").triggered.connect(self.show)

        c = self.composer
        c.figure_chosen.connect(self.choose)
        c.new_figure_requested.connect(lambda: self.new_figure())
        c.width_chosen.connect(self.set_width)
        c.panel_edited.connect(self.edit_panel)
        c.panel_removed.connect(self.remove_panel)
        c.export_requested.connect(self.export_dialog)
        c.preview_resized.connect(self.schedule_preview)

        s = self.state
        s.figures.edited.connect(self._figure_edited)
        s.view_edited.connect(self._view_edited)
        for sig in (s.regions.changed, s.linecuts.changed, s.datasets_changed):
            sig.connect(self._data_changed)
        for panel in host.map_panels():
            self._attach_map(panel)
        host.map_panel_added.connect(self._attach_map)
        # saved as shown: each panel with the values of the view it follows
        s.attachment_providers[FIGURES] = lambda: figures_attachment(
            {k: self.live(f) for k, f in s.figures.items()}
        )
        s.attachment_providers[FIT_DATA] = self.fit_data_attachment
        s.attachment_restorers[FIT_DATA] = self.restore_fit_data
        s.attachment_providers[CURVES] = self.curves_attachment
        s.attachment_restorers[CURVES] = self.restore_curves
        s.fits.changed.connect(self._data_changed)
        self._kept_fit: Any = None  # the fit dock's last fit whose arrays are kept
        s.fits.edited.connect(self._fit_edited)
        app = QApplication.instance()
        if app is not None:  # plots made later get the entry before their first right-click
            app.installEventFilter(self)
            host.destroyed.connect(lambda *_a: self._stop_filter())
        self._refresh_list()

    # -- figures ---------------------------------------------------------------------------------------
    def show(self) -> None:
        dock = self.host.dock("figures")
        dock.show()
        dock.raise_()

    def figure(self) -> FigureDescription | None:
        return self.state.figures.get(self.current) if self.current else None

    def new_figure(self, desc: FigureDescription | None = None, text: str = "New figure") -> str:
        """Add a figure (empty, two columns wide, when ``desc`` is None) as one undoable step; it becomes
        the composer's figure."""
        key = self.state.new_key("fig")
        desc = desc or FigureDescription(
            width_cm=DOUBLE_COLUMN_CM, name=f"Figure {len(self.state.figures) + 1}"
        )
        if not desc.name:
            desc = _copy(desc, name=f"Figure {len(self.state.figures) + 1}")
        self.current = key
        self.state.undo.push(DictEdit(text, self.state.figures, key, desc))
        self.show()
        return key

    def choose(self, key: str) -> None:
        if key in self.state.figures and key != self.current:
            self.current = key
            self._refresh_view()
            self.schedule_preview()

    def _commit(self, desc: FigureDescription, text: str) -> None:
        if self.current is not None:
            self.state.undo.push(DictEdit(text, self.state.figures, self.current, desc))

    def set_width(self, cm: float) -> None:
        desc = self.figure()
        if desc is not None and abs(desc.width_cm - cm) > 1e-9:
            self._commit(_copy(desc, width_cm=float(cm)), f"Figure width {cm:g} cm")

    def add_panel(self, panel: Panel, text: str = "") -> None:
        """Put ``panel`` in the first free cell of the composer's figure (a new figure when none)."""
        if self.figure() is None:
            self.new_figure()
        desc = self.figure()
        assert desc is not None
        row, col = free_cell(desc)
        panel = replace(panel, row=row, col=col, rowspan=1, colspan=1)
        panels = [*desc.panels, panel]
        rows, cols = fitted_grid(panels)
        new = FigureDescription(**{**desc.__dict__, "panels": panels, "rows": rows, "cols": cols})
        self._commit(new, text or f"Add {panel.kind} panel to {desc.name or 'the figure'}")
        self.show()

    def edit_panel(self, index: int, name: str, value: Any) -> None:
        """Change the letter, row, column or a span of panel ``index``; a change that would leave the grid
        or overlap another panel is refused with a message."""
        desc = self.figure()
        if desc is None or not 0 <= index < len(desc.panels):
            return
        if name == "letter":
            value = None if value in (None, "") else str(value)
        panels = list(desc.panels)
        changes = {name: value}
        if name == "all_regions":
            if not hasattr(panels[index], "all_regions") or bool(value) == panels[index].all_regions:
                return
            changes = {"all_regions": bool(value), "regions": self._regions_shown(panels[index])}
        panels[index] = replace(panels[index], **changes)
        rows, cols = fitted_grid(panels)
        try:
            new = FigureDescription(
                **{**desc.__dict__, "panels": panels, "rows": rows, "cols": cols, "row_ratios": None}
                | ({"col_ratios": None} if cols != desc.cols else {})
            )
        except ValueError as exc:
            self.host.log("warning", f"Figure: {exc}")
            self.composer.set_status(str(exc))
            self._refresh_view()
            return
        text = f"Change {name} of panel {index + 1}"
        if name == "all_regions":
            text = f"Panel {index + 1} " + ("follows every region" if value else "keeps its regions")
        self._commit(new, text)

    def _regions_shown(self, panel: Panel) -> tuple[str, ...]:
        """The keys of the regions ``panel`` draws now (a panel that stops following the collection keeps
        them): those over its dataset's frame when it follows every region."""
        if not getattr(panel, "all_regions", False):
            return tuple(getattr(panel, "regions", ()))
        entry = self.state.entries.get(getattr(panel, "dataset", ""))
        frame = getattr(entry.dataset, "frame", None) if entry is not None else None
        return tuple(k for k, r in self.state.regions.items() if frame is None or r.mask_in(frame).any())

    def remove_panel(self, index: int) -> None:
        desc = self.figure()
        if desc is None or not 0 <= index < len(desc.panels):
            return
        panels = [p for i, p in enumerate(desc.panels) if i != index]
        rows, cols = fitted_grid(panels)
        new = FigureDescription(
            **{
                **desc.__dict__,
                "panels": panels,
                "rows": rows,
                "cols": cols,
                "row_ratios": None,
                "col_ratios": None,
            }
        )
        self._commit(new, f"Remove panel {index + 1}")

    # -- panels from views -----------------------------------------------------------------------------
    def _view_key_of(self, widget: Any) -> str | None:
        for key in self.host.dock_keys():
            if self.host.dock(key).widget() is widget:
                return key
        return None

    def map_panel_for(self, view: MapView) -> MapPanel | None:
        """A map panel following ``view`` (a slicer, a map view or the topography); None without data."""
        key = view.dataset_key
        entry = self.state.entries.get(key) if key else None
        if entry is None:
            return None
        ds = entry.dataset
        regions = tuple(self.state.regions)
        vkey = self._view_key_of(view)
        vs = self.state.views.get(vkey) if vkey else None
        if vs is not None and vs.kind in ("slicer", "map") and vs.dataset == key:
            panel = MapPanel(dataset=key, regions=regions, view=vkey or "", all_regions=True)
            return self._follow(panel, vs) if isinstance(ds, Grid | Image) else None
        # the topography: its channel from the panel, its levelling from its view state
        channel = view.current_channel() if hasattr(view, "current_channel") else ""
        levelling = vs.levelling if vs is not None and vs.kind == "topography" else "none"
        cmap = getattr(view, "colormap_name", "") or "cividis"
        source = "param" if isinstance(ds, Grid) and channel in ds.params else "channel"
        if (source == "param") or (isinstance(ds, Image) and channel in ds.channels):
            return MapPanel(
                dataset=key, source=source, channel=channel, cmap=cmap, regions=regions, levelling=levelling,
                view=vkey if vs is not None else "", all_regions=True,
            )  # fmt: skip
        return None

    def _follow(self, panel: Panel, vs: Any) -> Panel:
        """``panel`` brought up to date with the view state ``vs`` it follows."""
        if not isinstance(panel, MapPanel):
            return panel
        if vs.kind == "topography":  # its dataset and channel are the panel's; the levelling is the view's
            return replace(panel, levelling=vs.levelling)
        entry = self.state.entries.get(vs.dataset)
        if entry is None:
            return panel
        ds = entry.dataset
        changes: dict[str, Any] = {"dataset": vs.dataset, "cmap": vs.colormap}
        lo, hi = vs.levels if vs.levels is not None else (None, None)
        changes.update(vmin=lo, vmax=hi)
        if vs.kind == "slicer" and isinstance(ds, Grid) and vs.channel in ds.channels:
            index = vs.index if vs.index is not None and 0 <= vs.index < len(ds.bias) else len(ds.bias) // 2
            changes.update(
                source="channel",
                channel=vs.channel,
                bias=float(ds.bias[index]),
                window=max(0, vs.window // 2),
            )
        elif isinstance(ds, Grid) and vs.channel in ds.params:
            changes.update(source="param", channel=vs.channel, bias=None, levelling=vs.levelling)
        elif isinstance(ds, Image) and vs.channel in ds.channels:
            changes.update(source="channel", channel=vs.channel, bias=None, levelling=vs.levelling)
        return replace(panel, **changes)

    def live(self, desc: FigureDescription) -> FigureDescription:
        """``desc`` with every panel that follows a view brought up to date with it."""
        panels = []
        for p in desc.panels:
            vs = self.state.views.get(p.view) if p.view else None
            same = vs is not None and (vs.kind == "topography" or vs.dataset == getattr(p, "dataset", None))
            panels.append(self._follow(p, vs) if same else p)
        return FigureDescription(**{**desc.__dict__, "panels": panels})

    def sources(self) -> FigureSources:
        """Everything the session offers a figure, by key (the live objects, no copies)."""
        datasets = {k: e.dataset for k, e in self.state.entries.items()}
        return FigureSources(
            datasets=datasets,
            regions=dict(self.state.regions),
            linecuts=dict(self.state.linecuts),
            fits={k: v for k, v in self.fit_data.items() if k in self.state.fits},
            series=SeriesCurves(datasets, self.frozen_series),
        )

    def _attach_map(self, view: MapView) -> None:
        view.context_menu_about_to_show.connect(lambda menu, v=view: self._map_menu(v, menu))

    def _map_menu(self, view: MapView, menu: QMenu) -> None:
        act = menu.addAction(ADD_TEXT)
        act.setEnabled(view.dataset_key in self.state.entries if view.dataset_key else False)
        act.triggered.connect(lambda _=False, v=view: self._add_map(v))

    def _add_map(self, view: MapView) -> None:
        panel = self.map_panel_for(view)
        if panel is None:
            self.host.log("warning", "Figure: this view shows no map that a figure can draw")
            return
        self.add_panel(panel)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.RightButton:
            try:
                self.attach_plot_menus()
            except RuntimeError:  # the window is being torn down
                self._stop_filter()
        return False

    def _stop_filter(self) -> None:
        app = QApplication.instance()
        if app is not None:
            try:
                app.removeEventFilter(self)
            except RuntimeError:  # the controller went first (the application is closing)
                pass

    def attach_plot_menus(self) -> None:
        """Give the region spectra plots and the line cut's plots an "Add to figure" entry (once each)."""
        regions = getattr(self.host, "regions", None)
        sp = getattr(regions, "spectra_panel", None)
        if sp is not None:
            for gkey in sp.grid_keys():
                pw = sp.plot_widget(gkey)
                if pw is not None:
                    self._add_plot_entry(
                        pw.getPlotItem().getViewBox(), lambda k=gkey: self._add_region_spectra(k)
                    )
        cuts = getattr(self.host, "linecuts", None)
        lp = getattr(cuts, "panel", None)
        if lp is not None:
            for gkey in lp.column_keys():
                col = lp.column(gkey)
                self._add_plot_entry(
                    col.top_plot.getViewBox(),
                    lambda k=gkey: self._add_cut(k, "top"),
                    (("Add to figure as a 3D surface", lambda k=gkey: self._add_cut(k, "surface")),),
                )
                self._add_plot_entry(
                    col.water.getPlotItem().getViewBox(), lambda k=gkey: self._add_cut(k, "waterfall")
                )
        prof = getattr(cuts, "profile", None)
        if prof is not None and hasattr(prof, "plot"):
            self._add_plot_entry(prof.plot.getPlotItem().getViewBox(), self._add_profile)
        cp = getattr(regions, "corr_panel", None)
        if cp is not None:
            self._add_plot_entry(cp.plot.getPlotItem().getViewBox(), self._add_correlation)
        fit = getattr(self.host, "fit_controller", None)
        fp = getattr(fit, "panel", None)
        if fp is not None and hasattr(fp, "plot"):
            self._add_plot_entry(fp.plot.getViewBox(), self._add_fit)
        series = getattr(self.host, "series", None)
        sp2 = getattr(series, "panel", None)
        for name in ("overlay", "waterfall", "map"):
            view = getattr(sp2, name, None)
            box = getattr(getattr(view, "overlay", view), "view_box", None)
            if box is not None and box not in self._plots and hasattr(box, "menu_hooks"):
                self._plots.add(box)
                box.menu_hooks.append(lambda menu, n=name: self._series_menu(menu, n))

    def _add_plot_entry(self, view_box: Any, callback: Any, more: tuple[tuple[str, Any], ...] = ()) -> None:
        """``Add to figure`` (and the entries ``more``: (text, callback)) on a plot's right-click menu."""
        if view_box in self._plots or getattr(view_box, "menu", None) is None:
            return
        self._plots.add(view_box)
        view_box.menu.addSeparator()
        for text, cb in ((ADD_TEXT, callback), *more):
            view_box.menu.addAction(text).triggered.connect(lambda _=False, cb=cb: cb())

    def _add_region_spectra(self, gkey: str) -> None:
        """Region spectra of grid ``gkey`` normalised and offset as the Region spectra dock shows them."""
        regions = getattr(self.host, "regions", None)
        sp = regions.spectra_panel  # type: ignore[union-attr]
        entry = self.state.entries.get(gkey)
        if entry is None or not self.state.regions:
            self.host.log("warning", "Figure: draw a region first")
            return
        s = sp.settings()
        bias = np.asarray(getattr(entry.dataset, "bias", np.zeros(0)), float)
        vmax = float(np.max(np.abs(bias))) if bias.size else 0.0
        window = (
            ((1.0 - s.outer_fraction) * vmax * (1 - 1e-9), vmax) if s.mode == "high_bias" else (0.0, 1e30)
        )
        panel = RegionSpectraPanel(
            dataset=gkey,
            channel=sp.current_channel(gkey) or "dI/dV",
            regions=tuple(self.state.regions),
            normalisation=s.mode,
            norm_at=float(s.at),
            norm_window=window,
            offset=None if s.auto_offset else float(s.offset),
            std_band=bool(s.show_std),
            all_regions=True,  # every region is shown: the panel follows the collection
        )
        self.add_panel(panel)

    def _add_cut(self, gkey: str, style: str) -> None:
        cuts = getattr(self.host, "linecuts", None)
        cut = cuts.panel.current_cut() if cuts is not None else None  # type: ignore[union-attr]
        if cut is None or cut not in self.state.linecuts or gkey not in self.state.entries:
            self.host.log("warning", "Figure: choose a line cut first")
            return
        grid = self.state.entries[gkey].dataset
        channel = self.state.viewed_channel(gkey) or (
            "dI/dV" if "dI/dV" in getattr(grid, "channels", {}) else ""
        )
        self.add_panel(LineCutPanel(dataset=gkey, channel=channel, cut=cut, style=style))

    def _add_profile(self) -> None:
        """A profile panel of the grid's value along the current cut at the profile's bias, with the
        fit kind and range chosen in the Cut profile dock."""
        cuts = getattr(self.host, "linecuts", None)
        prof = cuts.profile  # type: ignore[union-attr]
        req = prof.request()
        cut = cuts.panel.current_cut()  # type: ignore[union-attr]
        if req is None or req.source not in self.state.entries or cut not in self.state.linecuts:
            self.host.log("warning", "Figure: a profile panel needs a grid's value along a line cut")
            return
        if req.measure != "value":
            self.host.log("warning", f"Figure: a profile of the {req.measure} is not drawn in figures")
            return
        grid = self.state.entries[req.source].dataset
        channel = self.state.viewed_channel(req.source) or ("dI/dV" if "dI/dV" in grid.channels else "")
        kind = prof.fit_kind() if prof.fit_kind() in ("step", "decay") else ""
        self.add_panel(
            ProfilePanel(
                dataset=req.source, channel=channel, cut=cut, bias=float(req.bias), fit=kind,
                fit_range=prof.fit_range_m() if kind else None,
            )
        )  # fmt: skip

    def _add_correlation(self) -> None:
        regions = getattr(self.host, "regions", None)
        a, b = regions.corr_panel.current_maps()  # type: ignore[union-attr]
        views = {f"panel:{id(v)}": v for v in self.host.map_panels()}
        pa = self.map_panel_for(views[a]) if a in views else None
        pb = self.map_panel_for(views[b]) if b in views else None
        if not (
            isinstance(pa, MapPanel)
            and isinstance(pb, MapPanel)
            and pa.bias is not None
            and pb.bias is not None
        ):
            self.host.log("warning", "Figure: a correlation panel needs two slicer maps (a grid at a bias)")
            return
        self.add_panel(
            CorrelationPanel(
                x_dataset=pa.dataset, x_channel=pa.channel, x_bias=pa.bias, x_window=pa.window,
                y_dataset=pb.dataset, y_channel=pb.channel, y_bias=pb.bias, y_window=pb.window,
                regions=tuple(self.state.regions),
            )
        )  # fmt: skip

    def _fit_edited(self, key: str, _old: Any, new: Any) -> None:
        """Keep the arrays of a single fit the fit dock just made (saved with the project, so a fit
        reopened later can still become a panel)."""
        if getattr(new, "kind", None) != "single" or key in self.fit_data:
            return
        res = getattr(getattr(self.host, "fit_controller", None), "last_fit", None)
        if res is None or res is self._kept_fit:
            return  # a fit from elsewhere (a project being opened brings its arrays itself)
        self._kept_fit = res
        self.fit_data[key] = {
            "x": np.asarray(res.x, float),
            "y": np.asarray(res.y, float),
            "residual": np.asarray(res.residual, float),
            "x_all": np.asarray(res.x_all, float),
            "model_all": np.asarray(res.model_all, float),
            "record": res.record.to_dict(),
        }

    def _add_fit(self) -> None:
        """A fit panel of the newest single fit (one made in this session or one opened with a project)."""
        singles = [k for k, f in self.state.fits.items() if getattr(f, "kind", None) == "single"]
        key = singles[-1] if singles else None
        if key is None or key not in self.fit_data:
            self.host.log("warning", "Figure: fit a spectrum first")
            return
        rec = self.fit_data[key]["record"]
        names = tuple(p["name"] for p in rec.get("params", []) if p.get("vary", True))
        self.add_panel(FitPanel(fit=key, parameters=names[:4], title=str(rec.get("model", ""))))

    def _series_menu(self, menu: QMenu, view: str) -> None:
        series = getattr(self.host, "series", None)
        ok = series is not None and series.series() is not None
        if view == "map":
            ok = ok and series.tag is not None
        act = menu.addAction(ADD_TEXT)
        act.setEnabled(ok)
        act.triggered.connect(lambda _=False, v=view: self._add_series(v))

    def _add_series(self, view: str) -> None:
        """An x-y panel of the series' sweeps as the Series dock draws them (quantities, colours, offset)."""
        ctl = getattr(self.host, "series", None)
        s = ctl.series() if ctl is not None else None
        if s is None or ctl.x is None or ctl.y is None:
            return
        if view == "map":
            self._add_series_map()
            return
        panel_view = getattr(ctl.panel, view)
        overlay = getattr(panel_view, "overlay", panel_view)
        offset = float(getattr(panel_view, "offset", 0.0) or 0.0) if view == "waterfall" else 0.0
        keys = []
        for k in range(len(s)):
            try:
                r, g, b = overlay.sweep_colour(k)
            except (IndexError, AttributeError, TypeError):
                r, g, b = (0, 0, 0)
            keys.append(series_curve_key(ctl.key, k, ctl.x, ctl.y, k * offset, (r, g, b)))
        title = self.state.entries[ctl.key].label
        xu, yu = _unit(s, ctl.x), _unit(s, ctl.y)
        self.add_panel(
            XYPanel(
                series=tuple(keys),
                x_label=ctl.x,
                x_unit=xu,
                y_label=ctl.y,
                y_unit=yu,
                legend="none",
                title=title,
            )
        )

    def _add_series_map(self) -> None:
        """A panel of the Series dock's 2D map: the series by key, its quantity against x and the tag."""
        ctl = self.host.series  # type: ignore[attr-defined]
        s = ctl.series()
        if ctl.tag is None or ctl.x not in s.channel_names("all"):
            self.host.log("warning", "Figure: the series map needs a tag and a measured x quantity")
            return
        self.add_panel(
            SeriesMapPanel(
                series=ctl.key,
                channel=ctl.y,
                x="" if ctl.x == s.x_channel else ctl.x,
                tag=ctl.tag,
                title=self.state.entries[ctl.key].label,
            )
        )

    # -- fit arrays in the project ----------------------------------------------------------------------
    def fit_data_attachment(self) -> Attachment:
        items, arrays = [], {}
        for i, (key, d) in enumerate((k, v) for k, v in self.fit_data.items() if k in self.state.fits):
            items.append({"id": key, "record": d["record"], "n": i})
            for name in ("x", "y", "residual", "x_all", "model_all"):
                arrays[f"fit{i}_{name}"] = np.asarray(d[name], float)
        return Attachment(data={"items": items}, arrays=arrays)

    def restore_fit_data(self, att: Attachment, keys: dict[str, str]) -> list[str]:
        problems = []
        for item in att.data.get("items", []):
            try:
                i = int(item["n"])
                d = {
                    n: np.asarray(att.arrays[f"fit{i}_{n}"])
                    for n in ("x", "y", "residual", "x_all", "model_all")
                }
                d["record"] = item["record"]
                self.fit_data[keys.get(str(item["id"]), str(item["id"]))] = d
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"a fit drawn in a figure could not be restored: {exc}")
        self._data_changed()
        return problems

    def curves_attachment(self) -> Attachment:
        """The computed curves the session's figures draw: label and colour per curve, arrays x, y, yerr."""
        used = {k for f in self.state.figures.values() for p in f.panels for k in getattr(p, "series", ())}
        items, arrays = [], {}
        for i, (key, xy) in enumerate((k, v) for k, v in self.frozen_series.items() if k in used):
            items.append(
                {"id": key, "label": xy.label, "colour": xy.colour, "n": i, "err": xy.yerr is not None}
            )
            arrays[f"curve{i}_x"] = np.asarray(xy.x, float)
            arrays[f"curve{i}_y"] = np.asarray(xy.y, float)
            if xy.yerr is not None:
                arrays[f"curve{i}_yerr"] = np.asarray(xy.yerr, float)
        return Attachment(data={"items": items}, arrays=arrays)

    def restore_curves(self, att: Attachment, _keys: dict[str, str]) -> list[str]:
        problems = []
        for item in att.data.get("items", []):
            try:
                i = int(item["n"])
                colour = item.get("colour")
                self.frozen_series[str(item["id"])] = XYSeries(
                    np.asarray(att.arrays[f"curve{i}_x"]),
                    np.asarray(att.arrays[f"curve{i}_y"]),
                    str(item.get("label", "")),
                    np.asarray(att.arrays[f"curve{i}_yerr"]) if item.get("err") else None,
                    tuple(int(c) for c in colour) if colour else None,  # type: ignore[arg-type]
                )
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"a curve drawn in a figure could not be restored: {exc}")
        self._data_changed()
        return problems

    # -- figures from the scenarios ----------------------------------------------------------------------
    @staticmethod
    def _scenario_figures() -> list[tuple[str, str]]:
        from analysis.figures.paper import SERIES_FIGURES

        return [*PAPER_FIGURES, *((n, n.replace("_", " ").capitalize()) for n in SERIES_FIGURES)]

    def figure_from_scenario(self, name: str) -> Any:
        """Build paper figure ``name`` on the session's data (in a worker) and put it in the composer: its
        regions and line cuts join the session (one undoable step) and the panels refer to them."""
        from analysis.figures.paper import paper_figure

        sources = self.sources()

        def build(progress: Any = None, cancel: Any = None) -> Any:
            return paper_figure(name, sources)

        return self.host.run_job(
            build,
            name=f"Figure {name}",
            on_finished=lambda r: self._scenario_built(name, *r),
            on_failed=lambda m: self.host.log("error", f"Figure {name}: {m.strip().splitlines()[-1]}"),
        )

    def _scenario_built(self, name: str, desc: FigureDescription, sources: Any) -> None:
        """Put a scenario's figure in the composer as one undoable step: the datasets, regions and line
        cuts its builder made join the session, curves it computed are kept with the figure."""
        fkey = self.state.new_key("fig")
        for old, xy in getattr(sources, "series", {}).items():
            if isinstance(xy, XYSeries):
                self.frozen_series[f"{fkey}:{old}"] = xy
        self.current = fkey
        self.state.undo.push(
            _ScenarioFigure(self.state, f"Figure {name} from its scenario", fkey, name, desc, sources)
        )
        self.show()

    # -- view --------------------------------------------------------------------------------------------
    def _refresh_list(self) -> None:
        figs = self.state.figures
        if self.current not in figs:
            self.current = next(reversed(figs), None) if len(figs) else None
        self.composer.set_figures([(k, f.name) for k, f in figs.items()], self.current)
        self._refresh_view()

    def _refresh_view(self) -> None:
        desc = self.figure()
        if desc is None:
            self._shown_key = None
            self.composer.set_panels([])
            self.composer.set_preview(None, "No figure: add a view with its right-click menu (Add to figure)")
            return
        self.composer.set_width(desc.width_cm)
        letters = desc.letters_in_order()
        self.composer.set_panels(
            [
                PanelRow(
                    letters[i],
                    p.kind,
                    panel_text(p),
                    p.row,
                    p.col,
                    p.rowspan,
                    p.colspan,
                    getattr(p, "all_regions", None),
                )
                for i, p in enumerate(desc.panels)
            ]
        )

    def _figure_edited(self, key: str, _old: Any, new: Any) -> None:
        if new is MISSING and key == self.current:
            self.current = None  # removed (an undone addition): show the newest other figure
        elif new is not MISSING and self.current is None:
            self.current = key
        self._refresh_list()
        if key == self.current:
            self.schedule_preview()

    def _view_edited(self, vkey: str, *_a: Any) -> None:
        desc = self.figure()
        if desc is not None and any(p.view == vkey for p in desc.panels):
            self.schedule_preview()

    # -- preview -----------------------------------------------------------------------------------------
    def schedule_preview(self, *_a: Any) -> None:
        """Redraw the preview after :data:`PREVIEW_DELAY_MS` of quiet; nothing is drawn while the
        composer is hidden (it is drawn when it shows)."""
        if self.figure() is None:
            return
        if not self.composer.isVisible():
            self._stale = True
            return
        self._stale = False
        self._timer.start()

    def _data_changed(self, *_a: Any) -> None:
        # previews kept are let go once a dataset they drew has left the session
        for key in [k for k, (_img, objs) in self._drawn.items() if not self._current(objs)]:
            del self._drawn[key]
        self.schedule_preview()

    def _current(self, objs: tuple[Any, ...]) -> bool:
        entries = self.state.entries
        return all(
            kind != "d" or (k in entries and entries[k].dataset is obj)
            for kind, k, obj in objs
            if obj is not None
        )

    def drawn_objects(self, live: FigureDescription) -> tuple[tuple[str, str, Any], ...]:
        """(kind, key, object) of everything the panels of ``live`` draw: datasets ("d"), regions ("r";
        every region for a panel that follows them all), line cuts ("c"), fit arrays ("f") and kept curves
        ("s"); None for a key that is missing."""
        s = self.state

        def dataset(k: str) -> tuple[str, str, Any]:
            return ("d", k, s.entries[k].dataset if k in s.entries else None)

        out: list[tuple[str, str, Any]] = []
        for p in live.panels:
            for name in ("dataset", "x_dataset", "y_dataset"):
                if getattr(p, name, ""):
                    out.append(dataset(getattr(p, name)))
            if isinstance(p, SeriesMapPanel):
                out.append(dataset(p.series))
            if getattr(p, "all_regions", False):
                out.extend(("r", k, r) for k, r in s.regions.items())
            else:
                out.extend(("r", k, s.regions.get(k)) for k in getattr(p, "regions", ()))
            cuts = ((p.cut,) if getattr(p, "cut", "") else ()) + tuple(getattr(p, "cuts", ()))
            out.extend(("c", k, s.linecuts.get(k)) for k in cuts)
            if isinstance(p, FitPanel):
                out.append(("f", p.fit, self.fit_data.get(p.fit) if p.fit in s.fits else None))
            if isinstance(p, XYPanel):
                for k in p.series:
                    out.append(
                        ("s", k, self.frozen_series[k])
                        if k in self.frozen_series
                        else dataset(k.split(SEP)[0])
                    )
        return tuple(out)

    def preview_key(self, live: FigureDescription, dpi: int, objs: tuple[Any, ...]) -> tuple[Any, ...]:
        """What a preview shows: the figure brought up to date with its views, the dpi and which objects
        it draws (datasets, regions, cuts and fit arrays are replaced, never changed, when edited; the
        previews kept hold them, so an identity is never taken over by another object)."""
        ids = tuple((kind, k, id(obj)) for kind, k, obj in objs)
        return (json.dumps(live.to_dict(), sort_keys=True, default=repr), dpi, ids)

    def preview_dpi(self, desc: FigureDescription) -> int:
        w, h = self.composer.preview_size()
        win, hin = desc.size_inches
        return int(max(30, min(150, w / win, h / hin)))

    def refresh_preview(self) -> Any:
        """Draw the composer's figure (brought up to date with its views) in a worker; one at a time."""
        if not shiboken6.isValid(self.composer):  # the window closed after the preview was scheduled
            return None
        desc = self.figure()
        if desc is None:
            return None
        if not desc.panels:
            self._shown_key = None
            self.composer.set_preview(
                None, "Empty figure: add a view with its right-click menu (Add to figure)"
            )
            return None
        if self._preview_job is not None:
            self._preview_again = True
            return None
        from analysis.figures.render import render_image

        live, sources, dpi = self.live(desc), self.sources(), self.preview_dpi(desc)
        objs = self.drawn_objects(live)
        key = self.preview_key(live, dpi, objs)
        if key == self._shown_key:
            return None  # the preview shows this figure already
        if key in self._drawn:  # drawn before (an undone edit): shown again at once
            self._drawn.move_to_end(key)
            self._preview_done(self._drawn[key][0], key, objs)
            return None
        self._preview_again = False
        self._preview_job = self.host.run_job(
            render_image,
            live,
            sources,
            dpi,
            name="Figure preview",
            pass_hooks=False,
            on_finished=lambda rgba, k=key, o=objs: self._preview_done(rgba, k, o),
            on_failed=self._preview_failed,
            on_cancelled=lambda: self._preview_ended(),
        )
        return self._preview_job

    def _preview_ended(self) -> None:
        self._preview_job = None
        if self._preview_again:
            self.schedule_preview()

    def _preview_done(
        self, rgba: np.ndarray, key: tuple[Any, ...] | None = None, objs: tuple[Any, ...] = ()
    ) -> None:
        self._shown_key = key
        if key is not None:
            self._drawn[key] = (rgba, objs)
            while len(self._drawn) > PREVIEW_CACHE:
                self._drawn.popitem(last=False)
        self.last_preview = rgba
        self.previews += 1
        self.composer.set_preview(rgba)
        self.composer.set_status("")
        self._preview_ended()

    def _preview_failed(self, message: str) -> None:
        reason = message.strip().splitlines()[-1] if message.strip() else "failed"
        self._shown_key = None
        self.composer.set_preview(None, f"Cannot draw the figure: {reason}")
        self._preview_ended()

    # -- export ------------------------------------------------------------------------------------------
    def export_dialog(self) -> Any:
        """Ask for file, format, dpi and panel data (Export figure dialog), then export; None on Cancel."""
        desc = self.figure()
        if desc is None:
            self.host.log("warning", "Figure: there is no figure to export")
            return None
        start = str(Path.home() / f"{(desc.name or 'figure').replace(' ', '_')}.pdf")
        dialog = ExportFigureDialog(start, desc.dpi, self.composer)
        dialog.browse_requested.connect(lambda: dialog.set_path(self._ask_path(dialog)))
        self.dialog = dialog
        accepted = dialog.exec() == ExportFigureDialog.DialogCode.Accepted
        self.dialog = None
        if not accepted:
            return None
        path, dpi, data, fmt = dialog.values()
        dialog.deleteLater()
        return self.export(path, dpi=dpi, write_data=data, map_data_format=fmt)

    def _ask_path(self, dialog: ExportFigureDialog) -> str:
        from PySide6.QtWidgets import QFileDialog

        kinds = "PDF (*.pdf);;SVG (*.svg);;PNG (*.png);;TIFF (*.tif *.tiff)"
        path, _ = QFileDialog.getSaveFileName(dialog, "Export figure", dialog.path_edit.text(), kinds)
        return path

    def export(
        self, path: str | Path, dpi: int | None = None, write_data: bool = True, map_data_format: str = "hdf5"
    ) -> Any:
        """Write the composer's figure to ``path`` (format by extension) in a worker; returns the job."""
        from analysis.figures.render import export_figure

        desc = self.figure()
        if desc is None:
            return None
        live, sources = self.live(desc), self.sources()

        def done(result: Any) -> None:
            self.export_job = None
            self.last_export = result
            self.host.log("info", f"Wrote {Path(result.path).name} ({result.seconds:.1f} s)")

        def failed(message: str) -> None:
            self.export_job = None
            self.host.log(
                "error", f"Could not export the figure to {path}: {message.strip().splitlines()[-1]}"
            )

        self.export_job = self.host.run_job(
            export_figure,
            live,
            sources,
            str(path),
            name=f"Exporting {Path(path).name}",
            pass_hooks=False,
            on_finished=done,
            on_failed=failed,
            on_cancelled=lambda: setattr(self, "export_job", None),
            dpi=dpi,
            write_data=write_data,
            map_data_format=map_data_format,
        )
        return self.export_job


def install(host: Host) -> None:
    """Add the Figure dock, menu and right-click entries (``host.figures`` is the controller)."""
    host.figures = FiguresController(host)  # type: ignore[attr-defined]
