"""Microwave response of tunnel junctions: Shapiro step amplitudes, the Riedel peak, Tien-Gordon ([HAM]).

Reference: C. A. Hamilton, Phys. Rev. B 5, 912 (1972) ("[HAM]"); N. R. Werthamer, Phys. Rev. 147, 255 (1966);
E. Riedel, Z. Naturforsch. 19a, 1634 (1964); P. K. Tien and J. P. Gordon, Phys. Rev. 129, 647 (1963).

Conventions (SI unless stated): voltages in V, currents in A, frequencies in Hz, resistances in Ohm, gaps
in eV (so ``delta = 0.5875e-3`` is a 0.5875 meV gap and ``delta`` equals Delta/e in volts). The junction
voltage is ``V(t) = V_dc + V_rf cos(2 pi f t)`` and the photon ratio is

    alpha = e V_rf / (h f)                                                   (dimensionless)

Formulas implemented here:

- Eq. 4 (constant I_J):      I_N = I_J(0) |J_N(2 alpha)|,   step N at V_dc = N h f/(2e)
- Eq. 5 (Riedel, T = 0, identical gaps), x = e V/(2 Delta) = h f_J/(4 Delta):
      I_J = (Delta/(e R)) K(x)            x <= 1
          = (Delta/(e R)) (1/x) K(1/x)    x >= 1
  where K takes the elliptic MODULUS k = x, i.e. ``scipy.special.ellipk(x**2)`` (scipy takes m = k**2);
  I_J(0) = pi Delta/(2 e R) is the Ambegaokar-Baratoff value.
- Eq. 6 (Werthamer):         I_N = | Sum_n J_n(alpha) J_{N-n}(alpha) I_J(|2n - N| f) |
- Eq. 7 (identity):          Sum_n J_n(alpha) J_{N-n}(alpha) = J_N(2 alpha)
- Eq. 8 (Tien-Gordon):       I_dc(V) = Sum_n J_n(alpha)^2 I_0(V + n h f/e)
- Eq. 9 (attenuator):        V_rf = C 10^(-A/20)
- Eq. 10 (sum rule, corrected): the first deviation of Eq. 6 from |J_N(2 alpha)| appears at
  2 alpha ~ N + M with M = 4 Delta/(h f), the step index at the gap.
- Eq. 11 (corrected): see :func:`invert_riedel_peak`.

[FLAG] Eq. 10 and Eq. 11 are garbled in the paper's text; the corrected forms of PHYSICS.md section 10 are
implemented. The Riedel K uses the modulus convention (ellipk(k**2)); ellipk(k) is wrong. The ideal Riedel
function diverges logarithmically at x = 1, so it is broadened either with a complex gap Delta(1 + i delta)
(Scalapino-Wu damping; [HAM] quotes Delta2/Delta ~ 1e-3) or with a triangular gap spread (about 1 %).
With a complex gap, K is continued analytically with Carlson's form K(m) = R_F(0, 1 - m, 1); its real part
tends to Riedel's (1/x) K(1/x) for x > 1 as delta -> 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from analysis.constants import E_CHARGE, H_PLANCK
from analysis.models.base import Model, Param

ArrayLike = np.ndarray | float | Sequence[float]

#: h/e in V/Hz: the quasiparticle (photon) voltage step per unit frequency (4.1357 uV per GHz).
H_OVER_E = H_PLANCK / E_CHARGE
#: h/(2e) in V/Hz: the Josephson step spacing per unit frequency (2.0678 uV per GHz).
H_OVER_2E = H_PLANCK / (2 * E_CHARGE)

_N_EXTRA = 40  # Bessel orders kept beyond |n| = alpha, besides 10 alpha^(1/3) (see _orders)


# ---------------------------------------------------------------------------------------------------
# Photon ratio and attenuator
# ---------------------------------------------------------------------------------------------------
def photon_ratio(v_rf: ArrayLike, f: float) -> np.ndarray:
    """alpha = e V_rf/(h f) for rf amplitude ``v_rf`` (V) at frequency ``f`` (Hz); same shape as v_rf."""
    if not f > 0:
        raise ValueError(f"frequency must be positive, got {f!r} Hz")
    return np.asarray(v_rf, dtype=float) / (H_OVER_E * f)


def rf_voltage(alpha: ArrayLike, f: float) -> np.ndarray:
    """V_rf = alpha h f/e (V), the inverse of :func:`photon_ratio`."""
    if not f > 0:
        raise ValueError(f"frequency must be positive, got {f!r} Hz")
    return np.asarray(alpha, dtype=float) * H_OVER_E * f


def rf_voltage_from_attenuation(attenuation_db: ArrayLike, c: float) -> np.ndarray:
    """[HAM] Eq. 9: V_rf = C 10^(-A/20), attenuator reading A in dB, C in V (the 0 dB rf voltage)."""
    return c * np.power(10.0, -np.asarray(attenuation_db, dtype=float) / 20.0)


def gap_step_index(delta: float, f: float) -> float:
    """M = 4 Delta/(h f): the Josephson step index at the gap voltage (M h f/2e = 2 Delta/e).

    ``delta`` in eV, ``f`` in Hz. For Sn (2 Delta/e = 1.175 mV) at 25.7 GHz, M = 22.1.
    """
    return 4.0 * delta / (H_OVER_E * f)


def _orders(alpha_max: float, n_max_extra: int = 0) -> np.ndarray:
    """Integer Bessel orders -L .. L + extra with L = alpha + 40 + 10 alpha^(1/3) (1D int array).

    J_n(alpha) decays like an Airy function beyond |n| = alpha on the scale (alpha/2)^(1/3), so the
    neglected weight Sum J_n^2 is below 1e-25 for any alpha.
    """
    lim = int(math.ceil(alpha_max + _N_EXTRA + 10.0 * alpha_max ** (1.0 / 3.0)))
    return np.arange(-lim, lim + abs(int(n_max_extra)) + 1)


# ---------------------------------------------------------------------------------------------------
# Eq. 4: Bessel step amplitudes; Tien-Gordon sums
# ---------------------------------------------------------------------------------------------------
def bessel_step_amplitude(order: ArrayLike, alpha: ArrayLike, i_j0: float = 1.0) -> np.ndarray:
    """[HAM] Eq. 4: Josephson step amplitude I_J(0) |J_N(2 alpha)| (A); broadcasts ``order`` and ``alpha``."""
    n = np.asarray(order)
    return i_j0 * np.abs(special.jv(n, 2.0 * np.asarray(alpha, dtype=float)))


def photon_step_weight(order: ArrayLike, alpha: ArrayLike) -> np.ndarray:
    """J_n(alpha)^2: relative amplitude of the n-th photon-assisted quasiparticle step ([HAM] Eq. 8)."""
    return special.jv(np.asarray(order), np.asarray(alpha, dtype=float)) ** 2


def bessel_moments(alpha: float) -> tuple[float, float, float]:
    """(Sum J_n^2, Sum n J_n^2, Sum n^2 J_n^2) over all orders: equal to (1, 0, alpha^2/2) exactly."""
    n = _orders(abs(alpha))
    w = special.jv(n, alpha) ** 2
    return float(w.sum()), float((n * w).sum()), float((n * n * w).sum())


def _as_iv_callable(i0) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorised I_0(V) from a callable or from sampled (V, I) arrays.

    Sampled curves are interpolated linearly and continued outside the measured range along straight lines
    with the end slopes (the ohmic asymptote), so that an ohmic curve stays exactly ohmic.
    """
    if callable(i0):
        return lambda v: np.asarray(i0(v), dtype=float)
    try:
        v_s, i_s = (np.asarray(a, dtype=float).ravel() for a in i0)
    except (TypeError, ValueError) as exc:
        raise ValueError("I_0 must be a callable I(V) or a pair of arrays (V, I)") from exc
    if v_s.shape != i_s.shape or v_s.size < 2:
        raise ValueError(f"I_0 arrays must have the same length >= 2, got {v_s.shape} and {i_s.shape}")
    ok = np.isfinite(v_s) & np.isfinite(i_s)
    v_s, i_s = v_s[ok], i_s[ok]
    order = np.argsort(v_s, kind="stable")
    v_s, i_s = v_s[order], i_s[order]
    keep = np.concatenate(([True], np.diff(v_s) > 0))
    v_s, i_s = v_s[keep], i_s[keep]
    if v_s.size < 2:
        raise ValueError("I_0 needs at least two distinct finite bias points")
    g_lo = (i_s[1] - i_s[0]) / (v_s[1] - v_s[0])
    g_hi = (i_s[-1] - i_s[-2]) / (v_s[-1] - v_s[-2])

    def f(v):
        v = np.asarray(v, dtype=float)
        out = np.interp(v, v_s, i_s)
        lo = v < v_s[0]
        hi = v > v_s[-1]
        out = np.where(lo, i_s[0] + g_lo * (v - v_s[0]), out)
        return np.where(hi, i_s[-1] + g_hi * (v - v_s[-1]), out)

    return f


