"""The overlay: curves coloured by the tag, the colour bar, hover, right-click export, many sweeps."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF
from PySide6.QtWidgets import QApplication

from tests.app.real_input import click_menu_path, right_click_menu
from tests.widgets.region_mouse import _move_interval_ms
from tests.widgets.series.helpers import grab, near_colour, point, show
from tests.widgets.series.synthetic import series
from widgets.series.overlay import SeriesOverlay


@pytest.fixture
def overlay(qtbot):
    view = show(qtbot, SeriesOverlay())
    xs, ys, h = series(12, 400)
    view.set_curves(xs, ys, h, "H", "T", "Voltage", "V", "Current", "A")
    return view


@pytest.fixture
def lines(qtbot):
    """Five flat sweeps y = i + 0.37 uA (off the grid lines) over -1..1 mV at H = 0, 0.2, ..., 0.8 T."""
    view = show(qtbot, SeriesOverlay())
    x = np.linspace(-1e-3, 1e-3, 200)
    view.set_curves(
        [x] * 5,
        [np.full(200, (i + 0.37) * 1e-6) for i in range(5)],
        np.arange(5) * 0.2,
        "H",
        "T",
        "Voltage",
        "V",
        "Current",
        "A",
    )
    return view


def test_the_axes_and_the_colour_bar_carry_names_and_si_units(overlay):
    assert overlay.color_bar.levels() == pytest.approx((0.0, 0.9))
    label = overlay.color_bar.axis.labelString()
    assert "H" in label and "mT" in label  # SI prefix chosen for 0..0.9 T
    assert "mV" in overlay.plot.getAxis("bottom").labelString()
    assert "\u00b5A" in overlay.plot.getAxis("left").labelString()


def test_each_sweep_is_drawn_in_its_tag_colour_and_the_bar_shows_the_map(lines):
    img = grab(lines.graphics)
    for i in range(5):
        at = lines.view_to_widget(0.37e-3, (i + 0.37) * 1e-6)  # off the grid lines
        assert near_colour(img, at, lines.sweep_colour(i), radius=1, tol=20), i
    # the two ends of the map differ: dark violet for H = 0, yellow for the highest field
    assert lines.sweep_colour(0)[2] > 60 and lines.sweep_colour(4)[0] > 200
    # the colour bar itself is drawn: yellow at its top
    bar = lines.color_bar.sceneBoundingRect()
    top = lines.graphics.mapFromScene(QPointF(bar.left() + 12, bar.top() + 12))
    assert near_colour(img, top, lines.sweep_colour(4), radius=6, tol=40)


def test_hover_highlights_the_nearest_sweep_and_emits_its_index(lines, qtbot):
    got: list[int] = []
    lines.hovered.connect(got.append)
    for i in (4, 1):
        qtbot.wait(_move_interval_ms())
        at = lines.view_to_widget(0.3e-3, (i + 0.47) * 1e-6)  # a little above the curve
        qtbot.mouseMove(lines.graphics.viewport(), point(at))
        qtbot.waitUntil(lambda i=i: bool(got) and got[-1] == i, timeout=2000)
        assert lines.hovered_index == i
        img = grab(lines.graphics)
        assert near_colour(
            img, lines.view_to_widget(-0.5e-3, (i + 0.37) * 1e-6), (220, 20, 60), radius=1, tol=30
        )
        assert not near_colour(img, lines.view_to_widget(-0.5e-3, 2.5e-6), (220, 20, 60), radius=1, tol=30)
    # away from every curve (beyond the last bias point): nothing is hovered, nothing highlighted
    qtbot.wait(_move_interval_ms())
    far = lines.view_to_widget(0.0, 0.0)
    far.setX(lines.view_to_widget(1e-3, 0.0).x() + 40)
    qtbot.mouseMove(lines.graphics.viewport(), point(far))
    qtbot.waitUntil(lambda: got[-1] == -1, timeout=2000)
    img = grab(lines.graphics)
    assert not near_colour(img, lines.view_to_widget(-0.5e-3, 1e-6), (220, 20, 60), radius=1, tol=30)


def test_leaving_the_plot_clears_the_highlight(lines, qtbot):
    got: list[int] = []
    lines.hovered.connect(got.append)
    qtbot.mouseMove(lines.graphics.viewport(), point(lines.view_to_widget(0.3e-3, 2.4e-6)))
    qtbot.waitUntil(lambda: got == [2], timeout=2000)
    QApplication.sendEvent(lines.graphics.viewport(), QEvent(QEvent.Type.Leave))
    assert got == [2, -1] and lines.hovered_index == -1


def test_right_click_export_entries_emit_the_kind(overlay, qtbot):
    at = point(overlay.view_to_widget(0.0, 0.0))
    for text, kind in (("Image as PNG...", "png"), ("Image as SVG...", "svg"), ("Data as CSV...", "csv")):
        menu = right_click_menu(qtbot, overlay.graphics.viewport(), at)
        with qtbot.waitSignal(overlay.export_requested) as sig:
            click_menu_path(qtbot, menu, "Export", text)
        assert sig.args == [kind]


def test_non_monotonic_sweeps_are_drawn_in_measured_order(qtbot):
    """A hysteretic sweep (up at one level, down at another) draws both branches, not a zigzag."""
    view = show(qtbot, SeriesOverlay())
    x = np.concatenate([np.linspace(-1, 1, 50), np.linspace(1, -1, 50)])
    y = np.concatenate([np.zeros(50), np.ones(50)])
    view.set_curves([x], [y], [1.0], "T", "K", "Current", "A", "Voltage", "V")
    img = grab(view.graphics)
    c = view.sweep_colour(0)
    assert near_colour(img, view.view_to_widget(-0.5, 0.0), c, radius=2)
    assert near_colour(img, view.view_to_widget(-0.5, 1.0), c, radius=2)
    assert not near_colour(img, view.view_to_widget(-0.5, 0.5), c, radius=2)


def test_a_thousand_sweeps_draw_as_a_few_items_and_missing_tags_are_grey(qtbot):
    view = show(qtbot, SeriesOverlay(n_bins=32))
    xs, ys, h = series(1000, 50)
    h = h.copy()
    h[500] = np.nan
    view.set_curves(xs, ys, h, "H", "T", "Voltage", "V", "Current", "A")
    assert len(view.items) <= 33
    assert view.sweep_colour(500) == (150, 150, 150)
    n_points = sum(int(np.isfinite(item.getData()[0]).sum()) for item in view.items)
    assert n_points == 1000 * 50


def test_an_empty_series_and_bad_shapes(qtbot):
    view = show(qtbot, SeriesOverlay())
    view.set_curves([], [], [], "H", "T", "Voltage", "V", "Current", "A")
    assert view.items == [] and view.nearest_sweep(0.0, 0.0) == -1
    with pytest.raises(ValueError, match="sweep 0"):
        view.set_curves([np.zeros(3)], [np.zeros(4)], [0.0])
    with pytest.raises(ValueError, match="tag values"):
        view.set_curves([np.zeros(3)], [np.zeros(3)], [0.0, 1.0])
