"""Region-averaged spectra against numpy on the raw data."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from analysis.errors import WorkbenchError
from analysis.maps.averaging import region_average, region_averages


def _cube(rng, ny=24, nx=31, nb=40):
    base = np.linspace(0.5, 2.0, nb, dtype=np.float32)
    return (base + 0.1 * rng.standard_normal((ny, nx, nb))).astype(np.float32)


def test_matches_numpy_mean_and_std(rng):
    cube = _cube(rng)
    mask = rng.random(cube.shape[:2]) < 0.3
    r = region_average(cube, mask)
    ref = cube[mask].astype(np.float64)
    np.testing.assert_allclose(r.mean, ref.mean(axis=0), rtol=1e-7, atol=0)
    np.testing.assert_allclose(r.std, ref.std(axis=0), rtol=1e-5)
    assert r.n_used == int(mask.sum()) and r.n_invalid == 0
    r1 = region_average(cube, mask, ddof=1)
    np.testing.assert_allclose(r1.std, ref.std(axis=0, ddof=1), rtol=1e-5)


def test_nan_pixels_excluded_and_counted(rng):
    cube = _cube(rng)
    mask = np.zeros(cube.shape[:2], bool)
    mask[2:20, 5:25] = True
    cube[3, 6, :] = np.nan  # aborted pixel
    cube[10, 10, 7] = np.nan  # one bad point
    cube[15, 20, 0] = np.inf
    cube[0, 0, :] = np.nan  # outside the mask: not counted
    valid = np.ones(cube.shape[:2], bool)
    valid[4, 8] = False
    valid[1, 1] = False  # outside the mask
    r = region_average(cube, mask, valid)
    good = mask & valid & np.isfinite(cube).all(axis=2)
    ref = cube[good].astype(np.float64)
    np.testing.assert_allclose(r.mean, ref.mean(axis=0), rtol=1e-7)
    np.testing.assert_allclose(r.std, ref.std(axis=0), rtol=1e-5)
    assert r.n_used == int(good.sum())
    assert r.n_invalid == 4
    assert np.isfinite(r.mean).all()


def test_first_rows_all_nan_and_chunk_boundaries(rng, monkeypatch):
    import analysis.maps.averaging as av

    monkeypatch.setattr(av, "_CHUNK_ROWS", 7)
    cube = _cube(rng)
    cube[0, :, :] = np.nan
    mask = np.ones(cube.shape[:2], bool)
    r = region_average(cube, mask)
    ref = cube[1:].reshape(-1, cube.shape[2]).astype(np.float64)
    np.testing.assert_allclose(r.mean, ref.mean(axis=0), rtol=1e-7)
    np.testing.assert_allclose(r.std, ref.std(axis=0), rtol=1e-5)
    assert r.n_invalid == cube.shape[1]


def test_accurate_with_large_offset(rng):
    # conductance in siemens with a large common offset: shifted accumulation keeps the variance exact
    cube = (1e-6 + 1e-10 * rng.standard_normal((16, 16, 8))).astype(np.float32)
    mask = np.ones((16, 16), bool)
    r = region_average(cube, mask)
    ref = cube.reshape(-1, 8).astype(np.float64)
    np.testing.assert_allclose(r.std, ref.std(axis=0), rtol=1e-5)


def test_empty_and_all_invalid(rng):
    cube = _cube(rng)
    r = region_average(cube, np.zeros(cube.shape[:2], bool))
    assert r.n_used == 0 and r.n_invalid == 0 and np.isnan(r.mean).all()
    cube[:] = np.nan
    r = region_average(cube, np.ones(cube.shape[:2], bool))
    assert r.n_used == 0 and r.n_invalid == cube.shape[0] * cube.shape[1]


def test_shape_errors(rng):
    cube = _cube(rng)
    with pytest.raises(ValueError, match="mask shape"):
        region_average(cube, np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="valid shape"):
        region_average(cube, np.ones(cube.shape[:2], bool), np.ones((2, 2), bool))
    with pytest.raises(ValueError, match=r"\(ny, nx, nb\)"):
        region_average(cube[0], np.ones(cube.shape[:2], bool))


class _Lazy:
    """Array-like with only basic slicing, like an h5py dataset."""

    def __init__(self, a):
        self._a = a
        self.shape = a.shape
        self.dtype = a.dtype
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return self._a[key].copy()


def test_lazy_cube_same_result(rng):
    cube = _cube(rng, ny=40)
    cube[5, 5, 3] = np.nan
    mask = np.zeros(cube.shape[:2], bool)
    mask[3:37, 4:9] = True
    lazy = _Lazy(cube)
    a = region_average(lazy, mask)
    b = region_average(cube, mask)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-7)
    np.testing.assert_allclose(a.std, b.std, rtol=1e-5)
    assert (a.n_used, a.n_invalid) == (b.n_used, b.n_invalid) == (int(mask.sum()) - 1, 1)
    assert lazy.reads >= 2  # read in blocks of rows


def test_progress_cancel_and_several(rng):
    cube = _cube(rng)
    masks = {"a": np.ones(cube.shape[:2], bool), "b": np.eye(24, 31, dtype=bool)}
    seen = []
    out = region_averages(cube, masks, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (2, 2)
    np.testing.assert_allclose(out["b"].mean, cube[masks["b"]].mean(axis=0), rtol=1e-6)
    ev = threading.Event()
    ev.set()
    with pytest.raises(WorkbenchError, match="cancelled"):
        region_average(cube, masks["a"], cancel=ev)
