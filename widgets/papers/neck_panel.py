"""The Necks panel ([NECK], paper 001): one sweep's dV/dI with its subharmonic ladder, the results table
and the results against field. No physics here: the controller hands over arrays and table rows."""

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
    QVBoxLayout,
    QWidget,
)

from widgets.papers.common import (
    chooser_above,
    combo_of,
    plots_over_table,
    result_plot,
    results_table,
    set_table_rows,
    table_rows,
)
from widgets.series.common import axis_label
from widgets.series.result_plot import RESULT_COLOURS

#: Results against field offered by the field plot: (key, menu text).
FIELD_VIEWS = (
    ("delta", "Gap Delta(H)"),
    ("t_loc", "Local temperature T_loc(H)"),
    ("i_exc", "Excess current I_exc(H)"),
    ("steps", "Phase-slip steps against H"),
    ("lengths", "L_S and Lambda_Q* against H"),
)
RUNG_COLOUR = (0, 114, 178)
ABOVE_COLOUR = (213, 94, 0)


class FieldCurve:
    """One curve of the field plot: ``x`` (n,), ``y`` (n,), optional ``err`` (n,), a ``label``, the
    ``unit`` of y, and ``points`` (markers with error bars) or a line."""

    def __init__(self, x, y, label: str, unit: str, err=None, points: bool = True) -> None:
        self.x = np.asarray(x, float)
        self.y = np.asarray(y, float)
        self.err = None if err is None else np.asarray(err, float)
        self.label = label
        self.unit = unit
        self.points = points


