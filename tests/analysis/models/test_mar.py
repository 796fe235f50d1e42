"""Multiple Andreev reflection I(V): limits of the Averin-Bardas theory and the channel fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ellipe, ellipk

from analysis.errors import ModelError
from analysis.models import mar
from analysis.models.mar import G0, fit_mar, mar_current, mar_reduced_current


def sis_t0(v: np.ndarray) -> np.ndarray:
    """SIS quasiparticle current e I R_N/Delta at T = 0 for identical gaps (closed form, v > 2)."""
    m = 1.0 - (2.0 / v) ** 2
    return v * ellipe(m) - (2.0 / v) * ellipk(m)


def excess_closed_form(t: float) -> float:
    """Excess current of one channel at T = 0 in units of G_0 Delta/e (Averin-Bardas / Cuevas et al.)."""
    s = math.sqrt(1.0 - t)
    return t * t / (1.0 - t) * (1.0 - t * t / (2.0 * (2.0 - t) * s) * math.log((1.0 + s) / (1.0 - s)))


def test_tunnel_limit_is_the_sis_current():
    tau = 0.005
    v = np.array([2.2, 2.5, 3.0, 4.0, 6.0])
    i = mar_reduced_current(v, tau) / tau
    # within 2 % just above the threshold (gap-edge resonances of width ~tau^2 are smeared by eta), 0.3 %
    # from 3 Delta up
    np.testing.assert_allclose(i[:2], sis_t0(v[:2]), rtol=0.02)
    np.testing.assert_allclose(i[2:], sis_t0(v[2:]), rtol=0.003)
    # the gap jump pi/2 just above 2 Delta, and (almost) nothing below it
    below = mar_reduced_current(np.array([0.7, 1.2, 1.8]), tau) / tau
    assert np.all(np.abs(below) < 0.03)


def test_open_channel_excess_current_is_eight_thirds():
    d = 1.35e-3
    V = np.array([10.0, 20.0, 40.0]) * d
    exc = (mar_current(V, [1.0], d) - G0 * V) / (G0 * d)
    assert np.all(np.diff(exc) > 0), "approaches from below"
    limit = 2 * exc[2] - exc[1]  # the finite-bias correction falls as 1/V
    assert limit == pytest.approx(8.0 / 3.0, rel=3e-3)
    assert mar.excess_current_t0(1.0, d) == pytest.approx(8.0 / 3.0 * G0 * d)


@pytest.mark.parametrize("tau", [0.3, 0.5, 0.8, 0.95])
def test_excess_current_of_any_transmission(tau):
    v = np.array([20.0, 40.0])
    exc = mar_reduced_current(v, tau) - tau * v
    # absolute 0.005 G_0 Delta/e: 0.03 % of the current at 40 Delta/e
    assert 2 * exc[1] - exc[0] == pytest.approx(excess_closed_form(tau), abs=5e-3)


def test_subharmonic_steps_at_two_delta_over_n_scale_as_tau_to_the_n():
    def step(tau: float, n: int) -> float:
        vn = 2.0 / n
        i = mar_reduced_current(np.array([vn * 0.9, vn * 1.1]), tau)
        return float(i[1] - i[0])

    # the step of order n is a process of n - 1 Andreev reflections: height ~ tau^n
    for n, tau in ((1, 0.01), (2, 0.05), (3, 0.1)):
        s1, s2 = step(tau, n), step(2 * tau, n)
        assert s2 > s1 > 0
        assert s2 / s1 == pytest.approx(2.0**n, rel=0.3), n


def test_conductance_peaks_at_the_subharmonic_positions():
    v = np.linspace(0.5, 2.6, 211)
    g = np.gradient(mar_reduced_current(v, 0.3), v)
    for n in (1, 2, 3):
        near = np.abs(v - 2.0 / n) < 0.06
        far = (np.abs(v - 2.0 / n) > 0.12) & (np.abs(v - 2.0 / n) < 0.3)
        assert g[near].max() > 1.5 * np.median(g[far]), n


def test_odd_in_bias_and_ohmic_far_above_the_gap():
    v = np.array([-3.0, -1.1, 1.1, 3.0])
    i = mar_reduced_current(v, 0.6)
    np.testing.assert_allclose(i[:2], -i[2:][::-1], rtol=1e-12)
    hi = mar_reduced_current(np.array([30.0, 31.0]), 0.6)
    assert (hi[1] - hi[0]) == pytest.approx(0.6, rel=2e-3)


def test_finite_temperature_smooths_the_structure():
    v = np.linspace(0.6, 2.4, 91)
    g0 = np.gradient(mar_reduced_current(v, 0.2, 0.0), v)
    g1 = np.gradient(mar_reduced_current(v, 0.2, 0.3), v)
    assert np.ptp(g1) < np.ptp(g0)
    assert np.all(np.isfinite(g1))


def test_low_bias_is_reported_not_computed():
    i = mar_reduced_current(np.array([0.0, 0.01, 0.5]), 0.5)
    assert i[0] == 0.0 and math.isnan(i[1]) and math.isfinite(i[2])


def test_bad_input_raises_model_error():
    with pytest.raises(ModelError):
        mar_reduced_current(np.array([1.0]), 1.2)
    with pytest.raises(ModelError):
        mar_current(np.array([1e-3]), [0.5], -1e-3)


@pytest.mark.slow
def test_table_agrees_with_direct_evaluation():
    tab = mar.mar_table(0.0, v_max=6.0)  # the table the fit below uses (cached)
    v = np.linspace(0.3, 4.0, 61)
    for tau in (0.15, 0.55, 0.85):
        # 2 % of the gap-scale current: interpolation in tau and v, and the quadrature of both
        np.testing.assert_allclose(tab.reduced(v, [tau]), mar_reduced_current(v, tau), atol=0.03)


@pytest.mark.slow
def test_fit_recovers_three_channel_transmissions():
    d = 1.35e-3
    truth = np.array([0.85, 0.4, 0.1])
    V = np.linspace(-4 * d, 4 * d, 241)
    I = mar_current(V, truth, d)
    ok = np.isfinite(I)
    V, I = V[ok], I[ok]
    rng = np.random.default_rng(7)
    I = I + rng.normal(0.0, 0.002 * np.ptp(I), I.size)
    fit = fit_mar(V, I, 3, delta=1.30e-3)
    np.testing.assert_allclose(fit.taus, truth, atol=0.02)
    assert fit.delta == pytest.approx(d, rel=0.01)
    assert fit.G_N == pytest.approx(G0 * truth.sum(), rel=0.01)
    assert np.all(fit.taus_err > 0)