def tien_gordon_current(v: ArrayLike, i0, v_rf: float, f: float) -> np.ndarray:
    """[HAM] Eq. 8 (Tien-Gordon): I_dc(V) = Sum_n J_n(alpha)^2 I_0(V + n h f/e), alpha = e V_rf/(h f).

    ``v`` (nb,) dc bias in V; ``i0`` the measured current without rf, either a callable I_0(V) -> A or a
    pair of arrays (V, I) (interpolated, continued linearly outside the range); ``v_rf`` (V), ``f`` (Hz).
    Returns (nb,) A. Orders |n| <= alpha + 40 + 10 alpha^(1/3) are summed (neglected weight < 1e-25).
    """
    v = np.asarray(v, dtype=float)
    if v_rf < 0:
        raise ValueError(f"rf amplitude must be >= 0, got {v_rf!r} V")
    fn = _as_iv_callable(i0)
    alpha = float(photon_ratio(v_rf, f))
    if alpha == 0.0:
        return fn(v).astype(float)
    n = _orders(alpha)
    w = special.jv(n, alpha) ** 2  # (k,)
    shifted = v[None, :] + (n * H_OVER_E * f)[:, None]  # (k, nb)
    vals = fn(shifted.ravel()).reshape(shifted.shape)
    return np.einsum("k,kb->b", w, vals)


