"""Mesas (paper 002): beta(N), the stack simulator, the SIN correction and the d-wave fit."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.models import heating as ht
from analysis.models.bcs import delta_bcs_interp
from analysis.models.registry import registry
from analysis.papers import mesa

#: a coarse equilibrium table keeps the tests quick (the physics is the same)
P = ht.StackParameters(n_t=16, v_max=0.1, dv=1e-3, t_low=4.2)
ALPHA, T_B, R_N = 110e3, 4.2, 24.2


@pytest.fixture(scope="module")
def series():
    return mesa.simulate_stacks([1, 4, 7, 12, 19], ALPHA, T_B, R_N, params=P, n_t=300)


def test_backbending_and_beta_fall_for_tall_stacks(series):
    assert series.backbends.tolist() == [False, False, False, True, True]
    b = dict(zip(series.ns.tolist(), series.beta.tolist(), strict=True))
    assert b[4] > 0.32 and b[12] < 0.15  # [MESA]: beta falls abruptly between small and tall stacks
    assert np.all(np.diff(series.v_peak) < 0)  # heating pulls the peak below 2 Delta
    for s in series.stacks:
        if s.iv.backbends:
            assert len(s.extrema) >= 2 and s.extrema[0] > s.extrema[1]


def test_beta_of_a_measured_curve_recovers_the_simulated_value(series):
    s = series.stacks[2]  # N = 7
    keep = s.iv.V >= np.maximum.accumulate(s.iv.V)
    keep &= np.concatenate(([True], np.diff(s.iv.V) > 0))
    V, I = s.iv.V[keep], s.iv.I[keep]
    G = np.gradient(I, V)
    b = mesa.beta_of_curve(V, G, 7)
    assert b.beta == pytest.approx(s.beta, abs=3 * b.beta_err + 1e-3)
    assert b.v_peak == pytest.approx(s.v_peak, rel=0.01)
    assert b.regime == "heating"


def test_imported_gap_tables_reproduce_the_bcs_family():
    t = P.tc * (1 - np.linspace(1.0, 0.0, 2000) ** 2)  # dense near Tc, where Delta ~ sqrt(Tc - T)
    fam_tab = mesa.TabulatedFamily(P, t, delta_bcs_interp(t, P.tc, P.delta0), t, np.full(t.size, P.gamma0))
    fam = ht.equilibrium_family(P)
    np.testing.assert_allclose(fam_tab.table, fam.table, rtol=2e-3, atol=1e-6)


def test_sin_correction_makes_the_josephson_branch_vertical():
    i = np.linspace(-3e-3, 3e-3, 601)
    ic = 0.5e-3
    v_stack = np.where(np.abs(i) < ic, 0.0, np.sign(i) * (np.abs(i) - ic) * 30.0)
    # a monotone SIN contact: 2 Ohm with a gap-like nonlinearity
    v_sin_axis = np.linspace(-0.2, 0.2, 801)
    i_sin_axis = v_sin_axis / 2.0 + 1e-3 * np.tanh(v_sin_axis / 0.01)
    v_meas = v_stack + np.interp(i, i_sin_axis, v_sin_axis)
    cc = mesa.sin_correction(i, v_meas, i_sin_axis, v_sin_axis)
    np.testing.assert_allclose(cc.V, v_stack, atol=1e-9)
    assert np.max(np.abs(cc.V[np.abs(i) < ic])) < 1e-9


@pytest.mark.slow
def test_dwave_fit_recovers_the_gap():
    model = registry().get("dwave_sis_current")
    v = np.linspace(-0.08, 0.08, 161)
    truth = {**model.defaults(), "G_N": 1 / 24.2, "Delta0_t": 24e-3, "Delta0_s": 24e-3, "Gamma": 0.55e-3}
    i = model.evaluate(v, **truth)
    rng = np.random.default_rng(3)
    i = i + rng.normal(0.0, 1e-3 * np.max(np.abs(i)), v.size)
    fit = mesa.fit_dwave(v, i, T=4.2)
    assert fit.delta0 == pytest.approx(24e-3, rel=0.005)
    assert abs(fit.delta0 - 24e-3) < 5 * fit.delta0_err
    assert fit.G_N == pytest.approx(1 / 24.2, rel=0.005)


def test_peak_voltage_and_its_temperature_move_smoothly_with_n():
    """N = 1..30 on the simulator's default junction: V_peak falls steadily; T_m at the peak rises with N
    up to the onset of backbending and then falls in small steps (no jump to a far branch of the S-curve,
    no pinning to the temperature table's rows)."""
    sim = mesa.simulate_stacks(list(range(1, 31)), 110e3, 4.2, 24.2)
    v = np.array([s.v_peak for s in sim.stacks])
    t = np.array([s.t_at_peak for s in sim.stacks])
    bends = np.array([s.iv.backbends for s in sim.stacks])
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(t))
    assert np.all(np.diff(v) < 0)
    first = int(np.argmax(bends))  # the first stack that backbends
    assert 5 < first < 25 and np.all(bends[first:])
    assert np.all(np.diff(t[:first]) > 0)
    assert np.all(np.diff(t[first - 1 :]) < 0)
    assert np.all(np.abs(np.diff(t[first:])) < 1.0)
    assert np.all(np.abs(np.diff(t, 2)) < 4.0)
