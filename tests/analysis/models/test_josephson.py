"""Ambegaokar-Baratoff, Josephson energy, observability and Ivanchenko-Zil'berman (PHYSICS sections 5, 6)."""

from __future__ import annotations

import math
import threading

import mpmath
import numpy as np
import pytest
from scipy import special

from analysis.constants import E_CHARGE, HBAR, K_B, K_B_EV
from analysis.models import get_model
from analysis.models.josephson import (
    KO_ICRN_FACTORS,
    ab_icrn,
    bessel_ratio,
    fit_phase_diffusion,
    fit_phase_diffusion_series,
    icrn_from_zero_bias,
    iz_conductance,
    iz_current,
    iz_levels,
    iz_lorentzian_conductance,
    iz_lorentzian_current,
    iz_vp,
    iz_x,
    iz_zero_bias_conductance,
    josephson_energy,
    josephson_temperature,
    observability,
    rsj_current,
)


def kelvin(kt_ev: float) -> float:
    return kt_ev / K_B_EV


def ic_for_x(x: float, teff: float) -> float:
    """Critical current (A) giving coupling x at T_eff."""
    return x * 2.0 * E_CHARGE * K_B * teff / HBAR


# ---------------------------------------------------------------------------------------------------
# Ambegaokar-Baratoff
# ---------------------------------------------------------------------------------------------------


class TestAmbegaokarBaratoff:
    def test_zero_temperature_limit_is_pi_over_two(self):
        T = kelvin(1e-4)  # kT = 1e-4 Delta
        for method in ("tanh", "matsubara", "auto"):
            assert ab_icrn(1.0, 1.0, T, method=method) == pytest.approx(math.pi / 2, rel=1e-9)
        assert ab_icrn(1.0, 1.0, 0.0) == pytest.approx(math.pi / 2, rel=1e-15)
        assert ab_icrn(1.0, 1.0, 0.0, method="elliptic") == pytest.approx(math.pi / 2, rel=1e-12)

    def test_kt_0p2_closed_form_and_matsubara(self):
        T = kelvin(0.2)
        closed = ab_icrn(1.0, 1.0, T, method="tanh")
        assert closed == pytest.approx(1.549770, abs=5e-7)
        assert closed == pytest.approx(math.pi / 2 * math.tanh(2.5), rel=1e-15)
        # the Matsubara sum with its tail correction equals the closed form
        assert ab_icrn(1.0, 1.0, T, method="matsubara") == pytest.approx(closed, rel=1e-9)

    @pytest.mark.parametrize("kt", [0.05, 0.3, 1.0, 3.0])
    def test_matsubara_equals_tanh_for_equal_gaps(self, kt):
        T = kelvin(kt)
        assert ab_icrn(1.0, 1.0, T, method="matsubara") == pytest.approx(ab_icrn(1.0, 1.0, T), rel=1e-8)

    def test_unequal_gaps_matsubara_tends_to_elliptic(self):
        d1, d2 = 2.5e-3, 7.1e-3
        t0 = ab_icrn(d1, d2, 0.0)
        for T in (0.5, 0.2, 0.05):
            assert ab_icrn(d1, d2, T, method="matsubara") == pytest.approx(t0, rel=1e-8)
        # temperature reduces the product: a warm junction is measurably below the T = 0 value
        assert ab_icrn(d1, d2, 15.0) < 0.95 * t0
        assert ab_icrn(d1, d2, 4.0) == pytest.approx(ab_icrn(d2, d1, 4.0), rel=1e-14)

    def test_mgb2_numbers(self):
        # PHYSICS 3/5: pi-pi 3.93 mV at 2.1 K, pi-sigma 6.19 mV ([JSTM]: "IcRn of about 4 meV")
        pipi = ab_icrn(2.5e-3, 2.5e-3, 2.1)
        assert pipi == pytest.approx(3.93e-3, abs=5e-6)
        assert 3.8e-3 < pipi < 4.1e-3
        assert ab_icrn(2.5e-3, 7.1e-3, 0.0) == pytest.approx(6.19e-3, abs=5e-6)
        assert ab_icrn(2.5e-3, 7.1e-3, 2.1) == pytest.approx(6.19e-3, abs=5e-6)

    def test_arrays_broadcast(self):
        T = np.array([0.0, 2.1, 20.0])
        out = ab_icrn(2.5e-3, None, T)
        assert out.shape == (3,)
        assert out[0] > out[1] > out[2] > 0
        assert out[1] == pytest.approx(ab_icrn(2.5e-3, 2.5e-3, 2.1), rel=1e-15)

    def test_zero_gap_and_bad_input(self):
        assert ab_icrn(0.0, 2e-3, 1.0) == 0.0
        with pytest.raises(ValueError):
            ab_icrn(1e-3, 1e-3, -1.0)
        with pytest.raises(ValueError):
            ab_icrn(1e-3, 2e-3, 1.0, method="tanh")
        with pytest.raises(ValueError):
            ab_icrn(1e-3, 2e-3, 1.0, method="nonsense")

    def test_point_contact_factors_documented(self):
        assert KO_ICRN_FACTORS["dirty (KO-1)"] * math.pi / 2 == pytest.approx(2.07, abs=0.01)
        assert KO_ICRN_FACTORS["clean (KO-2)"] * math.pi / 2 == pytest.approx(math.pi)