class NeckPanel(QWidget):
    """Controls (sweep, Tc, v_min, Analyse, Export figure...), the sweep plot with the ladder, the table
    and the field plot.

    Signals: ``analyse_requested()``, ``sweep_changed(int)``, ``export_requested()``,
    ``field_view_changed(str)``.
    """

    analyse_requested = Signal()
    sweep_changed = Signal(int)
    export_requested = Signal()
    field_view_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        row.addWidget(QLabel("Sweep"))
        self.sweep_combo = QComboBox()
        self.sweep_combo.setMinimumContentsLength(10)
        row.addWidget(self.sweep_combo)
        row.addWidget(QLabel("Tc (K)"))
        self.tc_spin = QDoubleSpinBox()
        self.tc_spin.setRange(0.1, 200.0)
        self.tc_spin.setDecimals(2)
        self.tc_spin.setValue(7.2)
        row.addWidget(self.tc_spin)
        row.addWidget(QLabel("SGS above (mV)"))
        self.vmin_spin = QDoubleSpinBox()
        self.vmin_spin.setRange(0.0, 100.0)
        self.vmin_spin.setDecimals(3)
        self.vmin_spin.setValue(0.3)
        self.vmin_spin.setToolTip("Features below this bias belong to the Josephson region")
        row.addWidget(self.vmin_spin)
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.setToolTip("Gap ladder, heating, excess current, phase slips of every sweep")
        row.addWidget(self.analyse_button)
        self.export_button = QPushButton("Export figure...")
        self.export_button.setEnabled(False)
        row.addWidget(self.export_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.status = QLabel("Import or open a series against field, then Analyse.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self.sweep_plot = result_plot()
        self.field_combo = combo_of(FIELD_VIEWS)
        self.field_plot = result_plot()
        self.table = results_table()
        right = chooser_above(self.field_combo, self.field_plot)
        lay.addWidget(plots_over_table(self.sweep_plot, right, self.table, (500, 400), (560, 300)), 1)
        self.ladder_lines: list[pg.InfiniteLine] = []
        self._field: dict[str, list[FieldCurve]] = {}
        self._field_x: tuple[str, str] = ("Field", "T")

        self.analyse_button.clicked.connect(self.analyse_requested)
        self.export_button.clicked.connect(self.export_requested)
        self.sweep_combo.currentIndexChanged.connect(lambda i: self.sweep_changed.emit(int(i)))
        self.field_combo.currentIndexChanged.connect(self._field_chosen)

    # -- settings ---------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """{"Tc": K, "v_min": V} as typed."""
        return {"Tc": float(self.tc_spin.value()), "v_min": float(self.vmin_spin.value()) * 1e-3}

    def set_settings(self, settings: dict[str, Any]) -> None:
        if "Tc" in settings:
            self.tc_spin.setValue(float(settings["Tc"]))
        if "v_min" in settings:
            self.vmin_spin.setValue(float(settings["v_min"]) * 1e3)

    def set_busy(self, busy: bool, text: str = "") -> None:
        self.analyse_button.setEnabled(not busy)
        if text:
            self.status.setText(text)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    # -- sweeps -----------------------------------------------------------------------------------------
    def set_sweeps(self, labels: Sequence[str], current: int = 0) -> None:
        self.sweep_combo.blockSignals(True)
        self.sweep_combo.clear()
        self.sweep_combo.addItems(list(labels))
        if labels:
            self.sweep_combo.setCurrentIndex(max(0, min(current, len(labels) - 1)))
        self.sweep_combo.blockSignals(False)

    def current_sweep(self) -> int:
        return max(0, self.sweep_combo.currentIndex())

    def set_curve(self, x, y, x_name: str, x_unit: str, y_name: str, y_unit: str, label: str = "") -> None:
        """The sweep's curve (e.g. dV/dI against V); clears the ladder."""
        plot = self.sweep_plot.getPlotItem()
        plot.clear()
        self.ladder_lines = []
        plot.plot(np.asarray(x, float), np.asarray(y, float), pen=pg.mkPen((40, 40, 40), width=1), name=label)
        axis_label(plot, "bottom", x_name, x_unit)
        axis_label(plot, "left", y_name, y_unit)

    def set_ladder(self, rungs: Sequence[tuple[float, int]], above: Sequence[float]) -> None:
        """Vertical markers at the assigned rungs ((position, n), labelled "n = ...") and at the features
        above the ladder (phase-slip peaks)."""
        plot = self.sweep_plot.getPlotItem()
        for line in self.ladder_lines:
            plot.removeItem(line)
        self.ladder_lines = []
        for j, (pos, n) in enumerate(sorted(rungs, key=lambda r: -r[0])):
            line = pg.InfiniteLine(
                float(pos),
                angle=90,
                pen=pg.mkPen(RUNG_COLOUR, width=1.5),
                label=f"n = {int(n)}",
                # staggered so that the labels of close rungs do not overlap
                labelOpts={"position": 0.93 - 0.07 * j, "color": RUNG_COLOUR, "fill": (255, 255, 255, 220)},
            )
            plot.addItem(line)
            self.ladder_lines.append(line)
        for pos in above:
            line = pg.InfiniteLine(
                float(pos), angle=90, pen=pg.mkPen(ABOVE_COLOUR, width=1, style=Qt.PenStyle.DashLine)
            )
            plot.addItem(line)
            self.ladder_lines.append(line)

    def ladder_labels(self) -> list[str]:
        """The texts of the rung labels shown ("n = 1", ...)."""
        labels = (getattr(ln, "label", None) for ln in self.ladder_lines)
        return [lab.toPlainText() for lab in labels if lab is not None]

    # -- table ------------------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[tuple[str, str, str]]) -> None:
        set_table_rows(self.table, rows)

    def rows(self) -> list[tuple[str, str, str]]:
        return table_rows(self.table)

    # -- field plot -------------------------------------------------------------------------------------
    def set_field_results(
        self, curves: dict[str, list[FieldCurve]], x_name: str = "Field", x_unit: str = "T"
    ) -> None:
        """The curves of each field view (keys of :data:`FIELD_VIEWS`); draws the chosen one."""
        self._field = dict(curves)
        self._field_x = (x_name, x_unit)
        self.export_button.setEnabled(bool(curves))
        self._draw_field()

    def field_view(self) -> str:
        return str(self.field_combo.currentData())

    def set_field_view(self, key: str) -> None:
        i = self.field_combo.findData(key)
        if i >= 0:
            self.field_combo.setCurrentIndex(i)

    def _field_chosen(self, _i: int) -> None:
        self._draw_field()
        self.field_view_changed.emit(self.field_view())

    def _draw_field(self) -> None:
        plot = self.field_plot.getPlotItem()
        plot.clear()
        curves = self._field.get(self.field_view(), [])
        logy = self.field_view() == "lengths"
        plot.setLogMode(x=False, y=logy)
        for k, c in enumerate(curves):
            colour = RESULT_COLOURS[k % len(RESULT_COLOURS)]
            ok = np.isfinite(c.x) & np.isfinite(c.y) & ((c.y > 0) if logy else True)
            x, y = c.x[ok], c.y[ok]
            if c.points:
                plot.plot(
                    x,
                    y,
                    pen=None,
                    symbol="o",
                    symbolSize=7,
                    symbolBrush=colour,
                    symbolPen=colour,
                    name=c.label,
                )
                if c.err is not None:
                    e = np.where(np.isfinite(c.err[ok]), c.err[ok], 0.0)
                    plot.addItem(pg.ErrorBarItem(x=x, y=y, height=2 * e, pen=pg.mkPen(colour)))
            else:
                plot.plot(x, y, pen=pg.mkPen(colour, width=2), name=c.label)
        x_name, x_unit = self._field_x
        axis_label(plot, "bottom", x_name, x_unit)
        if curves:
            axis_label(plot, "left", "" if len(curves) > 1 else curves[0].label, curves[0].unit)
        plot.enableAutoRange()

    def field_curves(self) -> list[FieldCurve]:
        return list(self._field.get(self.field_view(), []))
