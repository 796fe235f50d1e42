"""Log panel: time-stamped messages (info, warning, error) in a read-only table."""

from __future__ import annotations

import time

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

_COLOURS = {"info": QColor(60, 60, 60), "warning": QColor(170, 110, 0), "error": QColor(190, 0, 0)}


class LogPanel(QWidget):
    """Shows messages; ``entries()`` returns them as (level, text) pairs."""

    def __init__(self, parent: QWidget | None = None, max_rows: int = 2000) -> None:
        super().__init__(parent)
        self.max_rows = max_rows
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Time", "Level", "Message"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        hdr = self.table.horizontalHeader()
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setStretchLastSection(True)
        lay.addWidget(self.table)
        self._entries: list[tuple[str, str]] = []

    def append(self, level: str, text: str) -> None:
        level = level if level in _COLOURS else "info"
        if self.table.rowCount() >= self.max_rows:
            self.table.removeRow(0)
            self._entries.pop(0)
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = [time.strftime("%H:%M:%S"), level, text]
        for col, value in enumerate(cells):
            item = QTableWidgetItem(value)
            item.setForeground(_COLOURS[level])
            if col == 2:
                item.setToolTip(text)
            self.table.setItem(row, col, item)
        self.table.scrollToBottom()
        self._entries.append((level, text))

    def entries(self) -> list[tuple[str, str]]:
        return list(self._entries)
