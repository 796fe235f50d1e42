"""The main window's public API: docks, menus, jobs, log, features, settings, drag and drop."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel

from app.workers import Cancelled
from tests.app.gui_support import close_window, make_grid, open_window, temp_settings


def _slow(*, progress, cancel, steps=200):
    for i in range(steps):
        if cancel.is_set():
            raise Cancelled()
        progress(i, steps)
        time.sleep(0.005)
    return "done"


def test_add_dock_menu_and_view_entries(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path)
    try:
        dock = w.add_dock("extra", "Extra panel", QLabel("x"))
        assert w.dock("extra") is dock
        view_texts = [a.text().replace("&", "") for a in w.menu("View").actions()]
        assert "Extra panel" in view_texts and "Reset layout" in view_texts and "New slicer" in view_texts
        with pytest.raises(ValueError):
            w.add_dock("extra", "again", QLabel("y"))
        assert w.menu("Analysis") is w.menu("&Analysis")
        new = w.menu("Tools")
        titles = [a.text().replace("&", "") for a in w.menuBar().actions()]
        assert titles[-1] == "Help" and "Tools" in titles and new.title() == "&Tools"
        # hiding through the View action and restoring through Reset layout
        dock.toggleViewAction().trigger()
        assert not dock.isVisible()
        w.dock("spectra").toggleViewAction().trigger()
        assert not w.dock("spectra").isVisible()
        w.reset_layout()
        assert w.dock("spectra").isVisible()
    finally:
        close_window(qtbot, w)


def test_run_job_finished_failed_cancelled(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path)
    try:
        got = {}
        w.run_job(lambda a, b, **_: a + b, 2, 3, name="sum", on_finished=lambda r: got.setdefault("sum", r))
        qtbot.waitUntil(lambda: "sum" in got)
        assert got["sum"] == 5

        def bad(**_):
            raise ValueError("broken input")

        w.run_job(bad, name="bad job", on_failed=lambda m: got.setdefault("failed", m))
        qtbot.waitUntil(lambda: "failed" in got)
        assert "broken input" in got["failed"]
        assert any(level == "error" and "bad job failed" in text for level, text in w.log_panel.entries())

        job = w.run_job(_slow, name="slow", on_cancelled=lambda: got.setdefault("cancelled", True))
        qtbot.waitUntil(lambda: w.job_status.is_busy() and w.job_status.cancel_button.isVisible())
        assert w.job_status.label.text().startswith("slow")
        w.job_status.cancel_button.click()
        qtbot.waitUntil(lambda: "cancelled" in got, timeout=5000)
        assert job.is_cancelled and not w.active_jobs()
        qtbot.waitUntil(lambda: not w.job_status.cancel_button.isVisible())
    finally:
        close_window(qtbot, w)


def test_log_goes_to_panel_and_status_bar(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path)
    try:
        w.log("warning", "careful now")
        w.state.log("error", "from the state")
        entries = w.log_panel.entries()
        assert entries[-2:] == [("warning", "careful now"), ("error", "from the state")]
        assert "from the state" in w.statusBar().currentMessage()
        assert w.log_panel.table.rowCount() == len(entries)
    finally:
        close_window(qtbot, w)


def test_features_installed_and_failures_logged(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=["tests.app.feature_probe", "tests.app.no_such_feature"])
    try:
        assert w.features_installed == ["tests.app.feature_probe"]
        assert "tests.app.no_such_feature" in w.features_failed
        assert "probe" in w.dock_keys()
        assert any("no_such_feature" in text for level, text in w.log_panel.entries() if level == "error")
        assert "Probe action" in [a.text() for a in w.menu("Analysis").actions()]
    finally:
        close_window(qtbot, w)


def test_map_panels_api(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path)
    try:
        added = []
        w.map_panel_added.connect(added.append)
        assert w.map_panels() == [w.exploration.topography]
        key = w.state.add_dataset(make_grid(), "g")
        assert len(added) == 1 and added[0] in w.map_panels()
        panel = added[0]
        assert panel.dataset_key == key and panel.frame == w.state.entries[key].dataset.frame
        assert w.current_grid_key() == key
        hits = []
        panel.add_context_action("Cut line here", lambda x, y: hits.append((x, y)))
        shown = []
        panel.context_menu_about_to_show.connect(lambda m: shown.append(m))
        menu = panel.build_context_menu(1e-9, 2e-9)
        act = [a for a in menu.actions() if a.text() == "Cut line here"][0]
        act.trigger()
        assert hits == [(1e-9, 2e-9)] and shown == [menu]
        w.state.remove_dataset(key)
        assert panel not in w.map_panels()
    finally:
        close_window(qtbot, w)


def test_recent_files_and_layout_persist(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path)
    w.add_recent_file(str(tmp_path / "a.3ds"))
    w.add_recent_file(str(tmp_path / "b.3ds"))
    w.dock("log").setVisible(False)
    w.dock("topography").setFloating(True)
    close_window(qtbot, w)
    s = temp_settings(tmp_path)
    assert s.value("window/state") is not None
    w2 = open_window(qtbot, tmp_path, restore=True)
    try:
        assert [p.rsplit("/", 1)[-1] for p in w2.recent_files()] == ["b.3ds", "a.3ds"]
        assert [a.text() for a in w2._recent_menu.actions()][:2] == ["b.3ds", "a.3ds"]
        assert w2.dock("topography").isFloating()
        w2.reset_layout()
        assert not w2.dock("topography").isFloating()
    finally:
        close_window(qtbot, w2)


def test_drop_files_opens_them(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path)
    try:
        bad = tmp_path / "dropped.3ds"
        bad.write_bytes(b"this is not a grid file at all\n" * 4)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(bad))])
        ev = QDropEvent(
            QPointF(10, 10),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
        w.dropEvent(ev)
        qtbot.waitUntil(lambda: w.loader.last_error is not None, timeout=10000)
        assert "dropped.3ds" in w.loader.last_error
    finally:
        close_window(qtbot, w)


def test_close_waits_for_running_jobs(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path)
    started = threading.Event()

    def work(*, progress, cancel):
        started.set()
        while not cancel.is_set():
            time.sleep(0.005)
        raise Cancelled()

    job = w.run_job(work, name="endless")
    assert started.wait(5)
    w.close()
    assert job.done.is_set()


def test_default_features_are_installed_or_reported(qtbot, tmp_path):
    from app.window.feature_list import FEATURES

    w = open_window(qtbot, tmp_path, features=None)
    try:
        assert set(w.features_installed) | set(w.features_failed) == set(FEATURES)
        for path, reason in w.features_failed.items():
            assert any(path in text and level == "error" for level, text in w.log_panel.entries()), reason
    finally:
        close_window(qtbot, w)


def test_the_window_keeps_what_it_built_out_of_the_cyclic_collector(qtbot, tmp_path):
    """A full collection walks every tracked object and runs in whatever turn allocates: what the window
    built lives as long as it does and is frozen (left out of those walks)."""
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    w = open_window(qtbot, tmp_path)
    try:
        assert gc.get_freeze_count() > 10_000
        assert not any(o is w for o in gc.get_objects())  # the window's wrapper is among them
    finally:
        close_window(qtbot, w)
