"""Line cuts through grids and maps: bilinear sampling along a line or polyline in physical coordinates.

``line_cut(source, frame, points_xy)`` samples a spectroscopy cube ``(ny, nx, nb)`` (or a 2D map
``(ny, nx)``) along a polyline given in metres and returns a :class:`LineCut`.

* Sampling is evenly spaced along the whole path; the distance accumulates over the segments. The default
  number of samples is one per pixel along the path: ``ceil(length / pixel) + 1`` with ``pixel`` the smaller
  pixel side.
* Interpolation is bilinear in the frame's pixel grid (rotated frames included). It is vectorised over the
  sweep axis: the four neighbour spectra of every sample are gathered as rows of the ``(ny * nx, nb)`` view
  of the cube (contiguous in memory for a C-ordered cube) and combined with the four weights, so the cost
  is a few passes over ``4 * n_points * nb`` values instead of one image interpolation per bias.
* Samples inside the frame but less than half a pixel from its edge use the edge pixels (like
  ``scipy.ndimage.map_coordinates(..., order=1, mode="nearest")``); samples outside the frame are NaN.
* NaN neighbours (pixels an aborted grid never measured) are left out and the weights of the others
  renormalised; a sample is NaN only when every neighbour with a non-zero weight is NaN.
* ``width_m > 0`` averages ``n_width`` samples spread evenly across ``[-width/2, +width/2]`` along the local
  normal of each segment (NaN-aware mean). The default ``n_width`` is one sample per pixel across the
  width plus one.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.dataset import Frame, Grid, Image
from analysis.errors import WorkbenchError

#: Samples interpolated per block (bounds the temporary (block, 4, nb) gather).
_BLOCK_VALUES = 8_000_000


@dataclass(frozen=True)
class LineCut:
    """A cut along a polyline.

    Attributes
    ----------
    values : (n_points, nb) float32 for a cube, (n_points,) float32 for a 2D map; NaN where undefined.
    distance : (n_points,) float64, metres along the path from its first vertex.
    xy : (n_points, 2) float64 physical positions (x, y) in metres.
    pixel : (n_points, 2) float64 fractional pixel indices (ix, iy) of the samples.
    vertices : (k, 2) float64 the polyline's vertices (x, y) in metres.
    width_m : averaging width across the path (metres); 0 for a plain cut.
    n_width : samples averaged across the path (1 for a plain cut).
    sweep : (nb,) sweep axis when the cut came from a :class:`Grid` (its ``bias``), else None.
    label, unit : the sampled channel's name and unit when known.
    """

    values: np.ndarray
    distance: np.ndarray
    xy: np.ndarray
    pixel: np.ndarray
    vertices: np.ndarray
    width_m: float = 0.0
    n_width: int = 1
    sweep: np.ndarray | None = None
    label: str = ""
    unit: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        return int(self.distance.shape[0])

    @property
    def length(self) -> float:
        """Total path length in metres."""
        return float(self.distance[-1]) if self.distance.size else 0.0

    def index_at(self, distance_m: float) -> int:
        """Index of the sample closest to ``distance_m`` along the path."""
        if self.distance.size == 0:
            raise ValueError("empty line cut")
        return int(np.argmin(np.abs(self.distance - distance_m)))


def path_length(points_xy: Any) -> float:
    """Length in metres of a polyline (k, 2)."""
    pts = _vertices(points_xy)
    return float(np.sum(np.hypot(*np.diff(pts, axis=0).T)))


def _vertices(points_xy: Any) -> np.ndarray:
    pts = np.asarray(points_xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 2:
        raise WorkbenchError(
            f"a line cut needs at least two (x, y) vertices, got an array of shape {pts.shape}"
        )
    if not np.all(np.isfinite(pts)):
        raise WorkbenchError("line cut vertices must be finite numbers (metres)")
    return pts


def sample_path(points_xy: Any, n_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n_points`` positions evenly spaced along a polyline.

    Returns ``(distance (n,), xy (n, 2), normal (n, 2))``: distance in metres from the first vertex,
    positions in metres, and the unit normal (direction rotated +90 degrees) of the segment holding each
    sample.
    """
    pts = _vertices(points_xy)
    seg = np.diff(pts, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    keep = seg_len > 0
    if not keep.any():
        raise WorkbenchError("a line cut needs two distinct vertices (the path has zero length)")
    n_points = int(n_points)
    if n_points < 2:
        raise WorkbenchError(f"a line cut needs at least 2 samples, got {n_points}")
    if not keep.all():  # drop repeated vertices
        pts = np.concatenate([pts[:1], pts[1:][keep]])
        seg, seg_len = seg[keep], seg_len[keep]
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    distance = np.linspace(0.0, float(cum[-1]), n_points)
    xy = np.empty((n_points, 2))
    xy[:, 0] = np.interp(distance, cum, pts[:, 0])
    xy[:, 1] = np.interp(distance, cum, pts[:, 1])
    which = np.minimum(np.searchsorted(cum, distance, side="right") - 1, seg_len.size - 1)
    direction = seg / seg_len[:, None]
    normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1)[which]
    return distance, xy, normal


