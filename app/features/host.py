"""What a feature controller may ask of the window that hosts it.

Controllers are written against this protocol, not against the window class, so no feature module imports
the window module (an import-linter contract checks it). :class:`app.window.main_window.MainWindow`
implements it; tests may host a controller in anything else that does.

The protocol is deliberately small: the shared state, docks and menus to put views in, the job runner for
work off the GUI thread, the log, the list of map views (for overlays and the co-registered crosshair), and
the file-opening entry points, and two services of the window itself: ``exporter`` (a view's PNG, SVG or
CSV export with its file dialog) and ``loader`` (opening files in the background). Feature controllers
share the state, not each other: what one needs from another (the channel the user looks at, a map view
to open, a slicer's bias) goes through :class:`app.state.AppState`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QWidget

from app.state import AppState
from app.workers import Job
from widgets.map_view import MapView


class Host(Protocol):
    """The services of the main window that feature controllers use."""

    state: AppState
    settings: QSettings
    readout: QLabel
    confirm_unsaved: bool
    close_guards: list[Callable[[], bool]]
    map_panel_added: Any  # Qt signal (MapView)
    map_panel_removed: Any  # Qt signal (MapView)

    # services of the window (see the module docstring)
    exporter: Any
    loader: Any

    def add_dock(
        self,
        key: str,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea = ...,
        visible: bool = ...,
        tabify_with: str | None = ...,
        scroll: bool = ...,
    ) -> QDockWidget: ...

    def dock(self, key: str) -> QDockWidget: ...

    def dock_keys(self) -> list[str]: ...

    def remove_dock(self, key: str) -> None: ...

    def menu(self, name: str) -> QMenu: ...

    def map_panels(self) -> list[MapView]: ...

    def register_map_panel(self, panel: MapView) -> None: ...

    def unregister_map_panel(self, panel: MapView) -> None: ...

    def run_job(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = ...,
        on_finished: Callable[[Any], None] | None = ...,
        on_failed: Callable[[str], None] | None = ...,
        on_cancelled: Callable[[], None] | None = ...,
        on_progress: Callable[[int, int], None] | None = ...,
        **kwargs: Any,
    ) -> Job: ...

    def active_jobs(self) -> list[Job]: ...

    def log(self, level: str, text: str) -> None: ...

    def open_files(self, paths: Iterable[str | Path]) -> None: ...

    def open_demo(self) -> None: ...

    def current_grid_key(self) -> str | None: ...

    def add_recent_file(self, path: str) -> None: ...
