"""Necks and point contacts ([NECK], paper 001): gap from the subharmonic ladder, heating, excess current,
phase-slip steps, contact size, charge-imbalance length and the superconducting length in field.

Units: bias in V, gaps in eV, currents in A, resistances in Ohm, fields in T (mu_0 H), lengths in m, K.

Subharmonic gap structure: e V_n = 2 Delta/n (n = 1, 2, ...). The n-assignment here cannot alias: every
candidate gap in a physical range ``delta_range`` is scored by the whole ladder it implies,

    score = (peaks explained) - (peaks below the ladder top left unexplained) - (rungs 2..n_top missing)

where the ladder top is the n = 1 feature (or 2 Delta (1 + tol) without one) and n_top the highest rung
assigned. A gap k times too large explains the same peaks with n -> k n but leaves rungs between them
empty; a gap k times too small leaves the odd rungs unexplained; both lose. The n = 1 feature may sit
below 2 Delta (self-heating, [NECK]: V_1 < 2 V_2) and is scored as the ladder top; features above it
(phase-slip peaks, 2 Delta < V < 6 Delta in [NECK] Fig. 2) are never taken for SGS. When a distinct
candidate (more than 2 tol away) scores within less than ``ambiguity_margin`` of the best, the result
says so and lists it.

Features are found on a background-subtracted curve (:func:`find_features`: a smooth background stripped
of peaks, so a rung on the steep Andreev flank counts by its height above the local slope), each with a
position error from its width, height and the noise. Delta is the weighted mean of the rungs' estimates
n V_n/2 over every assigned rung n >= 2 (n = 1 too when not heated); its error is the weighted-mean error
inflated by the rungs' disagreement and at least the standard error of their spread. A ladder with fewer
than two rungs n >= 2 well above the noise is reported ambiguous. Without a lock-in channel the dV/dI
comes from V(I) by :func:`dvdi_of_iv`, a Savitzky-Golay derivative whose window follows the noise.

Heating: V_1 < (1 - ``heating_tol``) 2 Delta; the local temperature solves Delta(T_loc) = e V_1/2 with
the BCS Delta(T) (PHYSICS section 11), its error propagated from Delta and V_1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from analysis.constants import K_B_EV
from analysis.models import point_contact as pc
from analysis.models.bcs import BCS_RATIO
from analysis.papers._common import AnalysisError, as_pair, line_fit, noise_sigma

# ---------------------------------------------------------------------------------------------------
# Subharmonic ladder
# ---------------------------------------------------------------------------------------------------


@dataclass
class LadderCandidate:
    """One candidate gap (eV) with its ladder score and assignment (n per peak, 0 = unexplained)."""

    delta: float
    score: float
    n: np.ndarray
    residual: float


@dataclass
class NeckGap:
    """Gap of a neck or point contact from its subharmonic ladder.

    ``peaks`` (V, ascending) all features found; ``n`` their rungs (0 = not SGS); ``above_ladder`` the
    features above the n = 1 rung (phase-slip candidates, never SGS); ``delta`` and ``delta_err`` (eV);
    ``heated`` with ``V1``, ``V2`` (V), ``delta_local`` = e V_1/2 (eV), ``T_local`` and ``T_local_err``
    (K); ``ambiguous`` with ``alternatives`` (other candidate gaps within the margin, eV);
    ``delta_range`` the physical range searched (eV).
    """

    peaks: np.ndarray
    n: np.ndarray
    delta: float
    delta_err: float
    above_ladder: np.ndarray
    heated: bool
    V1: float | None
    V2: float | None
    delta_local: float | None
    T_local: float | None
    T_local_err: float | None
    ambiguous: bool
    alternatives: list[float] = field(default_factory=list)
    delta_range: tuple[float, float] = (0.0, 0.0)
    score: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def positions(self, n_max: int = 6) -> np.ndarray:
        """Ladder positions 2 Delta/n (V) for n = 1..n_max, for overlays."""
        return pc.sgs_positions(self.delta, n_max)


def default_delta_range(Tc: float | None = None) -> tuple[float, float]:
    """A physical gap range (eV): 0.6-1.5 x the weak-coupling 1.764 kB Tc, or 0.1-5 meV without Tc."""
    if Tc is None:
        return (1e-4, 5e-3)
    d0 = BCS_RATIO * K_B_EV * float(Tc)
    return (0.6 * d0, 1.5 * d0)


def _score(peaks: np.ndarray, d: float, n_max: int, tol: float, v_lo: float, v_hi: float, heat_lo: float):
    """Score of one candidate gap ``d`` (see the module docstring)."""
    top = 2.0 * d
    with np.errstate(divide="ignore"):
        n = np.rint(top / peaks).astype(int)
    rel = np.abs(peaks * np.maximum(n, 1) / top - 1.0)
    ok = (n >= 2) & (n <= n_max) & (rel <= tol)
    n = np.where(ok, n, 0)
    for k in set(n[n > 0].tolist()):  # one peak per rung: the closest keeps it
        same = np.nonzero(n == k)[0]
        if same.size > 1:
            keep = same[np.argmin(rel[same])]
            n[same[same != keep]] = 0
    # the ladder top: the first free feature above the n = 2 rung, up to 2 Delta (1 + tol): heating only
    # lowers V_1, and what lies between a heated V_1 and 2 Delta belongs to the resistive neck
    v2 = top / 2.0
    free = np.nonzero(
        (n == 0) & (peaks > v2 * (1.0 + tol)) & (peaks <= top * (1.0 + tol)) & (peaks >= heat_lo * top)
    )
    free = free[0]
    if free.size:
        n[free[np.argmin(peaks[free])]] = 1
    assigned = n > 0
    if not np.any(assigned):
        return -math.inf, n, math.inf
    ladder_top = peaks[n == 1][0] if np.any(n == 1) else top * (1.0 + tol)
    unexplained = np.count_nonzero((n == 0) & (peaks < ladder_top) & (peaks >= v_lo))
    n_top = int(n.max())
    present = set(n[assigned].tolist())
    missing = 0
    for k in range(2, n_top + 1):
        pos = top / k
        if k not in present and v_lo <= pos <= v_hi:
            missing += 1
    sgs = assigned & (n >= 2)
    resid = float(np.sqrt(np.mean(rel[sgs] ** 2))) if np.any(sgs) else 1.0
    score = float(np.count_nonzero(assigned)) - unexplained - missing
    return score, n, resid


def assign_ladder(
    peaks,
    *,
    delta_range: tuple[float, float] | None = None,
    Tc: float | None = None,
    n_max: int = 8,
    tol: float = 0.06,
    v_range: tuple[float, float] | None = None,
    heated_min: float = 0.5,
) -> list[LadderCandidate]:
    """Score every candidate gap for the feature positions ``peaks`` (V > 0); best first.

    Candidates are the gaps n V_i/2 of every peak and rung inside ``delta_range`` (eV; default from ``Tc``
    or 0.1-5 meV) plus a 0.25 % grid over the range. ``v_range`` (V) is the bias window searched for
    features (a rung outside it is not counted as missing); ``heated_min`` the lowest V_1/(2 Delta) taken
    for a heated n = 1 feature.
    """
    peaks = np.sort(np.asarray(peaks, dtype=float).ravel())
    if peaks.size == 0:
        raise AnalysisError("no subharmonic gap features to assign")
    if np.any(peaks <= 0):
        raise AnalysisError("feature positions must be positive biases (use |V|)")
    lo, hi = delta_range if delta_range is not None else default_delta_range(Tc)
    if not (0 < lo < hi):
        raise AnalysisError(f"invalid gap range {lo!r}..{hi!r} eV")
    v_lo, v_hi = v_range if v_range is not None else (0.8 * float(peaks[0]), math.inf)
    cands = [k * v / 2.0 for v in peaks for k in range(1, n_max + 1)]
    grid = np.geomspace(lo, hi, int(math.log(hi / lo) / math.log(1.0025)) + 2)
    cands = np.unique(np.concatenate([np.array(cands), grid]))
    cands = cands[(cands >= lo) & (cands <= hi)]
    out = []
    for d in cands:
        s, n, r = _score(peaks, float(d), n_max, tol, v_lo, v_hi, heated_min)
        if math.isfinite(s):
            out.append(LadderCandidate(float(d), s, n, r))
    if not out:
        raise AnalysisError("no gap in the physical range explains any feature as subharmonic structure")
    out.sort(key=lambda c: (-c.score, c.residual))
    return out


@dataclass
class Features:
    """Features of a dV/dI (or dI/dV) curve at positive bias: ``V`` (k,) positions (V), ``err`` (k,) their
    standard errors (V), ``height`` (k,) above the local background (Ohm or S), ``snr`` (k,) height over
    the curve's noise; ``noise`` the per-point noise (Ohm or S), ``step`` the bias step (V)."""

    V: np.ndarray
    err: np.ndarray
    height: np.ndarray
    snr: np.ndarray
    noise: float
    step: float


