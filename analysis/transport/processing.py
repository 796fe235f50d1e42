"""Batch processing of I(V) series; every step returns a new series with its provenance.

* :func:`remove_offsets` - V - V0 and I - I0 (given, or found from the point symmetry of I(V));
* :func:`symmetrise` - (y(x) + y(-x))/2 or the antisymmetric part (y(x) - y(-x))/2;
* :func:`subtract_series_resistance` - V - I R_s (lead or series resistance);
* :func:`per_junction` - V/N and N*dI/dV (a stack of N junctions);
* :func:`normalise_rn` - R_N from the high-bias slopes, I R_N and G/G_N;
* :func:`resistance_power` - R = V/I and P = I V (or I V/area);
* :func:`average_repeats` - repeated sweeps (one tag value, or one bin of it) averaged.

Per-sweep numbers (R_s, N, area, offsets) may be one number, one number per sweep or a tag's name.
Units: V in volts, I in amperes, R in ohms, P in watts (W/m^2 per area), G in siemens.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from analysis.series import Series, Sweep
from analysis.transport.common import (
    PerSweep,
    Progress,
    all_channels,
    branches,
    check,
    derived_series,
    find_channel,
    new_sweep,
    per_sweep,
)
from analysis.transport.grids import default_grid, sweep_on_grid


def _map_sweeps(
    series: Series, fn, progress: Progress, cancel: threading.Event | None, what: str
) -> list[Sweep]:
    out = []
    n = len(series)
    for k, s in enumerate(series.sweeps):
        check(cancel, what, k)
        c = fn(k, all_channels(series, s))
        out.append(new_sweep(s, c, series.x_channel))
        if progress is not None:
            progress(k + 1, n)
    return out


def _iv(series: Series, voltage: str | None, current: str | None) -> tuple[str, str]:
    return find_channel(series, "V", voltage), find_channel(series, "A", current)


# ----------------------------------------------------------------------------------------------------------
# offsets


def estimate_offsets(v: np.ndarray, i: np.ndarray, fraction: float = 0.8) -> tuple[float, float]:
    """(V0, I0): the centre about which I(V) (n,) is most nearly point-symmetric.

    The points are sorted by V; for a trial V0, I0 is the mean of (I(V0 + u) + I(V0 - u))/2 over
    ``u`` up to ``fraction`` of the shorter side, and the cost is the variance of that mean. V0 is found
    by a scan of 81 points over the central half of the range, refined by a bounded scalar minimisation.
    A curve that is a straight line has no unique centre: any point on it is returned.
    """
    v = np.asarray(v, dtype=np.float64)
    i = np.asarray(i, dtype=np.float64)
    ok = np.isfinite(v) & np.isfinite(i)
    if ok.sum() < 5:
        raise ValueError("fewer than 5 finite points to find offsets from")
    order = np.argsort(v[ok], kind="stable")
    vs, is_ = v[ok][order], i[ok][order]
    lo, hi = float(vs[0]), float(vs[-1])
    span = hi - lo
    if not span > 0:
        raise ValueError("the voltage spans no range")

    def parts(v0: float) -> tuple[float, float]:
        reach = fraction * min(hi - v0, v0 - lo)
        if reach <= 0:
            return math.inf, 0.0
        u = np.linspace(0.0, reach, 201)
        m = 0.5 * (np.interp(v0 + u, vs, is_) + np.interp(v0 - u, vs, is_))
        return float(np.var(m)) / (reach / span), float(np.mean(m))

    trial = np.linspace(lo + 0.25 * span, hi - 0.25 * span, 81)
    costs = [parts(t)[0] for t in trial]
    k = int(np.argmin(costs))
    a, b = trial[max(k - 1, 0)], trial[min(k + 1, trial.size - 1)]
    if b > a:
        res = minimize_scalar(
            lambda t: parts(t)[0], bounds=(a, b), method="bounded", options={"xatol": 1e-6 * span}
        )
        v0 = float(res.x) if parts(float(res.x))[0] <= costs[k] else float(trial[k])
    else:
        v0 = float(trial[k])
    return v0, parts(v0)[1]


def remove_offsets(
    series: Series,
    v0: PerSweep | None = None,
    i0: PerSweep | None = None,
    *,
    voltage: str | None = None,
    current: str | None = None,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Series:
    """V - V0 and I - I0 on every sweep. Offsets left None are found per sweep with
    :func:`estimate_offsets`; give 0 to leave a quantity alone. The offsets used become tags ``V0`` (V)
    and ``I0`` (A)."""
    vc, ic = _iv(series, voltage, current)
    n = len(series)
    V0 = np.full(n, np.nan) if v0 is None else per_sweep(series, v0, "V0")
    I0 = np.full(n, np.nan) if i0 is None else per_sweep(series, i0, "I0")

    def fn(k: int, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if v0 is None or i0 is None:
            ev, ei = estimate_offsets(c[vc], c[ic])
            if v0 is None:
                V0[k] = ev
            if i0 is None:
                I0[k] = ei if v0 is None else float(np.interp(V0[k], *_sorted(c[vc], c[ic])))
        c[vc] = c[vc] - V0[k]
        c[ic] = c[ic] - I0[k]
        return c

    sweeps = _map_sweeps(series, fn, progress, cancel, "offset removal")
    tags = {**series.tags, "V0": V0, "I0": I0}
    return derived_series(
        series,
        sweeps,
        "remove_offsets",
        {"voltage": vc, "current": ic, "v0": _param(v0), "i0": _param(i0)},
        "offsets removed",
        tags=tags,
        tag_units={"V0": "V", "I0": "A"},
    )


def _sorted(v: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(v) & np.isfinite(i)
    o = np.argsort(v[ok], kind="stable")
    return v[ok][o], i[ok][o]


def _param(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr.tolist()


# ----------------------------------------------------------------------------------------------------------
# symmetry


def _mirror(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y(-x) at the points x, interpolated on the branch (NaN outside its range)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return np.full(x.shape, np.nan)
    xs, ys = _sorted(x, y)
    out = np.interp(-x, xs, ys)
    return np.where((-x >= xs[0]) & (-x <= xs[-1]), out, np.nan)


def symmetrise(
    series: Series,
    channel: str,
    *,
    x: str | None = None,
    antisymmetric: bool = False,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Series:
    """``channel`` replaced by (y(x) + y(-x))/2, or (y(x) - y(-x))/2 with ``antisymmetric``, along
    channel ``x`` (default the swept one), branch by branch (an up and a down branch stay apart).
    Points whose mirror image lies outside the branch become NaN."""
    find_channel(series, "", channel)
    xc = find_channel(series, "", x) if x is not None else series.x_channel
    sign = -1.0 if antisymmetric else 1.0

    def fn(_k: int, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        xv, yv = c[xc], c[channel]
        out = np.full(yv.shape, np.nan)
        for a, b, _d in branches(c[series.x_channel]):
            out[a:b] = 0.5 * (yv[a:b] + sign * _mirror(xv[a:b], yv[a:b]))
        c[channel] = out
        return c

    kind = "antisymmetrise" if antisymmetric else "symmetrise"
    sweeps = _map_sweeps(series, fn, progress, cancel, kind)
    return derived_series(series, sweeps, kind, {"channel": channel, "x": xc}, f"{channel} {kind}d")


# ----------------------------------------------------------------------------------------------------------
# resistance, junction count, normal-state normalisation


def subtract_series_resistance(
    series: Series,
    r_s: PerSweep,
    *,
    voltage: str | None = None,
    current: str | None = None,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Series:
    """V - I R_s on every sweep (R_s in Ohm: a lead, contact or series resistance)."""
    vc, ic = _iv(series, voltage, current)
    R = per_sweep(series, r_s, "series resistance")

    def fn(k: int, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        c[vc] = c[vc] - c[ic] * R[k]
        return c

    sweeps = _map_sweeps(series, fn, progress, cancel, "series resistance")
    return derived_series(
        series,
        sweeps,
        "subtract_series_resistance",
        {"r_s": _param(r_s), "voltage": vc, "current": ic},
        "R_s subtracted",
    )


def per_junction(
    series: Series,
    n: PerSweep = "N",
    *,
    voltage: str | None = None,
    conductances: tuple[str, ...] = (),
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Series:
    """V/N on the voltage channel and N*G on each channel of ``conductances`` (S; a channel in Ohm, such
    as dV/dI, is divided by N): the curves of one junction of a stack of N."""
    vc = find_channel(series, "V", voltage)
    N = per_sweep(series, n, "number of junctions")
    for g in conductances:
        find_channel(series, "", g)

    def fn(k: int, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        c[vc] = c[vc] / N[k]
        for g in conductances:
            c[g] = c[g] / N[k] if series.unit(g) == "Ohm" else c[g] * N[k]
        return c

    sweeps = _map_sweeps(series, fn, progress, cancel, "per-junction scaling")
    return derived_series(
        series,
        sweeps,
        "per_junction",
        {"n": _param(n), "voltage": vc, "conductances": list(conductances)},
        "per junction",
    )


def high_bias_slope(v: np.ndarray, i: np.ndarray, v_min: float, v_max: float | None = None) -> float:
    """dI/dV (S) at high bias: the mean of the slopes of straight lines fitted to the points with
    v_min <= V <= v_max and to those with -v_max <= V <= -v_min (one side alone when the other has fewer
    than 3 points); NaN when neither has. An excess current shifts the two lines but not their slopes."""
    top = math.inf if v_max is None else float(v_max)
    slopes = []
    for sign in (1.0, -1.0):
        sel = np.isfinite(v) & np.isfinite(i) & (sign * v >= v_min) & (sign * v <= top)
        if sel.sum() >= 3:
            slopes.append(np.polyfit(v[sel], i[sel], 1)[0])
    return float(np.mean(slopes)) if slopes else math.nan


def normalise_rn(
    series: Series,
    v_min: float,
    v_max: float | None = None,
    *,
    voltage: str | None = None,
    current: str | None = None,
    conductances: tuple[str, ...] = (),
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Series:
    """R_N of every sweep from its high-bias slope (:func:`high_bias_slope`, |V| from ``v_min`` to
    ``v_max`` in V), stored as tag ``R_N`` (Ohm); new channels ``"<I> R_N"`` (V) and, for each channel of
    ``conductances``, ``"<G>/G_N"`` (G R_N, dimensionless) or ``"<dV/dI>/R_N"`` for a channel in Ohm."""
    vc, ic = _iv(series, voltage, current)
    RN = np.full(len(series), np.nan)
    units = dict(series.units)
    units[f"{ic} R_N"] = "V"
    for g in conductances:
        find_channel(series, "", g)
        units[f"{g}/R_N" if series.unit(g) == "Ohm" else f"{g}/G_N"] = ""

    def fn(k: int, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        slope = high_bias_slope(c[vc], c[ic], v_min, v_max)
        RN[k] = 1.0 / slope if slope and math.isfinite(slope) else math.nan
        c[f"{ic} R_N"] = c[ic] * RN[k]
        for g in conductances:
            if series.unit(g) == "Ohm":
                c[f"{g}/R_N"] = c[g] / RN[k]
            else:
                c[f"{g}/G_N"] = c[g] * RN[k]
        return c

    sweeps = _map_sweeps(series, fn, progress, cancel, "R_N normalisation")
    return derived_series(
        series,
        sweeps,
        "normalise_rn",
        {"v_min": v_min, "v_max": v_max, "voltage": vc, "current": ic, "conductances": list(conductances)},
        "normalised by R_N",
        units=units,
        tags={**series.tags, "R_N": RN},
        tag_units={"R_N": "Ohm"},
    )


def resistance_power(
    series: Series,
    *,
    area: PerSweep | None = None,
    voltage: str | None = None,
    current: str | None = None,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Series:
    """New channels ``"R"`` = V/I (Ohm; NaN where I = 0) and ``"P"`` = I V (W); with ``area`` (m^2: a
    number, one per sweep or a tag such as ``"area"``) ``"P/area"`` (W/m^2) replaces P and ``"R*area"``
    (Ohm m^2, the specific resistance) is added."""
    vc, ic = _iv(series, voltage, current)
    A = None if area is None else per_sweep(series, area, "area")
    pname = "P" if A is None else "P/area"

    def fn(k: int, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        v, i = c[vc], c[ic]
        with np.errstate(divide="ignore", invalid="ignore"):
            c["R"] = np.where(i != 0, v / np.where(i != 0, i, 1.0), np.nan)
        c[pname] = v * i if A is None else v * i / A[k]
        if A is not None:
            c["R*area"] = c["R"] * A[k]
        return c

    sweeps = _map_sweeps(series, fn, progress, cancel, "R and P")
    units = {**series.units, "R": "Ohm", pname: "W" if A is None else "W/m^2"}
    if A is not None:
        units["R*area"] = "Ohm m^2"
    return derived_series(
        series,
        sweeps,
        "resistance_power",
        {"area": _param(area), "voltage": vc, "current": ic},
        "R and P",
        units=units,
    )


# ----------------------------------------------------------------------------------------------------------
# repeated sweeps


def average_repeats(
    series: Series,
    tag: str,
    *,
    bin_width: float | None = None,
    grid: np.ndarray | None = None,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Series:
    """One sweep per value of ``tag`` (or per bin of width ``bin_width`` centred on multiples of it): the
    point-wise mean (NaN-aware) of its sweeps. Sweeps of one group with the same swept values are averaged
    as they are; otherwise every sweep of the group is first put on ``grid`` (default: a common grid of
    the swept quantity, :func:`analysis.transport.grids.default_grid`). Tags are the groups' means; tag
    ``n_averaged`` counts the sweeps. Sweeps without a value of ``tag`` are left out."""
    if tag not in series.tags:
        raise ValueError(f"the series has no tag {tag!r} (tags: {', '.join(series.tags) or 'none'})")
    values = series.tags[tag]
    if bin_width is not None:
        if not bin_width > 0:
            raise ValueError(f"the bin width must be positive, got {bin_width!r}")
        keys = np.round(values / bin_width)
        groups: list[list[int]] = []
        for key in np.unique(keys[np.isfinite(keys)]):
            groups.append([int(i) for i in np.flatnonzero(keys == key)])
    else:
        groups = [idx for _v, idx in series.groups(tag)]
    xc = series.x_channel
    sweeps: list[Sweep] = []
    for g_i, idx in enumerate(groups):
        check(cancel, "averaging", g_i)
        members = [all_channels(series, series.sweeps[i]) for i in idx]
        xs = [m[xc] for m in members]
        if all(x.shape == xs[0].shape and np.array_equal(x, xs[0], equal_nan=True) for x in xs):
            mean = {
                k: (xs[0] if k == xc else _nanmean(np.stack([m[k] for m in members]))) for k in members[0]
            }
        else:
            g = default_grid(series.select(idx), xc) if grid is None else np.asarray(grid, dtype=np.float64)
            on = [sweep_on_grid(m, xc, xc, g) for m in members]
            mean = {k: (g if k == xc else _nanmean(np.stack([o[k] for o in on]))) for k in on[0]}
        first = series.sweeps[idx[0]]
        label = f"{tag} = {np.mean(values[idx]):.6g} ({len(idx)} sweeps)"
        sweeps.append(
            Sweep(x=mean[xc], channels=mean, label=label, source=first.source, metadata=first.metadata)
        )
        if progress is not None:
            progress(g_i + 1, len(groups))
    tags = {
        k: np.array([float(np.nanmean(v[idx])) if np.isfinite(v[idx]).any() else math.nan for idx in groups])
        for k, v in series.tags.items()
    }
    tags["n_averaged"] = np.array([len(idx) for idx in groups], dtype=np.float64)
    return derived_series(
        series,
        sweeps,
        "average_repeats",
        {"tag": tag, "bin_width": bin_width},
        f"averaged over {tag}",
        tags=tags,
        tag_units={"n_averaged": ""},
    )


def _nanmean(a: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        cnt = np.isfinite(a).sum(axis=0)
        s = np.nansum(a, axis=0)
        return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)
