"""Microwave response of tunnel junctions ([HAM], paper 004): step amplitudes from I(V) under rf, the joint
attenuator calibration, Bessel and Werthamer overlays, the Eq. 11 inversion, Tien-Gordon I(V) and a global
fit of the gap.

Units: V, A, Hz, Ohm, dB; gaps in eV. The formulas (Eqs. 4-11) live in :mod:`analysis.models.microwave`;
this module extracts the measured quantities and fits them.

Speed of the Eq. 6 calibration: the Werthamer amplitude A_N(alpha) (Eq. 6 with the broadened Riedel
function, normalised to I_J(0)) depends on C only through alpha, so it is tabulated once per step index N
on an alpha grid (step 0.01, cubic spline of the signed sum); the grid search over C and the least-squares
refinement use the table: one Eq. 6 evaluation on a few thousand alphas instead of one per trial C and step.

Global gap fit: Eq. 6 amplitudes depend on Delta through the Riedel peak position M = 4 Delta/(h f); the
cost has a local minimum wherever a Bessel lobe lines up with the peak. Delta is therefore scanned over a
physical range (the amplitude scale solved linearly at each Delta) and only the best grid point is
refined, so the result does not depend on a starting value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special
from scipy.interpolate import CubicSpline

from analysis.models import microwave as mw
from analysis.papers._common import AnalysisError, as_pair

# ---------------------------------------------------------------------------------------------------
# Step amplitudes from I(V) curves under rf
# ---------------------------------------------------------------------------------------------------


@dataclass
class StepAmplitudes:
    """Steps of one I(V) under rf.

    ``josephson_orders`` (k,) N with plateau voltages ``josephson_V`` = N h f/2e (V) and current extents
    ``josephson_amplitude`` (A, the width of the constant-voltage plateau; 0 when none is seen) with errors
    (one current step of the sweep); ``qp_orders`` (m,) n with edge voltages 2 Delta/e + n h f/e and step
    heights ``qp_amplitude`` (A) above the ohmic slope, with errors from the local scatter.
    """

    josephson_orders: np.ndarray
    josephson_V: np.ndarray
    josephson_amplitude: np.ndarray
    josephson_err: np.ndarray
    qp_orders: np.ndarray
    qp_V: np.ndarray
    qp_amplitude: np.ndarray
    qp_err: np.ndarray


def _plateau_core(d: np.ndarray, sel: np.ndarray, floor: float) -> np.ndarray:
    """The points of the window ``sel`` that lie on the plateau itself: within three robust standard
    deviations (at least ``floor``, V) of the median voltage offset ``d`` of the window's points.

    A plateau is a vertical line in I(V): its points share one voltage (up to the voltmeter's noise),
    while the branch passes through the window at every voltage. Taking the whole window's current range
    adds the branch's own current change across the window, which is large where a photon-assisted
    quasiparticle step (at 2 Delta/e - n h f/e) falls inside it."""
    idx = np.flatnonzero(sel)
    if idx.size < 4:
        return sel
    dd = d[idx]
    med = float(np.median(dd))
    spread = 1.4826 * float(np.median(np.abs(dd - med)))
    core = np.abs(dd - med) <= max(3.0 * spread, floor)
    if np.count_nonzero(core) < 2:
        return sel
    out = np.zeros_like(sel)
    out[idx[core]] = True
    return out


def step_amplitudes(
    V,
    I,
    f: float,
    *,
    orders: Sequence[int] = range(0, 9),
    delta: float | None = None,
    qp_orders: Sequence[int] = (-1, 0, 1),
    v_tol: float = 0.15,
    qp_window: float = 0.35,
) -> StepAmplitudes:
    """Josephson plateaus at N h f/2e and quasiparticle step edges at 2 Delta/e + n h f/e from one I(V).

    ``V``, ``I`` (nb,) the sweep (current or voltage biased, any order). A Josephson plateau N is the set
    of points with |V - N h f/2e| < ``v_tol`` h f/2e that share the plateau's voltage
    (:func:`_plateau_core`); its amplitude is the current range they span (the zero step N = 0 is measured
    on V > 0 and V < 0 together). A quasiparticle step n (needs ``delta``, eV)
    is the jump of the current across 2 Delta/e + n h f/e, between straight lines fitted on each side
    over +-``qp_window`` h f/e, at the edge.
    """
    V, I = as_pair(V, I, "voltage and current", 5)
    if not f > 0:
        raise AnalysisError("the rf frequency must be positive")
    hj = mw.H_OVER_2E * f
    dI = float(np.median(np.abs(np.diff(np.sort(I))))) if I.size > 2 else 0.0
    jo, jv, ja, je = [], [], [], []
    for n in orders:
        vn = n * hj
        sel = np.abs(np.abs(V) - vn) < v_tol * hj
        sel &= (V >= 0) if n > 0 else np.ones_like(sel)
        sel = _plateau_core(np.abs(V) - vn, sel, 1e-3 * hj)
        amp = float(np.ptp(I[sel])) if np.count_nonzero(sel) >= 2 else 0.0
        jo.append(n)
        jv.append(vn)
        ja.append(amp)
        je.append(max(dI, 1e-300))
    qo, qv, qa, qe = [], [], [], []
    if delta is not None:
        hq = mw.H_OVER_E * f
        for n in qp_orders:
            ve = 2.0 * abs(delta) + n * hq
            if ve <= 0:
                continue
            w = qp_window * hq
            left = (V > ve - w) & (V < ve - 0.1 * w)
            right = (V > ve + 0.1 * w) & (V < ve + w)
            if np.count_nonzero(left) < 3 or np.count_nonzero(right) < 3:
                continue
            pl = np.polyfit(V[left], I[left], 1)
            pr = np.polyfit(V[right], I[right], 1)
            jump = float(np.polyval(pr, ve) - np.polyval(pl, ve))
            sc = float(
                np.std(I[left] - np.polyval(pl, V[left])) + np.std(I[right] - np.polyval(pr, V[right]))
            )
            qo.append(n)
            qv.append(ve)
            qa.append(jump)
            qe.append(max(sc, 1e-300))
    return StepAmplitudes(
        np.array(jo),
        np.array(jv),
        np.array(ja),
        np.array(je),
        np.array(qo),
        np.array(qv),
        np.array(qa),
        np.array(qe),
    )


def amplitudes_vs_drive(
    curves: Sequence[tuple[np.ndarray, np.ndarray]], f: float, **kw
) -> list[StepAmplitudes]:
    """:func:`step_amplitudes` for each (V, I) curve of a power series (one per attenuator setting)."""
    return [step_amplitudes(v, i, f, **kw) for v, i in curves]


# ---------------------------------------------------------------------------------------------------
# Tabulated Eq. 6 law and the joint attenuator calibration
# ---------------------------------------------------------------------------------------------------


class WerthamerTable:
    """Eq. 6 amplitude with the broadened Riedel I_J, normalised to I_J(0), tabulated in alpha.

    ``f`` Hz, ``delta`` eV, ``damping`` Im(Delta)/Re(Delta); ``alpha_max``; the table has one row per
    step index (the signed sum, splined; the amplitude is its absolute value), built on first use (about
    0.5 s per index for alpha up to 30).
    """

    STEP = 0.01

    def __init__(self, f: float, delta: float, damping: float = 1e-3, alpha_max: float = 60.0) -> None:
        if not (f > 0 and delta > 0 and alpha_max > 0):
            raise AnalysisError("the Eq. 6 table needs f > 0, Delta > 0 and alpha_max > 0")
        self.f, self.delta, self.damping = float(f), float(delta), float(damping)
        self.alpha = np.arange(0.0, float(alpha_max) + self.STEP, self.STEP)
        self._rows: dict[int, CubicSpline] = {}

    def _row(self, order: int) -> CubicSpline:
        key = int(order)
        if key not in self._rows:
            i0 = mw.riedel_zero_voltage(self.delta, 1.0)

            def i_j(f_j):
                return mw.riedel_current_at_frequency(f_j, self.delta, 1.0, damping=self.damping) / i0

            vals = mw.werthamer_step_amplitude(key, self.alpha, self.f, i_j, signed=True)
            self._rows[key] = CubicSpline(self.alpha, vals)
        return self._rows[key]

    def __call__(self, order: int, alpha, signed: bool = False) -> np.ndarray:
        a = np.asarray(alpha, dtype=float)
        if np.any(np.abs(a) > self.alpha[-1]):
            raise AnalysisError(
                f"alpha beyond the table ({float(np.abs(a).max()):.3g} > {self.alpha[-1]:.3g})"
            )
        out = self._row(order)(np.abs(a))
        return out if signed else np.abs(out)


@dataclass
class AttenuatorCalibration:
    """Joint attenuator calibration: ``c`` (V) in V_rf = C 10^(-A/20) with ``c_err``; amplitude scales per
    kind with errors; ``law`` "bessel" or "werthamer"; ``rms`` (A); ``fit`` the underlying
    :class:`analysis.models.microwave.AttenuatorFit`."""

    c: float
    c_err: float
    scales: dict[str, float]
    scales_err: dict[str, float]
    law: str
    rms: float
    fit: mw.AttenuatorFit = field(repr=False)


def joint_attenuator_calibration(
    steps: Sequence[mw.StepData],
    f: float,
    *,
    law: str = "bessel",
    delta: float | None = None,
    damping: float = 1e-3,
    c_range: tuple[float, float] | None = None,
    alpha_max: float = 30.0,
    table: WerthamerTable | None = None,
) -> AttenuatorCalibration:
    """One attenuator constant C fitted jointly to Josephson and quasiparticle step amplitudes (Eq. 9).

    ``law`` "bessel" (Eq. 4, |J_N(2 alpha)|) or "werthamer" (Eq. 6 with the Riedel peak; needs ``delta``
    in eV): the Eq. 6 law comes from a :class:`WerthamerTable`, so the whole calibration costs about a
    second. The C search covers alpha at the weakest attenuation up to ``alpha_max`` (or ``c_range``, V).
    ``table`` reuses a :class:`WerthamerTable` of the same f, Delta and damping (its rows are built once).
    """
    if law not in ("bessel", "werthamer"):
        raise AnalysisError("law must be 'bessel' or 'werthamer'")
    if not steps:
        raise AnalysisError("no step data given")
    josephson_law = None
    if law == "werthamer":
        if delta is None:
            raise AnalysisError("the Werthamer law needs the gap delta (eV)")
        if table is None or table.alpha[-1] < alpha_max:
            table = WerthamerTable(f, delta, damping, alpha_max)
        josephson_law = table
    a_min = min(float(np.min(s.attenuation)) for s in steps)
    if c_range is None:
        top = 0.95 * alpha_max
        c_range = (
            float(mw.rf_voltage(0.05, f)) * 10 ** (a_min / 20),
            float(mw.rf_voltage(top, f)) * 10 ** (a_min / 20),
        )
    try:
        fit = mw.fit_attenuator_calibration(steps, f, c_range=c_range, josephson_law=josephson_law)
    except ValueError as exc:
        raise AnalysisError(str(exc)) from exc
    return AttenuatorCalibration(fit.c, fit.c_stderr, fit.scales, fit.scales_stderr, law, fit.rms, fit)


# ---------------------------------------------------------------------------------------------------
# Overlays, Eq. 11, Tien-Gordon
# ---------------------------------------------------------------------------------------------------


@dataclass
class StepOverlay:
    """Bessel (Eq. 4) and Werthamer (Eq. 6) amplitude curves of step N against 2 alpha, and the marker
    2 alpha = N + M (M = 4 Delta/(h f)) where Eq. 6 first leaves the Bessel law (Eq. 10); ``deviation``
    the 2 alpha where it actually does (1 % of I_J(0))."""

    order: int
    two_alpha: np.ndarray
    bessel: np.ndarray
    werthamer: np.ndarray
    marker: float
    deviation: float


def step_overlay(
    order: int,
    two_alpha,
    f: float,
    delta: float,
    i_j0: float,
    *,
    damping: float = 1e-3,
    table: WerthamerTable | None = None,
) -> StepOverlay:
    """Curves for the amplitude-vs-drive plot: ``two_alpha`` (m,) ascending, ``i_j0`` the I_J(0) scale (A);
    ``table`` reuses a :class:`WerthamerTable` of the same f, Delta and damping when it reaches far enough."""
    ta = np.asarray(two_alpha, dtype=float)
    if table is None or table.alpha[-1] < float(ta.max()) / 2.0:
        table = WerthamerTable(f, delta, damping, float(ta.max()) / 2.0 + 1.0)
    w = i_j0 * table(order, ta / 2.0)
    b = mw.bessel_step_amplitude(order, ta / 2.0, i_j0)
    m = mw.gap_step_index(delta, f)
    dev = mw.first_bessel_deviation(order, ta, w, i_j0)
    return StepOverlay(int(order), ta, b, w, float(order + m), dev)


@dataclass
class RiedelPoints:
    """Eq. 11 inversion over frequency slices: ``f_j`` (n,) Hz, ``i_j`` (n,) A recovered from the measured
    step amplitudes, and the Riedel theory ``i_j_theory`` (n,) A at the same f_J."""

    f_j: np.ndarray
    i_j: np.ndarray
    i_j_theory: np.ndarray


def riedel_from_steps(
    amplitudes: Sequence[float],
    orders: Sequence[int],
    alphas: Sequence[float],
    freqs: Sequence[float],
    delta: float,
    r_n: float,
    *,
    damping: float = 1e-3,
    scale: float = 1.0,
) -> RiedelPoints:
    """Eq. 11 (corrected) for each measured signed step amplitude (A) at (N, alpha, f): I_J at the resonant
    Josephson frequency near 4 Delta/h. ``scale`` multiplies the theory I_J elsewhere (e.g. I_J(0)
    measured / AB)."""
    fj, ij, th = [], [], []
    f_peak = 4.0 * delta / mw.H_OVER_E
    for amp, n, a, fr in zip(amplitudes, orders, alphas, freqs, strict=True):

        def theory(f_j, fr=fr):
            return scale * mw.riedel_current_at_frequency(f_j, delta, r_n, damping=damping)

        try:
            inv = mw.invert_riedel_peak(float(amp), int(n), float(a), float(fr), theory, f_peak)
        except ValueError as exc:
            raise AnalysisError(str(exc)) from exc
        fj.append(inv.f_j)
        ij.append(inv.i_j)
        th.append(float(theory(np.array([inv.f_j]))[0]))
    return RiedelPoints(np.array(fj), np.array(ij), np.array(th))


def photon_assisted_iv(V, V0, I0, v_rf: float, f: float) -> np.ndarray:
    """Tien-Gordon I(V) under rf (Eq. 8) from a measured I_0(V) (``V0``, ``I0`` (m,)); ``V`` (nb,) V."""
    V0, I0 = as_pair(V0, I0, "I_0 bias and current", 2)
    try:
        return mw.tien_gordon_current(np.asarray(V, dtype=float), (V0, I0), v_rf, f)
    except ValueError as exc:
        raise AnalysisError(str(exc)) from exc


# ---------------------------------------------------------------------------------------------------
# Global fit of Delta from step amplitudes (Eq. 6)
# ---------------------------------------------------------------------------------------------------


@dataclass
class GapFit:
    """Delta from Josephson step amplitudes with Eq. 6: ``delta`` and ``delta_err`` (eV), ``i_j0`` and
    ``i_j0_err`` (A), ``chi2_red``; the scan ``delta_grid`` (eV) and its cost ``profile``; ``minima`` the
    local minima of the scan (eV) ordered by cost (the global one first)."""

    delta: float
    delta_err: float
    i_j0: float
    i_j0_err: float
    chi2_red: float
    delta_grid: np.ndarray
    profile: np.ndarray
    minima: list[float]


def fit_gap_global(
    data: Sequence[tuple[int, np.ndarray, np.ndarray]],
    f: float,
    *,
    delta_range: tuple[float, float] = (0.2e-3, 2.0e-3),
    damping: float = 1e-3,
    n_grid: int | None = None,
    sigma: float | None = None,
    n_boot: int = 0,
    v_rf_rel_err: float = 0.0,
    seed: int = 0,
) -> GapFit:
    """Fit Delta and the amplitude scale I_J(0) to step amplitudes against rf voltage with Eq. 6.

    ``data``: (N, V_rf (m,) V, amplitude (m,) A) per step index; ``f`` Hz. Delta is scanned over
    ``delta_range`` (eV, geometric grid of 0.05 % steps unless ``n_grid`` is given; I_J(0) solved linearly at
    each; the Bessel products are computed once), the three best local minima refined by a bounded scalar
    search. No starting value is involved. The error of Delta is from the curvature of the cost at the
    minimum; with ``n_boot`` > 0 it is at least the standard deviation of ``n_boot`` refits (within +-3 %
    of the minimum) on the sweeps resampled with replacement (the columns of equally long data, else each
    step's points) with V_rf scaled by a draw of its relative error ``v_rf_rel_err`` (the calibration's
    C). The cost has minima 0.1 % of Delta wide between lobes of the Bessel products, so its curvature
    says how sharp the nearest minimum is, not how far the data's misfit and the calibration can move
    Delta; the bootstrap does.
    """
    if not data:
        raise AnalysisError("no step amplitudes given")
    lo, hi = delta_range
    if not 0 < lo < hi:
        raise AnalysisError("invalid gap range")
    mats, wts_idx, ys = [], [], []
    for n, vrf, amp in data:
        vrf, amp = as_pair(vrf, amp, "rf voltage and amplitude", 2)
        alpha = mw.photon_ratio(vrf, f)
        N = int(n)
        lim = int(math.ceil(float(alpha.max()) + 40 + 10 * float(alpha.max()) ** (1 / 3)))
        orders = np.arange(-lim, lim + abs(N) + 1)
        # Bessel products J_n J_{N-n} do not depend on Delta: computed once, (k, m)
        mats.append(
            special.jv(orders[:, None], alpha[None, :]) * special.jv(N - orders[:, None], alpha[None, :])
        )
        wts_idx.append(np.abs(2 * orders - N))
        ys.append(amp)
    y = np.concatenate(ys)
    all_idx = np.unique(np.concatenate(wts_idx))
    where = [np.searchsorted(all_idx, w) for w in wts_idx]

    def shape(d: float) -> np.ndarray:
        ij = mw.riedel_current_at_frequency(all_idx * f, d, 1.0, damping=damping) / mw.riedel_zero_voltage(
            d, 1.0
        )
        return np.concatenate([np.abs(ij[w] @ m) for w, m in zip(where, mats, strict=True)])

    def cost(d: float) -> tuple[float, float]:
        s = shape(d)
        ss = float(s @ s)
        k = float(s @ y) / ss if ss > 0 else 0.0
        r = y - k * s
        return float(r @ r), k

    # Eq. 6 minima are as narrow as 0.1 % of Delta (a Riedel resonance crossing a Bessel lobe): 0.05 % grid
    n_pts = int(n_grid) if n_grid is not None else int(math.log(hi / lo) / 5e-4) + 2
    grid = np.geomspace(lo, hi, n_pts)
    prof = np.array([cost(float(d))[0] for d in grid])
    # local minima of the profile, best first
    inner = np.nonzero((prof[1:-1] <= prof[:-2]) & (prof[1:-1] <= prof[2:]))[0] + 1
    cand = sorted(set(inner.tolist()) | {int(np.argmin(prof))}, key=lambda i: prof[i])
    best = None
    for i in cand[:3]:
        lo_b = grid[max(i - 1, 0)]
        hi_b = grid[min(i + 1, grid.size - 1)]
        res = optimize.minimize_scalar(
            lambda d: cost(d)[0], bounds=(lo_b, hi_b), method="bounded", options={"xatol": 1e-4 * grid[i]}
        )
        if best is None or res.fun < best[0]:
            best = (float(res.fun), float(res.x))
    assert best is not None
    d = best[1]
    c0, k = cost(d)
    dof = max(y.size - 2, 1)
    s2 = c0 / dof if sigma is None else float(sigma) ** 2
    # errors from the curvature of the cost (Delta) and the linear scale
    h = 2e-4 * d
    cp, cm = cost(d + h)[0], cost(d - h)[0]
    curv = (cp - 2 * c0 + cm) / (h * h)
    d_err = math.sqrt(2.0 * s2 / curv) if curv > 0 else math.nan
    s = shape(d)
    k_err = math.sqrt(s2 / float(s @ s)) if s @ s > 0 else math.nan
    minima = [float(grid[i]) for i in cand]
    minima[0] = d
    if n_boot > 0:
        d_err = max(d_err, _bootstrap_gap(data, f, d, damping, n_boot, v_rf_rel_err, seed))
    return GapFit(d, d_err, k, k_err, c0 / dof / (1.0 if sigma is None else s2), grid, prof, minima)


def _bootstrap_gap(data, f: float, d: float, damping: float, n_boot: int, rel: float, seed: int) -> float:
    """Standard deviation (eV) of Delta refitted within +-3 % of ``d`` over ``n_boot`` resamplings of the
    sweeps with V_rf scaled by 1 + ``rel`` z (z standard normal); see :func:`fit_gap_global`."""
    rng = np.random.default_rng(seed)
    rows = [(int(n), np.asarray(v, float), np.asarray(a, float)) for n, v, a in data]
    sizes = {v.size for _, v, _ in rows}
    common = len(sizes) == 1
    m0 = sizes.pop() if common else 0
    draws = []
    for _ in range(int(n_boot)):
        scale = 1.0 + rel * float(rng.normal())
        idx = rng.integers(0, m0, m0) if common else None
        sample = []
        for n, v, a in rows:
            j = idx if common else rng.integers(0, v.size, v.size)
            sample.append((n, v[j] * scale, a[j]))
        g = fit_gap_global(sample, f, delta_range=(0.97 * d, 1.03 * d), damping=damping, n_grid=61)
        draws.append(g.delta)
    return float(np.std(draws, ddof=1)) if len(draws) > 1 else math.nan


__all__ = [
    "AttenuatorCalibration",
    "GapFit",
    "RiedelPoints",
    "StepAmplitudes",
    "StepOverlay",
    "WerthamerTable",
    "amplitudes_vs_drive",
    "fit_gap_global",
    "joint_attenuator_calibration",
    "photon_assisted_iv",
    "riedel_from_steps",
    "step_amplitudes",
    "step_overlay",
]
