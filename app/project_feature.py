"""Whole-project save and open: File > Open Project..., Save Project, Save Project As...

``install(window)`` adds the three actions to the File menu (Ctrl+S, Ctrl+Shift+S); ``window.project``
is its :class:`ProjectController`. A project file holds every open dataset (derived ones with their parent
links), the regions (with their averaged spectra when the regions feature is installed), the line cuts,
the fits and the view state (current dataset, cursor, pinned points, each slicer's grid, channel and sweep
value); see :mod:`app.project_state` and :mod:`analysis.store`.

* Saving runs off the GUI thread with progress and cancel in the status bar. The store writes a temporary
  file and renames it, so a failure or a cancel leaves the previous file untouched; a failure is logged and
  shown in a non-modal message box.
* Opening a project file (this menu, File > Open, the command line, drag and drop, Open Recent) restores
  everything it holds into the session. When the session was empty the file becomes the current project
  (Save writes back to it); otherwise its contents are added and Save asks for a new file name.
* The window title shows the project's file name and a modified marker (``[*]``, Qt's convention), set by
  any change to the datasets, regions, line cuts, fits or pinned points and cleared by a successful save.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from analysis.store import Attachment, Project, open_project, save_project
from analysis.store.records import RecordError
from app.project_state import KNOWN_ATTACHMENTS, REGIONS, RestoreResult, collect_project, restore_project

if TYPE_CHECKING:
    from app.main_window import MainWindow
    from app.workers import Job

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
PROJECT_SUFFIXES = (".h5", ".hdf5", ".stsw")
FILE_FILTER = "STS Workbench project (*.h5 *.hdf5 *.stsw)"
APP_TITLE = "STS Workbench"


def is_project_file(path: str | Path) -> bool:
    """True when ``path`` is an HDF5 file (the only container the project format uses); reads 8 bytes."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    except OSError:
        return False


