"""Batched SIS (and normal-tip SIN) tunnelling on one energy grid shared by every spectrum, with derivatives.

For n parameter rows, each side of the junction (tip t, sample s) has a DOS that is a weighted sum of Dynes
terms, N(E) = Sum_c w_c N_D(E; Delta_c, Gamma_c) (one term: a single gap; two: the two-band pi + sigma
mixture; n_phi: the angles of a d-wave average). On the common grid E_j = j h, |E_j| <= E_max::

    I(V_k) R_N = h Sum_j avgN_t(E_j) avgN_s(E_j + V_k) [f(E_j) - f(E_j + V_k)],     V_k = k h

with avgN the exact hat-weighted grid averages of the Dynes DOS (:func:`dynes_dos_grid_average`). Written as
two cross-correlations, I = h [corr(N_t f, N_s) - corr(N_t, N_s f)], it is one product of FFTs per row: the
FFT length, the Fermi factors and the read-off weights depend only on the bias axis and T, so they are
computed once and shared by all rows (cached). dI/dV is the fourth-order central difference of I on the
grid (a multiplier in Fourier space), and both are read off at the biases V - V0 by four-point Lagrange
interpolation (a fixed gather for all rows when V0 is common).

Derivatives are exact for these numerics (forward mode through the bilinear form): a parameter of the sample
DOS gives corr(N_t f, dN_s) - corr(N_t, dN_s f), one of the tip DOS corr(dN_t f, N_s) - corr(dN_t, N_s f),
T gives corr(N_t df/dT, N_s) - corr(N_t, N_s df/dT), V0 the derivative of the read-off weights.

Grid: h = (dV / 2) / 2^level (dV the bias spacing), the smallest such step at most kT / 6 and
Gamma_min / 5 (a power of two of a step fixed by the data, so that small changes of T or Gamma do not move
the grid), and at most ``MAX_POINTS`` nodes; |E| reaches
max|V - V0| + 20 kT + 8 h (the Fermi window beyond the largest bias: the truncation is below 1e-8). The
step does not depend on the gaps or Gammas, so a fit sees a smooth function of its parameters and every row
gets the result it would get alone (the rows of a d-wave map sharing one Gamma to about 1e-11 of the values:
they interpolate one table of Dynes grid averages on gap nodes, :func:`gap_table_side`).

Shapes: V (nb,), per-row parameters (n,), DOS arrays (n, ne); results (n, nb). Units: eV, V, K.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import fft as sfft

from analysis.constants import K_B_EV
from analysis.models import accel
from analysis.models.base import Model
from analysis.models.numerics import _second_primitive_rest, fermi, thermal_kernel

#: Fermi window beyond the largest bias, in kT.
WINDOW_KT = 20.0
#: Grid step in units of kT (upper bound; the bias spacing bounds it too).
STEP_KT = 1.0 / 6.0
#: Largest number of grid nodes (the step grows beyond it).
MAX_POINTS = 16384
#: The step also resolves the narrowest Dynes broadening: h <= Gamma / GAMMA_STEPS (the step of
#: :func:`grid_step` halved as often as needed). The SIS peak of two sharp gaps then matches a fine-grid
#: evaluation to about 3e-3 of its height (the error falls as h^2).
GAMMA_STEPS = 4.0
#: Most halvings of the step (h >= dV / 16): a fit wandering to a vanishing Gamma (an unconstrained
#: broadening where a gap closes) would otherwise cost a grid of up to ``MAX_POINTS`` nodes per evaluation;
#: below Gamma = 4 h the exact hat averages keep the spectral weight, only the peak shape is smoothed.
MAX_LEVEL = 3
#: Rows per FFT block (bounds the work arrays).
_ROW_BLOCK = 64
#: Elements (rows x FFT length) of one block of rows.
_ELEMENTS = 200_000
#: Elements (rows x angles x nodes) of one block of a d-wave angle average.
_ELEMENTS_ANGLES = 1_000_000


@dataclass(frozen=True)
class SISGrid:
    """The shared grid of a bias axis and temperature.

    ``h`` step (eV); ``m`` nodes on each side (E = h * arange(-m, m + 1), ne = 2m + 1); ``L`` FFT length;
    ``f`` (ne,) Fermi function and ``fT`` (ne,) its T-derivative (1/K); ``kmax`` largest lag read off.
    """

    h: float
    m: int
    L: int
    T: float
    f: np.ndarray
    fT: np.ndarray
    kmax: int

    @property
    def ne(self) -> int:
        return 2 * self.m + 1

    @property
    def E(self) -> np.ndarray:
        return self.h * np.arange(-self.m, self.m + 1, dtype=float)


_GRID_CACHE: dict[tuple, SISGrid] = {}
_GRID_LOCK = threading.Lock()


def base_step(V: np.ndarray) -> float:
    """The coarsest grid step (eV) of bias axis V (V): half the bias spacing."""
    V = np.asarray(V, dtype=float)
    u = np.unique(V)
    dv = float(np.min(np.diff(u))) if u.size > 1 else math.inf
    h = dv / 2
    if not (math.isfinite(h) and h > 0):
        h = max(float(np.max(np.abs(V))) if V.size else 0.0, 1e-3) / 200
    return h


def step_level(V: np.ndarray, T: float, gamma_min: np.ndarray) -> np.ndarray:
    """(n,) halvings of :func:`base_step` that bring the step to at most kT/6 and Gamma_min / GAMMA_STEPS.

    Powers of two of a step fixed by the bias axis: the grid does not move when T or Gamma change a
    little, so the model is a smooth function of them (and the Jacobian exact) between levels."""
    hb = base_step(V)
    kt = K_B_EV * T if T > 0 else math.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.minimum(STEP_KT * kt, np.where(gamma_min > 0, gamma_min / GAMMA_STEPS, 0.0))
        lv = np.ceil(np.log2(np.maximum(hb / target, 1.0)))
    return np.clip(np.where(np.isfinite(lv), lv, MAX_LEVEL), 0, MAX_LEVEL).astype(int)


def make_grid(V: np.ndarray, T: float, reach: float, level: int = 0) -> SISGrid:
    """The grid for biases V (V) at T (K) whose read-off covers |V - V0| <= ``reach`` (V), with the step of
    :func:`base_step` halved ``level`` times (see :func:`step_level`). Cached."""
    h0 = base_step(V) / (1 << int(level))
    kt = K_B_EV * T if T > 0 else 0.0
    # round the reach up (steps of 1/8 of it, at least 8 h) so that a moving V0 keeps the same grid
    reach = float(reach)
    e_max = reach + WINDOW_KT * kt + 8 * h0
    h = max(h0, 2 * e_max / (MAX_POINTS - 1))
    key = (round(h / 1e-15), round(reach / 1e-12), float(T))
    with _GRID_LOCK:
        hit = _GRID_CACHE.get(key)
    if hit is not None:
        return hit
    m = int(math.ceil(e_max / h))
    ne = 2 * m + 1
    kmax = int(math.ceil(reach / h)) + 6
    L = sfft.next_fast_len(ne + kmax + 2, real=True)
    E = h * np.arange(-m, m + 1, dtype=float)
    if T > 0:
        f = fermi(E, T)
        fT = (E / T) * thermal_kernel(E, T)
    else:
        f = np.where(E < 0, 1.0, np.where(E > 0, 0.0, 0.5))
        fT = np.zeros(ne)
    g = SISGrid(h, m, L, float(T), f, fT, kmax)
    with _GRID_LOCK:
        if len(_GRID_CACHE) > 32:
            _GRID_CACHE.pop(next(iter(_GRID_CACHE)))
        _GRID_CACHE[key] = g
    return g


def dynes_half_averages(
    grid: SISGrid, delta: np.ndarray, gamma: np.ndarray, derivatives: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Hat-weighted grid averages of the Dynes DOS on the nodes E >= 0 (m + 1 of them), for rows (n,).

    Returns (avg, d avg/dDelta, d avg/dGamma), each (n, m + 1) (None without ``derivatives``). Uses the
    compiled kernel of :mod:`analysis.models.accel` when numba is installed."""
    if accel.AVAILABLE:
        return accel.dynes_half_averages_compiled(grid.h, grid.m, delta, gamma, derivatives)
    h = grid.h
    e = h * np.arange(-1, grid.m + 2, dtype=float)  # one node beyond each end
    r2, dd, dg = _second_primitive_rest(e[None, :], delta[:, None], gamma[:, None], derivatives)
    inv = 1.0 / (h * h)

    def second_difference(a):
        out = a[:, 2:] - 2.0 * a[:, 1:-1]
        out += a[:, :-2]
        out *= inv
        return out

    avg = second_difference(r2)
    avg += 1.0
    if not derivatives:
        return avg, None, None
    return avg, second_difference(dd), second_difference(dg)


