"""File > Save Project / Open Project in the real main window: a demo session comes back whole in a fresh
window; a cancelled or failed save leaves the previous file untouched and says so."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog

from analysis.maps.linecut import CutPath
from analysis.maps.regions import Rectangle
from tests.app.gui_support import make_grid, wait_slicers_idle, window_maker

NM = 1e-9
FEATURES = ["app.features.regions", "app.features.project"]


@pytest.fixture
def windows(qtbot, tmp_path):
    with window_maker(qtbot, tmp_path, FEATURES) as make:
        yield make


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_saved(qtbot, w) -> None:
    qtbot.waitUntil(lambda: w.project.save_job is None, timeout=20000)


def _wait_open(qtbot, w) -> None:
    qtbot.waitUntil(lambda: w.loader.loading == 0, timeout=20000)
    wait_slicers_idle(qtbot, w)


def _log_text(w) -> str:
    return "\n".join(f"{level}: {text}" for level, text in w.log_panel.entries())


def _slicer_state(w) -> list[tuple[str, str, float, np.ndarray]]:
    out = []
    for s in w.exploration.slicers:
        label = w.state.entries[s.key].label
        out.append((label, s.channel, s.sweep_value(), np.array(s.panel.current_image())))
    return sorted(out, key=lambda t: t[0])


@pytest.mark.slow
def test_demo_session_comes_back_in_a_fresh_window(qtbot, windows, tmp_path, monkeypatch):
    a = windows("a")
    assert a.windowTitle() == "Untitled project[*] - STS Workbench" and not a.isWindowModified()
    a.open_demo()
    _wait_open(qtbot, a)
    assert a.isWindowModified()
    qp_key, jos_key = list(a.state.entries)
    qp = a.state.entries[qp_key].dataset
    # the user's work: a region, a pin, a clicked point, a slicer moved to another bias and channel,
    # a line cut and a fit record
    region = a.regions.add_geometry(Rectangle((-30 * NM, 20 * NM), (40 * NM, 30 * NM)))
    a.state.pin(10 * NM, -15 * NM)
    a.state.set_cursor((-20 * NM, 5 * NM))
    qp_slicer = a.exploration.slicers_for(qp_key)[0]
    qp_slicer.set_value(-3e-3)
    jos_slicer = a.exploration.slicers_for(jos_key)[0]
    jos_slicer.set_channel("Current")
    a.state.linecuts[a.state.new_key("cut")] = CutPath(((-50 * NM, 0.0), (50 * NM, 10 * NM)), name="across")
    a.state.linecuts_changed.emit()
    a.state.fits[a.state.new_key("fit")] = {"kind": "batch", "model": "dynes", "grid": qp_key, "pixels": 7}
    a.state.fits_changed.emit()
    a.state.set_current(jos_key)
    wait_slicers_idle(qtbot, a)
    qtbot.waitUntil(lambda: not a.regions.is_busy() and bool(a.regions.averages), timeout=20000)
    before = _slicer_state(a)
    assert {(t[0], t[1]) for t in before} == {(qp.name, "dI/dV"), (a.state.entries[jos_key].label, "Current")}

    # Save Project (Ctrl+S) without a file yet asks for one
    path = tmp_path / "demo session"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    a.project.save_action.trigger()
    assert a.project.save_job is not None
    _wait_saved(qtbot, a)
    saved = tmp_path / "demo session.h5"
    assert saved.is_file() and a.project.last_error is None
    assert a.windowTitle() == "demo session.h5[*] - STS Workbench" and not a.isWindowModified()
    with h5py.File(saved, "r") as f:  # region spectra written with the regions
        names = [f["attachments"][k].attrs["name"] for k in f["attachments"]]
        assert {"regions", "linecuts", "fits", "view"} <= set(names)

    # a fresh window opens it through File > Open (the loader's project hook)
    b = windows("b")
    b.open_files([saved])
    _wait_open(qtbot, b)
    assert b.project.path == saved and not b.isWindowModified()
    assert b.windowTitle() == "demo session.h5[*] - STS Workbench"
    assert [e.label for e in b.state.entries.values()] == [e.label for e in a.state.entries.values()]
    bq, bj = list(b.state.entries)
    np.testing.assert_array_equal(
        b.state.entries[bq].dataset.channels["dI/dV"][40:44, 50:52, :], qp.channels["dI/dV"][40:44, 50:52, :]
    )
    assert b.state.current == bj
    assert b.state.cursor == pytest.approx((-20 * NM, 5 * NM))
    assert [(p.x, p.y, p.color) for p in b.state.pinned] == [(p.x, p.y, p.color) for p in a.state.pinned]
    (r,) = b.state.regions.values()
    assert (r.name, r.colour, r.geometry) == (region.name, region.colour, region.geometry)
    assert list(b.state.linecuts.values()) == list(a.state.linecuts.values())
    (fit,) = b.state.fits.values()
    assert fit == {"kind": "batch", "model": "dynes", "grid": bq, "pixels": 7}
    # slicers at the saved grid, channel and bias, showing the same pixels
    after = _slicer_state(b)
    assert [(t[0], t[1], t[2]) for t in after] == [(t[0], t[1], t[2]) for t in before]
    for (_, _, _, img_b), (_, _, _, img_a) in zip(after, before):
        np.testing.assert_array_equal(img_b, img_a)
    # the region spectra are recomputed from the restored region
    qtbot.waitUntil(lambda: not b.regions.is_busy() and bool(b.regions.averages), timeout=20000)
    rid = r.id
    mean_a = a.regions.averages[qp_key][region.id].mean
    np.testing.assert_allclose(
        b.regions.averages[bq][rid].mean, mean_a, rtol=1e-5, atol=1e-6 * np.abs(mean_a).max()
    )

    # an edit marks it modified; Ctrl+S then writes back over the file it reads lazily
    b.state.pin(0.0, 0.0)
    assert b.isWindowModified()
    b.project.save_action.trigger()
    _wait_saved(qtbot, b)
    assert not b.isWindowModified() and b.project.last_error is None
    from analysis.store import open_project

    with open_project(saved) as p:
        assert len(p.attachments["view"].data["pinned"]) == 2
        np.testing.assert_array_equal(
            p.entries[0].dataset.channels["dI/dV"][:, :, 100], qp.channels["dI/dV"][:, :, 100]
        )


class _GatedCube:
    """A (ny, nx, nb) array-like whose reads wait at a gate once ``armed`` (a slow disk), or fail."""

    def __init__(self, data: np.ndarray, fail: bool = False) -> None:
        self.data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.ndim = 3
        self.armed = False
        self.fail = fail
        self.reading = threading.Event()
        self.gate = threading.Event()

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.data, dtype=dtype)

    def __getitem__(self, idx):
        if self.armed:
            self.reading.set()
            if self.fail:
                raise OSError("the source file is no longer readable")
            assert self.gate.wait(20)
        return self.data[idx]


def _session_with(w, cube: _GatedCube | None = None) -> tuple[str, str | None]:
    g = make_grid(ny=40, nx=16, nb=21)
    k = w.state.add_dataset(g, "synthetic grid")
    k2 = None
    if cube is not None:
        gated = replace(make_grid(ny=40, nx=16, nb=21, name="gated"), channels={"dI/dV": cube})
        k2 = w.state.add_dataset(gated, "gated grid")
    return k, k2


def test_cancelled_save_leaves_the_previous_file(qtbot, windows, tmp_path):
    w = windows()
    cube = _GatedCube(make_grid(ny=40, nx=16, nb=21).channels["dI/dV"])
    _session_with(w, cube)
    wait_slicers_idle(qtbot, w)
    path = tmp_path / "p.h5"
    w.project.save_to(path)
    _wait_saved(qtbot, w)
    assert path.is_file() and not w.isWindowModified()
    old = _digest(path)

    w.state.pin(1 * NM, 1 * NM)
    assert w.isWindowModified()
    cube.armed = True
    job = w.project.save_action.trigger() or w.project.save_job
    assert job is not None
    qtbot.waitUntil(cube.reading.is_set, timeout=10000)  # the save is copying the cube
    w.job_status.cancel_clicked.emit()  # the status bar's cancel button
    cube.gate.set()
    _wait_saved(qtbot, w)
    cube.armed = False
    assert _digest(path) == old
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
    assert w.isWindowModified() and w.project.path == path
    assert "Project save cancelled; p.h5 is unchanged" in _log_text(w)


def test_failed_save_keeps_the_old_file_and_shows_a_message(qtbot, windows, tmp_path):
    w = windows()
    cube = _GatedCube(make_grid(ny=40, nx=16, nb=21).channels["dI/dV"], fail=True)
    _, gated_key = _session_with(w, cube)
    wait_slicers_idle(qtbot, w)
    path = tmp_path / "p.h5"
    w.project.save_to(path)
    _wait_saved(qtbot, w)
    old = _digest(path)

    w.state.pin(2 * NM, 2 * NM)
    cube.armed = True
    w.project.save()
    _wait_saved(qtbot, w)
    assert _digest(path) == old
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
    assert "no longer readable" in w.project.last_error
    box = w.project.message_box
    assert box is not None and box.isVisible() and not box.isModal()
    assert "no longer readable" in box.text() and box.informativeText() == "The previous file is unchanged."
    assert w.isWindowModified()
    assert "Could not save project" in _log_text(w)

    # closing the unreadable dataset lets the next save succeed
    cube.armed = False
    w.state.remove_dataset(gated_key)
    w.project.save()
    _wait_saved(qtbot, w)
    assert w.project.last_error is None and _digest(path) != old and not w.isWindowModified()


def test_save_into_a_folder_that_cannot_be_written(qtbot, windows, tmp_path, monkeypatch):
    w = windows()
    _session_with(w)
    wait_slicers_idle(qtbot, w)
    blocker = tmp_path / "not a folder"
    blocker.write_text("a plain file")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(blocker / "p.h5"), ""))
    w.project.save_as_action.trigger()
    _wait_saved(qtbot, w)
    assert w.project.path is None and w.isWindowModified()
    assert w.project.message_box is not None and w.project.message_box.isVisible()
    assert w.project.message_box.informativeText() == "Nothing was written."
    assert blocker.read_text() == "a plain file"

    if os.geteuid() == 0:
        return  # permissions do not stop the superuser; the case above covers an unwritable target
    folder = tmp_path / "locked"
    folder.mkdir()
    w.project.save_to(folder / "p.h5")
    _wait_saved(qtbot, w)
    old = _digest(folder / "p.h5")
    folder.chmod(0o555)
    try:
        w.state.pin(0.0, 0.0)
        w.project.save()
        _wait_saved(qtbot, w)
        assert w.project.last_error and _digest(folder / "p.h5") == old
        assert w.project.message_box.informativeText() == "The previous file is unchanged."
    finally:
        folder.chmod(0o755)


def test_menu_actions_dialog_cancel_and_bad_files(qtbot, windows, tmp_path, monkeypatch):
    w = windows()
    m = w.menu("File")
    texts = [a.text() for a in m.actions()]
    assert texts.index("Open &Project...") < texts.index("&Save Project") < texts.index("Save Project &As...")
    assert texts.index("Save Project &As...") < texts.index("&Quit")
    assert w.project.save_action.shortcut().toString() == "Ctrl+S"
    assert w.project.save_as_action.shortcut().toString() == "Ctrl+Shift+S"

    # cancelled dialogs do nothing
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    assert w.project.save() is None and w.project.save_job is None
    w.project.open_action.trigger()
    assert w.loader.loading == 0 and not w.state.entries

    # an HDF5 file that is not a project, through Open Project...
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(other), ""))
    w.project.open_action.trigger()
    qtbot.waitUntil(lambda: w.loader.loading == 0, timeout=10000)
    assert not w.state.entries
    assert "not an STS Workbench project" in w.project.last_error
    assert w.project.message_box.isVisible()

    # a text file still goes to the ordinary readers, not to the project opener
    from app.features.project import is_project_file

    assert is_project_file(other) and not is_project_file(tmp_path / "missing.h5")
    csv = tmp_path / "iv.csv"
    csv.write_text("V (mV), I (nA)\n-1, -2\n0, 0\n1, 2\n")
    assert not is_project_file(csv)
    w.open_files([csv])
    qtbot.waitUntil(lambda: w.loader.loading == 0 and bool(w.state.entries), timeout=10000)
    (entry,) = w.state.entries.values()
    assert entry.kind == "spectrum" and w.project.path is None


def test_opening_into_a_busy_session_adds_and_keeps_the_save_target(qtbot, windows, tmp_path):
    a = windows("a")
    _session_with(a)
    wait_slicers_idle(qtbot, a)
    a.regions.add_geometry(Rectangle((0.0, 0.0), (10 * NM, 10 * NM)))
    path = tmp_path / "a.h5"
    a.project.save_to(path)
    _wait_saved(qtbot, a)

    b = windows("b")
    k_b, _ = _session_with(b)
    wait_slicers_idle(qtbot, b)
    mime = QMimeData()  # dropped on the window
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    b.dropEvent(
        QDropEvent(
            QPointF(10, 10),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
    )
    _wait_open(qtbot, b)
    assert len(b.state.entries) == 2 and len(b.state.regions) == 1
    assert k_b in b.state.entries
    assert b.project.path is None and b.isWindowModified()
    assert b.windowTitle().startswith("Untitled project")


def test_a_reopened_project_comes_back_in_turns_and_says_when_it_is_done(
    qtbot, windows, tmp_path, monkeypatch
):
    """File > Open Project... restores the project in event-loop turns of their own (the window's timers
    run between them, so it keeps answering); ``restore_finished`` follows the last step, and by then
    everything is back: the slicer's channel and bias, the map view, the region, the pins, the title."""
    from PySide6.QtCore import QTimer

    from tests.app.real_input import menu_action

    a = windows("a")
    g = make_grid(ny=24, nx=20, nb=31)
    key = a.state.add_dataset(g, "synthetic grid")
    wait_slicers_idle(qtbot, a, 1)
    slicer = a.exploration.slicers[0]
    slicer.set_channel("Current")
    slicer.set_value(4e-3)
    a.exploration.open_map(key, "Z")
    region = a.regions.add_geometry(Rectangle((-10 * NM, -5 * NM), (12 * NM, 8 * NM)))
    a.state.pin(5 * NM, 3 * NM)
    wait_slicers_idle(qtbot, a)
    saved_image = np.array(slicer.panel.current_image())
    path = tmp_path / "turns.h5"
    a.project.save_to(path)
    _wait_saved(qtbot, a)

    b = windows("b")
    restoring_ticks: list[bool] = []
    ticker = QTimer(b)
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: restoring_ticks.append(b.project.restoring))
    finished: list[tuple[str, int]] = []
    b.project.restore_finished.connect(lambda p: finished.append((p, sum(restoring_ticks))))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    ticker.start()
    menu_action(qtbot, b, "File", "Open Project...")
    qtbot.waitUntil(lambda: bool(finished), timeout=20000)
    ticker.stop()
    # the restore took several turns and the timer ran between them
    assert finished[0][0] == str(path) and finished[0][1] >= 3, finished
    assert not b.project.restoring and b.loader.loading == 0
    # everything is back once it says so
    (entry,) = b.state.entries.values()
    assert entry.label == "synthetic grid"
    (restored,) = b.exploration.slicers
    assert restored.channel == "Current" and restored.sweep_value() == pytest.approx(slicer.sweep_value())
    (md,) = b.exploration.map_docks.docks
    assert md.channel == "Z" and md.key == entry.key and b.dock(md.dock_key).isVisible()
    (r,) = b.state.regions.values()
    assert r.geometry == region.geometry
    assert [(p.x, p.y) for p in b.state.pinned] == [(p.x, p.y) for p in a.state.pinned]
    assert b.windowTitle() == "turns.h5[*] - STS Workbench" and not b.isWindowModified()
    wait_slicers_idle(qtbot, b)
    np.testing.assert_array_equal(restored.panel.current_image(), saved_image)
