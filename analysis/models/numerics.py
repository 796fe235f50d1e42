"""Shared numerical kernels of the spectral models: Fermi function, thermal kernel, Dynes DOS, SIN and SIS.

Units: energies and voltages in eV and V (``eV`` in eV equals the bias in V, so ``e = 1``), temperatures in K.
Every function is vectorised over its array arguments.

Densities of states are plain callables ``dos(E) -> N`` (E in eV, N normalised to 1 in the normal state).
A DOS object may additionally offer

* ``grid_average(E, dE)``: the exact hat-weighted mean of N around each grid node E (weight
  ``max(0, 1 - |E' - E|/dE) / dE``). A grid integral ``Sum_j g(E_j) * grid_average_j * dE`` is then the
  exact integral of N times the piecewise-linear interpolant of g, so coarse grids resolve sharp peaks and
  integrable singularities without losing spectral weight;
* ``energy_scale`` (eV): the largest gap-like energy (sets how far beyond the bias range the grid extends);
* ``width`` (eV): the narrowest feature (a point-sampled DOS needs a grid step below it).

:class:`DynesDOS` and :class:`MixtureDOS` provide all three. Grid averages of hashable DOS objects are
cached per grid, so such objects must be immutable (frozen dataclasses, like the ones here).

Conventions follow PHYSICS sections 0-2: the sample bias V is relative to the tip and

    I(V) R_N = Integral dE N_t(E) N_s(E + eV) [f(E) - f(E + eV)]

so ``sis_current`` returns ``I * R_N`` in volts (the current of a junction with R_N = 1 Ohm).

Numerical method (SIN and SIS): hat-weighted DOS averages on a uniform grid (exact for the Dynes DOS via
its closed-form second antiderivative) and the thermal kernel sampled with a fourth-order correction,
K(x) - (K(x+h) - 2K(x) + K(x-h))/12, supported on +-30 kT: G(0) of a BCS gap at kT = 0.05 Delta comes out
within 1e-4 relative at h = kT/8. The T = 0 kernel is a delta function (special-cased).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import fftconvolve
from scipy.special import expit

from analysis.constants import K_B_EV

#: Thermal kernel support in units of kT (K_T(30 kT) / K_T(0) = 4e-13).
KERNEL_HALF_WIDTH_KT = 30.0
#: Upper bound on fine-grid sizes (points); beyond it the grid step grows instead.
MAX_GRID_POINTS = 1 << 18

DOS = Callable[[np.ndarray], np.ndarray]


# -- Fermi function and thermal kernel ------------------------------------------------------------------
def kt_ev(T: float | np.ndarray) -> np.ndarray | float:
    """k_B T in eV for T in K."""
    return K_B_EV * np.asarray(T, dtype=float) if np.ndim(T) else K_B_EV * float(T)


def fermi(E: np.ndarray | float, T: float | np.ndarray) -> np.ndarray:
    """Fermi function f(E) = 1 / (exp(E / kT) + 1); E in eV, T in K.

    ``T <= 0`` gives the step function with f(0) = 1/2. Overflow-free (``scipy.special.expit``).
    """
    E = np.asarray(E, dtype=float)
    T = np.asarray(T, dtype=float)
    kT = K_B_EV * T
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(kT > 0, -E / np.where(kT > 0, kT, 1.0), 0.0)
        out = np.where(kT > 0, expit(x), np.where(E < 0, 1.0, np.where(E > 0, 0.0, 0.5)))
    return out


def thermal_kernel(x: np.ndarray | float, T: float | np.ndarray) -> np.ndarray:
    """-df/dx = sech^2(x / 2kT) / (4kT) in 1/eV; x in eV, T > 0 in K. Integral 1, FWHM 3.5255 kT."""
    x = np.asarray(x, dtype=float)
    kT = K_B_EV * np.asarray(T, dtype=float)
    if np.any(kT <= 0):
        raise ValueError("thermal_kernel needs T > 0 (the T = 0 kernel is a delta function)")
    u = np.abs(x) / kT
    e = np.exp(-u)  # sech^2(u/2)/4 = e^-u / (1 + e^-u)^2, stable for any u
    return e / ((1.0 + e) ** 2 * kT)


def fermi_cell(lo: np.ndarray, hi: np.ndarray, T: float) -> np.ndarray:
    """Integral of the thermal kernel over [lo, hi]: f(lo) - f(hi) (exact cell weights)."""
    return fermi(lo, T) - fermi(hi, T)


# -- Dynes DOS -----------------------------------------------------------------------------------------------
def _product_root(E: np.ndarray, delta: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z, s): z = E + i Gamma, s = sqrt(z - D) sqrt(z + D) (cut on [-D, D], s ~ z at infinity)."""
    z = np.asarray(E, dtype=float) + 1j * np.asarray(gamma, dtype=float)
    d = np.asarray(delta, dtype=float)
    return z, np.sqrt(z - d) * np.sqrt(z + d)


