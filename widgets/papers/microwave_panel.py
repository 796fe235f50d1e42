"""The microwave panel ([HAM], paper 004): which series holds the I(V)s under rf, the frequency, the gap
that places the quasiparticle edges, the Josephson orders and the law; Analyse (a job with a Cancel
button) and Export figure...; the numbers with their uncertainties and three plots: step amplitudes against
the attenuator reading, the Josephson amplitudes against 2 alpha with the Bessel (Eq. 4) and Werthamer
(Eq. 6) curves and the 2 alpha = N + M markers, the cost of the global gap scan, the Tien-Gordon I(V), the
frequency slice (step N at fixed 2 alpha against f, with the signed Eq. 6 curve and the Bessel level) and
the Eq. 11 inversion of the slice to I_J near the Riedel peak.

No physics here: the owner answers ``analyse_requested``, ``cancel_requested`` and ``export_requested``
and calls ``show_result`` with plain arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from widgets.papers.common import number_field

_PENS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (140, 86, 75)]


class MicrowavePanel(QWidget):
    """Inputs and report on top, plots below."""

    analyse_requested = Signal()
    cancel_requested = Signal()
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        left = QWidget()
        form = QFormLayout(left)
        self.series_combo = QComboBox()
        self.series_combo.setObjectName("microwave-series")
        self.series_combo.setMinimumContentsLength(14)
        form.addRow("I(V) series under rf", self.series_combo)
        self.i0_combo = QComboBox()
        self.i0_combo.setObjectName("microwave-i0")
        self.i0_combo.setMinimumContentsLength(14)
        form.addRow("I_0(V) without rf (Eq. 8)", self.i0_combo)
        self.fscan_combo = QComboBox()
        self.fscan_combo.setObjectName("microwave-fscan")
        self.fscan_combo.setMinimumContentsLength(14)
        form.addRow("Frequency scan (slices)", self.fscan_combo)
        self.f_ghz = number_field(0.1, 1000.0, 25.7, 3, " GHz")
        self.delta_mev = number_field(0.01, 50.0, 0.55, 4, " meV")
        self.orders = QSpinBox()
        self.orders.setRange(1, 12)
        self.orders.setValue(5)
        self.law = QComboBox()
        self.law.addItem("Werthamer (Eq. 6)", "werthamer")
        self.law.addItem("Bessel (Eq. 4)", "bessel")
        self.gap_min = number_field(0.01, 50.0, 0.3, 3, " meV")
        self.gap_max = number_field(0.01, 50.0, 1.2, 3, " meV")
        form.addRow("rf frequency", self.f_ghz)
        form.addRow("Gap Delta (QP edges, Eq. 6)", self.delta_mev)
        form.addRow("Josephson orders 0..N-1, N =", self.orders)
        form.addRow("Calibration law", self.law)
        form.addRow("Gap scan from", self.gap_min)
        form.addRow("Gap scan to", self.gap_max)
        self.slice_order = QSpinBox()
        self.slice_order.setRange(0, 12)
        self.slice_order.setValue(0)
        self.slice_two_alpha = number_field(0.1, 200.0, 25.9, 2, "")
        form.addRow("Slice: step N", self.slice_order)
        form.addRow("Slice: at 2 alpha", self.slice_two_alpha)
        row = QHBoxLayout()
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.clicked.connect(self.analyse_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.export_button = QPushButton("Export figure...")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_requested)
        for b in (self.analyse_button, self.cancel_button, self.export_button):
            row.addWidget(b)
        form.addRow(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 4)
        self.progress.setValue(0)
        form.addRow(self.progress)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setMinimumWidth(300)
        top.addWidget(left, 0)
        top.addWidget(self.report, 1)
        outer.addLayout(top, 0)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setMinimumHeight(520)
        self.plot_steps = self.plots.addPlot(0, 0, title="Step amplitudes vs attenuation")
        self.plot_overlay = self.plots.addPlot(0, 1, title="Josephson steps vs 2 alpha")
        self.plot_gap = self.plots.addPlot(1, 0, title="Global gap scan")
        self.plot_tg = self.plots.addPlot(1, 1, title="Tien-Gordon I(V) (Eq. 8)")
        self.plot_slice = self.plots.addPlot(2, 0, title="Frequency slice")
        self.plot_riedel = self.plots.addPlot(2, 1, title="Eq. 11: I_J near the Riedel peak")
        self.plot_slice.setLabel("bottom", "f", units="Hz")
        self.plot_slice.setLabel("left", "amplitude", units="A")
        self.plot_riedel.setLabel("bottom", "f_J", units="Hz")
        self.plot_riedel.setLabel("left", "I_J", units="A")
        self.plot_tg.setLabel("bottom", "V", units="V")
        self.plot_tg.setLabel("left", "I", units="A")
        self.plot_steps.setLabel("bottom", "attenuation", units="dB")
        self.plot_steps.setLabel("left", "amplitude", units="A")
        self.plot_overlay.setLabel("bottom", "2 alpha")
        self.plot_overlay.setLabel("left", "amplitude", units="A")
        self.plot_gap.setLabel("bottom", "Delta", units="eV")
        self.plot_gap.setLabel("left", "cost", units="A^2")
        self.plot_gap.setLogMode(x=False, y=True)
        outer.addWidget(self.plots, 1)

    # -- inputs ---------------------------------------------------------------------------------------------
    def set_series_choices(
        self,
        items: Sequence[tuple[str, str]],
        chosen: str | None,
        chosen_i0: str | None = None,
        chosen_fscan: str | None = None,
    ) -> None:
        """``items`` [(key, label)] for the three combos; ``chosen`` the series under rf, ``chosen_i0`` the
        I_0(V) without rf, ``chosen_fscan`` the frequency scan (None: none)."""
        for c, key in (
            (self.series_combo, chosen),
            (self.i0_combo, chosen_i0),
            (self.fscan_combo, chosen_fscan),
        ):
            c.blockSignals(True)
            c.clear()
            c.addItem("(none)", "")
            for k, label in items:
                c.addItem(label, k)
            c.setCurrentIndex(max(c.findData(key or ""), 0))
            c.blockSignals(False)

    def chosen(self) -> str | None:
        return str(self.series_combo.currentData() or "") or None

    def chosen_i0(self) -> str | None:
        return str(self.i0_combo.currentData() or "") or None

    def chosen_fscan(self) -> str | None:
        return str(self.fscan_combo.currentData() or "") or None

    def settings(self) -> dict[str, Any]:
        """The inputs in SI units (Hz, eV)."""
        return {
            "f": self.f_ghz.value() * 1e9,
            "delta": self.delta_mev.value() * 1e-3,
            "n_josephson": self.orders.value(),
            "law": str(self.law.currentData()),
            "gap_min": self.gap_min.value() * 1e-3,
            "gap_max": self.gap_max.value() * 1e-3,
            "slice_order": self.slice_order.value(),
            "slice_two_alpha": self.slice_two_alpha.value(),
        }

    def set_settings(self, s: Mapping[str, Any]) -> None:
        for name, spin, scale in (
            ("f", self.f_ghz, 1e-9),
            ("delta", self.delta_mev, 1e3),
            ("gap_min", self.gap_min, 1e3),
            ("gap_max", self.gap_max, 1e3),
        ):
            if name in s:
                spin.setValue(float(s[name]) * scale)
        if "slice_two_alpha" in s:
            self.slice_two_alpha.setValue(float(s["slice_two_alpha"]))
        if "slice_order" in s:
            self.slice_order.setValue(int(s["slice_order"]))
        if "n_josephson" in s:
            self.orders.setValue(int(s["n_josephson"]))
        if "law" in s:
            self.law.setCurrentIndex(max(self.law.findData(str(s["law"])), 0))

    def set_busy(self, busy: bool, text: str = "") -> None:
        self.analyse_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.progress.setValue(0)
        if text:
            self.report.setPlainText(text)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(int(total), 1))
        self.progress.setValue(int(done))

    # -- results --------------------------------------------------------------------------------------------
    def show_result(self, text: str, arrays: Mapping[str, Any]) -> None:
        self.report.setPlainText(text)
        a = {k: np.asarray(v, dtype=float) for k, v in arrays.items() if isinstance(v, np.ndarray)}
        for p in (
            self.plot_steps,
            self.plot_overlay,
            self.plot_gap,
            self.plot_tg,
            self.plot_slice,
            self.plot_riedel,
        ):
            p.clear()
        att = a.get("attenuation", np.zeros(0))
        ja = a.get("josephson_amp", np.zeros((0, 0)))
        qa = a.get("qp_amp", np.zeros((0, 0)))
        for k in range(ja.shape[0] if ja.ndim == 2 and att.size else 0):
            pen = _PENS[k % len(_PENS)]
            self.plot_steps.plot(
                att, ja[k], pen=pg.mkPen(pen, width=1), symbol="o", symbolSize=4, symbolBrush=pen
            )
        for k in range(qa.shape[0] if qa.ndim == 2 and att.size else 0):
            pen = _PENS[(k + 3) % len(_PENS)]
            self.plot_steps.plot(
                att,
                qa[k],
                pen=pg.mkPen(pen, width=1, style=Qt.PenStyle.DashLine),
                symbol="t",
                symbolSize=4,
                symbolBrush=pen,
            )
        grid = a.get("overlay_two_alpha", np.zeros(0))
        ta = a.get("two_alpha", np.zeros(0))
        for k in range(ja.shape[0] if grid.size else 0):
            pen = _PENS[k % len(_PENS)]
            self.plot_overlay.plot(grid, a["overlay_werthamer"][k], pen=pg.mkPen(pen, width=2))
            self.plot_overlay.plot(
                grid, a["overlay_bessel"][k], pen=pg.mkPen(pen, width=1, style=Qt.PenStyle.DotLine)
            )
            if ta.size:
                self.plot_overlay.plot(
                    ta, ja[k], pen=None, symbol="o", symbolSize=4, symbolBrush=pen, symbolPen=None
                )
            if k < a.get("markers", np.zeros(0)).size:
                self.plot_overlay.addItem(
                    pg.InfiniteLine(
                        pos=float(a["markers"][k]),
                        angle=90,
                        pen=pg.mkPen(pen, width=1, style=Qt.PenStyle.DashLine),
                    )
                )
        gg, gp = a.get("gap_grid", np.zeros(0)), a.get("gap_profile", np.zeros(0))
        if gg.size and gp.size == gg.size:
            self.plot_gap.plot(gg, np.maximum(gp, 1e-300), pen=pg.mkPen(_PENS[0], width=1))
        tv = a.get("tg_V", np.zeros(0))
        if tv.size:
            self.plot_tg.plot(
                tv, a["tg_measured"], pen=None, symbol="o", symbolSize=2, symbolBrush=_PENS[0], symbolPen=None
            )
            self.plot_tg.plot(tv, a["tg_model"], pen=pg.mkPen(_PENS[1], width=2))
        sf = a.get("slice_f", np.zeros(0))
        if sf.size:
            tf = a.get("slice_theory_f", np.zeros(0))
            self.plot_slice.plot(tf, np.abs(a["slice_theory"]), pen=pg.mkPen(_PENS[1], width=2))
            self.plot_slice.addItem(
                pg.InfiniteLine(
                    pos=abs(float(a.get("slice_bessel", np.nan))),
                    angle=0,
                    pen=pg.mkPen(_PENS[2], width=1, style=Qt.PenStyle.DashLine),
                )
            )
            self.plot_slice.plot(
                sf, a["slice_amp"], pen=None, symbol="o", symbolSize=6, symbolBrush=_PENS[0], symbolPen=None
            )
            self.plot_riedel.plot(a["riedel_curve_f"], a["riedel_curve_i"], pen=pg.mkPen(_PENS[1], width=2))
            self.plot_riedel.plot(
                a["riedel_f_j"],
                a["riedel_i_j"],
                pen=None,
                symbol="o",
                symbolSize=6,
                symbolBrush=_PENS[0],
                symbolPen=None,
            )
        self.export_button.setEnabled(True)


__all__ = ["MicrowavePanel"]
