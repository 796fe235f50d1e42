"""Fit dialog for a series: a model, which parameters are shared by all sweeps, constraints, a report.

``set_models([(name, title)])`` fills the model chooser; choosing one emits ``model_changed(name)`` and the
owner answers with ``set_parameters([(name, unit)])``. Clicking a parameter toggles whether it is shared
across the series (checked) or free per sweep; constraints are typed as ``name = expression`` (lmfit).
Fit emits ``fit_requested({"model", "shared", "expressions"})``; Cancel emits ``cancel_requested``.
``set_busy`` and ``set_report`` show the run.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class SeriesFitDialog(QDialog):
    model_changed = Signal(str)
    fit_requested = Signal(dict)
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fit the series")
        lay = QVBoxLayout(self)
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("series-fit-model")
        self.model_combo.currentIndexChanged.connect(self._model_index)
        lay.addWidget(QLabel("Model (fitted to the y quantity against x of every sweep):"))
        lay.addWidget(self.model_combo)
        lay.addWidget(QLabel("Parameters: checked = shared by all sweeps, unchecked = one per sweep"))
        self.params = QListWidget()
        self.params.setObjectName("series-fit-params")
        self.params.itemClicked.connect(self._toggle)
        lay.addWidget(self.params)
        self.constraints = QLineEdit()
        self.constraints.setObjectName("series-fit-constraints")
        self.constraints.setPlaceholderText(
            "constraints, e.g.  Gamma = 0.1 * Delta ; T = 4.2  (lmfit expressions)"
        )
        lay.addWidget(self.constraints)
        row = QHBoxLayout()
        self.fit_button = QPushButton("Fit")
        self.fit_button.clicked.connect(self._fit)
        self.cancel_button = QPushButton("Cancel fit")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.cancel_button.setEnabled(False)
        row.addWidget(self.fit_button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        lay.addWidget(self.report)
        self.resize(520, 520)

    def set_models(self, models: Sequence[tuple[str, str]], current: str | None = None) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for name, title in models:
            self.model_combo.addItem(f"{title}  [{name}]" if title else name, name)
        i = self.model_combo.findData(current) if current else -1
        self.model_combo.setCurrentIndex(max(i, 0))
        self.model_combo.blockSignals(False)

    def current_model(self) -> str:
        return str(self.model_combo.currentData() or "")

    def set_parameters(self, params: Sequence[tuple[str, str]], shared: Sequence[str] = ()) -> None:
        self.params.clear()
        for name, unit in params:
            item = QListWidgetItem(f"{name} ({unit})" if unit else name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a click anywhere on the row toggles it
            item.setCheckState(Qt.CheckState.Checked if name in shared else Qt.CheckState.Unchecked)
            self.params.addItem(item)

    def shared(self) -> list[str]:
        out = []
        for i in range(self.params.count()):
            item = self.params.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def set_busy(self, busy: bool) -> None:
        self.fit_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def set_report(self, text: str) -> None:
        self.report.setPlainText(text)

    def _model_index(self, _i: int) -> None:
        self.model_changed.emit(self.current_model())

    def _toggle(self, item: QListWidgetItem) -> None:
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def expressions(self) -> dict[str, str]:
        """{parameter: lmfit expression} typed as ``name = expression`` pairs separated by semicolons."""
        out = {}
        for part in self.constraints.text().split(";"):
            name, sep, expr = part.partition("=")
            if sep and name.strip() and expr.strip():
                out[name.strip()] = expr.strip()
        return out

    def _fit(self) -> None:
        self.fit_requested.emit(
            {"model": self.current_model(), "shared": self.shared(), "expressions": self.expressions()}
        )
