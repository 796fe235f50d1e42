"""Helpers for the benchmark script: timing and the printed row."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analysis.dataset import Frame


@dataclass
class Row:
    """One budget: ``measured`` (a ratio or a value, with ``unit``) against ``budget`` (text)."""

    name: str
    measured: float
    budget: str
    ok: bool
    unit: str = "x"
    note: str = ""

    def format(self) -> str:
        m = f"{self.measured:.4g}{self.unit}"
        tail = f"  ({self.note})" if self.note else ""
        return f"{self.name:58s} {m:>14s} {self.budget:>14s}  {'ok' if self.ok else 'FAIL'}{tail}"


def best_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Best wall time in seconds of ``number`` calls, over ``repeat`` runs (GC off while timing)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            dt = (time.perf_counter() - t0) / number
        finally:
            gc.enable()
        best = min(best, dt)
    return best


def random_cube(ny: int, nx: int, nb: int) -> np.ndarray:
    """A (ny, nx, nb) float32 cube of uniform random values in [0, 1) (seed 0), filled row by row."""
    rng = np.random.default_rng(0)
    cube = np.empty((ny, nx, nb), dtype=np.float32)
    for i in range(ny):
        cube[i] = rng.random((nx, nb), dtype=np.float32)
    return cube


def map_cube(quick: bool) -> tuple[np.ndarray, Frame]:
    """The random cube of the map benchmarks, (128, 128, 256) quick or (512, 512, 1024) in full, and its
    100 nm x 100 nm frame centred on the origin."""
    ny, nx, nb = (128, 128, 256) if quick else (512, 512, 1024)
    cube = random_cube(ny, nx, nb)
    frame = Frame(center=(0.0, 0.0), size=(1e-7, 1e-7), shape=(ny, nx))
    return cube, frame