def mirror(half: np.ndarray) -> np.ndarray:
    """(n, 2m + 1) values of an even function from its (n, m + 1) values on E >= 0."""
    return np.concatenate([half[:, :0:-1], half], axis=1)


@dataclass
class Side:
    """One electrode's DOS on the grid for rows (n,): ``N`` (n, ne) and derivative arrays by name. ``N``
    may be (1, ne): one DOS shared by every row (a fixed tip, a normal electrode)."""

    N: np.ndarray
    dN: dict[str, np.ndarray]


def mixture_side(
    grid: SISGrid,
    parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    names: Sequence[tuple[str | None, str | None, str | None]] = (),
    *,
    chains: Sequence[tuple[float, float]] = (),
) -> Side:
    """The DOS Sum_c w_c N_D(Delta_c, Gamma_c) on the grid, with derivatives.

    ``parts``: [(w (n,), Delta (n,), Gamma (n,)), ...]. ``names``: per part the parameter names (of w,
    Delta, Gamma) whose derivatives are wanted (None: not wanted); contributions sharing a name are summed
    (a Gamma common to two channels, the angles of a d-wave gap). ``chains``: per part (dw_c/d(w name),
    dDelta_c/d(Delta name)), default (1, 1): e.g. (-1, 1) for the weight 1 - w, (1, cos 2phi) for the angle
    phi of a d-wave gap. The DOS depends on |Delta|.
    """
    n = parts[0][0].shape[0]
    N = np.zeros((n, grid.m + 1))
    dN: dict[str, np.ndarray] = {}

    def add(name: str | None, arr: np.ndarray) -> None:
        if name is None:
            return
        if name in dN:
            dN[name] += arr
        else:
            dN[name] = arr.copy()

    for c, (w, d, g) in enumerate(parts):
        wn, dn, gn = names[c] if c < len(names) else (None, None, None)
        cw, cd = chains[c] if c < len(chains) else (1.0, 1.0)
        need = dn is not None or gn is not None
        avg, dd, dg = dynes_half_averages(grid, np.abs(d), g, need)
        wc = w[:, None]
        N += wc * avg
        if wn is not None:
            add(wn, avg * cw if cw != 1.0 else avg)
        if dn is not None:
            add(dn, dd * (wc * np.sign(d)[:, None] * cd))
        if gn is not None:
            add(gn, dg * wc)
    return Side(mirror(N), {k: mirror(v) for k, v in dN.items()})


