"""The batched Levenberg-Marquardt engine on a small Lorentzian model."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy.optimize import least_squares

from analysis.errors import FitError
from analysis.fitting.batch import (
    AT_BOUND,
    CONVERGED,
    NAN_DATA,
    FitCancelled,
    FitOptions,
    fit_batch,
    global_start,
    guess_starts,
)
from tests.analysis.fitting._models import Lorentzian, LorentzianLoop, LorentzianNoJac, synthetic


@pytest.mark.parametrize("model", [Lorentzian(), LorentzianNoJac(), LorentzianLoop()], ids=lambda m: m.name)
def test_recovers_known_parameters(model):
    x, Y, P = synthetic(n=60, noise=0.005, seed=1)
    P0 = guess_starts(model, x, Y)
    res = fit_batch(model, x, Y, P0)
    assert res.values.shape == (60, 4)
    assert np.mean(res.success) >= 0.95
    ok = res.success
    err = np.abs(res.values[ok] - P[ok])
    # Within 5 standard errors of the truth in every parameter.
    assert np.all(err <= 5 * res.stderr[ok] + 1e-12)
    assert np.all(np.abs(res.redchi[ok] / 0.005**2 - 1) < 0.5)


def test_matches_scipy_least_squares_per_spectrum():
    model = Lorentzian()
    x, Y, _ = synthetic(n=40, noise=0.01, seed=2)
    P0 = guess_starts(model, x, Y)
    res = fit_batch(model, x, Y, P0)
    for i in np.flatnonzero(res.success):
        ref = least_squares(
            lambda p, i=i: model.evaluate_batch(x, p)[0] - Y[i],
            P0[i],
            jac=lambda p: model.jacobian_batch(x, p)[0],
            method="lm",
            xtol=1e-12,
            ftol=1e-12,
        )
        ref_x = ref.x.copy()
        ref_x[2] = abs(ref_x[2])  # the width enters squared: same minimum for either sign
        np.testing.assert_allclose(res.values[i], ref_x, atol=0.01 * res.stderr[i].max())


def test_stderr_matches_scatter_of_repeated_noise():
    model = Lorentzian()
    rng = np.random.default_rng(3)
    x = np.linspace(-1, 1, 150)
    true = np.array([1.0, 0.05, 0.12, 0.02])
    clean = model.evaluate_batch(x, true[None, :])
    Y = clean + 0.02 * rng.standard_normal((400, x.size))
    res = fit_batch(model, x, Y, true)
    assert res.success.all()
    scatter = res.values.std(axis=0)
    median_se = np.median(res.stderr, axis=0)
    np.testing.assert_allclose(median_se, scatter, rtol=0.2)


def test_nan_spectra_flagged_partial_nan_fitted():
    model = Lorentzian()
    x, Y, P = synthetic(n=10, noise=0.005, seed=4)
    Y = Y.copy()
    Y[3] = np.nan
    Y[5, :40] = np.nan  # aborted sweep: the rest is still fitted
    Y_in = Y.copy()
    res = fit_batch(model, x, Y, guess_starts(model, x, Y))
    assert res.status[3] == NAN_DATA and not res.success[3]
    assert np.all(np.isnan(res.values[3]))
    assert res.ndata[5] == x.size - 40
    assert res.success[5]
    np.testing.assert_allclose(res.values[5], P[5], atol=5 * res.stderr[5].max())
    np.testing.assert_array_equal(np.isnan(Y), np.isnan(Y_in))
    np.testing.assert_array_equal(Y[np.isfinite(Y)], Y_in[np.isfinite(Y_in)])


def test_bounds_are_respected_and_flagged():
    model = Lorentzian()
    x, Y, P = synthetic(n=20, noise=0.002, seed=5)
    upper = np.array([100.0, 1.0, 0.08, 10.0])  # widths above 0.08 cannot be reached
    res = fit_batch(model, x, Y, guess_starts(model, x, Y), FitOptions(upper=upper))
    assert np.all(res.values[:, 2] <= 0.08 + 1e-15)
    wide = P[:, 2] > 0.08
    assert wide.any() and (~wide).any()
    assert np.all(res.status[wide] == AT_BOUND)
    assert np.all(res.status[~wide] == CONVERGED)


def test_fixed_parameters_and_fit_range():
    model = Lorentzian()
    x, Y, P = synthetic(n=15, noise=0.003, seed=6)
    opts = FitOptions(fixed={"c": 0.0}, fit_range=(-0.5, 0.5))
    res = fit_batch(model, x, Y, guess_starts(model, x, Y), opts)
    assert np.all(res.values[:, 3] == 0.0)
    assert np.all(np.isnan(res.stderr[:, 3]))
    assert np.all(res.ndata == np.sum((x >= -0.5) & (x <= 0.5)))
    with pytest.raises(FitError, match="no data points"):
        fit_batch(model, x, Y, P, FitOptions(fit_range=(5, 6)))


def test_weights_drop_outliers():
    model = Lorentzian()
    x, Y, P = synthetic(n=5, noise=0.002, seed=7)
    Y = Y.copy()
    Y[:, 10] += 5.0  # a spike
    w = np.ones(x.size)
    plain = fit_batch(model, x, Y, P)
    w[10] = 0.0
    weighted = fit_batch(model, x, Y, P, weights=w)
    err_plain = np.abs(plain.values - P).max()
    err_weighted = np.abs(weighted.values - P).max()
    assert err_weighted < 0.05 < err_plain
    assert np.all(weighted.ndata == x.size - 1)


def test_global_start_is_fit_of_mean():
    model = Lorentzian()
    x = np.linspace(-1, 1, 100)
    true = np.array([2.0, 0.1, 0.1, 0.5])
    Y = np.repeat(model.evaluate_batch(x, true[None]), 8, axis=0)
    Y[2] = np.nan
    np.testing.assert_allclose(global_start(model, x, Y), true, rtol=1e-6, atol=1e-9)


def test_cancel_raises_and_leaves_inputs_intact():
    model = Lorentzian()
    x, Y, P = synthetic(n=300, noise=0.01, seed=8)
    P0 = guess_starts(model, x, Y)
    Y_copy, P0_copy = Y.copy(), P0.copy()
    ev = threading.Event()
    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) == 3:
            ev.set()

    with pytest.raises(FitCancelled):
        fit_batch(model, x, Y, P0, progress=progress, cancel=ev)
    assert len(calls) == 3
    np.testing.assert_array_equal(Y, Y_copy)
    np.testing.assert_array_equal(P0, P0_copy)


def test_progress_is_monotone_and_complete():
    model = Lorentzian()
    x, Y, _ = synthetic(n=50, seed=9)
    seen = []
    fit_batch(
        model,
        x,
        Y,
        guess_starts(model, x, Y),
        FitOptions(chunk_size=20),
        progress=lambda d, t: seen.append((d, t)),
    )
    done = [d for d, _ in seen]
    assert all(t == 50 for _, t in seen)
    assert done == sorted(done) and done[-1] == 50


def test_bad_shapes_give_clear_errors():
    model = Lorentzian()
    x, Y, P = synthetic(n=4)
    with pytest.raises(FitError, match="points per spectrum"):
        fit_batch(model, x[:-1], Y, P)
    with pytest.raises(FitError, match="starting values"):
        fit_batch(model, x, Y, P[:2])
    with pytest.raises(FitError, match="no parameter"):
        fit_batch(model, x, Y, P, FitOptions(vary=np.zeros(4, bool)))


def test_a_model_error_fails_only_that_spectrum():
    from analysis.fitting.batch import MODEL_NOT_FINITE
    from tests.analysis.fitting._models import FragileLorentzian

    model = FragileLorentzian()
    x, Y, P = synthetic(n=30, noise=0.003, seed=10)
    P0 = P.copy()
    P0[:, 1] = np.clip(P0[:, 1], -0.24, None)
    bad = np.array([3, 7])
    P0[bad, 1] = -0.3  # the model raises at these starting values
    res = fit_batch(model, x, Y, P0)
    assert np.all(res.status[bad] == MODEL_NOT_FINITE)
    good = np.setdiff1d(np.flatnonzero(P[:, 1] > -0.2), bad)
    assert good.size > 10
    assert np.all(res.success[good])
    np.testing.assert_allclose(res.values[good, 1], P[good, 1], atol=0.01)


@pytest.mark.parametrize("model", [Lorentzian(), LorentzianNoJac()], ids=lambda m: m.name)
def test_broyden_updates_reach_the_same_minimum(model):
    x, Y, _ = synthetic(n=80, noise=0.005, seed=15)
    P0 = guess_starts(model, x, Y)
    exact = fit_batch(model, x, Y, P0, FitOptions(broyden=False))
    broyden = fit_batch(model, x, Y, P0, FitOptions(broyden=True))
    both = exact.success & broyden.success
    assert both.mean() > 0.9
    diff = np.abs(broyden.values[both] - exact.values[both]) / exact.stderr[both]
    assert np.all(diff < 1e-3)
    np.testing.assert_allclose(broyden.stderr[both], exact.stderr[both], rtol=1e-3)
