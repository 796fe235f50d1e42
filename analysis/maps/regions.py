"""Regions of interest in physical coordinates (metres) and their pixel masks.

A geometry (:class:`Rectangle`, :class:`Ellipse`, :class:`Polygon`, :class:`Lasso`) lives in the sample
plane, so one region applies to every co-registered grid and to the topography: ``mask(frame)`` rasterises
it into any :class:`~analysis.dataset.Frame` as an ``(ny, nx)`` bool array, a pixel being inside when its
centre is (even-odd rule for polygons, boundary points of a half-open scan line count as inside on the
left/bottom edges). A :class:`Region` holds either a geometry or an explicit mask drawn in one frame (from a
map's colour scale or from clustering); an explicit mask is re-rasterised into another frame by nearest-pixel
lookup of the target pixel centres.

:func:`regions_from_bands` turns a map's value range into regions 1..N (region 1 = lowest values).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from analysis.dataset import Frame

REGION_COLOURS: list[tuple[int, int, int]] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]

_region_ids = itertools.count(1)


def new_region_id() -> str:
    """A fresh region id, unique within this process (``"r1"``, ``"r2"``, ...)."""
    return f"r{next(_region_ids)}"


def region_colour(i: int) -> tuple[int, int, int]:
    """The ``i``-th colour of the default region palette (cycles)."""
    return REGION_COLOURS[i % len(REGION_COLOURS)]


# -- rasterisation helpers ---------------------------------------------------------------------------


def pixel_centres(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """Physical (x, y) in metres of every pixel centre of ``frame``: two (ny, nx) float64 arrays."""
    ny, nx = frame.shape
    iy, ix = np.mgrid[0:ny, 0:nx]
    return frame.pixel_to_xy(ix, iy)


def fill_polygon_pixels(px: np.ndarray, py: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(ny, nx) bool mask of the integer points (ix, iy) inside the polygon with vertices ``(px, py)``.

    ``px``, ``py`` are (n,) vertex coordinates in fractional pixel units (integer = pixel centre). Even-odd
    rule with half-open scan lines, fully vectorised: each edge crossing of a row toggles the parity from
    its column onwards.
    """
    ny, nx = shape
    out = np.zeros((ny, nx), dtype=bool)
    px = np.asarray(px, dtype=np.float64).ravel()
    py = np.asarray(py, dtype=np.float64).ravel()
    if px.size < 3 or ny == 0 or nx == 0:
        return out
    x1, y1 = px, py
    x2, y2 = np.roll(px, -1), np.roll(py, -1)
    keep = y1 != y2
    x1, y1, x2, y2 = x1[keep], y1[keep], x2[keep], y2[keep]
    if x1.size == 0:
        return out
    ylo = np.minimum(y1, y2)
    yhi = np.maximum(y1, y2)
    # rows iy with ylo <= iy < yhi
    r0 = np.clip(np.ceil(ylo), 0, ny).astype(np.int64)
    r1 = np.clip(np.ceil(yhi), 0, ny).astype(np.int64)
    counts = np.maximum(r1 - r0, 0)
    total = int(counts.sum())
    if total == 0:
        return out
    edge = np.repeat(np.arange(x1.size), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    rows = r0[edge] + (np.arange(total) - start)
    t = (rows - y1[edge]) / (y2[edge] - y1[edge])
    xc = x1[edge] + t * (x2[edge] - x1[edge])
    cols = np.clip(np.ceil(xc), 0, nx).astype(np.int64)
    toggles = np.zeros((ny, nx + 1), dtype=np.int32)
    np.add.at(toggles, (rows, cols), 1)
    parity = np.cumsum(toggles[:, :nx], axis=1) & 1
    return parity.astype(bool)


def points_in_polygon(x: np.ndarray, y: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Bool array (shape of ``x``): which points (x, y) lie inside the polygon (even-odd rule).

    ``vertices`` is (n, 2). Vectorised over points, looping over the n edges.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 2)
    inside = np.zeros(x.shape, dtype=bool)
    if v.shape[0] < 3:
        return inside
    xs, ys = v[:, 0], v[:, 1]
    x2s, y2s = np.roll(xs, -1), np.roll(ys, -1)
    for xa, ya, xb, yb in zip(xs, ys, x2s, y2s):
        if ya == yb:
            continue
        crosses = (ya <= y) != (yb <= y)
        xc = xa + (y - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (x < xc)
    return inside


def geometry_contains(geometry: Geometry, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bool array (shape of ``x``): which points (x, y), in the geometry's units, lie inside it."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if isinstance(geometry, Ellipse):
        a, b = abs(geometry.size[0]) / 2, abs(geometry.size[1]) / 2
        if a == 0 or b == 0:
            return np.zeros(x.shape, dtype=bool)
        c, s = _rot(geometry.angle)
        dx, dy = x - geometry.center[0], y - geometry.center[1]
        return ((c * dx + s * dy) / a) ** 2 + ((-s * dx + c * dy) / b) ** 2 <= 1.0
    if isinstance(geometry, Rectangle):
        return points_in_polygon(x, y, geometry.corners())
    return points_in_polygon(x, y, geometry.array)


def _rot(angle_deg: float) -> tuple[float, float]:
    a = math.radians(angle_deg)
    return math.cos(a), math.sin(a)


# -- geometries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rectangle:
    """Rectangle: ``center`` (x, y) and ``size`` (width, height) in metres, ``angle`` degrees CCW."""

    center: tuple[float, float]
    size: tuple[float, float]
    angle: float = 0.0

    kind = "rectangle"

    @property
    def area_m2(self) -> float:
        return abs(self.size[0] * self.size[1])

    def corners(self) -> np.ndarray:
        """(4, 2) corner coordinates in metres, counter-clockwise from the local bottom-left."""
        w, h = self.size[0] / 2, self.size[1] / 2
        c, s = _rot(self.angle)
        local = np.array([(-w, -h), (w, -h), (w, h), (-w, h)])
        x = self.center[0] + c * local[:, 0] - s * local[:, 1]
        y = self.center[1] + s * local[:, 0] + c * local[:, 1]
        return np.column_stack([x, y])

    def mask(self, frame: Frame) -> np.ndarray:
        """(ny, nx) bool: pixels of ``frame`` whose centre lies inside."""
        return Polygon(tuple(map(tuple, self.corners()))).mask(frame)

    def translated(self, dx: float, dy: float) -> Rectangle:
        return replace(self, center=(self.center[0] + dx, self.center[1] + dy))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "center": list(self.center), "size": list(self.size), "angle": self.angle}


@dataclass(frozen=True)
class Ellipse:
    """Ellipse inscribed in the rectangle ``center``, ``size`` (full axes, metres), ``angle`` degrees CCW."""

    center: tuple[float, float]
    size: tuple[float, float]
    angle: float = 0.0

    kind = "ellipse"

    @property
    def area_m2(self) -> float:
        return math.pi * abs(self.size[0] * self.size[1]) / 4.0

    def mask(self, frame: Frame) -> np.ndarray:
        a, b = abs(self.size[0]) / 2, abs(self.size[1]) / 2
        if a == 0 or b == 0:
            return np.zeros(frame.shape, dtype=bool)
        x, y = pixel_centres(frame)
        c, s = _rot(self.angle)
        dx, dy = x - self.center[0], y - self.center[1]
        u = c * dx + s * dy
        v = -s * dx + c * dy
        return (u / a) ** 2 + (v / b) ** 2 <= 1.0

    def translated(self, dx: float, dy: float) -> Ellipse:
        return replace(self, center=(self.center[0] + dx, self.center[1] + dy))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "center": list(self.center), "size": list(self.size), "angle": self.angle}


@dataclass(frozen=True)
class Polygon:
    """Closed polygon: ``vertices`` ((x, y), ...) in metres (the last vertex joins the first)."""

    vertices: tuple[tuple[float, float], ...]

    kind = "polygon"

    def __post_init__(self) -> None:
        object.__setattr__(self, "vertices", tuple((float(x), float(y)) for x, y in self.vertices))

    @property
    def array(self) -> np.ndarray:
        """(n, 2) float64 vertices in metres."""
        return np.asarray(self.vertices, dtype=np.float64).reshape(-1, 2)

    @property
    def area_m2(self) -> float:
        v = self.array
        if v.shape[0] < 3:
            return 0.0
        x, y = v[:, 0], v[:, 1]
        return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))

    def mask(self, frame: Frame) -> np.ndarray:
        v = self.array
        fx, fy = frame.xy_to_pixel(v[:, 0], v[:, 1])
        return fill_polygon_pixels(fx, fy, frame.shape)

    def translated(self, dx: float, dy: float) -> Polygon:
        return type(self)(tuple((x + dx, y + dy) for x, y in self.vertices))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "vertices": [list(p) for p in self.vertices]}


