"""2D colour map of a quantity against x and a tag (dV/dI against V and H; the Shapiro fan of dV/dI against
I and P_rf), with a linked crosshair and the cuts through it in two side plots.

The map arrives ready on regular grids: ``z`` (n_tags, n_x) with row j at tag ``tags[j]`` and column k at
``x[k]``; both axes evenly spaced (the caller resamples). The image is placed in physical units through its
rect, so the axes read x and the tag. The crosshair is a vertical and a horizontal line: drag either, or
click the map to move both. The horizontal cut (one sweep's curve: z against x at the tag) is drawn below
the map, the vertical cut (z against the tag at fixed x) to its right, with the tag on the vertical axis
shared with the map.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.colormaps import colormap
from widgets.series.common import SeriesViewBox, axis_label, dark_axis, export_menu, label_axis, setup_plot

#: Levels use a strided sample of at most this many pixels (percentiles of the full map cost a sort).
LEVEL_SAMPLES = 8192


def robust_levels(z: np.ndarray, percent: float = 0.5) -> tuple[float, float]:
    """(low, high) at the ``percent`` and ``100 - percent`` percentiles of the finite values of ``z``,
    from a strided sample of at most :data:`LEVEL_SAMPLES` values; (0, 1) when none is finite."""
    flat = z.reshape(-1)
    step = max(1, flat.size // LEVEL_SAMPLES)
    sample = flat[::step]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    # two order statistics by partition: a full percentile sorts the sample
    k_lo = int(round(percent / 100.0 * (sample.size - 1)))
    k_hi = sample.size - 1 - k_lo
    part = np.partition(sample, (k_lo, k_hi))
    lo, hi = part[k_lo], part[k_hi]
    if hi <= lo:
        hi = lo + (abs(lo) * 0.01 or 1.0)
    return float(lo), float(hi)


def image_rect(x: np.ndarray, tags: np.ndarray) -> QRectF:
    """Rect of an image whose pixel centres sit at the evenly spaced ``x`` (n_x,) and ``tags`` (n_tags,)."""
    dx = (x[-1] - x[0]) / (len(x) - 1) if len(x) > 1 else 1.0
    dt = (tags[-1] - tags[0]) / (len(tags) - 1) if len(tags) > 1 else 1.0
    return QRectF(float(x[0] - dx / 2), float(tags[0] - dt / 2), float(dx * len(x)), float(dt * len(tags)))


class SeriesMap(QWidget):
    """Colour map of ``z`` against x (horizontal) and a tag (vertical), crosshair and two cuts.

    Signals: ``cut_changed(x, tag)`` the crosshair position snapped to the nearest column and row, in
    the units of x and the tag; ``export_requested(str)`` "png" | "svg" | "csv".
    """

    cut_changed = Signal(float, float)
    export_requested = Signal(str)

    def __init__(self, cmap: str = "viridis", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        lay.addWidget(self.graphics)
        self.view_box = SeriesViewBox(self._menu, self._clicked)
        self.plot = self.graphics.addPlot(row=0, col=0, viewBox=self.view_box)
        setup_plot(self.plot)
        self.plot.showGrid(x=False, y=False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setLookupTable(colormap(cmap).getLookupTable(nPts=256))
        self.plot.addItem(self.image_item)
        # cut against the tag, right of the map, sharing its vertical axis
        self.vcut_box = SeriesViewBox(self._menu)
        self.vcut_plot = self.graphics.addPlot(row=0, col=1, viewBox=self.vcut_box)
        setup_plot(self.vcut_plot)
        self.vcut_plot.setYLink(self.plot)
        self.vcut_plot.hideAxis("left")
        self.vcut_plot.getAxis("bottom").setTickDensity(1.0)  # a narrow plot: room for two or three labels
        self.vcut_curve = pg.PlotCurveItem(pen=pg.mkPen((30, 30, 30), width=1.5))
        self.vcut_plot.addItem(self.vcut_curve)
        self.vcut_marker = pg.InfiniteLine(angle=0, pen=pg.mkPen((220, 20, 60), width=1))
        self.vcut_plot.addItem(self.vcut_marker)
        self.color_bar = pg.ColorBarItem(
            values=(0.0, 1.0), colorMap=colormap(cmap), interactive=False, width=16
        )
        self.color_bar.axis.setWidth(70)
        dark_axis(self.color_bar.axis)
        self.color_bar.setImageItem(self.image_item)
        self.graphics.addItem(self.color_bar, row=0, col=2)
        # cut against x, below the map, sharing its horizontal axis
        self.hcut_box = SeriesViewBox(self._menu)
        self.hcut_plot = self.graphics.addPlot(row=1, col=0, viewBox=self.hcut_box)
        setup_plot(self.hcut_plot)
        self.hcut_plot.setXLink(self.plot)
        self.hcut_curve = pg.PlotCurveItem(pen=pg.mkPen((30, 30, 30), width=1.5))
        self.hcut_plot.addItem(self.hcut_curve)
        self.hcut_marker = pg.InfiniteLine(angle=90, pen=pg.mkPen((220, 20, 60), width=1))
        self.hcut_plot.addItem(self.hcut_marker)
        layout = self.graphics.ci.layout
        layout.setColumnStretchFactor(0, 4)
        layout.setColumnStretchFactor(1, 1)
        layout.setRowStretchFactor(0, 3)
        layout.setRowStretchFactor(1, 1)
        # the crosshair
        pen = pg.mkPen((255, 255, 255), width=1.5)
        hover = pg.mkPen((220, 20, 60), width=2)
        self.x_line = pg.InfiniteLine(angle=90, movable=True, pen=pen, hoverPen=hover)
        self.tag_line = pg.InfiniteLine(angle=0, movable=True, pen=pen, hoverPen=hover)
        for line in (self.x_line, self.tag_line):
            line.setZValue(10)
            self.plot.addItem(line)
            line.sigPositionChanged.connect(self._line_moved)
        self.x = np.zeros(0)
        self.tags = np.zeros(0)
        self.z = np.zeros((0, 0))
        self.column = 0
        self.row = 0
        self._placing = False
        self._rect = QRectF()
        self._levels: tuple[float, float] | None = None

    # -- data --------------------------------------------------------------------------------------
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
        """Show the map.

        z : (n_tags, n_x) float, the quantity in ``z_unit`` (NaN: no data, drawn transparent).
        x : (n_x,) evenly spaced, ``x_unit``.  tags : (n_tags,) evenly spaced, ``tag_unit``.
        levels : (low, high) of the colour scale; None takes robust percentiles of ``z``.
        The crosshair keeps its physical position when it still falls inside the new map.
        """
        z = np.asarray(z)
        x = np.asarray(x, dtype=np.float64)
        tags = np.asarray(tags, dtype=np.float64)
        if z.shape != (tags.shape[0], x.shape[0]):
            raise ValueError(
                f"z has shape {z.shape}, expected (n_tags, n_x) = ({tags.shape[0]}, {x.shape[0]})"
            )
        first = self.z.size == 0 or z.shape != self.z.shape
        self.z, self.x, self.tags = z, x, tags
        lv = tuple(levels) if levels is not None else robust_levels(z)
        self.image_item.setImage(z, autoLevels=False, levels=lv)
        rect = image_rect(x, tags)
        if rect != self._rect:  # a redraw of a map on the same axes skips the geometry change
            self.image_item.setRect(rect)
            self._rect = rect
        if lv != self._levels:  # the bar's axis relabels itself on every call: only when they change
            # pushed to the image too: the image keeps levels the bar gave it before its first data and
            # applies them at its first setImage, over the ones passed there
            self.color_bar.setLevels(values=lv)
            self._levels = lv
        if first:
            axis_label(self.plot, "bottom", x_label, x_unit)
            axis_label(self.plot, "left", tag_name, tag_unit)
            axis_label(self.hcut_plot, "bottom", x_label, x_unit)
            axis_label(self.hcut_plot, "left", z_label, z_unit)
            axis_label(self.vcut_plot, "bottom", z_label, z_unit)
            label_axis(self.color_bar.axis, z_label, z_unit)
            self.plot.getViewBox().autoRange(padding=0)
            self.set_cut(float(x[len(x) // 2]), float(tags[len(tags) // 2]))
        else:
            self._update_cuts(emit=False)

    def set_cut(self, x: float, tag: float) -> None:
        """Move the crosshair to the column and row nearest (x, tag); emits ``cut_changed``."""
        self._placing = True
        self.x_line.setValue(x)
        self.tag_line.setValue(tag)
        self._placing = False
        self._update_cuts(emit=True)

    def horizontal_cut(self) -> tuple[np.ndarray, np.ndarray]:
        """(x (n_x,), z[row] (n_x,)): the quantity against x at the crosshair's tag row."""
        return self.x, self.z[self.row]

    def vertical_cut(self) -> tuple[np.ndarray, np.ndarray]:
        """(tags (n_tags,), z[:, column] (n_tags,)): the quantity against the tag at the crosshair's x."""
        return self.tags, self.z[:, self.column]

    def cut_position(self) -> tuple[float, float]:
        """(x, tag) of the column and row the crosshair is on."""
        return float(self.x[self.column]), float(self.tags[self.row])

    # -- gestures ----------------------------------------------------------------------------------
    def _clicked(self, x: float, y: float) -> bool:
        if self.z.size == 0:
            return False
        self.set_cut(x, y)
        return True

    def _line_moved(self, _line=None) -> None:
        if not self._placing and self.z.size:
            self._update_cuts(emit=True)

    def _update_cuts(self, emit: bool) -> None:
        if self.z.size == 0:
            return
        column = int(np.argmin(np.abs(self.x - self.x_line.value())))
        row = int(np.argmin(np.abs(self.tags - self.tag_line.value())))
        changed = (column, row) != (self.column, self.row)
        self.column, self.row = column, row
        self.hcut_curve.setData(self.x, np.asarray(self.z[row], dtype=np.float64))
        self.vcut_curve.setData(np.asarray(self.z[:, column], dtype=np.float64), self.tags)
        self.hcut_marker.setValue(float(self.x[column]))
        self.vcut_marker.setValue(float(self.tags[row]))
        if emit and changed:
            self.cut_changed.emit(float(self.x[column]), float(self.tags[row]))

    # -- helpers -----------------------------------------------------------------------------------
    def view_to_widget(self, x: float, y: float):
        """Position in ``self.graphics.viewport()`` coordinates of the map point (x, tag)."""
        return self.graphics.mapFromScene(self.view_box.mapViewToScene(pg.QtCore.QPointF(x, y)))

    def _menu(self, x: float, y: float):
        return export_menu(self, self.view_box, self.export_requested.emit)
