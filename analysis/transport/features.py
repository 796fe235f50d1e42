"""Markers and features of transport sweeps: ladders, peak and step pickers, their values across a series.

* Ladders: the subharmonic gap voltages e V_n = 2 Delta/n and the Shapiro voltages V_n = n h f/(2e), and
  the inverse (the gap or frequency that puts rung n at a dragged position).
* :func:`find_peaks`: maxima (or minima) of y(x) with position, height and full width at half prominence.
* :func:`find_steps`: plateaus of y(x) (Shapiro steps of a current-biased V(I)) with their level, x range and
  width.
* Across a series: :func:`step_widths` (the width of each Shapiro step in every sweep, against the tags),
  :func:`gap_from_sgs` (Delta of every sweep from its subharmonic gap structure).

Units: V in volts, I in amperes, gaps in eV, frequencies in Hz.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

from analysis.constants import E_CHARGE, H_PLANCK
from analysis.models.point_contact import analyse_sgs, sgs_positions
from analysis.series import Series
from analysis.transport.common import find_channel

SHAPIRO_VOLTAGE_PER_HZ = H_PLANCK / (2 * E_CHARGE)  # V/Hz: the first Shapiro step is h f/2e


# ----------------------------------------------------------------------------------------------------------
# ladders


def gap_ladder(delta: float, n_max: int = 6, both_signs: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(orders n, voltages V_n = 2 Delta/(n e)) for n = 1..n_max (Delta in eV); with ``both_signs`` the
    negative rungs too (order -n at -V_n)."""
    v = sgs_positions(delta, n_max)
    n = np.arange(1, n_max + 1)
    if both_signs:
        return np.r_[-n[::-1], n], np.r_[-v[::-1], v]
    return n, v


def gap_from_rung(voltage: float, n: int) -> float:
    """Delta (eV) that puts rung ``n`` of the gap ladder at ``voltage`` (V): Delta = n e |V|/2."""
    if n == 0:
        raise ValueError("the gap ladder has no rung 0")
    return abs(n) * abs(voltage) / 2.0


