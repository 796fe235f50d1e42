"""Drawing regions with the mouse on a map view, editing them as ROIs, and overlays."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from analysis.dataset import Frame
from analysis.maps.regions import Ellipse, Lasso, Polygon, Rectangle
from tests.widgets.region_mouse import click, drag
from widgets.map_view import MapView
from widgets.region_drawing import RegionDrawer, RegionShape

NM = 1e-9


@pytest.fixture
def view(qtbot):
    v = MapView("test")
    qtbot.addWidget(v)
    v.resize(600, 600)
    frame = Frame(center=(0.0, 0.0), size=(100 * NM, 100 * NM), shape=(50, 50))
    v.set_frame(frame)
    v.set_image(np.arange(2500, dtype=np.float32).reshape(50, 50))
    v.show()
    qtbot.waitExposed(v)
    v.view_box.setRange(xRange=(-50 * NM, 50 * NM), yRange=(-50 * NM, 50 * NM), padding=0)
    return v


def _w(view, x, y) -> QPointF:
    return view.view_to_widget(x, y)


def _path(view, pts):
    return [_w(view, x, y) for x, y in pts]


def _back(view, widget_pos) -> tuple[float, float]:
    """The physical point under a viewport position (what the drawer should have received)."""
    p = view.view_box.mapSceneToView(view.graphics.mapToScene(widget_pos))
    return p.x(), p.y()


def _tol(view) -> float:
    # a few screen pixels in metres
    return 4 * (view.view_box.viewRect().width() / view.view_box.width())


@pytest.mark.parametrize("tool,cls", [("rectangle", Rectangle), ("ellipse", Ellipse)])
def test_drag_draws_rectangle_and_ellipse(qtbot, view, tool, cls):
    d = RegionDrawer(view.view_box, view.image_item)
    got = []
    d.drawn.connect(got.append)
    d.set_tool(tool)
    pts = [(-30 * NM, -20 * NM)] + [(-30 * NM + i * 5 * NM, -20 * NM + i * 4 * NM) for i in range(1, 11)]
    path = _path(view, pts)
    drag(view.graphics.viewport(), path)
    assert len(got) == 1
    g = got[0]
    assert isinstance(g, cls)
    (x0, y0), (x1, y1) = _back(view, path[0]), _back(view, path[-1])
    tol = _tol(view)
    assert g.center == pytest.approx(((x0 + x1) / 2, (y0 + y1) / 2), abs=tol)
    assert g.size == pytest.approx((x1 - x0, y1 - y0), abs=tol)
    assert g.size == pytest.approx((50 * NM, 40 * NM), rel=0.1)
    assert d.tool() == ""  # one shape per activation


def test_lasso_and_polygon(qtbot, view):
    d = RegionDrawer(view.view_box, view.image_item)
    got = []
    d.drawn.connect(got.append)
    d.set_tool("lasso")
    t = np.linspace(0, 2 * np.pi, 60)
    circle = list(zip(30 * NM * np.cos(t), 30 * NM * np.sin(t)))
    drag(view.graphics.viewport(), _path(view, circle))
    assert isinstance(got[-1], Lasso)
    assert got[-1].area_m2 == pytest.approx(np.pi * (30 * NM) ** 2, rel=0.03)

    d.set_tool("polygon")
    tri = [(-20 * NM, -20 * NM), (20 * NM, -20 * NM), (0.0, 25 * NM)]
    for x, y in tri[:-1]:
        click(view.graphics.viewport(), _w(view, x, y))
    click(view.graphics.viewport(), _w(view, *tri[-1]), double=True)
    assert isinstance(got[-1], Polygon) and not isinstance(got[-1], Lasso)
    assert len(got[-1].vertices) == 3
    assert got[-1].area_m2 == pytest.approx(0.5 * 40 * NM * 45 * NM, rel=0.03)


def test_programmatic_gestures_and_degenerate_shapes(qtbot, view):
    d = RegionDrawer(view.view_box)
    got = []
    d.drawn.connect(got.append)
    d.set_tool("rectangle")
    d.begin(0.0, 0.0)
    d.extend(0.0, 0.0)
    assert d.finish() is None and not got  # a click is not a rectangle
    d.begin(0.0, 0.0)
    d.extend(10 * NM, 5 * NM)
    g = d.finish()
    assert got == [g] and g.size == pytest.approx((10 * NM, 5 * NM))
    with pytest.raises(ValueError, match="unknown drawing tool"):
        d.set_tool("star")


def test_rois_follow_regions_and_emit_edits(qtbot, view):
    d = RegionDrawer(view.view_box, view.image_item)
    edits = []
    d.geometry_edited.connect(lambda rid, g: edits.append((rid, g)))
    rect = Rectangle((10 * NM, -5 * NM), (20 * NM, 10 * NM), 30.0)
    ell = Ellipse((-20 * NM, 10 * NM), (16 * NM, 8 * NM), -10.0)
    poly = Polygon(((0.0, 0.0), (10 * NM, 0.0), (5 * NM, 8 * NM)))
    lasso = Lasso(((0.0, 0.0), (10 * NM, 0.0), (10 * NM, 10 * NM), (0.0, 10 * NM)))
    shapes = [RegionShape(f"r{i}", (255, 0, 0), g) for i, g in enumerate((rect, ell, poly, lasso))]
    d.set_regions(shapes)
    assert d.region_ids() == ["r0", "r1", "r2", "r3"]
    # the ROI state converts back to the same geometry
    for s in shapes:
        back = d.geometry_of(s.id)
        assert type(back) is type(s.geometry)
        if isinstance(back, Rectangle | Ellipse):
            assert back.center == pytest.approx(s.geometry.center, abs=1e-15)
            assert back.size == pytest.approx(s.geometry.size, abs=1e-15)
            assert back.angle == pytest.approx(s.geometry.angle)
        else:
            np.testing.assert_allclose(back.array, s.geometry.array, atol=1e-15)
    # moving a ROI emits the translated geometry once the move finishes
    roi = d.roi("r0")
    p = roi.pos()
    roi.setPos(QPointF(p.x() + 5 * NM, p.y()), finish=True)
    assert edits and edits[-1][0] == "r0"
    assert edits[-1][1].center == pytest.approx((15 * NM, -5 * NM), abs=1e-15)
    lroi = d.roi("r3")
    lroi.setPos(QPointF(2 * NM, 3 * NM), finish=True)
    assert edits[-1][0] == "r3"
    np.testing.assert_allclose(edits[-1][1].array, lasso.array + [2 * NM, 3 * NM], atol=1e-15)
    # regions removed from the list lose their ROI; a changed geometry rebuilds it
    d.set_regions([RegionShape("r1", (0, 0, 255), ell.translated(1 * NM, 0.0))])
    assert d.region_ids() == ["r1"]
    assert d.geometry_of("r1").center == pytest.approx((-19 * NM, 10 * NM), abs=1e-15)


def test_overlays_in_the_image_grid(qtbot, view):
    d = RegionDrawer(view.view_box, view.image_item)
    m = np.zeros((50, 50), bool)
    m[5:10, 20:30] = True
    d.set_mask_overlay([(m, (10, 20, 30))])
    img = d.mask_overlay_image()
    assert img.shape == (50, 50, 4)
    assert tuple(img[7, 25]) == (10, 20, 30, 55) and img[0, 0, 3] == 0
    # the boundary is drawn almost opaque, the inside lightly tinted
    assert tuple(img[5, 25]) == (10, 20, 30, 235) and tuple(img[7, 20]) == (10, 20, 30, 235)
    assert img[4, 25, 3] == 0
    h = np.zeros((50, 50), bool)
    h[40, 41] = True
    d.set_highlight(h)
    assert tuple(d.highlight_image()[40, 41]) == (255, 0, 255, 200)
    assert d.highlight_image()[41, 40, 3] == 0
    d.set_highlight(None)
    assert d.highlight_image() is None
    d.detach()
    assert d.region_ids() == []


def test_right_click_cancels_the_tool(qtbot, view):
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    d = RegionDrawer(view.view_box, view.image_item)
    got = []
    d.drawn.connect(got.append)
    d.set_tool("polygon")
    click(view.graphics.viewport(), _w(view, 0.0, 0.0))
    vp = view.graphics.viewport()
    pos = QPointF(_w(view, 10 * NM, 10 * NM))
    right, none = Qt.MouseButton.RightButton, Qt.MouseButton.NoButton
    gpos = QPointF(vp.mapToGlobal(pos.toPoint()))
    for kind, buttons in ((QEvent.Type.MouseButtonPress, right), (QEvent.Type.MouseButtonRelease, none)):
        ev = QMouseEvent(kind, pos, gpos, right, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(vp, ev)
    assert d.tool() == "" and got == []


def test_outlines_ignore_noise_specks():
    from widgets.region_drawing import _outline

    m = np.zeros((30, 30), bool)
    m[5:25, 5:25] = True
    m[12, 12] = False  # a one-pixel hole (a noise pixel of another band)
    m[2, 28] = True  # a one-pixel speck
    edge = _outline(m)
    assert edge[5, 10] and edge[24, 10] and edge[10, 5] and edge[10, 24]  # the square's boundary
    assert not edge[11, 12] and not edge[12, 13]  # no ring round the hole
    assert not edge[2, 28] and not edge[10, 10]  # no speck, no inside
    lone = np.zeros((30, 30), bool)
    lone[3, 3] = True  # a region that is only a speck keeps its outline
    assert _outline(lone)[3, 3]
