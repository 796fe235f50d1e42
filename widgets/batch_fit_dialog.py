"""Dialog for a batch (per-pixel) fit of a grid: model, channel, region, start values, where to run it.

The owner fills the choices (``set_models``, ``set_channels``, ``set_regions``), listens to
``start_requested(dict)`` and ``cancel_requested()``, and reports back with ``set_running``,
``set_progress(done, total)`` and ``set_finished(text)``. The request dict holds ``model``, ``channel``,
``region`` (key or None for the whole grid), ``start`` ("global" | "guess" | "neighbours" | "blocks"),
``runner`` ("processes" | "local_cluster" | "scheduler"), ``workers`` (int), ``scheduler`` (address),
``fit_range`` ((xmin, xmax) in the sweep unit, or None) and ``fixed`` {param: value}.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

STARTS = (
    ("global", "Global fit of the mean spectrum"),
    ("guess", "Guess per pixel"),
    ("neighbours", "Global, then refit from neighbours"),
    ("blocks", "Fits of 4 x 4-pixel block means"),
)
RUNNERS = (
    ("processes", "This computer (processes)"),
    ("local_cluster", "Dask LocalCluster"),
    ("scheduler", "Dask scheduler address"),
)


class BatchFitDialog(QDialog):
    start_requested = Signal(dict)
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None, max_workers: int = 1) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch fit: parameter maps")
        self.setObjectName("batch-fit-dialog")
        self._running = False
        self.model_combo = QComboBox()
        self.channel_combo = QComboBox()
        self.region_combo = QComboBox()
        self.start_combo = QComboBox()
        for key, label in STARTS:
            self.start_combo.addItem(label, key)
        self.runner_combo = QComboBox()
        for key, label in RUNNERS:
            self.runner_combo.addItem(label, key)
        self.runner_combo.currentIndexChanged.connect(self._update_runner)
        self.workers = QSpinBox()
        self.workers.setRange(1, max(64, max_workers))
        self.workers.setValue(max(1, max_workers))
        self.scheduler = QLineEdit()
        self.scheduler.setToolTip("tcp://host:8786")
        self.use_range = QCheckBox("Restrict to")
        self.range_lo = QDoubleSpinBox()
        self.range_hi = QDoubleSpinBox()
        for sb in (self.range_lo, self.range_hi):
            sb.setRange(-1e6, 1e6)
            sb.setDecimals(4)
            sb.setSuffix(" mV")
        self.range_lo.setValue(-10.0)
        self.range_hi.setValue(10.0)
        self.fixed_edit = QLineEdit()
        self.fixed_edit.setToolTip("e.g. T=2.1, V0=0")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("batch-start")
        self.start_button.clicked.connect(self._emit_start)
        self.cancel_button = QPushButton("Cancel fit")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)

        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        form.addRow("Channel", self.channel_combo)
        form.addRow("Region", self.region_combo)
        form.addRow("Start values", self.start_combo)
        rng = QHBoxLayout()
        rng.addWidget(self.use_range)
        rng.addWidget(self.range_lo)
        rng.addWidget(QLabel("to"))
        rng.addWidget(self.range_hi)
        form.addRow("Bias range", rng)
        form.addRow("Fixed values", self.fixed_edit)
        form.addRow("Run on", self.runner_combo)
        form.addRow("Workers / cores", self.workers)
        form.addRow("Scheduler", self.scheduler)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        lay.addLayout(buttons)
        self._update_runner()

    # -- choices ------------------------------------------------------------------------------------------
    def set_models(self, descriptions: Sequence[Mapping[str, Any]], current: str | None = None) -> None:
        self.model_combo.clear()
        for d in sorted(descriptions, key=lambda d: (d.get("family") or "", d.get("title") or d["name"])):
            self.model_combo.addItem(
                f"{d.get('family') or 'other'}: {d.get('title') or d['name']}", d["name"]
            )
        if current is not None:
            i = self.model_combo.findData(current)
            if i >= 0:
                self.model_combo.setCurrentIndex(i)

    def set_channels(self, channels: Sequence[str], current: str | None = None) -> None:
        self.channel_combo.clear()
        self.channel_combo.addItems(list(channels))
        if current is not None and current in channels:
            self.channel_combo.setCurrentText(current)

    def set_regions(self, regions: Sequence[tuple[str, str]]) -> None:
        """[(region key, label)]; the first entry is always "Whole grid"."""
        self.region_combo.clear()
        self.region_combo.addItem("Whole grid", None)
        for key, label in regions:
            self.region_combo.addItem(label, key)

    def request(self) -> dict[str, Any]:
        """The current choices (see the module docstring); raises ValueError for bad fixed values."""
        fixed: dict[str, float] = {}
        text = self.fixed_edit.text().strip()
        if text:
            for part in text.replace(";", ",").split(","):
                if not part.strip():
                    continue
                name, sep, val = part.partition("=")
                try:
                    if not sep:
                        raise ValueError
                    fixed[name.strip()] = float(val)
                except ValueError:
                    raise ValueError(f"fixed value {part.strip()!r}: expected NAME=NUMBER") from None
        rng = None
        if self.use_range.isChecked():
            a, b = sorted((self.range_lo.value() * 1e-3, self.range_hi.value() * 1e-3))
            rng = (a, b)
        return {
            "model": self.model_combo.currentData(),
            "channel": self.channel_combo.currentText(),
            "region": self.region_combo.currentData(),
            "start": self.start_combo.currentData(),
            "runner": self.runner_combo.currentData(),
            "workers": int(self.workers.value()),
            "scheduler": self.scheduler.text().strip(),
            "fit_range": rng,
            "fixed": fixed,
        }

    def _update_runner(self) -> None:
        runner = self.runner_combo.currentData()
        self.scheduler.setEnabled(runner == "scheduler")
        self.workers.setEnabled(runner != "scheduler")

    def _emit_start(self) -> None:
        try:
            req = self.request()
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        if not req["model"] or not req["channel"]:
            self.status.setText("Choose a model and a channel.")
            return
        if req["runner"] == "scheduler" and not req["scheduler"]:
            self.status.setText("Enter the scheduler address (tcp://host:port).")
            return
        self.start_requested.emit(req)

    # -- run state ----------------------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self._running = running
        self._started = time.monotonic() if running else None
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (
            self.model_combo,
            self.channel_combo,
            self.region_combo,
            self.start_combo,
            self.runner_combo,
        ):
            w.setEnabled(not running)
        if running:
            self.progress.setRange(0, 0)
            self.status.setText("Fitting...")

    @property
    def running(self) -> bool:
        return self._running

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(int(total), 1))
        self.progress.setValue(int(done))
        self.status.setText(
            f"{done} / {total} pixels{_time_left(getattr(self, '_started', None), done, total)}"
        )

    def set_finished(self, text: str) -> None:
        self.set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setText(text)

    def reject(self) -> None:
        if self._running:
            self.cancel_requested.emit()
        super().reject()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self._running:
            self.cancel_requested.emit()
            return
        super().keyPressEvent(event)


def _time_left(started: float | None, done: int, total: int) -> str:
    """ ", about 2 min 10 s left" from the rate so far (empty before the first chunk is in)."""
    if started is None or done <= 0 or total <= done:
        return ""
    elapsed = time.monotonic() - started
    left = elapsed * (total - done) / done
    if left < 1:
        return ", less than a second left"
    minutes, seconds = divmod(int(round(left)), 60)
    return f", about {minutes} min {seconds} s left" if minutes else f", about {seconds} s left"
