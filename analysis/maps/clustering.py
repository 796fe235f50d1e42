"""Clustering of a grid's spectra into regions: k-means, and a Gaussian mixture on PCA scores.

Features are each valid pixel's spectrum restricted to a bias window ``(lo, hi)`` in V. Two methods:

* ``"kmeans"``: Lloyd's k-means with k-means++ seeding and a fixed seed (best of ``n_init`` starts by
  inertia), on the raw windowed spectra.
* ``"pca_gmm"``: principal components of the standardised windowed spectra (``n_components`` scores),
  then a full-covariance Gaussian mixture fitted by expectation-maximisation (initialised by k-means on
  the scores); each pixel goes to its most probable component. Unlike k-means it allows clusters of
  different spread and shape, which suits, e.g., a narrow set of sharp-gap spectra next to a broad set of
  suppressed ones.

Clusters are renumbered by ascending mean of the windowed features, so label 0 has the lowest mean
conductance over the window; the result is reproducible for a given seed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.errors import WorkbenchError

METHODS = ("kmeans", "pca_gmm")
METHOD_TITLES = {"kmeans": "k-means", "pca_gmm": "PCA + Gaussian mixture"}


@dataclass
class ClusterResult:
    """labels : (ny, nx) int64, cluster 0..k-1, -1 for invalid pixels.
    means : (k, nb) float64 mean spectra over the full sweep.  counts : (k,) pixels per cluster.
    method, k, window : what was computed."""

    labels: np.ndarray
    means: np.ndarray
    counts: np.ndarray
    method: str
    k: int
    window: tuple[float, float]


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise WorkbenchError("clustering cancelled")


def _sq_dist(x: np.ndarray, c: np.ndarray, x_sq: np.ndarray) -> np.ndarray:
    d = x_sq[:, None] - 2.0 * (x @ c.T) + np.einsum("ij,ij->i", c, c)[None, :]
    return np.maximum(d, 0.0)


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(k, d) initial centres chosen by k-means++ (D^2 weighting) from the rows of ``x`` (n, d)."""
    n = x.shape[0]
    centres = np.empty((k, x.shape[1]), dtype=np.float64)
    centres[0] = x[rng.integers(n)]
    x_sq = np.einsum("ij,ij->i", x, x)
    closest = _sq_dist(x, centres[:1], x_sq)[:, 0]
    for j in range(1, k):
        total = closest.sum()
        if total <= 0:
            centres[j] = x[rng.integers(n)]
        else:
            centres[j] = x[rng.choice(n, p=closest / total)]
        closest = np.minimum(closest, _sq_dist(x, centres[j : j + 1], x_sq)[:, 0])
    return centres


