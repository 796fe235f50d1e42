"""History panel: the session's undo history as a list; clicking a row goes back (or forward) to it.

``set_history(texts, index)`` shows the steps (oldest first) with the first ``index`` applied: the row
"Session start" stands for no step applied (``start`` replaces it, e.g. "History starts at the opened
project.h5"), applied steps are drawn normally, undone ones greyed.
Clicking a row emits ``index_chosen(n)``: the number of steps that should be applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

_UNDONE = QColor(150, 150, 150)


class HistoryPanel(QWidget):
    index_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.list = QListWidget()
        self.list.setObjectName("undo-history")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.itemClicked.connect(self._clicked)
        lay.addWidget(self.list)
        self.set_history([], 0)

    def set_history(self, texts: Sequence[str], index: int, start: str = "Session start") -> None:
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for n, text in enumerate([start or "Session start", *texts]):
                item = QListWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, n)
                if n > index:
                    item.setForeground(_UNDONE)
                self.list.addItem(item)
            self.list.setCurrentRow(index)
        finally:
            self.list.blockSignals(False)

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(1, self.list.count())]

    def current_index(self) -> int:
        return self.list.currentRow()

    def _clicked(self, item: QListWidgetItem) -> None:
        self.index_chosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))
