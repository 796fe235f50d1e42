"""Import dialog for a series: the files, a file-name tag pattern with a live preview, and how to split.

The dialog shows what it is given and says what the user chose: typing a pattern emits
``pattern_changed(pattern)`` (the owner answers with :meth:`SeriesImportDialog.set_preview`), OK emits
``import_requested({"paths", "pattern", "split", "split_column"})``. It reads no file itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: split choices: (data, text)
SPLITS = (
    ("", "One sweep per file"),
    ("turning_points", "Split at turning points (up and down sweeps)"),
    ("column", "Split by the value of a column"),
)
_BAD = QColor(190, 0, 0)


class SeriesImportDialog(QDialog):
    pattern_changed = Signal(str)
    import_requested = Signal(dict)
    table_requested = Signal()

    def __init__(self, paths: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a series")
        self.paths = [str(p) for p in paths]
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{len(self.paths)} files, imported in this order as the sweeps of one series."))
        form = QFormLayout()
        self.pattern_edit = QLineEdit()
        self.pattern_edit.setObjectName("series-pattern")
        self.pattern_edit.setPlaceholderText("e.g. neck3_{H}T.dat  (a tag in braces; empty: no tags)")
        self.pattern_edit.textChanged.connect(self.pattern_changed)
        form.addRow("Tags from file names:", self.pattern_edit)
        self.header_edit = QLineEdit()
        self.header_edit.setObjectName("series-header-tags")
        self.header_edit.setPlaceholderText("e.g. T = Temperature (K); H = Field (T)  (tag = header key)")
        form.addRow("Tags from headers:", self.header_edit)
        table_row = QHBoxLayout()
        self.table_label = QLabel("none")
        self.table_button = QPushButton("Tag table (CSV)...")
        self.table_button.clicked.connect(self.table_requested)
        table_row.addWidget(self.table_label, 1)
        table_row.addWidget(self.table_button)
        form.addRow("Tags from a table:", table_row)
        self.split_combo = QComboBox()
        for data, text in SPLITS:
            self.split_combo.addItem(text, data)
        form.addRow("Sweeps:", self.split_combo)
        self.column_edit = QLineEdit()
        self.column_edit.setPlaceholderText("column name, for a split by value")
        form.addRow("Split column:", self.column_edit)
        lay.addLayout(form)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(
            ["File", "Tags from the pattern (SI)", "Typed tags (e.g. T = 4.2)"]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table)
        self.message = QLabel("")
        lay.addWidget(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        for button in self.buttons.buttons():  # Return commits a typed tag; it never imports by itself
            button.setAutoDefault(False)
            button.setDefault(False)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.resize(640, 420)
        self.set_preview([(p, "", None) for p in self.paths])

    def set_preview(self, rows: Sequence[tuple[str, str, str | None]]) -> None:
        """(file, tags text, error or None) per file; files with an error are drawn red and counted."""
        self.table.setRowCount(len(rows))
        bad = 0
        for r, (path, tags, error) in enumerate(rows):
            name = QTableWidgetItem(path.rsplit("/", 1)[-1])
            name.setToolTip(path)
            value = QTableWidgetItem(error or tags)
            if error:
                bad += 1
                for item in (name, value):
                    item.setForeground(_BAD)
            for item in (name, value):
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 0, name)
            self.table.setItem(r, 1, value)
            if self.table.item(r, 2) is None:
                self.table.setItem(r, 2, QTableWidgetItem(""))
        self.message.setText(f"{bad} of {len(rows)} files do not match and will be left out." if bad else "")

    def preview_texts(self) -> list[tuple[str, str]]:
        return [
            (self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())
        ]

    def typed_tags(self) -> dict[str, dict[str, float]]:
        """{file name: {tag: value}} typed in the table's last column as ``tag = value`` pairs (SI values)
        separated by semicolons; a value that is not a number is left out and its cell marked red."""
        out: dict[str, dict[str, float]] = {}
        for r in range(self.table.rowCount()):
            cell = self.table.item(r, 2)
            text = cell.text() if cell is not None else ""
            values: dict[str, float] = {}
            for part in text.split(";"):
                tag, sep, value = part.partition("=")
                if not (sep and tag.strip()):
                    continue
                try:
                    values[tag.strip()] = float(value)
                except ValueError:
                    cell.setForeground(_BAD)
            if values:
                out[self.table.item(r, 0).text()] = values
        return out

    def header_tags(self) -> dict[str, str]:
        """{tag: header key} typed as ``tag = key`` pairs separated by semicolons."""
        out = {}
        for part in self.header_edit.text().split(";"):
            tag, sep, key = part.partition("=")
            if sep and tag.strip() and key.strip():
                out[tag.strip()] = key.strip()
        return out

    def set_table_name(self, text: str) -> None:
        self.table_label.setText(text)

    def _accept(self) -> None:
        self.import_requested.emit(
            {
                "paths": list(self.paths),
                "pattern": self.pattern_edit.text().strip() or None,
                "split": self.split_combo.currentData() or None,
                "split_column": self.column_edit.text().strip() or None,
                "header": self.header_tags(),
                "typed": self.typed_tags(),
            }
        )
        self.accept()
