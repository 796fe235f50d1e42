"""Multiple Andreev reflection (MAR): the dc I(V) of a superconducting point contact of N channels.

References: D. Averin and A. Bardas, Phys. Rev. Lett. 75, 1831 (1995) (scattering formulation used here);
J. C. Cuevas, A. Martin-Rodero and A. Levy Yeyati, Phys. Rev. B 54, 7366 (1996) (equivalent Hamiltonian
formulation); E. Scheer et al., Phys. Rev. Lett. 78, 3535 (1997) (channel "PIN code" fits). PHYSICS
section 14.

Model. One channel of transmission tau (scattering matrix r = r' = i sqrt(1 - tau), t = sqrt(tau), energy
independent) between identical BCS superconductors of gap Delta, voltage V. A quasiparticle of energy E
climbs the ladder E_m = E + m eV (m even: left electrode, m odd: right) by transmissions, and is Andreev
reflected at every electrode with amplitude

    a(E) = (E - sqrt(E - Delta) sqrt(E + Delta)) / Delta      (product root; |a| = 1 inside the gap)

evaluated at E + i eta (eta << Delta regularises the gap edges). With x_m, y_m the electron and hole
amplitudes leaving the scatterer at level m, the ladder is a block-tridiagonal linear system (2 x 2
blocks), solved by block elimination for all energies and biases at once. With J(E) the particle flux
carried by a unit-flux electron-like quasiparticle injected from the left electrode at energy E (summed over
the whole ladder; hole-like and right-electrode injections follow by symmetry), the dc current is
(Averin-Bardas)

    i(v) = e I_1/(G_0 Delta) = tau v + Integral_1^inf de tanh(e Delta/2kT) [J(-e) - J(e)],   v = eV/Delta,

G_0 = 2e^2/h. J(e) tends to tau at |e| >> 1, so the integrand decays (as |e|^-2 to |e|^-3); it is integrated
with Gauss-Legendre nodes between the break points e = +-1 + k v (where some ladder level crosses a gap
edge; a cosine map removes the square-root edge singularities), logarithmic panels far from the gap up to
``E_FAR`` and the closed-form c/e^2 tail beyond. A contact carries I(V) = Sum_i I_1(V; tau_i), with
G_N = G_0 Sum tau_i.

Limits (tested): tau -> 0 gives tau times the SIS quasiparticle current of the same Delta and T; tau = 1,
T = 0 gives I -> G_0 V + (8/3) G_0 Delta/e at eV >> Delta (excess current); at small tau the current sets in
at eV = 2 Delta/n with steps of order tau^n (subharmonic gap structure); I is odd in V.

Accuracy (measured against closed forms): the excess current to 0.005 G_0 Delta/e for any tau (0.3 % at
tau = 1); the tunnel limit to 0.3 % from eV = 3 Delta up, 1 % at 2.5 Delta and 2 % just above 2 Delta,
where gap-edge Andreev resonances of width ~tau^2 are smeared by eta. At finite tau the n = 1 step at
2 Delta is rounded over a bias width that grows with tau (here about 0.04 Delta/e at tau = 0.01). The
ladder length grows as 2 Delta/eV (the number of Andreev reflections needed to cross the gap), so biases
below ``V_MIN_FRACTION`` Delta/e are not computed (NaN, see :func:`mar_reduced_current`). At finite
temperature the Fermi factor is exact; Delta(T) is the caller's.
Units: V in V, Delta in eV, currents in A, temperatures in K.

Fast fitting: the reduced current i(v; tau) depends only on v = eV/Delta, tau and kT/Delta, so
:class:`MARTable` tabulates it once on a (tau, v) grid and interpolates (cubic in tau, linear in v);
fits of the channel transmissions and of Delta then cost interpolations only.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
from scipy.interpolate import CubicSpline

from analysis.constants import E_CHARGE, H_PLANCK, K_B_EV
from analysis.errors import ModelError
from analysis.models.base import Model, Param

#: Conductance quantum with spin, G_0 = 2 e^2/h (S).
G0 = 2.0 * E_CHARGE**2 / H_PLANCK
#: Lowest |eV|/Delta computed (the ladder needs about 2 Delta/eV + 40 levels).
V_MIN_FRACTION = 0.04
#: Default Dynes-like regularisation eta/Delta.
ETA_DEFAULT = 1e-4

_TOL_LOG = math.log(1e-3)  # amplitude at which the ladder is cut (the flux beyond is below 1e-6)
_GRADE = 4.0  # geometric grading factor of the panels towards a break point
_PANEL = 1.0  # longest Gauss panel near the gap (reduced energy)
_N_FAR = 5  # nodes per logarithmic panel far from the gap
_FAR_PER_DECADE = 3
_N_GAUSS = 6  # Gauss-Legendre nodes per interval between break points


def andreev_amplitude(z: np.ndarray) -> np.ndarray:
    """Andreev reflection amplitude a(z) for complex z = (E + i eta)/Delta (reduced units), any shape."""
    z = np.asarray(z, dtype=complex)
    # the product root sqrt(z - 1) sqrt(z + 1) equals sign(Re z) sqrt(z^2 - 1) (principal root) for
    # Im z > 0, with +1 at Re z = 0: one complex square root instead of two
    root = np.sqrt(z * z - 1.0)
    return z - np.where(z.real >= 0.0, root, -root)


def _h_odd(E: np.ndarray) -> np.ndarray:
    """Odd antiderivative of acosh(max(|E|, 1)): sign(E) (x acosh x - sqrt(x^2 - 1)), x = max(|E|, 1)."""
    x = np.maximum(np.abs(E), 1.0)
    return np.sign(E) * (x * np.arccosh(x) - np.sqrt(x * x - 1.0))


_H_GRID = np.concatenate([-np.logspace(4, 0, 400), np.logspace(0, 4, 400)])
_H_VALS = _h_odd(_H_GRID)


def _ladder_extent(e: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Levels needed above and below the source before the amplitude falls below the cut (int arrays).

    Each level outside the gap multiplies the amplitude by |a(E_m)| = exp(-acosh|E_m|), so the ladder is cut
    where Sum log|a| ~ (1/v) Integral acosh(max(|E|, 1)) dE reaches log(1e-5); three levels are added.
    """
    h0 = _h_odd(e)
    target = -_TOL_LOG * v
    up = np.interp(h0 + target, _H_VALS, _H_GRID)
    dn = np.interp(h0 - target, _H_VALS, _H_GRID)
    k_up = np.ceil((up - e) / v).astype(int) + 3
    k_dn = np.ceil((e - dn) / v).astype(int) + 3
    return k_up, k_dn


