"""The microwave figure ([HAM], paper 004) from a series of I(V) sweeps under rf: a the Josephson and
quasiparticle step amplitudes against the attenuator reading, b the Josephson amplitudes (points) against
2 alpha (from the jointly calibrated C) with the Werthamer (Eq. 6) curves, c the cost of the global gap
scan (log scale), d the most strongly driven I(V) beside its Tien-Gordon prediction (Eq. 8) from I_0(V),
and with a frequency scan e the frequency slice (points) with the signed Eq. 6 curve and f its Eq. 11
inversion (points) against the Riedel curve.

``microwave_figure(sources, seed)`` takes the series from ``sources.datasets["iv"]`` (I_0(V) from
``"i0"``, the frequency scan from ``"fscan"``) or, when it is not there, builds the synthetic scenario
(:mod:`analysis.papers.scenario_microwave`, with its frequency and gap); the numbers come from
:func:`analysis.papers.microwave_workflow.analyse_microwave`, as in the window's panel.
"""

from __future__ import annotations

import numpy as np

from analysis.figures.description import DOUBLE_COLUMN_CM, FigureDescription, XYPanel
from analysis.figures.resolve import FigureSources, XYSeries
from analysis.papers.microwave_workflow import MicrowaveSettings, analyse_microwave
from analysis.series import Series


def microwave_figure(
    sources: FigureSources | None = None, seed: int = 0, settings: MicrowaveSettings | None = None
) -> tuple[FigureDescription, FigureSources]:
    """(description, sources with the curves) of the microwave figure (module docstring)."""
    given = dict(sources.datasets) if sources is not None else {}
    series, i0, fscan = given.get("iv"), given.get("i0"), given.get("fscan")
    if not isinstance(series, Series):
        from analysis.papers.scenario_microwave import (
            TRUTH,
            make_frequency_scan_series,
            make_i0_series,
            make_microwave_series,
        )

        series, i0, fscan = make_microwave_series(seed), make_i0_series(), make_frequency_scan_series(seed)
        settings = settings or MicrowaveSettings(f=TRUTH["f"], delta=TRUTH["delta"])
    res = analyse_microwave(
        series,
        settings,
        i0=i0 if isinstance(i0, Series) else None,
        fscan=fscan if isinstance(fscan, Series) else None,
    )
    curves: dict[str, XYSeries] = {}
    steps, overlay = [], []
    for k, n in enumerate(res.josephson_orders):
        key = f"j{k}"
        curves[key] = XYSeries(res.attenuation, res.josephson_amp[k], f"Josephson N = {int(n)}")
        steps.append(key)
        curves[f"w{k}"] = XYSeries(res.overlay_two_alpha, res.overlay_werthamer[k], f"Eq. 6, N = {int(n)}")
        curves[f"p{k}"] = XYSeries(
            res.two_alpha, res.josephson_amp[k], f"measured N = {int(n)}", style="markers"
        )
        overlay += [f"w{k}", f"p{k}"]
    for k, n in enumerate(res.qp_orders):
        key = f"q{k}"
        curves[key] = XYSeries(res.attenuation, res.qp_amp[k], f"QP n = {int(n)}")
        steps.append(key)
    if res.tg_V.size:
        curves["tg_measured"] = XYSeries(res.tg_V, res.tg_measured, f"measured, {res.tg_attenuation:g} dB")
        curves["tg_model"] = XYSeries(res.tg_V, res.tg_model, "Tien-Gordon, Eq. 8")
    if res.gap_grid.size:
        curves["gap"] = XYSeries(res.gap_grid, np.maximum(res.gap_profile, 1e-300), "cost")
    if res.slice_f.size:
        n = int(res.slice_order)
        curves["slice_eq6"] = XYSeries(res.slice_theory_f, np.abs(res.slice_theory), "Eq. 6")
        curves["slice"] = XYSeries(res.slice_f, res.slice_amp, f"measured N = {n}", style="markers")
        curves["riedel_theory"] = XYSeries(res.riedel_curve_f, res.riedel_curve_i, "Riedel")
        curves["riedel"] = XYSeries(res.riedel_f_j, res.riedel_i_j, "Eq. 11", style="markers")
    panels = [
        XYPanel(
            row=0,
            col=0,
            series=tuple(steps),
            x_label="attenuation",
            x_unit="dB",
            y_label="step amplitude",
            y_unit="A",
            title="Steps vs attenuation",
            markers=True,
            legend="none",
        ),
        XYPanel(
            row=0,
            col=1,
            series=tuple(overlay[:4]),
            x_label="2 alpha",
            y_label="Josephson amplitude",
            y_unit="A",
            title="Josephson steps vs 2 alpha",
            legend="none",
        ),
        XYPanel(
            row=1,
            col=1,
            series=tuple(k for k in ("tg_measured", "tg_model") if k in curves),
            x_label="V",
            x_unit="V",
            y_label="I",
            y_unit="A",
            title="Tien-Gordon I(V)",
            legend="inside",
        ),
        XYPanel(
            row=1,
            col=0,
            series=("gap",) if "gap" in curves else (),
            x_label="Delta",
            x_unit="eV",
            y_label="cost",
            y_unit="A^2",
            log_y=True,
            title="Global gap scan",
            legend="none",
        ),
    ]
    if "slice" in curves:
        panels += [
            XYPanel(
                row=2,
                col=0,
                series=("slice_eq6", "slice"),
                x_label="f",
                x_unit="Hz",
                y_label="step amplitude",
                y_unit="A",
                title=f"Frequency slice, 2 alpha = {res.slice_two_alpha:g}",
                legend="inside",
            ),
            XYPanel(
                row=2,
                col=1,
                series=("riedel_theory", "riedel"),
                x_label="f_J",
                x_unit="Hz",
                y_label="I_J",
                y_unit="A",
                title="Eq. 11: the Riedel peak",
                legend="inside",
            ),
        ]
    rows = 3 if "slice" in curves else 2
    desc = FigureDescription(panels=panels, rows=rows, cols=2, width_cm=DOUBLE_COLUMN_CM, name="microwave")
    return desc, FigureSources(series=curves)


__all__ = ["microwave_figure"]
