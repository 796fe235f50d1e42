"""Bias-major copies of spectroscopy cubes, for fast constant-bias maps.

A grid channel is stored ``(ny, nx, nb)`` with each spectrum contiguous, so a constant-bias map
``cube[:, :, k]`` gathers one float every ``nb * 4`` bytes. A ``(nb, ny, nx)`` copy makes every map a
contiguous block; it is built once, in row blocks, with progress and cancel.
"""

from __future__ import annotations

import mmap
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from analysis.hooks import check_cancel

#: Largest block of scan lines (bytes) read from the cube at once.
BLOCK_BYTES = 16 << 20


def bias_major_copy(
    cube: Any,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    rows_per_block: int = 64,
    points_per_tile: int = 16,
    file: Any = None,
) -> np.ndarray:
    """(nb, ny, nx) float32 C-contiguous copy of a (ny, nx, nb) cube (array or lazy array-like).

    The cube is read in blocks of scan lines and transposed in tiles of ``points_per_tile`` sweep points,
    which keeps both sides of the copy in cache (about twice as fast as one whole-array transpose).

    With ``file`` (an open binary file, e.g. a ``tempfile.TemporaryFile``) the copy is a ``np.memmap`` of
    that file: every block is written back and its pages released as it is done, so the copy costs disk
    and page cache, not resident memory, and a map read later maps only its own ``ny * nx`` values.
    """
    ny, nx, nb = (int(n) for n in cube.shape)
    if file is not None:
        out: np.ndarray = np.memmap(file, dtype=np.float32, mode="w+", shape=(nb, ny, nx))
    else:
        out = np.empty((nb, ny, nx), dtype=np.float32)
    # a block of scan lines stays small (<= BLOCK_BYTES) however long the lines are
    rows_per_block = max(1, min(rows_per_block, BLOCK_BYTES // max(1, nx * nb * 4)))
    for start in range(0, ny, rows_per_block):
        check_cancel(cancel, "bias-major copy")
        stop = min(ny, start + rows_per_block)
        block = np.asarray(cube[start:stop], dtype=np.float32)  # (rows, nx, nb)
        for b0 in range(0, nb, points_per_tile):
            b1 = min(nb, b0 + points_per_tile)
            out[b0:b1, start:stop, :] = block[:, :, b0:b1].transpose(2, 0, 1)
        if file is not None:
            _release(out)
        if progress is not None:
            progress(stop, ny)
    return out


def _release(mm: Any) -> None:
    """Write a memmap's dirty pages to its file and drop them from this process's resident set."""
    mm.flush()
    raw = getattr(mm, "_mmap", None)
    if raw is not None and hasattr(raw, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        raw.madvise(mmap.MADV_DONTNEED)


def window_mean(cube_bm: np.ndarray, index: int, half_width: int) -> np.ndarray:
    """NaN-aware mean of maps ``index - half_width .. index + half_width`` (clipped) of a (nb, ny, nx)
    cube; returns (ny, nx) float32 (NaN where every map is NaN)."""
    nb = cube_bm.shape[0]
    if not 0 <= index < nb:
        raise IndexError(f"sweep index {index} outside 0..{nb - 1}")
    lo, hi = max(0, index - half_width), min(nb, index + half_width + 1)
    block = cube_bm[lo:hi]
    finite = np.isfinite(block)
    count = finite.sum(axis=0)
    total = np.where(finite, block, 0).sum(axis=0, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out.astype(np.float32)
