"""Lazy grid cubes of a project file: an ``h5py.Dataset`` with a fast path for sweep slices.

A bias slice ``cube[:, :, k]`` of a (ny, nx, nb) cube chunked (32, 32, 64) needs one value from every
1024th of each chunk. HDF5 reads each touched chunk whole through its chunk cache and then gathers; for a
1 GB cube that is 64 MB of copying per slice. :class:`LazyCube` instead maps the file read-only and, for an
uncompressed chunked cube, gathers the requested plane straight from the mapped chunks (their byte
offsets come from HDF5's chunk index, read once when the project opens), so only the pages holding the
plane are touched. Every other
selection, and any cube that is compressed or not fully written, goes through h5py unchanged.
"""

from __future__ import annotations

import mmap
import threading
from typing import Any

import h5py
import numpy as np


class LazyCube(h5py.Dataset):
    """An ``h5py.Dataset`` (it is one) whose ``[:, :, k]``, ``[:, :, k0:k1]`` and ``[iy, ix]`` reads are
    gathered from a read-only memory map of the file when the layout allows it."""

    def __init__(self, bind: Any, path: str) -> None:
        super().__init__(bind)
        self._file_path = path
        self._lock = threading.Lock()
        self._prepared = False
        self._mm: mmap.mmap | None = None
        self._offsets: np.ndarray | None = None

    # ------------------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Read the chunk index and map the file (about 10 ms per GB of cube); done once, when the
        project opens, so that the first slice is as fast as the next ones."""
        with self._lock:
            if not self._prepared:
                self._prepare()

    def _prepare(self) -> None:
        self._prepared = True
        chunks = self.chunks
        if chunks is None or len(self.shape) != 3 or 0 in self.shape:
            return
        if self.compression or self.shuffle or self.fletcher32 or self.scaleoffset is not None:
            return
        if not (self.dtype.isnative and self.dtype.kind in "fiu"):
            return
        grid = tuple(-(-s // c) for s, c in zip(self.shape, chunks))
        offsets = np.full(grid, -1, dtype=np.int64)
        expected_size = int(np.prod(chunks)) * self.dtype.itemsize

        def visit(info: Any) -> None:
            idx = tuple(o // c for o, c in zip(info.chunk_offset, chunks))
            if info.size == expected_size and info.filter_mask == 0:
                offsets[idx] = info.byte_offset

        try:
            self.id.chunk_iter(visit)
        except Exception:
            return
        if np.any(offsets < 0):
            return  # chunks never written (fill values) or stored unexpectedly: use h5py
        try:
            with open(self._file_path, "rb") as fh:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return
        if int(offsets.max()) + expected_size > len(mm):
            mm.close()
            return
        self._mm = mm
        self._offsets = offsets

    def release(self) -> None:
        """Drop the memory map (called when the project closes)."""
        with self._lock:
            if self._mm is not None:
                try:
                    self._mm.close()
                except BufferError:
                    pass
            self._mm = None
            self._offsets = None
            self._prepared = True

    # ------------------------------------------------------------------------------------------------
    def __getitem__(self, args: Any, new_dtype: Any = None) -> Any:
        if new_dtype is None:
            out = self._sweep_slice(args)
            if out is not None:
                return out
        return super().__getitem__(args, new_dtype=new_dtype)

    def _pixel_spectrum(self, args: Any) -> np.ndarray | None:
        """``cube[iy, ix]`` / ``cube[iy, ix, :]``: the (nb,) spectrum gathered from the mapped chunks that
        hold it (a few kB), instead of HDF5 reading each of those chunks whole."""
        if not (isinstance(args, tuple) and len(args) in (2, 3)):
            return None
        iy, ix = args[0], args[1]
        if not (isinstance(iy, int | np.integer) and isinstance(ix, int | np.integer)):
            return None
        if len(args) == 3 and args[2] != slice(None, None, None):
            return None
        ny, nx, nb = self.shape
        iy, ix = int(iy) + (ny if iy < 0 else 0), int(ix) + (nx if ix < 0 else 0)
        if not (0 <= iy < ny and 0 <= ix < nx):
            return None
        with self._lock:
            if not self._prepared:
                self._prepare()
            mm, offsets = self._mm, self._offsets
            if mm is None or offsets is None or not self.id.valid:
                return None
            cy, cx, cz = self.chunks
            out = np.empty(nb, dtype=self.dtype)
            for iz in range(offsets.shape[2]):
                z0 = iz * cz
                n = min(cz, nb - z0)
                chunk = np.ndarray(
                    (cy, cx, cz), dtype=self.dtype, buffer=mm, offset=int(offsets[iy // cy, ix // cx, iz])
                )
                out[z0 : z0 + n] = chunk[iy % cy, ix % cx, :n]
                del chunk
            return out

    def _sweep_slice(self, args: Any) -> np.ndarray | None:
        spectrum = self._pixel_spectrum(args)
        if spectrum is not None:
            return spectrum
        if not (isinstance(args, tuple) and len(args) == 3):
            return None
        a0, a1, a2 = args
        full = slice(None, None, None)
        if a0 != full or a1 != full:
            return None
        ny, nx, nb = self.shape
        if isinstance(a2, int | np.integer):
            k = int(a2) + (nb if a2 < 0 else 0)
            if not 0 <= k < nb:
                return None
            k0, k1, squeeze = k, k + 1, True
        elif isinstance(a2, slice) and a2.step in (None, 1):
            k0, k1, _ = a2.indices(nb)
            if k1 <= k0:
                return None
            squeeze = False
        else:
            return None
        with self._lock:
            if not self._prepared:
                self._prepare()
            mm, offsets = self._mm, self._offsets
            if mm is None or offsets is None or not self.id.valid:
                return None
            cy, cx, cz = self.chunks
            dtype = self.dtype
            out = np.empty((ny, nx) if squeeze else (ny, nx, k1 - k0), dtype=dtype)
            for iz in range(k0 // cz, (k1 - 1) // cz + 1):
                z0 = iz * cz
                a, b = max(k0 - z0, 0), min(k1 - z0, cz)
                for iy in range(offsets.shape[0]):
                    y0 = iy * cy
                    y1 = min(y0 + cy, ny)
                    for ix in range(offsets.shape[1]):
                        x0 = ix * cx
                        x1 = min(x0 + cx, nx)
                        off = int(offsets[iy, ix, iz])
                        chunk = np.ndarray((cy, cx, cz), dtype=dtype, buffer=mm, offset=off)
                        if squeeze:
                            out[y0:y1, x0:x1] = chunk[: y1 - y0, : x1 - x0, a]
                        else:
                            out[y0:y1, x0:x1, z0 + a - k0 : z0 + b - k0] = chunk[: y1 - y0, : x1 - x0, a:b]
                        del chunk
            return out
