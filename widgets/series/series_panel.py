"""The transport dock panel: the series views as tabs (Overlay, Waterfall, 2D map, Results) under a
toolbar row with the x and y quantity choosers, the tag chooser and export buttons.

The panel shows what it is given and emits what the user asks for: choosing a quantity emits
``quantity_changed("x" | "y", channel)``, choosing a tag emits ``tag_changed(tag)``, an export button or a
view's right-click Export entry emits ``export_requested(kind, view)``. The owner computes the arrays
(curves of the chosen quantities, the map on regular grids, the results) and calls the setters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from widgets.series.map2d import SeriesMap
from widgets.series.markers import Ladder
from widgets.series.overlay import SeriesOverlay
from widgets.series.result_plot import Result, ResultPlot
from widgets.series.waterfall import SeriesWaterfall

#: The tabs: (view key, tab title).
VIEWS = (("overlay", "Overlay"), ("waterfall", "Waterfall"), ("map", "2D map"), ("results", "Results"))


def _combo() -> QComboBox:
    combo = QComboBox()
    # narrow in a narrow dock: the popup still lists the full "name (unit)" texts
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(7)
    return combo


def _fill(combo: QComboBox, items: Sequence[tuple[str, str]], current: str | None) -> None:
    combo.blockSignals(True)
    combo.clear()
    for name, unit in items:
        combo.addItem(f"{name} ({unit})" if unit else name, name)
    idx = combo.findData(current) if current is not None else -1
    combo.setCurrentIndex(idx if idx >= 0 else (0 if combo.count() else -1))
    combo.blockSignals(False)


class SeriesPanel(QWidget):
    """The series views in tabs with their choosers.

    Signals
    -------
    quantity_changed(str, str) : axis "x" or "y", and the channel chosen for it.
    tag_changed(str) : the tag chosen for colouring and for the 2D map's vertical axis.
    export_requested(str, str) : kind "png" | "svg" | "csv", and the view key (see :data:`VIEWS`).
    hovered(int) : the sweep under the pointer in the overlay or the waterfall (-1: none).
    cut_changed(float, float) : the 2D map's crosshair (x, tag), in their units.
    offset_changed(float) : the waterfall offset per sweep, in y units.
    ladder_changed(str, float) : a ladder's name and its parameter (a or step, x units) after a drag.
    """

    quantity_changed = Signal(str, str)
    tag_changed = Signal(str)
    export_requested = Signal(str, str)
    hovered = Signal(int)
    cut_changed = Signal(float, float)
    offset_changed = Signal(float)
    ladder_changed = Signal(str, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        bar = QHBoxLayout()
        self.x_combo = _combo()
        self.y_combo = _combo()
        self.tag_combo = _combo()
        for text, combo, tip in (
            ("x:", self.x_combo, "Quantity on the horizontal axis"),
            ("y:", self.y_combo, "Quantity on the vertical axis (the colour of the 2D map)"),
            ("Tag:", self.tag_combo, "Tag that colours the curves and orders the 2D map"),
        ):
            label = QLabel(text)
            label.setBuddy(combo)
            combo.setToolTip(tip)
            bar.addWidget(label)
            bar.addWidget(combo)
        bar.addStretch(1)
        self.export_buttons: dict[str, QPushButton] = {}
        for kind in ("png", "svg", "csv"):
            button = QPushButton(kind.upper())
            button.setToolTip(f"Export the view shown as {kind.upper()}")
            button.setMaximumWidth(button.fontMetrics().horizontalAdvance("SVG") + 24)
            button.clicked.connect(lambda _=False, k=kind: self.export_requested.emit(k, self.current_view()))
            bar.addWidget(button)
            self.export_buttons[kind] = button
        lay.addLayout(bar)
        self.tabs = QTabWidget()
        lay.addWidget(self.tabs, 1)
        self.overlay = SeriesOverlay()
        self.waterfall = SeriesWaterfall()
        self.map = SeriesMap()
        self.results = ResultPlot()
        self.views = {
            "overlay": self.overlay,
            "waterfall": self.waterfall,
            "map": self.map,
            "results": self.results,
        }
        for key, title in VIEWS:
            view = self.views[key]
            self.tabs.addTab(view, title)
            view.export_requested.connect(lambda kind, k=key: self.export_requested.emit(kind, k))
        self.overlay.hovered.connect(self.hovered)
        self.waterfall.hovered.connect(self.hovered)
        self.waterfall.offset_changed.connect(self.offset_changed)
        self.map.cut_changed.connect(self.cut_changed)
        self.ladders: dict[str, Ladder] = {}
        self.x_combo.currentIndexChanged.connect(lambda _i: self._chosen("x", self.x_combo))
        self.y_combo.currentIndexChanged.connect(lambda _i: self._chosen("y", self.y_combo))
        self.tag_combo.currentIndexChanged.connect(
            lambda _i: self.tag_combo.currentData() and self.tag_changed.emit(self.tag_combo.currentData())
        )

    # -- setters -----------------------------------------------------------------------------------
    def set_quantities(self, channels: Sequence[tuple[str, str]], x: str | None = None, y: str | None = None):
        """The channels offered on both axes, as (name, unit) pairs, and the ones chosen (no signal)."""
        _fill(self.x_combo, channels, x)
        _fill(self.y_combo, channels, y)

    def set_tags(self, tags: Sequence[tuple[str, str]], current: str | None = None) -> None:
        """The tags offered, as (name, unit) pairs, and the one chosen (no signal)."""
        _fill(self.tag_combo, tags, current)

    def set_series_curves(
        self,
        xs: Sequence[np.ndarray],
        ys: Sequence[np.ndarray],
        tags: np.ndarray | Sequence[float],
        tag_name: str = "",
        tag_unit: str = "",
        x_label: str = "",
        x_unit: str = "",
        y_label: str = "",
        y_unit: str = "",
    ) -> None:
        """The curves of the overlay and the waterfall: xs, ys one (n_i,) float array per sweep in
        measured order (SI units ``x_unit`` / ``y_unit``), tags (n_sweeps,) float in ``tag_unit``."""
        self.overlay.set_curves(xs, ys, tags, tag_name, tag_unit, x_label, x_unit, y_label, y_unit)
        self.waterfall.set_curves(xs, ys, tags, tag_name, tag_unit, x_label, x_unit, y_label, y_unit)

    def set_map(
        self,
        z: np.ndarray,
        x: np.ndarray,
        tags: np.ndarray,
        x_label: str = "",
        x_unit: str = "",
        tag_name: str = "",
        tag_unit: str = "",
        z_label: str = "",
        z_unit: str = "",
        levels: tuple[float, float] | None = None,
    ) -> None:
        """The 2D map: z (n_tags, n_x) on the evenly spaced x (n_x,) and tags (n_tags,); see
        :meth:`SeriesMap.set_map`."""
        self.map.set_map(z, x, tags, x_label, x_unit, tag_name, tag_unit, z_label, z_unit, levels)

    def set_results(self, results: Sequence[Result], tag_name: str = "", tag_unit: str = "") -> None:
        """The results against the tag (see :class:`widgets.series.result_plot.Result`)."""
        self.results.set_results(results, tag_name, tag_unit)

    def add_ladder(
        self, view: str, name: str, kind: str, parameter: float, n_rungs: int = 5, symmetric: bool = True
    ) -> Ladder:
        """Put a draggable ladder of vertical lines on the plot of ``view`` ("overlay", "waterfall", "map"):
        kind "inverse" (rungs at parameter/n, e.g. 2Delta/n) or "multiple" (n*parameter, e.g. n*h*f/2e),
        parameter > 0 in x units. A ladder of the same name is replaced. Dragging a rung emits
        ``ladder_changed(name, parameter)``."""
        self.remove_ladder(name)
        plot = self.views[view].plot
        ladder = Ladder(plot, kind, parameter, n_rungs, symmetric, name=name)
        ladder.parameter_changed.connect(lambda value, n=name: self.ladder_changed.emit(n, value))
        self.ladders[name] = ladder
        return ladder

    def remove_ladder(self, name: str) -> None:
        """Take the ladder ``name`` off its plot (nothing when there is none)."""
        ladder = self.ladders.pop(name, None)
        if ladder is not None:
            ladder.remove()

    def current_view(self) -> str:
        """Key of the tab shown: "overlay", "waterfall", "map" or "results"."""
        return VIEWS[max(self.tabs.currentIndex(), 0)][0]

    def show_view(self, key: str) -> None:
        """Bring the tab ``key`` to the front."""
        self.tabs.setCurrentIndex([k for k, _t in VIEWS].index(key))

    def _chosen(self, axis: str, combo: QComboBox) -> None:
        name = combo.currentData()
        if name:
            self.quantity_changed.emit(axis, name)
