"""Offset waterfall of a series: sweep i drawn ``i * offset`` above sweep 0, coloured by a tag.

The offset (in the unit of the y quantity, SI prefixes accepted: "50 uA") is chosen in a spin box above
the plot; changing it redraws the curves and emits ``offset_changed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from widgets.series.overlay import SeriesOverlay


def default_offset(ys: Sequence[np.ndarray]) -> float:
    """A first offset: one tenth of the y span of all sweeps (of the largest |y| when flat; 1 when empty)."""
    finite = [y[np.isfinite(y)] for y in (np.asarray(a, dtype=np.float64).ravel() for a in ys)]
    values = np.concatenate(finite) if finite else np.zeros(0)
    if values.size == 0:
        return 1.0
    span = float(values.max() - values.min()) or float(np.abs(values).max())
    return span / 10.0 if span > 0 else 1.0


class SeriesWaterfall(QWidget):
    """Sweeps stacked with a user-chosen vertical offset, coloured by a tag with a colour bar.

    Signals: ``offset_changed(float)`` the offset per sweep in y units; ``hovered(int)`` the sweep under
    the pointer (-1 for none); ``export_requested(str)`` "png" | "svg" | "csv".
    """

    offset_changed = Signal(float)
    hovered = Signal(int)
    export_requested = Signal(str)

    def __init__(self, cmap: str = "viridis", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 0)
        row.addWidget(QLabel("Offset per sweep:"))
        self.offset_box = pg.SpinBox(value=0.0, siPrefix=True, suffix="", dec=True, step=0.5, minStep=1e-15)
        self.offset_box.setMinimumWidth(110)
        self.offset_box.setToolTip("Vertical shift between consecutive sweeps (SI prefixes accepted)")
        row.addWidget(self.offset_box)
        row.addStretch(1)
        lay.addLayout(row)
        self.overlay = SeriesOverlay(cmap)
        lay.addWidget(self.overlay, 1)
        self.overlay.hovered.connect(self.hovered)
        self.overlay.export_requested.connect(self.export_requested)
        self.offset_box.sigValueChanged.connect(self._offset_edited)

    @property
    def graphics(self) -> pg.GraphicsLayoutWidget:
        return self.overlay.graphics

    @property
    def plot(self) -> pg.PlotItem:
        return self.overlay.plot

    @property
    def offset(self) -> float:
        return self.overlay.offset

    def set_curves(
        self,
        xs: Sequence[np.ndarray],
        ys: Sequence[np.ndarray],
        tags: np.ndarray | Sequence[float],
        tag_name: str = "",
        tag_unit: str = "",
        x_label: str = "",
        x_unit: str = "",
        y_label: str = "",
        y_unit: str = "",
        offset: float | None = None,
    ) -> None:
        """Draw the series (arguments as :meth:`SeriesOverlay.set_curves`). ``offset`` (y units) sets the
        spin box; None keeps the user's value, or picks one tenth of the y span when it is still 0."""
        self.offset_box.setOpts(suffix=y_unit)
        if offset is None and self.offset_box.value() == 0.0:
            offset = default_offset(ys)
        self.overlay.set_curves(xs, ys, tags, tag_name, tag_unit, x_label, x_unit, y_label, y_unit)
        if offset is not None:
            self.offset_box.blockSignals(True)  # a value from the owner is not a user's request
            self.offset_box.setValue(offset)
            self.offset_box.blockSignals(False)
        self._apply(self.offset_box.value(), emit=False)

    def view_to_widget(self, x: float, y: float):
        """Position in ``self.graphics.viewport()`` coordinates of the data point (x, y)."""
        return self.overlay.view_to_widget(x, y)

    def _offset_edited(self, box) -> None:
        self._apply(float(box.value()), emit=True)

    def _apply(self, value: float, emit: bool) -> None:
        if value != self.overlay.offset:
            self.overlay.set_offset(value)
            if emit:
                self.offset_changed.emit(value)