class TestJosephsonEnergyAndObservability:
    def test_josephson_energy_per_nanoamp(self):
        assert josephson_energy(1e-9) == pytest.approx(2.0541e-6, rel=1e-4)
        assert josephson_temperature(1e-9) == pytest.approx(23.84e-3, rel=1e-3)
        assert np.allclose(josephson_energy(np.array([1e-9, 2e-9])), [2.0541e-6, 4.1082e-6], rtol=1e-4)

    def test_criterion_seed_form_vs_exact(self):
        ob = observability(2.5e-3, 2.0)
        assert ob.r_max_jstm == pytest.approx(59.6e3, rel=2e-3)
        assert ob.r_max_exact == pytest.approx(46.8e3, rel=2e-3)
        # the exact bound is the pi/4 tanh form
        kt = K_B_EV * 2.0
        expect = math.pi / 4 * (2.5e-3 / kt) * math.tanh(2.5e-3 / (2 * kt)) * HBAR / E_CHARGE**2
        assert ob.r_max_exact == pytest.approx(expect, rel=1e-12)

    def test_criterion_with_resistance(self):
        ob = observability(2.5e-3, 2.0, R_N=50e3)
        assert ob.observable_jstm is True
        assert ob.observable_exact is False
        assert ob.ratio_ej_kt == pytest.approx(46.8e3 / 50e3, rel=3e-3)
        ob = observability(2.5e-3, 2.0, R_N=20e3)
        assert ob.observable_jstm and ob.observable_exact
        with pytest.raises(ValueError):
            observability(2.5e-3, 0.0)


# ---------------------------------------------------------------------------------------------------
# Ivanchenko-Zil'berman
# ---------------------------------------------------------------------------------------------------


def mp_iz(V: float, Ic: float, R: float, teff: float) -> float:
    x = mpmath.mpf(iz_x(Ic, teff))
    eta = mpmath.mpf(V / iz_vp(R, teff))
    with mpmath.workdps(40):
        r = mpmath.besseli(1 - 1j * eta, x) / mpmath.besseli(-1j * eta, x)
    return float(Ic * mpmath.im(r))


