"""Dialog choosing a derived channel operation and its parameters (the computation happens elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

OPERATIONS = {
    "didv": "Numerical dI/dV from the current (Savitzky-Golay)",
    "smooth": "Smoothing along the sweep (Savitzky-Golay)",
    "normalise": "Normalised conductance (dI/dV)/(I/V)",
    "rotate": "Lock-in phase rotation (signal into X)",
    "level": "Levelled topography (new image)",
}

LEVEL_METHODS = {
    "plane": "Plane",
    "line_median": "Line by line (median)",
    "line_linear": "Line by line (linear)",
    "plane+line_median": "Plane, then lines (median)",
}


class DerivedDialog(QDialog):
    """``values()`` returns the chosen operation and parameters after ``accepted``."""

    def __init__(
        self,
        dataset_label: str,
        channels: Sequence[str],
        maps: Sequence[str],
        defaults: dict[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Derived channel")
        defaults = defaults or {}
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Dataset: <b>{dataset_label}</b>"))
        form = QFormLayout()
        lay.addLayout(form)
        self.operation = QComboBox()
        for key, text in OPERATIONS.items():
            self.operation.addItem(text, key)
        form.addRow("Operation", self.operation)
        self.channel_a = QComboBox()
        self.channel_a.addItems(list(channels))
        self.channel_b = QComboBox()
        self.channel_b.addItems(list(channels))
        self.map_combo = QComboBox()
        self.map_combo.addItems(list(maps))
        self.window_spin = QSpinBox()
        self.window_spin.setRange(3, 201)
        self.window_spin.setSingleStep(2)
        self.window_spin.setValue(7)
        self.order_spin = QSpinBox()
        self.order_spin.setRange(0, 10)
        self.order_spin.setValue(2)
        self.broadening = QDoubleSpinBox()
        self.broadening.setRange(0.0, 1e6)
        self.broadening.setDecimals(3)
        self.broadening.setSuffix(" mV")
        self.broadening.setSpecialValueText("default (max |V| / 10)")
        self.level_method = QComboBox()
        for key, text in LEVEL_METHODS.items():
            self.level_method.addItem(text, key)
        self._rows: dict[str, tuple[QLabel, QWidget]] = {}
        for key, label, widget in (
            ("a", "Channel", self.channel_a),
            ("b", "Second channel", self.channel_b),
            ("map", "Map", self.map_combo),
            ("window", "Window (points, odd)", self.window_spin),
            ("order", "Polynomial order", self.order_spin),
            ("broadening", "Broadening of I/V", self.broadening),
            ("method", "Levelling", self.level_method),
        ):
            lab = QLabel(label)
            form.addRow(lab, widget)
            self._rows[key] = (lab, widget)
        self.message = QLabel()
        self.message.setStyleSheet("color: #b00;")
        lay.addWidget(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._try_accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self._defaults = defaults
        self.operation.currentIndexChanged.connect(self._operation_changed)
        self._operation_changed()

    def set_operation(self, key: str) -> None:
        self.operation.setCurrentIndex(self.operation.findData(key))

    def _operation_changed(self, *_a: Any) -> None:
        op = self.operation.currentData()
        shown = {
            "didv": {"a", "window", "order"},
            "smooth": {"a", "window", "order"},
            "normalise": {"a", "b", "broadening"},
            "rotate": {"a", "b"},
            "level": {"map", "method"},
        }[op]
        labels = {
            "didv": ("Current channel", ""),
            "normalise": ("dI/dV channel", "Current channel"),
            "rotate": ("X channel", "Y channel"),
            "smooth": ("Channel", ""),
        }.get(op, ("Channel", ""))
        self._rows["a"][0].setText(labels[0])
        self._rows["b"][0].setText(labels[1] or "Second channel")
        for key, (lab, widget) in self._rows.items():
            lab.setVisible(key in shown)
            widget.setVisible(key in shown)
        for combo, role in ((self.channel_a, f"{op}:a"), (self.channel_b, f"{op}:b")):
            if role in self._defaults:
                combo.setCurrentText(self._defaults[role])
        self.message.clear()

    def _try_accept(self) -> None:
        op = self.operation.currentData()
        if op in ("didv", "smooth") and self.window_spin.value() % 2 == 0:
            self.message.setText("The window must be an odd number of points.")
            return
        if op in ("didv", "smooth") and self.order_spin.value() >= self.window_spin.value():
            self.message.setText("The polynomial order must be smaller than the window.")
            return
        if op in ("didv", "smooth", "normalise", "rotate") and self.channel_a.count() == 0:
            self.message.setText("This dataset has no spectroscopy channels.")
            return
        if op == "level" and self.map_combo.count() == 0:
            self.message.setText("This dataset has no map to level.")
            return
        self.accept()

    def values(self) -> dict[str, Any]:
        op = self.operation.currentData()
        return {
            "operation": op,
            "channel_a": self.channel_a.currentText(),
            "channel_b": self.channel_b.currentText(),
            "map": self.map_combo.currentText(),
            "window": self.window_spin.value(),
            "order": self.order_spin.value(),
            "broadening_mV": self.broadening.value(),
            "method": self.level_method.currentData(),
        }
