"""Intrinsic tunnelling (paper 003): heating spectra from a noisy R(T), hA by superposition, P_c, brush."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from analysis.models import heating as ht
from analysis.papers import its

T_B, H_A = 4.2, 16e-6
CURVE = ht.semiconducting_resistance(100.0, 150.0)


def noisy_rt(noise=1e-3, seed=1, n=600):
    T = np.linspace(4.2, 300.0, n)
    rng = np.random.default_rng(seed)
    return T, CURVE(T) * (1 + rng.normal(0.0, noise, T.size))


def test_noise_in_rt_makes_no_spurious_peaks():
    T, R = noisy_rt()
    clean = ht.heating_spectrum(CURVE, T_B, H_A, T=np.linspace(T_B, 300.0, 3000)).peak_voltages()
    today = ht.heating_spectrum(
        ht.ResistanceCurve.from_samples(T, R), T_B, H_A, T=np.linspace(T_B, 300, 3000)
    )
    assert today.peak_voltages().size > 20, "interpolated noise makes peaks"
    res = its.its_heating_spectrum(T, R, T_B, H_A)
    assert res.peak_V.size == clean.size
    np.testing.assert_allclose(res.peak_V, clean, rtol=0.03)
    assert res.resistance.sigma == pytest.approx(1e-3 * float(np.mean(R)), rel=0.5)


def heated_iv(noise=1e-3, seed=2):
    s = ht.heating_spectrum(CURVE, T_B, H_A, T=T_B + np.geomspace(1e-3, 250.0, 300))
    rng = np.random.default_rng(seed)
    return s.V * (1 + rng.normal(0.0, noise, s.V.size)), s.I


def test_h_a_by_superposition_on_rt():
    T, R = noisy_rt()
    V, I = heated_iv()
    fit = its.fit_h_a(V, I, T_B, T, R)
    assert fit.h_a == pytest.approx(H_A, rel=0.01)
    assert abs(fit.h_a - H_A) < 5 * fit.h_a_err
    assert fit.alpha == pytest.approx(1 / H_A, rel=0.01)


def test_h_a_from_a_heating_spectrum_does_not_depend_on_a_start():
    T, R = noisy_rt()
    s = ht.heating_spectrum(CURVE, T_B, H_A, T=T_B + np.geomspace(1e-3, 250.0, 400))
    v, _, g = s.swept()
    # today: the registered model fitted from a start stays in its basin or aborts on NaN
    model = ht.HeatingSpectrumModel(resistance=ht.ResistanceCurve.from_samples(T, R))
    p = model.make_params(h_a=64e-6, T_B=T_B)
    p["T_B"].vary = False
    stuck = model.lmfit_model().fit(g, p, x=v).params["h_a"].value
    assert stuck == pytest.approx(64e-6, rel=0.1)
    p["h_a"].set(value=4e-6)
    with pytest.raises(ValueError, match="NaN"):
        model.lmfit_model().fit(g, p, x=v)
    fit = its.fit_h_a_spectrum(v, g, T_B, T, R)
    assert fit.h_a == pytest.approx(H_A, rel=0.02)
    assert abs(fit.h_a - H_A) < 5 * fit.h_a_err + 0.005 * H_A


def test_three_point_term_puts_the_sharp_peak_at_tc():
    T, R = noisy_rt()
    three = its.its_heating_spectrum(T, R, T_B, H_A, contact=(18.0, 60.0))
    clean = ht.heating_spectrum(CURVE.with_contact_term(18.0, 60.0), T_B, H_A, T=np.linspace(T_B, 300, 6000))
    v_tc = float(np.interp(60.0, clean.T, clean.V))
    assert three.peak_V.size == 1
    assert three.peak_V[0] == pytest.approx(v_tc, rel=0.005)


def test_critical_load_and_field_collapse():
    area = 1e-10  # 100 um^2
    eps = 0.02
    curves, fields = [], [0.0, 10.0, 20.0]
    for b in fields:
        scale = 1.0 - 0.014 * b  # magnetoresistance: R(T, B) = (1 - 0.014 B) R(T)
        s = ht.heating_spectrum(
            lambda t, sc=scale: sc * CURVE(t), T_B, H_A, T=T_B + np.geomspace(1e-4, 60, 2000)
        )
        curves.append((s.V, s.I))
    fc = its.field_collapse(curves, fields, area=area, eps=eps)
    assert fc.spread < 1e-3
    # truth: |R(T)/R(T_B) - 1| = eps at T_eps, P_c = hA (T_eps - T_B)/A
    t_eps = optimize.brentq(lambda t: abs(CURVE(t) / CURVE(T_B) - 1) - eps, T_B + 1e-6, 60.0)
    pc_true = H_A * (t_eps - T_B) / area
    for p, e in zip(fc.p_c, fc.p_c_err, strict=True):
        assert p == pytest.approx(pc_true, rel=0.02)
        assert e < 0.02 * p


def test_brush_branch_resistances_and_excess_current():
    r1, istar = 30.0, 2e-6
    rng = np.random.default_rng(4)
    branches = []
    for k in (1, 2, 3, 4):
        i = np.linspace(4e-6, 12e-6, 30)
        branches.append((i, k * r1 * (i - istar) + rng.normal(0, 2e-6, i.size)))
    res = its.brush_branches(branches)
    assert res.number.tolist() == [1, 2, 3, 4]
    assert res.R1 == pytest.approx(r1, abs=4 * res.R1_err)
    assert res.I_star_mean == pytest.approx(istar, abs=4 * res.I_star_mean_err)
    assert res.I_star_mean_err < 0.1e-6


def test_no_noise_seed_makes_a_spurious_heating_peak():
    """0.1 % noise in R(T): every one of twenty noise draws gives the one true peak, within 1.5 %."""
    clean = ht.heating_spectrum(CURVE, T_B, H_A, T=np.linspace(T_B, 300.0, 3000)).peak_voltages()
    assert clean.size == 1
    counts, worst = [], 0.0
    for seed in range(20):
        T, R = noisy_rt(seed=seed)
        res = its.its_heating_spectrum(T, R, T_B, H_A)
        counts.append(res.peak_V.size)
        if res.peak_V.size == clean.size:
            worst = max(worst, float(np.max(np.abs(res.peak_V / clean - 1))))
    assert counts == [clean.size] * 20
    assert worst < 0.015
