"""The mesa analyses ([MESA], paper 002) over a series of stacks, and the stack simulator's results, as
JSON-able summaries.

:func:`analyse_mesa_series` takes a current-biased series tagged with the junction count ``N``: the sweep
with N = 0 (or the one chosen) is the top-contact SIN junction measured alone. For every stack it removes
the SIN series voltage (:func:`analysis.papers.mesa.sin_correction`, dI/dV as 1/(dV/dI) on a uniform
current grid), takes the rising-voltage branch and computes beta = FWHM/V_peak of N dI/dV against V/N
(:func:`analysis.papers.mesa.beta_of_curve`); then it fits the d-wave SIS current to the corrected curve
of the smallest stack per junction up to ``fit_v_max`` (:func:`analysis.papers.mesa.fit_dwave`; the
self-heating of the high-bias part would bias the gap).

:func:`simulate_summary` runs :func:`analysis.papers.mesa.simulate_stacks` for N = 1..``n_max`` and keeps
what the panel draws: each S-curve (V, I, T_m), its V_peak, T_m at the peak, extrema and beta.
Units: V, A, Ohm, K, K/W, eV, S.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from analysis.papers import mesa
from analysis.papers._common import AnalysisError
from analysis.series import Series

#: Points kept of each curve drawn (the panel and the project need no more).
CURVE_POINTS = 400


@dataclass
class MesaSettings:
    """Channels, the junction-count tag, the SIN sweep (index; None: the sweep with N = 0, else none),
    the conductance grid ``n_grid``, the fit's ``fit_v_max`` (V per junction) and temperature ``T_fit``
    (K), and the simulator's ``alpha`` (K/W), ``t_bath`` (K), ``r_n`` (Ohm per junction), ``n_max``."""

    voltage: str = "Voltage"
    current: str = "Current"
    tag: str = "N"
    sin_sweep: int | None = None
    n_grid: int = 300
    fit_v_max: float = 0.06
    T_fit: float = 4.2
    alpha: float = 110e3
    t_bath: float = 4.2
    r_n: float = 24.2
    n_max: int = 30

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MesaSettings:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class MesaSummary:
    """Per stack (k,): ``sweeps`` indices, ``ns``, ``beta``, ``beta_err``, ``v_peak`` (V per junction),
    ``regime``; ``curves`` [{"v": per-junction V, "i": A, "g": N dI/dV S}] of the corrected rising
    branches; the fit ``delta0``, ``gamma``, ``G_N`` with errors, ``chi2_red``, the stack it used
    (``fit_n``) and ``fit_curve`` {"v", "i", "model"}; ``sin_sweep`` (-1: no correction)."""

    sweeps: list[int]
    ns: np.ndarray
    beta: np.ndarray
    beta_err: np.ndarray
    v_peak: np.ndarray
    regime: list[str]
    curves: list[dict[str, Any]]
    delta0: float
    delta0_err: float
    gamma: float
    gamma_err: float
    G_N: float
    G_N_err: float
    chi2_red: float
    fit_n: int
    fit_curve: dict[str, Any]
    sin_sweep: int
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MesaSummary:
        out = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for k in ("ns", "beta", "beta_err", "v_peak"):
            out[k] = np.asarray(out[k], dtype=float)
        out["sweeps"] = [int(v) for v in out["sweeps"]]
        return cls(**out)


def _thin(*arrays: np.ndarray, n: int = CURVE_POINTS) -> list[np.ndarray]:
    size = arrays[0].size
    idx = np.unique(np.linspace(0, size - 1, min(n, size)).astype(int)) if size else np.zeros(0, int)
    return [np.asarray(a, float)[idx] for a in arrays]


def _sin_index(series: Series, st: MesaSettings) -> int | None:
    if st.sin_sweep is not None:
        if not 0 <= st.sin_sweep < len(series):
            raise AnalysisError(f"no sweep {st.sin_sweep} for the SIN junction")
        return int(st.sin_sweep)
    if st.tag in series.tags:
        zero = np.flatnonzero(series.tag(st.tag) == 0)
        if zero.size:
            return int(zero[0])
    return None


