"""Bragg peaks of a lattice image: picking, sub-pixel refinement and the two lattice vectors.

Peaks are wave vectors ``q = (qx, qy)`` in cycles per metre (1/m). The refinement maximises the modulus of
the windowed discrete-time Fourier transform of the image at continuous ``q`` (started from a parabolic fit
of the log-amplitude around the brightest pixel), so it is not limited to the FFT's pixel grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from analysis.lattice.fft import LatticeError, fft_image, window_2d


@dataclass(frozen=True)
class Peak:
    """One Fourier peak: wave vector ``(qx, qy)`` in 1/m and its amplitude (image unit)."""

    qx: float
    qy: float
    amplitude: float

    @property
    def q(self) -> np.ndarray:
        return np.array([self.qx, self.qy])

    @property
    def length(self) -> float:
        """|q| in 1/m."""
        return math.hypot(self.qx, self.qy)

    @property
    def angle_deg(self) -> float:
        """Direction of q, degrees counter-clockwise from +qx."""
        return math.degrees(math.atan2(self.qy, self.qx))


def _parabolic(amp: np.ndarray, iy: int, ix: int) -> tuple[float, float]:
    """Sub-pixel (fy, fx) of a maximum at (iy, ix) from a parabola through log-amplitudes."""
    ny, nx = amp.shape
    off = []
    for axis, (i, n) in enumerate(((iy, ny), (ix, nx))):
        if 0 < i < n - 1:
            idx_m = (i - 1, ix) if axis == 0 else (iy, i - 1)
            idx_p = (i + 1, ix) if axis == 0 else (iy, i + 1)
            lm, l0, lp = (math.log(max(float(amp[k]), 1e-300)) for k in (idx_m, (iy, ix), idx_p))
            den = lm - 2 * l0 + lp
            off.append(0.5 * (lm - lp) / den if den < 0 else 0.0)
        else:
            off.append(0.0)
    return iy + float(np.clip(off[0], -0.5, 0.5)), ix + float(np.clip(off[1], -0.5, 0.5))


class _DTFT:
    """|sum w(r) z(r) exp(-2 pi i q.r)| at continuous q for one prepared image (r in metres)."""

    def __init__(self, z: np.ndarray, pixel_size: tuple[float, float], window: str) -> None:
        z = np.asarray(z, dtype=np.float64)
        z = np.where(np.isfinite(z), z, np.nanmean(z))
        ny, nx = z.shape
        w = window_2d(ny, nx, window)
        self.a = (z - z.mean()) * w / w.sum()
        self.x = np.arange(nx) * pixel_size[0]
        self.y = np.arange(ny) * pixel_size[1]

    def __call__(self, q: np.ndarray) -> float:
        ex = np.exp(-2j * np.pi * q[0] * self.x)
        ey = np.exp(-2j * np.pi * q[1] * self.y)
        row = (ey.real @ self.a) + 1j * (ey.imag @ self.a)  # (nx,), without a complex copy of the image
        return float(abs(row @ ex))


def refine_on_map(
    amp: np.ndarray, qx: np.ndarray, qy: np.ndarray, q_guess: tuple[float, float], radius_px: float = 3.0
) -> Peak:
    """The brightest pixel of a centred Fourier amplitude map ``amp (ny, nx)`` (axes ``qx``, ``qy`` in 1/m)
    within ``radius_px`` pixels of ``q_guess``, refined by a parabola through the log-amplitudes (a few
    hundredths of a reciprocal pixel for a windowed plane wave; :func:`refine_peak` does better from the
    image itself)."""
    amp = np.asarray(amp, dtype=np.float64)
    ny, nx = amp.shape
    dqx, dqy = float(qx[1] - qx[0]), float(qy[1] - qy[0])
    cx, cy = (q_guess[0] - qx[0]) / dqx, (q_guess[1] - qy[0]) / dqy
    r = max(1, int(math.ceil(radius_px)))
    x0, x1 = max(0, int(round(cx)) - r), min(nx, int(round(cx)) + r + 1)
    y0, y1 = max(0, int(round(cy)) - r), min(ny, int(round(cy)) + r + 1)
    if x0 >= x1 or y0 >= y1:
        raise LatticeError("the point chosen lies outside the Fourier transform")
    sub = np.where(np.isfinite(amp[y0:y1, x0:x1]), amp[y0:y1, x0:x1], -np.inf)
    iy, ix = np.unravel_index(int(np.argmax(sub)), sub.shape)
    iy, ix = int(iy) + y0, int(ix) + x0
    fy, fx = _parabolic(amp, iy, ix)
    return Peak(float(qx[0] + fx * dqx), float(qy[0] + fy * dqy), float(amp[iy, ix]))


def refine_peak(
    z: np.ndarray,
    pixel_size: tuple[float, float],
    q_guess: tuple[float, float],
    radius_px: float = 3.0,
    window: str = "hann",
    fft=None,
) -> Peak:
    """The Fourier peak of image ``z`` (ny, nx) nearest ``q_guess`` (1/m): the brightest FFT pixel within
    ``radius_px`` reciprocal pixels, refined to sub-pixel precision. ``fft`` reuses a transform of ``z``."""
    res = fft if fft is not None else fft_image(z, pixel_size, window)
    amp = res.amplitude
    dqx, dqy = res.dq
    ny, nx = amp.shape
    cx, cy = (q_guess[0] - res.qx[0]) / dqx, (q_guess[1] - res.qy[0]) / dqy
    r = max(1, int(math.ceil(radius_px)))
    x0, x1 = max(0, int(round(cx)) - r), min(nx, int(round(cx)) + r + 1)
    y0, y1 = max(0, int(round(cy)) - r), min(ny, int(round(cy)) + r + 1)
    if x0 >= x1 or y0 >= y1:
        raise LatticeError("the point chosen lies outside the Fourier transform")
    sub = amp[y0:y1, x0:x1]
    iy, ix = np.unravel_index(int(np.argmax(sub)), sub.shape)
    fy, fx = _parabolic(amp, int(iy) + y0, int(ix) + x0)
    q0 = np.array([res.qx[0] + fx * dqx, res.qy[0] + fy * dqy])
    dtft = _DTFT(z, pixel_size, res.window)
    scale = np.array([dqx, dqy])
    sol = optimize.minimize(
        lambda p: -dtft(q0 + p * scale),
        np.zeros(2),
        method="Nelder-Mead",
        options={"xatol": 1e-3, "fatol": 1e-12, "initial_simplex": [[0, 0], [0.3, 0], [0, 0.3]]},
    )
    p = np.clip(sol.x, -1.0, 1.0)
    q = q0 + p * scale
    return Peak(float(q[0]), float(q[1]), float(dtft(q)))


def find_peaks(
    z: np.ndarray,
    pixel_size: tuple[float, float],
    n: int = 6,
    q_min: float | None = None,
    window: str = "hann",
    refine: bool = True,
) -> list[Peak]:
    """The ``n`` strongest local maxima of the FFT amplitude of image ``z`` (ny, nx) with ``|q| >= q_min``
    (1/m; default four reciprocal pixels, which skips the background around q = 0), brightest first.
    Both members of each ``+q, -q`` pair are listed."""
    res = fft_image(z, pixel_size, window)
    amp = res.amplitude
    dqx, dqy = res.dq
    if q_min is None:
        q_min = 4 * max(dqx, dqy)
    QX, QY = np.meshgrid(res.qx, res.qy)
    cand = (amp == ndimage.maximum_filter(amp, size=3, mode="wrap")) & (np.hypot(QX, QY) >= q_min)
    idx = np.flatnonzero(cand)
    if idx.size == 0:
        raise LatticeError("no Fourier peak found away from q = 0")
    idx = idx[np.argsort(amp.ravel()[idx])[::-1][:n]]
    peaks = []
    for k in idx:
        iy, ix = np.unravel_index(int(k), amp.shape)
        q = (float(res.qx[ix]), float(res.qy[iy]))
        peaks.append(
            refine_peak(z, pixel_size, q, 1, window, fft=res) if refine else Peak(*q, float(amp.flat[k]))
        )
    return peaks


def lattice_vectors(
    peaks: list[Peak] | np.ndarray, min_angle_deg: float = 20.0
) -> tuple[np.ndarray, np.ndarray]:
    """The two Bragg vectors ``Q_a, Q_b`` (each (2,), 1/m) of a list of peaks, strongest first.

    ``Q_a`` is the first peak; ``Q_b`` the next peak at least ``min_angle_deg`` away from the line of
    ``Q_a`` (so ``-Q_a`` is skipped); it is flipped so the angle from ``Q_a`` to ``Q_b`` lies in (0, 180)
    degrees. A peak list given as an array has rows ``(qx, qy)``.
    """
    qs = [p.q if isinstance(p, Peak) else np.asarray(p, dtype=float)[:2] for p in peaks]
    if len(qs) < 2:
        raise LatticeError("two Bragg peaks (not opposite) are needed for the lattice")
    qa = qs[0]
    for qb in qs[1:]:
        cross = qa[0] * qb[1] - qa[1] * qb[0]
        ang = math.degrees(math.atan2(abs(cross), float(qa @ qb)))
        if min_angle_deg <= ang <= 180 - min_angle_deg:
            return qa.copy(), (qb if cross > 0 else -qb).copy()
    raise LatticeError("all the peaks lie on one line; pick two independent Bragg peaks")


def real_space_vectors(qa: np.ndarray, qb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real-space lattice vectors ``a1, a2`` (metres) dual to ``Q_a, Q_b`` (1/m): ``a_i . Q_j = delta_ij``."""
    m = np.array([qa, qb], dtype=float)
    if abs(np.linalg.det(m)) < 1e-12 * (np.linalg.norm(qa) * np.linalg.norm(qb) + 1e-300):
        raise LatticeError("the Bragg vectors are parallel")
    inv = np.linalg.inv(m)  # columns are the real-space vectors
    return inv[:, 0], inv[:, 1]


def angle_between_deg(qa: np.ndarray, qb: np.ndarray) -> float:
    """Angle between two vectors in degrees, [0, 180]."""
    c = float(qa @ qb) / (np.linalg.norm(qa) * np.linalg.norm(qb))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))
