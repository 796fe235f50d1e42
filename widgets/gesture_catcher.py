"""An invisible item laid over a map while a drawing tool is active, catching the mouse gestures."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt


class GestureCatcher(pg.GraphicsObject):
    """Covers ``rect`` (view coordinates, metres) above the image and hands gestures to its drawer.

    The drawer offers ``tool() -> str`` and ``set_tool(name)``. A right click while a tool is active cancels
    it; subclasses handle the left-button clicks and drags of their tools.
    """

    def __init__(self, drawer: Any, z: float) -> None:
        super().__init__()
        self._drawer = drawer
        self._rect = QRectF()
        self.setZValue(z)

    def update_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, *args) -> None:
        return

    def cancel_on_right_click(self, ev) -> bool:
        """True (event taken, tool cancelled along with any shape in progress) for a right click."""
        if ev.button() == Qt.MouseButton.RightButton and self._drawer.tool():
            ev.accept()
            self._drawer.set_tool("")
            return True
        return False
