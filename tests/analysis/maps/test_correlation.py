"""Pixel-by-pixel map correlation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.maps.correlation import correlate_maps, labels_from_masks


def test_matches_scipy_and_skips_nan(rng):
    a = rng.standard_normal((20, 30))
    b = 0.7 * a + 0.3 * rng.standard_normal((20, 30))
    a[2, 3] = np.nan
    b[5, 6] = np.inf
    res = correlate_maps(a, b)
    ok = np.isfinite(a) & np.isfinite(b)
    assert res.overall.n == ok.sum() == 598
    assert res.overall.pearson == pytest.approx(stats.pearsonr(a[ok], b[ok]).statistic)
    assert res.overall.spearman == pytest.approx(stats.spearmanr(a[ok], b[ok]).statistic)
    np.testing.assert_array_equal(res.x, a.ravel()[res.pixels])
    assert 2 * 30 + 3 not in res.pixels and 5 * 30 + 6 not in res.pixels


def test_monotonic_nonlinear_spearman_is_one(rng):
    a = rng.random((10, 10))
    res = correlate_maps(a, np.exp(5 * a))
    assert res.overall.spearman == pytest.approx(1.0)
    assert res.overall.pearson < 0.99


def test_per_label_and_mask(rng):
    a = rng.random((8, 8))
    b = a.copy()
    b[:4] = -a[:4]  # anti-correlated in the lower half
    masks = [np.zeros((8, 8), bool), np.zeros((8, 8), bool)]
    masks[0][:4] = True
    masks[1][4:] = True
    labels = labels_from_masks(masks, (8, 8))
    res = correlate_maps(a, b, labels)
    assert res.per_label[0].pearson == pytest.approx(-1.0)
    assert res.per_label[1].pearson == pytest.approx(1.0)
    assert res.per_label[0].n == 32
    res = correlate_maps(a, b, mask=masks[1])
    assert res.overall.n == 32 and res.overall.pearson == pytest.approx(1.0)


def test_degenerate_and_errors():
    res = correlate_maps(np.ones((3, 3)), np.arange(9.0).reshape(3, 3))
    assert np.isnan(res.overall.pearson)
    with pytest.raises(ValueError, match="same shape"):
        correlate_maps(np.ones((3, 3)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="labels"):
        correlate_maps(np.ones((3, 3)), np.ones((3, 3)), labels=np.ones((2, 2)))


def test_map_in_frame_resamples_co_registered_maps():
    from analysis.dataset import Frame
    from analysis.maps.correlation import map_in_frame

    coarse = Frame(size=(4.0, 4.0), shape=(2, 2))
    fine = Frame(size=(4.0, 4.0), shape=(4, 4))
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = map_in_frame(m, coarse, fine)
    np.testing.assert_array_equal(out, np.kron(m, np.ones((2, 2))))
    shifted = Frame(center=(10.0, 0.0), size=(4.0, 4.0), shape=(2, 2))
    assert np.isnan(map_in_frame(m, coarse, shifted)).all()
    with pytest.raises(ValueError, match="does not match"):
        map_in_frame(np.ones((3, 3)), coarse, fine)