# ---------------------------------------------------------------------------------------------------
# Eq. 5: the Riedel function
# ---------------------------------------------------------------------------------------------------
def _riedel_reduced(x: np.ndarray, damping: float) -> np.ndarray:
    """Dimensionless Riedel function I_J e R/Delta at reduced voltage x = eV/(2 Delta) (x >= 0)."""
    x = np.abs(np.asarray(x, dtype=float))
    if damping > 0:
        xc = x / (1.0 + 1j * damping)
        return special.elliprf(0.0, 1.0 - xc * xc, 1.0).real
    out = np.empty_like(x)
    lo = x < 1.0
    hi = x > 1.0
    out[lo] = special.ellipk(x[lo] ** 2)
    out[hi] = special.ellipk(1.0 / x[hi] ** 2) / x[hi]
    out[~(lo | hi)] = np.inf
    return out


def riedel_current(
    v: ArrayLike,
    delta: float,
    r_n: float,
    damping: float = 0.0,
    gap_spread: float = 0.0,
    n_spread: int = 1001,
) -> np.ndarray:
    """[HAM] Eq. 5: the Riedel pair-current amplitude I_J at dc-equivalent voltage V = h f_J/(2e).

    ``v`` (nb,) V (sign ignored: I_J is even in f_J); ``delta`` gap in eV; ``r_n`` normal resistance (Ohm).
    Returns (nb,) A. I_J(0) = pi Delta/(2 e R_N); log divergence at eV = 2 Delta unless broadened:

    - ``damping`` delta_2 = Im(Delta)/Re(Delta) >= 0: complex gap Delta(1 + i delta_2), I_J = (Delta/eR)
      Re K(m = x_c^2) with x_c = eV/(2 Delta (1 + i delta_2)), K(m) = R_F(0, 1 - m, 1).
    - ``gap_spread`` w >= 0: triangular distribution of Delta' on [Delta(1-w), Delta(1+w)] (peak at Delta),
      averaged with an ``n_spread``-point midpoint rule (the prefactor Delta'/eR is averaged too). The
      damping is then floored at w/n_spread (half the node spacing), which keeps every node finite and the
      integrand smooth on the node scale; it is negligible against the spread itself.
    """
    if not delta > 0 or not r_n > 0:
        raise ValueError(f"gap and resistance must be positive (delta={delta!r} eV, R={r_n!r} Ohm)")
    if damping < 0 or gap_spread < 0 or gap_spread >= 1:
        raise ValueError(f"need damping >= 0 and 0 <= gap_spread < 1, got {damping!r}, {gap_spread!r}")
    v = np.abs(np.asarray(v, dtype=float))
    if gap_spread == 0.0:
        return (delta / r_n) * _riedel_reduced(v / (2.0 * delta), damping)
    n = max(int(n_spread), 3)
    u = (np.arange(n) + 0.5) / n * 2.0 - 1.0  # midpoints on (-1, 1)
    weight = 1.0 - np.abs(u)
    weight /= weight.sum()
    gaps = delta * (1.0 + gap_spread * u)  # (n,)
    shape = v.shape
    x = v.ravel()[None, :] / (2.0 * gaps[:, None])
    vals = (gaps / r_n)[:, None] * _riedel_reduced(x, max(damping, gap_spread / n))
    return np.einsum("n,nb->b", weight, vals).reshape(shape)


def riedel_current_at_frequency(f_j: ArrayLike, delta: float, r_n: float, **kw) -> np.ndarray:
    """I_J(f_J) (A) at Josephson frequency ``f_j`` (Hz): :func:`riedel_current` at V = h f_J/(2e)."""
    return riedel_current(np.asarray(f_j, dtype=float) * H_OVER_2E, delta, r_n, **kw)


