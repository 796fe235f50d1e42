"""Conductance-map slicer: one channel of a grid at the current sweep point, with bias controls.

The panel shows what it is given (``show_slice``) and turns gestures into requests (``index_requested``,
``channel_selected``, ``window_changed``, ``level_mode_selected``); slicing itself happens elsewhere.
Keyboard: Left/Right (or Down/Up) step one point, Page Up/Page Down a page, Home/End jump to the ends.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

from widgets.colormaps import COLORMAPS
from widgets.map_view import MapView

_LEVEL_ITEMS = (
    ("percentile", "1-99 % of this map"),
    ("global", "Fixed over all biases"),
    ("manual", "Manual (drag histogram)"),
)

# Display scale for sweep units: (factor, unit shown)
_SWEEP_DISPLAY = {"V": (1e3, "mV"), "m": (1e9, "nm"), "A": (1e9, "nA")}


def sweep_decimals(step: float) -> int:
    """Decimals that tell neighbouring sweep points ``step`` apart (display units), between 1 and 6."""
    step = abs(float(step))
    if not np.isfinite(step) or step == 0:
        return 2
    return max(1, min(6, int(np.ceil(-np.log10(step))) + 1))


def snap_zero(value: float, step: float) -> float:
    """``value``, or 0 when it lies within half a ``step`` of zero: a sweep of an even number of points
    has no point at 0 and its middle points read like -0.00784 mV."""
    return 0.0 if abs(value) <= abs(step) / 2 * (1 + 1e-9) else float(value)


def format_sweep(value: float, step: float, snap: bool = True) -> str:
    """Sweep value in display units at the sweep's resolution, trailing zeros dropped: "-5", "0", "1.25".
    With ``snap`` a value within half a step of zero reads "0" (pass it only for the one point nearest
    zero, so two neighbours never read alike)."""
    text = f"{(snap_zero(value, step) if snap else float(value)):.{sweep_decimals(step)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def zero_index(sweep: np.ndarray, step: float) -> int | None:
    """Index of the sweep point shown as zero: the one nearest 0 (the first of two equally near), when it
    lies within half a ``step`` of 0; None otherwise."""
    sweep = np.asarray(sweep, dtype=float)
    if sweep.size == 0 or not np.isfinite(step) or step <= 0:
        return None
    k = int(np.argmin(np.abs(sweep)))
    return k if snap_zero(float(sweep[k]), step) == 0.0 else None


class _SweepSpinBox(QDoubleSpinBox):
    """Spin box that shows the sweep point nearest zero (``zero_value``, display units) as 0."""

    zero_value: float | None = None

    def textFromValue(self, value: float) -> str:
        z = self.zero_value
        if z is not None and abs(value - z) <= 0.5 * 10.0 ** -self.decimals():
            value = 0.0  # the spin box holds the value rounded to its decimals
        return super().textFromValue(value)


class SlicerPanel(MapView):
    """Map of a grid channel at one sweep point. ``index()`` is the requested point; ``shown_index`` the
    one on display (they differ while a newer request is being computed)."""

    index_requested = Signal(int)
    channel_selected = Signal(str)
    window_changed = Signal(int)  # half width of the averaging window, in sweep points
    level_mode_selected = Signal(str)

    def __init__(self, title: str = "Slicer", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.empty.set_empty(True, "Slicing the grid...")
        self._sweep = np.zeros(0)
        self._sweep_label = "Bias"
        self._scale, self._disp_unit = 1e3, "mV"
        self._index = 0
        self._step = 0.0
        self._zero: int | None = None
        self.shown_index: int | None = None
        self.render_count = 0
        self._name = title

        row1 = self.controls
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("Channel shown in the map")
        self.channel_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.channel_combo.setMinimumContentsLength(6)
        self.channel_combo.currentTextChanged.connect(self._channel_changed)
        row1.addWidget(self.channel_combo)
        self.bias_spin = _SweepSpinBox()
        self.bias_spin.setKeyboardTracking(False)
        self.bias_spin.setToolTip("Sweep value of the map")
        self.bias_spin.setMinimumWidth(90)
        self.bias_spin.valueChanged.connect(self._spin_changed)
        row1.addWidget(self.bias_spin)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Sweep point (arrows, Page Up/Down, Home/End)")
        self.slider.setMinimumWidth(60)
        self.slider.valueChanged.connect(self._slider_changed)
        row1.addWidget(self.slider, 1)
        row1.addWidget(QLabel("avg ±"))
        self.window_spin = QSpinBox()
        self.window_spin.setRange(0, 50)
        self.window_spin.setSuffix(" pt")
        self.window_spin.setToolTip("Average the map over this many sweep points on each side")
        self.window_spin.valueChanged.connect(self.window_changed)
        row1.addWidget(self.window_spin)

        row2 = QHBoxLayout()
        row2.setContentsMargins(0, 0, 0, 0)
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(list(COLORMAPS))
        self.colormap_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.colormap_combo.setMinimumContentsLength(8)
        self.colormap_combo.currentTextChanged.connect(self.set_colormap)
        row2.addWidget(self.colormap_combo)
        self.level_combo = QComboBox()
        self.level_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.level_combo.setMinimumContentsLength(16)
        self.level_combo.setToolTip("Colour levels")
        row2.addWidget(QLabel("Levels"))
        for mode, text in _LEVEL_ITEMS:
            self.level_combo.addItem(text, mode)
        self.level_combo.currentIndexChanged.connect(self._level_combo_changed)
        row2.addWidget(self.level_combo)
        row2.addStretch(1)
        self.layout().insertLayout(1, row2)
        self.level_mode_changed.connect(self._sync_level_combo)
        self._hist_timer.timeout.connect(self._update_title)

        # stepping keys move the controls at once and ask for the map in the next event-loop turn: key
        # repeats that arrive together (a held key while a map is being drawn) ask once, for the last point
        self._step_timer = QTimer(self)
        self._step_timer.setSingleShot(True)
        self._step_timer.setInterval(0)
        self._step_timer.timeout.connect(lambda: self.index_requested.emit(self._index))

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.graphics.installEventFilter(self)
        self.slider.installEventFilter(self)

    # -- configuration ------------------------------------------------------------------------------
    def set_channels(self, names: Sequence[str], current: str | None = None) -> None:
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        self.channel_combo.addItems(list(names))
        if current is not None:
            self.channel_combo.setCurrentText(current)
        self.channel_combo.blockSignals(False)

    def set_sweep(self, values: np.ndarray, unit: str = "V", label: str = "Bias") -> None:
        """The sweep axis (ascending, SI units) the slider walks through."""
        self._sweep = np.asarray(values, dtype=float)
        self._sweep_label = label
        self._scale, self._disp_unit = _SWEEP_DISPLAY.get(unit, (1.0, unit))
        n = len(self._sweep)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(n - 1, 0))
        self.slider.setPageStep(max(1, n // 20))
        self.slider.blockSignals(False)
        disp = self._sweep * self._scale
        self.bias_spin.blockSignals(True)
        if n:
            self.bias_spin.setRange(float(disp.min()), float(disp.max()))
            step = float(np.median(np.diff(disp))) if n > 1 else 1.0
            self._step = abs(step)
            self.bias_spin.setSingleStep(abs(step))
            self.bias_spin.setDecimals(sweep_decimals(step))
            self._zero = zero_index(disp, abs(step))
            self.bias_spin.zero_value = None if self._zero is None else float(disp[self._zero])
        self.bias_spin.setSuffix(f" {self._disp_unit}")
        self.bias_spin.blockSignals(False)

    def set_dataset_name(self, name: str) -> None:
        self._name = name
        self._update_title()

    def sweep_count(self) -> int:
        return len(self._sweep)

    def page_step(self) -> int:
        return self.slider.pageStep()

    # -- index --------------------------------------------------------------------------------------
    def index(self) -> int:
        return self._index

    def set_index(self, index: int) -> None:
        """Move the controls to ``index`` without emitting a request."""
        n = len(self._sweep)
        if n == 0:
            return
        index = int(np.clip(index, 0, n - 1))
        self._index = index
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.bias_spin.blockSignals(True)
        self.bias_spin.setValue(float(self._sweep[index] * self._scale))
        self.bias_spin.blockSignals(False)

    def request_index(self, index: int) -> None:
        """Move to ``index`` (clipped) and emit ``index_requested``."""
        n = len(self._sweep)
        if n == 0:
            return
        index = int(np.clip(index, 0, n - 1))
        self.set_index(index)
        self.index_requested.emit(index)

    def sweep_value(self, index: int | None = None) -> float:
        i = self._index if index is None else index
        return float(self._sweep[i]) if len(self._sweep) else float("nan")

    def sweep_text(self, index: int | None = None) -> str:
        """The sweep value of ``index`` (default: the requested one) as displayed, e.g. "-5 mV", "0 mV"."""
        i = self._index if index is None else index
        if not len(self._sweep):
            return ""
        text = format_sweep(self._sweep[i] * self._scale, self._step, snap=i == self._zero)
        return f"{text} {self._disp_unit}"

    def _slider_changed(self, value: int) -> None:
        self.request_index(value)

    def _spin_changed(self, value: float) -> None:
        if len(self._sweep):
            self.request_index(int(np.argmin(np.abs(self._sweep * self._scale - value))))

    def _channel_changed(self, name: str) -> None:
        if name:
            self.channel_selected.emit(name)

    def current_channel(self) -> str:
        return self.channel_combo.currentText()

    # -- display ------------------------------------------------------------------------------------
    def show_slice(self, image: np.ndarray, index: int, levels: tuple[float, float] | None = None) -> None:
        """Display the map computed for sweep point ``index``."""
        self.set_image(image, levels)
        self.shown_index = index
        self.render_count += 1
        # the title (a text layout) follows once the slider settles, with the histogram
        self._hist_timer.start()

    def _update_title(self) -> None:
        parts = []
        if self.current_channel():
            parts.append(self.current_channel())
        if self.shown_index is not None and len(self._sweep):
            parts.append(f"{self._sweep_label} {self.sweep_text(self.shown_index)}")
            if self.window_spin.value():
                parts[-1] += f" (±{self.window_spin.value()} pt)"
        self.plot_item.setTitle("  ·  ".join(parts), size="10pt")

    def _level_combo_changed(self, _i: int) -> None:
        mode = self.level_combo.currentData()
        if mode == "global":
            self.level_mode_selected.emit(mode)  # the owner answers with set_level_mode("global", levels)
        else:
            self.set_level_mode(mode)
            self.level_mode_selected.emit(mode)

    def _sync_level_combo(self, mode: str) -> None:
        i = self.level_combo.findData(mode)
        if i >= 0 and i != self.level_combo.currentIndex():
            self.level_combo.blockSignals(True)
            self.level_combo.setCurrentIndex(i)
            self.level_combo.blockSignals(False)

    # -- keyboard -----------------------------------------------------------------------------------
    def step_key(self, key: int) -> bool:
        """Handle a stepping key; True when it was one. The controls move now; ``index_requested`` follows
        in the next event-loop turn, once for all the steps taken until then."""
        n = len(self._sweep)
        i = self._index
        page = self.page_step()
        moves = {
            Qt.Key.Key_Left: i - 1,
            Qt.Key.Key_Down: i - 1,
            Qt.Key.Key_Right: i + 1,
            Qt.Key.Key_Up: i + 1,
            Qt.Key.Key_PageUp: i + page,
            Qt.Key.Key_PageDown: i - page,
            Qt.Key.Key_Home: 0,
            Qt.Key.Key_End: n - 1,
        }
        if key not in moves or n == 0:
            return False
        self.set_index(moves[Qt.Key(key)])
        self._step_timer.start()
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.step_key(event.key()):
            super().keyPressEvent(event)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and self.step_key(event.key()):
            return True
        return super().eventFilter(obj, event)
