"""Region average (20% of the pixels) against one memory-bandwidth pass (``np.max``) over the cube."""

from __future__ import annotations

import numpy as np

from analysis.averaging import region_average
from analysis.dataset import Frame
from analysis.regions import Ellipse, Region
from tests.benchmarks.common import Row, best_time


def _cube(ny: int, nx: int, nb: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    cube = np.empty((ny, nx, nb), dtype=np.float32)
    for i in range(ny):
        cube[i] = rng.random((nx, nb), dtype=np.float32)
    return cube


def bench_region_average(quick: bool) -> list[Row]:
    ny, nx, nb = (128, 128, 256) if quick else (512, 512, 1024)
    cube = _cube(ny, nx, nb)
    frame = Frame(center=(0.0, 0.0), size=(1e-7, 1e-7), shape=(ny, nx))
    # an ellipse covering 20% of the frame: pi * a * b = 0.2 * L^2
    a = 1e-7 * np.sqrt(0.2 / np.pi)
    mask = Region("bench", geometry=Ellipse((0.0, 0.0), (2 * a, 2 * a))).mask_in(frame)
    frac = float(mask.mean())
    repeat = 7 if quick else 3
    t_max = best_time(lambda: np.max(cube), repeat=repeat)
    t_avg = best_time(lambda: region_average(cube, mask), repeat=repeat)
    ratio = t_avg / t_max
    size = f"{ny}x{nx}x{nb}"
    return [
        Row(
            f"region average {frac:.0%} of {size} vs np.max",
            ratio,
            "<= 3x",
            ratio <= 3.0,
            note=f"{t_avg * 1e3:.1f} ms vs {t_max * 1e3:.1f} ms",
        )
    ]


BENCHMARKS = [bench_region_average]