def _odd(n: float, lo: int = 5) -> int:
    k = max(int(round(n)), lo)
    return k if k % 2 else k + 1


def _strip_baseline(y: np.ndarray, width: int, sigma: float, iterations: int = 12) -> np.ndarray:
    """Smooth background of ``y`` (peaks up): a quadratic Savitzky-Golay smoothing over ``width`` points,
    repeated with the points more than 2.5 ``sigma`` (the noise) above it replaced by it, so peaks narrower
    than the window are stripped off while the local slope and curvature of the background stay (points
    within the noise are kept, so the background does not sink where it is not quadratic)."""
    from scipy.ndimage import median_filter
    from scipy.signal import savgol_filter

    w = min(_odd(width), y.size if y.size % 2 else y.size - 1)
    if w < 5:
        return np.full_like(y, float(np.median(y)))
    # a running median over half the window first removes the narrow tall peaks, which the smoothing
    # alone would spread into the background's wings
    med = median_filter(y, size=_odd(w // 2, 3), mode="nearest")
    b = np.where(y - med > 2.5 * sigma, med, y)
    sm = b
    for _ in range(iterations):
        sm = savgol_filter(b, w, 2, mode="interp")
        b = np.where(y - sm > 2.5 * sigma, sm, y)
    return sm


def find_features(
    V,
    y,
    *,
    quantity: str = "dVdI",
    v_min: float = 0.0,
    noise: float | None = None,
    correlation: int = 1,
    baseline_width: float = 0.4e-3,
    min_snr: float = 5.0,
    symmetrise: bool = True,
) -> Features:
    """Peaks of dV/dI (dips of dI/dV) above ``v_min`` on a background-subtracted, bias-symmetrised curve.

    ``V`` (nb,) V and ``y`` (nb,). The background is the stripped lower envelope over ``baseline_width``
    (V, a few feature widths), so a feature on the steep Andreev flank counts by its height above the local
    slope, not by its prominence against the global shape. ``noise`` is the per-point noise of ``y`` (by
    default from its second difference) and ``correlation`` the number of points over which it is
    correlated (the window of a smoothing derivative); a feature needs ``min_snr`` noise sigmas. Each
    position is the vertex of a parabola fitted to the top half of the feature above the background, its
    error from the fit with the noise (inflated by the correlation), at least the bias step/sqrt(12).
    A feature whose top half is wider than half the background window is a step or bend of the
    background, not a peak, and a feature below 3 % of a neighbour within the window is the trace the
    window leaves beside that neighbour; both are skipped.
    """
    from scipy import signal

    V, y = as_pair(V, y, "bias and dV/dI", 5)
    if quantity not in ("dVdI", "dIdV"):
        raise AnalysisError("quantity must be 'dVdI' or 'dIdV'")
    order = np.argsort(V)
    V, y = V[order], y[order]
    pos = V > 0
    vp, yp = V[pos], y[pos]
    mirrored = False
    if symmetrise and V[0] < 0:
        mirror = np.interp(-vp, V, y, left=np.nan, right=np.nan)
        mirrored = bool(np.all(np.isfinite(mirror[vp >= v_min])))
        yp = np.where(np.isfinite(mirror), 0.5 * (yp + mirror), yp)
    keep = vp >= v_min
    vp, yp = vp[keep], yp[keep]
    empty = np.empty(0)
    if vp.size < 7:
        return Features(empty, empty, empty, empty, math.nan, math.nan)
    r = yp if quantity == "dVdI" else -yp
    if noise is None:
        sigma = max(noise_sigma(r), 1e-300)
        corr = 1
    else:
        sigma = float(noise) / (math.sqrt(2.0) if mirrored else 1.0)
        corr = max(int(correlation), 1)
    # a uniform bias grid at the finest spacing (a current-biased sweep is dense in V where dV/dI is
    # small), so the windows below span the same bias everywhere
    dv = np.diff(vp)
    step = float(np.percentile(dv[dv > 0], 10)) if np.any(dv > 0) else 0.0
    if not step > 0:
        empty = np.empty(0)
        return Features(empty, empty, empty, empty, math.nan, math.nan)
    grid = vp[0] + step * np.arange(int((vp[-1] - vp[0]) / step) + 1)
    r = np.interp(grid, vp, r)
    vp = grid
    base = _strip_baseline(r, int(round(baseline_width / max(step, 1e-300))), sigma)
    res = r - base
    # detection on a lightly smoothed residual (a fifth of the background window); its noise follows
    # from the smoothing kernels (a smoothed derivative's own kernel included)
    from scipy.signal import savgol_coeffs, savgol_filter

    wd = min(_odd(0.2 * baseline_width / max(step, 1e-300)), res.size - (1 - res.size % 2))
    k_s = savgol_coeffs(wd, 2) if wd > 3 else np.ones(1)
    if corr > 1:
        k_d = savgol_coeffs(_odd(corr), 2, deriv=1)
        gain = float(np.linalg.norm(np.convolve(k_s, k_d)) / np.linalg.norm(k_d))
    else:
        gain = float(np.linalg.norm(k_s))
    det = savgol_filter(res, wd, 2, mode="interp") if wd > 3 else res
    s_det = sigma * gain
    idx, _ = signal.find_peaks(det, prominence=min_snr * s_det, height=min_snr * s_det)
    pv, pe, ph = [], [], []
    for i in idx:
        top = float(det[i])
        lo = i
        while lo > 0 and det[lo - 1] > 0.5 * top:
            lo -= 1
        hi = i
        while hi < det.size - 1 and det[hi + 1] > 0.5 * top:
            hi += 1
        if vp[hi] - vp[lo] > 0.5 * baseline_width:
            continue  # as wide as the background window: a step or a bend of the background, not a peak
        if hi - lo < 4:
            lo, hi = max(i - 2, 0), min(i + 2, det.size - 1)
        x = vp[lo : hi + 1] - vp[i]
        z = res[lo : hi + 1]
        if x.size < 4:
            continue
        A = np.column_stack([x * x, x, np.ones_like(x)])
        coef, *_ = np.linalg.lstsq(A, z, rcond=None)
        a, b = float(coef[0]), float(coef[1])
        if not a < 0:
            continue
        x0 = -b / (2.0 * a)
        if not (x[0] <= x0 <= x[-1]):
            continue
        cov = np.linalg.pinv(A.T @ A) * sigma**2 * corr
        jac = np.array([b / (2.0 * a * a), -1.0 / (2.0 * a), 0.0])
        err = math.sqrt(max(float(jac @ cov @ jac), 0.0))
        height = float(np.polyval(coef, x0))
        if height < min_snr * s_det:
            continue
        pv.append(float(vp[i] + x0))
        pe.append(max(err, step / math.sqrt(12.0)))
        ph.append(height)
    pv_a, pe_a, ph_a = np.array(pv), np.array(pe), np.array(ph)
    # the background window leaves a trace (a few percent) beside a tall feature: a feature below 3 % of
    # a neighbour within the window is that trace
    if pv_a.size > 1:
        near = np.abs(pv_a[:, None] - pv_a[None, :]) < baseline_width
        shadow = np.any(near & (ph_a[None, :] * 0.03 > ph_a[:, None]), axis=1)
        pv_a, pe_a, ph_a = pv_a[~shadow], pe_a[~shadow], ph_a[~shadow]
    return Features(pv_a, pe_a, ph_a, ph_a / s_det, float(s_det), step)


@dataclass
class DerivedDVDI:
    """dV/dI of a current-biased V(I) sweep: ``V`` (n,) smoothed voltage (V), ``R`` (n,) dV/dI (Ohm),
    ``noise`` its per-point noise (Ohm), ``window`` the Savitzky-Golay window (points, correlated over it),
    ``V_noise`` the voltage noise (V)."""

    V: np.ndarray
    R: np.ndarray
    noise: float
    window: int
    V_noise: float


def dvdi_of_iv(I, V, *, rel_noise: float = 0.005, max_span: float = 100e-6) -> DerivedDVDI:
    """dV/dI from a measured V(I) with a quadratic Savitzky-Golay derivative whose window comes from the
    noise: the smallest window whose derivative noise sigma_V/dI sqrt(12/(N (N^2 - 1))) is below
    ``rel_noise`` times the median dV/dI, but spanning at most ``max_span`` (V) of bias, so the ~100 uV
    wide subharmonic features keep their height. ``I`` (n,) A on a (near) uniform grid, ``V`` (n,) V."""
    from scipy.signal import savgol_filter

    I, V = as_pair(I, V, "current and voltage", 7)
    order = np.argsort(I)
    I, V = I[order], V[order]
    h = float(np.median(np.diff(I)))
    if not h > 0:
        raise AnalysisError("the current does not sweep")
    grid = I[0] + h * np.arange(int(round((I[-1] - I[0]) / h)) + 1)
    if grid.size != I.size or np.max(np.abs(grid - I)) > 0.01 * h:
        V = np.interp(grid, I, V)
        I = grid
    sig_v = max(noise_sigma(V), 1e-300)
    r_med = float(np.median(np.abs(np.diff(V)))) / h
    target = rel_noise * max(r_med, 1e-300)
    n_cap = max(int(max_span / max(r_med * h, 1e-300)), 5)
    n = 5
    while n < n_cap and sig_v / h * math.sqrt(12.0 / (n * (n * n - 1.0))) > target:
        n += 2
    n = min(_odd(n), I.size - (1 - I.size % 2))
    R = savgol_filter(V, n, 2, deriv=1, delta=h, mode="interp")
    Vs = savgol_filter(V, n, 2, mode="interp")
    noise = sig_v / h * math.sqrt(12.0 / (n * (n * n - 1.0)))
    return DerivedDVDI(Vs, R, float(noise), int(n), float(sig_v))


def _fit_delta(peaks: np.ndarray, n: np.ndarray, use: np.ndarray, err: np.ndarray) -> tuple[float, float]:
    """Delta (eV) from the rungs ``use`` and its error: each rung gives Delta_i = n_i V_i/2 with error
    n_i err_i/2; the weighted mean's error is inflated by the rungs' disagreement (sqrt of the reduced
    chi^2) and is at least the standard error of their spread."""
    d_i = peaks[use] * n[use] / 2.0
    s_i = np.maximum(err[use], 1e-300) * n[use] / 2.0
    w = 1.0 / s_i**2
    d = float(np.sum(w * d_i) / np.sum(w))
    e = math.sqrt(1.0 / float(np.sum(w)))
    m = d_i.size
    if m >= 2:
        chi2 = float(np.sum(w * (d_i - d) ** 2)) / (m - 1)
        e = max(e * math.sqrt(max(chi2, 1.0)), float(np.std(d_i, ddof=1)) / math.sqrt(m))
    return d, e


def neck_gap_from_peaks(
    peaks,
    *,
    delta_range: tuple[float, float] | None = None,
    Tc: float = pc.PB_TC,
    n_max: int = 8,
    tol: float = 0.06,
    heating_tol: float = 0.02,
    v_range: tuple[float, float] | None = None,
    position_err=0.0,
    ambiguity_margin: float = 1.0,
    snr=None,
    min_snr: float = 8.0,
) -> NeckGap:
    """:func:`neck_gap` for known feature positions (V > 0). ``position_err`` (V, one value or one per
    peak) is the standard error of a position (at least the bias resolution); ``Tc`` (K) feeds the default
    gap range and Delta(T). With ``snr`` (one per peak, height over noise) the ladder is called ambiguous
    when fewer than two of its rungs n >= 2 stand ``min_snr`` above the noise: a gap resting on weak
    features is never reported as certain."""
    peaks = np.asarray(peaks, dtype=float).ravel()
    order = np.argsort(peaks)
    peaks = peaks[order]
    perr = np.broadcast_to(np.asarray(position_err, dtype=float), order.shape)[order]
    perr = np.maximum(perr, 1e-9 * max(float(np.max(np.abs(peaks))), 1e-300) if peaks.size else 0.0)
    snr_a = None if snr is None else np.asarray(snr, dtype=float).ravel()[order]
    rng = delta_range if delta_range is not None else default_delta_range(Tc)
    cands = assign_ladder(peaks, delta_range=rng, n_max=n_max, tol=tol, v_range=v_range)
    best = cands[0]
    # distinct alternatives (another assignment, more than 2 tol away) scoring within the margin
    alts = []
    far = 2.0 * tol
    for c in cands[1:]:
        if c.score <= best.score - ambiguity_margin:
            break
        if abs(c.delta / best.delta - 1.0) > far and all(abs(c.delta / a - 1.0) > far for a in alts):
            alts.append(c.delta)
    n = best.n.copy()
    v1 = float(peaks[n == 1][0]) if np.any(n == 1) else None
    v2 = float(peaks[n == 2][0]) if np.any(n == 2) else None
    sgs = n >= 2
    warnings: list[str] = []
    if np.any(sgs):
        d, derr = _fit_delta(peaks, n, sgs, perr)
    else:
        d, derr = _fit_delta(peaks, n, n == 1, perr)
        warnings.append("only the n = 1 feature was found: Delta = e V_1/2 may be reduced by heating")
    heated = v1 is not None and np.any(sgs) and v1 < (1.0 - heating_tol) * 2.0 * d
    if v1 is not None and np.any(sgs) and not heated:
        d, derr = _fit_delta(peaks, n, n >= 1, perr)
    t_loc = t_err = d_loc = None
    if heated and v1 is not None:
        d_loc = v1 / 2.0
        t_loc = pc.local_temperature(d_loc, d, Tc)
        # propagate Delta and V_1 errors numerically
        dv1 = max(float(perr[n == 1][0]), 1e-12)
        t_a = pc.local_temperature(d_loc, d + derr, Tc) - t_loc
        t_b = pc.local_temperature(d_loc + dv1 / 2.0, d, Tc) - t_loc
        t_err = math.hypot(t_a, t_b)
    top = v1 if v1 is not None else 2.0 * d * (1.0 + tol)
    above = peaks[(n == 0) & (peaks > top)]
    weak = False
    if snr_a is not None:
        strong = int(np.count_nonzero(sgs & (snr_a >= min_snr)))
        if strong < 2:
            weak = True
            warnings.append(
                f"the ladder rests on weak features ({strong} rung(s) n >= 2 above {min_snr:g} noise "
                "sigmas): the gap is uncertain"
            )
    if alts:
        warnings.append(
            "the ladder is ambiguous: other gaps explain the features almost as well ("
            + ", ".join(f"{a * 1e3:.3g} meV" for a in alts)
            + ")"
        )
    return NeckGap(
        peaks=peaks,
        n=n,
        delta=d,
        delta_err=derr,
        above_ladder=above,
        heated=bool(heated),
        V1=v1,
        V2=v2,
        delta_local=d_loc,
        T_local=t_loc,
        T_local_err=t_err,
        ambiguous=bool(alts) or weak,
        alternatives=alts,
        delta_range=(float(rng[0]), float(rng[1])),
        score=best.score,
        warnings=warnings,
    )


def neck_gap(
    V,
    y,
    *,
    quantity: str = "dVdI",
    delta_range: tuple[float, float] | None = None,
    Tc: float = pc.PB_TC,
    v_min: float = 0.0,
    noise: float | None = None,
    correlation: int = 1,
    baseline_width: float = 0.4e-3,
    min_snr: float = 5.0,
    n_max: int = 8,
    tol: float = 0.06,
    heating_tol: float = 0.02,
    ambiguity_margin: float = 1.0,
) -> NeckGap:
    """Gap, heating and local temperature of a neck from its dV/dI (or dI/dV) against bias.

    ``V`` (nb,) V and ``y`` (nb,) (Ohm or S); features are found by :func:`find_features` on the
    bias-symmetrised, background-subtracted curve above ``v_min`` (keep it above the Josephson region;
    ``noise`` and ``correlation`` describe a smoothed derivative, e.g. from :func:`dvdi_of_iv`), then
    assigned by :func:`assign_ladder` (module docstring). The full bias range may be used: features above
    the ladder are reported in ``above_ladder``, never fitted. Delta's error combines each rung's position
    error (peak width and noise) with the spread of the rungs' estimates; a ladder with fewer than two
    rungs well above the noise is flagged ambiguous.
    """
    V, y = as_pair(V, y, "bias and dV/dI", 5)
    f = find_features(
        V,
        y,
        quantity=quantity,
        v_min=v_min,
        noise=noise,
        correlation=correlation,
        baseline_width=baseline_width,
        min_snr=min_snr,
    )
    if f.V.size == 0:
        raise AnalysisError("no features found in the curve (check the noise or v_min)")
    vmax = float(np.max(np.abs(V)))
    return neck_gap_from_peaks(
        f.V,
        delta_range=delta_range,
        Tc=Tc,
        n_max=n_max,
        tol=tol,
        heating_tol=heating_tol,
        v_range=(max(v_min, 0.8 * float(f.V[0])), vmax),
        position_err=f.err,
        ambiguity_margin=ambiguity_margin,
        snr=f.snr,
    )


@dataclass
class GapVsField:
    """:func:`neck_gap` of each dV/dI curve against field: ``H`` (n,) T, ``delta`` and ``delta_err`` (n,)
    eV (NaN where no ladder was found), ``T_local`` (n,) K (NaN when not heated), ``heated`` (n,) bool,
    ``n_above`` (n,) features above the ladder (phase-slip peaks), ``ambiguous`` (n,) bool, ``results``."""

    H: np.ndarray
    delta: np.ndarray
    delta_err: np.ndarray
    T_local: np.ndarray
    heated: np.ndarray
    n_above: np.ndarray
    ambiguous: np.ndarray
    results: list[NeckGap | None]


def gap_vs_field(curves: Sequence[tuple[np.ndarray, np.ndarray]], H: Sequence[float], **kw) -> GapVsField:
    """:func:`neck_gap` for each (V, dV/dI) curve with its field; a curve without a ladder gives NaN."""
    if len(curves) != len(H):
        raise AnalysisError("one field value per curve is needed")
    res: list[NeckGap | None] = []
    for v, y in curves:
        try:
            res.append(neck_gap(v, y, **kw))
        except AnalysisError:
            res.append(None)

    def col(f, default=math.nan):
        return np.array([f(r) if r is not None else default for r in res], dtype=float)

    return GapVsField(
        np.asarray(H, dtype=float),
        col(lambda r: r.delta),
        col(lambda r: r.delta_err),
        col(lambda r: r.T_local if r.T_local is not None else math.nan),
        col(lambda r: float(r.heated), 0.0).astype(bool),
        col(lambda r: float(r.above_ladder.size), 0.0).astype(int),
        col(lambda r: float(r.ambiguous), 0.0).astype(bool),
        res,
    )


# ---------------------------------------------------------------------------------------------------
# Excess current
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeckExcessCurrent:
    """Excess current from the high-bias lines of both polarities.

    ``I_exc`` (A) the mean of the positive intercept and minus the negative one, with ``I_exc_err``;
    ``I_exc_pos``/``I_exc_neg`` each with its error; ``R_N`` (Ohm) from the mean slope, ``R_N_err``;
    ``asymmetry`` = (I_pos - I_neg)/(I_pos + I_neg); ``ratio`` = e I_exc R_N/Delta (8/3 ballistic,
    pi^2/4 - 1 diffusive) when Delta is given; ``window`` the |V| range (V) fitted.
    """

    I_exc: float
    I_exc_err: float
    I_exc_pos: float
    I_exc_pos_err: float
    I_exc_neg: float
    I_exc_neg_err: float
    R_N: float
    R_N_err: float
    asymmetry: float
    ratio: float | None
    ratio_err: float | None
    window: tuple[float, float]


def neck_excess_current(
    V, I, delta: float | None = None, *, v_fit_min: float | None = None, v_fit_max: float | None = None
) -> NeckExcessCurrent:
    """Lines I = V/R_N +- I_exc fitted separately at V >= v_fit_min and V <= -v_fit_min (up to v_fit_max).

    ``v_fit_min`` defaults to 5 Delta/e (needs ``delta`` in eV); keep ``v_fit_max`` below the onset of
    heating. Both polarities need at least 3 points.
    """
    V, I = as_pair(V, I, "bias and current", 6)
    if v_fit_min is None:
        if delta is None:
            raise AnalysisError("give delta (eV) or v_fit_min (V) for the excess-current window")
        v_fit_min = 5.0 * abs(float(delta))
    vmax = math.inf if v_fit_max is None else float(v_fit_max)
    fits = {}
    for sgn in (1.0, -1.0):
        sel = (sgn * V >= v_fit_min) & (sgn * V <= vmax)
        if np.count_nonzero(sel) < 3:
            raise AnalysisError(f"fewer than 3 points at {'+' if sgn > 0 else '-'}V >= {v_fit_min:g} V")
        fits[sgn] = line_fit(V[sel], I[sel])
    ip, ie_p = fits[1.0].intercept, fits[1.0].intercept_err
    ineg, ie_n = -fits[-1.0].intercept, fits[-1.0].intercept_err
    i_exc = 0.5 * (ip + ineg)
    i_err = 0.5 * math.hypot(ie_p, ie_n)
    k = 0.5 * (fits[1.0].slope + fits[-1.0].slope)
    k_err = 0.5 * math.hypot(fits[1.0].slope_err, fits[-1.0].slope_err)
    rn = 1.0 / k
    rn_err = k_err / (k * k)
    ratio = ratio_err = None
    if delta is not None:
        ratio = i_exc * rn / abs(float(delta))
        ratio_err = abs(ratio) * math.hypot(i_err / i_exc if i_exc else 0.0, rn_err / rn)
    asym = (ip - ineg) / (ip + ineg) if (ip + ineg) != 0 else math.nan
    return NeckExcessCurrent(
        i_exc, i_err, ip, ie_p, ineg, ie_n, rn, rn_err, asym, ratio, ratio_err, (float(v_fit_min), vmax)
    )


# ---------------------------------------------------------------------------------------------------
# Phase-slip steps
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseSlipStep:
    """One voltage step of a current-biased sweep: at current ``I`` (A) and voltage ``V`` (V, foot of the
    step), height ``dV`` (V) and the change of differential resistance ``dR`` (Ohm) across it, with errors."""

    I: float
    V: float
    dV: float
    dV_err: float
    dR: float
    dR_err: float


@dataclass
class PhaseSlipSteps:
    """Steps found in one sweep; ``noise`` (V) the point-to-point voltage noise; ``v_window`` the range."""

    steps: list[PhaseSlipStep]
    noise: float
    v_window: tuple[float, float]

    @property
    def count(self) -> int:
        return len(self.steps)


def phase_slip_steps(
    I,
    V,
    *,
    v_window: tuple[float, float] | None = None,
    delta: float | None = None,
    threshold: float = 8.0,
    fit_points: int = 8,
    max_points: int = 400,
    background: int = 3,
) -> PhaseSlipSteps:
    """Voltage steps (phase-slip centres, [NECK] Fig. 2) in a current-biased V(I) sweep.

    ``I`` (n,) A monotonic sweep, ``V`` (n,) V. A step is an increment V_{k+1} - V_k that exceeds the local
    line R dI by more than ``threshold`` noise sigmas (steps at least ``fit_points`` samples apart). The
    points up to the neighbouring steps (at most ``max_points`` a side) are fitted by a polynomial
    background of degree ``background`` in I common to both sides (degree 3: a smooth local dV/dI
    background, linear with a curvature, which a linear dV/dI leaves in dV) plus a step
    dV + dR (I - I_k) after it: dV is the jump at the step, dR the change of the
    differential resistance ("dV/dI increases by a constant amount after every step"), both with their
    standard errors from the fit residuals. Only |V| inside ``v_window`` (default 2 Delta..6 Delta/e with
    ``delta``, else everything) is searched: the subharmonic structure below 2 Delta is not a step.
    """
    I, V = as_pair(I, V, "current and voltage", 2 * fit_points + 3)
    order = np.argsort(I)
    I, V = I[order], V[order]
    if v_window is None:
        v_window = (2.0 * abs(delta), 6.0 * abs(delta)) if delta is not None else (0.0, math.inf)
    dI = np.diff(I)
    dV = np.diff(V)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_loc = dV / dI
    med_r = np.nanmedian(np.abs(r_loc))
    # noise from the second difference of V on the (near-uniform) current grid
    sigma = max(noise_sigma(V), 1e-15)
    excess = dV - np.sign(med_r) * np.abs(med_r) * dI
    # local expectation: median slope in a moving window
    k = fit_points
    cand = np.nonzero(np.abs(excess) > threshold * sigma)[0]
    idx: list[int] = []
    for j in cand:
        vj = 0.5 * (abs(V[j]) + abs(V[j + 1]))
        if not (v_window[0] <= vj <= v_window[1]):
            continue
        if j - k + 1 < 0 or j + 1 + k > I.size or (idx and j - idx[-1] < k):
            continue
        idx.append(int(j))
    found: list[PhaseSlipStep] = []
    # each step is fitted between its neighbours (at most ``max_points`` points a side) by one smooth
    # background common to both sides plus the step, so the curvature of the Andreev flank is not taken
    # for a change of resistance
    for q, j in enumerate(idx):
        lo = max(idx[q - 1] + 1 if q > 0 else 0, j + 1 - max_points)
        hi = min(idx[q + 1] + 1 if q + 1 < len(idx) else I.size, j + 1 + max_points)
        xm = 0.5 * (I[j] + I[j + 1])
        fit = _step_fit(I[lo:hi], V[lo:hi], j + 1 - lo, xm, background)
        if fit is None:
            continue
        step, step_err, dr, dr_err = fit
        if abs(step) <= threshold * sigma:
            continue
        found.append(PhaseSlipStep(float(xm), float(V[j]), step, step_err, dr, dr_err))
    return PhaseSlipSteps(found, float(sigma), (float(v_window[0]), float(v_window[1])))


def _step_fit(I: np.ndarray, V: np.ndarray, j: int, x0: float, degree: int):
    """Least squares V = sum_k c_k (I - x0)^k (k <= ``degree``) + [I > x0] (dV + dR (I - x0)) with the
    step between samples j - 1 and j; (dV, dV_err, dR, dR_err) or None when a side is too short."""
    n_left, n_right = j, I.size - j
    deg = int(degree) if min(n_left, n_right) >= 3 * (int(degree) + 1) else 1
    if min(n_left, n_right) < 3:
        return None
    x = (I - x0) / max(float(np.ptp(I)), 1e-300)  # scaled for conditioning
    after = (np.arange(I.size) >= j).astype(float)
    A = np.column_stack([x**k for k in range(deg + 1)] + [after, after * x])
    coef, *_ = np.linalg.lstsq(A, V, rcond=None)
    res = V - A @ coef
    dof = max(I.size - A.shape[1], 1)
    cov = np.linalg.pinv(A.T @ A) * float(np.sum(res**2)) / dof
    scale = max(float(np.ptp(I)), 1e-300)
    return (
        float(coef[-2]),
        float(math.sqrt(max(cov[-2, -2], 0.0))),
        float(coef[-1] / scale),
        float(math.sqrt(max(cov[-1, -1], 0.0)) / scale),
    )


@dataclass
class StepsVsField:
    """Phase-slip step counts against field: ``H`` (n,) T, ``count`` (n,), mean ``dV`` and ``dR`` (n,)."""

    H: np.ndarray
    count: np.ndarray
    mean_dV: np.ndarray
    mean_dR: np.ndarray
    per_sweep: list[PhaseSlipSteps]


def phase_slips_vs_field(
    sweeps: Sequence[tuple[np.ndarray, np.ndarray]], H: Sequence[float], **kw
) -> StepsVsField:
    """:func:`phase_slip_steps` for each (I, V) sweep, with the count and mean step against field ``H``."""
    if len(sweeps) != len(H):
        raise AnalysisError("one field value per sweep is needed")
    res = [phase_slip_steps(i, v, **kw) for i, v in sweeps]
    cnt = np.array([r.count for r in res])
    mdv = np.array([np.mean([s.dV for s in r.steps]) if r.steps else np.nan for r in res])
    mdr = np.array([np.mean([s.dR for s in r.steps]) if r.steps else np.nan for r in res])
    return StepsVsField(np.asarray(H, dtype=float), cnt, mdv, mdr, res)


# ---------------------------------------------------------------------------------------------------
# Contact size, charge imbalance and superconducting length
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactSize:
    """Sharvin contact from R_N: area (m^2), radius a and diameter d = 2a (m), channels, with errors.

    [NECK]'s "d = 6 nm" at 5 Ohm is the radius (PHYSICS section 8 flag)."""

    R_N: float
    area: float
    area_err: float
    radius: float
    radius_err: float
    diameter: float
    diameter_err: float
    n_channels: float


def sharvin_size(R_N: float, R_N_err: float = 0.0, lambda_F: float = pc.PB.lambda_F) -> ContactSize:
    """Invert R_S = (h/2e^2) lambda_F^2/(pi A) (R_N in Ohm, lambda_F in m; Pb by default)."""
    if not (math.isfinite(R_N) and R_N > 0):
        raise AnalysisError("R_N must be a positive resistance in Ohm")
    c = pc.sharvin_contact(R_N, lambda_F)
    rel = abs(R_N_err) / R_N
    return ContactSize(
        R_N,
        c.area,
        c.area * rel,
        c.radius,
        0.5 * c.radius * rel,
        c.diameter,
        0.5 * c.diameter * rel,
        c.n_channels,
    )


@dataclass
class ChargeImbalanceVsField:
    """Lambda_Q*(H) and L_S(H) for the [NECK] plot of L_S against Lambda_Q*.

    ``H`` (n,) T; ``lambda_q`` (n,) m with pair breaking hbar/tau_PB(H) = ``pb0`` (H/``H_ref``)^2 (eV);
    ``L_S`` (n,) m of the conical neck; ``crossing_H`` the field where L_S = Lambda_Q* (nan if none):
    above it the neck is shorter than the charge-imbalance length and few phase slips fit in.
    """

    H: np.ndarray
    lambda_q: np.ndarray
    L_S: np.ndarray
    crossing_H: float
    lambda_q0: float


def charge_imbalance_vs_field(
    H,
    *,
    T: float = 4.2,
    delta: float = pc.PB_DELTA0,
    tau_E: float = 2.5e-11,
    mean_free_path: float = 10e-9,
    v_F: float = pc.PB.v_F,
    Tc: float = pc.PB_TC,
    pb_ref: float | None = None,
    H_ref: float = 0.15,
    form: str = "paper",
    theta_deg: float = 35.0,
    lambda_L: float = pc.PB_LAMBDA_L,
    H_c: float = 0.05,
) -> ChargeImbalanceVsField:
    """Lambda_Q*(H) (Schmid-Schon with the [NECK] pair-breaking substitution) and L_S(H).

    Pair breaking grows as H^2: hbar/tau_PB = ``pb_ref`` (H/H_ref)^2, ``pb_ref`` defaulting to the paper's
    0.2 kB Tc at ``H_ref`` = 0.15 T (the field range of [NECK] Fig. 2). ``form`` "paper" or "corrected"
    (PHYSICS section 8 flag). L_S from :func:`analysis.models.point_contact.neck_superconducting_length`.
    """
    H = np.atleast_1d(np.asarray(H, dtype=float))
    pb = 0.2 * K_B_EV * Tc if pb_ref is None else float(pb_ref)
    lam = np.empty(H.size)
    for i, h in enumerate(H):
        tau_pb = None if h <= 0 else pc.time_from_energy(pb * (h / H_ref) ** 2)
        lam[i] = pc.charge_imbalance_length(
            T, delta, tau_E, mean_free_path, v_F, tau_PB=tau_pb, form=form
        ).length
    ls = np.atleast_1d(pc.neck_superconducting_length(H, theta_deg=theta_deg, lambda_L=lambda_L, H_c=H_c))
    diff = ls - lam
    cross = math.nan
    idx = np.nonzero(np.diff(np.sign(diff)) != 0)[0]
    if idx.size:
        j = idx[0]
        cross = float(H[j] - diff[j] * (H[j + 1] - H[j]) / (diff[j + 1] - diff[j]))
    lam0 = pc.charge_imbalance_length(T, delta, tau_E, mean_free_path, v_F).length
    return ChargeImbalanceVsField(H, lam, ls, cross, lam0)


__all__ = [
    "ChargeImbalanceVsField",
    "ContactSize",
    "GapVsField",
    "LadderCandidate",
    "NeckExcessCurrent",
    "NeckGap",
    "PhaseSlipStep",
    "PhaseSlipSteps",
    "StepsVsField",
    "DerivedDVDI",
    "Features",
    "assign_ladder",
    "charge_imbalance_vs_field",
    "default_delta_range",
    "dvdi_of_iv",
    "find_features",
    "gap_vs_field",
    "neck_excess_current",
    "neck_gap",
    "neck_gap_from_peaks",
    "phase_slip_steps",
    "phase_slips_vs_field",
    "sharvin_size",
]
