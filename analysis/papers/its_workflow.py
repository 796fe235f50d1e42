"""The intrinsic-tunnelling panel's analysis in one call: from an R(T) series, a series of I-Vs at several
fields and an I-V brush series to hA, the heating spectrum, the critical loads and the branch fits.

:func:`analyse_its` is what the window runs as a job and what the paper figure uses, so both show the same
numbers. Channels are found by unit: R(T) is the K channel against the Ohm channel; an I-V is the A channel
against the V channel. Units: K, Ohm, V, A, W/K, W/m^2 (or W without an area), T.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from analysis.papers import its
from analysis.papers._common import AnalysisError, known_fields, result_from_parts, result_parts
from analysis.series import Series


@dataclass
class ITSSettings:
    """The panel's inputs: bath temperature ``t_bath`` (K), junction ``area`` (m^2, 0: loads in W),
    threshold ``eps`` of the critical load, the 3-point contact term ``contact_r0`` (Ohm, 0: none) at
    ``contact_tc`` (K), and the field tag ``field_tag``."""

    t_bath: float = 4.2
    area: float = 1e-10
    eps: float = 0.02
    contact_r0: float = 0.0
    contact_tc: float = 60.0
    field_tag: str = "B"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ITSSettings:
        return known_fields(cls, d)


@dataclass
class ITSResult:
    """What the panel shows. Scalars with one-sigma errors; arrays for the plots:

    ``rt_T``, ``rt_R`` (m,) the smoothed R(T); ``sup_T``, ``sup_R`` (k,) the superposed I-V points
    (T_B + IV/hA, V/I); ``spec_V``, ``spec_G`` (s,) the heating spectrum dI/dV (S) along the upward sweep
    with its ``peak_V``; ``fields`` (nf,) T with ``p_c``, ``p_c_err`` and the collapse ``collapse_P`` (g,),
    ``collapse_R`` (nf, g) (R/R_N) with its relative ``spread``; the brush branches ``branch_R``,
    ``branch_R_err``, ``branch_I_star``, ``branch_I_star_err`` (nb,), ``R1`` and ``I_star``. Empty arrays
    and NaN where a part had no data."""

    h_a: float = math.nan
    h_a_err: float = math.nan
    rt_sigma: float = math.nan
    rt_T: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rt_R: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sup_T: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sup_R: np.ndarray = field(default_factory=lambda: np.zeros(0))
    spec_V: np.ndarray = field(default_factory=lambda: np.zeros(0))
    spec_G: np.ndarray = field(default_factory=lambda: np.zeros(0))
    peak_V: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fields: np.ndarray = field(default_factory=lambda: np.zeros(0))
    p_c: np.ndarray = field(default_factory=lambda: np.zeros(0))
    p_c_err: np.ndarray = field(default_factory=lambda: np.zeros(0))
    collapse_P: np.ndarray = field(default_factory=lambda: np.zeros(0))
    collapse_R: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    spread: float = math.nan
    branch_R: np.ndarray = field(default_factory=lambda: np.zeros(0))
    branch_R_err: np.ndarray = field(default_factory=lambda: np.zeros(0))
    branch_I_star: np.ndarray = field(default_factory=lambda: np.zeros(0))
    branch_I_star_err: np.ndarray = field(default_factory=lambda: np.zeros(0))
    R1: float = math.nan
    R1_err: float = math.nan
    I_star: float = math.nan
    I_star_err: float = math.nan


def _channel(series: Series, unit: str) -> str:
    names = list(series.units) or [series.x_channel]
    if series.unit(series.x_channel) == unit:
        return series.x_channel
    for n in names:
        if series.unit(n) == unit:
            return n
    raise AnalysisError(f"series {series.name!r} has no channel in {unit} (channels: {', '.join(names)})")


def rt_curve(series: Series) -> tuple[np.ndarray, np.ndarray]:
    """(T (n,) K, R (n,) Ohm) of an R(T) series: its sweeps joined (a single curve or pieces)."""
    ct, cr = _channel(series, "K"), _channel(series, "Ohm")
    T = np.concatenate([s.channel(ct) for s in series.sweeps])
    R = np.concatenate([s.channel(cr) for s in series.sweeps])
    return T, R


def iv_curves(series: Series) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(V (n,) V, I (n,) A)] of each sweep of an I-V series."""
    cv, ci = _channel(series, "V"), _channel(series, "A")
    return [(s.channel(cv), s.channel(ci)) for s in series.sweeps]