def _reason(message: str) -> str:
    """The text of a job failure without the exception class name."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.replace("_", "").isalnum() and head[:1].isupper() else message


class ProjectController:
    """The File menu's project actions, the current project file and the modified marker."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.state = window.state
        self.path: Path | None = None
        self.modified = False
        self.save_job: Job | None = None
        self.last_error: str | None = None
        self.last_restore: RestoreResult | None = None
        self.message_box: QMessageBox | None = None
        #: Open project files whose lazy datasets the session reads (closed with the window).
        self.projects: list[Project] = []
        #: Attachments of other features found in the opened project, written back on save.
        self.extra_attachments: dict[str, Attachment] = {}
        self._generation = 0
        self._restoring = False

        m = window.menu("File")
        separators = [a for a in m.actions() if a.isSeparator()]
        before = separators[-1] if separators else None
        self.open_action = QAction("Open &Project...", window)
        self.open_action.triggered.connect(self.open_dialog)
        self.save_action = QAction("&Save Project", window)
        self.save_action.setShortcut(QKeySequence("Ctrl+S"))
        self.save_action.triggered.connect(self.save)
        self.save_as_action = QAction("Save Project &As...", window)
        self.save_as_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.save_as_action.triggered.connect(self.save_as)
        if before is not None:
            m.insertSeparator(before)
        for act in (self.open_action, self.save_action, self.save_as_action):
            if before is not None:
                m.insertAction(before, act)
            else:
                m.addAction(act)

        for sig in (
            self.state.datasets_changed,
            self.state.regions_changed,
            self.state.linecuts_changed,
            self.state.fits_changed,
            self.state.pinned_changed,
        ):
            sig.connect(self._changed)
        window.loader.project_opener = self.open_if_project
        window.destroyed.connect(self._close_projects)
        self._update_title()

    # -- title and modified marker ------------------------------------------------------------------------
    def title(self) -> str:
        name = self.path.name if self.path is not None else "Untitled project"
        return f"{name}[*] - {APP_TITLE}"

    def _update_title(self) -> None:
        self.window.setWindowTitle(self.title())
        self.window.setWindowModified(self.modified)

    def set_modified(self, modified: bool) -> None:
        self.modified = bool(modified)
        self._update_title()

    def _changed(self, *_a: Any) -> None:
        self._generation += 1
        if not self._restoring and not self.modified:
            self.set_modified(True)

    # -- saving -------------------------------------------------------------------------------------------
    def collect(self) -> tuple[list[Any], dict[str, Attachment]]:
        """(entries, attachments) of the whole session, gathered on the GUI thread."""
        slicers = [
            {"grid": s.key, "channel": s.channel, "value": float(s.sweep_value())}
            for s in self.window.exploration.slicers
            if s.key in self.state.entries
        ]
        extra = {k: v for k, v in self.extra_attachments.items() if k not in KNOWN_ATTACHMENTS}
        regions = getattr(self.window, "regions", None)
        if regions is not None and hasattr(regions, "project_attachment"):
            extra[REGIONS] = regions.project_attachment()  # with the averaged region spectra
        return collect_project(self.state, view_extra={"slicers": slicers}, attachments=extra)

    def save(self) -> Job | None:
        """Save to the current project file, or ask for one (Save As) when there is none."""
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    def save_as(self) -> Job | None:
        start = str(self.path) if self.path is not None else "project.h5"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", start, FILE_FILTER)
        if not path:
            return None
        if Path(path).suffix.lower() not in PROJECT_SUFFIXES:
            path += ".h5"
        return self.save_to(path)

    def save_to(self, path: str | Path) -> Job | None:
        """Write the session to ``path`` off the GUI thread; returns the job (None when not started)."""
        path = Path(path)
        if self.save_job is not None:
            self.window.log("warning", "A project save is already running; wait for it or cancel it")
            return None
        try:
            entries, attachments = self.collect()
        except (RecordError, ValueError) as exc:
            self._save_failed(path, f"the session cannot be stored: {exc}")
            return None
        generation = self._generation
        self.save_job = self.window.run_job(
            save_project,
            str(path),
            entries,
            attachments,
            name=f"Saving {path.name}",
            on_finished=lambda _r: self._saved(path, generation, len(entries)),
            on_failed=lambda msg: self._save_failed(path, _reason(msg)),
            on_cancelled=lambda: self._save_cancelled(path),
        )
        return self.save_job

    def _saved(self, path: Path, generation: int, n: int) -> None:
        self.save_job = None
        self.path = path
        self.last_error = None
        self.set_modified(self._generation != generation)  # edits made while saving stay unsaved
        self.window.add_recent_file(str(path))
        self.window.log(
            "info",
            f"Saved project {path.name}: {n} datasets, {len(self.state.regions)} regions, "
            f"{len(self.state.linecuts)} line cuts, {len(self.state.fits)} fits",
        )

    def _save_failed(self, path: Path, reason: str) -> None:
        self.save_job = None
        self.last_error = reason
        unchanged = "The previous file is unchanged." if path.exists() else "Nothing was written."
        self.window.log("error", f"Could not save project {path}: {reason}. {unchanged}")
        self._show_message("Could not save project", f"{path}: {reason}", unchanged)

    def _save_cancelled(self, path: Path) -> None:
        self.save_job = None
        unchanged = f"{path.name} is unchanged" if path.exists() else "nothing was written"
        self.window.log("info", f"Project save cancelled; {unchanged}")

    def cancel_save(self) -> None:
        if self.save_job is not None:
            self.save_job.cancel()

    # -- opening ------------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Open project", "", f"{FILE_FILTER};;All files (*)"
        )
        if path:
            self.open(path)

    def open_if_project(self, path: str) -> bool:
        """The loader's hook: open ``path`` here when it is a project file (HDF5)."""
        if not is_project_file(path):
            return False
        self.open(path)
        return True

    def open(self, path: str | Path) -> Job:
        """Open a project file (lazily, off the GUI thread) and restore it into the session."""
        path = Path(path)
        loader = self.window.loader
        loader.loading += 1

        def finished(project: Project) -> None:
            loader.loading -= 1
            self._opened(path, project)

        def failed(message: str) -> None:
            loader.loading -= 1
            self._open_failed(path, _reason(message))

        def cancelled() -> None:
            loader.loading -= 1

        return self.window.run_job(
            open_project,
            str(path),
            name=f"Opening {path.name}",
            pass_hooks=False,
            on_finished=finished,
            on_failed=failed,
            on_cancelled=cancelled,
        )

    def _session_empty(self) -> bool:
        s = self.state
        return not (s.entries or s.regions or s.linecuts or s.fits or s.pinned)

    def _opened(self, path: Path, project: Project) -> None:
        fresh = self._session_empty()
        self._restoring = True
        try:
            result = restore_project(self.state, project)
        finally:
            self._restoring = False
        self.projects.append(project)
        self.last_restore = result
        self._restore_slicers(result.view.get("slicers") or [])
        for text in result.warnings:
            self.window.log("warning", f"{path.name}: {text}")
        if fresh:
            self.path = path
            self.extra_attachments = dict(result.other)
        else:
            for k, v in result.other.items():
                self.extra_attachments.setdefault(k, v)
        self.set_modified(not fresh)
        self.window.add_recent_file(str(path))
        s = self.state
        self.window.log(
            "info",
            f"Opened project {path.name}: {len(result.datasets)} datasets"
            f"{'' if fresh else ' added to the session'}, {len(s.regions)} regions, "
            f"{len(s.linecuts)} line cuts, {len(s.fits)} fits",
        )

    def _restore_slicers(self, saved: list[dict[str, Any]]) -> None:
        ex = self.window.exploration
        used: set[int] = set()
        for s in saved:
            key = s.get("grid")
            if not isinstance(key, str) or key not in self.state.entries:
                continue
            free = [c for c in ex.slicers_for(key) if id(c) not in used]
            ctl = free[0] if free else ex.new_slicer(key, s.get("channel"))
            if ctl is None:
                continue
            used.add(id(ctl))
            channel = s.get("channel")
            if isinstance(channel, str) and channel != ctl.channel:
                ctl.set_channel(channel)
            value = s.get("value")
            if isinstance(value, int | float):
                ctl.set_value(float(value))

    def _open_failed(self, path: Path, reason: str) -> None:
        self.last_error = reason
        self.window.log("error", f"Could not open project {path}: {reason}")
        self._show_message("Could not open project", f"{path}: {reason}", "The session is unchanged.")

    # -- helpers ------------------------------------------------------------------------------------------
    def _show_message(self, title: str, text: str, detail: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.window)
        box.setModal(False)
        box.setInformativeText(detail)
        box.show()
        if self.message_box is not None:
            self.message_box.close()
        self.message_box = box

    def _close_projects(self, *_a: Any) -> None:
        for p in self.projects:
            p.close()
        self.projects.clear()


def install(window: MainWindow) -> None:
    """Add the project actions to the File menu (``window.project`` is the controller)."""
    window.project = ProjectController(window)  # type: ignore[attr-defined]