class TestIZ:
    R, TEFF = 100.0, 66.0

    @pytest.mark.parametrize("x", [0.1, 1.0, 9.53, 80.0, 500.0])
    def test_matches_mpmath(self, x):
        ic = ic_for_x(x, self.TEFF)
        vp = iz_vp(self.R, self.TEFF)
        V = np.array([0.05, 0.7, 1.0, 3.3, 40.0]) * vp * max(1.0, x)
        got = iz_current(V, ic, self.R, self.TEFF)
        ref = np.array([mp_iz(v, ic, self.R, self.TEFF) for v in V])
        assert np.max(np.abs(got / ref - 1.0)) < 1e-10

    @pytest.mark.parametrize("x", [0.101, 0.284, 9.53])
    def test_zero_bias_conductance(self, x):
        ic = ic_for_x(x, self.TEFF)
        g0 = iz_conductance(np.array([0.0]), ic, self.R, self.TEFF)[0]
        expect = (1.0 - 1.0 / special.iv(0, x) ** 2) / self.R
        assert g0 == pytest.approx(expect, rel=1e-7)
        assert iz_zero_bias_conductance(ic, self.R, self.TEFF) == pytest.approx(expect, rel=1e-12)

    def test_small_x_lorentzian_within_0p2_percent(self):
        ic = ic_for_x(0.10, self.TEFF)
        vp = iz_vp(self.R, self.TEFF)
        V = np.linspace(-20 * vp, 20 * vp, 4001)
        exact = iz_current(V, ic, self.R, self.TEFF)
        lor = iz_lorentzian_current(V, ic, self.R, self.TEFF)
        dev = np.max(np.abs(exact - lor)) / np.max(lor)
        assert 1e-3 < dev < 2e-3  # about 0.18 %
        # maximum Ic^2 R/(4 V_p) at V = V_p
        assert V[np.argmax(lor)] == pytest.approx(vp, rel=1e-2)
        assert np.max(lor) == pytest.approx(ic**2 * self.R / (4 * vp), rel=1e-6)
        g = iz_conductance(V, ic, self.R, self.TEFF)
        gl = iz_lorentzian_conductance(V, ic, self.R, self.TEFF)
        assert np.max(np.abs(g - gl)) / np.max(gl) < 5e-3
        # sign change of dI/dV at |V| = V_p
        k = np.nonzero((V > 0) & (gl < 0))[0][0]
        assert V[k] == pytest.approx(vp, rel=2e-2)

    def test_large_bias_limit(self):
        ic = ic_for_x(2.0, self.TEFF)
        V = np.array([200.0, 1000.0]) * max(iz_vp(self.R, self.TEFF), ic * self.R)
        got = iz_current(V, ic, self.R, self.TEFF)
        assert np.allclose(got, ic**2 * self.R / (2 * V), rtol=3e-3)

    def test_rsj_limit_at_x_79p5(self):
        ic = ic_for_x(79.5, self.TEFF)
        icr = ic * self.R
        V = np.linspace(0, 4 * icr, 4001)
        got = iz_current(V, ic, self.R, self.TEFF)
        rsj = rsj_current(V, ic, self.R)
        assert np.max(got) / ic == pytest.approx(0.91, abs=0.01)
        # away from the RSJ cusp at V = Ic R the deviation is about 5 % of Ic ...
        away = np.abs(V / icr - 1.0) >= 0.05
        dev = np.max(np.abs(got - rsj)[away]) / ic
        assert 0.03 < dev < 0.06
        # ... and at the cusp itself the rounding is largest (Ic - I(Ic R) = 0.185 Ic)
        cusp = np.argmin(np.abs(V - icr))
        assert (rsj[cusp] - got[cusp]) / ic == pytest.approx(0.185, abs=0.005)
        # the deviation shrinks as the noise vanishes (x = 2000)
        ic2 = ic_for_x(2000.0, self.TEFF)
        V2 = V * ic2 / ic
        dev2 = (
            np.max(np.abs(iz_current(V2, ic2, self.R, self.TEFF) - rsj_current(V2, ic2, self.R))[away]) / ic2
        )
        assert dev2 < dev / 2

    def test_odd_in_bias_and_zero_at_zero(self):
        ic = ic_for_x(3.0, self.TEFF)
        half = np.linspace(0, 5e-3, 501)
        V = np.concatenate([-half[:0:-1], half])  # exactly symmetric grid
        I = iz_current(V, ic, self.R, self.TEFF)
        assert np.array_equal(I, -I[::-1])
        assert I[500] == 0.0
        G = iz_conductance(V, ic, self.R, self.TEFF)
        assert np.array_equal(G, G[::-1])

    @pytest.mark.parametrize("x", [0.05, 4.0, 300.0])
    def test_conductance_is_derivative_of_current(self, x):
        ic = ic_for_x(x, self.TEFF)
        vp = iz_vp(self.R, self.TEFF) * max(1.0, x)
        V = np.linspace(-3 * vp, 3 * vp, 61)
        h = vp * 1e-5
        num = (iz_current(V + h, ic, self.R, self.TEFF) - iz_current(V - h, ic, self.R, self.TEFF)) / (2 * h)
        ana = iz_conductance(V, ic, self.R, self.TEFF)
        assert np.max(np.abs(num - ana)) < 1e-6 * np.max(np.abs(ana))

    @pytest.mark.parametrize("x", [0.3, 30.0, 5000.0])
    def test_continued_fraction_converged(self, x):
        nu = -1j * np.linspace(-3, 3, 41) * max(1.0, x)
        r = bessel_ratio(nu, x)
        r2 = bessel_ratio(nu, x, levels=2 * iz_levels(x) + 50)
        assert np.max(np.abs(r - r2)) <= 1e-14 * np.max(np.abs(r))

    def test_huge_coupling_does_not_overflow(self):
        ic = ic_for_x(1e6, self.TEFF)
        V = np.array([-2.9, -1.7, -0.6, 0.0, 0.3, 0.8, 1.5, 2.5]) * ic * self.R  # away from the cusp
        I = iz_current(V, ic, self.R, self.TEFF)
        assert np.all(np.isfinite(I))
        assert np.allclose(I, rsj_current(V, ic, self.R), atol=2e-3 * ic)

    def test_zero_coupling_and_bad_parameters(self):
        assert np.array_equal(iz_current(np.array([1e-3]), 0.0, 100.0, 66.0), [0.0])
        with pytest.raises(ValueError):
            iz_current(np.array([1e-3]), 1e-9, -1.0, 66.0)
        with pytest.raises(ValueError):
            iz_conductance(np.array([1e-3]), 1e-9, 100.0, 0.0)

    def test_map_relation_small_x_and_exact(self):
        rn, icrn = 20e3, 3.9e-3
        ic = icrn / rn
        g0 = iz_zero_bias_conductance(ic, self.R, self.TEFF)
        assert icrn_from_zero_bias(g0, rn, self.R, self.TEFF, exact=True) == pytest.approx(icrn, rel=1e-9)
        # small x: R_N V_p sqrt(2 G0/R) agrees to O(x^2)
        x = iz_x(ic, self.TEFF)
        approx = icrn_from_zero_bias(g0, rn, self.R, self.TEFF)
        assert approx == pytest.approx(icrn, rel=x**2)
        assert abs(approx / icrn - 1) > 1e-6  # it is an approximation
        arr = icrn_from_zero_bias(np.array([g0, 0.0]), rn, self.R, self.TEFF)
        assert arr.shape == (2,) and arr[1] == 0.0


