"""Intercalated Bi2212 mesas ([MESA], paper 002): the figure of merit beta(N), the uniform self-heating
stack simulator for N = 1..30, the series SIN correction and a d-wave fit of the corrected curve.

Units: V, A, Ohm, K, K/W (alpha, the thermal resistance; [MESA] quotes K/mW), gaps in eV.

beta = FWHM/V_peak of the per-junction conductance N dI/dV against V/N (PHYSICS 9.6; baseline 0 by default,
the normal-state conductance on request: the paper does not say). The simulator follows PHYSICS 9.2: the
equilibrium d-wave SIS family I_eq(v, T) is tabulated once (BCS-type Delta(T) and Gamma(T) = Gamma0 +
Gamma1 T/Tc, or imported Delta(T), Gamma(T) tables), and each N costs only the solution of
N v I_eq(v, T_m) = (T_m - T_B)/alpha along a T_m grid, so N = 1..30 reuses one table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from analysis.models import heating as ht
from analysis.papers._common import AnalysisError, as_pair

# ---------------------------------------------------------------------------------------------------
# beta(N)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BetaValue:
    """beta = FWHM/V_peak with ``beta_err`` (from the bias resolution of the two half-maximum crossings and
    the peak), ``v_peak`` (V per junction), ``fwhm`` (V), ``n`` junctions, ``regime`` ("heating" for
    beta <= 0.15, "equilibrium" for beta >= 0.32, else "intermediate"; [MESA] thresholds)."""

    n: int
    beta: float
    beta_err: float
    v_peak: float
    fwhm: float
    regime: str


def beta_of_curve(
    V, G, n: int, *, y_n: float | None = None, v_range: tuple[float, float] | None = None
) -> BetaValue:
    """beta of one stack: ``V`` (nb,) stack voltage (V), ``G`` (nb,) dI/dV (S) of the whole stack.

    The per-junction conductance is N dI/dV against V/N; ``y_n`` (S, per junction) switches the baseline to
    the normal-state conductance; ``v_range`` (per-junction V) the window of the peak.
    """
    v, g = as_pair(V, G, "V and dI/dV", 5)
    if n < 1:
        raise AnalysisError("N must be at least 1")
    vj, gj = v / n, g * n
    try:
        b = ht.figure_of_merit_beta(vj, gj, y_n=y_n, v_range=v_range)
    except ValueError as exc:
        raise AnalysisError(str(exc)) from exc
    dv = float(np.median(np.diff(np.sort(vj))))
    err = (
        abs(b.beta) * math.hypot(dv / max(abs(b.fwhm), 1e-300) * math.sqrt(2) / 2, dv / 2 / abs(b.v_peak))
        if math.isfinite(b.beta)
        else math.nan
    )
    regime = "heating" if b.beta <= 0.15 else ("equilibrium" if b.beta >= 0.32 else "intermediate")
    return BetaValue(int(n), b.beta, err, b.v_peak, b.fwhm, regime)


def beta_vs_n(curves: Sequence[tuple[np.ndarray, np.ndarray]], ns: Sequence[int], **kw) -> list[BetaValue]:
    """:func:`beta_of_curve` for each (V, dI/dV) curve with its junction count."""
    if len(curves) != len(ns):
        raise AnalysisError("one junction count per curve is needed")
    return [beta_of_curve(v, g, int(n), **kw) for (v, g), n in zip(curves, ns, strict=True)]


# ---------------------------------------------------------------------------------------------------
# Stack simulator
# ---------------------------------------------------------------------------------------------------


class TabulatedFamily(ht.EquilibriumFamily):
    """An equilibrium d-wave SIS family with imported Delta(T) and Gamma(T) tables (eV against K).

    Same table layout and methods as :class:`analysis.models.heating.EquilibriumFamily`; Delta(T) and
    Gamma(T) are interpolated linearly in the given (T, value) tables (Delta = 0 above the table's last
    temperature if it is 0 there, i.e. Tc is where Delta reaches 0).
    """

    def __init__(self, p: ht.StackParameters, t_delta, delta, t_gamma, gamma) -> None:
        from analysis.models.dwave import DWaveDOS
        from analysis.models.numerics import sis_current

        td, dd = as_pair(t_delta, delta, "Delta(T) table", 2)
        tg, gg = as_pair(t_gamma, gamma, "Gamma(T) table", 2)
        if np.any(gg <= 0):
            raise AnalysisError("Gamma(T) must be positive")
        self.p = p
        u = np.linspace(0.0, 1.0, int(p.n_t))
        self.T = p.t_low + (p.tc - p.t_low) * (1.0 - (1.0 - u) ** 2)
        self.v = np.arange(0.0, p.v_max + 0.5 * p.dv, p.dv)
        table = np.empty((self.T.size, self.v.size))
        for k, t in enumerate(self.T):
            d = float(np.interp(t, td, dd))
            gam = float(np.interp(t, tg, gg))
            if d <= 0:
                table[k] = self.v
                continue
            n_phi = p.n_phi if p.n_phi else int(min(1024, max(64, math.ceil(8 * d / gam))))
            de = p.de if p.de is not None else min(gam / 2, d / 50, p.dv / 2)
            dos = DWaveDOS(d, gam, p.a, n_phi)
            table[k] = sis_current(self.v, dos, dos, float(t), de=de)
        table[:, 0] = 0.0
        self.table = np.maximum.accumulate(table, axis=1)
        n_end = max(2, self.v.size // 20)
        self.end_slope = np.array([np.polyfit(self.v[-n_end:], row[-n_end:], 1)[0] for row in self.table])


@dataclass
class StackResult:
    """Simulated stack of N junctions: the S-curve ``iv`` (a :class:`analysis.models.heating.StackIV`),
    ``v_peak`` the per-junction voltage of the conductance peak along the upward sweep (V), ``t_at_peak``
    the mesa temperature there (K), ``extrema`` the per-junction voltages of the backbending extrema (V),
    ``beta`` of the simulated curve (NaN when a half-maximum crossing is missing)."""

    n: int
    iv: ht.StackIV
    v_peak: float
    t_at_peak: float
    extrema: tuple[float, ...]
    beta: float


@dataclass
class StackSeries:
    """Simulated stacks for several N with the equilibrium family used; ``v_peak`` (k,) per junction (V),
    ``beta`` (k,), ``backbends`` (k,) bool, ``seconds`` the wall time of the simulation."""

    ns: np.ndarray
    stacks: list[StackResult]
    v_peak: np.ndarray
    beta: np.ndarray
    backbends: np.ndarray
    params: ht.StackParameters
    seconds: float = 0.0
    family: ht.EquilibriumFamily | None = field(default=None, repr=False)


def _vertex(x: np.ndarray, y: np.ndarray, k: int) -> tuple[float, float]:
    """(x, y) of the parabola through the samples k - 1, k, k + 1 at its vertex; the sample itself at an
    end or when the three points do not bend down."""
    if k <= 0 or k >= x.size - 1:
        return float(x[k]), float(y[k])
    c = np.polyfit(x[k - 1 : k + 2] - x[k], y[k - 1 : k + 2], 2)
    if not (c[0] < 0):
        return float(x[k]), float(y[k])
    dx = -c[1] / (2.0 * c[0])
    lo, hi = x[k - 1] - x[k], x[k + 1] - x[k]
    dx = min(max(dx, lo), hi)
    return float(x[k] + dx), float(np.polyval(c, dx))


def _slope_zero(T: np.ndarray, V: np.ndarray, nodes: np.ndarray | None, k: int) -> float:
    """T_m (K) where dV/dT_m changes sign near the sample maximum ``k``, with the slope averaged over each
    interval of the temperature table ``nodes`` (K): V(T_m) from a table interpolated linearly in T has a
    slope nearly constant on each interval, so its sample maximum sits on a table temperature; the slope
    interpolated between the intervals' centres crosses zero where the smooth model would peak."""
    if nodes is None or np.asarray(nodes).size < 3:
        return _vertex(T, V, k)[0]
    nodes = np.asarray(nodes, dtype=float)
    nodes = nodes[(nodes >= T[0]) & (nodes <= T[-1])]
    if nodes.size < 3:
        return _vertex(T, V, k)[0]
    vn = np.interp(nodes, T, V)
    slope = np.diff(vn) / np.diff(nodes)
    mid = 0.5 * (nodes[1:] + nodes[:-1])
    j = int(np.clip(np.searchsorted(nodes, T[k]), 1, nodes.size - 1))
    # the sign change of the interval slopes closest to the sample maximum
    for a in sorted(range(mid.size - 1), key=lambda q: abs(q - (j - 1))):
        if slope[a] > 0 >= slope[a + 1]:
            return float(mid[a] + slope[a] / (slope[a] - slope[a + 1]) * (mid[a + 1] - mid[a]))
    return _vertex(T, V, k)[0]


