"""Region list panel: rows, rename, recolour, delete, undo buttons, tools."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from widgets.region_list_panel import RegionListPanel, RegionRow

ROWS = [
    RegionRow("r1", "Region 1", (255, 0, 0), 120, 2500.0, 3),
    RegionRow("r2", "Region 2", (0, 0, 255), 40, 833.3333, 0),
]


@pytest.fixture
def panel(qtbot):
    p = RegionListPanel()
    qtbot.addWidget(p)
    p.set_rows(ROWS)
    return p


def test_rows_shown(panel):
    t = panel.table
    assert t.rowCount() == 2
    assert t.item(0, 1).text() == "Region 1"
    assert t.item(0, 2).text() == "120"
    assert t.item(1, 3).text() == "833.3"
    assert t.item(0, 4).text() == "3"
    assert t.item(1, 0).background().color() == QColor(0, 0, 255)


def test_rename_emits_and_blank_is_refused(qtbot, panel):
    with qtbot.waitSignal(panel.rename_requested) as blocker:
        panel.table.item(1, 1).setText("grain A")
    assert blocker.args == ["r2", "grain A"]
    got = []
    panel.rename_requested.connect(lambda *a: got.append(a))
    panel.table.item(0, 1).setText("  ")
    assert got == [] and panel.table.item(0, 1).text() == "Region 1"


def test_recolour_through_picker_and_cancel(qtbot, panel):
    panel.colour_picker = lambda c, w: QColor(1, 2, 3)
    with qtbot.waitSignal(panel.recolour_requested) as blocker:
        panel._cell_double_clicked(0, 0)
    assert blocker.args == ["r1", (1, 2, 3)]
    got = []
    panel.recolour_requested.connect(lambda *a: got.append(a))
    panel.colour_picker = lambda c, w: QColor()  # cancelled dialog: invalid colour
    panel._cell_double_clicked(1, 0)
    assert got == []


def test_delete_selected_and_selection_kept(qtbot, panel):
    panel.table.selectRow(1)
    assert panel.selected_ids() == ["r2"]
    with qtbot.waitSignal(panel.delete_requested) as blocker:
        panel.delete_button.click()
    assert blocker.args == [["r2"]]
    panel.set_rows(list(reversed(ROWS)))
    assert panel.selected_ids() == ["r2"]
    panel.table.selectRow(0)
    with qtbot.waitSignal(panel.delete_requested):
        qtbot.keyClick(panel, Qt.Key.Key_Delete)


def test_undo_state_and_tools(qtbot, panel):
    panel.set_undo_state(True, False, "Add Region 1")
    assert panel.undo_button.isEnabled() and not panel.redo_button.isEnabled()
    assert panel.undo_button.toolTip() == "Undo Add Region 1"
    with qtbot.waitSignal(panel.undo_requested):
        panel.undo_button.click()
    with qtbot.waitSignal(panel.tool_requested) as blocker:
        panel.tool_buttons["ellipse"].click()
    assert blocker.args == ["ellipse"]
    assert panel.tool_buttons["ellipse"].isChecked()
    with qtbot.waitSignal(panel.tool_requested) as blocker:
        panel.tool_buttons["lasso"].click()
    assert blocker.args == ["lasso"] and not panel.tool_buttons["ellipse"].isChecked()
    with qtbot.waitSignal(panel.tool_requested) as blocker:
        panel.tool_buttons["lasso"].click()
    assert blocker.args == [""]
    panel.set_tool("polygon")
    assert [k for k, b in panel.tool_buttons.items() if b.isChecked()] == ["polygon"]
