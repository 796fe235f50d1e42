"""Line-cut panel: a cut through every co-registered grid, side by side, in three linked views.

* **Top view**: image of the cut, distance along the path (nm, horizontal) against the sweep (mV,
  vertical), with a colour map and an interactive colour bar (drag its ends to set the levels).
* **Waterfall**: the cut's spectra offset vertically, first sample at the bottom.
* **3D surface**: the same values as a ``pyqtgraph.opengl`` surface (mouse: drag rotates, wheel zooms)
  with a grid, labelled axes and tick values in nm, mV and the value's unit, coloured with the colour
  map and levels of the top view. Where OpenGL is unavailable (no ``pyqtgraph.opengl`` or no OpenGL
  context on this display, e.g. the offscreen platform) the tab says so and the other views still work.

Hovering any view emits the distance under the mouse (:attr:`LineCutPanel.hovered`, metres) and
:meth:`LineCutPanel.set_marker` marks a distance in all three views, so the application can show the
hovered point on the maps and its spectrum. The panel receives ready arrays (:class:`CutColumn`) and
computes nothing itself.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QMatrix4x4, QVector3D
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from widgets.colormaps import COLORMAPS, colormap

SURFACE_SIZE = 10.0  # the 3D box spans 10 x 10 (distance x sweep) and SURFACE_HEIGHT units high
SURFACE_HEIGHT = 5.0
MAX_WATERFALL = 80
WATERFALL_TAB = 1
SURFACE_TAB = 2


@dataclass(frozen=True)
class CutColumn:
    """One grid's cut: ``values`` (n_points, nb) along ``distance`` (n,) m and ``sweep`` (nb,) in
    ``sweep_unit`` (V for bias), the value's name and unit, and the column title."""

    key: str
    title: str
    distance: np.ndarray
    sweep: np.ndarray
    values: np.ndarray
    value_label: str = "dI/dV"
    value_unit: str = "S"
    sweep_label: str = "Bias"
    sweep_unit: str = "V"


@dataclass(frozen=True)
class CutSettings:
    """What the user chose: averaging width (m), samples (0: one per pixel) and the quantity shown."""

    width_m: float = 0.0
    n_points: int = 0
    quantity: str = "didv"


QUANTITIES = {"didv": "dI/dV", "current": "Current"}


@cache
def opengl_status() -> tuple[bool, str]:
    """(available, reason): whether a 3D view can be shown on this display."""
    from PySide6.QtGui import QGuiApplication, QOpenGLContext

    # the platform first: importing pyqtgraph.opengl takes a third of a second on the GUI thread, spent
    # for nothing where no 3D view can be shown (see also :func:`preload_opengl`)
    platform = QGuiApplication.platformName()
    if platform not in ("offscreen", "minimal"):
        try:
            import pyqtgraph.opengl  # noqa: F401
        except Exception as exc:  # missing PyOpenGL or a broken GL library
            return False, f"pyqtgraph.opengl cannot be imported ({type(exc).__name__}: {exc})"
    if platform in ("offscreen", "minimal"):
        # these platforms have no window system to show GL surfaces in; the offscreen plugin may still hand
        # out a GLX context when DISPLAY is set, and rendering a QOpenGLWidget through it crashes
        return False, f"3D views need a window system; Qt platform '{platform}' has none"
    ctx = QOpenGLContext()
    if not ctx.create():
        return False, f"no OpenGL context can be created on this display (Qt platform '{platform}')"
    return True, ""


def preload_opengl() -> None:
    """Import pyqtgraph.opengl in a background thread, so the first line cut does not wait for it."""
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.platformName() in ("offscreen", "minimal"):
        return

    def load() -> None:
        try:
            import pyqtgraph.opengl  # noqa: F401
        except Exception:  # reported by opengl_status when a 3D view is built
            pass

    threading.Thread(target=load, name="preload-opengl", daemon=True).start()


def _sweep_scale(unit: str) -> tuple[float, str]:
    return {"V": (1e3, "mV"), "m": (1e9, "nm")}.get(unit, (1.0, unit))


def _value_text(value: float, unit: str) -> str:
    """``value`` with an SI prefix, e.g. ``1.5 nS``."""
    scale, prefix = pg.siScale(value)
    return f"{value * scale:.3g} {prefix}{unit}".rstrip()


def _percentile_levels(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [1.0, 99.0])
    if not hi > lo:
        hi = lo + (abs(lo) * 1e-6 or 1e-30)
    return float(lo), float(hi)


