"""Region-averaged spectra side by side, one plot per co-registered grid (QP left, Josephson right).

Each curve is a region's mean spectrum with a shaded standard-deviation band, named with its pixel count
in the legend. The controls choose the normalisation and the vertical offset; the panel emits the choice
(:attr:`RegionSpectraPanel.settings_changed`) and the application sends back normalised, offset curves
(:meth:`RegionSpectraPanel.set_curves`). The panel computes nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from analysis.maps.normalisation import MODE_TITLES, MODES


@dataclass(frozen=True)
class SpectraSettings:
    """Normalisation mode and parameters, offset step (in the plotted unit; ``auto_offset`` picks one).

    ``at`` is a bias in V; ``outer_fraction`` is the high-bias window as the outer fraction of each grid's
    own sweep (0.15: 85 %..100 % of max |V|), so grids with different ranges are treated alike.
    """

    mode: str = "high_bias"
    at: float = 0.0
    outer_fraction: float = 0.15
    offset: float = 0.0
    auto_offset: bool = True
    show_std: bool = True


@dataclass(frozen=True)
class RegionCurve:
    """One curve: ``x`` bias (V), ``y`` and ``std`` already normalised and offset; ``n`` pixels used."""

    region_id: str
    name: str
    colour: tuple[int, int, int]
    x: np.ndarray
    y: np.ndarray
    std: np.ndarray | None
    n: int
    n_invalid: int = 0


class _GridPlot(QWidget):
    def __init__(self, title: str) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Channel:"))
        self.channel_combo = QComboBox()
        self.channel_combo.setObjectName("region-spectra-channel")
        self.channel_combo.setToolTip("the channel averaged (default: the channel shown in the slicer)")
        self.channel_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.channel_combo.setMinimumContentsLength(12)
        row.addWidget(self.channel_combo)
        row.addStretch(1)
        lay.addLayout(row)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setTitle(title, color="k")
        self.plot.setLabel("bottom", "Bias", units="V")
        self.plot.setLabel("left", "dI/dV (normalised)")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        # an opaque-ish box: the labels stay readable where the legend covers curves
        self.legend = self.plot.addLegend(
            offset=(5, 5),
            labelTextColor="k",
            brush=pg.mkBrush(255, 255, 255, 215),
            pen=pg.mkPen(190, 190, 190),
            verSpacing=-4,
        )
        self.legend.setColumnCount(2)
        lay.addWidget(self.plot)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.bands: dict[str, pg.FillBetweenItem] = {}

    def set_title(self, title: str) -> None:
        self.plot.setTitle(title, color="k")

    def show_curves(self, curves: Sequence[RegionCurve], y_label: str, show_std: bool) -> None:
        self.plot.clear()
        self.legend.clear()
        self.curves.clear()
        self.bands.clear()
        self.plot.setLabel("left", y_label)
        for c in curves:
            pen = pg.mkPen(c.colour, width=2)  # drawn without antialiasing: wide antialiased pens are slow
            label = f"{c.name} (n={c.n})"
            if c.n_invalid:
                label += f", {c.n_invalid} invalid"
            item = self.plot.plot(c.x, c.y, pen=pen, name=label, antialias=False)
            self.curves[c.region_id] = item
            if show_std and c.std is not None and np.all(np.isfinite(c.std)):
                lo = pg.PlotDataItem(c.x, c.y - c.std, pen=None)
                hi = pg.PlotDataItem(c.x, c.y + c.std, pen=None)
                band = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(*c.colour, 50))
                self.plot.addItem(band)
                self.bands[c.region_id] = band
        self._leave_room_for_legend(curves)

    def _leave_room_for_legend(self, curves: Sequence[RegionCurve], headroom: float = 0.45) -> None:
        """Y range of the curves plus ``headroom`` of it above, where the legend sits over no curve."""
        ys = [np.asarray(c.y, dtype=float) for c in curves]
        ys = [y[np.isfinite(y)] for y in ys if np.isfinite(y).any()]
        if not ys:
            self.plot.enableAutoRange(axis="y")
            return
        lo = min(float(y.min()) for y in ys)
        hi = max(float(y.max()) for y in ys)
        span = hi - lo if hi > lo else abs(hi) or 1.0
        self.plot.setYRange(lo - 0.03 * span, hi + headroom * span, padding=0)


def grid_plot(title: str = "") -> _GridPlot:
    """The plot of one grid's region spectra (a channel choice above a plot titled ``title``)."""
    return _GridPlot(title)


