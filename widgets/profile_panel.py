"""Profile panel: a scalar along the current line cut, with a step (tanh) or decay (exponential) fit.

The user picks the source (a grid's cut, or any 2D map co-registered with it: topography, parameter
maps, derived image channels) and, for a grid, the measure: its value at one bias or the height of a peak
within a bias window. The panel emits the request (:attr:`ProfilePanel.request_changed`); the application
computes the profile and sends it back (:meth:`ProfilePanel.set_profile`). A fit of a step or a decay over
the range marked on the plot (drag its edges) is requested with :attr:`ProfilePanel.fit_requested`; the
result comes back through :meth:`ProfilePanel.set_fit` as a curve and the length +/- its error in nm. The
panel computes nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from widgets.empty_state import EmptyState

MEASURES = {"value": "value at bias", "peak": "peak height in window"}
FIT_KINDS = {"step": "step: A tanh((d - d0)/w) + B", "decay": "decay: A exp(-(d - d0)/xi) + B"}


@dataclass(frozen=True)
class ProfileRequest:
    """Which profile to show: ``source`` id, ``measure`` (see :data:`MEASURES`; ignored for 2D maps),
    ``bias`` (V) for a value, ``lo``/``hi`` (V) the peak window."""

    source: str
    measure: str = "value"
    bias: float = 0.0
    lo: float = -0.5e-3
    hi: float = 0.5e-3


@dataclass(frozen=True)
class ProfileSource:
    """A profile source offered to the user: ``spectral`` sources (grids) take a measure and a bias."""

    id: str
    label: str
    spectral: bool = True


class ProfilePanel(QWidget):
    """Scalar profile along the cut (distance in nm) with a fit range and the fitted length."""

    request_changed = Signal(object)  # ProfileRequest
    fit_requested = Signal(str, object)  # kind, (d_lo, d_hi) in metres
    hovered = Signal(object)  # distance (m) under the mouse, or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sources: list[ProfileSource] = []
        self._d = np.zeros(0)
        self._y = np.zeros(0)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)

        row = QHBoxLayout()
        row.addWidget(QLabel("Profile of:"))
        self.source_combo = QComboBox()
        self.source_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.source_combo.setMinimumContentsLength(16)
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        row.addWidget(self.source_combo, 1)
        outer.addLayout(row)

        row1 = QHBoxLayout()
        self.measure_combo = QComboBox()
        for m, title in MEASURES.items():
            self.measure_combo.addItem(title, m)
        self.measure_combo.currentIndexChanged.connect(self._measure_changed)
        row1.addWidget(self.measure_combo)
        self.bias_spin = self._mv_spin(0.0, "Bias of the profile")
        row1.addWidget(self.bias_spin)
        self.lo_spin = self._mv_spin(-0.5, "Peak window: from")
        self.hi_spin = self._mv_spin(0.5, "Peak window: to")
        row1.addWidget(self.lo_spin)
        row1.addWidget(self.hi_spin)
        row1.addStretch(1)
        outer.addLayout(row1)

        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Fit:"))
        self.kind_combo = QComboBox()
        self.kind_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind_combo.setMinimumContentsLength(14)
        for k, title in FIT_KINDS.items():
            self.kind_combo.addItem(title, k)
            self.kind_combo.setItemData(self.kind_combo.count() - 1, title, Qt.ItemDataRole.ToolTipRole)
        row2.addWidget(self.kind_combo, 1)
        self.fit_button = QPushButton("Fit length")
        self.fit_button.setToolTip("Fit over the shaded range of the plot (drag its edges)")
        self.fit_button.clicked.connect(self._fit_clicked)
        row2.addWidget(self.fit_button)
        outer.addLayout(row2)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.result_label)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "distance", units="nm")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.curve = pg.PlotDataItem(pen=pg.mkPen((30, 30, 30), width=1.5), symbol="o", symbolSize=4)
        self.curve.setSymbolBrush(pg.mkBrush(30, 30, 30))
        self.fit_curve = pg.PlotDataItem(pen=pg.mkPen((220, 30, 30), width=2.5))
        self.fit_range = pg.LinearRegionItem(brush=pg.mkBrush(80, 140, 255, 40))
        self.fit_range.setZValue(-10)
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen((255, 160, 0), width=1.5))
        self.marker.setVisible(False)
        for item in (self.fit_range, self.curve, self.fit_curve, self.marker):
            self.plot.addItem(item)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.empty = EmptyState(self.plot, "Draw a line cut on a map to see its profile.")
        outer.addWidget(self.empty, 1)
        self._update_enabled()

    def _mv_spin(self, value_mv: float, tip: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(-10000.0, 10000.0)
        s.setDecimals(3)
        s.setSingleStep(0.05)
        s.setSuffix(" mV")
        s.setValue(value_mv)
        s.setToolTip(tip)
        s.editingFinished.connect(self._emit_request)
        return s

    # -- sources and request ---------------------------------------------------------------------
    def set_sources(self, sources: Sequence[ProfileSource], current: str | None = None) -> None:
        """Offer these sources; keep ``current`` (or the previous choice) selected, without emitting."""
        prev = current or self.current_source()
        self._sources = list(sources)
        with QSignalBlocker(self.source_combo):
            self.source_combo.clear()
            for s in self._sources:
                self.source_combo.addItem(s.label, s.id)
            i = self.source_combo.findData(prev) if prev is not None else -1
            self.source_combo.setCurrentIndex(i if i >= 0 else (0 if self._sources else -1))
        self._update_enabled()

    def current_source(self) -> str | None:
        data = self.source_combo.currentData()
        return str(data) if data is not None else None

    def request(self) -> ProfileRequest | None:
        src = self.current_source()
        if src is None:
            return None
        return ProfileRequest(
            src,
            str(self.measure_combo.currentData()),
            self.bias_spin.value() * 1e-3,
            self.lo_spin.value() * 1e-3,
            self.hi_spin.value() * 1e-3,
        )

    def set_request(self, req: ProfileRequest) -> None:
        """Show ``req`` in the controls without emitting."""
        widgets = (self.source_combo, self.measure_combo, self.bias_spin, self.lo_spin, self.hi_spin)
        blockers = [QSignalBlocker(w) for w in widgets]
        i = self.source_combo.findData(req.source)
        if i >= 0:
            self.source_combo.setCurrentIndex(i)
        j = self.measure_combo.findData(req.measure)
        if j >= 0:
            self.measure_combo.setCurrentIndex(j)
        self.bias_spin.setValue(req.bias * 1e3)
        self.lo_spin.setValue(req.lo * 1e3)
        self.hi_spin.setValue(req.hi * 1e3)
        del blockers
        self._update_enabled()

    def _spectral(self) -> bool:
        src = self.current_source()
        return any(s.id == src and s.spectral for s in self._sources)

    def _update_enabled(self) -> None:
        spectral = self._spectral()
        peak = self.measure_combo.currentData() == "peak"
        self.measure_combo.setEnabled(spectral)
        self.bias_spin.setVisible(spectral and not peak)
        self.lo_spin.setVisible(spectral and peak)
        self.hi_spin.setVisible(spectral and peak)

    def _source_changed(self, _i: int) -> None:
        self._update_enabled()
        self._emit_request()

    def _measure_changed(self, _i: int) -> None:
        self._update_enabled()
        self._emit_request()

    def _emit_request(self) -> None:
        req = self.request()
        if req is not None:
            self.request_changed.emit(req)

    # -- profile and fit -------------------------------------------------------------------------
    def set_profile(
        self, d: np.ndarray, y: np.ndarray, label: str, unit: str, keep_range: bool = True
    ) -> None:
        """Show the profile ``y`` (unit ``unit``) against distance ``d`` (m); the fit is cleared."""
        old_d = self._d
        self._d = np.asarray(d, dtype=float)
        self._y = np.asarray(y, dtype=float)
        self.curve.setData(self._d * 1e9, self._y, connect="finite")
        self.empty.set_empty(not np.isfinite(self._y).any())
        self.plot.setLabel("left", label, units=unit)
        self.clear_fit()
        if self._d.size:
            lo, hi = self.fit_range.getRegion()
            span = (float(self._d[0] * 1e9), float(self._d[-1] * 1e9))
            same = old_d.size and np.isclose(old_d[-1], self._d[-1])
            if not (keep_range and same and span[0] <= lo < hi <= span[1]):
                self.fit_range.setRegion(span)
            self.fit_range.setBounds(span)
        self.plot.enableAutoRange()

    def profile(self) -> tuple[np.ndarray, np.ndarray]:
        """(distance m, values) on display."""
        return self._d, self._y

    def fit_range_m(self) -> tuple[float, float]:
        lo, hi = self.fit_range.getRegion()
        return float(lo) * 1e-9, float(hi) * 1e-9

    def set_fit_range(self, lo_m: float, hi_m: float) -> None:
        self.fit_range.setRegion((lo_m * 1e9, hi_m * 1e9))

    def fit_kind(self) -> str:
        return str(self.kind_combo.currentData())

    def set_fit_kind(self, kind: str) -> None:
        i = self.kind_combo.findData(kind)
        if i >= 0:
            self.kind_combo.setCurrentIndex(i)

    def _fit_clicked(self) -> None:
        if self._d.size:
            self.fit_requested.emit(self.fit_kind(), self.fit_range_m())

    def set_fit(self, d: np.ndarray, y: np.ndarray, text: str) -> None:
        """Show a fitted curve (distance in m) and its result text (e.g. ``w = 15.1 +/- 0.8 nm``)."""
        self.fit_curve.setData(np.asarray(d, dtype=float) * 1e9, np.asarray(y, dtype=float))
        self.result_label.setText(text)

    def set_message(self, text: str) -> None:
        """A plain message in the result line (e.g. why a fit failed)."""
        self.fit_curve.setData([], [])
        self.result_label.setText(text)

    def clear_fit(self) -> None:
        self.fit_curve.setData([], [])
        self.result_label.setText("")

    def result_text(self) -> str:
        return self.result_label.text()

    def fit_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.fit_curve.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x) * 1e-9, np.asarray(y))

    # -- hover -------------------------------------------------------------------------------------
    def set_marker(self, distance_m: float | None) -> None:
        if distance_m is None:
            self.marker.setVisible(False)
            return
        self.marker.setValue(distance_m * 1e9)
        self.marker.setVisible(True)

    def _mouse_moved(self, pos: QPointF) -> None:
        vb = self.plot.getViewBox()
        if not self._d.size or not vb.sceneBoundingRect().contains(pos):
            return
        x = vb.mapSceneToView(pos).x() * 1e-9
        if self._d[0] <= x <= self._d[-1]:
            self.hovered.emit(float(x))


__all__ = ["FIT_KINDS", "MEASURES", "ProfilePanel", "ProfileRequest", "ProfileSource"]
