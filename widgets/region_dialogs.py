"""Dialogs that ask how to make regions: from a map's colour scale (bands) and from clustering.

Both are plain forms: they return a request record (:class:`BandsRequest`, :class:`ClusterRequest`) and
never compute anything. Open them with ``open()`` (non-blocking) and read ``request()`` on ``accepted``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from analysis.maps.clustering import METHOD_TITLES, METHODS

BAND_MODES = (("equal", "Equal widths"), ("quantile", "Equal pixel counts"), ("thresholds", "Typed"))
_OK_CANCEL = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel


@dataclass(frozen=True)
class BandsRequest:
    map_key: str
    n: int
    mode: str  # "equal", "quantile" or "thresholds"
    thresholds: tuple[float, ...]
    split_components: bool
    min_pixels: int
    connectivity: int


@dataclass(frozen=True)
class ClusterRequest:
    grid_key: str
    channel: str
    window: tuple[float, float]  # V
    k: int
    method: str
    n_components: int
    seed: int


def parse_thresholds(text: str) -> tuple[float, ...]:
    """Numbers separated by commas, semicolons or spaces; ValueError naming the bad entry."""
    out = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(float(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a number") from None
    return tuple(out)


class BandsDialog(QDialog):
    """Regions 1..N from a map's colour scale."""

    def __init__(
        self,
        maps: Sequence[tuple[str, str]],
        ranges: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
        current: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Regions from a map's colour scale")
        self._ranges = dict(ranges or {})
        form = QFormLayout(self)
        self.map_combo = QComboBox()
        for key, label in maps:
            self.map_combo.addItem(label, key)
        if current is not None and self.map_combo.findData(current) >= 0:
            self.map_combo.setCurrentIndex(self.map_combo.findData(current))
        form.addRow("Map:", self.map_combo)
        self.range_label = QLabel()
        form.addRow("Values:", self.range_label)
        self.mode_combo = QComboBox()
        for mode, title in (
            ("equal", "Equal widths"),
            ("quantile", "Equal pixel counts"),
            ("thresholds", "Typed"),
        ):
            self.mode_combo.addItem(title, mode)
        form.addRow("Bands:", self.mode_combo)
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, 32)
        self.n_spin.setValue(4)
        form.addRow("Number of regions:", self.n_spin)
        self.thresholds_edit = QLineEdit()
        self.thresholds_edit.setToolTip("Band limits in the map's SI unit, e.g. 1e-9, 2e-9, 3e-9")
        form.addRow("Thresholds:", self.thresholds_edit)
        self.split_check = QCheckBox("Split into connected components")
        form.addRow(self.split_check)
        self.min_spin = QSpinBox()
        self.min_spin.setRange(0, 10**7)
        self.min_spin.setSuffix(" px")
        form.addRow("Drop specks below:", self.min_spin)
        self.conn_combo = QComboBox()
        self.conn_combo.addItem("4 (edges)", 4)
        self.conn_combo.addItem("8 (edges and corners)", 8)
        form.addRow("Connectivity:", self.conn_combo)
        self.error_label = _add_error_row_and_buttons(self, form)
        self.map_combo.currentIndexChanged.connect(self._sync)
        self.mode_combo.currentIndexChanged.connect(self._sync)
        self._sync()

    def _sync(self, *args) -> None:
        self.range_label.setText(self._ranges.get(str(self.map_combo.currentData()), ""))
        typed = self.mode_combo.currentData() == "thresholds"
        self.thresholds_edit.setEnabled(typed)
        self.n_spin.setEnabled(not typed)

    def request(self) -> BandsRequest:
        """The request described by the form (ValueError on unparsable thresholds)."""
        mode = str(self.mode_combo.currentData())
        thresholds = parse_thresholds(self.thresholds_edit.text()) if mode == "thresholds" else ()
        if mode == "thresholds" and not thresholds:
            raise ValueError("type at least one threshold")
        return BandsRequest(
            map_key=str(self.map_combo.currentData() or ""),
            n=self.n_spin.value(),
            mode=mode,
            thresholds=thresholds,
            split_components=self.split_check.isChecked(),
            min_pixels=self.min_spin.value(),
            connectivity=int(self.conn_combo.currentData()),
        )

    def accept(self) -> None:
        try:
            self.request()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        if not self.map_combo.currentData():
            self.error_label.setText("no map to take the colour scale from")
            return
        super().accept()


