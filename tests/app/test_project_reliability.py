"""Saving and opening projects in the real window when things go wrong (issue 16, items 6-8): a full disk
gives a plain message and leaves the old file, a killed save's leftover is removed and said, a damaged
project opens what it can, with the regions, and says what it left out."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from analysis.maps.regions import Rectangle
from analysis.store import atomic
from tests.app.gui_support import make_grid, wait_slicers_idle, window_maker

NM = 1e-9
FEATURES = ["app.features.regions", "app.features.project"]


@pytest.fixture
def windows(qtbot, tmp_path):
    with window_maker(qtbot, tmp_path, FEATURES, size=(1200, 800)) as make:
        yield make


def _log(w) -> str:
    return "\n".join(f"{level}: {text}" for level, text in w.log_panel.entries())


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _saved_session(qtbot, w, path: Path) -> tuple[str, str]:
    a = w.state.add_dataset(make_grid(ny=24, nx=16, nb=21, name="first"), "first grid")
    b = w.state.add_dataset(make_grid(ny=24, nx=16, nb=21, name="second"), "second grid")
    w.regions.add_geometry(Rectangle((0.0, 0.0), (4 * NM, 4 * NM)))
    wait_slicers_idle(qtbot, w)
    w.project.save_to(path)
    qtbot.waitUntil(lambda: w.project.save_job is None, timeout=20000)
    assert w.project.last_error is None
    return a, b


def test_a_full_disk_during_save_shows_a_plain_message(qtbot, windows, tmp_path, monkeypatch):
    w = windows()
    path = tmp_path / "p.h5"
    _saved_session(qtbot, w, path)
    old = _digest(path)
    w.state.pin(1 * NM, 1 * NM)

    real_write = atomic.GuardedFile.write
    count = {"bytes": 0}

    def full_disk(self, data):
        count["bytes"] += memoryview(data).nbytes
        if count["bytes"] > 30_000:
            raise_enospc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            if self.error is None:
                self.error = raise_enospc
            return memoryview(data).nbytes
        return real_write(self, data)

    monkeypatch.setattr(atomic.GuardedFile, "write", full_disk)
    w.project.save()
    qtbot.waitUntil(lambda: w.project.save_job is None, timeout=20000)
    box = w.project.message_box
    assert box is not None and box.isVisible()
    assert "the disk is full: the project did not fit in the" in box.text()
    assert "HDF5" not in box.text() and "cache" not in box.text() and "Errno" not in box.text()
    assert box.informativeText() == "The previous file is unchanged."
    assert _digest(path) == old and w.isWindowModified()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_a_leftover_temporary_is_removed_by_the_next_save_and_open_and_said(qtbot, windows, tmp_path):
    w = windows()
    path = tmp_path / "p.h5"
    _saved_session(qtbot, w, path)
    old = time.time() - 120
    for name in ("p.h5.tmp-0badc0de", "p.h5.tmp-1badc0de"):
        (tmp_path / name).write_bytes(b"\x00" * 5000)
        os.utime(tmp_path / name, (old, old))
    w.state.pin(1 * NM, 1 * NM)
    w.project.save()
    qtbot.waitUntil(lambda: w.project.save_job is None, timeout=20000)
    assert "info: p.h5: removed 2 leftover temporary files of an interrupted save" in _log(w)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".ini") == ["p.h5"]

    (tmp_path / "p.h5.tmp-2badc0de").write_bytes(b"\x00" * 5000)
    os.utime(tmp_path / "p.h5.tmp-2badc0de", (old, old))
    fresh = windows("fresh")
    fresh.open_files([path])
    qtbot.waitUntil(lambda: fresh.loader.loading == 0 and bool(fresh.state.entries), timeout=20000)
    assert "warning: p.h5: removed 1 leftover temporary file of an interrupted save" in _log(fresh)
    assert not (tmp_path / "p.h5.tmp-2badc0de").exists()


def test_a_damaged_project_opens_what_it_can_with_the_regions(qtbot, windows, tmp_path):
    w = windows()
    path = tmp_path / "p.h5"
    _saved_session(qtbot, w, path)
    with h5py.File(path, "r+") as f:  # the first grid has no pixels, the second a NaN frame size
        labels = {f["entries"][k].attrs["label"]: f["entries"][k] for k in f["entries"]}
        for label, change in (
            ("first grid", {"shape": [0, 16]}),
            ("second grid", {"size": [float("nan")] * 2}),
        ):
            g = labels[label]
            frame = json.loads(g.attrs["frame"])
            frame.update(change)
            g.attrs["frame"] = json.dumps(frame, allow_nan=True)

    fresh = windows("fresh")
    fresh.open_files([path])
    qtbot.waitUntil(lambda: fresh.loader.loading == 0 and bool(fresh.state.entries), timeout=20000)
    wait_slicers_idle(qtbot, fresh)
    (entry,) = fresh.state.entries.values()
    assert entry.label == "second grid"
    f = entry.dataset.frame
    assert np.all(np.isfinite([*f.center, *f.size])) and min(f.size) > 0
    assert len(fresh.state.regions) == 1  # the restore went on to the regions
    text = _log(fresh)
    assert (
        "warning: p.h5: first grid could not be opened and was left out: its frame holds 0 x 16 pixels"
        in text
    )
    assert "warning: p.h5: second grid: its frame size [nan, nan] m is not a positive size" in text
    assert fresh.project.last_error is None
    slicer = fresh.exploration.slicers_for(next(iter(fresh.state.entries)))[0]
    assert np.isfinite(np.asarray(slicer.panel.current_image(), dtype=float)).any()
