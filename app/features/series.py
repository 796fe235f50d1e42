"""Transport series in the window: import many I(V) files as one series, and the series views.

File > Import series... reads column files (Nanonis ``.dat``, text/CSV) into one
:class:`analysis.series.Series` off the GUI thread, with tags from a file-name pattern such as
``neck3_{H}T.dat``; files that cannot be read, whose columns disagree with the others or whose name does not
match are left out with a message naming each. A series is a dataset of the session (data browser, project
file). The Series dock shows the current series: curves of the chosen x and y quantities coloured by a tag
(overlay and offset waterfall), the 2D map of y against x and the tag, and results against the tag.
Derivatives (dI/dV, dV/dI) are offered as quantities and computed off the GUI thread on the non-uniform
axes (:func:`analysis.transport.derivative`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog

from analysis.errors import WorkbenchError
from analysis.models.registry import get_model, registry
from analysis.papers.neck import neck_gap_from_peaks
from analysis.series import Series
from analysis.store import Attachment
from analysis.transport import (
    average_repeats,
    derivative,
    find_peaks,
    find_steps,
    fit_series,
    gap_from_sgs,
    normalise_rn,
    per_junction,
    preview_tags,
    read_series_files,
    read_tag_table,
    remove_offsets,
    resistance_power,
    subtract_series_resistance,
    symmetrise,
    tag_map,
    to_current_grid,
    to_voltage_grid,
)
from analysis.transport.fitting import SeriesFit
from analysis.transport.grids import derivative_name
from app.features.host import Host
from app.state.edits import AddDataset
from widgets.series.fit_dialog import SeriesFitDialog
from widgets.series.import_dialog import SeriesImportDialog
from widgets.series.markers import PeakPicker
from widgets.series.result_plot import Result
from widgets.series.series_panel import SeriesPanel

_SWEEP_SUFFIXES = (".dat", ".txt", ".csv", ".tsv")
#: Project attachment holding the Series dock's choices (series key, x and y quantities, tag, view).
SERIES_VIEW = "series_view"


class SeriesController:
    """Binds the Series dock to the series datasets of the state."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.state = host.state
        self.panel = SeriesPanel()
        # hidden until there is a series to show (an STM session never sees it)
        host.add_dock("series", "Series", self.panel, Qt.DockWidgetArea.BottomDockWidgetArea, visible=False)
        self.key: str | None = None  # the series shown
        self.x: str | None = None
        self.y: str | None = None
        self.tag: str | None = None
        #: series key -> {quantity: derived Series holding it}
        self.derived: dict[str, dict[str, Series]] = {}
        self.last_import: Any = None
        self.jobs: list[Any] = []
        self._derivatives: dict[str, tuple[str, str]] = {}  # "dV/dI" -> (y channel, x channel)
        menu = host.menu("File")
        separators = [a for a in menu.actions() if a.isSeparator()]
        action = QAction("Import &series...", menu)
        action.triggered.connect(self.import_dialog)
        menu.insertAction(separators[-1] if separators else None, action)
        self.import_dialog_shown: SeriesImportDialog | None = None
        self.fit_dialog: SeriesFitDialog | None = None
        self.fit_job: Any = None
        self.picker: PeakPicker | None = None
        self.step_picker: PeakPicker | None = None
        self.picked_frequency: float | None = None
        self.picked_gap: Any = None
        self.last_fit: SeriesFit | None = None
        loader = getattr(host, "loader", None)
        if loader is not None:
            loader.folder_opener = self.import_folder
        self._build_menu(host.menu("Analysis").addMenu("&Series"))
        self.panel.quantity_changed.connect(self._quantity_chosen)
        self.panel.tag_changed.connect(self._tag_chosen)
        self.panel.export_requested.connect(self._export)
        self.state.datasets_changed.connect(self._datasets_changed)
        self.state.current_changed.connect(lambda _k: self._datasets_changed())
        # the dock's choices are saved with a project and put back when it is opened
        self.state.attachment_providers[SERIES_VIEW] = self.view_attachment
        self.state.attachment_restorers[SERIES_VIEW] = self.restore_view

    # -- import ---------------------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self.panel, "Import I(V) files as one series", "", "Sweeps (*.dat *.txt *.csv *.tsv);;All (*)"
        )
        if paths:
            self.open_import_dialog(paths)

    def open_import_dialog(self, paths: list[str]) -> SeriesImportDialog:
        """The import dialog for ``paths`` (non-modal): a tag pattern with its preview, and the split."""
        dialog = SeriesImportDialog(paths, self.panel)
        dialog.pattern_changed.connect(lambda text, d=dialog: self._preview(d, text))
        dialog.import_requested.connect(
            lambda r, d=dialog: self.import_files(
                r["paths"],
                r["pattern"],
                r["split"],
                r["split_column"],
                r.get("header"),
                _merge_tables(d.tag_table, r.get("typed")),
            )
        )
        dialog.tag_table = None  # type: ignore[attr-defined]
        dialog.table_requested.connect(lambda d=dialog: self._choose_table(d))
        self.import_dialog_shown = dialog
        dialog.show()
        return dialog

    def _choose_table(self, dialog: SeriesImportDialog) -> None:
        path, _ = QFileDialog.getOpenFileName(dialog, "Tag table", "", "CSV (*.csv *.tsv *.txt)")
        if not path:
            return
        try:
            table, units = read_tag_table(path)
        except WorkbenchError as exc:
            dialog.set_table_name(f"not read: {exc}")
            return
        dialog.tag_table = (table, units)  # type: ignore[attr-defined]
        dialog.set_table_name(f"{Path(path).name}: {len(table)} files, tags {', '.join(units)}")

    def _preview(self, dialog: SeriesImportDialog, pattern: str) -> None:
        pattern = pattern.strip()
        if not pattern:
            dialog.set_preview([(p, "", None) for p in dialog.paths])
            return
        try:
            rows = preview_tags(dialog.paths, pattern)
        except (ValueError, WorkbenchError) as exc:
            dialog.set_preview([(p, "", f"pattern: {exc}") for p in dialog.paths])
            return
        dialog.set_preview(
            [(r.path, ", ".join(f"{k} = {v:g}" for k, v in r.values.items()), r.error) for r in rows]
        )

    def import_folder(self, folder: str) -> bool:
        """A folder dropped on the window: its column files, in name order, open in the import dialog."""
        files = sorted(
            str(p) for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in _SWEEP_SUFFIXES
        )
        if not files:
            self.host.log("warning", f"{folder} holds no sweep files ({', '.join(_SWEEP_SUFFIXES)})")
            return True
        self.open_import_dialog(files)
        return True

    def import_files(
        self,
        paths: list[str],
        pattern: str | None = None,
        split: str | None = None,
        column: str | None = None,
        header: dict[str, str] | None = None,
        table: tuple[dict[str, dict[str, float]], dict[str, str]] | None = None,
    ) -> Any:
        """Import ``paths`` off the GUI thread; returns the job. Column files (Nanonis, text) make one series
        (tags from ``pattern``, the ``header`` keys {tag: key} and a ``table`` read by
        :func:`analysis.transport.read_tag_table`; ``split`` None, "turning_points" or "column"); each
        QCoDeS ``.db`` run and each Labber log is a series of its own."""
        names = [str(p) for p in paths]
        kw: dict[str, Any] = {"patterns": pattern, "split": split, "split_column": column}
        if header:
            kw["header"] = header
        if table is not None:
            kw["table"], kw["tag_units"] = table

        def done(result: tuple[list[Series], list[Any]]) -> None:
            series, problems = result
            self.last_import = result
            for problem in problems:
                self.host.log("warning", str(problem))
            key = None
            for s in series:
                if not len(s):
                    continue
                label = s.name or f"Series of {len(s)} sweeps"
                key = self.state.add_dataset(s, label)
                self.host.log("info", f"Imported {len(s)} sweeps into {label}")
            if key is None:
                self.host.log("error", "No sweep could be imported: " + "; ".join(map(str, problems)))
            else:
                self.state.set_current(key)

        job = self.host.run_job(read_series_files, names, name="Import series", on_finished=done, **kw)
        self.jobs.append(job)
        return job

    # -- saved with a project -------------------------------------------------------------------------------
    def view_attachment(self) -> Attachment:
        """The dock's choices: the series shown (its dataset key), x, y, tag and the view in front."""
        return Attachment(
            data={
                "series": self.key,
                "x": self.x,
                "y": self.y,
                "tag": self.tag,
                "view": self.panel.current_view(),
            }
        )

    def restore_view(self, att: Attachment, keys: dict[str, str]) -> list[str]:
        """Show the saved series with its saved quantities, tag and view (keys rewritten by ``keys``)."""
        d = att.data
        key = keys.get(str(d.get("series")), d.get("series"))
        if not isinstance(key, str) or key not in self.series_keys():
            return []
        self.key = key
        self.x, self.y, self.tag = (
            d.get(n) if isinstance(d.get(n), str) else None for n in ("x", "y", "tag")
        )
        self.show()
        view = d.get("view")
        if isinstance(view, str) and view in ("overlay", "waterfall", "map", "results"):
            self.panel.show_view(view)
        return []

    # -- which series ---------------------------------------------------------------------------------------
    def series_keys(self) -> list[str]:
        return [k for k, e in self.state.entries.items() if isinstance(e.dataset, Series)]

    def series(self) -> Series | None:
        entry = self.state.entries.get(self.key or "")
        return entry.dataset if entry is not None and isinstance(entry.dataset, Series) else None

    def _datasets_changed(self) -> None:
        keys = self.series_keys()
        current = self.state.current if self.state.current in keys else None
        key = current or (self.key if self.key in keys else (keys[-1] if keys else None))
        for gone in [k for k in self.derived if k not in keys]:
            del self.derived[gone]
        if key != self.key:
            self.key = key
            self.x = self.y = self.tag = None
            self.show()
            if key is not None:
                dock = self.host.dock("series")
                dock.show()
                dock.raise_()

    # -- quantities -----------------------------------------------------------------------------------------
    def quantities(self, s: Series) -> list[tuple[str, str]]:
        """(name, unit) of every quantity offered: the channels, then the derivatives of the swept channel
        against the others and of the others against it, named as the field does ("dV/dI", "dI/dV")."""
        names = s.channel_names("fwd")
        out = [(n, s.unit(n)) for n in names]
        xc = s.x_channel
        self._derivatives = {}
        for n in names:
            if n == xc:
                continue
            for y, x in ((n, xc), (xc, n)):
                label, unit = derivative_name(s, y, x)
                if label not in names and label not in self._derivatives:
                    self._derivatives[label] = (y, x)
                    out.append((label, unit))
        return out

    def label(self, quantity: str) -> str:
        return quantity

    def _quantity_chosen(self, axis: str, quantity: str) -> None:
        if axis == "x":
            self.x = quantity
        else:
            self.y = quantity
        self.show()

    def _tag_chosen(self, tag: str) -> None:
        self.tag = tag
        self.show()

    def _values(self, s: Series, quantity: str) -> tuple[Series, str] | None:
        """(series holding ``quantity``, its channel) or None while a derivative is being computed."""
        if quantity not in self._derivatives:
            return s, quantity
        cache = self.derived.setdefault(self.key or "", {})
        if quantity in cache:
            return cache[quantity], quantity
        y, x = self._derivatives[quantity]
        key = self.key

        def done(result: Series) -> None:
            self.derived.setdefault(key or "", {})[quantity] = result
            if key == self.key:
                self.show()

        self.jobs.append(
            self.host.run_job(derivative, s, y, x, name=f"d{y}/d{x} of the series", on_finished=done)
        )
        return None

    # -- drawing --------------------------------------------------------------------------------------------
    def show(self) -> None:
        s = self.series()
        if s is None:
            self.panel.set_quantities([])
            self.panel.set_tags([])
            self.panel.set_series_curves([], [], [])
            return
        quantities = self.quantities(s)
        names = [q for q, _u in quantities]
        self.x = self.x if self.x in names else s.x_channel
        others = [n for n in names if n != self.x and n not in self._derivatives]
        self.y = self.y if self.y in names else (others[0] if others else self.x)
        tags = [(t, s.tag_unit(t)) for t in s.tag_names()]
        tag_names = [t for t, _u in tags]
        self.tag = self.tag if self.tag in tag_names else (tag_names[0] if tag_names else None)
        self.panel.set_quantities(quantities, self.x, self.y)
        self.panel.set_tags(tags, self.tag)
        xs_src = self._values(s, self.x)
        ys_src = self._values(s, self.y)
        if xs_src is None or ys_src is None:
            return  # a derivative is on its way
        (sx, cx), (sy, cy) = xs_src, ys_src
        xs = [np.asarray(sw.channel(cx), float) for sw in sx]
        ys = [np.asarray(sw.channel(cy), float) for sw in sy]
        tag_values = s.tag(self.tag) if self.tag else np.arange(len(s), dtype=float)
        self.panel.set_series_curves(
            xs,
            ys,
            tag_values,
            self.tag or "sweep",
            s.tag_unit(self.tag) if self.tag else "",
            self.label(self.x),
            sx.unit(cx),
            self.label(self.y),
            sy.unit(cy),
        )
        if self.tag and sx is s:
            try:
                tm = tag_map(sy, cy, self.tag, x=cx)
            except (ValueError, KeyError) as exc:
                self.host.log("warning", f"no 2D map of {self.label(self.y)}: {exc}")
            else:
                self.panel.set_map(
                    tm.values,
                    tm.x,
                    tm.tag,
                    tm.x_name,
                    tm.x_unit,
                    tm.tag_name,
                    tm.tag_unit,
                    tm.value_name,
                    tm.value_unit,
                )

    # -- processing (each step a derived series, undoable) -------------------------------------------------
    def _build_menu(self, menu: Any) -> None:
        menu.addAction("Fit the series...").triggered.connect(self.open_fit_dialog)
        menu.addSeparator()
        for text, fn in (
            ("Remove offsets (V0, I0)", self.remove_offsets),
            ("Symmetrise y", lambda: self.symmetrise(False)),
            ("Antisymmetrise y", lambda: self.symmetrise(True)),
            ("Subtract series resistance...", self.subtract_resistance),
            ("Per junction (V/N, N*dI/dV)...", self.per_junction),
            ("Normalise by R_N...", self.normalise),
            ("Resistance and power (R = V/I, P = IV)", self.resistance_power),
            ("Onto a common voltage grid", lambda: self._derive("on a voltage grid", to_voltage_grid)),
            ("Onto a common current grid", lambda: self._derive("on a current grid", to_current_grid)),
            ("Average repeated sweeps", self.average),
        ):
            menu.addAction(text).triggered.connect(lambda _=False, f=fn: f())
        menu.addSeparator()
        menu.addAction("Gap ladder 2Delta/n").triggered.connect(self.gap_ladder)
        menu.addAction("Shapiro ladder n*hf/2e").triggered.connect(self.shapiro_ladder)
        menu.addAction("Pick peaks (gap from the subharmonic ladder)").triggered.connect(self.pick_peaks)
        menu.addAction("Pick steps (frequency from the Shapiro steps)").triggered.connect(self.pick_steps)

    def _derive(self, what: str, fn: Any, *args: Any, **kw: Any) -> Any:
        """Run ``fn(series, *args, **kw)`` off the GUI thread; the result is a new series under the current
        one (one undoable step)."""
        s, key = self.series(), self.key
        if s is None or key is None:
            self.host.log("warning", "Import a series first (File > Import series...)")
            return None

        def done(result: Series) -> None:
            label = f"{self.state.entries[key].label if key in self.state.entries else 'series'}: {what}"
            self.state.undo.push(AddDataset(self.state, result, label, parent=key))

        def failed(message: str) -> None:
            self.host.log("error", f"{what}: {message.strip().splitlines()[-1]}")

        return self.host.run_job(fn, s, *args, name=what, on_finished=done, on_failed=failed, **kw)

    def _ask(self, title: str, label: str, value: float, decimals: int = 6) -> float | None:
        v, ok = QInputDialog.getDouble(self.panel, title, label, value, -1e12, 1e12, decimals)
        return float(v) if ok else None

    def remove_offsets(self) -> Any:
        return self._derive("offsets removed", remove_offsets)

    def symmetrise(self, anti: bool) -> Any:
        s = self.series()
        channel = self.y if s is not None and self.y in s.channel_names() else None
        if channel is None:
            self.host.log("warning", "Choose a measured channel (not a derivative) as y to symmetrise it")
            return None
        what = f"{channel} {'antisymmetrised' if anti else 'symmetrised'}"
        return self._derive(what, symmetrise, channel, antisymmetric=anti)

    def subtract_resistance(self) -> Any:
        r = self._ask("Series resistance", "Lead/series resistance to subtract (Ohm):", 0.0, 3)
        return (
            None if r is None else self._derive(f"R_s = {r:g} Ohm subtracted", subtract_series_resistance, r)
        )

    def per_junction(self) -> Any:
        s = self.series()
        if s is not None and "N" in s.tags:
            return self._derive("per junction (tag N)", per_junction, "N")
        n = self._ask("Number of junctions", "N (V/N and N*dI/dV):", 1.0, 0)
        return None if n is None or n < 1 else self._derive(f"per junction (N = {n:g})", per_junction, n)

    def normalise(self) -> Any:
        v = self._ask("Normalise by R_N", "R_N from the high-bias slope above |V| = (V):", 0.01, 6)
        return None if v is None else self._derive(f"normalised by R_N above {v:g} V", normalise_rn, v)

    def resistance_power(self) -> Any:
        return self._derive("R and P", resistance_power)

    def average(self) -> Any:
        if self.tag is None:
            self.host.log("warning", "The series has no tag to group repeated sweeps by")
            return None
        return self._derive(f"averaged over repeats of {self.tag}", average_repeats, self.tag)

    # -- ladders --------------------------------------------------------------------------------------------
    def gap_ladder(self) -> Any:
        """A draggable 2Delta/n ladder on the overlay, starting at the gap the subharmonic structure gives."""
        s = self.series()
        if s is None:
            return None
        delta = 1e-3  # eV
        src = self._values(s, self.y) if self.y else None
        if src is not None:
            try:
                deltas, _err = gap_from_sgs(src[0], src[1])
                deltas = deltas[np.isfinite(deltas) & (deltas > 0)]
                if deltas.size:
                    delta = float(np.median(deltas))
            except (ValueError, WorkbenchError):
                pass
        x_unit = s.unit(self.x or s.x_channel)
        if x_unit != "V":
            self.host.log("info", "The gap ladder marks voltages: choose a voltage as x to see it")
        return self.panel.add_ladder("overlay", "gap", "inverse", 2 * delta, 6, True)

    def shapiro_ladder(self) -> Any:
        s = self.series()
        if s is None:
            return None
        f = 10e9
        if "f" in s.tags:
            tags = s.tag("f")
            tags = tags[np.isfinite(tags)]
            f = float(tags[0]) if tags.size else f
        step = 6.62607015e-34 * f / (2 * 1.602176634e-19)
        return self.panel.add_ladder("overlay", "shapiro", "multiple", step, 5, True)

    # -- peak and step pickers ------------------------------------------------------------------------------
    def _sweep_curve(self, sweep: int | None) -> Any:
        """(x, y, (series, x channel), (series, y channel)) of sweep ``sweep`` (default the first) in the
        chosen quantities, or None (with a message while a derivative is being computed)."""
        s = self.series()
        if s is None or self.x is None or self.y is None:
            return None
        src_x, src_y = self._values(s, self.x), self._values(s, self.y)
        if src_x is None or src_y is None:
            self.host.log("info", "The derivative is still being computed; pick again in a moment")
            return None
        (sx, cx), (sy, cy) = src_x, src_y
        k = 0 if sweep is None else int(sweep)
        x = np.asarray(sx.sweeps[k].channel(cx), float)
        y = np.asarray(sy.sweeps[k].channel(cy), float)
        return x, y, (sx, cx), (sy, cy)

    def pick_peaks(self, sweep: int | None = None) -> Any:
        """The peaks of one sweep's y (default the first) in an editable picker, found automatically; every
        change of the markers gives the gap from the subharmonic ladder they make (2Delta/n)."""
        curve = self._sweep_curve(sweep)
        if curve is None:
            return None
        x, y, (sx, cx), (sy, cy) = curve
        if self.picker is None:
            self.picker = PeakPicker("peak")
            self.picker.markers_changed.connect(self._peaks_changed)
            self.host.add_dock(
                "series_peaks", "Series peaks", self.picker, Qt.DockWidgetArea.RightDockWidgetArea
            )
        self.picker.set_curve(x, y, cx, sx.unit(cx), cy, sy.unit(cy))
        peaks = find_peaks(x, y, x_range=(0.0, float(np.nanmax(x))))
        self.picker.set_markers(
            [{"position": p.position, "height": p.height, "width": p.width} for p in peaks]
        )
        dock = self.host.dock("series_peaks")
        dock.show()
        dock.raise_()
        self._peaks_changed(self.picker.marker_list())
        return self.picker

    def pick_steps(self, sweep: int | None = None) -> Any:
        """The plateaus of one sweep's y against x (e.g. V against I under rf) in an editable picker; the
        spacing of the picked steps gives the drive frequency, f = 2e dV/h, and a Shapiro ladder."""
        curve = self._sweep_curve(sweep)
        if curve is None:
            return None
        x, y, (sx, cx), (sy, cy) = curve
        if self.step_picker is None:
            self.step_picker = PeakPicker("step")
            self.step_picker.markers_changed.connect(self._steps_changed)
            area = Qt.DockWidgetArea.RightDockWidgetArea
            self.host.add_dock("series_steps", "Series steps", self.step_picker, area)
        self.step_picker.set_curve(x, y, cx, sx.unit(cx), cy, sy.unit(cy))
        steps = [st for st in find_steps(x, y) if st.points >= 5]
        # a step's marker sits at its middle, at its level (position in x, height in y)
        self.step_picker.set_markers(
            [{"position": 0.5 * (st.start + st.stop), "height": st.level, "width": st.width} for st in steps]
        )
        dock = self.host.dock("series_steps")
        dock.show()
        dock.raise_()
        self._steps_changed(self.step_picker.marker_list())
        return self.step_picker

    def _steps_changed(self, markers: list[dict[str, float]]) -> None:
        levels = np.sort(np.array([m["height"] for m in markers], float))
        if levels.size < 2:
            return
        spacing = float(np.median(np.diff(levels)))
        if not spacing > 0:
            return
        self.picked_frequency = 2 * 1.602176634e-19 * spacing / 6.62607015e-34
        self.host.log(
            "info",
            f"{levels.size} steps {spacing * 1e6:.4g} uV apart: "
            f"f = 2e dV/h = {self.picked_frequency / 1e9:.4g} GHz",
        )

    def _peaks_changed(self, markers: list[dict[str, float]]) -> None:
        positions = np.array([m["position"] for m in markers if m["position"] > 0], float)
        if positions.size == 0:
            return
        try:
            gap = neck_gap_from_peaks(positions)
        except (ValueError, WorkbenchError) as exc:
            self.host.log("warning", f"no gap from the picked peaks: {exc}")
            return
        self.picked_gap = gap
        note = " (ambiguous)" if gap.ambiguous else ""
        self.host.log(
            "info",
            f"Gap from {positions.size} picked peaks: Delta = {gap.delta * 1e3:.4g}"
            f" +- {gap.delta_err * 1e3:.2g} meV{note}",
        )
        if (
            self.x is not None
            and (s := self.series()) is not None
            and s.unit(self.x) == "V"
            and gap.delta > 0
        ):
            self.panel.add_ladder("overlay", "gap", "inverse", 2 * gap.delta, 6, True)

    # -- fits across the series -----------------------------------------------------------------------------
    def open_fit_dialog(self) -> SeriesFitDialog:
        if self.fit_dialog is None:
            d = self.fit_dialog = SeriesFitDialog(self.panel)
            d.set_models([(m.name, m.title) for m in registry().items()], "dynes_sin")
            d.model_changed.connect(self._fit_model_changed)
            d.fit_requested.connect(self.run_fit)
            d.cancel_requested.connect(lambda: self.fit_job.cancel() if self.fit_job is not None else None)
            self._fit_model_changed(d.current_model())
        self.fit_dialog.show()
        self.fit_dialog.raise_()
        return self.fit_dialog

    def _fit_model_changed(self, name: str) -> None:
        if self.fit_dialog is None or not name:
            return
        model = get_model(name)
        self.fit_dialog.set_parameters([(p.name, p.unit) for p in model.params])

    def run_fit(self, request: dict[str, Any]) -> Any:
        """Fit the chosen model to y against x of every sweep (parameters shared or per sweep)."""
        s = self.series()
        if s is None or self.x is None or self.y is None or self.fit_job is not None:
            return None
        src_x, src_y = self._values(s, self.x), self._values(s, self.y)
        if src_x is None or src_y is None:
            self.host.log("info", "The derivative is still being computed; fit again in a moment")
            return None
        (sx, cx), (sy, cy) = src_x, src_y
        data = sy if sy is not s else sx
        dialog = self.fit_dialog
        if dialog is not None:
            dialog.set_busy(True)
            dialog.set_report(f"Fitting {request['model']} to {cy} against {cx} of {len(s)} sweeps...")

        def done(fit: SeriesFit) -> None:
            self.fit_job = None
            self.last_fit = fit
            self.state.fits[self.state.new_key("fit")] = fit
            self._show_fit(fit)
            if dialog is not None:
                dialog.set_busy(False)
                dialog.set_report(_fit_report(fit))

        def ended(message: str) -> None:
            self.fit_job = None
            if dialog is not None:
                dialog.set_busy(False)
                dialog.set_report(message or "Cancelled.")

        self.fit_job = self.host.run_job(
            fit_series,
            data,
            request["model"],
            x=cx,
            y=cy,
            shared=tuple(request.get("shared") or ()),
            expressions=dict(request.get("expressions") or {}) or None,
            name=f"Fit {request['model']} to the series",
            on_finished=done,
            on_failed=lambda m: ended(f"Failed: {m.strip().splitlines()[-1]}"),
            on_cancelled=lambda: ended("Cancelled."),
        )
        return self.fit_job

    def _show_fit(self, fit: SeriesFit) -> None:
        tag = self.tag if self.tag in fit.tags else next(iter(fit.tags), None)
        tags = np.asarray(fit.tags[tag], float) if tag else np.asarray(fit.sweeps, float)
        results = [
            Result(name, tags, fit.value(name), fit.error(name), fit.param_units.get(name, ""))
            for name in fit.param_names
            if name not in fit.fixed
        ]
        self.panel.set_results(results, tag or "sweep", fit.tag_units.get(tag, "") if tag else "")
        self.panel.show_view("results")

    # -- export ---------------------------------------------------------------------------------------------
    def _export(self, kind: str, view: str) -> None:
        widget = {
            "overlay": self.panel.overlay,
            "waterfall": self.panel.waterfall,
            "map": self.panel.map,
            "results": self.panel.results,
        }.get(view)
        plot = getattr(widget, "plot", None)
        if plot is None:
            return
        label = self.state.entries[self.key].label if self.key in self.state.entries else "series"
        self.host.exporter.export_plot(plot, kind, name=f"{label} {view}")