def dynes_dos(E: np.ndarray | float, delta: float | np.ndarray, gamma: float | np.ndarray) -> np.ndarray:
    """Dynes DOS N(E) = Re[z / (sqrt(z - D) sqrt(z + D))], z = E + i Gamma (PHYSICS 1, robust branch P1).

    E, delta, gamma in eV (broadcast together), gamma >= 0. N(-E) = N(E), N(0) = Gamma/sqrt(Gamma^2 + D^2).
    At Gamma = 0 the value exactly at |E| = Delta is infinite (integrable singularity).
    """
    z, s = _product_root(np.asarray(E, dtype=float), delta, gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = (z / s).real
    d = np.broadcast_to(np.asarray(delta, dtype=float), n.shape)
    return np.where(d == 0, 1.0, np.where(np.isfinite(n), n, np.inf))


def dynes_dos_antiderivative(E: np.ndarray, delta, gamma) -> np.ndarray:
    """S(E) = Re[sqrt(z - D) sqrt(z + D)], an antiderivative of the Dynes DOS in E (dS/dE = N)."""
    _, s = _product_root(np.asarray(E, dtype=float), delta, gamma)
    return s.real


def dynes_dos_cell_average(E: np.ndarray, dE: float, delta, gamma) -> np.ndarray:
    """Exact mean of the Dynes DOS over [E - dE/2, E + dE/2] (finite even at Gamma = 0)."""
    E = np.asarray(E, dtype=float)
    hi = dynes_dos_antiderivative(E + dE / 2, delta, gamma)
    return (hi - dynes_dos_antiderivative(E - dE / 2, delta, gamma)) / dE


def _second_primitive_rest(
    E: np.ndarray, delta, gamma, derivatives: bool = True
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """R2 = S2 - (E^2 - Gamma^2)/2, where S2 = Re[(z s - D^2 log(z + s))/2] is the second antiderivative
    of N in E; also (when ``derivatives``) dS2/dDelta (up to a constant) = -D log|z + s| and
    dS2/dGamma = -Im s.

    Here s = sqrt(z - D) sqrt(z + D) = i sqrt(D^2 - z^2) (the branch with Im s >= 0, s ~ z at infinity) and
    R2 = -(D^2/2) [Re(z / (z + s)) + log|z + s|], which has no E^2 cancellation. Everything is even in E,
    so it is evaluated with e = |E| in real arithmetic (several times faster than complex roots):
    w = D^2 + Gamma^2 - e^2 - 2i e Gamma, sqrt(w) = p + iq, s = -q + ip, z + s = (e + |q|) + i(Gamma + p).
    The arithmetic runs in place: this is the inner loop of batched SIN fits.
    """
    e = np.abs(np.asarray(E, dtype=float))
    d = np.asarray(delta, dtype=float)
    g = np.asarray(gamma, dtype=float)
    d2 = d * d
    e = np.broadcast_to(e, np.broadcast_shapes(e.shape, d.shape, g.shape))  # work arrays take the full shape
    a = np.multiply(e, e)
    np.subtract(d2 + g * g, a, out=a)  # Re w
    b = np.multiply(e, 2.0 * g)  # |Im w|
    big = np.multiply(a, a)
    big += b * b
    np.sqrt(big, out=big)
    big += np.abs(a)
    big *= 0.5
    np.sqrt(big, out=big)  # the larger of |Re sqrt(w)|, |Im sqrt(w)|: no cancellation
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.divide(b, big, out=b)
        small *= 0.5
        zero_w = big == 0  # at the gap edge with Gamma = 0 (or Gamma^2 underflowing): w = 0
        if np.any(zero_w):
            small[zero_w] = 0.0
    pos = a >= 0
    p = np.where(pos, big, small)  # Re sqrt(w) = Im s
    xr = np.where(pos, small, big)
    xr += e  # Re(z + s)
    xi = p + g  # Im(z + s)
    m2 = xr * xr
    m2 += xi * xi
    r2 = np.multiply(e, xr, out=xr)
    r2 += g * xi
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 /= m2
        half_log = np.log(m2, out=m2)
        half_log *= 0.5
        r2 += half_log
        r2 *= -0.5 * d2
        dd = None
        if derivatives:
            dd = -d * half_log
        if np.any(d2 == 0):  # no gap (or a gap so small that its square underflows): N = 1
            zero = np.broadcast_to(d2 == 0, r2.shape)
            r2[zero] = 0.0
            if dd is not None:
                dd[zero] = 0.0
    return r2, dd, (-p if derivatives else None)


def _second_difference(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """a[j+1] - 2 a[j] + a[j-1] along ``axis`` (the input carries one extra point on each side)."""
    a = np.moveaxis(a, axis, -1)
    return np.moveaxis(a[..., 2:] - 2 * a[..., 1:-1] + a[..., :-2], -1, axis)


def dynes_dos_grid_average(
    E: np.ndarray, dE: float, delta, gamma, *, derivatives: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact hat-weighted mean of the Dynes DOS at nodes E (last axis uniform with step dE).

    Equals (S2(E + dE) - 2 S2(E) + S2(E - dE)) / dE^2 with S2 the second antiderivative (finite even at
    Gamma = 0). ``delta``/``gamma`` broadcast against ``E[..., None]``-free shapes, e.g. E (ne,) with
    delta (n, 1) gives (n, ne). With ``derivatives=True`` returns (avg, d avg/dDelta, d avg/dGamma).
    """
    E = np.asarray(E, dtype=float)
    Ep = np.concatenate([E[..., :1] - dE, E, E[..., -1:] + dE], axis=-1)
    r2, dd, dg = _second_primitive_rest(Ep, delta, gamma, derivatives)
    inv = 1.0 / (dE * dE)
    avg = _second_difference(r2)
    avg *= inv
    avg += 1.0
    if not derivatives:
        return avg
    return avg, _second_difference(dd) * inv, _second_difference(dg) * inv


def dynes_dos_derivatives(E: np.ndarray, delta, gamma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, dN/dDelta, dN/dGamma) of the Dynes DOS, analytic from the complex form (broadcast shapes).

    With s = sqrt(z^2 - D^2): N = Re[z/s], dN/dD = Re[z D / s^3], dN/dGamma = Re[-i D^2 / s^3].
    """
    z, s = _product_root(np.asarray(E, dtype=float), delta, gamma)
    d = np.asarray(delta, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / s
        inv3 = inv * inv * inv
        n = (z * inv).real
        dn_dd = (z * d * inv3).real
        dn_dg = (-1j * d * d * inv3).real
    return n, dn_dd, dn_dg


def dynes_antiderivative_derivatives(E: np.ndarray, delta, gamma) -> tuple[np.ndarray, ...]:
    """(S, dS/dDelta, dS/dGamma) of S = Re[s]: dS/dD = Re[-D/s], dS/dGamma = Re[i z / s]."""
    z, s = _product_root(np.asarray(E, dtype=float), delta, gamma)
    d = np.asarray(delta, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / s
        return s.real, (-d * inv).real, (1j * z * inv).real


@dataclass(frozen=True)
class DynesDOS:
    """A Dynes DOS as a callable with exact cell averages (delta, gamma in eV)."""

    delta: float
    gamma: float = 0.0

    def __call__(self, E: np.ndarray) -> np.ndarray:
        return dynes_dos(E, self.delta, self.gamma)

    def cell_average(self, E: np.ndarray, dE: float) -> np.ndarray:
        if self.delta == 0:
            return np.ones_like(np.asarray(E, dtype=float))
        return dynes_dos_cell_average(E, dE, self.delta, self.gamma)

    def grid_average(self, E: np.ndarray, dE: float) -> np.ndarray:
        E = np.asarray(E, dtype=float)
        if self.delta == 0:
            return np.ones_like(E)
        return dynes_dos_grid_average(E.ravel(), dE, self.delta, self.gamma).reshape(E.shape)

    @property
    def energy_scale(self) -> float:
        return abs(self.delta)

    @property
    def width(self) -> float:
        return self.gamma if self.gamma > 0 else abs(self.delta) / 50 if self.delta else math.inf


@dataclass(frozen=True)
class MixtureDOS:
    """Weighted sum of DOS objects: N = Sum w_i N_i (two-band channels). Weights are used as given."""

    parts: tuple[tuple[float, object], ...]

    def __call__(self, E: np.ndarray) -> np.ndarray:
        E = np.asarray(E, dtype=float)
        return sum((w * np.asarray(d(E), dtype=float) for w, d in self.parts), np.zeros_like(E))

    def grid_average(self, E: np.ndarray, dE: float) -> np.ndarray:
        E = np.asarray(E, dtype=float)
        return sum((w * grid_average(d, E, dE) for w, d in self.parts), np.zeros_like(E))

    @property
    def energy_scale(self) -> float:
        return max((dos_energy_scale(d) for _, d in self.parts), default=0.0)

    @property
    def width(self) -> float:
        return min((dos_width(d) for w, d in self.parts if w != 0), default=math.inf)


def dos_energy_scale(dos: object) -> float:
    """The DOS's gap-like energy scale in eV (0 when it does not say)."""
    return float(getattr(dos, "energy_scale", 0.0) or 0.0)


def dos_width(dos: object) -> float:
    """The DOS's narrowest feature in eV (inf when it does not say)."""
    w = getattr(dos, "width", math.inf)
    return float(w) if w and w > 0 else math.inf


_AVG_CACHE: dict[tuple, np.ndarray] = {}
_AVG_CACHE_SIZE = 16
_AVG_LOCK = threading.Lock()


def _cached(dos: object, E: np.ndarray, dE: float, compute) -> np.ndarray:
    """Grid averages of hashable (immutable) DOS objects are reused: an SIS fit with a fixed tip, or the
    demo's one tip against many samples, evaluates the tip once per grid."""
    try:
        key = (dos, float(dE), E.shape, hash(E.tobytes()))
        hash(key)
    except TypeError:
        return compute()
    with _AVG_LOCK:
        hit = _AVG_CACHE.get(key)
    if hit is not None:
        return hit
    val = compute()
    val.flags.writeable = False
    with _AVG_LOCK:
        while len(_AVG_CACHE) >= _AVG_CACHE_SIZE:
            _AVG_CACHE.pop(next(iter(_AVG_CACHE)))
        _AVG_CACHE[key] = val
    return val


def grid_average(dos: object, E: np.ndarray, dE: float) -> np.ndarray:
    """Hat-weighted mean of ``dos`` at grid nodes E (step dE): exact when the DOS offers ``grid_average``,
    otherwise the rule (N(E - dE/2) + N(E) + N(E + dE/2)) / 3 (exact for cubic N)."""
    E = np.asarray(E, dtype=float)
    fn = getattr(dos, "grid_average", None)
    if fn is not None:
        return _cached(dos, E, dE, lambda: np.asarray(fn(E, dE), dtype=float))
    h = dE / 2
    vals = [np.asarray(dos(e), dtype=float) for e in (E - h, E, E + h)]
    return (vals[0] + vals[1] + vals[2]) / 3


def kernel_weights(T: float, de: float, half_width: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x_m, w_m): thermal-kernel weights on the grid x_m = m dE, |x_m| <= 30 kT (plus one step).

    w_m = dE [K(x_m) - (K(x_m + dE) - 2 K(x_m) + K(x_m - dE)) / 12], normalised to sum 1. Paired with
    hat-weighted DOS averages this is fourth-order accurate in dE/kT for smooth K (error about 1e-4 of the
    value at dE = kT/8, even for G(0) of a BCS gap at kT = 0.05 Delta).
    """
    kT = K_B_EV * T
    hw = KERNEL_HALF_WIDTH_KT * kT if half_width is None else half_width
    m = int(math.ceil(hw / de)) + 1
    x = de * np.arange(-m, m + 1, dtype=float)
    w = corrected_kernel(x, T, de) * de
    return x, w / w.sum()


def corrected_kernel(x: np.ndarray, T: float | np.ndarray, de: float) -> np.ndarray:
    """K(x) - (K(x + dE) - 2 K(x) + K(x - dE)) / 12: the kernel that pairs with hat-weighted DOS averages."""
    k0 = thermal_kernel(x, T)
    return k0 - (thermal_kernel(x + de, T) - 2 * k0 + thermal_kernel(x - de, T)) / 12


def lockin_kernel(x: np.ndarray | float, v_rms: float) -> np.ndarray:
    """Lock-in broadening kernel (1/V) for a sinusoidal modulation of ``v_rms`` (V rms; PHYSICS 0):
    K_LI(x) = (2 / (pi Vpk^2)) sqrt(Vpk^2 - x^2) for |x| < Vpk = sqrt(2) v_rms, 0 outside; Integral 1."""
    x = np.asarray(x, dtype=float)
    vpk = math.sqrt(2.0) * float(v_rms)
    if vpk <= 0:
        raise ValueError("lockin_kernel needs v_rms > 0 (no modulation is a delta function)")
    return np.where(
        np.abs(x) < vpk, 2.0 / (math.pi * vpk * vpk) * np.sqrt(np.maximum(vpk * vpk - x * x, 0.0)), 0.0
    )


def _lockin_cdf(x: np.ndarray, vpk: float) -> np.ndarray:
    """Integral of the lock-in kernel from -Vpk to x."""
    u = np.clip(np.asarray(x, dtype=float) / vpk, -1.0, 1.0)
    return 0.5 + (u * np.sqrt(1.0 - u * u) + np.arcsin(u)) / math.pi


def lockin_weights(v_rms: float, de: float) -> tuple[np.ndarray, np.ndarray]:
    """(x_m, w_m): the lock-in kernel integrated exactly over the cells [x_m - dE/2, x_m + dE/2] of the grid
    x_m = m dE (sum 1, symmetric). ``v_rms = 0`` gives the identity ([0], [1])."""
    if not v_rms > 0:
        return np.zeros(1), np.ones(1)
    vpk = math.sqrt(2.0) * float(v_rms)
    m = int(math.ceil(vpk / de + 0.5))
    x = de * np.arange(-m, m + 1, dtype=float)
    w = _lockin_cdf(x + de / 2, vpk) - _lockin_cdf(x - de / 2, vpk)
    return x, w / w.sum()


# -- grids ----------------------------------------------------------------------------------------------
def energy_grid(e_max: float, de: float, max_points: int = MAX_GRID_POINTS) -> tuple[np.ndarray, float]:
    """Uniform symmetric grid E_j = j dE, |E_j| <= e_max (at least), with a node at 0.

    Returns (E (2M+1,), dE). When more than ``max_points`` points would be needed the step grows.
    """
    if not (e_max > 0 and de > 0 and math.isfinite(e_max) and math.isfinite(de)):
        raise ValueError(f"energy_grid needs positive finite e_max and de (got {e_max}, {de})")
    m = int(math.ceil(e_max / de))
    if 2 * m + 1 > max_points:
        m = (max_points - 1) // 2
        de = e_max / m
    return de * np.arange(-m, m + 1, dtype=float), float(de)


def grid_step(T: float, *, width: float = math.inf, dv: float = math.inf, scale: float = 0.0) -> float:
    """Grid step (eV) resolving kT, a DOS feature width and the data spacing: min(kT/8, width/3, dv/2).

    ``scale`` (the gap) bounds it too (scale/40) so that the DOS shape is resolved at high T.
    """
    kT = K_B_EV * T if T > 0 else math.inf
    cands = [kT / 8, width / 3, dv / 2]
    if scale > 0:
        cands.append(scale / 40)
    de = min(cands)
    if not math.isfinite(de) or de <= 0:
        de = 1e-5
    return de


# -- SIN ------------------------------------------------------------------------------------------------
def sin_conductance(
    V: np.ndarray,
    dos: DOS,
    T: float,
    *,
    de: float | None = None,
    scale: float | None = None,
    lockin_rms: float = 0.0,
) -> np.ndarray:
    """Normalised SIN conductance G/G_N = Integral dE N(E) K_T(E - eV) at bias V (V, (nb,)); T in K.

    ``dos`` is any DOS callable (see the module docstring). Its hat-weighted averages on a uniform grid
    (step ``de``, default :func:`grid_step`) padded 30 kT beyond the bias range are convolved by FFT with
    :func:`kernel_weights` and read off at V with a cubic spline.
    T <= 0 (or kT below a tenth of the step) returns N(eV) itself. ``lockin_rms`` (V rms) adds the lock-in
    broadening of a sinusoidal modulation (:func:`lockin_kernel`) to the thermal kernel.
    """
    V = np.asarray(V, dtype=float)
    if V.size == 0:
        return np.zeros(0)
    sc = dos_energy_scale(dos) if scale is None else float(scale)
    vmax = float(np.max(np.abs(V)))
    dv = float(np.min(np.diff(np.unique(V)))) if np.unique(V).size > 1 else math.inf
    vpk = math.sqrt(2.0) * lockin_rms if lockin_rms > 0 else 0.0
    if de is None:
        step = grid_step(T, width=_width_needed(dos), dv=dv, scale=sc)
        if vpk > 0:
            step = min(step, vpk / 20)
    else:
        step = float(de)
    kT = K_B_EV * T if T > 0 else 0.0
    if kT < step / 10 and vpk == 0:
        return np.asarray(dos(V), dtype=float)
    half = KERNEL_HALF_WIDTH_KT * kT + vpk
    E, step = energy_grid(vmax + half + 4 * step, step)
    w = kernel_weights(T, step)[1] if kT >= step / 10 else np.ones(1)
    if vpk > 0:
        w = np.convolve(w, lockin_weights(lockin_rms, step)[1])
    n = grid_average(dos, E, step)
    g = fftconvolve(n, w, mode="same")
    keep = np.abs(E) <= vmax + 2 * step
    return CubicSpline(E[keep], g[keep])(V)


def _width_needed(dos: object) -> float:
    """A DOS with exact grid averages does not need its features resolved by the grid."""
    return math.inf if getattr(dos, "grid_average", None) is not None else dos_width(dos)


# -- SIS ------------------------------------------------------------------------------------------------
def sis_grid(
    V: np.ndarray, dos_t: DOS, dos_s: DOS, T: float, de: float | None = None, margin: float = 0.0
) -> tuple[np.ndarray, float]:
    """The fine grid an SIS evaluation uses: (E, dE) covering |V| + 30 kT + 5 max(Delta) + margin.

    Default step: min(kT/8, dV/2, Delta/100, max(width/6, Delta/1000)); the product of two sharp coherence
    peaks at eV = Delta_t + Delta_s needs the narrowest DOS feature (Gamma) resolved even with exact grid
    averages (max deviation from quadrature about 5e-5 of max |I|, see the SIS benchmark).
    """
    V = np.asarray(V, dtype=float)
    vmax = float(np.max(np.abs(V))) if V.size else 0.0
    sc = max(dos_energy_scale(dos_t), dos_energy_scale(dos_s))
    uv = np.unique(V)
    dv = float(np.min(np.diff(uv))) if uv.size > 1 else math.inf
    if de is None:
        wid = min(_width_needed(dos_t), _width_needed(dos_s))
        de = grid_step(T, width=wid, dv=dv, scale=sc)
        if sc > 0:
            narrow = min(dos_width(dos_t), dos_width(dos_s))
            de = min(de, sc / 100, max(narrow / 6, sc / 1000))
    kT = K_B_EV * T if T > 0 else 0.0
    e_max = vmax + KERNEL_HALF_WIDTH_KT * kT + 5 * sc + 10 * de + margin
    return energy_grid(e_max, de)


def _same_dos(a: object, b: object) -> bool:
    try:
        return a is b or bool(a == b)
    except Exception:  # DOS objects with array-valued comparisons
        return False


def sis_current_on_grid(
    dos_t: DOS, dos_s: DOS, T: float, E: np.ndarray, de: float
) -> tuple[np.ndarray, np.ndarray]:
    """(V_k, I_k R_N) at every lag V_k = k dE of the grid, by two FFT cross-correlations (PHYSICS 2).

    I(V_k) R_N = dE [Sum_j (N_t f)_j N_s,j+k - Sum_j N_t,j (N_s f)_j+k]. Both sums run over the same j,
    so an ohmic junction gives exactly V.
    """
    nt = grid_average(dos_t, E, de)
    ns = nt if _same_dos(dos_t, dos_s) else grid_average(dos_s, E, de)
    f = fermi(E, T)
    c1 = fftconvolve(ns, (nt * f)[::-1], mode="full")
    c2 = fftconvolve(ns * f, nt[::-1], mode="full")
    n = E.size
    lags = de * np.arange(-(n - 1), n)
    return lags, de * (c1 - c2)


def sis_iv(
    V: np.ndarray | tuple[np.ndarray, ...],
    dos_t: DOS,
    dos_s: DOS,
    T: float,
    *,
    de: float | None = None,
    lockin_rms: float = 0.0,
) -> tuple[np.ndarray, np.ndarray] | list[tuple[np.ndarray, np.ndarray]]:
    """(I R_N in V, R_N dI/dV) at bias V from one FFT correlation.

    ``V`` may be a tuple of bias arrays: the correlation is computed once on a grid covering all of them and
    a list of (I R_N, G/G_N) pairs is returned, one per array. Grid and method as :func:`sis_current`.
    ``lockin_rms`` (V rms) convolves I and G with the lock-in kernel (:func:`lockin_kernel`).
    """
    many = isinstance(V, tuple)
    vs = [np.asarray(v, dtype=float) for v in (V if many else (V,))]
    allv = np.concatenate([v.ravel() for v in vs]) if vs else np.zeros(0)
    if allv.size == 0:
        out = [(np.zeros(v.shape), np.zeros(v.shape)) for v in vs]
        return out if many else out[0]
    if de is None:
        # the grid step follows the finest data spacing among the arrays
        dvs = [np.min(np.diff(np.unique(v))) for v in vs if np.unique(v).size > 1]
        probe = np.arange(2) * min(dvs) if dvs else np.zeros(1)
        _, de = sis_grid(probe, dos_t, dos_s, T)
    vpk = math.sqrt(2.0) * lockin_rms if lockin_rms > 0 else 0.0
    if vpk > 0:
        de = min(de, vpk / 20)
    E, step = sis_grid(allv, dos_t, dos_s, T, de, margin=vpk)
    lags, cur = sis_current_on_grid(dos_t, dos_s, T, E, step)
    if vpk > 0:
        cur = fftconvolve(cur, lockin_weights(lockin_rms, step)[1], mode="same")
    vmax = float(np.max(np.abs(allv)))
    keep = np.abs(lags) <= vmax + 4 * step
    lk, ck = lags[keep], cur[keep]
    spl_i = CubicSpline(lk, ck)
    spl_g = CubicSpline(lk, np.gradient(ck, step))
    out = [(spl_i(v), spl_g(v)) for v in vs]
    return out if many else out[0]


def sis_current(V: np.ndarray, dos_t: DOS, dos_s: DOS, T: float, *, de: float | None = None) -> np.ndarray:
    """I(V) * R_N in volts (i.e. the current for R_N = 1 Ohm) of a tunnel junction between DOS ``dos_t``
    (tip) and ``dos_s`` (sample) at temperature T (K), for sample bias V (V, (nb,)).

    FFT cross-correlation on a uniform grid (step ``de``, default from kT, the data spacing and the gaps;
    hat-averaged DOS), then a cubic spline at V. Both DOS normal (N = 1) give exactly V.
    """
    return sis_iv(np.asarray(V, dtype=float), dos_t, dos_s, T, de=de)[0]


def sis_conductance(
    V: np.ndarray, dos_t: DOS, dos_s: DOS, T: float, *, de: float | None = None
) -> np.ndarray:
    """Normalised SIS conductance R_N dI/dV at bias V (V, (nb,)): central differences of the FFT current
    on the fine grid, read off with a cubic spline. Arguments as :func:`sis_current`."""
    return sis_iv(np.asarray(V, dtype=float), dos_t, dos_s, T, de=de)[1]


__all__ = [
    "DOS",
    "DynesDOS",
    "MixtureDOS",
    "corrected_kernel",
    "dynes_dos",
    "dynes_dos_antiderivative",
    "dynes_dos_cell_average",
    "dynes_dos_derivatives",
    "dynes_dos_grid_average",
    "energy_grid",
    "fermi",
    "fermi_cell",
    "grid_average",
    "grid_step",
    "kernel_weights",
    "lockin_kernel",
    "lockin_weights",
    "kt_ev",
    "sin_conductance",
    "sis_conductance",
    "sis_current",
    "sis_current_on_grid",
    "sis_grid",
    "sis_iv",
    "thermal_kernel",
]
