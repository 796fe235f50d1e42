"""Levelling on synthetic surfaces with known answers, and on the real FeSe .sxm image."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.topography.levelling import (
    LevellingError,
    LevelSpec,
    apply,
    band_mask,
    find_scars,
    line_level,
    plane_level,
    polynomial_background,
    remove_scars,
    segment_terraces,
    terrace_level,
)

NM = 1e-9


def _xy(ny=96, nx=128):
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    return yy, xx


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4, 5])
def test_polynomial_of_known_order_is_removed_exactly(order, rng):
    yy, xx = _xy()
    u, v = xx / 127 * 2 - 1, yy / 95 * 2 - 1
    coef = rng.normal(size=(order + 1, order + 1))
    z = sum(coef[i, j] * u**i * v**j for i in range(order + 1) for j in range(order + 1 - i)) * NM
    out = plane_level(z, order)
    # exact up to rounding: 1e-6 of the surface's span
    assert np.max(np.abs(out)) < 1e-6 * np.ptp(z) + 1e-24
    if order > 0:  # one order less leaves a residual
        assert np.max(np.abs(plane_level(z, order - 1))) > 1e-3 * np.ptp(z)


def test_plane_fit_matches_lstsq_on_the_monomial_design(rng):
    yy, xx = _xy(40, 50)
    z = rng.normal(size=xx.shape) * NM + 0.3 * NM * xx / 50 - 0.2 * NM * (yy / 40) ** 2
    mask = rng.random(z.shape) > 0.3
    cols = [xx**i * yy**j for d in range(3) for i in range(d + 1) for j in [d - i]]
    a = np.column_stack([c[mask] for c in cols])
    coef, *_ = np.linalg.lstsq(a, z[mask], rcond=None)
    ref = sum(c * k for c, k in zip(cols, coef, strict=True))
    np.testing.assert_allclose(polynomial_background(z, 2, mask), ref, atol=1e-9 * NM)


def test_height_band_mask_keeps_adsorbates_out_of_the_plane(rng):
    yy, xx = _xy()
    plane = (0.02 * xx - 0.01 * yy) * NM
    z = plane + rng.normal(scale=0.005, size=xx.shape) * NM
    z[20:50, 30:80] += 2 * NM  # a big island that biases an unmasked plane fit
    plain = plane_level(z, 1)
    flat = plane_level(z - z.min(), 1)
    assert np.std(flat[:15]) > 0.05 * NM  # unmasked: the substrate is tilted by the island
    lv = plain - np.median(plain)
    mask = band_mask(lv, 0.5 * NM, np.inf, exclude=True)
    out = plane_level(z, 1, mask)
    sub = ~((yy >= 20) & (yy < 50) & (xx >= 30) & (xx < 80))
    # substrate flat to the noise (tolerance 1.5x the 5 pm noise)
    assert np.std(out[sub]) < 1.5 * 0.005 * NM
    spec = LevelSpec("plane", 1, band=(0.5 * NM + np.median(plain), np.inf))
    np.testing.assert_allclose(apply(plain, spec), plane_level(plain, 1, band_mask(plain, *spec.band)))


def test_region_exclusion_mask(rng):
    yy, xx = _xy()
    z = (0.01 * xx + 0.03 * yy) * NM
    z[10:30, 10:30] = 5 * NM
    ex = np.zeros(z.shape, bool)
    ex[10:30, 10:30] = True
    out = apply(z, LevelSpec("plane", 1), exclude=ex)
    assert np.max(np.abs(out[~ex])) < 1e-6 * NM
    with pytest.raises(LevellingError, match="no pixel"):
        apply(z, LevelSpec("plane", 1), exclude=np.ones(z.shape, bool))


@pytest.mark.parametrize("method", ["median", "median_diff", "poly"])
def test_line_levelling_removes_row_offsets(method, rng):
    yy, xx = _xy()
    surface = 0.05 * NM * np.sin(xx / 7) * np.cos(yy / 9)
    offsets = rng.normal(scale=0.5, size=(yy.shape[0], 1)) * NM
    tilt = rng.normal(scale=0.002, size=(yy.shape[0], 1)) * NM * xx if method == "poly" else 0
    z = surface + offsets + tilt
    out = line_level(z, method, order=1)
    err = (out - surface) - np.median(out - surface)
    # offsets of 0.5 nm reduced to below 10 pm (the surface corrugation is 50 pm)
    assert np.std(np.median(err, axis=1)) < 0.01 * NM


def test_terraces_of_known_height_with_tilt_and_noise(rng):
    ny, nx = 128, 160
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    step = 0.28 * NM
    level = np.floor((xx + 0.4 * yy) / 45)  # four terraces separated by oblique steps
    noise = 0.01 * NM
    z = level * step + (0.004 * xx + 0.0025 * yy) * NM + rng.normal(scale=noise, size=xx.shape)
    res = terrace_level(z, order=1)
    assert res.offsets.size == int(level.max()) + 1
    # each step recovered within 3 % of 0.28 nm
    np.testing.assert_allclose(res.step_heights(), step, rtol=0.03)
    # terraces flat: the tilt (0.6 nm across) is gone to the noise level
    for t in range(res.offsets.size):
        assert np.std(res.levelled[res.labels == t]) < 1.5 * noise
    # a plane fit alone leaves terraces tilted
    assert np.std(plane_level(z, 1)[res.labels == 0]) > 3 * noise
    labels = segment_terraces(z)
    assert labels.max() == res.offsets.size - 1


def test_scar_removal_finds_known_rows(rng):
    yy, xx = _xy(120, 150)
    noise = 0.01 * NM
    clean = 0.1 * NM * np.sin(xx / 5) * np.sin(yy / 6) + rng.normal(scale=noise, size=xx.shape)
    z = clean.copy()
    truth = np.zeros(z.shape, bool)
    for row, c0, c1, h in [(20, 10, 40, 0.3), (55, 60, 130, -0.25), (90, 5, 25, 0.4)]:
        z[row, c0:c1] += h * NM
        truth[row, c0:c1] = True
    z[70:72, 80:110] += 0.3 * NM  # a two-line scar
    truth[70:72, 80:110] = True
    found = find_scars(z)
    recall = (found & truth).sum() / truth.sum()
    precision = (found & truth).sum() / max(found.sum(), 1)
    assert recall > 0.95 and precision > 0.95
    repaired, mask = remove_scars(z)
    # repaired pixels within 0.06 nm of the clean surface (scars were 0.25-0.4 nm)
    assert np.max(np.abs(repaired[truth] - clean[truth])) < 0.06 * NM
    np.testing.assert_array_equal(repaired[~mask], z[~mask])


def test_bad_input_gives_clear_errors():
    with pytest.raises(LevellingError, match="order"):
        plane_level(np.zeros((5, 5)), 6)
    with pytest.raises(LevellingError, match="2D"):
        plane_level(np.zeros(5), 1)
    with pytest.raises(LevellingError, match="usable pixels"):
        plane_level(np.full((5, 5), np.nan), 1)
    with pytest.raises(LevellingError, match="unknown line"):
        line_level(np.zeros((5, 5)), "mean")


def test_nan_pixels_stay_nan_and_are_ignored():
    yy, xx = _xy(30, 40)
    z = (0.1 * xx + 0.2 * yy) * NM
    z[5, 5] = np.nan
    out = plane_level(z, 1)
    assert np.isnan(out[5, 5]) and np.nanmax(np.abs(out)) < 1e-6 * NM


@pytest.mark.realdata
def test_real_sxm_levelling_reduces_roughness():
    from analysis.io import read_file
    from tests.conftest import shared_file

    img = read_file(shared_file("nanonis/FeSe_topography.sxm"))[0]
    z = np.asarray(img.channels["Z"], dtype=float)
    raw_rms = np.nanstd(z)
    rms = {}
    for spec in [LevelSpec("plane", 1), LevelSpec("plane", 3), LevelSpec("line", 1, "median_diff")]:
        out = apply(z, spec)
        rms[spec.describe()] = np.nanstd(out)
        assert np.isfinite(out).all()
    assert all(r < raw_rms for r in rms.values())
    assert rms["polynomial order 3"] <= rms["plane"]


def test_line_polynomial_with_and_without_mask_agree_on_a_full_mask(rng):
    z = rng.normal(size=(30, 40)) * NM
    full = line_level(z, "poly", 2)
    masked = line_level(z, "poly", 2, np.ones(z.shape, bool) & (np.arange(40) != 3)[None, :])
    ref = np.array([row - np.polyval(np.polyfit(np.arange(40.0), row, 2), np.arange(40.0)) for row in z])
    np.testing.assert_allclose(full, ref, atol=1e-6 * NM)
    keep = np.arange(40) != 3
    x = np.arange(40.0)
    ref_m = np.array([row - np.polyval(np.polyfit(x[keep], row[keep], 2), x) for row in z])
    np.testing.assert_allclose(masked, ref_m, atol=1e-6 * NM)
