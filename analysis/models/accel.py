"""Optional compiled kernels (numba) for the element-wise work of the batched models; numpy otherwise.

``pip install numba`` (the ``fast`` extra) makes :func:`dynes_half_averages_compiled` available: one fused
loop for the hat-weighted grid averages of the Dynes DOS and their Delta and Gamma derivatives (the same
formulas as :func:`analysis.models.numerics._second_primitive_rest`, without the temporaries). Without
numba, or with the environment variable ``STSWORKBENCH_NO_NUMBA=1``, ``AVAILABLE`` is False and callers use
the numpy path; both give the same values to rounding.
"""

from __future__ import annotations

import math
import os

import numpy as np

AVAILABLE = False
_kernel = None
_row_kernel = None
_angle_kernel = None
_cf_kernel = None

if os.environ.get("STSWORKBENCH_NO_NUMBA", "") not in ("1", "true", "yes"):
    try:
        import numba

        @numba.njit(cache=True, fastmath=False)
        def _half_averages(h, m, delta, gamma, want, avg, dd_out, dg_out):  # pragma: no cover - compiled
            n = delta.shape[0]
            inv = 1.0 / (h * h)
            r2 = np.empty(m + 3)
            dd = np.empty(m + 3)
            dg = np.empty(m + 3)
            for i in range(n):
                d = delta[i]
                g = gamma[i]
                d2 = d * d
                for k in range(m + 3):
                    e = abs(h * (k - 1))
                    a = d2 + g * g - e * e
                    b = 2.0 * e * g
                    big = math.sqrt(0.5 * (math.sqrt(a * a + b * b) + abs(a)))
                    small = 0.5 * b / big if big != 0.0 else 0.0
                    if a >= 0.0:
                        p = big
                        xr = small + e
                    else:
                        p = small
                        xr = big + e
                    xi = p + g
                    m2 = xr * xr + xi * xi
                    hl = 0.5 * math.log(m2)
                    if d2 == 0.0:
                        r2[k] = 0.0
                        dd[k] = 0.0
                    else:
                        r2[k] = -0.5 * d2 * ((e * xr + g * xi) / m2 + hl)
                        dd[k] = -d * hl
                    dg[k] = -p
                for k in range(m + 1):
                    avg[i, k] = (r2[k + 2] - 2.0 * r2[k + 1] + r2[k]) * inv + 1.0
                    if want:
                        dd_out[i, k] = (dd[k + 2] - 2.0 * dd[k + 1] + dd[k]) * inv
                        dg_out[i, k] = (dg[k + 2] - 2.0 * dg[k + 1] + dg[k]) * inv

        @numba.njit(cache=True, fastmath=False)
        def _row_averages(h, e0, ne, delta, gamma, want, avg, dd_out, dg_out):  # pragma: no cover
            n = delta.shape[0]
            inv = 1.0 / (h * h)
            r2 = np.empty(ne + 2)
            dd = np.empty(ne + 2)
            dg = np.empty(ne + 2)
            for i in range(n):
                d = delta[i]
                g = gamma[i]
                d2 = d * d
                for k in range(ne + 2):
                    e = abs(e0[i] + h * (k - 1))
                    a = d2 + g * g - e * e
                    b = 2.0 * e * g
                    big = math.sqrt(0.5 * (math.sqrt(a * a + b * b) + abs(a)))
                    small = 0.5 * b / big if big != 0.0 else 0.0
                    if a >= 0.0:
                        p = big
                        xr = small + e
                    else:
                        p = small
                        xr = big + e
                    xi = p + g
                    m2 = xr * xr + xi * xi
                    hl = 0.5 * math.log(m2)
                    if d2 == 0.0:
                        r2[k] = 0.0
                        dd[k] = 0.0
                    else:
                        r2[k] = -0.5 * d2 * ((e * xr + g * xi) / m2 + hl)
                        dd[k] = -d * hl
                    dg[k] = -p
                for k in range(ne):
                    avg[i, k] = (r2[k + 2] - 2.0 * r2[k + 1] + r2[k]) * inv + 1.0
                    if want:
                        dd_out[i, k] = (dd[k + 2] - 2.0 * dd[k + 1] + dd[k]) * inv
                        dg_out[i, k] = (dg[k + 2] - 2.0 * dg[k + 1] + dg[k]) * inv

        @numba.njit(cache=True, fastmath=False)
        def _angle_averages(
            h, m, delta0, gamma, w, dw_da, c2, want, avg, da_out, dd_out, dg_out
        ):  # pragma: no cover
            n = delta0.shape[0]
            n_phi = c2.shape[0]
            inv = 1.0 / (h * h)
            for i in range(n):
                d0 = abs(delta0[i])
                sg = 1.0 if delta0[i] >= 0.0 else -1.0
                g = gamma[i]
                for k in range(m + 1):
                    avg[i, k] = 1.0
                    if want:
                        da_out[i, k] = 0.0
                        dd_out[i, k] = 0.0
                        dg_out[i, k] = 0.0
                for j in range(n_phi):
                    d = d0 * c2[j]
                    d2 = d * d
                    wj = w[i, j] * inv
                    wa = dw_da[i, j] * inv
                    wd = wj * c2[j] * sg
                    # the second difference of each angle's primitives as they come (two previous nodes
                    # kept), so each angle's term is differenced before the weighted sum, as in numpy
                    r1 = r0 = d1 = d0_ = g1 = g0 = 0.0
                    for k in range(m + 3):
                        e = abs(h * (k - 1))
                        a = d2 + g * g - e * e
                        b = 2.0 * e * g
                        big = math.sqrt(0.5 * (math.sqrt(a * a + b * b) + abs(a)))
                        small = 0.5 * b / big if big != 0.0 else 0.0
                        if a >= 0.0:
                            p = big
                            xr = small + e
                        else:
                            p = small
                            xr = big + e
                        xi = p + g
                        m2 = xr * xr + xi * xi
                        hl = 0.5 * math.log(m2)
                        if d2 != 0.0:
                            t = -0.5 * d2 * ((e * xr + g * xi) / m2 + hl)
                            dt = -d * hl
                        else:
                            t = 0.0
                            dt = 0.0
                        if k >= 2:
                            s2 = t - 2.0 * r1 + r0
                            avg[i, k - 2] += wj * s2
                            if want:
                                da_out[i, k - 2] += wa * s2
                                dd_out[i, k - 2] += wd * (dt - 2.0 * d1 + d0_)
                                dg_out[i, k - 2] += wj * (-p - 2.0 * g1 + g0)
                        r0 = r1
                        r1 = t
                        d0_ = d1
                        d1 = dt
                        g0 = g1
                        g1 = -p

        @numba.njit(cache=True, fastmath=False, inline="always")
        def _cmul(ar, ai, br, bi):  # pragma: no cover - compiled
            return ar * br - ai * bi, ar * bi + ai * br

        @numba.njit(cache=True, fastmath=False)
        def _cf_ratio(nu, x, K, order, zero, r_out, rnu_out, rx_out, rnunu_out, rnux_out):  # pragma: no cover
            # complex arithmetic spelled out in real and imaginary parts (several times faster compiled)
            n, nb = nu.shape
            for i in range(n):
                xi = x[i]
                for j in range(nb):
                    v = nu[i, j]
                    vr = v.real
                    vi = v.imag
                    if zero:
                        rr = ri = nr = ni = xr = xim = 0.0
                    else:
                        mu = v + (K + 2.0)
                        sq = np.sqrt(mu * mu + xi * xi)
                        if sq.real < 0.0:
                            sq = -sq
                        r = xi / (mu + sq)
                        r_nu = -r * (1.0 + mu / sq) / (mu + sq)
                        r_x = r / xi - r * (xi / sq) / (mu + sq)
                        rr, ri = r.real, r.imag
                        nr, ni = r_nu.real, r_nu.imag
                        xr, xim = r_x.real, r_x.imag
                    nnr = nni = nxr = nxi = 0.0
                    for k in range(K, -1, -1):
                        dr = 2.0 * (vr + (k + 1.0)) + xi * rr
                        di = 2.0 * vi + xi * ri
                        s = 1.0 / (dr * dr + di * di)
                        ir = dr * s  # inv = 1 / den
                        ii = -di * s
                        i2r, i2i = _cmul(ir, ii, ir, ii)
                        dnr = 2.0 + xi * nr  # d_nu
                        dni = xi * ni
                        dxr = rr + xi * xr  # d_x
                        dxi = ri + xi * xim
                        if order >= 3:
                            dnxr = nr + xi * nxr  # d_nux
                            dnxi = ni + xi * nxi
                            # r_nunu = (-x^2 r_nunu + 2 x d_nu^2 inv) inv^2
                            ar, ai = _cmul(dnr, dni, dnr, dni)
                            ar, ai = _cmul(ar, ai, ir, ii)
                            ar = -xi * xi * nnr + 2.0 * xi * ar
                            ai = -xi * xi * nni + 2.0 * xi * ai
                            nnr, nni = _cmul(ar, ai, i2r, i2i)
                            # r_nux = (-d_nu - x d_nux + 2 x d_nu d_x inv) inv^2
                            br, bi = _cmul(dnr, dni, dxr, dxi)
                            br, bi = _cmul(br, bi, ir, ii)
                            br = -dnr - xi * dnxr + 2.0 * xi * br
                            bi = -dni - xi * dnxi + 2.0 * xi * bi
                            nxr, nxi = _cmul(br, bi, i2r, i2i)
                        if order >= 2:
                            cr, ci = _cmul(dxr, dxi, i2r, i2i)
                            xr = ir - xi * cr
                            xim = ii - xi * ci
                        cr, ci = _cmul(dnr, dni, i2r, i2i)
                        nr = -xi * cr
                        ni = -xi * ci
                        rr = xi * ir
                        ri = xi * ii
                    r_out[i, j] = complex(rr, ri)
                    rnu_out[i, j] = complex(nr, ni)
                    if order >= 2:
                        rx_out[i, j] = complex(xr, xim)
                    if order >= 3:
                        rnunu_out[i, j] = complex(nnr, nni)
                        rnux_out[i, j] = complex(nxr, nxi)

        _kernel = _half_averages
        _row_kernel = _row_averages
        _angle_kernel = _angle_averages
        _cf_kernel = _cf_ratio
        AVAILABLE = True
    except Exception:  # numba is optional (absent, or unable to set up its cache): the numpy path
        AVAILABLE = False
        _kernel = _row_kernel = _angle_kernel = _cf_kernel = None