def riedel_zero_voltage(delta: float, r_n: float) -> float:
    """I_J(0) = pi Delta/(2 e R_N) (A), Ambegaokar-Baratoff at T = 0; ``delta`` in eV."""
    return math.pi * delta / (2.0 * r_n)


# ---------------------------------------------------------------------------------------------------
# Eq. 6: Werthamer step amplitudes; Eq. 11 inversion
# ---------------------------------------------------------------------------------------------------
def _pair_products(order: int, alpha: np.ndarray, n: np.ndarray) -> np.ndarray:
    """J_n(alpha) J_{N-n}(alpha) as (k, m) for orders n (k,) and alphas (m,); each J evaluated once."""
    both = np.concatenate([n, order - n])
    uniq, inv = np.unique(both, return_inverse=True)
    table = special.jv(uniq[:, None], alpha[None, :])
    return table[inv[: n.size]] * table[inv[n.size :]]


def werthamer_step_amplitude(
    order: int,
    alpha: ArrayLike,
    f: float,
    i_j: Callable[[np.ndarray], np.ndarray] | float,
    signed: bool = False,
) -> np.ndarray:
    """[HAM] Eq. 6: I_N(alpha) = | Sum_n J_n(alpha) J_{N-n}(alpha) I_J(|2n - N| f) |.

    ``order`` step index N; ``alpha`` (m,) photon ratios; ``f`` rf frequency (Hz); ``i_j`` the pair-current
    amplitude as a callable of the Josephson frequency f_J >= 0 (Hz) -> A, or a constant (then Eq. 6 reduces
    to Eq. 4 through Eq. 7). ``signed=True`` returns the sum without the absolute value (the branch used
    for [HAM] Fig. 8 and for the Eq. 11 inversion). Returns (m,) A.
    """
    n_ord = int(order)
    a = np.atleast_1d(np.asarray(alpha, dtype=float))
    n = _orders(float(np.max(np.abs(a))) if a.size else 0.0, n_ord)
    n = np.unique(np.concatenate([n, n_ord - n]))
    if callable(i_j):
        weights = np.asarray(i_j(np.abs(2 * n - n_ord) * f), dtype=float)
    else:
        weights = np.full(n.shape, float(i_j))
    s = np.einsum("k,km->m", weights, _pair_products(n_ord, a, n))
    out = s if signed else np.abs(s)
    return out.reshape(np.shape(alpha))


def werthamer_riedel_step_amplitude(
    order: int,
    alpha: ArrayLike,
    f: float,
    delta: float,
    r_n: float,
    damping: float = 1e-3,
    gap_spread: float = 0.0,
    signed: bool = False,
) -> np.ndarray:
    """Eq. 6 with the (broadened) Riedel function of Eq. 5: step amplitude (A) vs alpha (m,)."""

    def i_j(f_j):
        return riedel_current_at_frequency(f_j, delta, r_n, damping=damping, gap_spread=gap_spread)

    return werthamer_step_amplitude(order, alpha, f, i_j, signed=signed)


@dataclass(frozen=True)
class RiedelInversion:
    """Result of the Eq. 11 inversion: I_J at the resonant Josephson frequency f'_J = (2n' - N) f."""

    f_j: float  # Hz
    i_j: float  # A
    n_prime: int
    n_second: int
    denominator: float  # 2 J_n'(alpha) J_{N-n'}(alpha)


def invert_riedel_peak(
    i_e: float,
    order: int,
    alpha: float,
    f: float,
    i_j_theory: Callable[[np.ndarray], np.ndarray],
    f_peak: float,
) -> RiedelInversion:
    """[HAM] Eq. 11 (corrected): recover I_J(f'_J) near the Riedel peak from one measured step amplitude.

    The resonant orders are n' (with (2n' - N) f closest to ``f_peak`` = 4 Delta/h, Hz) and n'' = N - n'.
    They share I_J(f'_J) = I_J(-f'_J) and J_n'' J_{N-n''} = J_n' J_{N-n'}, so

        I_J(f'_J) = [ I_e - Sum_{n != n', n''} J_n J_{N-n} I_J((2n - N) f) ] / (2 J_n'(alpha) J_{N-n'}(alpha))

    with the theoretical ``i_j_theory(f_J)`` (A) everywhere except at the peak and the signed Eq. 6 branch
    (``i_e`` carries the sign of that branch, in A). Raises ValueError when the denominator vanishes.
    """
    n_ord = int(order)
    n1 = int(round((f_peak / f + n_ord) / 2.0))
    n2 = n_ord - n1
    if n1 == n2:
        raise ValueError(
            "the resonant term is the f_J = 0 term; choose N and f so that |2n' - N| f ~ 4 Delta/h"
        )
    n = _orders(abs(alpha), n_ord)
    n = np.unique(np.concatenate([n, n_ord - n, [n1, n2]]))
    n = n[(n != n1) & (n != n2)]
    a = np.array([float(alpha)])
    rest = float(
        np.einsum(
            "k,km->m", np.asarray(i_j_theory(np.abs(2 * n - n_ord) * f), float), _pair_products(n_ord, a, n)
        )[0]
    )
    den = 2.0 * float(special.jv(n1, alpha) * special.jv(n_ord - n1, alpha))
    if den == 0.0 or not math.isfinite(den):
        raise ValueError(f"Eq. 11 denominator vanishes at N={n_ord}, alpha={alpha!r}")
    return RiedelInversion(abs(2 * n1 - n_ord) * f, (float(i_e) - rest) / den, n1, n2, den)