def shapiro_ladder(f: float, n_max: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(orders n = -n_max..n_max, voltages V_n = n h f/(2e)) for the frequency ``f`` (Hz)."""
    if not f > 0:
        raise ValueError(f"the frequency must be positive, got {f!r} Hz")
    n = np.arange(-n_max, n_max + 1)
    return n, n * SHAPIRO_VOLTAGE_PER_HZ * f


def frequency_from_rung(voltage: float, n: int) -> float:
    """f (Hz) that puts Shapiro rung ``n`` at ``voltage`` (V): f = 2 e V/(n h)."""
    if n == 0:
        raise ValueError("Shapiro rung 0 is at zero voltage for every frequency")
    return voltage / (n * SHAPIRO_VOLTAGE_PER_HZ)


# ----------------------------------------------------------------------------------------------------------
# pickers


@dataclass(frozen=True)
class Peak:
    """A peak of y(x): ``position`` (x units, refined by a parabola), ``height`` (y at the peak),
    ``prominence`` and ``width`` (full width at half prominence, x units)."""

    position: float
    height: float
    prominence: float
    width: float


def _sorted_finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x has shape {x.shape}, y {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    order = np.argsort(x[ok], kind="stable")
    return x[ok][order], y[ok][order]


def find_peaks(
    x: np.ndarray,
    y: np.ndarray,
    *,
    minima: bool = False,
    prominence: float | None = None,
    x_range: tuple[float, float] | None = None,
) -> list[Peak]:
    """Peaks of y(x) (x (n,) any order; sorted first), or dips with ``minima``, in ``x_range``.

    ``prominence`` (y units) defaults to 5 % of the range of y. Widths are measured at half prominence
    and converted to x units by interpolation.
    """
    xs, ys = _sorted_finite(x, y)
    if x_range is not None:
        a, b = sorted(float(v) for v in x_range)
        sel = (xs >= a) & (xs <= b)
        xs, ys = xs[sel], ys[sel]
    if xs.size < 3:
        return []
    s = -ys if minima else ys
    prom = 0.05 * float(np.ptp(ys)) if prominence is None else float(prominence)
    idx, props = signal.find_peaks(s, prominence=prom if prom > 0 else None)
    if idx.size == 0:
        return []
    widths, _h, left, right = signal.peak_widths(s, idx, rel_height=0.5)
    grid = np.arange(xs.size)
    out = []
    for k, i in enumerate(idx):
        pos = float(xs[i])
        if 0 < i < xs.size - 1:
            x0, x1, x2 = xs[i - 1 : i + 2]
            y0, y1, y2 = s[i - 1 : i + 2]
            den = (x0 - x1) * (x0 - x2) * (x1 - x2)
            if den != 0:
                a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den
                b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / den
                if a < 0:
                    pos = float(np.clip(-b / (2 * a), x0, x2))
        w = float(np.interp(right[k], grid, xs) - np.interp(left[k], grid, xs))
        out.append(Peak(pos, float(ys[i]), float(props["prominences"][k]), w))
    return out


@dataclass(frozen=True)
class Step:
    """A plateau of y(x): ``level`` (mean y on it), ``start``/``stop`` (x at its ends), ``width``
    (stop - start) and ``points`` (number of samples on it)."""

    level: float
    start: float
    stop: float
    points: int

    @property
    def width(self) -> float:
        return self.stop - self.start

    @property
    def centre(self) -> float:
        return 0.5 * (self.start + self.stop)


def find_steps(
    x: np.ndarray, y: np.ndarray, *, tolerance: float | None = None, min_points: int = 3
) -> list[Step]:
    """Plateaus of y(x) (x sorted first): runs of at least ``min_points`` samples whose consecutive
    differences in y are at most ``tolerance`` (default: 2 % of the median |dy| between samples off the
    plateaus, i.e. of the typical slope step). For a current-biased V(I) under rf, the Shapiro steps."""
    xs, ys = _sorted_finite(x, y)
    if xs.size < max(min_points, 2):
        return []
    dy = np.abs(np.diff(ys))
    if tolerance is None:
        moving = dy[dy > 0]
        tolerance = 0.02 * float(np.median(moving)) if moving.size else 0.0
    flat = dy <= tolerance
    edges = np.flatnonzero(np.diff(np.r_[0, flat.astype(np.int8), 0]))
    out = []
    for a, b in zip(edges[::2], edges[1::2]):  # steps a..b-1 flat: samples a..b
        if b - a + 1 >= min_points:
            out.append(Step(float(np.mean(ys[a : b + 1])), float(xs[a]), float(xs[b]), int(b - a + 1)))
    return out


# ----------------------------------------------------------------------------------------------------------
# across a series


def step_widths(
    series: Series,
    f: float,
    orders: Sequence[int] = (0, 1, 2),
    *,
    voltage: str | None = None,
    current: str | None = None,
    tolerance: float | None = None,
    rel_tol: float = 0.2,
) -> dict[int, np.ndarray]:
    """{order n: (n_sweeps,) width (A) of the Shapiro step at V_n = n h f/(2e)} of every sweep of a
    current-biased series (0 where the sweep has no plateau within ``rel_tol`` of a step spacing of V_n).
    The step amplitude of the Bessel models is half the width. Sweeps are taken along their rising
    branches only (hysteresis aside)."""
    vc = find_channel(series, "V", voltage)
    ic = find_channel(series, "A", current)
    spacing = SHAPIRO_VOLTAGE_PER_HZ * f
    out = {int(n): np.zeros(len(series)) for n in orders}
    for k, sw in enumerate(series.sweeps):
        i = np.asarray(sw.x if ic == series.x_channel else sw.channels[ic], dtype=np.float64)
        v = np.asarray(sw.channels[vc], dtype=np.float64)
        rising = np.r_[True, np.diff(i) > 0] if series.x_channel == ic else np.ones(i.shape, bool)
        steps = find_steps(i[rising], v[rising], tolerance=tolerance)
        for n in out:
            near = [s for s in steps if abs(s.level - n * spacing) <= rel_tol * spacing]
            if near:
                out[n][k] = max(s.width for s in near)
    return out


def gap_from_sgs(
    series: Series,
    channel: str = "dV/dI",
    *,
    voltage: str | None = None,
    quantity: str = "dVdI",
    n_max: int = 6,
    v_min: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(Delta (n_sweeps,) eV, its standard error) of every sweep from the subharmonic gap structure of
    ``channel`` against the voltage (:func:`analysis.models.point_contact.analyse_sgs`); NaN where no
    feature can be assigned."""
    vc = find_channel(series, "V", voltage)
    find_channel(series, "", channel)
    delta = np.full(len(series), math.nan)
    err = np.full(len(series), math.nan)
    for k, sw in enumerate(series.sweeps):
        v = np.asarray(sw.x if vc == series.x_channel else sw.channels[vc], dtype=np.float64)
        y = np.asarray(sw.channels[channel], dtype=np.float64)
        try:
            res = analyse_sgs(v, y, quantity=quantity, n_max=n_max, v_min=v_min)
        except ValueError:
            continue
        delta[k], err[k] = res.delta, res.delta_err
    return delta, err
