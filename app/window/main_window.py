"""The main window: docks, menus, background jobs, log, settings, and the feature modules.

It implements :class:`app.features.host.Host`, the API feature modules use (``state``, ``add_dock``, ``dock``,
``menu``, ``run_job``, ``log``, ``map_panels`` + ``map_panel_added``, ``open_files``, ``open_demo``,
``current_grid_key``); the features it installs are listed in ``app.window.feature_list``.
"""

from __future__ import annotations

import gc
import importlib
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QMenu, QScrollArea, QWidget

from app.state import AppState
from app.workers import jobs as workers
from app.workers.deferred_pool import DeferredPool
from app.workers.turns import NextTurns
from widgets.job_status import JobStatus
from widgets.log_panel import LogPanel
from widgets.map_view import MapView
from widgets.readout_label import ReadoutLabel

ORGANISATION = "STS Workbench"
APPLICATION = "STS Workbench"
MAX_RECENT = 10
_CORE_DOCKS = {"browser", "topography", "spectra", "log"}
_STATE_VERSION = 3


class MainWindow(QMainWindow):
    """STS Workbench main window.

    ``settings`` defaults to the user's QSettings (organisation/application "STS Workbench"); tests pass
    an INI file in a temporary folder. ``features`` defaults to ``app.window.feature_list.FEATURES``.
    """

    map_panel_added = Signal(object)
    map_panel_removed = Signal(object)

    def __init__(
        self,
        settings: QSettings | None = None,
        features: Sequence[str] | None = None,
        restore_layout: bool = True,
        confirm_unsaved: bool | None = None,
    ) -> None:
        super().__init__()
        #: ask before closing over unsaved changes and autosave a recovery file (default: only the
        #: interactive window made without explicit settings; scripted and test windows close silently)
        self.confirm_unsaved = settings is None if confirm_unsaved is None else bool(confirm_unsaved)
        #: callables asked in turn before the window closes; one returning False keeps it open
        self.close_guards: list[Callable[[], bool]] = []
        self.setWindowTitle("STS Workbench")
        self.setObjectName("MainWindow")
        self.state = AppState()
        self.settings = settings if settings is not None else QSettings(ORGANISATION, APPLICATION)
        self._docks: dict[str, QDockWidget] = {}
        self._menus: dict[str, QMenu] = {}
        self._map_panels: list[MapView] = []
        self._jobs: list[workers.Job] = []
        self._closing = False
        self.features_installed: list[str] = []
        self.features_failed: dict[str, str] = {}
        self.setDockNestingEnabled(True)
        self.setAcceptDrops(True)
        self.resize(1600, 1000)

        for name in ("File", "Edit", "View", "Analysis", "Help"):
            self.menu(name)
        self._view_separator = self.menu("View").addSeparator()

        # fixed width: a read-out that changes with every mouse move must never re-lay out the window
        self.readout = ReadoutLabel(560)
        self.statusBar().addPermanentWidget(self.readout)
        self.job_status = JobStatus()
        self.job_status.cancel_clicked.connect(self._cancel_newest_job)
        self.statusBar().addPermanentWidget(self.job_status)
        # the status bar keeps its height when a job's progress appears or goes (a change re-laid out,
        # and repainted, every dock of the window)
        self.readout.setFixedHeight(max(self.readout.height(), self.job_status.sizeHint().height()))

        self.log_panel = LogPanel()
        self.state.message.connect(self.log)

        # Controllers (imported here: they import this module's API only through ``window``).
        from app.features.derived import DerivedController
        from app.features.exploration import Exploration
        from app.features.history import HistoryController
        from app.window.export import Exporter
        from app.window.loading import Loader

        self.exporter = Exporter(self)
        self.exploration = Exploration(self)
        self.add_dock(
            "log", "Log", self.log_panel, Qt.DockWidgetArea.LeftDockWidgetArea, tabify_with="browser"
        )
        self.loader = Loader(self)
        self.derived = DerivedController(self)
        self.history = HistoryController(self)
        self.dock("browser").raise_()
        self._build_file_menu()
        self._build_view_menu()
        self._build_help_menu()

        self._install_features(features)
        self._default_state = self.saveState(_STATE_VERSION)
        if restore_layout:
            self._restore_settings()
        # what exists now (modules, the window's widgets and their wrappers) lives as long as the window:
        # kept out of the cyclic collector, a full collection (run by chance in any turn) no longer walks
        # it; it took ~140 ms on the GUI thread when a project was opened beside another window
        gc.freeze()

    # -- docks and menus -----------------------------------------------------------------------------
    def add_dock(
        self,
        key: str,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
        visible: bool = True,
        tabify_with: str | None = None,
        scroll: bool = False,
    ) -> QDockWidget:
        """Add ``widget`` in a dock (listed in View, saved with the layout, restored by Reset layout). With
        ``scroll`` a wide or tall panel sits in a scroll area, so showing its dock never grows the window."""
        if key in self._docks:
            raise ValueError(f"a dock with key {key!r} already exists")
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{key}")
        if scroll:
            area_widget = QScrollArea()
            area_widget.setObjectName(f"scroll-{key}")
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QFrame.Shape.NoFrame)
            area_widget.setWidget(widget)
            dock.setWidget(area_widget)
        else:
            dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        size = self.size()
        dock.setVisible(False)  # placed (split or tabbed) before it is shown, so it never widens the window
        self.addDockWidget(area, dock)
        if tabify_with is None and key not in _CORE_DOCKS and not key.startswith("slicer"):
            # feature panels share their area as tabs rather than squeezing the maps and spectra
            others = [
                d
                for k, d in self._docks.items()
                if self.dockWidgetArea(d) == area and not d.isFloating() and not k.startswith("slicer")
            ]
            if others:
                self.tabifyDockWidget(others[-1], dock)
                others[0].raise_()
        if tabify_with is not None and tabify_with in self._docks:
            self.tabifyDockWidget(self._docks[tabify_with], dock)
        dock.setVisible(visible)
        if self.isVisible() and not (self.isMaximized() or self.isFullScreen()) and self.size() != size:
            self.resize(size)  # the window never grows by itself (clamped to the docks' minimum sizes)
        self.menu("View").insertAction(self._view_separator, dock.toggleViewAction())
        self._docks[key] = dock
        return dock

    def dock(self, key: str) -> QDockWidget:
        return self._docks[key]

    def dock_keys(self) -> list[str]:
        return list(self._docks)

    def remove_dock(self, key: str) -> None:
        dock = self._docks.pop(key, None)
        if dock is None:
            return
        self.menu("View").removeAction(dock.toggleViewAction())
        self.removeDockWidget(dock)
        dock.deleteLater()

    def menu(self, name: str) -> QMenu:
        """The top-level menu called ``name`` (created at the end of the menu bar when new)."""
        plain = name.replace("&", "")
        if plain not in self._menus:
            m = self.menuBar().addMenu(f"&{plain}")
            m.setObjectName(f"menu-{plain}")
            help_menu = self._menus.get("Help")
            if help_menu is not None:  # keep Help last
                self.menuBar().removeAction(m.menuAction())
                self.menuBar().insertMenu(help_menu.menuAction(), m)
            self._menus[plain] = m
        return self._menus[plain]

    # -- map panels --------------------------------------------------------------------------------------
    def map_panels(self) -> list[MapView]:
        """Every open map view (topography and slicers)."""
        return list(self._map_panels)

    def register_map_panel(self, panel: MapView) -> None:
        self._map_panels.append(panel)
        self.map_panel_added.emit(panel)

    def unregister_map_panel(self, panel: MapView) -> None:
        if panel in self._map_panels:
            self._map_panels.remove(panel)
            self.map_panel_removed.emit(panel)

    # -- jobs -------------------------------------------------------------------------------------------
    def run_job(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "",
        on_finished: Callable[[Any], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        **kwargs: Any,
    ) -> workers.Job:
        """Run ``fn(*args, progress=..., cancel=..., **kwargs)`` off the GUI thread (``pass_hooks=False``
        to call it without the hooks). Progress shows in the status bar with a cancel button; failures
        are logged; the callbacks run on the GUI thread. ``on_progress(done, total)`` is connected before
        the job starts, so it sees every report, the first included."""
        pool = kwargs.pop("pool", None) or QThreadPool.globalInstance()
        deferred = DeferredPool()
        job = workers.run_job(fn, *args, name=name, pool=deferred, **kwargs)  # type: ignore[arg-type]
        self._jobs.append(job)
        job.progress.connect(lambda d, t, j=job: self._job_progress(j, d, t))
        if on_progress is not None:
            job.progress.connect(on_progress)
        job.finished.connect(lambda r, j=job: self._job_ended(j, "finished", r, on_finished))
        job.failed.connect(lambda m, j=job: self._job_ended(j, "failed", m, on_failed))
        job.cancelled.connect(lambda j=job: self._job_ended(j, "cancelled", None, on_cancelled))
        self.job_status.show_job(name, len(self._jobs))
        pool.start(deferred.runnable)
        return job

    def active_jobs(self) -> list[workers.Job]:
        return list(self._jobs)

    def _job_progress(self, job: workers.Job, done: int, total: int) -> None:
        job.last_progress = (done, total)  # type: ignore[attr-defined]  # what a watcher sees move
        if self._jobs and job is self._jobs[-1]:
            self.job_status.set_progress(done, total)

    def _job_ended(
        self, job: workers.Job, how: str, payload: Any, callback: Callable[..., Any] | None
    ) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        if self._closing:
            return
        if self._jobs:
            self.job_status.show_job(self._jobs[-1].name, len(self._jobs))
        else:
            self.job_status.idle()
        if how == "failed":
            self.log("error", f"{job.name or 'Job'} failed: {payload}")
        elif how == "cancelled" and job.name:
            self.log("info", f"{job.name}: cancelled")
        if callback is None:
            return
        try:
            callback(*(() if how == "cancelled" else (payload,)))
        except Exception as exc:
            self.log("error", f"{job.name or 'Job'}: {type(exc).__name__}: {exc}")
            traceback.print_exc()

    def _cancel_newest_job(self) -> None:
        if self._jobs:
            self._jobs[-1].cancel()

    # -- log --------------------------------------------------------------------------------------------
    def log(self, level: str, text: str) -> None:
        """Add a message to the log panel and show it (non-modal) in the status bar."""
        self.log_panel.append(level, text)
        timeout = 4000 if level == "info" else 10000
        prefix = {"warning": "Warning: ", "error": "Error: "}.get(level, "")
        self.statusBar().showMessage(prefix + text, timeout)

    # -- files ------------------------------------------------------------------------------------------
    def open_files(self, paths: Iterable[str | Path]) -> None:
        """Load files in the background; each becomes one or more datasets."""
        for p in paths:
            self.loader.open(str(p))

    def open_demo(self) -> None:
        """Load the built-in demo: co-registered QP and Josephson grids."""
        self.loader.open_demo()

    def current_grid_key(self) -> str | None:
        """The current dataset when it is a grid, else the first open grid, else None."""
        cur = self.state.current
        if cur is not None and self.state.entries[cur].kind == "grid":
            return cur
        grids = self.state.grids()
        return grids[0].key if grids else None

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent_file(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.settings.setValue("recent_files", files[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _build_file_menu(self) -> None:
        m = self.menu("File")
        act = m.addAction("&Open...")
        act.setShortcut(QKeySequence.StandardKey.Open)
        act.triggered.connect(self.loader.open_dialog)
        m.addAction("Open &Demo", self.open_demo)
        self._recent_menu = m.addMenu("Open &Recent")
        self._rebuild_recent_menu()
        m.addAction("Export dataset as &NeXus (NXsts)...", self.exporter.export_nexus_dialog)
        m.addSeparator()
        quit_act = m.addAction("&Quit")
        quit_act.setShortcut(QKeySequence.StandardKey.Quit)
        quit_act.triggered.connect(self.close)

    def _rebuild_recent_menu(self) -> None:
        self._recent_menu.clear()
        files = self.recent_files()
        for f in files:
            self._recent_menu.addAction(Path(f).name, lambda f=f: self.open_files([f])).setToolTip(f)
        if not files:
            self._recent_menu.addAction("(none)").setEnabled(False)
        else:
            self._recent_menu.addSeparator()
            self._recent_menu.addAction("Clear list", self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.setValue("recent_files", [])
        self._rebuild_recent_menu()

    def _build_view_menu(self) -> None:
        m = self.menu("View")
        act = QAction("New &slicer", self)
        act.setShortcut(QKeySequence("Ctrl+Shift+N"))
        act.triggered.connect(lambda: self.exploration.new_slicer())
        m.addAction(act)
        m.addAction("&Reset layout", self.reset_layout)

    def _build_help_menu(self) -> None:
        m = self.menu("Help")
        m.addAction("&About STS Workbench", self._about)

    def _about(self) -> None:
        self.log(
            "info",
            "STS Workbench: analysis of tunnelling spectroscopy grids, point spectra and junction transport.",
        )

    # -- drag and drop ------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_files(paths)
            event.acceptProposedAction()

    # -- features ---------------------------------------------------------------------------------
    def _install_features(self, features: Sequence[str] | None) -> None:
        if features is None:
            from app.window.feature_list import FEATURES

            features = FEATURES
        for path in features:
            try:
                module = importlib.import_module(path)
                module.install(self)
            except Exception as exc:
                self.features_failed[path] = f"{type(exc).__name__}: {exc}"
                self.log("error", f"feature {path} could not be installed: {type(exc).__name__}: {exc}")
            else:
                self.features_installed.append(path)

    # -- layout and settings -------------------------------------------------------------------
    def reset_layout(self) -> None:
        self.restoreState(self._default_state, _STATE_VERSION)
        for dock in self._docks.values():
            if dock.objectName().startswith("dock-slicer"):
                dock.setVisible(True)

    def _restore_settings(self) -> None:
        geom = self.settings.value("window/geometry")
        if isinstance(geom, QByteArray | bytes):
            self.restoreGeometry(QByteArray(geom))
        st = self.settings.value("window/state")
        if isinstance(st, QByteArray | bytes):
            self.restoreState(QByteArray(st), _STATE_VERSION)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(_STATE_VERSION))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and self.confirm_unsaved:
            for guard in list(self.close_guards):
                if not guard():
                    event.ignore()
                    return
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel running jobs and wait for the worker threads (no thread outlives the window)."""
        self._closing = True
        for turns in self.findChildren(NextTurns):  # what the window queued for later turns is dropped
            turns.cancel()
        for job in list(self._jobs):
            job.cancel()
        self.exploration.shutdown(timeout_ms)
        for job in list(self._jobs):
            job.done.wait(timeout_ms / 1000)
        QThreadPool.globalInstance().waitForDone(timeout_ms)
        self.exploration.release_files()