def first_bessel_deviation(
    order: int,
    two_alpha: np.ndarray,
    amplitude: np.ndarray,
    i_j0: float,
    threshold: float = 0.01,
) -> float:
    """Smallest 2 alpha at which |amplitude - I_J(0)|J_N(2 alpha)|| exceeds ``threshold`` I_J(0).

    ``two_alpha`` (m,) ascending, ``amplitude`` (m,) A (e.g. from Eq. 6). NaN when it never does. This is the
    quantity the Eq. 10 sum rule predicts to be about N + M.
    """
    two_alpha = np.asarray(two_alpha, dtype=float)
    dev = np.abs(np.asarray(amplitude, float) - bessel_step_amplitude(order, two_alpha / 2.0, i_j0))
    hit = np.flatnonzero(dev > threshold * i_j0)
    return float(two_alpha[hit[0]]) if hit.size else math.nan


# ---------------------------------------------------------------------------------------------------
# Eq. 9: joint attenuator calibration from Josephson and quasiparticle step amplitudes
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepData:
    """Measured amplitudes of one step versus attenuator reading.

    ``kind`` "josephson" (step N at N h f/2e, law |J_N(2 alpha)|) or "qp" (photon-assisted step n at
    2 Delta/e + n h f/e, law J_n(alpha)^2); ``attenuation`` (m,) dB; ``amplitude`` (m,) A.
    """

    kind: str
    order: int
    attenuation: np.ndarray
    amplitude: np.ndarray

    def __post_init__(self):
        if self.kind not in ("josephson", "qp"):
            raise ValueError(f"step kind must be 'josephson' or 'qp', got {self.kind!r}")
        a = np.asarray(self.attenuation, dtype=float).ravel()
        y = np.asarray(self.amplitude, dtype=float).ravel()
        if a.shape != y.shape or a.size == 0:
            raise ValueError(
                f"attenuation and amplitude must have equal non-zero length ({a.shape}, {y.shape})"
            )
        object.__setattr__(self, "attenuation", a)
        object.__setattr__(self, "amplitude", y)


@dataclass(frozen=True)
class AttenuatorFit:
    """Result of :func:`fit_attenuator_calibration`.

    ``c`` (V) in V_rf = C 10^(-A/20) with its standard error; ``scales`` {"josephson": I_J(0) (A),
    "qp": quasiparticle step height at V_rf = 0 (A)} for the kinds present, with standard errors in
    ``scales_stderr``; ``rms`` residual (A).
    """

    c: float
    c_stderr: float
    scales: dict[str, float]
    scales_stderr: dict[str, float]
    rms: float
    residuals: np.ndarray = field(repr=False)


def _c_search_grid(attenuation_min: float, f: float, alpha_lo: float, alpha_hi: float) -> np.ndarray:
    """Candidate attenuator constants C (V) for a grid search.

    The rf ratio at the weakest attenuation, alpha_top = e C 10^(-A_min/20)/(h f), runs from ``alpha_lo``
    to ``alpha_hi`` in steps of at most 5 % and at most 0.1, so that no Bessel oscillation is skipped.
    """
    a, vals = alpha_lo, []
    while a <= alpha_hi:
        vals.append(a)
        a = min(a * 1.05, a + 0.1)
    return np.asarray(rf_voltage(np.asarray(vals), f)) * 10 ** (attenuation_min / 20)


def _law(kind: str, order: int, alpha: np.ndarray, josephson_law) -> np.ndarray:
    if kind == "qp":
        return photon_step_weight(order, alpha)
    if josephson_law is None:
        return bessel_step_amplitude(order, alpha)
    return np.asarray(josephson_law(order, alpha), dtype=float)