def dynes_half_averages_compiled(
    h: float, m: int, delta: np.ndarray, gamma: np.ndarray, derivatives: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(avg, d avg/dDelta, d avg/dGamma), each (n, m + 1), of the Dynes DOS on the nodes E_k = k h,
    k = 0..m, for rows delta, gamma (n,) (eV). Needs numba (``AVAILABLE``)."""
    if _kernel is None:
        raise RuntimeError("numba is not available")
    delta = np.ascontiguousarray(delta, dtype=float)
    gamma = np.ascontiguousarray(np.broadcast_to(gamma, delta.shape), dtype=float)
    n = delta.shape[0]
    avg = np.empty((n, m + 1))
    dd = np.empty((n, m + 1)) if derivatives else np.empty((1, 1))
    dg = np.empty((n, m + 1)) if derivatives else np.empty((1, 1))
    _kernel(float(h), int(m), delta, gamma, bool(derivatives), avg, dd, dg)
    if not derivatives:
        return avg, None, None
    return avg, dd, dg


def dynes_row_averages_compiled(
    h: float, e0: np.ndarray, ne: int, delta: np.ndarray, gamma: np.ndarray, derivatives: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(avg, d avg/dDelta, d avg/dGamma), each (n, ne), of the Dynes DOS on the nodes E_k = e0_i + k h,
    k = 0..ne-1, of each row i (a grid shifted per row, e.g. by a bias offset). Needs numba."""
    if _row_kernel is None:
        raise RuntimeError("numba is not available")
    delta = np.ascontiguousarray(delta, dtype=float)
    n = delta.shape[0]
    gamma = np.ascontiguousarray(np.broadcast_to(gamma, (n,)), dtype=float)
    e0 = np.ascontiguousarray(np.broadcast_to(e0, (n,)), dtype=float)
    avg = np.empty((n, ne))
    dd = np.empty((n, ne)) if derivatives else np.empty((1, 1))
    dg = np.empty((n, ne)) if derivatives else np.empty((1, 1))
    _row_kernel(float(h), e0, int(ne), delta, gamma, bool(derivatives), avg, dd, dg)
    if not derivatives:
        return avg, None, None
    return avg, dd, dg


def dwave_half_averages_compiled(
    h: float,
    m: int,
    delta0: np.ndarray,
    gamma: np.ndarray,
    w: np.ndarray,
    dw_da: np.ndarray,
    c2: np.ndarray,
    derivatives: bool,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(avg, d avg/da, d avg/dDelta0, d avg/dGamma), each (n, m + 1), of the angle average
    Sum_p w_ip N_D(E_k; |Delta0_i| c2_p, Gamma_i) of hat-weighted Dynes grid averages on the nodes E_k = k h,
    k = 0..m, for rows delta0, gamma (n,) (eV), weights w (n, n_phi) summing to 1 per row, their derivatives
    dw_da (n, n_phi) in the weight parameter a, and angle factors c2 (n_phi,) (cos 2 phi). One loop per row
    sums the angles' second differences into the outputs as the primitives are computed, so no
    (n, n_phi, m + 1) array is formed. Needs numba."""
    if _angle_kernel is None:
        raise RuntimeError("numba is not available")
    delta0 = np.ascontiguousarray(delta0, dtype=float)
    n = delta0.shape[0]
    gamma = np.ascontiguousarray(np.broadcast_to(gamma, (n,)), dtype=float)
    w = np.ascontiguousarray(w, dtype=float)
    dw_da = np.ascontiguousarray(dw_da, dtype=float)
    c2 = np.ascontiguousarray(c2, dtype=float)
    avg = np.empty((n, m + 1))
    shape = (n, m + 1) if derivatives else (1, 1)
    da, dd, dg = np.empty(shape), np.empty(shape), np.empty(shape)
    _angle_kernel(float(h), int(m), delta0, gamma, w, dw_da, c2, bool(derivatives), avg, da, dd, dg)
    if not derivatives:
        return avg, None, None, None
    return avg, da, dd, dg


def bessel_ratio_rows_compiled(
    nu: np.ndarray, x: np.ndarray, levels: int, order: int, zero_start: bool = False
) -> tuple:
    """The continued fraction r = I_{nu+1}(x)/I_nu(x) and its derivatives for complex orders ``nu``
    (n, nb) and couplings ``x`` (n,) > 0, ``levels`` deep, as ``josephson._ratio_batch`` computes them
    (same start and recurrence, one element at a time): ``order`` 1 gives (r, r_nu), 2 adds r_x, 3 adds
    r_nunu and r_nux, each (n, nb) complex. ``zero_start``: the tail starts from r = 0 (with zero
    derivatives) instead of the uniform estimate. Needs numba."""
    if _cf_kernel is None:
        raise RuntimeError("numba is not available")
    nu = np.ascontiguousarray(nu, dtype=complex)
    x = np.ascontiguousarray(np.ravel(x), dtype=float)
    outs = [np.empty(nu.shape, complex) for _ in range(2)]
    outs += [np.empty(nu.shape if order >= 2 else (1, 1), complex)]
    outs += [np.empty(nu.shape if order >= 3 else (1, 1), complex) for _ in range(2)]
    _cf_kernel(nu, x, int(levels), int(order), bool(zero_start), *outs)
    return tuple(outs[: (2, 2, 3, 5)[order]])


__all__ = [
    "AVAILABLE",
    "bessel_ratio_rows_compiled",
    "dwave_half_averages_compiled",
    "dynes_half_averages_compiled",
    "dynes_row_averages_compiled",
]