# ---------------------------------------------------------------------------------------------------
# Models and fitting helpers
# ---------------------------------------------------------------------------------------------------

V_GRID = np.linspace(-2e-3, 2e-3, 201)
DELTA, T_BATH = 2.5e-3, 2.1


class TestModels:
    def test_registered_and_consistent(self):
        ic, R, teff = 2e-7, 100.0, 66.0
        mi = get_model("iz_current")
        mg = get_model("iz_conductance")
        assert np.array_equal(mi(V_GRID, Ic=ic, R=R, Teff=teff), iz_current(V_GRID, ic, R, teff))
        assert np.array_equal(mg(V_GRID, Ic=ic, R=R, Teff=teff), iz_conductance(V_GRID, ic, R, teff))
        assert mi.y_unit == "A" and mg.y_unit == "S"

    @pytest.mark.parametrize("name", ["iz_current", "iz_conductance"])
    def test_batch_and_analytic_jacobian(self, name):
        m = get_model(name)
        assert m.has_jacobian
        teff = 66.0
        P = np.array([[ic_for_x(x, teff), R, teff] for x, R in ((0.05, 100.0), (3.0, 250.0), (40.0, 60.0))])
        P = np.vstack([P, [0.0, 100.0, teff]])  # no coupling at all
        V = np.linspace(-6e-3, 6e-3, 121)
        batch = m.evaluate_batch(V, P)
        assert batch.shape == (4, 121)
        for row, b in zip(P, batch, strict=True):
            assert np.allclose(b, m.evaluate(V, Ic=row[0], R=row[1], Teff=row[2]), rtol=1e-13, atol=0)
        assert np.all(batch[3] == 0.0)
        J = m.jacobian_batch(V, P)
        assert J.shape == (4, 121, 3)
        for i in range(3):
            for k in range(3):
                h = P[i, k] * 1e-5
                up, dn = P[i].copy(), P[i].copy()
                up[k] += h
                dn[k] -= h
                fd = (m.evaluate_batch(V, up[None])[0] - m.evaluate_batch(V, dn[None])[0]) / (2 * h)
                scale = np.max(np.abs(J[i, :, k])) + 1e-30
                assert np.max(np.abs(J[i, :, k] - fd)) < 1e-5 * scale

    def test_guess_from_small_x_data(self):
        ic, R, teff = 1.5e-7, 100.0, 66.0
        for name, fn in (("iz_current", iz_current), ("iz_conductance", iz_conductance)):
            m = get_model(name)
            g = m.guess(V_GRID, fn(V_GRID, ic, R, teff))
            lo, hi = m.bounds()
            vals = np.array([g[n] for n in m.param_names])
            assert np.all(vals >= lo) and np.all(vals <= hi)
            # the identifiable combinations: V_p and Ic^2 R
            assert iz_vp(g["R"], g["Teff"]) == pytest.approx(iz_vp(R, teff), rel=0.1)
            assert g["Ic"] ** 2 * g["R"] == pytest.approx(ic**2 * R, rel=0.15)

    def test_lmfit_recovers_vp_and_amplitude(self, rng):
        ic, R, teff = 1.5e-7, 100.0, 66.0
        m = get_model("iz_conductance")
        y = iz_conductance(V_GRID, ic, R, teff)
        y = y + rng.normal(0, 0.01 * y.max(), y.size)
        lm = m.lmfit_model()
        params = m.make_params(**m.guess(V_GRID, y))
        params["Ic"].set(value=ic, vary=False)  # pinned, as in [JSTM]
        res = lm.fit(y, params, x=V_GRID)
        assert res.params["R"].value == pytest.approx(R, rel=0.03)
        assert res.params["Teff"].value == pytest.approx(teff, rel=0.03)

    def test_composite_with_leak_and_sis_background(self):
        m = get_model("josephson_qp_conductance")
        p = m.defaults() | {"Ic": 1e-7, "R": 100.0, "Teff": 66.0, "G_leak": 3e-8}
        base = iz_conductance(V_GRID, 1e-7, 100.0, 66.0)
        assert np.allclose(m(V_GRID, **p), base + 3e-8, rtol=0, atol=1e-20)
        from analysis.models.sis import sis_background_conductance

        V = np.linspace(-12e-3, 12e-3, 241)
        p.update(G_N=5e-5, T=2.1, Delta_t=2.5e-3, Delta_s=2.5e-3)
        total = m(V, **p)
        qp = sis_background_conductance(V, 2.5e-3, 2.5e-3, 2.1)
        assert np.allclose(total, iz_conductance(V, 1e-7, 100.0, 66.0) + 3e-8 + 5e-5 * qp, rtol=1e-12)
        # the SIS background peaks at 2 Delta
        k = np.argmax(total[V > 3e-3])
        assert V[V > 3e-3][k] == pytest.approx(5e-3, abs=0.2e-3)
        P = np.array([[p[n] for n in m.param_names], [p[n] for n in m.param_names]])
        P[1, 4] = 0.0  # second row without the SIS background
        batch = m.evaluate_batch(V, P)
        assert np.allclose(batch[0], total, rtol=1e-12)
        assert np.allclose(batch[1], iz_conductance(V, 1e-7, 100.0, 66.0) + 3e-8, rtol=1e-12)
        g = m.guess(V_GRID, m(V_GRID, **(p | {"G_N": 0.0})))
        assert g["G_leak"] == pytest.approx(3e-8, abs=3e-7)


