"""Microwave response ([HAM]): Bessel sums, Riedel function, Werthamer Eq. 6, Tien-Gordon, Eq. 9-11."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from analysis.models import microwave as mw
from analysis.models.registry import get_model

SN_GAP = 1.175e-3 / 2  # eV: [HAM] 2 Delta/e = 1.175 mV
SN_R = 5.4  # Ohm


# -- constants and conversions -----------------------------------------------------------------------
def test_step_spacings_per_ghz():
    assert mw.H_OVER_E * 1e9 == pytest.approx(4.1357e-6, rel=1e-4)
    assert mw.H_OVER_2E * 1e9 == pytest.approx(2.0678e-6, rel=1e-4)


def test_photon_ratio_roundtrip_and_attenuator():
    f = 25.7e9
    v = np.array([0.0, 1e-4, 2.35e-3])
    assert np.allclose(mw.rf_voltage(mw.photon_ratio(v, f), f), v, rtol=1e-14)
    assert mw.photon_ratio(mw.H_OVER_E * f, f) == pytest.approx(1.0)
    assert mw.rf_voltage_from_attenuation([0.0, 20.0, 40.0], 2e-3) == pytest.approx([2e-3, 2e-4, 2e-5])
    with pytest.raises(ValueError, match="frequency"):
        mw.photon_ratio(1e-3, 0.0)


def test_gap_step_index_for_tin_at_25_7_ghz():
    # [HAM]: at 25.7 GHz the 22nd Josephson step falls near the gap (2 Delta/e = 1.175 mV).
    m = mw.gap_step_index(SN_GAP, 25.7e9)
    assert m == pytest.approx(22.11, abs=0.01)
    assert round(m) == 22


# -- Bessel identities (Tien-Gordon sums) -------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.7, 8.0, 22.5, 45.0])
def test_bessel_moment_identities(alpha):
    s0, s1, s2 = mw.bessel_moments(alpha)
    assert s0 == pytest.approx(1.0, abs=1e-13)
    assert s1 == pytest.approx(0.0, abs=1e-12)
    assert s2 == pytest.approx(alpha**2 / 2, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("order", [0, 1, 2, 5, 8])
def test_werthamer_constant_ij_is_bessel_law(order):
    # Eq. 6 with constant I_J reduces to Eq. 4 by the Eq. 7 identity.
    alpha = np.linspace(0.0, 25.0, 301)
    i_j0 = 137e-6
    eq6 = mw.werthamer_step_amplitude(order, alpha, 25.7e9, lambda fj: np.full(np.shape(fj), i_j0))
    eq4 = mw.bessel_step_amplitude(order, alpha, i_j0)
    assert np.max(np.abs(eq6 - eq4)) / i_j0 < 1e-12
    signed = mw.werthamer_step_amplitude(order, alpha, 25.7e9, i_j0, signed=True)
    assert np.max(np.abs(signed - i_j0 * special.jv(order, 2 * alpha))) / i_j0 < 1e-12


def test_werthamer_scalar_alpha_gives_scalar():
    out = mw.werthamer_step_amplitude(1, 3.0, 20e9, 1.0)
    assert np.shape(out) == ()
    assert float(out) == pytest.approx(abs(special.jv(1, 6.0)), abs=1e-13)


# -- Tien-Gordon --------------------------------------------------------------------------------------
def test_tien_gordon_preserves_ohmic_curve_callable_and_sampled():
    f, r = 25.7e9, 5.4
    v = np.linspace(-3e-3, 3e-3, 121)
    for v_rf in (0.0, 3e-4, 2.3e-3):
        out = mw.tien_gordon_current(v, lambda x: x / r, v_rf, f)
        assert np.max(np.abs(out - v / r)) < 1e-15
        vs = np.linspace(-1e-3, 1e-3, 11)  # much narrower than the photon shifts: continued linearly
        out_s = mw.tien_gordon_current(v, (vs, vs / r), v_rf, f)
        assert np.max(np.abs(out_s - v / r)) < 1e-15


def test_tien_gordon_quadratic_gives_classical_rms():
    f, c = 20e9, 3.0
    v = np.linspace(-2e-3, 2e-3, 41)
    for v_rf in (1e-4, 1.5e-3):
        out = mw.tien_gordon_current(v, lambda x: c * x**2, v_rf, f)
        assert np.allclose(out, c * (v**2 + v_rf**2 / 2), rtol=1e-12, atol=1e-18)


def test_tien_gordon_photon_steps_on_an_ideal_gap_step():
    # I_0 = step S at 2Delta/e (zero below): the n-th photon step at 2Delta/e - n hf/e has height S J_n^2.
    f, s, gap_v = 25.7e9, 1e-4, 2 * SN_GAP
    v_rf = 0.5 * gap_v
    alpha = float(mw.photon_ratio(v_rf, f))
    step = mw.H_OVER_E * f

    def i0(x):
        return np.where(np.abs(x) > gap_v, s * np.sign(x), 0.0)

    for n in (-2, -1, 0, 1, 3):
        v0 = gap_v - n * step
        jump = mw.tien_gordon_current(np.array([v0 + 1e-9]), i0, v_rf, f) - mw.tien_gordon_current(
            np.array([v0 - 1e-9]), i0, v_rf, f
        )
        assert jump[0] == pytest.approx(s * special.jv(n, alpha) ** 2, rel=1e-9)


def test_tien_gordon_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        mw.tien_gordon_current([0.0], (np.zeros(3), np.zeros(4)), 1e-4, 1e10)
    with pytest.raises(ValueError, match="callable"):
        mw.tien_gordon_current([0.0], 5.0, 1e-4, 1e10)
    with pytest.raises(ValueError, match=">= 0"):
        mw.tien_gordon_current([0.0], lambda x: x, -1e-4, 1e10)


# -- Riedel function ----------------------------------------------------------------------------------
def test_riedel_zero_voltage_is_ambegaokar_baratoff():
    i0 = mw.riedel_current(np.array([0.0]), SN_GAP, SN_R)[0]
    assert i0 == pytest.approx(math.pi * SN_GAP / (2 * SN_R), rel=1e-14)
    assert mw.riedel_zero_voltage(SN_GAP, SN_R) == pytest.approx(170.9e-6, rel=1e-3)  # PHYSICS 5: 170.9 uA
    # even in f_J, and the frequency form agrees with the voltage form
    assert (
        mw.riedel_current(np.array([-0.3e-3]), SN_GAP, SN_R)[0]
        == mw.riedel_current(np.array([0.3e-3]), SN_GAP, SN_R)[0]
    )
    fj = 2 * 0.3e-3 / mw.H_OVER_E
    assert mw.riedel_current_at_frequency(fj, SN_GAP, SN_R) == pytest.approx(
        mw.riedel_current(0.3e-3, SN_GAP, SN_R), rel=1e-12
    )


def _double_integral(x: float) -> float:
    """PHYSICS 5 T = 0 finite-voltage double integral, E = Delta cosh u, normalised form (eV = 2 x Delta)."""

    def f(u1, u2):
        c = np.cosh(u1) + np.cosh(u2)
        return 0.5 * (1 / (c - 2 * x) + 1 / (c + 2 * x))

    return integrate.dblquad(f, 0, 50, 0, 50, epsabs=1e-11, epsrel=1e-10)[0]


def test_riedel_modulus_convention_matches_double_integral():
    j0 = _double_integral(0.0)
    assert j0 == pytest.approx(math.pi**2 / 4, rel=1e-9)
    i0 = mw.riedel_zero_voltage(SN_GAP, SN_R)
    for x in (0.3, 0.6, 0.9):
        ratio = mw.riedel_current(2 * x * SN_GAP, SN_GAP, SN_R) / i0
        assert ratio == pytest.approx(_double_integral(x) / j0, rel=1e-8)
        # the modulus misuse ellipk(k) is measurably different
        assert abs(special.ellipk(x) / special.ellipk(0) - ratio) > 0.05


def test_riedel_above_gap_and_damping_limit():
    x = np.array([0.2, 0.8, 1.05, 1.5, 3.0])
    v = 2 * SN_GAP * x
    ideal = mw.riedel_current(v, SN_GAP, SN_R)
    expect = np.where(x < 1, special.ellipk(x**2), special.ellipk(1 / x**2) / x) * SN_GAP / SN_R
    assert np.allclose(ideal, expect, rtol=1e-14)
    weak = mw.riedel_current(v, SN_GAP, SN_R, damping=1e-7)
    assert np.allclose(weak, ideal, rtol=1e-5)
    assert math.isinf(mw.riedel_current(2 * SN_GAP, SN_GAP, SN_R))


def test_riedel_broadened_peak_height_about_three():
    # [HAM]: the measured peak reaches about 3.0 I_J(0); Delta2/Delta ~ 1e-3 or a ~1 % gap spread.
    v = 2 * SN_GAP * np.linspace(0.95, 1.05, 1001)
    i0 = mw.riedel_zero_voltage(SN_GAP, SN_R)
    damped = mw.riedel_current(v, SN_GAP, SN_R, damping=1e-3)
    spread = mw.riedel_current(v, SN_GAP, SN_R, gap_spread=0.01)
    assert 2.6 < damped.max() / i0 < 3.3
    assert 2.3 < spread.max() / i0 < 3.3
    assert np.all(np.isfinite(spread))
    # the peak sits at the gap voltage, within the broadening
    assert v[np.argmax(damped)] == pytest.approx(2 * SN_GAP, rel=2e-3)
    assert v[np.argmax(spread)] == pytest.approx(2 * SN_GAP, rel=1.2e-2)
    # more broadening, lower peak
    assert mw.riedel_current(v, SN_GAP, SN_R, damping=3e-3).max() < damped.max()


def test_riedel_rejects_bad_parameters():
    with pytest.raises(ValueError):
        mw.riedel_current([0.0], 0.0, 5.0)
    with pytest.raises(ValueError):
        mw.riedel_current([0.0], 1e-3, 5.0, gap_spread=1.5)


# -- Werthamer + Riedel: the paper's statements --------------------------------------------------------
def _max_deviation(order, f, two_alpha):
    i0 = mw.riedel_zero_voltage(SN_GAP, SN_R)
    amp = mw.werthamer_riedel_step_amplitude(order, two_alpha / 2, f, SN_GAP, SN_R, damping=1e-3)
    return float(np.max(np.abs(amp - mw.bessel_step_amplitude(order, two_alpha / 2, i0)))) / i0


def test_hamilton_sum_rule_first_deviation_at_25_7_ghz():
    # [HAM] Fig. 5: at 25.7 GHz (M = 22) the N = 0 curve first departs from |J_0(2 alpha)| at 2 alpha ~ 22.
    f = 25.7e9
    two_alpha = np.linspace(2.0, 45.0, 2151)
    i0 = mw.riedel_zero_voltage(SN_GAP, SN_R)
    amp = mw.werthamer_riedel_step_amplitude(0, two_alpha / 2, f, SN_GAP, SN_R, damping=1e-3)
    first = mw.first_bessel_deviation(0, two_alpha, amp, i0, threshold=0.05)
    m = round(mw.gap_step_index(SN_GAP, f))
    assert abs(first - (0 + m)) <= 1.5
    # well below the sum-rule value the Bessel law holds
    low = two_alpha < 15
    assert np.max(np.abs(amp[low] - mw.bessel_step_amplitude(0, two_alpha[low] / 2, i0))) < 2e-3 * i0


def test_even_steps_deviate_most_when_m_is_even():
    # [HAM]: M = 22 is even at 25.7 GHz, so the even steps show the strongest deviations.
    two_alpha = np.linspace(15.0, 45.0, 751)
    dev = {n: _max_deviation(n, 25.7e9, two_alpha) for n in (0, 1, 2, 3)}
    assert min(dev[0], dev[2]) > 2.5 * max(dev[1], dev[3])


def test_odd_step_deviation_follows_frequency():
    # [HAM] Fig. 6: for N = 1 large deviations at 22.4 and 24.4 GHz (odd M), none at 23.4 GHz (M = 24),
    # and the first large deviation moves down the 2 alpha axis as f increases.
    two_alpha = np.linspace(10.0, 45.0, 876)
    d224, d234, d244 = (_max_deviation(1, f, two_alpha) for f in (22.4e9, 23.4e9, 24.4e9))
    assert d224 > 1.5 * d234 and d244 > 1.5 * d234
    i0 = mw.riedel_zero_voltage(SN_GAP, SN_R)
    firsts = []
    for f in (22.4e9, 24.4e9):
        amp = mw.werthamer_riedel_step_amplitude(1, two_alpha / 2, f, SN_GAP, SN_R, damping=1e-3)
        firsts.append(mw.first_bessel_deviation(1, two_alpha, amp, i0, threshold=0.02))
    assert firsts[1] < firsts[0]


def test_fig8_cuts_depend_strongly_on_frequency():
    # [HAM] Fig. 8: at N = 0, 2 alpha = 25.9 and N = 1, 2 alpha = 24.4 the (signed) Eq. 6 amplitude departs
    # strongly from J_N(2 alpha) over 23-26 GHz; at 2 alpha = 15 it does not
    i0 = mw.riedel_zero_voltage(SN_GAP, SN_R)
    fs = np.linspace(23e9, 26e9, 61)

    def max_dev(order, two_alpha):
        amp = [
            float(mw.werthamer_riedel_step_amplitude(order, two_alpha / 2, f, SN_GAP, SN_R, signed=True))
            for f in fs
        ]
        return float(np.max(np.abs(np.array(amp) - i0 * special.jv(order, two_alpha)))) / i0

    assert max_dev(0, 25.9) > 0.1
    assert max_dev(1, 24.4) > 0.07
    assert max_dev(0, 15.0) < 0.01


# -- Eq. 11 inversion ------------------------------------------------------------------------------------
def test_eq11_inversion_recovers_a_known_peak_value_exactly():
    f, order, alpha = 25.7e9, 0, 25.9 / 2
    f_peak = 4 * SN_GAP / mw.H_OVER_E

    def theory(fj):
        return mw.riedel_current_at_frequency(fj, SN_GAP, SN_R, damping=1e-3)

    n1 = int(round((f_peak / f + order) / 2))
    f_res = abs(2 * n1 - order) * f
    true_peak = 2.7 * mw.riedel_zero_voltage(SN_GAP, SN_R)

    def truth(fj):
        fj = np.asarray(fj, dtype=float)
        return np.where(np.isclose(fj, f_res), true_peak, theory(fj))

    i_e = float(mw.werthamer_step_amplitude(order, alpha, f, truth, signed=True))
    res = mw.invert_riedel_peak(i_e, order, alpha, f, theory, f_peak)
    assert res.f_j == pytest.approx(f_res)
    assert res.n_prime + res.n_second == order
    assert res.i_j == pytest.approx(true_peak, rel=1e-10)


def test_eq11_inversion_recovers_broadened_riedel_from_ideal_theory():
    # measured amplitudes made with a gap spread; theory elsewhere is the damped Riedel function
    order, alpha = 2, 25.8 / 2
    f_peak = 4 * SN_GAP / mw.H_OVER_E
    for f in (23.0e9, 24.0e9, 25.0e9):

        def truth(fj):
            return mw.riedel_current_at_frequency(fj, SN_GAP, SN_R, gap_spread=0.01)

        def theory(fj):
            return mw.riedel_current_at_frequency(fj, SN_GAP, SN_R, damping=1e-3)

        i_e = float(mw.werthamer_step_amplitude(order, alpha, f, truth, signed=True))
        res = mw.invert_riedel_peak(i_e, order, alpha, f, theory, f_peak)
        assert res.i_j == pytest.approx(float(truth(res.f_j)), rel=0.02)


def test_eq11_rejects_the_zero_frequency_term():
    with pytest.raises(ValueError, match="f_J = 0"):
        mw.invert_riedel_peak(1e-4, 0, 10.0, 25.7e9, lambda fj: np.ones_like(fj), f_peak=1e9)


# -- attenuator calibration ------------------------------------------------------------------------------
def _synthetic_steps(c_true, f, rng, noise):
    att = np.linspace(10.0, 40.0, 121)
    alpha = mw.photon_ratio(mw.rf_voltage_from_attenuation(att, c_true), f)
    ij0, s = 137e-6, 80e-6
    steps = []
    for n in (0, 1, 3):
        y = ij0 * np.abs(special.jv(n, 2 * alpha)) + noise * ij0 * rng.standard_normal(att.size)
        steps.append(mw.StepData("josephson", n, att, y))
    qp_mask = alpha < 1.2 * mw.photon_ratio(2 * SN_GAP, f)  # QP steps measurable up to ~2Delta/e
    for n in (1, 3):
        y = s * special.jv(n, alpha[qp_mask]) ** 2 + noise * s * rng.standard_normal(qp_mask.sum())
        steps.append(mw.StepData("qp", n, att[qp_mask], y))
    return steps, ij0, s


def test_attenuator_calibration_joint_fit_recovers_c():
    rng = np.random.default_rng(7)
    f, c_true = 25.7e9, 8.4e-3  # 2 alpha from 1.6 to 50 over 40-10 dB, as in [HAM]
    steps, ij0, s = _synthetic_steps(c_true, f, rng, noise=0.01)
    fit = mw.fit_attenuator_calibration(steps, f)
    assert fit.c == pytest.approx(c_true, rel=3e-3)
    assert fit.c_stderr < 3e-3 * c_true
    for kind, truth in (("josephson", ij0), ("qp", s)):
        err = fit.scales_stderr[kind]
        assert 0 < err < 0.05 * truth
        assert abs(fit.scales[kind] - truth) < 4 * err
    assert fit.rms < 0.02 * ij0


def test_attenuator_calibration_with_the_werthamer_law():
    # Josephson amplitudes that follow Eq. 6 (Riedel peak) rather than the plain Bessel law
    f, c_true = 25.7e9, 8.4e-3
    i0 = mw.riedel_zero_voltage(SN_GAP, SN_R)

    def law(order, alpha):
        return mw.werthamer_riedel_step_amplitude(order, alpha, f, SN_GAP, SN_R, damping=1e-3) / i0

    att = np.linspace(10.0, 25.0, 31)
    alpha = mw.photon_ratio(mw.rf_voltage_from_attenuation(att, c_true), f)
    steps = [mw.StepData("josephson", n, att, 0.8 * i0 * law(n, alpha)) for n in (0, 2)]
    steps.append(mw.StepData("qp", 1, att[alpha < 12], 5e-5 * special.jv(1, alpha[alpha < 12]) ** 2))
    fit = mw.fit_attenuator_calibration(steps, f, c_range=(0.85 * c_true, 1.2 * c_true), josephson_law=law)
    assert fit.c == pytest.approx(c_true, rel=1e-5)
    assert fit.scales["josephson"] == pytest.approx(0.8 * i0, rel=1e-4)
    assert fit.scales["qp"] == pytest.approx(5e-5, rel=1e-4)
    with pytest.raises(ValueError, match="range"):
        mw.fit_attenuator_calibration(steps, f, c_range=(1.0, 0.5))


def test_attenuator_step_data_validation():
    with pytest.raises(ValueError, match="kind"):
        mw.StepData("cooper", 0, np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="equal"):
        mw.StepData("qp", 0, np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="no step"):
        mw.fit_attenuator_calibration([], 1e10)


# -- registered models ----------------------------------------------------------------------------------
MODEL_NAMES = [cls.name for cls in mw.MODELS]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_registered_and_finite(name):
    m = get_model(name)
    assert m.family == "Microwave"
    x = np.linspace(0.0, 30.0, 31) if m.x_unit == "dB" else np.linspace(0.0, 3e-3, 31)
    y = m(x)
    assert y.shape == x.shape and np.all(np.isfinite(y)) and np.all(y >= 0)
    g = m.guess(x, y + 1e-12)
    lo, hi = m.bounds()
    vals = np.array([g[n] for n in m.param_names])
    assert np.all(vals >= lo) and np.all(vals <= hi)


def test_bessel_model_fit_recovers_current():
    m = get_model("shapiro_bessel")
    rng = np.random.default_rng(1)
    x = np.linspace(0, 3e-3, 200)
    y = m(x, I_J0=1.37e-4, N=2) + 1e-6 * rng.standard_normal(x.size)
    lm = m.lmfit_model()
    params = m.make_params(**m.guess(x, y, N=2))
    res = lm.fit(y, params, x=x)
    assert res.params["I_J0"].value == pytest.approx(1.37e-4, rel=0.01)


def test_attenuation_model_guess_and_fit_recover_c():
    m = get_model("shapiro_bessel_attenuation")
    rng = np.random.default_rng(3)
    x = np.linspace(10, 40, 150)
    truth = {"I_J0": 1.2e-4, "C": 8.4e-3, "f": 25.7e9, "N": 1.0}
    y = m.evaluate(x, **truth) + 1e-6 * rng.standard_normal(x.size)
    g = m.guess(x, y, N=1.0)
    assert g["N"] == 1.0
    assert g["C"] == pytest.approx(truth["C"], rel=0.05)
    res = m.lmfit_model().fit(y, m.make_params(**g), x=x)
    assert res.params["C"].value == pytest.approx(truth["C"], rel=2e-3)
    assert res.params["I_J0"].value == pytest.approx(truth["I_J0"], rel=0.02)


def test_werthamer_model_matches_function_and_photon_model():
    m = get_model("shapiro_werthamer")
    x = np.linspace(0, 4 * SN_GAP * 2, 60)  # V_rf up to 4 Delta/e
    i_j0 = mw.riedel_zero_voltage(SN_GAP, SN_R)
    y = m.evaluate(x, I_J0=i_j0, delta=SN_GAP, damping=1e-3, f=25.7e9, N=0.0)
    ref = mw.werthamer_riedel_step_amplitude(0, mw.photon_ratio(x, 25.7e9), 25.7e9, SN_GAP, SN_R)
    assert np.allclose(y, ref, rtol=1e-12)
    p = get_model("photon_assisted_step")
    a = mw.photon_ratio(x, 25.7e9)
    assert np.allclose(p.evaluate(x, S=2e-5, f=25.7e9, N=3.0), 2e-5 * special.jv(3, a) ** 2, rtol=1e-14)
    pa = get_model("photon_assisted_step_attenuation")
    att = np.array([0.0, 6.0, 20.0])
    expect = 2e-5 * special.jv(1, mw.photon_ratio(1e-2 * 10 ** (-att / 20), 25.7e9)) ** 2
    assert np.allclose(pa.evaluate(att, S=2e-5, C=1e-2, f=25.7e9, N=1.0), expect, rtol=1e-14)
