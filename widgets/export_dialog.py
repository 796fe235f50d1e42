"""Options of a map's PNG export: resolution, and whether to include what surrounds the map on screen."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QSpinBox, QWidget


class MapPngDialog(QDialog):
    """Dots per inch, and "as on screen" (axes, colour bar, labels and drawn overlays) - off by default:
    the map alone, one block of identical pixels per data pixel."""

    def __init__(self, dpi: int = 300, decorated: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export map as PNG")
        form = QFormLayout(self)
        self.dpi_spin = QSpinBox()
        self.dpi_spin.setRange(50, 1200)
        self.dpi_spin.setSuffix(" dpi")
        self.dpi_spin.setValue(int(dpi))
        self.dpi_spin.setToolTip("Resolution written in the PNG; the map keeps its size on screen at it")
        form.addRow("Resolution:", self.dpi_spin)
        self.decorated_check = QCheckBox("As on screen: axes, colour bar, labels and overlays")
        self.decorated_check.setChecked(decorated)
        self.decorated_check.setToolTip(
            "Off: the map alone, pixel-exact (each data pixel a square of identical pixels, no smoothing)"
        )
        form.addRow(self.decorated_check)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.buttons = buttons

    def dpi(self) -> int:
        return self.dpi_spin.value()

    def decorated(self) -> bool:
        return self.decorated_check.isChecked()
