"""Line-cut widgets: the panel's three views, the drawer on a ViewBox, the profile panel, the 3D render."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF

from tests.widgets.region_mouse import click, drag
from widgets.linecut_drawing import CutShape, LineCutDrawer
from widgets.linecut_panel import CutColumn, CutSettings, LineCutPanel, opengl_status
from widgets.profile_panel import ProfilePanel, ProfileRequest, ProfileSource

NM = 1e-9
ROOT = Path(__file__).resolve().parents[2]


def _column(key="j", n=50, nb=41, scale=1.0, title="Josephson"):
    d = np.linspace(0, 98 * NM, n)
    b = np.linspace(-2e-3, 2e-3, nb)
    vals = 1e-9 * scale * (1 + np.outer(np.tanh((d - 50 * NM) / (10 * NM)) + 1, np.exp(-((b / 0.4e-3) ** 2))))
    return CutColumn(key, title, d, b, vals.astype(np.float32))


@pytest.fixture
def panel(qtbot):
    p = LineCutPanel()
    qtbot.addWidget(p)
    p.resize(900, 500)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_columns_show_the_cut_in_top_view_and_waterfall(qtbot, panel):
    a, b = _column("j"), _column("q", scale=3.0, title="QP")
    panel.set_columns([a, b])
    assert panel.column_keys() == ["j", "q"]
    np.testing.assert_array_equal(panel.image_data("j"), a.values.T)
    np.testing.assert_array_equal(panel.image_data("q"), b.values.T)
    # the image spans distance (nm) horizontally and bias (mV) vertically, pixel centres on the samples
    r = panel.image_rect("j")
    step_d, step_b = 98 / 49, 4 / 40
    assert r.left() == pytest.approx(-step_d / 2) and r.right() == pytest.approx(98 + step_d / 2)
    assert r.top() == pytest.approx(-2 - step_b / 2) and r.bottom() == pytest.approx(2 + step_b / 2)
    # waterfall: every spectrum (n <= 80) offset by a constant step, bias in mV
    curves = panel.waterfall_data("j")
    assert [c[0] for c in curves] == list(range(50))
    step = curves[1][2][0] - a.values[1][0]
    assert step > 0
    for k, (i, x, y) in enumerate(curves[:5]):
        np.testing.assert_allclose(x, a.sweep * 1e3)
        np.testing.assert_allclose(y, a.values[i] + k * step, rtol=1e-6)
    # colour bar levels are the 1-99 percentiles and drive both images independently
    lo, hi = np.percentile(a.values, [1, 99])
    assert panel.levels("j") == pytest.approx((lo, hi))
    panel.set_levels("j", 0.0, 5e-9)
    assert panel.column("j").image.getLevels() == pytest.approx((0.0, 5e-9))
    # a new cut through the same grids updates the columns in place: the user's levels survive
    before = panel.column("j")
    panel.set_columns([_column("j", n=30), b])
    assert panel.column("j") is before and panel.image_data("j").shape == (41, 30)
    assert panel.levels("j") == pytest.approx((0.0, 5e-9))
    assert panel.levels("q") == pytest.approx(tuple(np.percentile(b.values, [1, 99])))
    panel.reset_levels()
    assert panel.levels("j") != pytest.approx((0.0, 5e-9))


def test_waterfall_thins_long_cuts(qtbot, panel):
    panel.set_columns([_column("j", n=400)])
    idx = [c[0] for c in panel.waterfall_data("j")]
    assert len(idx) <= 80 and idx[0] == 0 and np.all(np.diff(idx) == idx[1])


def test_hover_emits_distance_and_marks_every_view(qtbot, panel):
    a = _column("j")
    panel.set_columns([a, _column("q", title="QP")])
    col = panel.column("j")
    vb = col.top_plot.getViewBox()
    # wait for the layout and the automatic range to settle (the plot shows 0..98 nm)
    qtbot.waitUntil(lambda: vb.sceneBoundingRect().width() > 100 and vb.viewRange()[0][1] > 95, timeout=5000)
    scene_pos = vb.mapViewToScene(QPointF(30.0, 0.5))  # 30 nm, 0.5 mV
    with qtbot.waitSignal(panel.hovered) as sig:
        col._top_moved(scene_pos)
    assert sig.args[0] == pytest.approx(30 * NM, rel=1e-3)
    for key in ("j", "q"):
        c = panel.column(key)
        assert c.top_line.isVisible() and c.top_line.value() == pytest.approx(30.0, rel=1e-3)
        i = c.marked_index()
        assert i == int(np.argmin(np.abs(a.distance - 30 * NM)))
        x, y = c.water_mark.getData()
        np.testing.assert_allclose(y, c.data.values[i] + i * c.water_offset, rtol=1e-6)
    # hovering the waterfall near curve k reports that spectrum's distance
    panel.tabs.setCurrentIndex(1)
    wvb = col.water.getViewBox()
    base = float(np.nanmedian(a.values))
    target = base + 12 * col.water_offset
    qtbot.waitUntil(
        lambda: (
            wvb.sceneBoundingRect().width() > 100 and wvb.viewRange()[1][0] < target < wvb.viewRange()[1][1]
        ),
        timeout=5000,
    )
    with qtbot.waitSignal(panel.hovered) as sig:
        col._water_moved(wvb.mapViewToScene(QPointF(0.0, target)))
    assert sig.args[0] == pytest.approx(a.distance[12])
    # leaving the plot clears the marker
    with qtbot.waitSignal(panel.hovered) as sig:
        col._top_moved(QPointF(-500.0, -500.0))
    assert sig.args[0] is None and not col.top_line.isVisible()


def test_3d_tab_explains_when_opengl_is_missing(qtbot, panel):
    panel.set_columns([_column("j")])
    ok, reason = opengl_status()
    widget = panel.column("j").gl_widget()
    if ok:
        assert panel.column("j").surface is not None
    else:  # offscreen platform: a clear message, the 2D views still work
        assert "3D view unavailable" in widget.text() and reason in widget.text()
        assert panel.image_data("j") is not None and panel.waterfall_data("j")


def test_settings_and_cut_list(qtbot, panel):
    panel.set_cut_list([("c1", "Cut 1"), ("c2", "Cut 2")], "c2")
    assert panel.current_cut() == "c2"
    with qtbot.waitSignal(panel.cut_selected) as sig:
        panel.cut_combo.setCurrentIndex(0)
    assert sig.args == ["c1"]
    panel.set_settings(CutSettings(3e-9, 120, "current"))
    assert panel.settings() == CutSettings(pytest.approx(3e-9), 120, "current")
    with qtbot.waitSignal(panel.settings_changed) as sig:
        panel.width_spin.setValue(5.0)
        panel.width_spin.editingFinished.emit()
    assert sig.args[0].width_m == pytest.approx(5e-9)
    with qtbot.waitSignal(panel.delete_requested) as sig:
        panel.delete_button.click()
    assert sig.args == ["c1"]
    with qtbot.waitSignal(panel.draw_requested) as sig:
        panel.draw_poly.click()
    assert sig.args == ["polyline"]
    panel.set_columns([])
    assert panel.column_keys() == [] and not panel.empty_label.isHidden()


# -- drawer -------------------------------------------------------------------------------------


@pytest.fixture
def view(qtbot):
    w = pg.GraphicsLayoutWidget()
    qtbot.addWidget(w)
    vb = w.addViewBox(lockAspect=True)
    vb.setRange(xRange=(-50 * NM, 50 * NM), yRange=(-50 * NM, 50 * NM), padding=0)
    w.resize(400, 400)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(30)
    return w, vb


def _to_widget(w, vb, x, y):
    return w.mapFromScene(vb.mapViewToScene(QPointF(x, y)))


def _close(a, b, tol=1.5 * NM):
    return all(abs(p - q) < tol for u, v in zip(a, b) for p, q in zip(u, v))


def test_drawer_line_by_drag_and_polyline_by_clicks(qtbot, view):
    w, vb = view
    d = LineCutDrawer(vb)
    got = []
    d.drawn.connect(got.append)
    d.set_tool("line")
    pts = [(-30 * NM + i * 5 * NM, -20 * NM + i * 3 * NM) for i in range(11)]  # to (20, 10) nm
    drag(w.viewport(), [_to_widget(w, vb, x, y) for x, y in pts])
    assert len(got) == 1 and len(got[0]) == 2
    assert _close(got[0], [pts[0], pts[-1]])
    assert d.tool() == ""  # one cut per activation
    d.set_tool("polyline")
    verts = [(-40 * NM, 0.0), (0.0, 30 * NM), (35 * NM, -10 * NM)]
    for i, (x, y) in enumerate(verts):
        click(w.viewport(), _to_widget(w, vb, x, y), double=(i == len(verts) - 1))
    assert len(got) == 2 and _close(got[1], verts)
    # the line tool also takes two clicks (start, end)
    d.set_tool("line")
    for x, y in verts[:2]:
        click(w.viewport(), _to_widget(w, vb, x, y))
    assert len(got) == 3 and _close(got[2], verts[:2]) and d.tool() == ""
    # a right-click (or set_tool("")) cancels without emitting
    d.set_tool("polyline")
    d.add_vertex(0.0, 0.0)
    d.set_tool("")
    assert d.points() == [] and len(got) == 3
    # a degenerate path is not a cut
    d.set_tool("line")
    d.begin(1e-9, 1e-9)
    assert d.finish() is None and len(got) == 3


def test_drawer_shows_editable_cuts_and_a_marker(qtbot, view):
    w, vb = view
    d = LineCutDrawer(vb)
    shape = CutShape(
        "c1", ((-20 * NM, 0.0), (20 * NM, 0.0), (20 * NM, 30 * NM)), label="Cut 1", width_m=4 * NM
    )
    d.set_cuts([shape])
    assert d.cut_ids() == ["c1"]
    assert _close(d.vertices_of("c1"), shape.vertices, tol=1e-15)
    roi = d.roi("c1")
    d.set_cuts([shape])
    assert d.roi("c1") is roi  # unchanged cut keeps its item
    edits = []
    d.edited.connect(lambda cid, v: edits.append((cid, v)))
    p = roi.pos()
    roi.setPos(p.x() + 5 * NM, p.y(), finish=True)  # moving the whole path is an edit
    assert edits and edits[-1][0] == "c1"
    assert _close(edits[-1][1], [(x + 5 * NM, y) for x, y in shape.vertices], tol=1e-15)
    # the width band follows the path: two edges at +-2 nm
    band = d._cuts["c1"][3]
    xs, ys = band.getData()
    assert np.nanmin(ys[:2]) == pytest.approx(-2 * NM) or np.nanmax(ys[:2]) == pytest.approx(2 * NM)
    d.set_marker((1e-9, 2e-9))
    assert d.marker() == pytest.approx((1e-9, 2e-9))
    d.set_marker(None)
    assert d.marker() is None
    d.set_cuts([])
    assert d.cut_ids() == [] and roi.scene() is None
    d.detach()


# -- profile panel ------------------------------------------------------------------------------


def test_profile_panel_request_profile_and_fit(qtbot):
    p = ProfilePanel()
    qtbot.addWidget(p)
    p.show()
    with qtbot.assertNotEmitted(p.request_changed):
        p.set_sources([ProfileSource("g1", "Josephson"), ProfileSource("map|d1|param|Z", "Z", False)])
    assert p.request() == ProfileRequest("g1", "value", 0.0, -0.5e-3, 0.5e-3)
    assert p.bias_spin.isVisibleTo(p) and not p.lo_spin.isVisibleTo(p)
    with qtbot.waitSignal(p.request_changed) as sig:
        p.measure_combo.setCurrentIndex(p.measure_combo.findData("peak"))
    assert sig.args[0].measure == "peak" and p.lo_spin.isVisibleTo(p)
    with qtbot.waitSignal(p.request_changed) as sig:
        p.source_combo.setCurrentIndex(1)
    assert sig.args[0].source == "map|d1|param|Z" and not p.measure_combo.isEnabled()
    d = np.linspace(0, 100 * NM, 101)
    p.set_profile(d, np.tanh(d / 1e-8), "Z", "m")
    got_d, got_y = p.profile()
    np.testing.assert_array_equal(got_d, d)
    assert p.fit_range_m() == pytest.approx((0.0, 100 * NM))
    p.set_fit_range(10 * NM, 60 * NM)
    p.set_fit_kind("decay")
    with qtbot.waitSignal(p.fit_requested) as sig:
        p.fit_button.click()
    assert sig.args[0] == "decay" and sig.args[1] == pytest.approx((10 * NM, 60 * NM))
    p.set_fit(d, d * 2, "xi = 25 +/- 1 nm")
    assert p.result_text() == "xi = 25 +/- 1 nm"
    np.testing.assert_allclose(p.fit_data()[0], d)
    p.set_profile(d, np.tanh(d / 1e-8), "Z", "m")  # a new profile clears the fit but keeps the range
    assert p.result_text() == "" and p.fit_range_m() == pytest.approx((10 * NM, 60 * NM))


# -- 3D rendering under X (Xvfb in CI) -----------------------------------------------------------

_RENDER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from PySide6.QtGui import QVector3D
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from widgets.linecut_panel import SURFACE_HEIGHT, SURFACE_SIZE, CutColumn, LineCutPanel, opengl_status
    from widgets.colormaps import colormap

    ok, reason = opengl_status()
    out = {"ok": ok, "reason": reason}
    if ok:
        p = LineCutPanel()
        p.resize(700, 520)
        p.show()
        # the cut: 1 for the first half of the distance, 0 for the second (a step down), every bias; the
        # default camera looks from the far end of the path, so the raised plateau is behind the low one
        d = np.linspace(0, 100e-9, 40)
        b = np.linspace(-2e-3, 2e-3, 30)
        vals = np.where(d[:, None] < 50e-9, 1.0, 0.0) * np.ones((1, b.size))
        p.set_columns([CutColumn("g", "step", d, b, vals.astype(np.float32))])
        p.set_levels("g", 0.0, 1.0)
        p.tabs.setCurrentIndex(2)
        for _ in range(10):
            app.processEvents()
        col = p.column("g")
        view = col.gl_view

        def grab():
            img = view.grabFramebuffer().convertToFormat(view.grabFramebuffer().Format.Format_RGB888)
            w, h = img.width(), img.height()
            arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(h, img.bytesPerLine())
            return arr[:, : 3 * w].reshape(h, w, 3).astype(int)

        def project(x, y, z):
            vp = view.getViewport()
            m = view.projectionMatrix(vp, vp) * view.viewMatrix()
            q = m.map(QVector3D(x, y, z))
            r = view.devicePixelRatio()
            return int(round((q.x() + 1) / 2 * vp[2] * r)), int(round((1 - q.y()) / 2 * vp[3] * r))

        cmap = colormap(p.colormap_name())
        low, high = (cmap.map(np.array([v]), mode="byte")[0][:3].astype(int) for v in (0.0, 1.0))

        def near(arr, colour, tol=40):
            return np.abs(arr - colour).sum(axis=-1) <= tol

        def frame_stats(arr):
            h, w = arr.shape[:2]
            corners = ((2, 2), (2, w - 3), (h - 3, 2), (h - 3, w - 3))
            return {
                "shape": [h, w],
                "n_low": int(near(arr, low).sum()),
                "n_high": int(near(arr, high).sum()),
                "corners_white": [
                    bool((arr[y, x] >= 245).all()) for y, x in (corners)
                ],
            }

        arr = grab()
        out["first"] = frame_stats(arr)
        if len(sys.argv) > 2:
            view.grabFramebuffer().save(sys.argv[2])
        # points on the surface: the low plateau (a quarter of the distance) and the high one (three quarters)
        samples = {}
        for name, (x, z) in {"high": (0.2, 1.0), "low": (0.8, 0.0)}.items():
            px, py = project(x * SURFACE_SIZE, 0.5 * SURFACE_SIZE, z * SURFACE_HEIGHT)
            patch = arr[max(py - 2, 0): py + 3, max(px - 2, 0): px + 3].reshape(-1, 3)
            samples[name] = {"xy": [px, py], "patch": patch.tolist()}
        out["samples"] = samples
        out["low"], out["high"] = low.tolist(), high.tolist()
        # rotate and zoom: the picture changes, and zooming in makes the surface larger
        view.setCameraPosition(azimuth=30)
        rotated = grab()
        out["rotated_diff"] = float(np.abs(rotated - arr).mean())
        p.column("g").reset_camera()
        view.setCameraPosition(distance=0.6 * view.opts["distance"])
        zoomed = grab()
        out["zoomed"] = frame_stats(zoomed)
        if len(sys.argv) > 1:
            view.grabFramebuffer().save(sys.argv[1])
    print("RESULT " + json.dumps(out))
    """
)


