"""Option dialogs of the lattice tools. ``values()`` returns the choices after ``accepted``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QVBoxLayout,
    QWidget,
)

DRIFT_REFERENCES = {
    "": "The average lattice of the image",
    "square": "An ideal square lattice",
    "hexagonal": "An ideal hexagonal lattice",
}

SYMMETRIES = {
    "c4": "Fourfold (C4)",
    "c6": "Sixfold (C6)",
    "c2": "Twofold (C2)",
    "mirror": "Mirror about a lattice axis",
    "c4m": "Fourfold with mirrors (square point group)",
    "c6m": "Sixfold with mirrors (hexagonal point group)",
}


class _Form(QDialog):
    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        lay = QVBoxLayout(self)
        self.form = QFormLayout()
        lay.addLayout(self.form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)


class SymmetriseDialog(_Form):
    """Symmetry and mirror axis (the qx axis or one of the picked Bragg peaks)."""

    def __init__(self, peak_names: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__("Symmetrise Fourier transform", parent)
        self.kind = QComboBox()
        for key, text in SYMMETRIES.items():
            self.kind.addItem(text, key)
        self.axis = QComboBox()
        self.axis.addItem("qx axis", -1)
        for i, name in enumerate(peak_names):
            self.axis.addItem(f"Along {name}", i)
        self.form.addRow("Symmetry", self.kind)
        self.form.addRow("Mirror axis", self.axis)

    def values(self) -> dict[str, Any]:
        return {"kind": self.kind.currentData(), "axis_peak": int(self.axis.currentData())}


class FilterDialog(_Form):
    """Disk radius (1/nm) and whether the disks are removed or kept."""

    def __init__(self, default_radius_per_nm: float, parent: QWidget | None = None) -> None:
        super().__init__("Inverse Fourier filter", parent)
        self.mode = QComboBox()
        self.mode.addItem("Remove the picked peaks", "remove")
        self.mode.addItem("Keep only the picked peaks (Bragg filter)", "keep")
        self.radius = QDoubleSpinBox()
        self.radius.setDecimals(3)
        self.radius.setRange(0.001, 1000.0)
        self.radius.setSuffix(" 1/nm")
        self.radius.setValue(default_radius_per_nm)
        self.form.addRow("Filter", self.mode)
        self.form.addRow("Disk radius", self.radius)

    def values(self) -> dict[str, Any]:
        return {"keep": self.mode.currentData() == "keep", "radius": self.radius.value() * 1e9}


class AlignDialog(_Form):
    """The reference dataset to align to (``choices``: (key, label))."""

    def __init__(
        self, target_label: str, choices: Sequence[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(f"Align {target_label} to...", parent)
        self.reference = QComboBox()
        for key, label in choices:
            self.reference.addItem(label, key)
        self.form.addRow("Reference", self.reference)

    def values(self) -> dict[str, Any]:
        return {"reference": self.reference.currentData()}


class DriftDialog(_Form):
    """Reference lattice (``DRIFT_REFERENCES``) and demodulation length in lattice periods."""

    def __init__(self, ideal: str = "", periods: float = 3.0, parent: QWidget | None = None) -> None:
        super().__init__("Drift correction (Lawler-Fujita)", parent)
        self.reference = QComboBox()
        for key, text in DRIFT_REFERENCES.items():
            self.reference.addItem(text, key)
        self.reference.setCurrentIndex(max(0, self.reference.findData(ideal)))
        self.length = QDoubleSpinBox()
        self.length.setDecimals(2)
        self.length.setRange(0.5, 100.0)
        self.length.setSingleStep(0.5)
        self.length.setSuffix(" periods")
        self.length.setValue(periods)
        self.length.setToolTip(
            "Length L of the Gaussian filter of the phase demodulation, in periods of the longer lattice "
            "spacing: a longer L gives smoother, less noisy displacements; a shorter L follows faster drift"
        )
        self.form.addRow("Correct to", self.reference)
        self.form.addRow("Demodulation length L", self.length)

    def values(self) -> dict[str, Any]:
        return {"ideal": str(self.reference.currentData()), "periods": float(self.length.value())}