class RegionSpectraPanel(QWidget):
    """Side-by-side region spectra with normalisation and offset controls."""

    settings_changed = Signal(object)  # SpectraSettings
    channel_chosen = Signal(str, str)  # grid key, channel: the user chose the channel averaged

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Normalise:"))
        self.mode_combo = QComboBox()
        self.mode_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.mode_combo.setMinimumContentsLength(14)
        for m in MODES:
            self.mode_combo.addItem(MODE_TITLES[m], m)
        controls.addWidget(self.mode_combo)
        self.at_spin = self._mv_spin("at ", -1e4, 1e4, 0.0)
        self.outer_spin = QDoubleSpinBox()
        self.outer_spin.setPrefix("outer ")
        self.outer_spin.setSuffix(" % of sweep")
        self.outer_spin.setDecimals(1)
        self.outer_spin.setRange(0.5, 100.0)
        self.outer_spin.setValue(15.0)
        for s in (self.at_spin, self.outer_spin):
            controls.addWidget(s)
        controls.addWidget(QLabel("Offset:"))
        self.offset_spin = QDoubleSpinBox()
        self.offset_spin.setDecimals(3)
        self.offset_spin.setRange(-1e4, 1e4)
        self.offset_spin.setSingleStep(0.1)
        controls.addWidget(self.offset_spin)
        self.auto_offset_check = QCheckBox("auto")
        self.auto_offset_check.setChecked(True)
        controls.addWidget(self.auto_offset_check)
        self.std_check = QCheckBox("std band")
        self.std_check.setChecked(True)
        controls.addWidget(self.std_check)
        controls.addStretch(1)
        outer.addLayout(controls)
        self.plots_row = QHBoxLayout()
        outer.addLayout(self.plots_row, 1)
        self.empty_label = QLabel("Draw or create regions to see their averaged spectra.")
        self.plots_row.addWidget(self.empty_label)
        self._plots: dict[str, _GridPlot] = {}
        #: builds a grid's plot given its title (the owner may hand out one built ahead, see grid_plot)
        self.make_plot: Callable[[str], _GridPlot] = grid_plot
        self._order: list[str] = []

        self.mode_combo.setCurrentIndex(MODES.index("high_bias"))
        self.mode_combo.currentIndexChanged.connect(self._emit)
        for s in (self.at_spin, self.outer_spin, self.offset_spin):
            s.valueChanged.connect(self._emit)
        self.auto_offset_check.toggled.connect(self._emit)
        self.std_check.toggled.connect(self._emit)
        self._sync_enabled()

    @staticmethod
    def _mv_spin(prefix: str, lo: float, hi: float, value: float) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setPrefix(prefix)
        s.setSuffix(" mV")
        s.setDecimals(3)
        s.setRange(lo, hi)
        s.setSingleStep(0.1)
        s.setValue(value)
        return s

    # -- settings ---------------------------------------------------------------------------------
    def settings(self) -> SpectraSettings:
        return SpectraSettings(
            mode=str(self.mode_combo.currentData()),
            at=self.at_spin.value() * 1e-3,
            outer_fraction=self.outer_spin.value() / 100.0,
            offset=self.offset_spin.value(),
            auto_offset=self.auto_offset_check.isChecked(),
            show_std=self.std_check.isChecked(),
        )

    def set_settings(self, s: SpectraSettings) -> None:
        """Show these settings (no signal)."""
        widgets = (
            self.mode_combo,
            self.at_spin,
            self.outer_spin,
            self.offset_spin,
            self.auto_offset_check,
            self.std_check,
        )
        blockers = [QSignalBlocker(w) for w in widgets]
        self.mode_combo.setCurrentIndex(MODES.index(s.mode))
        self.at_spin.setValue(s.at * 1e3)
        self.outer_spin.setValue(s.outer_fraction * 100.0)
        self.offset_spin.setValue(s.offset)
        self.auto_offset_check.setChecked(s.auto_offset)
        self.std_check.setChecked(s.show_std)
        del blockers
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        mode = self.mode_combo.currentData()
        self.at_spin.setEnabled(mode == "at_bias")
        self.outer_spin.setEnabled(mode == "high_bias")
        # only the parameter of the chosen mode is shown: the row stays short in a narrow dock
        self.at_spin.setVisible(mode == "at_bias")
        self.outer_spin.setVisible(mode == "high_bias")
        self.offset_spin.setEnabled(not self.auto_offset_check.isChecked())

    def _emit(self, *args) -> None:
        self._sync_enabled()
        self.settings_changed.emit(self.settings())

    def set_offset_value(self, value: float) -> None:
        """Show the offset the application chose in auto mode (no signal)."""
        with QSignalBlocker(self.offset_spin):
            self.offset_spin.setValue(value)

    # -- plots ------------------------------------------------------------------------------------
    def set_grids(self, grids: Sequence[tuple[str, str]]) -> None:
        """One plot per grid: (key, title) in left-to-right order."""
        keys = [k for k, _ in grids]
        if keys == self._order and all(self._plots[k].plot.plotItem.titleLabel.text == t for k, t in grids):
            return
        for p in self._plots.values():
            self.plots_row.removeWidget(p)
            p.deleteLater()
        self._plots.clear()
        self._order = keys
        self.empty_label.setVisible(not grids)
        for key, title in grids:
            p = self.make_plot(title)
            p.channel_combo.activated.connect(
                lambda i, k=key, c=p.channel_combo: self.channel_chosen.emit(k, str(c.itemData(i)))
            )
            self._plots[key] = p
            self.plots_row.addWidget(p, 1)

    def set_channels(self, grid_key: str, channels: Sequence[tuple[str, str]], current: str) -> None:
        """The channels of grid ``grid_key`` as (name, label), ``current`` selected (no signal)."""
        plot = self._plots.get(grid_key)
        if plot is None:
            return
        combo = plot.channel_combo
        with QSignalBlocker(combo):
            combo.clear()
            for name, label in channels:
                combo.addItem(label, name)
            idx = combo.findData(current)
            combo.setCurrentIndex(idx if idx >= 0 else (0 if channels else -1))

    def channel_combo(self, grid_key: str) -> QComboBox | None:
        p = self._plots.get(grid_key)
        return p.channel_combo if p else None

    def current_channel(self, grid_key: str) -> str | None:
        combo = self.channel_combo(grid_key)
        if combo is None or combo.currentIndex() < 0:
            return None
        return str(combo.currentData())

    def grid_keys(self) -> list[str]:
        return list(self._order)

    def set_curves(self, grid_key: str, curves: Sequence[RegionCurve], y_label: str = "") -> None:
        plot = self._plots.get(grid_key)
        if plot is None:
            return
        plot.show_curves(curves, y_label, self.std_check.isChecked())

    def plot_widget(self, grid_key: str) -> pg.PlotWidget | None:
        p = self._plots.get(grid_key)
        return p.plot if p else None

    def curve_data(self, grid_key: str, region_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(x, y) of a plotted curve, as drawn."""
        p = self._plots.get(grid_key)
        if p is None or region_id not in p.curves:
            return None
        x, y = p.curves[region_id].getData()
        return np.asarray(x), np.asarray(y)

    def legend_labels(self, grid_key: str) -> list[str]:
        p = self._plots.get(grid_key)
        if p is None:
            return []
        return [label.text for _, label in p.legend.items]

    def has_std_band(self, grid_key: str, region_id: str) -> bool:
        p = self._plots.get(grid_key)
        return p is not None and region_id in p.bands
