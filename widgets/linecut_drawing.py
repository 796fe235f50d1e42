"""Drawing and editing line cuts on a map's ViewBox (physical metres): a line or a polyline.

:class:`LineCutDrawer` attaches to a pyqtgraph ViewBox whose coordinates are metres. With the ``"line"``
tool, dragging draws a straight cut from the press to the release point (or two clicks place its ends);
with ``"polyline"``, clicks add vertices and a double-click ends the path. A right-click cancels. Each
finished path is emitted once as a list of (x, y) vertices in metres and the tool switches off.

Existing cuts are shown as pyqtgraph ``PolyLineROI`` (open) items whose handles can be dragged; a finished
edit is emitted as ``(cut id, vertices)``. A start label marks distance zero, an optional band shows the
averaging width, and :meth:`LineCutDrawer.set_marker` shows the position hovered in the cut views. The
drawer computes nothing and stores no cut.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal

from widgets.gesture_catcher import GestureCatcher

TOOLS = ("line", "polyline")


@dataclass(frozen=True)
class CutShape:
    """What the drawer shows for one cut: vertices (x, y) in metres, colour, label, averaging width."""

    id: str
    vertices: tuple[tuple[float, float], ...]
    colour: tuple[int, int, int] = (255, 80, 0)
    label: str = ""
    width_m: float = 0.0
    selected: bool = False


class _Catcher(GestureCatcher):
    """Forwards line and polyline gestures to the drawer while a tool is active."""

    def __init__(self, drawer: LineCutDrawer) -> None:
        super().__init__(drawer, z=51)
        self.setAcceptHoverEvents(True)

    def hoverEvent(self, ev) -> None:
        d = self._drawer
        if ev.isExit() or not d._points:
            return
        p = ev.pos()
        d.rubber_band(p.x(), p.y())

    def mouseDragEvent(self, ev) -> None:
        d = self._drawer
        if ev.button() != Qt.MouseButton.LeftButton or d.tool() != "line":
            ev.ignore()
            return
        ev.accept()
        if ev.isStart():
            p = ev.buttonDownPos()
            d.begin(p.x(), p.y())
        p = ev.pos()
        d.rubber_band(p.x(), p.y())
        if ev.isFinish():
            d.add_vertex(p.x(), p.y())
            d.finish()

    def mouseClickEvent(self, ev) -> None:
        d = self._drawer
        if self.cancel_on_right_click(ev):
            return
        if ev.button() != Qt.MouseButton.LeftButton or not d.tool():
            return
        ev.accept()
        p = ev.pos()
        if ev.double():
            d.finish()
            return
        d.add_vertex(p.x(), p.y())
        if d.tool() == "line" and len(d.points()) >= 2:
            d.finish()


class LineCutDrawer(QObject):
    """Line-cut drawing, editable cut ROIs and a hover marker on one map's ViewBox (metres)."""

    drawn = Signal(object)  # list[(x, y)] vertices in metres
    edited = Signal(str, object)  # cut id, list[(x, y)]
    cut_clicked = Signal(str)
    tool_changed = Signal(str)

    def __init__(self, view_box: pg.ViewBox) -> None:
        super().__init__()
        self.view_box = view_box
        self._tool = ""
        self._points: list[tuple[float, float]] = []
        self._cuts: dict[str, tuple[pg.PolyLineROI, CutShape, pg.TextItem, pg.PlotCurveItem]] = {}
        self._preview = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 0), width=2, style=Qt.PenStyle.DashLine))
        self._preview.setZValue(60)
        view_box.addItem(self._preview, ignoreBounds=True)
        self._marker = pg.ScatterPlotItem(
            size=13, symbol="o", pen=pg.mkPen((0, 0, 0), width=2), brush=pg.mkBrush(255, 255, 0)
        )
        self._marker.setZValue(61)
        self._marker.setVisible(False)
        view_box.addItem(self._marker, ignoreBounds=True)
        self._catcher = _Catcher(self)
        self._catcher.setVisible(False)
        view_box.addItem(self._catcher, ignoreBounds=True)
        view_box.sigRangeChanged.connect(self._range_changed)
        self._range_changed()

    # -- tools ------------------------------------------------------------------------------------
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        """Activate ``"line"`` or ``"polyline"``, or none (``""``); a path in progress is dropped."""
        if tool and tool not in TOOLS:
            raise ValueError(f"unknown line-cut tool {tool!r}; expected one of {TOOLS}")
        self.cancel()
        changed = tool != self._tool
        self._tool = tool
        self._catcher.setVisible(bool(tool))
        for roi, *_ in self._cuts.values():
            roi.setAcceptedMouseButtons(Qt.MouseButton.NoButton if tool else Qt.MouseButton.LeftButton)
        if changed:
            self.tool_changed.emit(tool)

    def _range_changed(self, *args) -> None:
        r = self.view_box.viewRect()
        self._catcher.update_rect(r.adjusted(-r.width(), -r.height(), r.width(), r.height()))

    # -- programmatic drawing (the mouse gestures call these) --------------------------------------
    def points(self) -> list[tuple[float, float]]:
        return list(self._points)

    def begin(self, x: float, y: float) -> None:
        self._points = [(float(x), float(y))]
        self._update_preview()

    def add_vertex(self, x: float, y: float) -> None:
        p = (float(x), float(y))
        if not self._points or p != self._points[-1]:
            self._points.append(p)
        self._update_preview()

    def rubber_band(self, x: float, y: float) -> None:
        """Preview the next segment to (x, y) while drawing."""
        if self._points:
            self._update_preview((float(x), float(y)))

    def cancel(self) -> None:
        self._points = []
        self._preview.setData([], [])

    def finish(self) -> list[tuple[float, float]] | None:
        """End the path in progress; emit and return its vertices (None when it has no length)."""
        pts = [p for i, p in enumerate(self._points) if i == 0 or p != self._points[i - 1]]
        if self._tool == "line" and len(pts) > 2:
            pts = [pts[0], pts[-1]]
        self.cancel()
        if len(pts) < 2 or _length(pts) <= 0:
            return None
        self.drawn.emit(pts)
        self.set_tool("")
        return pts

    def _update_preview(self, extra: tuple[float, float] | None = None) -> None:
        pts = list(self._points) + ([extra] if extra is not None else [])
        if not pts:
            self._preview.setData([], [])
            return
        a = np.asarray(pts, dtype=float)
        self._preview.setData(a[:, 0], a[:, 1])

    # -- editable cuts -----------------------------------------------------------------------------
    def set_cuts(self, shapes: Sequence[CutShape]) -> None:
        """Show these cuts as editable open polylines (unchanged cuts keep their items)."""
        wanted = {s.id: s for s in shapes}
        for cid in list(self._cuts):
            if cid not in wanted:
                self._remove(cid)
        for cid, s in wanted.items():
            current = self._cuts.get(cid)
            if current is not None and current[1] == s:
                continue
            if current is not None and current[1].vertices == s.vertices:
                self._style(cid, s)
                continue
            if current is not None:
                self._remove(cid)
            self._make(s)

    def cut_ids(self) -> list[str]:
        return list(self._cuts)

    def roi(self, cut_id: str) -> pg.PolyLineROI | None:
        item = self._cuts.get(cut_id)
        return item[0] if item else None

    def vertices_of(self, cut_id: str) -> list[tuple[float, float]] | None:
        """The vertices (metres) the ROI of ``cut_id`` shows now."""
        item = self._cuts.get(cut_id)
        if item is None:
            return None
        roi = item[0]
        out = []
        for h in roi.getHandles():
            p = roi.mapToParent(h.pos())
            out.append((float(p.x()), float(p.y())))
        return out

    def _make(self, s: CutShape) -> None:
        roi = pg.PolyLineROI([tuple(v) for v in s.vertices], closed=False, movable=True)
        roi.setZValue(40)
        self.view_box.addItem(roi, ignoreBounds=True)
        label = pg.TextItem(s.label, color=(255, 255, 255), fill=pg.mkBrush(0, 0, 0, 140), anchor=(0.5, 1.15))
        label.setZValue(41)
        self.view_box.addItem(label, ignoreBounds=True)
        band = pg.PlotCurveItem(pen=pg.mkPen(s.colour, width=1, style=Qt.PenStyle.DotLine))
        band.setZValue(39)
        self.view_box.addItem(band, ignoreBounds=True)
        roi.sigRegionChangeFinished.connect(lambda _r, cid=s.id: self._roi_edited(cid))
        roi.sigRegionChanged.connect(lambda _r, cid=s.id: self._follow(cid))
        roi.sigClicked.connect(lambda _r, _ev, cid=s.id: self.cut_clicked.emit(cid))
        if self._tool:
            roi.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._cuts[s.id] = (roi, s, label, band)
        self._style(s.id, s)

    def _style(self, cid: str, s: CutShape) -> None:
        roi, _old, label, band = self._cuts[cid]
        self._cuts[cid] = (roi, s, label, band)
        roi.setPen(pg.mkPen(s.colour, width=3 if s.selected else 2))
        label.setText(s.label)
        self._follow(cid)

    def _follow(self, cid: str) -> None:
        """Keep the start label and the width band on the (possibly moving) path."""
        roi, s, label, band = self._cuts[cid]
        verts = self.vertices_of(cid) or list(s.vertices)
        label.setPos(*verts[0])
        xs, ys = _band(verts, s.width_m)
        band.setData(xs, ys, connect="finite")

    def _remove(self, cid: str) -> None:
        roi, _s, label, band = self._cuts.pop(cid)
        for item in (roi, label, band):
            self.view_box.removeItem(item)

    def _roi_edited(self, cid: str) -> None:
        verts = self.vertices_of(cid)
        roi, s, label, band = self._cuts[cid]
        if verts is None or len(verts) < 2 or _length(verts) <= 0:
            return
        if tuple(verts) == s.vertices:
            return
        self._cuts[cid] = (
            roi,
            CutShape(s.id, tuple(verts), s.colour, s.label, s.width_m, s.selected),
            label,
            band,
        )
        self.edited.emit(cid, verts)

    # -- hover marker ------------------------------------------------------------------------------
    def set_marker(self, xy: tuple[float, float] | None) -> None:
        """Mark a position (metres) on the map, e.g. the point hovered in a cut view; None hides it."""
        if xy is None:
            self._marker.setVisible(False)
            return
        self._marker.setData([xy[0]], [xy[1]])
        self._marker.setVisible(True)

    def marker(self) -> tuple[float, float] | None:
        if not self._marker.isVisible() or not len(self._marker.data):
            return None
        return float(self._marker.data["x"][0]), float(self._marker.data["y"][0])

    def detach(self) -> None:
        """Remove every item this drawer added to the view."""
        for cid in list(self._cuts):
            self._remove(cid)
        for item in (self._preview, self._marker, self._catcher):
            self.view_box.removeItem(item)
        try:
            self.view_box.sigRangeChanged.disconnect(self._range_changed)
        except (RuntimeError, TypeError):
            pass


def _length(pts: Sequence[tuple[float, float]]) -> float:
    a = np.asarray(pts, dtype=float)
    return float(np.sum(np.hypot(*np.diff(a, axis=0).T))) if len(a) >= 2 else 0.0


def _band(verts: Sequence[tuple[float, float]], width_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The two edges of the averaging band (+-width/2 along each segment's normal), NaN-separated."""
    if width_m <= 0 or len(verts) < 2:
        return np.zeros(0), np.zeros(0)
    xs: list[float] = []
    ys: list[float] = []
    for side in (-0.5, 0.5):
        for (x0, y0), (x1, y1) in zip(verts[:-1], verts[1:]):
            length = math.hypot(x1 - x0, y1 - y0)
            if length == 0:
                continue
            nx, ny = -(y1 - y0) / length, (x1 - x0) / length
            off = side * width_m
            xs += [x0 + nx * off, x1 + nx * off, math.nan]
            ys += [y0 + ny * off, y1 + ny * off, math.nan]
    return np.asarray(xs), np.asarray(ys)


__all__ = ["TOOLS", "CutShape", "LineCutDrawer"]
