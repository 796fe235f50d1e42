"""Small models for the fitting tests: a Lorentzian peak on a background (analytic Jacobian or not)."""

from __future__ import annotations

import numpy as np

from analysis.models.base import Model, Param


class Lorentzian(Model):
    """y = A * w^2 / ((x - x0)^2 + w^2) + c."""

    name = "test_lorentzian"
    title = "Lorentzian (test)"
    family = "test"
    params = (
        Param("A", "S", 1.0, 0.0, 100.0),
        Param("x0", "V", 0.0, -1.0, 1.0),
        Param("w", "V", 0.1, 1e-4, 1.0),
        Param("c", "S", 0.0, -10.0, 10.0),
    )
    has_jacobian = True

    def evaluate(self, x, A, x0, w, c):
        return A * w**2 / ((x - x0) ** 2 + w**2) + c

    def evaluate_batch(self, x, P):
        P = np.atleast_2d(P)
        A, x0, w, c = (P[:, i : i + 1] for i in range(4))
        return A * w**2 / ((x[None, :] - x0) ** 2 + w**2) + c

    def jacobian_batch(self, x, P):
        P = np.atleast_2d(P)
        A, x0, w, c = (P[:, i : i + 1] for i in range(4))
        u = x[None, :] - x0
        den = u**2 + w**2
        L = w**2 / den
        dA = L
        dx0 = A * w**2 * 2 * u / den**2
        dw = A * (2 * w * den - w**2 * 2 * w) / den**2
        dc = np.ones_like(L)
        return np.stack([dA, dx0, dw, dc], axis=-1)

    def guess(self, x, y):
        c = float(np.median(y[: max(2, len(y) // 10)]))
        i = int(np.argmax(y))
        A = float(y[i] - c)
        half = y > c + A / 2
        w = max(float(np.ptp(x[half])) / 2 if half.sum() > 1 else 0.1, 1e-3)
        return {"A": max(A, 1e-3), "x0": float(x[i]), "w": w, "c": c}


class LorentzianNoJac(Lorentzian):
    name = "test_lorentzian_nojac"
    has_jacobian = False

    def jacobian_batch(self, x, P):
        return None


class LorentzianLoop(LorentzianNoJac):
    """Only the scalar ``evaluate`` (the base class loops for batches)."""

    name = "test_lorentzian_loop"

    evaluate_batch = Model.evaluate_batch


def synthetic(n=200, nb=120, noise=0.01, seed=0):
    """(x, Y, P_true): n noisy Lorentzians with random parameters."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, nb)
    P = np.column_stack(
        [
            rng.uniform(0.5, 2.0, n),
            rng.uniform(-0.3, 0.3, n),
            rng.uniform(0.05, 0.2, n),
            rng.uniform(-0.1, 0.1, n),
        ]
    )
    Y = Lorentzian().evaluate_batch(x, P) + noise * rng.standard_normal((n, nb))
    return x, Y, P


def synthetic_grid(ny=12, nx=10, nb=100, noise=0.005, seed=0):
    """(Grid, true parameter maps (ny, nx, 4)): two 'grains' with different peak positions."""
    from analysis.dataset import Frame, Grid

    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, nb)
    iy, ix = np.mgrid[0:ny, 0:nx]
    P = np.empty((ny, nx, 4))
    P[..., 0] = 1.0 + 0.5 * ix / max(nx - 1, 1)
    P[..., 1] = np.where(ix < nx // 2, -0.1, 0.15)
    P[..., 2] = 0.08 + 0.04 * iy / max(ny - 1, 1)
    P[..., 3] = 0.05
    cube = Lorentzian().evaluate_batch(x, P.reshape(-1, 4)).reshape(ny, nx, nb)
    cube = cube + noise * rng.standard_normal(cube.shape)
    grid = Grid(
        name="synthetic",
        units={"dIdV": "S", "Current": "A"},
        bias=x,
        channels={"Current": np.zeros((ny, nx, nb), np.float32), "dIdV": cube.astype(np.float32)},
        frame=Frame(center=(1e-8, 2e-8), size=(nx * 1e-9, ny * 1e-9), shape=(ny, nx)),
        valid=np.ones((ny, nx), bool),
    )
    return grid, P


class FragileLorentzian(Lorentzian):
    """Raises for peaks left of x0 = -0.25 (a model that refuses some parameter values)."""

    name = "test_lorentzian_fragile"

    def evaluate_batch(self, x, P):
        P = np.atleast_2d(P)
        if np.any(P[:, 1] < -0.25):
            raise ValueError("x0 below -0.25 is not supported")
        return super().evaluate_batch(x, P)

    def jacobian_batch(self, x, P):
        P = np.atleast_2d(P)
        if np.any(P[:, 1] < -0.25):
            raise ValueError("x0 below -0.25 is not supported")
        return super().jacobian_batch(x, P)