class _TitleLabel(QLabel):
    """A centred grey title elided on the right to the width it is given (it never sets a minimum)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._full = text
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("color: #555; font-size: 12pt;")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setToolTip(text)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self.setText(
            self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, max(self.width() - 4, 20))
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.width() - 4))


class _Column:
    """The three views of one grid's cut."""

    def __init__(self, panel: LineCutPanel, column: CutColumn) -> None:
        self.panel = panel
        self.user_levels = False  # True once the user set the levels (kept when the cut changes)
        self._set_data(column)
        unit = self.sweep_display_unit

        # -- top view
        # the grid's title sits above as a label that may be elided: as a plot title its full text set
        # the plot's minimum width, and a column narrower than that clipped the cut's far end and pushed
        # the colour bar out of sight
        self.top = pg.GraphicsLayoutWidget()
        self.top.setBackground("w")
        self.top_plot = self.top.addPlot(row=0, col=0)
        self.top_plot.setLabel("bottom", "distance", units="nm")
        self.top_plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.top_plot.setLabel("left", column.sweep_label, units=unit)
        self.top_plot.getAxis("left").enableAutoSIPrefix(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.top_plot.addItem(self.image)
        self.bar = pg.ColorBarItem(
            values=self.levels, colorMap=colormap(panel.colormap_name()), interactive=True, width=18
        )
        self.bar.setImageItem(self.image)
        self.top.addItem(self.bar, row=0, col=1)
        self.top.ci.layout.setColumnStretchFactor(0, 10)
        self.top_page = QWidget()
        top_lay = QVBoxLayout(self.top_page)
        top_lay.setContentsMargins(0, 4, 0, 0)
        top_lay.setSpacing(2)
        self.top_title = _TitleLabel(column.title)
        top_lay.addWidget(self.top_title)
        top_lay.addWidget(self.top, 1)
        self.bar.axis.setLabel(column.value_label, units=column.value_unit)
        self.bar.sigLevelsChangeFinished.connect(self._levels_from_bar)
        self.top_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((255, 255, 255), width=1.5))
        self.top_line.setVisible(False)
        self.top_plot.addItem(self.top_line, ignoreBounds=True)
        self.top.scene().sigMouseMoved.connect(self._top_moved)

        # -- waterfall and 3D: their widgets are built when their tab is first shown (building them with
        # the top view held the GUI thread for the whole first cut while only the top view was on display)
        self._water_widget: pg.PlotWidget | None = None
        self._water_mark: pg.PlotDataItem | None = None
        self.water_curves: list[tuple[int, pg.PlotDataItem]] = []
        self.water_offset = 0.0
        self.water_page = QWidget()
        self._water_layout = QVBoxLayout(self.water_page)
        self._water_layout.setContentsMargins(0, 0, 0, 0)
        self.gl_view = None
        self.surface = None
        self.gl_mark = None
        self.gl_labels: list = []
        self._surface_stale = True
        ok, reason = opengl_status()
        self._gl_wanted = ok
        if not ok:
            self.gl_message = QLabel(
                f"3D view unavailable: {reason}.\nThe top view and the waterfall show the same cut."
            )
            self.gl_message.setWordWrap(True)
            self.gl_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.refresh()

    # -- building ----------------------------------------------------------------------------------
    @property
    def water(self) -> pg.PlotWidget:
        """The waterfall plot (built on first use)."""
        if self._water_widget is None:
            self._build_water()
        return self._water_widget  # type: ignore[return-value]

    @property
    def water_mark(self) -> pg.PlotDataItem:
        if self._water_mark is None:
            self._build_water()
        return self._water_mark  # type: ignore[return-value]

    def _build_water(self) -> None:
        column, unit = self.data, self.sweep_display_unit
        water = pg.PlotWidget(background="w", title=column.title)
        water.setLabel("bottom", column.sweep_label, units=unit)
        water.getAxis("bottom").enableAutoSIPrefix(False)
        water.setLabel("left", column.value_label + " + offset", units=column.value_unit)
        mark = pg.PlotDataItem(pen=pg.mkPen((220, 30, 30), width=2.5))
        mark.setZValue(10)
        water.addItem(mark)
        water.scene().sigMouseMoved.connect(self._water_moved)
        self._water_widget, self._water_mark = water, mark
        self._water_layout.addWidget(water)
        self._water_stale = True
        if self.panel._last_hover is not None:
            self.set_marker(self.panel._last_hover)

    def gl_widget(self) -> QWidget:
        self.ensure_gl()
        return self.gl_view if self.gl_view is not None else self.gl_message

    def gl_page(self) -> QWidget:
        """The 3D view (or its message) under the grid's title, as placed in the 3D tab; the view itself is
        built when the tab is first shown (:meth:`ensure_gl`)."""
        if getattr(self, "_gl_page", None) is None:
            page = QWidget()
            lay = QVBoxLayout(page)
            lay.setContentsMargins(0, 4, 0, 0)
            lay.setSpacing(2)
            self.gl_title = _TitleLabel(self.data.title)
            lay.addWidget(self.gl_title)
            if not self._gl_wanted:
                lay.addWidget(self.gl_message, 1)
            self._gl_layout = lay
            self._gl_page = page
        return self._gl_page

    def ensure_gl(self) -> None:
        """Build the 3D view (when OpenGL is available) and bring its surface up to date."""
        if self._gl_wanted and self.gl_view is None:
            self.gl_page()
            self._build_gl()
            self._gl_layout.addWidget(self.gl_view, 1)
        if self._surface_stale and self.surface is not None:
            self._surface_stale = False
            self._refresh_surface()
            if self.panel._last_hover is not None:
                self.set_marker(self.panel._last_hover)

    def _build_gl(self) -> None:
        import pyqtgraph.opengl as gl

        column = self

        class _View(gl.GLViewWidget):
            moved_by_user = False

            def paintGL(self) -> None:
                column.declutter_labels()  # for the camera about to be drawn
                super().paintGL()

            def mousePressEvent(self, ev) -> None:
                self.moved_by_user = True
                super().mousePressEvent(ev)

            def wheelEvent(self, ev) -> None:
                self.moved_by_user = True
                super().wheelEvent(ev)

            def resizeEvent(self, ev) -> None:
                super().resizeEvent(ev)
                if not self.moved_by_user:
                    column.reset_camera()  # frame the surface for the view's new shape

        view = _View()
        view.setBackgroundColor("w")
        view.setMinimumSize(200, 160)
        grid = gl.GLGridItem(color=(0, 0, 0, 60))
        grid.setSize(SURFACE_SIZE, SURFACE_SIZE)
        grid.setSpacing(SURFACE_SIZE / 5, SURFACE_SIZE / 5)
        # just below the surface's floor (z = 0), so grid and surface never fight over the same depth
        grid.translate(SURFACE_SIZE / 2, SURFACE_SIZE / 2, -0.02 * SURFACE_HEIGHT)
        view.addItem(grid)
        axes = gl.GLAxisItem(size=pg.Vector(SURFACE_SIZE, SURFACE_SIZE, SURFACE_HEIGHT))
        view.addItem(axes)
        self.surface = gl.GLSurfacePlotItem(smooth=False, computeNormals=False, glOptions="opaque")
        view.addItem(self.surface)
        self.gl_mark = gl.GLLinePlotItem(color=(0.9, 0.1, 0.1, 1.0), width=3, antialias=True)
        self.gl_mark.setVisible(False)
        view.addItem(self.gl_mark)
        self.gl_labels = []
        self.gl_view = view
        self.reset_camera()

    def reset_camera(self) -> None:
        if self.gl_view is None:
            return
        self.gl_view.opts["center"] = pg.Vector(SURFACE_SIZE / 2, SURFACE_SIZE / 2, SURFACE_HEIGHT / 4)
        # a three-quarter view from the negative-bias side: distance runs left to right as in the top view
        # and a ridge along the distance (the zero-bias peak) is seen at an angle, not edge-on (azimuth
        # -80 looked straight along the bias axis, the ridge hiding what lies behind it)
        # the field of view is horizontal: a wide, short view needs the camera further back to keep the
        # surface's height in the frame
        w, h = max(self.gl_view.width(), 1), max(self.gl_view.height(), 1)
        distance = 2.4 * SURFACE_SIZE * max(1.0, (w / h) / 1.3)
        self.gl_view.setCameraPosition(distance=distance, elevation=40, azimuth=-55)

    # -- data ------------------------------------------------------------------------------------
    def _set_data(self, column: CutColumn) -> None:
        self.data = column
        if not self.user_levels:
            self.levels = _percentile_levels(column.values)
        scale, unit = _sweep_scale(column.sweep_unit)
        self.sweep_display = np.asarray(column.sweep, dtype=float) * scale
        self.sweep_display_unit = unit
        self.distance_nm = np.asarray(column.distance, dtype=float) * 1e9

    def adopt(self, column: CutColumn) -> None:
        """Take ``column`` as this column's first cut (a column built ahead with placeholder data): its
        titles and axis labels, automatic levels, the data."""
        self.user_levels = False
        self._set_data(column)
        self.top_title.set_full_text(column.title)
        self.top_plot.setLabel("left", column.sweep_label, units=self.sweep_display_unit)
        self.bar.axis.setLabel(column.value_label, units=column.value_unit)
        self.refresh()

    def compatible(self, column: CutColumn) -> bool:
        """True when ``column`` can replace this column's data in place (same grid and quantity)."""
        d = self.data
        return (d.key, d.value_label, d.value_unit, d.sweep_unit) == (
            column.key,
            column.value_label,
            column.value_unit,
            column.sweep_unit,
        )

    def update(self, column: CutColumn) -> None:
        """Show a new cut through the same grid, keeping the user's levels and the 3D camera."""
        self._set_data(column)
        self.refresh()

    def refresh(self) -> None:
        """Redraw every view from ``self.data`` with the panel's colour map and settings."""
        c = self.data
        d, s = self.distance_nm, self.sweep_display
        self.image.setImage(np.ascontiguousarray(c.values.T), autoLevels=False, levels=self.levels)
        if d.size >= 2 and s.size >= 2:
            dd = (d[-1] - d[0]) / (d.size - 1)
            ds = (s[-1] - s[0]) / (s.size - 1)
            self.image.setRect(QRectF(d[0] - dd / 2, s[0] - ds / 2, d[-1] - d[0] + dd, s[-1] - s[0] + ds))
        self.bar.setColorMap(colormap(self.panel.colormap_name()))
        self.bar.setLevels(self.levels)
        # the waterfall (up to 80 curve items) is built when its tab is shown: building it for every new
        # cut held the GUI thread for ~0.3 s while the top view was the one on display
        lo, hi = _percentile_levels(c.values)
        self.water_offset = self.panel.offset_fraction() * (hi - lo)
        self._water_stale = True
        if self.panel.tabs.currentIndex() == WATERFALL_TAB:
            self.ensure_waterfall()
        self._surface_changed()

    def _surface_changed(self) -> None:
        """The 3D surface is redrawn now when its tab is on display, else when the tab is next shown."""
        self._surface_stale = True
        if self.panel.tabs.currentIndex() == SURFACE_TAB:
            self.ensure_gl()

    def ensure_waterfall(self) -> None:
        """Build the waterfall curves if the data changed since they were built."""
        if self._water_widget is None:
            self._build_water()
        if getattr(self, "_water_stale", True):
            self._water_stale = False
            self._refresh_waterfall()

    def set_levels(self, levels: tuple[float, float], user: bool = True) -> None:
        self.user_levels = user
        self.levels = (float(levels[0]), float(levels[1]))
        self.bar.setLevels(self.levels)
        self._surface_changed()

    def _levels_from_bar(self, *_args) -> None:
        lo, hi = self.bar.levels()
        if (lo, hi) != self.levels:
            self.user_levels = True
            self.levels = (float(lo), float(hi))
            self._surface_changed()
            self.panel.levels_changed.emit(self.data.key, self.levels[0], self.levels[1])

    def shown_indices(self) -> np.ndarray:
        n = self.data.values.shape[0]
        step = max(1, int(np.ceil(n / MAX_WATERFALL)))
        return np.arange(0, n, step)

    def _refresh_waterfall(self) -> None:
        for _, item in self.water_curves:
            self.water.removeItem(item)
        self.water_curves = []
        vals = self.data.values
        idx = self.shown_indices()
        lo, hi = _percentile_levels(vals)
        self.water_offset = self.panel.offset_fraction() * (hi - lo)
        cmap = colormap(self.panel.colormap_name())
        colours = cmap.map(np.linspace(0.0, 0.85, max(idx.size, 1)), mode="byte")
        for k, i in enumerate(idx):
            item = pg.PlotDataItem(
                self.sweep_display,
                vals[i] + k * self.water_offset,
                # hairlines: up to 80 antialiased curves wider than a pixel took a second to paint
                pen=pg.mkPen(tuple(int(v) for v in colours[k][:3]), width=1),
                connect="finite",
            )
            self.water.addItem(item)
            self.water_curves.append((int(i), item))

    def _surface_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        d, s = self.distance_nm, self.sweep_display
        x = (d - d[0]) / max(d[-1] - d[0], 1e-30) * SURFACE_SIZE
        y = (s - s[0]) / max(s[-1] - s[0], 1e-30) * SURFACE_SIZE
        lo, hi = self.levels
        norm = (self.data.values.astype(np.float64) - lo) / (hi - lo if hi > lo else 1.0)
        norm = np.where(np.isfinite(norm), norm, 0.0)
        # values beyond the levels saturate, as their colours do: the surface stays inside the box the
        # camera frames (a real grid's outliers rose out of the view) and never dips through the floor grid
        z = np.clip(norm, 0.0, 1.0) * SURFACE_HEIGHT * self.panel.height_scale()
        colours = colormap(self.panel.colormap_name()).map(np.clip(norm, 0, 1).ravel(), mode="float")
        colours = np.asarray(colours, dtype=np.float32).reshape(norm.shape + (4,))
        return x, y, z.astype(np.float32), colours

    def _refresh_surface(self) -> None:
        if self.surface is None or self.data.values.shape[0] < 2 or self.data.values.shape[1] < 2:
            return
        x, y, z, colours = self._surface_arrays()
        self.surface.setData(x=x, y=y, z=z, colors=colours.reshape(-1, 4))
        self._refresh_gl_labels()

    def _refresh_gl_labels(self) -> None:
        import pyqtgraph.opengl as gl

        for item in self.gl_labels:
            self.gl_view.removeItem(item)
        self.gl_labels = []
        black = (0, 0, 0, 255)
        font = QFont()
        font.setPointSize(9)
        d, s = self.distance_nm, self.sweep_display
        lo, hi = self.levels
        h = SURFACE_HEIGHT * self.panel.height_scale()

        def text(pos, label):
            item = gl.GLTextItem(pos=pos, text=label, color=black, font=font, glOptions="translucent")
            self.gl_view.addItem(item)
            self.gl_labels.append(item)

        for f in (0.0, 0.5, 1.0):
            text((f * SURFACE_SIZE + 0.3, -1.3, 0.0), f"{d[0] + f * (d[-1] - d[0]):.0f}")
            text((SURFACE_SIZE + 0.4, f * SURFACE_SIZE, 0.0), f"{s[0] + f * (s[-1] - s[0]):.3g}")
            # the value scale stands on the front-left corner (the z axis), in front of the surface
            text((-0.6, -0.6, f * h), _value_text(lo + f * (hi - lo), self.data.value_unit))
        text((SURFACE_SIZE / 2, -2.6, 0.0), "distance (nm)")
        text(
            (SURFACE_SIZE + 1.6, SURFACE_SIZE / 2, 0.0),
            f"{self.data.sweep_label} ({self.sweep_display_unit})",
        )
        text((-0.6, -0.6, h * 1.2), self.data.value_label)

    def label_rects(self) -> list[tuple[Any, QRectF]]:
        """(label item, its rectangle on screen in widget pixels) of every 3D label, titles first."""
        view = self.gl_view
        if view is None or not self.gl_labels:
            return []
        region = view.getViewport()
        to_screen = QMatrix4x4()
        rect = QRectF(view.rect())
        to_screen.viewport(rect.left(), rect.bottom(), rect.width(), -rect.height())
        mvp = to_screen * view.projectionMatrix(region, region) * view.viewMatrix()
        out = []
        for item in self.gl_labels[-3:] + self.gl_labels[:-3]:
            at = mvp.map(QVector3D(*item.pos)).toPointF()
            box = QFontMetricsF(item.font).tightBoundingRect(item.text)
            out.append((item, box.translated(at)))
        return out

    def declutter_labels(self) -> None:
        """Hide the labels that would overlap one already placed (titles first, then the ticks): after a
        rotation the distance ticks, the value scale and the titles ran into each other."""
        placed: list[QRectF] = []
        for item, box in self.label_rects():
            free = not any(box.adjusted(-3, -2, 3, 2).intersects(p) for p in placed)
            if free:
                placed.append(box)
            if item.visible() != free:
                item.setVisible(free)

    def visible_label_rects(self) -> list[QRectF]:
        return [box for item, box in self.label_rects() if item.visible()]

    # -- marker and hover ------------------------------------------------------------------------
    def set_marker(self, distance_m: float | None) -> None:
        if distance_m is None or self.distance_nm.size == 0:
            self.top_line.setVisible(False)
            if self._water_mark is not None:
                self._water_mark.setData([], [])
            if self.gl_mark is not None:
                self.gl_mark.setVisible(False)
            return
        dnm = distance_m * 1e9
        self.top_line.setValue(dnm)
        self.top_line.setVisible(True)
        i = int(np.argmin(np.abs(self.distance_nm - dnm)))
        idx = self.shown_indices()
        k = int(np.argmin(np.abs(idx - i)))
        if self._water_mark is not None:
            self._water_mark.setData(
                self.sweep_display, self.data.values[i] + k * self.water_offset, connect="finite"
            )
        if self.gl_mark is not None and self.surface is not None:
            x, y, z, _ = self._surface_arrays()
            pos = np.stack([np.full(y.size, x[i]), y, z[i] + 0.02], axis=1)
            self.gl_mark.setData(pos=pos)
            self.gl_mark.setVisible(True)

    def marked_index(self) -> int | None:
        if not self.top_line.isVisible():
            return None
        return int(np.argmin(np.abs(self.distance_nm - self.top_line.value())))

    def _top_moved(self, pos: QPointF) -> None:
        vb = self.top_plot.getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            self.panel._hover(None)
            return
        x = vb.mapSceneToView(pos).x()
        self.panel._hover(self._distance_from_nm(x))

    def _water_moved(self, pos: QPointF) -> None:
        vb = self.water.getViewBox()  # only connected once the waterfall exists
        if not vb.sceneBoundingRect().contains(pos) or not self.water_curves or self.water_offset <= 0:
            self.panel._hover(None)
            return
        y = vb.mapSceneToView(pos).y()
        base = float(np.nanmedian(self.data.values)) if np.isfinite(self.data.values).any() else 0.0
        k = int(np.clip(round((y - base) / self.water_offset), 0, len(self.water_curves) - 1))
        self.panel._hover(float(self.data.distance[self.water_curves[k][0]]))

    def _distance_from_nm(self, x_nm: float) -> float | None:
        d = self.distance_nm
        if d.size == 0:
            return None
        half = 0.5 * (d[-1] - d[0]) / max(d.size - 1, 1)
        if not d[0] - half <= x_nm <= d[-1] + half:
            return None
        return float(np.clip(x_nm, d[0], d[-1]) * 1e-9)


