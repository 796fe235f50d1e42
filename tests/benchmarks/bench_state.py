"""State-driven refreshes: the hover-to-curve data path against one ``PlotDataItem.setData`` of the same
curve (20 pins on 128x128x256), the whole hover update against a full redraw of every curve, and the
refreshes one real click causes (Qt offscreen)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.benchmarks.bench_gui import _grid
from tests.benchmarks.common import Row, best_time


def _wait(app: QApplication, until, timeout_s: float = 20.0) -> None:
    import time

    t0 = time.perf_counter()
    while not until() and time.perf_counter() - t0 < timeout_s:
        app.processEvents()
        time.sleep(0.002)


def bench_hover_and_click(quick: bool) -> list[Row]:
    from app.window.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    settings = QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, features=["app.features.fit"], restore_layout=False)
    w.resize(1400, 900)
    w.show()
    try:
        grid = _grid(128, 128, 256)
        key = w.state.add_dataset(grid, "bench")
        ex = w.exploration
        _wait(app, lambda: bool(ex.slicers) and ex.slicers[0].scheduler.idle())
        rng = np.random.default_rng(1)
        (x0, x1), (y0, y1) = (-90e-9, 90e-9), (-90e-9, 90e-9)
        for _ in range(20):
            w.state.pin(float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)))
        w.state.set_hover((1e-9, 2e-9))
        channels = ex._curve_channels(key, grid)
        item = ex.spectra.curve(key, "hover")
        x, y = item.getData()

        def data_path() -> None:
            ex._point_curves(key, grid, channels, ex._hover_point())

        t_data = best_time(data_path, repeat=7, number=50)
        t_set = best_time(lambda: item.setData(x, y), repeat=7, number=50)
        t_hover = best_time(ex._refresh_hover_curves, repeat=7, number=20)
        t_full = best_time(ex._refresh_curves, repeat=7, number=20)

        panel = ex.slicers[0].panel
        clicks = []
        for ix, iy in ((20, 30), (64, 64), (100, 12)):
            before = (ex.curve_refreshes, w.fit_controller.source_refreshes)
            p = panel.view_to_widget(*grid_xy(grid, iy, ix))
            QTest.mouseClick(
                panel.graphics.viewport(),
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
                QPoint(round(p.x()), round(p.y())),
            )
            app.processEvents()
            clicks.append((ex.curve_refreshes - before[0], w.fit_controller.source_refreshes - before[1]))
    finally:
        w.close()
        app.processEvents()
    per_click = max(max(c) for c in clicks)
    return [
        Row(
            "hover-to-curve data path, 20 pins, vs PlotDataItem.setData",
            t_data / t_set,
            "<= 0.5x",
            t_data / t_set <= 0.5,
            note=f"{t_data * 1e6:.0f} us vs {t_set * 1e6:.0f} us",
        ),
        Row(
            "hover update (hover curve only) vs redraw of all 22 curves",
            t_hover / t_full,
            "info",
            True,
            note=f"{t_hover * 1e3:.2f} ms vs {t_full * 1e3:.2f} ms",
        ),
        Row(
            "refreshes per click (curves, fit sources), 3 real clicks",
            per_click,
            "1",
            all(c == (1, 1) for c in clicks),
            unit="",
            note=f"{clicks}",
        ),
    ]


def grid_xy(grid, iy: int, ix: int) -> tuple[float, float]:
    """Physical (x, y) metres of pixel (iy, ix) of ``grid``'s frame."""
    x, y = grid.frame.pixel_to_xy(ix, iy)
    return float(x), float(y)


BENCHMARKS = [bench_hover_and_click]
