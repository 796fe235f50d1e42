"""Pieces the Papers panels share: number fields, the results table and the result plots."""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHeaderView,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.series.common import setup_plot

#: Colour of an indented (secondary) quantity in the results table.
SECONDARY_TEXT = (90, 90, 90)


def number_field(
    lo: float,
    hi: float,
    value: float,
    decimals: int,
    suffix: str = "",
    tip: str = "",
    tracking: bool = False,
) -> QDoubleSpinBox:
    """A number field from ``lo`` to ``hi`` showing ``value``; with ``tracking`` False its value changes
    when the typing is finished (Enter or focus out), not at every key."""
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setValue(value)
    if suffix:
        s.setSuffix(suffix)
    if tip:
        s.setToolTip(tip)
    s.setKeyboardTracking(tracking)
    return s


def result_plot(legend_offset: tuple[int, int] = (-10, 10)) -> pg.PlotWidget:
    """A white plot with the series views' grid, axes and menu, and a legend at ``legend_offset`` (px;
    negative x counts from the right)."""
    w = pg.PlotWidget(background="w")
    setup_plot(w.getPlotItem())
    w.getPlotItem().addLegend(offset=legend_offset)
    return w


def results_table() -> QTableWidget:
    """A read-only three-column table (Quantity, Value, Note), the first two columns as wide as their text."""
    table = QTableWidget(0, 3)
    table.setHorizontalHeaderLabels(["Quantity", "Value", "Note"])
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    return table


def set_table_rows(table: QTableWidget, rows: Sequence[tuple[str, str, str]]) -> None:
    """Fill ``table`` with (quantity, value, note) rows; a quantity indented by two spaces is greyed."""
    table.setRowCount(len(rows))
    for i, r in enumerate(rows):
        for j, text in enumerate(r):
            item = QTableWidgetItem(str(text))
            if j == 0 and str(text).startswith("  "):
                item.setForeground(pg.mkColor(*SECONDARY_TEXT))
            table.setItem(i, j, item)


def table_rows(table: QTableWidget) -> list[tuple[str, str, str]]:
    """The (quantity, value, note) rows shown in ``table``."""
    out = []
    for i in range(table.rowCount()):
        cells = [table.item(i, j) for j in range(3)]
        a, b, c = (cell.text() if cell is not None else "" for cell in cells)
        out.append((a, b, c))
    return out


def chooser_above(combo: QComboBox, plot: QWidget) -> QWidget:
    """A widget with ``combo`` (which quantity the plot shows) above ``plot``, without margins."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(combo)
    lay.addWidget(plot)
    return box


def plots_over_table(
    left: QWidget, right: QWidget, table: QWidget, widths: tuple[int, int], heights: tuple[int, int]
) -> QSplitter:
    """Two plots side by side (``widths`` px) above the results table (``heights`` px: plots, table)."""
    split = QSplitter(Qt.Orientation.Horizontal)
    split.addWidget(left)
    split.addWidget(right)
    split.setSizes(list(widths))
    vsplit = QSplitter(Qt.Orientation.Vertical)
    vsplit.addWidget(split)
    vsplit.addWidget(table)
    vsplit.setSizes(list(heights))
    return vsplit


def combo_of(items: Sequence[tuple[str, str]]) -> QComboBox:
    """A combo box of (key, text) items; the key is each item's data."""
    combo = QComboBox()
    for key, text in items:
        combo.addItem(text, key)
    return combo
