"""Quasiparticle interference: q-space cuts through an FFT stack against energy, and Fourier filtering.

A cut samples an ``(ny, nx, nb)`` Fourier stack (centred, axes ``qx (nx,)``, ``qy (ny,)`` in 1/m) along a
straight segment in q-space by bilinear interpolation, giving an ``(n_q, nb)`` image: the QPI dispersion
picture, wave vector along the cut against the sweep (bias) axis.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from analysis.hooks import check_cancel
from analysis.lattice.fft import LatticeError, q_axes, workers


@dataclass
class QCut:
    """A q-space cut: ``values (n_q, nb)``, ``q (n_q,)`` distance from the start in 1/m, ``points (n_q, 2)``
    the (qx, qy) of each sample in 1/m, and the segment's ends ``start`` and ``end`` (1/m)."""

    values: np.ndarray
    q: np.ndarray
    points: np.ndarray
    start: tuple[float, float]
    end: tuple[float, float]


def q_cut(
    stack: np.ndarray,
    qx: np.ndarray,
    qy: np.ndarray,
    start: Sequence[float],
    end: Sequence[float],
    n_q: int | None = None,
) -> QCut:
    """Bilinear samples of ``stack`` ``(ny, nx)`` or ``(ny, nx, nb)`` along the segment ``start -> end``
    ((qx, qy) in 1/m); ``n_q`` defaults to one sample per reciprocal pixel along the segment."""
    stack = np.asarray(stack)
    if stack.ndim == 2:
        stack = stack[:, :, None]
    if stack.ndim != 3 or stack.shape[0] != qy.size or stack.shape[1] != qx.size:
        raise LatticeError(f"stack shape {stack.shape} does not match the q axes ({qy.size}, {qx.size})")
    ny, nx, _nb = stack.shape
    dqx, dqy = float(qx[1] - qx[0]), float(qy[1] - qy[0])
    p0, p1 = np.asarray(start, float), np.asarray(end, float)
    length = float(np.hypot(*(p1 - p0)))
    if length <= 0:
        raise LatticeError("the cut has no length")
    if n_q is None:
        n_q = max(2, int(math.ceil(math.hypot((p1[0] - p0[0]) / dqx, (p1[1] - p0[1]) / dqy))) + 1)
    t = np.linspace(0.0, 1.0, int(n_q))
    pts = p0[None, :] + t[:, None] * (p1 - p0)[None, :]
    fx = np.clip((pts[:, 0] - qx[0]) / dqx, 0, nx - 1)
    fy = np.clip((pts[:, 1] - qy[0]) / dqy, 0, ny - 1)
    x0 = np.minimum(np.floor(fx).astype(int), nx - 2)
    y0 = np.minimum(np.floor(fy).astype(int), ny - 2)
    wx, wy = (fx - x0)[:, None], (fy - y0)[:, None]
    s = stack
    vals = (
        s[y0, x0] * (1 - wx) * (1 - wy)
        + s[y0, x0 + 1] * wx * (1 - wy)
        + s[y0 + 1, x0] * (1 - wx) * wy
        + s[y0 + 1, x0 + 1] * wx * wy
    )
    return QCut(
        np.asarray(vals, dtype=np.float64),
        t * length,
        pts,
        (float(p0[0]), float(p0[1])),
        (float(p1[0]), float(p1[1])),
    )


def peak_along_cut(cut: QCut, q_min: float = 0.0) -> np.ndarray:
    """(nb,) position along the cut (1/m from its start) of the maximum of each column with ``q >= q_min``,
    refined by a parabola through the three samples around it."""
    v = cut.values
    sel = np.flatnonzero(cut.q >= q_min)
    if sel.size < 3:
        raise LatticeError("too few samples along the cut")
    dq = float(cut.q[1] - cut.q[0])
    out = np.empty(v.shape[1])
    for k in range(v.shape[1]):
        i = int(sel[np.argmax(v[sel, k])])
        off = 0.0
        if 0 < i < v.shape[0] - 1:
            a, b, c = v[i - 1, k], v[i, k], v[i + 1, k]
            den = a - 2 * b + c
            off = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den < 0 else 0.0
        out[k] = cut.q[i] + off * dq
    return out


def peak_mask(
    shape: tuple[int, int],
    pixel_size: tuple[float, float],
    peaks: Sequence[Sequence[float]],
    radius: float,
    keep: bool = False,
    symmetric: bool = True,
) -> np.ndarray:
    """(ny, nx) float64 mask on the *centred* reciprocal grid: disks of ``radius`` (1/m) with a smooth
    (Gaussian) edge at each peak (qx, qy) and, with ``symmetric``, at its inverse ``-q`` too. With ``keep``
    the mask is 1 in the disks and 0 elsewhere (Bragg filtering); otherwise the reverse (peak removal)."""
    if radius <= 0:
        raise LatticeError("the mask radius must be positive")
    qx, qy = q_axes(shape, pixel_size)
    QX, QY = np.meshgrid(qx, qy)
    inside = np.zeros(shape)
    edge = max(float(qx[1] - qx[0]), float(qy[1] - qy[0]))
    for p in peaks:
        for sign in (1, -1) if symmetric else (1,):
            r = np.hypot(QX - sign * p[0], QY - sign * p[1])
            disk = np.where(r <= radius, 1.0, np.exp(-0.5 * ((r - radius) / edge) ** 2))
            inside = np.maximum(inside, disk)
    return inside if keep else 1.0 - inside


def inverse_filter(
    data: np.ndarray,
    pixel_size: tuple[float, float],
    peaks: Sequence[Sequence[float]],
    radius: float,
    keep: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """Fourier-filter an image ``(ny, nx)`` or every slice of a grid ``(ny, nx, nb)``: mask disks of
    ``radius`` (1/m) at ``peaks`` (and their inverses), back-transform, keep the real part.

    No window is applied (the back-transform must reproduce the image); the slice means are kept when the
    peaks are removed and dropped when only the peaks are kept. NaNs are filled with the slice mean first
    and restored after."""
    data = np.asarray(data)
    if data.ndim not in (2, 3):
        raise LatticeError(f"an image or a grid is needed, got shape {data.shape}")
    stack = data if data.ndim == 3 else data[:, :, None]
    ny, nx, nb = stack.shape
    mask = sfft.ifftshift(peak_mask((ny, nx), pixel_size, peaks, radius, keep))[:, :, None]
    out = np.empty(stack.shape, dtype=np.float32 if stack.dtype == np.float32 else np.float64)
    block = 32
    for lo in range(0, nb, block):
        check_cancel(cancel, "Fourier filter")
        hi = min(nb, lo + block)
        a = np.asarray(stack[:, :, lo:hi], dtype=np.float64)
        bad = ~np.isfinite(a)
        if bad.any():
            with np.errstate(invalid="ignore"):
                mean = np.nanmean(a, axis=(0, 1), keepdims=True)
            a = np.where(bad, np.where(np.isfinite(mean), mean, 0.0), a)
        f = sfft.fft2(a, axes=(0, 1), workers=workers())
        f *= mask
        r = sfft.ifft2(f, axes=(0, 1), workers=workers()).real
        if bad.any():
            r[bad] = np.nan
        out[:, :, lo:hi] = r
        if progress is not None:
            progress(hi, nb)
    return out if data.ndim == 3 else out[:, :, 0]