@dataclass(frozen=True)
class Lasso(Polygon):
    """Freehand outline: a polygon of many points (metres), drawn by dragging."""

    kind = "lasso"


Geometry = Rectangle | Ellipse | Polygon | Lasso

_GEOMETRY_KINDS: dict[str, type] = {
    "rectangle": Rectangle,
    "ellipse": Ellipse,
    "polygon": Polygon,
    "lasso": Lasso,
}


def geometry_from_dict(d: Mapping[str, Any]) -> Geometry:
    """Inverse of ``geometry.to_dict()``; raises ValueError on an unknown kind or missing fields."""
    kind = d.get("kind")
    cls = _GEOMETRY_KINDS.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown region geometry kind {kind!r}; expected one of {sorted(_GEOMETRY_KINDS)}")
    try:
        if cls in (Rectangle, Ellipse):
            return cls(
                center=(float(d["center"][0]), float(d["center"][1])),
                size=(float(d["size"][0]), float(d["size"][1])),
                angle=float(d.get("angle", 0.0)),
            )
        return cls(tuple((float(p[0]), float(p[1])) for p in d["vertices"]))
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"malformed {kind} geometry: {exc}") from exc


def nearest_pixels(src: Frame, dst: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pixel of ``dst``, the ``src`` pixel containing its centre.

    Returns ``(iy, ix, inside)``, each (ny, nx) of ``dst``: int64 row and column indices into ``src`` and a
    bool mask of the pixels whose centre falls inside ``src`` (the indices are only valid there).
    """
    x, y = pixel_centres(dst)
    fx, fy = src.xy_to_pixel(x, y)
    ix = np.floor(fx + 0.5).astype(np.int64)
    iy = np.floor(fy + 0.5).astype(np.int64)
    ny, nx = src.shape
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    return iy, ix, inside


def resample_mask(mask: np.ndarray, src: Frame, dst: Frame) -> np.ndarray:
    """Re-rasterise an (ny, nx) bool ``mask`` drawn in frame ``src`` into frame ``dst``.

    Each pixel of ``dst`` takes the value of the ``src`` pixel containing its centre (False outside).
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != tuple(src.shape):
        raise ValueError(f"mask shape {mask.shape} does not match its frame {tuple(src.shape)}")
    if src == dst:
        return mask.copy()
    iy, ix, inside = nearest_pixels(src, dst)
    out = np.zeros(dst.shape, dtype=bool)
    out[inside] = mask[iy[inside], ix[inside]]
    return out


# -- region record -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A named, coloured region: a geometry in metres, or an explicit ``mask`` drawn in ``frame``.

    Regions are immutable; edits make a new record with :meth:`with_changes` (which keeps the id), so an
    undo stack can hold the old and new records.

    Attributes
    ----------
    name, colour : label and RGB colour (0..255).
    geometry : a :data:`Geometry`, or None for a mask region.
    mask : (ny, nx) bool in ``frame`` for a mask region, else None.
    frame : the frame ``mask`` was drawn in (None for a geometry region).
    id : stable identifier.
    origin : how it was made, JSON-able (e.g. ``{"method": "bands", "mode": "equal", "edges": [...]}``).
    """

    name: str
    colour: tuple[int, int, int] = (31, 119, 180)
    geometry: Geometry | None = None
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    frame: Frame | None = None
    id: str = field(default_factory=new_region_id)
    origin: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if (self.geometry is None) == (self.mask is None):
            raise ValueError("a region needs exactly one of a geometry or an explicit mask")
        if self.mask is not None:
            if self.frame is None:
                raise ValueError("a mask region needs the frame its mask was drawn in")
            m = np.asarray(self.mask, dtype=bool)
            if m.shape != tuple(self.frame.shape):
                raise ValueError(f"mask shape {m.shape} does not match frame shape {tuple(self.frame.shape)}")
            m = m.copy()
            m.setflags(write=False)
            object.__setattr__(self, "mask", m)
        object.__setattr__(self, "colour", tuple(int(c) for c in self.colour[:3]))

    def with_changes(self, **changes: Any) -> Region:
        """A copy with some fields replaced (same id unless ``id`` is given)."""
        return replace(self, **changes)

    def mask_in(self, frame: Frame) -> np.ndarray:
        """(ny, nx) bool mask of this region in ``frame`` (pixel-centre inclusion)."""
        if self.geometry is not None:
            return self.geometry.mask(frame)
        assert self.mask is not None and self.frame is not None
        return resample_mask(self.mask, self.frame, frame)

    @property
    def area_m2(self) -> float:
        """Area in m^2: analytic for a geometry, pixel count x pixel area for a mask."""
        if self.geometry is not None:
            return float(self.geometry.area_m2)
        assert self.mask is not None and self.frame is not None
        dx, dy = self.frame.pixel_size
        return float(np.count_nonzero(self.mask)) * dx * dy

    def to_dict(self) -> tuple[dict[str, Any], np.ndarray | None]:
        """(JSON-able description, mask array or None)."""
        d: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "colour": list(self.colour),
            "origin": dict(self.origin),
        }
        if self.geometry is not None:
            d["geometry"] = self.geometry.to_dict()
        else:
            assert self.frame is not None
            d["frame"] = self.frame.to_dict()
        return d, (None if self.mask is None else np.array(self.mask, dtype=bool))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], mask: np.ndarray | None = None) -> Region:
        """Inverse of :meth:`to_dict`; raises ValueError with the reason on malformed input."""
        try:
            geometry = geometry_from_dict(d["geometry"]) if d.get("geometry") else None
            frame = Frame.from_dict(d["frame"]) if d.get("frame") else None
            colour = tuple(int(c) for c in d.get("colour", (31, 119, 180)))
            return cls(
                name=str(d["name"]),
                colour=colour,  # type: ignore[arg-type]
                geometry=geometry,
                mask=None if mask is None else np.asarray(mask, dtype=bool),
                frame=frame,
                id=str(d.get("id") or new_region_id()),
                origin=dict(d.get("origin", {})),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed region record: missing or bad field {exc}") from exc


# -- regions from a map's colour scale ---------------------------------------------------------------


def band_edges(
    map2d: np.ndarray,
    n: int | None = None,
    thresholds: Sequence[float] | None = None,
    mode: str = "equal",
) -> np.ndarray:
    """(n + 1,) ascending band edges over the finite values of ``map2d``.

    ``mode="equal"``: equal widths between min and max; ``"quantile"``: equal pixel counts;
    ``"thresholds"``: the typed interior thresholds, with the min and max as outer edges.
    """
    values = np.asarray(map2d, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("the map has no finite values")
    lo, hi = float(finite.min()), float(finite.max())
    if mode == "thresholds":
        if not thresholds:
            raise ValueError("mode 'thresholds' needs at least one threshold")
        t = np.sort(np.asarray(list(thresholds), dtype=np.float64))
        if not np.all(np.isfinite(t)):
            raise ValueError("thresholds must be finite numbers")
        return np.concatenate([[min(lo, t[0])], t, [max(hi, t[-1])]])
    if n is None or int(n) < 1:
        raise ValueError(f"the number of bands must be >= 1 (got {n})")
    n = int(n)
    if mode == "equal":
        return np.linspace(lo, hi, n + 1)
    if mode == "quantile":
        return np.quantile(finite, np.linspace(0.0, 1.0, n + 1))
    raise ValueError(f"unknown band mode {mode!r}; expected 'equal', 'quantile' or 'thresholds'")


def band_labels(map2d: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(ny, nx) int band index 0..n-1 of each pixel (band i = [edges[i], edges[i+1]), last one closed);
    -1 where the value is not finite."""
    values = np.asarray(map2d, dtype=np.float64)
    n = len(edges) - 1
    labels = np.searchsorted(np.asarray(edges[1:-1]), values, side="right").astype(np.int64)
    labels = np.clip(labels, 0, n - 1)
    labels[~np.isfinite(values)] = -1
    return labels


def _components(mask: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    lab, count = ndimage.label(mask, structure=structure)
    return lab, int(count)


def regions_from_bands(
    map2d: np.ndarray,
    frame: Frame,
    n: int | None = None,
    thresholds: Sequence[float] | None = None,
    mode: str = "equal",
    split_components: bool = False,
    min_pixels: int = 0,
    connectivity: int = 4,
    prefix: str = "Region",
    colours: Sequence[tuple[int, int, int]] | None = None,
) -> list[Region]:
    """Regions 1..N from the value bands of ``map2d`` ((ny, nx), in ``frame``); region 1 = lowest values.

    ``split_components`` splits each band into connected components (``connectivity`` 4 or 8), named
    ``"Region 2.1"``, ``"Region 2.2"``, ... by decreasing size; ``min_pixels`` drops connected specks
    smaller than that from every band. Bands left empty give no region. NaN pixels belong to no region.
    """
    map2d = np.asarray(map2d)
    if map2d.ndim != 2 or map2d.shape != tuple(frame.shape):
        raise ValueError(f"map shape {map2d.shape} does not match frame shape {tuple(frame.shape)}")
    if connectivity not in (4, 8):
        raise ValueError("connectivity must be 4 or 8")
    edges = band_edges(map2d, n=n, thresholds=thresholds, mode=mode)
    labels = band_labels(map2d, edges)
    nbands = len(edges) - 1
    palette = list(colours) if colours else [region_colour(i) for i in range(nbands)]
    out: list[Region] = []
    for b in range(nbands):
        band = labels == b
        if not band.any():
            continue
        origin = {
            "method": "bands",
            "mode": mode,
            "band": b + 1,
            "range": [float(edges[b]), float(edges[b + 1])],
            "edges": [float(e) for e in edges],
        }
        colour = palette[b % len(palette)]
        if split_components or min_pixels > 0:
            lab, count = _components(band, connectivity)
            sizes = np.bincount(lab.ravel(), minlength=count + 1)
            sizes[0] = 0
            keep = [c for c in range(1, count + 1) if sizes[c] >= max(min_pixels, 1)]
            if not keep:
                continue
            if split_components:
                keep.sort(key=lambda c: -sizes[c])
                for j, c in enumerate(keep, start=1):
                    out.append(
                        Region(
                            f"{prefix} {b + 1}.{j}",
                            colour,
                            mask=lab == c,
                            frame=frame,
                            origin={**origin, "component": j},
                        )
                    )
                continue
            band = np.isin(lab, keep)
        out.append(Region(f"{prefix} {b + 1}", colour, mask=band, frame=frame, origin=origin))
    return out


def regions_from_labels(
    labels: np.ndarray,
    frame: Frame,
    prefix: str = "Cluster",
    origin: Mapping[str, Any] | None = None,
    colours: Sequence[tuple[int, int, int]] | None = None,
) -> list[Region]:
    """One mask region per label value k >= 0 of an (ny, nx) int ``labels`` array, named ``prefix k+1``."""
    labels = np.asarray(labels)
    if labels.shape != tuple(frame.shape):
        raise ValueError(f"labels shape {labels.shape} does not match frame shape {tuple(frame.shape)}")
    values = [int(v) for v in np.unique(labels) if v >= 0]
    palette = list(colours) if colours else REGION_COLOURS
    return [
        Region(
            f"{prefix} {v + 1}",
            palette[v % len(palette)],
            mask=labels == v,
            frame=frame,
            origin={**(origin or {}), "label": v},
        )
        for v in values
    ]