def _solve_flux(
    e: np.ndarray, v: np.ndarray, tau: np.ndarray, eta: float, k_up: int, k_dn: int, n_rep: int = 1
) -> np.ndarray:
    """Particle flux J (reduced) carried by a unit-flux electron-like quasiparticle injected at energy e.

    ``e``, ``v``: (nc0,) columns (energy and bias in units of Delta), repeated ``n_rep`` times for the
    transmissions ``tau`` (nc0 n_rep,) (the Andreev amplitudes are computed once). Levels m = -k_dn..k_up
    (even m: left electrode). Returns (nc0 n_rep,) float.

    Unknowns per level: x_m, y_m, the electron and hole amplitudes leaving the scatterer. With the scattering
    matrix r = i sqrt(1 - tau), t = sqrt(tau) and Andreev amplitudes a_m = a(E_m + i eta):

        even m:  x_m = r (a_m y_m + s d_m0) + t a_{m+1} y_{m+1},  y_m = r* a_m x_m + t a_{m-1} x_{m-1}
        odd m:   x_m = t (a_{m-1} y_{m-1} + s d_{m-1,0}) + r a_m y_m,  y_m = t a_{m+1} x_{m+1} + r* a_m x_m

    (s = sqrt(1 - |a(E)|^2) is the injected amplitude), a block-tridiagonal system with 2 x 2 blocks whose
    off-diagonal blocks have one non-zero entry; it is solved by block elimination, level by level, for all
    columns at once. J is summed over the left-electrode levels:
    Sum_m even |a_m y_m + s delta_m0|^2 - |x_m|^2 - |a_m x_m|^2 + |y_m|^2.
    """
    m_all = np.arange(-k_dn, k_up + 1)
    nm = m_all.size
    t = np.sqrt(tau)
    r = 1j * np.sqrt(1.0 - tau)
    a1 = andreev_amplitude(e[None, :] + m_all[:, None] * v[None, :] + 1j * eta)  # (nm, nc0)
    a0 = andreev_amplitude(e + 1e-14j)
    s = np.sqrt(np.clip(1.0 - np.abs(a0) ** 2, 0.0, None)) * (np.abs(e) > 1.0)
    if n_rep > 1:
        s = np.tile(s, n_rep)
    nc = s.size
    # the diagonal block entries -r a (x row, y column) and -r* a (y row, x column) and the couplings
    # -t a of a level are formed when the elimination reaches it (three fewer levels x columns arrays)
    neg_r, neg_rc = -r, -np.conj(r)
    ta_rows = np.empty((nm, nc), complex)  # -t a_j: needed again by the right-hand side
    for j in range(nm):
        aj = a1[j] if n_rep == 1 else np.tile(a1[j], n_rep)
        np.multiply(-t, aj, out=ta_rows[j])
    ta = ta_rows
    i0 = k_dn
    odd = (m_all % 2) != 0
    # Forward elimination leaves, per level j, x_j = bx_j - cx_j n_{j+1} and y_j = by_j - cy_j n_{j+1}
    # with n_{j+1} = x_{j+1} (j odd) or y_{j+1} (j even). One coupling is up_j = ta_{j+1}/det_j, the other
    # -q_j with q_j = D_j up_j (D = d01 on odd levels, d10 on even ones); the next level's diagonal entry
    # takes + ta_j q_j. The right-hand side vanishes below the source level i0, so b starts there.
    up = np.zeros((nm, nc), complex)
    q = np.zeros((nm, nc), complex)
    bx = np.zeros((nm, nc), complex)
    by = np.zeros((nm, nc), complex)
    det = np.empty(nc, complex)
    tmp = np.empty(nc, complex)
    d01 = np.empty(nc, complex)
    d10 = np.empty(nc, complex)
    # -r a_j = (r/t) ta_j and -r* a_j = (r*/t) ta_j; at t = 0 the ladder decouples (ta = 0) and the
    # diagonal entries are taken from a directly
    zero_t = not np.all(t > 0)
    r_t = r / t if not zero_t else r
    rc_t = np.conj(r_t)
    for j in range(nm):
        oj = bool(odd[j])
        if zero_t:
            aj = a1[j] if n_rep == 1 else np.tile(a1[j], n_rep)
            np.multiply(neg_r, aj, out=d01)
            np.multiply(neg_rc, aj, out=d10)
        else:
            np.multiply(r_t, ta[j], out=d01)
            np.multiply(rc_t, ta[j], out=d10)
        if j > 0:
            np.multiply(ta[j - 1], q[j - 1], out=tmp)
            if oj:
                np.add(d01, tmp, out=d01)
            else:
                np.add(d10, tmp, out=d10)
        np.multiply(d01, d10, out=det)
        np.subtract(1.0, det, out=det)
        np.reciprocal(det, out=det)  # det now holds 1/det
        if j + 1 < nm:
            np.multiply(ta[j + 1], det, out=up[j])
            np.multiply(d01 if oj else d10, up[j], out=q[j])
        if j < i0:
            continue
        if oj:  # gy = 0: bx = gx/det, by = -d10 bx
            gx = t * s if j == i0 + 1 else 0.0
            if j > i0:
                np.multiply(ta[j - 1], by[j - 1], out=tmp)
                gx = gx - tmp
            np.multiply(gx, det, out=bx[j])
            np.multiply(d10, bx[j], out=by[j])
            np.negative(by[j], out=by[j])
        else:  # gy = -ta_{j-1} bx_{j-1}; gx = r s at the source level only
            if j > i0:
                np.multiply(ta[j - 1], bx[j - 1], out=tmp)
                np.negative(tmp, out=tmp)
                np.multiply(tmp, det, out=by[j])  # gy/det
                np.multiply(d01, by[j], out=bx[j])
                np.negative(bx[j], out=bx[j])  # -d01 gy/det
            else:  # j == i0: gx = r s, gy = 0
                np.multiply(r * s, det, out=bx[j])
                np.multiply(d10, bx[j], out=by[j])
                np.negative(by[j], out=by[j])
    x = bx
    y = by
    for j in range(nm - 2, -1, -1):
        if odd[j]:  # n = x_{j+1}; cx = -q, cy = up
            nxt = x[j + 1]
            x[j] += q[j] * nxt
            y[j] -= up[j] * nxt
        else:  # n = y_{j+1}; cx = up, cy = -q
            nxt = y[j + 1]
            x[j] -= up[j] * nxt
            y[j] += q[j] * nxt
    ev = slice((k_dn % 2), nm, 2)  # rows with even m
    ae = a1[ev] if n_rep == 1 else np.tile(a1[ev], (1, n_rep))
    xe, ye = x[ev], y[ev]
    e_in = ae * ye
    e_in[(i0 - (k_dn % 2)) // 2] += s
    flux = np.abs(e_in) ** 2 - np.abs(xe) ** 2 - np.abs(ae * xe) ** 2 + np.abs(ye) ** 2
    return flux.sum(axis=0)


_BINS = np.array(
    [
        4,
        5,
        6,
        7,
        8,
        10,
        12,
        14,
        16,
        20,
        24,
        28,
        32,
        40,
        48,
        56,
        64,
        80,
        96,
        112,
        128,
        160,
        192,
        256,
        320,
        384,
        512,
        640,
        768,
        1024,
    ]
)


def _bin(k: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(_BINS, k)
    idx = np.minimum(idx, _BINS.size - 1)
    return _BINS[idx]


@lru_cache(maxsize=32)
def _gauss_theta(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights mapped to theta in [0, pi]."""
    xg, wg = np.polynomial.legendre.leggauss(n)
    return 0.5 * math.pi * (xg + 1.0), 0.5 * math.pi * wg


def _nodes(v: float, h_min: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Gauss nodes and weights on [1, E_FAR] (reduced energies).

    Between 1 and ``_e_mid(v)`` the panels end at the break points +-1 + k v, where a ladder level crosses a
    gap edge (cosine-mapped Gauss-Legendre removes the square-root edge singularities). Near each break point
    the panels are graded geometrically (factor 4) down to ``h_min``: a nearly closed channel has Andreev
    resonances of width ~ tau at the gap edges that must be resolved. Beyond ``_e_mid``, where the ladder no
    longer reaches the gap, logarithmic panels (3 per decade) up to ``E_FAR``.
    """
    e_mid = _e_mid(v)
    k = np.arange(0, int(math.ceil((e_mid + 1.0) / v)) + 1)
    br = np.concatenate([1.0 + k * v, -1.0 + k * v, [1.0, e_mid]])
    br = np.unique(br[(br >= 1.0) & (br <= e_mid)])
    br = br[np.concatenate([[True], np.diff(br) > 1e-9])]
    h = 0.5 * np.diff(br)
    n_lev = np.ceil(np.log(np.maximum(h / h_min, 1.0)) / math.log(_GRADE)).astype(int)
    lev = np.arange(n_lev.sum()) - np.repeat(np.cumsum(n_lev) - n_lev, n_lev) + 1
    steps = np.repeat(h, n_lev) * _GRADE ** (-lev.astype(float))
    br = np.unique(np.concatenate([br, np.repeat(br[:-1], n_lev) + steps, np.repeat(br[1:], n_lev) - steps]))
    # split long panels (large v) so that each is at most _PANEL long
    cnt = np.maximum(np.ceil((br[1:] - br[:-1]) / _PANEL).astype(int), 1)
    start = np.repeat(br[:-1], cnt)
    length = np.repeat((br[1:] - br[:-1]) / cnt, cnt)
    offset = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    br = np.concatenate([start + offset * length, [br[-1]]])
    far = e_mid * np.logspace(
        0.0, math.log10(E_FAR / e_mid), int(_FAR_PER_DECADE * math.log10(E_FAR / e_mid)) + 2
    )
    br = np.concatenate([br, far[1:]])
    lo, hi = br[:-1], br[1:]
    es, ws = [], []
    # short panels (small v) need fewer nodes: between 3 and _N_GAUSS, by panel length
    npts = np.clip(np.ceil(_N_GAUSS * (hi - lo) / _PANEL), 3, _N_GAUSS).astype(int)
    far_panel = lo >= e_mid - 1e-12
    npts[far_panel] = _N_FAR
    for n in np.unique(npts):
        sel = npts == n
        th, wth = _gauss_theta(int(n))
        a, b = lo[sel, None], hi[sel, None]
        es.append((a + (b - a) * 0.5 * (1.0 - np.cos(th[None, :]))).ravel())
        ws.append(((b - a) * 0.5 * np.sin(th[None, :]) * wth[None, :]).ravel())
    e = np.concatenate(es)
    w = np.concatenate(ws)
    order = np.argsort(e)
    return e[order], w[order]


#: Upper end of the energy integral (reduced); beyond it the integrand (~ e^-2) is added in closed form.
E_FAR = 300.0


def _e_mid(v: float) -> float:
    return 2.5 + 2.0 * v


def mar_reduced_current(v, tau, kt: float = 0.0, *, eta: float = ETA_DEFAULT) -> np.ndarray:
    """Reduced single-channel MAR current i = e I_1/(G_0 Delta) at reduced biases v = eV/Delta.

    ``v`` (nv,) any sign; ``tau`` scalar or (nt,) transmissions in [0, 1]; ``kt`` = kB T/Delta. Returns
    (nt, nv) (or (nv,) for a scalar tau); NaN where 0 < |v| < ``V_MIN_FRACTION``; 0 at v = 0 (the dc MAR
    current; the supercurrent at V = 0 is not part of it).
    """
    v = np.atleast_1d(np.asarray(v, dtype=float))
    scalar = np.ndim(tau) == 0
    taus = np.atleast_1d(np.asarray(tau, dtype=float))
    if np.any(~np.isfinite(taus)) or np.any(taus < 0) or np.any(taus > 1):
        raise ModelError("channel transmissions must lie in [0, 1]")
    if not (math.isfinite(kt) and kt >= 0):
        raise ModelError("kT/Delta must be finite and >= 0")
    av = np.abs(v)
    out = np.full((taus.size, v.size), np.nan)
    out[:, av == 0] = 0.0
    todo = np.nonzero(av >= V_MIN_FRACTION)[0]
    if todo.size == 0:
        return out[0] if scalar else out
    # unique |v| values
    # |v| values equal to 1e-12 (a symmetric bias grid) share one computation
    uv, inv = np.unique(np.round(av[todo], 12), return_inverse=True)
    cols_e, cols_v, cols_w, cols_iv, cols_last = [], [], [], [], []
    tau_pos = taus[taus > 0]
    h_min = max(0.25 * float(tau_pos.min()) if tau_pos.size else 0.25, 30.0 * eta)
    for iv, vv in enumerate(uv):
        e, w = _nodes(vv, h_min)
        if kt > 0:
            w = w * np.tanh(e / (2.0 * kt))
        # columns: J(-e) with weight +w, J(e) with weight -w
        cols_e += [-e, e]
        cols_w += [w, -w]
        cols_v += [np.full(e.size, vv)] * 2
        cols_iv += [np.full(e.size, iv)] * 2
        last = np.zeros(e.size, bool)
        last[-1] = True
        cols_last += [last, last]
    ce = np.concatenate(cols_e)
    cv = np.concatenate(cols_v)
    cw = np.concatenate(cols_w)
    civ = np.concatenate(cols_iv)
    clast = np.concatenate(cols_last)
    k_up, k_dn = _ladder_extent(ce, cv)
    bu, bd = _bin(k_up), _bin(k_dn)
    nt = taus.size
    total = np.zeros((nt, uv.size))
    keys = bu.astype(np.int64) * 100000 + bd
    e_last = np.zeros(uv.size)
    g_last = np.zeros((nt, uv.size))
    for key in np.unique(keys):
        sel = np.nonzero(keys == key)[0]
        ku, kd = int(key // 100000), int(key % 100000)
        tt = np.repeat(taus, sel.size)
        J = _solve_flux(ce[sel], cv[sel], tt, eta, ku, kd, nt).reshape(nt, sel.size)
        contrib = J * cw[sel][None, :]
        for it in range(nt):
            total[it] += np.bincount(civ[sel], contrib[it], minlength=uv.size)
        lsel = clast[sel]
        if np.any(lsel):
            idx = civ[sel][lsel]
            e_last[idx] = np.abs(ce[sel][lsel])
            # g(e) = J(-e) - J(e) at the last node: weights are +w (for -e) and -w (for +e)
            sgn = np.sign(cw[sel][lsel])
            for it in range(nt):
                np.add.at(g_last[it], idx, sgn * J[it][lsel])
    # closed-form tail beyond the last node: g ~ c/e^2
    total += g_last * e_last[None, :]
    res = taus[:, None] * uv[None, :] + total
    out[:, todo] = np.sign(v[todo])[None, :] * res[:, inv]
    return out[0] if scalar else out


# ---------------------------------------------------------------------------------------------------
# Physical units
# ---------------------------------------------------------------------------------------------------


def _check_delta(delta: float) -> float:
    d = float(delta)
    if not (math.isfinite(d) and d > 0):
        raise ModelError(f"the gap Delta must be a positive number of eV, got {delta!r}")
    return d


def mar_current(V, taus, delta: float, T: float = 0.0, *, eta: float = ETA_DEFAULT) -> np.ndarray:
    """dc MAR current I(V) (A) of a contact with channel transmissions ``taus`` (n_ch,), gap ``delta`` (eV).

    I(V) = Sum_i (G_0 Delta/e) i(eV/Delta; tau_i, kT/Delta), G_0 = 2e^2/h (module docstring). ``V`` (nb,) in
    V; ``T`` in K. NaN where 0 < |eV| < ``V_MIN_FRACTION`` Delta (ladder too long; see
    :func:`mar_reduced_current`). Shape (nb,).
    """
    d = _check_delta(delta)
    V = np.asarray(V, dtype=float)
    taus = np.atleast_1d(np.asarray(taus, dtype=float))
    if not (math.isfinite(T) and T >= 0):
        raise ModelError(f"temperature must be >= 0 K, got {T!r}")
    i = mar_reduced_current(V.ravel() / d, taus, K_B_EV * T / d, eta=eta)
    return (G0 * d * i.sum(axis=0)).reshape(V.shape)


def excess_current_t0(tau: float, delta: float) -> float:
    """The excess current (A) of a fully open channel at T = 0: (8/3) G_0 Delta/e (tau = 1 only)."""
    if tau != 1.0:
        raise ModelError("the closed form (8/3) G_0 Delta/e holds for tau = 1")
    return 8.0 / 3.0 * G0 * _check_delta(delta)


# ---------------------------------------------------------------------------------------------------
# Tabulated reduced current for fitting
# ---------------------------------------------------------------------------------------------------


#: Transmission nodes of the tables: denser towards 1, where the low-bias current varies fastest.
TAU_NODES = np.array([0.0, 0.1, 0.25, 0.4, 0.55, 0.7, 0.8, 0.88, 0.94, 0.98, 1.0])


def _v_grid(v_max: float) -> np.ndarray:
    fine = np.arange(V_MIN_FRACTION, min(v_max, 2.4) + 1e-12, 0.01)
    coarse = np.arange(2.4, v_max + 0.04, 0.04) if v_max > 2.4 else np.empty(0)
    return np.unique(np.concatenate([fine, coarse]))


class MARTable:
    """Reduced single-channel current i(v; tau) on a (tau, v) grid at one kT/Delta and eta.

    ``v`` (nv,) from ``V_MIN_FRACTION`` to ``v_max`` (step 0.01 below v = 2.4, where the subharmonic
    structure lives, 0.04 above); ``tau_nodes`` (nt,) default :data:`TAU_NODES`. Evaluation is a cubic
    spline in tau (per v node) and linear interpolation in v; the tabulation costs about nt x nv direct
    evaluations (a few seconds) and is cached by :func:`mar_table`.
    """

    def __init__(self, kt: float = 0.0, eta: float = ETA_DEFAULT, v_max: float = 5.0, tau_nodes=None) -> None:
        self.kt = float(kt)
        self.eta = float(eta)
        self.v = _v_grid(float(v_max))
        self.tau_nodes = TAU_NODES if tau_nodes is None else np.asarray(tau_nodes, float)
        self.table = mar_reduced_current(self.v, self.tau_nodes, self.kt, eta=self.eta)
        self._spline = CubicSpline(self.tau_nodes, self.table, axis=0)
        self._dspline = self._spline.derivative()

    @property
    def v_max(self) -> float:
        return float(self.v[-1])

    def reduced(self, v, taus) -> np.ndarray:
        """Sum over channels of i(v; tau_i): (nb,) for reduced biases ``v`` (nb,) and ``taus`` (n_ch,)."""
        return self.reduced_with_grad(v, taus)[0]

    def reduced_with_grad(self, v, taus) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(i (nb,), di/dv (nb,), di/dtau (n_ch, nb)) of the channel sum; NaN outside the table."""
        v = np.asarray(v, dtype=float)
        av = np.abs(v)
        sg = np.sign(v)
        taus = np.atleast_1d(np.asarray(taus, dtype=float))
        rows = self._spline(np.clip(taus, 0.0, 1.0))  # (n_ch, nv)
        drows = self._dspline(np.clip(taus, 0.0, 1.0))
        out = np.full(v.shape, np.nan)
        dv = np.full(v.shape, np.nan)
        dt = np.full((taus.size,) + v.shape, np.nan)
        inside = (av >= self.v[0]) & (av <= self.v[-1])
        # below the first node the current of a tunnel-like channel is tiny: interpolate to 0 at v = 0
        low = av < self.v[0]
        grid = np.concatenate([[0.0], self.v])
        tot = np.concatenate([[0.0], rows.sum(axis=0)])
        ok = inside | low
        out[ok] = sg[ok] * np.interp(av[ok], grid, tot)
        slope = np.diff(tot) / np.diff(grid)
        k = np.clip(np.searchsorted(grid, av[ok], side="right") - 1, 0, slope.size - 1)
        dv[ok] = slope[k]
        for c in range(taus.size):
            g = np.concatenate([[0.0], drows[c]])
            dt[c, ok] = sg[ok] * np.interp(av[ok], grid, g)
        return out, dv, dt


_TABLES: OrderedDict[tuple, MARTable] = OrderedDict()


def mar_table(kt: float = 0.0, eta: float = ETA_DEFAULT, v_max: float = 5.0) -> MARTable:
    """A cached :class:`MARTable` (kt rounded to 1e-3, v_max rounded up to a whole number)."""
    key = (round(float(kt), 3), float(eta), float(math.ceil(v_max)))
    tab = _TABLES.get(key)
    if tab is None:
        tab = MARTable(key[0], key[1], key[2])
        _TABLES[key] = tab
        while len(_TABLES) > 6:
            _TABLES.popitem(last=False)
    _TABLES.move_to_end(key)
    return tab


# ---------------------------------------------------------------------------------------------------
# Fitting the channel transmissions
# ---------------------------------------------------------------------------------------------------


@dataclass
class MARFit:
    """Channel transmissions fitted to an I(V) with the MAR theory.

    ``taus`` (n_ch,) sorted descending with one-sigma errors ``taus_err``; ``delta`` and ``delta_err`` (eV;
    err 0 when Delta was held); ``G_N`` = G_0 Sum tau (S) and its error; ``chi2_red``; ``correlation``
    (n_par, n_par) of (taus..., delta); ``degenerate`` is True when two transmissions are correlated beyond
    0.95 (nearly open channels cannot be told apart: report Sum tau instead); ``starts`` the number of
    starting points tried; ``n_points`` the points used (|eV| within the table, finite).
    """

    taus: np.ndarray
    taus_err: np.ndarray
    delta: float
    delta_err: float
    G_N: float
    G_N_err: float
    chi2_red: float
    correlation: np.ndarray
    degenerate: bool
    starts: int
    n_points: int
    T: float

    def model(self, V) -> np.ndarray:
        """The fitted I(V) (A) by direct evaluation of the theory."""
        return mar_current(V, self.taus, self.delta, self.T)


def _start_sets(n_ch: int, total: float) -> list[np.ndarray]:
    """Starting transmissions: spreads of the normal-state sum over the channels."""
    total = float(np.clip(total, 0.02, 0.98 * n_ch))
    shapes = [np.ones(n_ch)]
    if n_ch > 1:
        shapes += [np.linspace(2.0, 0.5, n_ch), np.geomspace(1.0, 0.1, n_ch), np.r_[4.0, np.ones(n_ch - 1)]]
    out = []
    for s in shapes:
        t = total * s / s.sum()
        if np.any(t > 0.98):  # saturate the largest and spread the rest
            t = np.minimum(t, 0.98)
            rest = total - t.sum()
            if rest > 0:
                free = t < 0.98
                t[free] += rest / max(np.count_nonzero(free), 1)
        out.append(np.clip(t, 0.01, 0.99))
    return out


def fit_mar(
    V,
    I,
    n_channels: int,
    delta: float | None = None,
    *,
    fit_delta: bool = True,
    T: float = 0.0,
    sigma=None,
    v_fit_max: float = 4.0,
    eta: float = ETA_DEFAULT,
) -> MARFit:
    """Fit the transmissions of ``n_channels`` channels (and optionally Delta) to a measured I(V).

    ``V`` (nb,) V, ``I`` (nb,) A; ``delta`` (eV) the start (or the held value with ``fit_delta=False``;
    default: from the high-bias excess-current line and the SGS onset, 1.35 meV if nothing better).
    Points with |eV| <= ``v_fit_max`` Delta are used (below 2 Delta/e is where the channels differ most).
    The model is the tabulated theory (:class:`MARTable`, cubic in tau); several starting spreads of the
    normal-state sum Sum tau = G_N/G_0 (from the high-bias slope) are tried and the best kept, so the
    result does not depend on one start. Errors from the Jacobian and the residual scatter.
    """
    from scipy import optimize

    V = np.asarray(V, dtype=float).ravel()
    I = np.asarray(I, dtype=float).ravel()
    if V.shape != I.shape or V.size < 3 * n_channels + 2:
        raise ModelError("fit_mar needs matching V and I arrays with more points than parameters")
    if n_channels < 1 or n_channels > 12:
        raise ModelError("n_channels must be between 1 and 12")
    ok = np.isfinite(V) & np.isfinite(I)
    V, I = V[ok], I[ok]
    w = None if sigma is None else 1.0 / np.asarray(sigma, dtype=float).ravel()[ok]
    hi = np.abs(V) >= 0.7 * np.max(np.abs(V))
    slope = np.polyfit(V[hi], I[hi], 1)[0] if np.count_nonzero(hi) >= 3 else np.polyfit(V, I, 1)[0]
    total = slope / G0
    d0 = _check_delta(delta) if delta is not None else 1.35e-3
    table = mar_table(K_B_EV * T / d0, eta, v_max=max(v_fit_max, 2.5) * 1.3 + 0.5)
    use = (np.abs(V) / d0 <= v_fit_max) & (np.abs(V) > 0)
    Vu, Iu = V[use], I[use]
    wu = None if w is None else w[use]
    scale = G0 * d0

    def unpack(p):
        taus = p[:n_channels]
        d = p[n_channels] if fit_delta else d0
        return taus, d

    def resid(p):
        taus, d = unpack(p)
        i, _, _ = table.reduced_with_grad(Vu / d, taus)
        r = (G0 * d * i - Iu) / scale
        r = np.where(np.isfinite(r), r, 0.0)
        return r if wu is None else r * wu * scale

    def jac(p):
        taus, d = unpack(p)
        v = Vu / d
        i, di_dv, di_dt = table.reduced_with_grad(v, taus)
        cols = [G0 * d * di_dt[c] / scale for c in range(n_channels)]
        if fit_delta:
            cols.append(G0 * (i - v * di_dv) / scale)
        Jm = np.stack(cols, axis=1)
        Jm = np.where(np.isfinite(Jm), Jm, 0.0)
        return Jm if wu is None else Jm * (wu * scale)[:, None]

    lo = [0.0] * n_channels + ([0.5 * d0] if fit_delta else [])
    hi_b = [1.0] * n_channels + ([1.5 * d0] if fit_delta else [])
    best = None
    starts = _start_sets(n_channels, total)
    for t0 in starts:
        p0 = np.r_[t0, [d0] if fit_delta else []]
        res = optimize.least_squares(resid, p0, jac=jac, bounds=(lo, hi_b), x_scale="jac", max_nfev=200)
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    p = best.x
    nfree = p.size
    dof = max(Vu.size - nfree, 1)
    s2 = 2.0 * best.cost / dof
    Jm = jac(p)
    try:
        cov = np.linalg.pinv(Jm.T @ Jm) * (s2 if wu is None else max(s2, 1e-300))
    except np.linalg.LinAlgError:
        cov = np.full((nfree, nfree), np.nan)
    err = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(err, err)
    taus, d = unpack(p)
    order = np.argsort(taus)[::-1]
    idx = np.r_[order, [n_channels] if fit_delta else []].astype(int)
    corr = corr[np.ix_(idx, idx)]
    terr = err[:n_channels][order]
    degenerate = False
    if n_channels > 1:
        sub = corr[:n_channels, :n_channels]
        off = np.abs(sub[~np.eye(n_channels, dtype=bool)])
        degenerate = bool(np.any(off > 0.95))
    ones = np.ones(n_channels)
    gn_err = G0 * math.sqrt(max(float(ones @ cov[:n_channels, :n_channels] @ ones), 0.0))
    return MARFit(
        taus=np.asarray(taus)[order],
        taus_err=terr,
        delta=float(d),
        delta_err=float(err[n_channels]) if fit_delta else 0.0,
        G_N=float(G0 * np.sum(taus)),
        G_N_err=gn_err,
        chi2_red=float(s2),
        correlation=corr,
        degenerate=degenerate,
        starts=len(starts),
        n_points=int(Vu.size),
        T=float(T),
    )


# ---------------------------------------------------------------------------------------------------
# Model plugin
# ---------------------------------------------------------------------------------------------------


class MARCurrent(Model):
    """MAR I(V) of a contact of up to three channels (tau1, tau2, tau3) between identical BCS electrodes.

    I = Sum_i I_1(V; tau_i, Delta, T) by the Averin-Bardas recursion (module docstring); G_N = G_0 Sum tau.
    At T = 0 (kT/Delta below 5e-4) the biases inside the cached :class:`MARTable` (|eV| <= ``TABLE_V_MAX``
    Delta) are interpolated from it (within about 1e-3 of the largest current of the direct ladder), so a
    fit costs interpolations only; other biases and temperatures use the direct recursion. The start
    (:meth:`guess`) is the multi-start channel fit :func:`fit_mar` from a few gaps spread over the data's
    bias range, so it does not hinge on one starting point.
    """

    name: ClassVar[str] = "mar_current"
    title: ClassVar[str] = "Multiple Andreev reflection I(V), three channels"
    family: ClassVar[str] = "Point contacts"
    y_name: ClassVar[str] = "I"
    y_unit: ClassVar[str] = "A"
    params: ClassVar[tuple[Param, ...]] = (
        Param("Delta", "eV", 1.35e-3, 2e-4, 20e-3, "superconducting gap of both electrodes"),
        Param("T", "K", 0.0, 0.0, 20.0, "temperature (Fermi factor; Delta(T) is not applied)", vary=False),
        Param("tau1", "", 0.8, 0.0, 1.0, "transmission of channel 1"),
        Param("tau2", "", 0.3, 0.0, 1.0, "transmission of channel 2"),
        Param("tau3", "", 0.0, 0.0, 1.0, "transmission of channel 3"),
    )
    formula: ClassVar[str] = "I = Sum_i (G_0 Delta/e) i(eV/Delta; tau_i, kT/Delta), Averin-Bardas recursion"
    reference: ClassVar[str] = (
        "Averin and Bardas, PRL 75, 1831 (1995); Cuevas, Martin-Rodero, Levy Yeyati, PRB 54, 7366 (1996)"
    )
    contract_recover: ClassVar[tuple[str, ...] | None] = ("tau1",)
    contract_rtol: ClassVar[float] = 0.03
    #: Reduced bias range of the table used at T = 0.
    TABLE_V_MAX: ClassVar[float] = 6.0

    def example_x(self) -> np.ndarray:
        return np.linspace(-4e-3, 4e-3, 81)

    def _current(self, x: np.ndarray, taus: list[float], d: float, T: float) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        d = _check_delta(d)
        if K_B_EV * T / d >= 5e-4:
            return mar_current(x, taus, d, T)
        tab = mar_table(0.0, v_max=self.TABLE_V_MAX)
        v = x / d
        out = np.full(x.shape, np.nan)
        inside = np.abs(v) <= tab.v_max
        out[inside] = G0 * d * tab.reduced(v[inside], np.clip(taus, 0.0, 1.0))
        if np.any(~inside):
            out[~inside] = mar_current(x[~inside], taus, d, T)
        return out

    def evaluate(self, x: np.ndarray, **p: float) -> np.ndarray:
        taus = [p["tau1"], p["tau2"], p["tau3"]]
        out = self._current(x, taus, p["Delta"], p["T"])
        # below the lowest computed bias the dc current of the contact is taken as linear to zero
        bad = ~np.isfinite(out)
        if np.any(bad):
            d = p["Delta"]
            vmin = V_MIN_FRACTION * d
            edge = mar_current(np.array([vmin]), taus, d, p["T"])[0]
            out[bad] = edge * np.asarray(x, dtype=float)[bad] / vmin
        return out

    def guess(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        hi = np.abs(x) >= 0.7 * np.max(np.abs(x)) if x.size else np.zeros(0, bool)
        slope = float(np.polyfit(x[hi], y[hi], 1)[0]) if np.count_nonzero(hi) >= 3 else 0.0
        total = float(np.clip(slope / G0, 0.0, 3.0))
        t = _start_sets(3, max(total, 0.05))[1]
        out = {**self.defaults(), "tau1": t[0], "tau2": t[1], "tau3": t[2]}
        v_top = float(np.max(np.abs(x))) if x.size else 0.0
        if x.size >= 12 and v_top > 0:
            # the channel fit from gaps spread over the bias range (each start may move by +-50 %)
            lo, hi_d = self.params[0].min, self.params[0].max
            best = None
            for k in (2.0, 3.5, 6.0):
                d0 = float(np.clip(v_top / k, lo, hi_d))
                try:
                    f = fit_mar(x, y, 3, d0, v_fit_max=min(4.0, 0.95 * self.TABLE_V_MAX))
                except (ModelError, ValueError, np.linalg.LinAlgError):
                    continue
                if np.isfinite(f.chi2_red) and (best is None or f.chi2_red < best.chi2_red):
                    best = f
            if best is not None:
                out.update(Delta=best.delta, tau1=best.taus[0], tau2=best.taus[1], tau3=best.taus[2])
        return self.clip_to_bounds(out)


MODELS = [MARCurrent]

__all__ = [
    "ETA_DEFAULT",
    "G0",
    "MODELS",
    "V_MIN_FRACTION",
    "MARCurrent",
    "MARFit",
    "MARTable",
    "andreev_amplitude",
    "excess_current_t0",
    "fit_mar",
    "mar_current",
    "mar_reduced_current",
    "mar_table",
]
