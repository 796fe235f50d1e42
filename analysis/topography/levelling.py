"""Levelling of height maps: polynomial backgrounds, masks, line levelling, terraces and scars.

Every function takes a (ny, nx) height map ``z`` (metres, any float dtype) and returns new float64 arrays;
``z`` is never modified. NaN pixels are ignored by the fits and stay NaN. ``mask`` arguments are (ny, nx)
booleans, True where a pixel is *used* by a fit (the levelled result still covers every pixel).

Polynomial backgrounds use products of Legendre polynomials ``P_i(u) P_j(v)`` with ``i + j <= order`` on
pixel coordinates scaled to [-1, 1]; that spans the same space as the monomials ``x^i y^j`` but keeps the
least-squares problem well conditioned up to order 5. On a full grid the normal equations are assembled
from separable moments (``V_y^T (w z) V_x``) in O(ny nx (order + 1)) operations without building the
(ny nx, n_terms) design matrix.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.polynomial import legendre
from scipy import ndimage

from analysis.errors import WorkbenchError

MAX_ORDER = 5
LINE_METHODS = ("median", "median_diff", "poly")


class LevellingError(WorkbenchError):
    """A levelling could not be done with the given parameters (too few pixels, bad order, ...)."""


def _as_height(z: Any) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 1 or z.shape[1] < 1:
        raise LevellingError(f"a height map must be a 2D array (got shape {z.shape})")
    return z


def _usable(z: np.ndarray, mask: Any) -> np.ndarray:
    m = np.isfinite(z)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != z.shape:
            raise LevellingError(f"the mask has shape {mask.shape}, the image {z.shape}")
        m &= mask
    return m


def _check_order(order: int) -> int:
    order = int(order)
    if not 0 <= order <= MAX_ORDER:
        raise LevellingError(f"the polynomial order must be between 0 and {MAX_ORDER} (got {order})")
    return order


def poly_terms(order: int) -> list[tuple[int, int]]:
    """The (i, j) exponents of ``P_i(u) P_j(v)`` with ``i + j <= order`` (u along x, v along y)."""
    return [(i, d - i) for d in range(order + 1) for i in range(d, -1, -1)]


def _scaled(n: int) -> np.ndarray:
    """Pixel indices 0..n-1 mapped to [-1, 1] (a single pixel sits at 0)."""
    return np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)


def _vanders(shape: tuple[int, int], degree: int) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape
    return legendre.legvander(_scaled(ny), degree), legendre.legvander(_scaled(nx), degree)


def polynomial_background(z: Any, order: int = 1, mask: Any = None) -> np.ndarray:
    """The least-squares polynomial surface of total degree ``order`` (0-5) fitted to the usable pixels.

    ``z`` (ny, nx) metres; ``mask`` (ny, nx) bool, True where a pixel takes part in the fit. Returns the
    (ny, nx) float64 background, defined everywhere. Raises :class:`LevellingError` when fewer usable
    pixels than terms remain.
    """
    z = _as_height(z)
    order = _check_order(order)
    coef = _poly_coefficients(z, order, _usable(z, mask))
    return _poly_eval(coef, z.shape, order)


def _poly_coefficients(z: np.ndarray, order: int, m: np.ndarray) -> np.ndarray:
    terms = poly_terms(order)
    n_used = int(m.sum())
    if n_used < len(terms):
        raise LevellingError(
            f"a polynomial of order {order} needs at least {len(terms)} usable pixels (found {n_used})"
        )
    vy, vx = _vanders(z.shape, order)
    w = m.astype(np.float64)
    wz = np.where(m, z, 0.0)
    # Gram[a, b] = sum_pixels w P_ia(u) P_ib(u) P_ja(v) P_jb(v): the products of the 1D bases are
    # (ny, k*k) and (nx, k*k) tables, so the sum over pixels is one matrix product and one row-wise dot.
    k = len(terms)
    vy1, vx1 = vy[:, : order + 1], vx[:, : order + 1]
    py = np.stack([vy1[:, ja] * vy1[:, jb] for (_, ja) in terms for (_, jb) in terms], axis=1)
    px = np.stack([vx1[:, ia] * vx1[:, ib] for (ia, _) in terms for (ib, _) in terms], axis=1)
    # Gram[a, b] = sum_y sum_x py[y, ab] w[y, x] px[x, ab]
    if m.all():
        gram = (py.sum(axis=0) * px.sum(axis=0)).reshape(k, k)
    else:
        gram = np.einsum("ya,ya->a", py, w @ px).reshape(k, k)
    rhs_full = vy1.T @ wz @ vx1  # (order+1, order+1): sum w z P_j(v) P_i(u)
    rhs = np.array([rhs_full[j, i] for (i, j) in terms])
    coef, *_ = np.linalg.lstsq(gram, rhs, rcond=None)
    return coef


def _poly_eval(coef: np.ndarray, shape: tuple[int, int], order: int) -> np.ndarray:
    vy, vx = _vanders(shape, order)
    c = np.zeros((order + 1, order + 1))
    for (i, j), a in zip(poly_terms(order), coef, strict=True):
        c[j, i] = a
    return vy @ c @ vx.T


def plane_level(z: Any, order: int = 1, mask: Any = None) -> np.ndarray:
    """``z`` minus its polynomial background of total degree ``order`` (see :func:`polynomial_background`)."""
    z = _as_height(z)
    return z - polynomial_background(z, order, mask)


def band_mask(z: Any, lo: float, hi: float, exclude: bool = True) -> np.ndarray:
    """(ny, nx) bool fit mask from a height band [lo, hi] (metres): the band is left out of the fit when
    ``exclude`` (e.g. adsorbates above a height), else only the band is used. NaN pixels are False."""
    z = _as_height(z)
    if not hi >= lo:
        raise LevellingError(f"the height band needs lo <= hi (got {lo:g} .. {hi:g})")
    inside = (z >= lo) & (z <= hi)
    return np.isfinite(z) & (~inside if exclude else inside)


def exclusion_mask(shape: tuple[int, int], regions: Any) -> np.ndarray:
    """Fit mask (True = used) from a sequence of (ny, nx) boolean region masks to leave out."""
    m = np.ones(shape, dtype=bool)
    for r in regions:
        r = np.asarray(r, dtype=bool)
        if r.shape != tuple(shape):
            raise LevellingError(f"a region mask has shape {r.shape}, the image {tuple(shape)}")
        m &= ~r
    return m


# -- line levelling -----------------------------------------------------------------------------------
def line_offsets(z: Any, method: str = "median", order: int = 1, mask: Any = None) -> np.ndarray:
    """Per scan line correction (ny, nx) that :func:`line_level` subtracts.

    ``"median"``: each line's median; ``"median_diff"``: cumulative sum of the median differences between
    neighbouring lines (keeps the slow vertical shape, removes jumps), referred to the image median;
    ``"poly"``: each line's least-squares polynomial of degree ``order`` (0-5) along x. Lines without
    usable pixels get no correction (median_diff: they inherit the previous offset).
    """
    z = _as_height(z)
    m = _usable(z, mask)
    ny, nx = z.shape
    if method == "median":
        zm = np.where(m, z, np.nan)
        with np.errstate(all="ignore"), _quiet():
            med = np.nanmedian(zm, axis=1)
        return np.broadcast_to(np.nan_to_num(med, nan=0.0)[:, None], z.shape).copy()
    if method == "median_diff":
        both = m[1:] & m[:-1]
        d = np.where(both, z[1:] - z[:-1], np.nan)
        with np.errstate(all="ignore"), _quiet():
            step = np.nanmedian(d, axis=1)
        step = np.nan_to_num(step, nan=0.0)
        off = np.concatenate([[0.0], np.cumsum(step)])
        level = z - off[:, None]
        with _quiet():
            ref = np.nanmedian(np.where(m, level, np.nan)) if m.any() else 0.0
        return np.broadcast_to((off + ref)[:, None], z.shape).copy()
    if method == "poly":
        order = _check_order(order)
        v = legendre.legvander(_scaled(nx), order)  # (nx, k)
        w = m.astype(np.float64)
        wz = np.where(m, z, 0.0)
        rhs = wz @ v  # (ny, k)
        counts = m.sum(axis=1)
        if m.all() and nx > order:  # every line has the same normal matrix
            return np.linalg.solve(v.T @ v, rhs.T).T @ v.T
        gram = np.einsum("yx,xa,xb->yab", w, v, v)  # (ny, k, k)
        ok = counts > order
        coef = np.zeros((ny, order + 1))
        if ok.any():
            coef[ok] = np.linalg.solve(gram[ok], rhs[ok][..., None])[..., 0]
        few = (~ok) & (counts > 0)  # too few points for the degree: the line's mean
        coef[few, 0] = rhs[few, 0] / np.maximum(counts[few], 1)
        return coef @ v.T
    raise LevellingError(f"unknown line levelling {method!r}; choose one of {', '.join(LINE_METHODS)}")


def line_level(z: Any, method: str = "median", order: int = 1, mask: Any = None) -> np.ndarray:
    """``z`` minus :func:`line_offsets` (each scan line corrected on its own)."""
    z = _as_height(z)
    return z - line_offsets(z, method, order, mask)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silences numpy's 'All-NaN slice' warnings of nanmedian (lines without usable pixels are expected)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# -- terraces -----------------------------------------------------------------------------------------
@dataclass
class TerraceResult:
    """Outcome of :func:`terrace_level`.

    ``levelled`` (ny, nx) metres: ``z`` minus the shared polynomial background, so terraces are flat and
    steps keep their heights, the lowest terrace at 0. ``labels`` (ny, nx) int: terrace index 0..n-1 by
    rising height, -1 on edges and unassigned pixels. ``offsets`` (n,) metres: each terrace's height above
    the lowest. ``background`` (ny, nx) metres.
    """

    levelled: np.ndarray
    labels: np.ndarray
    offsets: np.ndarray
    background: np.ndarray
    parameters: dict[str, Any] = field(default_factory=dict)

    def step_heights(self) -> np.ndarray:
        """Height differences (metres) between consecutive terraces, sorted by height."""
        return np.diff(self.offsets)


def segment_terraces(
    z: Any, smoothing: float = 1.0, threshold: float = 4.0, min_area: int | None = None, mask: Any = None
) -> np.ndarray:
    """Label the flat terraces of a stepped surface: (ny, nx) int, 0..n-1, -1 on step edges and tiny areas.

    The surface is smoothed with a Gaussian of ``smoothing`` pixels; a pixel is an edge when its gradient,
    less the median gradient (the tilt), exceeds ``threshold`` robust standard deviations of that gradient.
    Connected non-edge areas of at least ``min_area`` pixels (default 0.2 % of the image, at least 20) are
    terraces.
    """
    z = _as_height(z)
    m = _usable(z, mask)
    filled = np.where(m, z, np.nanmedian(np.where(m, z, np.nan)) if m.any() else 0.0)
    zs = ndimage.gaussian_filter(filled, smoothing) if smoothing > 0 else filled
    gy, gx = np.gradient(zs)
    gx = gx - np.median(gx[m]) if m.any() else gx
    gy = gy - np.median(gy[m]) if m.any() else gy
    g = np.hypot(gx, gy)
    gm = g[m] if m.any() else g.ravel()
    med = float(np.median(gm))
    mad = float(np.median(np.abs(gm - med))) * 1.4826
    edge = g > med + threshold * max(mad, 1e-300)
    edge = ndimage.binary_dilation(edge, iterations=1) | ~m
    lab, n = ndimage.label(~edge)
    if min_area is None:
        min_area = max(20, int(0.002 * z.size))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    keep = np.nonzero(sizes >= min_area)[0]
    keep = keep[keep > 0]
    remap = np.full(n + 1, -1, dtype=np.int64)
    remap[keep] = np.arange(keep.size)
    return remap[lab]


def terrace_level(
    z: Any,
    order: int = 1,
    labels: Any = None,
    mask: Any = None,
    max_pixels: int = 500_000,
    **segment: Any,
) -> TerraceResult:
    """Level a stepped surface: one polynomial background of degree ``order`` (1-5) shared by all
    terraces plus a free height offset per terrace, fitted by least squares on the terrace pixels.

    ``labels`` (ny, nx) int (from :func:`segment_terraces`, which is called with ``segment`` keyword
    arguments when not given). At most ``max_pixels`` evenly strided terrace pixels enter the fit. The
    terrace offsets then measure the step heights directly.
    """
    z = _as_height(z)
    order = _check_order(order)
    if order < 1:
        raise LevellingError("terrace levelling needs a polynomial order of 1 or more")
    if labels is None:
        labels = segment_terraces(z, mask=mask, **segment)
    labels = np.asarray(labels)
    if labels.shape != z.shape:
        raise LevellingError(f"the terrace labels have shape {labels.shape}, the image {z.shape}")
    m = _usable(z, mask) & (labels >= 0)
    n_ter = int(labels.max()) + 1 if (labels >= 0).any() else 0
    if n_ter < 1:
        raise LevellingError("no terrace found; lower the edge threshold or the minimum area")
    iy, ix = np.nonzero(m)
    stride = max(1, int(np.ceil(iy.size / max_pixels)))
    iy, ix = iy[::stride], ix[::stride]
    terms = poly_terms(order)[1:]  # the constant is carried by the terrace offsets
    vy, vx = _vanders(z.shape, order)
    cols = [vx[ix, i] * vy[iy, j] for (i, j) in terms]
    lab = labels[iy, ix]
    design = np.column_stack([*cols, *(lab == t for t in range(n_ter))]).astype(np.float64)
    counts = np.bincount(lab, minlength=n_ter)
    if (counts == 0).any() or design.shape[0] <= design.shape[1]:
        raise LevellingError("too few terrace pixels for the fit")
    coef, *_ = np.linalg.lstsq(design, z[iy, ix], rcond=None)
    c = np.zeros((order + 1, order + 1))
    for (i, j), a in zip(terms, coef[: len(terms)], strict=True):
        c[j, i] = a
    background = vy @ c @ vx.T
    offsets = coef[len(terms) :]
    rank = np.argsort(offsets)
    base = offsets[rank[0]]
    relabel = np.full(n_ter + 1, -1, dtype=np.int64)
    relabel[rank] = np.arange(n_ter)
    new_labels = np.where(labels >= 0, relabel[np.clip(labels, 0, n_ter)], -1)
    return TerraceResult(
        levelled=z - background - base,
        labels=new_labels,
        offsets=np.sort(offsets) - base,
        background=background + base,
        parameters={"order": order, "terraces": n_ter},
    )


# -- scars --------------------------------------------------------------------------------------------
def find_scars(
    z: Any, threshold: float = 4.0, min_length: int = 4, max_rows: int = 2, mask: Any = None
) -> np.ndarray:
    """(ny, nx) bool: pixels of scars, short stretches of one scan line (or ``max_rows`` adjacent lines)
    that jump away from the lines on both sides by more than ``threshold`` robust standard deviations of
    the line-to-line differences, in the same direction, over at least ``min_length`` pixels."""
    z = _as_height(z)
    ny, nx = z.shape
    m = _usable(z, mask)
    out = np.zeros(z.shape, dtype=bool)
    if ny < 3:
        return out
    d = np.diff(z, axis=0)
    dv = d[np.isfinite(d) & m[1:] & m[:-1]]
    if dv.size == 0:
        return out
    sigma = 1.4826 * float(np.median(np.abs(dv - np.median(dv))))
    thr = threshold * max(sigma, 1e-300)
    for t in range(1, max(1, int(max_rows)) + 1):
        if ny < t + 2:
            break
        lo = z[: ny - t - 1]  # line below the block
        hi = z[t + 1 :]  # line above the block
        block = np.stack([z[k : ny - t - 1 + k] for k in range(1, t + 1)])  # (t, ny-t-1, nx)
        up = np.all((block - lo > thr) & (block - hi > thr), axis=0)
        down = np.all((lo - block > thr) & (hi - block > thr), axis=0)
        cand = up | down
        # keep runs of at least min_length along each line
        if min_length > 1:
            cand = ndimage.binary_opening(cand, structure=np.ones((1, int(min_length)), bool))
        for k in range(1, t + 1):
            out[k : ny - t - 1 + k] |= cand
    return out & m


def remove_scars(
    z: Any, threshold: float = 4.0, min_length: int = 4, max_rows: int = 2, mask: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Repair scars (see :func:`find_scars`): each scar pixel is replaced by linear interpolation along
    its column between the nearest non-scar pixels below and above. Returns (repaired (ny, nx) metres,
    scar mask (ny, nx) bool)."""
    z = _as_height(z)
    scars = find_scars(z, threshold, min_length, max_rows, mask)
    out = z.copy()
    if not scars.any():
        return out, scars
    ny = z.shape[0]
    rows = np.arange(ny, dtype=np.float64)
    for ix in np.nonzero(scars.any(axis=0))[0]:
        col = scars[:, ix]
        good = ~col & np.isfinite(z[:, ix])
        if good.sum() < 2:
            continue
        out[col, ix] = np.interp(rows[col], rows[good], z[good, ix])
    return out, scars


