"""SIS quasiparticle models (PHYSICS section 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ellipe, ellipk

from analysis.models.registry import get_model
from analysis.models.sis import SISConductance, SISCurrent, sis_background_conductance, sis_iv_dynes

V = np.linspace(-6e-3, 6e-3, 481)


def test_registered_with_units():
    g = get_model("sis_conductance")
    i = get_model("sis_current")
    assert isinstance(g, SISConductance) and isinstance(i, SISCurrent)
    assert g.y_unit == "S" and i.y_unit == "A"
    assert g.param_names == i.param_names == ["G_N", "Delta_t", "Delta_s", "Gamma_t", "Gamma_s", "T", "V0"]


def test_t0_identical_gaps_closed_form_through_the_model():
    d = 1.2e-3
    m = SISCurrent()
    v = np.array([2.5 * d, 3.0 * d, 5.0 * d])
    i = m(v, G_N=1 / 50e3, Delta_t=d, Delta_s=d, Gamma_t=0.0, Gamma_s=0.0, T=0.0)
    mm = 1 - (2 * d / v) ** 2
    ref = (v * ellipe(mm) - 2 * d**2 / v * ellipk(mm)) / 50e3
    np.testing.assert_allclose(i, ref, rtol=3e-4)
    assert i[0] * 50e3 / d == pytest.approx(2.144605, rel=3e-4)


def test_conductance_peak_at_gap_sum_and_current_is_its_integral():
    p = dict(G_N=2e-8, Delta_t=1.5e-3, Delta_s=1.1e-3, Gamma_t=2e-5, Gamma_s=2e-5, T=1.2, V0=0.0)
    g = SISConductance()(V, **p)
    i = SISCurrent()(V, **p)
    pos = V > 0
    assert V[pos][np.argmax(g[pos])] == pytest.approx(2.6e-3, abs=0.04e-3)
    from scipy.integrate import cumulative_trapezoid

    np.testing.assert_allclose(i - i[0], cumulative_trapezoid(g, V, initial=0.0), atol=1e-2 * np.abs(i).max())
    # far from the gaps: ohmic with G_N
    assert g[0] == pytest.approx(2e-8, rel=0.05)
    assert (i[-1] - i[-21]) / (V[-1] - V[-21]) == pytest.approx(2e-8, rel=0.05)
    # unequal gaps: I(-V) = -I(V) still holds for even DOS
    np.testing.assert_allclose(i, -i[::-1], atol=1e-6 * abs(i).max())


def test_thermal_peak_at_gap_difference():
    dt, ds = 2.5e-3, 1.0e-3
    v = np.linspace(0.5e-3, 3e-3, 501)
    cold = sis_background_conductance(v, dt, ds, 0.3, 2e-5, 2e-5)
    warm = sis_background_conductance(v, dt, ds, 5.0, 2e-5, 2e-5)
    k = int(np.argmax(warm))
    assert v[k] == pytest.approx(dt - ds, abs=0.05e-3)
    assert warm[k] > 20 * max(cold[k], 1e-6)  # a thermal feature: absent when cold
    assert warm[k + 1 : k + 40].min() < 0  # the negative dip just above


def test_offset_shifts_the_curve():
    p = dict(G_N=1e-8, Delta_t=1.4e-3, Delta_s=1.4e-3, Gamma_t=3e-5, Gamma_s=3e-5, T=1.5)
    m = SISConductance()
    a = m(V, V0=0.0, **p)
    b = m(V + 3e-4, V0=3e-4, **p)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-14)


def test_guess_and_fit():
    m = SISConductance()
    true = dict(G_N=1e-8, Delta_t=1.4e-3, Delta_s=1.1e-3, Gamma_t=3e-5, Gamma_s=3e-5, T=1.5, V0=0.0)
    rng = np.random.default_rng(3)
    y = m(V, **true) + rng.normal(0, 5e-11, V.size)
    g = m.guess(V, y)
    assert g["Delta_t"] + g["Delta_s"] == pytest.approx(2.5e-3, rel=0.05)
    params = m.make_params(**{**g, "Delta_t": 1.4e-3})
    params["Delta_t"].set(vary=False)
    res = m.lmfit_model().fit(y, params, x=V)
    assert res.params["Delta_s"].value == pytest.approx(1.1e-3, rel=5e-3)


def test_sis_functions_agree():
    i, g = sis_iv_dynes(V, 1e-3, 1e-3, 2.0, 1e-5, 1e-5)
    np.testing.assert_allclose(g, sis_background_conductance(V, 1e-3, 1e-3, 2.0, 1e-5, 1e-5))
    # ohmic when both electrodes are normal
    np.testing.assert_allclose(sis_iv_dynes(V, 0.0, 0.0, 2.0)[0], V, atol=1e-12)
    assert math.isfinite(float(g.sum()))


@pytest.mark.parametrize(
    "name",
    ["dynes_sin", "sis_conductance", "sis_current", "two_band_sin", "two_band_sis_conductance", "dwave_sin"],
)
def test_guess_survives_degenerate_data(name):
    m = get_model(name)
    x = np.linspace(-10e-3, 10e-3, 101)
    lo, hi = m.bounds()
    for y in (
        np.zeros_like(x),
        np.full_like(x, np.nan),
        np.where(x > 0, np.nan, 1e-8),
        -np.ones_like(x) * 1e-9,
    ):
        g = m.guess(x, y)
        vals = np.array([g[n] for n in m.param_names])
        assert np.all(np.isfinite(vals)) and np.all(vals >= lo) and np.all(vals <= hi)
    g = m.guess(x[:2], np.array([1e-9, 1e-9]))
    assert all(np.isfinite(v) for v in g.values())
