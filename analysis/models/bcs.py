"""BCS/Dynes SIN tunnelling conductance with thermal broadening, and the BCS gap Delta(T) (PHYSICS 1, 11).

Model ``"dynes_sin"``:

    dI/dV(V) = G_N [1 + b1 u + b2 u^2] Integral dE N(E) K_T(E - u),      u = V - V0
    N(E) = Re[z / (sqrt(z - Delta) sqrt(z + Delta))],  z = E + i Gamma      (Dynes 1978, robust branch)
    K_T(x) = sech^2(x / 2kT) / (4kT)

The polynomial background multiplies the thermally broadened conductance (an energy-dependent normal-state
DOS, [MESA] Fig. 1); T -> 0 gives G = G_N N(u) exactly. Parameters: G_N (S), Delta (eV), Gamma (eV), T (K,
fixed by default: Gamma and T are correlated), V0 (V), b1 (1/V), b2 (1/V^2) (fixed by default).

Numerics (fast and batched): the DOS enters through its exact hat-weighted averages on a uniform grid of
step h = kT/8 (second differences of the closed-form second antiderivative, so Gamma -> 0 costs nothing),
and the thermal kernel through K(x) - (K(x+h) - 2K(x) + K(x-h))/12 sampled exactly at the data biases:
G(V_i) = Sum_j avgN(E_j - V0) Kc(E_j - V_i) h. For a common T this is a matrix product for all spectra,
banded (the kernel is cut at 20 kT, relative truncation < 1e-8) and cached per (bias axis, T); a per-row V0
only shifts the DOS; rows at different T are grouped. Accuracy about 1e-4 relative (also of G(0) in a BCS
gap at kT = 0.05 Delta). The Jacobian is analytic: d avgN/dDelta and d avgN/dGamma from the complex form,
dK/dT and dK/dx in closed form. Cost: about 0.1 ms per 256-point spectrum batched (0.25 ms with the
Jacobian), the grid step grows beyond 16384 points (very low T over a wide bias range), and kT below a
tenth of the step uses the exact T = 0 limit.

References: Dynes, Narayanamurti, Garno, PRL 41, 1509 (1978); BCS Delta(T): PHYSICS section 11.
"""

from __future__ import annotations

import math
import threading
from typing import ClassVar

import numpy as np
from scipy import integrate, optimize
from scipy.special import expit

from analysis.constants import EULER_GAMMA, K_B_EV
from analysis.models import accel
from analysis.models.base import Model, Param
from analysis.models.numerics import (
    dynes_dos_derivatives,
    dynes_dos_grid_average,
    thermal_kernel,
)
from analysis.models.sis import conductance_peak_guess

#: Largest fine grid (points) of the batched SIN evaluation; beyond it the step grows (very low T).
SIN_MAX_GRID = 16384
#: Support of the thermal kernel beyond the gap, in kT: the kernel reaches ``Delta + 20 kT`` (rounded up to
#: steps of 10 kT) on each side of a bias. The gap term matters: inside the gap G comes from the coherence
#: peaks at |E| >= Delta through the kernel's tail, so a support of 20 kT alone made G(0) 23 % low at
#: kT/Delta = 0.05 on a 257-point axis; with it G(0) matches the exact Bessel sum to about 1e-4.
SIN_KERNEL_KT = 20.0
#: Grid step in units of kT.
SIN_STEP_KT = 1.0 / 8.0
#: Rows evaluated together (bounds the (rows, ne) work arrays to a few tens of MB).
_CHUNK_ELEMENTS = 1_000_000

#: Weak-coupling ratio Delta(0) / (kB Tc) = pi exp(-gamma_E).
BCS_RATIO = math.pi * math.exp(-EULER_GAMMA)


