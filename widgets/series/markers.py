"""Marker tools on a plot: draggable ladders and peak/step pickers with an editable table.

* :class:`Ladder` -- lines at v_n = a/n (``"inverse"``: the subharmonic gap structure 2Delta/n) or
  v_n = n*step (``"multiple"``: Shapiro steps n*h*f/2e), n = 1..N, mirrored to negative values when
  ``symmetric``. Dragging any rung moves the whole ladder: the rung n dragged to v sets a = n*|v| or
  step = |v|/n, and ``parameter_changed(a or step)`` is emitted.
* :class:`PeakPicker` -- a plot of one curve beside a table (position, height, width; shown with the SI
  prefix of the curve's range, e.g. mV, and typed in the same prefix). A left click on the
  plot adds a marker there; dragging its line moves it; the table cells are editable; Delete removes the
  selected rows. Every change emits ``markers_changed`` with the table as a list of dicts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.series.common import DISPLAY_UNITS, NO_PREFIX, SeriesViewBox, axis_label, export_menu, setup_plot

LADDER_KINDS = ("inverse", "multiple")
#: A click this close to a marker line (screen pixels) selects the marker instead of adding one.
PICK_RADIUS_PX = 6.0
COLUMNS = ("position", "height", "width")


class Ladder(QObject):
    """A ladder of ``n_rungs`` lines on ``plot`` (a pyqtgraph PlotItem).

    kind : "inverse" (v_n = parameter / n) or "multiple" (v_n = n * parameter); parameter > 0 in the
    unit of the axis the lines cross. ``vertical`` lines mark the x axis, horizontal ones the y axis.
    Signal ``parameter_changed(float)`` is emitted while a rung is dragged.
    """

    parameter_changed = Signal(float)

    def __init__(
        self,
        plot: pg.PlotItem,
        kind: str,
        parameter: float,
        n_rungs: int = 5,
        symmetric: bool = True,
        name: str = "",
        colour: tuple[int, int, int] = (213, 94, 0),
        vertical: bool = True,
    ) -> None:
        super().__init__()
        if kind not in LADDER_KINDS:
            raise ValueError(f"kind must be one of {LADDER_KINDS}, not {kind!r}")
        if not parameter > 0:
            raise ValueError(f"the ladder parameter must be positive, not {parameter}")
        self.plot = plot
        self.kind = kind
        self.parameter = float(parameter)
        self.name = name
        self.lines: list[tuple[int, int, pg.InfiniteLine]] = []  # (n, sign, line)
        pen = pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine)
        hover = pg.mkPen(colour, width=3)
        for sign in (1, -1) if symmetric else (1,):
            for n in range(1, n_rungs + 1):
                text = self._rung_text(n) if sign > 0 else None
                # labels of neighbouring rungs at staggered heights, so close rungs stay readable
                where = 0.95 - 0.08 * ((n - 1) % 4)
                opts = {"position": where, "color": colour, "fill": (255, 255, 255, 200)}
                line = pg.InfiniteLine(
                    angle=90 if vertical else 0,
                    movable=True,
                    pen=pen,
                    hoverPen=hover,
                    label=text,
                    labelOpts=opts if text else None,
                )
                line.setZValue(20)
                line.sigDragged.connect(lambda ln, n=n: self._dragged(ln, n))
                plot.addItem(line)
                self.lines.append((n, sign, line))
        self._place()

    def _rung_text(self, n: int) -> str:
        if self.kind == "inverse":
            return f"{self.name}/{n}" if self.name else f"1/{n}"
        return f"{n}{self.name}" if self.name else f"{n}"

    def positions(self) -> np.ndarray:
        """(n_lines,) float, the rung positions in line order (positive side first)."""
        return np.array([sign * self.rung(n) for n, sign, _ in self.lines])

    def rung(self, n: int) -> float:
        """Position of rung n on the positive side."""
        return self.parameter / n if self.kind == "inverse" else n * self.parameter

    def set_parameter(self, value: float) -> None:
        """Move the ladder to ``value`` (a or step) without emitting."""
        if value > 0:
            self.parameter = float(value)
            self._place()

    def remove(self) -> None:
        """Take the ladder's lines off the plot."""
        for _n, _s, line in self.lines:
            self.plot.removeItem(line)
        self.lines = []

    def _place(self, skip: pg.InfiniteLine | None = None) -> None:
        for n, sign, line in self.lines:
            if line is not skip:
                line.blockSignals(True)
                line.setValue(sign * self.rung(n))
                line.blockSignals(False)

    def _dragged(self, line: pg.InfiniteLine, n: int) -> None:
        v = abs(float(line.value()))
        if v <= 0:
            return
        self.parameter = v * n if self.kind == "inverse" else v / n
        self._place(skip=line)
        self.parameter_changed.emit(self.parameter)