def test_3d_surface_renders_under_x():
    """Renders the 3D view with a real OpenGL context (Xvfb + Mesa in CI) and checks grabbed pixels."""
    if not os.environ.get("DISPLAY"):
        if os.environ.get("CI"):
            pytest.fail("the 3D line-cut view must be tested under an X server (run the suite with xvfb-run)")
        pytest.skip("no X display here (CI runs this test under xvfb-run)")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", _RENDER_SCRIPT],
        env=env,
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"render script failed:\n{proc.stdout}\n{proc.stderr}"
    out = json.loads(lines[-1][7:])
    assert out["ok"], f"no OpenGL under X: {out['reason']}"
    first = out["first"]
    h, w = first["shape"]
    assert h > 100 and w > 100
    assert all(first["corners_white"]), "the background should be white away from the surface"
    # both plateaus of the step are drawn in their colour-map colours, in quantity
    assert first["n_low"] > 200 and first["n_high"] > 200, first
    # ... and at the projected positions of the surface points
    for name in ("low", "high"):
        colour = np.array(out[name])
        patch = np.array(out["samples"][name]["patch"])
        assert (np.abs(patch - colour).sum(axis=1) <= 40).any(), (name, out["samples"][name]["xy"], patch[:3])
    assert out["rotated_diff"] > 2.0
    zoomed = out["zoomed"]
    assert zoomed["n_low"] + zoomed["n_high"] > 1.5 * (first["n_low"] + first["n_high"])


