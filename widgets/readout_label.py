"""Status-bar read-out: a label of fixed width whose text never re-lays out the window.

The text is shown whole when it fits; otherwise it is cut at the right end with an ellipsis (so the parts
written first, the value and the sweep point, stay readable) and the whole text is in the tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ReadoutLabel(QLabel):
    """A QLabel of fixed ``width`` px; ``text()`` is the whole text, the painted one may be elided."""

    def __init__(self, width: int = 560, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._text = ""
        # a fixed size in both directions: with the height free, every new text (each mouse move over a
        # map) asked the status bar, and through it the main window, to lay out again, and each such pass
        # moved a dock separator and repainted every view
        self.setFixedSize(width, max(self.sizeHint().height(), self.fontMetrics().height() + 4))
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:
        # kept and painted here: QLabel.setText would ask the window's layout to be redone on every
        # mouse move, which can shift docks that have not settled under a gesture in progress
        if text == self._text:
            return
        self._text = text
        self.setToolTip(text if not self.fits(text) else "")
        self.update()

    def text(self) -> str:
        return self._text

    def fits(self, text: str | None = None) -> bool:
        """Whether ``text`` (default: the current text) is shown whole."""
        text = self.text() if text is None else text
        return self.fontMetrics().horizontalAdvance(text) <= self.contentsRect().width()

    def shown_text(self) -> str:
        """The text as painted: whole, or elided at the right end."""
        return self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width()
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        rect = self.contentsRect()
        painter.drawText(
            rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self.shown_text()
        )
        painter.end()