class _Marker:
    """The graphics of one picked marker: a draggable line and a bar of the marker's width at its height."""

    def __init__(self, picker: PeakPicker, position: float, height: float, width: float) -> None:
        self.position, self.height, self.width = position, height, width
        colour = picker.colour
        self.line = pg.InfiniteLine(
            pos=position,
            angle=90,
            movable=True,
            pen=pg.mkPen(colour, width=1.5),
            hoverPen=pg.mkPen(colour, width=3),
            label="",
            labelOpts={"position": 0.92, "color": colour, "fill": (255, 255, 255, 200)},
        )
        self.line.setZValue(20)
        self.bar = pg.PlotCurveItem(pen=pg.mkPen(colour, width=3))
        self.bar.setZValue(19)
        self.dot = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(*colour), pen=pg.mkPen(colour))
        self.dot.setZValue(19)
        self.update()

    def update(self) -> None:
        self.line.blockSignals(True)
        self.line.setValue(self.position)
        self.line.blockSignals(False)
        self.bar.setData([self.position - self.width / 2, self.position + self.width / 2], [self.height] * 2)
        self.dot.setData([self.position], [self.height])

    def as_dict(self) -> dict[str, float]:
        return {"position": self.position, "height": self.height, "width": self.width}


class PeakPicker(QWidget):
    """A curve with picked markers and their editable table.

    kind : "peak" or "step" (a label only: both carry position, height and width).
    Signals: ``markers_changed(list)`` the markers as ``[{"position", "height", "width"}, ...]`` in
    position order (position and width in x units, height in y units); ``export_requested(str)``.
    """

    markers_changed = Signal(list)
    export_requested = Signal(str)

    def __init__(self, kind: str = "peak", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.colour = (0, 114, 178) if kind == "peak" else (0, 158, 115)
        self.markers: list[_Marker] = []
        self.x_unit = ""
        self.y_unit = ""
        # the table shows values with the SI prefix of the curve's range: (factor, prefix) per column
        self.scales: list[tuple[float, str]] = [(1.0, "")] * 3
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        split = QSplitter(Qt.Orientation.Horizontal)
        lay.addWidget(split)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.view_box = SeriesViewBox(self._menu, self._clicked)
        self.plot = self.graphics.addPlot(row=0, col=0, viewBox=self.view_box)
        setup_plot(self.plot)
        self.curve = self.plot.plot(pen=pg.mkPen((40, 40, 40), width=1.5))
        split.addWidget(self.graphics)
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(4, 0, 0, 0)
        hint = QLabel(
            f"{kind.capitalize()}s: click the plot to add one, drag its line to move it, edit the table"
        )
        hint.setWordWrap(True)
        side_lay.addWidget(hint)
        self.table = QTableWidget(0, 3)
        self.table.verticalHeader().setVisible(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.itemChanged.connect(self._cell_edited)
        self.table.installEventFilter(self)
        side_lay.addWidget(self.table, 1)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.clicked.connect(self.remove_selected)
        side_lay.addWidget(self.remove_button)
        side.setMinimumWidth(300)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self._headers()

    # -- data --------------------------------------------------------------------------------------
    def set_curve(
        self,
        x: np.ndarray,
        y: np.ndarray,
        x_label: str = "",
        x_unit: str = "",
        y_label: str = "",
        y_unit: str = "",
    ) -> None:
        """The curve to pick on: x, y (n,) float in ``x_unit`` / ``y_unit``, drawn in measured order."""
        self.curve.setData(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), connect="finite")
        self.x_unit, self.y_unit = x_unit, y_unit
        sx = _si_scale(x) if x_unit not in NO_PREFIX else (1.0, "")
        sy = _si_scale(y) if y_unit not in NO_PREFIX else (1.0, "")
        self.scales = [sx, sy, sx]
        axis_label(self.plot, "bottom", x_label, x_unit)
        axis_label(self.plot, "left", y_label, y_unit)
        self._headers()
        self._fill_table()
        self.view_box.autoRange()

    def set_markers(self, markers: Sequence[dict]) -> None:
        """Replace the markers (dicts with position, height, width) without emitting."""
        for m in self.markers:
            self._drop(m)
        self.markers = []
        for d in markers:
            self._add(float(d["position"]), float(d["height"]), float(d.get("width", 0.0)))
        self._fill_table()

    def marker_list(self) -> list[dict[str, float]]:
        """The markers as dicts (position, height, width), in position order."""
        return [m.as_dict() for m in self.markers]

    def remove_selected(self) -> None:
        """Remove the markers of the selected table rows."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        if not rows:
            return
        for r in rows:
            self._drop(self.markers.pop(r))
        self._fill_table()
        self._emit()

    # -- gestures ----------------------------------------------------------------------------------
    def _clicked(self, x: float, y: float) -> bool:
        px, _py = self.view_box.viewPixelSize()
        near = [i for i, m in enumerate(self.markers) if abs(m.position - x) <= PICK_RADIUS_PX * px]
        if near:
            self.table.selectRow(near[0])
            return True
        x0, x1 = self.view_box.viewRange()[0]
        self._add(x, y, (x1 - x0) / 50.0)
        self._fill_table()
        self._emit()
        return True

    def _line_dragged(self, marker: _Marker) -> None:
        marker.position = float(marker.line.value())
        marker.update()
        row = self.markers.index(marker)
        self.table.blockSignals(True)
        self.table.item(row, 0).setText(self._text(0, marker.position))
        self.table.blockSignals(False)

    def _line_released(self, marker: _Marker) -> None:
        self._line_dragged(marker)
        self._fill_table()
        self._emit()

    def _cell_edited(self, item: QTableWidgetItem) -> None:
        row, col = item.row(), item.column()
        if row >= len(self.markers):
            return
        marker = self.markers[row]
        try:
            value = float(item.text()) / self.scales[col][0]
        except ValueError:
            value = None
        if value is None or not np.isfinite(value) or (col == 2 and value < 0):
            self.table.blockSignals(True)
            item.setText(self._text(col, getattr(marker, COLUMNS[col])))
            self.table.blockSignals(False)
            return
        setattr(marker, COLUMNS[col], value)
        marker.update()
        self._fill_table()
        self._emit()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.table and event.type() == event.Type.KeyPress and event.key() == Qt.Key.Key_Delete:
            if self.table.state() != QAbstractItemView.State.EditingState:
                self.remove_selected()
                return True
        return super().eventFilter(obj, event)

    # -- internals ---------------------------------------------------------------------------------
    def _add(self, position: float, height: float, width: float) -> _Marker:
        m = _Marker(self, position, height, width)
        for item in (m.bar, m.dot, m.line):
            self.plot.addItem(item)
        m.line.sigDragged.connect(lambda _ln, m=m: self._line_dragged(m))
        m.line.sigPositionChangeFinished.connect(lambda _ln, m=m: self._line_released(m))
        self.markers.append(m)
        return m

    def _drop(self, m: _Marker) -> None:
        for item in (m.bar, m.dot, m.line):
            self.plot.removeItem(item)

    def _fill_table(self) -> None:
        self.markers.sort(key=lambda m: m.position)
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.markers))
        for r, m in enumerate(self.markers):
            m.line.label.setFormat(str(r + 1))
            for c, key in enumerate(COLUMNS):
                self.table.setItem(r, c, QTableWidgetItem(self._text(c, getattr(m, key))))
        self.table.blockSignals(False)

    def _text(self, col: int, value: float) -> str:
        return f"{value * self.scales[col][0]:.6g}"

    def _headers(self) -> None:
        units = (self.x_unit, self.y_unit, self.x_unit)
        labels = []
        for c, u, (_f, prefix) in zip(COLUMNS, units, self.scales):
            shown = prefix + DISPLAY_UNITS.get(u, u)
            labels.append(f"{c.capitalize()} ({shown})" if shown else c.capitalize())
        self.table.setHorizontalHeaderLabels(labels)

    def _emit(self) -> None:
        self.markers_changed.emit(self.marker_list())

    def view_to_widget(self, x: float, y: float):
        """Position in ``self.graphics.viewport()`` coordinates of the data point (x, y)."""
        return self.graphics.mapFromScene(self.view_box.mapViewToScene(pg.QtCore.QPointF(x, y)))

    def _menu(self, x: float, y: float):
        return export_menu(self, self.view_box, self.export_requested.emit)


def _si_scale(values: np.ndarray) -> tuple[float, str]:
    """(factor, prefix) that brings the largest finite |value| of ``values`` to 1..1000."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v)]
    return pg.siScale(float(v.max())) if v.size else (1.0, "")
