"""The waterfall: the offset typed or stepped in its spin box moves the curves apart on screen."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.app.real_input import click_menu_path, right_click_menu
from tests.widgets.series.helpers import grab, near_colour, point, show
from widgets.series.waterfall import SeriesWaterfall, default_offset


@pytest.fixture
def fall(qtbot):
    view = show(qtbot, SeriesWaterfall(), 700, 520)
    x = np.linspace(-1e-3, 1e-3, 200)
    ys = [np.full(200, 0.37e-6) for _ in range(4)]  # four equal flat sweeps: only the offset parts them
    view.set_curves([x] * 4, ys, [0.0, 0.3, 0.6, 0.9], "H", "T", "Voltage", "V", "Current", "A", offset=1e-6)
    return view


def _at(view, i: int):
    return view.view_to_widget(0.37e-3, 0.37e-6 + i * view.offset)


def test_sweeps_are_stacked_by_the_offset_in_their_tag_colours(fall):
    assert fall.offset == pytest.approx(1e-6)
    assert fall.offset_box.value() == pytest.approx(1e-6)
    img = grab(fall.graphics)
    for i in range(4):
        assert near_colour(img, _at(fall, i), fall.overlay.sweep_colour(i), radius=1, tol=25), i


def test_typing_an_offset_with_an_si_prefix_restacks_the_curves(fall, qtbot):
    with qtbot.waitSignal(fall.offset_changed) as sig:
        qtbot.mouseDClick(fall.offset_box, Qt.MouseButton.LeftButton)
        qtbot.keyClick(fall.offset_box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(fall.offset_box, "2.5 uA")
        qtbot.keyClick(fall.offset_box, Qt.Key.Key_Return)
    assert sig.args[0] == pytest.approx(2.5e-6)
    assert fall.offset == pytest.approx(2.5e-6)
    img = grab(fall.graphics)
    assert near_colour(img, _at(fall, 3), fall.overlay.sweep_colour(3), radius=1, tol=25)
    assert fall.plot.viewRange()[1][1] >= 0.37e-6 + 3 * 2.5e-6  # the view follows the taller stack


def test_arrow_key_steps_the_offset(fall, qtbot):
    fall.offset_box.setFocus()
    with qtbot.waitSignal(fall.offset_changed) as sig:
        qtbot.keyClick(fall.offset_box, Qt.Key.Key_Up)
    assert sig.args[0] > 1e-6


def test_hover_and_right_click_export(fall, qtbot):
    with qtbot.waitSignal(fall.hovered) as sig:
        qtbot.mouseMove(fall.graphics.viewport(), point(_at(fall, 2)))
    assert sig.args == [2]
    menu = right_click_menu(qtbot, fall.graphics.viewport(), point(_at(fall, 1)))
    with qtbot.waitSignal(fall.export_requested) as sig:
        click_menu_path(qtbot, menu, "Export", "Data as CSV...")
    assert sig.args == ["csv"]


def test_a_first_offset_is_a_tenth_of_the_span(qtbot):
    view = show(qtbot, SeriesWaterfall())
    x = np.linspace(0, 1, 5)
    view.set_curves([x, x], [x * 2e-6, x * 4e-6], [0.0, 1.0], "T", "K", "V", "V", "I", "A")
    assert view.offset == pytest.approx(0.4e-6)
    assert default_offset([np.full(3, 5.0)]) == pytest.approx(0.5)
    assert default_offset([]) == 1.0
