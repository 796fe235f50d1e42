"""Papers > Mesas (paper 002): beta(N), the SIN correction, the d-wave fit and the stack simulator.

The panel (:class:`widgets.papers.mesa_panel.MesaPanel`) works on the current series of stacks (tag ``N``;
the top contact measured alone is the sweep with N = 0). Analyse runs
:func:`analysis.papers.mesa_series.analyse_mesa_series` off the GUI thread; Simulate runs the stack
simulator for N = 1..30 (:func:`analysis.papers.mesa_series.simulate_summary`, BCS Delta(T) and Gamma(T) or
imported tables) as a job, and the N slider redraws the S-curve, its extrema, V_peak and T_m from the
cached result, over the data of the stack with that N. Results and simulation are recorded in
``state.fits`` as ``{"kind": "paper_mesa", "dataset": key, "summary": ..., "simulation": ..., "view": ...}``,
so they are saved with the project and drawn again when it is opened.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from analysis.papers.mesa_series import (
    MesaSettings,
    MesaSummary,
    SimulationSummary,
    analyse_mesa_series,
    read_gap_tables,
    simulate_summary,
    table_rows,
)
from analysis.series import Series
from app.features.host import Host
from app.features.paper_base import CurrentSeriesController, FitRecord, last_line
from widgets.papers.mesa_panel import MesaPanel

KIND = "paper_mesa"
DOCK = "paper_mesa"


class MesaController(CurrentSeriesController):
    """Binds the Mesas panel to the current series; keeps the simulation cached for the N slider."""

    DOCK = "paper_mesa"
    TITLE = "Mesas (paper 002)"
    MENU_TEXT = "&Mesas: beta(N) and the stack simulator (002)"
    AREA = Qt.DockWidgetArea.BottomDockWidgetArea
    FIGURE = "mesa"

    def __init__(self, host: Host) -> None:
        super().__init__(host, MesaPanel())
        self.simulation: SimulationSummary | None = None
        self.tables: tuple[Any, Any] | None = None
        self.record = FitRecord(self.state, KIND, self._restore)
        self.sim_job: Any = None
        self.redraws = 0  # N-slider redraws (each from the cache, never a job)
        self._dicts: list[Any] = [None, None, None, None]  # (summary, its dict, simulation, its dict)
        self.panel.analyse_requested.connect(self.analyse)
        self.panel.simulate_requested.connect(self.simulate)
        self.panel.tables_requested.connect(self.tables_dialog)
        self.panel.n_changed.connect(lambda _n: self._n_chosen())
        self.panel.n_view_changed.connect(lambda _k: self._record())
        self.panel.export_requested.connect(self.export_dialog)

    def _show_series(self) -> None:
        s = self.series()
        if s is None:
            self.panel.set_sin_choices([], -1)
            return
        st = MesaSettings()
        sin = -1
        if st.tag in s.tags:
            zero = np.flatnonzero(s.tag(st.tag) == 0)
            sin = int(zero[0]) if zero.size else -1
        self.panel.set_sin_choices([sw.label or f"sweep {i + 1}" for i, sw in enumerate(s.sweeps)], sin)
        self.panel.set_status(f"{len(s)} sweeps: press Analyse, and Simulate for the stack simulator.")

    # -- settings ---------------------------------------------------------------------------------------
    def settings(self) -> MesaSettings:
        p = self.panel.settings()
        return MesaSettings(
            sin_sweep=None if p["sin_sweep"] < 0 else p["sin_sweep"],
            fit_v_max=p["fit_v_max"],
            alpha=p["alpha"],
            t_bath=p["t_bath"],
            r_n=p["r_n"],
        )

    # -- jobs -------------------------------------------------------------------------------------------
    def analyse(self) -> Any:
        """SIN correction, beta(N) and the d-wave fit of the current series (a job); returns it."""
        self.key = self.series_key()
        s = self.series()
        if s is None:
            self.panel.set_status("No series: import one (File > Import series...) or open a project.")
            return None
        if self.job is not None:
            return self.job
        st = self.settings()
        if self.panel.settings()["sin_sweep"] < 0:
            st.sin_sweep = None
            if "N" in s.tags and np.any(s.tag("N") == 0):
                st.sin_sweep = -1  # "none" chosen although an N = 0 sweep exists: no correction
        self.panel.set_busy("analyse", True, f"Analysing {len(s)} sweeps...")
        key = self.key

        def done(summary: MesaSummary) -> None:
            self.job = None
            self.panel.set_busy("analyse", False)
            self.key, self.summary = key, summary
            self._record()
            self._show_all()

        def failed(message: str) -> None:
            self.job = None
            self.panel.set_busy("analyse", False, f"Analysis failed: {last_line(message)}")

        self.job = self.host.run_job(
            _analyse,
            s,
            st,
            name="Mesa analysis",
            on_finished=done,
            on_failed=failed,
            on_cancelled=lambda: failed("cancelled"),
        )
        return self.job

    def simulate(self) -> Any:
        """The stack simulator for N = 1..30 with the panel's alpha, R_N, T_bath and gap model (a job)."""
        if self.sim_job is not None:
            return self.sim_job
        st = self.settings()
        tables = self.tables if self.panel.settings()["tables"] and self.tables is not None else None
        self.panel.set_busy("simulate", True, "Simulating stacks of N = 1..30 junctions...")

        def done(sim: SimulationSummary) -> None:
            self.sim_job = None
            self.panel.set_busy(
                "simulate", False, f"Simulated N = 1..{int(sim.ns[-1])} in {sim.seconds:.1f} s."
            )
            self.simulation = sim
            self.panel.set_n_range(int(sim.ns[-1]), self.panel.n())
            self._record()
            self._show_all()

        def failed(message: str) -> None:
            self.sim_job = None
            self.panel.set_busy("simulate", False, f"Simulation failed: {last_line(message)}")

        self.sim_job = self.host.run_job(
            simulate_summary,
            st,
            tables[0] if tables else None,
            tables[1] if tables else None,
            name="Stack simulation",
            on_finished=done,
            on_failed=failed,
            on_cancelled=lambda: failed("cancelled"),
        )
        return self.sim_job

    def tables_dialog(self) -> Any:
        path, _ = QFileDialog.getOpenFileName(
            self.panel, "Delta(T) and Gamma(T) tables", "", "Tables (*.csv *.txt *.dat *.tsv);;All (*)"
        )
        return self.load_tables(path) if path else None

    def load_tables(self, path: str) -> Any:
        """Read a T, Delta, Gamma table off the GUI thread; the simulator uses it once chosen."""

        def done(tables: Any) -> None:
            self.tables = tables
            self.panel.set_tables_available(Path(path).name)
            self.panel.set_status(f"Gap tables from {Path(path).name}: {tables[0][0].size} temperatures.")

        def failed(message: str) -> None:
            self.panel.set_status(f"Tables not read: {last_line(message)}")

        return self.host.run_job(
            _read_tables, path, name="Read gap tables", on_finished=done, on_failed=failed
        )

    # -- state record -----------------------------------------------------------------------------------
    def _record(self) -> None:
        if self.record.writing or (self.summary is None and self.simulation is None):
            return
        # the results' dicts are made once per result (a slider move only changes the view)
        if self._dicts[0] is not self.summary:
            self._dicts[:2] = [self.summary, self.summary.to_dict() if self.summary is not None else None]
        if self._dicts[2] is not self.simulation:
            self._dicts[2:] = [
                self.simulation,
                self.simulation.to_dict() if self.simulation is not None else None,
            ]
        self.record.write(
            {
                "dataset": self.key,
                "summary": self._dicts[1],
                "simulation": self._dicts[3],
                "view": {"n": self.panel.n(), "n_view": self.panel.n_view()},
            }
        )

    @property
    def record_key(self) -> str | None:
        """The key of the results' record in ``state.fits`` (None before the first result)."""
        return self.record.key

    def _restore(self, _key: str, new: dict) -> None:
        try:
            summary = MesaSummary.from_dict(dict(new["summary"])) if new.get("summary") else None
            sim = SimulationSummary.from_dict(dict(new["simulation"])) if new.get("simulation") else None
        except (KeyError, TypeError, ValueError) as exc:
            self.host.log("warning", f"the mesa results of the project could not be read: {exc}")
            return
        self.key = new.get("dataset") if new.get("dataset") in self.state.entries else self.series_key()
        self.summary, self.simulation = summary, sim
        self._show_series()
        view = new.get("view") or {}
        if summary is not None:
            self.panel.set_settings(summary.settings)
        if sim is not None:
            self.panel.set_settings(sim.settings)
            self.panel.set_n_range(int(sim.ns[-1]), int(view.get("n", 1)))
        self.panel.set_n_view(str(view.get("n_view", "v_peak")))
        self._show_all()
        self.panel.set_status("Restored with the project.")

    # -- drawing ----------------------------------------------------------------------------------------
    def _n_chosen(self) -> None:
        self._draw_stack()
        self._record()

    def _show_all(self) -> None:
        r, sim = self.summary, self.simulation
        if r is not None:
            self.panel.set_rows(table_rows(r))
        curves: dict[str, dict[str, Any]] = {}
        for key, name, unit, sim_y, data in (
            ("v_peak", "V_peak per junction", "V", "v_peak", ("v_peak", None)),
            ("beta", "beta", "", "beta", ("beta", "beta_err")),
            ("t_peak", "T_m at the peak", "K", "t_at_peak", None),
        ):
            c: dict[str, Any] = {"name": name, "unit": unit, "sim": None, "data": None}
            if sim is not None:
                c["sim"] = (sim.ns, getattr(sim, sim_y))
            if r is not None and data is not None:
                y = getattr(r, data[0])
                e = getattr(r, data[1]) if data[1] else np.zeros(y.size)
                c["data"] = (r.ns, y, e)
            curves[key] = c
        self.panel.set_n_results(curves)
        self._draw_stack()

    def _draw_stack(self) -> None:
        self.redraws += 1
        r, sim, n = self.summary, self.simulation, self.panel.n()
        data = fit = sim_curve = sim_t = None
        marks: list[tuple[float, str]] = []
        if r is not None:
            hit = np.flatnonzero(r.ns == n)
            if hit.size:
                c = r.curves[int(hit[0])]
                data = (np.asarray(c["v"], float), np.asarray(c["i"], float), f"data N = {n} (SIN removed)")
            if r.fit_n == n:
                fc = r.fit_curve
                fit = (np.asarray(fc["v"], float), np.asarray(fc["model"], float), "d-wave fit")
        text = f"N = {n}"
        if sim is not None and (k := sim.index(n)) is not None:
            c = sim.curves[k]
            sim_curve = (np.asarray(c["V"], float) / n, np.asarray(c["I"], float), f"simulated N = {n}")
            sim_t = np.asarray(c["T_m"], float)
            ext = sim.extrema[k]
            for j, v in enumerate(ext[:2]):
                marks.append((v, "V max" if j == 0 else "V min"))
            vp, tp, b = sim.v_peak[k], sim.t_at_peak[k], sim.beta[k]
            if math.isfinite(vp):
                marks.append((vp, "V_peak"))
            beta = f"{b:.3g}" if math.isfinite(b) else "-"
            text = f"N = {n}: T_m(peak) {tp:.1f} K, V_peak {vp * 1e3:.1f} mV, beta {beta}"
            if sim.backbends[k]:
                text += ", backbends"
        elif data is None and r is not None:
            text += " (no stack with this N; Simulate to see its S-curve)"
        self.panel.set_n_text(text)
        self.panel.set_stack(data, sim_curve, marks, fit, sim_t)

    # -- figure -----------------------------------------------------------------------------------------
    def figure_writer(self, path: str) -> Any:
        """Builds and writes the mesa figure of the shown results (and simulation)."""
        r, sim = self.summary, self.simulation
        if r is None:
            self.host.log("warning", "Analyse a series of stacks first: the figure shows its results")
            return None

        def build_and_write(progress: Any = None, cancel: Any = None) -> Any:
            from analysis.figures.paper_mesa import mesa_description, mesa_sources
            from analysis.figures.render import export_figure

            sources = mesa_sources(r, sim)
            return export_figure(mesa_description(sources), sources, path)

        return build_and_write


def _analyse(series: Series, settings: MesaSettings, progress: Any = None, cancel: Any = None) -> MesaSummary:
    """:func:`analyse_mesa_series` with sin_sweep = -1 meaning "no correction"."""
    if settings.sin_sweep == -1:
        n = settings.tag
        zero = series.tag(n) == 0 if n in series.tags else np.zeros(len(series), bool)
        keep = [i for i in range(len(series)) if not zero[i]]
        settings.sin_sweep = None
        return analyse_mesa_series(series.select(keep), settings, progress, cancel)
    return analyse_mesa_series(series, settings, progress, cancel)


def _read_tables(path: str, progress: Any = None, cancel: Any = None) -> Any:
    return read_gap_tables(path)


def install(host: Host) -> None:
    """Add Papers > Mesas and its dock (``host.paper_mesa`` is the controller)."""
    host.paper_mesa = MesaController(host)  # type: ignore[attr-defined]


__all__ = ["MesaController", "install"]