def analyse_mesa_series(
    series: Series, settings: MesaSettings | None = None, progress=None, cancel=None
) -> MesaSummary:
    """beta(N) of every stack after the SIN correction, and the d-wave fit (see the module docstring)."""
    from analysis.hooks import check_cancel

    st = settings or MesaSettings()
    for ch in (st.voltage, st.current):
        if ch not in series.units:
            raise AnalysisError(f"the series has no channel {ch!r} (has {', '.join(series.units)})")
    if st.tag not in series.tags:
        raise AnalysisError(f"the series has no junction-count tag {st.tag!r}")
    sin = _sin_index(series, st)
    i_sin = v_sin = None
    if sin is not None:
        i_sin, v_sin = series.sweeps[sin].channel(st.current), series.sweeps[sin].channel(st.voltage)
    ntag = series.tag(st.tag)
    stacks = [k for k in range(len(series)) if k != sin and np.isfinite(ntag[k]) and ntag[k] >= 1]
    if not stacks:
        raise AnalysisError("no stack with N >= 1 in the series")
    warnings: list[str] = []
    if sin is None:
        warnings.append("no SIN sweep (N = 0): the curves are not corrected for the top contact")
    rows: list[tuple[int, int, float, float, float, str, dict[str, Any]]] = []
    corrected: dict[int, mesa.CorrectedCurve] = {}
    for j, k in enumerate(stacks):
        check_cancel(cancel, "mesa analysis")
        n = int(ntag[k])
        sw = series.sweeps[k]
        i, v = sw.channel(st.current), sw.channel(st.voltage)
        if i_sin is not None and v_sin is not None:
            cc = mesa.sin_correction(i, v, i_sin, v_sin, n_grid=st.n_grid)
        else:
            cc = mesa.sin_correction(i, v, [-1.0, 1.0], [0.0, 0.0], n_grid=st.n_grid)  # no series voltage
        corrected[k] = cc
        vg, g = cc.V_grid, cc.G
        keep = (vg >= np.maximum.accumulate(vg)) & np.isfinite(g) & (g > 0) & (vg > 0)
        try:
            b = mesa.beta_of_curve(vg[keep], g[keep], n)
            beta, err, vpk = b.beta, b.beta_err, b.v_peak
            regime = b.regime if math.isfinite(b.beta) else "no half-maximum crossing"
        except AnalysisError as exc:
            beta = err = vpk = math.nan
            regime = "-"
            warnings.append(f"N = {n}: {exc}")
        tv, ti, tg = _thin(vg[keep] / n, cc.I_grid[keep], g[keep] * n)
        rows.append((k, n, beta, err, vpk, regime, {"v": tv, "i": ti, "g": tg}))
        if progress is not None:
            progress(j + 1, len(stacks) + 1)
    rows.sort(key=lambda r: r[1])
    k_fit, n_fit = rows[0][0], rows[0][1]
    cc = corrected[k_fit]
    vj, ij = cc.V / n_fit, cc.I
    m = (vj <= st.fit_v_max) & (vj >= -st.fit_v_max)
    vj, ij = _thin(vj[m], ij[m], n=200)
    fit = mesa.fit_dwave(vj, ij, T=st.T_fit)
    from analysis.models.registry import registry

    model = registry().get("dwave_sis_current")
    vals = {**model.defaults(), "T": st.T_fit, "a": 0.0, "V0": 0.0}
    vals.update({"Delta0_t": fit.delta0, "Delta0_s": fit.delta0, "Gamma": fit.gamma, "G_N": fit.G_N})
    model_i = np.asarray(model.evaluate(vj, **vals), dtype=float)
    return MesaSummary(
        sweeps=[r[0] for r in rows],
        ns=np.array([r[1] for r in rows], float),
        beta=np.array([r[2] for r in rows], float),
        beta_err=np.array([r[3] for r in rows], float),
        v_peak=np.array([r[4] for r in rows], float),
        regime=[r[5] for r in rows],
        curves=[r[6] for r in rows],
        delta0=fit.delta0,
        delta0_err=fit.delta0_err,
        gamma=fit.gamma,
        gamma_err=fit.gamma_err,
        G_N=fit.G_N,
        G_N_err=fit.G_N_err,
        chi2_red=fit.chi2_red,
        fit_n=n_fit,
        fit_curve={"v": vj, "i": ij, "model": model_i},
        sin_sweep=-1 if sin is None else sin,
        warnings=warnings,
        settings=asdict(st),
    )


@dataclass
class SimulationSummary:
    """The simulated stacks N = 1..n_max: ``ns``, ``v_peak`` (V per junction), ``t_at_peak`` (K),
    ``beta``, ``backbends`` (0/1), ``extrema`` per N (V per junction), ``curves`` per N {"V": stack V,
    "I": A, "T_m": K}, the inputs in ``settings`` and the wall time ``seconds``."""

    ns: np.ndarray
    v_peak: np.ndarray
    t_at_peak: np.ndarray
    beta: np.ndarray
    backbends: np.ndarray
    extrema: list[list[float]]
    curves: list[dict[str, Any]]
    settings: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimulationSummary:
        out = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for k in ("ns", "v_peak", "t_at_peak", "beta", "backbends"):
            out[k] = np.asarray(out[k], dtype=float)
        return cls(**out)

    def index(self, n: int) -> int | None:
        hit = np.flatnonzero(self.ns == n)
        return int(hit[0]) if hit.size else None