def angle_side(
    grid: SISGrid,
    delta0: np.ndarray,
    gamma: np.ndarray,
    a: np.ndarray,
    n_phi: int,
    names: tuple[str | None, str | None, str | None] = (None, None, None),
) -> Side:
    """The d-wave DOS < W Re[z / sqrt(z^2 - (Delta0 cos 2phi)^2)] > / < W > (W = 1 + a cos 4phi, midpoint
    rule with ``n_phi`` angles on [0, pi/4]) on the grid for rows (n,), as a mixture of Dynes terms.

    ``names``: the parameter names of (a, Delta0, Gamma) whose derivatives are wanted (None: not wanted).
    """
    n = delta0.shape[0]
    phi = (np.arange(n_phi) + 0.5) * (math.pi / 4) / n_phi
    c2, c4 = np.cos(2 * phi), np.cos(4 * phi)
    W = 1.0 + a[:, None] * c4[None, :]  # (n, n_phi)
    S = W.sum(axis=1, keepdims=True)
    w = W / S
    dw_da = c4[None, :] / S - W * c4.sum() / (S * S)
    an, dn, gn = names
    need = dn is not None or gn is not None
    half = grid.m + 1
    if accel.AVAILABLE:
        avg, da, dd, dg = accel.dwave_half_averages_compiled(
            grid.h, grid.m, delta0, gamma, w, dw_da, c2, need or an is not None
        )
        got = {an: da, dn: dd, gn: dg}
        return Side(mirror(avg), {nm: mirror(got[nm]) for nm in (an, dn, gn) if nm is not None})
    N = np.empty((n, half))
    out = {nm: np.empty((n, half)) for nm in (an, dn, gn) if nm is not None}
    step = max(1, _ELEMENTS_ANGLES // (n_phi * (half + 2)))
    for r0 in range(0, n, step):
        r = slice(r0, min(n, r0 + step))
        k = r.stop - r.start
        d = (np.abs(delta0[r])[:, None] * c2[None, :]).ravel()
        g = np.repeat(gamma[r], n_phi)
        avg, dd, dg = dynes_half_averages(grid, d, g, need)
        avg = avg.reshape(k, n_phi, half)
        wr = w[r]
        N[r] = np.einsum("kp,kpe->ke", wr, avg)
        if an is not None:
            out[an][r] = np.einsum("kp,kpe->ke", dw_da[r], avg)
        if dn is not None:
            sg = np.sign(delta0[r])[:, None]
            out[dn][r] = np.einsum("kp,kpe->ke", wr * c2[None, :] * sg, dd.reshape(k, n_phi, half))
        if gn is not None:
            out[gn][r] = np.einsum("kp,kpe->ke", wr, dg.reshape(k, n_phi, half))
    return Side(mirror(N), {nm: mirror(v) for nm, v in out.items()})


#: Gap-node tables of the d-wave average (:func:`gap_table_side`): Lagrange interpolation of order
#: ``TABLE_POINTS`` - 1 on gap nodes spaced max(Gamma, h) / ``TABLE_STEPS``. Against the direct angle sum on
#: the same angles the values agree to about 1e-11 of their maximum and the derivatives to about 1e-9 of
#: theirs (Gamma = 5e-5 to 5e-3 eV, Delta0 around 24 meV, a = -0.5 to 0.8, h = 4e-5 and 1.6e-4 eV).
TABLE_POINTS = 10
TABLE_STEPS = 16
#: Rows sharing one Gamma use the table when rows x angles >= TABLE_WORTH x table nodes: the table then costs
#: less than the direct sum even when it is computed for this call alone (a batch fit reuses it).
TABLE_WORTH = 2.0
_TABLES: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
_TABLE_LOCK = threading.Lock()


def gap_table_step(gamma: float, h: float) -> float:
    """Spacing (eV) of the gap nodes of :func:`gap_table_side` for broadening ``gamma``, grid step h."""
    return max(float(gamma), h) / TABLE_STEPS


def gap_table_nodes(delta_max: float, step: float) -> int:
    """Gap nodes a table needs for gaps up to ``delta_max`` (rounded up to a multiple of 64, so that a fit
    moving its gaps a little keeps its table)."""
    need = int(math.floor(delta_max / step)) + TABLE_POINTS // 2 + 2
    return 64 * int(math.ceil(need / 64))


def gap_table_cached(grid: SISGrid, gamma: float, step: float, nodes: int) -> bool:
    """Whether the table of :func:`gap_table_side` for this grid, Gamma and step (with ``nodes`` gap nodes)
    is already computed."""
    with _TABLE_LOCK:
        hit = _TABLES.get((grid.h, grid.m, float(gamma), step))
    return hit is not None and hit[0].shape[0] >= nodes


def _gap_table(grid: SISGrid, gamma: float, step: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, dA/dGamma), each (nodes, m + 1): hat-weighted Dynes grid averages on E >= 0 at the gaps
    D_l = l * step (l = 0..nodes-1) and broadening ``gamma``. Cached per grid, Gamma and step."""
    key = (grid.h, grid.m, float(gamma), step)
    with _TABLE_LOCK:
        hit = _TABLES.get(key)
    if hit is not None and hit[0].shape[0] >= nodes:
        return hit[0], hit[1]
    D = step * np.arange(nodes, dtype=float)
    avg, _dd, dg = dynes_half_averages(grid, D, np.full(nodes, float(gamma)), True)
    with _TABLE_LOCK:
        while len(_TABLES) >= 4:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = (avg, dg)
    return avg, dg


def _lagrange(t: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets o (p,) = -(p/2 - 1)..p/2 and the Lagrange weights L (..., p) and dL/dt (..., p) of the
    interpolant through the nodes o at the positions t (...) in [0, 1)."""
    o = np.arange(-(p // 2 - 1), p // 2 + 1)
    diff = t[..., None] - o  # (..., p)
    L = np.empty(t.shape + (p,))
    dL = np.empty(t.shape + (p,))
    for q in range(p):
        others = [r for r in range(p) if r != q]
        den = float(np.prod([o[q] - o[r] for r in others]))
        L[..., q] = np.prod(diff[..., others], axis=-1) / den
        acc = np.zeros(t.shape)
        for r in others:
            rest = [u for u in others if u != r]
            acc += np.prod(diff[..., rest], axis=-1)
        dL[..., q] = acc / den
    return o, L, dL


def gap_table_side(
    grid: SISGrid,
    delta0: np.ndarray,
    gamma: float,
    a: np.ndarray,
    n_phi: int,
    names: tuple[str | None, str | None, str | None] = (None, None, None),
) -> Side:
    """The d-wave average of :func:`angle_side` for rows (n,) sharing one ``gamma``, from a table of Dynes
    grid averages on uniform gap nodes shared by every row (and cached across calls).

    The angle rule is that of :func:`angle_side` (midpoint, ``n_phi`` angles, weights W / Sum W); the Dynes
    average at each row's gap Delta0 cos 2phi is the Lagrange interpolant (``TABLE_POINTS`` nodes, the
    average is even in the gap) of the table, so a row costs a weighted sum of table rows (one matrix
    product per output) instead of n_phi evaluations of the Dynes primitives. The derivatives are those of
    this interpolant: exact for these numerics, d/dDelta0 from the derivative of the Lagrange weights.
    """
    n = delta0.shape[0]
    p = TABLE_POINTS
    step = gap_table_step(gamma, grid.h)
    d0 = np.abs(delta0)
    nodes = gap_table_nodes(float(np.max(d0)) if n else 0.0, step)
    A, dA = _gap_table(grid, gamma, step, nodes)
    nodes = A.shape[0]
    phi = (np.arange(n_phi) + 0.5) * (math.pi / 4) / n_phi
    c2, c4 = np.cos(2 * phi), np.cos(4 * phi)
    W = 1.0 + a[:, None] * c4[None, :]
    S = W.sum(axis=1, keepdims=True)
    w = W / S
    s = d0[:, None] * c2[None, :] / step  # (n, n_phi) gap positions in nodes
    fl = np.floor(s)
    o, L, dL = _lagrange(s - fl, p)
    idx = np.abs(fl.astype(np.int64)[..., None] + o)  # the average is even in the gap: node -l is node l
    flat = (np.arange(n, dtype=np.int64)[:, None, None] * nodes + idx).ravel()

    def weights(v: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=v.ravel(), minlength=n * nodes).reshape(n, nodes)

    an, dn, gn = names
    Wv = weights(w[..., None] * L)
    out: dict[str, np.ndarray] = {}
    if an is not None:
        dw_da = c4[None, :] / S - W * c4.sum() / (S * S)
        out[an] = weights(dw_da[..., None] * L) @ A
    if dn is not None:
        wd = w * c2[None, :] * (np.sign(delta0)[:, None] / step)
        out[dn] = weights(wd[..., None] * dL) @ A
    if gn is not None:
        out[gn] = Wv @ dA
    return Side(mirror(Wv @ A), {nm: mirror(v) for nm, v in out.items()})


def normal_side(grid: SISGrid, n: int) -> Side:
    """A normal electrode (N = 1), shared by the n rows."""
    del n
    return Side(np.ones((1, grid.ne)), {})


def _rfft(a: np.ndarray, L: int) -> np.ndarray:
    return sfft.rfft(a, n=L, axis=-1)


def _diff_multiplier(L: int, h: float) -> np.ndarray:
    """Fourier multiplier of the fourth-order central first difference on a lag grid of step h."""
    key = (L, h)
    hit = _DIFF.get(key)
    if hit is None:
        th = 2 * np.pi * np.arange(L // 2 + 1) / L
        hit = 1j * (8 * np.sin(th) - np.sin(2 * th)) / (6 * h)
        if len(_DIFF) > 32:
            _DIFF.clear()
        _DIFF[key] = hit
    return hit


_DIFF: dict[tuple[int, float], np.ndarray] = {}


@dataclass
class ReadOff:
    """Four-point Lagrange read-off at positions (n, nb) in lag units: indices (n, nb, 4) into the
    circular lag array and weights (n, nb, 4)."""

    idx: np.ndarray
    w: np.ndarray

    def __call__(self, c: np.ndarray) -> np.ndarray:
        """(n, nb) values of the lag arrays c (n, L)."""
        if self.idx.shape[0] == 1 and c.shape[0] > 1:  # one set of biases for every row: one gather
            return np.einsum("nbq,bq->nb", c[:, self.idx[0]], self.w[0])
        rows = np.arange(c.shape[0])[:, None, None]
        return np.einsum("nbq,nbq->nb", c[rows, self.idx], self.w)


def read_off(grid: SISGrid, u: np.ndarray) -> ReadOff:
    """Read-off of the lag arrays at biases u (n, nb) (V); rows with the same biases (a common V0) share
    one set of indices and weights."""
    if u.shape[0] > 1 and np.all(u == u[:1]):
        u = u[:1]
    s = u / grid.h
    k = np.floor(s)
    t = s - k
    k = k.astype(np.int64)
    idx = (k[..., None] + np.arange(-1, 3)) % grid.L
    tm1, tp1, tm2 = t - 1.0, t + 1.0, t - 2.0
    w = np.stack(
        [-t * tm1 * tm2 / 6, tp1 * tm1 * tm2 / 2, -tp1 * t * tm2 / 2, tp1 * t * tm1 / 6],
        axis=-1,
    )
    return ReadOff(idx, w)


def _phase(grid: SISGrid) -> np.ndarray:
    """exp(-i theta (ne - 1)), theta = 2 pi m / L: the DFT of a reversed sequence is this times the
    conjugate DFT of the sequence."""
    key = (grid.L, grid.ne)
    ph = _PHASES.get(key)
    if ph is None:
        th = 2 * np.pi * np.arange(grid.L // 2 + 1) / grid.L
        ph = np.exp(-1j * th * (grid.ne - 1))
        _PHASES[key] = ph
    return ph


_PHASES: dict[tuple[int, int], np.ndarray] = {}


def sis_batch(
    grid: SISGrid,
    tip: Side,
    smp: Side,
    u: np.ndarray,
    *,
    current: bool,
    columns: Sequence[str] = (),
    single: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """R_N I (``current=True``, V) or R_N dI/dV at biases u (n, nb) (V) for the rows of ``tip``/``smp``.

    ``columns``: names of wanted derivatives: any key of ``tip.dN``/``smp.dN`` (summed over both sides when
    both carry it), ``"T"`` and ``"u"`` (the derivative with respect to the bias itself). Returns
    (value (n, nb), {name: (n, nb)}).

    Symmetry halves the transforms: every DOS (and DOS derivative) array is even on the symmetric grid and
    f(-E) = 1 - f(E), so N (1 - f) is N f reversed, F(N) = F(N f) + ph conj(F(N f)) (:func:`_phase`), and
    the current's spectrum conj(F(N_t f)) F(N_s) - conj(F(N_t)) F(N_s f) reduces to -2i Im(conj(ph) F(N_t f)
    F(N_s f)): one real FFT per DOS array and one inverse FFT per output.

    ``single``: the derivative columns are transformed in float32 (about twice as fast; relative errors of
    about 1e-6 of each column's scale), the value stays float64.
    """
    L = grid.L
    h = grid.h
    ro = read_off(grid, u)
    f = grid.f
    mult = h * (_diff_multiplier(L, h) if not current else 1.0)
    cph = np.conj(_phase(grid))
    # -2i Im(...) times the multiplier: purely imaginary for the current (mult = h), purely real for the
    # conductance (mult = i h D with D real), so only that part is formed
    fac = -2.0 * h if current else 2.0 * h * _diff_multiplier(L, h).imag

    def im_product(af: np.ndarray, bf: np.ndarray) -> np.ndarray:
        z = af * bf
        z *= cph
        return z.imag

    def finish(im: np.ndarray, dtype) -> np.ndarray:
        out = np.zeros(im.shape, dtype)
        np.multiply(im, fac, out=out.imag if current else out.real)
        return out

    def transform(a: np.ndarray, weight: np.ndarray, dtype=np.float64) -> np.ndarray:
        # the product written into the zero-padded transform buffer (float32: the product of the float32
        # roundings of both, in one pass)
        buf = np.zeros((a.shape[0], L), dtype)
        np.multiply(a, weight, out=buf[:, : a.shape[1]], dtype=dtype)
        return _rfft(buf, L)

    Af = transform(tip.N, f)
    Bf = transform(smp.N, f)
    spec = finish(im_product(Af, Bf), np.complex128)
    c = sfft.irfft(spec, n=L, axis=-1)
    value = ro(c)
    out: dict[str, np.ndarray] = {}
    if not columns:
        return value, out
    cdt = np.complex128
    wdt = np.float64
    if single:
        cdt = c64 = np.complex64
        wdt = np.float32
        # float32 copies only of what the wanted columns use
        if any(nm in smp.dN or nm == "T" for nm in columns):
            Af = Af.astype(c64)
        if any(nm in tip.dN or nm == "T" for nm in columns):
            Bf = Bf.astype(c64)
        if "u" in columns:
            spec = spec.astype(c64)
        cph = cph.astype(c64)
        mult = np.asarray(mult).astype(c64)
        fac = np.asarray(fac, dtype=np.float32)
        f = f.astype(np.float32)

    for name in columns:
        if name == "u":
            # d/du: the fourth-order difference on the lag grid, read off like the value (the data biases
            # sit on grid nodes when V0 = 0, where the piecewise-cubic read-off has a kink)
            dm = _diff_multiplier(L, h)
            out[name] = ro(sfft.irfft(spec * (dm.astype(np.complex64) if single else dm), n=L, axis=-1))
            continue
        if name == "T":
            fT = grid.fT
            ph = np.conj(cph)
            A = Af + ph * np.conj(Af)
            B = Bf + ph * np.conj(Bf)
            s = (np.conj(transform(tip.N, fT, wdt)) * B - np.conj(A) * transform(smp.N, fT, wdt)) * mult
        else:
            im = None
            if name in tip.dN:
                im = im_product(transform(tip.dN[name], f, wdt), Bf)
            if name in smp.dN:
                part = im_product(Af, transform(smp.dN[name], f, wdt))
                im = part if im is None else im + part
            s = finish(im, cdt) if im is not None else np.zeros(spec.shape, cdt)
        out[name] = ro(sfft.irfft(s, n=L, axis=-1))
    return value, out


def row_blocks(n: int, block: int = _ROW_BLOCK):
    """Slices of at most ``block`` rows covering range(n)."""
    for a in range(0, n, block):
        yield slice(a, min(n, a + block))


def temperature_groups(T: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """[(T, row indices)] of the distinct temperatures in T (n,)."""
    out = []
    for t in np.unique(T):
        out.append((float(t), np.flatnonzero(T == t)))
    nan = np.flatnonzero(~np.isfinite(T))
    if nan.size:
        out.append((math.nan, nan))
    return out


def reach_of(x: np.ndarray, v0: np.ndarray, bound: float) -> float:
    """The bias reach of a read-off: max |x| plus the largest |V0| (rounded up to ``bound`` / 4 steps, so
    that a fit moving V0 reuses its grid)."""
    vmax = float(np.max(np.abs(x))) if x.size else 0.0
    a = float(np.max(np.abs(v0))) if v0.size and np.all(np.isfinite(v0)) else 0.0
    if a > 0:
        q = bound / 4 if bound > 0 and math.isfinite(bound) else max(a, 1e-6)
        a = math.ceil(a / q) * q
    return vmax + a


__all__ = [
    "MAX_POINTS",
    "ReadOff",
    "SISGrid",
    "Side",
    "dynes_half_averages",
    "angle_side",
    "gap_table_cached",
    "gap_table_nodes",
    "gap_table_side",
    "gap_table_step",
    "base_step",
    "step_level",
    "make_grid",
    "mirror",
    "mixture_side",
    "normal_side",
    "reach_of",
    "read_off",
    "row_blocks",
    "sis_batch",
    "temperature_groups",
]


#: Tips shared by every row of a batch (a fixed tip), kept for the next calls of the batch.
_SHARED_TIPS: dict[tuple, Side] = {}


# -- models on the shared grid ------------------------------------------------------------------------
class GridSISModel(Model):
    """A model G_N * (R_N I or R_N dI/dV)(V - V0) of two electrodes evaluated by :func:`sis_batch`.

    Subclasses set ``current`` (and ``tip_params``) and implement ``_sides(grid, P, want, tip=None)``
    returning the (tip, sample) :class:`Side` for parameter rows P (n, k), with derivatives named by the
    parameters in ``want`` (the given ``tip`` is used as it is, a DOS shared by the rows), and
    ``_gamma_min(P)`` (n,), the narrowest broadening of each row. The parameters ``G_N``, ``T`` and ``V0``
    (and a background ``(1 + b1 u + b2 u^2)``, u = V - V0, when the model has ``b1`` and ``b2``) are handled
    here; list this class first among the bases (the others give ``_sides``, ``_gamma_min``, the
    parameters and ``guess``). ``evaluate`` is the one-row case of ``evaluate_batch`` (one set of numerics
    for single and batch fits); the Jacobian is exact for these numerics.
    """

    current: ClassVar[bool] = False
    has_jacobian: ClassVar[bool] = True
    # ``tip_params`` (set by the model classes after this one in the bases): the parameters that define the
    # tip's DOS alone; rows sharing them (with none of them free) share one tip.

    def evaluate(self, x: np.ndarray, **p: float) -> np.ndarray:
        P = np.array([[p[n] for n in self.param_names]], dtype=float)
        return self.evaluate_batch(np.asarray(x, dtype=float), P)[0]

    def evaluate_batch(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(n, nb) model values for parameter rows P (n, k)."""
        return self._run(x, P, ())[0]

    def jacobian_batch(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(n, nb, k) exact derivatives in the order of ``params``."""
        return self.jacobian_columns(x, P, np.arange(len(self.params)))

    def jacobian_columns(self, x: np.ndarray, P: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """(n, nb, len(columns)) derivatives with respect to the parameters ``columns`` (indices)."""
        names = [self.param_names[int(c)] for c in columns]
        _, jac = self._run(x, P, names)
        return np.stack([jac[nm] for nm in names], axis=-1)

    def fit_jacobian_columns(self, x: np.ndarray, P: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """:meth:`jacobian_columns` with the correlations of the derivative columns in float32 (the
        fitter's step directions; the model values stay float64)."""
        names = [self.param_names[int(c)] for c in columns]
        _, jac = self._run(x, P, names, single=True)
        return np.stack([jac[nm] for nm in names], axis=-1)

    def fit_values_and_jacobian(
        self, x: np.ndarray, P: np.ndarray, columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values and :meth:`fit_jacobian_columns` from one evaluation of the DOS and its derivatives."""
        names = [self.param_names[int(c)] for c in columns]
        val, jac = self._run(x, P, names, single=True)
        return val, np.stack([jac[nm] for nm in names], axis=-1)

    def _run(
        self, x, P, names: Sequence[str], single: bool = False
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        x = np.asarray(x, dtype=float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        pn = self.param_names
        gn = P[:, pn.index("G_N")]
        T = P[:, pn.index("T")]
        v0 = P[:, pn.index("V0")]
        n, nb = P.shape[0], x.shape[0]
        value = np.full((n, nb), np.nan)
        jac = {nm: np.full((n, nb), np.nan) for nm in names}
        if n == 0 or nb == 0:
            return value, jac
        has_poly = "b1" in pn and "b2" in pn
        ib1, ib2 = (pn.index("b1"), pn.index("b2")) if has_poly else (0, 0)
        want = set(names) - {"G_N", "T", "V0", "b1", "b2"}
        cols = [*sorted(want), *(["T"] if "T" in names else []), *(["u"] if "V0" in names else [])]
        reach = reach_of(x, v0, self.param("V0").max - self.param("V0").min)
        gmin = self._gamma_min(P)  # type: ignore[attr-defined]
        ok_rows = np.all(np.isfinite(P), axis=1)
        for t, rows in temperature_groups(T):
            rows = rows[ok_rows[rows]]
            if rows.size == 0 or not math.isfinite(t) or t < 0:
                continue
            levels = step_level(x, t, gmin[rows])
            for lv in np.unique(levels):
                sub = rows[levels == lv]
                grid = make_grid(x, t, reach, int(lv))
                shared = None
                tip_names = getattr(self, "tip_params", ())
                tp = [pn.index(k) for k in tip_names]
                if tp and sub.size > 1 and not (want & set(tip_names)):
                    if np.all(P[sub][:, tp] == P[sub[0], tp]):
                        # every row has the same tip: its DOS once for all blocks of rows (and for the
                        # next calls of a batch fit, which keep the tip fixed)
                        key = (type(self).__name__, grid.h, grid.m, grid.L, grid.T, *P[sub[0], tp])
                        with _GRID_LOCK:
                            shared = _SHARED_TIPS.get(key)
                        if shared is None:
                            shared, _ = self._sides(grid, P[sub[:1]], set())  # type: ignore[attr-defined]
                            with _GRID_LOCK:
                                if len(_SHARED_TIPS) >= 8:
                                    _SHARED_TIPS.pop(next(iter(_SHARED_TIPS)))
                                _SHARED_TIPS[key] = shared
                for blk in row_blocks(sub.size, max(1, _ELEMENTS // grid.L)):
                    r = sub[blk]
                    tip = shared if r.size > 1 else None
                    tip, smp = self._sides(grid, P[r], want, tip)  # type: ignore[attr-defined]
                    u = x[None, :] - v0[r, None]
                    val, d = sis_batch(grid, tip, smp, u, current=self.current, columns=cols, single=single)
                    g = gn[r, None]
                    if has_poly:
                        b1, b2 = P[r, ib1, None], P[r, ib2, None]
                        poly = 1.0 + b1 * u + b2 * u * u
                        dpoly = b1 + 2 * b2 * u
                    else:
                        poly, dpoly = 1.0, 0.0
                    value[r] = g * poly * val
                    for nm in names:
                        if nm == "G_N":
                            jac[nm][r] = poly * val
                        elif nm == "V0":
                            jac[nm][r] = -g * (poly * d["u"] + dpoly * val)
                        elif nm == "b1":
                            jac[nm][r] = g * u * val
                        elif nm == "b2":
                            jac[nm][r] = g * u * u * val
                        else:
                            jac[nm][r] = g * poly * d[nm]
        return value, jac
