"""Fitting in the main window: the fit dock, batch fits to parameter maps, the Josephson workflow.

``install(window)`` adds the "Fit" dock (:class:`widgets.fit_panel.FitPanel`) and the Analysis menu
actions "Fit spectrum" and "Batch fit to parameter maps..." and binds them to the application state:

* data sources: the clicked pixel (``state.cursor``), pinned points, region averages (``state.regions``),
  a point along a line cut (``state.linecuts``: polylines in metres; the panel's position 0..1 runs along
  it) of the current grid, and every point spectrum open in the browser (a spectrum file opened with
  File > Open or the panel's "Load spectrum..." button);
* fits run with ``window.run_job`` (cancel from the panel or the status bar); each finished fit is kept in
  ``state.fits`` as a JSON-able record ({"kind": "single", "record": FitRecord.to_dict(), ...});
* batch fits: :func:`analysis.fitting.maps.fit_grid` over worker processes or dask; the resulting maps
  image is added to the data browser as a derived dataset of the grid
  (``state.add_dataset(image, label, parent=grid_key)``) and a {"kind": "batch", ...} record is kept;
* Josephson ([JSTM]): Ic pinned from Ambegaokar-Baratoff with the gap (e.g. from an SIS fit) and each
  spectrum's R_N, then R and T_eff fitted, for one spectrum or a series at different R_N with common R and
  T_eff (:func:`analysis.models.josephson.fit_phase_diffusion_series`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from analysis.channels import axis_label, default_channel, fit_route, numerical_conductance, quantity_of
from analysis.dataset import Grid, Spectrum
from analysis.errors import WorkbenchError
from analysis.fitting.batch import FitOptions
from analysis.fitting.entries import BatchFitEntry, FitSource, JosephsonSeriesEntry, SingleFitEntry
from analysis.fitting.maps import dask_runner, fit_grid, process_runner
from analysis.fitting.parallel import cpu_count
from analysis.fitting.single import FitRecord, SingleFit, fit_spectrum
from analysis.maps.averaging import region_average
from analysis.maps.linecut import path_length, position_at
from analysis.models.registry import get_model, registry
from app.features.host import Host
from app.state.app_state import ViewState
from app.state.undo import DictEdit
from app.workers.turns import NextTurns
from widgets.batch_fit_dialog import BatchFitDialog
from widgets.fit_panel import FitPanel

#: Gap parameters of the models, most specific first (the sample pi gap of a two-band SIS fit, ...).
_GAP_NAMES = ("Delta_pi_s", "Delta_s", "Delta_pi", "Delta", "Delta_pi_t", "Delta_t")


def _channel_labels(ds: Grid | Spectrum) -> list[tuple[str, str]]:
    """(channel, "name (unit, quantity)") for the forward channels of ``ds``, measured ones first."""
    out = []
    for n in ds.channel_names("fwd") or list(ds.channels):
        q = quantity_of(ds, n)
        unit = ds.unit(n)
        out.append((n, f"{n} ({unit + ', ' if unit else ''}{q})"))
    return out


def _cut_vertices(cut: Any) -> np.ndarray | None:
    """(k, 2) polyline vertices in metres of a line-cut record (a CutPath, or anything with ``vertices``
    or ``start``/``end`` points), or None when it has none."""
    get = cut.get if isinstance(cut, dict) else lambda key: getattr(cut, key, None)
    verts = get("vertices")
    if verts is None and get("start") is not None and get("end") is not None:
        verts = [get("start"), get("end")]
    if verts is None:
        return None
    try:
        arr = np.asarray(verts, dtype=float)
    except (TypeError, ValueError):
        return None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 2 or not np.all(np.isfinite(arr)):
        return None
    return arr


def _name_of(obj: Any, default: str) -> str:
    name = obj.get("name") if isinstance(obj, dict) else getattr(obj, "name", None)
    return str(name) if name else default


class FitController:
    """Binds the fit panel and the batch dialog to the window's state and jobs."""

    def __init__(self, window: Host) -> None:
        self.window = window
        self.state = window.state
        self.panel = FitPanel()
        self.panel.setObjectName("fit-panel")
        self.dock = window.add_dock("fit", "Fit", self.panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.job = None
        #: the views' refreshes after a batch fit ends (its maps added) run in event-loop turns of their own
        self.turns = NextTurns(window)
        self.batch_job = None
        self.dialog: BatchFitDialog | None = None
        self.last_fit: SingleFit | None = None
        self.last_josephson = None
        self._data: tuple[np.ndarray, np.ndarray, str, str | None] | None = None
        self._shown_axes: tuple[str | None, str, str] = (None, "", "")
        #: channels the user chose in the fit dock, per dataset key (else the slicer's channel)
        self.chosen_channel: dict[str, str] = {}
        self._plan: dict[str, Any] = {}

        menu = window.menu("Analysis")
        self.fit_action = menu.addAction("Fit spectrum")
        self.fit_action.triggered.connect(self.show_panel)
        self.batch_action = menu.addAction("Batch fit to parameter maps...")
        self.batch_action.triggered.connect(self.open_batch_dialog)

        self.panel.set_models([m.describe() for m in registry().items()])
        self.panel.model_changed.connect(self._model_chosen)
        self.panel.param_edited.connect(self._param_edited)
        self.state.fit_starts.edited.connect(self._start_edited)
        self.panel.source_changed.connect(lambda _k: self.refresh_data())
        self.panel.channel_changed.connect(self._channel_chosen)
        self.state.viewed_channel_changed.connect(lambda _k, _c: self.refresh_data())
        self.panel.position_changed.connect(lambda _t: self.refresh_data())
        self.panel.fit_requested.connect(self.run_fit)
        self.panel.cancel_requested.connect(self.cancel)
        self.panel.load_spectrum_requested.connect(self._load_spectrum)
        self.panel.josephson_requested.connect(self.run_josephson)
        self.panel.gap_from_fit_requested.connect(self._gap_from_fit)
        # A change refreshes the source list, and the plotted data when it concerns the current source.
        for sig, kind in (
            (self.state.cursor_changed, "cursor"),
            (self.state.pinned_changed, "pin"),
            (self.state.regions_changed, "region"),
            (self.state.linecuts_changed, "cut"),
            (self.state.datasets_changed, None),
            (self.state.current_changed, None),
        ):
            sig.connect(lambda *_a, kind=kind: self._sources_changed(kind))
        #: number of rebuilds of the source list (one per state change; tests count them)
        self.source_refreshes = 0
        self._changed_kinds: set[str | None] = set()
        # a single fit that arrives in the state from elsewhere (a project being opened) shows its report
        self._own_fits: set[str] = set()
        self.state.fits.edited.connect(self._fit_edited)
        self._sources_changed(None)

    def _fit_edited(self, key: str, _old: Any, new: Any) -> None:
        if isinstance(new, SingleFitEntry) and key not in self._own_fits:
            try:
                record = FitRecord.from_dict(new.record)
            except (KeyError, TypeError, ValueError):
                return
            self.panel.set_report(f"Restored with the project:\n{record.report()}")

    # -- start settings (one undo stack) -----------------------------------------------------------------
    def _model_chosen(self, name: str) -> None:
        start = self.state.fit_starts.get(name)
        if start:
            self.panel.set_params(start)
        self.refresh_data()

    def _default_settings(self, name: str) -> dict[str, dict[str, Any]]:
        model = get_model(name)
        return {
            p.name: {"value": p.default, "min": p.min, "max": p.max, "vary": p.vary, "expr": ""}
            for p in model.params
        }

    def _param_edited(self, param: str, column: str) -> None:
        """A user edit of the parameter table becomes one step on the state's undo stack."""
        model = self.panel.current_model()
        if not model:
            return
        try:
            new = self.panel.param_settings()
        except ValueError as exc:
            self.panel.set_report(f"Not a number: {exc}")
            self.panel.set_params(self.state.fit_starts.get(model) or self._default_settings(model))
            return
        if new == self.state.fit_starts.get(model):
            return
        text = f"Fit {param} {column.lower()} ({model})"
        self.state.undo.push(DictEdit(text, self.state.fit_starts, model, new))

    def _start_edited(self, model: str, _old: Any, new: Any) -> None:
        """Show start settings that changed (an edit, an undo or a redo), choosing their model first."""
        if self.panel.current_model() != model:
            try:
                self.panel.set_current_model(model)  # fills the defaults, then the stored settings
            except KeyError:
                return
            return
        self.panel.set_params(new if new else self._default_settings(model))

    def _result_as_start(self, model: str) -> None:
        """The values a fit put into the table are the start of the next fit: one undoable step."""
        try:
            settings = self.panel.param_settings()
        except ValueError:
            return
        if settings != self.state.fit_starts.get(model):
            text = f"Fit result as start values ({model})"
            self.state.undo.push(DictEdit(text, self.state.fit_starts, model, settings))

    # -- sources ------------------------------------------------------------------------------------------
    def grid_key(self) -> str | None:
        return self.window.current_grid_key()

    def typed_sources(self) -> list[tuple[FitSource, str]]:
        """Every source a fit can read now, with the label the dock lists it under."""
        out: list[tuple[FitSource, str]] = []
        if self.state.cursor is not None and self.grid_key() is not None:
            x, y = self.state.cursor
            out.append((FitSource("cursor"), f"Clicked pixel ({x * 1e9:.1f}, {y * 1e9:.1f}) nm"))
        if self.grid_key() is not None:
            for i, p in enumerate(self.state.pinned):
                label = f"Pinned {i + 1} ({p.x * 1e9:.1f}, {p.y * 1e9:.1f}) nm"
                out.append((FitSource("pin", p.key), label))
            for rid, region in self.state.regions.items():
                out.append((FitSource("region", rid), f"Region average: {_name_of(region, rid)}"))
            for cid, cut in self.state.linecuts.items():
                if _cut_vertices(cut) is not None:
                    out.append((FitSource("cut", cid), f"Line cut {_name_of(cut, cid)} (point along it)"))
        for e in self.state.entries.values():
            if isinstance(e.dataset, Spectrum):
                out.append((FitSource("spectrum", e.key), f"Spectrum: {e.label}"))
        return out

    def sources(self) -> list[tuple[str, str]]:
        """(token, label) of every source, as the dock lists them (see :class:`FitSource`)."""
        return [(src.token, label) for src, label in self.typed_sources()]

    def current_source(self) -> FitSource | None:
        return FitSource.from_token(self.panel.current_source())

    def _sources_changed(self, kind: str | None) -> None:
        """A kind of source changed (None: anything): rebuild the list once the state's batch is over."""
        self._changed_kinds.add(kind)
        self.state.hub.later(self._rebuild_sources)

    def _rebuild_sources(self) -> None:
        kinds, self._changed_kinds = self._changed_kinds, set()
        self.source_refreshes += 1
        before = self.panel.current_source()
        self.panel.set_sources(self.sources())  # emits source_changed (-> refresh) when the choice changed
        now = self.current_source()
        if self.panel.current_source() == before and (now is None or None in kinds or now.kind in kinds):
            self.refresh_data()

    def _model(self):
        name = self.panel.current_model()
        return get_model(name) if name else None

    def _dataset_for(self, source: FitSource | str | None) -> tuple[str, Grid | Spectrum] | None:
        """(dataset key, dataset) a source reads from: its point spectrum, else the current grid."""
        src = _typed(source)
        if src is None:
            return None
        if src.kind == "spectrum":
            e = self.state.entries.get(src.key or "")
            return (e.key, e.dataset) if e is not None and isinstance(e.dataset, Spectrum) else None
        gkey = self.grid_key()
        if gkey is None:
            return None
        return gkey, self.state.entries[gkey].dataset  # type: ignore[return-value]

    def channel_for(self, dkey: str, ds: Grid | Spectrum) -> str:
        """The channel fitted on dataset ``dkey``: the user's choice in the dock, else the channel the
        slicer shows, else :func:`analysis.channels.default_channel`."""
        chosen = self.chosen_channel.get(dkey)
        if chosen in ds.channels:
            return chosen
        if isinstance(ds, Grid):
            ch = self.state.viewed_channel(dkey)
            if ch in ds.channels:
                return ch
        return default_channel(ds)

    def _channel_chosen(self, channel: str) -> None:
        found = self._dataset_for(self.panel.current_source())
        if found is not None:
            self.chosen_channel[found[0]] = channel
        self.refresh_data()

    def _plan_for(self, ds: Grid | Spectrum, channel: str, y_unit: str) -> dict[str, Any]:
        """How ``channel`` is fitted by a model predicting ``y_unit``: route, reason, y axis label/unit."""
        sweep = ds.sweep_signal if isinstance(ds, Grid) else ds.x_name
        route, reason = fit_route(y_unit, quantity_of(ds, channel))
        if route == "derivative":
            ylab, yunit = f"dI/dV (numerical, of {channel})", "S"
        else:
            ylab, yunit = axis_label(channel, ds.unit(channel), sweep)
        xlab, xunit = self._x_axis(ds)
        if route != "refuse":
            why = self._x_mismatch(ds)
            if why:
                route, reason = "refuse", why
        return {
            "channel": channel,
            "route": route,
            "reason": reason,
            "y_label": ylab,
            "y_unit": yunit,
            "x_label": xlab,
            "x_unit": xunit,
        }

    def _x_axis(self, ds: Grid | Spectrum | None) -> tuple[str, str]:
        """(label, unit) of the fit plot's x axis: the current model's independent variable, in the
        data's unit; the data's own name for it when that names the same variable more precisely
        ("Bias calc" for the model's "Bias"); the model's unit when there is no data."""
        model = self._model()
        mname, munit = (model.x_name, model.x_unit) if model is not None else ("Bias", "V")
        if ds is None:
            return mname, munit
        dname, dunit = (ds.sweep_signal, ds.sweep_unit) if isinstance(ds, Grid) else (ds.x_name, ds.x_unit)
        if dunit != munit:  # no unit on the data (unknown), or another one (the fit is refused)
            return mname, munit
        return (dname if dname.lower().startswith(mname.lower()) else mname), dunit

    def _x_mismatch(self, ds: Grid | Spectrum) -> str:
        """Why the current model cannot be fitted against the data's sweep ("" when it can): the model's
        independent variable has another unit than the data's axis."""
        model = self._model()
        if model is None:
            return ""
        dname, dunit = (ds.sweep_signal, ds.sweep_unit) if isinstance(ds, Grid) else (ds.x_name, ds.x_unit)
        if dunit in ("", model.x_unit):  # a sweep without a unit is taken to be in the model's
            return ""
        return (
            f"the model's independent variable is {model.x_name} ({model.x_unit or 'no unit'}) but the "
            f"data are swept in {dname} ({dunit or 'no unit'})"
        )

    def source_data(
        self, source: FitSource | str | None, y_unit: str | None = None
    ) -> tuple[np.ndarray, np.ndarray, str, str | None] | None:
        """(x, y, label, grid key) of a source in the dock's channel, as the model predicting ``y_unit``
        (default: the current model's) is fitted to it: the channel itself, or the numerical dI/dV of a
        current for a model predicting dI/dV; None when there is no data or the model cannot be fitted to
        the channel (``self._plan["reason"]`` says why)."""
        self._plan = {}
        self._noise: tuple[float, str] | None = None
        src = _typed(source)
        found = self._dataset_for(src)
        if found is None or src is None:
            return None
        if y_unit is None:
            model = self._model()
            y_unit = model.y_unit if model is not None else "S"
        dkey, ds = found
        ch = self.channel_for(dkey, ds)
        if not ch:
            return None
        plan = self._plan = self._plan_for(ds, ch, y_unit)
        if plan["route"] == "refuse":
            return None
        data = self._raw_data(src, ds, ch)
        if data is None:
            return None
        x, y, label, gkey = data
        if plan["route"] == "derivative":
            try:
                y = numerical_conductance(x, y)
            except WorkbenchError as exc:
                plan["route"], plan["reason"] = "refuse", f"cannot differentiate {ch}: {exc}"
                return None
            label = f"{label} (numerical dI/dV)"
            self._noise = None  # the spread of the current says nothing of its derivative's noise
        return x, y, label, gkey

    def _raw_data(
        self, src: FitSource, ds: Grid | Spectrum, ch: str
    ) -> tuple[np.ndarray, np.ndarray, str, str | None] | None:
        if isinstance(ds, Spectrum):
            e = self.state.entries[src.key or ""]
            return np.asarray(ds.x, float), np.asarray(ds.channels[ch], float), f"{e.label} [{ch}]", None
        gkey = self.grid_key()
        grid = ds
        x = np.asarray(grid.bias, float)
        if src.kind == "region":
            region = self.state.regions.get(src.key or "")
            if region is None:
                return None
            mask = region.mask_in(grid.frame)
            avg = region_average(grid.channels[ch], mask, grid.valid)
            if avg.n_used == 0:
                return None
            label = f"{_name_of(region, src.key or '')} average of {avg.n_used} pixels, {ch}"
            if avg.n_used > 1:  # the noise of the mean, from the spread of the region's spectra
                spread = float(np.nanmedian(avg.std)) / np.sqrt(avg.n_used)
                self._noise = (spread, f"from the region's standard deviation over {avg.n_used} pixels")
            return x, avg.mean, label, gkey
        xy: tuple[float, float] | None = None
        if src.kind == "cursor":
            xy = self.state.cursor
        elif src.kind == "pin":
            for p in self.state.pinned:
                if p.key == src.key:
                    xy = (p.x, p.y)
        elif src.kind == "cut":
            verts = _cut_vertices(self.state.linecuts.get(src.key or ""))
            if verts is not None:
                xy = position_at(verts, self.panel.source_position() * path_length(verts))
        if xy is None:
            return None
        pix = grid.frame.nearest_pixel(*xy)
        if pix is None:
            return None
        iy, ix = pix
        y = np.asarray(grid.channels[ch][iy, ix, :], float)
        return x, y, f"{grid.name or gkey} pixel (ix {ix}, iy {iy}), {ch}", gkey

    def _show_channels(self) -> None:
        found = self._dataset_for(self.panel.current_source())
        if found is None:
            self.panel.set_channels([], None)
            return
        dkey, ds = found
        plan = self._plan
        note = plan.get("reason", "") if plan else ""
        if plan.get("route") == "refuse":
            note = f"Cannot fit: {note}"
        self.panel.set_channels(_channel_labels(ds), self.channel_for(dkey, ds), note)

    def refresh_data(self) -> None:
        data = self.source_data(self.panel.current_source())
        self._show_channels()
        plan = self._plan
        ylab, yunit = plan.get("y_label", ""), plan.get("y_unit", "")
        if "x_label" in plan:
            xlab, xunit = plan["x_label"], plan["x_unit"]
        else:
            found = self._dataset_for(self.panel.current_source())
            xlab, xunit = self._x_axis(found[1] if found is not None else None)
        old, self._data = self._data, data
        if (
            data is not None
            and old is not None
            and data[2:] == old[2:]
            and (self.panel.current_model(), ylab, yunit) == self._shown_axes
            and np.array_equal(data[0], old[0])
            and np.array_equal(data[1], old[1], equal_nan=True)
        ):
            return  # same spectrum (another source changed): keep the fitted curve and residuals
        self._shown_axes = (self.panel.current_model(), ylab, yunit)
        if data is None:
            self.panel.set_data(None, None, xlab, ylab, xunit, yunit)
        else:
            self.panel.set_data(data[0], data[1], xlab, ylab, xunit, yunit)

    # -- single fits --------------------------------------------------------------------------------------
    def show_panel(self) -> None:
        self.dock.setVisible(True)
        self.dock.raise_()

    def _weights(self, y: np.ndarray, mode: str) -> np.ndarray | None:
        if mode == "none":
            return None
        a = np.abs(y)
        floor = 1e-6 * float(np.nanmax(a)) if np.any(np.isfinite(a)) else 1.0
        a = np.maximum(a, floor if floor > 0 else 1e-300)
        return 1.0 / a if mode == "relative" else 1.0 / np.sqrt(a)

    def run_fit(self, request: dict[str, Any]) -> None:
        if self.job is not None:
            self.window.log("warning", "a fit is already running")
            return
        model = get_model(request["model"])
        data = self.source_data(request.get("source"), y_unit=model.y_unit)
        if data is None:
            reason = self._plan.get("reason") if self._plan.get("route") == "refuse" else None
            message = f"cannot fit {model.name}: {reason}" if reason else "no data to fit: click a pixel"
            self.window.log("warning", message)
            self.panel.set_report(message)
            return
        x, y, label, gkey = data
        token = str(request.get("source") or "")
        self.panel.set_busy(True)
        self.job = self.window.run_job(
            fit_spectrum,
            model,
            x,
            y,
            settings=request.get("settings"),
            fit_range=request.get("fit_range"),
            weights=self._weights(y, request.get("weights", "none")),
            source=label,
            noise=self._noise[0] if self._noise else None,
            noise_source=self._noise[1] if self._noise else "",
            name=f"Fit {model.name}",
            on_finished=lambda res, g=gkey, t=token: self._fit_done(res, g, t),
            on_failed=self._fit_failed,
            on_cancelled=self._fit_cancelled,
        )

    def _fit_done(self, res: SingleFit, gkey: str | None, source: str = "") -> None:
        self.job = None
        self.panel.set_busy(False)
        self.last_fit = res
        rec = res.record
        self.panel.set_result(
            res.x_all,
            res.model_all,
            res.x,
            res.residual,
            rec.report(),
            rec.values,
            {p.name: p.stderr for p in rec.params},
        )
        if rec.model == self.panel.current_model():
            self._result_as_start(rec.model)
        key = self.state.new_key("fit")
        self._own_fits.add(key)
        self.state.fits[key] = SingleFitEntry(gkey, rec.to_dict(), source)
        level = "warning" if rec.warnings else "info"
        self.window.log(
            level,
            f"fit {rec.model}: redchi {rec.redchi:.4g}"
            + (f"; {'; '.join(rec.warnings)}" if rec.warnings else ""),
        )

    def _fit_failed(self, message: str) -> None:
        self.job = None
        self.panel.set_busy(False)
        self.panel.set_report(f"Fit failed: {message}")

    def _fit_cancelled(self) -> None:
        self.job = None
        self.panel.set_busy(False)
        self.panel.set_report("Fit cancelled.")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _load_spectrum(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.panel, "Open point spectra")
        if paths:
            self.window.open_files(paths)

    def _gap_from_fit(self) -> None:
        """Fill the Josephson gap from the latest fit that has a gap parameter."""
        for rec in reversed(list(self.state.fits.values())):
            if not isinstance(rec, SingleFitEntry):
                continue
            values = {p["name"]: float(p["value"]) for p in rec.record["params"]}
            for name in _GAP_NAMES:
                value = values.get(name, math.nan)
                if math.isfinite(value) and value > 0:
                    self.panel.set_gap(value)
                    return
        self.window.log("warning", "no fitted gap yet: fit an SIS or Dynes spectrum first")

    # -- Josephson ------------------------------------------------------------------------------------------
    def run_josephson(self, request: dict[str, Any]) -> None:
        from analysis.models.josephson import fit_phase_diffusion_series

        if self.job is not None:
            self.window.log("warning", "a fit is already running")
            return
        spectra = []
        labels = []
        for key, r_n in request["items"]:
            model_unit = "S" if request["kind"] == "conductance" else "A"
            data = self.source_data(key, y_unit=model_unit)
            if data is None:
                reason = self._plan.get("reason") if self._plan.get("route") == "refuse" else "no data"
                self.window.log("warning", f"{key}: {reason}")
                return
            spectra.append((data[0], data[1], r_n))
            labels.append(data[2])
        self.panel.set_busy(True)
        self.job = self.window.run_job(
            fit_phase_diffusion_series,
            spectra,
            request["delta"],
            request["T"],
            kind=request["kind"],
            leak=request["leak"],
            name="Josephson fit",
            on_finished=lambda res: self._josephson_done(res, spectra, labels, request),
            on_failed=self._fit_failed,
            on_cancelled=self._fit_cancelled,
        )

    def _josephson_done(self, res, spectra, labels, request) -> None:
        self.job = None
        self.panel.set_busy(False)
        self.last_josephson = res
        lines = [
            "Josephson phase diffusion (Ivanchenko-Zil'berman), Ic pinned from Ambegaokar-Baratoff",
            f"Gap Delta = {request['delta'] * 1e3:.4g} meV, bath T = {request['T']:.3g} K, data: {res.kind}",
            f"Ic R_N = {res.icrn * 1e3:.4g} mV" + (" (fitted)" if res.icrn_fitted else " (AB)"),
            f"R     = {res.R:.6g} +/- {res.R_err:.3g} Ohm",
            f"T_eff = {res.Teff:.6g} +/- {res.Teff_err:.3g} K",
            f"V_p   = {res.Vp * 1e6:.4g} uV",
            f"Residual RMS: {res.rms:.4g}; converged: {'yes' if res.success else 'no'} ({res.message})",
            "Spectra:",
        ]
        for i, label in enumerate(labels):
            lines.append(
                f"  {label}: R_N = {res.R_N[i] / 1e3:.4g} kOhm, Ic = {res.Ic[i] * 1e9:.4g} nA, "
                f"x = {res.x[i]:.3g}, G_leak = {res.G_leak[i]:.3g}"
            )
        text = "\n".join(lines)
        V, y, _ = spectra[0]
        order = np.argsort(V)
        V = np.asarray(V, float)[order]
        y = np.asarray(y, float)[order]
        model_y = res.model(0, V)
        kind = ("dI/dV", "S") if res.kind == "conductance" else ("I", "A")
        self.panel.set_data(V, y, "Bias", kind[0], "V", kind[1])
        self.panel.set_result(V, model_y, V, y - model_y, text)
        key = self.state.new_key("fit")
        self.state.fits[key] = JosephsonSeriesEntry(
            R=res.R,
            R_err=res.R_err,
            Teff=res.Teff,
            Teff_err=res.Teff_err,
            icrn=res.icrn,
            Ic=[float(v) for v in res.Ic],
            R_N=[float(v) for v in res.R_N],
            delta=request["delta"],
            T=request["T"],
            data_kind=res.kind,
            sources=list(labels),
            report=text,
        )

    # -- batch fits -----------------------------------------------------------------------------------------
    def open_batch_dialog(self) -> BatchFitDialog | None:
        gkey = self.grid_key()
        if gkey is None:
            self.window.log("warning", "open a grid first: batch fits make parameter maps of a grid")
            return None
        grid: Grid = self.state.entries[gkey].dataset  # type: ignore[assignment]
        if self.dialog is None:
            self.dialog = BatchFitDialog(self.window, max_workers=cpu_count())
            self.dialog.start_requested.connect(self.run_batch)
            self.dialog.cancel_requested.connect(self.cancel_batch)
        d = self.dialog
        d.set_models([m.describe() for m in registry().items()], current=self.panel.current_model())
        d.set_channels(grid.channel_names(), current=self.channel_for(gkey, grid))
        d.set_regions([(rid, _name_of(r, rid)) for rid, r in self.state.regions.items()])
        d.show()
        d.raise_()
        return d

    def run_batch(self, req: dict[str, Any]) -> None:
        if self.batch_job is not None:
            self.window.log("warning", "a batch fit is already running")
            return
        gkey = self.grid_key()
        if gkey is None:
            return
        grid: Grid = self.state.entries[gkey].dataset  # type: ignore[assignment]
        model = get_model(req["model"])
        if req["channel"] in grid.channels:
            route, reason = fit_route(model.y_unit, quantity_of(grid, req["channel"]))
            if route != "direct":
                if route == "derivative":
                    reason = (
                        f"{req['channel']} is a current and {model.name} predicts dI/dV: make a dI/dV "
                        "channel first (Analysis > Derived channel... > dI/dV), then batch-fit it"
                    )
                self.window.log("warning", f"batch fit not started: {reason}")
                if self.dialog is not None:
                    self.dialog.set_finished(f"Not started: {reason}")
                return
        mask = None
        if req.get("region"):
            region = self.state.regions.get(req["region"])
            if region is not None:
                mask = region.mask_in(grid.frame)
        if req["runner"] == "scheduler":
            runner = dask_runner(scheduler=req["scheduler"])
        elif req["runner"] == "local_cluster":
            runner = dask_runner(n_workers=req["workers"])
        else:
            runner = process_runner(req["workers"])
        options = FitOptions(fixed=dict(req.get("fixed") or {}), fit_range=req.get("fit_range"))
        dialog = self.dialog
        if dialog is not None:
            dialog.set_running(True)
        self.batch_job = self.window.run_job(
            fit_grid,
            grid,
            model,
            req["channel"],
            mask=mask,
            start=req["start"],
            options=options,
            runner=runner,
            name=f"Batch fit {model.name}",
            on_finished=lambda gf, g=gkey: self._batch_done(gf, g),
            on_failed=self._batch_failed,
            on_cancelled=self._batch_cancelled,
            on_progress=dialog.set_progress if dialog is not None else None,
        )

    def _batch_done(self, gf, gkey: str) -> None:
        self.batch_job = None
        grid_label = self.state.entries[gkey].label if gkey in self.state.entries else gkey
        image = gf.to_image(name=f"{gf.model.name} maps of {grid_label}")
        summary = gf.result.summary()
        if gkey not in self.state.entries:
            self.window.log("warning", "the grid was closed during the batch fit; maps discarded")
            if self.dialog is not None:
                self.dialog.set_finished("The grid was closed; maps discarded.")
            return
        # the maps and the fit record go into the state now; each view hears of them in a turn of its own
        with self.state.batch(spread=self.turns.call):
            key = self.state.add_dataset(image, f"{gf.model.name} maps", parent=gkey)
            fkey = self.state.new_key("fit")
            self.state.fits[fkey] = BatchFitEntry(
                model=gf.model.name,
                grid=gkey,
                maps=key,
                channel=gf.channel,
                start=gf.start,
                summary=summary,
                pixels=int(gf.index.size),
            )
        self.window.log("info", f"batch fit {gf.model.name}: {summary}")
        # gaps and other energies first: that is the map a spectroscopist looks at (its map view opens now,
        # with the panel built ahead when there is one; the other views follow in their turns)
        names = [p.name for p in gf.model.params if p.unit == "eV"]
        names += [n for n in gf.model.param_names if n not in names]
        self._show_first_fitted_map(key, image, names)
        if self.dialog is not None:
            self.dialog.set_finished(summary)

    def _show_first_fitted_map(self, key: str, image, names: list[str]) -> None:
        """Show the map of the first of ``names`` that was fitted (not constant) in a map view of its own: a
        new map view in the state, which the map views' controller opens."""
        for name in names:
            values = np.asarray(image.channels.get(name, np.zeros(0)), dtype=float)
            finite = values[np.isfinite(values)]
            if finite.size and np.ptp(finite) > 0:
                vkey = self.state.new_key("fitmap")
                self.state.views[vkey] = ViewState(vkey, key, name, kind="map")
                return

    def _batch_failed(self, message: str) -> None:
        self.batch_job = None
        if self.dialog is not None:
            self.dialog.set_finished(f"Failed: {message}")

    def _batch_cancelled(self) -> None:
        self.batch_job = None
        if self.dialog is not None:
            self.dialog.set_finished("Cancelled; nothing was added.")

    def cancel_batch(self) -> None:
        if self.batch_job is not None:
            self.batch_job.cancel()


def install(window: Host) -> None:
    window.fit_controller = FitController(window)  # type: ignore[attr-defined]


def _typed(source: FitSource | str | None) -> FitSource | None:
    """A source as the typed reference (a token from the dock's list is read once, here)."""
    return source if isinstance(source, FitSource) or source is None else FitSource.from_token(source)
