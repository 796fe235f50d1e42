"""P(E) theory and the Cooper-pair current (PHYSICS section 7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from analysis.constants import E_CHARGE, HBAR, K_B_EV
from analysis.models import get_model
from analysis.models.josephson import iz_lorentzian_current, iz_vp
from analysis.models.pe_theory import (
    Environment,
    cooper_pair_conductance,
    cooper_pair_current,
    ej_renormalisation,
    lorentzian_width,
    pe_distribution,
    pe_function,
    pe_spectrum,
)

#: PHYSICS 7 test environment: ohmic R = 100 Ohm at 66 K with C = 0.02 fF.
HOT = Environment(100.0, 0.02e-15, 66.0)


def ic_from_ej(ej_ev: float) -> float:
    return 2.0 * E_CHARGE * ej_ev * E_CHARGE / HBAR


class TestDistribution:
    def test_normalised(self):
        # the default window (about 0.5 eV here) leaves out the 1/E^3 tail beyond hbar/RC = 0.33 eV
        d = pe_distribution(HOT)
        assert 0.99 < d.weight() < 1.0
        assert pe_distribution(HOT, e_max=10.0).weight() == pytest.approx(1.0, abs=5e-5)
        # independent quadrature over the window (P = 0 outside it)
        E = np.linspace(-d.e_max, d.e_max, 1_000_001)
        assert np.trapezoid(d(E), E) == pytest.approx(d.weight(), abs=2e-5)
        assert np.all(d(E[::1000]) > -1e-5 * d(0.0))  # aliasing ripple at the window edge only

    @pytest.mark.parametrize(
        ("e_mev", "rel"), [(0.2, 1e-6), (1.0, 1e-6), (5.0, 1e-5), (10.0, 1e-4), (30.0, 1e-2)]
    )
    def test_detailed_balance_hot(self, e_mev, rel):
        d = pe_distribution(HOT)
        e = e_mev * 1e-3
        kt = K_B_EV * HOT.T
        assert d(-e) / d(e) == pytest.approx(math.exp(-e / kt), rel=rel)

    @pytest.mark.parametrize("T", [0.05, 0.3])
    def test_detailed_balance_cold(self, T):
        d = pe_distribution(Environment(100.0, 5e-15, T))
        kt = K_B_EV * T
        for e, rel in ((0.5 * kt, 1e-5), (2.0 * kt, 1e-4), (5.0 * kt, 1e-2)):
            assert d(-e) / d(e) == pytest.approx(math.exp(-e / kt), rel=rel)

    def test_high_temperature_lorentzian_width(self):
        assert lorentzian_width(100.0, 66.0) == pytest.approx(0.554e-3, rel=1e-3)
        d = pe_distribution(HOT)
        assert d.gamma == pytest.approx(lorentzian_width(100.0, 66.0), rel=1e-12)
        # half width at half maximum of the computed P(E)
        E = np.linspace(-3e-3, 3e-3, 60001)
        P = d(E)
        half = E[P >= 0.5 * P.max()]
        assert 0.5 * (half[-1] - half[0]) == pytest.approx(d.gamma, rel=0.02)

    def test_renormalisation_of_ej(self):
        # predicted (E_J*/E_J)^2 = 0.9154: the weight of the ohmic line in the computed P(E)
        ratio = ej_renormalisation(100.0, 0.02e-15, 66.0) ** 2
        assert ratio == pytest.approx(0.9154, abs=2e-4)
        d = pe_distribution(HOT)
        assert d.B * math.cos(d.phi) == pytest.approx(ratio, abs=1e-3)
        assert abs(d.B * math.cos(d.phi) - 1.0) > 0.05

    def test_first_moment_is_charging_energy(self):
        env = Environment(1000.0, 1e-15, 10.0)
        d = pe_distribution(env, e_max=0.2)  # the first moment needs the whole spectral window
        E = np.linspace(-0.2, 0.2, 400001)
        m1 = np.trapezoid(E * d(E), E)
        assert env.charging_energy == pytest.approx((2 * E_CHARGE) ** 2 / (2 * 1e-15) / E_CHARGE, rel=1e-12)
        assert m1 == pytest.approx(env.charging_energy, rel=5e-3)

    def test_classical_capacitive_gaussian(self):
        env = Environment(1e6, 1e-15, 1.0)  # R >> R_Q, kT RC >> hbar
        d = pe_distribution(env)
        ec = env.charging_energy
        kt = K_B_EV * env.T
        E = np.linspace(ec - 8 * math.sqrt(ec * kt), ec + 8 * math.sqrt(ec * kt), 2001)
        gauss = np.exp(-((E - ec) ** 2) / (4 * ec * kt)) / math.sqrt(4 * math.pi * ec * kt)
        assert np.max(np.abs(d(E) - gauss)) < 5e-3 * gauss.max()
        assert E[np.argmax(d(E))] == pytest.approx(ec, rel=0.02)

    def test_grid_converged(self):
        env = Environment(100.0, 5e-15, 0.3)
        d1 = pe_distribution(env)
        d2 = pe_distribution(env, n=4 * d1.E.size)
        kt = K_B_EV * env.T
        E = np.linspace(-20 * kt, 20 * kt, 801)
        assert np.max(np.abs(d1(E) - d2(E))) < 1e-5 * d1(0.0)

    def test_lc_mode_gives_a_satellite(self):
        env = Environment(50.0, 2e-15, 0.3, mode_R=2000.0, mode_f=100e9, mode_Q=30.0)
        hw0 = HBAR * 2 * math.pi * 100e9 / E_CHARGE
        E = np.linspace(0.2 * hw0, 1.5 * hw0, 1301)
        P = pe_function(E, env)
        idx, _ = signal.find_peaks(P)
        assert idx.size >= 1
        assert E[idx[0]] == pytest.approx(hw0, rel=0.1)
        bare = pe_function(E[idx[0]], Environment(50.0, 2e-15, 0.3))
        assert P[idx[0]] > 10 * bare

    def test_spectrum_grid_is_ascending_and_resolves_the_line(self):
        E, P = pe_spectrum(HOT)
        assert np.all(np.diff(E) > 0)
        d = pe_distribution(HOT)
        assert np.min(np.diff(E[np.abs(E) < d.gamma])) <= d.gamma / 10

    def test_quasiparticle_charge(self):
        d1 = pe_distribution(HOT, charge=1)
        assert d1.gamma == pytest.approx(lorentzian_width(100.0, 66.0) / 4.0, rel=1e-12)
        assert 0.99 < d1.weight() < 1.0
        assert pe_distribution(HOT, charge=1, e_max=10.0).weight() == pytest.approx(1.0, abs=2e-5)
        with pytest.raises(ValueError):
            pe_distribution(HOT, charge=3)

    def test_bad_environment(self):
        with pytest.raises(ValueError, match="T > 0"):
            Environment(100.0, 1e-15, 0.0)
        with pytest.raises(ValueError, match="C > 0"):
            Environment(100.0, 0.0, 1.0)
        with pytest.raises(ValueError, match="mode"):
            Environment(100.0, 1e-15, 1.0, mode_R=-1.0)


class TestCooperPairCurrent:
    def test_high_t_equals_iz_small_x_lorentzian_times_renormalisation(self):
        ej = 2e-6
        V = np.linspace(-3e-3, 3e-3, 601)
        I = cooper_pair_current(V, ej, HOT)
        L = iz_lorentzian_current(V, ic_from_ej(ej), 100.0, 66.0)
        ratio = I.max() / L.max()
        assert ratio == pytest.approx(ej_renormalisation(100.0, 0.02e-15, 66.0) ** 2, abs=3e-3)
        assert V[np.argmax(I)] == pytest.approx(iz_vp(100.0, 66.0), abs=1e-5)
        assert np.max(np.abs(I / I.max() - L / L.max())) < 1e-3

    def test_odd_and_scales_with_ej_squared(self):
        half = np.linspace(0, 2e-3, 201)
        V = np.concatenate([-half[:0:-1], half])
        env = Environment(200.0, 3e-15, 1.5)
        I1 = cooper_pair_current(V, 1e-6, env)
        I2 = cooper_pair_current(V, 2e-6, env)
        assert np.allclose(I1, -I1[::-1], rtol=0, atol=1e-12 * np.max(np.abs(I1)))
        assert np.allclose(I2, 4 * I1, rtol=1e-12)
        assert I1[V > 0].max() > 0

    def test_conductance_is_derivative(self):
        env = Environment(200.0, 3e-15, 1.5)
        V = np.linspace(-1e-3, 1e-3, 81)
        h = 1e-7
        num = (cooper_pair_current(V + h, 1e-6, env) - cooper_pair_current(V - h, 1e-6, env)) / (2 * h)
        ana = cooper_pair_conductance(V, 1e-6, env)
        assert np.max(np.abs(num - ana)) < 2e-3 * np.max(np.abs(ana))

    def test_models_registered(self):
        m = get_model("pe_cooper_pair_current")
        mg = get_model("pe_cooper_pair_conductance")
        V = np.linspace(-1e-3, 1e-3, 101)
        p = {"E_J": 1e-6, "R": 200.0, "T": 1.5, "C": 3e-15}
        assert np.allclose(m(V, **p), cooper_pair_current(V, 1e-6, Environment(200.0, 3e-15, 1.5)))
        assert np.allclose(mg(V, **p), cooper_pair_conductance(V, 1e-6, Environment(200.0, 3e-15, 1.5)))
        g = m.guess(V, m(V, **p))
        lo, hi = m.bounds()
        vals = np.array([g[n] for n in m.param_names])
        assert np.all(vals >= lo) and np.all(vals <= hi)
        gc = mg.guess(V, mg(V, **p))
        assert gc["E_J"] > 0
