"""The Mesas panel ([MESA], paper 002): the corrected stack curves with the simulated S-curve of N
junctions over them (extrema and V_peak marked), V_peak(N) and beta(N) against the simulation, and the
results table. No physics here: the controller hands over arrays and rows; the N slider only asks for
a redraw (the controller draws from its cached simulation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from widgets.papers.common import (
    chooser_above,
    combo_of,
    number_field,
    plots_over_table,
    result_plot,
    results_table,
    set_table_rows,
    table_rows,
)
from widgets.series.common import axis_label

DATA_COLOUR = (40, 40, 40)
SIM_COLOUR = (213, 94, 0)
MARK_COLOUR = (0, 114, 178)
#: Views of the N plot: (key, menu text).
N_VIEWS = (("v_peak", "V_peak(N) per junction"), ("beta", "beta(N)"), ("t_peak", "T_m at the peak (N)"))


def _mesa_spin(lo: float, hi: float, value: float, decimals: int, tip: str) -> QDoubleSpinBox:
    return number_field(lo, hi, value, decimals, tip=tip, tracking=True)


class MesaPanel(QWidget):
    """Controls, the stack plot, the N plot and the table.

    Signals: ``analyse_requested()``, ``simulate_requested()``, ``tables_requested()``, ``n_changed(int)``,
    ``export_requested()``, ``n_view_changed(str)``.
    """

    analyse_requested = Signal()
    simulate_requested = Signal()
    tables_requested = Signal()
    n_changed = Signal(int)
    export_requested = Signal()
    n_view_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        row.addWidget(QLabel("SIN sweep"))
        self.sin_combo = QComboBox()
        self.sin_combo.setMinimumContentsLength(12)
        self.sin_combo.setToolTip("The top contact measured alone, subtracted in series from every stack")
        row.addWidget(self.sin_combo)
        row.addWidget(QLabel("Fit up to (mV)"))
        self.fit_spin = _mesa_spin(
            1.0, 1000.0, 60.0, 1, "d-wave fit of the smallest stack per junction up to this bias"
        )
        row.addWidget(self.fit_spin)
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.setToolTip("SIN correction, beta(N) and the d-wave fit")
        row.addWidget(self.analyse_button)
        self.export_button = QPushButton("Export figure...")
        self.export_button.setEnabled(False)
        row.addWidget(self.export_button)
        row.addStretch(1)
        lay.addLayout(row)

        sim = QHBoxLayout()
        sim.addWidget(QLabel("alpha (K/mW)"))
        self.alpha_spin = _mesa_spin(0.01, 10000.0, 110.0, 2, "Thermal resistance of the mesa")
        sim.addWidget(self.alpha_spin)
        sim.addWidget(QLabel("R_N/junction (Ohm)"))
        self.rn_spin = _mesa_spin(0.01, 1e6, 24.2, 2, "Normal-state resistance per junction")
        sim.addWidget(self.rn_spin)
        sim.addWidget(QLabel("T_bath (K)"))
        self.tb_spin = _mesa_spin(0.1, 300.0, 4.2, 2, "Bath temperature")
        sim.addWidget(self.tb_spin)
        sim.addStretch(1)
        lay.addLayout(sim)
        sim = QHBoxLayout()  # the gap source on a row of its own, so the panel stays narrow
        self.gap_combo = QComboBox()
        self.gap_combo.addItem("BCS Delta(T), Gamma(T)", "bcs")
        self.gap_combo.addItem("Imported tables", "tables")
        self.gap_combo.setToolTip("Delta(T) and Gamma(T) of the simulated junctions")
        self.gap_combo.model().item(1).setEnabled(False)
        sim.addWidget(self.gap_combo)
        self.tables_button = QPushButton("Import tables...")
        self.tables_button.setToolTip("A text file of T (K), Delta (eV), Gamma (eV)")
        sim.addWidget(self.tables_button)
        sim.addStretch(1)
        lay.addLayout(sim)
        sim = QHBoxLayout()
        self.simulate_button = QPushButton("Simulate N = 1..30")
        sim.addWidget(self.simulate_button)
        sim.addWidget(QLabel("N"))
        self.n_slider = QSlider(Qt.Orientation.Horizontal)
        self.n_slider.setRange(1, 30)
        self.n_slider.setValue(1)
        self.n_slider.setMinimumWidth(160)
        self.n_slider.setEnabled(False)
        sim.addWidget(self.n_slider, 1)
        self.n_label = QLabel("N = 1")
        self.n_label.setWordWrap(True)  # a long read-out wraps instead of widening the dock
        sim.addWidget(self.n_label, 2)
        lay.addLayout(sim)
        self.status = QLabel("Import or open a series of stacks tagged N (the top contact alone as N = 0).")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self.stack_combo = combo_of(
            (("iv", "Current I(V) per junction"), ("tm", "Mesa temperature T_m(V) of the simulation"))
        )
        self.stack_plot = result_plot((10, 10))
        self.n_combo = combo_of(N_VIEWS)
        self.n_plot = result_plot()
        self.table = results_table()
        left, right = (
            chooser_above(self.stack_combo, self.stack_plot),
            chooser_above(self.n_combo, self.n_plot),
        )
        lay.addWidget(plots_over_table(left, right, self.table, (520, 400), (560, 260)), 1)
        self._n_curves: dict[str, dict[str, Any]] = {}
        self.mark_lines: list[pg.InfiniteLine] = []
        self._stack: tuple[Any, Any, list[tuple[float, str]], Any, Any] = (None, None, [], None, None)

        self.analyse_button.clicked.connect(self.analyse_requested)
        self.simulate_button.clicked.connect(self.simulate_requested)
        self.tables_button.clicked.connect(self.tables_requested)
        self.export_button.clicked.connect(self.export_requested)
        self.n_slider.valueChanged.connect(lambda v: self.n_changed.emit(int(v)))
        self.n_combo.currentIndexChanged.connect(self._n_view_chosen)
        self.stack_combo.currentIndexChanged.connect(lambda _i: self._draw_stack())

    # -- settings ---------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The typed settings in SI units (alpha K/W, r_n Ohm, t_bath K, fit_v_max V; sin_sweep index or
        -1 for none; tables True when the imported tables are chosen)."""
        return {
            "alpha": float(self.alpha_spin.value()) * 1e3,
            "r_n": float(self.rn_spin.value()),
            "t_bath": float(self.tb_spin.value()),
            "fit_v_max": float(self.fit_spin.value()) * 1e-3,
            "sin_sweep": int(self.sin_combo.currentData()) if self.sin_combo.count() else -1,
            "tables": self.gap_combo.currentData() == "tables",
        }

    def set_settings(self, s: dict[str, Any]) -> None:
        if "alpha" in s:
            self.alpha_spin.setValue(float(s["alpha"]) / 1e3)
        if "r_n" in s:
            self.rn_spin.setValue(float(s["r_n"]))
        if "t_bath" in s:
            self.tb_spin.setValue(float(s["t_bath"]))
        if "fit_v_max" in s:
            self.fit_spin.setValue(float(s["fit_v_max"]) * 1e3)

    def set_tables_available(self, name: str | None) -> None:
        """Enable the imported-tables choice (and choose it) once tables are loaded."""
        item = self.gap_combo.model().item(1)
        item.setEnabled(name is not None)
        item.setText(f"Tables: {name}" if name else "Imported tables")
        if name is not None:
            self.gap_combo.setCurrentIndex(1)

    def set_sin_choices(self, labels: Sequence[str], current: int) -> None:
        """The sweeps offered as the SIN junction (``current`` index, -1 none)."""
        self.sin_combo.blockSignals(True)
        self.sin_combo.clear()
        self.sin_combo.addItem("none", -1)
        for i, text in enumerate(labels):
            self.sin_combo.addItem(text, i)
        k = self.sin_combo.findData(current)
        self.sin_combo.setCurrentIndex(max(k, 0))
        self.sin_combo.blockSignals(False)

    def set_busy(self, what: str, busy: bool, text: str = "") -> None:
        button = self.analyse_button if what == "analyse" else self.simulate_button
        button.setEnabled(not busy)
        if text:
            self.status.setText(text)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    # -- N slider ---------------------------------------------------------------------------------------
    def n(self) -> int:
        return int(self.n_slider.value())

    def set_n_range(self, n_max: int, value: int | None = None) -> None:
        self.n_slider.blockSignals(True)
        self.n_slider.setRange(1, max(1, n_max))
        if value is not None:
            self.n_slider.setValue(int(value))
        self.n_slider.setEnabled(True)
        self.n_slider.blockSignals(False)

    def set_n_text(self, text: str) -> None:
        self.n_label.setText(text)

    # -- stack plot -------------------------------------------------------------------------------------
    def set_stack(
        self,
        data: tuple[np.ndarray, np.ndarray, str] | None,
        sim: tuple[np.ndarray, np.ndarray, str] | None,
        marks: Sequence[tuple[float, str]] = (),
        fit: tuple[np.ndarray, np.ndarray, str] | None = None,
        sim_t: np.ndarray | None = None,
    ) -> None:
        """Against the voltage per junction: the measured (corrected) current, the simulated S-curve and a
        fitted model, or (stack view "tm") the mesa temperature ``sim_t`` (K) along the simulated curve;
        vertical marks (position V, label: extrema, V_peak) in both."""
        self._stack = (data, sim, list(marks), fit, sim_t)
        self._draw_stack()

    def stack_view(self) -> str:
        return str(self.stack_combo.currentData())

    def _draw_stack(self) -> None:
        data, sim, marks, fit, sim_t = self._stack
        plot = self.stack_plot.getPlotItem()
        plot.clear()
        self.mark_lines = []
        temperature = self.stack_view() == "tm"
        if temperature:
            if sim is not None and sim_t is not None:
                plot.plot(sim[0], sim_t, pen=pg.mkPen(SIM_COLOUR, width=2), name=f"T_m, {sim[2]}")
        else:
            if sim is not None:  # under the data: where they agree, the data stay visible
                plot.plot(sim[0], sim[1], pen=pg.mkPen(SIM_COLOUR, width=4), name=sim[2])
            if data is not None:
                plot.plot(data[0], data[1], pen=pg.mkPen(DATA_COLOUR, width=1.5), name=data[2])
            if fit is not None:
                pen = pg.mkPen(MARK_COLOUR, width=1.5, style=Qt.PenStyle.DotLine)
                plot.plot(fit[0], fit[1], pen=pen, name=fit[2])
        for j, (pos, text) in enumerate(marks):
            line = pg.InfiniteLine(
                float(pos),
                angle=90,
                pen=pg.mkPen(MARK_COLOUR, width=1, style=Qt.PenStyle.DashLine),
                label=text,
                labelOpts={"position": 0.12 + 0.1 * j, "color": MARK_COLOUR, "fill": (255, 255, 255, 220)},
            )
            plot.addItem(line)
            self.mark_lines.append(line)
        axis_label(plot, "bottom", "V per junction", "V")
        axis_label(plot, "left", "T_m" if temperature else "I", "K" if temperature else "A")
        plot.enableAutoRange()

    def mark_labels(self) -> list[str]:
        labels = (getattr(ln, "label", None) for ln in self.mark_lines)
        return [lab.toPlainText() for lab in labels if lab is not None]

    # -- N plot -----------------------------------------------------------------------------------------
    def set_n_results(self, curves: dict[str, dict[str, Any]]) -> None:
        """Per view key: {"sim": (N, y) | None, "data": (N, y, err) | None, "unit": str, "name": str}."""
        self._n_curves = dict(curves)
        self.export_button.setEnabled(bool(curves))
        self._draw_n()

    def n_view(self) -> str:
        return str(self.n_combo.currentData())

    def set_n_view(self, key: str) -> None:
        i = self.n_combo.findData(key)
        if i >= 0:
            self.n_combo.blockSignals(True)
            self.n_combo.setCurrentIndex(i)
            self.n_combo.blockSignals(False)
            self._draw_n()

    def n_curves(self) -> dict[str, Any]:
        return dict(self._n_curves.get(self.n_view(), {}))

    def _n_view_chosen(self, _i: int) -> None:
        self._draw_n()
        self.n_view_changed.emit(self.n_view())

    def _draw_n(self) -> None:
        plot = self.n_plot.getPlotItem()
        plot.clear()
        c = self._n_curves.get(self.n_view())
        if not c:
            return
        if c.get("sim") is not None:
            x, y = (np.asarray(a, float) for a in c["sim"])
            ok = np.isfinite(y)
            plot.plot(x[ok], y[ok], pen=pg.mkPen(SIM_COLOUR, width=2), name="simulation")
        if c.get("data") is not None:
            x, y, e = (np.asarray(a, float) for a in c["data"])
            ok = np.isfinite(y)
            plot.plot(x[ok], y[ok], pen=None, symbol="o", symbolSize=8, symbolBrush=DATA_COLOUR, name="data")
            if e.size:
                err = np.where(np.isfinite(e[ok]), e[ok], 0.0)
                plot.addItem(pg.ErrorBarItem(x=x[ok], y=y[ok], height=2 * err, pen=pg.mkPen(DATA_COLOUR)))
        axis_label(plot, "bottom", "N", "")
        axis_label(plot, "left", c.get("name", ""), c.get("unit", ""))
        plot.enableAutoRange()

    # -- table ------------------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[tuple[str, str, str]]) -> None:
        set_table_rows(self.table, rows)

    def rows(self) -> list[tuple[str, str, str]]:
        return table_rows(self.table)
