"""An empty state for plots and maps: a short sentence saying what to do, instead of placeholder axes.

A plot with nothing to show draws axes with made-up ranges (0-1 V, +-400 mm) that read like data.
:class:`EmptyState` holds the plot and a message page and shows one of them; the plot keeps its size while
hidden (a stacked widget lays out every page), so mapping points into it stays valid.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedWidget, QWidget


class EmptyState(QStackedWidget):
    """``content`` (a plot or map) or, while ``is_empty()``, a centred grey ``message``."""

    def __init__(self, content: QWidget, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.content = content
        self.label = QLabel(message)
        self.label.setObjectName("empty-state")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: #777; background: white;")
        self.label.setAutoFillBackground(True)
        # the message never asks for more room than the plot it stands in for
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.addWidget(content)
        self.addWidget(self.label)
        self.set_empty(True)

    # the layouts around see the plot, never the message: a word-wrapped label asks for height-for-width
    # and a small size, and the dock holding an empty map was squeezed to a strip
    def sizeHint(self) -> QSize:
        return self.content.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self.content.minimumSizeHint()

    def hasHeightForWidth(self) -> bool:
        return False

    def set_empty(self, empty: bool, message: str | None = None) -> None:
        if message is not None:
            self.label.setText(message)
        self.setCurrentWidget(self.label if empty else self.content)

    def is_empty(self) -> bool:
        return self.currentWidget() is self.label

    def message(self) -> str:
        return self.label.text()
