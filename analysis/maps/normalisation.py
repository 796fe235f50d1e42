"""Normalisation of spectra for comparison, and vertical offsets for display.

Every function takes a sweep axis ``bias`` (nb,) ascending (V) and spectra ``y`` of shape (nb,) or
(m, nb) (one spectrum per row), and returns arrays of the same shape. A normalised spectrum is
dimensionless; its standard deviation band is scaled by the same factor (:func:`normalisation_factor`).

Modes
-----
``"none"``       unchanged.
``"at_bias"``    divided by the (linearly interpolated) value at ``at`` (V).
``"high_bias"``  divided by the mean over the high-bias window ``lo <= |V| <= hi`` (both polarities).
``"area"``       divided by the mean value over the axis, ``integral(y dV) / (V_max - V_min)`` (trapezoid).
``"max"``        divided by the spectrum's own maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = ("none", "at_bias", "high_bias", "area", "max")
MODE_TITLES = {
    "none": "None",
    "at_bias": "At a bias",
    "high_bias": "High-bias window mean",
    "area": "Area (mean value)",
    "max": "Own maximum",
}


@dataclass(frozen=True)
class Normalisation:
    """A normalisation: ``mode`` (see module doc), ``at`` (V) and ``window`` (lo, hi) in V of |bias|."""

    mode: str = "none"
    at: float = 0.0
    window: tuple[float, float] = (0.0, np.inf)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown normalisation mode {self.mode!r}; expected one of {MODES}")


def _rows(y: np.ndarray) -> np.ndarray:
    a = np.asarray(y, dtype=np.float64)
    if a.ndim == 1:
        return a[None, :]
    if a.ndim != 2:
        raise ValueError(f"expected spectra of shape (nb,) or (m, nb), got {a.shape}")
    return a


def normalisation_factor(bias: np.ndarray, y: np.ndarray, norm: Normalisation) -> np.ndarray:
    """The divisor of each spectrum: float for (nb,) input, (m,) for (m, nb). NaN when undefined."""
    bias = np.asarray(bias, dtype=np.float64)
    rows = _rows(y)
    if rows.shape[1] != bias.shape[0]:
        raise ValueError(f"spectra have {rows.shape[1]} points but the bias axis has {bias.shape[0]}")
    m = rows.shape[0]
    if norm.mode == "none":
        f = np.ones(m)
    elif norm.mode == "at_bias":
        if not bias[0] <= norm.at <= bias[-1]:
            raise ValueError(f"bias {norm.at:g} V lies outside the sweep {bias[0]:g}..{bias[-1]:g} V")
        f = np.array([np.interp(norm.at, bias, r) for r in rows])
    elif norm.mode == "high_bias":
        lo, hi = norm.window
        sel = (np.abs(bias) >= lo) & (np.abs(bias) <= hi)
        if not sel.any():
            raise ValueError(f"no sweep point with {lo:g} V <= |V| <= {hi:g} V")
        with np.errstate(invalid="ignore"):
            f = (
                np.nanmean(rows[:, sel], axis=1)
                if np.isnan(rows[:, sel]).any()
                else rows[:, sel].mean(axis=1)
            )
    elif norm.mode == "area":
        width = float(bias[-1] - bias[0])
        if width <= 0:
            raise ValueError("normalisation by area needs a sweep of non-zero width")
        f = np.trapezoid(rows, bias, axis=1) / width
    else:  # "max"
        with np.errstate(invalid="ignore"):
            f = np.nanmax(rows, axis=1) if rows.size else np.ones(m)
    f = np.where(f == 0, np.nan, f)
    return f[0] if np.ndim(y) == 1 else f


def normalise(
    bias: np.ndarray, y: np.ndarray, norm: Normalisation, std: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(normalised y, normalised std or None); same shapes as the inputs."""
    f = normalisation_factor(bias, y, norm)
    y = np.asarray(y, dtype=np.float64)
    fcol = f if np.ndim(y) == 1 else np.asarray(f)[:, None]
    out = y / fcol
    s = None if std is None else np.asarray(std, dtype=np.float64) / np.abs(fcol)
    return out, s


def auto_offset(y: np.ndarray, fraction: float = 0.25) -> float:
    """A vertical step for offsetting (m, nb) spectra: ``fraction`` of their largest peak-to-peak range."""
    rows = _rows(y)
    finite = rows[np.isfinite(rows)]
    if finite.size == 0:
        return 0.0
    ptp = float(np.nanmax(np.ptp(np.where(np.isfinite(rows), rows, np.nan), axis=1)))
    if not np.isfinite(ptp):
        ptp = float(finite.max() - finite.min())
    return fraction * ptp


def offset_stack(y: np.ndarray, step: float) -> np.ndarray:
    """(m, nb) spectra with spectrum i shifted up by ``i * step``."""
    rows = _rows(y)
    return rows + step * np.arange(rows.shape[0])[:, None]
