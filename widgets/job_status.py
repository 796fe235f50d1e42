"""Status-bar widget for background jobs: name, progress bar and a cancel button.

Progress is shown at most every :data:`PROGRESS_INTERVAL_MS` (the newest value wins): a progress bar repaints
itself at once on every visible change, and a job reporting each of its blocks (the display copy of a large
grid) made the window repaint its status bar between the slider's maps.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

PROGRESS_INTERVAL_MS = 100


class JobStatus(QWidget):
    """Shows the newest running job; ``cancel_clicked`` asks the owner to cancel it."""

    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        lay.addWidget(self.label)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(160)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        lay.addWidget(self.bar)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setMaximumHeight(20)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        lay.addWidget(self.cancel_button)
        # a fixed size, the parts shown only while a job runs: showing or hiding the whole widget, or a
        # job name of another length, laid out the status bar and through it the main window, whose docks
        # then moved and repainted with every job started or ended
        self.label.setFixedWidth(180)
        self.setFixedSize(self.sizeHint())
        self._parts = (self.label, self.bar, self.cancel_button)
        self._set_busy(False)
        self._pending: tuple[int, int] | None = None
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_INTERVAL_MS)
        self._progress_timer.timeout.connect(self._show_pending)

    def show_job(self, name: str, running: int) -> None:
        """Show ``name`` (and how many other jobs run); progress starts as busy."""
        more = f" (+{running - 1})" if running > 1 else ""
        self.label.setText(f"{name or 'Working'}{more}")
        self._pending = None
        self.bar.setRange(0, 0)
        self.label.setToolTip(self.label.text())
        self.label.setText(
            self.label.fontMetrics().elidedText(self.label.text(), Qt.TextElideMode.ElideRight, 176)
        )
        self._set_busy(True)

    def set_progress(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` (busy when ``total`` is 0): at once when nothing was shown in the last
        interval, else the newest value when the interval ends."""
        self._pending = (int(done), int(total))
        if not self._progress_timer.isActive():
            self._show_pending()

    def _show_pending(self) -> None:
        if self._pending is None:
            return
        done, total = self._pending
        self._pending = None
        if total > 0:
            if self.bar.maximum() != total or self.bar.minimum() != 0:
                self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        else:
            self.bar.setRange(0, 0)
        self._progress_timer.start()  # what comes within the interval waits for its end

    def idle(self) -> None:
        self._pending = None
        self._progress_timer.stop()
        self._set_busy(False)

    def is_busy(self) -> bool:
        """Whether a job is shown."""
        return self._busy

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for part in self._parts:
            part.setVisible(busy)
