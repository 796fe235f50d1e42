"""Import dialog for text and CSV columns: a preview of the file with the choices the reader needs.

Delimiter, header rows and the x column on top; below, one column of the preview table per file column,
headed by its name, quantity and unit (as written in the file: mV, nA, ...), then the first data lines.
The notes say what was guessed and why (a header-less sweep read as mV, a swept current taken as x, the
point index). The dialog never reads the file: ``previewer(options)`` returns the parsed preview and the
reader's guess (:func:`analysis.io.text_columns.preview`) and raises for a file it cannot split.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from analysis.io.text_columns import QUANTITIES, ColumnChoice, TextGuess, TextOptions, TextTable

#: units offered per quantity (the first is the SI unit); any other can be typed
UNIT_CHOICES = {
    "bias": ("V", "mV", "uV"),
    "current": ("A", "mA", "uA", "nA", "pA"),
    "conductance": ("S", "mS", "uS", "nS", "pS"),
    "resistance": ("Ohm", "kOhm", "MOhm"),
    "temperature": ("K", "mK"),
    "field": ("T", "mT"),
    "other": ("",),
}
_DELIMITER_TITLES = (
    ("auto", "Detect"),
    ("comma", "Comma"),
    ("tab", "Tab"),
    ("semicolon", "Semicolon"),
    ("whitespace", "Spaces"),
)
NAME_ROW, QUANTITY_ROW, UNIT_ROW, FIRST_DATA_ROW = 0, 1, 2, 3

Previewer = Callable[[TextOptions], tuple[TextTable, TextGuess]]


class TextImportDialog(QDialog):
    """Choose how a text file is read; ``options()`` gives the choices once accepted."""

    def __init__(
        self,
        file_name: str,
        previewer: Previewer,
        initial: TextOptions | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {file_name}")
        self._previewer = previewer
        self._guess: TextGuess | None = None
        outer = QVBoxLayout(self)
        form = QFormLayout()
        self.delimiter_combo = QComboBox()
        for key, title in _DELIMITER_TITLES:
            self.delimiter_combo.addItem(title, key)
        form.addRow("Delimiter:", self.delimiter_combo)
        self.header_spin = QSpinBox()
        self.header_spin.setRange(-1, 50)
        self.header_spin.setSpecialValueText("Detect")
        self.header_spin.setToolTip(
            "Lines before the data (after '#' comments); the last one names the columns"
        )
        form.addRow("Header rows:", self.header_spin)
        self.x_combo = QComboBox()
        self.x_combo.setToolTip("The swept column: the x axis of the spectrum")
        form.addRow("x column:", self.x_combo)
        outer.addLayout(form)
        self.table = QTableWidget()
        self.table.setVerticalHeaderLabels(["Name", "Quantity", "Unit"])
        outer.addWidget(self.table, 1)
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setStyleSheet("color: #555;")
        outer.addWidget(self.notes_label)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00;")
        outer.addWidget(self.error_label)
        row = QHBoxLayout()
        row.addStretch(1)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        row.addWidget(self.buttons)
        outer.addLayout(row)
        self.resize(720, 480)

        initial = initial or TextOptions()
        i = self.delimiter_combo.findData(initial.delimiter)
        self.delimiter_combo.setCurrentIndex(max(i, 0))
        self.header_spin.setValue(-1 if initial.header_rows is None else initial.header_rows)
        self._refresh(initial)
        self.delimiter_combo.currentIndexChanged.connect(lambda _i: self._refresh())
        self.header_spin.valueChanged.connect(lambda _v: self._refresh())

    # -- preview ----------------------------------------------------------------------------------
    def _layout_options(self) -> TextOptions:
        hr = self.header_spin.value()
        return TextOptions(str(self.delimiter_combo.currentData()), None if hr < 0 else hr)

    def _refresh(self, initial: TextOptions | None = None) -> None:
        try:
            table, guess = self._previewer(self._layout_options())
        except Exception as exc:  # the file cannot be split this way: say why, keep the dialog open
            self.error_label.setText(f"Cannot read the file this way: {exc}")
            self.table.setColumnCount(0)
            self._guess = None
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return
        self.error_label.setText("")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        self._guess = guess
        cols = guess.columns
        x = guess.x_column
        if initial is not None and initial.columns and len(initial.columns) == len(cols):
            cols = list(initial.columns)  # remembered for files of this pattern
            if initial.x_column is not None and initial.x_column < len(cols):
                x = initial.x_column
        ncol = len(cols)
        data = table.data_lines
        self.table.clear()
        self.table.setColumnCount(ncol)
        self.table.setRowCount(FIRST_DATA_ROW + len(data))
        self.table.setVerticalHeaderLabels(
            ["Name", "Quantity", "Unit"] + [str(k + 1) for k in range(len(data))]
        )
        self.table.setHorizontalHeaderLabels([f"Column {k + 1}" for k in range(ncol)])
        for k, c in enumerate(cols):
            name = QLineEdit(c.name)
            name.textChanged.connect(lambda _t: self._refresh_x_names())
            self.table.setCellWidget(NAME_ROW, k, name)
            quantity = QComboBox()
            for key, (title, _si) in QUANTITIES.items():
                quantity.addItem(title, key)
            quantity.setCurrentIndex(max(quantity.findData(c.quantity), 0))
            self.table.setCellWidget(QUANTITY_ROW, k, quantity)
            unit = QComboBox()
            unit.setEditable(True)
            self.table.setCellWidget(UNIT_ROW, k, unit)
            self._fill_units(k, c.quantity, c.unit)
            quantity.currentIndexChanged.connect(lambda _i, k=k: self._quantity_changed(k))
        for r, line in enumerate(data):
            cells = _cells(line, table.delimiter)
            for k in range(min(ncol, len(cells))):
                item = QTableWidgetItem(cells[k])
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(FIRST_DATA_ROW + r, k, item)
        self.table.resizeColumnsToContents()
        self._refresh_x_names(x)
        self.notes_label.setText("\n".join(guess.notes))

    def _fill_units(self, k: int, quantity: str, current: str) -> None:
        unit = self.unit_combo(k)
        unit.blockSignals(True)
        unit.clear()
        choices = list(UNIT_CHOICES.get(quantity, ("",)))
        if current not in choices:
            choices.insert(0, current)
        unit.addItems(choices)
        unit.setCurrentText(current)
        unit.blockSignals(False)

    def _quantity_changed(self, k: int) -> None:
        q = self.quantity_combo(k).currentData()
        current = self.unit_combo(k).currentText()
        choices = UNIT_CHOICES.get(q, ("",))
        self._fill_units(k, q, current if current in choices else choices[0])

    def _refresh_x_names(self, select: int | None = -2) -> None:
        keep = self.x_combo.currentData() if select == -2 else select
        self.x_combo.blockSignals(True)
        self.x_combo.clear()
        for k in range(self.table.columnCount()):
            self.x_combo.addItem(f"{k + 1}: {self.name_edit(k).text()}", k)
        # the point index is offered only when no column is a sweep, and then says so
        if self._guess is not None and self._guess.x_column is None:
            self.x_combo.addItem("Point index (no column is monotonic)", -1)
        i = self.x_combo.findData(-1 if keep is None else keep)
        self.x_combo.setCurrentIndex(max(i, 0))
        self.x_combo.blockSignals(False)

    # -- cells ------------------------------------------------------------------------------------
    def name_edit(self, k: int) -> QLineEdit:
        return self.table.cellWidget(NAME_ROW, k)  # type: ignore[return-value]

    def quantity_combo(self, k: int) -> QComboBox:
        return self.table.cellWidget(QUANTITY_ROW, k)  # type: ignore[return-value]

    def unit_combo(self, k: int) -> QComboBox:
        return self.table.cellWidget(UNIT_ROW, k)  # type: ignore[return-value]

    def options(self) -> TextOptions:
        """The choices on display."""
        cols = tuple(
            ColumnChoice(
                self.name_edit(k).text().strip() or f"Column {k + 1}",
                self.unit_combo(k).currentText().strip(),
                str(self.quantity_combo(k).currentData()),
            )
            for k in range(self.table.columnCount())
        )
        x = self.x_combo.currentData()
        base = self._layout_options()
        return TextOptions(base.delimiter, base.header_rows, None if x is None or x < 0 else int(x), cols)


def _cells(line: str, delimiter: str | None) -> list[str]:
    return [c.strip() for c in (line.split(delimiter) if delimiter else line.split())]