def _peak_of_stack(iv: ht.StackIV, nodes: np.ndarray | None = None) -> tuple[float, float, float]:
    """(v_peak, T_m at peak, beta) of the S-curve's main branch.

    The main branch runs from the bath temperature up to the first maximum of the stack voltage: a
    backbending stack jumps there under voltage bias, and its conductance diverges there, so the peak is
    that first maximum of V(T_m), refined by a parabola through the three samples around it, and T_m
    there the zero of dV/dT_m averaged over the temperature table's intervals ``nodes`` (K, see
    :func:`_slope_zero`), so that both move continuously with N. A stack without backbending has its
    conductance peak dI/dv on the whole curve, refined the same way.
    ``beta`` comes from the conductance of the upward sweep.
    """
    T, V, I = iv.T_m, iv.V, iv.I
    if V.size < 5:
        return math.nan, math.nan, math.nan
    falls = np.flatnonzero(np.diff(V) < 0)
    if falls.size:
        k = int(falls[0])
        v_peak = _vertex(T, V, k)[1] / iv.n
        t_pk = _slope_zero(T, V, nodes, k)
    else:
        g = np.gradient(I, iv.v)
        g = np.where(np.isfinite(g), g, -np.inf)
        k = int(np.argmax(g[1:-1])) + 1
        t_pk, _ = _vertex(T, g, k)
        v_peak = float(np.interp(t_pk, T, iv.v))
    keep = iv.V >= np.maximum.accumulate(iv.V)
    keep &= np.concatenate(([True], np.diff(iv.V) > 0))
    v, i = iv.v[keep], iv.I[keep]
    b = math.nan
    if v.size >= 5:
        g_up = np.gradient(i, v)
        g_up = np.where(np.isfinite(g_up), g_up, 0.0)
        try:
            b = ht.figure_of_merit_beta(v, g_up).beta
        except ValueError:
            b = math.nan
    return float(v_peak), float(t_pk), float(b)


