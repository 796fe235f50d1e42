"""Status-bar widget for background jobs: name, progress bar and a cancel button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


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
        self.setVisible(False)

    def show_job(self, name: str, running: int) -> None:
        """Show ``name`` (and how many other jobs run); progress starts as busy."""
        more = f" (+{running - 1})" if running > 1 else ""
        self.label.setText(f"{name or 'Working'}{more}")
        self.bar.setRange(0, 0)
        self.setVisible(True)

    def set_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        else:
            self.bar.setRange(0, 0)

    def idle(self) -> None:
        self.setVisible(False)
