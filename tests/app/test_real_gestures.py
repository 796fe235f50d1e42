"""Real files and real gestures in the main window: the mouse moved and clicked on the real viewport,
checked against what the window shows (status bar, plots, rendered pixels)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from tests.app.gui_support import close_window, open_window, pixel_xy, wait_slicers_idle
from tests.conftest import shared_file

LOCKIN_GRID = "nanonis/NanonisReader_STS_grid_lockin.3ds"


@pytest.fixture
def window(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=None)
    yield w
    close_window(qtbot, w)


def _open(qtbot, w, path) -> str:
    n = len(w.state.entries)
    w.open_files([str(path)])
    qtbot.waitUntil(lambda: len(w.state.entries) > n, timeout=20000)
    wait_slicers_idle(qtbot, w)
    return list(w.state.entries)[-1]


def _hover(qtbot, panel, x: float, y: float) -> None:
    pos = panel.view_to_widget(x, y)
    qtbot.mouseMove(panel.graphics.viewport(), QPoint(round(pos.x()), round(pos.y())))


def test_status_bar_readout_is_whole_and_names_the_slicers_bias(qtbot, window):
    key = _open(qtbot, window, shared_file(LOCKIN_GRID))
    slicer = window.exploration.slicers_for(key)[0]
    grid = slicer.grid
    for n, k in enumerate((slicer.panel.index(), 3, len(grid.bias) - 2)):
        slicer.panel.slider.setFocus()
        # walk the slider there with the keyboard
        while slicer.panel.index() != k:
            key_ = "Right" if slicer.panel.index() < k else "Left"
            qtbot.keyClick(slicer.panel.slider, getattr(Qt.Key, f"Key_{key_}"))
        wait_slicers_idle(qtbot, window)
        x, y = pixel_xy(grid, 7, 11 + n)
        window.readout.setText("")
        _hover(qtbot, slicer.panel, x, y)
        qtbot.waitUntil(lambda: "pixel" in window.readout.text())
        text = window.readout.text()
        # the bias read-out is the one the slicer shows, in the same digits and unit
        assert f"{grid.sweep_signal} = {slicer.panel.sweep_text()}" in text, (text, slicer.panel.sweep_text())
        # the whole read-out fits its label: nothing is cut at the right edge
        label = window.readout
        assert label.fontMetrics().horizontalAdvance(text) <= label.contentsRect().width(), text
    # a read-out too long for its label keeps the value and the bias whole and cuts only the end
    long = "LI Demod 1 X (A) = 210.2 pA  |  Bias = -1.106 mV  |  " + "x = 83.27 nm, y = 632.51 nm  |  " * 5
    window.readout.setText(long)
    shown = window.readout.shown_text()
    assert shown.startswith("LI Demod 1 X (A) = 210.2 pA  |  Bias = -1.106 mV") and shown.endswith("…")
    assert window.readout.toolTip() == long
