"""Overlay of a series: every sweep on one plot, coloured by a tag value, with a colour bar.

Sweeps are drawn in measured order (non-monotonic x allowed: up/down and hysteretic sweeps draw as loops).
For speed the sweeps are grouped by colour: the tag range is cut into ``n_bins`` colour bins and each bin
is one curve item holding its sweeps joined by NaN gaps (``connect="finite"``), so 1,000 sweeps cost at
most ``n_bins`` items instead of 1,000. Hovering the plot highlights the sweep nearest the pointer (in
screen distance) and emits its index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.colormaps import colormap
from widgets.series.common import (
    MISSING_COLOR,
    SeriesViewBox,
    axis_label,
    bin_colours,
    colour_bins,
    dark_axis,
    export_menu,
    label_axis,
    nan_joined,
    setup_plot,
    tag_levels,
    view_to_viewport,
)

#: Hover picks a sweep only when one of its points is this close to the pointer (screen pixels).
HOVER_RADIUS_PX = 25.0
#: At most this many points are searched per hover event (an even stride through the series).
HOVER_MAX_POINTS = 300_000


class SeriesOverlay(QWidget):
    """Many sweeps on one plot, coloured by a tag through a colour map.

    ``set_curves(xs, ys, tags, ...)`` draws them; ``set_offset(step)`` shifts sweep i up by ``i * step``
    (the waterfall). Signals: ``hovered(int)`` the index of the sweep under the pointer (-1 when none is
    near), ``export_requested(str)`` "png" | "svg" | "csv" from the right-click menu.
    """

    hovered = Signal(int)
    export_requested = Signal(str)

    def __init__(self, cmap: str = "viridis", n_bins: int = 64, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.n_bins = n_bins
        self.cmap = colormap(cmap)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        lay.addWidget(self.graphics)
        self.view_box = SeriesViewBox(self._menu)
        self.plot = self.graphics.addPlot(row=0, col=0, viewBox=self.view_box)
        setup_plot(self.plot)
        self.color_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=self.cmap, interactive=False, width=16)
        self.color_bar.axis.setWidth(70)
        dark_axis(self.color_bar.axis)
        self.graphics.addItem(self.color_bar, row=0, col=1)
        self.items: list[pg.PlotCurveItem] = []
        self.highlight = pg.PlotCurveItem(pen=pg.mkPen((220, 20, 60), width=3), connect="finite")
        self.highlight.setZValue(100)
        self.plot.addItem(self.highlight)
        self.xs: list[np.ndarray] = []
        self.ys: list[np.ndarray] = []
        self.tags = np.zeros(0)
        self.tag_name = ""
        self.tag_unit = ""
        self.offset = 0.0
        self.hovered_index = -1
        self.bins = np.zeros(0, dtype=np.int64)
        self._flat = (np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)
        self.graphics.viewport().installEventFilter(self)  # leaving the plot clears the highlight

    # -- data --------------------------------------------------------------------------------------
    def set_curves(
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
        """Draw the series.

        xs, ys : one (n_i,) float array per sweep, in measured order, SI units ``x_unit`` / ``y_unit``;
            lengths may differ between sweeps; NaN points break a curve.
        tags : (n_sweeps,) float, the colouring tag in ``tag_unit`` (NaN: drawn grey).
        """
        if len(xs) != len(ys) or len(xs) != len(tags):
            raise ValueError(f"{len(xs)} x arrays, {len(ys)} y arrays and {len(tags)} tag values")
        self.xs = [np.asarray(x, dtype=np.float64) for x in xs]
        self.ys = [np.asarray(y, dtype=np.float64) for y in ys]
        for i, (x, y) in enumerate(zip(self.xs, self.ys)):
            if x.shape != y.shape:
                raise ValueError(f"sweep {i}: x has shape {x.shape}, y has {y.shape}")
        self.tags = np.asarray(tags, dtype=np.float64).reshape(-1)
        self.tag_name, self.tag_unit = tag_name, tag_unit
        axis_label(self.plot, "bottom", x_label, x_unit)
        axis_label(self.plot, "left", y_label, y_unit)
        levels = tag_levels(self.tags)
        self.color_bar.setLevels(values=levels)
        label_axis(self.color_bar.axis, tag_name, tag_unit)
        self.bins = colour_bins(self.tags, levels, self.n_bins)
        self._redraw()
        self.plot.getViewBox().autoRange()

    def set_offset(self, step: float) -> None:
        """Shift sweep i up by ``i * step`` (y units); 0 overlays them."""
        self.offset = float(step)
        if self.xs:
            self._redraw()
            self.plot.getViewBox().autoRange()

    def offsets(self) -> np.ndarray:
        """(n_sweeps,) float, the y shift of each sweep."""
        return np.arange(len(self.xs), dtype=np.float64) * self.offset

    def sweep_colour(self, i: int) -> tuple[int, int, int]:
        """RGB colour sweep ``i`` is drawn in."""
        b = int(self.bins[i])
        if b < 0:
            return MISSING_COLOR
        r, g, bl, _a = bin_colours(self.cmap, self.n_bins)[b]
        return int(r), int(g), int(bl)

    def _redraw(self) -> None:
        for item in self.items:
            self.plot.removeItem(item)
        self.items = []
        offsets = self.offsets() if self.offset else None
        colours = bin_colours(self.cmap, self.n_bins)
        for b in np.unique(self.bins):
            members = np.flatnonzero(self.bins == b)
            x, y = nan_joined(self.xs, self.ys, members, offsets)
            colour = MISSING_COLOR if b < 0 else tuple(int(c) for c in colours[b][:3])
            item = pg.PlotCurveItem(x, y, pen=pg.mkPen(colour, width=1), connect="finite", antialias=False)
            self.plot.addItem(item)
            self.items.append(item)
        # the flat point list searched by hover: every sweep's points with their sweep index
        n = len(self.xs)
        total = sum(x.shape[0] for x in self.xs)
        stride = max(1, total // HOVER_MAX_POINTS)
        fx = np.concatenate([x[::stride] for x in self.xs]) if n else np.zeros(0)
        ys = [y + (offsets[i] if offsets is not None else 0.0) for i, y in enumerate(self.ys)]
        fy = np.concatenate([y[::stride] for y in ys]) if n else np.zeros(0)
        fi = np.concatenate([np.full(x[::stride].shape[0], i) for i, x in enumerate(self.xs)]) if n else fx
        self._flat = (fx, fy, np.asarray(fi, dtype=np.int64))
        self._set_highlight(-1, emit=False)

    # -- hover -------------------------------------------------------------------------------------
    def nearest_sweep(self, x: float, y: float, radius_px: float = HOVER_RADIUS_PX) -> int:
        """Index of the sweep with a point nearest (x, y) on screen, or -1 when none is within
        ``radius_px`` pixels."""
        fx, fy, fi = self._flat
        if fx.size == 0:
            return -1
        px, py = self.view_box.viewPixelSize()
        # only points within the radius in x can be within it on screen: one cheap pass picks them
        near = np.flatnonzero(np.abs(fx - x) <= radius_px * px)
        if near.size == 0:
            return -1
        d2 = ((fx[near] - x) / px) ** 2 + ((fy[near] - y) / py) ** 2
        d2[~np.isfinite(d2)] = np.inf
        k = int(np.argmin(d2))
        return int(fi[near[k]]) if d2[k] <= radius_px**2 else -1

    def _mouse_moved(self, scene_pos) -> None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self._set_highlight(-1)
            return
        p = self.view_box.mapSceneToView(scene_pos)
        self._set_highlight(self.nearest_sweep(float(p.x()), float(p.y())))

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Leave and obj is self.graphics.viewport():
            self._set_highlight(-1)
        return super().eventFilter(obj, event)

    def _set_highlight(self, i: int, emit: bool = True) -> None:
        if i == self.hovered_index and emit:
            return
        self.hovered_index = i
        if i < 0:
            self.highlight.setData([], [])
        else:
            shift = self.offsets()[i] if self.offset else 0.0
            self.highlight.setData(self.xs[i], self.ys[i] + shift, connect="finite")
        if emit:
            self.hovered.emit(i)

    # -- helpers -----------------------------------------------------------------------------------
    def view_to_widget(self, x: float, y: float):
        """Position in ``self.graphics.viewport()`` coordinates of the data point (x, y)."""
        return view_to_viewport(self.plot, self.graphics, x, y)

    def _menu(self, x: float, y: float):
        return export_menu(self, self.view_box, self.export_requested.emit)
