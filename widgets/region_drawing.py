"""Drawing and editing regions on a map's ViewBox (physical metres): rectangle, ellipse, polygon, lasso.

:class:`RegionDrawer` attaches to a pyqtgraph ViewBox whose coordinates are metres. With a tool active,
dragging draws a rectangle or an ellipse (corner to corner) or a freehand lasso; clicks add polygon
vertices and a double-click closes the polygon; a right-click cancels. Each finished shape is emitted
once as a geometry (:mod:`analysis.maps.regions`) and the tool switches off. Existing geometry regions are
shown as pyqtgraph ROIs that can be moved and reshaped; every finished edit is emitted as
``(region id, new geometry)``. Mask regions (from a colour scale or clustering) and brushed pixels are
shown as translucent overlays laid over the image item, in its pixel grid. The drawer computes no physics
and stores no region.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainterPath, QPen

from analysis.maps.regions import Ellipse, Geometry, Lasso, Polygon, Rectangle
from widgets.gesture_catcher import GestureCatcher

TOOLS = ("rectangle", "ellipse", "polygon", "lasso")


@dataclass(frozen=True)
class RegionShape:
    """What the drawer shows for one region: a geometry ROI, or nothing (mask regions use overlays)."""

    id: str
    colour: tuple[int, int, int]
    geometry: Geometry | None = None
    selected: bool = False


def _rotate(u: float, v: float, angle_deg: float) -> tuple[float, float]:
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    return c * u - s * v, s * u + c * v


class _PathROI(pg.ROI):
    """A closed freehand outline that can be dragged (no handles): the lasso's editable form."""

    def __init__(self, points: np.ndarray, pen: QPen) -> None:
        pts = np.asarray(points, dtype=float)
        self._local = pts - pts[0]
        super().__init__(pos=tuple(pts[0]), size=(1.0, 1.0), pen=pen, movable=True, rotatable=False)
        self._path = QPainterPath()
        self._path.moveTo(QPointF(*self._local[0]))
        for x, y in self._local[1:]:
            self._path.lineTo(QPointF(x, y))
        self._path.closeSubpath()

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect()

    def shape(self) -> QPainterPath:
        return self._path

    def paint(self, p, *args) -> None:
        p.setRenderHint(p.RenderHint.Antialiasing)
        p.setPen(self.currentPen)
        p.drawPath(self._path)

    def vertices(self) -> np.ndarray:
        pos = self.pos()
        return self._local + np.array([pos.x(), pos.y()])


class _Catcher(GestureCatcher):
    """Forwards shape-drawing gestures to the drawer while a tool is active."""

    def __init__(self, drawer: RegionDrawer) -> None:
        super().__init__(drawer, z=50)

    def mouseDragEvent(self, ev) -> None:
        d = self._drawer
        if ev.button() != Qt.MouseButton.LeftButton or d.tool() not in ("rectangle", "ellipse", "lasso"):
            ev.ignore()
            return
        ev.accept()
        if ev.isStart():
            p = ev.buttonDownPos()
            d.begin(p.x(), p.y())
        p = ev.pos()
        d.extend(p.x(), p.y())
        if ev.isFinish():
            d.finish()

    def mouseClickEvent(self, ev) -> None:
        d = self._drawer
        if self.cancel_on_right_click(ev):
            return
        if d.tool() != "polygon" or ev.button() != Qt.MouseButton.LeftButton:
            return
        ev.accept()
        p = ev.pos()
        if ev.double():
            d.finish()
        else:
            d.add_vertex(p.x(), p.y())


def _outline(mask: np.ndarray, min_hole: int = 16) -> np.ndarray:
    """(ny, nx) bool: the boundary pixels of ``mask`` (4-neighbourhood), ignoring specks and holes
    smaller than ``min_hole`` pixels (noise pixels would otherwise each get a ring; they keep the tint)."""
    from scipy import ndimage

    lab, n = ndimage.label(mask)
    if n:
        sizes = np.bincount(lab.ravel(), minlength=n + 1)
        big = sizes >= min_hole
        big[0] = False
        if big.any():
            mask = big[lab]
    holes = ndimage.binary_fill_holes(mask) & ~mask
    if holes.any():
        lab, n = ndimage.label(holes)
        sizes = np.bincount(lab.ravel(), minlength=n + 1)
        small = sizes < min_hole
        small[0] = False
        mask = mask | small[lab]
    p = np.pad(mask, 1, mode="edge")
    inner = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask & ~inner


