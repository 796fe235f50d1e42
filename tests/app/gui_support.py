"""Support code for the main-window tests: a synthetic grid, window set-up and mouse actions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QSettings, Qt

from analysis.dataset import Frame, Grid, Source


def make_grid(
    ny: int = 12, nx: int = 16, nb: int = 41, angle: float = 0.0, name: str = "synthetic", size: float = 40e-9
) -> Grid:
    """A grid whose dI/dV at (iy, ix, k) is ``(1 + iy * nx + ix) * 1e-9 * (1 + bias_k / 10 mV)`` S and
    whose current is its integral; Z is a tilted plane with a step."""
    bias = np.linspace(-10e-3, 10e-3, nb)
    iy, ix = np.mgrid[0:ny, 0:nx]
    g0 = (1.0 + iy * nx + ix)[:, :, None] * 1e-9
    didv = (g0 * (1 + bias / 10e-3)).astype(np.float32)
    current = (g0 * (bias + bias**2 / 20e-3)).astype(np.float32)
    z = 1e-10 * ix + 2e-10 * iy + 1e-9 * (ix > nx // 2)
    return Grid(
        name=name,
        units={"dI/dV": "S", "Current": "A"},
        source=Source(path=f"{name}.3ds", reader="synthetic"),
        bias=bias,
        channels={"dI/dV": np.ascontiguousarray(didv), "Current": np.ascontiguousarray(current)},
        frame=Frame(center=(0.0, 0.0), size=(size, size * ny / nx), angle=angle, shape=(ny, nx)),
        params={"Z": z.astype(np.float64)},
        param_units={"Z": "m"},
        valid=np.ones((ny, nx), bool),
    )


def temp_settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def open_window(
    qtbot, tmp_path: Path, features: tuple[str, ...] | list[str] | None = (), restore: bool = False
):
    """A shown main window with its settings in ``tmp_path``; ``features=None`` installs every feature."""
    from app.window.main_window import MainWindow

    w = MainWindow(settings=temp_settings(tmp_path), features=features, restore_layout=restore)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


@contextmanager
def window_maker(
    qtbot, tmp_path: Path, features: Sequence[str], size: tuple[int, int] = (1400, 900)
) -> Iterator:
    """Yields ``make(name="w")``: a shown main window with ``features`` (each must install) and its own
    settings file ``tmp_path / name.ini``; every window made is shut down on leaving."""
    from app.window.main_window import MainWindow

    made = []

    def make(name: str = "w"):
        settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
        w = MainWindow(settings=settings, features=list(features), restore_layout=False)
        qtbot.addWidget(w)
        missing = [f for f in features if f not in w.features_installed]
        assert not missing, (missing, w.features_failed)
        w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    try:
        yield make
    finally:
        for w in made:
            w.shutdown()


def close_window(qtbot, w) -> None:
    w.close()
    qtbot.waitUntil(lambda: not w.active_jobs(), timeout=10000)


def wait_slicers_idle(qtbot, w, n: int | None = None, timeout: int = 15000) -> None:
    ex = w.exploration

    def ready() -> bool:
        if n is not None and len(ex.slicers) < n:
            return False
        return (
            all(s.scheduler.idle() and s.panel.shown_index == s.panel.index() for s in ex.slicers)
            and not w.loader.loading
            and not ex.turns.pending()
        )

    qtbot.waitUntil(ready, timeout=timeout)


def click_map(qtbot, panel, x: float, y: float, shift: bool = False) -> None:
    """Left-click the physical point (x, y) of a map panel (Shift+click pins)."""
    pos = panel.view_to_widget(x, y)
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(
        panel.graphics.viewport(), Qt.MouseButton.LeftButton, mods, QPoint(round(pos.x()), round(pos.y()))
    )


def pixel_xy(grid: Grid, iy: int, ix: int) -> tuple[float, float]:
    x, y = grid.frame.pixel_to_xy(ix, iy)
    return float(x), float(y)
