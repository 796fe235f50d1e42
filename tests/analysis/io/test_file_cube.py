"""Grid channels kept in unlinked cache files: same values as in memory, no file left behind."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Frame
from analysis.io import file_cube
from analysis.io.file_cube import FileCube
from analysis.io.nanonis_grid import read_grid
from analysis.io.nanonis_write import write_3ds
from analysis.processing.bias_major import bias_major_copy, window_mean


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("STSWORKBENCH_CACHE_DIR", str(folder))
    return folder


def _open_fds_in(folder: Path) -> list[str]:
    """Targets of this process's open file descriptors that lie in ``folder`` (Linux)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


def _write(path: Path, first_line: str = "top", sweep: tuple[float, float] = (0.01, -0.01)) -> dict:
    rng = np.random.default_rng(3)
    chans = {
        "Current (A)": rng.standard_normal((6, 5, 33)).astype(np.float32),
        "LIX 1 omega (A)": rng.standard_normal((6, 5, 33)).astype(np.float32),
    }
    chans["LIX 1 omega (A)"][2, 3, 4] = np.nan
    frame = Frame(center=(1e-8, -2e-8), size=(5e-9, 6e-9), angle=15.0, shape=(6, 5))
    write_3ds(path, chans, sweep=sweep, frame=frame, first_line=first_line)
    return chans


@pytest.mark.parametrize("first_line", ["bottom", "top"])
def test_file_backed_grid_gives_identical_spectra_and_slices(
    tmp_path: Path, cache: Path, first_line: str
) -> None:
    """A downward sweep recorded from the top line (rows and points reversed by the reader) read into
    cache files gives exactly what the in-memory read gives."""
    path = tmp_path / "g.3ds"
    _write(path, first_line)
    mem = read_grid(path, file_backed=False)
    fb = read_grid(path, file_backed=True)
    assert isinstance(fb.channels["LIX 1 omega"], FileCube)
    assert isinstance(mem.channels["LIX 1 omega"], np.ndarray)
    np.testing.assert_array_equal(fb.bias, mem.bias)
    assert fb.sweep_reversed == mem.sweep_reversed
    for name, cube in mem.channels.items():
        lazy = fb.channels[name]
        assert lazy.shape == cube.shape and lazy.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(lazy), cube)
        for iy, ix in [(0, 0), (2, 3), (5, 4), (-1, -2)]:
            np.testing.assert_array_equal(
                fb.spectrum(name, iy % 6, ix % 5), mem.spectrum(name, iy % 6, ix % 5)
            )
            np.testing.assert_array_equal(lazy[iy, ix], cube[iy, ix])
        for k in (0, 4, 32):
            np.testing.assert_array_equal(fb.bias_slice(name, k), mem.bias_slice(name, k))
            np.testing.assert_array_equal(fb.bias_slice(name, k, 2), mem.bias_slice(name, k, 2))
        np.testing.assert_array_equal(lazy[1:4], cube[1:4])
        np.testing.assert_array_equal(lazy[::-2, :, 3:9], cube[::-2, :, 3:9])
        # the bias-major display copy built from the file-backed cube is the transposed cube
        bm = bias_major_copy(lazy, rows_per_block=4)
        np.testing.assert_array_equal(bm, cube.transpose(2, 0, 1))
        np.testing.assert_array_equal(window_mean(bm, 4, 1), mem.bias_slice(name, 4, 1))
    for name, p in mem.params.items():
        np.testing.assert_array_equal(fb.params[name], p)
    np.testing.assert_array_equal(fb.valid, mem.valid)


def test_large_grids_are_file_backed_by_default(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.3ds"
    _write(path)
    assert isinstance(read_grid(path).channels["Current"], np.ndarray)
    from analysis.io import nanonis_grid

    monkeypatch.setattr(nanonis_grid, "FILE_BACKED_BYTES", 6 * 5 * 33 * 4)
    assert isinstance(read_grid(path).channels["Current"], FileCube)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="lists open files through /proc")
def test_cache_files_are_unlinked_and_released_when_the_grid_goes(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "g.3ds"
    _write(path)
    grid = read_grid(path, file_backed=True)
    # nothing visible in the cache folder (or beside the data), yet the channels' files are open
    assert list(cache.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "g.3ds"]
    assert len(_open_fds_in(cache)) == 2
    np.testing.assert_array_equal(grid.spectrum("Current", 1, 1).shape, (33,))
    del grid
    gc.collect()
    assert _open_fds_in(cache) == []


def test_closed_cube_refuses_reads(cache: Path) -> None:
    cube = FileCube.create((3, 4))
    cube[:] = np.arange(12, dtype=np.float32).reshape(3, 4)
    view = cube.reshape(4, 3)
    np.testing.assert_array_equal(view[3], [9, 10, 11])
    cube.close()
    assert view.closed
    with pytest.raises(ValueError, match="closed"):
        view[0]


def test_reads_span_blocks(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_cube, "BLOCK_BYTES", 100)
    a = np.random.default_rng(0).random((9, 4, 5)).astype(np.float32)
    cube = FileCube.create(a.shape)
    cube[0:5] = a[0:5]
    cube[5:] = a[5:]
    for key in [
        np.s_[:, :, 2],
        np.s_[1:8, 2],
        np.s_[::3],
        np.s_[8:0:-3, ::-1],
        np.s_[-1, -1, -1],
        np.s_[...],
    ]:
        np.testing.assert_array_equal(cube[key], a[key])
    with pytest.raises(IndexError):
        cube[:, 1] = 0.0


def test_without_positional_io_reads_and_writes_seek_under_a_lock(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "preadv")
    monkeypatch.delattr(os, "pwrite")
    a = np.random.default_rng(1).random((5, 3, 4)).astype(np.float32)
    cube = FileCube.create(a.shape)
    cube[:] = a
    cube[4] = np.nan
    a[4] = np.nan
    np.testing.assert_array_equal(np.asarray(cube), a)
    np.testing.assert_array_equal(cube[2, 1], a[2, 1])
    np.testing.assert_array_equal(cube.reshape(15, 4)[7], a.reshape(15, 4)[7])
