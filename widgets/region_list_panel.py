"""Region list: name, colour, pixel count and area (nm^2) of every region; rename, recolour, delete.

The panel only shows rows it is given (:meth:`RegionListPanel.set_rows`) and turns edits into signals;
the application applies them (through its undo stack) and sends the new rows back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("", "Name", "Pixels", "Area (nm²)", "Invalid")
_ID_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class RegionRow:
    """One row: ``pixels`` and ``invalid`` counted in the reference grid; ``area_nm2`` in nm^2."""

    id: str
    name: str
    colour: tuple[int, int, int]
    pixels: int
    area_nm2: float
    invalid: int = 0


class RegionListPanel(QWidget):
    """Table of regions with rename (edit the name cell), recolour (double-click the swatch) and delete."""

    rename_requested = Signal(str, str)  # id, new name
    recolour_requested = Signal(str, object)  # id, (r, g, b)
    delete_requested = Signal(list)  # ids
    selection_changed = Signal(list)  # ids
    undo_requested = Signal()
    redo_requested = Signal()
    tool_requested = Signal(str)  # "rectangle", "ellipse", "polygon", "lasso" or "" (none)
    bands_requested = Signal()
    cluster_requested = Signal()
    export_requested = Signal(str)  # "spectra" or "masks"

    TOOLS = (("rectangle", "Rect"), ("ellipse", "Ellipse"), ("polygon", "Polygon"), ("lasso", "Lasso"))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: Called to choose a colour; returns a QColor (invalid when cancelled). Replaceable in tests.
        self.colour_picker: Callable[[QColor, QWidget], QColor] = lambda c, w: QColorDialog.getColor(c, w)
        self._rows: list[RegionRow] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        tools = QHBoxLayout()
        self.tool_buttons: dict[str, QToolButton] = {}
        for key, text in self.TOOLS:
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setToolTip(f"Draw a {key} region on a map (right-click on the map cancels)")
            b.toggled.connect(lambda on, k=key: self._tool_toggled(k, on))
            tools.addWidget(b)
            self.tool_buttons[key] = b
        tools.addStretch(1)
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.clicked.connect(self.undo_requested)
        self.redo_button = QToolButton()
        self.redo_button.setText("Redo")
        self.redo_button.clicked.connect(self.redo_requested)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.redo_button)
        layout.addLayout(tools)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, 22)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._item_changed)
        self.table.cellDoubleClicked.connect(self._cell_double_clicked)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table, 1)

        buttons = QHBoxLayout()
        self.bands_button = QPushButton("From colour scale...")
        self.bands_button.clicked.connect(self.bands_requested)
        self.cluster_button = QPushButton("Clustering...")
        self.cluster_button.clicked.connect(self.cluster_requested)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete_selected)
        self.export_button = QPushButton("Export...")
        self.export_button.clicked.connect(lambda: self.export_requested.emit("spectra"))
        for b in (self.bands_button, self.cluster_button, self.delete_button, self.export_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.set_undo_state(False, False)

    # -- state in ---------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[RegionRow]) -> None:
        """Show these regions (selection kept by id)."""
        selected = set(self.selected_ids())
        self._rows = list(rows)
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(self._rows))
            for i, r in enumerate(self._rows):
                swatch = QTableWidgetItem()
                swatch.setBackground(QColor(*r.colour))
                swatch.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                swatch.setToolTip("Double-click to change the colour")
                name = QTableWidgetItem(r.name)
                name.setData(_ID_ROLE, r.id)
                name.setFlags(
                    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
                )
                cells = [swatch, name]
                for text in (f"{r.pixels:d}", f"{r.area_nm2:.4g}", f"{r.invalid:d}"):
                    it = QTableWidgetItem(text)
                    it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    cells.append(it)
                for j, it in enumerate(cells):
                    self.table.setItem(i, j, it)
            self.table.clearSelection()
            for i, r in enumerate(self._rows):
                if r.id in selected:
                    self.table.selectRow(i)

    def rows(self) -> list[RegionRow]:
        return list(self._rows)

    def set_undo_state(
        self, can_undo: bool, can_redo: bool, undo_text: str = "", redo_text: str = ""
    ) -> None:
        self.undo_button.setEnabled(can_undo)
        self.redo_button.setEnabled(can_redo)
        self.undo_button.setToolTip(f"Undo {undo_text}" if undo_text else "Undo")
        self.redo_button.setToolTip(f"Redo {redo_text}" if redo_text else "Redo")

    def set_tool(self, tool: str) -> None:
        """Reflect the active drawing tool ("" for none) without emitting."""
        for key, b in self.tool_buttons.items():
            with QSignalBlocker(b):
                b.setChecked(key == tool)

    def select(self, ids: Sequence[str]) -> None:
        self.table.clearSelection()
        for i, r in enumerate(self._rows):
            if r.id in ids:
                self.table.selectRow(i)

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self._rows[i].id for i in rows if i < len(self._rows)]

    # -- gestures out -----------------------------------------------------------------------------
    def _tool_toggled(self, key: str, on: bool) -> None:
        if on:
            self.set_tool(key)
            self.tool_requested.emit(key)
        elif not any(b.isChecked() for b in self.tool_buttons.values()):
            self.tool_requested.emit("")

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != 1:
            return
        rid = item.data(_ID_ROLE)
        text = item.text().strip()
        row = next((r for r in self._rows if r.id == rid), None)
        if row is None:
            return
        if not text or text == row.name:
            with QSignalBlocker(self.table):
                item.setText(row.name)
            return
        self.rename_requested.emit(rid, text)

    def _cell_double_clicked(self, row: int, column: int) -> None:
        if column != 0 or row >= len(self._rows):
            return
        r = self._rows[row]
        colour = self.colour_picker(QColor(*r.colour), self)
        if colour.isValid():
            self.recolour_requested.emit(r.id, (colour.red(), colour.green(), colour.blue()))

    def _delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.delete_requested.emit(ids)

    def _selection_changed(self) -> None:
        self.selection_changed.emit(self.selected_ids())

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.table.state() != (
            QAbstractItemView.State.EditingState
        ):
            self._delete_selected()
            return
        super().keyPressEvent(event)