def install(host: Host) -> None:
    """Add File > Import series... and the Series dock (``host.series`` is the controller)."""
    host.series = SeriesController(host)  # type: ignore[attr-defined]


def _fit_report(fit: SeriesFit) -> str:
    lines = [f"{fit.model}: {fit.y} against {fit.x}, {len(fit.sweeps)} sweeps ({fit.method})"]
    if fit.shared:
        lines.append(
            "shared: "
            + ", ".join(f"{n} = {fit.value(n)[0]:.6g} +- {fit.error(n)[0]:.2g}" for n in fit.shared)
        )
    lines.append(f"converged: {int(np.sum(fit.success))} of {len(fit.success)}")
    rows = fit.table()
    if rows:
        cols = list(rows[0])
        lines.append("")
        lines.append("\t".join(cols))
        for row in rows:
            lines.append(
                "\t".join(f"{row[c]:.6g}" if isinstance(row[c], float) else str(row[c]) for c in cols)
            )
    if fit.message:
        lines.append(fit.message)
    return "\n".join(lines)


def _merge_tables(
    table: tuple[dict[str, dict[str, float]], dict[str, str]] | None,
    typed: dict[str, dict[str, float]] | None,
) -> tuple[dict[str, dict[str, float]], dict[str, str]] | None:
    """The tag table read from a file with the values typed in the import dialog on top (SI values)."""
    if not typed:
        return table
    rows, units = ({}, {}) if table is None else (dict(table[0]), dict(table[1]))
    for name, values in typed.items():
        rows[name] = {**rows.get(name, {}), **values}
    return rows, units
