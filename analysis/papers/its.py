"""Intrinsic tunnelling spectroscopy and self-heating ([ITS], paper 003): heating spectra from a measured
R(T), hA by superposition, the 3-point contact term, R(P) and the critical load with the field collapse,
and the branch resistances and excess current I* of the I-V brush.

Units: K, Ohm, V, A, W (or W/m^2 for loads per area), hA in W/K, fields in T.

Heating spectra need dR/dT of a measured, noisy R(T). Interpolating the samples (or a fixed smoothing)
turns the noise into dR/dT spikes and each spike into a conductance peak (0.1 % noise gives about a
hundred). Here ln R(ln T) is a cubic smoothing spline per segment between kinks, with its smoothness set
by the noise: the smoothest spline whose chi-square is within two standard deviations of n, with the
noise of ln R measured from the data's fourth differences in a wide moving window unless given.
The spectrum then has only the peaks of the underlying curve.

hA by superposition ([ITS] Fig. 1B): the points (T_B + IV/hA, V/I) of an I-V at bath temperature T_B must
lie on R(T). The cost (median absolute mismatch over the points that fall inside the measured R(T), with a
penalty for points outside) is scanned over hA on a logarithmic grid from 1e-9 to 1 W/K, and the best grid
point is refined by bounded least squares; the error comes from the Jacobian. No starting value enters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import interpolate, optimize, signal

from analysis.models import heating as ht
from analysis.papers._common import AnalysisError, as_pair, line_fit, noise_sigma

# ---------------------------------------------------------------------------------------------------
# Smoothed R(T) and heating spectra
# ---------------------------------------------------------------------------------------------------


def _local_noise(y: np.ndarray, window: int | None = None) -> np.ndarray:
    """Point-wise noise (n,) of ``y`` from its fourth differences: the median in a moving window of
    ``window`` differences (default a quarter of the samples, at least 41), robust against outliers.

    Fourth differences of white noise have variance 70 sigma^2 and are nearly blind to the curvature of a
    smooth curve. Near the ends the window is shifted inwards (never padded with copies of the end value:
    one end sample would then set the noise there and the spline would chase it). The window is wide
    because the noise level is a slowly varying property of the measurement and the spline's smoothness
    depends on its scale: a 20 % local error turns into the wrong smoothness everywhere."""
    n = y.size
    d4 = np.abs(np.diff(y, 4)) / math.sqrt(70.0)
    m = d4.size
    w = max(41, n // 4) if window is None else int(window)
    half = max(min(w, m) // 2, 1)
    if m <= 2 * half + 1:
        return np.full(n, max(1.4826 * float(np.median(d4)), 1e-15))
    win = np.lib.stride_tricks.sliding_window_view(d4, 2 * half + 1)  # (m - 2 half, 2 half + 1)
    med = 1.4826 * np.median(win, axis=1)
    centre = np.clip(np.arange(n) - 2 - half, 0, med.size - 1)  # d4[j] is centred on sample j + 2
    sig = med[centre]
    floor = max(float(np.median(sig)) * 1e-3, 1e-15)
    return np.maximum(sig, floor)


@dataclass
class SmoothResistance:
    """R(T) smoothed by noise-matched splines: ``curve`` (a :class:`ResistanceCurve` with the kinks),
    ``sigma`` the mean noise used (Ohm), ``residual_rms`` (Ohm), ``t_range`` (K)."""

    curve: ht.ResistanceCurve
    sigma: float
    residual_rms: float
    t_range: tuple[float, float]
    #: per segment (lower edge K, ln T samples (n,), weights 1/sigma^2 (n,), smoothing parameter)
    segments: list[tuple[float, np.ndarray, np.ndarray, float]] = field(default_factory=list)

    def functional_variance(self, Tq, c) -> float:
        """Variance (Ohm^2 c^2) of Sum_i c_i R_s(Tq_i) from the noise of the R(T) samples.

        The smoothing spline is linear in the data, ln R_s(x) = Sum_k S(x, k) ln R_k, so the functional's
        gradient with respect to ln R_k is a_k = Sum_i c_i R_s(Tq_i) S(ln Tq_i, k) and its variance
        Sum_k a_k^2 sigma_k^2 (the errors of R_s at different temperatures are strongly correlated: they
        share the samples; treating them as independent would shrink the error by orders of magnitude).
        ``Tq`` (m,) K, ``c`` (m,)."""
        tq = np.asarray(Tq, dtype=float)
        cc = np.asarray(c, dtype=float) * self.curve(tq)
        var = 0.0
        for i, (lo, x, w, lam) in enumerate(self.segments):
            upper = self.segments[i + 1][0] if i + 1 < len(self.segments) else math.inf
            m = (tq < upper) if i == 0 else (tq >= lo) & (tq < upper)
            if not np.any(m):
                continue
            basis = interpolate.make_smoothing_spline(x, np.eye(x.size), w=w, lam=lam)
            a = cc[m] @ basis(np.log(tq[m]))  # (n,)
            var += float(np.sum(a * a / w))
        return var


def _noise_matched_spline(x: np.ndarray, y: np.ndarray, sig: np.ndarray):
    """The smoothest cubic smoothing spline of y(x) (penalty on the second derivative) whose chi-square
    Sum ((y_i - s(x_i))/sig_i)^2 is n + 2 sqrt(2n): the upper edge of what the noise allows (chi-square of
    n points at two standard deviations). The plain discrepancy principle (chi-square = n) hinges on the
    noise scale being right to a few percent; one slightly low estimate then lets the spline follow the
    noise, and the derivative, which the heating spectrum needs, turns the noise into peaks."""
    n = x.size
    w = 1.0 / sig**2
    target = n + 2.0 * math.sqrt(2.0 * n)

    def excess(log_lam: float) -> float:
        spl = interpolate.make_smoothing_spline(x, y, w=w, lam=math.exp(log_lam))
        return float(np.sum(w * (spl(x) - y) ** 2)) - target

    lo, hi = -40.0, 40.0
    if excess(lo) >= 0:
        log_lam = lo
    elif excess(hi) <= 0:
        log_lam = hi
    else:
        log_lam = optimize.brentq(excess, lo, hi, xtol=1e-3)
    lam = math.exp(log_lam)
    return interpolate.make_smoothing_spline(x, y, w=w, lam=lam), lam


def smooth_resistance(T, R, *, kinks: Sequence[float] = (), sigma: float | None = None) -> SmoothResistance:
    """Noise-matched cubic smoothing splines of ln R against ln T between ``kinks`` (K).

    ``T`` (n,) K (positive), ``R`` (n,) Ohm (any order). The spline runs in (ln T, ln R), where a
    semiconducting or metallic R(T) has nearly uniform curvature from a few K to room temperature, so one
    smoothness fits the whole segment (in (T, R) the steep low-T end forces a small smoothness that leaves
    the flat high-T part noisy). ``sigma`` (Ohm) defaults to the noise of ln R estimated from its fourth
    differences (:func:`_local_noise`); the smoothness is the largest one the noise allows
    (:func:`_noise_matched_spline`). dR/dT = R d(ln R)/d(ln T) / T.
    """
    t, r = as_pair(T, R, "T and R", 8)
    order = np.argsort(t)
    t, r = t[order], r[order]
    keep = np.concatenate(([True], np.diff(t) > 0))
    t, r = t[keep], r[keep]
    if np.any(r <= 0):
        raise AnalysisError("R(T) must be positive")
    if t[0] <= 0:
        raise AnalysisError("R(T) needs positive temperatures (K)")
    edges = [t[0], *[float(k) for k in sorted(kinks) if t[0] < k < t[-1]], t[-1]]
    pieces = []
    segments = []
    sig_all = []
    res2 = 0.0
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        m = (t >= lo) & ((t < hi) if i < len(edges) - 2 else (t <= hi))
        ts, rs = t[m], r[m]
        if ts.size < 6:
            raise AnalysisError(f"R(T) segment [{lo:g}, {hi:g}] K needs at least 6 samples")
        x, y = np.log(ts), np.log(rs)
        sig = _local_noise(y) if sigma is None else float(sigma) / rs
        spl, lam = _noise_matched_spline(x, y, sig)
        segments.append((lo, x, 1.0 / sig**2, lam))
        fit = np.exp(spl(x))
        sig_all.append(float(np.mean(sig * rs)))
        res2 += float(np.sum((fit - rs) ** 2))
        pieces.append((lo, spl, spl.derivative()))

    def seg(Tq, deriv: bool):
        Tq = np.asarray(Tq, dtype=float)
        out = np.empty_like(Tq)
        for i, (lo, spl, dspl) in enumerate(pieces):
            upper = pieces[i + 1][0] if i + 1 < len(pieces) else math.inf
            m = (Tq < upper) if i == 0 else (Tq >= lo) & (Tq < upper)
            with np.errstate(divide="ignore", invalid="ignore"):
                lt = np.log(Tq[m])
                rr = np.exp(spl(lt))
                out[m] = rr * dspl(lt) / Tq[m] if deriv else rr
        return out

    curve = ht.ResistanceCurve(lambda x: seg(x, False), lambda x: seg(x, True), edges[1:-1], (t[0], t[-1]))
    return SmoothResistance(
        curve, float(np.mean(sig_all)), math.sqrt(res2 / t.size), (float(t[0]), float(t[-1])), segments
    )


@dataclass
class ITSHeatingSpectrum:
    """Heating spectrum from a measured R(T): the model spectrum ``spectrum``, the conductance peaks
    ``peak_V`` (V, along the upward sweep) and the smoothed R(T) used (``resistance``)."""

    spectrum: ht.HeatingSpectrum
    peak_V: np.ndarray
    resistance: SmoothResistance


#: Samples at the top of R(T) within which a conductance maximum is taken as the spline's end effect.
_END_SAMPLES = 20


def its_heating_spectrum(
    T,
    R,
    t_bath: float,
    h_a: float,
    *,
    kinks: Sequence[float] = (),
    sigma: float | None = None,
    n: int = 3000,
    contact: tuple[float, float] | None = None,
    min_prominence: float = 0.02,
) -> ITSHeatingSpectrum:
    """Heating spectrum dI/dV(V) of a sample with the measured R(T) (``T``, ``R``), bath ``t_bath`` K and
    heat conductance ``h_a`` W/K, on a T grid from T_B to the top of the data. ``contact`` = (dRc(0) Ohm,
    Tc K) adds the 3-point contact term (PHYSICS 9.3), evaluated piecewise at its kink. Peaks are the maxima
    of G along the upward sweep with a prominence of at least ``min_prominence`` of the range of G (the
    spline leaves wiggles at the noise level, far below that); maxima within the top ``_END_SAMPLES``
    samples of R(T), where the spline is held from one side only, are not counted."""
    sm = smooth_resistance(T, R, kinks=kinks, sigma=sigma)
    curve = sm.curve if contact is None else sm.curve.with_contact_term(*contact)
    if not sm.t_range[0] <= t_bath < sm.t_range[1]:
        raise AnalysisError(f"the bath temperature {t_bath} K lies outside the measured R(T)")
    u = np.linspace(0.0, 1.0, int(n))
    grid = t_bath + (sm.t_range[1] - t_bath) * u * u
    grid = np.unique(grid)
    spec = ht.heating_spectrum(curve, t_bath, h_a, T=grid)
    keep = spec.V >= np.maximum.accumulate(spec.V)
    keep &= np.concatenate(([True], np.diff(spec.V) > 0))  # the swept branch, as spec.swept()
    v, tt, g = spec.V[keep], spec.T[keep], spec.G[keep]
    ok = np.isfinite(g)
    v, tt, g = v[ok], tt[ok], g[ok]
    peaks = np.zeros(0)
    if g.size >= 3:
        idx, _ = signal.find_peaks(g, prominence=min_prominence * float(np.ptp(g)))
        # the spline is held on one side only over the last samples of R(T): its end wiggle is no peak
        t_sorted = np.sort(np.asarray(T, dtype=float)[np.isfinite(np.asarray(T, dtype=float))])
        t_edge = t_sorted[-min(_END_SAMPLES, t_sorted.size)]
        peaks = v[idx[tt[idx] < t_edge]]
    return ITSHeatingSpectrum(spec, peaks, sm)


# ---------------------------------------------------------------------------------------------------
# hA by superposition
# ---------------------------------------------------------------------------------------------------


@dataclass
class HeatConductanceFit:
    """hA (W/K) and its error from superposing an I-V on R(T); ``alpha`` = 1/hA (K/W); ``used`` the number
    of points used at the optimum; ``rms`` the residual (Ohm for the superposition, relative for a
    spectrum); ``scan_h_a``/``scan_cost`` the logarithmic scan."""

    h_a: float
    h_a_err: float
    alpha: float
    used: int
    rms: float
    scan_h_a: np.ndarray
    scan_cost: np.ndarray


def fit_h_a(
    V,
    I,
    t_bath: float,
    T,
    R,
    *,
    kinks: Sequence[float] = (),
    h_a_range: tuple[float, float] = (1e-9, 1.0),
    n_scan: int = 241,
    p_min_fraction: float = 0.0,
) -> HeatConductanceFit:
    """hA from the superposition of an I-V (``V``, ``I``) at bath ``t_bath`` on the measured R(T) (module
    docstring). Points with P below ``p_min_fraction`` of the largest load carry no information on hA
    (they sit at T_B for any hA) and may be dropped."""
    v, i = as_pair(V, I, "V and I", 5)
    ok = (i != 0) & (v * i > 0)
    v, i = v[ok], i[ok]
    p = v * i
    keep = p > p_min_fraction * p.max()
    p, rr = p[keep], (v / i)[keep]
    sm = smooth_resistance(T, R, kinks=kinks)
    t_lo, t_hi = sm.t_range
    scale = float(np.median(np.abs(rr)))

    def resid(h: float) -> np.ndarray:
        tt = t_bath + p / h
        inside = (tt >= t_lo) & (tt <= t_hi)
        out = np.full(p.size, 1.0)  # a point outside R(T) costs as much as a 100 % mismatch
        out[inside] = (sm.curve(tt[inside]) - rr[inside]) / scale
        return out

    hs = np.geomspace(h_a_range[0], h_a_range[1], int(n_scan))
    costs = np.array([float(np.median(np.abs(resid(h)))) for h in hs])
    k = int(np.argmin(costs))
    lo_b, hi_b = hs[max(k - 1, 0)], hs[min(k + 1, hs.size - 1)]
    sol = optimize.least_squares(
        lambda x: resid(math.exp(x[0])), [math.log(hs[k])], bounds=([math.log(lo_b)], [math.log(hi_b)])
    )
    h = math.exp(sol.x[0])
    r = sol.fun
    inside = np.abs(r) < 1.0
    dof = max(int(np.count_nonzero(inside)) - 1, 1)
    s2 = float(np.sum(r[inside] ** 2)) / dof
    jac = sol.jac[inside, 0] if sol.jac.ndim == 2 else sol.jac[inside]
    jj = float(jac @ jac)
    # two sources: the scatter of the I-V points (residual-scaled) and the error of the smoothed R(T)
    # they are compared with, which is common to all points (a Gauss-Newton step d ln h = -J.dr/J.J
    # with dr_i = dR_s(T_i)/scale, its variance from the spline's linear dependence on the samples)
    var_iv = s2 / jj if jj > 0 else math.nan
    t_in = (t_bath + p / h)[inside]
    var_rt = sm.functional_variance(t_in, jac / scale) / jj**2 if jj > 0 else math.nan
    err = h * math.sqrt(var_iv + var_rt)
    return HeatConductanceFit(
        h, err, 1.0 / h, int(np.count_nonzero(inside)), math.sqrt(s2) * scale, hs, costs
    )


def fit_h_a_spectrum(
    V,
    G,
    t_bath: float,
    T,
    R,
    *,
    kinks: Sequence[float] = (),
    h_a_range: tuple[float, float] = (1e-9, 1.0),
    n_scan: int = 161,
) -> HeatConductanceFit:
    """hA from a measured dI/dV(V) (``V`` V, ``G`` S) and R(T): the heating spectrum of the smoothed R(T)
    is compared with G on a logarithmic hA scan (relative mismatch clipped at 100 %; points the model does
    not reach count as a 100 % mismatch), then the best grid point is refined by bounded least squares.
    No start value enters, so a local minimum or a NaN region (where the model's V range ends) cannot trap
    it."""
    v, g = as_pair(V, G, "V and dI/dV", 5)
    sm = smooth_resistance(T, R, kinks=kinks)
    model = ht.HeatingSpectrumModel(resistance=sm.curve)
    scale = np.maximum(np.abs(g), 1e-3 * float(np.max(np.abs(g))))

    def resid(h: float) -> np.ndarray:
        # relative mismatch, clipped at 100 %: a point the model does not reach costs the same as a miss
        with np.errstate(all="ignore"):
            m = model.evaluate(v, h_a=h, T_B=t_bath)
        r = np.clip((m - g) / scale, -1.0, 1.0)
        return np.where(np.isfinite(r), r, 1.0)

    hs = np.geomspace(h_a_range[0], h_a_range[1], int(n_scan))
    costs = np.array([float(np.sum(resid(h) ** 2)) for h in hs])
    k = int(np.argmin(costs))
    lo_b, hi_b = hs[max(k - 1, 0)], hs[min(k + 1, hs.size - 1)]
    sol = optimize.least_squares(
        lambda x: resid(math.exp(x[0])), [math.log(hs[k])], bounds=([math.log(lo_b)], [math.log(hi_b)])
    )
    h = math.exp(sol.x[0])
    r = sol.fun
    dof = max(r.size - 1, 1)
    s2 = float(r @ r) / dof
    jac = sol.jac[:, 0]
    jj = float(jac @ jac)
    err = h * math.sqrt(s2 / jj) if jj > 0 else math.nan
    return HeatConductanceFit(h, err, 1.0 / h, int(r.size), math.sqrt(s2), hs, costs)


# ---------------------------------------------------------------------------------------------------
# R(P), critical load, field collapse
# ---------------------------------------------------------------------------------------------------


@dataclass
class CriticalLoadResult:
    """P_c (W or W/m^2) with ``p_c_err`` (half the gap to the previous load sample), ``r0`` (Ohm), the
    curve ``P``, ``R``."""

    p_c: float
    p_c_err: float
    r0: float
    eps: float
    P: np.ndarray
    R: np.ndarray


def critical_load(V, I, *, area: float | None = None, eps: float = 0.02) -> CriticalLoadResult:
    """R = V/I against P = IV (or IV/A) and P_c = min{P : |R/R0 - 1| > eps} (PHYSICS 9.4).

    The error combines half the gap to the previous load sample with the noise of R/R0 (from its
    differences) carried through the local slope of R/R0 against P: where R(P) bends slowly, a noise of
    sigma moves the crossing by sigma / |d(R/R0)/dP|."""
    v, i = as_pair(V, I, "V and I", 5)
    p, r = ht.resistance_vs_load(v, i, area)
    cl = ht.critical_load(p, r, eps=eps)
    err = math.nan
    if math.isfinite(cl.p_c):
        j = int(np.searchsorted(p, cl.p_c))
        err = 0.5 * (p[j] - p[j - 1]) if j > 0 else 0.0
        near = (p >= 0.7 * cl.p_c) & (p <= 1.3 * cl.p_c) & np.isfinite(r)
        if np.count_nonzero(near) >= 5:
            rel = r[near] / cl.r0
            slope = float(np.polyfit(p[near], rel, 1)[0])
            sigma = noise_sigma(rel)
            if slope != 0 and math.isfinite(sigma):
                err = math.hypot(err, sigma / abs(slope))
    return CriticalLoadResult(cl.p_c, err, cl.r0, eps, p, r)


@dataclass
class FieldCollapse:
    """R(P)/R_N(B) curves at several fields on a common load grid: ``P`` (m,), ``normalised`` (k, m),
    ``spread`` the rms scatter between the curves (relative), ``p_c`` (k,) per field with ``p_c_err``."""

    B: np.ndarray
    P: np.ndarray
    normalised: np.ndarray
    spread: float
    p_c: np.ndarray
    p_c_err: np.ndarray
    r_n: np.ndarray


def field_collapse(
    curves: Sequence[tuple[np.ndarray, np.ndarray]],
    B: Sequence[float],
    *,
    r_n: Sequence[float] | None = None,
    area: float | None = None,
    eps: float = 0.02,
    n_grid: int = 200,
) -> FieldCollapse:
    """Normalise R(P) of each (V, I) curve at field B by R_N(B) (given, or its low-load value R0) and
    measure how well they collapse ([ITS]: the curves at different fields fall onto one R(P)/R_N(B))."""
    if len(curves) != len(B) or not curves:
        raise AnalysisError("one field value per curve is needed")
    res = [critical_load(v, i, area=area, eps=eps) for v, i in curves]
    rn = np.array([c.r0 for c in res]) if r_n is None else np.asarray(r_n, dtype=float)
    lo = max(float(c.P[0]) for c in res)
    hi = min(float(c.P[-1]) for c in res)
    if not hi > lo:
        raise AnalysisError("the load ranges of the curves do not overlap")
    grid = np.geomspace(lo, hi, int(n_grid))
    norm = np.array([np.interp(grid, c.P, c.R) / rn[k] for k, c in enumerate(res)])
    spread = float(np.sqrt(np.mean(np.var(norm, axis=0)))) / float(np.mean(norm))
    return FieldCollapse(
        np.asarray(B, dtype=float),
        grid,
        norm,
        spread,
        np.array([c.p_c for c in res]),
        np.array([c.p_c_err for c in res]),
        rn,
    )


# ---------------------------------------------------------------------------------------------------
# The I-V brush
# ---------------------------------------------------------------------------------------------------


@dataclass
class BrushResult:
    """Branches of the I-V brush: ``R`` (k,) differential resistances (Ohm) with ``R_err``, ``I_star`` (k,)
    excess currents (intercepts with the current axis, A) with ``I_star_err``; ``number`` (k,) the branch
    numbers round(R/R_1); ``R1`` the resistance per branch from R = # R_1 with ``R1_err``; ``I_star_mean``
    the weighted mean I* with its error."""

    R: np.ndarray
    R_err: np.ndarray
    I_star: np.ndarray
    I_star_err: np.ndarray
    number: np.ndarray
    R1: float
    R1_err: float
    I_star_mean: float
    I_star_mean_err: float


def brush_branches(branches: Sequence[tuple[np.ndarray, np.ndarray]]) -> BrushResult:
    """Fit V = R (I - I*) to each resistive branch (I (n,), V (n,)) of an I-V brush ([ITS] Fig. 7)."""
    if not branches:
        raise AnalysisError("no branches given")
    R, Re, Is, Ie = [], [], [], []
    for i, v in branches:
        i, v = as_pair(i, v, "branch current and voltage", 3)
        lf = line_fit(i, v)  # V = R I + b, I* = -b/R
        R.append(lf.slope)
        Re.append(lf.slope_err)
        ist = -lf.intercept / lf.slope
        cov_term = lf.intercept_err / abs(lf.slope)
        Is.append(ist)
        Ie.append(math.hypot(cov_term, abs(ist) * lf.slope_err / abs(lf.slope)))
    R, Re, Is, Ie = map(np.asarray, (R, Re, Is, Ie))
    r_min = float(np.min(np.abs(R)))
    num = np.maximum(np.rint(np.abs(R) / r_min), 1).astype(int)
    w = 1.0 / np.maximum(Re, 1e-300) ** 2
    # R_k = k R_1: weighted least squares through the origin
    r1 = float(np.sum(w * num * R) / np.sum(w * num * num))
    r1_err = float(1.0 / math.sqrt(np.sum(w * num * num)))
    wi = 1.0 / np.maximum(Ie, 1e-300) ** 2
    im = float(np.sum(wi * Is) / np.sum(wi))
    im_err = float(1.0 / math.sqrt(np.sum(wi)))
    return BrushResult(R, Re, Is, Ie, num, r1, r1_err, im, im_err)


__all__ = [
    "BrushResult",
    "CriticalLoadResult",
    "FieldCollapse",
    "HeatConductanceFit",
    "ITSHeatingSpectrum",
    "SmoothResistance",
    "brush_branches",
    "critical_load",
    "field_collapse",
    "fit_h_a",
    "fit_h_a_spectrum",
    "its_heating_spectrum",
    "smooth_resistance",
]
