"""Derivatives on non-uniform, non-monotonic sweeps, and sweeps put onto a common grid.

Derivative (:func:`derivative`): along each monotonic branch of the swept quantity u (the series' x
channel), y and x are resampled onto a uniform grid of u with the step ``h`` (default: the median step of
the branch, i.e. chosen from the data, and reported), differentiated there (a Savitzky-Golay derivative,
or the derivative of a smoothing spline) and brought back to the measured points; dy/dx is then
(dy/du)/(dx/du). So dV/dI of a current-biased sweep is a direct derivative along I, and dI/dV of the same
sweep is the inverse of it, defined on backbending parts too. Sweeps that share their u values are
processed together as one (n_sweeps, n_points) block.

Common grid (:func:`onto_grid`): every channel of every sweep interpolated linearly onto one axis of a
chosen channel (current-biased data onto a voltage grid, and back). Along each branch of the sweep, only
the points where the axis channel goes beyond every earlier point are used (the branch a sweep of that
channel would follow, jumping over backbending), and the values of the branches are averaged (or only
the rising or falling ones kept). Grid points outside a sweep's range are NaN.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
from scipy.interpolate import make_smoothing_spline
from scipy.signal import savgol_filter

from analysis.series import Series, Sweep
from analysis.transport.common import (
    Progress,
    all_channels,
    apply_weights,
    branches,
    check,
    derived_series,
    find_channel,
    interp_weights,
    median_step,
    monotonic_part,
    new_sweep,
)

METHODS = ("savgol", "spline")


def derivative_name(series: Series, y: str, x: str) -> tuple[str, str]:
    """(channel name, unit) of dy/dx: ``"dI/dV"`` (S) and ``"dV/dI"`` (Ohm) for current and voltage."""
    uy, ux = series.unit(y) or "", series.unit(x) or ""
    if uy == "A" and ux == "V":
        return "dI/dV", "S"
    if uy == "V" and ux == "A":
        return "dV/dI", "Ohm"
    unit = f"{uy}/{ux}" if uy or ux else ""
    return f"d({y})/d({x})", unit


def _uniform(u: np.ndarray, h: float) -> bool:
    d = np.diff(u)
    return bool(d.size and np.all(np.abs(d - h) <= 1e-6 * h))


def _savgol_rows(Yg: np.ndarray, h: float, window: int, order: int) -> np.ndarray:
    m = Yg.shape[-1]
    w = min(window, m if m % 2 else m - 1)
    if w <= order:
        return np.full(Yg.shape, np.nan)
    return savgol_filter(Yg, w, order, deriv=1, delta=h, axis=-1, mode="interp")


def _diff_rows(
    Yg: np.ndarray, h: float, method: str, window: int, order: int, lam: float | None
) -> np.ndarray:
    """d/du of rows Yg (r, m) sampled with step h."""
    m = Yg.shape[-1]
    if method == "savgol":
        if np.isfinite(Yg).all():
            return _savgol_rows(Yg, h, window, order)
        out = np.full(Yg.shape, np.nan)
        for r in range(Yg.shape[0]):  # rows with NaN: each finite run on its own
            ok = np.isfinite(Yg[r])
            edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
            for a, b in zip(edges[::2], edges[1::2]):
                out[r, a:b] = _savgol_rows(Yg[r : r + 1, a:b], h, window, order)[0]
        return out
    out = np.full(Yg.shape, np.nan)
    ug = np.arange(m, dtype=np.float64)  # in grid steps: lambda is independent of the axis unit
    for r in range(Yg.shape[0]):
        ok = np.isfinite(Yg[r])
        if ok.sum() < 5:
            continue
        spl = make_smoothing_spline(ug[ok], Yg[r, ok], lam=lam)
        out[r] = spl.derivative()(ug) / h
    return out


def _branch_derivative(
    U: np.ndarray, Y: np.ndarray, direction: int, h: float | None, method: str, window: int, order: int, lam
) -> tuple[np.ndarray, float]:
    """dY/du (r, n) on one branch of u (n,) shared by the rows Y (r, n); returns it and the step used."""
    n = U.shape[0]
    if n < 3:
        return np.full(Y.shape, np.nan), math.nan
    u = U if direction > 0 else U[::-1]
    Yd = Y if direction > 0 else Y[:, ::-1]
    step = median_step(u) if h is None else float(h)
    if not (step > 0 and np.isfinite(u).all()):
        return np.full(Y.shape, np.nan), step
    if _uniform(u, step):
        d = _diff_rows(Yd, step, method, window, order, lam)
    else:
        m = int(math.floor((u[-1] - u[0]) / step + 1e-9)) + 1
        if m < 3:
            return np.full(Y.shape, np.nan), step
        grid = u[0] + step * np.arange(m)
        i0, w, inside = interp_weights(u, grid)
        dg = _diff_rows(apply_weights(Yd, i0, w, inside), step, method, window, order, lam)
        j0, v, back_in = interp_weights(grid, u)
        d = apply_weights(dg, j0, v, back_in)
    return (d if direction > 0 else d[:, ::-1]), step


def derivative(
    series: Series,
    y: str | None = None,
    x: str | None = None,
    *,
    method: str = "savgol",
    step: float | None = None,
    window: int = 7,
    order: int = 2,
    smoothing: float | None = None,
    name: str | None = None,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Series:
    """dy/dx of every sweep as a new channel (default: dV/dI for a current-biased series, dI/dV for a
    voltage-biased one), on non-uniform and non-monotonic sweeps (see the module docstring).

    ``method`` ``"savgol"`` (``window`` odd number of grid points, polynomial ``order``) or ``"spline"``
    (a smoothing spline, ``smoothing`` its lambda with the axis in grid steps, chosen by generalised
    cross-validation when None).
    ``step`` the resampling step in units of the swept quantity (default: the median step of each
    branch). The steps used are reported: ``metadata["derivative_step"]`` (median over the sweeps) and
    the provenance parameters. Result: the input channels plus ``name`` (default ``"dV/dI"``/``"dI/dV"``),
    each (n,) float64 per sweep.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if method == "savgol" and (window < 3 or window % 2 == 0 or not 0 <= order < window):
        raise ValueError(
            f"the Savitzky-Golay window must be odd >= 3 and above the order (got {window}, {order})"
        )
    if step is not None and not step > 0:
        raise ValueError(f"the step must be positive, got {step!r}")
    u_name = series.x_channel
    if y is None or x is None:
        cur, vol = find_channel(series, "A"), find_channel(series, "V")
        if y is None and x is None:
            y, x = (vol, cur) if series.bias_mode == "current" else (cur, vol)
        elif y is None:
            y = vol if x == cur else cur
        else:
            x = cur if y == vol else vol
    assert x is not None and y is not None
    find_channel(series, "", y)
    find_channel(series, "", x)
    out_name, out_unit = derivative_name(series, y, x)
    out_name = name or out_name
    n = len(series)
    chans: list[dict[str, np.ndarray]] = []
    groups: dict[bytes, list[int]] = {}
    last_u: np.ndarray | None = None
    last: list[int] = []
    for k, s in enumerate(series.sweeps):
        check(cancel, "derivative", k)
        c = all_channels(series, s)
        chans.append(c)
        u = c[u_name]
        if last_u is not None and (u is last_u or (u.shape == last_u.shape and np.array_equal(u, last_u))):
            last.append(k)  # the same swept values as the sweep before (the usual case): no hashing
            continue
        last = groups.setdefault(u.tobytes(), [])
        last.append(k)
        last_u = u
    steps = np.full(n, np.nan)
    results: list[Any] = [None] * n
    done = 0
    for idx in groups.values():
        check(cancel, "derivative", 0)
        U = chans[idx[0]][u_name]
        Y = np.stack([chans[k][y] for k in idx])
        X = None if x == u_name else np.stack([chans[k][x] for k in idx])
        dy = np.empty(Y.shape)  # the branches cover every point
        dx = None if X is None else np.empty(Y.shape)
        used = []
        for a, b, direction in branches(U):
            d, h = _branch_derivative(U[a:b], Y[:, a:b], direction, step, method, window, order, smoothing)
            dy[:, a:b] = d
            used.append(h)
            if X is not None and dx is not None:
                dx[:, a:b] = _branch_derivative(
                    U[a:b], X[:, a:b], direction, step, method, window, order, smoothing
                )[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            res = dy if dx is None else dy / dx
        h_med = float(np.nanmedian(used)) if np.isfinite(used).any() else math.nan
        for r, k in enumerate(idx):
            results[k] = res[r]
            steps[k] = h_med
        done += len(idx)
        if progress is not None:
            progress(done, n)
    sweeps: list[Sweep] = []
    for k, s in enumerate(series.sweeps):
        c = dict(chans[k])
        c[out_name] = results[k]
        sweeps.append(new_sweep(s, c, u_name))
    step_report = float(np.nanmedian(steps)) if np.isfinite(steps).any() else math.nan
    units = {**series.units, out_name: out_unit}
    out = derived_series(
        series,
        sweeps,
        "derivative",
        {
            "y": y,
            "x": x,
            "along": u_name,
            "method": method,
            "step": step_report,
            "step_given": step is not None,
            "window": window,
            "order": order,
            "smoothing": smoothing,
            "channel": out_name,
        },
        out_name,
        units=units,
    )
    out.metadata["derivative_step"] = step_report
    out.metadata["derivative_step_unit"] = series.unit(u_name) or series.x_unit
    out.metadata["derivative_steps"] = steps.tolist()
    return out


# ----------------------------------------------------------------------------------------------------------
# common grids


def default_grid(series: Series, axis: str, step: float | None = None) -> np.ndarray:
    """(m,) uniform grid spanning every sweep's range of channel ``axis``, with ``step`` (default: the
    median over the sweeps of each sweep's median step)."""
    lo, hi, steps = math.inf, -math.inf, []
    for s in series.sweeps:
        a = np.asarray(s.channels[axis] if axis != series.x_channel else s.x, dtype=np.float64)
        f = a[np.isfinite(a)]
        if f.size:
            lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
            steps.append(median_step(f))
    if not math.isfinite(lo) or hi <= lo:
        raise ValueError(f"channel {axis!r} spans no range")
    h = float(step) if step is not None else float(np.nanmedian(steps))
    if not h > 0:
        raise ValueError(f"the grid step must be positive, got {h!r}")
    m = int(math.floor((hi - lo) / h + 1e-9)) + 1
    return lo + h * np.arange(m)


def sweep_on_grid(
    chans: dict[str, np.ndarray],
    u_name: str,
    axis: str,
    grid: np.ndarray,
    branch: str = "all",
    only: tuple[str, ...] | None = None,
) -> dict[str, np.ndarray]:
    """Every channel of one sweep (or the channels ``only``) on ``grid`` of channel ``axis`` (see the
    module docstring); ``u_name`` is the swept channel that defines the branches."""
    if branch not in ("all", "up", "down"):
        raise ValueError(f"branch must be 'all', 'up' or 'down', not {branch!r}")
    acc = {k: np.zeros(grid.shape) for k in (only or chans) if k != axis}
    cnt = np.zeros(grid.shape)
    a_all = chans[axis]
    for a, b, _direction in branches(chans[u_name]):
        seg = a_all[a:b]
        ok = np.isfinite(seg)
        if ok.sum() < 2:
            continue
        d = 1 if seg[ok][-1] >= seg[ok][0] else -1
        if (branch == "up" and d < 0) or (branch == "down" and d > 0):
            continue
        keep = monotonic_part(seg, d)
        if keep.size < 2:
            continue
        xp = seg[keep] if d > 0 else seg[keep][::-1]
        i0, w, inside = interp_weights(xp, grid)
        cnt += inside
        for k in acc:
            v = chans[k][a:b][keep]
            if d < 0:
                v = v[::-1]
            acc[k] += np.where(inside, np.nan_to_num(apply_weights(v, i0, w, inside)), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {k: np.where(cnt > 0, v / cnt, np.nan) for k, v in acc.items()}
    out[axis] = grid.copy()
    return out


def onto_grid(
    series: Series,
    axis: str,
    grid: np.ndarray | None = None,
    *,
    step: float | None = None,
    branch: str = "all",
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Series:
    """Every sweep on one uniform grid of channel ``axis`` (see the module docstring); ``axis`` becomes the
    series' x. ``grid`` (m,) ascending, or :func:`default_grid` with ``step``. ``branch`` ``"all"``
    (the branches averaged), ``"up"`` or ``"down"``. Each channel (m,) float64, NaN outside a sweep's
    range; the bias mode (what the source swept) is kept."""
    find_channel(series, "", axis)
    g = default_grid(series, axis, step) if grid is None else np.asarray(grid, dtype=np.float64)
    if g.ndim != 1 or g.size < 2 or np.any(np.diff(g) <= 0):
        raise ValueError("the grid must be a strictly ascending 1D array of 2 or more points")
    sweeps = []
    n = len(series)
    for k, s in enumerate(series.sweeps):
        check(cancel, "resampling", k)
        c = sweep_on_grid(all_channels(series, s), series.x_channel, axis, g, branch)
        sweeps.append(new_sweep(s, c, axis))
        if progress is not None:
            progress(k + 1, n)
    units = dict(series.units)
    units.setdefault(series.x_channel, series.x_unit)
    return derived_series(
        series,
        sweeps,
        "onto_grid",
        {
            "axis": axis,
            "start": float(g[0]),
            "stop": float(g[-1]),
            "points": int(g.size),
            "step": float(g[1] - g[0]),
            "branch": branch,
        },
        f"on {axis} grid",
        units=units,
        x_channel=axis,
    )


def to_voltage_grid(series: Series, voltage: str | None = None, **kw: Any) -> Series:
    """Current-biased data onto a common voltage grid (:func:`onto_grid` on the channel in V)."""
    return onto_grid(series, find_channel(series, "V", voltage), **kw)


def to_current_grid(series: Series, current: str | None = None, **kw: Any) -> Series:
    """Voltage-biased data (or gridded data) onto a common current grid (:func:`onto_grid` on the channel
    in A)."""
    return onto_grid(series, find_channel(series, "A", current), **kw)
