"""A large .3ds opened in the window keeps its channels in cache files: clicked spectra and slider maps are
the file's values, and the cache files go with the window."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from analysis.dataset import Frame
from analysis.io import nanonis_grid
from analysis.io.file_cube import FileCube
from analysis.io.nanonis_grid import read_grid
from analysis.io.nanonis_write import write_3ds
from tests.app.gui_support import click_map, close_window, open_window, pixel_xy, wait_slicers_idle


def _cache_fds(folder: Path) -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="lists open files through /proc")
def test_a_file_backed_grid_shows_the_files_spectra_and_maps(qtbot, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("STSWORKBENCH_CACHE_DIR", str(cache))
    monkeypatch.setattr(nanonis_grid, "FILE_BACKED_BYTES", 0)  # every grid counts as large here
    rng = np.random.default_rng(5)
    ny, nx, nb = 9, 11, 40
    didv = (1e-9 * (1 + rng.random((ny, nx, nb)))).astype(np.float32)
    path = tmp_path / "big.3ds"
    write_3ds(
        path,
        {"LIX 1 omega (A)": didv, "Current (A)": np.cumsum(didv, axis=2)},
        sweep=(0.01, -0.01),
        frame=Frame(size=(30e-9, 30e-9 * ny / nx), shape=(ny, nx)),
        first_line="top",
    )
    ref = read_grid(path, file_backed=False)
    w = open_window(qtbot, tmp_path, features=None)
    try:
        w.open_files([str(path)])
        wait_slicers_idle(qtbot, w, n=1)
        key = w.current_grid_key()
        grid = w.state.entries[key].dataset
        assert all(isinstance(c, FileCube) for c in grid.channels.values())
        assert list(cache.iterdir()) == [] and len(_cache_fds(cache)) >= 2  # unlinked, open
        ex = w.exploration
        slicer = ex.slicers_for(key)[0]
        panel = slicer.panel
        # a click plots the spectrum of the file at that pixel
        click_map(qtbot, panel, *pixel_xy(grid, 6, 2))
        qtbot.waitUntil(lambda: ex.spectra.curve(key, "cursor") is not None, timeout=5000)
        channel = ex.channel_for_plot(key)
        _x, y = ex.spectra.curve(key, "cursor").getData()
        np.testing.assert_array_equal(y, ref.spectrum(channel, 6, 2).astype(float))
        # key presses on the slider show the file's maps (first from the cube, then from the display copy)
        for _ in range(3):
            panel.slider.setFocus()
            qtbot.keyClick(panel.slider, Qt.Key.Key_Right)
            wait_slicers_idle(qtbot, w, n=1)
            qtbot.waitUntil(lambda: not w.active_jobs(), timeout=10000)
            np.testing.assert_array_equal(
                panel.current_image(), ref.bias_slice(slicer.channel, panel.shown_index)
            )
        assert ex.cache.get(key, slicer.channel) is not None
    finally:
        close_window(qtbot, w)
    # closing the window closes the channels' cache files and drops the display copy
    assert all(c.closed for c in grid.channels.values())
    gc.collect()
    assert _cache_fds(cache) == [] and list(cache.iterdir()) == []