def synthetic(kind, rn, rng, R=100.0, teff=66.0, noise=0.01, leak=0.0):
    ic = ab_icrn(DELTA, DELTA, T_BATH) / rn
    fn = iz_conductance if kind == "conductance" else iz_current
    y = fn(V_GRID, ic, R, teff) + (leak if kind == "conductance" else leak * V_GRID)
    return y + rng.normal(0, noise * np.max(np.abs(y)), y.size)


class TestPhaseDiffusionFit:
    @pytest.mark.parametrize("kind", ["conductance", "current"])
    def test_single_spectrum_recovery(self, kind, rng):
        y = synthetic(kind, 20e3, rng, leak=4e-7 if kind == "conductance" else 0.0)
        fit = fit_phase_diffusion(V_GRID, y, DELTA, 20e3, T_BATH, kind=kind)
        assert fit.success
        assert fit.Ic[0] == pytest.approx(ab_icrn(DELTA, DELTA, T_BATH) / 20e3, rel=1e-12)  # pinned
        assert fit.R == pytest.approx(100.0, rel=0.03)
        assert fit.Teff == pytest.approx(66.0, rel=0.03)
        assert fit.R_err < 3.0 and fit.Teff_err < 2.0
        assert abs(fit.R - 100.0) < 4 * fit.R_err + 0.5
        if kind == "conductance":
            assert fit.G_leak[0] == pytest.approx(4e-7, abs=3e-7)
        resid = fit.model(0, V_GRID) - y
        assert np.sqrt(np.mean(resid**2)) == pytest.approx(fit.rms, rel=1e-9)
        assert fit.x[0] < 0.2 and fit.Vp == pytest.approx(iz_vp(fit.R, fit.Teff))

    def test_series_with_common_environment(self, rng):
        rns = [14e3, 20e3, 31e3]
        spectra = [(V_GRID, synthetic("conductance", rn, rng, R=150.0, teff=40.0), rn) for rn in rns]
        fit = fit_phase_diffusion_series(spectra, DELTA, T_BATH)
        assert fit.R == pytest.approx(150.0, rel=0.03)
        assert fit.Teff == pytest.approx(40.0, rel=0.03)
        assert fit.Ic == pytest.approx([ab_icrn(DELTA, DELTA, T_BATH) / rn for rn in rns], rel=1e-12)
        assert fit.x[0] > fit.x[1] > fit.x[2]

    def test_free_icrn_is_degenerate_at_small_x_and_identifiable_at_large_x(self, rng):
        small = [(V_GRID, synthetic("conductance", rn, rng), rn) for rn in (14e3, 20e3, 31e3)]
        f_small = fit_phase_diffusion_series(small, DELTA, T_BATH, fit_icrn=True)
        assert f_small.icrn_fitted
        assert f_small.icrn_err > 0.05 * f_small.icrn  # the data cannot tell
        large = [(V_GRID, synthetic("conductance", rn, rng), rn) for rn in (300.0, 2000.0, 20e3)]
        f_large = fit_phase_diffusion_series(large, DELTA, T_BATH, fit_icrn=True)
        icrn = ab_icrn(DELTA, DELTA, T_BATH)
        assert f_large.icrn == pytest.approx(icrn, rel=0.02)
        assert f_large.icrn_err < 0.01 * icrn
        assert f_large.R == pytest.approx(100.0, rel=0.02)

    def test_background_array_is_subtracted(self, rng):
        bg = 2e-6 * (V_GRID / 2e-3) ** 2
        y = synthetic("conductance", 20e3, rng) + bg
        fit = fit_phase_diffusion(V_GRID, y, DELTA, 20e3, T_BATH, background=bg, leak=False)
        assert fit.R == pytest.approx(100.0, rel=0.03)
        assert np.allclose(fit.model(0, V_GRID) - bg, iz_conductance(V_GRID, fit.Ic[0], fit.R, fit.Teff))

    def test_cancel_and_progress(self, rng):
        y = synthetic("conductance", 20e3, rng)
        calls = []
        fit_phase_diffusion(V_GRID, y, DELTA, 20e3, T_BATH, progress=lambda d, t: calls.append(d))
        assert calls and calls == sorted(calls)
        ev = threading.Event()
        ev.set()
        with pytest.raises(InterruptedError):
            fit_phase_diffusion(V_GRID, y, DELTA, 20e3, T_BATH, cancel=ev)

    def test_bad_input(self, rng):
        y = synthetic("conductance", 20e3, rng)
        with pytest.raises(ValueError, match="differ in length"):
            fit_phase_diffusion(V_GRID[:-1], y, DELTA, 20e3, T_BATH)
        with pytest.raises(ValueError, match="R_N"):
            fit_phase_diffusion(V_GRID, y, DELTA, -1.0, T_BATH)
        with pytest.raises(ValueError, match="kind"):
            fit_phase_diffusion(V_GRID, y, DELTA, 20e3, T_BATH, kind="resistance")
        with pytest.raises(ValueError, match="finite points"):
            fit_phase_diffusion(V_GRID, np.full_like(y, np.nan), DELTA, 20e3, T_BATH)
        with pytest.raises(ValueError, match="no spectra"):
            fit_phase_diffusion_series([], DELTA, T_BATH)


