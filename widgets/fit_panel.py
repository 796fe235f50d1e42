"""Fit panel: model chooser, parameter table, data source, fit range, plot of data/model/residuals, report.

The panel only shows what it is given and emits what the user asks for; the owner does the fitting.

* ``set_models(descriptions)``: model descriptions (``Model.describe()`` dicts), listed grouped by family;
  choosing one shows its formula and reference and fills the parameter table (``model_changed(name)``).
* ``set_sources([(key, label), ...])``: data sources (clicked pixel, pinned spectra, region averages,
  line-cut points, loaded spectra); choosing one emits ``source_changed(key)``; a line-cut source also
  uses ``source_position()`` (0..1 along the cut, ``position_changed``). "Load spectrum..." emits
  ``load_spectrum_requested``.
* ``set_data(x (n,), y (n,), x_label, y_label, x_unit, y_unit)``: the spectrum to fit; the fit range is
  a draggable region on that plot (``fit_range()`` gives (xmin, xmax) in x units or None when unused).
* ``fit_requested(dict)`` carries ``{"model", "source", "settings" {param: {value, min, max, vary,
  expr}}, "fit_range", "weights"}``; ``cancel_requested()`` stops it; ``set_busy(bool)`` toggles the
  buttons.
* ``set_result(x, model_y, residual_x, residual, report, values, stderr)`` draws the fitted model and the
  residuals, fills the value/error columns and the report (``copy_report`` puts it on the clipboard).
* ``param_edited(name, column)``: the user changed a cell of the parameter table (value, min, max, vary,
  expression); ``set_params(settings)`` shows settings without emitting it.
* Josephson box ([JSTM] workflow): gap (meV), bath T (K), conductance/current, leakage, a table of
  (source, R_N kOhm) rows; ``josephson_requested(dict)`` with ``{"delta" eV, "T", "kind", "leak",
  "items": [(source key, R_N Ohm), ...]}``; ``set_gap(delta_eV)`` fills the gap (e.g. from an SIS fit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.empty_state import EmptyState

COLUMNS = ("Parameter", "Value", "Min", "Max", "Vary", "Expression", "Unit", "Error")
C_NAME, C_VALUE, C_MIN, C_MAX, C_VARY, C_EXPR, C_UNIT, C_ERR = range(len(COLUMNS))
WEIGHTS = (("none", "No weights"), ("relative", "Relative (1/|y|)"), ("poisson", "Counting (1/sqrt|y|)"))


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{float(v):.6g}"


def _parse(text: str, default: float) -> float:
    t = text.strip().lower()
    if not t:
        return default
    if t in ("inf", "+inf"):
        return math.inf
    if t == "-inf":
        return -math.inf
    return float(t)


class FitPanel(QWidget):
    model_changed = Signal(str)
    source_changed = Signal(str)
    channel_changed = Signal(str)  # the user chose the channel to fit
    position_changed = Signal(float)
    load_spectrum_requested = Signal()
    fit_requested = Signal(dict)
    cancel_requested = Signal()
    range_changed = Signal(object)
    josephson_requested = Signal(dict)
    gap_from_fit_requested = Signal()
    param_edited = Signal(str, str)  # (parameter, column title): a user edit of the parameter table

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._models: dict[str, dict[str, Any]] = {}
        self._x: np.ndarray | None = None
        self._report = ""
        self._updating = False

        # -- model chooser --------------------------------------------------------------------------
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("fit-model")
        self._model_items = QStandardItemModel(self.model_combo)
        self.model_combo.setModel(self._model_items)
        self.model_combo.currentIndexChanged.connect(self._on_model_index)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reference = QLabel()
        self.reference.setWordWrap(True)
        self.reference.setStyleSheet("color: #555;")

        # -- parameter table ----------------------------------------------------------------------------
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(150)
        self._table_filling = False
        self.table.itemChanged.connect(self._on_param_item)

        # -- source, range, weights -------------------------------------------------------------------
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("fit-source")
        self.source_combo.currentIndexChanged.connect(self._on_source_index)
        self.position = QDoubleSpinBox()
        self.position.setRange(0.0, 1.0)
        self.position.setSingleStep(0.05)
        self.position.setDecimals(3)
        self.position.setToolTip("point along the line cut (0 = start, 1 = end)")
        self.position.valueChanged.connect(lambda v: self.position_changed.emit(float(v)))
        self.channel_combo = QComboBox()
        self.channel_combo.setObjectName("fit-channel")
        self.channel_combo.setToolTip("the channel fitted (default: the channel shown in the slicer)")
        self.channel_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.channel_combo.setMinimumContentsLength(12)
        self.channel_combo.activated.connect(self._on_channel_activated)
        self.channel_note = QLabel()
        self.channel_note.setObjectName("fit-channel-note")
        self.channel_note.setWordWrap(True)
        self.channel_note.setStyleSheet("color: #8a4b00;")
        self.load_button = QPushButton("Load spectrum...")
        self.load_button.clicked.connect(self.load_spectrum_requested)
        self.use_range = QCheckBox("Fit range")
        self.use_range.setToolTip("drag the shaded band on the plot to choose the fitted points")
        self.use_range.toggled.connect(self._on_use_range)
        self.weights_combo = QComboBox()
        for key, label in WEIGHTS:
            self.weights_combo.addItem(label, key)

        # -- buttons --------------------------------------------------------------------------------
        self.fit_button = QPushButton("Fit")
        self.fit_button.setObjectName("fit-run")
        self.fit_button.clicked.connect(self._emit_fit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.copy_button = QPushButton("Copy report")
        self.copy_button.clicked.connect(self.copy_report)

        # -- plot -------------------------------------------------------------------------------------
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground("w")
        self.plot = self.plot_widget.addPlot(row=0, col=0)
        self.resid_plot = self.plot_widget.addPlot(row=1, col=0)
        self.resid_plot.setXLink(self.plot)
        self.resid_plot.setMaximumHeight(140)
        self.resid_plot.setLabel("left", "residual")
        self.resid_plot.setVisible(False)  # shown with the first fit's residuals
        self.plot.addLegend(offset=(-10, 10))
        self.data_item = self.plot.plot(
            [], [], pen=None, symbol="o", symbolSize=4, symbolBrush=(60, 60, 60), symbolPen=None, name="data"
        )
        self.model_item = self.plot.plot([], [], pen=pg.mkPen((220, 30, 30), width=2), name="model")
        self.resid_item = self.resid_plot.plot(
            [], [], pen=None, symbol="o", symbolSize=3, symbolBrush=(30, 90, 200), symbolPen=None
        )
        self.resid_plot.addLine(y=0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine))
        self.region = pg.LinearRegionItem(values=(0, 1), brush=(80, 160, 255, 40))
        self.region.setZValue(-10)
        self.region.setVisible(False)
        self.region.sigRegionChangeFinished.connect(lambda *_: self.range_changed.emit(self.fit_range()))
        self.plot.addItem(self.region)

        # -- report -------------------------------------------------------------------------------------
        self.report_view = QPlainTextEdit()
        self.report_view.setReadOnly(True)
        self.report_view.setObjectName("fit-report")

        # -- Josephson ----------------------------------------------------------------------------------
        self.jos_box = QGroupBox("Josephson: Ic from Ambegaokar-Baratoff, fit R and T_eff")
        self.jos_box.setCheckable(True)
        self.jos_box.setChecked(False)
        self.jos_gap = QDoubleSpinBox()
        self.jos_gap.setRange(0.001, 100.0)
        self.jos_gap.setDecimals(4)
        self.jos_gap.setValue(2.5)
        self.jos_gap.setSuffix(" meV")
        self.jos_gap_button = QPushButton("From last gap fit")
        self.jos_gap_button.clicked.connect(self.gap_from_fit_requested)
        self.jos_T = QDoubleSpinBox()
        self.jos_T.setRange(0.01, 400.0)
        self.jos_T.setValue(2.1)
        self.jos_T.setSuffix(" K")
        self.jos_kind = QComboBox()
        self.jos_kind.addItem("dI/dV (conductance)", "conductance")
        self.jos_kind.addItem("I (current)", "current")
        self.jos_leak = QCheckBox("leakage term")
        self.jos_leak.setChecked(True)
        self.jos_table = QTableWidget(0, 2)
        self.jos_table.setHorizontalHeaderLabels(["Spectrum", "R_N (kOhm)"])
        self.jos_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.jos_table.verticalHeader().setVisible(False)
        self.jos_add = QPushButton("Add current spectrum")
        self.jos_add.clicked.connect(self._jos_add_current)
        self.jos_remove = QPushButton("Remove")
        self.jos_remove.clicked.connect(self._jos_remove_selected)
        self.jos_fit = QPushButton("Fit R, T_eff")
        self.jos_fit.clicked.connect(self._emit_josephson)
        jf = QFormLayout()
        gap_row = QHBoxLayout()
        gap_row.addWidget(self.jos_gap)
        gap_row.addWidget(self.jos_gap_button)
        jf.addRow("Gap Delta", gap_row)
        jf.addRow("Bath T", self.jos_T)
        jf.addRow("Data", self.jos_kind)
        jf.addRow("", self.jos_leak)
        self.jos_body = QWidget()
        jl = QVBoxLayout(self.jos_body)
        jl.setContentsMargins(0, 0, 0, 0)
        jl.addLayout(jf)
        jl.addWidget(self.jos_table)
        jb = QHBoxLayout()
        jb.addWidget(self.jos_add)
        jb.addWidget(self.jos_remove)
        jb.addStretch(1)
        jb.addWidget(self.jos_fit)
        jl.addLayout(jb)
        outer = QVBoxLayout(self.jos_box)
        outer.addWidget(self.jos_body)
        self.jos_body.setVisible(False)  # the box folds away while unchecked
        self.jos_box.toggled.connect(self.jos_body.setVisible)

        # -- layout -----------------------------------------------------------------------------------
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        form.addRow("", self.formula)
        form.addRow("", self.reference)
        src = QHBoxLayout()
        src.addWidget(self.source_combo, 1)
        src.addWidget(self.position)
        src.addWidget(self.load_button)
        form.addRow("Data", src)
        form.addRow("Channel", self.channel_combo)
        form.addRow("", self.channel_note)
        opts = QHBoxLayout()
        opts.addWidget(self.use_range)
        opts.addWidget(QLabel("Weights"))
        opts.addWidget(self.weights_combo)
        opts.addStretch(1)
        form.addRow("", opts)
        tl.addLayout(form)
        tl.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.fit_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        tl.addLayout(buttons)
        tl.addWidget(self.jos_box)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        self.empty = EmptyState(
            self.plot_widget, "Pin a point on a map, or pick a spectrum under Data, to fit it."
        )
        split.addWidget(self.empty)
        split.addWidget(self.report_view)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 4)
        split.setStretchFactor(2, 3)
        split.setChildrenCollapsible(False)
        # the report (chi-square, every parameter with its error, warnings) gets room from the start
        self.report_view.setMinimumHeight(90)
        split.setSizes([300, 400, 260])
        self.splitter = split
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(split)
        self._update_position_enabled()

    # -- models -----------------------------------------------------------------------------------------
    def set_models(self, descriptions: Sequence[Mapping[str, Any]], current: str | None = None) -> None:
        """Fill the chooser with ``Model.describe()`` dicts, grouped by family (headers not selectable)."""
        keep = current or self.current_model()
        self._models = {d["name"]: dict(d) for d in descriptions}
        self._updating = True
        try:
            self._model_items.clear()
            families: dict[str, list[Mapping[str, Any]]] = {}
            for d in descriptions:
                families.setdefault(d.get("family") or "other", []).append(d)
            for fam in sorted(families):
                head = QStandardItem(fam)
                head.setFlags(Qt.ItemFlag.NoItemFlags)
                f = head.font()
                f.setBold(True)
                head.setFont(f)
                self._model_items.appendRow(head)
                for d in sorted(families[fam], key=lambda d: d.get("title") or d["name"]):
                    item = QStandardItem(f"    {d.get('title') or d['name']}  [{d['name']}]")
                    item.setData(d["name"], Qt.ItemDataRole.UserRole)
                    self._model_items.appendRow(item)
        finally:
            self._updating = False
        if keep and keep in self._models:
            self.set_current_model(keep)
        else:
            for row in range(self._model_items.rowCount()):
                if self._model_items.item(row).data(Qt.ItemDataRole.UserRole):
                    self.model_combo.setCurrentIndex(row)
                    break
            self._on_model_index(self.model_combo.currentIndex())

    def model_names(self) -> list[str]:
        return list(self._models)

    def current_model(self) -> str | None:
        i = self.model_combo.currentIndex()
        if i < 0:
            return None
        return self.model_combo.itemData(i, Qt.ItemDataRole.UserRole)

    def set_current_model(self, name: str) -> None:
        for row in range(self._model_items.rowCount()):
            if self._model_items.item(row).data(Qt.ItemDataRole.UserRole) == name:
                if self.model_combo.currentIndex() == row:
                    self._on_model_index(row)
                else:
                    self.model_combo.setCurrentIndex(row)
                return
        raise KeyError(name)

    def _on_model_index(self, index: int) -> None:
        if self._updating:
            return
        name = self.current_model()
        if name is None:
            return
        d = self._models[name]
        self.formula.setText(d.get("formula") or "")
        ref = d.get("reference") or ""
        self.reference.setText(f"Reference: {ref}" if ref else "")
        self._reserve_label_heights()
        self._fill_table(d.get("params", []))
        self.model_changed.emit(name)

    def _reserve_label_heights(self) -> None:
        """Give the wrapped formula and reference the height their text needs at the current width (a
        form layout squeezed by the splitter would otherwise draw them over each other)."""
        for label in (self.formula, self.reference):
            width = label.width() if label.width() > 50 else max(self.width() - 80, 200)
            label.setMinimumHeight(label.heightForWidth(width) if label.text() else 0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._reserve_label_heights()

    def _on_param_item(self, item: QTableWidgetItem) -> None:
        if self._table_filling or item.column() not in (C_VALUE, C_MIN, C_MAX, C_VARY, C_EXPR):
            return
        name = self.table.item(item.row(), C_NAME)
        if name is not None:
            self.param_edited.emit(name.text(), COLUMNS[item.column()])

    def _fill_table(self, params: Sequence[Mapping[str, Any]]) -> None:
        self._table_filling = True
        try:
            self._fill_rows(params)
        finally:
            self._table_filling = False

    def _fill_rows(self, params: Sequence[Mapping[str, Any]]) -> None:
        self.table.setRowCount(len(params))
        for r, p in enumerate(params):
            name = QTableWidgetItem(p["name"])
            name.setFlags(Qt.ItemFlag.ItemIsEnabled)
            name.setToolTip(p.get("description", ""))
            self.table.setItem(r, C_NAME, name)
            self.table.setItem(r, C_VALUE, QTableWidgetItem(_fmt(p.get("default", 0.0))))
            self.table.setItem(r, C_MIN, QTableWidgetItem(_fmt(p.get("min", -math.inf))))
            self.table.setItem(r, C_MAX, QTableWidgetItem(_fmt(p.get("max", math.inf))))
            vary = QTableWidgetItem()
            vary.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            vary.setCheckState(Qt.CheckState.Checked if p.get("vary", True) else Qt.CheckState.Unchecked)
            self.table.setItem(r, C_VARY, vary)
            self.table.setItem(r, C_EXPR, QTableWidgetItem(""))
            unit = QTableWidgetItem(p.get("unit", ""))
            unit.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(r, C_UNIT, unit)
            err = QTableWidgetItem("")
            err.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(r, C_ERR, err)

    def _row_of(self, name: str) -> int:
        for r in range(self.table.rowCount()):
            if self.table.item(r, C_NAME).text() == name:
                return r
        raise KeyError(name)

    def param_settings(self) -> dict[str, dict[str, Any]]:
        """{param: {value, min, max, vary, expr}} from the table; raises ValueError for bad numbers."""
        out: dict[str, dict[str, Any]] = {}
        for r in range(self.table.rowCount()):
            name = self.table.item(r, C_NAME).text()
            try:
                value = _parse(self.table.item(r, C_VALUE).text(), math.nan)
                lo = _parse(self.table.item(r, C_MIN).text(), -math.inf)
                hi = _parse(self.table.item(r, C_MAX).text(), math.inf)
            except ValueError:
                raise ValueError(f"parameter {name}: value, min and max must be numbers") from None
            s: dict[str, Any] = {
                "min": lo,
                "max": hi,
                "vary": self.table.item(r, C_VARY).checkState() == Qt.CheckState.Checked,
                "expr": self.table.item(r, C_EXPR).text().strip(),
            }
            if math.isfinite(value):
                s["value"] = value
            out[name] = s
        return out

    def set_param(
        self,
        name: str,
        *,
        value: float | None = None,
        min: float | None = None,
        max: float | None = None,
        vary: bool | None = None,
        expr: str | None = None,
    ) -> None:
        r = self._row_of(name)
        filling, self._table_filling = self._table_filling, True
        try:
            self._set_row(r, value, min, max, vary, expr)
        finally:
            self._table_filling = filling

    def set_params(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Show ``{param: {value, min, max, vary, expr}}`` (missing keys and parameters keep their cells; a
        missing value empties the cell) without emitting ``param_edited``."""
        for name, s in settings.items():
            try:
                r = self._row_of(name)
            except KeyError:
                continue
            filling, self._table_filling = self._table_filling, True
            try:
                self._set_row(r, None, s.get("min"), s.get("max"), s.get("vary"), s.get("expr"))
                v = s.get("value")
                self.table.item(r, C_VALUE).setText(_fmt(v) if v is not None else "")
            finally:
                self._table_filling = filling

    def _set_row(
        self,
        r: int,
        value: float | None,
        min: float | None,
        max: float | None,
        vary: bool | None,
        expr: str | None,
    ) -> None:
        if value is not None:
            self.table.item(r, C_VALUE).setText(_fmt(value))
        if min is not None:
            self.table.item(r, C_MIN).setText(_fmt(min))
        if max is not None:
            self.table.item(r, C_MAX).setText(_fmt(max))
        if vary is not None:
            self.table.item(r, C_VARY).setCheckState(
                Qt.CheckState.Checked if vary else Qt.CheckState.Unchecked
            )
        if expr is not None:
            self.table.item(r, C_EXPR).setText(expr)

    # -- sources ----------------------------------------------------------------------------------------
    def set_sources(self, sources: Sequence[tuple[str, str]], current: str | None = None) -> None:
        keep = current or self.current_source()
        self.source_combo.blockSignals(True)
        try:
            self.source_combo.clear()
            for key, label in sources:
                self.source_combo.addItem(label, key)
            idx = self.source_combo.findData(keep) if keep is not None else -1
            self.source_combo.setCurrentIndex(idx if idx >= 0 else (0 if sources else -1))
        finally:
            self.source_combo.blockSignals(False)
        self._update_position_enabled()
        new = self.current_source()
        if new != keep and new is not None:
            self.source_changed.emit(new)

    def set_channels(self, channels: Sequence[tuple[str, str]], current: str | None, note: str = "") -> None:
        """Fill the channel chooser with (channel, label) pairs, select ``current``, show ``note`` (how the
        channel is fitted, or why it cannot be) under it. Emits nothing."""
        self.channel_combo.blockSignals(True)
        try:
            self.channel_combo.clear()
            for name, label in channels:
                self.channel_combo.addItem(label, name)
            idx = self.channel_combo.findData(current) if current is not None else -1
            self.channel_combo.setCurrentIndex(idx if idx >= 0 else (0 if channels else -1))
        finally:
            self.channel_combo.blockSignals(False)
        self.channel_note.setText(note)

    def current_channel(self) -> str | None:
        i = self.channel_combo.currentIndex()
        return None if i < 0 else self.channel_combo.itemData(i)

    def channel_note_text(self) -> str:
        return self.channel_note.text()

    def _on_channel_activated(self, _i: int) -> None:
        ch = self.current_channel()
        if ch is not None:
            self.channel_changed.emit(ch)

    def current_source(self) -> str | None:
        i = self.source_combo.currentIndex()
        return None if i < 0 else self.source_combo.itemData(i)

    def current_source_label(self) -> str:
        return self.source_combo.currentText()

    def set_current_source(self, key: str) -> None:
        idx = self.source_combo.findData(key)
        if idx < 0:
            raise KeyError(key)
        self.source_combo.setCurrentIndex(idx)

    def source_position(self) -> float:
        return float(self.position.value())

    def _on_source_index(self, _i: int) -> None:
        self._update_position_enabled()
        key = self.current_source()
        if key is not None:
            self.source_changed.emit(key)

    def _update_position_enabled(self) -> None:
        key = self.current_source() or ""
        self.position.setEnabled(key.startswith("cut:"))

    # -- data, range, result ------------------------------------------------------------------------------
    def set_data(
        self,
        x: np.ndarray | None,
        y: np.ndarray | None,
        x_label: str = "Bias",
        y_label: str = "",
        x_unit: str = "V",
        y_unit: str = "",
    ) -> None:
        """Show the spectrum to fit (axes labelled with SI-prefixed units); clears the previous model curve
        and residuals."""
        self.empty.set_empty(x is None or y is None or not np.isfinite(np.asarray(y, float)).any())
        if x is None or y is None:
            self._x = None
            self.data_item.setData([], [])
        else:
            x = np.asarray(x, float)
            self._x = x
            self.data_item.setData(x, np.asarray(y, float))
            lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
            a, b = self.region.getRegion()
            if not (lo <= a < b <= hi) or b - a <= 0:
                self.region.setRegion((lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo)))
            self.region.setBounds((lo, hi))
        self.plot.setLabel("bottom", x_label, units=x_unit or None)
        self.plot.setLabel("left", y_label, units=y_unit or None)
        self.resid_plot.setLabel("bottom", x_label, units=x_unit or None)
        self.resid_plot.setLabel("left", "residual", units=y_unit or None)
        self.model_item.setData([], [])
        self.resid_item.setData([], [])
        # no fit yet, no residuals: no residual axes with a made-up +-400 range
        self.resid_plot.setVisible(False)

    def data_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.data_item.getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    def fit_range(self) -> tuple[float, float] | None:
        if not self.use_range.isChecked():
            return None
        a, b = self.region.getRegion()
        return (float(min(a, b)), float(max(a, b)))

    def set_fit_range(self, rng: tuple[float, float] | None) -> None:
        if rng is None:
            self.use_range.setChecked(False)
            return
        self.region.setRegion((float(rng[0]), float(rng[1])))
        self.use_range.setChecked(True)

    def _on_use_range(self, on: bool) -> None:
        self.region.setVisible(on)
        self.range_changed.emit(self.fit_range())

    def weights_mode(self) -> str:
        return str(self.weights_combo.currentData())

    def set_result(
        self,
        x: np.ndarray,
        model_y: np.ndarray,
        residual_x: np.ndarray,
        residual: np.ndarray,
        report: str,
        values: Mapping[str, float] | None = None,
        stderr: Mapping[str, float] | None = None,
    ) -> None:
        self.model_item.setData(np.asarray(x, float), np.asarray(model_y, float))
        self.resid_item.setData(np.asarray(residual_x, float), np.asarray(residual, float))
        self.resid_plot.setVisible(True)
        filling, self._table_filling = self._table_filling, True
        try:
            for name, v in (values or {}).items():
                try:
                    r = self._row_of(name)
                except KeyError:
                    continue
                self.table.item(r, C_VALUE).setText(_fmt(v))
                e = (stderr or {}).get(name, math.nan)
                self.table.item(r, C_ERR).setText(_fmt(e))
        finally:
            self._table_filling = filling
        self.set_report(report)

    def model_curve(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.model_item.getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    def residual_curve(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.resid_item.getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    def set_report(self, text: str) -> None:
        self._report = text
        self.report_view.setPlainText(text)

    def report(self) -> str:
        return self._report

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self._report)

    def set_busy(self, busy: bool) -> None:
        self.fit_button.setEnabled(not busy)
        self.jos_fit.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _emit_fit(self) -> None:
        name = self.current_model()
        if name is None:
            self.set_report("Choose a model first.")
            return
        try:
            settings = self.param_settings()
        except ValueError as exc:
            self.set_report(str(exc))
            return
        self.fit_requested.emit(
            {
                "model": name,
                "source": self.current_source(),
                "channel": self.current_channel(),
                "settings": settings,
                "fit_range": self.fit_range(),
                "weights": self.weights_mode(),
            }
        )

    # -- Josephson ----------------------------------------------------------------------------------------
    def set_gap(self, delta_ev: float) -> None:
        self.jos_gap.setValue(float(delta_ev) * 1e3)

    def add_josephson_item(self, key: str, label: str, r_n_ohm: float) -> None:
        r = self.jos_table.rowCount()
        self.jos_table.insertRow(r)
        item = QTableWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, key)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        self.jos_table.setItem(r, 0, item)
        self.jos_table.setItem(r, 1, QTableWidgetItem(f"{r_n_ohm / 1e3:.6g}"))

    def josephson_items(self) -> list[tuple[str, float]]:
        """[(source key, R_N in Ohm)]; raises ValueError for a bad resistance."""
        out = []
        for r in range(self.jos_table.rowCount()):
            key = self.jos_table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            try:
                rn = float(self.jos_table.item(r, 1).text()) * 1e3
            except ValueError:
                raise ValueError(f"row {r + 1}: R_N must be a number in kOhm") from None
            if not rn > 0:
                raise ValueError(f"row {r + 1}: R_N must be positive")
            out.append((str(key), rn))
        return out

    def _jos_add_current(self) -> None:
        key = self.current_source()
        if key is not None:
            self.add_josephson_item(key, self.current_source_label(), 25e3)

    def _jos_remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.jos_table.selectedIndexes()}, reverse=True)
        for r in rows:
            self.jos_table.removeRow(r)

    def _emit_josephson(self) -> None:
        try:
            items = self.josephson_items()
        except ValueError as exc:
            self.set_report(str(exc))
            return
        if not items:
            self.set_report("Add at least one spectrum with its R_N to the Josephson table.")
            return
        self.josephson_requested.emit(
            {
                "delta": self.jos_gap.value() * 1e-3,
                "T": self.jos_T.value(),
                "kind": self.jos_kind.currentData(),
                "leak": self.jos_leak.isChecked(),
                "items": items,
            }
        )
