"""Self-heating models ([MESA], [ITS]): Newton cooling, heating spectra, critical load, hot spots, beta,
series-contact correction and the self-consistent stack I(V)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, special

from analysis.models import heating as h
from analysis.models.registry import get_model

K_PER_MW = 1e3  # K/mW -> K/W


# -- Newton cooling ----------------------------------------------------------------------------------
def test_alpha_and_ha_are_reciprocal_with_paper_values():
    assert h.h_a_from_alpha(110 * K_PER_MW) == pytest.approx(9.09e-6, rel=1e-3)
    assert h.h_a_from_alpha(38 * K_PER_MW) == pytest.approx(26.3e-6, rel=1e-3)
    # both inside [ITS]'s range of heat conductances, 8.4-33 uW/K
    for a in (38, 110):
        assert 8.4e-6 <= h.h_a_from_alpha(a * K_PER_MW) <= 33e-6
    assert h.alpha_from_h_a(h.h_a_from_alpha(1.1e5)) == pytest.approx(1.1e5, rel=1e-15)
    with pytest.raises(ValueError):
        h.alpha_from_h_a(0.0)


def test_newton_temperature_both_parametrisations():
    p = np.array([0.0, 1e-4, 1.05e-3])
    t1 = h.newton_temperature(p, 4.2, alpha=1.1e5)
    t2 = h.newton_temperature(p, 4.2, h_a=1 / 1.1e5)
    assert np.allclose(t1, [4.2, 15.2, 4.2 + 115.5])
    assert np.allclose(t1, t2, rtol=1e-14)
    with pytest.raises(ValueError, match="exactly one"):
        h.newton_temperature(p, 4.2)
    with pytest.raises(ValueError, match="exactly one"):
        h.newton_temperature(p, 4.2, alpha=1.0, h_a=1.0)


def test_heat_load_to_reach_target_is_linear_in_bath_temperature():
    # [ITS] Fig. 1C: P = hA (T_T - T_B), slope -hA, zero at T_B = T_T
    t_b = np.linspace(4.3, 100.0, 30)
    p = h.heat_load_to_reach(100.0, t_b, 16e-6)
    slope, intercept = np.polyfit(t_b, p, 1)
    assert slope == pytest.approx(-16e-6, rel=1e-12)
    assert -intercept / slope == pytest.approx(100.0, rel=1e-12)


def test_alpha_lower_bounds_from_normal_state_onset():
    # [MESA]: onset at ~1.05 mW gives (74 - 4)/1.05 = 67 K/mW ("about 70"), 76 K/mW with T_N = 84 K
    assert h.alpha_lower_bound(74.0, 4.0, 1.05e-3) / K_PER_MW == pytest.approx(66.7, abs=0.1)
    assert h.alpha_lower_bound(84.0, 4.0, 1.05e-3) / K_PER_MW == pytest.approx(76.2, abs=0.1)


# -- heating spectra ----------------------------------------------------------------------------------
def _parabolic_r(r_min=100.0, t_star=200.0, c=1.0) -> h.ResistanceCurve:
    """A c-axis-like R(T) with a minimum at T* (semiconducting below, metallic above)."""
    return h.ResistanceCurve.from_callable(
        lambda T: r_min * (1 + c * (T / t_star - 1) ** 2), lambda T: 2 * c * r_min * (T / t_star - 1) / t_star
    )


def test_constant_resistance_gives_ohmic_conductance_exactly():
    for curve in (
        h.ResistanceCurve.from_callable(lambda T: np.full(np.shape(T), 47.0)),
        h.ResistanceCurve.from_samples([1.0, 50.0, 300.0, 400.0], [47.0] * 4),
    ):
        s = h.heating_spectrum(curve, 4.2, 10e-6, t_max=300.0, n=500)
        assert np.all(s.G == 1 / 47.0)
        assert np.allclose(s.I, s.V / 47.0, rtol=1e-15)
        assert not s.backbends


def test_heating_spectrum_closed_form_matches_numerical_derivative():
    curve = _parabolic_r()
    s = h.heating_spectrum(curve, 4.2, 16e-6, t_max=350.0, n=20001)
    assert np.all(np.diff(s.V) > 0)
    g_num = np.gradient(s.I, s.V)
    inner = slice(50, -50)
    assert np.max(np.abs(g_num[inner] - s.G[inner])) < 2e-5 * np.max(np.abs(s.G))
    # Newton cooling and ohmic response along the curve
    assert np.allclose(s.T, 4.2 + s.I * s.V / 16e-6, rtol=1e-12)
    assert np.allclose(s.V[1:] / s.I[1:], curve(s.T[1:]), rtol=1e-12)


def test_pseudogap_hump_only_below_t_star():
    curve = _parabolic_r(t_star=200.0)
    below = h.heating_spectrum(curve, 100.0, 16e-6, t_max=400.0)
    above = h.heating_spectrum(curve, 200.0, 16e-6, t_max=500.0)
    # T_B < T*: a gap-like conductance maximum at finite bias, above the zero-bias value
    assert below.peak_voltages().size == 1 and below.G.max() > 1.2 * below.G[0]
    # T_B >= T*: the 'pseudogap' disappears, G falls monotonically from zero bias (inverted parabola)
    assert above.peak_voltages().size == 0 and np.all(np.diff(above.G) <= 1e-15)


def test_backbending_detection_and_upward_sweep():
    # activated R(T): the I(V) bends back and never recovers; the sweep ends at the turning point
    act = h.ResistanceCurve.from_callable(
        lambda T: 10.0 * np.exp(60.0 / T), lambda T: -600.0 * np.exp(60.0 / T) / T**2
    )
    s = h.heating_spectrum(act, 4.2, 10e-6, t_max=200.0, n=4000)
    assert s.backbends and np.any(np.diff(s.V) < 0)
    down = np.flatnonzero(np.diff(s.V) < 0)
    assert np.all(np.minimum(s.stability[down], s.stability[down + 1]) < 0)
    v, _, _ = s.swept()
    assert np.all(np.diff(v) > 0) and v[-1] == s.V.max()

    # a resistive transition at 30 K: S-shaped I(V) whose upper (hot) branch is reached by a jump
    def r(T):
        return 10.0 + 1000.0 * special.expit(-(T - 30.0) / 2.0)

    step = h.ResistanceCurve.from_callable(r)
    s = h.heating_spectrum(step, 4.2, 10e-6, t_max=3000.0, n=30000)
    assert s.backbends
    v, i, _ = s.swept()
    assert np.all(np.diff(v) > 0)
    k = int(np.argmax(np.diff(i)))  # the jump in current at fixed voltage
    t_before = s.T[np.flatnonzero(s.V == v[k])[0]]
    t_after = s.T[np.flatnonzero(s.V == v[k + 1])[0]]
    assert t_before < 35.0 < 1000.0 < t_after
    assert i[k + 1] / i[k] > 5


def test_three_point_contact_term_and_extra_sharp_peak():
    t = np.array([0.0, 30.0, 59.999, 60.0, 100.0])
    d, dd = h.contact_term(t, 30.0, 60.0)
    assert np.allclose(d, [30.0, 15.0, 30.0 * (1 - 59.999 / 60), 0.0, 0.0])
    assert np.allclose(dd, [-0.5, -0.5, -0.5, 0.0, 0.0])
    mother = _parabolic_r()
    base = h.heating_spectrum(mother, 4.2, 16e-6, t_max=400.0, n=4000)
    assert base.peak_voltages().size == 1  # the 'pseudogap' hump V_pg only
    v_pg = base.peak_voltages()[0]
    heights = []
    for d_rc0 in (6.0, 12.0, 18.0, 24.0, 30.0):
        s = h.heating_spectrum(mother.with_contact_term(d_rc0, 60.0), 4.2, 16e-6, t_max=400.0, n=4000)
        peaks = s.peak_voltages()
        assert peaks.size == 2  # [ITS] Fig. 3: a sharp 'superconducting' V_s on top of the hump V_pg
        v_tc = float(np.interp(60.0, s.T, s.V))
        assert peaks[0] == pytest.approx(v_tc, rel=2e-3)  # V_s sits at the kink, where T reaches Tc
        assert peaks[1] == pytest.approx(v_pg, rel=1e-3)  # the hump is a property of the mother R(T)
        v, _, g = s.swept()
        heights.append(g[np.argmin(np.abs(v - peaks[0]))])
    assert np.all(np.diff(heights) > 0)  # the V_s amplitude grows with dRc(0)


def test_sampled_resistance_with_kink_matches_analytic():
    mother = _parabolic_r()
    exact = mother.with_contact_term(30.0, 60.0)
    ts = np.linspace(1.0, 400.0, 800)
    ts = np.union1d(ts, [60.0])
    sampled = h.ResistanceCurve.from_samples(ts, exact(ts), kinks=[60.0])
    tq = np.array([10.0, 40.0, 59.5, 60.5, 150.0, 300.0])
    assert np.allclose(sampled(tq), exact(tq), rtol=1e-6)
    assert np.allclose(sampled.derivative(tq), exact.derivative(tq), rtol=1e-3, atol=1e-4)
    # the derivative jumps at the kink instead of being smoothed across it
    jump = sampled.derivative(np.array([60.0 + 1e-6]))[0] - sampled.derivative(np.array([60.0 - 1e-6]))[0]
    assert jump == pytest.approx(0.5, rel=1e-2)


def test_resistance_curve_rejects_bad_samples():
    with pytest.raises(ValueError, match="same length"):
        h.ResistanceCurve.from_samples([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="positive"):
        h.ResistanceCurve.from_samples([1, 2, 3], [1, -2, 3])
    with pytest.raises(ValueError, match="segment"):
        h.ResistanceCurve.from_samples([1, 2, 3, 4], [1, 2, 3, 4], kinks=[3.5])
    with pytest.raises(ValueError, match="ascending"):
        h.heating_spectrum(_parabolic_r(), 10.0, 1e-5, T=np.array([5.0, 20.0]))


# -- R versus load; critical load ---------------------------------------------------------------------
def test_resistance_vs_load_reconstructs_r_of_t_and_critical_load():
    curve = _parabolic_r()
    t_b, h_a = 4.2, 16e-6
    s = h.heating_spectrum(curve, t_b, h_a, T=t_b + np.geomspace(1e-7, 150.0, 3000))
    t_rec, r_rec = h.resistance_from_heated_iv(s.V, s.I, t_b, h_a)
    assert np.allclose(r_rec, curve(t_rec), rtol=1e-10)
    area = 100e-12
    p, r = h.resistance_vs_load(s.V, s.I, area=area)
    assert np.all(np.diff(p) >= 0)
    assert np.allclose(r, curve(t_b + p * area / h_a), rtol=1e-9)
    cl = h.critical_load(p, r, eps=0.02)
    assert cl.r0 == pytest.approx(float(curve(np.array([t_b]))[0]), rel=1e-6)
    # expected: R(T_B + P area/hA) = 0.98 R(T_B)
    t_eps = optimize.brentq(lambda t: curve(np.array([t]))[0] / cl.r0 - 0.98, t_b, 150.0)
    assert cl.p_c == pytest.approx(h_a * (t_eps - t_b) / area, rel=1e-2)  # grid steps are 0.7 %


def test_critical_load_nan_when_ohmic_and_input_checks():
    v = np.linspace(1e-4, 1e-1, 200)
    p, r = h.resistance_vs_load(v, v / 33.0)
    cl = h.critical_load(p, r)
    assert math.isnan(cl.p_c) and cl.r0 == pytest.approx(33.0)
    with pytest.raises(ValueError, match="positive"):
        h.critical_load([0.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        h.resistance_vs_load([1.0], [1.0, 2.0])


# -- hot spots ----------------------------------------------------------------------------------------
def test_hot_spot_numbers_of_the_pristine_mesa():
    # [MESA]: alpha = 38 K/mW, R_N = 30 Ohm, T_B = 4.2 K, T_N = 84 K, f = 0.26 <-> V_f = 0.352 V
    kw = dict(t_n=84.0, t_bath=4.2, alpha=38 * K_PER_MW, r_n=30.0)
    v_f = h.hot_spot_voltage(0.26, **kw)
    assert v_f == pytest.approx(0.352, abs=1e-3)
    assert v_f / 28 == pytest.approx(12.6e-3, abs=0.05e-3)  # per junction for N = 28
    assert h.hot_spot_fraction_thermal(0.352, **kw) == pytest.approx(0.26, abs=0.003)
    assert h.hot_spot_fraction_thermal(v_f, **kw) == pytest.approx(0.26, rel=1e-12)
    assert h.hot_spot_radius(0.26, 10e-6 * 10e-6) == pytest.approx(2.88e-6, abs=0.01e-6)  # "2.9 um"


def test_hot_spot_fraction_from_currents():
    v_f, r_n, i_qp, f = 0.35, 30.0, 2e-3, 0.26
    i_f = f * v_f / r_n + (1 - f) * i_qp
    assert h.hot_spot_fraction(i_f, v_f, r_n, i_qp) == pytest.approx(f, rel=1e-12)
    with pytest.raises(ValueError):
        h.hot_spot_fraction(1e-3, 0.3, 30.0, 0.01)
    with pytest.raises(ValueError):
        h.hot_spot_voltage(0.0, 84.0, 4.2, 3.8e4, 30.0)


# -- beta ---------------------------------------------------------------------------------------------
def test_beta_of_a_lorentzian_with_both_baselines():
    v = np.linspace(0.0, 0.1, 20001)
    y_n, amp, v0, w = 0.04, 0.2, 0.045, 0.002
    g = y_n + amp / (1 + ((v - v0) / w) ** 2)
    b_n = h.figure_of_merit_beta(v, g, y_n=y_n)
    assert b_n.v_peak == pytest.approx(v0, abs=1e-5)
    assert b_n.fwhm == pytest.approx(2 * w, rel=1e-4)
    assert b_n.beta == pytest.approx(2 * w / v0, rel=1e-3)
    b0 = h.figure_of_merit_beta(v, g)  # literal FWHM: half of G_peak above zero
    half = (y_n + amp) / 2
    hw = w * math.sqrt(amp / (half - y_n) - 1)
    assert b0.fwhm == pytest.approx(2 * hw, rel=1e-4)
    assert b0.baseline == 0.0 and b_n.baseline == y_n


def test_beta_is_nan_when_a_crossing_is_missing():
    v = np.linspace(0.0, 0.1, 1001)
    g = 1.0 + 0.5 * np.exp(-(((v - 0.05) / 0.005) ** 2))  # never falls to half of its maximum
    assert math.isnan(h.figure_of_merit_beta(v, g).beta)
    assert math.isfinite(h.figure_of_merit_beta(v, g, y_n=1.0).beta)
    with pytest.raises(ValueError):
        h.figure_of_merit_beta(v, g, v_range=(1.0, 2.0))


# -- series SIN correction and current-bias conductance -----------------------------------------------
def test_series_sin_subtraction_makes_the_josephson_branch_vertical():
    # SIN contact: monotone nonlinear I(V); stack: supercurrent branch (V = 0 for |I| < Ic), then ohmic
    r_s, v0 = 20.0, 5e-3

    def sin_i(v):
        return v / r_s * (1 + (v / v0) ** 2)

    v_sin = np.linspace(-20e-3, 20e-3, 801)
    i_sin = sin_i(v_sin)
    ic, r_stack = 0.5e-3, 200.0
    i = np.linspace(-3e-3, 3e-3, 601)
    v_stack = np.where(np.abs(i) < ic, 0.0, np.sign(i) * (np.abs(i) - ic) * r_stack)
    v_series = np.array([optimize.brentq(lambda x, c=c: sin_i(x) - c, -1, 1) for c in i])
    v_meas = v_stack + v_series
    out = h.subtract_series_junction(i, v_meas, i_sin, v_sin)
    branch = np.abs(i) < ic
    assert np.max(np.abs(out[branch])) < 2e-7
    inside = np.abs(i) <= i_sin.max()
    assert np.allclose(out[inside], v_stack[inside], atol=2e-7)
    # beyond the SIN data the correction continues with the end conductance
    assert np.all(np.isfinite(out))
    with pytest.raises(ValueError, match="increase"):
        h.subtract_series_junction(i, v_meas, -i_sin, v_sin)


def test_current_bias_conductance():
    i = np.linspace(-1e-3, 1e-3, 201)
    grid, v, g = h.current_bias_conductance(i, i * 50.0)
    assert np.allclose(g, 1 / 50.0, rtol=1e-12)
    v_j = np.where(np.abs(i) < 0.2e-3, 0.0, i * 50.0)
    _, _, g2 = h.current_bias_conductance(i, v_j)
    assert np.isinf(g2[np.argmin(np.abs(grid))])


# -- self-consistent stack I(V) -------------------------------------------------------------------------
MESA = dict(alpha=110 * K_PER_MW, t_bath=4.2, r_n=460.0 / 19)  # [MESA]: 110 K/mW, 24.2 Ohm per junction


@pytest.fixture(scope="module")
def family():
    pytest.importorskip("analysis.models.dwave")
    # coarse grids keep this fast; finer grids change the numbers below by < 1 %
    p = h.StackParameters(delta0=24e-3, tc=74.0, gamma0=0.55e-3, v_max=0.12, dv=1.5e-3, n_t=20, de=0.5e-3)
    return h.equilibrium_family(p)


@pytest.fixture(scope="module")
def stacks(family):
    return {n: h.stack_iv(n, family=family, params=family.p, **MESA) for n in (4, 6, 8, 12, 19, 30)}


def test_stack_is_self_consistent(stacks, family):
    for s in stacks.values():
        assert np.allclose(s.T_m, s.t_bath + s.alpha * s.I * s.V, rtol=1e-9, atol=1e-9)
        for k in range(0, s.T_m.size, 37):
            i_eq = family.current(np.array([s.v[k]]), s.T_m[k])[0] / s.r_n
            assert s.I[k] == pytest.approx(i_eq, rel=1e-9, abs=1e-15)
        assert np.all(np.diff(s.P) > 0)  # P rises along the whole S-curve


def test_stack_above_tc_is_ohmic(family):
    s = h.stack_iv(10, 1.1e5, 80.0, 24.2, params=family.p, family=family, t_max=120.0)
    assert np.allclose(s.I[1:], s.V[1:] / (10 * 24.2), rtol=1e-12)
    assert np.allclose(s.V, np.sqrt(10 * 24.2 * (s.T_m - 80.0) / 1.1e5), rtol=1e-12)
    assert not s.backbends


def test_mesa_n4_temperature_at_gap_voltage(stacks):
    # [MESA] Sec. IV: for N = 4, T_m is only 38 K at the gap voltage 2 Delta(T_B)/e = 48 mV (per junction)
    s = stacks[4]
    assert not s.backbends
    assert s.temperature_at(48e-3) == pytest.approx(38.0, abs=6.0)
    assert s.temperature_at(48e-3) < 74.0


def test_mesa_n8_reaches_tc_near_44_mv(stacks):
    # [MESA] Sec. IV: for N = 8, T_m reaches Tc = 74 K at V = 44 mV per junction, below 2 Delta/e
    s = stacks[8]
    assert not s.backbends
    assert s.voltage_at_temperature(74.0) == pytest.approx(44e-3, abs=2.5e-3)


def test_mesa_backbending_only_for_tall_stacks(stacks):
    # [MESA]: backbending for N >= 12 (data sets of Fig. 5b), none for the short stacks of Fig. 6's inset
    assert [stacks[n].backbends for n in (4, 6, 8)] == [False, False, False]
    for n in (12, 19, 30):
        s = stacks[n]
        assert s.backbends
        hi, lo = s.extrema[0], s.extrema[-1]
        assert hi >= lo
        assert 15e-3 < lo < 2 * 24e-3  # the instability lies well below 2 Delta/e
    # the instability moves to lower voltage per junction as N grows (Fig. 6)
    assert stacks[30].extrema[0] < stacks[19].extrema[0] < stacks[12].extrema[0]


def test_mesa_beta_falls_abruptly_with_n(stacks):
    # [MESA] Fig. 6 inset: calculated beta drops abruptly between N = 4 and N = 8
    betas = {}
    for n in (4, 6, 8):
        v, g = stacks[n].junction_conductance()
        betas[n] = h.figure_of_merit_beta(v, g).beta
    assert betas[4] >= 0.32  # near equilibrium: the upturn measures Delta at some T_m < Tc
    assert betas[8] <= 0.15  # strong self-heating
    assert betas[4] > betas[6] > betas[8]
    assert betas[4] / betas[8] > 5


def test_family_reports_progress_and_honours_cancel():
    pytest.importorskip("analysis.models.dwave")
    import threading

    from analysis.hooks import Cancelled

    p = h.StackParameters(v_max=0.06, dv=3e-3, n_t=4, de=1e-3, tc=70.0)
    seen = []
    fam = h.EquilibriumFamily(p, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert np.allclose(fam.table[-1], fam.v)  # the Tc row is ohmic
    assert np.all(np.diff(fam.table, axis=1) >= 0)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        h.EquilibriumFamily(p, cancel=stop)
    with pytest.raises(Cancelled):
        h.stack_iv(4, 1.1e5, 4.2, 24.2, params=p, family=fam, cancel=stop)


def test_stack_input_checks():
    with pytest.raises(ValueError):
        h.stack_iv(0, 1e5, 4.2, 24.0)
    with pytest.raises(ValueError):
        h.stack_iv(4, -1.0, 4.2, 24.0)


# -- registered models ----------------------------------------------------------------------------------
def test_heating_spectrum_model_matches_function_and_fits_ha():
    m = get_model("heating_spectrum")
    assert m.family == "Self-heating"
    x = np.linspace(-0.4, 0.4, 161)
    vals = dict(h_a=16e-6, T_B=4.2, R_min=80.0, T_star=150.0)
    y = m.evaluate(x, **vals)
    assert np.all(np.isfinite(y))
    assert np.allclose(y, y[::-1], rtol=1e-12)  # symmetric
    spec = h.heating_spectrum(h.semiconducting_resistance(80.0, 150.0), 4.2, 16e-6, t_max=400.0, n=200001)
    ref = np.interp(np.abs(x), spec.V, spec.G)
    assert np.allclose(y, ref, rtol=2e-3)
    rng = np.random.default_rng(5)
    noisy = y * (1 + 0.005 * rng.standard_normal(x.size))
    g = m.guess(x, noisy)
    lo, hi = m.bounds()
    assert all(lo[k] <= g[n] <= hi[k] for k, n in enumerate(m.param_names))
    res = m.lmfit_model().fit(noisy, m.make_params(**{**g, "T_star": 150.0}), x=x)
    assert res.params["h_a"].value == pytest.approx(16e-6, rel=0.03)
    assert res.params["R_min"].value == pytest.approx(80.0, rel=0.03)


def test_heating_spectrum_model_with_measured_r():
    curve = _parabolic_r()
    m = h.HeatingSpectrumModel(resistance=curve)
    assert m.param_names == ["h_a", "T_B"]
    x = np.linspace(0.0, 0.3, 31)
    y = m(x, h_a=16e-6)
    spec = h.heating_spectrum(curve, 4.2, 16e-6, t_max=200.0, n=100001)
    assert np.allclose(y, np.interp(x, spec.V, spec.G), rtol=2e-3)
    # a fit of hA alone with the measured R(T)
    rng = np.random.default_rng(11)
    noisy = y * (1 + 0.003 * rng.standard_normal(x.size))
    g = m.guess(x, noisy)
    res = m.lmfit_model().fit(noisy, m.make_params(**g), x=x)
    assert res.params["h_a"].value == pytest.approx(16e-6, rel=0.01)
    # a sampled R(T) limits the reachable bias: beyond its top temperature the spectrum is undefined
    ts = np.linspace(2.0, 60.0, 59)
    short = h.HeatingSpectrumModel(resistance=h.ResistanceCurve.from_samples(ts, curve(ts)))
    y_short = short(np.array([0.01, 5.0]), h_a=16e-6)
    assert np.isfinite(y_short[0]) and np.isnan(y_short[1])


def test_stack_model_matches_stack_iv_and_is_odd():
    pytest.importorskip("analysis.models.dwave")
    m = get_model("mesa_stack_heating")
    x = np.linspace(-0.3, 0.3, 61)
    y = m(x, N=4.0)
    assert np.allclose(y, -y[::-1], atol=1e-15)
    assert np.all(np.isfinite(y))
    assert np.all(np.diff(y) > 0)  # N = 4 does not backbend: I rises with V
    # far above the heating transition the stack is ohmic with N R_N
    big = m(np.array([0.6]), N=4.0)[0]
    assert big == pytest.approx(0.6 / (4 * 24.2), rel=0.02)
    g = m.guess(x, y, N=4.0)
    assert g["N"] == 4.0 and g["R_N"] > 0
