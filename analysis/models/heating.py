"""Self-heating of tunnel junctions and junction stacks ([MESA], [ITS]).

References (tags as in the physics notes):
[MESA] "Anomalously high and sharp conductance peaks in the conductance of intrinsic Josephson junctions in
       Bi2212 mesas ... are a result of heating" (intercalated Bi2212 mesas; Newton cooling Eq. 2, d-wave
       DOS Eq. 1, the uniform-heating S-curve of Sec. III.A, hot spots of Sec. III.B, figure of merit beta,
       series SIN top contact of Fig. 3).
[ITS]  "What does intrinsic tunnelling spectroscopy really examine?" (Newton cooling with a heat-transfer
       coefficient per area, Eq. 1; heating spectra from R(T); critical load; 3-point contact term, Fig. 3).

Units: SI throughout (V, A, Ohm, W, K, m^2), energies in eV. Two distinct heat-transfer quantities are kept:

- ``alpha`` thermal resistance in K/W ([MESA]; the paper quotes K/mW: 110 K/mW = 1.1e5 K/W);
- ``h_a``  heat conductance hA in W/K ([ITS]: h per unit area [W m^-2 K^-1] times the area A).

alpha = 1/(hA), so 110 K/mW is hA = 9.09 uW/K and 38 K/mW is 26.3 uW/K, inside [ITS]'s 8.4-33 uW/K.

Contents (formula and reference in each docstring): Newton cooling; heating spectra from a measured R(T)
(closed-form dI/dV, piecewise at kinks) and the 3-point contact term; R = V/I versus heat load and the
critical load P_c; the self-consistent N-junction stack I(V) parametrised by the mesa temperature T_m, with
backbending detection; hot-spot fraction and radius; the figure of merit beta = FWHM/V_peak; the series
SIN-contact correction and the current-bias conductance.

[FLAG] [MESA] does not define the half-maximum baseline of beta: baseline 0 (literal FWHM) is the default
and the normal-state conductance Y_N is an option. [MESA] gives no functional form for its d-wave
"momentum-averaging parameter" or for Gamma(T) (taken from STS data): here Delta(T) is the BCS-type
interpolation with Delta(0) and Tc as separate inputs, Gamma(T) = Gamma0 + Gamma1 T/Tc, and the directional
weight is W(phi) = 1 + a cos 4phi as in PHYSICS section 4.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PchipInterpolator

from analysis.hooks import check_cancel
from analysis.models.base import Model, Param

# ---------------------------------------------------------------------------------------------------
# 9.1 Newton cooling
# ---------------------------------------------------------------------------------------------------


def alpha_from_h_a(h_a: float) -> float:
    """Thermal resistance alpha = 1/(hA) in K/W from the heat conductance hA in W/K."""
    if not h_a > 0:
        raise ValueError(f"hA must be positive, got {h_a!r} W/K")
    return 1.0 / h_a


def h_a_from_alpha(alpha: float) -> float:
    """Heat conductance hA = 1/alpha in W/K from the thermal resistance alpha in K/W."""
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha!r} K/W")
    return 1.0 / alpha


def newton_temperature(power, t_bath: float, *, alpha: float | None = None, h_a: float | None = None):
    """Newton cooling: T = T_B + alpha P ([MESA] Eq. 2) = T_B + P/(hA) ([ITS] Eq. 1).

    ``power`` (any shape) in W, ``t_bath`` in K; give exactly one of ``alpha`` (K/W) or ``h_a`` (W/K).
    """
    if (alpha is None) == (h_a is None):
        raise ValueError("give exactly one of alpha (K/W) or h_a (W/K)")
    a = alpha if alpha is not None else alpha_from_h_a(h_a)  # type: ignore[arg-type]
    if not a > 0:
        raise ValueError(f"alpha must be positive, got {a!r} K/W")
    return t_bath + a * np.asarray(power, dtype=float)


def heat_load_to_reach(t_target: float, t_bath, h_a: float):
    """[ITS] Fig. 1C: the load P = hA (T_T - T_B) (W) that heats from T_B (K, any shape) to T_T (K).

    Linear in T_B with slope -hA and intercept zero at T_B = T_T.
    """
    return h_a * (t_target - np.asarray(t_bath, dtype=float))


def alpha_lower_bound(t_target: float, t_bath: float, power: float) -> float:
    """Thermal resistance (K/W) needed to reach ``t_target`` from ``t_bath`` at load ``power`` (W).

    [MESA]: normal-state onset at about 1.05 mW for N = 12-30 bounds alpha from below by
    (Tc - T_B)/P = (74 - 4) K/1.05 mW = 67 K/mW ("about 70 K/mW"), or 76 K/mW with T_N = 84 K.
    """
    if not power > 0:
        raise ValueError(f"power must be positive, got {power!r} W")
    return (t_target - t_bath) / power


def _paired(a, b, names: str) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` as 1-D float arrays of one length (ValueError naming ``names`` otherwise)."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same length, got {a.shape} and {b.shape}")
    return a, b


def _finite_sorted(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of (n,) ``a`` and ``b`` where both are finite, sorted by ``a`` (stable)."""
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    order = np.argsort(a, kind="stable")
    return a[order], b[order]


