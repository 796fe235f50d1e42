"""Helpers of the series view tests: show a widget, positions of data points on its viewport, pixels."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QWidget

import widgets.map_view  # noqa: F401  (the window turns antialiasing on globally: test under it)


def show(qtbot, widget: QWidget, w: int = 700, h: int = 480) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(w, h)
    widget.show()
    qtbot.waitExposed(widget)
    QApplication.processEvents()
    return widget


def point(p: QPointF) -> QPoint:
    return QPoint(round(p.x()), round(p.y()))


def grab(view: QWidget) -> QImage:
    """The widget's viewport as rendered now (ARGB32)."""
    QApplication.processEvents()
    return view.grab().toImage().convertToFormat(QImage.Format.Format_ARGB32)


def near_colour(img: QImage, at: QPointF, rgb, radius: int = 3, tol: int = 40) -> bool:
    """True when a pixel within ``radius`` of ``at`` has a colour within ``tol`` (per channel) of ``rgb``."""
    cx, cy = round(at.x()), round(at.y())
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            x, y = cx + dx, cy + dy
            if 0 <= x < img.width() and 0 <= y < img.height():
                c = QColor(img.pixel(x, y))
                if max(abs(c.red() - rgb[0]), abs(c.green() - rgb[1]), abs(c.blue() - rgb[2])) <= tol:
                    return True
    return False


def colour(img: QImage, at: QPointF) -> np.ndarray:
    c = QColor(img.pixel(round(at.x()), round(at.y())))
    return np.array([c.red(), c.green(), c.blue()])