# -- one levelling step as a description ---------------------------------------------------------------
OPERATIONS = ("plane", "line", "terrace", "scars")


@dataclass(frozen=True)
class LevelSpec:
    """One levelling operation with its parameters.

    ``operation``: ``"plane"`` (polynomial of ``order``), ``"line"`` (``line_method`` of
    :data:`LINE_METHODS`, polynomial ``order`` for ``"poly"``), ``"terrace"`` (shared polynomial of
    ``order`` with per-terrace offsets) or ``"scars"`` (``threshold`` robust sigmas, ``min_length`` px).
    ``band`` (lo, hi) metres: a height band left out of the fit (``band_exclude``) or the only part used.
    """

    operation: str = "plane"
    order: int = 1
    line_method: str = "median"
    band: tuple[float, float] | None = None
    band_exclude: bool = True
    threshold: float = 4.0
    min_length: int = 4

    def describe(self, masked_regions: bool = False) -> str:
        if self.operation == "plane":
            text = "plane" if self.order == 1 else f"polynomial order {self.order}"
        elif self.operation == "line":
            text = {"median": "line median", "median_diff": "line median of differences"}.get(
                self.line_method, f"line polynomial order {self.order}"
            )
        elif self.operation == "terrace":
            text = f"terraces, order {self.order}"
        else:
            text = f"scars > {self.threshold:g} sigma"
        extras = []
        if masked_regions:
            extras.append("regions excluded")
        if self.band is not None:
            lo, hi = (v * 1e9 for v in self.band)
            extras.append(f"{'without' if self.band_exclude else 'only'} {lo:.3g}..{hi:.3g} nm")
        return f"{text}, {', '.join(extras)}" if extras else text

    def parameters(self) -> dict[str, Any]:
        p: dict[str, Any] = {"operation": self.operation}
        if self.operation in ("plane", "terrace") or (
            self.operation == "line" and self.line_method == "poly"
        ):
            p["order"] = self.order
        if self.operation == "line":
            p["line_method"] = self.line_method
        if self.operation == "scars":
            p.update(threshold=self.threshold, min_length=self.min_length)
        if self.band is not None:
            p.update(band=[float(self.band[0]), float(self.band[1])], band_exclude=self.band_exclude)
        return p


