"""Region-averaged spectra: mean, standard deviation and pixel counts over a mask of a grid.

The cube is ``(ny, nx, nb)`` (float32, C-contiguous, or a lazy array-like such as an ``h5py.Dataset``).
A pixel is *invalid* when the grid's ``valid`` flag is False there or its spectrum holds any non-finite
value; invalid pixels are excluded from the statistics and counted.

For an in-memory cube the masked rows of the ``(ny * nx, nb)`` view are gathered in small blocks that stay
in cache, shifted by a reference spectrum (the first valid row), summed in the data's precision and
accumulated in float64: one pass, and the mean and standard deviation agree with a float64 two-pass
computation to ~1e-7 of the spread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from analysis.errors import WorkbenchError

_CHUNK_ROWS = 64  # spectra gathered and summed per block


class RegionAverage(NamedTuple):
    """Result of :func:`region_average`.

    mean, std : (nb,) float64 in the channel's unit (NaN when no pixel was used).
    n_used : pixels averaged.  n_invalid : pixels of the mask excluded as invalid (NaN or flagged).
    """

    mean: np.ndarray
    std: np.ndarray
    n_used: int
    n_invalid: int


class _Acc:
    """Sums and sums of squares of rows shifted by a reference spectrum.

    Each block (at most :data:`_CHUNK_ROWS` rows) is summed in the data's own float precision, then added
    to float64 totals; with the shift the rounding error stays ~1e-7 of the spread, not of the level.
    """

    def __init__(self, nb: int) -> None:
        self.ref: np.ndarray | None = None
        self.s = np.zeros(nb, dtype=np.float64)
        self.ss = np.zeros(nb, dtype=np.float64)
        self.n = 0

    def add(self, rows: np.ndarray) -> int:
        """Add the finite rows of a (m, nb) block; return how many rows were rejected as non-finite."""
        if rows.shape[0] == 0:
            return 0
        if rows.dtype.kind != "f":
            rows = rows.astype(np.float64)
        elif not rows.flags.writeable or not rows.flags.owndata:
            rows = rows.copy()
        if self.ref is None:
            good = np.isfinite(rows).all(axis=1)
            if not good.any():
                return int(rows.shape[0])
            self.ref = rows[int(np.argmax(good))].copy()
        d = rows
        d -= self.ref.astype(d.dtype, copy=False)
        block_sum = d.sum(axis=0)
        rejected = 0
        if not np.isfinite(block_sum).all():
            good = np.isfinite(d).all(axis=1)
            rejected = int(rows.shape[0] - np.count_nonzero(good))
            d = d[good]
            block_sum = d.sum(axis=0)
        self.s += block_sum
        self.ss += np.einsum("ij,ij->j", d, d)
        self.n += d.shape[0]
        return rejected

    def result(self, ddof: int) -> tuple[np.ndarray, np.ndarray]:
        nb = self.s.shape[0]
        if self.n == 0 or self.ref is None:
            nan = np.full(nb, np.nan)
            return nan, nan.copy()
        m = self.s / self.n
        var = np.maximum(self.ss / self.n - m * m, 0.0)
        if ddof:
            var = var * self.n / (self.n - ddof) if self.n > ddof else np.full(nb, np.nan)
        return self.ref.astype(np.float64) + m, np.sqrt(var)


def region_average(
    cube: Any,
    mask: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    ddof: int = 0,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> RegionAverage:
    """Mean and standard deviation spectra of ``cube`` over the pixels where ``mask`` is True.

    Parameters
    ----------
    cube : (ny, nx, nb) array (float32 normally) or lazy array-like with basic slicing.
    mask : (ny, nx) bool, the region.
    valid : optional (ny, nx) bool; pixels flagged False are excluded and counted as invalid.
    ddof : delta degrees of freedom of the standard deviation (0: population, as ``np.std``).

    Returns
    -------
    RegionAverage(mean (nb,), std (nb,), n_used, n_invalid)
    """
    shape = tuple(int(s) for s in cube.shape)
    if len(shape) != 3:
        raise ValueError(f"expected an (ny, nx, nb) cube, got shape {shape}")
    ny, nx, nb = shape
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (ny, nx):
        raise ValueError(f"mask shape {mask.shape} does not match the cube's pixels {(ny, nx)}")
    sel = mask
    n_flagged = 0
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != (ny, nx):
            raise ValueError(f"valid shape {valid.shape} does not match the cube's pixels {(ny, nx)}")
        sel = mask & valid
        n_flagged = int(np.count_nonzero(mask)) - int(np.count_nonzero(sel))
    acc = _Acc(nb)
    rejected = 0
    if isinstance(cube, np.ndarray):
        flat = cube.reshape(ny * nx, nb)
        idx = np.flatnonzero(sel)
        step = _CHUNK_ROWS
        total = idx.size
        for start in range(0, total, step):
            if cancel is not None and cancel.is_set():
                raise WorkbenchError("region average cancelled")
            rows = np.take(flat, idx[start : start + step], axis=0)
            rejected += acc.add(rows)
            done = min(start + step, total)
            if progress is not None and (done == total or (start // step) % 256 == 0):
                progress(done, total)
    else:
        rows_any = np.flatnonzero(sel.any(axis=1))
        cols_any = np.flatnonzero(sel.any(axis=0))
        if rows_any.size:
            x0, x1 = int(cols_any[0]), int(cols_any[-1]) + 1
            block_rows = max(1, 16)
            y_lo, y_hi = int(rows_any[0]), int(rows_any[-1]) + 1
            for y0 in range(y_lo, y_hi, block_rows):
                if cancel is not None and cancel.is_set():
                    raise WorkbenchError("region average cancelled")
                y1 = min(y0 + block_rows, y_hi)
                block = np.asarray(cube[y0:y1, x0:x1, :])
                m = sel[y0:y1, x0:x1]
                rejected += acc.add(block[m])
                if progress is not None:
                    progress(y1 - y_lo, y_hi - y_lo)
    mean, std = acc.result(ddof)
    return RegionAverage(mean, std, acc.n, n_flagged + rejected)


def region_averages(
    cube: Any,
    masks: dict[str, np.ndarray],
    valid: np.ndarray | None = None,
    *,
    ddof: int = 0,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, RegionAverage]:
    """:func:`region_average` for several named masks of one cube."""
    out: dict[str, RegionAverage] = {}
    for i, (key, m) in enumerate(masks.items()):
        out[key] = region_average(cube, m, valid, ddof=ddof, cancel=cancel)
        if progress is not None:
            progress(i + 1, len(masks))
    return out