class RegionDrawer(QObject):
    """Region drawing, ROI editing and overlays on one map's ViewBox (coordinates in metres).

    ``image_item`` (optional) is the map's image; overlays are children of it, so they follow its frame
    transform (rotation included) and use its pixel grid, row-major ``(ny, nx)``.
    """

    drawn = Signal(object)  # a Geometry in metres
    geometry_edited = Signal(str, object)  # region id, new Geometry
    region_clicked = Signal(str)
    tool_changed = Signal(str)

    def __init__(self, view_box: pg.ViewBox, image_item: pg.ImageItem | None = None) -> None:
        super().__init__()
        self.view_box = view_box
        self.image_item = image_item
        self._tool = ""
        self._points: list[tuple[float, float]] = []
        self._rois: dict[str, tuple[pg.ROI, Geometry]] = {}
        self._preview = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 0), width=2, style=Qt.PenStyle.DashLine))
        self._preview.setZValue(60)
        view_box.addItem(self._preview, ignoreBounds=True)
        self._catcher = _Catcher(self)
        self._catcher.setVisible(False)
        view_box.addItem(self._catcher, ignoreBounds=True)
        view_box.sigRangeChanged.connect(self._range_changed)
        self._range_changed()
        self._mask_overlay: pg.ImageItem | None = None
        self._highlight: pg.ImageItem | None = None
        if image_item is not None:
            self._mask_overlay = pg.ImageItem(axisOrder="row-major")
            self._highlight = pg.ImageItem(axisOrder="row-major")
            for z, item in ((1, self._mask_overlay), (2, self._highlight)):
                item.setParentItem(image_item)
                item.setZValue(z)
                item.setVisible(False)

    # -- tools ------------------------------------------------------------------------------------
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        """Activate a drawing tool (one of :data:`TOOLS`) or none (``""``); a shape in progress is dropped."""
        if tool and tool not in TOOLS:
            raise ValueError(f"unknown drawing tool {tool!r}; expected one of {TOOLS}")
        self._points = []
        self._preview.setData([], [])
        changed = tool != self._tool
        self._tool = tool
        self._catcher.setVisible(bool(tool))
        for roi, _ in self._rois.values():
            roi.setAcceptedMouseButtons(Qt.MouseButton.NoButton if tool else Qt.MouseButton.LeftButton)
        if changed:
            self.tool_changed.emit(tool)

    def _range_changed(self, *args) -> None:
        r = self.view_box.viewRect()
        # generous margin so a drag that leaves the visible area keeps going
        self._catcher.update_rect(r.adjusted(-r.width(), -r.height(), r.width(), r.height()))

    # -- programmatic drawing (the mouse gestures call these) --------------------------------------
    def begin(self, x: float, y: float) -> None:
        self._points = [(float(x), float(y))]
        self._update_preview()

    def extend(self, x: float, y: float) -> None:
        if not self._points:
            self.begin(x, y)
            return
        p = (float(x), float(y))
        if self._tool == "lasso":
            if p != self._points[-1]:
                self._points.append(p)
        else:
            self._points[1:] = [p]
        self._update_preview()

    def add_vertex(self, x: float, y: float) -> None:
        self._points.append((float(x), float(y)))
        self._update_preview()

    def cancel(self) -> None:
        self._points = []
        self._preview.setData([], [])

    def finish(self) -> Geometry | None:
        """Close the shape in progress; emit and return its geometry (None when degenerate)."""
        geom = self._geometry_from_points()
        self.cancel()
        if geom is not None:
            self.drawn.emit(geom)
            self.set_tool("")
        return geom

    def _geometry_from_points(self) -> Geometry | None:
        pts = self._points
        tool = self._tool
        if tool in ("rectangle", "ellipse"):
            if len(pts) < 2:
                return None
            (x0, y0), (x1, y1) = pts[0], pts[-1]
            w, h = abs(x1 - x0), abs(y1 - y0)
            if w == 0 or h == 0:
                return None
            centre = ((x0 + x1) / 2, (y0 + y1) / 2)
            return (Rectangle if tool == "rectangle" else Ellipse)(centre, (w, h), 0.0)
        if tool in ("polygon", "lasso"):
            uniq = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
            if len(uniq) >= 2 and uniq[-1] == uniq[0]:
                uniq = uniq[:-1]
            if len(uniq) < 3:
                return None
            g = (Polygon if tool == "polygon" else Lasso)(tuple(uniq))
            return g if g.area_m2 > 0 else None
        return None

    def _update_preview(self) -> None:
        pts = self._points
        if not pts:
            self._preview.setData([], [])
            return
        if self._tool in ("rectangle", "ellipse") and len(pts) >= 2:
            (x0, y0), (x1, y1) = pts[0], pts[-1]
            if self._tool == "rectangle":
                xs = [x0, x1, x1, x0, x0]
                ys = [y0, y0, y1, y1, y0]
            else:
                t = np.linspace(0, 2 * np.pi, 65)
                xs = (x0 + x1) / 2 + abs(x1 - x0) / 2 * np.cos(t)
                ys = (y0 + y1) / 2 + abs(y1 - y0) / 2 * np.sin(t)
            self._preview.setData(np.asarray(xs, float), np.asarray(ys, float))
            return
        a = np.asarray(pts + [pts[0]], dtype=float)
        self._preview.setData(a[:, 0], a[:, 1])

    # -- editable regions --------------------------------------------------------------------------
    def set_regions(self, shapes: Sequence[RegionShape]) -> None:
        """Show these geometry regions as editable ROIs (mask regions are ignored here)."""
        wanted = {s.id: s for s in shapes if s.geometry is not None}
        for rid in list(self._rois):
            if rid not in wanted:
                self._remove_roi(rid)
        for rid, s in wanted.items():
            current = self._rois.get(rid)
            if current is not None and current[1] != s.geometry:
                self._remove_roi(rid)
                current = None
            if current is None:
                roi = self._make_roi(s)
                self._rois[rid] = (roi, s.geometry)  # type: ignore[assignment]
            roi = self._rois[rid][0]
            width = 3 if s.selected else 2
            roi.setPen(pg.mkPen(s.colour, width=width))

    def roi(self, region_id: str) -> pg.ROI | None:
        item = self._rois.get(region_id)
        return item[0] if item else None

    def region_ids(self) -> list[str]:
        return list(self._rois)

    def _remove_roi(self, rid: str) -> None:
        roi, _ = self._rois.pop(rid)
        self.view_box.removeItem(roi)

    def _make_roi(self, s: RegionShape) -> pg.ROI:
        g = s.geometry
        pen = pg.mkPen(s.colour, width=2)
        if isinstance(g, Rectangle | Ellipse):
            w, h = g.size
            ox, oy = _rotate(-w / 2, -h / 2, g.angle)
            pos = (g.center[0] + ox, g.center[1] + oy)
            if isinstance(g, Rectangle):
                roi = pg.ROI(pos, (w, h), angle=g.angle, pen=pen)
                roi.addScaleHandle([1, 1], [0, 0])
                roi.addScaleHandle([0, 0], [1, 1])
                roi.addRotateHandle([1, 0], [0.5, 0.5])
            else:
                roi = pg.EllipseROI(pos, (w, h), angle=g.angle, pen=pen)
        elif isinstance(g, Lasso):
            roi = _PathROI(g.array, pen)
        else:
            assert isinstance(g, Polygon)
            roi = pg.PolyLineROI([tuple(p) for p in g.array], closed=True, pen=pen)
        roi.setZValue(40)
        self.view_box.addItem(roi, ignoreBounds=True)
        roi.sigRegionChangeFinished.connect(lambda r, rid=s.id: self._roi_edited(rid))
        roi.sigClicked.connect(lambda r, ev, rid=s.id: self.region_clicked.emit(rid))
        if self._tool:
            roi.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        return roi

    def geometry_of(self, region_id: str) -> Geometry | None:
        """The geometry the ROI of ``region_id`` shows now (metres)."""
        item = self._rois.get(region_id)
        if item is None:
            return None
        roi, old = item
        if isinstance(old, Rectangle | Ellipse):
            st = roi.getState()
            w, h = float(st["size"][0]), float(st["size"][1])
            angle = float(st["angle"])
            ox, oy = _rotate(w / 2, h / 2, angle)
            centre = (float(st["pos"][0]) + ox, float(st["pos"][1]) + oy)
            return type(old)(centre, (abs(w), abs(h)), angle)
        if isinstance(old, Lasso):
            return Lasso(tuple(map(tuple, roi.vertices())))
        pts = []
        for h in roi.getHandles():
            p = roi.mapToParent(h.pos())
            pts.append((float(p.x()), float(p.y())))
        return Polygon(tuple(pts))

    def _roi_edited(self, rid: str) -> None:
        geom = self.geometry_of(rid)
        if geom is None:
            return
        roi, old = self._rois[rid]
        if geom == old:
            return
        self._rois[rid] = (roi, geom)
        self.geometry_edited.emit(rid, geom)

    # -- overlays ----------------------------------------------------------------------------------
    def set_mask_overlay(
        self,
        masks: Sequence[tuple[np.ndarray, tuple[int, int, int]]],
        alpha: int = 55,
        edge_alpha: int = 235,
    ) -> None:
        """Tint the image with region masks: (mask (ny, nx) bool in the image's grid, rgb) each.

        The inside gets a light tint (``alpha``) so the map stays readable; the pixels on each region's
        boundary are drawn almost opaque (``edge_alpha``) so the regions stand out."""
        if self._mask_overlay is None:
            return
        if not masks:
            self._mask_overlay.setVisible(False)
            return
        shape = masks[0][0].shape
        rgba = np.zeros((*shape, 4), dtype=np.uint8)
        for m, colour in masks:
            m = np.asarray(m, dtype=bool)
            rgba[m] = (*colour[:3], alpha)
            rgba[_outline(m)] = (*colour[:3], edge_alpha)
        self._mask_overlay.setImage(rgba, autoLevels=False, levels=(0, 255))
        self._mask_overlay.setVisible(True)

    def set_highlight(self, mask: np.ndarray | None, colour: tuple[int, int, int] = (255, 0, 255)) -> None:
        """Highlight pixels (an (ny, nx) bool mask in the image's grid), or clear with None."""
        if self._highlight is None:
            return
        if mask is None or not np.any(mask):
            self._highlight.setVisible(False)
            return
        rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
        rgba[mask] = (*colour, 200)
        self._highlight.setImage(rgba, autoLevels=False, levels=(0, 255))
        self._highlight.setVisible(True)

    def highlight_image(self) -> np.ndarray | None:
        """(ny, nx, 4) uint8 highlight overlay on display, or None."""
        if self._highlight is None or not self._highlight.isVisible():
            return None
        return self._highlight.image

    def mask_overlay_image(self) -> np.ndarray | None:
        if self._mask_overlay is None or not self._mask_overlay.isVisible():
            return None
        return self._mask_overlay.image

    def detach(self) -> None:
        """Remove every item this drawer added to the view."""
        for rid in list(self._rois):
            self._remove_roi(rid)
        self.view_box.removeItem(self._preview)
        self.view_box.removeItem(self._catcher)
        for item in (self._mask_overlay, self._highlight):
            if item is not None:
                item.setParentItem(None)
                if item.scene() is not None:
                    item.scene().removeItem(item)
        try:
            self.view_box.sigRangeChanged.disconnect(self._range_changed)
        except (RuntimeError, TypeError):
            pass