def kmeans(
    x: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    n_init: int = 3,
    max_iter: int = 100,
    tol: float = 1e-6,
    cancel: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """k-means of the rows of ``x`` (n, d): (labels (n,), centres (k, d), inertia)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if k < 1 or k > n:
        raise ValueError(f"k must be between 1 and the number of samples ({n}), got {k}")
    rng = np.random.default_rng(seed)
    x_sq = np.einsum("ij,ij->i", x, x)
    scale = float(np.mean(x_sq)) or 1.0
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(max(1, n_init)):
        centres = kmeans_plus_plus(x, k, rng)
        labels = np.zeros(n, dtype=np.int64)
        for _it in range(max_iter):
            _check_cancel(cancel)
            d = _sq_dist(x, centres, x_sq)
            labels = np.argmin(d, axis=1)
            new = np.zeros_like(centres)
            _group_sum(new, labels, x)
            counts = np.bincount(labels, minlength=k).astype(np.float64)
            empty = counts == 0
            if empty.any():
                # re-seed an empty cluster at the point farthest from its centre
                far = np.argsort(d[np.arange(n), labels])[::-1]
                for j, p in zip(np.flatnonzero(empty), far):
                    new[j] = x[p]
                    counts[j] = 1.0
            new /= counts[:, None]
            shift = float(np.sum((new - centres) ** 2))
            centres = new
            if shift <= tol * scale:
                break
        d = _sq_dist(x, centres, x_sq)
        labels = np.argmin(d, axis=1)
        inertia = float(d[np.arange(n), labels].sum())
        if best is None or inertia < best[2]:
            best = (labels, centres, inertia)
    assert best is not None
    return best


def _group_sum(out: np.ndarray, labels: np.ndarray, x: np.ndarray) -> None:
    for j in range(out.shape[0]):
        sel = labels == j
        if sel.any():
            out[j] = x[sel].sum(axis=0)


def pca_scores(x: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores (n, c), explained variance ratio (c,)) of the standardised rows of ``x`` (n, d)."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - mu) / sd
    cov = (z.T @ z) / max(1, z.shape[0] - 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    c = max(1, min(int(n_components), x.shape[1]))
    evals, evecs = evals[order][:c], evecs[:, order][:, :c]
    total = float(np.trace(cov)) or 1.0
    return z @ evecs, evals / total


def gaussian_mixture(
    x: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    max_iter: int = 200,
    tol: float = 1e-6,
    reg: float = 1e-6,
    cancel: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Full-covariance Gaussian mixture of the rows of ``x`` (n, d) by EM.

    Returns (labels (n,), weights (k,), means (k, d), covariances (k, d, d)).
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    labels, means, _ = kmeans(x, k, seed=seed, n_init=2, cancel=cancel)
    var0 = np.var(x, axis=0).mean() or 1.0
    eye = np.eye(d) * (reg * var0 + 1e-12)
    weights = np.bincount(labels, minlength=k) / n
    covs = np.empty((k, d, d))
    for j in range(k):
        sel = x[labels == j]
        covs[j] = (np.cov(sel.T, bias=True).reshape(d, d) if sel.shape[0] > 1 else np.eye(d) * var0) + eye
    prev = -np.inf
    log_resp = np.zeros((n, k))
    for _ in range(max_iter):
        _check_cancel(cancel)
        # E step
        for j in range(k):
            chol = np.linalg.cholesky(covs[j])
            diff = np.linalg.solve(chol, (x - means[j]).T)
            maha = np.einsum("ij,ij->j", diff, diff)
            logdet = 2.0 * np.sum(np.log(np.diag(chol)))
            log_resp[:, j] = np.log(max(weights[j], 1e-300)) - 0.5 * (maha + logdet + d * np.log(2 * np.pi))
        top = log_resp.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(log_resp - top).sum(axis=1))
        ll = float(log_norm.mean())
        resp = np.exp(log_resp - log_norm[:, None])
        # M step
        nk = resp.sum(axis=0) + 1e-12
        weights = nk / n
        means = (resp.T @ x) / nk[:, None]
        for j in range(k):
            diff = x - means[j]
            covs[j] = (resp[:, j, None] * diff).T @ diff / nk[j] + eye
        if abs(ll - prev) <= tol * max(1.0, abs(ll)):
            break
        prev = ll
    return np.argmax(log_resp, axis=1), weights, means, covs


def cluster_spectra(
    cube: Any,
    bias: np.ndarray,
    k: int,
    *,
    window: tuple[float, float] | None = None,
    method: str = "kmeans",
    valid: np.ndarray | None = None,
    n_components: int = 4,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ClusterResult:
    """Cluster the spectra of ``cube`` (ny, nx, nb) over the bias window into ``k`` groups.

    ``window`` (lo, hi) in V (default: the whole sweep); ``valid`` (ny, nx) bool excludes pixels (pixels
    with non-finite values in the window are excluded too, label -1).
    """
    if method not in METHODS:
        raise ValueError(f"unknown clustering method {method!r}; expected one of {METHODS}")
    bias = np.asarray(bias, dtype=np.float64)
    ny, nx, nb = (int(s) for s in cube.shape)
    lo, hi = window if window is not None else (float(bias[0]), float(bias[-1]))
    lo, hi = min(lo, hi), max(lo, hi)
    sel = np.flatnonzero((bias >= lo) & (bias <= hi))
    if sel.size == 0:
        raise ValueError(f"no sweep point in the window {lo:g}..{hi:g} V")
    if progress is not None:
        progress(0, 3)
    full = np.asarray(cube).reshape(ny * nx, nb)
    feats = full[:, sel[0] : sel[-1] + 1].astype(np.float64)
    ok = np.isfinite(feats).all(axis=1)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool).ravel()
    idx = np.flatnonzero(ok)
    if idx.size < k:
        raise ValueError(f"only {idx.size} valid spectra for {k} clusters")
    x = feats[idx]
    _check_cancel(cancel)
    if progress is not None:
        progress(1, 3)
    if method == "kmeans":
        lab, _, _ = kmeans(x, k, seed=seed, cancel=cancel)
    else:
        scores, _ = pca_scores(x, n_components)
        lab, *_ = gaussian_mixture(scores, k, seed=seed, cancel=cancel)
    if progress is not None:
        progress(2, 3)
    # order clusters by ascending mean feature value; drop empty ones from the numbering
    present = [j for j in range(k) if np.any(lab == j)]
    key = {j: float(x[lab == j].mean()) for j in present}
    order = sorted(present, key=lambda j: key[j])
    remap = np.full(k, -1, dtype=np.int64)
    remap[order] = np.arange(len(order))
    lab = remap[lab]
    labels = np.full(ny * nx, -1, dtype=np.int64)
    labels[idx] = lab
    kk = len(order)
    means = np.empty((kk, nb))
    counts = np.bincount(lab, minlength=kk)
    for j in range(kk):
        rows = full[idx[lab == j]].astype(np.float64)
        with np.errstate(invalid="ignore"):
            means[j] = np.nanmean(rows, axis=0) if np.isnan(rows).any() else rows.mean(axis=0)
    if progress is not None:
        progress(3, 3)
    return ClusterResult(labels.reshape(ny, nx), means, counts, method, kk, (lo, hi))
