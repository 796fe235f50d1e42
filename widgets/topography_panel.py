"""Topography panel: a height (or any 2D) map with levelling and colour-map choices."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from widgets.colormaps import COLORMAPS
from widgets.map_view import MapView

# levelling key -> menu text; the computation is done by the owner (analysis.processing.levelling)
LEVELLING = {
    "none": "No levelling",
    "plane": "Plane",
    "plane2": "Polynomial, order 2",
    "plane3": "Polynomial, order 3",
    "line_median": "Line by line (median)",
    "line_median_diff": "Line by line (median of differences)",
    "line_linear": "Line by line (linear)",
    "line_poly2": "Line by line (polynomial, order 2)",
    "line_poly3": "Line by line (polynomial, order 3)",
    "plane+line_median": "Plane, then lines (median)",
}


class TopographyPanel(MapView):
    """Shows the image it is given; emits ``channel_selected`` and ``levelling_selected``."""

    channel_selected = Signal(str)
    levelling_selected = Signal(str)

    def __init__(self, title: str = "Topography", parent: QWidget | None = None) -> None:
        super().__init__(title, parent, colour_bar="horizontal")
        self.empty.set_empty(True, "Open an image (.sxm, .dat) or a grid to see its topography here.")
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("Image channel")
        self.channel_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.channel_combo.setMinimumContentsLength(3)
        self.channel_combo.currentTextChanged.connect(lambda t: t and self.channel_selected.emit(t))
        self.controls.addWidget(self.channel_combo)
        self.levelling_combo = QComboBox()
        self.levelling_combo.setToolTip("Levelling")
        self.levelling_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.levelling_combo.setMinimumContentsLength(6)
        for key, text in LEVELLING.items():
            self.levelling_combo.addItem(text, key)
        self.levelling_combo.setCurrentIndex(1)
        self.levelling_combo.currentIndexChanged.connect(
            lambda _i: self.levelling_selected.emit(self.levelling_combo.currentData())
        )
        self.controls.addWidget(self.levelling_combo)
        self.colormap_combo = QComboBox()
        self.colormap_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.colormap_combo.setMinimumContentsLength(5)
        self.colormap_combo.addItems(list(COLORMAPS))
        self.colormap_combo.currentTextChanged.connect(self.set_colormap)
        self.controls.addWidget(self.colormap_combo)
        self.controls.addStretch(1)
        self.colormap_combo.setCurrentText("cividis")

    def set_channels(self, names: Sequence[str], current: str | None = None) -> None:
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        self.channel_combo.addItems(list(names))
        if current:
            self.channel_combo.setCurrentText(current)
        self.channel_combo.blockSignals(False)

    def current_channel(self) -> str:
        return self.channel_combo.currentText()

    def levelling(self) -> str:
        return str(self.levelling_combo.currentData())

    def set_levelling(self, method: str) -> None:
        """Show ``method`` (a key of :data:`LEVELLING`) as the levelling choice (no signal)."""
        i = self.levelling_combo.findData(method)
        if i < 0:
            raise ValueError(f"levelling must be one of {', '.join(LEVELLING)}")
        self.levelling_combo.blockSignals(True)
        self.levelling_combo.setCurrentIndex(i)
        self.levelling_combo.blockSignals(False)

    def set_title_text(self, text: str) -> None:
        self.plot_item.setTitle(text, size="10pt")
