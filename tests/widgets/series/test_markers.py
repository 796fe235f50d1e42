"""Marker tools: ladders dragged by any rung, peak pickers by click, drag, table edit and Delete."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QAbstractItemView, QLineEdit

from tests.app.real_input import click_menu_path, right_click_menu
from tests.widgets.region_mouse import click, drag
from tests.widgets.series.helpers import grab, near_colour, point, show
from tests.widgets.series.synthetic import map_data
from widgets.series.markers import Ladder, PeakPicker

X, H, Z = map_data(10, 400)


@pytest.fixture
def picker(qtbot):
    view = show(qtbot, PeakPicker("peak"), 900, 420)
    view.set_curve(X, Z[0], "Voltage", "V", "dV/dI", "Ohm")
    return view


def _drag_line(view, x0: float, x1: float, y: float) -> None:
    a, b = view.view_to_widget(x0, y), view.view_to_widget(x1, y)
    steps = [QPointF(a.x() + (b.x() - a.x()) * t, a.y()) for t in (0.0, 0.05, 0.3, 0.6, 1.0)]
    drag(view.graphics.viewport(), steps)


def _screen_to_x(view, x0: float, x1: float) -> float:
    """The data x a drag from x0 to x1 lands on, after rounding to whole pixels."""
    b = point(view.view_to_widget(x1, 150.0))
    return view.view_box.mapSceneToView(view.graphics.mapToScene(b)).x()


def _edit(qtbot, table, row: int, col: int) -> QLineEdit:
    """Click a cell, press F2 and return the editor that opens."""
    rect = table.visualItemRect(table.item(row, col))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.keyClick(table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: table.state() == QAbstractItemView.State.EditingState, timeout=2000)
    (editor,) = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
    return editor


@pytest.mark.parametrize(("kind", "n", "start"), [("inverse", 2, 2.0e-3), ("multiple", 3, 0.5e-3)])
def test_dragging_any_rung_moves_the_whole_ladder(picker, qtbot, kind, n, start):
    ladder = Ladder(picker.plot, kind, start, n_rungs=4, name="2\u0394" if kind == "inverse" else "hf/2e")
    got: list[float] = []
    ladder.parameter_changed.connect(got.append)
    v0 = ladder.rung(n)
    _drag_line(picker, v0, v0 + 0.3e-3, 150.0)
    qtbot.waitUntil(lambda: bool(got), timeout=2000)
    moved = float(dict(((m, s), ln) for m, s, ln in ladder.lines)[(n, 1)].value())
    assert moved == pytest.approx(v0 + 0.3e-3, abs=2 * picker.view_box.viewPixelSize()[0])
    expected = moved * n if kind == "inverse" else moved / n
    assert got[-1] == pytest.approx(expected)
    assert ladder.parameter == pytest.approx(expected)
    # every other rung (and the mirrored side) follows the new parameter
    for m, sign, line in ladder.lines:
        assert line.value() == pytest.approx(sign * ladder.rung(m))
    img = grab(picker.graphics)
    rung1 = picker.view_to_widget(ladder.rung(1), 120.0)
    assert near_colour(img, rung1, (213, 94, 0), radius=2, tol=40)


def test_a_click_adds_a_peak_marker_and_its_table_row(picker, qtbot):
    with qtbot.waitSignal(picker.markers_changed) as sig:
        click(picker.graphics.viewport(), picker.view_to_widget(1.9e-3, 280.0))
    (m,) = sig.args[0]
    px, py = picker.view_box.viewPixelSize()
    assert m["position"] == pytest.approx(1.9e-3, abs=2 * px)
    assert m["height"] == pytest.approx(280.0, abs=2 * py)
    assert m["width"] > 0
    assert picker.table.rowCount() == 1
    assert float(picker.table.item(0, 0).text()) == pytest.approx(m["position"] * 1e3, rel=1e-5)  # in mV
    headers = [picker.table.horizontalHeaderItem(c).text() for c in range(3)]
    assert headers == ["Position (mV)", "Height (\u03a9)", "Width (mV)"]
    img = grab(picker.graphics)
    assert near_colour(img, picker.view_to_widget(m["position"], 200.0), picker.colour, radius=2, tol=40)
    # a second click on the same line selects it rather than adding another marker
    with qtbot.assertNotEmitted(picker.markers_changed):
        click(picker.graphics.viewport(), picker.view_to_widget(m["position"], 200.0))
    assert picker.table.rowCount() == 1


def test_dragging_a_marker_and_editing_its_row(picker, qtbot):
    picker.set_markers([{"position": -1.9e-3, "height": 290.0, "width": 1e-4}])
    with qtbot.waitSignal(picker.markers_changed) as sig:
        _drag_line(picker, -1.9e-3, -1.5e-3, 200.0)
    pos = sig.args[0][0]["position"]
    assert pos == pytest.approx(-1.5e-3, abs=3 * picker.view_box.viewPixelSize()[0])
    assert float(picker.table.item(0, 0).text()) == pytest.approx(pos * 1e3, rel=1e-5)
    # edit the width in the table: click the cell, F2, type, Enter
    table = picker.table
    editor = _edit(qtbot, table, 0, 2)
    with qtbot.waitSignal(picker.markers_changed) as sig:
        qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(editor, "0.4")  # mV, as the column header says
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert sig.args[0][0]["width"] == pytest.approx(4e-4)
    bar_x, bar_y = picker.markers[0].bar.getData()
    assert bar_x[1] - bar_x[0] == pytest.approx(4e-4)
    # a text that is not a number is refused and the cell shows the value again
    editor = _edit(qtbot, table, 0, 1)
    with qtbot.assertNotEmitted(picker.markers_changed):
        qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(editor, "high")
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert float(table.item(0, 1).text()) == pytest.approx(290.0)


def test_delete_removes_the_selected_marker(picker, qtbot):
    picker.set_markers([{"position": p, "height": 290.0, "width": 1e-4} for p in (1.9e-3, -1.9e-3, 0.5e-3)])
    assert [m["position"] for m in picker.marker_list()] == [-1.9e-3, 0.5e-3, 1.9e-3]  # position order
    table = picker.table
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(1, 0)).center()
    )
    with qtbot.waitSignal(picker.markers_changed) as sig:
        qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert [m["position"] for m in sig.args[0]] == [-1.9e-3, 1.9e-3]
    assert table.rowCount() == 2
    assert len(picker.plot.items) == 1 + 2 * 3  # the curve and three items per marker
    np.testing.assert_array_equal(picker.curve.getData()[0], X)


def test_right_click_on_the_picker_offers_export_and_adds_no_marker(picker, qtbot):
    at = point(picker.view_to_widget(0.0, 200.0))
    menu = right_click_menu(qtbot, picker.graphics.viewport(), at)
    with qtbot.waitSignal(picker.export_requested) as sig:
        click_menu_path(qtbot, menu, "Export", "Data as CSV...")
    assert sig.args == ["csv"]
    assert picker.marker_list() == []


def test_a_step_picker_marks_a_current_step(qtbot):
    """Shapiro-like steps: I(V) with a plateau; a click on the step adds a marker in the step colour."""
    view = show(qtbot, PeakPicker("step"), 900, 420)
    v = np.linspace(0, 1e-3, 300)
    i = 1e-6 * np.floor(v / 0.25e-3)  # steps of 1 uA every 0.25 mV
    view.set_curve(v, i, "Voltage", "V", "Current", "A")
    with qtbot.waitSignal(view.markers_changed) as sig:
        click(view.graphics.viewport(), view.view_to_widget(0.5e-3, 1.5e-6))
    (m,) = sig.args[0]
    assert m["position"] == pytest.approx(0.5e-3, abs=3 * view.view_box.viewPixelSize()[0])
    assert [view.table.horizontalHeaderItem(c).text() for c in range(3)] == [
        "Position (mV)",
        "Height (\u00b5A)",
        "Width (mV)",
    ]
    img = grab(view.graphics)
    assert near_colour(img, view.view_to_widget(0.5e-3, 0.6e-6), (0, 158, 115), radius=2, tol=40)
