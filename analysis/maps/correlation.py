"""Pixel-by-pixel correlation of two maps of the same frame (NaN-aware), optionally per region.

Example: Josephson zero-bias conductance against QP peak height at -5 mV, one point per pixel, with
Pearson (linear) and Spearman (rank) coefficients over all finite pairs and within each region label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from analysis.dataset import Frame
from analysis.maps.regions import nearest_pixels


@dataclass(frozen=True)
class Coefficients:
    """Pearson r and Spearman rho (with two-sided p-values) over ``n`` pixel pairs (NaN when n < 3)."""

    n: int
    pearson: float
    pearson_p: float
    spearman: float
    spearman_p: float


@dataclass
class MapCorrelation:
    """Result of :func:`correlate_maps`.

    x, y : (n,) float64 values of the first and second map at the pixels used.
    pixels : (n,) int64 flat pixel indices (``iy * nx + ix``) of those values.
    labels : (n,) int64 region label of each used pixel (-1: none), or None.
    overall : coefficients over every used pixel.
    per_label : {label: coefficients over that label's pixels}.
    """

    x: np.ndarray
    y: np.ndarray
    pixels: np.ndarray
    labels: np.ndarray | None
    overall: Coefficients
    per_label: dict[int, Coefficients] = field(default_factory=dict)


def coefficients(x: np.ndarray, y: np.ndarray) -> Coefficients:
    """Pearson and Spearman coefficients of paired samples (finite values assumed)."""
    n = int(x.size)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        nan = float("nan")
        return Coefficients(n, nan, nan, nan, nan)
    pr = stats.pearsonr(x, y)
    sr = stats.spearmanr(x, y)
    return Coefficients(n, float(pr.statistic), float(pr.pvalue), float(sr.statistic), float(sr.pvalue))


def correlate_maps(
    a: np.ndarray, b: np.ndarray, labels: np.ndarray | None = None, mask: np.ndarray | None = None
) -> MapCorrelation:
    """Correlate two (ny, nx) maps over the pixels where both are finite (and ``mask`` is True).

    ``labels`` is an optional (ny, nx) int array of region labels (-1 = no region); coefficients are also
    given per label >= 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"maps must be 2D with the same shape, got {a.shape} and {b.shape}")
    use = np.isfinite(a) & np.isfinite(b)
    if mask is not None:
        use &= np.asarray(mask, dtype=bool)
    pixels = np.flatnonzero(use)
    x = a.ravel()[pixels]
    y = b.ravel()[pixels]
    lab = None
    per: dict[int, Coefficients] = {}
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != a.shape:
            raise ValueError(f"labels shape {labels.shape} does not match the maps {a.shape}")
        lab = labels.ravel()[pixels].astype(np.int64)
        for v in np.unique(lab):
            if v < 0:
                continue
            sel = lab == v
            per[int(v)] = coefficients(x[sel], y[sel])
    return MapCorrelation(x, y, pixels, lab, coefficients(x, y), per)


def map_in_frame(values: np.ndarray, src: Frame, dst: Frame) -> np.ndarray:
    """An (ny, nx) map drawn in frame ``src`` sampled at the pixel centres of ``dst`` (nearest pixel;
    NaN outside ``src``), so maps of co-registered grids with different pixel counts can be paired."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != tuple(src.shape):
        raise ValueError(f"map shape {values.shape} does not match its frame {tuple(src.shape)}")
    if src == dst:
        return values
    iy, ix, inside = nearest_pixels(src, dst)
    out = np.full(dst.shape, np.nan)
    out[inside] = values[iy[inside], ix[inside]]
    return out


def labels_from_masks(masks: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """(ny, nx) int labels: index of the last mask containing each pixel, -1 where none does."""
    out = np.full(shape, -1, dtype=np.int64)
    for i, m in enumerate(masks):
        out[np.asarray(m, dtype=bool)] = i
    return out
