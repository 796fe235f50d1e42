"""The figure composer: one figure's panels on a grid, its width, a preview and Export.

:class:`FigureComposer` shows the figures of a session in a combo box, the chosen figure's width (a
journal column of 8.6 or 17.8 cm, or a free width in cm) and its panels in a table (letter, kind, what it
shows, row, column, row span, column span; letter and the four numbers are editable), a preview image
(an RGBA array drawn by the owner) and an Export... button. It never draws or writes a figure itself: it
emits what the user asked for and shows what it is given.

:class:`ExportFigureDialog` asks for the file, its format (PDF, SVG, PNG, TIFF), the dpi of raster output
and whether each panel's data are written beside the figure (CSV or HDF5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: Width choices: (menu text, cm; 0 for a free width).
WIDTHS = (("8.6 cm", 8.6), ("17.8 cm", 17.8), ("Free", 0.0))
WIDTH_TIPS = ("One journal column", "Two journal columns (the page width)", "Any width (cm)")
#: Table columns: (header, field of the panel row).
COLUMNS = (
    ("Letter", "letter"),
    ("Kind", "kind"),
    ("Shows", "source"),
    ("Row", "row"),
    ("Col", "col"),
    ("Row span", "rowspan"),
    ("Col span", "colspan"),
    ("All regions", "all_regions"),
)
EDITABLE = ("letter", "row", "col", "rowspan", "colspan")
#: Columns shown as a check box (None in the row: the panel draws no regions, no box).
CHECKED = ("all_regions",)
#: Export formats: (combo text, file suffix).
FORMATS = (("PDF (vector)", "pdf"), ("SVG (vector)", "svg"), ("PNG", "png"), ("TIFF", "tif"))


@dataclass
class PanelRow:
    """One row of the panel table: the panel's ``letter`` (as shown), ``kind``, a short text of what it
    ``source`` shows, its place and span on the grid and whether it draws every region of the session
    (``all_regions``; None for a panel without regions)."""

    letter: str
    kind: str
    source: str
    row: int
    col: int
    rowspan: int
    colspan: int
    all_regions: bool | None = None


class FigureComposer(QWidget):
    """Signals: ``figure_chosen(key)``, ``new_figure_requested()``, ``width_chosen(cm)``,
    ``panel_edited(index, field, value)`` (field one of :data:`EDITABLE`), ``panel_removed(index)``,
    ``export_requested()``, ``preview_resized()``."""

    figure_chosen = Signal(str)
    new_figure_requested = Signal()
    width_chosen = Signal(float)
    panel_edited = Signal(int, str, object)
    panel_removed = Signal(int)
    export_requested = Signal()
    preview_resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        top = QHBoxLayout()
        self.figure_combo = QComboBox()
        self.figure_combo.setObjectName("figure-choice")
        self.figure_combo.setMinimumContentsLength(6)
        self.figure_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.figure_combo.currentIndexChanged.connect(self._figure_changed)
        self.new_button = QPushButton("New figure")
        self.new_button.clicked.connect(self.new_figure_requested.emit)
        self.width_combo = QComboBox()
        self.width_combo.setObjectName("figure-width")
        for (text, cm), tip in zip(WIDTHS, WIDTH_TIPS):
            self.width_combo.addItem(text, cm)
            self.width_combo.setItemData(self.width_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.width_combo.setToolTip("Figure width: one or two journal columns, or free")
        self.width_combo.currentIndexChanged.connect(self._width_changed)
        self.width_spin = QDoubleSpinBox()
        self.width_spin.setRange(2.0, 60.0)
        self.width_spin.setDecimals(1)
        self.width_spin.setSuffix(" cm")
        self.width_spin.setValue(12.0)
        self.width_spin.setEnabled(False)
        self.width_spin.editingFinished.connect(self._width_changed)
        top.addWidget(self.figure_combo, 1)
        top.addWidget(self.new_button)
        lay.addLayout(top)
        size_row = QHBoxLayout()
        for w in (QLabel("Width"), self.width_combo, self.width_spin):
            size_row.addWidget(w)
        size_row.addStretch(1)
        lay.addLayout(size_row)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("figure-panels")
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(170)
        self.table.itemChanged.connect(self._item_changed)
        lay.addWidget(self.table)

        buttons = QHBoxLayout()
        self.remove_button = QPushButton("Remove panel")
        self.remove_button.clicked.connect(self._remove)
        self.export_button = QPushButton("Export...")
        self.export_button.setObjectName("figure-export")
        self.export_button.clicked.connect(self.export_requested.emit)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.export_button)
        lay.addLayout(buttons)

        self.preview = QLabel("Add a view with its right-click menu: Add to figure")
        self.preview.setObjectName("figure-preview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(200, 150)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.preview.setStyleSheet("background: #808080;")
        lay.addWidget(self.preview, 1)
        self._image: QImage | None = None
        self._rows: list[PanelRow] = []

    # -- figures ---------------------------------------------------------------------------------------
    def set_figures(self, figures: Sequence[tuple[str, str]], current: str | None) -> None:
        """The figures to choose from as (key, name); ``current`` is shown."""
        with QSignalBlocker(self.figure_combo):
            self.figure_combo.clear()
            for key, name in figures:
                self.figure_combo.addItem(name or key, key)
            i = self.figure_combo.findData(current) if current else -1
            self.figure_combo.setCurrentIndex(i)
        has = current is not None and i >= 0
        for w in (self.width_combo, self.table, self.remove_button, self.export_button):
            w.setEnabled(has)

    def current_figure(self) -> str | None:
        return self.figure_combo.currentData()

    def set_width(self, cm: float) -> None:
        """Show the width ``cm``: one of the journal columns, else free."""
        i = next((k for k, (_t, w) in enumerate(WIDTHS) if w and abs(w - cm) < 1e-6), len(WIDTHS) - 1)
        with QSignalBlocker(self.width_combo), QSignalBlocker(self.width_spin):
            self.width_combo.setCurrentIndex(i)
            self.width_spin.setValue(cm)
            self.width_spin.setEnabled(WIDTHS[i][1] == 0.0)

    def width_cm(self) -> float:
        cm = float(self.width_combo.currentData() or 0.0)
        return cm or float(self.width_spin.value())

    def _figure_changed(self, _i: int) -> None:
        key = self.figure_combo.currentData()
        if key:
            self.figure_chosen.emit(str(key))

    def _width_changed(self, *_a: object) -> None:
        free = float(self.width_combo.currentData() or 0.0) == 0.0
        self.width_spin.setEnabled(free)
        self.width_chosen.emit(self.width_cm())

    # -- panels --------------------------------------------------------------------------------------------
    def set_panels(self, rows: Sequence[PanelRow]) -> None:
        self._rows = list(rows)
        selected = self.selected_panel()
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(rows))
            for i, r in enumerate(rows):
                for j, (_h, name) in enumerate(COLUMNS):
                    item = QTableWidgetItem()
                    value = getattr(r, name)
                    flags = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
                    if name in CHECKED:
                        if value is not None:
                            flags |= Qt.ItemFlag.ItemIsUserCheckable
                            item.setCheckState(Qt.CheckState.Checked if value else Qt.CheckState.Unchecked)
                            item.setToolTip(
                                "Follow the session's regions: a region drawn later joins the panel"
                            )
                    else:
                        item.setData(Qt.ItemDataRole.EditRole, value + 1 if name in ("row", "col") else value)
                    if name in EDITABLE:
                        flags |= Qt.ItemFlag.ItemIsEditable
                    item.setFlags(flags)
                    self.table.setItem(i, j, item)
            if selected is not None and selected < len(rows):
                self.table.selectRow(selected)

    def panel_rows(self) -> list[PanelRow]:
        return list(self._rows)

    def selected_panel(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return rows[0].row() if rows else None

    def cell_of(self, index: int, name: str) -> QTableWidgetItem:
        """The table item of panel ``index``'s column ``name``."""
        return self.table.item(index, [c[1] for c in COLUMNS].index(name))

    def _item_changed(self, item: QTableWidgetItem) -> None:
        name = COLUMNS[item.column()][1]
        value = item.data(Qt.ItemDataRole.EditRole)
        if name in CHECKED:
            value = item.checkState() == Qt.CheckState.Checked
        elif name != "letter":
            try:
                value = int(value) - (1 if name in ("row", "col") else 0)
            except (TypeError, ValueError):
                QTimer.singleShot(0, lambda: self.set_panels(self._rows))
                return
        # after the editor has closed: the owner's answer rebuilds the table
        row = item.row()
        QTimer.singleShot(0, lambda: self.panel_edited.emit(row, name, value))

    def _remove(self) -> None:
        i = self.selected_panel()
        if i is not None:
            self.panel_removed.emit(i)

    # -- preview -------------------------------------------------------------------------------------------
    def set_preview(self, rgba: np.ndarray | None, message: str = "") -> None:
        """Show an (h, w, 4) uint8 RGBA image scaled into the preview (None: ``message`` instead)."""
        if rgba is None:
            self._image = None
            self.preview.setPixmap(QPixmap())
            self.preview.setText(message)
            return
        a = np.ascontiguousarray(rgba, dtype=np.uint8)
        h, w = a.shape[:2]
        self._image = QImage(a.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        self._show_image()

    def preview_image(self) -> QImage | None:
        """The last preview image, unscaled."""
        return self._image

    def preview_size(self) -> tuple[int, int]:
        return self.preview.width(), self.preview.height()

    def _show_image(self) -> None:
        if self._image is None:
            return
        pix = QPixmap.fromImage(self._image)
        if pix.width() > self.preview.width() or pix.height() > self.preview.height():
            pix = pix.scaled(
                self.preview.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self.preview.setPixmap(pix)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._show_image()
        self.preview_resized.emit()


class ExportFigureDialog(QDialog):
    """File, format, dpi and panel data of a figure export; :meth:`values` after ``accept``.
    ``browse_requested`` asks the owner for a file name (it answers with :meth:`set_path`)."""

    browse_requested = Signal()

    def __init__(self, path: str, dpi: int = 300, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export figure")
        self.setObjectName("export-figure-dialog")
        form = QFormLayout(self)
        self.path_edit = QLineEdit(path)
        self.browse_button = QPushButton("Browse...")
        self.browse_button.setAutoDefault(False)
        self.browse_button.clicked.connect(self.browse_requested.emit)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(self.browse_button)
        form.addRow("File", file_row)
        self.format_combo = QComboBox()
        for text, suffix in FORMATS:
            self.format_combo.addItem(text, suffix)
        suffix = Path(path).suffix.lower().lstrip(".")
        i = self.format_combo.findData("tif" if suffix == "tiff" else suffix)
        self.format_combo.setCurrentIndex(max(0, i))
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        form.addRow("Format", self.format_combo)
        self.dpi_spin = QSpinBox()
        self.dpi_spin.setRange(50, 2400)
        self.dpi_spin.setValue(int(dpi))
        self.dpi_spin.setSuffix(" dpi")
        form.addRow("Resolution", self.dpi_spin)
        self.data_check = QCheckBox("Write each panel's data beside the figure")
        self.data_check.setChecked(True)
        form.addRow(self.data_check)
        self.data_combo = QComboBox()
        self.data_combo.addItem("Maps as HDF5, curves as CSV", "hdf5")
        self.data_combo.addItem("Everything as CSV", "csv")
        self.data_check.toggled.connect(self.data_combo.setEnabled)
        form.addRow("Panel data", self.data_combo)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._format_changed()

    def _format_changed(self, *_a: object) -> None:
        suffix = self.format_combo.currentData()
        self.dpi_spin.setEnabled(suffix in ("png", "tif"))
        p = Path(self.path_edit.text() or "figure")
        self.path_edit.setText(str(p.with_suffix(f".{suffix}")))

    def set_path(self, path: str) -> None:
        """Take ``path``; its extension chooses the format (an unknown one keeps the format's)."""
        if not path:
            return
        self.path_edit.setText(path)
        suffix = Path(path).suffix.lower().lstrip(".")
        i = self.format_combo.findData("tif" if suffix == "tiff" else suffix)
        if i >= 0:
            self.format_combo.setCurrentIndex(i)
        self._format_changed()

    def values(self) -> tuple[str, int, bool, str]:
        """(path, dpi, write panel data, map data format "hdf5" or "csv")."""
        return (
            self.path_edit.text().strip(),
            int(self.dpi_spin.value()),
            self.data_check.isChecked(),
            str(self.data_combo.currentData()),
        )
