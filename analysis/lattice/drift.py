"""Drift correction of atomic-lattice images and grids (the Lawler-Fujita method).

Model: the measured image is a perfect lattice seen through a slowly varying displacement field,
``T(r) = P(r + u(r))``, with ``P`` periodic with Bragg vectors ``Q_a, Q_b`` (1/m). Demodulating the image at
each Bragg vector with a Gaussian of standard deviation ``L`` (metres),

    A_Q(r) = integral dr' T(r') exp(-2 pi i Q.r') g_L(r - r'),

gives a phase ``theta_Q(r) = arg A_Q(r) = 2 pi Q.u(r) + const``. The two phases are unwrapped (a least-squares
integration of their wrapped gradients) and ``u(r)`` solves ``[Q_a; Q_b] u = [theta_a; theta_b] / (2 pi)``.
The corrected image is ``C(s) = T(r)`` with ``r + u(r) = s`` (solved by a short fixed-point iteration), so
every lattice site returns to the perfect lattice. Positions ``r`` are measured from the centre of pixel
(0, 0) in metres; ``L`` sets the shortest length over which drift can be followed (a few lattice periods).

The demodulation is done in Fourier space (a Gaussian of width ``1 / (2 pi L)`` centred on ``Q``), so it
assumes periodic boundaries: the displacement within about ``L`` of the image edges is less accurate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from analysis.hooks import check_cancel
from analysis.lattice.fft import LatticeError, workers


@dataclass
class DriftField:
    """A displacement field on an image's pixel grid.

    ``ux``, ``uy``: (ny, nx) float64 displacement in metres; ``theta_a``, ``theta_b``: (ny, nx) unwrapped
    phases in radians; ``qa``, ``qb``: the Bragg vectors (1/m) used; ``length``: the demodulation length
    ``L`` in metres; ``pixel_size``: (dx, dy) metres.
    """

    ux: np.ndarray
    uy: np.ndarray
    theta_a: np.ndarray
    theta_b: np.ndarray
    qa: np.ndarray
    qb: np.ndarray
    length: float
    pixel_size: tuple[float, float]

    def rms(self) -> float:
        """Root-mean-square displacement |u - <u>| in metres."""
        dx, dy = self.ux - self.ux.mean(), self.uy - self.uy.mean()
        return float(np.sqrt(np.mean(dx**2 + dy**2)))


def _filled(z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    z = np.asarray(z, dtype=np.float64)
    bad = ~np.isfinite(z)
    if not bad.any():
        return z, None
    if bad.all():
        raise LatticeError("the image has no finite values")
    return np.where(bad, np.nanmean(z), z), bad


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def unwrap_phase(wrapped: np.ndarray) -> np.ndarray:
    """Least-squares unwrapping of a (ny, nx) phase map (radians) from its wrapped finite differences,
    solved with a discrete cosine transform (Neumann boundaries); the result is shifted by whole turns so
    that it agrees with ``wrapped`` on average."""
    ny, nx = wrapped.shape
    gx = np.zeros((ny, nx))
    gy = np.zeros((ny, nx))
    gx[:, :-1] = _wrap(np.diff(wrapped, axis=1))
    gy[:-1, :] = _wrap(np.diff(wrapped, axis=0))
    rho = gx.copy()
    rho[:, 1:] -= gx[:, :-1]
    rho += gy
    rho[1:, :] -= gy[:-1, :]
    r = sfft.dctn(rho, type=2, norm="ortho", workers=workers())
    ky = 2 * np.cos(np.pi * np.arange(ny) / ny) - 2
    kx = 2 * np.cos(np.pi * np.arange(nx) / nx) - 2
    den = ky[:, None] + kx[None, :]
    den[0, 0] = 1.0
    r /= den
    r[0, 0] = 0.0
    phi = sfft.idctn(r, type=2, norm="ortho", workers=workers())
    offset = np.angle(np.mean(np.exp(1j * (wrapped - phi))))
    return phi + offset


def displacement_field(
    z: np.ndarray,
    pixel_size: tuple[float, float],
    qa: np.ndarray,
    qb: np.ndarray,
    length: float | None = None,
    refine_q: int = 1,
    ideal: str = "",
) -> DriftField:
    """The Lawler-Fujita displacement field of image ``z`` (ny, nx) with pixel size ``(dx, dy)`` metres,
    Bragg vectors ``qa``, ``qb`` (1/m) and demodulation length ``length`` (metres; default three periods of
    the longer lattice spacing, ``3 / min(|Q_a|, |Q_b|)``).

    With ``refine_q`` > 0 the Bragg vectors are refined that many times so that the phases have no mean
    gradient left (a plane fit away from the edges): the reference is then the average lattice of the
    image, which peaks picked on a drifted image miss by a fraction of a reciprocal pixel. The refined
    vectors are returned in the field; ``refine_q=0`` keeps the given ones exactly.

    With ``ideal`` = ``"square"`` or ``"hexagonal"`` the reference is the ideal lattice of
    :func:`ideal_bragg_vectors` instead, so a uniform skew or stretch (linear drift, piezo creep) is
    corrected as well."""
    z = np.asarray(z)
    if z.ndim != 2 or min(z.shape) < 8:
        raise LatticeError(f"an image of at least 8x8 pixels is needed, got shape {z.shape}")
    qa, qb = np.asarray(qa, float), np.asarray(qb, float)
    m = np.array([qa, qb])
    if abs(np.linalg.det(m)) < 1e-6 * np.linalg.norm(qa) * np.linalg.norm(qb):
        raise LatticeError("the two Bragg vectors are parallel; pick two independent peaks")
    if length is None:
        length = 3.0 / min(np.linalg.norm(qa), np.linalg.norm(qb))
    if length <= 0:
        raise LatticeError("the demodulation length must be positive")
    ny, nx = z.shape
    dx, dy = pixel_size
    zf, _bad = _filled(z)
    f = sfft.fft2(zf - zf.mean(), workers=workers())
    fqx = sfft.fftfreq(nx, dx)
    fqy = sfft.fftfreq(ny, dy)
    x = np.arange(nx) * dx
    y = np.arange(ny) * dy
    # plane fit of the phases away from the edges (where the periodic demodulation is least reliable)
    my = min(ny // 4, int(np.ceil(length / dy)))
    mx = min(nx // 4, int(np.ceil(length / dx)))
    yy, xx = np.mgrid[my : ny - my, mx : nx - mx]
    design = np.column_stack([xx.ravel() * dx, yy.ravel() * dy, np.ones(xx.size)])
    qs = [qa.copy(), qb.copy()]
    thetas: list[np.ndarray] = []
    for step in range(refine_q + 1):
        thetas = []
        for q in qs:
            gx = np.exp(-2 * (np.pi * length * (fqx - q[0])) ** 2)
            gy = np.exp(-2 * (np.pi * length * (fqy - q[1])) ** 2)
            a = sfft.ifft2(f * (gy[:, None] * gx[None, :]), workers=workers())
            a *= np.exp(-2j * np.pi * q[1] * y)[:, None]
            a *= np.exp(-2j * np.pi * q[0] * x)[None, :]
            thetas.append(unwrap_phase(np.angle(a)))
        if step < refine_q:
            # the lattice of reference is the average one: no mean phase gradient is left over
            for i, th in enumerate(thetas):
                coef = np.linalg.lstsq(design, th[my : ny - my, mx : nx - mx].ravel(), rcond=None)[0]
                qs[i] = qs[i] + coef[:2] / (2 * np.pi)
    qa, qb = qs
    if ideal:
        # phases relative to the ideal lattice: the affine part (skew, stretch) becomes displacement too,
        # taken about the image centre so the corrected image stays centred
        ta, tb = ideal_bragg_vectors(qa, qb, ideal)
        xc, yc = x - x.mean(), y - y.mean()
        for i, (q, t) in enumerate(((qa, ta), (qb, tb))):
            thetas[i] = thetas[i] + 2 * np.pi * ((q[0] - t[0]) * xc[None, :] + (q[1] - t[1]) * yc[:, None])
        qa, qb = ta, tb
    m = np.array([qa, qb])
    inv = np.linalg.inv(m) / (2 * np.pi)
    ux = inv[0, 0] * thetas[0] + inv[0, 1] * thetas[1]
    uy = inv[1, 0] * thetas[0] + inv[1, 1] * thetas[1]
    return DriftField(ux, uy, thetas[0], thetas[1], qa, qb, float(length), (float(dx), float(dy)))


def ideal_bragg_vectors(qa: np.ndarray, qb: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The ideal ``"square"`` (90 deg) or ``"hexagonal"`` (60 or 120 deg, whichever is nearer) Bragg
    vectors closest to ``qa``, ``qb`` (1/m): their mean length, placed symmetrically about the bisector of
    the measured pair."""
    if kind not in ("square", "hexagonal"):
        raise LatticeError(f"unknown ideal lattice {kind!r}; expected 'square' or 'hexagonal'")
    qa, qb = np.asarray(qa, float), np.asarray(qb, float)
    k = 0.5 * (np.linalg.norm(qa) + np.linalg.norm(qb))
    ang_a, ang_b = np.arctan2(qa[1], qa[0]), np.arctan2(qb[1], qb[0])
    d = (ang_b - ang_a + np.pi) % (2 * np.pi) - np.pi
    mid = ang_a + d / 2
    target = np.pi / 2 if kind == "square" else (np.pi / 3 if abs(d) < np.pi / 2 else 2 * np.pi / 3)
    half = np.copysign(target / 2, d)
    return (
        k * np.array([np.cos(mid - half), np.sin(mid - half)]),
        k * np.array([np.cos(mid + half), np.sin(mid + half)]),
    )


