"""Topography tools' views: the height-profile dock with step-height cursors, and the Level dialog.

:class:`HeightProfilePanel` plots a profile (distance in nm) with two cursor ranges A and B, shows the step
height text it is given and offers "Export profile (CSV)..." in its right-click menu. :class:`LevelDialog`
collects a levelling operation and its parameters and shows a preview image it is given. Neither computes
anything: the topography controller does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from widgets.colormaps import colormap
from widgets.empty_state import EmptyState

CURSOR_COLOURS = {"A": (40, 120, 255), "B": (230, 60, 40)}


class _ProfileViewBox(pg.ViewBox):
    """ViewBox whose right-click menu is the panel's own."""

    def __init__(self, owner: HeightProfilePanel) -> None:
        super().__init__()
        self._owner = owner

    def raiseContextMenu(self, ev) -> None:
        menu = self._owner.build_context_menu()
        menu.popup(ev.screenPos().toPoint())


class HeightProfilePanel(QWidget):
    """Profile plot with an averaging-width box and two cursor ranges for a step height.

    Signals: ``width_changed(float)`` (metres), ``cursors_changed()`` when a range was moved,
    ``export_requested()`` from the right-click menu, ``draw_requested()`` from the Draw button.
    """

    width_changed = Signal(float)
    cursors_changed = Signal()
    export_requested = Signal()
    draw_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._d = np.zeros(0)
        self._y = np.zeros(0)
        self.menu: QMenu | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        self.draw_button = QPushButton("Draw profile")
        self.draw_button.setToolTip("Drag a line on any map to take its profile")
        self.draw_button.clicked.connect(self.draw_requested.emit)
        row.addWidget(self.draw_button)
        row.addWidget(QLabel("Width:"))
        self.width_spin = QDoubleSpinBox()
        self.width_spin.setRange(0.0, 1000.0)
        self.width_spin.setDecimals(3)
        self.width_spin.setSingleStep(0.1)
        self.width_spin.setSuffix(" nm")
        self.width_spin.setToolTip("Average over this width perpendicular to the line (0: a single line)")
        self.width_spin.editingFinished.connect(lambda: self.width_changed.emit(self.width_m()))
        self.width_spin.valueChanged.connect(self._width_typed)
        row.addWidget(self.width_spin)
        row.addStretch(1)
        outer.addLayout(row)
        self.step_label = QLabel("")
        self.step_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.step_label)

        self.view_box = _ProfileViewBox(self)
        self.plot = pg.PlotWidget(background="w", viewBox=self.view_box)
        self.plot.setLabel("bottom", "distance", units="nm")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.curve = pg.PlotDataItem(pen=pg.mkPen((30, 30, 30), width=1.5))
        self.curve.setZValue(1)
        self.plot.addItem(self.curve)
        self.cursors: dict[str, pg.LinearRegionItem] = {}
        for name, rgb in CURSOR_COLOURS.items():
            reg = pg.LinearRegionItem(brush=pg.mkBrush(*rgb, 50), pen=pg.mkPen(*rgb, width=2))
            # a positive z: the scene offers a drag to items by their z summed over their parents, and a
            # negative one would put the range behind its own view box, which would take the drag (pan)
            reg.setZValue(0.5)
            reg.sigRegionChangeFinished.connect(lambda *_: self.cursors_changed.emit())
            label = pg.InfLineLabel(reg.lines[0], name, position=0.92, color=rgb)
            reg._label = label  # keep a reference
            self.plot.addItem(reg)
            self.cursors[name] = reg
        self.empty = EmptyState(self.plot, "Topography > Profile: drag a line on a map to see its profile.")
        outer.addWidget(self.empty, 1)
        self.empty.set_empty(True)
        self._width_timer = QTimer(self)
        self._width_timer.setSingleShot(True)
        self._width_timer.setInterval(250)
        self._width_timer.timeout.connect(lambda: self.width_changed.emit(self.width_m()))

    def _width_typed(self, _v: float) -> None:
        self._width_timer.start()

    # -- values ------------------------------------------------------------------------------------
    def width_m(self) -> float:
        return self.width_spin.value() * 1e-9

    def set_width_m(self, width: float) -> None:
        with QSignalBlocker(self.width_spin):
            self.width_spin.setValue(width * 1e9)

    def set_profile(self, d: np.ndarray, y: np.ndarray, label: str, unit: str) -> None:
        """Show values ``y`` (``unit``) against distance ``d`` (m); cursors are kept when they still fit
        on the new distance range, else placed at 10-40 % and 60-90 % of it."""
        old = self._d
        self._d = np.asarray(d, dtype=float)
        self._y = np.asarray(y, dtype=float)
        self.curve.setData(self._d * 1e9, self._y, connect="finite")
        self.plot.setLabel("left", label, units=unit)
        self.empty.set_empty(not np.isfinite(self._y).any())
        if self._d.size:
            length = float(self._d[-1]) * 1e9
            same = old.size and np.isclose(old[-1], self._d[-1], rtol=0.02)
            for name, reg in self.cursors.items():
                reg.setBounds((0.0, length))
                lo, hi = reg.getRegion()
                if not (same and 0 <= lo < hi <= length):
                    f = (0.1, 0.4) if name == "A" else (0.6, 0.9)
                    with QSignalBlocker(reg):
                        reg.setRegion((f[0] * length, f[1] * length))
        self.plot.enableAutoRange()

    def profile(self) -> tuple[np.ndarray, np.ndarray]:
        return self._d, self._y

    def cursor_ranges(self) -> dict[str, tuple[float, float]]:
        """{"A": (lo, hi), "B": (lo, hi)} in metres along the profile."""
        return {n: tuple(v * 1e-9 for v in r.getRegion()) for n, r in self.cursors.items()}  # type: ignore[misc]

    def set_cursor_range(self, name: str, lo_m: float, hi_m: float) -> None:
        self.cursors[name].setRegion((lo_m * 1e9, hi_m * 1e9))

    def set_step_text(self, text: str) -> None:
        self.step_label.setText(text)

    def step_text(self) -> str:
        return self.step_label.text()

    # -- context menu ------------------------------------------------------------------------------
    def build_context_menu(self) -> QMenu:
        menu = QMenu(self)
        act = menu.addAction("Export profile (CSV)...")
        act.setEnabled(bool(self._d.size))
        act.triggered.connect(self.export_requested.emit)
        menu.addAction("Reset cursors").triggered.connect(self.reset_cursors)
        menu.addAction("Autoscale").triggered.connect(self.plot.enableAutoRange)
        self.menu = menu
        return menu

    def reset_cursors(self) -> None:
        if self._d.size:
            length = float(self._d[-1])
            self.set_cursor_range("A", 0.1 * length, 0.4 * length)
            self.set_cursor_range("B", 0.6 * length, 0.9 * length)
            self.cursors_changed.emit()


