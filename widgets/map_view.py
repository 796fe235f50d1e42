"""Base map view: a 2D image placed in physical coordinates (metres) with cursor, markers and colour bar.

A reciprocal-space frame (a Fourier transform, ``Frame.reciprocal``) is placed the same way in wave vectors
(1/m): its axes read qx, qy in 1/nm and no length scale bar is drawn.

Every map panel (topography, each slicer) derives from :class:`MapView`. Its view box works in physical
metres (x, y of the sample plane); the image item is placed with the scan frame's transform, rotation
included, so row 0 of the image is the lowest scan line. The view emits the physical point under the mouse
(``hovered``), the clicked point (``clicked``) and asks for pins (``pin_requested``); it never reads files
and never computes physics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage, QTransform
from PySide6.QtWidgets import QHBoxLayout, QMenu, QVBoxLayout, QWidget

from analysis.dataset import Frame
from widgets.colormaps import colormap
from widgets.empty_state import EmptyState

pg.setConfigOptions(antialias=True)

LEVEL_MODES = ("percentile", "manual", "global")


def frame_transform(frame: Frame) -> QTransform:
    """QTransform mapping image coordinates (column, row; pixel ix spans [ix, ix+1]) to metres."""
    ny, nx = frame.shape
    dx, dy = frame.pixel_size
    t = QTransform()
    t.translate(frame.center[0], frame.center[1])
    t.rotate(frame.angle)
    t.translate(-frame.size[0] / 2, -frame.size[1] / 2)
    t.scale(dx, dy)
    return t


def nice_length(span: float) -> float:
    """A round length (1, 2 or 5 times a power of ten) close to a fifth of ``span``."""
    if not span > 0 or not math.isfinite(span):
        return 1e-9
    target = span / 5
    exp = math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * 10**exp <= target:
            return m * 10**exp
    return 10**exp


def percentile_levels(image: np.ndarray, lower: float = 1.0, max_samples: int = 8000) -> tuple[float, float]:
    """(lo, hi) display levels: the ``lower`` and ``100 - lower`` percentiles (nearest rank) of a strided
    subsample of about ``max_samples`` finite values."""
    step = max(1, math.ceil(math.sqrt(image.size / max_samples)))
    sample = np.asarray(image[::step, ::step]).ravel()
    finite = np.isfinite(sample)
    if not finite.all():
        sample = sample[finite]
    n = sample.size
    if n == 0:
        return 0.0, 1.0
    k_lo = min(n - 1, int(round(lower / 100.0 * (n - 1))))
    k_hi = max(k_lo, n - 1 - k_lo)
    part = np.partition(sample, [k_lo, k_hi])
    lo, hi = float(part[k_lo]), float(part[k_hi])
    if not hi > lo:
        hi = lo + (abs(lo) * 1e-6 or 1e-30)
    return lo, hi


class _MapViewBox(pg.ViewBox):
    """ViewBox whose right-click menu is built by the owning MapView."""

    def __init__(self, owner: MapView) -> None:
        super().__init__(lockAspect=True)
        self._owner = owner

    def raiseContextMenu(self, ev) -> None:
        p = self.mapSceneToView(ev.scenePos())
        menu = self._owner.build_context_menu(p.x(), p.y())
        menu.popup(ev.screenPos().toPoint())


class MapView(QWidget):
    """Image view in physical coordinates with crosshair, pinned markers, scale bar and colour bar.

    Public attributes: ``view_box`` (pyqtgraph ViewBox, coordinates in metres), ``image_item``,
    ``plot_item``, ``histogram`` (HistogramLUTItem used as the colour bar with units), ``dataset_key``,
    ``frame``, ``value_label``, ``value_unit`` and ``controls`` (a layout above the image where subclasses
    put their controls).
    """

    hovered = Signal(object)  # (x, y) metres or None when the mouse leaves the image
    clicked = Signal(float, float)  # physical point of a left click
    pin_requested = Signal(float, float)  # shift-click or "Pin spectrum here"
    context_menu_about_to_show = Signal(QMenu)
    export_requested = Signal(str)  # "png", "svg" or "csv"
    levels_changed = Signal(float, float)
    level_mode_changed = Signal(str)
    colormap_changed = Signal(str)

    def __init__(self, title: str = "", parent: QWidget | None = None, colour_bar: str = "vertical") -> None:
        super().__init__(parent)
        self.title = title
        self.dataset_key: str | None = None
        self.frame: Frame | None = None
        self.value_label = ""
        self.value_unit = ""
        self.level_mode = "percentile"
        self.percentile = 1.0
        self.context_position: tuple[float, float] | None = None
        self._image: np.ndarray | None = None
        self._context_actions: list[tuple[str, Callable[[float, float], None]]] = []
        self._setting_levels = False
        self._fixed_levels: tuple[float, float] | None = None
        self._colormap_name = "viridis"
        self._manual_levels: tuple[float, float] | None = None
        self._cleared = False
        self._needs_autorange = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.setSpacing(2)
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self.controls)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.empty = EmptyState(self.graphics, "No map to show yet.")
        outer.addWidget(self.empty, 1)

        self.view_box = _MapViewBox(self)
        self.plot_item = self.graphics.addPlot(row=0, col=0, viewBox=self.view_box)
        self._reciprocal = False
        self._label_axes(False)
        self.plot_item.showAxes(True, showValues=(True, False, False, True))
        self.plot_item.hideButtons()
        # PlotItem.setMenuEnabled(False) alone disables the view box menu too, and with it the right-click
        # menu this view builds (see raiseContextMenu): keep the view box menu on.
        self.plot_item.setMenuEnabled(False, enableViewBoxMenu=True)

        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)

        # the colour bar with units; its histogram region sets the levels by dragging
        self.histogram = pg.HistogramLUTItem(orientation=colour_bar)
        if colour_bar == "vertical":
            self.histogram.vb.setMinimumWidth(24)
            self.histogram.vb.setMaximumWidth(36)
            self.histogram.setMaximumWidth(115)
            self.graphics.addItem(self.histogram, row=0, col=1)
            self.graphics.ci.layout.setColumnStretchFactor(0, 10)
        else:
            self.histogram.vb.setMinimumHeight(18)
            self.histogram.vb.setMaximumHeight(30)
            self.histogram.setMaximumHeight(100)
            self.graphics.addItem(self.histogram, row=1, col=0)
            self.graphics.ci.layout.setRowStretchFactor(0, 10)
        self.histogram.setImageItem(self.image_item)
        # The histogram is refreshed after the image settles, not on every redraw (slider drags stay fast).
        self.image_item.sigImageChanged.disconnect(self.histogram.imageChanged)
        self._hist_timer = QTimer(self)
        self._hist_timer.setSingleShot(True)
        self._hist_timer.setInterval(120)
        self._hist_timer.timeout.connect(self._refresh_histogram)
        self.image_item.sigImageChanged.connect(self._hist_timer.start)
        self.histogram.sigLevelChangeFinished.connect(self._histogram_levels_changed)
        self.set_colormap("viridis")

        cross_pen = pg.mkPen((255, 255, 255), width=1.2, style=Qt.PenStyle.DashLine)
        self._cross = [pg.InfiniteLine(angle=90, pen=cross_pen), pg.InfiniteLine(angle=0, pen=cross_pen)]
        self._cross_dot = pg.ScatterPlotItem(
            size=11, symbol="+", pen=pg.mkPen((0, 0, 0), width=2), brush=pg.mkBrush(255, 255, 255)
        )
        for item in (*self._cross, self._cross_dot):
            item.setZValue(20)
            item.setVisible(False)
            self.view_box.addItem(item, ignoreBounds=True)
        self._markers = pg.ScatterPlotItem(size=10, symbol="o", pxMode=True)
        self._markers.setZValue(19)
        self.view_box.addItem(self._markers, ignoreBounds=True)
        self._scale_bar: pg.ScaleBar | None = None

        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)
        self.graphics.scene().sigMouseClicked.connect(self._mouse_clicked)

    # -- image ------------------------------------------------------------------------------------
    def set_frame(self, frame: Frame | None) -> None:
        """Place the image with ``frame``'s transform and refresh the scale bar."""
        changed = frame != self.frame
        self.frame = frame
        if frame is None:
            return
        if self._image is None and not self._cleared:
            # the dataset is known and its first map is on its way: show the frame (and take gestures)
            self.empty.set_empty(False)
        self.image_item.setTransform(frame_transform(frame))
        if frame.reciprocal != self._reciprocal:
            self._label_axes(frame.reciprocal)
        if changed:
            self._make_scale_bar(frame)
            self._needs_autorange = True

    @property
    def reciprocal(self) -> bool:
        """True while the view shows a reciprocal-space frame (coordinates are wave vectors in 1/m)."""
        return self._reciprocal

    def _label_axes(self, reciprocal: bool) -> None:
        """Axes x, y in metres with SI prefixes, or qx, qy read in 1/nm for a reciprocal frame."""
        self._reciprocal = reciprocal
        for side, name in (("bottom", "x"), ("left", "y")):
            axis = self.plot_item.getAxis(side)
            if reciprocal:
                axis.enableAutoSIPrefix(False)
                axis.setScale(1e-9)  # the view works in 1/m; the axis reads in 1/nm
                self.plot_item.setLabel(side, f"q{name} (1/nm)")
            else:
                axis.setScale(1.0)
                axis.enableAutoSIPrefix(True)
                self.plot_item.setLabel(side, name, units="m")

    def axis_label(self, side: str) -> str:
        """The label text of the ``"bottom"`` or ``"left"`` axis as drawn (with its unit and prefix)."""
        return self.plot_item.getAxis(side).labelString()

    def set_value_label(self, label: str, unit: str) -> None:
        """Name and unit of the mapped quantity (colour bar axis; SI prefixes are chosen automatically)."""
        self.value_label, self.value_unit = label, unit
        self.histogram.axis.setLabel(label, units=unit)

    def set_image(self, image: np.ndarray | None, levels: tuple[float, float] | None = None) -> None:
        """Show a (ny, nx) image (row 0 lowest). ``levels`` overrides the level mode for this image."""
        self._image = image
        self._cleared = image is None  # an explicit "nothing to show" keeps the message up
        self.empty.set_empty(image is None)
        if image is None:
            self.image_item.clear()
            return
        lv = levels or self._levels_for(image)
        self._setting_levels = True
        try:
            self.image_item.setImage(image, autoLevels=False, levels=lv)
            # the first setImage applies levels deferred by the histogram before any image existed
            self.image_item.setLevels(lv, update=False)
        finally:
            self._setting_levels = False
        if self._needs_autorange:
            self._needs_autorange = False
            self.view_box.autoRange(padding=0.02)

    def current_image(self) -> np.ndarray | None:
        """The (ny, nx) array on display, or None."""
        return self._image

    def levels(self) -> tuple[float, float]:
        lv = self.image_item.getLevels()
        return (float(lv[0]), float(lv[1])) if lv is not None else (0.0, 1.0)

    def set_level_mode(self, mode: str, fixed: tuple[float, float] | None = None) -> None:
        """``"percentile"`` (per image), ``"manual"`` (keep the histogram's levels) or ``"global"``
        (``fixed`` levels, e.g. computed over all biases)."""
        if mode not in LEVEL_MODES:
            raise ValueError(f"level mode must be one of {LEVEL_MODES}")
        self.level_mode = mode
        if fixed is not None:
            self._fixed_levels = fixed
        if self._image is not None:
            self.set_image(self._image)
        self.level_mode_changed.emit(mode)

    def set_levels(self, lo: float, hi: float) -> None:
        """Fix the levels (switches to manual mode)."""
        self.level_mode = "manual"
        self._manual_levels = (float(lo), float(hi))  # kept for an image that arrives later
        self._setting_levels = True
        try:
            self.image_item.setLevels((lo, hi))
            self.histogram.setLevels(lo, hi)
        finally:
            self._setting_levels = False
        self.levels_changed.emit(lo, hi)

    def _levels_for(self, image: np.ndarray) -> tuple[float, float]:
        if self.level_mode == "manual" and self.image_item.image is not None:
            return self.levels()
        if self.level_mode == "manual" and self._manual_levels is not None:
            return self._manual_levels
        if self.level_mode == "global" and self._fixed_levels is not None:
            return self._fixed_levels
        return percentile_levels(image, self.percentile)

    def _refresh_histogram(self) -> None:
        if self.image_item.image is None:
            return
        self._setting_levels = True
        try:
            self.histogram.imageChanged(autoLevel=False)
        finally:
            self._setting_levels = False

    def _histogram_levels_changed(self) -> None:
        if self._setting_levels:
            return
        lo, hi = self.histogram.getLevels()
        if self.level_mode != "manual":
            self.level_mode = "manual"
            self.level_mode_changed.emit("manual")
        self.levels_changed.emit(float(lo), float(hi))

    def set_colormap(self, name: str) -> None:
        """Apply a colour map by name (see :mod:`widgets.colormaps`)."""
        changed = name != self._colormap_name
        self._colormap_name = name
        self.histogram.gradient.setColorMap(colormap(name))
        self.histogram.gradient.showTicks(False)
        if changed:
            self.colormap_changed.emit(name)

    @property
    def colormap_name(self) -> str:
        return self._colormap_name

    def lookup_table(self, n: int = 256) -> np.ndarray:
        """(n, 3 or 4) uint8 colour table currently applied to the image."""
        return self.histogram.gradient.getLookupTable(n)

    def render_pixels(self, block: int = 1) -> QImage | None:
        """The map alone, pixel-exact: each data pixel a ``block`` x ``block`` square in the colours and
        levels on screen, rows as scanned (the frame's rotation is not applied, nothing is smoothed), the
        top row of the image being the highest line ``iy = ny - 1``; no axes, colour bar or overlays.
        NaN pixels are transparent. None when the map is empty."""
        image = self._image
        if image is None or image.ndim != 2 or image.size == 0:
            return None
        block = max(1, int(block))
        lut = self.lookup_table(256)
        lo, hi = self.levels()
        data = np.asarray(image, dtype=np.float64)
        finite = np.isfinite(data)
        span = hi - lo if hi > lo else 1.0
        idx = np.clip(np.floor((np.where(finite, data, lo) - lo) / span * len(lut)), 0, len(lut) - 1)
        rgb = lut[idx.astype(np.intp)][..., :3]
        rgba = np.empty((*data.shape, 4), dtype=np.uint8)
        rgba[..., :3] = rgb
        rgba[..., 3] = np.where(finite, 255, 0)
        rgba = np.ascontiguousarray(np.repeat(np.repeat(rgba[::-1], block, axis=0), block, axis=1))
        h, w = rgba.shape[:2]
        return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()

    # -- overlays ---------------------------------------------------------------------------------
    def set_crosshair(self, xy: tuple[float, float] | None) -> None:
        """Show the shared cursor at a physical point (or hide it)."""
        visible = xy is not None
        for item in (*self._cross, self._cross_dot):
            item.setVisible(visible)
        if xy is not None:
            self._cross[0].setValue(xy[0])
            self._cross[1].setValue(xy[1])
            self._cross_dot.setData([xy[0]], [xy[1]])

    def crosshair(self) -> tuple[float, float] | None:
        if not self._cross[0].isVisible():
            return None
        return (float(self._cross[0].value()), float(self._cross[1].value()))

    def set_markers(self, points: Sequence[tuple[float, float, tuple[int, int, int]]]) -> None:
        """Pinned points: (x, y, rgb colour) each."""
        if not points:
            self._markers.setData([], [])
            return
        self._markers.setData(
            [p[0] for p in points],
            [p[1] for p in points],
            brush=[pg.mkBrush(*p[2]) for p in points],
            pen=pg.mkPen((255, 255, 255), width=1.5),
        )

    def marker_count(self) -> int:
        return len(self._markers.data)

    def _make_scale_bar(self, frame: Frame) -> None:
        if frame.reciprocal:  # a length bar means nothing in q-space: the axes read in 1/nm
            self.scale_bar_length = 0.0
            if self._scale_bar is not None:
                self._scale_bar.setVisible(False)
            return
        length = nice_length(max(frame.size))
        self.scale_bar_length = length
        if self._scale_bar is not None:
            self._scale_bar.setVisible(True)
        if self._scale_bar is not None:
            self._scale_bar.size = length
            self._scale_bar.text.setText(pg.siFormat(length, suffix="m"))
            self._scale_bar.updateBar()
            return
        bar = pg.ScaleBar(
            length, width=5, brush=(255, 255, 255), pen=(0, 0, 0), suffix="m", offset=(-14, -18)
        )
        bar.text.setColor((255, 255, 255))
        bar.text.fill = pg.mkBrush(0, 0, 0, 110)
        bar.setParentItem(self.view_box)
        bar.setZValue(30)
        self._scale_bar = bar

    # -- mouse --------------------------------------------------------------------------------------
    def _scene_to_view(self, pos: QPointF) -> tuple[float, float] | None:
        if not self.view_box.sceneBoundingRect().contains(pos):
            return None
        p = self.view_box.mapSceneToView(pos)
        return float(p.x()), float(p.y())

    def _inside_frame(self, xy: tuple[float, float]) -> bool:
        return self.frame is not None and self.frame.nearest_pixel(*xy) is not None

    def _mouse_moved(self, pos: QPointF) -> None:
        xy = self._scene_to_view(pos)
        self.hovered.emit(xy if xy is not None and self._inside_frame(xy) else None)

    def _mouse_clicked(self, ev) -> None:
        # A click taken by an item on the map (a drawing tool, an ROI handle) is not a map click.
        if ev.button() != Qt.MouseButton.LeftButton or ev.double() or ev.isAccepted():
            return
        xy = self._scene_to_view(ev.scenePos())
        if xy is None or not self._inside_frame(xy):
            return
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.pin_requested.emit(*xy)
        else:
            self.clicked.emit(*xy)

    def view_to_widget(self, x: float, y: float) -> QPointF:
        """Position in ``self.graphics.viewport()`` coordinates of the physical point (x, y)."""
        scene = self.view_box.mapViewToScene(QPointF(x, y))
        return self.graphics.mapFromScene(scene)

    # -- context menu ------------------------------------------------------------------------------
    def add_context_action(self, text: str, callback: Callable[[float, float], None]) -> None:
        """Add an entry to the right-click menu; ``callback(x, y)`` gets the clicked physical point."""
        self._context_actions.append((text, callback))

    def build_context_menu(self, x: float, y: float) -> QMenu:
        """The right-click menu for the physical point (x, y)."""
        self.context_position = (x, y)
        menu = QMenu(self)
        inside = self._inside_frame((x, y))
        pin = menu.addAction("Pin spectrum here")
        pin.setEnabled(inside)
        pin.triggered.connect(lambda: self.pin_requested.emit(x, y))
        reset = menu.addAction("Reset zoom")
        reset.triggered.connect(lambda: self.view_box.autoRange(padding=0.02))
        if self._context_actions:
            menu.addSeparator()
            for text, cb in self._context_actions:
                act = QAction(text, menu)
                act.triggered.connect(lambda _=False, cb=cb: cb(x, y))
                menu.addAction(act)
        menu.addSeparator()
        export = menu.addMenu("Export")
        for kind, label in (
            ("png", "Image as PNG..."),
            ("svg", "Image as SVG..."),
            ("csv", "Data as CSV..."),
        ):
            act = export.addAction(label)
            act.triggered.connect(lambda _=False, k=kind: self.export_requested.emit(k))
        self.context_menu_about_to_show.emit(menu)
        return menu