def simulate_summary(
    settings: MesaSettings | None = None,
    delta_table: tuple[np.ndarray, np.ndarray] | None = None,
    gamma_table: tuple[np.ndarray, np.ndarray] | None = None,
    progress=None,
    cancel=None,
) -> SimulationSummary:
    """The stack simulator for N = 1..``settings.n_max`` (BCS Delta(T) and Gamma(T) of the default junction,
    or the imported tables ((T K, value eV) pairs)), thinned for drawing."""
    st = settings or MesaSettings()
    if st.n_max < 1 or st.n_max > 200:
        raise AnalysisError("simulate between 1 and 200 junctions")
    sim = mesa.simulate_stacks(
        list(range(1, int(st.n_max) + 1)),
        st.alpha,
        st.t_bath,
        st.r_n,
        params=mesa.default_stack_parameters(st.t_bath),
        delta_table=delta_table,
        gamma_table=gamma_table,
        progress=progress,
        cancel=cancel,
    )
    curves = []
    for s in sim.stacks:
        V, I, T = _thin(s.iv.V, s.iv.I, s.iv.T_m)
        curves.append({"V": V, "I": I, "T_m": T})
    sset = asdict(st)
    sset["tables"] = delta_table is not None
    return SimulationSummary(
        ns=sim.ns.astype(float),
        v_peak=np.asarray(sim.v_peak, float),
        t_at_peak=np.array([s.t_at_peak for s in sim.stacks], float),
        beta=np.asarray(sim.beta, float),
        backbends=sim.backbends.astype(float),
        extrema=[[float(e) for e in s.extrema] for s in sim.stacks],
        curves=curves,
        settings=sset,
        seconds=float(sim.seconds),
    )


def read_gap_tables(path: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Delta(T) and Gamma(T) tables from a text file of three columns: T (K), Delta (eV), Gamma (eV)
    (comma, tab or space separated; lines starting with # are comments)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read().replace(",", " ")
        data = np.loadtxt(text.splitlines(), comments="#", ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise AnalysisError(f"{path}: not a table of T, Delta, Gamma: {exc}") from exc
    if data.shape[1] < 3 or data.shape[0] < 2:
        raise AnalysisError(f"{path}: need at least two rows of T (K), Delta (eV), Gamma (eV)")
    t, d, g = data[:, 0], data[:, 1], data[:, 2]
    order = np.argsort(t)
    t, d, g = t[order], d[order], g[order]
    if np.any(d < 0) or np.any(g <= 0) or np.any(d > 1.0):
        raise AnalysisError(f"{path}: Delta must be >= 0 and Gamma > 0, in eV")
    return (t, d), (t, g)


def table_rows(s: MesaSummary) -> list[tuple[str, str, str]]:
    """(quantity, value, note) rows of the results table."""
    rows = []
    for n, b, e, vp, reg in zip(s.ns, s.beta, s.beta_err, s.v_peak, s.regime, strict=True):
        val = f"{b:.3g} +- {e:.2g}" if math.isfinite(b) else "-"
        rows.append((f"beta (N = {int(n)})", val, f"V_peak = {vp * 1e3:.4g} mV per junction; {reg}"))
    rows.append(
        ("Delta0 (d-wave fit)", f"{s.delta0 * 1e3:.4g} +- {s.delta0_err * 1e3:.2g} meV", f"N = {s.fit_n}")
    )
    rows.append(
        ("Gamma", f"{s.gamma * 1e3:.3g} +- {s.gamma_err * 1e3:.2g} meV", f"chi2_red = {s.chi2_red:.3g}")
    )
    rows.append(
        ("G_N per junction", f"{s.G_N * 1e3:.4g} +- {s.G_N_err * 1e3:.2g} mS", f"R_N = {1 / s.G_N:.4g} Ohm")
    )
    rows.append(("SIN correction", "sweep " + str(s.sin_sweep + 1) if s.sin_sweep >= 0 else "none", ""))
    return rows


__all__ = [
    "MesaSettings",
    "MesaSummary",
    "SimulationSummary",
    "analyse_mesa_series",
    "read_gap_tables",
    "simulate_summary",
    "table_rows",
]
