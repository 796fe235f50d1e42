"""Windowed two-dimensional Fourier transforms of images and of every bias slice of a grid.

The transform is centred (``fftshift``): the zero frequency sits at pixel ``(ny // 2, nx // 2)``. The
reciprocal axes are ``qx = fftshift(fftfreq(nx, dx))`` and ``qy = fftshift(fftfreq(ny, dy))`` in cycles per
metre (1/m); multiply by ``2 pi`` for radians per metre. The amplitude is normalised by the sum of the window
so that a plane wave ``A cos(2 pi q.r)`` gives two peaks of height ``A / 2`` whatever the window.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from scipy.signal import windows as sig_windows

from analysis.errors import WorkbenchError
from analysis.hooks import check_cancel

WINDOWS = ("none", "hann", "hamming", "blackman", "tukey")


class LatticeError(WorkbenchError):
    """A lattice analysis got input it cannot use (wrong shape, no peaks, degenerate lattice vectors)."""


def workers() -> int:
    """Threads ``scipy.fft`` uses: every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def window_1d(n: int, name: str, alpha: float = 0.5) -> np.ndarray:
    """(n,) float64 window ``name`` (see ``WINDOWS``) in its periodic (DFT-even) form, the usual one for
    spectral analysis: its transform is a few bins wide (three for Hann and Hamming, five for Blackman);
    ``alpha`` is the Tukey taper fraction."""
    key = (name or "none").lower()
    if key not in WINDOWS:
        raise LatticeError(f"unknown window {name!r}; expected one of {', '.join(WINDOWS)}")
    if key == "none" or n < 3:
        return np.ones(n)
    if key == "tukey":
        return sig_windows.tukey(n, alpha, sym=False)
    return sig_windows.get_window(key, n, fftbins=True)


def window_2d(ny: int, nx: int, name: str, alpha: float = 0.5) -> np.ndarray:
    """(ny, nx) float64 separable window (outer product of the 1D windows)."""
    return np.outer(window_1d(ny, name, alpha), window_1d(nx, name, alpha))


def q_axes(shape: tuple[int, int], pixel_size: tuple[float, float], angular: bool = False):
    """Centred reciprocal axes ``(qx (nx,), qy (ny,))`` of an ``(ny, nx)`` image with pixel size
    ``(dx, dy)`` metres; 1/m, or rad/m (2 pi/m) with ``angular``."""
    ny, nx = shape
    dx, dy = pixel_size
    if dx <= 0 or dy <= 0:
        raise LatticeError("the pixel size must be positive")
    qx = sfft.fftshift(sfft.fftfreq(nx, dx))
    qy = sfft.fftshift(sfft.fftfreq(ny, dy))
    if angular:
        return 2 * np.pi * qx, 2 * np.pi * qy
    return qx, qy


@dataclass
class FFTResult:
    """A centred 2D Fourier transform.

    ``spectrum`` is complex, ``(ny, nx)`` for an image or ``(ny, nx, nb)`` for a grid, normalised as the
    module says; ``qx (nx,)`` and ``qy (ny,)`` are in 1/m; ``window`` names the window used.
    """

    spectrum: np.ndarray
    qx: np.ndarray
    qy: np.ndarray
    window: str = "hann"

    @property
    def amplitude(self) -> np.ndarray:
        """|F|, same shape as ``spectrum``, in the image's unit."""
        return np.abs(self.spectrum)

    @property
    def phase(self) -> np.ndarray:
        """arg F in radians, (-pi, pi]."""
        return np.angle(self.spectrum)

    @property
    def power(self) -> np.ndarray:
        """|F|^2, in the image's unit squared."""
        s = self.spectrum
        return s.real**2 + s.imag**2

    @property
    def dq(self) -> tuple[float, float]:
        """(dqx, dqy) reciprocal pixel size in 1/m."""
        return (
            float(self.qx[1] - self.qx[0]) if self.qx.size > 1 else 0.0,
            float(self.qy[1] - self.qy[0]) if self.qy.size > 1 else 0.0,
        )


def _prepare(z: np.ndarray, axes: tuple[int, int]) -> np.ndarray:
    """Replace non-finite values by the slice mean and subtract the mean of each slice (float32 kept)."""
    dtype = np.float32 if z.dtype == np.float32 else np.float64
    z = np.asarray(z, dtype=dtype)
    finite = np.isfinite(z)
    if not finite.all():
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(z, axis=axes, keepdims=True)
        mean = np.where(np.isfinite(mean), mean, 0)
        z = np.where(finite, z, mean).astype(dtype)
    return z - z.mean(axis=axes, keepdims=True, dtype=np.float64).astype(dtype)


