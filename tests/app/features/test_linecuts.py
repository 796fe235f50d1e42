"""The line-cut feature in the real main window on the demo data: draw, cut, hover, edit, profile, fit."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from analysis.maps.linecut import CutPath, line_cut, position_at
from tests.widgets.region_mouse import drag

NM = 1e-9


@pytest.fixture
def win(qtbot, tmp_path):
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, features=["app.features.linecuts"], restore_layout=False)
    qtbot.addWidget(w)
    assert "app.features.linecuts" in w.features_installed, w.features_failed
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    w.open_demo()
    qtbot.waitUntil(lambda: len(w.state.grids()) == 2 and not w.loader.loading, timeout=60000)
    qtbot.waitUntil(
        lambda: (
            sum(1 for p in w.map_panels() if hasattr(p, "sweep_value") and p.current_image() is not None) >= 2
        ),
        timeout=15000,
    )
    qtbot.wait(300)  # the first images arrived: each map has auto-ranged once
    yield w
    w.shutdown()


def _grid(w, word):
    return next(e for e in w.state.grids() if word in e.label)


def _slicer(w, key):
    return next(p for p in w.map_panels() if p.dataset_key == key and hasattr(p, "sweep_value"))


def _settle(qtbot, ctl):
    qtbot.waitUntil(lambda: not ctl.is_busy(), timeout=15000)


def test_draw_a_cut_on_the_josephson_map_and_compare_with_line_cut(qtbot, win):
    ctl = win.linecuts
    jos, qp = _grid(win, "Josephson"), _grid(win, "QP")
    panel = _slicer(win, jos.key)
    # across the flux region (where the Josephson peak vanishes), as in [JSTM] Fig. 6
    cx, cy = jos.dataset.metadata["demo"]["flux_region"]["center_m"]
    ctl.panel.draw_line.click()
    assert ctl.drawer_for(panel).tool() == "line"
    qtbot.wait(150)  # the status-bar hint may relayout the window: let it settle before mapping points
    panel.view_box.setRange(xRange=(-110 * NM, 110 * NM), yRange=(-110 * NM, 110 * NM), padding=0)
    qtbot.wait(50)
    pts = [(cx - 80 * NM + i * 16 * NM, cy) for i in range(11)]
    drag(panel.graphics.viewport(), [panel.view_to_widget(x, y) for x, y in pts])
    assert len(win.state.linecuts) == 1
    cid, path = next(iter(win.state.linecuts.items()))
    assert isinstance(path, CutPath) and path.name == "Cut 1"
    (x0, y0), (x1, y1) = path.vertices
    # the press point is exact; the release point drifts a little because the status-bar read-out
    # relayouts the window while the mouse moves (the map gets narrower), so only its side is checked
    assert abs(x0 - (cx - 80 * NM)) < 2 * NM and abs(y0 - cy) < 2 * NM
    assert x1 > cx + 60 * NM and abs(y1 - cy) < 15 * NM
    assert all(d.tool() == "" for _, d in ctl.drawers.values())
    _settle(qtbot, ctl)
    # side by side: Josephson (narrow sweep) left, QP right
    assert ctl.panel.column_keys() == [jos.key, qp.key]
    for e in (jos, qp):
        ref = line_cut(e.dataset, None, path.vertices, channel="dI/dV")
        np.testing.assert_array_equal(ctl.panel.image_data(e.key), ref.values.T)
        assert ref.n_points == int(np.ceil(path.length / (220 * NM / 128) - 1e-9)) + 1
    # the Josephson zero-bias conductance drops inside the flux region and recovers beyond it
    img = ctl.panel.image_data(jos.key)
    k0 = jos.dataset.bias_index(0.0)
    zb = img[k0]
    n = zb.size
    assert zb[n // 2] < 0.3 * zb[:5].mean() and zb[-5:].mean() > 0.6 * zb[:5].mean()
    # every map shows the cut
    for p in win.map_panels():
        assert ctl.drawer_for(p).cut_ids() == [cid]


def test_export_writes_one_csv_per_grid(qtbot, win, tmp_path):
    ctl = win.linecuts
    jos, qp = _grid(win, "Josephson"), _grid(win, "QP")
    ctl.add_cut([(-50 * NM, 0.0), (50 * NM, 10 * NM)], jos.key)
    _settle(qtbot, ctl)
    files = ctl.export_csv(tmp_path / "cut.csv")
    assert len(files) == 2 and all(f.exists() and f.name.startswith("cut ") for f in files)
    for f, e in zip(files, (jos, qp)):
        table = np.loadtxt(f, delimiter=",", comments="#", skiprows=3)
        ref = line_cut(e.dataset, None, win.state.linecuts[ctl.current].vertices, channel="dI/dV")
        np.testing.assert_allclose(table[:, 3:], ref.values, rtol=1e-7)


def test_hover_on_the_cut_marks_the_maps_and_plots_the_spectrum(qtbot, win):
    ctl = win.linecuts
    jos = _grid(win, "Josephson")
    cid = ctl.add_cut([(-80 * NM, -60 * NM), (60 * NM, 40 * NM)], jos.key)
    _settle(qtbot, ctl)
    path = win.state.linecuts[cid]
    ctl.panel.hovered.emit(50 * NM)
    xy = position_at(path.vertices, 50 * NM)
    assert win.state.hover == pytest.approx(xy)
    for p in win.map_panels():
        assert ctl.drawer_for(p).marker() == pytest.approx(xy)
    assert ctl.panel.column(jos.key).marked_index() == int(
        np.argmin(np.abs(ctl.results[jos.key].distance - 50 * NM))
    )
    # the spectrum at that point is plotted by the spectra dock (hover curve)
    win.exploration._refresh_curves()
    spec = win.exploration.spectrum_at(jos.key, "dI/dV", xy)
    assert spec is not None
    # a hover on a map near the cut marks the cut views; far from it, no mark
    win.state.set_hover((xy[0] + 0.2 * NM, xy[1]))
    assert ctl.panel.column(jos.key).top_line.isVisible()
    win.state.set_hover((100 * NM, -100 * NM))
    assert not ctl.panel.column(jos.key).top_line.isVisible()
    assert all(ctl.drawer_for(p).marker() is None for p in win.map_panels())


def test_edit_width_polyline_and_delete(qtbot, win):
    ctl = win.linecuts
    jos, qp = _grid(win, "Josephson"), _grid(win, "QP")
    verts = [(-90 * NM, -80 * NM), (0.0, -60 * NM), (40 * NM, 50 * NM)]
    cid = ctl.add_cut(verts, qp.key)
    _settle(qtbot, ctl)
    # moving the ROI on any map edits the cut and recomputes it
    panel = _slicer(win, qp.key)
    roi = ctl.drawer_for(panel).roi(cid)
    p = roi.pos()
    roi.setPos(p.x() + 10 * NM, p.y(), finish=True)
    moved = win.state.linecuts[cid]
    assert moved.vertices[0] == pytest.approx((-80 * NM, -80 * NM), abs=1e-15)
    for other in win.map_panels():
        assert ctl.drawer_for(other).vertices_of(cid)[2] == pytest.approx((50 * NM, 50 * NM), abs=1e-15)
    _settle(qtbot, ctl)
    ref = line_cut(jos.dataset, None, moved.vertices, channel="dI/dV")
    np.testing.assert_array_equal(ctl.panel.image_data(jos.key), ref.values.T)
    # width and number of points from the panel
    ctl.panel.width_spin.setValue(6.0)
    ctl.panel.points_spin.setValue(90)
    ctl.panel.points_spin.editingFinished.emit()
    _settle(qtbot, ctl)
    path = win.state.linecuts[cid]
    assert path.width_m == pytest.approx(6 * NM) and path.n_points == 90
    ref = line_cut(qp.dataset, None, path.vertices, 90, 6 * NM, channel="dI/dV")
    assert ref.n_width == 5
    np.testing.assert_allclose(ctl.panel.image_data(qp.key), ref.values.T, rtol=1e-6)
    # current instead of conductance
    ctl.panel.quantity_combo.setCurrentIndex(ctl.panel.quantity_combo.findData("current"))
    _settle(qtbot, ctl)
    assert ctl.results[qp.key].label == "Current" and ctl.panel.column(qp.key).data.value_unit == "A"
    # a second cut, then delete the first
    cid2 = ctl.add_cut([(0.0, 0.0), (50 * NM, 0.0)], qp.key)
    assert ctl.current == cid2 and ctl.panel.current_cut() == cid2
    ctl.select(cid)
    assert ctl.panel.current_cut() == cid
    ctl.panel.delete_button.click()
    assert list(win.state.linecuts) == [cid2] and ctl.current == cid2
    ctl.delete_all()
    _settle(qtbot, ctl)
    assert win.state.linecuts == {} and ctl.panel.column_keys() == []
    assert all(ctl.drawer_for(p).cut_ids() == [] for p in win.map_panels())


def test_profile_and_length_fit_across_the_flux_region(qtbot, win):
    ctl = win.linecuts
    jos = _grid(win, "Josephson")
    demo = jos.dataset.metadata["demo"]["flux_region"]
    cx, cy = demo["center_m"]
    radius = demo["radius_m"]
    start = (max(cx - 85 * NM, -105 * NM), cy)  # inside the 220 nm frame
    length = cx - start[0]
    cid = ctl.add_cut([start, (cx, cy)], jos.key)  # from outside into the centre of the disc
    _settle(qtbot, ctl)
    prof = ctl.profile
    assert prof.current_source() == jos.key
    d, y = prof.profile()
    cut = ctl.results[jos.key]
    k0 = int(np.argmin(np.abs(cut.sweep)))
    np.testing.assert_allclose(y, cut.values[:, k0])
    # peak height in a +-0.5 mV window
    prof.measure_combo.setCurrentIndex(prof.measure_combo.findData("peak"))
    d, y = prof.profile()
    assert np.all(np.isfinite(y)) and y[:5].mean() > 5 * max(y[-5:].mean(), 1e-12)
    # a step fit locates the edge of the disc and gives a length with its error
    res = ctl.fit("step")
    assert res is not None and res.length_err > 0
    assert abs(res.params["d0"] - (length - radius)) < 12 * NM
    assert 1 * NM < res.length < 30 * NM
    assert prof.result_text().startswith("w = ") and "nm" in prof.result_text()
    # a parameter map of the grid (ground-truth gap) as the profile source
    i = prof.source_combo.findData(f"map|{jos.key}|param|Delta_pi_true")
    assert i >= 0
    prof.source_combo.setCurrentIndex(i)
    d, y = prof.profile()
    ref = line_cut(
        jos.dataset.params["Delta_pi_true"].astype(np.float32),
        jos.dataset.frame,
        [start, (cx, cy)],
        cut.n_points,
    )
    np.testing.assert_allclose(y, ref.values, rtol=1e-6)
    assert y[-1] < 1e-5 * 1e-3 < y[0]
    assert ctl.fit("gauss") is None and "Fit failed" in prof.result_text()
    assert cid in win.state.linecuts


def test_feature_is_listed():
    from app.window.feature_list import FEATURES

    assert "app.features.linecuts" in FEATURES
