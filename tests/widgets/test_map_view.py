"""The base map view: placement in metres, levels, overlays, scale bar, context menu, mouse signals."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from analysis.dataset import Frame
from widgets.colormaps import COLORMAPS, colormap
from widgets.map_view import MapView, frame_transform, nice_length, percentile_levels


@pytest.fixture
def view(qtbot):
    v = MapView("test map")
    qtbot.addWidget(v)
    v.resize(500, 450)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_nice_length_and_percentiles():
    assert nice_length(220e-9) == pytest.approx(20e-9)
    assert nice_length(5e-9) == pytest.approx(1e-9)
    assert nice_length(60e-9) == pytest.approx(10e-9)
    img = np.arange(10000, dtype=np.float32).reshape(100, 100)
    img[0, 0] = np.nan
    lo, hi = percentile_levels(img, 1.0, max_samples=20000)  # every pixel
    assert lo == pytest.approx(100, abs=2) and hi == pytest.approx(9900, abs=2)
    lo, hi = percentile_levels(img, 1.0)  # a strided subsample: close to the full percentiles
    assert lo == pytest.approx(100, abs=110) and hi == pytest.approx(9900, abs=110)
    assert percentile_levels(np.full((4, 4), np.nan)) == (0.0, 1.0)


def test_frame_transform_matches_the_frame():
    f = Frame(center=(3e-9, -2e-9), size=(20e-9, 10e-9), angle=-45.0, shape=(5, 8))
    t = frame_transform(f)
    for iy, ix in [(0, 0), (4, 7), (2, 3)]:
        p = t.map(ix + 0.5, iy + 0.5)
        assert np.allclose(p, f.pixel_to_xy(ix, iy), atol=1e-18)


def test_image_levels_modes_and_colour_bar_units(view):
    f = Frame(size=(20e-9, 20e-9), shape=(10, 10))
    view.set_frame(f)
    view.set_value_label("dI/dV", "S")
    img = (np.arange(100, dtype=np.float32).reshape(10, 10) + 1) * 1e-9
    view.set_image(img)
    lo, hi = view.levels()
    assert lo == pytest.approx(np.percentile(img, 1), rel=0.3) and hi == pytest.approx(
        np.percentile(img, 99), rel=0.02
    )
    assert view.histogram.axis.labelUnits == "S"
    view.set_levels(0.0, 5e-8)
    view.set_image(img * 2)
    assert view.levels() == pytest.approx((0.0, 5e-8)) and view.level_mode == "manual"
    view.set_level_mode("global", (1e-9, 2e-9))
    assert view.levels() == pytest.approx((1e-9, 2e-9))
    view.set_level_mode("percentile")
    assert view.levels()[1] == pytest.approx(np.percentile(img * 2, 99), rel=0.02)
    with pytest.raises(ValueError):
        view.set_level_mode("auto")
    # the view box shows the frame in metres
    (x0, x1), (y0, y1) = view.view_box.viewRange()
    assert x0 <= -10e-9 and x1 >= 10e-9 and x1 - x0 < 40e-9
    assert view.scale_bar_length == pytest.approx(5e-9) or view.scale_bar_length == pytest.approx(2e-9)


def test_histogram_drag_switches_to_manual(view, qtbot):
    view.set_frame(Frame(size=(1e-8, 1e-8), shape=(4, 4)))
    view.set_image(np.arange(16, dtype=np.float32).reshape(4, 4))
    modes = []
    view.level_mode_changed.connect(modes.append)
    view.histogram.region.setRegion((2.0, 9.0))  # what a drag does
    assert view.level_mode == "manual" and modes == ["manual"]
    assert view.levels() == pytest.approx((2.0, 9.0))


def test_colormaps_apply_and_unknown_is_refused(view):
    for name in COLORMAPS:
        view.set_colormap(name)
        lut = view.lookup_table(64)
        assert lut.shape[0] == 64
        expected = colormap(name).map(np.array([0.0, 1.0]), mode="byte")[:, :3]
        np.testing.assert_allclose(lut[[0, -1], :3], expected, atol=2)
    with pytest.raises(ValueError, match="unknown colour map"):
        colormap("rainbow-of-doom")


def test_crosshair_markers_and_mouse(view, qtbot):
    f = Frame(size=(20e-9, 20e-9), shape=(10, 10))
    view.set_frame(f)
    view.set_image(np.random.default_rng(0).random((10, 10)).astype(np.float32))
    view.set_crosshair((1e-9, 2e-9))
    assert view.crosshair() == pytest.approx((1e-9, 2e-9))
    view.set_crosshair(None)
    assert view.crosshair() is None
    view.set_markers([(0.0, 0.0, (255, 0, 0)), (5e-9, 5e-9, (0, 0, 255))])
    assert view.marker_count() == 2
    clicks, pins, hovers = [], [], []
    view.clicked.connect(lambda x, y: clicks.append((x, y)))
    view.pin_requested.connect(lambda x, y: pins.append((x, y)))
    view.hovered.connect(hovers.append)
    x, y = f.pixel_to_xy(3, 7)
    pos = view.view_to_widget(float(x), float(y))
    p = QPoint(round(pos.x()), round(pos.y()))
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseClick(
        view.graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, p
    )
    assert len(clicks) == 1 and len(pins) == 1
    assert f.nearest_pixel(*clicks[0]) == (7, 3) and f.nearest_pixel(*pins[0]) == (7, 3)
    qtbot.mouseMove(view.graphics.viewport(), p)
    qtbot.waitUntil(lambda: bool(hovers) and hovers[-1] is not None)
    assert f.nearest_pixel(*hovers[-1]) == (7, 3)
    # outside the frame: no click, hover None
    corner = QPoint(3, 3)
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=corner)
    assert len(clicks) == 1


def test_context_menu_has_pin_and_export(view):
    view.set_frame(Frame(size=(20e-9, 20e-9), shape=(10, 10)))
    view.set_image(np.zeros((10, 10), np.float32))
    kinds, pins = [], []
    view.export_requested.connect(kinds.append)
    view.pin_requested.connect(lambda x, y: pins.append((x, y)))
    menu = view.build_context_menu(0.0, 0.0)
    texts = [a.text() for a in menu.actions()]
    assert "Pin spectrum here" in texts
    export = [a.menu() for a in menu.actions() if a.text() == "Export"][0]
    for a in export.actions():
        a.trigger()
    assert kinds == ["png", "svg", "csv"]
    [a for a in menu.actions() if a.text() == "Pin spectrum here"][0].trigger()
    assert pins == [(0.0, 0.0)]
    outside = view.build_context_menu(1.0, 1.0)
    assert not [a for a in outside.actions() if a.text() == "Pin spectrum here"][0].isEnabled()