def fft_image(
    z: np.ndarray, pixel_size: tuple[float, float], window: str = "hann", alpha: float = 0.5
) -> FFTResult:
    """Centred, windowed FFT of an ``(ny, nx)`` image with pixel size ``(dx, dy)`` metres.

    NaNs are replaced by the mean, then the windowed mean is subtracted (so F(q = 0) = 0).
    Returns complex128 ``(ny, nx)``.
    """
    z = np.asarray(z)
    if z.ndim != 2 or min(z.shape) < 2:
        raise LatticeError(f"an image of at least 2x2 pixels is needed, got shape {z.shape}")
    w = window_2d(z.shape[0], z.shape[1], window, alpha)
    a = _prepare(z.astype(np.float64), (0, 1))
    a = (a - float(np.sum(a * w)) / float(w.sum())) * w  # the windowed mean removed: F(q = 0) = 0
    spec = sfft.fftshift(sfft.fft2(a, workers=workers())) / w.sum()
    qx, qy = q_axes(z.shape, pixel_size)
    return FFTResult(spec, qx, qy, window)


def fft_grid(
    cube: np.ndarray,
    pixel_size: tuple[float, float],
    window: str = "hann",
    alpha: float = 0.5,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    block: int | None = None,
) -> FFTResult:
    """Centred, windowed FFT of every bias slice of an ``(ny, nx, nb)`` cube, in one pass (``block=None``,
    the fastest: the transform's output is the result) or in blocks of ``block`` slices (progress reported
    and a cancel honoured between blocks, at the cost of one copy of the output).
    Returns complex64 ``(ny, nx, nb)``, each slice equal to :func:`fft_image` of it; NaNs are replaced by
    their slice's mean."""
    cube = np.asarray(cube)
    if cube.ndim != 3 or min(cube.shape[:2]) < 2:
        raise LatticeError(f"a (ny, nx, nb) grid of at least 2x2 pixels is needed, got shape {cube.shape}")
    ny, nx, nb = cube.shape
    w2 = window_2d(ny, nx, window, alpha)
    w2 /= w2.sum()  # the normalisation rides on the window: no extra pass over the output
    even = ny % 2 == 0 and nx % 2 == 0
    if even:  # (-1)^(ix + iy) in the window centres the transform, so no fftshift copy is needed
        w2 = w2 * np.where((np.add.outer(np.arange(ny), np.arange(nx)) % 2) == 0, 1.0, -1.0)
    w = w2.astype(np.float32)[:, :, None]
    # Transform of the window itself: removing the windowed mean m_w of a slice after the transform is
    # F[(z - m_w) w] = F[z w] - m_w F[w], and F[w] is negligible outside a few pixels around q = 0.
    fw = sfft.fft2(w2)
    if not even:
        fw = sfft.fftshift(fw)
    cy, cx = ny // 2, nx // 2
    near = np.abs(fw) > 1e-7 * abs(fw[cy, cx])
    rows = np.flatnonzero(near.any(axis=1))
    cols = np.flatnonzero(near.any(axis=0))
    ry, rx = slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
    fw_near = (fw[ry, rx] / fw[cy, cx]).astype(np.complex64)[:, :, None]
    block = nb if block is None or block <= 0 else int(block)
    out = np.empty((ny, nx, nb), np.complex64) if block < nb else None
    buf = np.empty((ny, nx, min(block, nb)), np.float32)
    nthreads = workers()
    for lo in range(0, nb, block):
        check_cancel(cancel, "FFT")
        hi = min(nb, lo + block)
        b = buf[:, :, : hi - lo]
        np.multiply(cube[:, :, lo:hi], w, out=b)
        f = sfft.fft2(b, axes=(0, 1), workers=nthreads)
        if not even:
            f = sfft.fftshift(f, axes=(0, 1))
        dc = f[cy, cx, :]
        if not np.isfinite(dc).all():  # a NaN anywhere: fill those slices with their mean and redo them
            b[...] = _prepare(np.asarray(cube[:, :, lo:hi], dtype=np.float32), (0, 1)) * w
            f = sfft.fft2(b, axes=(0, 1), workers=nthreads)
            if not even:
                f = sfft.fftshift(f, axes=(0, 1))
            dc = f[cy, cx, :]
        f[ry, rx, :] -= fw_near * dc.astype(np.complex64)[None, None, :]
        if out is None:
            out = f  # the whole cube in one block: no copy
        else:
            out[:, :, lo:hi] = f
        if progress is not None:
            progress(hi, nb)
    qx, qy = q_axes((ny, nx), pixel_size)
    return FFTResult(out, qx, qy, window)
