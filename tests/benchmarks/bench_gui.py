"""Slicer responsiveness: bias slice + redraw against ``ImageItem.setImage`` of a ready image, and the
click-to-spectrum data path against that redraw (Qt offscreen)."""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from analysis.dataset import Frame, Grid
from analysis.processing.bias_major import bias_major_copy
from app.workers.slicing import SliceRequest, compute_slice
from tests.benchmarks.common import Row, best_time


def _app() -> QApplication:
    return QApplication.instance() or QApplication([])


def _grid(ny: int, nx: int, nb: int) -> Grid:
    rng = np.random.default_rng(0)
    cube = np.empty((ny, nx, nb), dtype=np.float32)
    for i in range(ny):
        cube[i] = rng.random((nx, nb), dtype=np.float32)
    return Grid(
        name="bench",
        bias=np.linspace(-0.02, 0.02, nb),
        channels={"dI/dV": cube},
        units={"dI/dV": "S"},
        frame=Frame(size=(200e-9, 200e-9), shape=(ny, nx)),
        valid=np.ones((ny, nx), bool),
    )


def bench_slice_redraw(quick: bool) -> list[Row]:
    from widgets.slicer_panel import SlicerPanel

    _app()
    ny, nx, nb = (512, 512, 64) if quick else (512, 512, 1024)
    grid = _grid(ny, nx, nb)
    t0 = time.perf_counter()
    cache = bias_major_copy(grid.channels["dI/dV"])
    t_copy = time.perf_counter() - t0
    levels = (0.0, 1.0)
    repeat = 30

    ready = np.ascontiguousarray(grid.channels["dI/dV"][:, :, nb // 2])
    floor_item = pg.ImageItem(axisOrder="row-major")
    floor_item.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))

    def floor() -> None:
        floor_item.setImage(ready, autoLevels=False, levels=levels)
        floor_item.render()

    panel = SlicerPanel("bench")
    panel.dataset_key = "k"
    panel.set_sweep(grid.bias)
    panel.set_frame(grid.frame)
    panel.set_level_mode("global", levels)
    state = {"k": 0}

    def redraw(use_cache: bool, mode: str) -> None:
        k = state["k"] = (state["k"] + 7) % nb
        req = SliceRequest("k", "dI/dV", k)
        image = compute_slice(grid, req, cache if use_cache else None)
        panel.level_mode = mode
        panel.show_slice(image, k)
        panel.image_item.render()

    t_floor = best_time(floor, repeat=repeat)
    t_cached = best_time(lambda: redraw(True, "global"), repeat=repeat)
    t_pct = best_time(lambda: redraw(True, "percentile"), repeat=repeat)
    t_strided = best_time(lambda: redraw(False, "global"), repeat=repeat)

    # click to spectrum: nearest pixel of a physical point, then the pixel's spectrum (data part)
    rng = np.random.default_rng(1)
    pts = grid.frame.pixel_to_xy(rng.uniform(0, nx - 1, 64), rng.uniform(0, ny - 1, 64))
    idx = {"i": 0}

    def click() -> None:
        i = idx["i"] = (idx["i"] + 1) % 64
        pix = grid.frame.nearest_pixel(float(pts[0][i]), float(pts[1][i]))
        grid.spectrum("dI/dV", *pix)

    t_click = best_time(click, repeat=repeat, number=20)
    size = f"{ny}x{nx}x{nb}"
    panel.deleteLater()
    r1, r2, r3, r4 = t_cached / t_floor, t_pct / t_floor, t_strided / t_floor, t_click / t_floor
    note = f"setImage+render {t_floor * 1e3:.2f} ms"
    return [
        Row(
            f"bias slice + redraw {size} (bias-major copy)",
            r1,
            "<= 1.5x",
            r1 <= 1.5,
            note=f"{t_cached * 1e3:.2f} ms, {note}",
        ),
        Row(
            f"bias slice + redraw {size}, percentile levels",
            r2,
            "<= 1.5x",
            r2 <= 1.5,
            note=f"{t_pct * 1e3:.2f} ms",
        ),
        Row(
            f"bias slice + redraw {size}, strided (no copy yet)",
            r3,
            "info",
            True,
            note=f"{t_strided * 1e3:.2f} ms",
        ),
        Row(f"bias-major display copy {size}, built once in the background", t_copy, "info", True, unit=" s"),
        Row(
            f"click to spectrum data path {size} vs redraw",
            r4,
            "<= 0.1x",
            r4 <= 0.1,
            note=f"{t_click * 1e6:.1f} us",
        ),
    ]


def bench_newest_wins(quick: bool) -> list[Row]:
    """100 slider moves posted at once are rendered once or twice, never 100 times."""
    from PySide6.QtCore import QEventLoop, QTimer

    from app.workers.slicing import BiasMajorCache, SliceScheduler

    _app()
    grid = _grid(128, 128, 256)
    sched = SliceScheduler(lambda key: grid, BiasMajorCache())
    got: list[int] = []
    sched.ready.connect(lambda req, img: got.append(req.index))
    for k in range(100):
        sched.request("k", "dI/dV", k)
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: sched.idle() and loop.quit())
    timer.start(5)
    QTimer.singleShot(10000, loop.quit)
    loop.exec()
    timer.stop()
    sched.shutdown()
    ok = got == [99]
    return [
        Row(
            "slider: 100 requests posted at once -> renders",
            len(got),
            "1, the newest",
            ok,
            unit="",
            note=f"computed {sched.computed}, rendered index {got[-1] if got else None}",
        )
    ]


BENCHMARKS = [bench_slice_redraw, bench_newest_wins]