# -- the Level dialog -----------------------------------------------------------------------------------
METHODS = {
    "plane": "Polynomial plane",
    "line:median": "Lines: median",
    "line:median_diff": "Lines: median of differences",
    "line:poly": "Lines: polynomial",
    "terrace": "Terraces (plane with step offsets)",
    "scars": "Scar removal",
}


class LevelDialog(QDialog):
    """Choose a levelling; ``values()`` gives it, ``changed`` fires on every edit (for the preview).

    ``values()`` keys: ``channel``, ``method`` (a key of :data:`METHODS`), ``order``, ``exclude_regions``
    (bool), ``band`` ((lo, hi) metres or None), ``band_exclude`` (bool), ``threshold`` (sigmas).
    """

    changed = Signal()

    def __init__(
        self,
        dataset_label: str,
        channels: Sequence[str],
        channel: str | None = None,
        n_regions: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Level")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Dataset: <b>{dataset_label}</b>"))
        body = QHBoxLayout()
        lay.addLayout(body, 1)
        form = QFormLayout()
        body.addLayout(form)
        self.channel = QComboBox()
        self.channel.addItems(list(channels))
        if channel:
            self.channel.setCurrentText(channel)
        form.addRow("Channel", self.channel)
        self.method = QComboBox()
        for key, text in METHODS.items():
            self.method.addItem(text, key)
        form.addRow("Method", self.method)
        self.order = QSpinBox()
        self.order.setRange(0, 5)
        self.order.setValue(1)
        self.order.setToolTip("Polynomial order (0: offset, 1: plane, up to 5)")
        form.addRow("Order", self.order)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(1.0, 50.0)
        self.threshold.setValue(4.0)
        self.threshold.setSuffix(" σ")
        form.addRow("Scar threshold", self.threshold)
        self.exclude_regions = QCheckBox(f"Leave out the regions ({n_regions})")
        self.exclude_regions.setEnabled(n_regions > 0)
        form.addRow("Mask", self.exclude_regions)
        self.band_mode = QComboBox()
        self.band_mode.addItem("No height band", "")
        self.band_mode.addItem("Leave out heights in", "exclude")
        self.band_mode.addItem("Fit only heights in", "only")
        form.addRow("Height band", self.band_mode)
        band_row = QHBoxLayout()
        self.band_lo = self._nm_spin(0.0)
        self.band_hi = self._nm_spin(1.0)
        band_row.addWidget(self.band_lo)
        band_row.addWidget(QLabel("to"))
        band_row.addWidget(self.band_hi)
        form.addRow("", band_row)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        form.addRow(self.message)

        self.preview = pg.GraphicsLayoutWidget()
        self.preview.setMinimumSize(240, 240)
        self.preview_box = self.preview.addViewBox(lockAspect=True)
        self.preview_box.setMouseEnabled(False, False)
        self.preview_item = pg.ImageItem(axisOrder="row-major")
        self.preview_item.setLookupTable(colormap("cividis").getLookupTable(nPts=256))
        self.preview_box.addItem(self.preview_item)
        body.addWidget(self.preview, 1)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

        for w in (self.channel, self.method, self.band_mode):
            w.currentIndexChanged.connect(self._edited)
        for w in (self.order, self.threshold, self.band_lo, self.band_hi):
            w.valueChanged.connect(self._edited)
        self.exclude_regions.toggled.connect(self._edited)
        self._update_enabled()

    def _nm_spin(self, value: float) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(-1e6, 1e6)
        s.setDecimals(3)
        s.setSingleStep(0.05)
        s.setSuffix(" nm")
        s.setValue(value)
        return s

    def _update_enabled(self) -> None:
        m = str(self.method.currentData())
        self.order.setEnabled(m in ("plane", "line:poly", "terrace"))
        self.threshold.setEnabled(m == "scars")
        band = bool(self.band_mode.currentData())
        self.band_lo.setEnabled(band)
        self.band_hi.setEnabled(band)

    def _edited(self, *_: Any) -> None:
        self._update_enabled()
        self.changed.emit()

    def values(self) -> dict[str, Any]:
        mode = str(self.band_mode.currentData())
        band = (self.band_lo.value() * 1e-9, self.band_hi.value() * 1e-9) if mode else None
        return {
            "channel": self.channel.currentText(),
            "method": str(self.method.currentData()),
            "order": self.order.value(),
            "exclude_regions": self.exclude_regions.isChecked(),
            "band": band,
            "band_exclude": mode != "only",
            "threshold": self.threshold.value(),
        }

    def set_band_range(self, lo_m: float, hi_m: float) -> None:
        """Default band limits (metres), e.g. the channel's height range, without emitting."""
        for spin, v in ((self.band_lo, lo_m), (self.band_hi, hi_m)):
            with QSignalBlocker(spin):
                spin.setValue(v * 1e9)

    def set_preview(self, image: np.ndarray | None, message: str = "") -> None:
        """Show the levelled preview (ny, nx; row 0 at the bottom) or clear it; ``message`` explains."""
        self.message.setText(message)
        if image is None or not np.isfinite(image).any():
            self.preview_item.clear()
            return
        finite = image[np.isfinite(image)]
        lo, hi = np.percentile(finite, [1, 99])
        self.preview_item.setImage(image, levels=(float(lo), float(hi if hi > lo else lo + 1e-30)))
        self.preview_box.invertY(False)
        self.preview_box.autoRange(padding=0)

    def preview_image(self) -> np.ndarray | None:
        return self.preview_item.image


__all__ = ["CURSOR_COLOURS", "METHODS", "HeightProfilePanel", "LevelDialog"]
