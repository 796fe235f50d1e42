"""Whole-project save and open: File > Open Project..., Save Project, Save Project As...

``install(window)`` adds the three actions to the File menu (Ctrl+S, Ctrl+Shift+S); ``window.project``
is its :class:`ProjectController`. A project file holds every open dataset (derived ones with their parent
links), the regions (with their averaged spectra when the regions feature is installed), the line cuts,
the fits, the figures of the composer, the view state (current dataset, cursor, pinned points, each
slicer's grid, channel and sweep value, the map views, the dock layout) and what other features add through
``state.attachment_providers`` (put back by ``state.attachment_restorers``); see
:mod:`app.state.project_io` and :mod:`analysis.store`. The undo history is not saved: after opening, the
History dock starts with a line naming the opened file.

* Saving runs off the GUI thread with progress and cancel in the status bar. The store writes a temporary
  file and renames it, so a failure or a cancel leaves the previous file untouched; a failure is logged and
  shown in a non-modal message box.
* Opening a project file (this menu, File > Open, the command line, drag and drop, Open Recent) restores
  everything it holds into the session. When the session was empty the file becomes the current project
  (Save writes back to it); otherwise its contents are added and Save asks for a new file name.
* The window title shows the project's file name and a modified marker (``[*]``, Qt's convention), set by
  any change to the datasets, regions, line cuts, fits or pinned points and cleared by a successful save.
* Unsaved changes (when ``window.confirm_unsaved``, the interactive window): quitting, closing the window
  and File > Open Project... ask Save / Discard / Cancel (Cancel changes nothing). A timer writes the
  modified session to a recovery file in the user's data folder (``QStandardPaths.AppDataLocation`` /
  recovery) off the GUI thread; a clean close, a save or Discard removes it. A recovery file left by a
  session that ended without closing (a crash) is offered on the next start (Restore / Discard).
"""

from __future__ import annotations

import base64
import math
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDir, QEventLoop, QLockFile, QStandardPaths, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from analysis.dataset import Grid
from analysis.store import Attachment, Project, open_project, remove_stale_temporaries, save_project
from analysis.store.atomic import describe_removed
from analysis.store.records import RecordError
from analysis.store.seal import MAGIC as SEAL_MAGIC
from app.features.host import Host
from app.state.app_state import ViewState
from app.state.events import Signal
from app.state.project_io import (
    KNOWN_ATTACHMENTS,
    RestoreResult,
    collect_project,
    relink_figure_views,
    restore_project,
)
from app.workers import Job
from app.workers.turns import NextTurns

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
PROJECT_SUFFIXES = (".h5", ".hdf5", ".stsw")
FILE_FILTER = "STS Workbench project (*.h5 *.hdf5 *.stsw)"
APP_TITLE = "STS Workbench"
#: Autosave period of the recovery file.
AUTOSAVE_INTERVAL_MS = 60_000
RECOVERY_PREFIX = "recovery-"
Button = QMessageBox.StandardButton


def default_recovery_dir() -> Path:
    """The folder of recovery files: "recovery" in the user's application data folder."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or QDir.tempPath()) / "recovery"


def ask(parent: Any, title: str, text: str, informative: str, buttons: dict[Any, str], default: Any) -> Any:
    """A modal question with the standard ``buttons`` relabelled ({button: label}); returns the button
    clicked (``Button.Cancel`` when the box is closed otherwise)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setInformativeText(informative)
    for button, label in buttons.items():
        box.addButton(button)
        box.button(button).setText(label)
    box.setDefaultButton(default)
    if Button.Cancel in buttons:
        box.setEscapeButton(Button.Cancel)
    box.setObjectName("question-box")
    box.exec()
    clicked = box.clickedButton()
    answer = box.standardButton(clicked) if clicked is not None else Button.Cancel
    box.deleteLater()
    return answer if answer in buttons else Button.Cancel


def is_project_file(path: str | Path) -> bool:
    """True when ``path`` is an HDF5 file (the only container the project format uses), its signature at
    the start or a project file's seal there (:mod:`analysis.store.seal`); reads 8 bytes."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(HDF5_SIGNATURE)) in (HDF5_SIGNATURE, SEAL_MAGIC)
    except OSError:
        return False


def _reason(message: str) -> str:
    """The text of a job failure without the exception class name."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.replace("_", "").isalnum() and head[:1].isupper() else message


