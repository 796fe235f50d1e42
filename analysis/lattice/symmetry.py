"""Symmetrisation of Fourier maps to the point group of the lattice.

A map ``m(q)`` on the centred reciprocal grid (``qx (nx,)``, ``qy (ny,)`` in 1/m, q = 0 at pixel
``(ny // 2, nx // 2)``) is replaced by the mean of its images under the group's operations, each evaluated
at physical ``q`` (so non-square reciprocal pixels are handled) by bilinear interpolation:

* ``"c2"``, ``"c4"``, ``"c6"``: rotations by multiples of 360/n degrees about q = 0;
* ``"mirror"``: reflection about the axis along a lattice direction (default the first Bragg vector);
* ``"c4m"``, ``"c6m"``: the rotations and the mirror together (the full square or hexagonal point group).

Points whose rotated images fall outside the map average over the images that fall inside.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from analysis.hooks import check_cancel
from analysis.lattice.fft import LatticeError

SYMMETRIES = ("c2", "c4", "c6", "mirror", "c4m", "c6m")


def _operations(kind: str, axis_angle: float) -> list[np.ndarray]:
    """2x2 matrices of the group ``kind``; mirrors reflect about the direction at ``axis_angle`` rad."""
    key = kind.lower()
    if key not in SYMMETRIES:
        raise LatticeError(f"unknown symmetry {kind!r}; expected one of {', '.join(SYMMETRIES)}")
    n = {"c2": 2, "c4": 4, "c6": 6, "mirror": 1, "c4m": 4, "c6m": 6}[key]
    mats = []
    for k in range(n):
        t = 2 * math.pi * k / n
        mats.append(np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]]))
    if key in ("mirror", "c4m", "c6m"):
        c, s = math.cos(2 * axis_angle), math.sin(2 * axis_angle)
        ref = np.array([[c, s], [s, -c]])
        mats += [ref @ m for m in mats]
    return mats


def symmetrise(
    data: np.ndarray,
    qx: np.ndarray,
    qy: np.ndarray,
    kind: str,
    axis: tuple[float, float] | np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """Symmetrised copy of a Fourier map ``(ny, nx)`` or stack ``(ny, nx, nb)`` (real values).

    ``axis`` is a vector (e.g. a Bragg vector, 1/m) giving the mirror line; default the qx axis.
    """
    data = np.asarray(data)
    if data.ndim not in (2, 3) or data.shape[0] != qy.size or data.shape[1] != qx.size:
        raise LatticeError(f"map shape {data.shape} does not match the q axes ({qy.size}, {qx.size})")
    angle = 0.0 if axis is None else math.atan2(float(axis[1]), float(axis[0]))
    ops = _operations(kind, angle)
    dqx, dqy = float(qx[1] - qx[0]), float(qy[1] - qy[0])
    QX, QY = np.meshgrid(qx, qy)
    pts = np.stack([QX.ravel(), QY.ravel()])
    coords = []
    for m in ops:
        r = m @ pts
        fx = (r[0] - qx[0]) / dqx
        fy = (r[1] - qy[0]) / dqy
        inside = (fx >= -0.5) & (fx <= qx.size - 0.5) & (fy >= -0.5) & (fy <= qy.size - 0.5)
        coords.append((np.stack([fy, fx]), inside))
    count = np.sum([c[1] for c in coords], axis=0).reshape(QX.shape).astype(np.float64)
    count = np.maximum(count, 1)
    stack = data if data.ndim == 3 else data[:, :, None]
    out = np.empty(stack.shape, dtype=np.float32 if stack.dtype == np.float32 else np.float64)
    nb = stack.shape[2]
    for k in range(nb):
        check_cancel(cancel, "symmetrisation")
        sl = np.asarray(stack[:, :, k], dtype=np.float64)
        acc = np.zeros(sl.size)
        for c, inside in coords:
            v = ndimage.map_coordinates(sl, c, order=1, mode="nearest")
            acc += np.where(inside, v, 0.0)
        out[:, :, k] = (acc.reshape(sl.shape) / count).astype(out.dtype)
        if progress is not None:
            progress(k + 1, nb)
    return out if data.ndim == 3 else out[:, :, 0]