def default_n_points(frame: Frame, points_xy: Any) -> int:
    """One sample per pixel along the path: ``ceil(length / min(dx, dy)) + 1``."""
    pixel = min(frame.pixel_size)
    return max(2, int(math.ceil(path_length(points_xy) / pixel - 1e-9)) + 1)


def default_n_width(frame: Frame, width_m: float) -> int:
    """One sample per pixel across the averaging width, plus one (1 when ``width_m`` is 0)."""
    if width_m <= 0:
        return 1
    return max(2, int(math.ceil(width_m / min(frame.pixel_size) - 1e-9)) + 1)


def _pick_channel(ds: Grid | Image) -> str:
    names = ds.channel_names("fwd") or list(ds.channels)
    if not names:
        raise WorkbenchError(f"{ds.name or 'the dataset'} has no channels to cut")
    for n in names:
        if ds.unit(n) == "S":
            return n
    return names[0]


def _bilinear_setup(
    fx: np.ndarray, fy: np.ndarray, ny: int, nx: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat neighbour indices (m, 4), weights (m, 4) and inside mask (m,) of fractional pixel coords."""
    e = 0.5 + 1e-9  # a point exactly on the frame's edge is inside
    inside = (fx >= -e) & (fx <= nx - 1 + e) & (fy >= -e) & (fy <= ny - 1 + e) & np.isfinite(fx + fy)
    cx = np.clip(np.where(inside, fx, 0.0), 0.0, nx - 1.0)
    cy = np.clip(np.where(inside, fy, 0.0), 0.0, ny - 1.0)
    x0 = np.minimum(np.floor(cx).astype(np.intp), max(nx - 2, 0))
    y0 = np.minimum(np.floor(cy).astype(np.intp), max(ny - 2, 0))
    tx = cx - x0
    ty = cy - y0
    x1 = np.minimum(x0 + 1, nx - 1)
    y1 = np.minimum(y0 + 1, ny - 1)
    idx = np.stack([y0 * nx + x0, y0 * nx + x1, y1 * nx + x0, y1 * nx + x1], axis=1)
    w = np.stack([(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty], axis=1)
    return idx, w, inside


def _gather(cube: Any, flat_idx: np.ndarray, ny: int, nx: int, nb: int) -> np.ndarray:
    """(m, 4, nb) neighbour spectra: rows of the (ny * nx, nb) view (or per-pixel reads of a lazy cube)."""
    if isinstance(cube, np.ndarray):
        flat = cube.reshape(ny * nx, nb)  # a view for a C-contiguous cube
        return flat[flat_idx]
    uniq, inverse = np.unique(flat_idx, return_inverse=True)
    rows = np.empty((uniq.size, nb), dtype=np.float32)
    for k, p in enumerate(uniq):
        rows[k] = np.asarray(cube[int(p // nx), int(p % nx), :], dtype=np.float32)
    return rows[inverse.reshape(flat_idx.shape)]


def _combine(g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(m, nb) NaN-aware weighted sum of gathered neighbours g (m, 4, nb) with weights w (m, 4)."""
    w32 = w.astype(np.float32)
    out = np.matmul(w32[:, None, :], g)[:, 0, :]  # batched (1 x 4) @ (4 x nb)
    # a NaN neighbour always shows (0 * NaN is NaN); a finite sum means nothing to fix (an overflowing
    # sum only sends finite data through the slower exact path below)
    if np.isfinite(out.sum(dtype=np.float64)):
        return out
    finite = np.isfinite(g)
    gz = np.where(finite, g, np.float32(0.0))
    num = np.einsum("mk,mkb->mb", w32, gz)
    den = np.einsum("mk,mkb->mb", w32, finite.astype(np.float32))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-6, num / den, np.float32(np.nan)).astype(np.float32)


