"""Alignment of two co-registered datasets by phase cross-correlation.

Convention: ``moving`` is ``reference`` translated by ``shift = (dy, dx)`` pixels,
``moving[y, x] = reference[y - dy, x - dx]``; :func:`estimate_shift` returns that shift with sub-pixel
precision (the cross-correlation peak located on an upsampled grid by a matrix-multiply DFT around the
coarse peak, then a least-squares match of the overlap) and :func:`apply_shift` moves data back by it.
Multiply by the pixel size for metres.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from analysis.dataset import Frame
from analysis.hooks import check_cancel
from analysis.lattice.fft import LatticeError, _prepare, window_2d, workers


def _cross_power(ref: np.ndarray, mov: np.ndarray, window: str) -> np.ndarray:
    """Fourier transform of the cross-correlation of the windowed images, normalised to its maximum."""
    w = window_2d(ref.shape[0], ref.shape[1], window)
    a = sfft.fft2(_prepare(np.asarray(ref, np.float64), (0, 1)) * w, workers=workers())
    b = sfft.fft2(_prepare(np.asarray(mov, np.float64), (0, 1)) * w, workers=workers())
    r = b * np.conj(a)
    return r / max(float(np.abs(r).max()), 1e-300)


def _refine(
    ref: np.ndarray, mov: np.ndarray, shift: tuple[float, float], steps: int = 12
) -> tuple[float, float]:
    """Gauss-Newton least squares of ``mov(r + s) = g ref(r) + c`` over the overlap, from ``shift``.

    The correlation peak of cropped (non-periodic) images is pulled towards zero by the content that
    enters and leaves the frame; matching the overlap directly removes that bias."""
    ref = np.asarray(ref, np.float64)
    mov = np.asarray(mov, np.float64)
    good = np.isfinite(ref) & np.isfinite(mov)
    ref = np.where(good, ref, np.nanmean(ref))
    mov = np.where(good, mov, np.nanmean(mov))
    spline = ndimage.spline_filter(mov, order=3)
    ny, nx = ref.shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    s = np.array(shift, dtype=np.float64)
    g, c = 1.0, 0.0
    for _ in range(steps):
        m = int(np.ceil(np.abs(s).max())) + 2
        if 2 * m >= min(ny, nx) - 4:
            break
        win = np.s_[m : ny - m, m : nx - m]
        mb = ndimage.map_coordinates(spline, [yy + s[0], xx + s[1]], order=3, prefilter=False)
        gy, gx = np.gradient(mb)
        ok = good[win]
        r0 = ref[win][ok]
        if g == 1.0 and c == 0.0:  # the first step starts from the best gain and offset
            g, c = np.polyfit(r0, mb[win][ok], 1) if r0.std() > 0 else (1.0, 0.0)
        e = mb[win][ok] - (g * r0 + c)
        jac = np.column_stack([gy[win][ok], gx[win][ok], -r0, -np.ones_like(r0)])
        delta = np.linalg.lstsq(jac, -e, rcond=None)[0]
        s += np.clip(delta[:2], -0.5, 0.5)
        g += delta[2]
        c += delta[3]
        if np.abs(delta[:2]).max() < 1e-4:
            break
    return float(s[0]), float(s[1])


def _upsampled(r: np.ndarray, centre: tuple[float, float], half: float, up: int) -> tuple[np.ndarray, ...]:
    """|inverse DFT of r| on a grid of step 1/up pixels within +-half of ``centre`` (dy, dx)."""
    ny, nx = r.shape
    n = int(round(2 * half * up)) + 1
    sy = centre[0] + (np.arange(n) - n // 2) / up
    sx = centre[1] + (np.arange(n) - n // 2) / up
    ky = sfft.fftfreq(ny) * ny
    kx = sfft.fftfreq(nx) * nx
    ey = np.exp(2j * np.pi * np.outer(sy, ky) / ny)
    ex = np.exp(2j * np.pi * np.outer(kx, sx) / nx)
    return np.abs(ey @ r @ ex), sy, sx


def estimate_shift(
    reference: np.ndarray, moving: np.ndarray, upsample: int = 100, window: str = "hann", refine: bool = True
) -> tuple[float, float]:
    """Translation ``(dy, dx)`` in pixels of ``moving`` relative to ``reference`` (both ``(ny, nx)``).

    The cross-correlation of the windowed images (``window`` from :data:`analysis.lattice.fft.WINDOWS`)
    is located to ``1 / upsample`` pixel; with ``refine`` the overlap of the two images is then matched by
    least squares (allowing a gain and an offset between them), which removes the bias of the
    correlation peak for images that are crops of a larger scene."""
    reference, moving = np.asarray(reference), np.asarray(moving)
    if reference.shape != moving.shape or reference.ndim != 2:
        raise LatticeError(f"images of one 2D shape are needed, got {reference.shape} and {moving.shape}")
    if min(reference.shape) < 4:
        raise LatticeError("the images are too small to align")
    r = _cross_power(reference, moving, window)
    corr = np.abs(sfft.ifft2(r, workers=workers()))
    iy, ix = np.unravel_index(int(np.argmax(corr)), corr.shape)
    ny, nx = corr.shape
    c = (float(iy - ny if iy > ny // 2 else iy), float(ix - nx if ix > nx // 2 else ix))
    v, sy, sx = _upsampled(r, c, 1.0, 10)
    j, i = np.unravel_index(int(np.argmax(v)), v.shape)
    c = (float(sy[j]), float(sx[i]))
    v, sy, sx = _upsampled(r, c, 0.15, max(upsample, 10))
    j, i = np.unravel_index(int(np.argmax(v)), v.shape)
    shift = (float(sy[j]), float(sx[i]))
    return _refine(reference, moving, shift) if refine else shift


def apply_shift(
    data: np.ndarray,
    shift: tuple[float, float],
    order: int = 3,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """Move an image ``(ny, nx)`` or every slice of a grid ``(ny, nx, nb)`` back by ``shift`` (dy, dx)
    pixels, so that data measured with that offset line up with the reference. Pixels brought in from
    outside the frame are NaN."""
    data = np.asarray(data)
    stack = data if data.ndim == 3 else data[:, :, None]
    if stack.ndim != 3:
        raise LatticeError(f"an image or a grid is needed, got shape {data.shape}")
    ny, nx, nb = stack.shape
    dy, dx = float(shift[0]), float(shift[1])
    fy, fx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    fy += dy
    fx += dx
    outside = (fx < -0.5) | (fx > nx - 0.5) | (fy < -0.5) | (fy > ny - 0.5)
    coords = np.stack([fy, fx])
    out = np.empty(stack.shape, dtype=np.float32 if stack.dtype == np.float32 else np.float64)
    for k in range(nb):
        check_cancel(cancel, "alignment")
        sl = np.asarray(stack[:, :, k], dtype=np.float64)
        bad = ~np.isfinite(sl)
        if bad.any():
            sl = np.where(bad, np.nanmean(sl) if (~bad).any() else 0.0, sl)
        v = ndimage.map_coordinates(sl, coords, order=order, mode="nearest")
        if bad.any():
            v[ndimage.map_coordinates(bad.astype(np.float32), coords, order=1, mode="nearest") > 0.01] = (
                np.nan
            )
        v[outside] = np.nan
        out[:, :, k] = v
        if progress is not None:
            progress(k + 1, nb)
    return out if data.ndim == 3 else out[:, :, 0]


def resample_to_frame(z: np.ndarray, source: Frame, target: Frame) -> np.ndarray:
    """Image ``z`` on frame ``source`` resampled (bilinear) onto the pixel centres of ``target``
    (``target.shape``); NaN where ``target`` reaches outside ``source``."""
    ny, nx = target.shape
    iy, ix = np.mgrid[0:ny, 0:nx]
    x, y = target.pixel_to_xy(ix, iy)
    fx, fy = source.xy_to_pixel(x, y)
    sy, sx = source.shape
    z = np.asarray(z, dtype=np.float64)
    z = np.where(np.isfinite(z), z, np.nanmean(z))
    v = ndimage.map_coordinates(z, np.stack([fy, fx]), order=1, mode="nearest")
    v[(fx < -0.5) | (fx > sx - 0.5) | (fy < -0.5) | (fy > sy - 0.5)] = np.nan
    return v
