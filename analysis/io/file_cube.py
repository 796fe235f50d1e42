"""Arrays kept in an unlinked cache file instead of memory, read and written with positional file I/O.

A large grid cube held as a numpy array costs its full size in resident memory. A :class:`FileCube` keeps
the C-contiguous native float32 values in a temporary file in the user's cache directory (see
:func:`cache_dir`), created already unlinked: the operating system removes it when the file is closed or
the process ends, so nothing is ever left behind and nothing is written into the project folder.

Reads and writes go through ``preadv``/``pwrite`` into numpy buffers (a locked seek and read or write
where the system has no positional I/O); the file is never memory-mapped, so
its pages are page cache, not this process's resident memory, and a read costs only the returned array.
Indexing follows numpy for what the rest of the code uses on grid cubes: an int or a slice on the first
axis, then any numpy index on the rows read (``cube[iy, ix, :]``, ``cube[:, :, k]``, ``cube[a:b]``).
Anything else reads the whole array first (correct, but it costs the array's size for that call).
Assignment takes an int or a unit-step slice on the first axis (the reader writes whole records).
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

#: Largest block (bytes) read or written at once when an index spans many rows.
BLOCK_BYTES = 32 << 20
APP_NAME = "stsworkbench"


def cache_dir() -> Path:
    """The user's cache directory for this application (``$STSWORKBENCH_CACHE_DIR`` overrides it; else
    ``$XDG_CACHE_HOME/stsworkbench`` or ``~/.cache/stsworkbench``, the system temporary folder when that
    cannot be created)."""
    env = os.environ.get("STSWORKBENCH_CACHE_DIR")
    if env:
        base = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / APP_NAME
    try:
        base.mkdir(parents=True, exist_ok=True)
        return base
    except OSError:
        return Path(tempfile.gettempdir())


def temporary_cache_file(prefix: str) -> Any:
    """An open, already unlinked binary file in :func:`cache_dir` (the system temporary folder when the
    cache directory refuses it)."""
    try:
        return tempfile.TemporaryFile(prefix=prefix, dir=cache_dir())
    except OSError:
        return tempfile.TemporaryFile(prefix=prefix)


class FileCube:
    """An N-d native float32 array (C order) stored in an unlinked cache file; see the module docstring.

    ``FileCube.create(shape)`` makes one (uninitialised, reads give zeros until written);
    :meth:`reshape` returns another view of the same file. ``close()`` releases the file (and with it
    the disk space); the garbage collector does the same when the last view is gone.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, file: Any, shape: tuple[int, ...], offset: int = 0, lock: Any = None) -> None:
        self._file = file
        self._lock = lock if lock is not None else threading.Lock()  # shared by the views of one file
        self.shape = tuple(int(n) for n in shape)
        self._offset = int(offset)
        self._row_items = int(np.prod(self.shape[1:], dtype=np.int64)) if len(self.shape) > 1 else 1

    @classmethod
    def create(cls, shape: tuple[int, ...], prefix: str = "stsworkbench-grid-") -> FileCube:
        file = temporary_cache_file(prefix)
        nbytes = int(np.prod(shape, dtype=np.int64)) * 4
        if nbytes:
            os.ftruncate(file.fileno(), nbytes)
        return cls(file, shape)

    # -- array protocol ---------------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * 4

    @property
    def closed(self) -> bool:
        return self._file is None or self._file.closed

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"FileCube(shape={self.shape}, dtype=float32)"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._read_rows(0, self.shape[0])
        return out if dtype is None else out.astype(dtype, copy=False)

    def reshape(self, *shape: Any) -> FileCube:
        """Another view of the same file with ``shape`` (same number of values)."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        if int(np.prod(shape, dtype=np.int64)) != self.size:
            raise ValueError(f"cannot reshape {self.shape} into {shape}")
        return FileCube(self._file, tuple(int(n) for n in shape), self._offset, self._lock)

    def close(self) -> None:
        """Close the cache file (the operating system frees its space); later reads raise ValueError."""
        if self._file is not None:
            self._file.close()

    # -- reading ----------------------------------------------------------------------------------------
    def _pread(self, view: memoryview, pos: int) -> None:
        """Fill ``view`` from byte ``pos`` of the file."""
        fd = self._fd()
        got = 0
        while got < len(view):
            if hasattr(os, "preadv"):
                n = os.preadv(fd, [view[got:]], pos + got)
            else:
                with self._lock:
                    self._file.seek(pos + got)
                    n = self._file.readinto(view[got:])
            if not n:
                raise OSError(f"cache file ended early ({got} of {len(view)} bytes read)")
            got += n

    def _pwrite(self, view: memoryview, pos: int) -> None:
        fd = self._fd()
        done = 0
        while done < len(view):
            if hasattr(os, "pwrite"):
                done += os.pwrite(fd, view[done:], pos + done)
            else:
                with self._lock:
                    self._file.seek(pos + done)
                    done += self._file.write(view[done:])

    def _fd(self) -> int:
        if self.closed:
            raise ValueError("the cache file of this array is closed")
        return self._file.fileno()

    def _read_rows(self, r0: int, r1: int) -> np.ndarray:
        """Rows ``r0:r1`` of the first axis as a new native array."""
        out = np.empty((r1 - r0, *self.shape[1:]), dtype=np.float32)
        if out.size == 0:
            return out
        self._pread(memoryview(out.reshape(-1)).cast("B"), self._offset + r0 * self._row_items * 4)
        return out

    def _read_item(self, i: int, j: int, rest: tuple) -> Any:
        """``self[i, j][rest]`` reading only the values of ``[i, j]``."""
        n1 = self.shape[1]
        j += n1 if j < 0 else 0
        if not 0 <= j < n1:
            raise IndexError(f"index {j} is out of bounds for axis 1 with size {n1}")
        inner = self.shape[2:]
        count = int(np.prod(inner, dtype=np.int64)) if inner else 1
        out = np.empty(inner, dtype=np.float32)
        self._pread(
            memoryview(out.reshape(-1)).cast("B"), self._offset + (i * self._row_items + j * count) * 4
        )
        return out[rest] if rest else out

    def _rows_per_block(self) -> int:
        return max(1, BLOCK_BYTES // max(1, self._row_items * 4))

    def __getitem__(self, key: Any) -> Any:
        key = key if isinstance(key, tuple) else (key,)
        if not key:
            return self._read_rows(0, self.shape[0])
        first, rest = key[0], key[1:]
        if any(k is Ellipsis or k is None for k in key) or not self.shape:
            return np.asarray(self)[key]
        n0 = self.shape[0]
        if isinstance(first, int | np.integer):
            i = int(first) + (n0 if first < 0 else 0)
            if not 0 <= i < n0:
                raise IndexError(f"index {int(first)} is out of bounds for axis 0 with size {n0}")
            if rest and self.ndim >= 2 and isinstance(rest[0], int | np.integer):
                return self._read_item(i, int(rest[0]), rest[1:])  # one spectrum: read only its values
            row = self._read_rows(i, i + 1)[0]
            return row[rest] if rest else row
        if not isinstance(first, slice):
            return np.asarray(self)[key]
        start, stop, step = first.indices(n0)
        rows = range(start, stop, step)
        if len(rows) == 0:
            return np.empty((0, *self.shape[1:]), np.float32)[(slice(None), *rest)]
        lo, hi = min(rows[0], rows[-1]), max(rows[0], rows[-1]) + 1
        per = self._rows_per_block()
        if not rest and step == 1 and hi - lo <= per:
            return self._read_rows(lo, hi)
        # read in blocks of whole rows, keep the selected rows and apply the rest of the index to them
        parts = []
        for b0 in range(lo, hi, per * abs(step) if abs(step) > 1 else per):
            b1 = min(hi, b0 + (per * abs(step) if abs(step) > 1 else per))
            block = self._read_rows(b0, b1)
            sel = [r - b0 for r in rows if b0 <= r < b1]
            if step == 1:
                picked = block[sel[0] : sel[-1] + 1]
            else:
                picked = block[np.asarray(sorted(sel), dtype=np.intp)]
            parts.append(np.ascontiguousarray(picked[(slice(None), *rest)]) if rest else picked)
        out = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
        return out[::-1] if step < 0 else out

    # -- writing ----------------------------------------------------------------------------------------
    def __setitem__(self, key: Any, value: Any) -> None:
        key = key if isinstance(key, tuple) else (key,)
        first, rest = key[0], key[1:]
        if any(not (isinstance(k, slice) and k == slice(None)) for k in rest):
            raise IndexError("a FileCube is written by whole rows of its first axis")
        n0 = self.shape[0]
        if isinstance(first, int | np.integer):
            i = int(first) + (n0 if first < 0 else 0)
            if not 0 <= i < n0:
                raise IndexError(f"index {int(first)} is out of bounds for axis 0 with size {n0}")
            r0, r1 = i, i + 1
        elif isinstance(first, slice):
            r0, r1, step = first.indices(n0)
            if step != 1:
                raise IndexError("a FileCube is written through unit-step slices only")
            r1 = max(r0, r1)
        else:
            raise IndexError("a FileCube is written through an int or a slice of its first axis")
        full = np.broadcast_to(np.asarray(value, dtype=np.float32), (r1 - r0, *self.shape[1:]))
        per = self._rows_per_block()  # a scalar (NaN for unmeasured lines) is written block by block
        for b0 in range(r0, r1, per):
            b1 = min(r1, b0 + per)
            data = np.ascontiguousarray(full[b0 - r0 : b1 - r0])
            if data.size:
                self._pwrite(memoryview(data.reshape(-1)).cast("B"), self._offset + b0 * self._row_items * 4)
