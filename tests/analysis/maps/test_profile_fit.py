"""Profile fits recover known tanh widths and decay lengths from noisy synthetic profiles."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import FitError
from analysis.maps.profile_fit import exp_decay, fit_profile, tanh_step

NM = 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_fit_recovers_tanh_width_within_uncertainty(seed):
    rng = np.random.default_rng(seed)
    d = np.linspace(0, 120 * NM, 121)
    true_w = 15 * NM
    y = tanh_step(d, -2e-6, 55 * NM, true_w, 3e-6) + rng.normal(0, 0.05e-6, d.size)
    fit = fit_profile(d, y, "step")
    assert fit.length_err > 0
    assert abs(fit.length - true_w) < 3 * fit.length_err, (fit.length, fit.length_err)
    assert fit.length_err < 0.2 * true_w
    assert abs(fit.params["d0"] - 55 * NM) < 3 * fit.stderr["d0"] + 0.5 * NM
    np.testing.assert_allclose(fit.params["a"], -2e-6, rtol=0.1)
    np.testing.assert_allclose(fit.params["b"], 3e-6, rtol=0.05)
    assert fit.summary().startswith("w = ")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_decay_fit_recovers_decay_length_within_uncertainty(seed):
    rng = np.random.default_rng(seed)
    d = np.linspace(10 * NM, 150 * NM, 141)
    true_xi = 25 * NM
    y = exp_decay(d, 4.0, true_xi, 0.5, 10 * NM) + rng.normal(0, 0.08, d.size)
    fit = fit_profile(d, y, "decay")
    assert abs(fit.length - true_xi) < 3 * fit.length_err, (fit.length, fit.length_err)
    assert fit.length_err < 0.2 * true_xi
    assert fit.fixed == {"d0": 10 * NM}
    np.testing.assert_allclose(fit.params["a"], 4.0, rtol=0.1)
    np.testing.assert_allclose(fit.evaluate(d), exp_decay(d, 4.0, true_xi, 0.5, 10 * NM), atol=0.15)
    assert fit.summary().startswith("xi = ")


def test_recovery_from_below_and_fit_range_and_nans():
    rng = np.random.default_rng(7)
    d = np.linspace(0, 200 * NM, 201)
    y = exp_decay(d, -1.0, 20 * NM, 1.0, 0.0) + rng.normal(0, 0.02, d.size)
    y[50:60] = np.nan
    y[150:] = 40.0  # outside the fitted range: ignored
    fit = fit_profile(d, y, "decay", d_range=(0.0, 140 * NM))
    assert fit.params["a"] < 0
    assert abs(fit.length - 20 * NM) < 3 * fit.length_err
    assert fit.d.size == 141 - 10


def test_uncertainty_shrinks_with_less_noise():
    d = np.linspace(0, 100 * NM, 101)
    rng = np.random.default_rng(3)
    base = tanh_step(d, 1.0, 50 * NM, 8 * NM, 0.0)
    noise = rng.normal(0, 1, d.size)
    loud = fit_profile(d, base + 0.1 * noise, "step")
    quiet = fit_profile(d, base + 0.01 * noise, "step")
    assert quiet.length_err < loud.length_err / 5


def test_bad_profiles_raise_fit_error():
    d = np.linspace(0, 1e-8, 4)
    with pytest.raises(FitError, match="at least 5"):
        fit_profile(d, np.ones(4), "step")
    with pytest.raises(FitError, match="kind"):
        fit_profile(np.arange(10.0), np.ones(10), "gauss")
    with pytest.raises(FitError, match="length"):
        fit_profile(np.arange(10.0), np.ones(9), "step")
    with pytest.raises(FitError, match="same distance"):
        fit_profile(np.ones(10), np.arange(10.0), "decay")
