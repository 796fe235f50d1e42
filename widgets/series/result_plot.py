"""Results against a tag: fitted or extracted values (gap, critical current, step width...) as points with
error bars, several named results on one plot, each in its own colour with a legend entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.series.common import SeriesViewBox, axis_label, export_menu, setup_plot

#: Colours of the results, in order (colour-blind safe, Okabe-Ito).
RESULT_COLOURS = (
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
    (0, 0, 0),
)
_SYMBOLS = ("o", "s", "t", "d", "+", "x", "star")


@dataclass
class Result:
    """One named result against the tag.

    tags : (n,) float, tag values in the plot's tag unit.  values : (n,) float in ``unit``.
    errors : (n,) float standard errors in ``unit`` (NaN or None: no bar).
    """

    name: str
    tags: np.ndarray
    values: np.ndarray
    errors: np.ndarray | None = None
    unit: str = ""


class ResultPlot(QWidget):
    """Points with error bars against a tag. ``set_results(results, tag_name, tag_unit)``.

    The vertical axis carries the unit shared by the results (and their names when there is one); results
    in different units share the axis without a unit and list theirs in the legend.
    Signals: ``export_requested(str)`` "png" | "svg" | "csv".
    """

    export_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        lay.addWidget(self.graphics)
        self.view_box = SeriesViewBox(self._menu)
        self.plot = self.graphics.addPlot(row=0, col=0, viewBox=self.view_box)
        setup_plot(self.plot)
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextColor=(30, 30, 30))
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 220))
        self.results: list[Result] = []
        self.items: list[tuple[pg.ScatterPlotItem, pg.ErrorBarItem]] = []

    def set_results(self, results: Sequence[Result], tag_name: str = "", tag_unit: str = "") -> None:
        """Replace the plotted results (see :class:`Result` for the array shapes and units)."""
        for scatter, bars in self.items:
            self.plot.removeItem(scatter)
            self.plot.removeItem(bars)
        self.legend.clear()
        self.items = []
        self.results = list(results)
        units = {r.unit for r in self.results}
        shared = units.pop() if len(units) == 1 else None
        for i, r in enumerate(self.results):
            colour = RESULT_COLOURS[i % len(RESULT_COLOURS)]
            t = np.asarray(r.tags, dtype=np.float64)
            v = np.asarray(r.values, dtype=np.float64)
            if t.shape != v.shape:
                raise ValueError(f"result {r.name!r}: {t.shape[0]} tag values for {v.shape[0]} values")
            e = np.zeros_like(v) if r.errors is None else np.asarray(r.errors, dtype=np.float64)
            e = np.where(np.isfinite(e), e, 0.0)
            bars = pg.ErrorBarItem(x=t, y=v, height=2 * e, beam=0.0, pen=pg.mkPen(colour, width=1.2))
            name = r.name if shared is not None or not r.unit else f"{r.name} ({r.unit})"
            scatter = pg.ScatterPlotItem(
                t,
                v,
                symbol=_SYMBOLS[i % len(_SYMBOLS)],
                size=8,
                brush=pg.mkBrush(*colour),
                pen=pg.mkPen(colour),
                name=name,
            )
            self.plot.addItem(bars)
            self.plot.addItem(scatter)
            self.items.append((scatter, bars))
        axis_label(self.plot, "bottom", tag_name, tag_unit)
        y_text = ", ".join(r.name for r in self.results) if shared is not None else "value"
        axis_label(self.plot, "left", y_text, shared or "")
        self.view_box.autoRange()

    def _menu(self, x: float, y: float):
        return export_menu(self, self.view_box, self.export_requested.emit)