class ClusterDialog(QDialog):
    """Regions from clustering a grid's spectra over a bias window."""

    def __init__(
        self,
        grids: Sequence[tuple[str, str]],
        channels: Mapping[str, Sequence[str]],
        bias_ranges: Mapping[str, tuple[float, float]],
        parent: QWidget | None = None,
        current: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Regions from clustering")
        self._channels = {k: list(v) for k, v in channels.items()}
        self._ranges = dict(bias_ranges)
        form = QFormLayout(self)
        self.grid_combo = QComboBox()
        for key, label in grids:
            self.grid_combo.addItem(label, key)
        if current is not None and self.grid_combo.findData(current) >= 0:
            self.grid_combo.setCurrentIndex(self.grid_combo.findData(current))
        form.addRow("Grid:", self.grid_combo)
        self.channel_combo = QComboBox()
        form.addRow("Channel:", self.channel_combo)
        self.lo_spin = QDoubleSpinBox()
        self.hi_spin = QDoubleSpinBox()
        for s in (self.lo_spin, self.hi_spin):
            s.setDecimals(3)
            s.setRange(-1e5, 1e5)
            s.setSuffix(" mV")
        form.addRow("Bias from:", self.lo_spin)
        form.addRow("to:", self.hi_spin)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(2, 32)
        self.k_spin.setValue(4)
        form.addRow("Clusters:", self.k_spin)
        self.method_combo = QComboBox()
        for m in METHODS:
            self.method_combo.addItem(METHOD_TITLES[m], m)
        form.addRow("Method:", self.method_combo)
        self.pc_spin = QSpinBox()
        self.pc_spin.setRange(1, 20)
        self.pc_spin.setValue(4)
        form.addRow("PCA components:", self.pc_spin)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        form.addRow("Seed:", self.seed_spin)
        self.error_label = _add_error_row_and_buttons(self, form)
        self.grid_combo.currentIndexChanged.connect(self._grid_changed)
        self.method_combo.currentIndexChanged.connect(self._sync)
        self._grid_changed()

    def _grid_changed(self, *args) -> None:
        key = str(self.grid_combo.currentData())
        self.channel_combo.clear()
        for ch in self._channels.get(key, []):
            self.channel_combo.addItem(ch, ch)
        lo, hi = self._ranges.get(key, (0.0, 0.0))
        self.lo_spin.setValue(lo * 1e3)
        self.hi_spin.setValue(hi * 1e3)
        self._sync()

    def _sync(self, *args) -> None:
        self.pc_spin.setEnabled(self.method_combo.currentData() == "pca_gmm")

    def request(self) -> ClusterRequest:
        lo, hi = self.lo_spin.value() * 1e-3, self.hi_spin.value() * 1e-3
        if hi <= lo:
            raise ValueError("the bias window is empty (from must be below to)")
        return ClusterRequest(
            grid_key=str(self.grid_combo.currentData() or ""),
            channel=str(self.channel_combo.currentData() or ""),
            window=(lo, hi),
            k=self.k_spin.value(),
            method=str(self.method_combo.currentData()),
            n_components=self.pc_spin.value(),
            seed=self.seed_spin.value(),
        )

    def accept(self) -> None:
        try:
            req = self.request()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        if not req.grid_key or not req.channel:
            self.error_label.setText("choose a grid and a channel")
            return
        super().accept()


def _add_error_row_and_buttons(dialog: QDialog, form: QFormLayout) -> QLabel:
    """Append a red message row and OK/Cancel buttons to ``form``; return the message label."""
    label = QLabel()
    label.setStyleSheet("color: #b00;")
    form.addRow(label)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    return label
