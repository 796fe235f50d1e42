"""Topography levelling: plane and line-by-line."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.dataset import Frame
from analysis.processing.levelling import level, levelled_image, line_level, plane_level


def test_plane_levelling_removes_a_tilt_exactly():
    yy, xx = np.mgrid[0:20, 0:30]
    bump = np.zeros((20, 30))
    bump[8:12, 10:14] = 1e-9
    z = 3e-10 + 2e-11 * xx - 5e-11 * yy + bump
    out = plane_level(z)
    # the fitted plane is tilted a little by the bump, but the tilt is gone to first order
    assert np.ptp(out[bump == 0]) < 0.05 * 1e-9
    assert out[10, 12] - np.median(out) == pytest.approx(1e-9, rel=0.05)


def test_plane_levelling_ignores_invalid_pixels_and_keeps_nan():
    yy, xx = np.mgrid[0:10, 0:10]
    z = 1e-10 * xx + 2e-10 * yy
    z[0, 0] = np.nan
    valid = np.ones((10, 10), bool)
    valid[5:, 5:] = False
    z[5:, 5:] = 1.0  # junk where the grid was never measured
    out = plane_level(z, valid)
    assert np.isnan(out[0, 0])
    np.testing.assert_allclose(out[valid & np.isfinite(z)], 0.0, atol=1e-20)


def test_line_levelling_median_and_linear():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1e-12, (6, 50)) + np.arange(6)[:, None] * 1e-9  # offsets per scan line
    out = line_level(z, 0)
    np.testing.assert_allclose(np.median(out, axis=1), 0.0, atol=1e-20)
    x = np.arange(50)
    z2 = (np.arange(6)[:, None] * 1e-11) * x + 1e-9
    np.testing.assert_allclose(line_level(z2, 1), 0.0, atol=1e-20)


def test_level_dispatch_and_image():
    z = np.add.outer(np.arange(4.0), np.arange(5.0))
    with pytest.raises(ValueError, match="unknown levelling"):
        level(z, "cubic")
    np.testing.assert_array_equal(level(z, "none"), z)
    img = levelled_image(z, Frame(shape=(4, 5)), "plane", source_name="topo")
    assert img.channels["Z"].shape == (4, 5) and img.units == {"Z": "m"}
    np.testing.assert_allclose(img.channels["Z"], 0.0, atol=1e-6)
    assert img.provenance == [
        {"operation": "level", "parameters": {"method": "plane", "channel": "Z"}, "inputs": ["topo"]}
    ]
