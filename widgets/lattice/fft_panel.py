"""The Fourier map of the lattice tools: a reciprocal-space map view with tools to pick Bragg peaks (clicks)
and draw a q-space cut (a drag), and the list of picked peaks.

Coordinates on the map are wave vectors in 1/m (the dataset's frame is in reciprocal space).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from analysis.dataset import Frame
from analysis.lattice.fft import WINDOWS
from widgets.linecut_drawing import CutShape, LineCutDrawer
from widgets.map_view import MapView

PEAK_COLOUR = (255, 40, 40)


class FFTMapView(MapView):
    """A map view in reciprocal space: axes qx, qy in 1/nm and no length scale bar (as any map view shows
    a reciprocal frame), from the start."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self._label_axes(True)
        self.set_colormap("inferno")


def peak_text(index: int, qx: float, qy: float) -> str:
    """How peak ``index`` (0-based) is listed: its wave vector, length, angle and the period 1/|q|."""
    q = math.hypot(qx, qy)
    period = f"{1e9 / q:.4f} nm" if q > 0 else "-"
    ang = math.degrees(math.atan2(qy, qx))
    return (
        f"Q{index + 1}: ({qx * 1e-9:+.3f}, {qy * 1e-9:+.3f}) 1/nm, |q| = {q * 1e-9:.3f} 1/nm, "
        f"{ang:+.1f} deg, 1/|q| = {period}"
    )


class FFTPanel(QWidget):
    """Fourier map, tool buttons and peak list. Signals carry wave vectors in 1/m."""

    peak_clicked = Signal(float, float)  # a click on the map while "Pick Bragg peaks" is on
    cut_drawn = Signal(object)  # [(qx0, qy0), (qx1, qy1)] of a dragged q-cut
    clear_peaks_requested = Signal()
    log_scale_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.title = QLabel("No Fourier transform yet: Lattice > FFT of ...")
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay.addWidget(self.title)
        row = QHBoxLayout()
        row2 = QHBoxLayout()
        self.pick_button = QPushButton("Pick peaks")
        self.pick_button.setToolTip("Click Bragg peaks on the Fourier map (Lattice > Pick Bragg peaks)")
        self.pick_button.setCheckable(True)
        self.cut_button = QPushButton("Draw q-cut")
        self.cut_button.setCheckable(True)
        self.clear_button = QPushButton("Clear peaks")
        self.log_box = QCheckBox("Log scale")
        self.log_box.setChecked(True)
        self.window_combo = QComboBox()
        self.window_combo.setToolTip("Window applied before the next Fourier transform")
        for name in WINDOWS:
            self.window_combo.addItem(f"{name.capitalize()} window" if name != "none" else "No window", name)
        self.window_combo.setCurrentIndex(WINDOWS.index("hann"))
        # two short rows, so the dock never widens the window's right column
        for w in (self.pick_button, self.cut_button, self.clear_button):
            row.addWidget(w)
        for w in (self.log_box, self.window_combo):
            row2.addWidget(w)
        row.addStretch(1)
        row2.addStretch(1)
        lay.addLayout(row)
        lay.addLayout(row2)
        self.map = FFTMapView("Fourier transform")
        lay.addWidget(self.map, 1)
        self.peak_list = QListWidget()
        self.peak_list.setMaximumHeight(110)
        self.peak_list.setMinimumWidth(0)
        lay.addWidget(self.peak_list)
        self.drawer = LineCutDrawer(self.map.view_box)

        self.pick_button.toggled.connect(self._pick_toggled)
        self.cut_button.toggled.connect(self._cut_toggled)
        self.drawer.tool_changed.connect(lambda tool: self.cut_button.setChecked(tool == "line"))
        self.drawer.drawn.connect(self._drawn)
        self.clear_button.clicked.connect(self.clear_peaks_requested)
        self.log_box.toggled.connect(self.log_scale_toggled)
        self.map.clicked.connect(self._map_clicked)

    # -- tools ------------------------------------------------------------------------------------
    def window_name(self) -> str:
        """The window chosen for the next transform (one of ``analysis.lattice.fft.WINDOWS``)."""
        return str(self.window_combo.currentData())

    def picking(self) -> bool:
        return self.pick_button.isChecked()

    def _pick_toggled(self, on: bool) -> None:
        if on:
            self.cut_button.setChecked(False)

    def _cut_toggled(self, on: bool) -> None:
        if on:
            self.pick_button.setChecked(False)
        if on != (self.drawer.tool() == "line"):
            self.drawer.set_tool("line" if on else "")

    def _map_clicked(self, x: float, y: float) -> None:
        if self.picking():
            self.peak_clicked.emit(x, y)

    def _drawn(self, pts: list[tuple[float, float]]) -> None:
        self.cut_drawn.emit([pts[0], pts[-1]])

    # -- content ----------------------------------------------------------------------------------
    def show_map(
        self, title: str, frame: Frame | None, image: np.ndarray | None, label: str = "", unit: str = ""
    ) -> None:
        """Show ``image`` (ny, nx) on the reciprocal-space ``frame`` (None clears)."""
        self.title.setText(title)
        self.map.set_frame(frame)
        self.map.set_value_label(label, unit)
        self.map.set_image(image)

    def set_peaks(self, peaks: Sequence[tuple[float, float]]) -> None:
        """Mark and list the picked peaks (qx, qy) in 1/m."""
        self.map.set_markers([(qx, qy, PEAK_COLOUR) for qx, qy in peaks])
        self.peak_list.clear()
        for i, (qx, qy) in enumerate(peaks):
            self.peak_list.addItem(peak_text(i, qx, qy))

    def set_cut(self, ends: Sequence[tuple[float, float]] | None) -> None:
        """Show the q-cut segment (two (qx, qy) ends in 1/m), or none."""
        shapes = [] if not ends else [CutShape("qcut", tuple(ends), (0, 220, 255), "q-cut")]
        self.drawer.set_cuts(shapes)
