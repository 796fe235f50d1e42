"""Nearest-pixel correspondence between two frames, shared by mask and map resampling."""

from __future__ import annotations

import numpy as np

from analysis.dataset import Frame
from analysis.maps.correlation import map_in_frame
from analysis.maps.regions import nearest_pixels, resample_mask


def test_same_frame_maps_every_pixel_to_itself():
    f = Frame(center=(0.0, 0.0), size=(4e-9, 3e-9), shape=(3, 4))
    iy, ix, inside = nearest_pixels(f, f)
    assert inside.all()
    np.testing.assert_array_equal(iy, np.repeat(np.arange(3)[:, None], 4, axis=1))
    np.testing.assert_array_equal(ix, np.repeat(np.arange(4)[None, :], 3, axis=0))
    assert iy.dtype == np.int64 and ix.dtype == np.int64


def test_finer_larger_destination():
    src = Frame(center=(0.0, 0.0), size=(2e-9, 2e-9), shape=(2, 2))
    dst = Frame(center=(0.0, 0.0), size=(4e-9, 4e-9), shape=(8, 8))
    iy, ix, inside = nearest_pixels(src, dst)
    # the destination is twice as large: only its central 4 x 4 pixels lie over the source
    expected = np.zeros((8, 8), bool)
    expected[2:6, 2:6] = True
    np.testing.assert_array_equal(inside, expected)
    np.testing.assert_array_equal(iy[2:6, 2], [0, 0, 1, 1])
    np.testing.assert_array_equal(ix[2, 2:6], [0, 0, 1, 1])
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = map_in_frame(values, src, dst)
    assert np.isnan(out[0, 0]) and np.isnan(out[7, 7])
    np.testing.assert_array_equal(out[2:6, 2:6], np.kron(values, np.ones((2, 2))))
    mask = resample_mask(values > 2.5, src, dst)
    assert mask.sum() == 8 and not mask[0].any()
