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

        _kernel = _half_averages
        _row_kernel = _row_averages
        AVAILABLE = True
    except Exception:  # numba is optional (absent, or unable to set up its cache): the numpy path
        AVAILABLE = False
        _kernel = _row_kernel = None


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


__all__ = ["AVAILABLE", "dynes_half_averages_compiled", "dynes_row_averages_compiled"]
