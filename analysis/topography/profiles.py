"""Line profiles across images with width averaging, and step heights between two cursor intervals.

A profile runs along a polyline of vertices (x, y) in metres in the sample plane. Points are spaced evenly
along the path (by default a step of the smaller pixel size); at each point the image is sampled by
bilinear interpolation at ``n_width`` offsets spread evenly over ``width_m`` perpendicular to the current
segment, and the finite samples are averaged. Pixel centres follow :class:`analysis.dataset.Frame`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from analysis.dataset import Frame
from analysis.errors import WorkbenchError

MAX_POINTS = 20_000
MAX_WIDTH_SAMPLES = 201


class ProfileError(WorkbenchError):
    """A profile or a step height could not be computed from what was given."""


@dataclass(frozen=True)
class Profile:
    """A sampled profile. ``distance`` (n,) metres from the first vertex; ``values`` (n,) in ``unit``
    (NaN off the image); ``spread`` (n,) the standard deviation across the width (0 for a width of one
    sample); ``x``, ``y`` (n,) metres; ``width_m`` the averaging width; ``n_width`` samples across it."""

    distance: np.ndarray
    values: np.ndarray
    spread: np.ndarray
    x: np.ndarray
    y: np.ndarray
    width_m: float
    n_width: int
    unit: str = "m"
    label: str = ""

    @property
    def spacing(self) -> float:
        """Distance between consecutive points (metres)."""
        return float(self.distance[1] - self.distance[0]) if self.distance.size > 1 else 0.0


def _vertices(vertices: Any) -> np.ndarray:
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 2 or v.shape[0] < 2:
        raise ProfileError("a profile needs at least two vertices (x, y)")
    if not np.isfinite(v).all():
        raise ProfileError("the profile vertices must be finite")
    return v


def line_profile(
    image: Any,
    frame: Frame,
    vertices: Any,
    width_m: float = 0.0,
    step_m: float | None = None,
    unit: str = "m",
    label: str = "",
) -> Profile:
    """The profile of ``image`` (ny, nx; row 0 the lowest line of ``frame``) along ``vertices`` (metres).

    ``width_m`` >= 0 averages perpendicular to the path over that width with a sample per pixel size (at
    least one); ``step_m`` sets the spacing along the path (default the smaller pixel size). Raises
    :class:`ProfileError` for a degenerate path or a shape that does not match the frame.
    """
    z = np.asarray(image)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    if z.shape != tuple(frame.shape):
        raise ProfileError(f"the image has shape {z.shape}, its frame {tuple(frame.shape)}")
    v = _vertices(vertices)
    seg = np.diff(v, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    total = float(seg_len.sum())
    if not total > 0:
        raise ProfileError("the profile has zero length")
    if not width_m >= 0 or not math.isfinite(width_m):
        raise ProfileError(f"the averaging width must be >= 0 (got {width_m})")
    pix = min(frame.pixel_size)
    step = float(step_m) if step_m else pix
    if not step > 0:
        raise ProfileError("the sampling step must be > 0")
    n = int(min(MAX_POINTS, max(2, math.floor(total / step + 1e-9) + 1)))
    d = np.linspace(0.0, (n - 1) * step, n) if n < MAX_POINTS else np.linspace(0.0, total, n)
    d = d[d <= total * (1 + 1e-12)]
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    k = np.clip(np.searchsorted(cum, d, side="right") - 1, 0, len(seg_len) - 1)
    t = (d - cum[k]) / np.where(seg_len[k] > 0, seg_len[k], 1.0)
    x = v[k, 0] + t * seg[k, 0]
    y = v[k, 1] + t * seg[k, 1]
    # unit normal of each point's segment
    with np.errstate(invalid="ignore", divide="ignore"):
        nx_ = np.where(seg_len[k] > 0, -seg[k, 1] / seg_len[k], 0.0)
        ny_ = np.where(seg_len[k] > 0, seg[k, 0] / seg_len[k], 0.0)
    n_w = 1 if width_m <= 0 else int(min(MAX_WIDTH_SAMPLES, max(1, round(width_m / pix))))
    offs = (np.arange(n_w) - (n_w - 1) / 2) * (width_m / n_w) if n_w > 1 else np.zeros(1)
    xs = x[None, :] + offs[:, None] * nx_[None, :]
    ys = y[None, :] + offs[:, None] * ny_[None, :]
    fx, fy = frame.xy_to_pixel(xs.ravel(), ys.ravel())
    samples = _bilinear(z, fy, fx).reshape(n_w, d.size)
    finite = np.isfinite(samples)
    cnt = finite.sum(axis=0)
    s0 = np.where(finite, samples, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, s0.sum(axis=0) / np.maximum(cnt, 1), np.nan)
        var = np.where(finite, (samples - mean[None, :]) ** 2, 0.0).sum(axis=0) / np.maximum(cnt, 1)
    spread = np.where(cnt > 0, np.sqrt(var), np.nan)
    return Profile(d, mean, spread, x, y, float(width_m), n_w, unit, label)


def _bilinear(z: np.ndarray, fy: np.ndarray, fx: np.ndarray) -> np.ndarray:
    """Bilinear samples (float64) of ``z`` at fractional (row, column) indices; NaN outside the hull of
    the pixel centres and wherever one of the four neighbouring pixels is NaN (NaN propagates through the
    interpolation weights, so no pass over the whole image is needed)."""
    ny, nx = z.shape
    inside = (fx >= -1e-9) & (fx <= nx - 1 + 1e-9) & (fy >= -1e-9) & (fy <= ny - 1 + 1e-9)
    coords = np.vstack([np.clip(fy, 0, ny - 1), np.clip(fx, 0, nx - 1)])
    out = ndimage.map_coordinates(z, coords, output=np.float64, order=1, mode="nearest")
    out[~inside] = np.nan
    return out


@dataclass(frozen=True)
class StepHeight:
    """Step height between two intervals of a profile: ``height`` = level of B minus level of A at the
    same distance (profile units) with its standard ``error``; ``slope`` (units per metre) is the common
    tilt fitted through both intervals; ``n_a``/``n_b`` points used."""

    height: float
    error: float
    slope: float
    n_a: int
    n_b: int

    def text(self, unit: str = "m") -> str:
        if unit == "m":
            return f"step {self.height * 1e9:.4g} ± {self.error * 1e9:.2g} nm"
        return f"step {self.height:.4g} ± {self.error:.2g} {unit}"


def step_height(
    distance: Any,
    values: Any,
    a: tuple[float, float],
    b: tuple[float, float],
    correlation_m: float = 0.0,
    tilt: bool = True,
) -> StepHeight:
    """Fit ``y = c_A [d in A] + c_B [d in B] + s d`` to the profile points in intervals ``a`` and ``b``
    ((lo, hi) metres) and return ``c_B - c_A`` with its standard error from the residual scatter.

    ``tilt=False`` fixes ``s = 0`` (difference of the two means). Neighbouring profile points closer than
    ``correlation_m`` (e.g. the pixel size when the profile over-samples the image) are not independent:
    the error is scaled by ``sqrt(correlation_m / spacing)`` when that exceeds 1.
    """
    d = np.asarray(distance, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    ia = (d >= min(a)) & (d <= max(a)) & np.isfinite(y)
    ib = (d >= min(b)) & (d <= max(b)) & np.isfinite(y)
    overlap = ia & ib
    ia &= ~overlap
    ib &= ~overlap
    n_a, n_b = int(ia.sum()), int(ib.sum())
    need = 2 if tilt else 1
    if n_a < need or n_b < need:
        raise ProfileError(
            f"each cursor interval needs at least {need} profile points (A has {n_a}, B has {n_b})"
        )
    sel = ia | ib
    cols = [ia[sel].astype(float), ib[sel].astype(float)]
    scale = 1.0
    if tilt:
        centred = d[sel] - d[sel].mean()
        scale = float(np.max(np.abs(centred))) or 1.0  # O(1) column: keeps the normal matrix well scaled
        cols.append(centred / scale)
    design = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(design, y[sel], rcond=None)
    resid = y[sel] - design @ coef
    dof = max(1, sel.sum() - design.shape[1])
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(design.T @ design)
    err = math.sqrt(max(0.0, cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))
    if d.size > 1 and correlation_m > 0:
        spacing = float(np.median(np.diff(d)))
        if spacing > 0 and correlation_m > spacing:
            err *= math.sqrt(correlation_m / spacing)
    return StepHeight(float(coef[1] - coef[0]), err, float(coef[2]) / scale if tilt else 0.0, n_a, n_b)


def write_profile_csv(profile: Profile, path: str | Path, step: StepHeight | None = None) -> None:
    """Write ``profile`` as CSV: distance (m), x (m), y (m), value, spread across the width; comment lines
    (``#``) give the width and, when given, the step height."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.write(f"# profile {profile.label}".rstrip() + "\n")
        f.write(f"# width_m {profile.width_m:.6g} samples_across {profile.n_width}\n")
        if step is not None:
            f.write(f"# step_height {step.height:.6g} +/- {step.error:.3g} {profile.unit}\n")
        w = csv.writer(f)
        w.writerow(["distance_m", "x_m", "y_m", f"value_{profile.unit or 'au'}", "spread"])
        for row in zip(profile.distance, profile.x, profile.y, profile.values, profile.spread, strict=True):
            w.writerow([f"{v:.9g}" for v in row])
