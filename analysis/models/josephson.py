"""Josephson tunnelling: Ambegaokar-Baratoff, Josephson energy and Ivanchenko-Zil'berman phase diffusion.

Units: gaps in eV, temperatures in K, resistances in Ohm, currents in A, voltages in V. ``ab_icrn`` returns
the product Ic R_N in volts, so ``ab_icrn(2.5e-3, 2.5e-3, 2.1)`` is about 3.93e-3.

Ambegaokar-Baratoff (tunnel limit, any temperature)::

    Ic R_N = (pi Delta / 2e) tanh(Delta / 2kT)                                    equal gaps
    Ic R_N = (2 pi kT / e) Sum_n D1 D2 / sqrt((w_n^2 + D1^2)(w_n^2 + D2^2)),  w_n = pi kT (2n+1)
    Ic R_N = (2/e) D1 D2 / (D1 + D2) K(m),  m = ((D1 - D2)/(D1 + D2))^2                      T = 0

Ivanchenko-Zil'berman (a voltage source V behind a series resistance R with Johnson noise at T_eff)::

    I(V) = Ic Im[ I_{1 - i eta}(x) / I_{-i eta}(x) ],   x = hbar Ic / (2 e kB T_eff),   eta = V / V_p,
    V_p = 2 e R kB T_eff / hbar

The Bessel ratio of complex order is evaluated by its Gauss continued fraction, vectorised over V (see
:func:`bessel_ratio`); no special-function library is needed and nothing overflows for large x.

Flags carried from the papers: the [JSTM] observability criterion R_N < (Delta/kT) hbar/e^2 drops the
factor (pi/4) tanh(Delta/2kT) of the exact AB form (:func:`observability` gives both), and its "IcRn of
about 4 meV" is the AB expectation used to pin Ic in the IZ fits (:func:`fit_phase_diffusion`), not a
measured switching current: phase diffusion keeps the measured peak far below Ic.

References: Ambegaokar & Baratoff, PRL 10, 486 (1963); Ivanchenko & Zil'berman, Sov. Phys. JETP 28, 1272
(1969); Naaman, Teizer & Dynes, PRL 87, 097004 (2001); Josephson STM with MgB2 tips (the [JSTM] paper).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy import optimize, special

from analysis.constants import E_CHARGE, HBAR, K_B, K_B_EV, R0_HBAR_E2
from analysis.models import accel
from analysis.models.base import Model, Param

# ---------------------------------------------------------------------------------------------------
# Ambegaokar-Baratoff
# ---------------------------------------------------------------------------------------------------

_MATSUBARA_MAX_TERMS = 20_000_000
_MAX_NFEV = 2000  # function evaluations allowed in the phase-diffusion fits


def _ab_elliptic_t0(d1: float, d2: float) -> float:
    """T = 0 AB product (V) for gaps d1, d2 (eV): (2/e) d1 d2/(d1+d2) K(m)."""
    s = d1 + d2
    m = ((d1 - d2) / s) ** 2
    return 2.0 * d1 * d2 / s * float(special.ellipk(m))


def _ab_matsubara(d1: float, d2: float, kt: float, w_max_factor: float = 200.0) -> float:
    """Matsubara sum (V) truncated at w_n ~ w_max_factor * max gap, with the analytic tail added.

    The tail Sum_{n>N} d1 d2 / sqrt((w^2+d1^2)(w^2+d2^2)) is expanded to second order in 1/w^2:
    d1 d2 [S2 - (d1^2 + d2^2)/2 S4] with S2 = psi'(N+3/2)/(4 (pi kT)^2), S4 = psi'''(N+3/2)/(96 (pi kT)^4).
    """
    w_max = w_max_factor * max(d1, d2)
    n_max = max(int(math.ceil((w_max / (math.pi * kt) - 1.0) / 2.0)), 16)
    n = np.arange(n_max + 1, dtype=float)
    w2 = (math.pi * kt * (2.0 * n + 1.0)) ** 2
    head = float(np.sum(d1 * d2 / np.sqrt((w2 + d1 * d1) * (w2 + d2 * d2))))
    z = n_max + 1.5
    pk = math.pi * kt
    s2 = float(special.polygamma(1, z)) / (4.0 * pk**2)
    s4 = float(special.polygamma(3, z)) / (96.0 * pk**4)
    tail = d1 * d2 * (s2 - 0.5 * (d1 * d1 + d2 * d2) * s4)
    return 2.0 * math.pi * kt * (head + tail)


def _ab_scalar(d1: float, d2: float, T: float, method: str) -> float:
    if not (math.isfinite(d1) and math.isfinite(d2) and math.isfinite(T)):
        raise ValueError("ab_icrn needs finite gaps and temperature")
    if T < 0:
        raise ValueError(f"temperature must be >= 0 K, got {T}")
    d1, d2 = abs(d1), abs(d2)
    if d1 == 0.0 or d2 == 0.0:
        return 0.0
    kt = K_B_EV * T
    if method == "auto":
        if d1 == d2:
            method = "tanh"
        elif kt == 0.0 or 200.0 * max(d1, d2) / (2.0 * math.pi * kt) > _MATSUBARA_MAX_TERMS:
            method = "elliptic"
        else:
            method = "matsubara"
    if method == "tanh":
        if d1 != d2:
            raise ValueError("the tanh closed form holds for equal gaps only")
        if kt == 0.0:
            return 0.5 * math.pi * d1
        return 0.5 * math.pi * d1 * math.tanh(d1 / (2.0 * kt))
    if method == "elliptic":
        return _ab_elliptic_t0(d1, d2)
    if method == "matsubara":
        if kt == 0.0:
            return _ab_elliptic_t0(d1, d2)
        return _ab_matsubara(d1, d2, kt)
    raise ValueError(f"unknown method {method!r} (auto, tanh, matsubara, elliptic)")


def ab_icrn(delta1, delta2=None, T=0.0, *, method: str = "auto"):
    """Ambegaokar-Baratoff Ic R_N in volts for gaps ``delta1``, ``delta2`` (eV) at temperature ``T`` (K).

    ``delta2=None`` means equal gaps. ``method``: ``"auto"`` (tanh closed form for equal gaps, Matsubara sum
    with tail correction for unequal gaps, the T = 0 elliptic form at T = 0 or when the sum would need more
    than 2e7 terms), ``"tanh"``, ``"matsubara"`` or ``"elliptic"`` (T = 0 only). Scalars give a float;
    arrays broadcast and give an array. The gaps are taken as given: use ``delta_bcs_interp`` to include
    Delta(T) in a temperature fit. The formula is the tunnel limit; highly transmitting contacts deviate
    (see :data:`KO_ICRN_FACTORS`).
    """
    if delta2 is None:
        delta2 = delta1
    b1, b2, bt = np.broadcast_arrays(
        np.asarray(delta1, float), np.asarray(delta2, float), np.asarray(T, float)
    )
    if b1.ndim == 0:
        return _ab_scalar(float(b1), float(b2), float(bt), method)
    out = np.empty(b1.shape)
    for idx in np.ndindex(b1.shape):
        out[idx] = _ab_scalar(float(b1[idx]), float(b2[idx]), float(bt[idx]), method)
    return out


#: Multichannel point-contact limits at T = 0 (Kulik-Omelyanchuk), as factors of pi Delta/(2e):
#: dirty (KO-1) 1.32, clean (KO-2) 2.0. The AB tunnel limit is 1.
KO_ICRN_FACTORS = {"tunnel (AB)": 1.0, "dirty (KO-1)": 1.32, "clean (KO-2)": 2.0}


def josephson_energy(Ic):
    """Josephson coupling energy E_J = hbar Ic/(2e) in eV for a critical current ``Ic`` in A.

    1 nA gives 2.0541e-6 eV (23.84 mK in temperature units, see :func:`josephson_temperature`).
    """
    out = HBAR * np.asarray(Ic, dtype=float) / (2.0 * E_CHARGE**2)
    return float(out) if out.ndim == 0 else out


def josephson_temperature(Ic):
    """E_J / kB in K for a critical current ``Ic`` in A (23.84 mK per nA)."""
    return josephson_energy(Ic) / K_B_EV


@dataclass(frozen=True)
class Observability:
    """Largest normal-state resistance (Ohm) at which E_J > kB T, in two forms.

    ``r_max_jstm`` is the [JSTM] estimate R_N < (Delta/kT) hbar/e^2, which takes Ic R_N ~ Delta/e.
    ``r_max_exact`` uses the AB product: R_N < hbar (Ic R_N)_AB / (2 e kB T); for equal gaps that is
    (pi/4)(Delta/kT) tanh(Delta/2kT) hbar/e^2. The paper's form drops the pi/4 and the tanh, so it is more
    permissive (59.6 kOhm vs 46.8 kOhm for Delta = 2.5 meV at 2 K). ``observable_*`` compare a given R_N.
    """

    delta1: float
    delta2: float
    T: float
    icrn_ab: float
    r_max_jstm: float
    r_max_exact: float
    R_N: float | None = None
    ratio_ej_kt: float | None = None
    observable_jstm: bool | None = None
    observable_exact: bool | None = None


def observability(delta, T, R_N=None, *, delta2=None) -> Observability:
    """Josephson observability criterion E_J > kB T for gap(s) in eV, ``T`` in K, optional ``R_N`` in Ohm.

    Returns both the [JSTM] criterion R_N < (Delta/kT) R0 with R0 = hbar/e^2 = 4108 Ohm (for unequal gaps
    Delta is the smaller gap) and the exact AB form; see :class:`Observability` for why they differ.
    """
    d1 = abs(float(delta))
    d2 = d1 if delta2 is None else abs(float(delta2))
    T = float(T)
    if T <= 0:
        raise ValueError("the observability criterion needs T > 0 K")
    kt = K_B_EV * T
    icrn = float(ab_icrn(d1, d2, T))
    r_jstm = min(d1, d2) / kt * R0_HBAR_E2
    r_exact = HBAR * icrn / (2.0 * E_CHARGE * K_B * T)
    if R_N is None:
        return Observability(d1, d2, T, icrn, r_jstm, r_exact)
    R_N = float(R_N)
    ej = josephson_energy(icrn / R_N)
    return Observability(d1, d2, T, icrn, r_jstm, r_exact, R_N, ej / kt, R_N < r_jstm, R_N < r_exact)


# ---------------------------------------------------------------------------------------------------
# Ivanchenko-Zil'berman
# ---------------------------------------------------------------------------------------------------


def iz_levels(x: float) -> int:
    """Number of continued-fraction levels used for coupling ``x`` (see :func:`bessel_ratio`)."""
    return 10 + int(7.0 * math.sqrt(abs(x)) + 1.0)


#: Bound on the start error's contribution to the continued fraction, relative to x (see
#: :func:`converged_levels`).
CF_TOLERANCE = 1e-19


def converged_levels(x: float, nu_max: float = 0.0) -> int:
    """Levels of the continued fraction that suffice for coupling ``x`` when every order has Re nu >= 0:
    at most :func:`iz_levels`, fewer where the fraction has converged.

    For x <= 1/2 and Re nu >= -1/2 every level (computed or exact) obeys |r_k| <= b_k = x / (2k + 1 - x) <= 1,
    and the backward step r_k = x / (2(nu+k+1) + x r_{k+1}) maps a difference e_{k+1} of its input to
    |e_k| = |r_k r'_k| |e_{k+1}| <= b_k^2 |e_{k+1}|. The start value's error (at most 2 b_{K+1}) thus reaches
    r_0 damped by prod_{k<=K} b_k^2. The error is analytic in nu, so on Re nu >= 0 its first two
    nu-derivatives are at most 8 times that (Cauchy, radius 1/2), while r_0 and its derivatives fall off no
    faster than x / (1 + |nu|)^3. The smallest K >= 2 that brings the damped start error below
    ``CF_TOLERANCE`` x / (1 + ``nu_max``)^3 (|nu| <= nu_max) is used: for x = 3.6e-4 and |nu| <= 7 that is 3
    levels instead of 11. Larger x keeps :func:`iz_levels`. The bound holds for any start value with
    |r_{K+1}| <= b_{K+1}, so a converged tail starts from r = 0.
    """
    full = iz_levels(x)
    if not (0.0 < x <= 0.5):
        return full
    target = CF_TOLERANCE * x / (1.0 + abs(nu_max)) ** 3
    damp = 1.0
    for k in range(full + 1):
        b = x / (2.0 * k + 1.0 - x)
        damp *= b * b
        start = 2.0 * x / (2.0 * k + 3.0 - x)
        if k >= 2 and damp * start <= target:
            return k
    return full


def _cf_start(nu_k: np.ndarray, x: float) -> np.ndarray:
    """Uniform (Riccati) estimate of I_{mu+1}(x)/I_mu(x) at mu = nu_k - 1 (the CF tail value)."""
    s = np.sqrt(nu_k * nu_k + x * x)
    # choose the branch with Re(s) >= 0 so that |nu + s| is large (no cancellation)
    s = np.where(s.real < 0, -s, s)
    return x / (nu_k + s)


def bessel_ratio(nu, x: float, levels: int | None = None, *, derivative: bool = False):
    """r(nu) = I_{nu+1}(x) / I_nu(x) for complex order ``nu`` (array) and real ``x`` >= 0.

    Backward evaluation of the Gauss continued fraction r_mu = x / (2(mu+1) + x r_{mu+1}), the minimal
    solution of the Bessel recurrence, started at depth ``levels`` from the uniform estimate
    r_mu ~ x/((mu+1) + sqrt((mu+1)^2 + x^2)). The error of the start value is damped by
    prod r_k^2 ~ exp(-levels^2/x), so ``levels`` = 7 sqrt(x) + 11 reaches machine precision for any x
    (checked against three times as many levels for x = 1e-3 to 1e4; no K ~ x levels are needed).
    Valid for every nu that is not a negative integer.

    With ``derivative=True`` also returns d r / d nu, propagated through the same recurrence.
    """
    nu = np.asarray(nu, dtype=complex)
    x = float(x)
    if x < 0 or not math.isfinite(x):
        raise ValueError(f"x must be finite and >= 0, got {x}")
    if x == 0.0:
        z = np.zeros_like(nu)
        return (z, z.copy()) if derivative else z
    K = iz_levels(x) if levels is None else int(levels)
    r = _cf_start(nu + K + 2.0, x)
    dr = np.zeros_like(nu)
    if derivative:
        # derivative of the start value with respect to nu
        s = np.sqrt((nu + K + 2.0) ** 2 + x * x)
        s = np.where(s.real < 0, -s, s)
        dr = -r * (1.0 + (nu + K + 2.0) / s) / ((nu + K + 2.0) + s)
    two_over_x = 2.0 / x
    for k in range(K, -1, -1):
        r = x / (2.0 * (nu + (k + 1.0)) + x * r)
        if derivative:
            dr = -r * r * (two_over_x + dr)
    return (r, dr) if derivative else r


def iz_x(Ic, Teff):
    """Dimensionless coupling x = E_J/(kB T_eff) = hbar Ic/(2 e kB T_eff)."""
    return HBAR * Ic / (2.0 * E_CHARGE * K_B * Teff)


def iz_vp(R, Teff):
    """Phase-diffusion voltage scale V_p = 2 e R kB T_eff / hbar in V."""
    return 2.0 * E_CHARGE * R * K_B * Teff / HBAR


def _check_iz(Ic, R, Teff):
    Ic, R, Teff = float(Ic), float(R), float(Teff)
    if not (math.isfinite(Ic) and math.isfinite(R) and math.isfinite(Teff)):
        raise ValueError("IZ parameters must be finite")
    if R <= 0 or Teff <= 0:
        raise ValueError(f"IZ needs R > 0 and T_eff > 0 (got R={R}, T_eff={Teff})")
    return Ic, R, Teff


def iz_current(V, Ic, R, Teff, *, levels: int | None = None):
    """Ivanchenko-Zil'berman current I(V) in A for source voltage ``V`` (V, any shape).

    ``Ic`` (A) is the critical current, ``R`` (Ohm) the series (environment) resistance, ``Teff`` (K) its
    noise temperature. I(-V) = -I(V), I(0) = 0. Limits: x << 1 gives (Ic^2 R/2) V/(V^2 + V_p^2); x -> inf
    gives the noiseless RSJ curve. ``V`` is the voltage across R and the junction in series; for planar
    junctions with large I R pass the junction voltage V_J = V - I R only if that is what was measured.
    """
    Ic, R, Teff = _check_iz(Ic, R, Teff)
    V = np.asarray(V, dtype=float)
    sgn = math.copysign(1.0, Ic)
    Ic = abs(Ic)
    x = iz_x(Ic, Teff)
    if x == 0.0:
        return np.zeros(V.shape)
    nu = -1j * (V / iz_vp(R, Teff))
    return sgn * Ic * np.imag(bessel_ratio(nu, x, levels))


def iz_conductance(V, Ic, R, Teff, *, levels: int | None = None):
    """Ivanchenko-Zil'berman dI/dV in S at source voltage ``V`` (V); analytic derivative of the CF.

    G(0) = (1 - 1/I0(x)^2)/R exactly; for x << 1 G = (Ic^2 R/2)(V_p^2 - V^2)/(V^2 + V_p^2)^2.
    """
    Ic, R, Teff = _check_iz(Ic, R, Teff)
    V = np.asarray(V, dtype=float)
    Ic = abs(Ic)
    x = iz_x(Ic, Teff)
    if x == 0.0:
        return np.zeros(V.shape)
    vp = iz_vp(R, Teff)
    _, dr = bessel_ratio(-1j * (V / vp), x, levels, derivative=True)
    # dI/dV = Ic Im(dr/dnu * dnu/dV) with dnu/dV = -i/V_p, i.e. -Ic Re(dr/dnu)/V_p
    return -Ic * np.real(dr) / vp


def iz_lorentzian_current(V, Ic, R, Teff):
    """Small-x limit of the IZ current: (Ic^2 R/2) V/(V^2 + V_p^2) in A."""
    V = np.asarray(V, dtype=float)
    vp = iz_vp(R, Teff)
    return 0.5 * Ic * Ic * R * V / (V * V + vp * vp)


def iz_lorentzian_conductance(V, Ic, R, Teff):
    """Small-x limit of the IZ conductance: (Ic^2 R/2)(V_p^2 - V^2)/(V^2 + V_p^2)^2 in S."""
    V = np.asarray(V, dtype=float)
    vp = iz_vp(R, Teff)
    return 0.5 * Ic * Ic * R * (vp * vp - V * V) / (V * V + vp * vp) ** 2


def iz_zero_bias_conductance(Ic, R, Teff):
    """Exact G(0) = (1 - 1/I0(x)^2)/R in S (scaled Bessel functions, no overflow)."""
    x = iz_x(abs(float(Ic)), float(Teff))
    # I0(x)^-2 = (exp(-x)/i0e(x))^2
    inv = math.exp(-x) / float(special.i0e(x))
    return (1.0 - inv * inv) / float(R)


def rsj_current(V, Ic, R):
    """Noiseless voltage-biased RSJ (x -> inf limit): V/R below Ic R, (V - sqrt(V^2 - Ic^2 R^2))/R above.

    IZ approaches it as x grows; at x = 79.5 the IZ maximum is 0.91 Ic and the deviation is about 5 % of Ic
    except at the cusp V = Ic R itself, where the rounding is 0.185 Ic.
    """
    V = np.asarray(V, dtype=float)
    a = abs(V)
    icr = abs(Ic) * R
    inside = a <= icr
    out = np.where(inside, a, a - np.sqrt(np.maximum(a * a - icr * icr, 0.0))) / R
    return np.sign(V) * out


def icrn_from_zero_bias(G0, R_N, R, Teff, *, exact: bool = False):
    """Local Ic R_N (V) from the zero-bias Josephson conductance ``G0`` (S) of a calibrated map.

    Small-x form ([JSTM] maps): Ic R_N = R_N V_p sqrt(2 G(0)/R). With ``exact=True`` the exact relation
    G(0) = (1 - 1/I0(x)^2)/R is inverted for x instead. Arrays broadcast; G0 <= 0 gives 0 and G0 >= 1/R
    (impossible in IZ) gives nan in the exact form.
    """
    G0 = np.asarray(G0, dtype=float)
    R_N = np.asarray(R_N, dtype=float)
    vp = iz_vp(R, Teff)
    if not exact:
        out = R_N * vp * np.sqrt(2.0 * np.clip(G0, 0.0, None) / R)
        return float(out) if out.ndim == 0 else out
    g = np.clip(G0 * R, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.where(g < 1.0, 1.0 / np.sqrt(1.0 - np.minimum(g, 1.0 - 1e-300)), np.nan)
    x = np.vectorize(_inverse_i0, otypes=[float])(target)
    ic = x * 2.0 * E_CHARGE * K_B * Teff / HBAR
    out = ic * R_N
    return float(out) if out.ndim == 0 else out


def _inverse_i0(target: float) -> float:
    """x >= 0 with I0(x) = target (target >= 1)."""
    if not math.isfinite(target):
        return math.nan
    if target <= 1.0:
        return 0.0
    # log I0(x) = log(i0e(x)) + x is monotonic; solve in log space
    lt = math.log(target)
    hi = max(2.0 * math.sqrt(lt) + 2.0 * lt + 1.0, 1.0)

    def f(x):
        return math.log(float(special.i0e(x))) + x - lt

    return optimize.brentq(f, 0.0, hi, xtol=1e-14, rtol=1e-14)


# ---------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------

_IZ_PARAMS = (
    Param("Ic", "A", 1e-9, 0.0, 1e-5, "critical current (pin from AB: Ic = (Ic R_N)_AB / R_N)"),
    Param("R", "Ohm", 100.0, 1e-2, 1e6, "series (environment) resistance"),
    Param("Teff", "K", 66.0, 1e-3, 1e4, "noise temperature of the environment"),
)


def _peak_guess(V: np.ndarray, I: np.ndarray, R: float) -> dict[str, float]:
    """Small-x guess from an I(V) curve: peak at V_p with height Ic^2 R/(4 V_p)."""
    odd = 0.5 * (I - np.interp(-V, V, I)) if V.size > 1 else I
    pos = V > 0
    if not np.any(pos):
        pos = V != 0
    if not np.any(pos):
        return {}
    Vs, Is = np.abs(V[pos]), np.abs(odd[pos])
    k = int(np.argmax(Is))
    vp = float(Vs[k]) if Vs[k] > 0 else float(np.max(Vs)) / 10
    imax = float(Is[k])
    teff = HBAR * vp / (2.0 * E_CHARGE * K_B * R)
    ic = math.sqrt(max(4.0 * vp * imax / R, 0.0))
    return {"Ic": ic, "R": R, "Teff": teff}


def _conductance_guess(V: np.ndarray, G: np.ndarray, R: float) -> dict[str, float]:
    """Small-x guess from dI/dV: G(0) and the first sign change (|V| = V_p)."""
    order = np.argsort(V)
    V, G = V[order], G[order]
    g0 = float(np.interp(0.0, V, G)) if V[0] <= 0 <= V[-1] else float(G[np.argmin(np.abs(V))])
    # subtract a flat background estimated from the outer 20 % of the bias range
    a = np.abs(V)
    outer = a >= np.quantile(a, 0.8)
    bg = float(np.median(G[outer])) if np.any(outer) else 0.0
    g = G - bg
    g0 -= bg
    pos = V > 0
    vp = None
    if np.any(pos) and g0 > 0:
        vpos, gpos = V[pos], g[pos]
        neg = np.nonzero(gpos <= 0)[0]
        if neg.size:
            vp = float(vpos[neg[0]])
    if vp is None or vp <= 0:
        vp = float(np.max(a)) / 5.0 if np.max(a) > 0 else 1e-4
    teff = HBAR * vp / (2.0 * E_CHARGE * K_B * R)
    ic = vp * math.sqrt(2.0 * max(g0, 0.0) / R)
    return {"Ic": ic, "R": R, "Teff": teff}


def _ratio_batch(nu: np.ndarray, x: np.ndarray, order: int):
    """Bessel ratio r and its derivatives for many rows at once.

    ``nu`` (n, nb) complex orders, ``x`` (n, 1) couplings (> 0). ``order`` 0 returns r; 1 adds r_nu; 2 adds
    r_x; 3 adds r_nunu and r_nux. All (n, nb), propagated through the backward recurrence of
    :func:`bessel_ratio` (D_k = 2(nu + k + 1) + x r_{k+1}, r_k = x/D_k), started at the depth of
    :func:`converged_levels` when every Re nu >= 0 (the IZ orders are imaginary).
    """
    xmax = float(np.max(x))
    K = iz_levels(xmax)
    if np.all(nu.real >= 0):
        K = converged_levels(xmax, float(np.max(np.abs(nu))))
    # a converged tail (the bound of converged_levels holds for any start with |r| <= b) starts from 0
    zero = K < iz_levels(xmax)
    if accel.AVAILABLE:
        return accel.bessel_ratio_rows_compiled(nu, x, K, max(order, 1), zero)[: (1, 2, 3, 5)[order]]
    mu = nu + (K + 2.0)
    sq = np.sqrt(mu * mu + x * x)
    sq = np.where(sq.real < 0, -sq, sq)
    r = np.zeros(np.broadcast_shapes(nu.shape, x.shape), complex) if zero else x / (mu + sq)
    # start derivatives of the uniform estimate; their errors are damped like that of r itself
    r_nu = (np.zeros_like(r) if zero else -r * (1.0 + mu / sq) / (mu + sq)) if order >= 1 else None
    r_x = (np.zeros_like(r) if zero else r / x - r * (x / sq) / (mu + sq)) if order >= 2 else None
    r_nunu = np.zeros_like(r) if order >= 3 else None
    r_nux = np.zeros_like(r) if order >= 3 else None
    for k in range(K, -1, -1):
        inv = 1.0 / (2.0 * (nu + (k + 1.0)) + x * r)
        if order >= 1:
            d_nu = 2.0 + x * r_nu
        if order >= 2:
            d_x = r + x * r_x
        if order >= 3:
            d_nux = r_nu + x * r_nux
            r_nunu = (-x * (x * r_nunu) + 2.0 * x * d_nu * d_nu * inv) * inv * inv
            r_nux = (-d_nu - x * d_nux + 2.0 * x * d_nu * d_x * inv) * inv * inv
        if order >= 2:
            r_x = inv - x * d_x * inv * inv
        if order >= 1:
            r_nu = -x * d_nu * inv * inv
        r = x * inv
    return (r, r_nu, r_x, r_nunu, r_nux)[: (1, 2, 3, 5)[order]]


def _iz_rows(x_axis: np.ndarray, P: np.ndarray):
    """(Ic, R, Teff, x, nu, vp, live) for parameter rows ``P`` (n, >=3) on the bias axis (nb,)."""
    P = np.atleast_2d(np.asarray(P, dtype=float))
    Ic = np.abs(P[:, 0:1])
    R = P[:, 1:2]
    T = P[:, 2:3]
    if np.any(R <= 0) or np.any(T <= 0) or not np.all(np.isfinite(P[:, :3])):
        raise ValueError("IZ needs finite parameters with R > 0 and T_eff > 0")
    x = iz_x(Ic, T)
    vp = iz_vp(R, T)
    live = x > 0
    xs = np.where(live, x, 1.0)
    nu = -1j * (np.asarray(x_axis, dtype=float)[None, :] / vp)
    return Ic, R, T, xs, nu, vp, live


_CHUNK = 4096  # complex elements per block: the recurrence then runs in cache
#: Elements per block with the compiled kernel (one element at a time, so any block stays in cache): larger
#: blocks spend less of the batch in per-block Python work.
_CHUNK_COMPILED = 65536


def _chunks(n: int, nb: int):
    step = max(1, (_CHUNK_COMPILED if accel.AVAILABLE else _CHUNK) // max(nb, 1))
    for a in range(0, n, step):
        yield slice(a, min(a + step, n))


def _iz_batched(V, P, jacobian: bool, block):
    """Run ``block(Ic, R, T, x, nu, vp, jacobian) -> (values (m, nb), J (m, nb, 3) or None)`` over the
    parameter rows ``P`` (n, 3) = (Ic, R, Teff) at bias ``V`` (nb,), in cache-sized blocks of rows (each with
    the number of levels its largest x needs). Rows with x = 0 give 0 (and a zero Jacobian).

    Returns the (n, nb) values, or (values, J) with J (n, nb, 3) when ``jacobian``.
    """
    P = np.atleast_2d(np.asarray(P, dtype=float))
    V = np.asarray(V, dtype=float)
    out = np.empty((P.shape[0], V.size))
    J = np.empty((P.shape[0], V.size, 3)) if jacobian else None
    for sl in _chunks(P.shape[0], V.size):
        Ic, R, T, x, nu, vp, live = _iz_rows(V, P[sl])
        values, Jc = block(Ic, R, T, x, nu, vp, jacobian)
        out[sl] = np.where(live, values, 0.0)
        if jacobian:
            Jc[~live[:, 0]] = 0.0
            J[sl] = Jc
    return (out, J) if jacobian else out


def _current_block(Ic, R, T, x, nu, vp, jacobian: bool):
    if not jacobian:
        (r,) = _ratio_batch(nu, x, 0)
        return Ic * np.imag(r), None
    r, r_nu, r_x = _ratio_batch(nu, x, 2)
    Jc = np.empty(r.shape + (3,))
    Jc[:, :, 0] = np.imag(r + x * r_x)
    Jc[:, :, 1] = Ic * np.imag(-r_nu * nu) / R
    Jc[:, :, 2] = Ic * np.imag(-r_x * x - r_nu * nu) / T
    return Ic * np.imag(r), Jc


def _conductance_block(Ic, R, T, x, nu, vp, jacobian: bool):
    if not jacobian:
        _, r_nu = _ratio_batch(nu, x, 1)
        return -Ic * np.real(r_nu) / vp, None
    _, r_nu, _, r_nunu, r_nux = _ratio_batch(nu, x, 3)
    Jc = np.empty(r_nu.shape + (3,))
    Jc[:, :, 0] = -np.real(r_nu + x * r_nux) / vp
    Jc[:, :, 1] = Ic * np.real(r_nu + nu * r_nunu) / (vp * R)
    Jc[:, :, 2] = Ic * np.real(r_nu + x * r_nux + nu * r_nunu) / (vp * T)
    return -Ic * np.real(r_nu) / vp, Jc


def iz_current_batch(V, P, *, jacobian: bool = False):
    """IZ current for parameter rows ``P`` (n, 3) = (Ic, R, Teff) at bias ``V`` (nb,): (n, nb) in A.

    With ``jacobian=True`` returns (I, J) with J (n, nb, 3) = dI/d(Ic, R, Teff), analytic. Rows are
    processed in cache-sized blocks, each with the number of levels its largest x needs.
    """
    return _iz_batched(V, P, jacobian, _current_block)


def iz_conductance_batch(V, P, *, jacobian: bool = False):
    """IZ dI/dV for parameter rows ``P`` (n, 3) = (Ic, R, Teff) at bias ``V`` (nb,): (n, nb) in S.

    With ``jacobian=True`` returns (G, J) with J (n, nb, 3) = dG/d(Ic, R, Teff), analytic (second
    derivatives of the continued fraction).
    """
    return _iz_batched(V, P, jacobian, _conductance_block)


class _PhaseDiffusionModel(Model):
    """Josephson phase-diffusion models of (Ic, R, T_eff), shown on a -2..2 mV bias axis."""

    family = "Josephson"
    contract_recover = ("R", "Teff")  # Ic, R, T_eff are degenerate for x << 1: Ic is pinned

    def example_x(self):
        return np.linspace(-2e-3, 2e-3, 201)


class _IZModel(_PhaseDiffusionModel):
    """A bare IZ curve: ``_curve(V, Ic, R, Teff)`` for one spectrum, ``_curve_batch(V, P, jacobian=)`` for
    (n, 3) rows of parameters."""

    params = _IZ_PARAMS
    has_jacobian = True
    _curve: ClassVar[Callable[..., np.ndarray]]
    _curve_batch: ClassVar[Callable[..., Any]]

    def evaluate(self, x, **p):
        return self._curve(x, p["Ic"], p["R"], p["Teff"])

    def evaluate_batch(self, x, P):
        return self._curve_batch(x, P)

    def jacobian_batch(self, x, P):
        return self._curve_batch(x, P, jacobian=True)[1]

    def fit_values_and_jacobian(self, x, P, columns):
        """Values and derivatives from one pass of the continued fraction (the Jacobian's recurrence
        carries the value's)."""
        F, J = self._curve_batch(np.asarray(x, float), P, jacobian=True)
        return F, J[..., np.asarray(columns, dtype=int)]


class IZCurrent(_IZModel):
    """Ivanchenko-Zil'berman phase-diffusion current I(V) (continued-fraction evaluation).

    I(V) = Ic Im[I_{1-i eta}(x)/I_{-i eta}(x)], x = hbar Ic/(2 e kB T_eff), eta = hbar V/(2 e R kB T_eff).
    For x << 1 only Ic^2 R and R T_eff are identifiable: pin Ic from AB (see :func:`fit_phase_diffusion`).
    """

    name = "iz_current"
    title = "Ivanchenko-Zil'berman I(V)"
    y_name = "Current"
    y_unit = "A"
    formula = (
        "I = Ic Im[I_{1-i eta}(x) / I_{-i eta}(x)],  x = hbar Ic/(2e kB Teff),  eta = hbar V/(2e R kB Teff)"
    )
    reference = (
        "Ivanchenko & Zil'berman, Sov. Phys. JETP 28, 1272 (1969); Naaman et al., PRL 87, 097004 (2001)"
    )
    _curve = staticmethod(iz_current)
    _curve_batch = staticmethod(iz_current_batch)

    def guess(self, x, y):
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        return self.clip_to_bounds(_peak_guess(x, y, self.param("R").default) or self.defaults())


class IZConductance(_IZModel):
    """Ivanchenko-Zil'berman phase-diffusion conductance dI/dV (analytic derivative of the CF).

    G(0) = (1 - 1/I0(x)^2)/R exactly; for x << 1 a Lorentzian-derivative zero-bias peak that changes sign at
    |V| = V_p = 2 e R kB T_eff/hbar.
    """

    name = "iz_conductance"
    title = "Ivanchenko-Zil'berman dI/dV"
    y_name = "dI/dV"
    y_unit = "S"
    formula = "G = d/dV { Ic Im[I_{1-i eta}(x) / I_{-i eta}(x)] }"
    reference = IZCurrent.reference
    _curve = staticmethod(iz_conductance)
    _curve_batch = staticmethod(iz_conductance_batch)

    def guess(self, x, y):
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        return self.clip_to_bounds(_conductance_guess(x, y, self.param("R").default))


class JosephsonQPConductance(_PhaseDiffusionModel):
    """Josephson phase-diffusion peak on a quasiparticle background, dI/dV vs V.

    G(V) = G_IZ(V; Ic, R, T_eff) + G_leak + G_N g_SIS(V; Delta_t, Delta_s, T)

    The leakage term is a constant conductance. The SIS term (``G_N`` > 0) is the normalised quasiparticle
    conductance of two BCS gaps from :mod:`analysis.models.sis`; it is negligible below
    |Delta_t + Delta_s|/e at low T, so it is off by default (``G_N`` = 0, fixed) for spectra of a few mV.
    """

    name = "josephson_qp_conductance"
    title = "IZ Josephson peak + quasiparticle background"
    y_name = "dI/dV"
    y_unit = "S"
    params = (
        *_IZ_PARAMS,
        Param("G_leak", "S", 0.0, -1e-3, 1e-3, "constant leakage conductance"),
        Param("G_N", "S", 0.0, 0.0, 1e-3, "normal conductance of the SIS background (0 = off)", vary=False),
        Param("Delta_t", "eV", 2.5e-3, 1e-5, 0.1, "tip gap of the SIS background", vary=False),
        Param("Delta_s", "eV", 2.5e-3, 1e-5, 0.1, "sample gap of the SIS background", vary=False),
        Param("T", "K", 2.1, 0.01, 100.0, "bath temperature of the SIS background", vary=False),
    )
    contract_values = {"Ic": 1e-7, "R": 100.0, "Teff": 66.0, "G_leak": 1e-6}
    formula = "G = G_IZ(V; Ic, R, Teff) + G_leak + G_N * g_SIS(V; Delta_t, Delta_s, T)"
    reference = IZCurrent.reference

    def evaluate_batch(self, x, P):
        x = np.asarray(x, float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        out = iz_conductance_batch(x, P[:, :3]) + P[:, 3:4]
        for i in np.nonzero(P[:, 4] != 0.0)[0]:
            out[i] += P[i, 4] * sis_background(x, P[i, 5], P[i, 6], P[i, 7])
        return out

    has_jacobian = True

    def jacobian_batch(self, x, P):
        """(n, nb, 8) derivatives: analytic for Ic, R, T_eff (continued fraction), G_leak and G_N; central
        differences of the SIS background for Delta_t, Delta_s and T (zero while G_N = 0)."""
        return self.jacobian_columns(x, P, np.arange(len(self.params)))

    def jacobian_columns(self, x, P, columns):
        x = np.asarray(x, float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        cols = [int(c) for c in np.asarray(columns).ravel()]
        n, nb = P.shape[0], x.shape[0]
        J = np.zeros((n, nb, len(cols)))
        if any(c < 3 for c in cols):
            jiz = iz_conductance_batch(x, P[:, :3], jacobian=True)[1]
        for a, c in enumerate(cols):
            if c < 3:
                J[..., a] = jiz[..., c]
            elif c == 3:
                J[..., a] = 1.0
            else:
                for i in range(n):
                    if c == 4:
                        J[i, :, a] = sis_background(x, P[i, 5], P[i, 6], P[i, 7])
                    elif P[i, 4] != 0.0:
                        step = 1e-6 * max(abs(P[i, c]), 1e-3 if c < 7 else 1.0)
                        args = [P[i, 5], P[i, 6], P[i, 7]]
                        up, dn = list(args), list(args)
                        up[c - 5] += step
                        dn[c - 5] -= step
                        diff = sis_background(x, *up) - sis_background(x, *dn)
                        J[i, :, a] = P[i, 4] * diff / (2 * step)
        return J

    def evaluate(self, x, **p):
        x = np.asarray(x, float)
        out = iz_conductance(x, p["Ic"], p["R"], p["Teff"]) + p["G_leak"]
        if p["G_N"] != 0.0:
            out = out + p["G_N"] * sis_background(x, p["Delta_t"], p["Delta_s"], p["T"])
        return out

    def guess(self, x, y):
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        a = np.abs(x)
        outer = a >= np.quantile(a, 0.8)
        leak = float(np.median(y[outer])) if np.any(outer) else 0.0
        g = _conductance_guess(x, y - leak, self.param("R").default)
        g["G_leak"] = leak
        return self.clip_to_bounds({**self.defaults(), **g})


def sis_background(V, delta_t, delta_s, T):
    """Normalised SIS quasiparticle conductance (G/G_N, dimensionless) for BCS gaps in eV at ``T`` in K.

    Delegates to :mod:`analysis.models.sis`; raises ImportError with a clear message if it is unavailable.
    """
    try:
        from analysis.models.sis import sis_background_conductance
    except ImportError as exc:  # pragma: no cover - depends on the installed model families
        raise ImportError("the SIS background needs analysis.models.sis") from exc
    return sis_background_conductance(np.asarray(V, float), delta_t, delta_s, T)


# ---------------------------------------------------------------------------------------------------
# Fitting helpers ([JSTM] workflow: Ic pinned from AB, R and T_eff fitted)
# ---------------------------------------------------------------------------------------------------


@dataclass
class PhaseDiffusionFit:
    """Result of :func:`fit_phase_diffusion` / :func:`fit_phase_diffusion_series`.

    ``R`` (Ohm) and ``Teff`` (K) with one-sigma errors (from the Jacobian, scaled by the residual), ``icrn``
    (V, pinned from AB unless it was fitted), per-spectrum critical currents ``Ic`` (A), couplings ``x``,
    leakage terms ``G_leak`` (S), ``Vp`` (V), ``kind`` ("conductance" or "current"), the residual RMS in the
    data's unit and the optimiser status. ``model(i, V)`` evaluates the fitted curve of spectrum ``i``.
    """

    R: float
    Teff: float
    icrn: float
    Ic: list[float]
    R_N: list[float]
    G_leak: list[float]
    x: list[float]
    Vp: float
    kind: str
    R_err: float = math.nan
    Teff_err: float = math.nan
    icrn_err: float = math.nan
    icrn_fitted: bool = False
    rms: float = math.nan
    success: bool = False
    message: str = ""
    n_points: int = 0
    background: list[np.ndarray | None] = field(default_factory=list)

    def model(self, i: int, V) -> np.ndarray:
        V = np.asarray(V, float)
        fn = iz_conductance if self.kind == "conductance" else iz_current
        out = fn(V, self.Ic[i], self.R, self.Teff)
        out = out + (self.G_leak[i] if self.kind == "conductance" else self.G_leak[i] * V)
        bg = self.background[i] if i < len(self.background) else None
        if bg is not None:
            out = out + np.interp(V, *bg)
        return out


def _prep_spectrum(V, y, R_N, background):
    V = np.asarray(V, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if V.shape != y.shape:
        raise ValueError(f"bias and data differ in length ({V.size} vs {y.size})")
    R_N = float(R_N)
    if not (R_N > 0 and math.isfinite(R_N)):
        raise ValueError(f"R_N must be a positive resistance in Ohm, got {R_N}")
    bg = None
    if background is not None:
        b = np.asarray(background, dtype=float).ravel()
        if b.shape != V.shape:
            raise ValueError("the background must have one value per bias point")
        y = y - b
        order = np.argsort(V)
        bg = (V[order], b[order])
    ok = np.isfinite(V) & np.isfinite(y)
    if np.count_nonzero(ok) < 5:
        raise ValueError("need at least 5 finite points to fit phase diffusion")
    return V[ok], y[ok], R_N, bg


def _small_x_start(V, y, kind, Ic):
    """(R, Teff) start values from the Lorentzian limit with Ic known."""
    probe = 100.0
    g = _conductance_guess(V, y, probe) if kind == "conductance" else _peak_guess(V, y, probe)
    if not g:
        return probe, 66.0
    vp = iz_vp(probe, g["Teff"])
    amp = 0.5 * g["Ic"] ** 2 * probe  # Ic^2 R/2 of the data
    R = 2.0 * amp / (Ic * Ic) if Ic > 0 and amp > 0 else probe
    R = float(np.clip(R, 1e-2, 1e6))
    teff = HBAR * vp / (2.0 * E_CHARGE * K_B * R)
    return R, float(np.clip(teff, 1e-3, 1e4))


def _param_errors(jac: np.ndarray, s2: float) -> np.ndarray:
    """One-sigma errors from the Jacobian (m, k) and the residual variance ``s2``.

    Uses the SVD of the column-normalised Jacobian without any cut-off, so that a degenerate direction
    (as Ic, R, T_eff are for x << 1) shows up as a huge error instead of being silently dropped.
    """
    jac = np.asarray(jac, dtype=float)
    norms = np.linalg.norm(jac, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    try:
        _, sv, vt = np.linalg.svd(jac / norms, full_matrices=False)
    except np.linalg.LinAlgError:
        return np.full(jac.shape[1], math.nan)
    with np.errstate(divide="ignore", over="ignore"):
        inv = np.where(sv > 0, 1.0 / np.maximum(sv, 1e-300) ** 2, np.inf)
        var = np.einsum("ij,i,ij->j", vt, inv, vt) * s2 / norms**2
    return np.sqrt(np.clip(var, 0.0, None))


def fit_phase_diffusion_series(
    spectra,
    delta,
    T,
    *,
    delta2=None,
    kind: str = "conductance",
    leak: bool = True,
    fit_icrn: bool = False,
    icrn: float | None = None,
    R0: float | None = None,
    Teff0: float | None = None,
    progress=None,
    cancel=None,
) -> PhaseDiffusionFit:
    """Fit IZ spectra taken at different R_N with a common environment (R, T_eff).

    ``spectra``: sequence of ``(V, y, R_N)`` or ``(V, y, R_N, background)`` with V in V, y in S
    (``kind="conductance"``) or A (``kind="current"``), R_N in Ohm and an optional fixed background array
    (same unit as y, e.g. an SIS quasiparticle curve) that is subtracted. Each spectrum's critical current
    is pinned from Ambegaokar-Baratoff, Ic_i = Ic R_N(delta, delta2, T)/R_N_i (gaps in eV, T in K), unless
    ``icrn`` (V) is given or ``fit_icrn=True`` frees one common Ic R_N. A leakage conductance per spectrum
    is fitted when ``leak`` (a constant in dI/dV, a line G_leak V in I).

    Why the series helps: for x << 1 one spectrum only fixes A = Ic^2 R/2 and V_p, so (Ic, R, T_eff) are
    degenerate and Ic must be pinned. A common (R, T_eff) over several R_N is over-determined with Ic pinned
    (a consistency check of the AB input). Freeing Ic R_N as well is only identifiable when some spectra
    leave the small-x regime (non-Lorentzian shape); otherwise its error bar says so.
    """
    if kind not in ("conductance", "current"):
        raise ValueError("kind must be 'conductance' or 'current'")
    items = []
    items_raw = [tuple(sp) for sp in spectra]
    for sp in items_raw:
        if len(sp) not in (3, 4):
            raise ValueError("each spectrum is (V, y, R_N) or (V, y, R_N, background)")
        items.append(_prep_spectrum(sp[0], sp[1], sp[2], sp[3] if len(sp) == 4 else None))
    if not items:
        raise ValueError("no spectra to fit")
    icrn_ab = float(ab_icrn(delta, delta2, T)) if icrn is None else float(icrn)
    if not icrn_ab > 0:
        raise ValueError("Ic R_N must be positive (check the gap and temperature)")
    fn = iz_conductance if kind == "conductance" else iz_current
    n = len(items)
    scales = [float(np.max(np.abs(y))) or 1.0 for _, y, _, _ in items]

    # start values from the spectrum with the largest signal
    i0 = int(np.argmax(scales))
    Vs, ys, rn, _ = items[i0]
    r_start, t_start = _small_x_start(Vs, ys, kind, icrn_ab / rn)
    if R0 is not None:
        r_start = float(R0)
    if Teff0 is not None:
        t_start = float(Teff0)
    if fit_icrn:
        # start the free fit from the pinned solution: in the small-x valley it then stays put
        pinned = fit_phase_diffusion_series(
            items_raw,
            delta,
            T,
            delta2=delta2,
            kind=kind,
            leak=leak,
            icrn=icrn_ab,
            R0=r_start,
            Teff0=t_start,
            progress=progress,
            cancel=cancel,
        )
        r_start, t_start = pinned.R, pinned.Teff

    n_leak = n if leak else 0
    calls = [0]

    def unpack(p):
        R = math.exp(p[0])
        teff = math.exp(p[1])
        k = 2
        c = icrn_ab
        if fit_icrn:
            c = math.exp(p[2])
            k = 3
        leaks = list(p[k : k + n_leak]) if leak else [0.0] * n
        return R, teff, c, leaks

    def residual(p):
        if cancel is not None and cancel.is_set():
            raise InterruptedError("phase-diffusion fit cancelled")
        R, teff, c, leaks = unpack(p)
        out = []
        for (V, y, rn_i, _), s, lk in zip(items, scales, leaks, strict=True):
            m = fn(V, c / rn_i, R, teff) + (lk if kind == "conductance" else lk * V)
            out.append((m - y) / s)
        calls[0] += 1
        if progress is not None:
            progress(calls[0], _MAX_NFEV)
        return np.concatenate(out)

    p0 = [math.log(r_start), math.log(t_start)]
    lo = [math.log(1e-3), math.log(1e-4)]
    hi = [math.log(1e7), math.log(1e5)]
    if fit_icrn:
        p0.append(math.log(icrn_ab))
        lo.append(math.log(icrn_ab) - 10.0)
        hi.append(math.log(icrn_ab) + 10.0)
    leak_scale = []
    for V, y, _, _ in items:
        if leak:
            p0.append(0.0)
            span = float(np.max(np.abs(y)))
            if kind == "current":
                span /= max(float(np.max(np.abs(V))), 1e-30)
            leak_scale.append(span or 1.0)
    lo += [-np.inf] * n_leak
    hi += [np.inf] * n_leak
    x_scale = [1.0, 1.0] + ([1.0] if fit_icrn else []) + leak_scale
    res = optimize.least_squares(
        residual,
        np.array(p0),
        bounds=(np.array(lo), np.array(hi)),
        x_scale=np.array(x_scale),
        method="trf",
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
        max_nfev=_MAX_NFEV,
    )
    R, teff, c, leaks = unpack(res.x)
    m = res.fun.size
    dof = max(m - res.x.size, 1)
    s2 = float(np.sum(res.fun**2)) / dof
    errs = _param_errors(res.jac, s2)
    # residual RMS in data units
    sizes = np.cumsum([v.size for v, *_ in items])[:-1]
    sq = sum(float(np.sum((f * sc) ** 2)) for f, sc in zip(np.split(res.fun, sizes), scales, strict=True))
    rms = math.sqrt(sq / m)
    return PhaseDiffusionFit(
        R=R,
        Teff=teff,
        icrn=c,
        Ic=[c / rn_i for _, _, rn_i, _ in items],
        R_N=[rn_i for _, _, rn_i, _ in items],
        G_leak=[float(v) for v in leaks],
        x=[float(iz_x(c / rn_i, teff)) for _, _, rn_i, _ in items],
        Vp=iz_vp(R, teff),
        kind=kind,
        R_err=R * float(errs[0]),
        Teff_err=teff * float(errs[1]),
        icrn_err=c * float(errs[2]) if fit_icrn else 0.0,
        icrn_fitted=fit_icrn,
        rms=rms,
        success=bool(res.success),
        message=str(res.message),
        n_points=m,
        background=[bg for *_, bg in items],
    )


def fit_phase_diffusion(
    V,
    y,
    delta,
    R_N,
    T,
    *,
    delta2=None,
    kind: str = "conductance",
    leak: bool = True,
    background=None,
    icrn: float | None = None,
    R0: float | None = None,
    Teff0: float | None = None,
    progress=None,
    cancel=None,
) -> PhaseDiffusionFit:
    """Fit one Josephson spectrum with IZ, Ic pinned from Ambegaokar-Baratoff ([JSTM] workflow).

    ``V`` (V) and ``y`` (dI/dV in S for ``kind="conductance"``, I in A for ``"current"``); ``delta`` (and
    ``delta2``, default equal) in eV, e.g. from an SIS fit; ``R_N`` in Ohm (the set-point resistance);
    ``T`` the bath temperature in K. Ic = (Ic R_N)_AB/R_N is held fixed (or ``icrn`` in V if given);
    R and T_eff are fitted (log-parametrised, positive), plus a leakage term when ``leak``. ``background``
    is an optional fixed array (same unit as ``y``, e.g. an SIS curve) added to the model. Raises
    ValueError for inconsistent input and InterruptedError when ``cancel`` is set.
    """
    spec = (V, y, R_N) if background is None else (V, y, R_N, background)
    return fit_phase_diffusion_series(
        [spec],
        delta,
        T,
        delta2=delta2,
        kind=kind,
        leak=leak,
        icrn=icrn,
        R0=R0,
        Teff0=Teff0,
        progress=progress,
        cancel=cancel,
    )


MODELS = [IZCurrent, IZConductance, JosephsonQPConductance]