def default_stack_parameters(t_bath: float = 4.2) -> ht.StackParameters:
    """The simulator's default junction: [MESA]'s intercalated Bi2212 (Delta0 24 meV, Tc 74 K, Gamma 0.55 meV)
    on 32 temperature rows (V_peak within 1 % and beta within 5 % of the 48-row table, at 2/3 of its cost)."""
    return ht.StackParameters(n_t=32, t_low=min(4.2, float(t_bath)))


def simulate_stacks(
    ns: Sequence[int],
    alpha: float,
    t_bath: float,
    r_n: float,
    *,
    params: ht.StackParameters | None = None,
    delta_table: tuple[np.ndarray, np.ndarray] | None = None,
    gamma_table: tuple[np.ndarray, np.ndarray] | None = None,
    n_t: int = 400,
    progress=None,
    cancel=None,
) -> StackSeries:
    """Uniform-heating I(V) of stacks of N junctions for every N in ``ns`` ([MESA] Sec. III.A).

    ``alpha`` K/W (thermal resistance of the mesa), ``t_bath`` K, ``r_n`` Ohm per junction, ``params`` the
    equilibrium d-wave junction (Delta0, Tc, Gamma(T), a, tables' grid), or imported ``delta_table`` and
    ``gamma_table`` ((T K, value eV) pairs). ``progress(done, total)`` over the N values.
    """
    import time

    from analysis.hooks import check_cancel

    t0 = time.perf_counter()
    p = params if params is not None else default_stack_parameters(t_bath)
    if delta_table is not None or gamma_table is not None:
        if delta_table is None or gamma_table is None:
            raise AnalysisError("give both the Delta(T) and the Gamma(T) tables")
        fam: ht.EquilibriumFamily = TabulatedFamily(p, *delta_table, *gamma_table)
    else:
        fam = ht.equilibrium_family(p)
    out = []
    for k, n in enumerate(ns):
        check_cancel(cancel, "stack simulation")
        iv = ht.stack_iv(int(n), alpha, t_bath, r_n, p, n_t=n_t, family=fam)
        vp, tp, b = _peak_of_stack(iv, getattr(fam, "T", None))
        out.append(StackResult(int(n), iv, vp, tp, iv.extrema, b))
        if progress is not None:
            progress(k + 1, len(ns))
    return StackSeries(
        np.array([s.n for s in out]),
        out,
        np.array([s.v_peak for s in out]),
        np.array([s.beta for s in out]),
        np.array([s.iv.backbends for s in out]),
        p,
        time.perf_counter() - t0,
        fam,
    )


