"""Topography: polynomial levelling against ``np.linalg.lstsq`` on the same design, and a width-averaged
profile against bare ``scipy.ndimage.map_coordinates`` on the same sample points."""

from __future__ import annotations

import time

import numpy as np
from numpy.polynomial import legendre
from scipy import ndimage

from analysis.dataset import Frame
from analysis.topography.levelling import poly_terms, polynomial_background
from analysis.topography.profiles import line_profile
from tests.benchmarks.common import Row, best_time


def _surface(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:n, 0:n] / n
    z = 1e-9 * (0.3 * xx - 0.2 * yy + 0.5 * xx * yy - 0.4 * xx**3) + rng.normal(scale=1e-11, size=(n, n))
    return z


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(best wall s over ``repeat`` runs, mean CPU s of ``repeat`` further calls, all threads) of ``fn``."""
    wall = best_time(fn, repeat=repeat)
    c0 = time.process_time()
    for _ in range(repeat):
        fn()
    return wall, (time.process_time() - c0) / repeat


def bench_plane_order3(quick: bool) -> list[Row]:
    n = 512 if quick else 2048
    order = 3
    z = _surface(n)
    mask = np.ones(z.shape, bool)
    mask[n // 4 : n // 2, n // 3 : n // 2] = False  # an excluded region: the masked path
    u = np.linspace(-1.0, 1.0, n)
    lv = legendre.legvander(u, order)

    def reference(m: np.ndarray | None) -> np.ndarray:
        cols = [(lv[:, j][:, None] * lv[:, i][None, :]) for (i, j) in poly_terms(order)]
        if m is None:
            a = np.column_stack([c.ravel() for c in cols])
            coef, *_ = np.linalg.lstsq(a, z.ravel(), rcond=None)
        else:
            a = np.column_stack([c[m] for c in cols])
            coef, *_ = np.linalg.lstsq(a, z[m], rcond=None)
        return sum(c * k for c, k in zip(cols, coef, strict=True))

    rows = []
    for label, m in (("full image", None), ("masked", mask)):
        ref = reference(m)
        ours = polynomial_background(z, order, m)
        if not np.allclose(ours, ref, rtol=0, atol=1e-6 * np.ptp(z)):
            rows.append(Row(f"plane order 3 {label}: differs from lstsq", float("nan"), ">= 5x", False))
            continue
        repeat = 5 if quick else 2
        t_ref, c_ref = _timed(lambda m=m: reference(m), repeat)
        t_our, c_our = _timed(lambda m=m: polynomial_background(z, order, m), repeat)
        ratio = t_ref / t_our
        budget = 10.0 if m is None else 3.0
        rows.append(
            Row(
                f"plane order 3 ({label}) {n}x{n} vs lstsq on the design",
                ratio,
                f">= {budget:g}x",
                ratio >= budget,
                note=f"{t_our * 1e3:.0f} ms (CPU {c_our * 1e3:.0f}) vs "
                f"{t_ref * 1e3:.0f} ms (CPU {c_ref * 1e3:.0f})",
            )
        )
    return rows


def bench_profile_width20(quick: bool) -> list[Row]:
    n = 512 if quick else 2048
    z = _surface(n).astype(np.float32)
    frame = Frame(center=(0.0, 0.0), size=(n * 1e-10, n * 1e-10), shape=(n, n))
    verts = [frame.pixel_to_xy(10.3, 20.7), frame.pixel_to_xy(n - 15.2, n - 30.9)]
    width = 20 * frame.pixel_size[0]
    p = line_profile(z, frame, verts, width)
    # the same sample points, rebuilt, then one map_coordinates call and a mean across the width
    (x0, y0), (x1, y1) = verts
    length = np.hypot(x1 - x0, y1 - y0)
    nrm = np.array([-(y1 - y0), x1 - x0]) / length
    offs = (np.arange(p.n_width) - (p.n_width - 1) / 2) * (width / p.n_width)
    xs = (p.x[None, :] + offs[:, None] * nrm[0]).ravel()
    ys = (p.y[None, :] + offs[:, None] * nrm[1]).ravel()

    def reference() -> np.ndarray:
        fx, fy = frame.xy_to_pixel(xs, ys)
        s = ndimage.map_coordinates(z, [fy, fx], output=np.float64, order=1, mode="nearest")
        return s.reshape(p.n_width, -1).mean(axis=0)

    ref = reference()
    ok = np.isfinite(p.values)
    if not np.allclose(p.values[ok], ref[ok], rtol=1e-9, atol=1e-18) or ok.mean() < 0.95:
        return [Row("profile width 20: differs from map_coordinates", float("nan"), "<= 2x", False)]
    repeat = 20 if quick else 10
    t_ref, c_ref = _timed(reference, repeat)
    t_our, c_our = _timed(lambda: line_profile(z, frame, verts, width), repeat)
    ratio = t_our / t_ref
    return [
        Row(
            f"profile {p.values.size} pts x {p.n_width} wide on {n}x{n} vs map_coordinates",
            ratio,
            "<= 2x",
            ratio <= 2.0,
            note=f"{t_our * 1e3:.1f} ms (CPU {c_our * 1e3:.1f}) vs "
            f"{t_ref * 1e3:.1f} ms (CPU {c_ref * 1e3:.1f})",
        )
    ]


BENCHMARKS = [bench_plane_order3, bench_profile_width20]
