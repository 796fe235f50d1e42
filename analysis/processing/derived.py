"""Derived spectroscopy channels: numerical dI/dV, smoothing, normalised conductance, lock-in rotation.

Every function takes a :class:`~analysis.dataset.Grid` and returns a *new* Grid that holds only the
derived channel(s), shares the frame, sweep axis, per-pixel parameters and valid mask of its input, and
records the operation in ``provenance``. Cubes are processed in blocks of scan lines with the usual
``progress(done, total)`` and ``cancel`` (threading.Event) keyword arguments.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.signal import lfilter, savgol_filter

from analysis.dataset import Grid
from analysis.hooks import check_cancel

Progress = Callable[[int, int], None] | None

_ROWS = 16  # scan lines per processing block


def _uniform_step(grid: Grid) -> float:
    """The sweep step; ValueError when the points are not evenly spaced (Savitzky-Golay needs that)."""
    b = np.asarray(grid.bias, dtype=np.float64)
    if b.size < 3:
        raise ValueError("the sweep has fewer than 3 points")
    d = np.diff(b)
    step = float(np.mean(d))
    if not step > 0 or np.max(np.abs(d - step)) > 1e-3 * abs(step):
        raise ValueError(
            "the sweep points are not evenly spaced; a Savitzky-Golay filter needs a uniform step"
        )
    return step


def _check_window(window: int, order: int, nb: int) -> None:
    if window % 2 == 0 or window < 3:
        raise ValueError(f"the Savitzky-Golay window must be an odd number >= 3 (got {window})")
    if not 0 <= order < window:
        raise ValueError(
            f"the polynomial order must be between 0 and window - 1 (got {order} for window {window})"
        )
    if window > nb:
        raise ValueError(f"the window ({window} points) is longer than the sweep ({nb} points)")


def _channel(grid: Grid, name: str) -> Any:
    if name not in grid.channels:
        raise ValueError(f"{grid.name or 'grid'} has no channel {name!r} (it has {', '.join(grid.channels)})")
    return grid.channels[name]


def _derived(
    grid: Grid,
    channels: dict[str, np.ndarray],
    units: dict[str, str],
    operation: str,
    parameters: dict[str, Any],
    suffix: str,
) -> Grid:
    return Grid(
        name=f"{grid.name} {suffix}".strip(),
        units=units,
        metadata={"derived_from": grid.name},
        source=grid.source,
        warnings=list(grid.warnings),
        provenance=[
            *grid.provenance,
            {"operation": operation, "parameters": parameters, "inputs": [grid.name]},
        ],
        bias=np.array(grid.bias, dtype=np.float64),
        channels=channels,
        frame=grid.frame,
        params=grid.params,
        param_units=dict(grid.param_units),
        valid=grid.valid,
        sweep_signal=grid.sweep_signal,
        sweep_unit=grid.sweep_unit,
        sweep_reversed=grid.sweep_reversed,
    )


def _blockwise(
    cube: Any,
    fn: Callable[[np.ndarray], np.ndarray],
    progress: Progress,
    cancel: threading.Event | None,
    what: str,
) -> np.ndarray:
    ny = int(cube.shape[0])
    out = np.empty(tuple(int(n) for n in cube.shape), dtype=np.float32)
    for start in range(0, ny, _ROWS):
        check_cancel(cancel, what)
        stop = min(ny, start + _ROWS)
        out[start:stop] = fn(np.asarray(cube[start:stop], dtype=np.float64))
        if progress is not None:
            progress(stop, ny)
    return out


def didv_from_current(
    grid: Grid,
    channel: str = "Current",
    window: int = 7,
    order: int = 2,
    *,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Grid:
    """Numerical dI/dV (S) from a current channel (A) by a Savitzky-Golay derivative along the sweep.

    ``window`` (odd, points) and ``order`` (polynomial degree) set the smoothing; the sweep must be evenly
    spaced. Result channel: ``"dI/dV (SG)"``, shape (ny, nx, nb) float32.
    """
    cube = _channel(grid, channel)
    nb = grid.shape[2]
    _check_window(window, order, nb)
    step = _uniform_step(grid)
    out = _blockwise(
        cube,
        lambda b: savgol_filter(b, window, order, deriv=1, delta=step, axis=-1),
        progress,
        cancel,
        "dI/dV",
    )
    unit = (
        "S"
        if grid.unit(channel) == "A" and grid.sweep_unit == "V"
        else f"{grid.unit(channel)}/{grid.sweep_unit}"
    )
    name = "dI/dV (SG)"
    return _derived(
        grid,
        {name: out},
        {name: unit},
        "didv_savgol",
        {"channel": channel, "window": window, "order": order},
        f"dI/dV from {channel}",
    )


def smooth_along_bias(
    grid: Grid,
    channel: str,
    window: int = 7,
    order: int = 2,
    *,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Grid:
    """Savitzky-Golay smoothing of ``channel`` along the sweep (same unit).

    Result channel ``"<channel> (smoothed)"``, shape (ny, nx, nb) float32.
    """
    cube = _channel(grid, channel)
    _check_window(window, order, grid.shape[2])
    _uniform_step(grid)
    out = _blockwise(cube, lambda b: savgol_filter(b, window, order, axis=-1), progress, cancel, "smoothing")
    name = f"{channel} (smoothed)"
    return _derived(
        grid,
        {name: out},
        {name: grid.unit(channel)},
        "smooth_savgol",
        {"channel": channel, "window": window, "order": order},
        f"{channel} smoothed",
    )


def _exp_sum(x: np.ndarray, a: float) -> np.ndarray:
    """sum_k a**|n-k| x[..., k] along the last axis, by a forward and a backward first-order recursion."""
    fwd = lfilter([1.0], [1.0, -a], x, axis=-1)
    bwd = lfilter([1.0], [1.0, -a], x[..., ::-1], axis=-1)[..., ::-1]
    return fwd + bwd - x


def normalised_conductance(
    grid: Grid,
    didv_channel: str = "dI/dV",
    current_channel: str = "Current",
    broadening: float | None = None,
    *,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Grid:
    """Normalised conductance (dI/dV)/(I/V), regularised at the zero crossing of the bias.

    Regularisation (after Feenstra, Phys. Rev. B 50, 4561 (1994)): the chord conductance I/V is first made
    finite at V = 0 (points with |V| below half a step take the value interpolated from their neighbours,
    the limit of I/V being dI/dV(0)), then averaged with the exponential weight exp(-|V' - V| / dV_b)
    (normalised, NaN-aware): ``<I/V>(V) = sum_V' w(V, V') I/V(V') / sum_V' w(V, V')``. The result is
    ``(dI/dV) / <I/V>``; where ``|<I/V>|`` is below 1e-6 of its largest value in that spectrum the
    result is NaN. ``broadening`` dV_b (sweep units) defaults to a tenth of max |V|; 0 disables the
    averaging (only the zero point is regularised). Dimensionless when both channels are calibrated
    (S and A); channel ``"(dI/dV)/(I/V)"``.
    """
    g = _channel(grid, didv_channel)
    cur = _channel(grid, current_channel)
    v = np.asarray(grid.bias, dtype=np.float64)
    if v.size < 3:
        raise ValueError("the sweep has fewer than 3 points")
    step = float(np.median(np.abs(np.diff(v))))
    if broadening is None:
        broadening = 0.1 * float(np.max(np.abs(v)))
    if broadening < 0:
        raise ValueError("the broadening must be >= 0")
    near0 = np.abs(v) < 0.5 * step
    far = ~near0
    a = math.exp(-step / broadening) if broadening > 0 else 0.0

    def block_fn(start: int, stop: int) -> np.ndarray:
        i = np.asarray(cur[start:stop], dtype=np.float64)
        didv = np.asarray(g[start:stop], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            iv = np.where(far, i / np.where(far, v, 1.0), np.nan)
        if near0.any():
            idx = np.arange(v.size)
            for k in np.nonzero(near0)[0]:
                left = idx[far & (idx < k)]
                right = idx[far & (idx > k)]
                if left.size and right.size:
                    kl, kr = left[-1], right[0]
                    t = (v[k] - v[kl]) / (v[kr] - v[kl])
                    iv[..., k] = (1 - t) * iv[..., kl] + t * iv[..., kr]
                else:
                    iv[..., k] = didv[..., k]
        if a > 0:
            w = np.isfinite(iv)
            num = _exp_sum(np.where(w, iv, 0.0), a)
            den = _exp_sum(w.astype(np.float64), a)
            with np.errstate(divide="ignore", invalid="ignore"):
                iv = np.where(den > 0, num / den, np.nan)
        scale = np.nanmax(np.abs(iv), axis=-1, keepdims=True) if iv.size else iv
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(np.abs(iv) > 1e-6 * scale, didv / iv, np.nan)
        return out

    ny = grid.shape[0]
    out = np.empty(grid.shape, dtype=np.float32)
    for start in range(0, ny, _ROWS):
        check_cancel(cancel, "normalised conductance")
        stop = min(ny, start + _ROWS)
        with np.errstate(all="ignore"):
            out[start:stop] = block_fn(start, stop)
        if progress is not None:
            progress(stop, ny)
    name = "(dI/dV)/(I/V)"
    calibrated = grid.unit(didv_channel) == "S" and grid.unit(current_channel) == "A"
    return _derived(
        grid,
        {name: out},
        {name: "" if calibrated else "a.u."},
        "normalised_conductance",
        {"didv_channel": didv_channel, "current_channel": current_channel, "broadening": broadening},
        "normalised conductance",
    )


def lockin_phase(x: Any, y: Any, *, cancel: threading.Event | None = None) -> float:
    """Phase theta (radians) that puts the lock-in signal in X: maximises sum((X cos t + Y sin t)^2)
    over all finite samples (so the rotated Y has the least power), with the sign chosen so that the
    rotated X has a positive sum."""
    sxx = syy = sxy = sx = sy = 0.0
    ny = int(x.shape[0])
    for start in range(0, ny, _ROWS):
        check_cancel(cancel, "lock-in phase")
        bx = np.asarray(x[start : start + _ROWS], dtype=np.float64)
        by = np.asarray(y[start : start + _ROWS], dtype=np.float64)
        m = np.isfinite(bx) & np.isfinite(by)
        bx, by = bx[m], by[m]
        sxx += float(bx @ bx)
        syy += float(by @ by)
        sxy += float(bx @ by)
        sx += float(bx.sum())
        sy += float(by.sum())
    theta = 0.5 * math.atan2(2 * sxy, sxx - syy)
    if sx * math.cos(theta) + sy * math.sin(theta) < 0:
        theta += math.pi
    return math.atan2(math.sin(theta), math.cos(theta))


def rotate_lockin(
    grid: Grid,
    x_channel: str,
    y_channel: str,
    phase: float | None = None,
    *,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> Grid:
    """Rotate the lock-in channels by ``phase`` (radians; default :func:`lockin_phase`):
    ``X' = X cos t + Y sin t``, ``Y' = -X sin t + Y cos t``. Channels ``"<X> (rotated)"`` and
    ``"<Y> (rotated)"``; the phase (degrees) is recorded in provenance and metadata."""
    x = _channel(grid, x_channel)
    y = _channel(grid, y_channel)
    theta = lockin_phase(x, y, cancel=cancel) if phase is None else float(phase)
    c, s = math.cos(theta), math.sin(theta)
    ny = grid.shape[0]
    xr = np.empty(grid.shape, dtype=np.float32)
    yr = np.empty(grid.shape, dtype=np.float32)
    for start in range(0, ny, _ROWS):
        check_cancel(cancel, "lock-in rotation")
        stop = min(ny, start + _ROWS)
        bx = np.asarray(x[start:stop], dtype=np.float64)
        by = np.asarray(y[start:stop], dtype=np.float64)
        xr[start:stop] = c * bx + s * by
        yr[start:stop] = -s * bx + c * by
        if progress is not None:
            progress(stop, ny)
    nx_, ny_ = f"{x_channel} (rotated)", f"{y_channel} (rotated)"
    out = _derived(
        grid,
        {nx_: xr, ny_: yr},
        {nx_: grid.unit(x_channel), ny_: grid.unit(y_channel)},
        "rotate_lockin",
        {"x_channel": x_channel, "y_channel": y_channel, "phase_deg": math.degrees(theta)},
        "lock-in rotated",
    )
    out.metadata["lockin_phase_deg"] = math.degrees(theta)
    return out
