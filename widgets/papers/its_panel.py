"""The intrinsic-tunnelling panel ([ITS], paper 003): which series is R(T), which the I-Vs at several
fields and which the I-V brush; the bath temperature, junction area, threshold and 3-point contact term;
Analyse and Export figure... buttons; the numbers with their uncertainties and four plots (R(T) with the
superposed I-V points, the heating spectrum with its peaks, R(P)/R_N at every field, the brush branches).

No physics here: the owner answers ``analyse_requested`` and ``export_requested`` and calls
``show_result`` with plain arrays.
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
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from widgets.papers.common import number_field

ROLES = (("rt", "R(T) series"), ("iv", "I-V series (fields)"), ("brush", "I-V brush series"))
_PENS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]


class ITSPanel(QWidget):
    """Inputs on the left, plots and the report on the right."""

    analyse_requested = Signal()
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        left = QWidget()
        form = QFormLayout(left)
        self.combos: dict[str, QComboBox] = {}
        for role, text in ROLES:
            c = QComboBox()
            c.setObjectName(f"its-{role}")
            c.setMinimumContentsLength(14)
            self.combos[role] = c
            form.addRow(text, c)
        self.t_bath = number_field(0.01, 400.0, 4.2, 2, " K")
        self.area = number_field(0.0, 1e6, 100.0, 2, " um^2")
        self.eps = number_field(0.001, 0.5, 0.02, 3, "")
        self.contact_r0 = number_field(0.0, 1e6, 0.0, 2, " Ohm")
        self.contact_tc = number_field(0.1, 400.0, 60.0, 1, " K")
        form.addRow("Bath temperature", self.t_bath)
        form.addRow("Junction area (0: loads in W)", self.area)
        form.addRow("Critical-load threshold eps", self.eps)
        form.addRow("3-point term dRc(0) (0: none)", self.contact_r0)
        form.addRow("3-point term Tc", self.contact_tc)
        row = QHBoxLayout()
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.setObjectName("its-analyse")
        self.analyse_button.clicked.connect(self.analyse_requested)
        self.export_button = QPushButton("Export figure...")
        self.export_button.setObjectName("its-export")
        self.export_button.clicked.connect(self.export_requested)
        self.export_button.setEnabled(False)
        row.addWidget(self.analyse_button)
        row.addWidget(self.export_button)
        form.addRow(row)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setObjectName("its-report")
        self.report.setMinimumWidth(300)
        top.addWidget(left, 0)
        top.addWidget(self.report, 1)
        outer.addLayout(top, 0)
        split = QSplitter(Qt.Orientation.Vertical)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setMinimumHeight(360)
        self.plot_rt = self.plots.addPlot(0, 0, title="R(T) and the superposed I-V")
        self.plot_spec = self.plots.addPlot(0, 1, title="Heating spectrum")
        self.plot_collapse = self.plots.addPlot(1, 0, title="R(P)/R_N at each field")
        self.plot_brush = self.plots.addPlot(1, 1, title="I-V brush")
        for p, (xl, xu, yl, yu) in (
            (self.plot_rt, ("T", "K", "R", "Ohm")),
            (self.plot_spec, ("V", "V", "dI/dV", "S")),
            (self.plot_collapse, ("P", "", "R/R_N", "")),
            (self.plot_brush, ("I", "A", "V", "V")),
        ):
            p.setLabel("bottom", xl, units=xu)
            p.setLabel("left", yl, units=yu)
        self.plot_collapse.setLogMode(x=True, y=False)
        split.addWidget(self.plots)
        outer.addWidget(split, 1)
        self._busy = False

    # -- inputs ---------------------------------------------------------------------------------------------
    def set_series_choices(self, items: Sequence[tuple[str, str]], chosen: Mapping[str, str | None]) -> None:
        """``items`` [(key, label)] for every combo; ``chosen`` {role: key} selects (None: none)."""
        for role, c in self.combos.items():
            c.blockSignals(True)
            c.clear()
            c.addItem("(none)", "")
            for key, label in items:
                c.addItem(label, key)
            i = c.findData(chosen.get(role) or "")
            c.setCurrentIndex(max(i, 0))
            c.blockSignals(False)

    def chosen(self) -> dict[str, str | None]:
        return {role: (str(c.currentData() or "") or None) for role, c in self.combos.items()}

    def settings(self) -> dict[str, float]:
        """The inputs in SI units (area m^2)."""
        return {
            "t_bath": self.t_bath.value(),
            "area": self.area.value() * 1e-12,
            "eps": self.eps.value(),
            "contact_r0": self.contact_r0.value(),
            "contact_tc": self.contact_tc.value(),
        }

    def set_settings(self, s: Mapping[str, Any]) -> None:
        for name, spin, scale in (
            ("t_bath", self.t_bath, 1.0),
            ("area", self.area, 1e12),
            ("eps", self.eps, 1.0),
            ("contact_r0", self.contact_r0, 1.0),
            ("contact_tc", self.contact_tc, 1.0),
        ):
            if name in s:
                spin.setValue(float(s[name]) * scale)

    def set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.analyse_button.setEnabled(not busy)
        if text:
            self.report.setPlainText(text)

    # -- results --------------------------------------------------------------------------------------------
    def show_result(self, text: str, arrays: Mapping[str, Any]) -> None:
        """``text`` the report; ``arrays`` the plot data of :class:`analysis.papers.its_workflow.ITSResult`
        (any missing part leaves its plot empty)."""
        self.report.setPlainText(text)
        a = {k: np.asarray(v, dtype=float) for k, v in arrays.items() if isinstance(v, np.ndarray)}
        for p in (self.plot_rt, self.plot_spec, self.plot_collapse, self.plot_brush):
            p.clear()
        if a.get("rt_T", np.zeros(0)).size:
            self.plot_rt.plot(a["rt_T"], a["rt_R"], pen=pg.mkPen(_PENS[0], width=2))
        if a.get("sup_T", np.zeros(0)).size:
            self.plot_rt.plot(
                a["sup_T"],
                a["sup_R"],
                pen=None,
                symbol="o",
                symbolSize=3,
                symbolBrush=_PENS[1],
                symbolPen=None,
            )
        if a.get("spec_V", np.zeros(0)).size:
            self.plot_spec.plot(a["spec_V"], a["spec_G"], pen=pg.mkPen(_PENS[0], width=2))
            for v in a.get("peak_V", np.zeros(0)):
                self.plot_spec.addItem(
                    pg.InfiniteLine(pos=float(v), angle=90, pen=pg.mkPen(_PENS[1], width=1))
                )
        cr = a.get("collapse_R", np.zeros((0, 0)))
        if cr.size and a.get("collapse_P", np.zeros(0)).size:
            for k in range(cr.shape[0]):
                self.plot_collapse.plot(a["collapse_P"], cr[k], pen=pg.mkPen(_PENS[k % len(_PENS)], width=2))
        br, bi = a.get("branch_R", np.zeros(0)), a.get("branch_I_star", np.zeros(0))
        if br.size:
            top = float(np.nanmax(np.abs(bi))) * 6 if np.isfinite(bi).any() else 1e-5
            ii = np.linspace(0.0, max(top, 1e-12), 20)
            for k, (r, ist) in enumerate(zip(br, bi, strict=True)):
                self.plot_brush.plot(ii, r * (ii - ist), pen=pg.mkPen(_PENS[k % len(_PENS)], width=2))
        self.export_button.setEnabled(True)


__all__ = ["ROLES", "ITSPanel"]