# -- BCS Delta(T) -------------------------------------------------------------------------------------------
def delta_bcs_interp(T, Tc: float, delta0: float | None = None):
    """Delta(T) = Delta(0) tanh(1.74 sqrt(Tc/T - 1)) for T < Tc, 0 above (eV; T, Tc in K).

    ``delta0`` defaults to the weak-coupling 1.7639 kB Tc. Underestimates the exact weak-coupling gap by at
    most 1.74 % of Delta(0) (at T/Tc = 0.57). Scalars give a float, arrays an array.
    """
    d0 = BCS_RATIO * K_B_EV * Tc if delta0 is None else float(delta0)
    t = np.asarray(T, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = np.where(t > 0, Tc / np.where(t > 0, t, 1.0) - 1.0, np.inf)
        out = np.where(t < Tc, d0 * np.tanh(1.74 * np.sqrt(np.maximum(arg, 0.0))), 0.0)
    return float(out) if out.ndim == 0 else out


def _gap_equation_residual(d: float, kt: float, d0: float) -> float:
    """ln(d0/d) - 2 Integral_0^inf du / (exp(d cosh u / kT) + 1) (xi = d sinh u)."""
    umax = math.acosh(max(1.0, 60.0 * kt / d)) + 1.0

    def f(u: float) -> float:
        return float(expit(-d * math.cosh(u) / kt))

    val, _ = integrate.quad(f, 0.0, umax, limit=200, epsabs=1e-13, epsrel=1e-11)
    return math.log(d0 / d) - 2.0 * val


def delta_bcs_exact(T, Tc: float, delta0: float | None = None):
    """Weak-coupling BCS gap Delta(T) (eV) from the gap equation (brentq; PHYSICS 11), T and Tc in K.

    Solves ln(D0/D) = 2 Integral_0^inf du f(D cosh u) with D0 = 1.7639 kB Tc, then scales the reduced gap
    D/D0 by ``delta0`` when given (strong-coupling materials keep their own Delta(0) and Tc).
    """
    if Tc <= 0:
        raise ValueError("Tc must be positive")
    d0w = BCS_RATIO * K_B_EV * Tc
    scale = 1.0 if delta0 is None else float(delta0) / d0w
    t = np.atleast_1d(np.asarray(T, dtype=float))
    out = np.zeros(t.shape)
    for i, ti in enumerate(t.ravel()):
        if ti >= Tc:
            continue
        if ti <= 0.02 * Tc:  # exponentially close to Delta(0)
            out.flat[i] = d0w
            continue
        kt = K_B_EV * ti
        out.flat[i] = optimize.brentq(
            _gap_equation_residual, 1e-12 * d0w, d0w, args=(kt, d0w), xtol=1e-16, rtol=1e-13
        )
    out *= scale
    return float(out[0]) if np.ndim(T) == 0 else out.reshape(np.shape(T))


# -- batched Dynes SIN ------------------------------------------------------------------------------------
def _kernel_set(x: np.ndarray, T: float, h: float, want: bool):
    """Corrected kernel Kc, and when ``want`` its x- and T-derivatives, at x (any shape), all times h."""

    def corr(fn):
        k0 = fn(x)
        return (k0 - (fn(x + h) - 2 * k0 + fn(x - h)) / 12) * h

    kt = K_B_EV * T

    def k(v):
        return thermal_kernel(v, T)

    kc = corr(k)
    if not want:
        return kc, None, None

    def kx(v):
        return -np.tanh(v / (2 * kt)) / kt * thermal_kernel(v, T)

    def kT(v):
        return thermal_kernel(v, T) * ((v / kt) * np.tanh(v / (2 * kt)) - 1.0) / T

    return kc, corr(kx), corr(kT)


_KERNEL_CACHE: dict[tuple, list] = {}
_KERNEL_CACHE_SIZE = 16
_KERNEL_LOCK = threading.Lock()


def _cached_kernels(E: np.ndarray, V: np.ndarray, t: float, h: float, want: bool, half: float) -> list[tuple]:
    """Banded kernel blocks for grid E and biases V, reused across calls (single-spectrum fits).

    The biases are split into blocks of neighbouring values; each block only needs the grid nodes within
    the kernel support around it, so the product costs about (block span + 2 * 20 kT) / h per bias instead
    of the whole grid. Returns [(node slice, bias columns, Kc, dKc/dx, dKc/dT), ...].
    """
    key = (E.size, float(E[0]), h, t, want, half, V.size, hash(V.tobytes()))
    with _KERNEL_LOCK:
        hit = _KERNEL_CACHE.get(key)
    if hit is not None:
        return hit
    order = np.argsort(V, kind="stable")
    nblk = max(1, min(16, V.size // 16))
    blocks = []
    for grp in np.array_split(order, nblk):
        if grp.size == 0:
            continue
        vmin, vmax = float(V[grp].min()), float(V[grp].max())
        js = max(0, int(math.floor((vmin - half - E[0]) / h)) - 1)
        je = min(E.size, int(math.ceil((vmax + half - E[0]) / h)) + 2)
        cols = slice(int(grp[0]), int(grp[-1]) + 1) if np.all(np.diff(grp) == 1) else grp
        mats = _kernel_set(E[js:je, None] - V[None, grp], t, h, want)
        blocks.append((slice(js, je), cols, *mats))
    with _KERNEL_LOCK:
        while len(_KERNEL_CACHE) >= _KERNEL_CACHE_SIZE:
            _KERNEL_CACHE.pop(next(iter(_KERNEL_CACHE)))
        _KERNEL_CACHE[key] = blocks
    return blocks


def sin_kernel_reach(T: float, delta_max: float = 0.0) -> float:
    """Half-width (eV) of the thermal kernel's support at temperature T for gaps up to ``delta_max`` (eV):
    ``20 kT`` beyond the gap, the gap rounded up to a multiple of 10 kT (so that a fit moving Delta keeps
    reusing its cached kernels)."""
    kt = K_B_EV * T
    steps = math.ceil(max(float(delta_max), 0.0) / (10 * kt)) if kt > 0 else 0
    return (SIN_KERNEL_KT + 10 * steps) * kt


def sin_grid_step(T: float, vlo: float, vhi: float, delta_max: float = 0.0) -> float:
    """Grid step (eV) of the batched SIN evaluation at temperature T for biases in [vlo, vhi]."""
    kt = K_B_EV * T
    span = (vhi - vlo) + 2 * sin_kernel_reach(T, delta_max)
    return max(SIN_STEP_KT * kt, span / (SIN_MAX_GRID - 8))


def dynes_sin_batch(
    V: np.ndarray,
    delta: np.ndarray,
    gamma: np.ndarray,
    T: np.ndarray,
    V0: np.ndarray | None = None,
    *,
    jacobian: bool = False,
    want: tuple[bool, bool, bool, bool] = (True, True, True, True),
):
    """Normalised Dynes SIN conductance g (n, nb) at biases V (nb,) for n parameter rows.

    ``delta``, ``gamma`` (eV), ``T`` (K) and ``V0`` (V) are (n,) arrays (scalars broadcast). Returns g, or
    with ``jacobian=True`` the tuple (g, dg/dDelta, dg/dGamma, dg/dT, dg/dV0), each (n, nb); ``want`` says
    which of the four derivatives are needed (the others are left at zero and cost nothing: a fit with T
    and V0 fixed skips their kernel products). Rows sharing a temperature share one kernel matrix; rows
    with kT below a tenth of the grid step use the T = 0 limit. The grid averages use the compiled kernel
    of :mod:`analysis.models.accel` when numba is installed.
    """
    V = np.asarray(V, dtype=float)
    delta, gamma, T, V0 = np.broadcast_arrays(
        np.atleast_1d(np.asarray(delta, float)),
        np.atleast_1d(np.asarray(gamma, float)),
        np.atleast_1d(np.asarray(T, float)),
        np.atleast_1d(np.asarray(0.0 if V0 is None else V0, float)),
    )
    n, nb = delta.shape[0], V.shape[0]
    if V.ndim != 1 or not np.all(np.isfinite(V)):
        raise ValueError("the bias axis must be a 1-D array of finite values")
    g = np.empty((n, nb))
    outs = [g] + ([np.zeros((n, nb)) for _ in range(4)] if jacobian else [])
    w_d, w_g, w_t, w_v = (bool(v) for v in want)
    if n == 0 or nb == 0:
        return tuple(outs) if jacobian else g
    vlo, vhi = float(V.min()), float(V.max())
    # Rows are grouped by temperature and by their gap in steps of 10 kT (the kernel support depends on
    # both), so every row gets the same result as on its own, and neighbouring gaps share kernels.
    with np.errstate(invalid="ignore", divide="ignore"):
        kt_all = K_B_EV * T
        bins = np.where(kt_all > 0, np.ceil(np.abs(delta) / (10 * np.where(kt_all > 0, kt_all, 1.0))), 0.0)
    bins = np.where(np.isfinite(bins), bins, 0.0)
    for t, b in sorted({(float(a), float(c)) for a, c in zip(T, bins)}):
        rows = np.nonzero((T == t) & (bins == b))[0]
        dmax = b * 10 * K_B_EV * t * (1 - 1e-12)  # the bin edge, so sin_kernel_reach gives this bin
        h = sin_grid_step(t, vlo, vhi, dmax) if t > 0 else math.inf
        if not t > 0 or K_B_EV * t < h / 10:
            _sin_t0(V, delta[rows], gamma[rows], V0[rows], rows, outs)
            continue
        half = sin_kernel_reach(float(t), dmax)
        j0 = math.floor((vlo - half) / h) - 1
        j1 = math.ceil((vhi + half) / h) + 1
        E = h * np.arange(j0, j1 + 1, dtype=float)
        blocks = _cached_kernels(E, V, float(t), h, jacobian and (w_t or w_v), half)
        step = max(1, _CHUNK_ELEMENTS // E.size)
        for a in range(0, rows.size, step):
            r = rows[a : a + step]
            rr = slice(int(r[0]), int(r[-1]) + 1) if r[-1] - r[0] == r.size - 1 else r
            need = jacobian and (w_d or w_g)
            avg, dd, dg = _row_averages(E, h, V0[r], delta[r], gamma[r], need)
            for sl, cols, kc, kx, kT in blocks:
                _put(outs[0], rr, cols, _matmul(avg[:, sl], kc))
                if not jacobian:
                    continue
                if w_d:
                    _put(outs[1], rr, cols, _matmul(dd[:, sl], kc))
                if w_g:
                    _put(outs[2], rr, cols, _matmul(dg[:, sl], kc))
                if w_t:
                    _put(outs[3], rr, cols, _matmul(avg[:, sl], kT))
                if w_v:
                    # g(V) = Sum_j avgN(E_j - V0) Kc(E_j - V): dg/dV0 = -dg/dV = Sum_j avgN * dKc/dx
                    _put(outs[4], rr, cols, _matmul(avg[:, sl], kx))
    return tuple(outs) if jacobian else g


def _row_averages(E: np.ndarray, h: float, v0: np.ndarray, delta: np.ndarray, gamma: np.ndarray, deriv: bool):
    """Grid averages (n, ne) of the Dynes DOS at E - V0 per row (and d/dDelta, d/dGamma when ``deriv``)."""
    if accel.AVAILABLE:
        return accel.dynes_row_averages_compiled(h, E[0] - v0, E.size, delta, gamma, deriv)
    shifted = E[None, :] - v0[:, None]
    if deriv:
        return dynes_dos_grid_average(shifted, h, delta[:, None], gamma[:, None], derivatives=True)
    return dynes_dos_grid_average(shifted, h, delta[:, None], gamma[:, None]), None, None


#: Rows per matrix product: small products stay on one BLAS thread, which is faster than a multi-threaded
#: product of the whole chunk (thread start-up per call, and contention when the fitter itself runs
#: one worker per core).
_MATMUL_ROWS = 32


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b computed in row slices of ``_MATMUL_ROWS`` (same values as a @ b)."""
    if a.shape[0] <= _MATMUL_ROWS:
        return a @ b
    out = np.empty((a.shape[0], b.shape[1]))
    for i in range(0, a.shape[0], _MATMUL_ROWS):
        np.matmul(a[i : i + _MATMUL_ROWS], b, out=out[i : i + _MATMUL_ROWS])
    return out


def _put(out: np.ndarray, rows, cols, block: np.ndarray) -> None:
    """out[rows, cols] = block for slices or index arrays."""
    if isinstance(rows, slice) or isinstance(cols, slice):
        out[rows, cols] = block
    else:
        out[np.ix_(rows, cols)] = block


def _sin_t0(V, delta, gamma, V0, rows, outs) -> None:
    """T = 0 rows: g = N(V - V0) and its analytic derivatives (dg/dT = 0 there)."""
    u = V[None, :] - V0[:, None]
    n, dd, dg = dynes_dos_derivatives(u, delta[:, None], gamma[:, None])
    zero = delta[:, None] == 0
    outs[0][rows] = np.where(zero, 1.0, n)
    if len(outs) > 1:
        z = u + 1j * gamma[:, None]
        d = delta[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.sqrt(z - d) * np.sqrt(z + d)
            dn_de = (-d * d / (s * s * s)).real
        outs[1][rows] = np.where(zero, 0.0, dd)
        outs[2][rows] = np.where(zero, 0.0, dg)
        outs[3][rows] = 0.0
        outs[4][rows] = np.where(zero, 0.0, -dn_de)


class DynesSIN(Model):
    """Dynes SIN conductance with thermal broadening, bias offset and a multiplicative background.

    dI/dV = G_N (1 + b1 u + b2 u^2) Integral N_Dynes(E; Delta, Gamma) K_T(E - u) dE, u = V - V0.
    """

    name: ClassVar[str] = "dynes_sin"
    title: ClassVar[str] = "BCS/Dynes SIN conductance"
    family: ClassVar[str] = "BCS / Dynes"
    y_name: ClassVar[str] = "dI/dV"
    y_unit: ClassVar[str] = "S"
    params: ClassVar[tuple[Param, ...]] = (
        Param("G_N", "S", 1e-8, 0.0, np.inf, "normal-state conductance 1/R_N"),
        Param("Delta", "eV", 1.4e-3, 0.0, 50e-3, "superconducting gap"),
        Param("Gamma", "eV", 5e-5, 1e-8, 10e-3, "Dynes broadening (inverse quasiparticle lifetime)"),
        Param(
            "T",
            "K",
            1.5,
            0.0,
            400.0,
            "electron temperature (fix to the bath unless fitted as T_eff)",
            vary=False,
        ),
        Param("V0", "V", 0.0, -5e-3, 5e-3, "bias offset", vary=False),
        Param("b1", "1/V", 0.0, -1e3, 1e3, "linear background of the normal-state DOS", vary=False),
        Param("b2", "1/V^2", 0.0, -1e6, 1e6, "quadratic background of the normal-state DOS", vary=False),
    )
    formula: ClassVar[str] = (
        "G = G_N (1 + b1 u + b2 u^2) Int Re[z/sqrt(z^2-D^2)] K_T(E-u) dE, z = E + i Gamma, u = V - V0"
    )
    reference: ClassVar[str] = "Dynes, Narayanamurti, Garno, PRL 41, 1509 (1978)"
    has_jacobian: ClassVar[bool] = True
    contract_recover: ClassVar[tuple[str, ...] | None] = ("G_N", "Delta", "Gamma")
    contract_values: ClassVar[dict[str, float] | None] = {
        "G_N": 2e-8,
        "Delta": 1.35e-3,
        "Gamma": 0.1e-3,
        "T": 1.5,
        "V0": 0.0,
        "b1": 0.0,
        "b2": 0.0,
    }
    contract_rtol: ClassVar[float] = 0.05

    def example_x(self) -> np.ndarray:
        return np.linspace(-5e-3, 5e-3, 256)

    def evaluate(self, x: np.ndarray, **p: float) -> np.ndarray:
        P = np.array([[p[n] for n in self.param_names]])
        return self.evaluate_batch(np.asarray(x, dtype=float), P)[0]

    def evaluate_batch(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(n, nb) conductances for parameter rows P (n, 7) in the order of ``params``."""
        x = np.asarray(x, dtype=float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        gn, d, gm, t, v0, b1, b2 = P.T
        g = dynes_sin_batch(x, d, gm, t, v0)
        u = x[None, :] - v0[:, None]
        return gn[:, None] * (1.0 + b1[:, None] * u + b2[:, None] * u * u) * g

    def jacobian_columns(self, x: np.ndarray, P: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """(n, nb, len(columns)) analytic derivatives; only the kernel products the columns need."""
        cols = [int(c) for c in np.asarray(columns).ravel()]
        J = self._jacobian(x, P, {1: 1 in cols, 2: 2 in cols, 3: 3 in cols, 4: 4 in cols})[1]
        return J[..., cols]

    def fit_values_and_jacobian(
        self, x: np.ndarray, P: np.ndarray, columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values and the derivative columns from one pass of the thermal-kernel products (the
        Jacobian's pass gives the conductance too)."""
        cols = [int(c) for c in np.asarray(columns).ravel()]
        F, J = self._jacobian(x, P, {1: 1 in cols, 2: 2 in cols, 3: 3 in cols, 4: 4 in cols})
        return F, J[..., cols]

    def jacobian_batch(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(n, nb, 7) analytic derivatives in the order of ``params``."""
        return self._jacobian(x, P, {1: True, 2: True, 3: True, 4: True})[1]

    def _jacobian(self, x: np.ndarray, P: np.ndarray, need: dict[int, bool]) -> tuple[np.ndarray, np.ndarray]:
        """((n, nb) values, (n, nb, 7) derivatives) from one pass."""
        x = np.asarray(x, dtype=float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        gn, d, gm, t, v0, b1, b2 = P.T
        want = (need[1], need[2], need[3], need[4])
        g, dgd, dgg, dgt, dgv0 = dynes_sin_batch(x, d, gm, t, v0, jacobian=True, want=want)
        u = x[None, :] - v0[:, None]
        poly = 1.0 + b1[:, None] * u + b2[:, None] * u * u
        G = gn[:, None]
        J = np.empty(g.shape + (7,))
        J[..., 0] = poly * g
        J[..., 1] = G * poly * dgd
        J[..., 2] = G * poly * dgg
        J[..., 3] = G * poly * dgt
        J[..., 4] = G * (-(b1[:, None] + 2 * b2[:, None] * u) * g + poly * dgv0)
        J[..., 5] = G * u * g
        J[..., 6] = G * u * u * g
        return G * poly * g, J

    def guess(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """G_N from the outer 20 % of the bias range, Delta from the coherence-peak position."""
        gn, vpk = conductance_peak_guess(x, y)
        T = self.param("T").default
        d = max(vpk - 0.5 * K_B_EV * T, 1e-4)
        return self.clip_to_bounds({**self.defaults(), "G_N": abs(gn), "Delta": d, "Gamma": 0.03 * d})


MODELS = [DynesSIN]

__all__ = [
    "BCS_RATIO",
    "MODELS",
    "DynesSIN",
    "delta_bcs_exact",
    "delta_bcs_interp",
    "dynes_sin_batch",
    "sin_grid_step",
    "sin_kernel_reach",
]
