"""Correlation scatter: groups by region, brushing emits the enclosed pixels."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.maps.regions import Lasso, Rectangle
from widgets.correlation_panel import CorrelationPanel


@pytest.fixture
def panel(qtbot):
    p = CorrelationPanel()
    qtbot.addWidget(p)
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([0.0, 1.0, 4.0, 9.0, 16.0])
    pixels = np.array([10, 11, 12, 20, 21])
    labels = np.array([0, 0, 1, 1, -1])
    groups = {0: ("Region 1", (255, 0, 0)), 1: ("Region 2", (0, 0, 255))}
    p.set_points(x, y, pixels, labels, groups, "A", "B", "S", "S", "Pearson r = 0.96")
    return p


def test_groups_and_stats(panel):
    assert panel.point_count() == 5
    assert panel.group_counts() == {"Region 1": 2, "Region 2": 2, "no region": 1}
    assert panel.stats_label.text() == "Pearson r = 0.96"


def test_brush_rectangle_and_lasso(qtbot, panel):
    with qtbot.waitSignal(panel.selection_changed) as blocker:
        got = panel.brush(Rectangle((2.5, 6.0), (2.0, 8.0)))  # x 1.5..3.5, y 2..10
    np.testing.assert_array_equal(got, [12, 20])
    np.testing.assert_array_equal(blocker.args[0], [12, 20])
    got = panel.brush(Lasso(((-0.5, -0.5), (1.5, -0.5), (1.5, 1.5), (-0.5, 1.5))))
    np.testing.assert_array_equal(got, [10, 11])
    np.testing.assert_array_equal(panel.selected_pixels(), [10, 11])
    with qtbot.waitSignal(panel.selection_changed) as blocker:
        panel.clear_button.click()
    assert blocker.args[0].size == 0


def test_brush_tool_drawn_in_scatter(qtbot, panel):
    panel.brush_rect.click()
    assert panel.drawer.tool() == "rectangle"
    with qtbot.waitSignal(panel.selection_changed) as blocker:
        panel.drawer.begin(2.5, 15.0)
        panel.drawer.extend(4.5, 17.0)
        panel.drawer.finish()
    np.testing.assert_array_equal(blocker.args[0], [21])
    assert not panel.brush_rect.isChecked()  # one gesture per activation


def test_map_choices(qtbot, panel):
    panel.set_map_choices([("a", "Map A"), ("b", "Map B")], a="a", b="b")
    assert panel.current_maps() == ("a", "b")
    with qtbot.waitSignal(panel.maps_changed) as blocker:
        panel.combo_b.setCurrentIndex(0)
    assert blocker.args == ["a", "a"]