def interpolate(
    cube: Any,
    fx: np.ndarray,
    fy: np.ndarray,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """Bilinear values at fractional pixel coordinates.

    ``cube`` (ny, nx, nb) or (ny, nx); ``fx``, ``fy`` (m,) column and row indices. Returns (m, nb) float32
    (or (m,) for a 2D map). Outside the frame: NaN. See the module docstring for edges and NaN handling.
    """
    shape = tuple(getattr(cube, "shape", ()))
    if len(shape) == 2:
        arr = np.ascontiguousarray(np.asarray(cube, dtype=np.float32))[:, :, None]
        return interpolate(arr, fx, fy, progress=progress, cancel=cancel)[:, 0]
    if len(shape) != 3:
        raise WorkbenchError(f"a line cut needs a (ny, nx, nb) cube or a (ny, nx) map, got shape {shape}")
    ny, nx, nb = (int(s) for s in shape)
    if ny < 1 or nx < 1:
        raise WorkbenchError(f"cannot cut an empty map of shape {shape}")
    if isinstance(cube, np.ndarray) and (cube.dtype != np.float32 or not cube.flags.c_contiguous):
        cube = np.ascontiguousarray(cube, dtype=np.float32)
    fx = np.asarray(fx, dtype=np.float64).ravel()
    fy = np.asarray(fy, dtype=np.float64).ravel()
    m = fx.size
    idx, w, inside = _bilinear_setup(fx, fy, ny, nx)
    inside_idx = np.flatnonzero(inside)
    block = max(1, _BLOCK_VALUES // max(4 * nb, 1))
    total = inside_idx.size
    if 0 < total == m <= block:  # the common case: every sample inside, one block, no scatter copy
        if cancel is not None and cancel.is_set():
            raise WorkbenchError("line cut cancelled")
        out = _combine(_gather(cube, idx, ny, nx, nb), w)
        if progress is not None:
            progress(total, total)
        return out
    out = np.full((m, nb), np.nan, dtype=np.float32)
    for start in range(0, total, block):
        if cancel is not None and cancel.is_set():
            raise WorkbenchError("line cut cancelled")
        sel = inside_idx[start : start + block]
        out[sel] = _combine(_gather(cube, idx[sel], ny, nx, nb), w[sel])
        if progress is not None:
            progress(min(start + block, total), total)
    return out


def line_cut(
    source: Any,
    frame: Frame | None,
    points_xy: Sequence[Sequence[float]] | np.ndarray,
    n_points: int | None = None,
    width_m: float = 0.0,
    n_width: int | None = None,
    *,
    channel: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> LineCut:
    """Cut ``source`` along the polyline ``points_xy`` (k >= 2 vertices (x, y) in metres).

    ``source`` is a (ny, nx, nb) cube, a (ny, nx) map, a :class:`Grid` or an :class:`Image` (``channel``
    picks the channel; default: the first forward channel in siemens, else the first). ``frame`` places
    the pixels; it defaults to the dataset's frame and is required for a bare array. ``n_points`` samples
    along the path (default one per pixel), ``width_m`` the averaging width across it (metres) with
    ``n_width`` samples across (default one per pixel, plus one).
    """
    sweep = None
    label = unit = ""
    if isinstance(source, Grid | Image):
        channel = channel or _pick_channel(source)
        if channel not in source.channels:
            raise WorkbenchError(f"{source.name or 'the dataset'} has no channel {channel!r}")
        frame = frame or source.frame
        if isinstance(source, Grid):
            sweep = np.asarray(source.bias, dtype=np.float64)
        label, unit = channel, source.unit(channel)
        data = source.channels[channel]
    else:
        data = source
    if frame is None:
        raise WorkbenchError("a line cut through a bare array needs the scan frame")
    shape = tuple(getattr(data, "shape", ()))
    if len(shape) not in (2, 3) or tuple(shape[:2]) != tuple(frame.shape):
        raise WorkbenchError(
            f"data of shape {shape} do not match the frame's {frame.shape[0]} x {frame.shape[1]} pixels"
        )
    if not (math.isfinite(width_m) and width_m >= 0):
        raise WorkbenchError(f"the averaging width must be >= 0 m, got {width_m}")
    verts = _vertices(points_xy)
    n_points = default_n_points(frame, verts) if n_points is None else int(n_points)
    n_width = default_n_width(frame, width_m) if n_width is None else max(1, int(n_width))
    if width_m == 0:
        n_width = 1
    distance, xy, normal = sample_path(verts, n_points)

    px, py = frame.xy_to_pixel(xy[:, 0], xy[:, 1])
    if n_width == 1:
        values = interpolate(data, px, py, progress=progress, cancel=cancel)
    else:
        offsets = np.linspace(-width_m / 2, width_m / 2, n_width)
        # (n_width, n_points, 2) sample positions across the path
        across = xy[None, :, :] + offsets[:, None, None] * normal[None, :, :]
        fx, fy = frame.xy_to_pixel(across[..., 0].ravel(), across[..., 1].ravel())
        vals = interpolate(data, fx, fy, progress=progress, cancel=cancel)
        vals = vals.reshape((n_width, n_points) + vals.shape[1:])
        finite = np.isfinite(vals)
        count = finite.sum(axis=0)
        total = np.where(finite, vals, 0.0).sum(axis=0, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return LineCut(
        values=np.asarray(values, dtype=np.float32),
        distance=distance,
        xy=xy,
        pixel=np.stack([px, py], axis=1),
        vertices=verts,
        width_m=float(width_m),
        n_width=int(n_width),
        sweep=sweep,
        label=label,
        unit=unit,
    )


@dataclass(frozen=True)
class CutPath:
    """A line cut as the user drew it: polyline ``vertices`` ((x, y) in metres), the averaging ``width_m``
    across it and the number of samples ``n_points`` (None: one per pixel of the grid being cut)."""

    vertices: tuple[tuple[float, float], ...]
    width_m: float = 0.0
    n_points: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        _vertices(self.vertices)  # validates: >= 2 finite vertices

    @property
    def length(self) -> float:
        return path_length(self.vertices)

    def with_vertices(self, vertices: Any) -> CutPath:
        verts = tuple((float(x), float(y)) for x, y in np.asarray(vertices, dtype=float))
        return CutPath(verts, self.width_m, self.n_points, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "vertices": [list(v) for v in self.vertices],
            "width_m": self.width_m,
            "n_points": self.n_points,
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CutPath:
        n = d.get("n_points")
        return cls(
            tuple((float(x), float(y)) for x, y in d["vertices"]),
            float(d.get("width_m", 0.0)),
            None if n is None else int(n),
            str(d.get("name", "")),
        )


def cut_path(source: Any, path: CutPath, frame: Frame | None = None, **kwargs: Any) -> LineCut:
    """:func:`line_cut` of ``source`` along a :class:`CutPath` (its width and number of samples)."""
    return line_cut(source, frame, path.vertices, path.n_points, path.width_m, **kwargs)


def position_at(vertices: Any, distance_m: float) -> tuple[float, float]:
    """The point (x, y) in metres at ``distance_m`` along a polyline (clipped to its ends)."""
    pts = _vertices(vertices)
    seg_len = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    d = float(np.clip(distance_m, 0.0, cum[-1]))
    return float(np.interp(d, cum, pts[:, 0])), float(np.interp(d, cum, pts[:, 1]))


def project_onto_path(vertices: Any, x: float, y: float) -> tuple[float, float]:
    """(distance along the polyline of the closest point, distance from the polyline), both in metres."""
    pts = _vertices(vertices)
    a, b = pts[:-1], pts[1:]
    seg = b - a
    seg_len2 = np.einsum("ij,ij->i", seg, seg)
    p = np.array([x, y], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(seg_len2 > 0, np.einsum("ij,ij->i", p - a, seg) / seg_len2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = a + t[:, None] * seg
    dist = np.hypot(*(closest - p).T)
    k = int(np.argmin(dist))
    cum = np.concatenate([[0.0], np.cumsum(np.sqrt(seg_len2))])
    return float(cum[k] + t[k] * math.sqrt(seg_len2[k])), float(dist[k])


def value_at(cut: LineCut, sweep_value: float) -> np.ndarray:
    """(n_points,) profile of a cube cut at the sweep point closest to ``sweep_value`` (sweep units)."""
    if cut.values.ndim == 1:
        return cut.values.astype(np.float64)
    if cut.sweep is None or cut.sweep.size == 0:
        raise WorkbenchError("this cut has no sweep axis")
    k = int(np.argmin(np.abs(cut.sweep - sweep_value)))
    return cut.values[:, k].astype(np.float64)


def peak_height(cut: LineCut, lo: float, hi: float) -> np.ndarray:
    """(n_points,) height of the peak in the sweep window ``[lo, hi]`` of every spectrum of a cube cut.

    Height = maximum inside the window minus the straight baseline through the window's two edge values
    (so a peak on a sloping background is measured from that background). NaN where the window holds no
    finite value.
    """
    if cut.values.ndim == 1 or cut.sweep is None:
        raise WorkbenchError("peak heights need a spectroscopy cut (a grid with a sweep axis)")
    lo, hi = sorted((float(lo), float(hi)))
    sel = np.flatnonzero((cut.sweep >= lo) & (cut.sweep <= hi))
    if sel.size < 3:
        raise WorkbenchError(
            f"the window {lo * 1e3:.3g}..{hi * 1e3:.3g} (x1e-3) holds {sel.size} sweep points; 3 are needed"
        )
    block = cut.values[:, sel].astype(np.float64)
    x = cut.sweep[sel]
    left, right = block[:, 0], block[:, -1]
    baseline = left[:, None] + (right - left)[:, None] * ((x - x[0]) / (x[-1] - x[0]))[None, :]
    excess = block - baseline
    finite = np.isfinite(excess)
    filled = np.where(finite, excess, -np.inf)
    out = filled.max(axis=1)
    out[~finite.any(axis=1)] = np.nan
    return out


def write_cut_csv(cut: LineCut, path: Any) -> None:
    """Write a cut as CSV: ``#`` comment lines (channel, unit, vertices in m, width), then a header row
    ``distance_m, x_m, y_m, <sweep values>`` (or ``value`` for a 2D map) and one row per sample."""
    vals = cut.values if cut.values.ndim == 2 else cut.values[:, None]
    if cut.values.ndim == 2 and cut.sweep is not None:
        names = [f"{v:.9g}" for v in cut.sweep]
    else:
        names = ["value"] if cut.values.ndim == 1 else [f"sweep_{k}" for k in range(vals.shape[1])]
    verts = "; ".join(f"({x:.9g}, {y:.9g})" for x, y in cut.vertices)
    lines = [
        f"# line cut of {cut.label or 'values'} [{cut.unit}] along vertices (m): {verts}",
        f"# averaging width {cut.width_m:.9g} m over {cut.n_width} samples; columns after y_m: "
        + ("sweep values" if cut.sweep is not None and cut.values.ndim == 2 else "values"),
        ",".join(["distance_m", "x_m", "y_m", *names]),
    ]
    table = np.column_stack([cut.distance, cut.xy, vals.astype(np.float64)])
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
        np.savetxt(fh, table, delimiter=",", fmt="%.9g")


__all__ = [
    "CutPath",
    "write_cut_csv",
    "cut_path",
    "peak_height",
    "position_at",
    "project_onto_path",
    "value_at",
    "LineCut",
    "default_n_points",
    "default_n_width",
    "interpolate",
    "line_cut",
    "path_length",
    "sample_path",
]