def sample_coordinates(field: DriftField, iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Fractional pixel coordinates ``(fy, fx)`` (each (ny, nx)) where the corrected image samples the
    measured one: the solution ``r`` of ``r + u(r) = s`` for every pixel ``s``."""
    ny, nx = field.ux.shape
    dx, dy = field.pixel_size
    sy, sx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    ux_px, uy_px = field.ux / dx, field.uy / dy
    fx, fy = sx - ux_px, sy - uy_px
    for _ in range(max(0, iterations - 1)):
        c = np.stack([fy, fx])
        fx = sx - ndimage.map_coordinates(ux_px, c, order=1, mode="nearest")
        fy = sy - ndimage.map_coordinates(uy_px, c, order=1, mode="nearest")
    return fy, fx


def apply_field(
    data: np.ndarray,
    field: DriftField,
    order: int = 3,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """Resample an image ``(ny, nx)`` or every slice of a grid ``(ny, nx, nb)`` with the same displacement
    field (spline of ``order``). Pixels whose source lies outside the frame, or next to a NaN, are NaN."""
    data = np.asarray(data)
    stack = data if data.ndim == 3 else data[:, :, None]
    if stack.ndim != 3 or stack.shape[:2] != field.ux.shape:
        raise LatticeError(f"data of shape {data.shape} do not match the displacement field {field.ux.shape}")
    ny, nx, nb = stack.shape
    fy, fx = sample_coordinates(field)
    outside = (fx < -0.5) | (fx > nx - 0.5) | (fy < -0.5) | (fy > ny - 0.5)
    coords = np.stack([fy, fx])
    out = np.empty(stack.shape, dtype=np.float32 if stack.dtype == np.float32 else np.float64)
    for k in range(nb):
        check_cancel(cancel, "drift correction")
        sl, bad = _filled(stack[:, :, k])
        v = ndimage.map_coordinates(sl, coords, order=order, mode="nearest")
        if bad is not None:
            v[ndimage.map_coordinates(bad.astype(np.float32), coords, order=1, mode="nearest") > 0.01] = (
                np.nan
            )
        v[outside] = np.nan
        out[:, :, k] = v
        if progress is not None:
            progress(k + 1, nb)
    return out if data.ndim == 3 else out[:, :, 0]


def drift_correct(
    z: np.ndarray,
    pixel_size: tuple[float, float],
    qa: np.ndarray,
    qb: np.ndarray,
    length: float | None = None,
    order: int = 3,
    ideal: str = "",
) -> tuple[np.ndarray, DriftField]:
    """Drift-corrected image ``(ny, nx)`` and its displacement field (see :func:`displacement_field`)."""
    field = displacement_field(z, pixel_size, qa, qb, length, ideal=ideal)
    return apply_field(z, field, order=order), field
