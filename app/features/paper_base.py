"""What the Papers docks share: a dock with the panel and its Papers menu entry, the session's series,
the figure export as a job, and (for the docks that keep their results in ``state.fits``) the record.

A controller subclasses :class:`PaperController`, sets the class attributes (dock key, title, menu text,
figure name) and implements ``show_panel`` hooks and ``build_figure(path)``; the Necks and Mesas docks also
use :class:`FitRecord` to keep one ``{"kind": ..., "dataset": ..., ...}`` record in ``state.fits``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from analysis.series import Series
from app.features.host import Host

#: File types offered by Export figure...
FIGURE_FILTER = "PDF (*.pdf);;SVG (*.svg);;PNG (*.png)"


def value_text(value: float, err: float, unit: str, scale: float = 1.0, digits: int = 4) -> str:
    """``value +- err unit`` with both scaled by ``scale`` (the error to 2 digits); "n/a" when not finite."""
    if not math.isfinite(value):
        return "n/a"
    e = f" +- {err * scale:.2g}" if math.isfinite(err) else ""
    return f"{value * scale:.{digits}g}{e} {unit}".rstrip()


def last_line(message: str) -> str:
    """The last line of a job's error message (the exception's own text)."""
    lines = message.strip().splitlines()
    return lines[-1] if lines else "unknown error"


class PaperController:
    """Dock, menu entry, series look-up and figure export of one Papers panel.

    Class attributes: ``DOCK`` (dock key), ``TITLE`` (dock title), ``MENU_TEXT`` (Papers menu entry),
    ``STATUS_TIP``, ``AREA`` (dock area), ``WIDTH`` (px the dock widens to when shown narrower; 0: none),
    ``FIGURE`` (the figure's name in dialogs, log lines and the default file name).
    """

    DOCK = ""
    TITLE = ""
    MENU_TEXT = ""
    STATUS_TIP = ""
    AREA = Qt.DockWidgetArea.RightDockWidgetArea
    WIDTH = 0
    FIGURE = ""

    def __init__(self, host: Host, panel: QWidget) -> None:
        self.host = host
        self.state = host.state
        self.panel = panel
        self.dock = host.add_dock(self.DOCK, self.TITLE, panel, self.AREA, visible=False, scroll=True)
        self.action = host.menu("Papers").addAction(self.MENU_TEXT)
        if self.STATUS_TIP:
            self.action.setStatusTip(self.STATUS_TIP)
        self.action.triggered.connect(self.show_panel)
        self.job: Any = None
        self.export_job: Any = None

    # -- series -----------------------------------------------------------------------------------------
    def series_items(self) -> list[tuple[str, str]]:
        """(key, label) of every series of the session, oldest first."""
        return [(k, e.label) for k, e in self.state.entries.items() if isinstance(e.dataset, Series)]

    def series_at(self, key: str | None) -> Series | None:
        """The series under ``key``, or None (no such dataset, or not a series)."""
        e = self.state.entries.get(key or "")
        return e.dataset if e is not None and isinstance(e.dataset, Series) else None

    def current_series_key(self) -> str | None:
        """The current dataset when it is a series, else the newest series of the session."""
        cur = self.state.current
        if self.series_at(cur) is not None:
            return cur
        keys = [k for k, _ in self.series_items()]
        return keys[-1] if keys else None

    # -- dock -------------------------------------------------------------------------------------------
    def show_panel(self) -> Any:
        """Show and raise the dock (widened to ``WIDTH`` when docked narrower); returns the panel."""
        self.dock.show()
        self.dock.raise_()
        main = self.dock.window()
        if (
            self.WIDTH
            and hasattr(main, "resizeDocks")
            and not self.dock.isFloating()
            and self.dock.width() < self.WIDTH
        ):
            main.resizeDocks([self.dock], [self.WIDTH], Qt.Orientation.Horizontal)  # room for the plots
        return self.panel

    # -- figure -----------------------------------------------------------------------------------------
    def export_dialog(self) -> Any:
        """Ask for a file and write the figure to it (a job); None when the dialog is cancelled."""
        path, _ = QFileDialog.getSaveFileName(
            self.panel,
            f"Export the {self.FIGURE} figure",
            f"{self.FIGURE.lower().replace(' ', '_')}.pdf",
            FIGURE_FILTER,
        )
        return self.export_figure(path) if path else None

    @abstractmethod
    def figure_writer(self, path: str) -> Callable[..., Any] | None:
        """A function (progress, cancel) -> export result that builds and writes the figure to ``path``
        off the GUI thread, from data taken now; None (after saying why) when there is nothing to draw."""

    def export_figure(self, path: str) -> Any:
        """Write the figure to ``path`` off the GUI thread; returns the job (None: nothing to draw)."""
        write = self.figure_writer(path)
        if write is None:
            return None

        def done(result: Any) -> None:
            self.export_job = None
            self.host.log("info", f"Wrote the {self.FIGURE} figure to {result.path} ({result.seconds:.1f} s)")

        def failed(message: str) -> None:
            self.export_job = None
            self.host.log("error", f"Could not write {path}: {last_line(message)}")

        self.export_job = self.host.run_job(
            write, name=f"Export the {self.FIGURE} figure", on_finished=done, on_failed=failed
        )
        return self.export_job


class CurrentSeriesController(PaperController):
    """A Papers panel on one series: the current dataset when it is a series, else the newest one. Once
    ``summary`` holds results it keeps showing the series analysed until that series is removed.
    Subclasses draw the chosen series in ``_show_series()``."""

    def __init__(self, host: Host, panel: QWidget) -> None:
        super().__init__(host, panel)
        self.key: str | None = None  # the series shown (and analysed, once summary is set)
        self.summary: Any = None
        self.state.datasets_changed.connect(self._datasets_changed)
        self.state.current_changed.connect(lambda _k: self._datasets_changed())

    def series_key(self) -> str | None:
        """The current dataset when it is a series, else the newest series of the session."""
        return self.current_series_key()

    def series(self) -> Series | None:
        return self.series_at(self.key)

    def _datasets_changed(self) -> None:
        key = self.series_key()
        if key == self.key or (self.summary is not None and self.key in self.state.entries):
            return  # keep showing the analysed series until the user analyses another
        self.key = key
        self.summary = None
        self._show_series()

    def show_panel(self) -> Any:
        super().show_panel()
        if self.summary is None:
            self.key = self.series_key()
            self._show_series()
        return self.panel

    @abstractmethod
    def _show_series(self) -> None:
        """Show the series under ``self.key`` (none: an empty panel)."""


class FitRecord:
    """One plain record of a panel's results in ``state.fits`` (saved with the project).

    ``write(record)`` stores the dict under the panel's key (made on first use); records of ``kind`` that
    arrive from elsewhere (a project opened, an undo) are handed to ``on_restore(key, record)``. Writing
    never calls ``on_restore`` back."""

    def __init__(self, state: Any, kind: str, on_restore: Callable[[str, dict], None]) -> None:
        self.state = state
        self.kind = kind
        self.key: str | None = None
        self.writing = False
        self._on_restore = on_restore
        state.fits.edited.connect(self._edited)

    def write(self, record: dict[str, Any]) -> None:
        if self.key is None or self.key not in self.state.fits:
            self.key = self.state.new_key("fit")
        self.writing = True
        try:
            self.state.fits[self.key] = {"kind": self.kind, **record}
        finally:
            self.writing = False

    def _edited(self, key: str, _old: Any, new: Any) -> None:
        if self.writing or not isinstance(new, dict) or new.get("kind") != self.kind:
            return
        self.key = key
        self._on_restore(key, new)
