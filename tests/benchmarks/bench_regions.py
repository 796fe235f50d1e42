"""Region average (20% of the pixels) against one memory-bandwidth pass (``np.max``) over the cube."""

from __future__ import annotations

import numpy as np

from analysis.maps.averaging import region_average
from analysis.maps.regions import Ellipse, Region
from tests.benchmarks.common import Row, best_time, map_cube


def bench_region_average(quick: bool) -> list[Row]:
    cube, frame = map_cube(quick)
    ny, nx, nb = cube.shape
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
