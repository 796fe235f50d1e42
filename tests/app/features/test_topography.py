"""Topography menu with real input: drag a profile line on the map, move the step cursors, export the
profile from its right-click menu, level through the Level dialog (accept, cancel, undo)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog

from analysis.dataset import Frame, Image, Source
from tests.app.gui_support import close_window, open_window
from tests.app.real_input import choose, click_menu_path, menu_action, right_click_menu
from tests.widgets.region_mouse import drag

NM = 1e-9
STEP = 0.3 * NM
NOISE = 0.01 * NM
PIX = 0.4 * NM  # pixel size
NY, NX = 100, 160


def terrace_image(rng) -> Image:
    """Three terraces 0.3 nm apart, steps at columns 55 and 105, on a tilted plane with 10 pm noise."""
    iy, ix = np.mgrid[0:NY, 0:NX].astype(float)
    z = STEP * ((ix >= 55).astype(float) + (ix >= 105)) + (0.01 * ix + 0.006 * iy) * NM
    z += rng.normal(scale=NOISE, size=z.shape)
    return Image(
        name="terraces",
        channels={"Z": z.astype(np.float32)},
        units={"Z": "m"},
        source=Source(path="terraces.sxm", reader="synthetic"),
        frame=Frame(center=(0.0, 0.0), size=(NX * PIX, NY * PIX), shape=(NY, NX)),
    )


@pytest.fixture
def win(qtbot, tmp_path, rng):
    w = open_window(qtbot, tmp_path, features=["app.features.topography"])
    assert "app.features.topography" in w.features_installed, w.features_failed
    key = w.state.add_dataset(terrace_image(rng), "terraces")
    topo = w.exploration.topography
    qtbot.waitUntil(lambda: topo.current_image() is not None and topo.dataset_key == key, timeout=10000)
    qtbot.wait(200)
    yield w
    close_window(qtbot, w)


def _plot_point(panel, d_nm: float) -> QPointF:
    vb = panel.plot.getViewBox()
    y = vb.viewRect().center().y()
    return QPointF(panel.plot.mapFromScene(vb.mapViewToScene(QPointF(d_nm, y))))


def _drag_cursor(qtbot, panel, name: str, by_nm: float) -> None:
    lo, hi = (v * 1e9 for v in panel.cursor_ranges()[name])
    c = 0.5 * (lo + hi)
    # the mouse comes in over the range before pressing, as a hand does
    qtbot.mouseMove(panel.plot.viewport(), _plot_point(panel, c).toPoint())
    qtbot.wait(60)
    drag(panel.plot.viewport(), [_plot_point(panel, c + by_nm * k / 6) for k in range(7)])
    qtbot.wait(50)


def test_drag_a_profile_measure_a_step_and_export_it(qtbot, win, tmp_path, monkeypatch):
    ctl = win.topography
    topo = win.exploration.topography
    frame = topo.frame
    a, b = frame.pixel_to_xy(5, 50), frame.pixel_to_xy(155, 50)

    def whites() -> list[bool]:
        mid = QPointF(topo.view_to_widget((a[0] + b[0]) / 2, a[1]))
        shot = topo.graphics.grab().toImage()
        r = shot.devicePixelRatio()
        cols = [shot.pixelColor(round(mid.x() * r), round((mid.y() + dy) * r)) for dy in (-1, 0, 1)]
        return [min(c.red(), c.green(), c.blue()) > 220 for c in cols]

    assert not any(whites())
    menu_action(qtbot, win, "Topography", "Profile")
    assert ctl.drawer_for(topo).tool() == "line"
    qtbot.wait(150)
    pts = [(a[0] + (b[0] - a[0]) * k / 10, a[1]) for k in range(11)]
    drag(topo.graphics.viewport(), [topo.view_to_widget(x, y) for x, y in pts])
    qtbot.waitUntil(lambda: ctl.profile is not None, timeout=5000)
    p = ctl.profile
    assert ctl.drawer_for(topo).tool() == ""
    assert abs(p.distance[-1] - 150 * PIX) < 3 * PIX and np.isfinite(p.values).all()
    assert p.n_width == 1 and p.unit == "m"
    # the line is drawn on the map: white pixels at its middle on screen
    qtbot.wait(50)
    assert any(whites())
    # dragging the line's end handle back by 50 pixels shortens the profile to 100 pixels
    end = QPointF(topo.view_to_widget(*b))
    new_end = QPointF(topo.view_to_widget(*frame.pixel_to_xy(105, 50)))
    qtbot.mouseMove(topo.graphics.viewport(), end.toPoint())
    qtbot.wait(60)
    drag(topo.graphics.viewport(), [end + (new_end - end) * (k / 8) for k in range(9)])
    qtbot.waitUntil(lambda: abs(ctl.profile.distance[-1] - 100 * PIX) < 3 * PIX, timeout=3000)
    drag(topo.graphics.viewport(), [new_end + (end - new_end) * (k / 8) for k in range(9)])
    qtbot.waitUntil(lambda: abs(ctl.profile.distance[-1] - 150 * PIX) < 3 * PIX, timeout=3000)
    p = ctl.profile

    # a width of 4 nm typed into the dock averages 10 samples across the line
    spin = ctl.panel.width_spin
    qtbot.mouseDClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "4")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ctl.profile.n_width == 10, timeout=3000)

    # default cursors (10-40 %, 60-90 % of 60 nm) straddle the steps at 20 and 40 nm: a wrong height
    assert ctl.step is not None and abs(ctl.step.height - 2 * STEP) > 0.1 * NM
    _drag_cursor(qtbot, ctl.panel, "A", -4.0)
    _drag_cursor(qtbot, ctl.panel, "B", +4.5)
    ra, rb = ctl.panel.cursor_ranges()["A"], ctl.panel.cursor_ranges()["B"]
    assert ra[1] < 20.5 * NM and rb[0] > 40 * NM, (ra, rb)
    s = ctl.step
    # two steps of 0.3 nm between terrace 0 and terrace 2, within 3 standard errors (and 20 pm)
    assert abs(s.height - 2 * STEP) < max(3 * s.error, 0.02 * NM), s
    assert "±" in ctl.panel.step_text() and "nm" in ctl.panel.step_text()

    out = tmp_path / "profile.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "CSV (*.csv)"))
    vp = ctl.panel.plot.viewport()
    menu = right_click_menu(qtbot, vp, _plot_point(ctl.panel, 30.0).toPoint())
    click_menu_path(qtbot, menu, "Export profile (CSV)...")
    assert out.is_file()
    text = out.read_text()
    assert "# step_height" in text and "# width_m 4e-09" in text
    rows = [line for line in text.splitlines() if not line.startswith("#")]
    assert rows[0].startswith("distance_m,")
    data = np.loadtxt(rows[1:], delimiter=",")
    np.testing.assert_allclose(data[:, 0], p.distance, rtol=1e-6)


def test_level_dialog_accept_makes_an_undoable_derived_image(qtbot, win):
    ctl = win.topography
    key = next(iter(win.state.entries))
    menu_action(qtbot, win, "Topography", "Level...")
    qtbot.waitUntil(lambda: ctl.dialog is not None and ctl.dialog.isVisible(), timeout=3000)
    dlg = ctl.dialog
    assert dlg.channel.currentText() == "Z"
    choose(qtbot, dlg.method, "terrace")
    qtbot.waitUntil(lambda: dlg.preview_image() is not None, timeout=3000)
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(win.state.entries) == 2, timeout=10000)
    new_key = next(k for k in win.state.entries if k != key)
    entry = win.state.entries[new_key]
    assert entry.parent == key
    assert entry.label == "terraces Z (terraces, order 1)"
    prov = entry.dataset.provenance[-1]
    assert prov["operation"] == "level" and prov["parameters"]["operation"] == "terrace"
    z = np.asarray(entry.dataset.channels["Z"], dtype=float)
    # terraces flat again (tilt of 2 nm removed to the noise) and 0.3 nm apart within 5 %
    for c0, c1 in ((5, 50), (60, 100), (110, 155)):
        assert np.std(z[:, c0:c1]) < 2 * NOISE
    np.testing.assert_allclose(
        np.diff([np.median(z[:, 5:50]), np.median(z[:, 110:155])]), 2 * STEP, rtol=0.05
    )
    assert win.state.undo.undo_text.startswith("Add terraces Z")
    # usable as any map: double-clicking its Z in the data browser opens a map view showing it as is
    # (an image that is already levelled is not plane-levelled again for display)
    browser = win.exploration.browser
    item = browser.map_item(new_key, "Z")
    tree = browser.tree
    tree.scrollToItem(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    docks = win.exploration.map_docks.docks
    qtbot.waitUntil(lambda: len(docks) == 1 and docks[0].panel.current_image() is not None, timeout=5000)
    assert docks[0].levelling == "none"
    np.testing.assert_array_equal(docks[0].panel.current_image(), entry.dataset.channels["Z"])
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=3000)
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: new_key not in win.state.entries, timeout=3000)
    assert list(win.state.entries) == [key]
    qtbot.waitUntil(lambda: not docks, timeout=3000)


def test_level_dialog_cancel_adds_nothing(qtbot, win):
    ctl = win.topography
    menu_action(qtbot, win, "Topography", "Level...")
    qtbot.waitUntil(lambda: ctl.dialog is not None and ctl.dialog.isVisible(), timeout=3000)
    dlg = ctl.dialog
    choose(qtbot, dlg.method, "line:median_diff")
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.dialog is None, timeout=3000)
    qtbot.wait(100)
    assert len(win.state.entries) == 1 and not win.active_jobs()


def test_profile_on_a_map_right_click_menu_entry(qtbot, win):
    ctl = win.topography
    topo = win.exploration.topography
    c = topo.view_to_widget(0.0, 0.0)
    menu = right_click_menu(qtbot, topo.graphics.viewport(), QPoint(round(c.x()), round(c.y())))
    click_menu_path(qtbot, menu, "Draw a height profile")
    assert ctl.drawer_for(topo).tool() == "line"


def test_level_with_regions_and_a_height_band_left_out(qtbot, win, rng):
    from analysis.maps.regions import Rectangle, Region

    ctl = win.topography
    iy, ix = np.mgrid[0:NY, 0:NX].astype(float)
    z = (0.02 * ix - 0.01 * iy) * NM + rng.normal(scale=NOISE, size=ix.shape)
    island = (iy >= 30) & (iy < 70) & (ix >= 40) & (ix < 100)
    z[island] += 3 * NM  # an island that tilts a plain plane fit
    img = Image(name="island", channels={"Z": z}, units={"Z": "m"}, frame=terrace_image(rng).frame)
    key = win.state.add_dataset(img, "island")
    win.state.set_current(key)
    f = img.frame
    (x0, y0), (x1, y1) = f.pixel_to_xy(38, 28), f.pixel_to_xy(102, 72)
    win.state.regions["r1"] = Region(
        "island", geometry=Rectangle(((x0 + x1) / 2, (y0 + y1) / 2), (x1 - x0, y1 - y0))
    )
    menu_action(qtbot, win, "Topography", "Level...")
    qtbot.waitUntil(lambda: ctl.dialog is not None and ctl.dialog.isVisible(), timeout=3000)
    dlg = ctl.dialog
    assert dlg.exclude_regions.isEnabled()
    box = dlg.exclude_regions
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert box.isChecked()
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(win.state.children(key)) == 1, timeout=10000)
    entry = win.state.children(key)[0]
    assert entry.label == "island Z (plane, regions excluded)"
    assert entry.dataset.provenance[-1]["parameters"]["excluded_regions"] == ["island"]
    out = np.asarray(entry.dataset.channels["Z"], dtype=float)
    # the substrate is flat to the noise; without the mask the island tilts it
    assert np.std(out[~island]) < 1.5 * NOISE
    from analysis.topography.levelling import plane_level

    assert np.std(plane_level(z, 1)[~island]) > 5 * NOISE

    # the same with a height band: leave out everything above the 90th percentile (the island's top)
    menu_action(qtbot, win, "Topography", "Level...")
    qtbot.waitUntil(lambda: ctl.dialog is not None and ctl.dialog.isVisible(), timeout=3000)
    dlg = ctl.dialog
    assert not dlg.exclude_regions.isChecked()
    choose(qtbot, dlg.band_mode, "exclude")
    lo = dlg.values()["band"][0]
    assert lo == pytest.approx(np.percentile(z, 90), abs=1e-12)
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(win.state.children(key)) == 2, timeout=10000)
    banded = win.state.children(key)[1]
    assert "without" in banded.label and banded.dataset.provenance[-1]["parameters"]["band_exclude"]


def test_topography_levelling_combo_offers_the_new_display_levellings(qtbot, win):
    """Polynomial order 3 and median-of-differences chosen with clicks in the topography panel's own
    levelling combo; Ctrl+Z goes back to the previous levelling."""
    from analysis.processing.levelling import level

    topo = win.exploration.topography
    key = topo.dataset_key
    z = np.asarray(win.state.entries[key].dataset.channels["Z"], dtype=np.float64)
    offered = [topo.levelling_combo.itemData(i) for i in range(topo.levelling_combo.count())]
    assert {"plane2", "plane3", "line_median_diff", "line_poly2", "line_poly3"} <= set(offered)
    assert {"plane", "line_median", "line_linear", "plane+line_median"} <= set(offered)
    choose(qtbot, topo.levelling_combo, "plane3")
    qtbot.waitUntil(lambda: win.exploration.topo_levelling == "plane3", timeout=3000)
    np.testing.assert_allclose(topo.current_image(), level(z, "plane3"), atol=1e-15)
    choose(qtbot, topo.levelling_combo, "Line by line (median of differences)")
    qtbot.waitUntil(lambda: win.exploration.topo_levelling == "line_median_diff", timeout=3000)
    np.testing.assert_allclose(topo.current_image(), level(z, "line_median_diff"), atol=1e-15)
    qtbot.keyClick(topo.graphics.viewport(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: topo.levelling() == "plane3", timeout=3000)
    np.testing.assert_allclose(topo.current_image(), level(z, "plane3"), atol=1e-15)