def test_waterfall_and_3d_views_are_built_when_their_tab_is_first_shown(qtbot, panel):
    """A new cut builds only the top view; the waterfall plot (and the 3D view) come with a click on their
    tab, showing the cut drawn before the click and the hover marker set before it."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    a = _column("j")
    panel.set_columns([a])
    panel.set_marker(30 * NM)
    water_page = panel._tab_pages[1]
    assert water_page.findChildren(pg.PlotWidget) == []
    bar = panel.tabs.tabBar()
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert panel.tabs.currentIndex() == 1
    plots = water_page.findChildren(pg.PlotWidget)
    assert len(plots) == 1
    col = panel.column("j")
    assert len(col.water_curves) == a.values.shape[0]
    i = int(np.argmin(np.abs(a.distance - 30 * NM)))
    _, y = col.water_mark.getData()
    np.testing.assert_allclose(y, a.values[i] + i * col.water_offset, rtol=1e-6)
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(2).center())
    assert panel.tabs.currentIndex() == 2
    ok, _ = opengl_status()
    assert (col.gl_view is not None) == ok and (col.surface is not None) == ok


def test_first_cut_is_shown_in_a_top_view_built_ahead(qtbot, panel, monkeypatch):
    """The top view of the first column is built in an idle turn after the panel appears: the turn that
    shows a cut builds no column, and the column shows that cut's data, title, labels and levels."""
    import widgets.linecut_panel as lp

    qtbot.wait(50)  # idle turns
    built = []
    real_init = lp._Column.__init__

    def counting_init(self, *a, **k):
        built.append(1)
        real_init(self, *a, **k)

    monkeypatch.setattr(lp._Column, "__init__", counting_init)
    a = _column("j", title="Josephson map")
    panel.set_columns([a])
    assert built == []
    col = panel.column("j")
    np.testing.assert_array_equal(panel.image_data("j"), a.values.T)
    assert col.top_title.toolTip() == "Josephson map"
    assert (
        col.top_plot.getAxis("left").labelText == "Bias" and col.top_plot.getAxis("left").labelUnits == "mV"
    )
    assert col.bar.axis.labelText == "dI/dV" and col.bar.axis.labelUnits == "S"
    lo, hi = panel.levels("j")
    assert lo < float(np.median(a.values)) < hi
    r = panel.image_rect("j")
    assert r.left() == pytest.approx(-1.0) and r.right() == pytest.approx(99.0)
    qtbot.waitUntil(lambda: len(built) == 1)  # the next one, in a turn of its own
