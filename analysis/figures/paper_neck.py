"""The neck paper's figure ([NECK], paper 001) from a series against field and its neck summary.

Panels: a dV/dI against V of one sweep with the assigned subharmonic rungs 2 Delta/n and the features
above the ladder (phase-slip peaks) as vertical marks; b Delta(H); c T_loc(H) of the heated n = 1 feature;
d I_exc(H); e the number of phase-slip steps against H; f L_S and Lambda_Q* against H (the paper's plot of
the superconducting length against the charge-imbalance length).

:func:`neck_sources` makes the figure's curves from a series and its
:class:`~analysis.papers.neck_series.NeckSummary`; :func:`neck_figure` is the registry's builder (without
sources it builds the synthetic scenario series of :mod:`analysis.papers.scenario_neck`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis.figures.description import DOUBLE_COLUMN_CM, FigureDescription, XYPanel
from analysis.figures.resolve import FigureSources, XYSeries
from analysis.papers.neck_series import NeckSummary, analyse_neck_series
from analysis.series import Series

#: Keys of the figure's curves in :class:`FigureSources.series`.
CURVE_KEYS = ("curve", "rungs", "above", "delta", "t_loc", "i_exc", "steps", "l_s", "lambda_q")


def _marks(xs: list[float], lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertical segments at ``xs`` from ``lo`` to ``hi``, separated by NaN."""
    x: list[float] = []
    y: list[float] = []
    for v in xs:
        x += [v, v, np.nan]
        y += [lo, hi, np.nan]
    return np.array(x, float), np.array(y, float)


def neck_sources(series: Series, summary: NeckSummary, sweep: int = 0) -> FigureSources:
    """The figure's curves (keys :data:`CURVE_KEYS`) for sweep ``sweep`` of ``series`` and the field
    results of ``summary``."""
    sw = series.sweeps[sweep]
    c = summary.curves[sweep]
    V, R = np.asarray(c["V"], float), np.asarray(c["R"], float)
    lo, hi = float(np.min(R)), float(np.max(R))
    lad = summary.ladders[sweep]
    peaks, n = np.asarray(lad["peaks"], float), np.asarray(lad["n"], int)
    top = float(peaks[n == 1][0]) if np.any(n == 1) else np.inf
    rx, ry = _marks(peaks[n > 0].tolist(), lo, hi)
    ax, ay = _marks(peaks[(n == 0) & (peaks > top)].tolist(), lo, hi)
    H = summary.H
    out = {
        "curve": XYSeries(V, R, f"{sw.label or 'sweep'}", colour=(40, 40, 40)),
        "rungs": XYSeries(rx, ry, "2Δ/n", colour=(0, 114, 178)),
        "above": XYSeries(ax, ay, "above the ladder", colour=(213, 94, 0)),
        "delta": XYSeries(H, summary.delta, "Δ", yerr=summary.delta_err, colour=(0, 114, 178)),
        "t_loc": XYSeries(H, summary.T_local, "T_loc", yerr=summary.T_local_err, colour=(213, 94, 0)),
        "i_exc": XYSeries(H, summary.I_exc, "I_exc", yerr=summary.I_exc_err, colour=(0, 158, 115)),
        "steps": XYSeries(H, summary.steps, "steps", colour=(204, 121, 167)),
    }
    pos = summary.H_grid > 0
    out["l_s"] = XYSeries(summary.H_grid[pos], summary.L_S[pos], "L_S", colour=(0, 114, 178))
    out["lambda_q"] = XYSeries(summary.H_grid[pos], summary.lambda_q[pos], "Λ_Q*", colour=(213, 94, 0))
    return FigureSources(series=out)


def neck_description() -> FigureDescription:
    """The six panels, two rows of three."""
    field_panel: dict[str, Any] = {"x_label": "Field μ0H", "x_unit": "T", "markers": True, "legend": "none"}
    return FigureDescription(
        name="neck",
        rows=2,
        cols=3,
        width_cm=DOUBLE_COLUMN_CM,
        panels=[
            XYPanel(
                row=0,
                col=0,
                title="Subharmonic ladder",
                series=("curve", "rungs", "above"),
                x_label="Bias",
                x_unit="V",
                y_label="dV/dI",
                y_unit="Ohm",
                legend="inside",
            ),
            XYPanel(row=0, col=1, title="Gap", series=("delta",), y_label="Δ", y_unit="eV", **field_panel),
            XYPanel(
                row=0,
                col=2,
                title="Local temperature",
                series=("t_loc",),
                y_label="T_loc",
                y_unit="K",
                **field_panel,
            ),
            XYPanel(
                row=1,
                col=0,
                title="Excess current",
                series=("i_exc",),
                y_label="I_exc",
                y_unit="A",
                **field_panel,
            ),
            XYPanel(
                row=1,
                col=1,
                title="Phase-slip steps",
                series=("steps",),
                y_label="Steps",
                y_unit="",
                **field_panel,
            ),
            XYPanel(
                row=1,
                col=2,
                title="L_S against Λ_Q*",
                series=("l_s", "lambda_q"),
                x_label="Field μ0H",
                x_unit="T",
                y_label="Length",
                y_unit="m",
                log_y=True,
                legend="inside",
            ),
        ],
    )


def neck_figure(
    sources: FigureSources | None = None, seed: int = 0
) -> tuple[FigureDescription, FigureSources]:
    """(description, sources) of the neck figure: on ``sources`` holding the curves of
    :func:`neck_sources`, or on the synthetic scenario series made with ``seed``."""
    if sources is None or not all(k in sources.series for k in CURVE_KEYS):
        from analysis.papers.scenario_neck import make_neck_series

        series = make_neck_series(seed)
        sources = neck_sources(series, analyse_neck_series(series), 0)
    return neck_description(), sources


__all__ = ["CURVE_KEYS", "neck_description", "neck_figure", "neck_sources"]
