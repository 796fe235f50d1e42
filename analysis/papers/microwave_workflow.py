"""The microwave panel's analysis in one call: from a series of I(V) sweeps under rf (one per attenuator
reading) to the step amplitudes, the joint attenuator constant C, the Bessel and Werthamer overlays with
their 2 alpha = N + M markers, and the gap from a global scan.

:func:`analyse_microwave` is what the window runs as a job (with progress and cancel) and what the paper
figure uses. Channels by unit: the V channel against the A channel; the attenuator reading is the tag
``attenuation`` (dB). Units: V, A, Hz, dB; gaps in eV.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import special

from analysis.models import microwave as mw
from analysis.papers import microwave as pm
from analysis.papers._common import AnalysisError, known_fields, result_from_parts, result_parts
from analysis.series import Series


class MicrowaveCancelled(AnalysisError):
    """The analysis was cancelled between its stages."""


@dataclass
class MicrowaveSettings:
    """The panel's inputs: rf frequency ``f`` (Hz), the gap ``delta`` (eV) that places the quasiparticle
    edges and the Eq. 6 law, the Josephson orders 0..``n_josephson`` - 1, the ``law`` ("werthamer" or
    "bessel"), the attenuation tag, the range of the global gap scan (eV) and the number ``n_boot`` of
    bootstrap refits over the sweeps behind the error of Delta (0: the curvature error alone), and the
    frequency slice: step ``slice_order`` at 2 alpha = ``slice_two_alpha``."""

    f: float = 25.7e9
    delta: float = 0.55e-3
    n_josephson: int = 5
    law: str = "werthamer"
    attenuation_tag: str = "attenuation"
    gap_min: float = 0.3e-3
    gap_max: float = 1.2e-3
    n_boot: int = 30
    slice_order: int = 0
    slice_two_alpha: float = 25.9

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MicrowaveSettings:
        return known_fields(cls, d)


@dataclass
class MicrowaveResult:
    """Numbers with one-sigma errors and the plot arrays.

    ``attenuation`` (m,) dB; ``josephson_amp`` (nj, m) and ``qp_amp`` (nq, m) A with orders
    ``josephson_orders`` (nj,), ``qp_orders`` (nq,); ``c``, ``c_err`` (V); ``josephson_scale``,
    ``qp_scale`` (A) with errors; ``two_alpha`` (m,) the drive of each sweep from C; the overlay curves
    ``overlay_two_alpha`` (g,), ``overlay_bessel`` and ``overlay_werthamer`` (nj, g) A and the markers
    ``markers`` (nj,) (2 alpha = N + M); ``delta_fit``, ``delta_fit_err`` (eV) from the global scan with
    its ``gap_grid`` and ``gap_profile``; with an I_0(V) without rf, the Tien-Gordon (Eq. 8) current
    ``tg_model`` at the calibrated V_rf of the most strongly driven sweep (reading ``tg_attenuation`` dB)
    beside the ``tg_measured`` quasiparticle branch at ``tg_V`` (V), and their rms difference ``tg_rms``
    relative to the largest measured current.

    With a frequency scan (a series of sweeps at several ``f`` tags), the frequency slice ([HAM] Fig. 8)
    of step ``slice_order`` at 2 alpha = ``slice_two_alpha``: the measured amplitudes ``slice_amp`` (k,) A
    at ``slice_f`` (k,) Hz (interpolated in 2 alpha between the sweeps of each frequency, V_rf from C),
    the signed Eq. 6 curve ``slice_theory`` (g,) A at ``slice_theory_f`` (g,) Hz and the Bessel level
    ``slice_bessel`` (A); and the Eq. 11 inversion of each slice point: I_J ``riedel_i_j`` (k,) A at the
    resonant Josephson frequency ``riedel_f_j`` (k,) Hz beside the Riedel theory ``riedel_i_j_theory``,
    and the theory curve ``riedel_curve_f``, ``riedel_curve_i`` (g,)."""

    attenuation: np.ndarray = field(default_factory=lambda: np.zeros(0))
    josephson_orders: np.ndarray = field(default_factory=lambda: np.zeros(0))
    josephson_amp: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    qp_orders: np.ndarray = field(default_factory=lambda: np.zeros(0))
    qp_amp: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    c: float = math.nan
    c_err: float = math.nan
    josephson_scale: float = math.nan
    josephson_scale_err: float = math.nan
    qp_scale: float = math.nan
    qp_scale_err: float = math.nan
    two_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    overlay_two_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    overlay_bessel: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    overlay_werthamer: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    markers: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delta_fit: float = math.nan
    delta_fit_err: float = math.nan
    gap_grid: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gap_profile: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tg_attenuation: float = math.nan
    tg_V: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tg_measured: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tg_model: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tg_rms: float = math.nan
    slice_order: float = math.nan
    slice_two_alpha: float = math.nan
    slice_f: np.ndarray = field(default_factory=lambda: np.zeros(0))
    slice_amp: np.ndarray = field(default_factory=lambda: np.zeros(0))
    slice_theory_f: np.ndarray = field(default_factory=lambda: np.zeros(0))
    slice_theory: np.ndarray = field(default_factory=lambda: np.zeros(0))
    slice_bessel: float = math.nan
    riedel_f_j: np.ndarray = field(default_factory=lambda: np.zeros(0))
    riedel_i_j: np.ndarray = field(default_factory=lambda: np.zeros(0))
    riedel_i_j_theory: np.ndarray = field(default_factory=lambda: np.zeros(0))
    riedel_curve_f: np.ndarray = field(default_factory=lambda: np.zeros(0))
    riedel_curve_i: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _channel(series: Series, unit: str) -> str:
    if series.unit(series.x_channel) == unit:
        return series.x_channel
    for n in series.units:
        if series.unit(n) == unit:
            return n
    raise AnalysisError(f"series {series.name!r} has no channel in {unit}")


def frequency_slice(
    fscan: Series, settings: MicrowaveSettings, c: float, josephson_scale: float, out: MicrowaveResult
) -> None:
    """Fill ``out``'s slice and Eq. 11 fields (class docstring) from a frequency scan ``fscan`` (sweeps
    tagged ``f`` Hz and with the attenuation tag, dB), the attenuator constant ``c`` (V) and the Josephson
    scale I_J(0) (A). The sign of each measured amplitude is that of the Eq. 6 branch (the measurement
    gives its magnitude); the Riedel theory is scaled to I_J(0)."""
    st = settings
    if "f" not in fscan.tags or st.attenuation_tag not in fscan.tags:
        raise AnalysisError(f"the frequency scan needs the tags 'f' (Hz) and {st.attenuation_tag!r} (dB)")
    cv, ci = _channel(fscan, "V"), _channel(fscan, "A")
    fs = np.asarray(fscan.tags["f"], dtype=float)
    att = np.asarray(fscan.tags[st.attenuation_tag], dtype=float)
    n, target = int(st.slice_order), float(st.slice_two_alpha)
    f_pts, amp_pts = [], []
    for fr in np.unique(fs):
        idx = np.flatnonzero(fs == fr)
        if idx.size < 2:
            continue
        ta = 2.0 * mw.photon_ratio(mw.rf_voltage_from_attenuation(att[idx], c), fr)
        if not float(ta.min()) <= target <= float(ta.max()):
            continue
        amps = np.array(
            [
                pm.step_amplitudes(
                    fscan.sweeps[j].channel(cv), fscan.sweeps[j].channel(ci), fr, orders=[n]
                ).josephson_amplitude[0]
                for j in idx
            ]
        )
        order = np.argsort(ta)
        f_pts.append(float(fr))
        amp_pts.append(float(np.interp(target, ta[order], amps[order])))
    if not f_pts:
        raise AnalysisError(f"no frequency of the scan brackets 2 alpha = {target:g} with two sweeps")
    out.slice_order, out.slice_two_alpha = float(n), target
    out.slice_f, out.slice_amp = np.array(f_pts), np.array(amp_pts)
    alpha = target / 2.0
    scale = josephson_scale / mw.riedel_zero_voltage(st.delta, 1.0)
    lo, hi = float(out.slice_f.min()), float(out.slice_f.max())
    out.slice_theory_f = np.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), 240)

    def signed_eq6(fr: float) -> float:
        return scale * float(
            mw.werthamer_riedel_step_amplitude(n, alpha, fr, st.delta, 1.0, damping=1e-3, signed=True)
        )

    out.slice_theory = np.array([signed_eq6(float(fr)) for fr in out.slice_theory_f])
    out.slice_bessel = float(josephson_scale * special.jv(n, target))
    signs = np.array([math.copysign(1.0, signed_eq6(fr)) for fr in f_pts])
    pts = pm.riedel_from_steps(
        signs * out.slice_amp,
        [n] * len(f_pts),
        [alpha] * len(f_pts),
        f_pts,
        st.delta,
        1.0,
        damping=1e-3,
        scale=scale,
    )
    out.riedel_f_j, out.riedel_i_j, out.riedel_i_j_theory = pts.f_j, pts.i_j, pts.i_j_theory
    f_peak = 4.0 * st.delta / mw.H_OVER_E
    out.riedel_curve_f = np.linspace(0.8 * f_peak, 1.2 * f_peak, 400)
    out.riedel_curve_i = scale * mw.riedel_current_at_frequency(
        out.riedel_curve_f, st.delta, 1.0, damping=1e-3
    )


def analyse_microwave(
    series: Series,
    settings: MicrowaveSettings | None = None,
    i0: Series | None = None,
    progress: Any = None,
    cancel: threading.Event | None = None,
    fscan: Series | None = None,
) -> MicrowaveResult:
    """Step amplitudes of every sweep, the joint calibration of C from the Josephson and quasiparticle
    steps, the overlays, and Delta from a global scan of the Josephson amplitudes against the calibrated
    V_rf (module docstring); with ``i0`` (a series whose first sweep is I_0(V) without rf) the Tien-Gordon
    I(V) of the most strongly driven sweep; with ``fscan`` (a frequency scan) the frequency slice and its
    Eq. 11 inversion (:func:`frequency_slice`). ``progress(done, total)``; ``cancel`` is checked between
    stages."""
    st = settings or MicrowaveSettings()
    if st.attenuation_tag not in series.tags:
        raise AnalysisError(f"the series has no tag {st.attenuation_tag!r} (the attenuator reading in dB)")

    def stage(k: int) -> None:
        if cancel is not None and cancel.is_set():
            raise MicrowaveCancelled("the microwave analysis was cancelled")
        if progress is not None:
            progress(k, 4)

    cv, ci = _channel(series, "V"), _channel(series, "A")
    att = np.asarray(series.tags[st.attenuation_tag], dtype=float)
    orders = list(range(int(st.n_josephson)))
    steps = [
        pm.step_amplitudes(s.channel(cv), s.channel(ci), st.f, orders=orders, delta=st.delta)
        for s in series.sweeps
    ]
    out = MicrowaveResult(attenuation=att, josephson_orders=np.array(orders, float))
    out.josephson_amp = np.array([[s.josephson_amplitude[k] for s in steps] for k in range(len(orders))])
    qo = sorted({int(n) for s in steps for n in s.qp_orders})
    out.qp_orders = np.array(qo, float)
    out.qp_amp = np.array(
        [
            [
                float(s.qp_amplitude[list(s.qp_orders).index(n)]) if n in list(s.qp_orders) else math.nan
                for s in steps
            ]
            for n in qo
        ]
    ).reshape(len(qo), len(steps))
    stage(1)
    data = [mw.StepData("josephson", n, att, out.josephson_amp[k]) for k, n in enumerate(orders)]
    for k, n in enumerate(qo):
        ok = np.isfinite(out.qp_amp[k])
        if np.count_nonzero(ok) >= 3:
            data.append(mw.StepData("qp", n, att[ok], out.qp_amp[k][ok]))
    # one Eq. 6 table (rows built on first use) for the calibration and the overlays
    table = pm.WerthamerTable(st.f, st.delta, 1e-3, 30.0)
    cal = pm.joint_attenuator_calibration(data, st.f, law=st.law, delta=st.delta, table=table)
    out.c, out.c_err = cal.c, cal.c_err
    out.josephson_scale = cal.scales.get("josephson", math.nan)
    out.josephson_scale_err = cal.scales_err.get("josephson", math.nan)
    out.qp_scale = cal.scales.get("qp", math.nan)
    out.qp_scale_err = cal.scales_err.get("qp", math.nan)
    v_rf = mw.rf_voltage_from_attenuation(att, cal.c)
    out.two_alpha = 2.0 * mw.photon_ratio(v_rf, st.f)
    stage(2)
    grid = np.linspace(0.0, 1.05 * float(out.two_alpha.max()), 400)
    ovs = [pm.step_overlay(n, grid, st.f, st.delta, out.josephson_scale, table=table) for n in orders]
    out.overlay_two_alpha = grid
    out.overlay_bessel = np.array([o.bessel for o in ovs])
    out.overlay_werthamer = np.array([o.werthamer for o in ovs])
    out.markers = np.array([o.marker for o in ovs])
    stage(3)
    gap = pm.fit_gap_global(
        [(n, v_rf, out.josephson_amp[k]) for k, n in enumerate(orders)],
        st.f,
        delta_range=(st.gap_min, st.gap_max),
        n_boot=st.n_boot,
        v_rf_rel_err=cal.c_err / cal.c if cal.c > 0 and math.isfinite(cal.c_err) else 0.0,
    )
    out.delta_fit, out.delta_fit_err = gap.delta, gap.delta_err
    out.gap_grid, out.gap_profile = gap.delta_grid, gap.profile
    if i0 is not None and len(i0):
        k = int(np.argmin(att))
        sw = series.sweeps[k]
        v, i = sw.channel(cv), sw.channel(ci)
        # the quasiparticle branch: away from the Josephson plateaus, up to the end of the sweep
        hj = mw.H_OVER_2E * st.f
        branch = (v > (len(orders) - 0.5) * hj) & np.isfinite(i)
        v0, c0 = _channel(i0, "V"), _channel(i0, "A")
        s0 = i0.sweeps[0]
        model = pm.photon_assisted_iv(v[branch], s0.channel(v0), s0.channel(c0), float(v_rf[k]), st.f)
        out.tg_attenuation = float(att[k])
        out.tg_V, out.tg_measured, out.tg_model = v[branch], i[branch], model
        top = float(np.max(np.abs(i[branch]))) if np.any(branch) else math.nan
        out.tg_rms = float(np.sqrt(np.mean((model - i[branch]) ** 2))) / top
    if fscan is not None and len(fscan):
        frequency_slice(fscan, st, cal.c, out.josephson_scale, out)
    stage(4)
    return out


def result_to_dict(res: MicrowaveResult) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(scalars, arrays) of a result, for a project attachment."""
    return result_parts(res)


def result_from_dict(scalars: dict[str, Any], arrays: dict[str, Any]) -> MicrowaveResult:
    """The result of :func:`result_to_dict`'s output."""
    return result_from_parts(MicrowaveResult, scalars, arrays)


__all__ = [
    "MicrowaveCancelled",
    "MicrowaveResult",
    "MicrowaveSettings",
    "analyse_microwave",
    "frequency_slice",
    "result_from_dict",
    "result_to_dict",
]
