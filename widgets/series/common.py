"""Pieces shared by the series views: the plot set-up, the right-click menu, and colouring by a tag."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMenu, QWidget

#: Export kinds offered by every view: (kind, menu text).
EXPORT_KINDS = (("png", "Image as PNG..."), ("svg", "Image as SVG..."), ("csv", "Data as CSV..."))

#: Colour of sweeps whose tag value is missing (NaN).
MISSING_COLOR = (150, 150, 150)
#: Colour of axis text and lines.
TEXT_COLOR = (50, 50, 50)


class SeriesViewBox(pg.ViewBox):
    """A view box that hands left clicks and the right-click menu to its owner.

    ``on_left_click(x, y)`` receives clicks in view (data) coordinates and returns True when it used
    the click; ``build_menu(x, y)`` returns the QMenu to show for a right-click at that point.
    """

    def __init__(
        self,
        build_menu: Callable[[float, float], QMenu],
        on_left_click: Callable[[float, float], bool] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self._build_menu = build_menu
        self._on_left_click = on_left_click
        #: ``hook(menu)`` called with each right-click menu before it shows (owners add their entries)
        self.menu_hooks: list[Callable[[QMenu], None]] = []

    def mouseClickEvent(self, ev) -> None:
        if self._on_left_click is not None and ev.button() == pg.QtCore.Qt.MouseButton.LeftButton:
            p = self.mapSceneToView(ev.scenePos())
            if self._on_left_click(float(p.x()), float(p.y())):
                ev.accept()
                return
        super().mouseClickEvent(ev)

    def raiseContextMenu(self, ev) -> None:
        p = self.mapSceneToView(ev.scenePos())
        menu = self._build_menu(float(p.x()), float(p.y()))
        for hook in self.menu_hooks:
            hook(menu)
        menu.popup(ev.screenPos().toPoint())


def setup_plot(plot: pg.PlotItem) -> None:
    """Grid, no auto-range button, and the plot's own menu off while the view box menu stays on
    (``setMenuEnabled(False)`` alone would also switch off the view box menu and with it ours).
    Ticks and grid lines at the major ticks only, twice as dense: the minor grid tripled the repaint of
    1,000 sweeps."""
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.hideButtons()
    plot.setMenuEnabled(False, enableViewBoxMenu=True)
    for side in ("left", "bottom"):
        dark_axis(plot.getAxis(side))
        plot.getAxis(side).setStyle(maxTickLevel=0)
        plot.getAxis(side).setTickDensity(2.0)  # major ticks about as dense as major + minor were


def dark_axis(axis: pg.AxisItem) -> None:
    """Dark grey tick labels and axis line, readable on the white background."""
    axis.setTextPen(pg.mkPen(TEXT_COLOR))
    axis.setPen(pg.mkPen(TEXT_COLOR))


def export_menu(parent: QWidget, view_box: pg.ViewBox, emit: Callable[[str], None]) -> QMenu:
    """The right-click menu every series view offers: Reset zoom and Export > PNG / SVG / CSV."""
    menu = QMenu(parent)
    reset = menu.addAction("Reset zoom")
    reset.triggered.connect(lambda: view_box.autoRange())
    sub = menu.addMenu("Export")
    for kind, text in EXPORT_KINDS:
        act = sub.addAction(text)
        act.triggered.connect(lambda _=False, k=kind: emit(k))
    return menu


#: Units shown with a different spelling, and units that take no SI prefix (logarithmic, or a power of a
#: unit, where pyqtgraph's prefix would scale the base unit only).
DISPLAY_UNITS = {"Ohm": "\u03a9", "m^2": "m\u00b2", "m^3": "m\u00b3"}
NO_PREFIX = {"", "dBm", "dB", "m^2", "m^3"}


def axis_label(plot: pg.PlotItem, side: str, text: str, unit: str) -> None:
    """Label an axis of ``plot`` with the quantity and its SI unit (see :func:`label_axis`)."""
    label_axis(plot.getAxis(side), text, unit)


def label_axis(axis: pg.AxisItem, text: str, unit: str) -> None:
    """Label an axis with the quantity and its SI unit; pyqtgraph adds the SI prefix (mV, uA, ...) and
    scales the tick values to match. Units that take no prefix (dBm, dB, m^2) are shown as they are."""
    axis.enableAutoSIPrefix(unit not in NO_PREFIX)
    axis.setLabel(text, units=DISPLAY_UNITS.get(unit, unit) or None)


def tag_levels(values: np.ndarray) -> tuple[float, float]:
    """(low, high) of the finite tag values, widened when they are all equal; (0, 1) when none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        pad = abs(lo) * 0.01 or 1.0
        lo, hi = lo - pad, hi + pad
    return lo, hi


def colour_bins(values: np.ndarray, levels: tuple[float, float], n_bins: int) -> np.ndarray:
    """Bin index (n,) int of each tag value between ``levels``: 0..n_bins-1, or -1 for NaN."""
    lo, hi = levels
    t = (values - lo) / (hi - lo)
    idx = np.clip(np.floor(t * n_bins), 0, n_bins - 1)
    return np.where(np.isfinite(values), idx, -1).astype(np.int64)


def bin_colours(cmap: pg.ColorMap, n_bins: int) -> np.ndarray:
    """(n_bins, 4) uint8 RGBA colours at the bin centres of the colour map."""
    centres = (np.arange(n_bins) + 0.5) / n_bins
    return np.asarray(cmap.map(centres, mode="byte"), dtype=np.uint8)


def nan_joined(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], indices: Sequence[int], offsets=None):
    """The sweeps ``indices`` joined into two flat float64 arrays, each sweep followed by one NaN so that
    a curve drawn with ``connect="finite"`` does not join one sweep to the next. ``offsets`` (n_sweeps,)
    is added to each sweep's y. Points keep their measured order."""
    parts_x: list[np.ndarray] = []
    parts_y: list[np.ndarray] = []
    gap = np.array([np.nan])
    for i in indices:
        parts_x.append(np.asarray(xs[i], dtype=np.float64))
        y = np.asarray(ys[i], dtype=np.float64)
        parts_y.append(y + offsets[i] if offsets is not None else y)
        parts_x.append(gap)
        parts_y.append(gap)
    if not parts_x:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(parts_x), np.concatenate(parts_y)


def view_to_viewport(plot: pg.PlotItem, widget: pg.GraphicsView, x: float, y: float) -> QPointF:
    """Position in ``widget.viewport()`` coordinates of the data point (x, y) of ``plot``."""
    return widget.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(x, y)))
