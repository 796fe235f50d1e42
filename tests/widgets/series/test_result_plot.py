"""The result plot: points with error bars in their colours, units on the axes, legend, export."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from tests.app.real_input import click_menu_path, right_click_menu
from tests.widgets.series.helpers import grab, near_colour, point, show
from widgets.series.result_plot import RESULT_COLOURS, Result, ResultPlot

H = np.linspace(0.0, 0.8, 5)


@pytest.fixture
def plot(qtbot):
    view = show(qtbot, ResultPlot(), 600, 420)
    view.set_results(
        [
            Result("Delta", H, 1e-3 - 0.5e-3 * H, np.full(5, 0.1e-3), "V"),
            Result("Delta_2", H, 0.6e-3 - 0.2e-3 * H, None, "V"),
        ],
        "H",
        "T",
    )
    return view


def _at(view, x, y):
    return view.graphics.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y)))


def test_points_and_error_bars_are_drawn_in_each_results_colour(plot):
    assert "mV" in plot.plot.getAxis("left").labelString()
    assert "mT" in plot.plot.getAxis("bottom").labelString()
    img = grab(plot.graphics)
    for x, y in zip(H, 1e-3 - 0.5e-3 * H):
        assert near_colour(img, _at(plot, x, y), RESULT_COLOURS[0], radius=2, tol=30)
        # the error bar reaches 0.1 mV above the point (the bar is one pixel wide)
        assert near_colour(img, _at(plot, x, y + 0.08e-3), RESULT_COLOURS[0], radius=1, tol=60)
    for x, y in zip(H, 0.6e-3 - 0.2e-3 * H):
        assert near_colour(img, _at(plot, x, y), RESULT_COLOURS[1], radius=2, tol=30)
    names = [label.text for _sample, label in plot.legend.items]
    assert names == ["Delta", "Delta_2"]


def test_results_in_different_units_name_their_unit_in_the_legend(qtbot):
    view = show(qtbot, ResultPlot(), 600, 420)
    view.set_results([Result("Delta", H, H, None, "V"), Result("I_c", H, H, None, "A")], "H", "T")
    assert [label.text for _s, label in view.legend.items] == ["Delta (V)", "I_c (A)"]


def test_right_click_export(plot, qtbot):
    menu = right_click_menu(qtbot, plot.graphics.viewport(), point(_at(plot, 0.4, 0.5e-3)))
    with qtbot.waitSignal(plot.export_requested) as sig:
        click_menu_path(qtbot, menu, "Export", "Image as PNG...")
    assert sig.args == ["png"]
