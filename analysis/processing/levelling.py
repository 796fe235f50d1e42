"""Levelling of topography: plane subtraction and line-by-line correction.

The display levellings of the map views (:data:`METHODS`); polynomial planes of order 2-3, line levelling
by median of differences and polynomial lines are computed by :mod:`analysis.topography.levelling`.

All functions take a (ny, nx) height map (metres) and return a new float64 array; NaN pixels and pixels
outside ``valid`` are ignored by the fits and stay NaN. Row ``iy`` is one scan line.
"""

from __future__ import annotations

import numpy as np

from analysis.dataset import Image
from analysis.topography.levelling import LevellingError
from analysis.topography.levelling import line_level as topo_line_level
from analysis.topography.levelling import plane_level as topo_plane_level

METHODS = (
    "none",
    "plane",
    "plane2",
    "plane3",
    "line_median",
    "line_median_diff",
    "line_linear",
    "line_poly2",
    "line_poly3",
    "plane+line_median",
)
# display levellings computed by analysis.topography.levelling: key -> (operation, method, order)
_TOPOGRAPHY = {
    "plane2": ("plane", "", 2),
    "plane3": ("plane", "", 3),
    "line_median_diff": ("line", "median_diff", 0),
    "line_poly2": ("line", "poly", 2),
    "line_poly3": ("line", "poly", 3),
}


def _mask(z: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    m = np.isfinite(z)
    if valid is not None:
        m &= np.asarray(valid, bool)
    return m


def plane_level(z: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Subtract the least-squares plane ``a + b*ix + c*iy`` fitted to the usable pixels."""
    z = np.asarray(z, dtype=np.float64)
    m = _mask(z, valid)
    if m.sum() < 3:
        return z.copy()
    iy, ix = np.nonzero(m)
    a = np.column_stack([np.ones(ix.size), ix, iy])
    coef, *_ = np.linalg.lstsq(a, z[m], rcond=None)
    yy, xx = np.mgrid[0 : z.shape[0], 0 : z.shape[1]]
    return z - (coef[0] + coef[1] * xx + coef[2] * yy)


def line_level(z: np.ndarray, order: int = 0, valid: np.ndarray | None = None) -> np.ndarray:
    """Per scan line, subtract its median (``order=0``) or its least-squares straight line (``order=1``)."""
    z = np.asarray(z, dtype=np.float64)
    m = _mask(z, valid)
    out = z.copy()
    x = np.arange(z.shape[1], dtype=np.float64)
    for iy in range(z.shape[0]):
        row_m = m[iy]
        if not row_m.any():
            continue
        if order == 0 or row_m.sum() < 2:
            out[iy] -= np.median(z[iy, row_m])
        else:
            slope, intercept = np.polyfit(x[row_m], z[iy, row_m], 1)
            out[iy] -= intercept + slope * x
    return out


def level(z: np.ndarray, method: str, valid: np.ndarray | None = None) -> np.ndarray:
    """Apply one of :data:`METHODS` to ``z``."""
    if method == "none":
        return np.asarray(z, dtype=np.float64).copy()
    if method == "plane":
        return plane_level(z, valid)
    if method == "line_median":
        return line_level(z, 0, valid)
    if method == "line_linear":
        return line_level(z, 1, valid)
    if method == "plane+line_median":
        return line_level(plane_level(z, valid), 0, valid)
    if method in _TOPOGRAPHY:
        return _topography_level(z, method, valid)
    raise ValueError(f"unknown levelling {method!r}; choose one of {', '.join(METHODS)}")


def _topography_level(z: np.ndarray, method: str, valid: np.ndarray | None) -> np.ndarray:
    """A polynomial plane of order 2-3, median-of-differences or polynomial line levelling
    (:mod:`analysis.topography.levelling`) fitted to the usable pixels; unusable pixels stay NaN. An image
    with too few usable pixels for the fit is returned unchanged (as :func:`plane_level` does)."""
    z = np.asarray(z, dtype=np.float64)
    m = _mask(z, valid)
    op, line_method, order = _TOPOGRAPHY[method]
    try:
        if op == "plane":
            out = topo_plane_level(z, order, m)
        else:
            out = topo_line_level(z, line_method, order, m)
    except LevellingError:
        return z.copy()
    out[~m] = np.nan
    return out


def levelled_image(
    z: np.ndarray,
    frame,
    method: str,
    name: str = "Z",
    unit: str = "m",
    valid: np.ndarray | None = None,
    source_name: str = "",
) -> Image:
    """A new :class:`Image` holding the levelled map, with the operation recorded in ``provenance``."""
    out = level(z, method, valid).astype(np.float32)
    return Image(
        name=f"{source_name or name} ({method} levelled)",
        channels={name: out},
        units={name: unit},
        frame=frame,
        provenance=[
            {"operation": "level", "parameters": {"method": method, "channel": name}, "inputs": [source_name]}
        ],
    )
