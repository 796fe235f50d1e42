"""Spectrum view: one plot per co-registered grid, with live, selected and pinned spectra.

The panel draws the curves it is given (``set_curves``), marks sweep points with draggable vertical lines
(``set_bias_lines``; dragging emits ``bias_line_moved``) and lists pinned points (``set_pins``; removing one
emits ``unpin_requested``). Channel, direction (forward/backward) and quantity (dI/dV or I) choices are
emitted for the owner to act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from widgets.empty_state import EmptyState

DIRECTIONS = (("fwd", "Forward"), ("bwd", "Backward"), ("both", "Forward + backward"))
QUANTITIES = (("didv", "dI/dV"), ("current", "I"), ("any", "Per plot"))


@dataclass
class PlotSpec:
    """One plot: ``key`` (dataset key), title, channel names, the chosen channel, sweep axis label/unit."""

    key: str
    title: str
    channels: list[str] = field(default_factory=list)
    channel: str = ""
    x_label: str = "Bias"
    x_unit: str = "V"
    y_label: str = ""
    y_unit: str = ""


@dataclass
class Curve:
    """A curve: ``id`` unique within its plot; colour RGB; ``style`` "solid" | "dash" | "dot"; ``name``
    labels it in exports; ``exported`` False keeps a passing curve (the one under the mouse) out of them."""

    id: str
    x: np.ndarray
    y: np.ndarray
    color: tuple[int, int, int] = (0, 0, 0)
    width: float = 1.5
    style: str = "solid"
    name: str = ""
    exported: bool = True


_STYLES = {"solid": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine, "dot": Qt.PenStyle.DotLine}


class _PlotViewBox(pg.ViewBox):
    def __init__(self, row: _PlotRow) -> None:
        super().__init__()
        self._row = row

    def raiseContextMenu(self, ev) -> None:
        self._row.build_context_menu().popup(ev.screenPos().toPoint())


class _ElidedLabel(QLabel):
    """A bold one-line label that ends in an ellipsis when too narrow (full text in the tooltip)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        font = self.font()
        font.setBold(True)
        self.setFont(font)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        super().setText(
            metrics.elidedText(self.full_text, Qt.TextElideMode.ElideRight, max(self.width(), 20))
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(40)
        return hint

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setWidth(self.fontMetrics().horizontalAdvance(self.full_text) + 4)
        return hint


class _PlotRow(QWidget):
    def __init__(self, panel: SpectrumPanel, spec: PlotSpec) -> None:
        super().__init__()
        self.panel = panel
        self.key = spec.key
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        head = QHBoxLayout()
        self.title = _ElidedLabel(spec.title)
        self.title.setMinimumWidth(40)
        head.addWidget(self.title, 1)
        self.channel_combo = QComboBox()
        self.channel_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.channel_combo.setMinimumContentsLength(6)
        self.channel_combo.currentTextChanged.connect(
            lambda t: t and self.panel.channel_selected.emit(self.key, t)
        )
        head.addWidget(self.channel_combo)
        lay.addLayout(head)
        self.plot_widget = pg.PlotWidget(viewBox=_PlotViewBox(self), background="w")
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.showGrid(x=True, y=True, alpha=0.25)
        self.plot_item.hideButtons()
        # PlotItem.setMenuEnabled(False) alone disables the view box menu too, and with it the right-click
        # menu this view builds (see raiseContextMenu): keep the view box menu on.
        self.plot_item.setMenuEnabled(False, enableViewBoxMenu=True)
        self.empty = EmptyState(self.plot_widget, "Point at or click a map to see its spectrum here.")
        lay.addWidget(self.empty, 1)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.exported: list[str] = []
        self.lines: dict[str, pg.InfiniteLine] = {}
        self.update_spec(spec)

    def update_spec(self, spec: PlotSpec) -> None:
        self.title.set_full_text(spec.title)
        self.channel_combo.blockSignals(True)
        if [self.channel_combo.itemText(i) for i in range(self.channel_combo.count())] != spec.channels:
            self.channel_combo.clear()
            self.channel_combo.addItems(spec.channels)
        self.channel_combo.setCurrentText(spec.channel)
        self.channel_combo.blockSignals(False)
        self.plot_item.setLabel("bottom", spec.x_label, units=spec.x_unit)
        self.plot_item.setLabel("left", spec.y_label or spec.channel, units=spec.y_unit)

    def set_curves(self, curves: Sequence[Curve]) -> None:
        wanted = {c.id for c in curves}
        for cid in list(self.curves):
            if cid not in wanted:
                self.plot_item.removeItem(self.curves.pop(cid))
        self.set_curves_only(curves)
        self.exported = [c.id for c in curves if c.exported]  # in the order given
        self.empty.set_empty(not self.curves)

    def update_curves(self, curves: Sequence[Curve], prefix: str) -> None:
        """Set ``curves`` and remove the other curves whose id starts with ``prefix``; every other curve is
        left untouched (a hover moves one curve, not the pinned ones)."""
        wanted = {c.id for c in curves}
        for cid in [c for c in self.curves if c.startswith(prefix) and c not in wanted]:
            self.plot_item.removeItem(self.curves.pop(cid))
        self.set_curves_only(curves)
        kept = [cid for cid in self.exported if not cid.startswith(prefix)]
        self.exported = kept + [c.id for c in curves if c.exported]
        self.empty.set_empty(not self.curves)

    def set_curves_only(self, curves: Sequence[Curve]) -> None:
        for c in curves:
            pen = pg.mkPen(c.color, width=c.width, style=_STYLES.get(c.style, Qt.PenStyle.SolidLine))
            item = self.curves.get(c.id)
            if item is None:
                # an antialiased pen wider than one pixel costs ~6 ms per 512-point curve to stroke in
                # software, so a few pins made every hover repaint take 50 ms and more: wide pens are drawn
                # without antialiasing, hairlines (drawn as line segments) keep it
                item = self.plot_item.plot(c.x, c.y, pen=pen, name=c.name, antialias=c.width <= 1.0)
                self.curves[c.id] = item
            else:
                item.setData(c.x, c.y, antialias=c.width <= 1.0)
                item.setPen(pen)
            item.opts["name"] = c.name

    def set_lines(self, lines: Sequence[tuple[str, float, tuple[int, int, int]]]) -> None:
        wanted = {lid for lid, _v, _c in lines}
        for lid in list(self.lines):
            if lid not in wanted:
                self.plot_item.removeItem(self.lines.pop(lid))
        for lid, value, color in lines:
            line = self.lines.get(lid)
            if line is None:
                line = pg.InfiniteLine(
                    angle=90,
                    movable=True,
                    pen=pg.mkPen(color, width=2),
                    hoverPen=pg.mkPen(color, width=4),
                )
                line.setZValue(10)
                line.sigPositionChanged.connect(lambda ln, lid=lid: self._line_moved(lid, ln))
                self.plot_item.addItem(line, ignoreBounds=True)
                self.lines[lid] = line
            if line.value() != value:
                line.blockSignals(True)
                line.setValue(value)
                line.blockSignals(False)

    def _line_moved(self, lid: str, line: pg.InfiniteLine) -> None:
        self.panel.bias_line_moved.emit(lid, float(line.value()))

    def build_context_menu(self) -> QMenu:
        menu = QMenu(self)
        reset = menu.addAction("Reset zoom")
        reset.triggered.connect(lambda: self.plot_item.getViewBox().autoRange())
        export = menu.addMenu("Export")
        for kind, label in (
            ("png", "Plot as PNG..."),
            ("svg", "Plot as SVG..."),
            ("csv", "Curves as CSV..."),
        ):
            act = export.addAction(label)
            act.triggered.connect(lambda _=False, k=kind: self.panel.export_requested.emit(k, self.key))
        return menu


class SpectrumPanel(QWidget):
    """Stacked spectrum plots (one per grid) and the list of pinned points."""

    channel_selected = Signal(str, str)  # plot key, channel
    direction_selected = Signal(str)  # "fwd" | "bwd" | "both"
    quantity_selected = Signal(str)  # "didv" | "current" | "any"
    bias_line_moved = Signal(str, float)  # line id, sweep value (SI)
    unpin_requested = Signal(str)
    clear_pins_requested = Signal()
    pin_selected_requested = Signal()
    pin_on_click_toggled = Signal(bool)
    export_requested = Signal(str, str)  # kind, plot key

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        self.quantity_combo = QComboBox()
        for key, text in QUANTITIES:
            self.quantity_combo.addItem(text, key)
        self.quantity_combo.currentIndexChanged.connect(
            lambda _i: self.quantity_selected.emit(self.quantity_combo.currentData())
        )
        bar.addWidget(self.quantity_combo)
        self.direction_combo = QComboBox()
        for key, text in DIRECTIONS:
            self.direction_combo.addItem(text, key)
        self.direction_combo.currentIndexChanged.connect(
            lambda _i: self.direction_selected.emit(self.direction_combo.currentData())
        )
        bar.addWidget(self.direction_combo)
        bar.addStretch(1)
        lay.addLayout(bar)

        self.outer = QSplitter(Qt.Orientation.Vertical)
        lay.addWidget(self.outer, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.outer.addWidget(self.splitter)
        self.empty_hint = QLabel("Open a grid and point at a map to see its spectra.")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setStyleSheet("color: #777;")
        self.splitter.addWidget(self.empty_hint)

        pins = QWidget()
        pl = QVBoxLayout(pins)
        pl.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(QLabel("Pinned"), 1)
        self.pin_on_click = QCheckBox("Pin on click")
        self.pin_on_click.setToolTip(
            "Pin the spectrum of every point clicked on a map (Shift+click always pins)"
        )
        self.pin_on_click.setChecked(True)
        self.pin_on_click.toggled.connect(self.pin_on_click_toggled)
        head.addWidget(self.pin_on_click)
        pl.addLayout(head)
        head = QHBoxLayout()  # the buttons on a row of their own: the pin column is narrow
        self.pin_button = QPushButton("Pin")
        self.pin_button.setToolTip("Pin the selected (clicked) point")
        self.pin_button.clicked.connect(self.pin_selected_requested)
        head.addWidget(self.pin_button)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_selected)
        head.addWidget(self.remove_button)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear_pins_requested)
        head.addWidget(self.clear_button)
        head.addStretch(1)
        pl.addLayout(head)
        self.pin_list = QListWidget()
        self.pin_list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        pl.addWidget(self.pin_list)
        self.outer.addWidget(pins)
        self.pins_box = pins
        self.outer.setStretchFactor(0, 4)
        self.outer.setStretchFactor(1, 1)
        self.rows: dict[str, _PlotRow] = {}
        self._wide: bool | None = None
        # one plot row is built ahead, in an event-loop turn of its own once the panel exists (and again
        # after it is taken): a grid's plot is then ready when its first data arrive, instead of being
        # built in the turn that shows them
        self._spare: _PlotRow | None = None
        self._spare_timer = QTimer(self)
        self._spare_timer.setSingleShot(True)
        self._spare_timer.setInterval(0)
        self._spare_timer.timeout.connect(self._prepare_spare)
        self._spare_timer.start()

    def _prepare_spare(self) -> None:
        if self._spare is None:
            self._spare = _PlotRow(self, PlotSpec("", ""))
            self._spare.setParent(self)  # owned (and deleted) with the panel, hidden until taken
            self._spare.hide()

    def _new_row(self, spec: PlotSpec) -> _PlotRow:
        row, self._spare = self._spare, None
        if row is None:
            return _PlotRow(self, spec)
        row.key = spec.key
        row.update_spec(spec)
        self._spare_timer.start()
        return row

    def resizeEvent(self, event) -> None:
        """Plots side by side (pins on the right) in a wide panel, stacked in a tall one."""
        super().resizeEvent(event)
        wide = self.width() > 1.4 * self.height()
        if wide != self._wide:
            self._wide = wide
            o = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
            self.splitter.setOrientation(o)
            self.outer.setOrientation(o)
            self.pins_box.setMaximumWidth(240 if wide else 16777215)
            total = self.width() if wide else self.height()
            self.outer.setSizes([int(0.84 * total), int(0.16 * total)])

    # -- plots ----------------------------------------------------------------------------------------
    def set_plots(self, specs: Sequence[PlotSpec]) -> None:
        keys = [s.key for s in specs]
        for key in list(self.rows):
            if key not in keys:
                row = self.rows.pop(key)
                row.setParent(None)
                row.deleteLater()
        for spec in specs:
            row = self.rows.get(spec.key)
            if row is None:
                row = self._new_row(spec)
                self.rows[spec.key] = row
                self.splitter.insertWidget(self.splitter.count(), row)
            else:
                row.update_spec(spec)
        for i, key in enumerate(keys):
            self.splitter.insertWidget(i, self.rows[key])
            self.rows[key].show()  # a row built ahead was hidden until placed
        self.empty_hint.setVisible(not specs)

    def plot_keys(self) -> list[str]:
        """Plot keys in display order."""
        by_widget = {id(row): key for key, row in self.rows.items()}
        widgets = (self.splitter.widget(i) for i in range(self.splitter.count()))
        return [by_widget[id(w)] for w in widgets if id(w) in by_widget]

    def set_curves(self, key: str, curves: Sequence[Curve]) -> None:
        if key in self.rows:
            self.rows[key].set_curves(curves)

    def update_curves(self, key: str, curves: Sequence[Curve], prefix: str) -> None:
        """Replace the curves of plot ``key`` whose ids start with ``prefix`` by ``curves``; others stay."""
        if key in self.rows:
            self.rows[key].update_curves(curves, prefix)

    def curve(self, key: str, curve_id: str) -> pg.PlotDataItem | None:
        row = self.rows.get(key)
        return row.curves.get(curve_id) if row else None

    def curve_ids(self, key: str) -> list[str]:
        row = self.rows.get(key)
        return list(row.curves) if row else []

    def exported_items(self, key: str) -> list[pg.PlotDataItem]:
        """The curves of plot ``key`` an export writes (not the passing one under the mouse)."""
        row = self.rows.get(key)
        return [row.curves[cid] for cid in row.exported if cid in row.curves] if row else []

    def plot_item(self, key: str) -> pg.PlotItem | None:
        row = self.rows.get(key)
        return row.plot_item if row else None

    def set_bias_lines(self, key: str, lines: Sequence[tuple[str, float, tuple[int, int, int]]]) -> None:
        if key in self.rows:
            self.rows[key].set_lines(lines)

    def bias_line(self, key: str, line_id: str) -> pg.InfiniteLine | None:
        row = self.rows.get(key)
        return row.lines.get(line_id) if row else None

    def direction(self) -> str:
        return str(self.direction_combo.currentData())

    def quantity(self) -> str:
        return str(self.quantity_combo.currentData())

    # -- pins -----------------------------------------------------------------------------------------
    def set_pins(self, pins: Sequence[tuple[str, str, tuple[int, int, int]]]) -> None:
        """(pin key, text, rgb colour) for each pinned point."""
        self.pin_list.clear()
        for key, text, color in pins:
            pix = QPixmap(12, 12)
            pix.fill(QColor(*color))
            item = QListWidgetItem(QIcon(pix), text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.pin_list.addItem(item)

    def pin_keys(self) -> list[str]:
        return [self.pin_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.pin_list.count())]

    def _remove_selected(self) -> None:
        for item in self.pin_list.selectedItems():
            self.unpin_requested.emit(item.data(Qt.ItemDataRole.UserRole))
