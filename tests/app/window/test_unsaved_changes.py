"""Unsaved changes in the real window: the prompt on close, quit and open, the autosaved recovery file and
its offer on the next start; every answer given by clicking the message box's button."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from tests.app.gui_support import make_grid
from tests.app.real_input import menu_action

FEATURES = ["app.features.regions", "app.features.project"]


def _window(qtbot, tmp_path: Path, name: str = "w"):
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, features=FEATURES, restore_layout=False, confirm_unsaved=True)
    qtbot.addWidget(w)
    w.project.recovery_dir = tmp_path / "recovery"
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


class Answer:
    """Clicks ``label`` in the next question box that opens (a real mouse click on its button)."""

    def __init__(self, qtbot, label: str) -> None:
        self.qtbot, self.label, self.texts = qtbot, label, []
        QTimer.singleShot(0, self._poll)

    def _poll(self) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, self._poll)
            return
        self.texts.append(box.text())
        button = next(b for b in box.buttons() if b.text().replace("&", "") == self.label)
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _modified(qtbot, w):
    w.state.add_dataset(make_grid(), "g")
    qtbot.waitUntil(lambda: w.project.modified)


def _finish(w):
    w.confirm_unsaved = False
    w.close()
    w.shutdown()


def test_close_with_changes_asks_and_cancel_keeps_everything(qtbot, tmp_path):
    w = _window(qtbot, tmp_path)
    _modified(qtbot, w)
    ans = Answer(qtbot, "Cancel")
    assert not w.close()  # a real close event through QWidget.close
    assert ans.texts and "unsaved changes" in ans.texts[0]
    assert w.isVisible() and len(w.state.entries) == 1 and w.project.modified
    # Quit from the File menu asks the same; Cancel keeps the window again
    ans = Answer(qtbot, "Cancel")
    menu_action(qtbot, w, "File", "Quit")
    assert ans.texts and w.isVisible()
    # Discard closes
    Answer(qtbot, "Discard")
    assert w.close()
    assert not w.isVisible()
    w.shutdown()


def test_close_without_changes_does_not_ask(qtbot, tmp_path):
    w = _window(qtbot, tmp_path)
    ev = QCloseEvent()
    QApplication.sendEvent(w, ev)
    assert ev.isAccepted()
    w.shutdown()


def test_save_answer_saves_then_closes(qtbot, tmp_path, monkeypatch):
    w = _window(qtbot, tmp_path)
    _modified(qtbot, w)
    target = tmp_path / "saved.h5"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    Answer(qtbot, "Save")
    assert w.close()
    assert target.is_file() and not w.project.modified
    w.shutdown()


def test_open_project_with_changes_asks_first(qtbot, tmp_path, monkeypatch):
    w = _window(qtbot, tmp_path)
    _modified(qtbot, w)
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: asked.append(1) or ("", ""))
    ans = Answer(qtbot, "Cancel")
    menu_action(qtbot, w, "File", "Open Project...")
    qtbot.waitUntil(lambda: bool(ans.texts))
    assert asked == [] and len(w.state.entries) == 1  # Cancel: no file dialog, nothing changed
    _finish(w)


def test_autosave_writes_a_recovery_file_that_the_next_start_offers(qtbot, tmp_path):
    w = _window(qtbot, tmp_path, "first")
    assert w.project.autosave_timer.isActive()
    w.project.autosave_timer.setInterval(50)
    _modified(qtbot, w)
    rec_dir = tmp_path / "recovery"
    qtbot.waitUntil(
        lambda: w.project.recovery_path is not None and w.project.recovery_path.is_file(), timeout=10000
    )
    recovery = w.project.recovery_path
    assert recovery.parent == rec_dir
    # while this session runs, its file is not a leftover
    other = _window(qtbot, tmp_path, "other")
    assert other.project.leftover_recovery_files() == []
    _finish(other)
    # a crash: the session ends without closing (its lock released as by a dead process)
    w.project.autosave_timer.stop()
    w.project._lock.unlock()
    w.project._lock = None
    w.confirm_unsaved = False
    w.shutdown()
    # the next start offers it; Restore brings the dataset back as an unsaved, untitled project
    nxt = _window(qtbot, tmp_path, "next")
    assert nxt.project.leftover_recovery_files() == [recovery]
    ans = Answer(qtbot, "Restore")
    assert nxt.project.offer_recovery() == recovery
    assert ans.texts and "without saving" in ans.texts[0]
    qtbot.waitUntil(lambda: len(nxt.state.entries) == 1, timeout=10000)
    assert nxt.project.modified and nxt.project.path is None
    # a clean close (Discard) removes it
    Answer(qtbot, "Discard")
    assert nxt.close()
    nxt.shutdown()
    assert not recovery.exists()


def test_discarding_the_offer_deletes_the_leftover(qtbot, tmp_path):
    rec_dir = tmp_path / "recovery"
    rec_dir.mkdir()
    leftover = rec_dir / "recovery-999999.h5"
    w0 = _window(qtbot, tmp_path, "w0")
    _modified(qtbot, w0)
    w0.project.save_to(leftover)
    qtbot.waitUntil(lambda: w0.project.save_job is None, timeout=10000)
    _finish(w0)
    time.sleep(0.01)
    w = _window(qtbot, tmp_path, "w1")
    Answer(qtbot, "Discard")
    assert w.project.offer_recovery() is None
    assert not leftover.exists() and w.state.entries == {}
    _finish(w)


@pytest.mark.parametrize("explicit", [None])
def test_scripted_windows_never_ask(qtbot, tmp_path, explicit):
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, features=FEATURES, restore_layout=False, confirm_unsaved=explicit)
    qtbot.addWidget(w)
    w.show()
    w.state.add_dataset(make_grid(), "g")
    assert not w.project.autosave_timer.isActive()
    assert w.close()
    w.shutdown()