def fit_attenuator_calibration(
    steps: Sequence[StepData],
    f: float,
    c_range: tuple[float, float] | None = None,
    josephson_law: Callable[[int, np.ndarray], np.ndarray] | None = None,
    n_grid: int = 400,
) -> AttenuatorFit:
    """Fit one attenuator constant C common to Josephson and quasiparticle step amplitudes ([HAM] Eq. 9).

    Model: Josephson step N: S_J |J_N(2 alpha)| (or ``josephson_law(N, alpha)`` times S_J, e.g. the Eq. 6
    amplitude normalised to I_J(0)); photon step n: S_qp J_n(alpha)^2; alpha = e C 10^(-A/20)/(h f).
    One amplitude scale per kind. The amplitude scales enter linearly and are solved exactly for each C;
    C is first located by a grid search (alpha at the weakest attenuation from 0.05 to 150 in steps fine
    enough to follow the Bessel oscillations, restricted to ``c_range`` in V when given) and then refined
    by least squares on (C, scales). ``f`` in Hz.
    """
    if not steps:
        raise ValueError("no step data given")
    kinds = sorted({s.kind for s in steps})
    a_all = np.concatenate([s.attenuation for s in steps])
    y_all = np.concatenate([s.amplitude for s in steps])
    if not np.all(np.isfinite(a_all)) or not np.all(np.isfinite(y_all)):
        raise ValueError("step data contain non-finite values")
    grid = _c_search_grid(float(a_all.min()), f, 0.05, 150.0)
    if c_range is not None:
        c_lo, c_hi = (float(c) for c in c_range)
        if not 0 < c_lo < c_hi:
            raise ValueError(f"invalid C search range ({c_lo!r}, {c_hi!r}) V")
        grid = grid[(grid >= c_lo) & (grid <= c_hi)]
        if grid.size == 0:
            grid = np.geomspace(c_lo, c_hi, int(n_grid))

    def design(c):
        cols = np.zeros((y_all.size, len(kinds)))
        row = 0
        for s in steps:
            alpha = photon_ratio(rf_voltage_from_attenuation(s.attenuation, c), f)
            cols[row : row + s.amplitude.size, kinds.index(s.kind)] = _law(
                s.kind, s.order, alpha, josephson_law
            )
            row += s.amplitude.size
        return cols

    def linear(c):
        d = design(c)
        coef, *_ = np.linalg.lstsq(d, y_all, rcond=None)
        return coef, y_all - d @ coef

    costs = np.array([np.sum(linear(c)[1] ** 2) for c in grid])
    i0 = int(np.argmin(costs))
    coef0, _ = linear(grid[i0])

    def resid(p):
        return y_all - design(math.exp(p[0])) @ p[1:]

    x0 = np.concatenate([[math.log(grid[i0])], coef0])
    sol = optimize.least_squares(resid, x0, x_scale="jac")
    c = math.exp(sol.x[0])
    r = sol.fun
    dof = max(r.size - sol.x.size, 1)
    s2 = float(r @ r) / dof
    try:
        err = np.sqrt(np.maximum(np.diag(np.linalg.inv(sol.jac.T @ sol.jac) * s2), 0.0))
    except np.linalg.LinAlgError:
        err = np.full(sol.x.size, math.nan)
    scales = {k: float(sol.x[1 + i]) for i, k in enumerate(kinds)}
    scales_err = {k: float(err[1 + i]) for i, k in enumerate(kinds)}
    return AttenuatorFit(
        c=c,
        c_stderr=c * float(err[0]),
        scales=scales,
        scales_stderr=scales_err,
        rms=math.sqrt(float(r @ r) / r.size),
        residuals=r,
    )


# ---------------------------------------------------------------------------------------------------
# Registered models (step amplitude vs rf voltage or vs attenuation)
#
# N (step index) and f are fixed parameters; ``guess(x, y, **known)`` takes their actual values as keywords.
# ---------------------------------------------------------------------------------------------------
_F_PARAM = Param("f", "Hz", 25.7e9, 1e9, 1e12, "microwave frequency", vary=False)
_C_PARAM = Param("C", "V", 8e-3, 1e-6, 10.0, "rf voltage at 0 dB attenuation")


def _order_param(default: int = 0) -> Param:
    return Param("N", "", float(default), -100.0, 100.0, "step index (integer, fixed)", vary=False)


def _scale_guess(shape: np.ndarray, y: np.ndarray) -> float:
    """Least-squares amplitude s minimising |y - s shape|^2 (positive), or max|y| if degenerate."""
    den = float(shape @ shape)
    s = float(shape @ y) / den if den > 0 else 0.0
    return s if s > 0 else float(np.max(np.abs(y))) if y.size else 1.0


def _guess_scale(model: Model, x, y, scale_name: str, known) -> dict[str, float]:
    """Defaults (updated by ``known``) with the amplitude ``scale_name`` solved linearly against ``y``."""
    d = {**model.defaults(), **known}
    args = {name: d[name] for name in model.param_names}
    shape = model.evaluate(np.asarray(x, float), **{**args, scale_name: 1.0})
    d[scale_name] = _scale_guess(shape, np.asarray(y, float))
    return model.clip_to_bounds(d)


