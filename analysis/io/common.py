"""Small pieces shared by the file readers: reading a whole file with a clear :class:`ReadError`, and
putting a sweep in ascending order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

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