def fit_mask(z: Any, spec: LevelSpec, exclude: Any = None) -> np.ndarray | None:
    """The (ny, nx) fit mask of ``spec`` on ``z``: the height band and the ``exclude`` mask (True = left
    out, e.g. the union of the user's regions) combined; None when nothing is masked."""
    z = _as_height(z)
    m = None
    if spec.band is not None:
        m = band_mask(z, spec.band[0], spec.band[1], spec.band_exclude)
    if exclude is not None:
        ex = np.asarray(exclude, dtype=bool)
        if ex.shape != z.shape:
            raise LevellingError(f"the excluded area has shape {ex.shape}, the image {z.shape}")
        m = ~ex if m is None else (m & ~ex)
    if m is not None and not m.any():
        raise LevellingError("the mask leaves no pixel for the fit")
    return m


def apply(z: Any, spec: LevelSpec, exclude: Any = None) -> np.ndarray:
    """``z`` (ny, nx) metres levelled by ``spec``; ``exclude`` (ny, nx) bool pixels are left out of fits."""
    z = _as_height(z)
    m = fit_mask(z, spec, exclude)
    if spec.operation == "plane":
        return plane_level(z, spec.order, m)
    if spec.operation == "line":
        return line_level(z, spec.line_method, spec.order, m)
    if spec.operation == "terrace":
        return terrace_level(z, max(1, spec.order), mask=m).levelled
    if spec.operation == "scars":
        return remove_scars(z, spec.threshold, spec.min_length, mask=m)[0]
    raise LevellingError(f"unknown levelling {spec.operation!r}; choose one of {', '.join(OPERATIONS)}")
