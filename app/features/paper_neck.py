"""Papers > Necks and point contacts (paper 001): the neck analyses of the current series in a dock.

The panel (:class:`widgets.papers.neck_panel.NeckPanel`) shows one sweep's dV/dI against V with the
subharmonic rungs the ladder assignment gave (n labels) and the features above it, a table of the sweep's
results with uncertainties and the ambiguity and heating flags, and the results against field. Analyse
runs :func:`analysis.papers.neck_series.analyse_neck_series` on every sweep off the GUI thread; the summary
is recorded in ``state.fits`` as a plain record ``{"kind": "paper_neck", "dataset": key, "summary": ...,
"view": ...}``, so it is saved with the project and shown again when the project is opened. Export
figure... writes :func:`analysis.figures.paper_neck.neck_description` of the shown data off the GUI thread.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt

from analysis.papers.neck_series import NeckSettings, NeckSummary, analyse_neck_series, sweep_rows
from analysis.series import Series
from app.features.host import Host
from app.features.paper_base import CurrentSeriesController, FitRecord, last_line
from widgets.papers.neck_panel import FieldCurve, NeckPanel

KIND = "paper_neck"
DOCK = "paper_neck"  # the dock key


class NeckController(CurrentSeriesController):
    """Binds the Necks panel to the current series and records its results in the state."""

    DOCK = "paper_neck"
    TITLE = "Necks (paper 001)"
    MENU_TEXT = "&Necks and point contacts (001)"
    AREA = Qt.DockWidgetArea.BottomDockWidgetArea
    FIGURE = "neck"

    def __init__(self, host: Host) -> None:
        super().__init__(host, NeckPanel())
        self.record = FitRecord(self.state, KIND, self._restore)
        self._dict: tuple[Any, Any] = (None, None)  # (summary, its dict)
        self.panel.analyse_requested.connect(self.analyse)
        self.panel.sweep_changed.connect(lambda _i: self._sweep_chosen())
        self.panel.field_view_changed.connect(lambda _k: self._save_view())
        self.panel.export_requested.connect(self.export_dialog)

    # -- analysis ---------------------------------------------------------------------------------------
    def settings(self) -> NeckSettings:
        s = self.series()
        st = NeckSettings(**self.panel.settings())
        if s is not None and st.tag not in s.tags and s.tags:
            st.tag = next(iter(s.tags))
        return st

    def analyse(self) -> Any:
        """Run every neck analysis on every sweep of the current series (a job); returns it."""
        self.key = self.series_key()
        s = self.series()
        if s is None:
            self.panel.set_status("No series: import one (File > Import series...) or open a project.")
            return None
        if self.job is not None:
            return self.job
        st = self.settings()
        self.panel.set_busy(True, f"Analysing {len(s)} sweeps...")
        key = self.key

        def done(summary: NeckSummary) -> None:
            self.job = None
            self.panel.set_busy(False)
            self.key = key
            self.summary = summary
            self._record()
            self._show_summary()

        def failed(message: str) -> None:
            self.job = None
            self.panel.set_busy(False, f"Analysis failed: {last_line(message)}")

        self.job = self.host.run_job(
            analyse_neck_series,
            s,
            st,
            name="Neck analysis",
            on_finished=done,
            on_failed=failed,
            on_cancelled=lambda: failed("cancelled"),
        )
        return self.job

    # -- state record -----------------------------------------------------------------------------------
    def _view(self) -> dict[str, Any]:
        return {"sweep": self.panel.current_sweep(), "field_view": self.panel.field_view()}

    def _record(self) -> None:
        if self.summary is None or self.key is None:
            return
        if self._dict[0] is not self.summary:  # made once per result: a view change only changes the view
            self._dict = (self.summary, self.summary.to_dict())
        self.record.write({"dataset": self.key, "summary": self._dict[1], "view": self._view()})

    @property
    def record_key(self) -> str | None:
        """The key of the results' record in ``state.fits`` (None before the first result)."""
        return self.record.key

    def _save_view(self) -> None:
        if self.summary is not None and not self.record.writing:
            self._record()

    def _restore(self, _key: str, new: dict) -> None:
        try:
            summary = NeckSummary.from_dict(dict(new["summary"]))
        except (KeyError, TypeError, ValueError) as exc:
            self.host.log("warning", f"the neck results of the project could not be read: {exc}")
            return
        self.key = new.get("dataset") if new.get("dataset") in self.state.entries else self.series_key()
        self.summary = summary
        view = new.get("view") or {}
        self.panel.set_settings(summary.settings)
        self._show_summary(int(view.get("sweep", 0)), str(view.get("field_view", "")))
        self.panel.set_status("Restored with the project. " + self.panel.status.text())

    # -- drawing ----------------------------------------------------------------------------------------
    def _labels(self, s: Series) -> list[str]:
        return [sw.label or f"sweep {i + 1}" for i, sw in enumerate(s.sweeps)]

    def _show_series(self) -> None:
        s = self.series()
        if s is None:
            self.panel.set_sweeps([])
            return
        self.panel.set_sweeps(self._labels(s))
        self.panel.set_status(f"{len(s)} sweeps: press Analyse.")
        self._draw_sweep()

    def _sweep_chosen(self) -> None:
        self._draw_sweep()
        self._save_view()

    def _draw_sweep(self) -> None:
        s, r = self.series(), self.summary
        k = self.panel.current_sweep()
        st = NeckSettings.from_dict(r.settings) if r is not None else NeckSettings()
        unit = (s.unit(st.voltage) if s is not None else "") or "V"
        if r is not None and k < len(r.curves):  # the analysed curve (a dV/dI the analysis may have made)
            c = r.curves[k]
            label = s.sweeps[k].label if s is not None and k < len(s) else f"sweep {k + 1}"
            self.panel.set_curve(
                np.asarray(c["V"], float), np.asarray(c["R"], float), "Bias", unit, "dV/dI", "Ohm", label
            )
        elif s is not None and len(s) and k < len(s):
            sw = s.sweeps[k]
            if st.voltage not in sw.channels or st.dvdi not in sw.channels:
                self.panel.set_status(
                    f"{len(s)} sweeps without a {st.dvdi} channel: Analyse computes it from V(I)."
                )
                return
            V, R = sw.channel(st.voltage), sw.channel(st.dvdi)
            keep = V > 0
            self.panel.set_curve(V[keep], R[keep], "Bias", unit, "dV/dI", s.unit(st.dvdi) or "Ohm", sw.label)
            return
        else:
            return
        lad = r.ladders[k]
        peaks, n = np.asarray(lad["peaks"], float), np.asarray(lad["n"], int)
        top = float(peaks[n == 1][0]) if np.any(n == 1) else math.inf
        self.panel.set_ladder(
            [(float(p), int(m)) for p, m in zip(peaks, n, strict=True) if m > 0],
            [float(p) for p in peaks[(n == 0) & (peaks > top)]],
        )
        self.panel.set_rows(sweep_rows(r, k))
        notes = r.warnings[k]
        flags = []
        if r.ambiguous[k] == 1:
            flags.append("AMBIGUOUS ladder")
        if r.heated[k] == 1:
            flags.append("heated (V_1 < 2 Delta)")
        name = self.panel.sweep_combo.currentText() or f"sweep {k + 1}"
        self.panel.set_status(
            f"{name}: " + ("; ".join(flags + notes) if flags or notes else "ladder assigned, no flags")
        )

    def _show_summary(self, sweep: int | None = None, field_view: str = "") -> None:
        s, r = self.series(), self.summary
        if s is None or r is None:
            return
        self.panel.set_sweeps(self._labels(s), self.panel.current_sweep() if sweep is None else sweep)
        if field_view:
            self.panel.field_combo.blockSignals(True)
            self.panel.set_field_view(field_view)
            self.panel.field_combo.blockSignals(False)
        H = r.H
        pos = r.H_grid > 0
        tag = NeckSettings.from_dict(r.settings).tag
        self.panel.set_field_results(
            {
                "delta": [FieldCurve(H, r.delta, "Delta", "eV", r.delta_err)],
                "t_loc": [FieldCurve(H, r.T_local, "T_loc", "K", r.T_local_err)],
                "i_exc": [FieldCurve(H, r.I_exc, "I_exc", "A", r.I_exc_err)],
                "steps": [FieldCurve(H, r.steps, "steps", "")],
                "lengths": [
                    FieldCurve(r.H_grid[pos], r.L_S[pos], "L_S", "m", points=False),
                    FieldCurve(r.H_grid[pos], r.lambda_q[pos], "Lambda_Q*", "m", points=False),
                ],
            },
            tag,
            s.tag_unit(tag) if tag in s.tags else "",
        )
        self._draw_sweep()

    # -- figure -----------------------------------------------------------------------------------------
    def figure_writer(self, path: str) -> Any:
        """Builds and writes the neck figure of the shown series, results and sweep."""
        s, r = self.series(), self.summary
        if s is None or r is None:
            self.host.log("warning", "Analyse a series first: the figure shows its results")
            return None
        sweep = self.panel.current_sweep()

        def build_and_write(progress: Any = None, cancel: Any = None) -> Any:
            from analysis.figures.paper_neck import neck_description, neck_sources
            from analysis.figures.render import export_figure

            return export_figure(neck_description(), neck_sources(s, r, sweep), path)

        return build_and_write


def install(host: Host) -> None:
    """Add Papers > Necks and point contacts and its dock (``host.paper_neck`` is the controller)."""
    host.paper_neck = NeckController(host)  # type: ignore[attr-defined]


__all__ = ["NeckController", "install"]
