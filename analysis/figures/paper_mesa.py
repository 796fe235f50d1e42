"""The mesa paper's figure ([MESA], paper 002) from the mesa summary and the stack simulation.

Panels: a current against voltage per junction of every stack (SIN contact removed) with the simulated
S-curves of the same N; b the per-junction conductance N dI/dV against V/N (the peak narrows and moves
down as the stack heats); c the d-wave fit of the smallest stack; d V_peak(N), e beta(N) (log scale) and
f the mesa temperature at the peak, data against the simulation for N = 1..30.

:func:`mesa_sources` makes the curves; :func:`mesa_figure` is the registry's builder (without sources it
builds and analyses the synthetic series of :mod:`analysis.papers.scenario_mesa` and runs the simulator).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis.figures.description import DOUBLE_COLUMN_CM, FigureDescription, XYPanel
from analysis.figures.resolve import FigureSources, XYSeries
from analysis.papers.mesa_series import MesaSummary, SimulationSummary

#: Okabe-Ito colours for the stacks, in order.
COLOURS = (
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
    (0, 0, 0),
)
SIM_COLOUR = (150, 150, 150)


def _keys(prefix: str, ns: np.ndarray) -> tuple[str, ...]:
    return tuple(f"{prefix}{int(n)}" for n in ns)


def mesa_sources(summary: MesaSummary, simulation: SimulationSummary | None) -> FigureSources:
    """The figure's curves: ``iv<N>``/``sim<N>`` (a), ``g<N>`` (b), ``fit_data``/``fit_model`` (c),
    ``vp_data``/``vp_sim`` (d), ``beta_data``/``beta_sim`` (e), ``tp_sim`` (f)."""
    out: dict[str, XYSeries] = {}
    for j, (nn, c) in enumerate(zip(summary.ns, summary.curves, strict=True)):
        colour = COLOURS[j % len(COLOURS)]
        v, i, g = (np.asarray(c[k], float) for k in ("v", "i", "g"))
        out[f"iv{int(nn)}"] = XYSeries(v, i, f"N = {int(nn)}", colour=colour)
        out[f"g{int(nn)}"] = XYSeries(v, g, f"N = {int(nn)}", colour=colour)
        if simulation is not None and (k := simulation.index(int(nn))) is not None:
            sc = simulation.curves[k]
            out[f"sim{int(nn)}"] = XYSeries(
                np.asarray(sc["V"], float) / nn, np.asarray(sc["I"], float), "", colour=SIM_COLOUR
            )
    fc = summary.fit_curve
    out["fit_data"] = XYSeries(
        np.asarray(fc["v"], float), np.asarray(fc["i"], float), "data", colour=(40, 40, 40)
    )
    out["fit_model"] = XYSeries(
        np.asarray(fc["v"], float),
        np.asarray(fc["model"], float),
        f"Δ0 = {summary.delta0 * 1e3:.2f} ± {summary.delta0_err * 1e3:.2f} meV",
        colour=COLOURS[1],
    )
    ok = np.isfinite(summary.beta)
    out["vp_data"] = XYSeries(summary.ns, summary.v_peak, "data", colour=(40, 40, 40))
    out["beta_data"] = XYSeries(summary.ns[ok], summary.beta[ok], "data", colour=(40, 40, 40))
    if simulation is not None:
        sok = np.isfinite(simulation.beta)
        out["vp_sim"] = XYSeries(simulation.ns, simulation.v_peak, "simulation", colour=COLOURS[1])
        out["beta_sim"] = XYSeries(simulation.ns[sok], simulation.beta[sok], "simulation", colour=COLOURS[1])
        out["tp_sim"] = XYSeries(simulation.ns, simulation.t_at_peak, "simulation", colour=COLOURS[1])
    return FigureSources(series=out)


def mesa_description(sources: FigureSources) -> FigureDescription:
    """The six panels (two rows of three) for the curves in ``sources``."""
    keys = list(sources.series)
    iv = tuple(k for k in keys if k.startswith("iv"))
    sim = tuple(k for k in keys if k.startswith("sim"))
    g = tuple(k for k in keys if k.startswith("g") and k[1:].isdigit())
    has_sim = "vp_sim" in sources.series
    per_n: dict[str, Any] = {"x_label": "Junctions N", "x_unit": "", "markers": True, "legend": "inside"}
    panels = [
        XYPanel(
            row=0,
            col=0,
            title="Stacks (colour), simulation (grey)",
            series=sim + iv,
            x_label="V per junction",
            x_unit="V",
            y_label="I",
            y_unit="A",
            legend="none",
        ),
        XYPanel(
            row=0,
            col=1,
            title="N dI/dV per junction",
            series=g,
            x_label="V per junction",
            x_unit="V",
            y_label="N dI/dV",
            y_unit="S",
            legend="inside",
            log_y=True,
        ),
        XYPanel(
            row=0,
            col=2,
            title="d-wave fit",
            series=("fit_data", "fit_model"),
            x_label="V per junction",
            x_unit="V",
            y_label="I",
            y_unit="A",
            legend="inside",
        ),
        XYPanel(
            row=1,
            col=0,
            title="Peak voltage",
            series=(("vp_sim",) if has_sim else ()) + ("vp_data",),
            y_label="V_peak",
            y_unit="V",
            **per_n,
        ),
        XYPanel(
            row=1,
            col=1,
            title="Figure of merit β",
            series=(("beta_sim",) if has_sim else ()) + ("beta_data",),
            y_label="β",
            y_unit="",
            log_y=True,
            **per_n,
        ),
    ]
    if has_sim:
        panels.append(
            XYPanel(
                row=1,
                col=2,
                title="Mesa temperature at the peak",
                series=("tp_sim",),
                y_label="T_m",
                y_unit="K",
                **per_n,
            )
        )
    return FigureDescription(name="mesa", rows=2, cols=3, width_cm=DOUBLE_COLUMN_CM, panels=panels)


def mesa_figure(
    sources: FigureSources | None = None, seed: int = 0
) -> tuple[FigureDescription, FigureSources]:
    """(description, sources) of the mesa figure: on ``sources`` made by :func:`mesa_sources`, or on the
    synthetic scenario series made with ``seed`` (analysed and simulated here)."""
    if sources is None or "fit_model" not in sources.series:
        from analysis.papers.mesa_series import MesaSettings, analyse_mesa_series, simulate_summary
        from analysis.papers.scenario_mesa import TRUTH, make_mesa_series

        series = make_mesa_series(seed)
        st = MesaSettings(alpha=TRUTH["alpha"], t_bath=TRUTH["t_bath"], r_n=TRUTH["r_n"])
        sources = mesa_sources(analyse_mesa_series(series, st), simulate_summary(st))
    return mesa_description(sources), sources


__all__ = ["mesa_description", "mesa_figure", "mesa_sources"]