# ---------------------------------------------------------------------------------------------------
# 9.3 Heating spectra from a measured R(T); 3-point contact term
# ---------------------------------------------------------------------------------------------------
class ResistanceCurve:
    """R(T) (Ohm) with its derivative dR/dT (Ohm/K), piecewise smooth between kinks.

    Build it from samples (:meth:`from_samples`, monotone cubic Hermite interpolation on each segment
    between kinks, so the derivative is continuous inside a segment and may jump at a kink) or from a
    callable (:meth:`from_callable`, derivative given or by central differences that never straddle a
    kink). At a kink temperature itself the derivative of the upper segment is used.
    """

    def __init__(
        self,
        r: Callable[[np.ndarray], np.ndarray],
        dr: Callable[[np.ndarray], np.ndarray],
        kinks: Sequence[float] = (),
        t_range: tuple[float, float] = (0.0, math.inf),
    ) -> None:
        self._r = r
        self._dr = dr
        self.kinks = tuple(sorted(float(k) for k in kinks))
        self.t_range = (float(t_range[0]), float(t_range[1]))

    def __call__(self, T) -> np.ndarray:
        return np.asarray(self._r(np.asarray(T, dtype=float)), dtype=float)

    def derivative(self, T) -> np.ndarray:
        return np.asarray(self._dr(np.asarray(T, dtype=float)), dtype=float)

    @classmethod
    def from_samples(cls, T, R, kinks: Sequence[float] = ()) -> ResistanceCurve:
        """R(T) from samples T (n,) K and R (n,) Ohm (any order; sorted, duplicates and NaN dropped)."""
        t, r = _paired(T, R, "T and R")
        t, r = _finite_sorted(t, r)
        keep = np.concatenate(([True], np.diff(t) > 0)) if t.size else np.zeros(0, bool)
        t, r = t[keep], r[keep]
        if t.size < 2:
            raise ValueError("R(T) needs at least two distinct finite temperatures")
        if np.any(r <= 0):
            raise ValueError("R(T) must be positive")
        edges = [t[0], *[k for k in sorted(kinks) if t[0] < k < t[-1]], t[-1]]
        pieces = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            m = (t >= lo) & (t <= hi)
            ts, rs = t[m], r[m]
            if ts.size < 2:
                raise ValueError(f"R(T) segment [{lo}, {hi}] K between kinks needs at least two samples")
            pieces.append((lo, hi, PchipInterpolator(ts, rs, extrapolate=True)))

        def seg_eval(T, deriv: bool):
            T = np.asarray(T, dtype=float)
            out = np.empty_like(T)
            for i, (lo, _hi, p) in enumerate(pieces):
                last = i == len(pieces) - 1
                hi_edge = pieces[i + 1][0] if not last else math.inf
                m = (T < hi_edge) if i == 0 else (T >= lo) & (T < hi_edge)
                out[m] = p.derivative()(T[m]) if deriv else p(T[m])
            return out

        return cls(lambda T: seg_eval(T, False), lambda T: seg_eval(T, True), edges[1:-1], (t[0], t[-1]))

    @classmethod
    def from_callable(
        cls, r: Callable, dr: Callable | None = None, kinks: Sequence[float] = (), step: float = 1e-3
    ) -> ResistanceCurve:
        """R(T) from a vectorised callable (Ohm). Without ``dr`` the derivative is a central difference of
        half-width ``step`` K, one-sided where the stencil would cross a kink."""
        ks = tuple(sorted(float(k) for k in kinks))
        if dr is None:

            def dr(T):
                T = np.asarray(T, dtype=float)
                lo, hi = T - step, T + step
                for k in ks:
                    below = (T < k) & (hi >= k)
                    above = (T >= k) & (lo < k)
                    hi = np.where(below, T, hi)
                    lo = np.where(above, T, lo)
                return (np.asarray(r(hi), float) - np.asarray(r(lo), float)) / (hi - lo)

        return cls(lambda T: np.asarray(r(T), float), dr, ks)

    def with_contact_term(self, d_rc0: float, tc: float) -> ResistanceCurve:
        """3-point resistance R_3pt = R(T) + dRc(T) with dRc = dRc(0)(1 - T/Tc) below Tc ([ITS] Fig. 3)."""
        return ResistanceCurve(
            lambda T: self(T) + contact_term(T, d_rc0, tc)[0],
            lambda T: self.derivative(T) + contact_term(T, d_rc0, tc)[1],
            (*self.kinks, float(tc)),
            self.t_range,
        )


def contact_term(T, d_rc0: float, tc: float) -> tuple[np.ndarray, np.ndarray]:
    """[ITS] 3-point contact term: dRc(T) = dRc(0)(1 - T/Tc) for T < Tc, 0 above, and its T-derivative.

    Returns (dRc (Ohm), d dRc/dT (Ohm/K)), shape of ``T`` (K). The slope jumps from -dRc(0)/Tc to 0 at Tc.
    [ITS] uses dRc(0) = 6, 12, 18, 24, 30 Ohm with Tc = 60 K.
    """
    if not tc > 0:
        raise ValueError(f"Tc must be positive, got {tc!r} K")
    T = np.asarray(T, dtype=float)
    below = T < tc
    return np.where(below, d_rc0 * (1.0 - T / tc), 0.0), np.where(below, -d_rc0 / tc, 0.0)


def semiconducting_resistance(r_min: float, t_star: float) -> ResistanceCurve:
    """A generic c-axis R(T) = (R_min/2)(T*/T + T/T*): semiconducting below T*, metallic above, minimum
    R_min at T* (the pseudogap temperature of [ITS] Fig. 2). Analytic derivative."""
    if not (r_min > 0 and t_star > 0):
        raise ValueError("R_min and T* must be positive")
    return ResistanceCurve(
        lambda T: 0.5 * r_min * (t_star / T + T / t_star),
        lambda T: 0.5 * r_min * (-t_star / T**2 + 1.0 / t_star),
        (),
        (0.0, math.inf),
    )