# ---------------------------------------------------------------------------------------------------
# SIN series correction and d-wave fit
# ---------------------------------------------------------------------------------------------------


@dataclass
class CorrectedCurve:
    """A stack curve with the top-contact SIN junction removed: ``I`` (n,) A, ``V`` (n,) corrected V,
    ``V_measured`` (n,), and the conductance on a uniform current grid (``I_grid``, ``V_grid``, ``G``)."""

    I: np.ndarray
    V: np.ndarray
    V_measured: np.ndarray
    I_grid: np.ndarray
    V_grid: np.ndarray
    G: np.ndarray


def sin_correction(I, V, I_sin, V_sin, *, n_grid: int | None = None) -> CorrectedCurve:
    """V_stack(I) = V_meas(I) - V_SIN(I) (PHYSICS 9.7) and dI/dV = 1/(dV/dI) on a uniform current grid."""
    i, v = as_pair(I, V, "I and V", 5)
    try:
        vc = ht.subtract_series_junction(i, v, I_sin, V_sin)
        grid, vg, g = ht.current_bias_conductance(i, vc, n_grid)
    except ValueError as exc:
        raise AnalysisError(str(exc)) from exc
    return CorrectedCurve(i, vc, v, grid, vg, g)


@dataclass
class DWaveFit:
    """d-wave SIS fit of a (corrected) I(V): gaps ``delta0`` (eV, both electrodes equal) with
    ``delta0_err``, ``gamma`` and ``gamma_err`` (eV), ``G_N`` (S) with its error, ``chi2_red``."""

    delta0: float
    delta0_err: float
    gamma: float
    gamma_err: float
    G_N: float
    G_N_err: float
    chi2_red: float


def fit_dwave(V, I, *, T: float = 4.2, a: float = 0.0, start: dict[str, float] | None = None) -> DWaveFit:
    """Fit the d-wave/d-wave SIS current (equal gaps, PHYSICS section 4) to a per-junction I(V).

    ``V`` (nb,) V per junction, ``I`` (nb,) A; ``T`` K and the directional weight ``a`` are held. The start
    comes from the conductance peak (about 6 % below 2 Delta0) unless ``start`` is given.
    """
    from scipy import optimize

    from analysis.models.registry import registry

    v, i = as_pair(V, I, "V and I", 8)
    model = registry().get("dwave_sis_current")
    g = np.gradient(i, v)
    guess = model.guess(v, i) if start is None else {**model.defaults(), **start}
    if start is None:
        pos = v > 0
        vpk = float(v[pos][np.argmax(g[pos])]) if np.any(pos) else 0.04
        guess["Delta0_t"] = guess["Delta0_s"] = max(vpk / 2 / 0.94, 1e-3)
        hi = np.abs(v) >= 0.8 * np.max(np.abs(v))
        guess["G_N"] = abs(float(np.polyfit(v[hi], i[hi], 1)[0]))
        guess["Gamma"] = 0.03 * guess["Delta0_s"]
    base = {**guess, "T": float(T), "a": float(a), "V0": 0.0}
    scale = float(np.max(np.abs(i)))

    def resid(p):
        d, gam, gn = p
        vals = {**base, "Delta0_t": d, "Delta0_s": d, "Gamma": gam, "G_N": gn}
        return (model.evaluate(v, **vals) - i) / scale

    x0 = [base["Delta0_s"], base["Gamma"], base["G_N"]]
    sol = optimize.least_squares(
        resid, x0, bounds=([1e-4, 1e-6, 0.0], [80e-3, 20e-3, np.inf]), x_scale="jac", diff_step=1e-4
    )
    r = sol.fun
    dof = max(r.size - 3, 1)
    s2 = float(r @ r) / dof
    try:
        cov = np.linalg.inv(sol.jac.T @ sol.jac) * s2
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(3, math.nan)
    d, gam, gn = sol.x
    return DWaveFit(float(d), float(err[0]), float(gam), float(err[1]), float(gn), float(err[2]), s2)


__all__ = [
    "BetaValue",
    "CorrectedCurve",
    "DWaveFit",
    "StackResult",
    "StackSeries",
    "TabulatedFamily",
    "beta_of_curve",
    "beta_vs_n",
    "default_stack_parameters",
    "fit_dwave",
    "simulate_stacks",
    "sin_correction",
]
