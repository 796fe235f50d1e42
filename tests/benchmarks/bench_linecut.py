"""Line cut with bilinear interpolation against a loop of ``scipy.ndimage.map_coordinates`` over biases."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from analysis.maps.linecut import line_cut
from tests.benchmarks.common import Row, best_time, map_cube


def bench_line_cut(quick: bool) -> list[Row]:
    cube, frame = map_cube(quick)
    ny, nx, nb = cube.shape
    # a two-segment polyline across the frame, one sample per pixel along it
    verts = [
        frame.pixel_to_xy(3.3, 5.1),
        frame.pixel_to_xy(nx - 4.2, ny * 0.6),
        frame.pixel_to_xy(nx * 0.3, ny - 2.7),
    ]
    verts = [(float(x), float(y)) for x, y in verts]
    cut = line_cut(cube, frame, verts)
    fx, fy = cut.pixel[:, 0], cut.pixel[:, 1]

    def loop() -> np.ndarray:
        out = np.empty((fx.size, nb), np.float32)
        for k in range(nb):
            out[:, k] = ndimage.map_coordinates(cube[:, :, k], [fy, fx], order=1, mode="nearest")
        return out

    ref = loop()
    if not np.allclose(ref, cut.values, rtol=1e-5, atol=1e-6):
        return [Row("line cut: vectorised values differ from map_coordinates", float("nan"), ">= 10x", False)]
    # best of several runs, each averaging several cuts (warm caches, as while a user drags a cut)
    repeat, n_cut, n_loop = (15, 20, 2) if quick else (3, 5, 1)
    t_loop = best_time(loop, repeat=repeat, number=n_loop)
    t_cut = best_time(lambda: line_cut(cube, frame, verts), repeat=repeat, number=n_cut)
    ratio = t_loop / t_cut
    return [
        Row(
            f"line cut {cut.n_points} points of {ny}x{nx}x{nb} vs map_coordinates loop",
            ratio,
            ">= 10x",
            ratio >= 10.0,
            note=f"{t_cut * 1e3:.2f} ms vs {t_loop * 1e3:.1f} ms",
        )
    ]


BENCHMARKS = [bench_line_cut]
