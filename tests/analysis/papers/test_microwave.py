"""Microwave response (paper 004): steps from I(V), joint calibration with Eq. 6, global gap fit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from analysis.models import microwave as mw
from analysis.models.registry import registry
from analysis.papers import microwave as pm

F = 25.7e9
SN_GAP = 0.5875e-3
SN_R = 5.4


def eq6(order, alpha):
    return mw.werthamer_riedel_step_amplitude(order, alpha, F, SN_GAP, SN_R, damping=1e-3)


def step_data(seed=4):
    i0 = 0.8 * mw.riedel_zero_voltage(SN_GAP, SN_R)
    vrf = np.linspace(0.05e-3, 2.4e-3, 60)  # 2 alpha up to 45, beyond N + M = 22
    alpha = mw.photon_ratio(vrf, F)
    rng = np.random.default_rng(seed)
    data = [(n, vrf, 0.8 * eq6(n, alpha) + rng.normal(0, 0.005 * i0, vrf.size)) for n in (0, 1, 2)]
    return data, i0


def test_gap_from_eq6_does_not_depend_on_a_start():
    data, i0 = step_data()
    n, x, y = data[0]
    model = registry().get("shapiro_werthamer")
    found = []
    for start in (0.45e-3, 0.65e-3):  # today: a local fit stops in the basin of its start
        p = model.make_params(I_J0=i0, delta=start, damping=1e-3, f=F, N=n)
        for k in ("f", "N", "damping"):
            p[k].vary = False
        found.append(model.lmfit_model().fit(y, p, x=x).params["delta"].value)
    assert abs(found[1] - found[0]) > 0.1e-3, "the scenario has several minima"
    fits = [pm.fit_gap_global(data, F, delta_range=r) for r in ((0.3e-3, 1.2e-3), (0.4e-3, 2.0e-3))]
    for g in fits:
        assert g.delta == pytest.approx(SN_GAP, rel=5e-4)
        assert abs(g.delta - SN_GAP) < 5 * g.delta_err + 1e-8
        assert g.i_j0 == pytest.approx(i0, rel=0.01)
    assert fits[0].delta == pytest.approx(fits[1].delta, rel=1e-5)


def test_joint_attenuator_calibration_with_eq6_recovers_c():
    c_true = 8.4e-3
    i0 = mw.riedel_zero_voltage(SN_GAP, SN_R)
    att = np.linspace(10.0, 30.0, 41)
    alpha = mw.photon_ratio(mw.rf_voltage_from_attenuation(att, c_true), F)
    rng = np.random.default_rng(11)
    steps = [
        mw.StepData("josephson", n, att, 0.8 * eq6(n, alpha) + rng.normal(0, 0.003 * i0, att.size))
        for n in (0, 2)
    ]
    q = alpha < 12
    for n in (1, 3):
        amp = 5e-5 * special.jv(n, alpha[q]) ** 2 + rng.normal(0, 2e-7, q.sum())
        steps.append(mw.StepData("qp", n, att[q], amp))
    cal = pm.joint_attenuator_calibration(steps, F, law="werthamer", delta=SN_GAP)
    assert cal.c == pytest.approx(c_true, rel=2e-3)
    assert abs(cal.c - c_true) < 5 * cal.c_err
    assert cal.scales["josephson"] == pytest.approx(0.8 * i0, rel=0.01)
    assert cal.scales["qp"] == pytest.approx(5e-5, rel=0.02)


def test_werthamer_table_matches_eq6():
    tab = pm.WerthamerTable(F, SN_GAP, 1e-3, 25.0)
    a = np.linspace(0.1, 24.0, 97)
    i0 = mw.riedel_zero_voltage(SN_GAP, SN_R)
    for n in (0, 3):
        np.testing.assert_allclose(tab(n, a), eq6(n, a) / i0, atol=2e-4)


def test_step_amplitudes_from_an_iv_under_rf():
    hj = mw.H_OVER_2E * F
    amps = {0: 60e-6, 1: 35e-6, 2: 20e-6, 3: 10e-6}
    V, I = [], []
    for n, a in amps.items():  # plateaus on the ohmic line
        for s in (1, -1) if n else (1,):
            vc = s * n * hj
            ic = vc / SN_R
            V += [vc] * 21
            I += list(np.linspace(ic - a / 2, ic + a / 2, 21))
    vq = np.linspace(4.5 * hj, 10.5 * hj, 400)  # ohmic stretches between the plateaus
    V += list(vq)
    I += list(vq / SN_R)
    res = pm.step_amplitudes(np.array(V), np.array(I), F, orders=range(0, 5))
    for n, a in amps.items():
        assert res.josephson_amplitude[n] == pytest.approx(a, rel=1e-9)
    assert res.josephson_amplitude[4] == 0.0
    np.testing.assert_allclose(res.josephson_V[:4], np.arange(4) * hj)


def test_quasiparticle_step_edges():
    hq = mw.H_OVER_E * F
    alpha = 1.3
    V = np.linspace(0.2e-3, 2.2e-3, 4001)
    I = V / SN_R * 0.05
    for n in (-1, 0, 1):
        I = I + 5e-5 * special.jv(n, alpha) ** 2 * (V > 2 * SN_GAP + n * hq)
    res = pm.step_amplitudes(V, I, F, orders=(), delta=SN_GAP)
    for n, amp in zip(res.qp_orders, res.qp_amplitude, strict=True):
        assert amp == pytest.approx(5e-5 * special.jv(n, alpha) ** 2, rel=1e-3), n


def test_overlay_marker_and_deviation():
    ov = pm.step_overlay(1, np.linspace(0.0, 45.0, 901), F, SN_GAP, 1.0)
    assert ov.marker == pytest.approx(1 + 4 * SN_GAP / (mw.H_OVER_E * F))
    assert abs(ov.deviation - ov.marker) < 6.0
    np.testing.assert_allclose(ov.werthamer[:200], ov.bessel[:200], atol=0.02)


def test_riedel_inversion_recovers_the_peak():
    n, alpha = 1, 12.0
    f_peak = 4 * SN_GAP / mw.H_OVER_E
    amp = float(mw.werthamer_riedel_step_amplitude(n, alpha, F, SN_GAP, SN_R, damping=1e-3, signed=True))
    pts = pm.riedel_from_steps([amp], [n], [alpha], [F], SN_GAP, SN_R)
    assert pts.i_j[0] == pytest.approx(pts.i_j_theory[0], rel=1e-6)
    assert abs(pts.f_j[0] - f_peak) < 2 * F


def test_photon_assisted_iv_keeps_an_ohmic_curve():
    V0 = np.linspace(-5e-3, 5e-3, 201)
    out = pm.photon_assisted_iv(V0[50:150], V0, V0 / 10.0, 0.3e-3, F)
    np.testing.assert_allclose(out, V0[50:150] / 10.0, atol=1e-12)
