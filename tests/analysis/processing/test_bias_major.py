"""Bias-major display copies of grid cubes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from analysis.hooks import Cancelled
from analysis.processing.bias_major import bias_major_copy, window_mean


def test_copy_is_the_transpose(rng):
    cube = rng.normal(size=(37, 5, 9)).astype(np.float32)
    seen = []
    out = bias_major_copy(
        cube, progress=lambda d, t: seen.append((d, t)), rows_per_block=8, points_per_tile=4
    )
    assert out.shape == (9, 37, 5) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, cube.transpose(2, 0, 1))
    assert seen[-1] == (37, 37) and len(seen) == 5


def test_copy_cancels():
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        bias_major_copy(np.zeros((4, 4, 4), np.float32), cancel=ev)


def test_window_mean_is_nan_aware_and_clipped():
    cube = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    cube[1, 0, 0] = np.nan
    cube[:, 1, 2] = np.nan
    out = window_mean(cube, 0, 1)  # maps 0 and 1
    assert out[0, 0] == cube[0, 0, 0]  # the NaN is left out
    assert out[0, 1] == pytest.approx((cube[0, 0, 1] + cube[1, 0, 1]) / 2)
    assert np.isnan(out[1, 2])
    np.testing.assert_allclose(window_mean(cube, 4, 10)[0, 1], cube[:, 0, 1].mean())
    with pytest.raises(IndexError):
        window_mean(cube, 5, 0)