@dataclass(frozen=True)
class HeatingSpectrum:
    """An I(V) generated by Joule heating of an ohmic sample, parametrised by its temperature T.

    All arrays (n,): ``T`` K, ``P`` W, ``V`` V, ``I`` A, ``G`` = dI/dV S, ``stability`` =
    R + (T - T_B) dR/dT (Ohm; negative where I(V) backbends).
    """

    T: np.ndarray
    P: np.ndarray
    V: np.ndarray
    I: np.ndarray
    G: np.ndarray
    stability: np.ndarray
    t_bath: float
    h_a: float

    @property
    def backbends(self) -> bool:
        """True if V decreases with T somewhere (R + (T - T_B) R' < 0): an S-shaped, multivalued I(V)."""
        return bool(np.any(self.stability < 0))

    def swept(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(V, I, G) along an upward voltage sweep: points where V exceeds every earlier V (the branch
        followed before and after the jump across a backbending region)."""
        keep = self.V >= np.maximum.accumulate(self.V)
        keep &= np.concatenate(([True], np.diff(self.V) > 0))
        return self.V[keep], self.I[keep], self.G[keep]

    def peak_voltages(self) -> np.ndarray:
        """Voltages of the local maxima of G(V) along the swept branch (V > 0), ascending."""
        v, _, g = self.swept()
        if g.size < 3:
            return np.zeros(0)
        i = np.flatnonzero((g[1:-1] > g[:-2]) & (g[1:-1] >= g[2:])) + 1
        return v[i]


def heating_spectrum(
    resistance: ResistanceCurve | Callable,
    t_bath: float,
    h_a: float,
    T: np.ndarray | None = None,
    t_max: float | None = None,
    n: int = 2000,
) -> HeatingSpectrum:
    """[ITS] heating spectrum: the I(V) of an ohmic sample I = V/R(T) heated to T = T_B + IV/(hA).

    Parametrised by T >= T_B:

        P = hA (T - T_B),   V = sqrt(P R(T)),   I = sqrt(P / R(T)),
        G = dI/dV = (1/R) [R - (T - T_B) R'(T)] / [R + (T - T_B) R'(T)]

    (a gap-like peak where R + (T - T_B) R' -> 0+, i.e. dR/dT < 0; backbending where it is negative).
    ``resistance`` a :class:`ResistanceCurve` (its kinks give the piecewise derivative) or a callable R(T);
    ``t_bath`` K; ``h_a`` W/K; ``T`` (n,) temperatures (K, >= T_B, ascending) or a uniform grid of ``n``
    points from T_B to ``t_max`` (default T_B + 300 K). Constant R gives G = 1/R exactly.
    """
    if not h_a > 0:
        raise ValueError(f"hA must be positive, got {h_a!r} W/K")
    curve = (
        resistance if isinstance(resistance, ResistanceCurve) else ResistanceCurve.from_callable(resistance)
    )
    if T is None:
        top = t_bath + 300.0 if t_max is None else float(t_max)
        if not top > t_bath:
            raise ValueError(f"t_max ({top}) must exceed the bath temperature ({t_bath})")
        T = np.linspace(t_bath, top, int(n))
    T = np.asarray(T, dtype=float)
    if np.any(T < t_bath) or np.any(np.diff(T) <= 0):
        raise ValueError("the temperature grid must be ascending and not below the bath temperature")
    r = curve(T)
    if np.any(~np.isfinite(r)) or np.any(r <= 0):
        raise ValueError("R(T) must be finite and positive on the temperature grid")
    dr = curve.derivative(T)
    dt = T - t_bath
    p = h_a * dt
    v = np.sqrt(p * r)
    i = np.sqrt(p / r)
    stab = r + dt * dr
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (r - dt * dr) / (r * stab)
    return HeatingSpectrum(T, p, v, i, g, stab, float(t_bath), float(h_a))


def resistance_from_heated_iv(v, i, t_bath: float, h_a: float) -> tuple[np.ndarray, np.ndarray]:
    """[ITS] reverse construction: (T, R) with T = T_B + IV/(hA) and R = V/I from an I-V at fixed T_B.

    Superposing it on the measured R(T) fixes hA ([ITS] Fig. 1B). Points with I = 0 are dropped.
    """
    v = np.asarray(v, dtype=float)
    i = np.asarray(i, dtype=float)
    ok = np.isfinite(v) & np.isfinite(i) & (i != 0)
    return t_bath + v[ok] * i[ok] / h_a, v[ok] / i[ok]


# ---------------------------------------------------------------------------------------------------
# 9.4 R versus heat load; critical load
# ---------------------------------------------------------------------------------------------------
def resistance_vs_load(v, i, area: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(P, R) sorted by P: heat load P = IV (W) or IV/A (W/m^2 when ``area`` in m^2 is given) and R = V/I.

    Points with I = 0, non-finite values or negative dissipation are dropped ([ITS] Figs. 5B and 6C).
    """
    v, i = _paired(v, i, "V and I")
    ok = np.isfinite(v) & np.isfinite(i) & (i != 0) & (v * i >= 0)
    p = v[ok] * i[ok]
    if area is not None:
        if not area > 0:
            raise ValueError(f"area must be positive, got {area!r} m^2")
        p = p / area
    r = v[ok] / i[ok]
    order = np.argsort(p, kind="stable")
    return p[order], r[order]


@dataclass(frozen=True)
class CriticalLoad:
    """``p_c`` the smallest load with |R/R0 - 1| > eps (NaN if none), ``r0`` the low-load resistance."""

    p_c: float
    r0: float
    eps: float


def critical_load(p, r, eps: float = 0.02, r0: float | None = None, decade: float = 10.0) -> CriticalLoad:
    """[ITS] critical heat load: P_c = min{P : |R(P)/R0 - 1| > eps}.

    ``p`` (n,) loads (W or W/m^2, > 0 are used), ``r`` (n,) R = V/I (Ohm). R0 defaults to the mean R of the
    points in the lowest load decade (P <= ``decade`` * P_min). Below P_c the response is heating-free.
    """
    p, r = _paired(p, r, "P and R")
    ok = np.isfinite(p) & np.isfinite(r) & (p > 0)
    p, r = p[ok], r[ok]
    if p.size == 0:
        raise ValueError("no positive heat loads")
    order = np.argsort(p, kind="stable")
    p, r = p[order], r[order]
    if r0 is None:
        r0 = float(np.mean(r[p <= decade * p[0]]))
    dev = np.abs(r / r0 - 1.0) > eps
    return CriticalLoad(float(p[np.argmax(dev)]) if dev.any() else math.nan, float(r0), float(eps))


# ---------------------------------------------------------------------------------------------------
# 9.5 Hot spots
# ---------------------------------------------------------------------------------------------------
def hot_spot_fraction(i_f: float, v_f: float, r_n: float, i_qp: float) -> float:
    """[MESA] hot-spot area fraction from currents: f = (I_f - I_qp(V_f)) / (V_f/R_N - I_qp(V_f)).

    I_f (A) the total current at voltage V_f (V); R_N (Ohm) the normal resistance of the whole mesa;
    I_qp (A) the lowest quasiparticle branch at V_f.
    """
    den = v_f / r_n - i_qp
    if den == 0:
        raise ValueError("V_f/R_N equals I_qp: the fraction is undefined")
    return (i_f - i_qp) / den


def hot_spot_fraction_thermal(v_f: float, t_n: float, t_bath: float, alpha: float, r_n: float) -> float:
    """[MESA] thermal estimate f = ((T_N - T_B) R_N / (alpha V_f^2))^2 (hot-spot resistance alpha/sqrt f).

    ``alpha`` K/W of uniform heating of the whole mesa, V_f (V), R_N (Ohm), temperatures in K.
    """
    return ((t_n - t_bath) * r_n / (alpha * v_f**2)) ** 2


def hot_spot_voltage(f: float, t_n: float, t_bath: float, alpha: float, r_n: float) -> float:
    """Inverse of :func:`hot_spot_fraction_thermal`: V_f = sqrt((T_N - T_B) R_N / (alpha sqrt f)) (V).

    [MESA] numbers: f = 0.26, alpha = 38 K/mW, R_N = 30 Ohm, T_B = 4.2 K, T_N = 84 K give 0.352 V.
    """
    if not 0 < f <= 1:
        raise ValueError(f"hot-spot fraction must be in (0, 1], got {f!r}")
    return math.sqrt((t_n - t_bath) * r_n / (alpha * math.sqrt(f)))


def hot_spot_radius(f: float, area: float) -> float:
    """Radius r = sqrt(f A/pi) (m) of a circular hot spot covering fraction f of area A (m^2).

    [MESA]: f = 0.26 on 10 x 10 um^2 gives 2.88 um ("2.9 um").
    """
    if not 0 <= f <= 1 or not area > 0:
        raise ValueError(f"need 0 <= f <= 1 and area > 0, got f={f!r}, area={area!r}")
    return math.sqrt(f * area / math.pi)


# ---------------------------------------------------------------------------------------------------
# 9.6 Figure of merit beta
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BetaResult:
    """beta = FWHM/V_peak; ``v_low``/``v_high`` the half-maximum crossings (V); NaN where missing."""

    beta: float
    fwhm: float
    v_peak: float
    g_peak: float
    half_level: float
    v_low: float
    v_high: float
    baseline: float


def figure_of_merit_beta(
    v, g, y_n: float | None = None, v_range: tuple[float, float] | None = None
) -> BetaResult:
    """[MESA] beta = FWHM / V_peak of the conductance peak (N dI/dV per junction vs V per junction).

    ``v`` (nb,) V, ``g`` (nb,) S. The peak is the maximum of g over ``v_range`` (default V > 0). Half
    maximum is measured from a baseline: 0 (literal FWHM, default) or, when ``y_n`` is given, the
    normal-state conductance Y_N (S): level = baseline + (G_peak - baseline)/2. Crossings are found by linear
    interpolation on each side of the peak; beta is NaN if either is missing ([FLAG]: the paper does not
    define the baseline; broad equilibrium SIS peaks often have no zero-baseline crossing). Thresholds from
    [MESA]: beta <= 0.15 strong self-heating (the peak is not 2 Delta); beta >= 0.32 near equilibrium.
    """
    v, g = _paired(v, g, "V and G")
    v, g = _finite_sorted(v, g)
    lo, hi = v_range if v_range is not None else (0.0, math.inf)
    win = np.flatnonzero((v > lo) & (v <= hi)) if v_range is None else np.flatnonzero((v >= lo) & (v <= hi))
    if win.size == 0:
        raise ValueError("no conductance points in the peak window")
    k = int(win[np.argmax(g[win])])
    base = 0.0 if y_n is None else float(y_n)
    half = base + 0.5 * (g[k] - base)

    def crossing(idx_range) -> float:
        prev = k
        for j in idx_range:
            if g[j] < half:
                # linear interpolation between j (below) and prev (above)
                return float(v[j] + (half - g[j]) * (v[prev] - v[j]) / (g[prev] - g[j]))
            prev = j
        return math.nan

    v_low = crossing(range(k - 1, -1, -1))
    v_high = crossing(range(k + 1, v.size))
    fwhm = v_high - v_low
    beta = fwhm / v[k] if v[k] != 0 else math.nan
    return BetaResult(float(beta), float(fwhm), float(v[k]), float(g[k]), float(half), v_low, v_high, base)


# ---------------------------------------------------------------------------------------------------
# 9.7 Series SIN contact correction; current-bias conductance
# ---------------------------------------------------------------------------------------------------
def _end_slope(x: np.ndarray, y: np.ndarray, frac: float, top: bool) -> float:
    n = max(2, int(round(frac * x.size)))
    xs, ys = (x[-n:], y[-n:]) if top else (x[:n], y[:n])
    return float(np.polyfit(xs, ys, 1)[0])


def subtract_series_junction(i_meas, v_meas, i_sin, v_sin, end_fraction: float = 0.1) -> np.ndarray:
    """[MESA] Fig. 3: V_stack(I) = V_meas(I) - V_SIN(I), removing a top-contact SIN junction in series.

    ``i_meas``, ``v_meas`` (n,) the measured curve (A, V); ``i_sin``, ``v_sin`` (m,) the separately
    measured monotone SIN I(V). V_SIN(I) is its inverse (sorted by V, interpolated in I); outside the
    measured range it continues linearly with the SIN conductance of the outer ``end_fraction`` of points.
    Returns V_stack (n,) V. Raises ValueError if the SIN curve is not monotone.
    """
    i_meas = np.asarray(i_meas, dtype=float)
    v_meas = np.asarray(v_meas, dtype=float)
    if i_meas.shape != v_meas.shape:
        raise ValueError(f"measured I and V differ in shape: {i_meas.shape} vs {v_meas.shape}")
    vs = np.asarray(v_sin, dtype=float).ravel()
    is_ = np.asarray(i_sin, dtype=float).ravel()
    if vs.shape != is_.shape or vs.size < 3:
        raise ValueError("the SIN curve needs equal-length V and I arrays with at least 3 points")
    vs, is_ = _finite_sorted(vs, is_)
    if np.any(np.diff(is_) <= 0):
        raise ValueError("the SIN I(V) must increase strictly with V to be inverted")
    g_lo = _end_slope(vs, is_, end_fraction, top=False)
    g_hi = _end_slope(vs, is_, end_fraction, top=True)
    v_of_i = np.interp(i_meas, is_, vs)
    v_of_i = np.where(i_meas < is_[0], vs[0] + (i_meas - is_[0]) / g_lo, v_of_i)
    v_of_i = np.where(i_meas > is_[-1], vs[-1] + (i_meas - is_[-1]) / g_hi, v_of_i)
    return v_meas - v_of_i


def current_bias_conductance(i, v, n: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dI/dV of a current-biased curve as 1/(dV/dI) on a uniform current grid ([MESA] Fig. 2 processing).

    ``i``, ``v`` (m,) A and V (any order; sorted by I, duplicate currents averaged). Returns (I_grid (n,),
    V(I_grid) (n,), G (n,) S); G is +inf where V is flat in I (a supercurrent branch).
    """
    i, v = _paired(i, v, "I and V")
    ok = np.isfinite(i) & np.isfinite(v)
    i, v = i[ok], v[ok]
    iu, inv = np.unique(i, return_inverse=True)
    if iu.size < 3:
        raise ValueError("need at least three distinct currents")
    vu = np.bincount(inv, weights=v) / np.bincount(inv)
    grid = np.linspace(iu[0], iu[-1], int(n) if n else iu.size)
    vg = np.interp(grid, iu, vu)
    dvdi = np.gradient(vg, grid)
    with np.errstate(divide="ignore"):
        g = np.where(dvdi == 0, np.inf, 1.0 / np.where(dvdi == 0, 1.0, dvdi))
    return grid, vg, g


# ---------------------------------------------------------------------------------------------------
# 9.2 Self-consistent uniform heating of an N-junction stack
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StackParameters:
    """Equilibrium junction model of a stack: d-wave SIS with Delta(T) BCS-type and Gamma(T).

    ``delta0`` Delta(0) eV; ``tc`` K; ``gamma0`` eV and ``gamma1`` eV: Gamma(T) = gamma0 + gamma1 T/Tc;
    ``a`` directional weight of the d-wave DOS; ``v_max`` V: largest per-junction voltage tabulated;
    ``dv`` V: voltage step of the table; ``n_t`` number of temperatures between T_low and Tc; ``de`` eV:
    energy step of the SIS integration (default min(Gamma/2, Delta/50, dv/2)); ``n_phi`` angular points of
    the d-wave average (default max(64, 8 Delta/Gamma), at most 1024).
    """

    delta0: float = 24e-3
    tc: float = 74.0
    gamma0: float = 0.55e-3
    gamma1: float = 0.0
    a: float = 0.0
    t_low: float = 4.2
    v_max: float = 0.15
    dv: float = 0.5e-3
    n_t: int = 48
    de: float | None = None
    n_phi: int | None = None

    def __post_init__(self) -> None:
        if not (self.delta0 > 0 and self.tc > 0 and self.gamma0 > 0 and self.gamma1 >= 0):
            raise ValueError("need Delta0 > 0, Tc > 0, Gamma0 > 0 and Gamma1 >= 0")
        if not (self.v_max > 0 and 0 < self.dv < self.v_max and int(self.n_t) >= 2):
            raise ValueError("need v_max > dv > 0 and at least two temperatures")
        if not 0 < self.t_low < self.tc:
            raise ValueError(f"t_low ({self.t_low} K) must lie between 0 and Tc ({self.tc} K)")
        if not -1 < self.a < 1:
            raise ValueError(f"the directional weight a must lie in (-1, 1), got {self.a}")


def gap_of_t(T, p: StackParameters):
    """Delta(T) (eV): BCS-type interpolation with Delta(0) = p.delta0 and Tc = p.tc."""
    from analysis.models.bcs import delta_bcs_interp

    return delta_bcs_interp(T, p.tc, p.delta0)


def gamma_of_t(T, p: StackParameters):
    """Gamma(T) = Gamma0 + Gamma1 T/Tc (eV)."""
    return p.gamma0 + p.gamma1 * np.asarray(T, dtype=float) / p.tc


class EquilibriumFamily:
    """The equilibrium per-junction quasiparticle current I_eq(v, T) R_N (V) of a d-wave SIS junction
    (no Josephson branch), from :func:`analysis.models.numerics.sis_current` with the d-wave DOS.

    Tabulated once on a temperature grid (denser near Tc) from ``t_low`` to Tc and a voltage grid
    0..v_max; above Tc the junction is ohmic (I R_N = v) exactly. ``current(v, T)`` interpolates linearly
    in T between rows and in v along a row, and continues a row linearly beyond v_max with its end slope.
    The table is independent of N, alpha, T_B and R_N, so one family serves every stack.
    """

    def __init__(self, p: StackParameters, progress=None, cancel=None) -> None:
        from analysis.models.dwave import DWaveDOS
        from analysis.models.numerics import sis_current

        self.p = p
        u = np.linspace(0.0, 1.0, int(p.n_t))
        # denser near Tc, where Delta(T) changes fastest (sqrt(1 - T/Tc))
        self.T = p.t_low + (p.tc - p.t_low) * (1.0 - (1.0 - u) ** 2)
        self.v = np.arange(0.0, p.v_max + 0.5 * p.dv, p.dv)
        table = np.empty((self.T.size, self.v.size))
        for k, t in enumerate(self.T):
            check_cancel(cancel, "equilibrium SIS family")
            d = float(gap_of_t(t, p))
            gam = float(gamma_of_t(t, p))
            if d <= 0:
                table[k] = self.v
            else:
                n_phi = p.n_phi if p.n_phi else int(min(1024, max(64, math.ceil(8 * d / gam))))
                dos = DWaveDOS(d, gam, p.a, n_phi)
                de = p.de if p.de is not None else min(gam / 2, d / 50, p.dv / 2)
                table[k] = sis_current(self.v, dos, dos, float(t), de=de)
            if progress is not None:
                progress(k + 1, self.T.size)
        table[:, 0] = 0.0
        self.table = np.maximum.accumulate(table, axis=1)  # I_eq increases with v
        n_end = max(2, self.v.size // 20)
        self.end_slope = np.array([np.polyfit(self.v[-n_end:], row[-n_end:], 1)[0] for row in self.table])

    def current(self, v, T: float) -> np.ndarray:
        """I_eq(v, T) R_N (V) at per-junction voltages ``v`` (V, >= 0) and temperature T (K)."""
        v = np.asarray(v, dtype=float)
        if T >= self.p.tc:
            return v.copy()
        row, slope = self._row(T)
        out = np.interp(v, self.v, row)
        beyond = v > self.v[-1]
        return np.where(beyond, row[-1] + slope * (v - self.v[-1]), out)

    def _row(self, T: float) -> tuple[np.ndarray, float]:
        T = max(float(T), float(self.T[0]))
        j = int(np.clip(np.searchsorted(self.T, T) - 1, 0, self.T.size - 2))
        w = (T - self.T[j]) / (self.T[j + 1] - self.T[j])
        w = min(max(w, 0.0), 1.0)
        row = (1 - w) * self.table[j] + w * self.table[j + 1]
        return row, float((1 - w) * self.end_slope[j] + w * self.end_slope[j + 1])

    def solve_voltage(self, T: float, power_rn: float) -> float:
        """Per-junction v >= 0 with v I_eq(v, T) R_N = power_rn (V^2).

        The left side increases with v. On the table segment [v_j, v_j+1] (or beyond v_max, on the linear
        continuation) I_eq is linear in v, so v I_eq = P is a quadratic solved exactly: the result is
        consistent with :meth:`current` to rounding.
        """
        if power_rn <= 0:
            return 0.0
        if T >= self.p.tc:
            return math.sqrt(power_rn)
        row, slope = self._row(T)
        pw = self.v * row
        if power_rn <= pw[-1]:
            j = int(np.clip(np.searchsorted(pw, power_rn) - 1, 0, self.v.size - 2))
            v0, i0 = self.v[j], row[j]
            s = (row[j + 1] - row[j]) / (self.v[j + 1] - self.v[j])
        else:
            v0, i0, s = self.v[-1], row[-1], slope
        # v (i0 + s (v - v0)) = P  ->  s v^2 + (i0 - s v0) v - P = 0
        b = i0 - s * v0
        if s <= 0:
            return power_rn / b if b > 0 else math.nan
        return float(2 * power_rn / (b + math.sqrt(b * b + 4 * s * power_rn)))


_FAMILY_CACHE: OrderedDict[StackParameters, EquilibriumFamily] = OrderedDict()
_FAMILY_LOCK = threading.Lock()


def equilibrium_family(p: StackParameters, progress=None, cancel=None) -> EquilibriumFamily:
    """The cached :class:`EquilibriumFamily` for ``p`` (computed on first use; 8 most recent kept)."""
    with _FAMILY_LOCK:
        fam = _FAMILY_CACHE.get(p)
        if fam is not None:
            _FAMILY_CACHE.move_to_end(p)
            return fam
    fam = EquilibriumFamily(p, progress=progress, cancel=cancel)
    with _FAMILY_LOCK:
        _FAMILY_CACHE[p] = fam
        while len(_FAMILY_CACHE) > 8:
            _FAMILY_CACHE.popitem(last=False)
    return fam


@dataclass(frozen=True)
class StackIV:
    """Self-consistent uniform-heating I(V) of an N-junction stack, ordered by mesa temperature.

    Arrays (n,): ``T_m`` K, ``V`` stack voltage (V), ``v`` = V/N per junction, ``I`` A, ``P`` = IV (W).
    ``backbends`` if dV/dT_m < 0 somewhere; ``extrema`` the per-junction voltages (V) of the local maximum
    and minimum of V along the curve (the instability range), empty without backbending.
    """

    n: int
    alpha: float
    t_bath: float
    r_n: float
    T_m: np.ndarray
    V: np.ndarray
    v: np.ndarray
    I: np.ndarray
    P: np.ndarray
    extrema: tuple[float, ...] = field(default=())

    @property
    def backbends(self) -> bool:
        return bool(np.any(np.diff(self.V) < 0))

    def temperature_at(self, v_junction: float) -> float:
        """T_m (K) where the per-junction voltage first reaches ``v_junction`` (V); NaN if never."""
        idx = np.flatnonzero(self.v >= v_junction)
        if idx.size == 0:
            return math.nan
        k = int(idx[0])
        if k == 0:
            return float(self.T_m[0])
        v0, v1 = self.v[k - 1], self.v[k]
        return float(self.T_m[k - 1] + (v_junction - v0) * (self.T_m[k] - self.T_m[k - 1]) / (v1 - v0))

    def voltage_at_temperature(self, t: float) -> float:
        """Per-junction voltage (V) at mesa temperature ``t`` (K), interpolated along the curve."""
        return float(np.interp(t, self.T_m, self.v))

    def junction_conductance(self) -> tuple[np.ndarray, np.ndarray]:
        """(v, N dI/dV) along the curve: dI/dv = (dI/dT_m)/(dv/dT_m) per junction (S); meaningful as a
        function of v only without backbending."""
        di = np.gradient(self.I, self.T_m)
        dv = np.gradient(self.v, self.T_m)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.v, di / dv

    def swept(self) -> tuple[np.ndarray, np.ndarray]:
        """(V, I) along an upward voltage sweep (V a running maximum; the jump over a backbend)."""
        keep = self.V >= np.maximum.accumulate(self.V)
        keep &= np.concatenate(([True], np.diff(self.V) > 0))
        return self.V[keep], self.I[keep]


def stack_iv(
    n_junctions: int,
    alpha: float,
    t_bath: float,
    r_n: float,
    params: StackParameters | None = None,
    t_max: float | None = None,
    n_t: int = 400,
    family: EquilibriumFamily | None = None,
    progress=None,
    cancel=None,
) -> StackIV:
    """[MESA] Sec. III.A: uniform self-heating of N identical junctions, parametrised by T_m.

    For each mesa temperature T_m on a grid from T_B to ``t_max`` (default 1.3 Tc) solve

        N v I_eq(v, T_m) = (T_m - T_B)/alpha        (P = IV rises monotonically along the whole S-curve)

    for the per-junction voltage v (left side increasing in v), then V = N v and I = I_eq(v, T_m).
    ``alpha`` K/W; ``t_bath`` K; ``r_n`` normal resistance per junction (Ohm); I_eq from the cached
    d-wave SIS :class:`EquilibriumFamily` of ``params`` (Delta(T) BCS-type, Gamma(T)). The equilibrium
    table starts at ``params.t_low``; below it the lowest row is used. ``progress(done, total)`` reports the
    family's construction; a set ``cancel`` event raises :class:`analysis.hooks.Cancelled`.
    """
    if n_junctions < 1 or not alpha > 0 or not r_n > 0:
        raise ValueError(f"need N >= 1, alpha > 0 and R_N > 0 (got {n_junctions}, {alpha}, {r_n})")
    p = params if params is not None else StackParameters(t_low=min(4.2, t_bath))
    fam = family if family is not None else equilibrium_family(p, progress=progress, cancel=cancel)
    top = 1.3 * p.tc if t_max is None else float(t_max)
    if not top > t_bath:
        raise ValueError(f"t_max ({top}) must exceed the bath temperature ({t_bath})")
    t_m = np.linspace(t_bath, top, int(n_t))
    if t_bath < p.tc < top and not np.any(t_m == p.tc):
        t_m = np.sort(np.concatenate([t_m, [p.tc * (1 - 1e-9)], [p.tc]]))
    v = np.empty_like(t_m)
    irn = np.empty_like(t_m)
    for k, t in enumerate(t_m):
        if k % 64 == 0:
            check_cancel(cancel, "stack I(V)")
        target = (t - t_bath) / alpha * r_n / n_junctions  # (v I R_N) per junction, V^2
        v[k] = fam.solve_voltage(t, target)
        irn[k] = float(fam.current(np.array([v[k]]), t)[0])
    i = irn / r_n
    big_v = n_junctions * v
    ext: list[float] = []
    d = np.diff(big_v)
    for k in range(1, d.size):
        if d[k - 1] > 0 >= d[k] or d[k - 1] < 0 <= d[k]:
            ext.append(float(v[k]))
    return StackIV(
        n_junctions, float(alpha), float(t_bath), float(r_n), t_m, big_v, v, i, big_v * i, tuple(ext)
    )


# ---------------------------------------------------------------------------------------------------
# Registered models
# ---------------------------------------------------------------------------------------------------
def _spectrum_at(v_query: np.ndarray, curve: ResistanceCurve, t_bath: float, h_a: float) -> np.ndarray:
    """dI/dV (S) of the heating spectrum at |V| along an upward sweep; the T grid extends until V covers
    max |V| (up to the top of a sampled R(T), else 1e8 K), NaN beyond."""
    vmax = float(np.max(np.abs(v_query))) if v_query.size else 0.0
    top = curve.t_range[1] if math.isfinite(curve.t_range[1]) else 1e8
    span = min(50.0, top - t_bath)
    if not span > 0:
        raise ValueError(f"the bath temperature {t_bath} K lies above the range of R(T)")
    u = np.linspace(0.0, 1.0, 2000)
    while True:
        # T - T_B ~ u^2 makes V ~ sqrt(P R) roughly uniform in u
        spec = heating_spectrum(curve, t_bath, h_a, T=t_bath + span * u * u)
        if spec.V[-1] >= vmax or t_bath + span >= top:
            break
        span = min(2.0 * span, top - t_bath)
    vs, _, gs = spec.swept()
    out = np.interp(np.abs(v_query), vs, gs, right=np.nan)
    return out


class HeatingSpectrumModel(Model):
    """[ITS] heating spectrum dI/dV(V) of an ohmic sample with R(T) heated by Newton cooling.

    Parametrised by T: P = hA (T - T_B), V = sqrt(P R), I = sqrt(P/R),
    G = (1/R)[R - (T - T_B)R'] / [R + (T - T_B)R'], with the default c-axis form
    R(T) = (R_min/2)(T*/T + T/T*). Construct ``HeatingSpectrumModel(resistance=ResistanceCurve...)`` to use
    a measured R(T) instead: that instance has only hA and T_B as parameters. Symmetric in V; beyond a
    backbend the upward-sweep branch is used.
    """

    name = "heating_spectrum"
    title = "Heating spectrum from R(T) (Newton cooling)"
    family = "Self-heating"
    x_name, x_unit = "Bias", "V"
    y_name, y_unit = "dI/dV", "S"
    params = (
        Param("h_a", "W/K", 16e-6, 1e-8, 1e-2, "heat conductance hA = 1/alpha"),
        Param("T_B", "K", 4.2, 0.3, 400.0, "bath temperature", vary=False),
        Param("R_min", "Ohm", 100.0, 1e-2, 1e8, "minimum of R(T) (default R(T) form)"),
        Param("T_star", "K", 150.0, 5.0, 1000.0, "temperature of the R(T) minimum (default form)"),
    )
    contract_recover = ("h_a", "R_min")
    formula = "G = (1/R)[R - (T-T_B)R'(T)]/[R + (T-T_B)R'(T)],  V = sqrt(hA (T-T_B) R(T))"
    reference = "[ITS] 'What does intrinsic tunnelling spectroscopy really examine?', Eq. 1 and Figs. 2-3"

    def __init__(self, resistance: ResistanceCurve | None = None) -> None:
        self.resistance = resistance
        if resistance is not None:  # a measured R(T): only hA and T_B remain parameters
            self.params = tuple(p for p in type(self).params if p.name in ("h_a", "T_B"))

    def example_x(self) -> np.ndarray:
        return np.linspace(-0.4, 0.4, 161)

    def evaluate(self, x, h_a, T_B, R_min=None, T_star=None):
        curve = self.resistance if self.resistance is not None else semiconducting_resistance(R_min, T_star)
        return _spectrum_at(np.asarray(x, dtype=float), curve, T_B, h_a)

    def guess(self, x, y, **known):
        """R_min from the zero-bias conductance 1/R(T_B) (default R(T) form, T* kept), then hA by a
        logarithmic scan (1e-9 to 1e-1 W/K) minimising the squared residual."""
        d = {**self.defaults(), **known}
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y) & (y > 0)
        if not ok.any():
            return self.clip_to_bounds(d)
        g0 = float(y[ok][np.argmin(np.abs(x[ok]))])
        if self.resistance is None:
            # R(T_B) = (R_min/2)(T*/T_B + T_B/T*): keep T* and solve for R_min
            d["R_min"] = 2.0 / g0 / (d["T_star"] / d["T_B"] + d["T_B"] / d["T_star"])
        best = (math.inf, d["h_a"])
        for h_a in np.geomspace(1e-9, 1e-1, 41):
            with np.errstate(all="ignore"):
                model = self.evaluate(x[ok], **{**d, "h_a": float(h_a)})
            cost = float(np.nansum((model - y[ok]) ** 2) + np.isnan(model).sum() * np.max(y[ok]) ** 2)
            if cost < best[0]:
                best = (cost, float(h_a))
        d["h_a"] = best[1]
        return self.clip_to_bounds(d)


class StackHeatingModel(Model):
    """[MESA] self-consistent uniform-heating I(V) of an N-junction d-wave SIS stack (Newton cooling).

    I(V) from N v I_eq(v, T_m) = (T_m - T_B)/alpha, V = N v; I_eq the equilibrium d-wave SIS current with
    Delta(T) = Delta0 tanh(1.74 sqrt(Tc/T - 1)) and constant Gamma. The equilibrium family is cached, so
    fitting alpha and R_N (per junction) is cheap; changing Delta0, Gamma or Tc recomputes it. Odd in V;
    beyond a backbend the upward-sweep branch is used.
    """

    name = "mesa_stack_heating"
    title = "Self-heated junction stack I(V)"
    family = "Self-heating"
    x_name, x_unit = "Bias", "V"
    y_name, y_unit = "Current", "A"
    params = (
        Param("alpha", "K/W", 1.1e5, 1e3, 1e6, "thermal resistance (110 K/mW = 1.1e5 K/W)"),
        Param("R_N", "Ohm", 24.2, 1e-3, 1e9, "normal resistance per junction"),
        Param("N", "", 12.0, 1.0, 2000.0, "number of junctions (integer, fixed)", vary=False),
        Param("T_B", "K", 4.2, 0.3, 300.0, "bath temperature", vary=False),
        Param("delta0", "eV", 24e-3, 1e-3, 0.1, "Delta(0)", vary=False),
        Param("gamma", "eV", 0.55e-3, 1e-4, 0.02, "Dynes broadening Gamma", vary=False),
        Param("Tc", "K", 74.0, 1.0, 200.0, "critical temperature", vary=False),
    )
    formula = "N v I_eq(v, T_m) = (T_m - T_B)/alpha;  V = N v,  I = I_eq(v, T_m)"
    reference = "[MESA] Sec. III.A (Newton cooling Eq. 2, d-wave DOS Eq. 1)"
    contract_recover = ("alpha", "R_N")

    def example_x(self) -> np.ndarray:
        return np.linspace(-0.6, 0.6, 121)

    def evaluate(self, x, alpha, R_N, N, T_B, delta0, gamma, Tc):
        x = np.asarray(x, dtype=float)
        v_max = 6.0 * float(delta0)
        p = StackParameters(
            delta0=float(delta0),
            tc=float(Tc),
            gamma0=float(gamma),
            t_low=min(4.2, float(T_B), 0.5 * float(Tc)),
            v_max=v_max,
            dv=v_max / 120.0,
            n_t=16,
            # bounded cost: at most a few thousand energy nodes and 128 angles per temperature
            de=max(min(float(gamma) / 2.0, float(delta0) / 50.0), v_max / 600.0),
            n_phi=int(min(128, max(64, math.ceil(8 * delta0 / gamma)))),
        )
        s = stack_iv(int(round(N)), alpha, T_B, R_N, p, t_max=max(1.3 * Tc, T_B + 1.0), n_t=300)
        vs, is_ = s.swept()
        vmax = float(np.max(np.abs(x))) if x.size else 0.0
        if vs[-1] < vmax:  # continue on the ohmic normal branch at T_m >= Tc
            vx = np.linspace(vs[-1], vmax, 50)[1:]
            t_hot = T_B + alpha * vx**2 / (int(round(N)) * R_N)
            ok = t_hot >= Tc
            vs = np.concatenate([vs, vx[ok]])
            is_ = np.concatenate([is_, vx[ok] / (int(round(N)) * R_N)])
        return np.sign(x) * np.interp(np.abs(x), vs, is_, right=np.nan)

    def guess(self, x, y, **known):
        d = {**self.defaults(), **known}
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y) & (x != 0)
        if ok.sum() >= 2:
            hi = np.abs(x[ok]) >= 0.8 * np.max(np.abs(x[ok]))
            # above the heating transition the stack is ohmic: V/I -> N R_N
            rn = float(np.median(x[ok][hi] / y[ok][hi])) / max(round(d["N"]), 1)
            if rn > 0 and math.isfinite(rn):
                d["R_N"] = rn
        return self.clip_to_bounds(d)


MODELS = [HeatingSpectrumModel, StackHeatingModel]

__all__ = [
    "MODELS",
    "BetaResult",
    "CriticalLoad",
    "EquilibriumFamily",
    "HeatingSpectrum",
    "HeatingSpectrumModel",
    "ResistanceCurve",
    "StackHeatingModel",
    "StackIV",
    "StackParameters",
    "alpha_from_h_a",
    "alpha_lower_bound",
    "contact_term",
    "current_bias_conductance",
    "equilibrium_family",
    "figure_of_merit_beta",
    "gamma_of_t",
    "gap_of_t",
    "h_a_from_alpha",
    "heat_load_to_reach",
    "heating_spectrum",
    "hot_spot_fraction",
    "hot_spot_fraction_thermal",
    "hot_spot_radius",
    "hot_spot_voltage",
    "newton_temperature",
    "resistance_from_heated_iv",
    "resistance_vs_load",
    "semiconducting_resistance",
    "stack_iv",
    "subtract_series_junction",
]
