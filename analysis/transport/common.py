"""Helpers shared by the transport processing steps: derived series with provenance, channel lookup,
per-sweep parameters, branches of a sweep and linear resampling of many rows at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from analysis.hooks import check_cancel
from analysis.series import Series, Sweep, segments

Progress = Callable[[int, int], None] | None
#: A per-sweep quantity: a number, one number per sweep, or the name of a tag.
PerSweep = float | Sequence[float] | np.ndarray | str


def derived_series(
    series: Series,
    sweeps: list[Sweep],
    operation: str,
    parameters: dict[str, Any],
    suffix: str,
    *,
    units: dict[str, str] | None = None,
    tags: dict[str, np.ndarray] | None = None,
    tag_units: dict[str, str] | None = None,
    x_channel: str | None = None,
) -> Series:
    """A new series made from ``series`` by ``operation``: provenance appended (operation, parameters,
    inputs), tags carried over unless ``tags`` replaces them."""
    xc = x_channel or series.x_channel
    u = dict(units if units is not None else series.units)
    tg = {k: np.array(v, dtype=np.float64) for k, v in (tags if tags is not None else series.tags).items()}
    tu = dict(series.tag_units)
    tu.update(tag_units or {})
    return Series(
        name=f"{series.name} {suffix}".strip(),
        sweeps=sweeps,
        x_name=xc if xc != series.x_channel else series.x_name,
        x_unit=u.get(xc, series.x_unit),
        x_channel=xc,
        bias_mode=series.bias_mode,
        units=u,
        tags=tg,
        tag_units={k: tu.get(k, series.tag_unit(k)) for k in tg},
        metadata={**series.metadata, "derived_from": series.name},
        source=series.source,
        warnings=list(series.warnings),
        provenance=[
            *series.provenance,
            {"operation": operation, "parameters": parameters, "inputs": [series.name]},
        ],
    )


def new_sweep(old: Sweep, channels: dict[str, np.ndarray], x_channel: str) -> Sweep:
    return Sweep(
        x=channels[x_channel], channels=channels, label=old.label, source=old.source, metadata=old.metadata
    )


def all_channels(series: Series, sweep: Sweep) -> dict[str, np.ndarray]:
    """Every channel of ``sweep`` read into memory as (n,) float64 (the swept quantity included)."""
    out = {k: np.asarray(v, dtype=np.float64) for k, v in sweep.channels.items()}
    if series.x_channel not in out:
        out[series.x_channel] = np.asarray(sweep.x, dtype=np.float64)
    return out


def find_channel(series: Series, unit: str, given: str | None = None) -> str:
    """``given`` if it is a channel, else the swept channel when it has ``unit``, else the first channel
    with ``unit``; ValueError names the channels otherwise."""
    names = list(series.units) or [series.x_channel]
    if given is not None:
        if given not in names and given != series.x_channel:
            raise ValueError(f"series {series.name!r} has no channel {given!r} (it has {', '.join(names)})")
        return given
    if series.unit(series.x_channel) == unit or (series.x_unit == unit and series.x_channel in names):
        return series.x_channel
    for n in names:
        if series.unit(n) == unit:
            return n
    raise ValueError(f"series {series.name!r} has no channel in {unit} (channels: {', '.join(names)})")


def per_sweep(series: Series, value: PerSweep, what: str) -> np.ndarray:
    """(n_sweeps,) float64 from a number, a sequence or a tag name."""
    if isinstance(value, str):
        if value not in series.tags:
            raise ValueError(
                f"{what}: the series has no tag {value!r} (tags: {', '.join(series.tags) or 'none'})"
            )
        return np.asarray(series.tags[value], dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(len(series), float(arr))
    if arr.shape != (len(series),):
        raise ValueError(f"{what}: {arr.shape[0]} values for {len(series)} sweeps")
    return arr


def branches(u: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, direction) of the monotonic branches of the swept quantity ``u`` (n,)."""
    return [(s.start, s.stop, s.direction) for s in segments(u)]


def monotonic_part(a: np.ndarray, direction: int) -> np.ndarray:
    """Indices of the points of ``a`` that go beyond every earlier point in ``direction`` (the branch a
    sweep of ``a`` itself would follow: backbending parts and noise reversals are jumped over)."""
    s = a * direction
    finite = np.isfinite(s)
    run = np.maximum.accumulate(np.where(finite, s, -np.inf))
    before = np.concatenate(([-np.inf], run[:-1]))
    return np.flatnonzero(finite & (s > before))


def interp_weights(xp: np.ndarray, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear interpolation from ascending ``xp`` (m,) to ``xq`` (q,) as ``(i0, w, inside)``:
    ``f(xq) = f[i0] (1 - w) + f[i0 + 1] w``; ``inside`` is False outside ``[xp[0], xp[-1]]``."""
    m = xp.shape[0]
    if m < 2:
        i0 = np.zeros(xq.shape, dtype=np.intp)
        return i0, np.zeros(xq.shape), (xq == xp[0]) if m else np.zeros(xq.shape, bool)
    i0 = np.clip(np.searchsorted(xp, xq, side="right") - 1, 0, m - 2)
    dx = xp[i0 + 1] - xp[i0]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(dx > 0, (xq - xp[i0]) / dx, 0.0)
    inside = (xq >= xp[0]) & (xq <= xp[-1])
    return i0, w, inside


def apply_weights(Y: np.ndarray, i0: np.ndarray, w: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Rows of ``Y`` (..., m) interpolated with :func:`interp_weights` output; NaN outside."""
    out = Y[..., i0] * (1.0 - w) + Y[..., np.minimum(i0 + 1, Y.shape[-1] - 1)] * w
    return np.where(inside, out, np.nan)


def check(cancel: threading.Event | None, what: str, k: int) -> None:
    if k % 64 == 0:
        check_cancel(cancel, what)


def median_step(a: np.ndarray) -> float:
    d = np.abs(np.diff(a[np.isfinite(a)]))
    d = d[d > 0]
    return float(np.median(d)) if d.size else float("nan")
