"""The 2D map: placement in physical units, the colour bar, crosshair by click and by drag, both cuts."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from tests.app.real_input import click_menu_path, right_click_menu
from tests.widgets.region_mouse import click, drag
from tests.widgets.series.helpers import grab, near_colour, point, show
from tests.widgets.series.synthetic import gap, map_data
from widgets.colormaps import colormap
from widgets.series.map2d import SeriesMap

X, H, Z = map_data(60, 200)


@pytest.fixture
def view(qtbot):
    v = show(qtbot, SeriesMap(), 800, 600)
    v.set_map(Z, X, H, "Voltage", "V", "H", "T", "dV/dI", "Ohm", levels=(100.0, 300.0))
    return v


def _lut(value: float, levels=(100.0, 300.0)) -> tuple[int, int, int]:
    t = (value - levels[0]) / (levels[1] - levels[0])
    r, g, b, _a = colormap("viridis").map([t], mode="byte")[0]
    return int(r), int(g), int(b)


def test_the_map_is_placed_in_physical_units_with_its_colour_bar(view):
    assert "mV" in view.plot.getAxis("bottom").labelString()
    assert "mT" in view.plot.getAxis("left").labelString()
    assert "\u03a9" in view.color_bar.axis.labelString()
    assert view.color_bar.levels() == pytest.approx((100.0, 300.0))
    img = grab(view.graphics)
    # the ridge at V = 2 gap(H) is bright, the background between the ridges dark, both at their places
    j = 20
    ridge = view.view_to_widget(2 * float(gap(H[j])), float(H[j]))
    assert near_colour(img, ridge, _lut(300.0), radius=2, tol=40)
    inside = view.view_to_widget(-0.5e-3, float(H[j]))
    assert near_colour(img, inside, _lut(100.0), radius=1, tol=20)


def test_a_click_moves_the_crosshair_and_both_cuts(view, qtbot):
    target = (1.0e-3, 0.45)
    with qtbot.waitSignal(view.cut_changed) as sig:
        click(view.graphics.viewport(), view.view_to_widget(*target))
    k = int(np.argmin(np.abs(X - sig.args[0])))
    j = int(np.argmin(np.abs(H - sig.args[1])))
    assert abs(sig.args[0] - target[0]) <= 2 * (X[1] - X[0])  # one pixel of the screen is ~ one column
    assert abs(sig.args[1] - target[1]) <= 2 * (H[1] - H[0])
    assert view.cut_position() == (X[k], H[j])
    xs, row = view.horizontal_cut()
    np.testing.assert_array_equal(row, Z[j])
    tags, col = view.vertical_cut()
    np.testing.assert_array_equal(col, Z[:, k])
    np.testing.assert_array_equal(view.hcut_curve.getData()[1], Z[j])
    assert view.x_line.value() == pytest.approx(target[0], abs=X[1] - X[0])
    # the horizontal cut is drawn under the map: its peak at 2 gap(H_j) sits on the curve's colour
    img = grab(view.graphics)
    peak = view.hcut_plot.getViewBox().mapViewToScene(QPointF(float(X[np.argmax(Z[j])]), float(Z[j].max())))
    assert near_colour(img, view.graphics.mapFromScene(peak), (30, 30, 30), radius=3, tol=40)


def test_dragging_the_vertical_line_moves_the_x_cut_only(view, qtbot):
    x0, h0 = view.cut_position()
    got: list[tuple[float, float]] = []
    view.cut_changed.connect(lambda x, t: got.append((x, t)))
    start = view.view_to_widget(x0, 0.1)  # on the vertical line, away from the horizontal one
    path = [QPointF(start.x() + dx, start.y()) for dx in (0, 5, 20, 40, 60)]
    drag(view.graphics.viewport(), path)
    qtbot.waitUntil(lambda: bool(got), timeout=2000)
    x1, h1 = view.cut_position()
    assert h1 == h0
    expected = view.view_box.mapSceneToView(view.graphics.mapToScene(point(path[-1]))).x()
    assert x1 == pytest.approx(expected, abs=2 * (X[1] - X[0]))
    assert x1 > x0
    np.testing.assert_array_equal(view.vertical_cut()[1], Z[:, int(np.argmin(np.abs(X - x1)))])


def test_a_new_map_of_the_same_shape_keeps_the_crosshair(view, qtbot):
    view.set_cut(1.5e-3, 0.6)
    pos = view.cut_position()
    with qtbot.assertNotEmitted(view.cut_changed):
        view.set_map(Z * 2, X, H, "Voltage", "V", "H", "T", "dV/dI", "Ohm")
    assert view.cut_position() == pos
    np.testing.assert_array_equal(view.horizontal_cut()[1], 2 * Z[view.row])


def test_right_click_export_from_the_map(view, qtbot):
    menu = right_click_menu(qtbot, view.graphics.viewport(), point(view.view_to_widget(-3e-3, 0.8)))
    with qtbot.waitSignal(view.export_requested) as sig:
        click_menu_path(qtbot, menu, "Export", "Image as SVG...")
    assert sig.args == ["svg"]


def test_nan_pixels_a_single_row_and_bad_shapes(qtbot):
    v = show(qtbot, SeriesMap(), 600, 450)
    z = Z.copy()
    z[:, :50] = np.nan  # no data left of -2 mV
    v.set_map(z, X, H, "Voltage", "V", "H", "T", "dV/dI", "Ohm")
    lo, hi = v.color_bar.levels()
    assert np.isfinite(lo) and np.isfinite(hi) and lo < hi
    img = grab(v.graphics)
    # the missing part is not painted with a colour of the map (the white background shows)
    assert near_colour(img, v.view_to_widget(float(X[20]), 0.45), (255, 255, 255), radius=1, tol=10)
    v.set_map(Z[:1], X, H[:1], "Voltage", "V", "H", "T", "dV/dI", "Ohm")
    np.testing.assert_array_equal(v.vertical_cut()[1], Z[:1, v.column])
    with pytest.raises(ValueError, match="n_tags, n_x"):
        v.set_map(Z, X[:-1], H)
