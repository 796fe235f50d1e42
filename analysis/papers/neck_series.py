"""The neck analyses ([NECK], paper 001) over a whole series against field, as one JSON-able summary.

:func:`analyse_neck_series` runs, for every sweep of a series tagged with the field ``H`` (T):
:func:`analysis.papers.neck.neck_gap` on dV/dI against V (the ladder, heating and T_loc; without a
dV/dI channel on the derivative of V(I) from :func:`analysis.papers.neck.dvdi_of_iv`),
:func:`analysis.papers.neck.neck_excess_current` on I against V (both polarities), and
:func:`analysis.papers.neck.phase_slip_steps` on V against I of the positive branch (steps between 2 Delta
and 6 Delta); then the Sharvin size from R_N of the lowest field and Lambda_Q*(H) with L_S(H).

The summary (:class:`NeckSummary`) holds plain numbers and arrays only, so it is stored in a project and
drawn again without running anything. Units: V, A, Ohm, eV, K, T, m.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from analysis.papers import neck
from analysis.papers._common import AnalysisError
from analysis.series import Series

#: Points kept of each sweep's dV/dI for drawing.
CURVE_POINTS = 1500


@dataclass
class NeckSettings:
    """Channels and parameters of the neck analysis.

    ``voltage``, ``current``, ``dvdi`` channel names; ``tag`` the field tag (T); ``Tc`` K; ``v_min`` V
    (features below it are the Josephson region); ``step_points`` the points fitted on each side of a
    phase-slip step; ``H_max`` T the top of the Lambda_Q*(H), L_S(H) curves.
    """

    voltage: str = "Voltage"
    current: str = "Current"
    dvdi: str = "dV/dI"
    tag: str = "H"
    Tc: float = 7.2
    v_min: float = 0.3e-3
    step_points: int = 100
    H_max: float = 0.4

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NeckSettings:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass
class NeckSummary:
    """Results per sweep (arrays of length n, NaN where an analysis found nothing) and of the contact.

    ``H`` T; ``delta``, ``delta_err`` eV; ``T_local``, ``T_local_err`` K; ``heated``, ``ambiguous`` 0/1;
    ``n_above`` features above the ladder; ``I_exc``, ``I_exc_err`` A; ``R_N``, ``R_N_err`` Ohm;
    ``steps`` count of phase-slip steps; ``step_dV`` and ``step_dR`` the mean step (V, Ohm).
    ``ladders`` per sweep {"peaks": V, "n": rung (0 = not SGS), "alternatives": eV}; ``curves`` per sweep
    {"V": V, "R": Ohm} the positive branch of dV/dI up to a little above the last feature (at most
    :data:`CURVE_POINTS` points, for drawing); ``step_lists`` per
    sweep [[I A, V V, dV V, dV_err, dR Ohm, dR_err], ...]; ``warnings`` per sweep.
    Contact: ``radius``, ``radius_err`` m (Sharvin, from R_N at the lowest field). Field curves:
    ``H_grid`` T, ``lambda_q`` and ``L_S`` m, ``crossing_H`` T.
    """

    H: np.ndarray
    delta: np.ndarray
    delta_err: np.ndarray
    T_local: np.ndarray
    T_local_err: np.ndarray
    heated: np.ndarray
    ambiguous: np.ndarray
    n_above: np.ndarray
    I_exc: np.ndarray
    I_exc_err: np.ndarray
    R_N: np.ndarray
    R_N_err: np.ndarray
    steps: np.ndarray
    step_dV: np.ndarray
    step_dR: np.ndarray
    ladders: list[dict[str, Any]]
    curves: list[dict[str, Any]]
    step_lists: list[list[list[float]]]
    warnings: list[list[str]]
    radius: float
    radius_err: float
    H_grid: np.ndarray
    lambda_q: np.ndarray
    L_S: np.ndarray
    crossing_H: float
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NeckSummary:
        out = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for k, f in cls.__dataclass_fields__.items():
            if f.type == "np.ndarray" and k in out:
                out[k] = np.asarray(out[k], dtype=float)
        return cls(**out)


def analyse_neck_series(
    series: Series, settings: NeckSettings | None = None, progress=None, cancel=None
) -> NeckSummary:
    """Every neck analysis on every sweep of ``series`` (see the module docstring)."""
    from analysis.hooks import check_cancel

    st = settings or NeckSettings()
    for ch in (st.voltage, st.current):
        if ch not in series.units:
            raise AnalysisError(f"the series has no channel {ch!r} (has {', '.join(series.units)})")
    n = len(series)
    if n == 0:
        raise AnalysisError("the series has no sweeps")
    derived = st.dvdi not in series.units  # no lock-in channel: dV/dI of the measured V(I)
    H = series.tag(st.tag) if st.tag in series.tags else np.zeros(n)
    nan = np.full(n, math.nan)
    cols = {
        k: nan.copy()
        for k in (
            "delta delta_err T_local T_local_err heated ambiguous n_above I_exc I_exc_err R_N R_N_err "
            "steps step_dV step_dR"
        ).split()
    }
    ladders: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    step_lists: list[list[list[float]]] = []
    warnings: list[list[str]] = []
    for k, sw in enumerate(series.sweeps):
        check_cancel(cancel, "neck analysis")
        V, I = sw.channel(st.voltage), sw.channel(st.current)
        notes: list[str] = []
        gap_kw: dict[str, Any] = {}
        if derived:
            try:
                dd = neck.dvdi_of_iv(I, V)
            except AnalysisError as exc:
                raise AnalysisError(f"no {st.dvdi} channel, and V(I) gives none: {exc}") from exc
            order = np.argsort(I)
            I, Vgap, R = I[order], dd.V, dd.R
            V = V[order]
            gap_kw = {"noise": dd.noise, "correlation": dd.window}
            notes.append(f"dV/dI from V(I): Savitzky-Golay window {dd.window} points from the noise")
        else:
            R = sw.channel(st.dvdi)
            Vgap = V
        gap = None
        try:
            gap = neck.neck_gap(Vgap, R, Tc=st.Tc, v_min=st.v_min, **gap_kw)
        except AnalysisError as exc:
            notes.append(f"gap: {exc}")
        if gap is not None:
            cols["delta"][k], cols["delta_err"][k] = gap.delta, gap.delta_err
            cols["heated"][k], cols["ambiguous"][k] = float(gap.heated), float(gap.ambiguous)
            cols["n_above"][k] = float(gap.above_ladder.size)
            if gap.T_local is not None:
                cols["T_local"][k], cols["T_local_err"][k] = gap.T_local, gap.T_local_err or math.nan
            notes.extend(gap.warnings)
            ladders.append(
                {
                    "peaks": gap.peaks.tolist(),
                    "n": gap.n.astype(int).tolist(),
                    "alternatives": gap.alternatives,
                }
            )
        else:
            ladders.append({"peaks": [], "n": [], "alternatives": []})
        peaks = ladders[-1]["peaks"]
        keep = np.isfinite(Vgap) & np.isfinite(R) & (Vgap > 0)
        if peaks:
            keep &= Vgap <= 1.4 * max(peaks)
        order = np.argsort(Vgap[keep])
        cv, cr = Vgap[keep][order], R[keep][order]
        idx = (
            np.unique(np.linspace(0, cv.size - 1, min(CURVE_POINTS, cv.size)).astype(int)) if cv.size else []
        )
        curves.append({"V": cv[idx], "R": cr[idx]})
        d = gap.delta if gap is not None else None
        try:
            ex = neck.neck_excess_current(V, I, d, v_fit_min=None if d else 0.7 * float(np.max(np.abs(V))))
            cols["I_exc"][k], cols["I_exc_err"][k] = ex.I_exc, ex.I_exc_err
            cols["R_N"][k], cols["R_N_err"][k] = ex.R_N, ex.R_N_err
        except AnalysisError as exc:
            notes.append(f"excess current: {exc}")
        rows: list[list[float]] = []
        if d is not None:
            pos = I > 0
            try:
                ps = neck.phase_slip_steps(I[pos], V[pos], delta=d, max_points=st.step_points)
                rows = [[s.I, s.V, s.dV, s.dV_err, s.dR, s.dR_err] for s in ps.steps]
            except AnalysisError as exc:
                notes.append(f"phase slips: {exc}")
            cols["steps"][k] = float(len(rows))
            if rows:
                cols["step_dV"][k] = float(np.mean([r[2] for r in rows]))
                cols["step_dR"][k] = float(np.mean([r[4] for r in rows]))
        step_lists.append(rows)
        warnings.append(notes)
        if progress is not None:
            progress(k + 1, n)
    radius = radius_err = math.nan
    order = np.argsort(np.where(np.isfinite(H), H, np.inf))
    for k in order:
        if np.isfinite(cols["R_N"][k]) and cols["R_N"][k] > 0:
            c = neck.sharvin_size(float(cols["R_N"][k]), float(cols["R_N_err"][k]))
            radius, radius_err = c.radius, c.radius_err
            break
    h_grid = np.linspace(0.0, max(st.H_max, float(np.nanmax(H)) if np.isfinite(H).any() else 0.0), 81)
    d0 = float(np.nanmax(cols["delta"])) if np.isfinite(cols["delta"]).any() else neck.pc.PB_DELTA0
    ci = neck.charge_imbalance_vs_field(h_grid, delta=d0, Tc=st.Tc)
    return NeckSummary(
        H=np.asarray(H, dtype=float),
        **cols,
        ladders=ladders,
        curves=curves,
        step_lists=step_lists,
        warnings=warnings,
        radius=float(radius),
        radius_err=float(radius_err),
        H_grid=h_grid,
        lambda_q=np.asarray(ci.lambda_q, dtype=float),
        L_S=np.asarray(ci.L_S, dtype=float),
        crossing_H=float(ci.crossing_H),
        settings=asdict(st),
    )


def sweep_rows(s: NeckSummary, k: int) -> list[tuple[str, str, str]]:
    """(quantity, value +- error with unit, note) rows of the results table for sweep ``k``."""

    def pm(v: float, e: float, scale: float, unit: str, digits: int = 4) -> str:
        if not math.isfinite(v):
            return "-"
        err = f" +- {e * scale:.2g}" if math.isfinite(e) else ""
        return f"{v * scale:.{digits}g}{err} {unit}"

    lad = s.ladders[k]
    rungs = sorted(n for n in lad["n"] if n > 0)
    alt = ", ".join(f"{a * 1e3:.3g}" for a in lad.get("alternatives", []))
    rows = [
        ("Delta", pm(s.delta[k], s.delta_err[k], 1e3, "meV"), f"rungs n = {rungs}" if rungs else "no ladder"),
        ("ladder", "ambiguous" if s.ambiguous[k] == 1 else "unique", f"other gaps: {alt} meV" if alt else ""),
        (
            "heating",
            "heated" if s.heated[k] == 1 else "not heated",
            "V_1 < 2 Delta" if s.heated[k] == 1 else "",
        ),
        ("T_loc", pm(s.T_local[k], s.T_local_err[k], 1.0, "K"), "Delta(T_loc) = e V_1/2"),
        ("I_exc", pm(s.I_exc[k], s.I_exc_err[k], 1e3, "mA"), "both polarities"),
        ("R_N", pm(s.R_N[k], s.R_N_err[k], 1.0, "Ohm"), "high-bias slope"),
        ("phase-slip steps", "-" if not math.isfinite(s.steps[k]) else f"{int(s.steps[k])}", ""),
    ]
    for j, r in enumerate(s.step_lists[k]):
        rows.append(
            (
                f"  step {j + 1}",
                pm(r[2], r[3], 1e6, "uV"),
                f"dR = {r[4]:.3g} +- {r[5]:.2g} Ohm at {r[0] * 1e3:.4g} mA",
            )
        )
    rows.append(("Sharvin radius", pm(s.radius, s.radius_err, 1e9, "nm"), "from R_N at the lowest field"))
    rows.append(
        (
            "L_S = Lambda_Q* at",
            f"{s.crossing_H:.3g} T" if math.isfinite(s.crossing_H) else "-",
            "few phase slips above it",
        )
    )
    return rows


__all__ = ["NeckSettings", "NeckSummary", "analyse_neck_series", "sweep_rows"]
