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


def test_display_levellings_of_higher_order_and_by_line():
    """The display methods added beside the old ones remove what they model exactly."""
    rng = np.random.default_rng(2)
    ny, nx = 40, 60
    yy, xx = np.mgrid[0:ny, 0:nx] / 50.0
    cubic = 1e-9 * (0.3 + 0.5 * xx - 0.2 * yy + 0.4 * xx**2 - 0.3 * xx * yy + 0.6 * xx**3 - 0.2 * yy**3)
    # order 3 removes a cubic surface; order 2 cannot
    np.testing.assert_allclose(level(cubic, "plane3"), 0.0, atol=1e-20)
    assert np.ptp(level(cubic, "plane2")) > 1e-12
    quad = cubic - 1e-9 * (0.6 * xx**3 - 0.2 * yy**3)
    np.testing.assert_allclose(level(quad, "plane2"), 0.0, atol=1e-20)
    # per-line quadratics (different on every line) are removed by the line polynomial of order 2
    a, b, c = (rng.normal(0, 1e-10, (ny, 1)) for _ in range(3))
    rows = a + b * xx + c * xx**2
    np.testing.assert_allclose(level(rows, "line_poly2"), 0.0, atol=1e-20)
    np.testing.assert_allclose(level(rows * xx, "line_poly3"), 0.0, atol=1e-20)
    # median of differences: jumps between lines (and a line-to-line drift) are removed, features along
    # the lines stay
    jumps = np.cumsum(rng.choice([0.0, 0.2e-9], size=ny))[:, None] * np.ones((1, nx))
    bumps = 1e-10 * np.sin(2 * np.pi * xx * 3)
    out = level(jumps + 1e-10 * yy + bumps + rng.normal(0, 1e-13, (ny, nx)), "line_median_diff")
    np.testing.assert_allclose(out - np.median(out), bumps - np.median(bumps), atol=2e-12)
    # unusable pixels stay NaN; too few pixels for the fit leave the map as it is
    valid = np.ones((ny, nx), bool)
    valid[:5] = False
    out = level(cubic, "plane3", valid)
    assert np.isnan(out[:5]).all()
    np.testing.assert_allclose(out[5:], 0.0, atol=1e-20)
    np.testing.assert_array_equal(level(cubic[:2, :2], "plane3"), cubic[:2, :2])


def test_old_levelling_names_still_work():
    """Projects saved before the display methods grew keep their levelling keys."""
    z = np.add.outer(np.arange(6.0), np.arange(7.0)) * 1e-10
    for method in ("none", "plane", "line_median", "line_linear", "plane+line_median"):
        assert np.isfinite(level(z, method)).all()