def analyse_its(
    rt: Series | None,
    iv: Series | None,
    brush: Series | None,
    settings: ITSSettings | None = None,
    progress: Any = None,
) -> ITSResult:
    """Run the panel's analyses on what is given (module docstring); ``progress(done, total)`` optional.

    hA comes from the superposition of the lowest-field I-V on R(T) (:func:`its.fit_h_a`), the heating
    spectrum from R(T) and that hA (with the 3-point term when ``contact_r0`` > 0), the critical loads and
    the collapse from every I-V (:func:`its.field_collapse`), the branches from the brush series.
    """
    st = settings or ITSSettings()
    out = ITSResult()
    step = [0]

    def tick() -> None:
        step[0] += 1
        if progress is not None:
            progress(step[0], 4)

    curves = iv_curves(iv) if iv is not None and len(iv) else []
    fields = (
        np.asarray(iv.tags[st.field_tag], float)
        if iv is not None and st.field_tag in iv.tags
        else np.arange(len(curves), dtype=float)
    )
    if rt is not None and len(rt):
        T, R = rt_curve(rt)
        sm = its.smooth_resistance(T, R)
        out.rt_sigma = sm.sigma
        out.rt_T = np.linspace(sm.t_range[0], sm.t_range[1], 400)
        out.rt_R = sm.curve(out.rt_T)
        if curves:
            k = int(np.nanargmin(np.abs(fields))) if fields.size else 0
            v, i = curves[k]
            fit = its.fit_h_a(v, i, st.t_bath, T, R)
            out.h_a, out.h_a_err = fit.h_a, fit.h_a_err
            ok = (i != 0) & (v * i > 0)
            out.sup_T = st.t_bath + (v * i)[ok] / fit.h_a
            out.sup_R = (v / i)[ok]
            inside = out.sup_T <= sm.t_range[1]
            out.sup_T, out.sup_R = out.sup_T[inside], out.sup_R[inside]
        tick()
        if math.isfinite(out.h_a):
            contact = (st.contact_r0, st.contact_tc) if st.contact_r0 > 0 else None
            spec = its.its_heating_spectrum(T, R, st.t_bath, out.h_a, contact=contact)
            v, _, g = spec.spectrum.swept()
            ok = np.isfinite(g)
            out.spec_V, out.spec_G = v[ok], g[ok]
            out.peak_V = np.asarray(spec.peak_V, float)
        tick()
    if curves:
        fc = its.field_collapse(curves, list(fields), area=st.area if st.area > 0 else None, eps=st.eps)
        out.fields, out.p_c, out.p_c_err = fc.B, fc.p_c, fc.p_c_err
        out.collapse_P, out.collapse_R, out.spread = fc.P, fc.normalised, fc.spread
    tick()
    if brush is not None and len(brush):
        branches = [(i, v) for v, i in iv_curves(brush)]
        b = its.brush_branches(branches)
        out.branch_R, out.branch_R_err = b.R, b.R_err
        out.branch_I_star, out.branch_I_star_err = b.I_star, b.I_star_err
        out.R1, out.R1_err, out.I_star, out.I_star_err = b.R1, b.R1_err, b.I_star_mean, b.I_star_mean_err
    tick()
    return out


def result_to_dict(res: ITSResult) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(scalars, arrays) of a result, for a project attachment."""
    return result_parts(res)


def result_from_dict(scalars: dict[str, Any], arrays: dict[str, Any]) -> ITSResult:
    """The result of :func:`result_to_dict`'s output."""
    return result_from_parts(ITSResult, scalars, arrays)


__all__ = [
    "ITSResult",
    "ITSSettings",
    "analyse_its",
    "iv_curves",
    "result_from_dict",
    "result_to_dict",
    "rt_curve",
]
