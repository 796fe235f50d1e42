"""Synthetic lattices, drift fields and QPI grids with known parameters for the lattice tests."""

from __future__ import annotations

import numpy as np


def square_q(a: float, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Bragg vectors (1/m) of a square lattice of constant ``a`` (m) rotated by ``angle_deg``."""
    t = np.radians(angle_deg)
    qa = np.array([np.cos(t), np.sin(t)]) / a
    qb = np.array([-np.sin(t), np.cos(t)]) / a
    return qa, qb


def hexagonal_q(a: float, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Bragg vectors (1/m) of a hexagonal lattice of constant ``a``: |Q| = 2 / (sqrt(3) a), 60 deg apart."""
    t = np.radians(angle_deg)
    k = 2 / (np.sqrt(3) * a)
    qa = k * np.array([np.cos(t), np.sin(t)])
    qb = k * np.array([np.cos(t + np.pi / 3), np.sin(t + np.pi / 3)])
    return qa, qb


def lattice_image(
    shape: tuple[int, int],
    pixel: float,
    qs: list[np.ndarray],
    ux: np.ndarray | None = None,
    uy: np.ndarray | None = None,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """sum_Q cos(2 pi Q.(r + u(r))) on an (ny, nx) grid of ``pixel`` metres, r from pixel (0, 0)."""
    ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx] * pixel
    if ux is not None:
        x = x + ux
        y = y + uy
    z = sum(np.cos(2 * np.pi * (q[0] * x + q[1] * y)) for q in qs)
    if noise:
        z = z + noise * np.random.default_rng(seed).standard_normal(shape)
    return np.asarray(z, dtype=np.float64)


def smooth_drift(shape: tuple[int, int], pixel: float, amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """A smooth, zero-mean displacement field (metres): slow sinusoids of ``amplitude`` across the frame."""
    ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    ux = amplitude * np.sin(2 * np.pi * y / ny) * np.cos(np.pi * x / nx)
    uy = 0.7 * amplitude * np.sin(2 * np.pi * x / nx + 0.4) * np.cos(2 * np.pi * y / ny)
    return ux - ux.mean(), uy - uy.mean()


def qpi_grid(
    shape: tuple[int, int], pixel: float, energies: np.ndarray, q_of_e, n_scatterers: int = 12, seed: int = 1
) -> np.ndarray:
    """(ny, nx, nb) Friedel-like standing waves around random point scatterers with wave vector q(E)
    (1/m): each slice is sum_j cos(2 pi q |r - r_j|) / sqrt(|r - r_j| + a few pixels)."""
    ny, nx = shape
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 1, (n_scatterers, 2)) * np.array([nx, ny]) * pixel
    y, x = np.mgrid[0:ny, 0:nx] * pixel
    dist = [np.hypot(x - px, y - py) for px, py in pos]
    cube = np.empty((ny, nx, energies.size), np.float32)
    for k, e in enumerate(energies):
        q = q_of_e(e)
        cube[:, :, k] = sum(np.cos(2 * np.pi * q * d) / np.sqrt(d + 4 * pixel) for d in dist)
    return cube
