"""Line profiles with width averaging and step heights on synthetic images with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.dataset import Frame
from analysis.topography.profiles import ProfileError, line_profile, step_height, write_profile_csv

NM = 1e-9


def _ramp_frame(angle=0.0):
    return Frame(center=(3 * NM, -2 * NM), size=(40 * NM, 30 * NM), angle=angle, shape=(60, 80))


@pytest.mark.parametrize("angle", [0.0, 30.0])
def test_profile_of_a_linear_ramp_is_exact(angle):
    f = _ramp_frame(angle)
    iy, ix = np.mgrid[0:60, 0:80].astype(float)
    x, y = f.pixel_to_xy(ix, iy)
    z = 0.2 * x - 0.5 * y  # a linear function of position is reproduced exactly by bilinear sampling
    a, b = f.pixel_to_xy(10, 12), f.pixel_to_xy(60, 40)
    p = line_profile(z, f, [a, b], width_m=3 * NM)
    assert p.n_width == 6
    np.testing.assert_allclose(p.values, 0.2 * p.x - 0.5 * p.y, atol=1e-15)
    np.testing.assert_allclose(p.distance[-1], np.hypot(b[0] - a[0], b[1] - a[1]), atol=f.pixel_size[0])
    np.testing.assert_allclose(np.diff(p.distance), min(f.pixel_size))


def test_width_averaging_reduces_noise_by_sqrt_n(rng):
    f = Frame(size=(100 * NM, 100 * NM), shape=(200, 200))
    z = rng.normal(scale=1.0, size=(200, 200))
    pts = [f.pixel_to_xy(20, 100), f.pixel_to_xy(180, 100)]
    narrow = line_profile(z, f, pts, 0.0, step_m=2 * f.pixel_size[0])
    wide = line_profile(z, f, pts, 20 * f.pixel_size[0], step_m=2 * f.pixel_size[0])
    assert wide.n_width == 20
    ratio = np.std(narrow.values) / np.std(wide.values)
    assert 3.3 < ratio < 5.7  # sqrt(20) = 4.5


def test_points_off_the_image_are_nan():
    f = Frame(size=(10 * NM, 10 * NM), shape=(10, 10))
    p = line_profile(np.ones((10, 10)), f, [(-8 * NM, 0.0), (0.0, 0.0)])
    assert np.isnan(p.values[0]) and p.values[-1] == 1.0


def test_step_height_with_tilt_and_noise(rng):
    d = np.linspace(0, 40 * NM, 401)
    h = 0.35 * NM
    noise = 0.02 * NM
    y = 0.01 * d + h * (d > 20 * NM) + rng.normal(scale=noise, size=d.size)
    s = step_height(d, y, (2 * NM, 17 * NM), (23 * NM, 38 * NM))
    # within 3 standard errors of the truth; the error is at least that of two means of 151 points and
    # grows with the uncertainty of the common tilt carried across the 21 nm between the intervals
    assert abs(s.height - h) < 3 * s.error
    sd_means = noise * np.sqrt(2 / 151)
    sd_tilt = noise / np.sqrt(2 * 151 * (15 * NM) ** 2 / 12) * 21 * NM
    assert 0.8 < s.error / np.hypot(sd_means, sd_tilt) < 1.25
    np.testing.assert_allclose(s.slope, 0.01, rtol=0.1)
    # order of the cursors sets the sign; the flat difference is biased by the tilt
    assert step_height(d, y, (23 * NM, 38 * NM), (2 * NM, 17 * NM)).height == pytest.approx(-s.height)
    flat = step_height(d, y, (2 * NM, 17 * NM), (23 * NM, 38 * NM), tilt=False)
    assert abs(flat.height - h) > 0.1 * NM
    with pytest.raises(ProfileError, match="at least"):
        step_height(d, y, (0, 0.01 * NM), (23 * NM, 38 * NM))


def test_step_height_across_a_width_averaged_profile(rng):
    f = Frame(size=(50 * NM, 50 * NM), shape=(128, 128))
    iy, ix = np.mgrid[0:128, 0:128].astype(float)
    z = 0.3 * NM * (ix > 64) + rng.normal(scale=0.03 * NM, size=ix.shape)
    p = line_profile(z, f, [f.pixel_to_xy(10, 64), f.pixel_to_xy(118, 64)], width_m=20 * f.pixel_size[0])
    s = step_height(p.distance, p.values, (0, 18 * NM), (24 * NM, 40 * NM), correlation_m=f.pixel_size[0])
    assert abs(s.height - 0.3 * NM) < max(3 * s.error, 0.01 * NM)


def test_csv_export(tmp_path):
    f = Frame(size=(10 * NM, 10 * NM), shape=(10, 10))
    p = line_profile(np.arange(100.0).reshape(10, 10), f, [(-4 * NM, 0.0), (4 * NM, 0.0)], label="Z")
    out = tmp_path / "p.csv"
    write_profile_csv(p, out)
    data = np.loadtxt(out, delimiter=",", comments="#", skiprows=3)
    np.testing.assert_allclose(data[:, 0], p.distance)
    np.testing.assert_allclose(data[:, 3], p.values)


def test_degenerate_paths_are_refused():
    f = Frame(size=(10 * NM, 10 * NM), shape=(10, 10))
    with pytest.raises(ProfileError, match="zero length"):
        line_profile(np.zeros((10, 10)), f, [(0, 0), (0, 0)])
    with pytest.raises(ProfileError, match="two vertices"):
        line_profile(np.zeros((10, 10)), f, [(0, 0)])
    with pytest.raises(ProfileError, match="shape"):
        line_profile(np.zeros((9, 10)), f, [(0, 0), (1e-9, 0)])


@pytest.mark.realdata
def test_real_sxm_profile_is_finite():
    from analysis.io import read_file
    from tests.conftest import shared_file

    img = read_file(shared_file("nanonis/FeSe_topography.sxm"))[0]
    f = img.frame
    p = line_profile(img.channels["Z"], f, [f.pixel_to_xy(20, 30), f.pixel_to_xy(200, 190)], width_m=2e-9)
    assert p.values.size > 100 and np.isfinite(p.values).all()


def test_nan_pixels_blank_only_their_neighbourhood():
    f = Frame(size=(20 * NM, 20 * NM), shape=(20, 20))
    z = np.ones((20, 20), np.float32)
    z[10, 5] = np.nan
    p = line_profile(z, f, [f.pixel_to_xy(0, 10), f.pixel_to_xy(19, 10)])
    bad = np.isnan(p.values)
    assert bad.any() and bad.sum() <= 3 and np.all(p.values[~bad] == 1.0)
