"""Driving the real window: demo, slicing, clicking, pinning, keyboard, bad files, real grids."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from analysis.io import read_file
from tests.app.gui_support import (
    click_map,
    make_grid,
    pixel_xy,
    temp_settings,
    wait_slicers_idle,
)
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def shared_window(qapp, tmp_path_factory):
    from app.window.main_window import MainWindow

    w = MainWindow(
        settings=temp_settings(tmp_path_factory.mktemp("settings")), features=[], restore_layout=False
    )
    w.resize(1400, 900)
    w.show()
    yield w
    w.close()
    w.deleteLater()


@pytest.fixture
def window(shared_window, qtbot):
    """One window for the module; each test starts from an empty workbench."""
    w = shared_window
    yield w
    qtbot.waitUntil(lambda: not w.active_jobs() and not w.loader.loading, timeout=15000)
    w.exploration.spectra.quantity_combo.setCurrentIndex(0)
    w.exploration.spectra.direction_combo.setCurrentIndex(0)
    for p in list(w.state.pinned):
        w.state.unpin(p.key)
    w.state.set_cursor(None)
    w.state.set_hover(None)
    for key in list(w.state.entries):
        if key in w.state.entries:
            w.state.remove_dataset(key)
    if w.loader.message_box is not None:
        w.loader.message_box.close()
        w.loader.message_box = None
    w.loader.last_error = None
    assert w.exploration.slicers == [] and w.map_panels() == [w.exploration.topography]


def _curve_y(w, key, cid):
    item = w.exploration.spectra.curve(key, cid)
    assert item is not None, f"no curve {cid} in plot {key}"
    return item.getData()


@pytest.mark.slow
def test_demo_opens_two_slicers_at_meaningful_biases(qtbot, window):
    window.open_demo()
    wait_slicers_idle(qtbot, window, n=2, timeout=30000)
    qp_key, j_key = list(window.state.entries)
    qp = window.state.entries[qp_key].dataset
    jos = window.state.entries[j_key].dataset
    s_qp, s_j = window.exploration.slicers
    assert s_qp.key == qp_key and s_j.key == j_key
    assert s_qp.panel.shown_index == qp.bias_index(-5e-3)
    assert abs(qp.bias[s_qp.panel.shown_index] + 5e-3) < 1e-4
    assert abs(jos.bias[s_j.panel.shown_index]) < 1e-5
    # the displayed map is the data at that bias
    np.testing.assert_array_equal(s_qp.panel.current_image(), qp.bias_slice("dI/dV", s_qp.panel.shown_index))
    # the grids are co-registered: one plot each in the spectrum view
    assert window.exploration.spectra.plot_keys() == [qp_key, j_key]
    # topography shows the (plane-levelled) Z of the current grid
    topo = window.exploration.topography
    assert topo.dataset_key == qp_key and topo.current_image().shape == qp.frame.shape


def test_click_pixel_plots_its_spectra_from_every_coregistered_grid(qtbot, window):
    a = make_grid(name="qp")
    b = make_grid(name="josephson", nb=21)
    b.channels["dI/dV"] *= 2
    ka = window.state.add_dataset(a, "qp")
    kb = window.state.add_dataset(b, "jj")
    wait_slicers_idle(qtbot, window, n=2)
    panel_b = window.exploration.slicers_for(kb)[0].panel
    iy, ix = 7, 5
    click_map(qtbot, panel_b, *pixel_xy(a, iy, ix))
    qtbot.waitUntil(lambda: window.state.cursor is not None)
    assert a.frame.nearest_pixel(*window.state.cursor) == (iy, ix)
    x, y = _curve_y(window, ka, "cursor")
    np.testing.assert_array_equal(x, a.bias)
    np.testing.assert_array_equal(y, a.channels["dI/dV"][iy, ix])
    x, y = _curve_y(window, kb, "cursor")
    np.testing.assert_array_equal(y, b.channels["dI/dV"][iy, ix])
    # every map shows the crosshair at the same physical point, the topography too
    for panel in window.map_panels():
        cross = panel.crosshair()
        assert cross is not None and np.allclose(cross, window.state.cursor)
    # the current quantity switch moves every plot to the current channel
    window.exploration.spectra.quantity_combo.setCurrentIndex(1)
    x, y = _curve_y(window, ka, "cursor")
    np.testing.assert_array_equal(y, a.channels["Current"][iy, ix])


def test_rendered_map_pixels_match_data_through_the_lut(qtbot, window):
    g = make_grid(ny=8, nx=8, nb=11)
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    panel = window.exploration.slicers_for(key)[0].panel
    panel.set_colormap("viridis")
    image = panel.current_image()
    lo, hi = panel.levels()
    lut = panel.lookup_table(256)
    grab = panel.graphics.grab().toImage()
    ratio = grab.width() / panel.graphics.viewport().width()
    checked = 0
    for iy, ix in [(0, 0), (0, 7), (3, 4), (7, 0), (7, 7), (5, 2)]:
        pos = panel.view_to_widget(*pixel_xy(g, iy, ix))
        c = grab.pixelColor(round(pos.x() * ratio), round(pos.y() * ratio))
        frac = np.clip((image[iy, ix] - lo) / (hi - lo), 0, 1)
        expected = lut[min(int(frac * 256), 255)][:3]
        got = np.array([c.red(), c.green(), c.blue()])
        assert np.abs(got - expected).max() <= 6, (iy, ix, got, expected)
        checked += 1
    assert checked == 6
    # row 0 is drawn at the bottom: the first row's centre is lower on screen than the last row's
    assert panel.view_to_widget(*pixel_xy(g, 0, 0)).y() > panel.view_to_widget(*pixel_xy(g, 7, 0)).y()


def test_rotated_frame_places_pixels_where_the_frame_says(qtbot, window):
    g = make_grid(ny=6, nx=6, nb=5, angle=30.0)
    key = window.state.add_dataset(g, "rot")
    wait_slicers_idle(qtbot, window, n=1)
    panel = window.exploration.slicers_for(key)[0].panel
    tr = panel.image_item.transform()
    for iy, ix in [(0, 0), (2, 5), (5, 1)]:
        p = tr.map(ix + 0.5, iy + 0.5)
        assert np.allclose(p, pixel_xy(g, iy, ix), atol=1e-15)


def test_slider_moves_are_coalesced_newest_wins(qtbot, window):
    g = make_grid(nb=101)
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    s = window.exploration.slicers_for(key)[0]
    before = s.panel.render_count
    for k in range(60):
        s.panel.slider.setValue(k)
    wait_slicers_idle(qtbot, window)
    assert s.panel.shown_index == 59
    assert s.panel.render_count - before <= 2
    assert s.scheduler.delivered + s.scheduler.dropped == s.scheduler.computed
    np.testing.assert_array_equal(s.panel.current_image(), g.channels["dI/dV"][:, :, 59])
    # the spectrum view's bias line follows, and dragging it moves the slicer
    line = window.exploration.spectra.bias_line(key, s.dock_key)
    assert line.value() == pytest.approx(g.bias[59])
    line.setValue(g.bias[10])
    wait_slicers_idle(qtbot, window)
    assert s.panel.shown_index == 10


def test_keyboard_stepping(qtbot, window):
    g = make_grid(nb=81)
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    s = window.exploration.slicers_for(key)[0]
    start = s.panel.index()
    target = s.panel.graphics
    qtbot.keyClick(target, Qt.Key.Key_Right)
    assert s.panel.index() == start + 1
    qtbot.keyClick(target, Qt.Key.Key_Left)
    qtbot.keyClick(target, Qt.Key.Key_Left)
    assert s.panel.index() == start - 1
    qtbot.keyClick(target, Qt.Key.Key_PageUp)
    assert s.panel.index() == start - 1 + s.panel.page_step()
    qtbot.keyClick(target, Qt.Key.Key_Home)
    assert s.panel.index() == 0
    qtbot.keyClick(target, Qt.Key.Key_PageDown)
    assert s.panel.index() == 0
    qtbot.keyClick(target, Qt.Key.Key_End)
    assert s.panel.index() == 80
    wait_slicers_idle(qtbot, window)
    assert s.panel.shown_index == 80
    assert s.panel.bias_spin.value() == pytest.approx(10.0)


def test_averaging_window_and_spin_box(qtbot, window):
    g = make_grid(nb=41)
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    s = window.exploration.slicers_for(key)[0]
    s.panel.bias_spin.setValue(5.0)  # mV
    wait_slicers_idle(qtbot, window)
    k = g.bias_index(5e-3)
    assert s.panel.shown_index == k
    s.panel.window_spin.setValue(2)
    wait_slicers_idle(qtbot, window)
    qtbot.waitUntil(lambda: s.panel.render_count > 0 and s.half_width == 2)
    wait_slicers_idle(qtbot, window)
    expected = g.channels["dI/dV"][:, :, k - 2 : k + 3].mean(axis=2)
    np.testing.assert_allclose(s.panel.current_image(), expected, rtol=1e-5)


def test_pin_and_unpin(qtbot, window):
    g = make_grid()
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    panel = window.exploration.slicers_for(key)[0].panel
    click_map(qtbot, panel, *pixel_xy(g, 2, 3), shift=True)
    click_map(qtbot, panel, *pixel_xy(g, 9, 11), shift=True)
    qtbot.waitUntil(lambda: len(window.state.pinned) == 2)
    p1, p2 = window.state.pinned
    assert g.frame.nearest_pixel(p1.x, p1.y) == (2, 3)
    for p in window.map_panels():
        assert p.marker_count() == 2
    _x, y = _curve_y(window, key, f"pin:{p1.key}")
    np.testing.assert_array_equal(y, g.channels["dI/dV"][2, 3])
    spectra = window.exploration.spectra
    assert spectra.pin_keys() == [p1.key, p2.key]
    assert spectra.curve(key, f"pin:{p1.key}").opts["pen"].color().getRgb()[:3] == p1.color
    spectra.pin_list.item(0).setSelected(True)
    spectra.remove_button.click()
    assert [p.key for p in window.state.pinned] == [p2.key]
    assert spectra.curve(key, f"pin:{p1.key}") is None
    assert panel.marker_count() == 1
    spectra.clear_button.click()
    assert window.state.pinned == [] and panel.marker_count() == 0
    click_map(qtbot, panel, *pixel_xy(g, 4, 4))
    qtbot.waitUntil(lambda: window.state.cursor is not None)
    spectra.pin_button.click()
    assert len(window.state.pinned) == 1 and g.frame.nearest_pixel(
        *(window.state.pinned[0].x, window.state.pinned[0].y)
    ) == (4, 4)


def test_status_bar_readout_under_the_mouse(qtbot, window):
    g = make_grid()
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    s = window.exploration.slicers_for(key)[0]
    x, y = pixel_xy(g, 4, 6)
    pos = s.panel.view_to_widget(x, y)
    qtbot.mouseMove(s.panel.graphics.viewport(), QPoint(round(pos.x()), round(pos.y())))
    qtbot.waitUntil(lambda: "pixel" in window.readout.text())
    text = window.readout.text()
    assert "pixel (ix 6, iy 4)" in text
    shown_x = float(text.split("x = ")[1].split(" nm")[0])
    shown_y = float(text.split("y = ")[1].split(" nm")[0])
    dx = g.frame.pixel_size[0] * 1e9
    assert abs(shown_x - x * 1e9) < dx / 2 and abs(shown_y - y * 1e9) < dx / 2
    value = s.panel.current_image()[4, 6]
    assert f"{value * 1e9:.4g} nS".split(".")[0] in text and "nS" in text
    assert "Bias = " in text and "mV" in text
    hover = window.state.hover
    assert hover is not None and g.frame.nearest_pixel(*hover) == (4, 6)
    _x, yy = _curve_y(window, key, "hover")
    np.testing.assert_array_equal(yy, g.channels["dI/dV"][4, 6])


def test_corrupt_file_gives_message_and_keeps_datasets(qtbot, window, tmp_path):
    g = make_grid()
    key = window.state.add_dataset(g, "good")
    wait_slicers_idle(qtbot, window, n=1)
    before = dict(window.state.entries)
    bad = tmp_path / "broken.3ds"
    bad.write_bytes(b'Grid dim="30 x 30"\r\nnonsense without an end marker' + bytes(range(256)) * 3)
    window.open_files([bad])
    qtbot.waitUntil(lambda: window.loader.last_error is not None, timeout=10000)
    assert "broken.3ds" in window.loader.last_error
    box = window.loader.message_box
    assert box is not None and box.isVisible() and not box.isModal()
    assert "broken.3ds" in box.text()
    assert any(level == "error" and "broken.3ds" in text for level, text in window.log_panel.entries())
    assert window.state.entries == before and window.state.entries[key].dataset is g
    assert window.state.current == key and len(window.exploration.slicers) == 1


def test_derived_dataset_listed_under_its_parent(qtbot, window):
    g = make_grid(nb=41)
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    dlg = window.derived.show_dialog(key)
    dlg.set_operation("didv")
    dlg.channel_a.setCurrentText("Current")
    dlg.window_spin.setValue(5)
    dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: len(window.state.entries) == 2, timeout=10000)
    child = [e for e in window.state.entries.values() if e.parent == key][0]
    assert child.dataset.provenance[-1]["operation"] == "didv_savgol"
    item = window.exploration.browser.item_for(key)
    assert any(item.child(i).text(0) == child.label for i in range(item.childCount()))
    # not auto-opened as a slicer, but co-registered: its plot appears in the spectrum view
    assert len(window.exploration.slicers) == 1
    assert child.key in window.exploration.spectra.plot_keys()
    # the cancel path adds nothing
    dlg2 = window.derived.show_dialog(key)
    dlg2.reject()
    assert len(window.state.entries) == 2


@pytest.mark.realdata
def test_real_nanonis_grid(qtbot, window):
    path = shared_file("nanonis/NanonisReader_STS_grid_lockin.3ds")
    window.open_files([path])
    wait_slicers_idle(qtbot, window, n=1, timeout=30000)
    key = next(iter(window.state.entries))
    grid = window.state.entries[key].dataset
    ref = read_file(path)[0]
    s = window.exploration.slicers[0]
    assert s.channel == "LockinX"
    s.panel.slider.setValue(150)
    wait_slicers_idle(qtbot, window)
    np.testing.assert_array_equal(s.panel.current_image(), ref.channels["LockinX"][:, :, 150])
    iy, ix = 21, 8
    click_map(qtbot, s.panel, *pixel_xy(grid, iy, ix))
    qtbot.waitUntil(lambda: window.state.cursor is not None)
    assert grid.frame.nearest_pixel(*window.state.cursor) == (iy, ix)
    _x, y = _curve_y(window, key, "cursor")
    np.testing.assert_array_equal(y, ref.channels["LockinX"][iy, ix])
    details = window.exploration.browser.details_text()
    assert "angle -45 deg" in details and "LockinX" in details
    assert window.exploration.topography.dataset_key == key


def test_new_slicer_action_and_topography_levelling(qtbot, window):
    g = make_grid()
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    added = []
    window.map_panel_added.connect(added.append)
    act = [a for a in window.menu("View").actions() if a.text().replace("&", "") == "New slicer"][0]
    act.trigger()
    act.trigger()
    wait_slicers_idle(qtbot, window, n=3)
    assert len(added) == 2 and all(p.dataset_key == key for p in added)
    window.map_panel_added.disconnect(added.append)
    third = window.dock(window.exploration.slicers[2].dock_key)
    assert third in window.tabifiedDockWidgets(window.dock(window.exploration.slicers[1].dock_key))
    topo = window.exploration.topography
    topo.levelling_combo.setCurrentIndex(topo.levelling_combo.findData("none"))
    np.testing.assert_allclose(topo.current_image(), g.params["Z"].astype(np.float32))
    topo.levelling_combo.setCurrentIndex(topo.levelling_combo.findData("plane"))
    from analysis.processing.levelling import plane_level

    np.testing.assert_allclose(topo.current_image(), plane_level(g.params["Z"]), atol=1e-15)
    assert topo.value_unit == "m" and topo.histogram.axis.labelUnits == "m"


def test_forward_backward_and_point_spectra(qtbot, window):
    from analysis.dataset import Spectrum

    g = make_grid()
    g.channels["dI/dV [bwd]"] = g.channels["dI/dV"] * 0.5
    g.units["dI/dV [bwd]"] = "S"
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    window.state.set_cursor(pixel_xy(g, 1, 2))
    spectra = window.exploration.spectra
    spectra.direction_combo.setCurrentIndex(spectra.direction_combo.findData("both"))
    assert sorted(spectra.curve_ids(key)) == ["cursor", "cursor bwd"]
    _x, y = _curve_y(window, key, "cursor bwd")
    np.testing.assert_allclose(y, g.channels["dI/dV"][1, 2] * 0.5)
    spectra.direction_combo.setCurrentIndex(spectra.direction_combo.findData("bwd"))
    assert spectra.curve_ids(key) == ["cursor bwd"]
    x = np.linspace(-1e-3, 1e-3, 11)
    sp = Spectrum(name="point", x=x, channels={"Current": x * 2e-9}, units={"Current": "A"})
    skey = window.state.add_dataset(sp, "point")
    window.state.set_current(skey)
    qtbot.waitUntil(lambda: spectra.plot_keys()[0] == skey, timeout=3000)  # refreshed in the next turn
    xs, ys = _curve_y(window, skey, "data")
    np.testing.assert_array_equal(xs, x) and np.testing.assert_allclose(ys, x * 2e-9)


def test_click_pins_once_per_pixel_and_can_be_switched_off(qtbot, window):
    g = make_grid()
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    panel = window.exploration.slicers_for(key)[0].panel
    spectra = window.exploration.spectra
    click_map(qtbot, panel, *pixel_xy(g, 2, 3))
    qtbot.waitUntil(lambda: len(window.state.pinned) == 1)
    assert g.frame.nearest_pixel(window.state.pinned[0].x, window.state.pinned[0].y) == (2, 3)
    click_map(qtbot, panel, *pixel_xy(g, 2, 3))  # same pixel again: no duplicate pin
    click_map(qtbot, panel, *pixel_xy(g, 5, 6))
    qtbot.waitUntil(lambda: len(window.state.pinned) == 2)
    spectra.pin_on_click.setChecked(False)
    click_map(qtbot, panel, *pixel_xy(g, 7, 1))
    qtbot.waitUntil(lambda: g.frame.nearest_pixel(*window.state.cursor) == (7, 1))
    assert len(window.state.pinned) == 2