class _StepAmplitudeModel(Model):
    """Microwave models of a step amplitude (A)."""

    family = "Microwave"
    y_name, y_unit = "step amplitude", "A"


class _RfVoltageAxis(_StepAmplitudeModel):
    """Models whose independent variable is the rf voltage amplitude V_rf (V)."""

    x_name, x_unit = "rf voltage", "V"

    def example_x(self) -> np.ndarray:
        """V_rf from 0 to 2.5 mV (2 alpha up to about 47 at 25.7 GHz, the range of [HAM])."""
        return np.linspace(0.0, 2.5e-3, 201)


class _AttenuationAxis(_StepAmplitudeModel):
    """Models whose independent variable is the attenuator reading A (dB)."""

    x_name, x_unit = "attenuation", "dB"

    def example_x(self) -> np.ndarray:
        """A from 10 to 40 dB."""
        return np.linspace(10.0, 40.0, 151)


class ShapiroBesselModel(_RfVoltageAxis):
    """Josephson step amplitude vs rf voltage, constant I_J ([HAM] Eq. 4).

    I_N(V_rf) = I_J0 |J_N(2 e V_rf/(h f))|, with N and f fixed (N is rounded to an integer).
    """

    name = "shapiro_bessel"
    title = "Shapiro step amplitude (Bessel law)"
    params = (
        Param("I_J0", "A", 1e-4, 0.0, 1.0, "zero-voltage Josephson current I_J(0)"),
        _F_PARAM,
        _order_param(0),
    )
    formula = "I_N = I_J0 |J_N(2 alpha)|,  alpha = e V_rf/(h f)"
    reference = "C. A. Hamilton, Phys. Rev. B 5, 912 (1972), Eq. 4"

    def evaluate(self, x, I_J0, f, N):
        return bessel_step_amplitude(int(round(N)), photon_ratio(x, f), I_J0)

    def guess(self, x, y, **known):
        return _guess_scale(self, x, y, "I_J0", known)


class ShapiroWerthamerModel(_RfVoltageAxis):
    """Josephson step amplitude vs rf voltage with the broadened Riedel peak ([HAM] Eqs. 5, 6).

    I_N(V_rf) = | Sum_n J_n(alpha) J_{N-n}(alpha) I_J(|2n - N| f) |,
    I_J(f_J) = I_J0 * Riedel(h f_J/(2e); Delta, damping) / Riedel(0), i.e. the Riedel shape scaled to a
    measured zero-voltage current I_J0 (in [HAM] about 80 % of pi Delta/(2eR)). N and f are fixed.
    """

    name = "shapiro_werthamer"
    title = "Shapiro step amplitude (Werthamer + Riedel)"
    params = (
        Param("I_J0", "A", 1e-4, 0.0, 1.0, "zero-voltage Josephson current I_J(0)"),
        Param("delta", "eV", 0.5875e-3, 1e-5, 0.1, "superconducting gap Delta"),
        Param(
            "damping", "", 1e-3, 1e-5, 0.2, "Im(Delta)/Re(Delta): broadening of the Riedel peak", vary=False
        ),
        _F_PARAM,
        _order_param(0),
    )
    formula = "I_N = |Sum_n J_n(alpha) J_{N-n}(alpha) I_J(|2n-N| f)|,  I_J Riedel (modulus k = eV/2Delta)"
    reference = (
        "C. A. Hamilton, Phys. Rev. B 5, 912 (1972), Eqs. 5-6; N. R. Werthamer, Phys. Rev. 147, 255 (1966)"
    )
    # the broadening shows only in a narrow band of rf voltage and frequency: fixed unless freed by the user
    contract_recover = ("I_J0", "delta")

    def evaluate(self, x, I_J0, delta, damping, f, N):
        norm = I_J0 / riedel_zero_voltage(delta, 1.0)

        def i_j(f_j):
            return norm * riedel_current_at_frequency(f_j, delta, 1.0, damping=damping)

        return werthamer_step_amplitude(int(round(N)), photon_ratio(x, f), f, i_j)

    def guess(self, x, y, **known):
        d = {**self.defaults(), **known}
        shape = bessel_step_amplitude(int(round(d["N"])), photon_ratio(np.asarray(x, float), d["f"]))
        d["I_J0"] = _scale_guess(shape, np.asarray(y, float))
        return self.clip_to_bounds(d)