class LineCutPanel(QWidget):
    """Top view, waterfall and 3D surface of a cut, one column per co-registered grid.

    Signals: ``hovered(distance_m | None)``, ``cut_selected(cut id)``, ``settings_changed(CutSettings)``,
    ``levels_changed(grid key, lo, hi)``, ``delete_requested(cut id)``, ``draw_requested(tool)``.
    """

    hovered = Signal(object)
    cut_selected = Signal(str)
    settings_changed = Signal(object)
    levels_changed = Signal(str, float, float)
    delete_requested = Signal(str)
    draw_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        preload_opengl()
        self._columns: dict[str, _Column] = {}
        self._last_hover: float | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)

        row = QHBoxLayout()
        self.draw_line = QPushButton("Draw line")
        self.draw_line.setToolTip("Drag on any map from the start to the end of the cut")
        self.draw_line.clicked.connect(lambda: self.draw_requested.emit("line"))
        self.draw_poly = QPushButton("Draw polyline")
        self.draw_poly.setToolTip("Click the vertices on any map; double-click ends the path")
        self.draw_poly.clicked.connect(lambda: self.draw_requested.emit("polyline"))
        row.addWidget(self.draw_line)
        row.addWidget(self.draw_poly)
        row.addWidget(QLabel("Cut:"))
        self.cut_combo = QComboBox()
        self.cut_combo.setMinimumWidth(90)
        self.cut_combo.currentIndexChanged.connect(self._cut_changed)
        row.addWidget(self.cut_combo)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete_clicked)
        row.addWidget(self.delete_button)
        row.addWidget(QLabel("Show:"))
        self.quantity_combo = QComboBox()
        for q, title in QUANTITIES.items():
            self.quantity_combo.addItem(title, q)
        self.quantity_combo.currentIndexChanged.connect(self._emit_settings)
        row.addWidget(self.quantity_combo)
        row.addStretch(1)
        outer.addLayout(row)

        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Width:"))
        self.width_spin = QDoubleSpinBox()
        self.width_spin.setRange(0.0, 1000.0)
        self.width_spin.setDecimals(2)
        self.width_spin.setSuffix(" nm")
        self.width_spin.setToolTip("Average across the path over this width (0: no averaging)")
        self.width_spin.editingFinished.connect(self._emit_settings)
        row2.addWidget(self.width_spin)
        row2.addWidget(QLabel("Points:"))
        self.points_spin = QSpinBox()
        self.points_spin.setRange(0, 100000)
        self.points_spin.setSpecialValueText("1/pixel")
        self.points_spin.setToolTip("Samples along the path (1/pixel: one per pixel)")
        self.points_spin.editingFinished.connect(self._emit_settings)
        row2.addWidget(self.points_spin)
        row2.addWidget(QLabel("Colour map:"))
        self.cmap_combo = QComboBox()
        self.cmap_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.cmap_combo.setMinimumContentsLength(8)
        self.cmap_combo.addItems(list(COLORMAPS))
        self.cmap_combo.currentIndexChanged.connect(lambda _i: self._restyle())
        row2.addWidget(self.cmap_combo)
        self.auto_levels = QPushButton("Auto levels")
        self.auto_levels.clicked.connect(self.reset_levels)
        row2.addWidget(self.auto_levels)
        row2.addStretch(1)
        outer.addLayout(row2)

        # view options sit beside the tabs they concern (the waterfall and the 3D surface)
        corner = QWidget()
        row3 = QHBoxLayout(corner)
        row3.setContentsMargins(0, 0, 0, 2)
        row3.addWidget(QLabel("Waterfall offset:"))
        self.offset_spin = QDoubleSpinBox()
        self.offset_spin.setRange(0.0, 5.0)
        self.offset_spin.setSingleStep(0.02)
        self.offset_spin.setValue(0.08)
        self.offset_spin.setToolTip("Offset between spectra, as a fraction of the data range")
        self.offset_spin.valueChanged.connect(lambda _v: self._restyle())
        row3.addWidget(self.offset_spin)
        row3.addWidget(QLabel("3D height:"))
        self.height_spin = QDoubleSpinBox()
        self.height_spin.setRange(0.1, 5.0)
        self.height_spin.setSingleStep(0.1)
        self.height_spin.setValue(1.0)
        self.height_spin.valueChanged.connect(lambda _v: self._restyle())
        row3.addWidget(self.height_spin)
        self.reset_view = QPushButton("Reset 3D view")
        self.reset_view.clicked.connect(lambda: [c.reset_camera() for c in self._columns.values()])
        row3.addWidget(self.reset_view)

        self.tabs = QTabWidget()
        self.tabs.currentChanged.connect(self._tab_changed)
        self._tab_pages = []
        self._tab_layouts = []
        for title in ("Top view", "Waterfall", "3D surface"):
            page = QWidget()
            lay = QGridLayout(page)
            lay.setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(page, title)
            self._tab_pages.append(page)
            self._tab_layouts.append(lay)
        self.tabs.setCornerWidget(corner, Qt.Corner.TopRightCorner)
        outer.addWidget(self.tabs, 1)
        # the first column's top view is built ahead, in an idle turn once the panel exists (and again after
        # it is taken), so the turn that shows a new cut only hands it the data
        self._spare: _Column | None = None
        self._spare_timer = QTimer(self)
        self._spare_timer.setSingleShot(True)
        self._spare_timer.setInterval(0)
        self._spare_timer.timeout.connect(self._prepare_spare)
        self._spare_timer.start()
        self.empty_label = QLabel("Draw a line cut on a map (Analysis > Line cuts, or the buttons above).")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._tab_layouts[0].addWidget(self.empty_label, 0, 0)

    # -- settings ----------------------------------------------------------------------------------
    def colormap_name(self) -> str:
        return self.cmap_combo.currentText() or "viridis"

    def offset_fraction(self) -> float:
        return float(self.offset_spin.value())

    def height_scale(self) -> float:
        return float(self.height_spin.value())

    def settings(self) -> CutSettings:
        return CutSettings(
            width_m=float(self.width_spin.value()) * 1e-9,
            n_points=int(self.points_spin.value()),
            quantity=str(self.quantity_combo.currentData()),
        )

    def set_settings(self, s: CutSettings) -> None:
        """Show these settings without emitting ``settings_changed``."""
        blockers = [QSignalBlocker(w) for w in (self.width_spin, self.points_spin, self.quantity_combo)]
        self.width_spin.setValue(s.width_m * 1e9)
        self.points_spin.setValue(s.n_points)
        i = self.quantity_combo.findData(s.quantity)
        if i >= 0:
            self.quantity_combo.setCurrentIndex(i)
        del blockers

    def _emit_settings(self, *_args) -> None:
        self.settings_changed.emit(self.settings())

    # -- cuts --------------------------------------------------------------------------------------
    def set_cut_list(self, cuts: Sequence[tuple[str, str]], current: str | None) -> None:
        """The cuts to choose from: (id, name) each, and the one shown."""
        with QSignalBlocker(self.cut_combo):
            self.cut_combo.clear()
            for cid, name in cuts:
                self.cut_combo.addItem(name, cid)
            i = self.cut_combo.findData(current) if current is not None else -1
            self.cut_combo.setCurrentIndex(i)
        self.delete_button.setEnabled(bool(cuts))

    def current_cut(self) -> str | None:
        data = self.cut_combo.currentData()
        return str(data) if data is not None else None

    def _cut_changed(self, _i: int) -> None:
        cid = self.current_cut()
        if cid is not None:
            self.cut_selected.emit(cid)

    def _delete_clicked(self) -> None:
        cid = self.current_cut()
        if cid is not None:
            self.delete_requested.emit(cid)

    # -- columns -----------------------------------------------------------------------------------
    def set_columns(self, columns: Sequence[CutColumn]) -> None:
        """Show these cuts side by side (left to right in the given order). Columns of the same grids
        and quantity are updated in place: the user's levels and the 3D camera are kept."""
        old = self._columns
        if (
            columns
            and len(columns) == len(old)
            and all(k == c.key and old[k].compatible(c) for k, c in zip(old, columns))
        ):
            for c in columns:
                old[c.key].update(c)
            if self._last_hover is not None:
                self.set_marker(self._last_hover)
            return
        self._columns = {}
        for lay in self._tab_layouts:
            while lay.count():
                item = lay.takeAt(0)
                w = item.widget()
                if w is not None and w is not self.empty_label:
                    w.setParent(None)
                    w.deleteLater()
        self.empty_label.setVisible(not columns)
        if not columns:
            self._tab_layouts[0].addWidget(self.empty_label, 0, 0)
        for j, c in enumerate(columns):
            col = self._new_column(c)
            prev = old.get(c.key)
            if prev is not None and prev.user_levels and prev.compatible(c):
                col.set_levels(prev.levels)  # the user's levels survive a change of the other columns
            self._columns[c.key] = col
            self._tab_layouts[0].addWidget(col.top_page, 0, j)
            self._tab_layouts[1].addWidget(col.water_page, 0, j)
            self._tab_layouts[2].addWidget(col.gl_page(), 0, j)
            col.top_page.show()  # a column built ahead was hidden until placed
            col.water_page.show()
        if self._last_hover is not None:
            self.set_marker(self._last_hover)

    def _prepare_spare(self) -> None:
        if self._spare is None:
            zeros = np.zeros(2)
            col = _Column(self, CutColumn("", "", zeros, zeros, np.zeros((2, 2), np.float32)))
            for page in (col.top_page, col.water_page):  # owned with the panel, hidden until taken
                page.setParent(self)
                page.hide()
            self._spare = col

    def _new_column(self, column: CutColumn) -> _Column:
        col, self._spare = self._spare, None
        if col is None:
            return _Column(self, column)
        col.adopt(column)
        self._spare_timer.start()
        return col

    def column_keys(self) -> list[str]:
        return list(self._columns)

    def column(self, key: str) -> _Column:
        return self._columns[key]

    def image_data(self, key: str) -> np.ndarray | None:
        """(nb, n_points) array on display in the top view of grid ``key``."""
        col = self._columns.get(key)
        return None if col is None else col.image.image

    def image_rect(self, key: str) -> QRectF:
        col = self._columns[key]
        return col.image.mapRectToParent(col.image.boundingRect())

    def waterfall_data(self, key: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(sample index, x, y) of every waterfall curve of grid ``key``."""
        col = self._columns[key]
        col.ensure_waterfall()
        return [(i, *item.getData()) for i, item in col.water_curves]

    def levels(self, key: str) -> tuple[float, float]:
        return self._columns[key].levels

    def set_levels(self, key: str, lo: float, hi: float) -> None:
        self._columns[key].set_levels((lo, hi))

    def reset_levels(self) -> None:
        for col in self._columns.values():
            col.set_levels(_percentile_levels(col.data.values), user=False)

    def _tab_changed(self, index: int) -> None:
        if index == WATERFALL_TAB:
            for col in getattr(self, "_columns", {}).values():
                col.ensure_waterfall()
        elif index == SURFACE_TAB:
            for col in getattr(self, "_columns", {}).values():
                col.ensure_gl()

    def _restyle(self) -> None:
        for col in self._columns.values():
            col.refresh()
        if self._last_hover is not None:
            self.set_marker(self._last_hover)

    # -- hover -------------------------------------------------------------------------------------
    def set_marker(self, distance_m: float | None) -> None:
        """Mark ``distance_m`` along the cut in every view (None clears)."""
        self._last_hover = distance_m
        for col in self._columns.values():
            col.set_marker(distance_m)

    def _hover(self, distance_m: float | None) -> None:
        if distance_m == self._last_hover:
            return
        self.set_marker(distance_m)
        self.hovered.emit(distance_m)


__all__ = ["QUANTITIES", "CutColumn", "CutSettings", "LineCutPanel", "opengl_status"]
