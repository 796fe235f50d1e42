"""Scatter of two maps pixel by pixel, coloured by region, with Pearson and Spearman coefficients.

The application gives the map choices and, after computing the correlation, the points
(:meth:`CorrelationPanel.set_points`) and coefficient text. Brushing: with "Brush" on, drag a rectangle
or a lasso in the scatter; the flat pixel indices of the enclosed points are emitted
(:attr:`CorrelationPanel.selection_changed`) so the application can highlight them on the maps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from analysis.maps.regions import Geometry, geometry_contains
from widgets.empty_state import EmptyState
from widgets.region_drawing import RegionDrawer

MAX_DRAWN_POINTS = 60000
_UNLABELLED = (150, 150, 150)


class CorrelationPanel(QWidget):
    """Pixel-by-pixel scatter of map A (x) against map B (y), coloured by region label."""

    maps_changed = Signal(str, str)  # keys of map A and map B
    selection_changed = Signal(object)  # (k,) int64 flat pixel indices (empty: none)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        row.addWidget(QLabel("x:"))
        self.combo_a = QComboBox()
        row.addWidget(self.combo_a, 1)
        row.addWidget(QLabel("y:"))
        self.combo_b = QComboBox()
        row.addWidget(self.combo_b, 1)
        self.update_button = QPushButton("Update")
        row.addWidget(self.update_button)
        outer.addLayout(row)
        brush_row = QHBoxLayout()
        self.brush_rect = QToolButton()
        self.brush_rect.setText("Brush: rectangle")
        self.brush_rect.setCheckable(True)
        self.brush_lasso = QToolButton()
        self.brush_lasso.setText("Brush: lasso")
        self.brush_lasso.setCheckable(True)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear selection")
        for b in (self.brush_rect, self.brush_lasso, self.clear_button):
            brush_row.addWidget(b)
        brush_row.addStretch(1)
        outer.addLayout(brush_row)
        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(5, 5), labelTextColor="k")
        self.empty = EmptyState(self.plot, "The scatter of one map against the other appears here.")
        outer.addWidget(self.empty, 1)
        self.stats_label = QLabel("Choose two maps (x, y) and press Update.")
        self.stats_label.setWordWrap(True)
        outer.addWidget(self.stats_label)

        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._pixels = np.zeros(0, dtype=np.int64)
        self._selected = np.zeros(0, dtype=np.int64)
        self._items: list[pg.ScatterPlotItem] = []
        self._sel_item = pg.ScatterPlotItem(
            size=7, symbol="o", pen=pg.mkPen((255, 0, 255), width=1.5), brush=None
        )
        self._sel_item.setZValue(10)
        self.plot.addItem(self._sel_item)
        self.drawer = RegionDrawer(self.plot.getViewBox())
        self.drawer.drawn.connect(self._brushed)
        self.drawer.tool_changed.connect(self._tool_changed)

        self.update_button.clicked.connect(self._emit_maps)
        self.combo_a.currentIndexChanged.connect(self._emit_maps)
        self.combo_b.currentIndexChanged.connect(self._emit_maps)
        self.brush_rect.toggled.connect(lambda on: self._brush_toggled("rectangle", on))
        self.brush_lasso.toggled.connect(lambda on: self._brush_toggled("lasso", on))
        self.clear_button.clicked.connect(lambda: self.select_pixels(np.zeros(0, dtype=np.int64)))

    # -- map choice -------------------------------------------------------------------------------
    def set_map_choices(
        self, choices: Sequence[tuple[str, str]], a: str | None = None, b: str | None = None
    ) -> None:
        """(key, label) per map; ``a`` and ``b`` preselect (no signal)."""
        for combo, want in ((self.combo_a, a), (self.combo_b, b)):
            with QSignalBlocker(combo):
                old = combo.currentData()
                combo.clear()
                for key, label in choices:
                    combo.addItem(label, key)
                    combo.setItemData(combo.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
                target = want if want is not None else old
                i = combo.findData(target) if target is not None else -1
                if i >= 0:
                    combo.setCurrentIndex(i)

    def current_maps(self) -> tuple[str, str]:
        return str(self.combo_a.currentData() or ""), str(self.combo_b.currentData() or "")

    def _emit_maps(self, *args) -> None:
        a, b = self.current_maps()
        if a and b:
            self.maps_changed.emit(a, b)

    # -- data -------------------------------------------------------------------------------------
    def set_points(
        self,
        x: np.ndarray,
        y: np.ndarray,
        pixels: np.ndarray,
        labels: np.ndarray | None,
        groups: Mapping[int, tuple[str, tuple[int, int, int]]],
        x_label: str = "",
        y_label: str = "",
        x_unit: str = "",
        y_unit: str = "",
        stats_text: str = "",
    ) -> None:
        """Show the points; ``labels`` (n,) index into ``groups`` {label: (name, rgb)}; -1 = no region."""
        self._x = np.asarray(x, dtype=np.float64)
        self._y = np.asarray(y, dtype=np.float64)
        self._pixels = np.asarray(pixels, dtype=np.int64)
        for it in self._items:
            self.plot.removeItem(it)
        self._items = []
        self.legend.clear()
        n = self._x.size
        shown = np.arange(n)
        if n > MAX_DRAWN_POINTS:  # draw a fixed subsample; brushing still uses every point
            shown = np.random.default_rng(0).choice(n, MAX_DRAWN_POINTS, replace=False)
            shown.sort()
        lab = np.full(n, -1, dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
        for value in sorted(set(np.unique(lab[shown]).tolist())):
            sel = shown[lab[shown] == value]
            name, colour = groups.get(int(value), ("no region", _UNLABELLED))
            item = pg.ScatterPlotItem(
                self._x[sel], self._y[sel], size=4, pen=None, brush=pg.mkBrush(*colour, 170), name=name
            )
            self.plot.addItem(item)  # named items join the legend by themselves
            self._items.append(item)
        self.plot.setLabel("bottom", _elide(x_label), units=x_unit)
        self.plot.setLabel("left", _elide(y_label), units=y_unit)
        self.stats_label.setText(stats_text)
        self.empty.set_empty(n == 0, "No pixel has a value in both maps.")
        self.select_pixels(np.intersect1d(self._selected, self._pixels), emit=False)

    def point_count(self) -> int:
        return int(self._x.size)

    def group_counts(self) -> dict[str, int]:
        """Points drawn per legend entry."""
        return {it.name(): len(it.data) for it in self._items}

    # -- brushing ---------------------------------------------------------------------------------
    def _brush_toggled(self, tool: str, on: bool) -> None:
        other = self.brush_lasso if tool == "rectangle" else self.brush_rect
        if on:
            with QSignalBlocker(other):
                other.setChecked(False)
            self.drawer.set_tool(tool)
        elif self.drawer.tool() == tool:
            self.drawer.set_tool("")

    def _tool_changed(self, tool: str) -> None:
        for b, t in ((self.brush_rect, "rectangle"), (self.brush_lasso, "lasso")):
            with QSignalBlocker(b):
                b.setChecked(tool == t)

    def _brushed(self, geometry: Geometry) -> None:
        self.brush(geometry)

    def brush(self, geometry: Geometry) -> np.ndarray:
        """Select the points inside ``geometry`` (scatter coordinates); emit and return their pixels."""
        inside = geometry_contains(geometry, self._x, self._y) if self._x.size else np.zeros(0, bool)
        pixels = self._pixels[inside]
        self.select_pixels(pixels)
        return pixels

    def select_pixels(self, pixels: np.ndarray, emit: bool = True) -> None:
        pixels = np.asarray(pixels, dtype=np.int64)
        self._selected = pixels
        if pixels.size:
            sel = np.isin(self._pixels, pixels)
            self._sel_item.setData(self._x[sel], self._y[sel])
        else:
            self._sel_item.setData([], [])
        if emit:
            self.selection_changed.emit(pixels)

    def selected_pixels(self) -> np.ndarray:
        return self._selected.copy()


def _elide(text: str, limit: int = 48) -> str:
    """Shorten an axis label in the middle so that the start (view) and the end (quantity) stay readable."""
    if len(text) <= limit:
        return text
    keep = (limit - 1) // 2
    return f"{text[:keep]}\u2026{text[-keep:]}"
