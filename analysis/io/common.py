"""Small pieces shared by the file readers: reading a whole file with a clear :class:`ReadError`,
putting a sweep in ascending order, and checking an HDF5 array's declared size against the bytes stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from analysis.errors import ReadError


def read_file_bytes(
    path: Path, max_bytes: int | None = None, too_large: Callable[[int], str] | None = None
) -> bytes:
    """The whole content of ``path``.

    With ``max_bytes``, a larger file is refused before it is read, with the message ``too_large(size)``;
    a file that cannot be opened or read gives ``ReadError("cannot read file: ...")``.
    """
    try:
        if max_bytes is not None:
            size = path.stat().st_size
            if size > max_bytes:
                msg = too_large(size) if too_large is not None else f"file of {size} bytes is too large"
                raise ReadError(path, msg)
        return path.read_bytes()
    except OSError as exc:
        raise ReadError(path, f"cannot read file: {exc.strerror or exc}") from None


def ascending_sweep(
    x: np.ndarray, channels: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray], bool]:
    """``x`` (n,) and every (n,) channel reversed when the sweep runs downwards (``x[-1] < x[0]``).

    Returns ``(x, channels, reversed)``; the channels come back as C-contiguous float64 arrays.
    """
    reversed_ = False
    if x.size >= 2 and x[-1] < x[0]:
        x = x[::-1].copy()
        channels = {k: v[::-1] for k, v in channels.items()}
        reversed_ = True
    out = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in channels.items()}
    return x, out, reversed_


def strictly_monotonic(a: np.ndarray) -> bool:
    """Whether the finite values ``a`` (n,) rise or fall strictly (a sweep axis); False for n < 2 or NaN."""
    if a.size < 2 or not np.all(np.isfinite(a)):
        return False
    d = np.diff(a)
    return bool(np.all(d > 0) or np.all(d < 0))


#: A filtered (compressed) HDF5 array may not claim more than this many times the bytes it stores (zlib's
#: own limit is about 1032), plus :data:`EXPANSION_SLACK`.
MAX_EXPANSION = 1100
EXPANSION_SLACK = 1 << 20


def hdf5_size_problem(d: Any) -> str | None:
    """None when the ``h5py.Dataset`` ``d`` stores the bytes its shape declares (or, compressed, could
    expand to them); else a sentence saying how many it declares and stores. Reading a damaged array
    whose header declares gigabytes would otherwise allocate them (filled with the fill value)."""
    if d.shape is None or d.dtype.kind == "O":
        return None
    declared = math.prod(int(n) for n in d.shape) * d.dtype.itemsize
    if declared == 0:
        return None
    stored = int(d.id.get_storage_size())
    filtered = d.id.get_create_plist().get_nfilters() > 0
    if (not filtered and stored < declared) or (
        filtered and declared > MAX_EXPANSION * stored + EXPANSION_SLACK
    ):
        shape = " x ".join(str(int(n)) for n in d.shape)
        return f"declares {declared} bytes ({shape}) but the file stores {stored}"
    return None
