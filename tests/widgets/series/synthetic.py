"""Synthetic transport series for the view tests, plain numpy: I(V) of a junction whose gap shrinks with
field, each sweep measured up then down (a non-monotonic x)."""

from __future__ import annotations

import numpy as np

DELTA0 = 1.0e-3  # V, the gap at zero field
R_N = 100.0  # Ohm
H_C = 1.0  # T


def gap(h: np.ndarray | float) -> np.ndarray:
    """Gap (V) at field h (T): DELTA0 * sqrt(1 - (h / H_C)^2), 0 above H_C."""
    return DELTA0 * np.sqrt(np.clip(1.0 - (np.asarray(h) / H_C) ** 2, 0.0, None))


def current(v: np.ndarray, delta: float) -> np.ndarray:
    """I (A) at bias v (V): ohmic above 2*delta, suppressed below it by a tanh edge."""
    edge = 0.5 * (1.0 + np.tanh((np.abs(v) - 2.0 * delta) / (0.1 * DELTA0 + 0.05 * delta)))
    return v / R_N * edge


def series(n_sweeps: int = 12, n_points: int = 400, h_max: float = 0.9):
    """(xs, ys, h): bias V (n_points,) up then down from -4 mV to 4 mV, current I (n_points,) in A, and
    the field tag h (n_sweeps,) in T from 0 to ``h_max``."""
    h = np.linspace(0.0, h_max, n_sweeps)
    half = n_points // 2
    v = np.concatenate([np.linspace(-4e-3, 4e-3, half), np.linspace(4e-3, -4e-3, n_points - half)])
    xs = [v.copy() for _ in h]
    ys = [current(v, float(gap(hi))) for hi in h]
    return xs, ys, h


def map_data(n_tags: int = 60, n_x: int = 200, h_max: float = 0.9):
    """(x, h, z): x (n_x,) bias in V, h (n_tags,) field in T, z (n_tags, n_x) a dV/dI-like quantity in
    Ohm, with peaks at +-2*gap(h)."""
    x = np.linspace(-4e-3, 4e-3, n_x)
    h = np.linspace(0.0, h_max, n_tags)
    d = 2.0 * gap(h)[:, None]
    w = 0.15e-3
    z = R_N * (1.0 + 2.0 * np.exp(-(((np.abs(x)[None, :] - d) / w) ** 2)))
    return x, h, z
