"""The fit dock fits the channel the user is looking at, on the real lock-in grid, with real input events."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from analysis.io.registry import read_file
from tests.app.gui_support import click_map, close_window, open_window, wait_slicers_idle
from tests.app.real_input import choose, menu_action
from tests.conftest import shared_file
from tests.widgets.region_mouse import drag

pytestmark = pytest.mark.realdata


@pytest.fixture
def window(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=None)
    yield w
    close_window(qtbot, w)
    w.shutdown()


def _open_lockin_grid(qtbot, window):
    path = shared_file("nanonis/NanonisReader_STS_grid_lockin.3ds")
    window.open_files([path])
    wait_slicers_idle(qtbot, window, n=1, timeout=30000)
    key = next(iter(window.state.entries))
    return key, window.state.entries[key].dataset, read_file(path)[0]


def test_fit_dock_uses_the_slicer_channel_on_the_real_lockin_grid(qtbot, window):
    key, grid, ref = _open_lockin_grid(qtbot, window)
    slicer = window.exploration.slicers[0]
    assert slicer.channel == "LockinX"
    iy, ix = 12, 7
    x, y = grid.frame.pixel_to_xy(ix, iy)
    click_map(qtbot, slicer.panel, float(x), float(y))
    qtbot.waitUntil(lambda: window.state.cursor is not None)
    menu_action(qtbot, window, "Analysis", "Fit spectrum")
    fit = window.fit_controller
    panel = fit.panel
    qtbot.waitUntil(lambda: panel.isVisible())
    choose(qtbot, panel.model_combo, "sis_conductance")
    choose(qtbot, panel.source_combo, "cursor")
    assert panel.current_channel() == "LockinX"
    pix = grid.frame.nearest_pixel(*window.state.cursor)
    _x, y_data = panel.data_arrays()
    np.testing.assert_allclose(y_data, ref.channels["LockinX"][pix[0], pix[1]].astype(float))
    left = panel.plot.getAxis("left").labelText
    assert "LockinX" in left and "pS" not in panel.plot.getAxis("left").labelString()

    # the slicer changes channel: the fit dock follows
    choose(qtbot, slicer.panel.channel_combo, "Current")
    qtbot.waitUntil(lambda: panel.current_channel() == "Current")
    # a dI/dV model on the current: fitted to the numerical derivative, said on the axis and under the chooser
    assert "numerical" in panel.plot.getAxis("left").labelText
    assert panel.plot.getAxis("left").labelUnits == "S"
    assert "numerical dI/dV" in panel.channel_note_text()
    _x, y_data = panel.data_arrays()
    cur = ref.channels["Current"][pix[0], pix[1]].astype(float)
    np.testing.assert_allclose(y_data, np.gradient(cur, ref.bias, edge_order=2), rtol=1e-6, atol=1e-18)

    # the user picks a channel in the fit dock: it stays, whatever the slicer shows
    choose(qtbot, panel.channel_combo, "LockinX")
    choose(qtbot, slicer.panel.channel_combo, "LockinY")
    assert panel.current_channel() == "LockinX"

    # a current model on a conductance channel: refused with the reason, no fit started
    choose(qtbot, panel.model_combo, "sis_current")
    assert "Cannot fit" in panel.channel_note_text()
    qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    assert fit.job is None and "cannot fit" in panel.report().lower()


def test_batch_dialog_and_region_spectra_default_to_the_slicer_channel(qtbot, window):
    key, grid, _ref = _open_lockin_grid(qtbot, window)
    slicer = window.exploration.slicers[0]
    choose(qtbot, slicer.panel.channel_combo, "LockinY")
    menu_action(qtbot, window, "Analysis", "Batch fit to parameter maps...")
    dlg = window.fit_controller.dialog
    qtbot.waitUntil(lambda: dlg is not None and dlg.isVisible())
    assert dlg.channel_combo.currentText() == "LockinY"
    dlg.close()


def test_region_spectra_average_the_slicer_channel_on_the_real_lockin_grid(qtbot, window):
    key, grid, ref = _open_lockin_grid(qtbot, window)
    slicer = window.exploration.slicers[0]
    ctl = window.regions
    panel = slicer.panel
    fr = grid.frame
    # draw a rectangle over part of the grid with the mouse
    ctl.list_panel.tool_buttons["rectangle"].click()
    c = np.asarray(fr.center)
    w_, h_ = fr.size
    pts = [
        c + np.array([-0.3 * w_, -0.3 * h_]) + t * np.array([0.5 * w_, 0.5 * h_])
        for t in np.linspace(0, 1, 9)
    ]
    drag(panel.graphics.viewport(), [panel.view_to_widget(float(x), float(y)) for x, y in pts])
    assert len(window.state.regions) == 1
    region = next(iter(window.state.regions.values()))
    qtbot.waitUntil(lambda: not ctl.is_busy() and region.id in ctl.averages.get(key, {}), timeout=15000)
    sp = ctl.spectra_panel
    choose(qtbot, sp.mode_combo, "none")
    assert sp.current_channel(key) == "LockinX"
    mask = region.mask_in(fr)
    x, y = sp.curve_data(key, region.id)
    np.testing.assert_allclose(y, ref.channels["LockinX"][mask].astype(np.float64).mean(axis=0), rtol=1e-5)
    assert "LockinX" in sp.plot_widget(key).getAxis("left").labelText

    # the slicer shows the current: the region spectra follow, labelled as a current
    choose(qtbot, panel.channel_combo, "Current")
    qtbot.waitUntil(lambda: not ctl.is_busy() and sp.current_channel(key) == "Current", timeout=15000)
    qtbot.waitUntil(lambda: ctl.average_channels.get(key) == "Current", timeout=15000)
    x, y = sp.curve_data(key, region.id)
    np.testing.assert_allclose(y, ref.channels["Current"][mask].astype(np.float64).mean(axis=0), rtol=1e-5)
    left = sp.plot_widget(key).getAxis("left").labelText
    assert left.startswith("Current") and "dI/dV" not in left

    # chosen in the dock: LockinY is averaged whatever the slicer shows
    choose(qtbot, sp.channel_combo(key), "LockinY")
    qtbot.waitUntil(lambda: not ctl.is_busy() and ctl.average_channels.get(key) == "LockinY", timeout=15000)
    choose(qtbot, panel.channel_combo, "LockinX")
    qtbot.waitUntil(lambda: not ctl.is_busy(), timeout=15000)
    assert ctl.average_channels[key] == "LockinY" and sp.current_channel(key) == "LockinY"