@pytest.mark.parametrize("x", [1e-6, 3.6e-4, 1e-2, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("nu_max", [0.5, 7.0, 1e3])
def test_batched_continued_fraction_with_fewer_levels_is_converged(monkeypatch, x, nu_max):
    """The batch's shortened fraction (converged_levels, started from 0) equals a deep one with the uniform
    start, for the value and every derivative, and it uses fewer levels than iz_levels for x < 1."""
    from analysis.models import josephson

    assert josephson.converged_levels(x, nu_max) <= iz_levels(x)
    if x <= 1e-2:
        assert josephson.converged_levels(x, nu_max) <= iz_levels(x) // 2
    nu = -1j * np.linspace(-nu_max, nu_max, 201)[None, :]
    xs = np.array([[x]])
    short = josephson._ratio_batch(nu, xs, 3)
    monkeypatch.setattr(josephson, "converged_levels", lambda x, n=0.0: 3 * iz_levels(x) + 20)
    deep = josephson._ratio_batch(nu, xs, 3)
    for a, b in zip(short, deep, strict=True):
        assert np.max(np.abs(a - b)) <= 1e-14 * np.max(np.abs(b))


def test_iz_batch_equals_the_single_spectrum_curves():
    m = get_model("iz_conductance")
    V = np.linspace(-2e-3, 2e-3, 256)
    P = np.array([[1e-9, 108.0, 66.0], [3e-9, 80.0, 20.0], [5e-8, 100.0, 4.0], [1e-7, 1e3, 1.0]])
    G = m.evaluate_batch(V, P)
    I = get_model("iz_current").evaluate_batch(V, P)
    for i, (ic, r, t) in enumerate(P):
        g1 = iz_conductance(V, ic, r, t)
        np.testing.assert_allclose(G[i], g1, rtol=0, atol=1e-13 * np.max(np.abs(g1)))
        i1 = iz_current(V, ic, r, t)
        np.testing.assert_allclose(I[i], i1, rtol=0, atol=1e-13 * np.max(np.abs(i1)))
