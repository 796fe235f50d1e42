"""The intrinsic-tunnelling figure ([ITS], paper 003) from an R(T), an I-V series at several fields and an
I-V brush: a R(T) with the superposed I-V points (T_B + IV/hA, V/I), b the heating spectrum with its peaks,
c R(P)/R_N at every field (the field collapse), d the brush branches V = R (I - I*).

``its_figure(sources, seed)`` takes the three series from ``sources.datasets`` (keys ``"rt"``, ``"iv"``,
``"brush"``) or, when they are not there, builds the synthetic scenario
(:func:`analysis.papers.scenario_its.make_its_series`); the numbers come from
:func:`analysis.papers.its_workflow.analyse_its`, as in the window's panel.
"""

from __future__ import annotations

import numpy as np

from analysis.figures.description import DOUBLE_COLUMN_CM, FigureDescription, XYPanel
from analysis.figures.resolve import FigureSources, XYSeries
from analysis.papers.its_workflow import ITSSettings, analyse_its
from analysis.series import Series


def its_figure(
    sources: FigureSources | None = None, seed: int = 0, settings: ITSSettings | None = None
) -> tuple[FigureDescription, FigureSources]:
    """(description, sources with the curves) of the ITS figure (module docstring)."""
    given = dict(sources.datasets) if sources is not None else {}
    series = {k: v for k, v in given.items() if k in ("rt", "iv", "brush") and isinstance(v, Series)}
    if not series:
        from analysis.papers.scenario_its import make_its_series

        series = dict(make_its_series(seed))
    res = analyse_its(series.get("rt"), series.get("iv"), series.get("brush"), settings)
    curves: dict[str, XYSeries] = {}
    if res.rt_T.size:
        curves["rt"] = XYSeries(res.rt_T, res.rt_R, "R(T), smoothed")
    if res.sup_T.size:
        curves["superposed"] = XYSeries(
            res.sup_T, res.sup_R, f"I-V at hA = {res.h_a * 1e6:.3g} uW/K", style="markers"
        )
    if res.spec_V.size:
        curves["spectrum"] = XYSeries(res.spec_V, res.spec_G, "heating spectrum")
        if res.peak_V.size:
            curves["peaks"] = XYSeries(
                res.peak_V, np.interp(res.peak_V, res.spec_V, res.spec_G), "peaks", style="markers"
            )
    for k, b in enumerate(res.fields):
        curves[f"collapse{k}"] = XYSeries(res.collapse_P, res.collapse_R[k], f"B = {b:g} T")
    brush_keys = []
    if res.branch_R.size:
        top = 6.0 * float(np.nanmax(np.abs(res.branch_I_star)))
        ii = np.linspace(0.0, top, 30)
        for k, (r, ist) in enumerate(zip(res.branch_R, res.branch_I_star, strict=True)):
            key = f"branch{k}"
            curves[key] = XYSeries(ii, r * (ii - ist), f"R = {r:.3g} Ohm")
            brush_keys.append(key)
    panels = [
        XYPanel(
            row=0,
            col=0,
            series=tuple(k for k in ("rt", "superposed") if k in curves),
            x_label="T",
            x_unit="K",
            y_label="R",
            y_unit="Ohm",
            title="R(T) and the superposed I-V",
        ),
        XYPanel(
            row=0,
            col=1,
            series=tuple(k for k in ("spectrum", "peaks") if k in curves),
            x_label="V",
            x_unit="V",
            y_label="dI/dV",
            y_unit="S",
            title="Heating spectrum",
        ),
        XYPanel(
            row=1,
            col=0,
            series=tuple(f"collapse{k}" for k in range(len(res.fields))),
            x_label="P",
            x_unit="W/m^2" if (settings is None or settings.area > 0) else "W",
            log_x=True,
            y_label="R/R_N",
            title="Field collapse",
        ),
        XYPanel(
            row=1,
            col=1,
            series=tuple(brush_keys),
            x_label="I",
            x_unit="A",
            y_label="V",
            y_unit="V",
            title="I-V brush",
        ),
    ]
    desc = FigureDescription(panels=panels, rows=2, cols=2, width_cm=DOUBLE_COLUMN_CM, name="its")
    out = FigureSources(series=curves)
    return desc, out


__all__ = ["its_figure"]
