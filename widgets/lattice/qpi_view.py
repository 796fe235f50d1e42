"""The QPI dispersion picture: a q-cut through an FFT stack as an image, wave vector against sweep."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from widgets.colormaps import colormap as _colormap


class QPIView(QWidget):
    """Shows ``values (n_q, nb)`` with q (1/m, along the cut) horizontal and the sweep vertical."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.title = QLabel("Draw a q-cut on the Fourier map of a grid")
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay.addWidget(self.title)
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        axis = self.plot.getPlotItem().getAxis("bottom")
        axis.enableAutoSIPrefix(False)
        axis.setScale(1e-9)  # q is in 1/m; the axis reads in 1/nm
        self.plot.setLabel("bottom", "q along the cut (1/nm)")
        self.plot.setLabel("left", "Bias", units="V")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(_colormap("inferno").getLookupTable(0.0, 1.0, 256))
        self.plot.addItem(self.image)
        self.marker = pg.InfiniteLine(angle=0, pen=pg.mkPen((0, 200, 255), width=1.5))
        self.marker.setVisible(False)
        self.plot.addItem(self.marker, ignoreBounds=True)
        lay.addWidget(self.plot, 1)
        self.values: np.ndarray | None = None

    def set_cut(
        self, title: str, q: np.ndarray, sweep: np.ndarray, values: np.ndarray, sweep_label: str, unit: str
    ) -> None:
        """``values`` (n_q, nb) at ``q`` (n_q,) 1/m and ``sweep`` (nb,)."""
        self.title.setText(title)
        self.values = np.asarray(values)
        img = self.values.T  # rows: sweep, columns: q
        finite = img[np.isfinite(img)]
        lo, hi = np.percentile(finite, [1, 99.5]) if finite.size else (0.0, 1.0)
        self.image.setImage(
            img, autoLevels=False, levels=(float(lo), float(hi) if hi > lo else float(lo) + 1)
        )
        dq = (q[-1] - q[0]) / max(q.size - 1, 1)
        db = (sweep[-1] - sweep[0]) / max(sweep.size - 1, 1) if sweep.size > 1 else 1.0
        self.image.setRect(
            QRectF(q[0] - dq / 2, sweep[0] - db / 2, q[-1] - q[0] + dq, sweep[-1] - sweep[0] + db)
        )
        self.plot.setLabel("left", sweep_label, units=unit)
        self.plot.autoRange()

    def set_marker(self, sweep_value: float | None) -> None:
        """Mark the sweep value the slicers show (None hides the mark)."""
        self.marker.setVisible(sweep_value is not None)
        if sweep_value is not None:
            self.marker.setValue(float(sweep_value))

    def clear(self) -> None:
        self.values = None
        self.image.clear()
        self.title.setText("Draw a q-cut on the Fourier map of a grid")