class ProjectController:
    """The File menu's project actions, the current project file and the modified marker."""

    def __init__(self, window: Host) -> None:
        self.window = window
        self.state = window.state
        self.path: Path | None = None
        self.modified = False
        self.save_job: Job | None = None
        self.last_error: str | None = None
        self.last_restore: RestoreResult | None = None
        self.restored_layout: bytes | None = None  # the dock layout of the last project opened
        self.message_box: QMessageBox | None = None
        #: Open project files whose lazy datasets the session reads (closed with the window).
        self.projects: list[Project] = []
        #: Attachments of other features found in the opened project, written back on save.
        self.extra_attachments: dict[str, Attachment] = {}
        self._generation = 0
        self._restoring = False
        self._restores = 0  # opened projects whose restore has not finished
        #: ``restore_finished(path)``: the last step of restoring an opened project has run
        self.restore_finished = Signal("restore_finished")
        #: the saved map views of an opened project open one per event-loop turn, after its slicers
        self.turns = NextTurns(window)

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
            self.state.figures.changed,
            self.state.annotations.changed,
        ):
            sig.connect(self._changed)
        window.loader.project_opener = self.open_if_project
        window.destroyed.connect(self._close_projects)
        self._update_title()

        # unsaved changes: a prompt before closing, a recovery file while the session is modified
        self.recovery_dir = default_recovery_dir()
        self.recovery_path: Path | None = None  # this session's recovery file (once written)
        self.restored_from: Path | None = None  # a leftover recovery file this session restored
        self._lock: QLockFile | None = None
        self._session_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # this session's recovery file name
        self._autosaved_generation = -1
        self.autosave_job: Job | None = None
        self.autosave_timer = QTimer(window)
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        window.close_guards.append(self.confirm_close)
        if window.confirm_unsaved:
            self.autosave_timer.start()

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
        slicers = []
        for v in self.state.views.values():  # the state, never the widgets
            entry = self.state.entries.get(v.dataset)
            if v.kind != "slicer" or entry is None or not isinstance(entry.dataset, Grid):
                continue
            bias = entry.dataset.bias
            item: dict[str, Any] = {
                "grid": v.dataset,
                "channel": v.channel,
                "window": v.window,
                "view": v.key,
            }
            if v.index is not None and 0 <= v.index < len(bias):
                item["value"] = float(bias[v.index])
            item["colormap"] = v.colormap
            if v.levels is not None:
                item["levels"] = [float(v.levels[0]), float(v.levels[1])]
            slicers.append(item)
        maps = [
            {
                "view": v.key,
                "dataset": v.dataset,
                "channel": v.channel,
                "levelling": v.levelling,
                "colormap": v.colormap,
                "levels": [float(v.levels[0]), float(v.levels[1])] if v.levels is not None else None,
            }
            for v in self.state.views.values()
            if v.kind == "map" and v.dataset in self.state.entries
        ]
        extra = {k: v for k, v in self.extra_attachments.items() if k not in KNOWN_ATTACHMENTS}
        for name, provide in self.state.attachment_providers.items():
            extra[name] = provide()  # e.g. the regions with their averaged spectra
        view: dict[str, Any] = {"slicers": slicers, "maps": maps}
        save_state = getattr(self.window, "saveState", None)
        if callable(save_state):  # the dock layout, as Qt's own bytes
            view["layout"] = base64.b64encode(bytes(save_state().data())).decode("ascii")
        return collect_project(self.state, view_extra=view, attachments=extra)

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
        removed = remove_stale_temporaries(path)
        if removed:
            self.window.log("info", f"{path.name}: {describe_removed(removed)}")
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
        if not self.modified:
            self.remove_recovery()
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
        if not self.confirm_discard("Open project"):
            return
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
            # the loader stays busy until the restore, spread over event-loop turns, has finished
            self._opened(path, project, lambda: setattr(loader, "loading", loader.loading - 1))

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
        return not (s.entries or s.regions or s.linecuts or s.fits or s.pinned or s.figures)

    def _opened(self, path: Path, project: Project, done: Callable[[], Any] | None = None) -> None:
        """Restore an opened project into the session in steps, each in an event-loop turn of its own
        (input and painting are handled between them): the datasets and collections go into the state at
        once and each view rebuilds in a turn of its own, then the saved slicers, each feature's
        attachment, each saved map view, the figures' links and the dock layout. ``restoring`` is True
        until the last step, which emits ``restore_finished(path)`` and calls ``done``."""
        fresh = self._session_empty()
        self._restoring = True
        self._restores += 1
        self.projects.append(project)
        step = self.turns.call
        try:
            with self.state.batch(spread=step):  # the views hear of the new contents one per turn
                result = restore_project(self.state, project)
        except Exception:
            self._restore_ended(done)
            raise
        self.last_restore = result
        # the project file, the title and the modified marker are there at once
        recovered = path == self.restored_from
        if fresh:
            self.path = None if recovered else path
            self.extra_attachments = dict(result.other)
        else:
            for k, v in result.other.items():
                self.extra_attachments.setdefault(k, v)
        self.set_modified(not fresh or recovered)
        if not recovered:
            self.window.add_recent_file(str(path))
        views: dict[str, str] = {}  # saved view key -> the restored view's key
        slicers: dict[str, str] = {}  # dataset key -> its restored slicer's view key

        def restore_slicers() -> None:
            result.warnings += self._restore_slicers(result.view.get("slicers") or [], views, slicers)

        step(restore_slicers)
        for name, restore in self.state.attachment_restorers.items():
            if name in result.other:
                step(lambda name=name, restore=restore: self._restore_attachment(result, name, restore))
        # each saved map view opens in an event-loop turn of its own, and the dock layout after them all
        for m in result.view.get("maps") or []:
            step(lambda m=m, name=path.name: self._restore_map_later(name, m, views))
        # the figures follow the restored views once they all exist
        step(lambda: relink_figure_views(self.state, result.figures, views, slicers))
        if fresh:
            layout = result.view.get("layout")
            step(lambda: self._restore_layout(layout))
        # finished once the refreshes the steps queued have run too
        self.turns.call_last(lambda: self._restore_finished(path, result, fresh, done))

    def _restore_attachment(self, result: RestoreResult, name: str, restore: Callable[..., Any]) -> None:
        try:
            result.warnings += list(restore(result.other[name], dict(result.keys)) or [])
        except Exception as exc:  # a damaged attachment must not stop the rest
            result.warnings.append(f"{name} could not be restored: {exc}")

    @property
    def restoring(self) -> bool:
        """True while an opened project is being restored (its steps run in event-loop turns of their own;
        ``restore_finished`` follows the last)."""
        return self._restores > 0

    def _restore_ended(self, done: Callable[[], Any] | None) -> None:
        self._restores -= 1
        self._restoring = self._restores > 0
        if done is not None:
            done()

    def _restore_finished(
        self, path: Path, result: RestoreResult, fresh: bool, done: Callable[[], Any] | None
    ) -> None:
        """The last step of a restore: warnings, the modified marker (again: the steps may have edited
        the state), the history, the log."""
        self._restore_ended(done)
        for text in result.warnings:
            self.window.log("warning", f"{path.name}: {text}")
        self.set_modified(not fresh or path == self.restored_from)
        if fresh:  # the undo history is not saved: it starts here, and the History dock says so
            self.state.undo.clear(origin=path.name)
        s = self.state
        self.window.log(
            "info",
            f"Opened project {path.name}: {len(result.datasets)} datasets"
            f"{'' if fresh else ' added to the session'}, {len(s.regions)} regions, "
            f"{len(s.linecuts)} line cuts, {len(s.fits)} fits",
        )
        self.restore_finished.emit(str(path))

    def _restore_layout(self, text: Any) -> None:
        """Put the saved dock layout back once the restored views have their docks (next event loop
        turn); a damaged or foreign layout is ignored."""
        restore = getattr(self.window, "restoreState", None)
        if not isinstance(text, str) or not callable(restore):
            return
        try:
            data = base64.b64decode(text.encode("ascii"), validate=True)
        except ValueError:
            self.window.log("warning", "The project's dock layout is damaged; the current layout is kept")
            return
        from PySide6.QtCore import QByteArray

        self.restored_layout = data
        QTimer.singleShot(0, lambda: restore(QByteArray(data)))

    def _restore_map_later(self, name: str, saved: dict[str, Any], views: dict[str, str]) -> None:
        for text in self._restore_maps([saved], views):
            self.window.log("warning", f"{name}: {text}")

    def _restore_maps(self, saved: list[dict[str, Any]], views: dict[str, str] | None = None) -> list[str]:
        """Open the saved map views again (through the state: the map views' controller opens a dock for
        each new map view) with their levelling, colour map and fixed levels; returns what could not be.
        ``views`` receives saved view key -> restored view key."""
        problems: list[str] = []
        for m in saved:
            key, channel = m.get("dataset"), m.get("channel")
            if not isinstance(key, str) or key not in self.state.entries or not isinstance(channel, str):
                continue
            vkey = saved_key = m.get("view")  # the saved key when free: the dock layout finds its dock
            if not isinstance(vkey, str) or vkey in self.state.views or vkey in self.window.dock_keys():
                vkey = self.state.new_key("map")
            levelling = m.get("levelling") if isinstance(m.get("levelling"), str) else "none"
            self.state.views[vkey] = ViewState(vkey, key, channel, "map", levelling=levelling)
            if vkey not in self.state.views:  # that map could not be shown
                continue
            if isinstance(saved_key, str) and views is not None:
                views[saved_key] = vkey
            changes: dict[str, Any] = {}
            if isinstance(m.get("colormap"), str):
                changes["colormap"] = m["colormap"]
            levels = m.get("levels")
            if isinstance(levels, list | tuple) and len(levels) == 2:
                changes["levels"] = (float(levels[0]), float(levels[1]))
            try:
                self.state.set_view(vkey, **changes)
            except (TypeError, ValueError) as exc:
                problems.append(f"a map view of {key} could not be restored in full: {exc}")
        return problems

    def _restore_slicers(
        self,
        saved: list[dict[str, Any]],
        views: dict[str, str] | None = None,
        slicers: dict[str, str] | None = None,
    ) -> list[str]:
        """Show the saved slicers through the state: a slicer view of the grid that is not yet taken gets
        the saved channel, bias, window, colour map and levels; a missing one is added (and opens).
        ``views`` receives saved view key -> restored view key, ``slicers`` grid key -> restored view key.
        Returns what could not be restored (the others still are)."""
        used: set[str] = set()
        problems: list[str] = []
        for s in saved:
            key = s.get("grid")
            entry = self.state.entries.get(key) if isinstance(key, str) else None
            if entry is None or not isinstance(entry.dataset, Grid):
                continue
            try:
                grid = entry.dataset
                free = [
                    k
                    for k, v in self.state.views.items()
                    if v.kind == "slicer" and v.dataset == key and k not in used
                ]
                channel = s.get("channel")
                channel = channel if isinstance(channel, str) and channel in grid.channels else None
                if free:
                    vkey = free[0]
                else:
                    vkey = self.state.new_key("slicer")
                    self.state.views[vkey] = ViewState(vkey, key, channel or "", "slicer")
                    if vkey not in self.state.views:  # the grid could not be sliced
                        continue
                used.add(vkey)
                if isinstance(s.get("view"), str) and views is not None:
                    views[s["view"]] = vkey
                if slicers is not None:
                    slicers.setdefault(key, vkey)
                changes: dict[str, Any] = {}
                if channel:
                    changes["channel"] = channel
                value = s.get("value")
                if isinstance(value, int | float) and math.isfinite(value) and len(grid.bias):
                    changes["index"] = int(grid.bias_index(float(value)))
                if isinstance(s.get("window"), int):
                    changes["window"] = int(s["window"])
                if isinstance(s.get("colormap"), str):
                    changes["colormap"] = s["colormap"]
                levels = s.get("levels")
                if isinstance(levels, list | tuple) and len(levels) == 2:
                    changes["levels"] = (float(levels[0]), float(levels[1]))
                self.state.set_view(vkey, **changes)
            except Exception as exc:  # a damaged view state must not stop the restore
                problems.append(f"a slicer of {key} could not be restored: {exc}")
        return problems

    def _open_failed(self, path: Path, reason: str) -> None:
        self.last_error = reason
        self.window.log("error", f"Could not open project {path}: {reason}")
        self._show_message("Could not open project", f"{path}: {reason}", "The session is unchanged.")

    # -- unsaved changes ------------------------------------------------------------------------------------
    def confirm_discard(self, action: str) -> bool:
        """Before ``action`` ("Quit", "Open project"): True to go on. With unsaved changes (and
        ``window.confirm_unsaved``) asks Save / Discard / Cancel; Save saves first (and goes on only when
        the save succeeded), Cancel changes nothing."""
        if not self.modified or not self.window.confirm_unsaved:
            return True
        name = self.path.name if self.path is not None else "The untitled project"
        answer = ask(
            self.window,
            action,
            f"{name} has unsaved changes.",
            "Save them first? Discard loses the changes made since the last save.",
            {Button.Save: "Save", Button.Discard: "Discard", Button.Cancel: "Cancel"},
            Button.Save,
        )
        if answer == Button.Cancel:
            return False
        if answer == Button.Discard:
            return True
        return self.save_and_wait()

    def confirm_close(self) -> bool:
        """The window's close guard: ask about unsaved changes; on leaving, remove the recovery file."""
        if not self.confirm_discard("Quit"):
            return False
        self.remove_recovery()
        if self.restored_from is not None:  # the leftover this session restored is not needed either
            self._close_projects()
            for p in (self.restored_from, Path(str(self.restored_from) + ".lock")):
                try:
                    p.unlink(missing_ok=True)
                except OSError as exc:
                    self.window.log("warning", f"Could not remove the recovery file {p}: {exc}")
            self.restored_from = None
        return True

    def save_and_wait(self) -> bool:
        """Save (asking for a file name when there is none) and wait for the save, the window staying
        responsive; True when it succeeded."""
        job = self.save()
        if job is None:
            return False
        loop = QEventLoop()
        while self.save_job is job:
            loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        return not self.modified and self.last_error is None

    def _recovery_file(self) -> Path:
        return self.recovery_dir / f"{RECOVERY_PREFIX}{self._session_id}.h5"

    def autosave(self) -> Job | None:
        """Write the modified session to this session's recovery file, off the GUI thread (the store
        writes a temporary file and renames it). Nothing when unmodified, unchanged since the last
        autosave, or while a save runs."""
        if not self.modified or self._generation == self._autosaved_generation:
            return None
        if self.save_job is not None or self.autosave_job is not None:
            return None
        path = self._recovery_file()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if self._lock is None:
                self._lock = QLockFile(str(path) + ".lock")
                self._lock.setStaleLockTime(0)
                self._lock.tryLock(0)
            entries, attachments = self.collect()
        except (OSError, RecordError, ValueError) as exc:
            self.window.log("warning", f"Autosave to {path} failed: {exc}")
            return None
        generation = self._generation

        def done(_r: Any) -> None:
            self.autosave_job = None
            self.recovery_path = path
            self._autosaved_generation = generation
            if not self.modified:  # saved meanwhile: the recovery file is not needed
                self.remove_recovery()

        def failed(message: str) -> None:
            self.autosave_job = None
            self.window.log("warning", f"Autosave to {path} failed: {_reason(message)}")

        def cancelled() -> None:
            self.autosave_job = None

        self.autosave_job = self.window.run_job(
            save_project,
            str(path),
            entries,
            attachments,
            name="Autosave",
            on_finished=done,
            on_failed=failed,
            on_cancelled=cancelled,
        )
        return self.autosave_job

    def remove_recovery(self) -> None:
        """Delete this session's recovery file (and a restored leftover): the session ended cleanly or
        was saved."""
        for p in (self.recovery_path, self._recovery_file()):
            if p is not None and p.exists() and self.autosave_job is None:
                try:
                    p.unlink()
                except OSError as exc:
                    self.window.log("warning", f"Could not remove the recovery file {p}: {exc}")
        self.recovery_path = None
        self._autosaved_generation = -1
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    def leftover_recovery_files(self) -> list[Path]:
        """Recovery files of sessions that ended without closing (their lock is free or stale)."""
        if not self.recovery_dir.is_dir():
            return []
        out = []
        for p in sorted(self.recovery_dir.glob(f"{RECOVERY_PREFIX}*.h5")):
            if p == self._recovery_file() or p == self.restored_from:
                continue
            lock = QLockFile(str(p) + ".lock")
            if lock.tryLock(0):  # no live session holds it (a crashed one's lock is stale)
                lock.unlock()
                out.append(p)
        return out

    def offer_recovery(self) -> Path | None:
        """On start: offer the newest leftover recovery file (Restore / Discard); returns the restored
        file. Restore opens it as an untitled, modified project (Save asks for a file name); Discard
        deletes it."""
        leftovers = self.leftover_recovery_files()
        if not leftovers:
            return None
        newest = max(leftovers, key=lambda p: p.stat().st_mtime)
        when = newest.stat().st_mtime
        from datetime import datetime

        answer = ask(
            self.window,
            "Recover unsaved work",
            "A previous session ended without saving its changes.",
            f"Restore the session autosaved at {datetime.fromtimestamp(when):%Y-%m-%d %H:%M}?",
            {Button.Open: "Restore", Button.Discard: "Discard"},
            Button.Open,
        )
        if answer != Button.Open:
            for p in leftovers:
                p.unlink(missing_ok=True)
                Path(str(p) + ".lock").unlink(missing_ok=True)
            return None
        self.restored_from = newest
        self.open(newest)  # _opened makes it an untitled, modified project
        return newest

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


def install(window: Host) -> None:
    """Add the project actions to the File menu (``window.project`` is the controller)."""
    window.project = ProjectController(window)  # type: ignore[attr-defined]