class PhotonStepModel(_RfVoltageAxis):
    """Photon-assisted quasiparticle step amplitude vs rf voltage ([HAM] Eq. 8): S J_n(e V_rf/(h f))^2."""

    name = "photon_assisted_step"
    title = "Photon-assisted QP step amplitude"
    params = (
        Param("S", "A", 1e-4, 0.0, 1.0, "quasiparticle current step at the gap without rf"),
        _F_PARAM,
        _order_param(0),
    )
    formula = "I_n = S J_n(alpha)^2,  alpha = e V_rf/(h f)"
    reference = (
        "C. A. Hamilton, Phys. Rev. B 5, 912 (1972), Eq. 8; Tien and Gordon, Phys. Rev. 129, 647 (1963)"
    )

    def evaluate(self, x, S, f, N):
        return S * photon_step_weight(int(round(N)), photon_ratio(x, f))

    def guess(self, x, y, **known):
        return _guess_scale(self, x, y, "S", known)


def _guess_c(model: Model, x: np.ndarray, y: np.ndarray, scale_name: str, known) -> dict[str, float]:
    """Grid search of C (see :func:`_c_search_grid`, alpha_top 0.05-150, inside the C bounds) with the
    amplitude scale solved linearly. ``known`` fixes other parameters (e.g. the step index N and f)."""
    d = {**model.defaults(), **known}
    p_c = model.param("C")
    best = (math.inf, d["C"], d[scale_name])
    grid = _c_search_grid(float(np.min(x)) if x.size else 0.0, d["f"], 0.05, 150.0)
    grid = grid[(grid >= p_c.min) & (grid <= p_c.max)]
    for c in grid:
        shape = model.evaluate(x, **{**d, "C": c, scale_name: 1.0})
        s = _scale_guess(shape, y)
        cost = float(np.sum((y - s * shape) ** 2))
        if cost < best[0]:
            best = (cost, c, s)
    d["C"], d[scale_name] = best[1], best[2]
    return model.clip_to_bounds(d)


class ShapiroAttenuationModel(_AttenuationAxis):
    """Josephson step amplitude vs attenuator reading A (dB), Bessel law with V_rf = C 10^(-A/20)."""

    name = "shapiro_bessel_attenuation"
    title = "Shapiro step amplitude vs attenuation"
    params = (
        Param("I_J0", "A", 1e-4, 0.0, 1.0, "zero-voltage Josephson current I_J(0)"),
        _C_PARAM,
        _F_PARAM,
        _order_param(0),
    )
    formula = "I_N = I_J0 |J_N(2 e C 10^(-A/20)/(h f))|"
    reference = "C. A. Hamilton, Phys. Rev. B 5, 912 (1972), Eqs. 4, 9"

    def evaluate(self, x, I_J0, C, f, N):
        return bessel_step_amplitude(int(round(N)), photon_ratio(rf_voltage_from_attenuation(x, C), f), I_J0)

    def guess(self, x, y, **known):
        return _guess_c(self, np.asarray(x, float), np.asarray(y, float), "I_J0", known)


class PhotonStepAttenuationModel(_AttenuationAxis):
    """Photon-assisted QP step amplitude vs attenuator reading A (dB): S J_n(e C 10^(-A/20)/(h f))^2."""

    name = "photon_assisted_step_attenuation"
    title = "Photon-assisted QP step vs attenuation"
    params = (
        Param("S", "A", 1e-4, 0.0, 1.0, "quasiparticle current step at the gap without rf"),
        _C_PARAM,
        _F_PARAM,
        _order_param(0),
    )
    formula = "I_n = S J_n(e C 10^(-A/20)/(h f))^2"
    reference = "C. A. Hamilton, Phys. Rev. B 5, 912 (1972), Eqs. 8, 9"

    def evaluate(self, x, S, C, f, N):
        return S * photon_step_weight(int(round(N)), photon_ratio(rf_voltage_from_attenuation(x, C), f))

    def guess(self, x, y, **known):
        return _guess_c(self, np.asarray(x, float), np.asarray(y, float), "S", known)


MODELS = [
    ShapiroBesselModel,
    ShapiroWerthamerModel,
    PhotonStepModel,
    ShapiroAttenuationModel,
    PhotonStepAttenuationModel,
]

__all__ = [
    "H_OVER_2E",
    "H_OVER_E",
    "MODELS",
    "AttenuatorFit",
    "PhotonStepAttenuationModel",
    "PhotonStepModel",
    "RiedelInversion",
    "ShapiroAttenuationModel",
    "ShapiroBesselModel",
    "ShapiroWerthamerModel",
    "StepData",
    "bessel_moments",
    "bessel_step_amplitude",
    "first_bessel_deviation",
    "fit_attenuator_calibration",
    "gap_step_index",
    "invert_riedel_peak",
    "photon_ratio",
    "photon_step_weight",
    "rf_voltage",
    "rf_voltage_from_attenuation",
    "riedel_current",
    "riedel_current_at_frequency",
    "riedel_zero_voltage",
    "tien_gordon_current",
    "werthamer_riedel_step_amplitude",
    "werthamer_step_amplitude",
]
