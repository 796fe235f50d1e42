"""A quantity of a series against x and a tag as a regular 2D array, ready for an image.

dV/dI against V and H for a neck in field; the Shapiro fan, dV/dI against I and P_rf. Rows are tag values
(ascending), columns x values (ascending); repeated sweeps at one tag value are averaged. When the tag
values are not evenly spaced, the rows are put on an even tag grid by nearest sweep, so that the array can
be shown as an image with one rectangle (:attr:`TagMap.rect`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from analysis.series import Series
from analysis.transport.common import Progress, check, find_channel
from analysis.transport.grids import default_grid, sweep_on_grid


@dataclass
class TagMap:
    """``values`` (n_tag, n_x) float64 in ``value_unit``; ``x`` (n_x,) ascending in ``x_unit``; ``tag``
    (n_tag,) ascending in ``tag_unit``, evenly spaced; ``row_tag`` (n_tag,) the tag value of the sweep(s)
    shown in each row (differs from ``tag`` when the rows were put on an even grid); ``sweeps`` lists, for
    each row, the indices of the sweeps averaged into it."""

    values: np.ndarray
    x: np.ndarray
    tag: np.ndarray
    row_tag: np.ndarray
    sweeps: list[list[int]]
    x_name: str
    x_unit: str
    tag_name: str
    tag_unit: str
    value_name: str
    value_unit: str

    @property
    def rect(self) -> tuple[float, float, float, float]:
        """(x0, tag0, width, height) of the image, pixel edges included (x horizontal, tag vertical)."""
        dx = (self.x[-1] - self.x[0]) / max(self.x.size - 1, 1) if self.x.size > 1 else 1.0
        dt = (self.tag[-1] - self.tag[0]) / max(self.tag.size - 1, 1) if self.tag.size > 1 else 1.0
        return (
            float(self.x[0] - dx / 2),
            float(self.tag[0] - dt / 2),
            float(dx * self.x.size),
            float(dt * self.tag.size),
        )

    def row(self, tag_value: float) -> np.ndarray:
        """(n_x,) the row nearest ``tag_value`` (a cut at constant tag)."""
        return self.values[int(np.argmin(np.abs(self.tag - tag_value)))]

    def column(self, x_value: float) -> np.ndarray:
        """(n_tag,) the column nearest ``x_value`` (a cut at constant x)."""
        return self.values[:, int(np.argmin(np.abs(self.x - x_value)))]


def tag_map(
    series: Series,
    channel: str,
    tag: str,
    *,
    x: str | None = None,
    x_grid: np.ndarray | None = None,
    step: float | None = None,
    branch: str = "all",
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> TagMap:
    """The map of ``channel`` against channel ``x`` (default the swept one) and ``tag``.

    When every sweep has the same ascending x values and no ``x_grid`` is given, those values are the
    columns and the channel is used as it is; otherwise every sweep is interpolated onto ``x_grid`` (or a
    common grid with ``step``, see :func:`analysis.transport.grids.onto_grid` and its ``branch``).
    Sweeps without a value of ``tag`` are left out. Rows on an uneven tag grid are put on an even one
    with as many rows as the smallest tag spacing needs, at most 4 times the number of tag values.
    """
    if tag not in series.tags:
        raise ValueError(f"the series has no tag {tag!r} (tags: {', '.join(series.tags) or 'none'})")
    find_channel(series, "", channel)
    xc = find_channel(series, "", x) if x is not None else series.x_channel
    groups = series.groups(tag)
    if not groups:
        raise ValueError(f"no sweep has a value of tag {tag!r}")
    idx_all = [i for _v, idx in groups for i in idx]
    rows: dict[int, np.ndarray] = {}
    grid = x_grid
    if grid is None:
        first = None
        same = True
        for k, i in enumerate(idx_all):
            check(cancel, "map", k)
            s = series.sweeps[i]
            xv = np.asarray(s.x if xc == series.x_channel else s.channels[xc], dtype=np.float64)
            if first is None:
                first = xv
                same = bool(xv.size > 1 and np.all(np.diff(xv) > 0))
            elif not (xv.shape == first.shape and np.array_equal(xv, first)):
                same = False
            if not same:
                break
            rows[i] = np.asarray(s.channels[channel], dtype=np.float64)
        if same and first is not None:
            grid = first
        else:
            rows.clear()
            grid = default_grid(series.select(idx_all), xc, step)
    grid = np.asarray(grid, dtype=np.float64)
    n = len(idx_all)
    for k, i in enumerate(idx_all):
        if i in rows:
            continue
        check(cancel, "map", k)
        sw = series.sweeps[i]
        need = {series.x_channel: np.asarray(sw.x, dtype=np.float64)}
        for name in (xc, channel):
            if name not in need:
                need[name] = np.asarray(sw.channels[name], dtype=np.float64)
        rows[i] = sweep_on_grid(need, series.x_channel, xc, grid, branch, only=(channel,))[channel]
        if progress is not None:
            progress(k + 1, n)
    tvals = np.array([v for v, _ in groups])
    stacked = np.empty((len(groups), grid.size))
    for r, (_v, idx) in enumerate(groups):
        block = np.stack([rows[i] for i in idx])
        if len(idx) == 1:
            stacked[r] = block[0]
        else:
            with np.errstate(invalid="ignore"):
                cnt = np.isfinite(block).sum(0)
                stacked[r] = np.where(cnt > 0, np.nansum(block, 0) / np.maximum(cnt, 1), np.nan)
    members = [list(idx) for _v, idx in groups]
    even_tag, row_of = _even(tvals)
    values = stacked[row_of]
    return TagMap(
        values=values,
        x=grid.copy(),
        tag=even_tag,
        row_tag=tvals[row_of],
        sweeps=[members[r] for r in row_of],
        x_name=xc,
        x_unit=series.unit(xc) or (series.x_unit if xc == series.x_channel else ""),
        tag_name=tag,
        tag_unit=series.tag_unit(tag),
        value_name=channel,
        value_unit=series.unit(channel),
    )


def _even(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(even tag grid, index of the nearest tag value for each grid row) for ascending ``t``."""
    if t.size < 3:
        return t.copy(), np.arange(t.size)
    d = np.diff(t)
    if np.all(np.abs(d - d.mean()) <= 1e-3 * abs(d.mean())):
        return t.copy(), np.arange(t.size)
    span = float(t[-1] - t[0])
    m = min(int(math.ceil(span / float(d.min()))) + 1, 4 * t.size)
    grid = np.linspace(t[0], t[-1], m)
    pos = np.clip(np.searchsorted(t, grid), 1, t.size - 1)
    nearest = np.where(np.abs(grid - t[pos - 1]) <= np.abs(t[pos] - grid), pos - 1, pos)
    return grid, nearest


def waterfall_offsets(
    series: Series, channel: str, *, tag: str | None = None, spacing: float | None = None
) -> np.ndarray:
    """(n_sweeps,) vertical offsets (``channel`` units) for an offset waterfall: sweeps in the order of
    ``tag`` (ascending, NaN last) or in series order, ``spacing`` apart (default: the median over the
    sweeps of their peak-to-peak range of ``channel``, divided by 4). Each sweep is drawn at y + offset."""
    find_channel(series, "", channel)
    n = len(series)
    if spacing is None:
        spans = []
        for s in series.sweeps:
            y = np.asarray(s.channels[channel], dtype=np.float64)
            y = y[np.isfinite(y)]
            if y.size:
                spans.append(float(np.ptp(y)))
        spacing = float(np.median(spans)) / 4 if spans else 1.0
    order = series.order(tag) if tag is not None else np.arange(n)
    out = np.empty(n)
    out[order] = np.arange(n) * spacing
    return out
