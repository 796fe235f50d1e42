"""k-means and PCA + Gaussian mixture clustering of spectra."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.maps.clustering import cluster_spectra, gaussian_mixture, kmeans, pca_scores


def _three_kinds(rng, ny=30, nx=30):
    """A grid with three spectral shapes in vertical stripes, plus noise."""
    bias = np.linspace(-10e-3, 10e-3, 64)
    shapes = np.vstack(
        [
            np.ones_like(bias),
            1.0 + 0.8 * np.exp(-(((np.abs(bias) - 5e-3) / 1e-3) ** 2)),
            1.0 + 1.6 * np.exp(-(((np.abs(bias) - 5e-3) / 1e-3) ** 2)) - 0.5 * np.exp(-((bias / 2e-3) ** 2)),
        ]
    )
    truth = np.zeros((ny, nx), int)
    truth[:, 10:20] = 1
    truth[:, 20:] = 2
    cube = shapes[truth] + 0.05 * rng.standard_normal((ny, nx, bias.size))
    return bias, cube.astype(np.float32), truth


@pytest.mark.parametrize("method", ["kmeans", "pca_gmm"])
def test_recovers_truth_and_orders_by_mean(rng, method):
    bias, cube, truth = _three_kinds(rng)
    cube[0, 0, 30] = np.nan  # inside the window
    res = cluster_spectra(cube, bias, 3, method=method, window=(-8e-3, 8e-3))
    assert res.labels[0, 0] == -1
    ok = res.labels >= 0
    # clusters are ordered by ascending mean conductance in the window, like the truth here
    assert np.mean(res.labels[ok] == truth[ok]) > 0.99
    assert res.counts.sum() == 899
    assert res.means.shape == (3, 64)
    np.testing.assert_allclose(res.means[2], cube[res.labels == 2].mean(axis=0), rtol=1e-5)


def test_reproducible_with_seed(rng):
    bias, cube, _ = _three_kinds(rng)
    a = cluster_spectra(cube, bias, 4, seed=7)
    b = cluster_spectra(cube, bias, 4, seed=7)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_kmeans_plain_points():
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.normal(c, 0.1, size=(50, 2)) for c in ((0, 0), (5, 5), (0, 5))])
    labels, centres, inertia = kmeans(pts, 3, seed=1)
    assert sorted(np.bincount(labels).tolist()) == [50, 50, 50]
    assert inertia < 150 * 0.1**2 * 2 * 1.5
    with pytest.raises(ValueError, match="k must be"):
        kmeans(pts, 0)


def test_gmm_separates_clusters_of_different_spread():
    rng = np.random.default_rng(2)
    tight = rng.normal(0.0, 0.05, size=(300, 2))
    broad = rng.normal((1.0, 0.0), 1.0, size=(300, 2))
    x = np.vstack([tight, broad])
    labels, weights, means, _ = gaussian_mixture(x, 2, seed=0)
    j = int(np.argmin(np.abs(means[:, 0])))  # the tight component
    assert np.mean(labels[:300] == j) > 0.95
    assert weights.sum() == pytest.approx(1.0)


def test_pca_scores_explained_variance():
    rng = np.random.default_rng(1)
    t = rng.standard_normal(500)
    x = np.column_stack([t, 2 * t, -t]) + 0.01 * rng.standard_normal((500, 3))
    scores, ratio = pca_scores(x, 2)
    assert scores.shape == (500, 2)
    assert ratio[0] > 0.99


def test_errors(rng):
    bias, cube, _ = _three_kinds(rng, 4, 4)
    with pytest.raises(ValueError, match="unknown clustering"):
        cluster_spectra(cube, bias, 2, method="dbscan")
    with pytest.raises(ValueError, match="no sweep point"):
        cluster_spectra(cube, bias, 2, window=(1.0, 2.0))
    with pytest.raises(ValueError, match="valid spectra"):
        cluster_spectra(cube, bias, 2, valid=np.zeros((4, 4), bool))
