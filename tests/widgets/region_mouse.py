"""Synthetic mouse gestures for pyqtgraph views (QTest cannot hold a button during a move in Qt 6)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.MouseButton.NoButton
NOMOD = Qt.KeyboardModifier.NoModifier


def _send(widget: QWidget, kind: QEvent.Type, pos: QPointF, button, buttons) -> None:
    pos = QPointF(pos)
    gpos = QPointF(widget.mapToGlobal(pos.toPoint()))
    ev = QMouseEvent(kind, pos, gpos, button, buttons, NOMOD)
    QApplication.sendEvent(widget, ev)


def _move_interval_ms() -> int:
    """pyqtgraph drops move events closer together than 1 / mouseRateLimit."""
    limit = pg.getConfigOption("mouseRateLimit")
    return int(1000 / limit) + 2 if limit and limit > 0 else 0


def drag(widget: QWidget, points: list[QPointF]) -> None:
    """Press the left button at ``points[0]``, move through the others, release at the last one."""
    wait = _move_interval_ms()
    _send(widget, QEvent.Type.MouseButtonPress, points[0], LEFT, LEFT)
    for p in points[1:]:
        QTest.qWait(wait)
        _send(widget, QEvent.Type.MouseMove, p, NONE, LEFT)
    _send(widget, QEvent.Type.MouseButtonRelease, points[-1], LEFT, NONE)


def click(widget: QWidget, pos: QPointF, double: bool = False) -> None:
    QTest.qWait(_move_interval_ms())
    _send(widget, QEvent.Type.MouseMove, pos, NONE, NONE)
    _send(widget, QEvent.Type.MouseButtonPress, pos, LEFT, LEFT)
    _send(widget, QEvent.Type.MouseButtonRelease, pos, LEFT, NONE)
    if double:
        _send(widget, QEvent.Type.MouseButtonDblClick, pos, LEFT, LEFT)
        _send(widget, QEvent.Type.MouseButtonRelease, pos, LEFT, NONE)
