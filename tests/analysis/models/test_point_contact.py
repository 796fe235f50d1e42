"""Point contacts and necks (PHYSICS section 8, [NECK])."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.constants import K_B_EV
from analysis.models import get_model
from analysis.models.bcs import delta_bcs_interp
from analysis.models.point_contact import (
    EXCESS_CURRENT_REFERENCE,
    PB,
    analyse_sgs,
    analyse_sgs_positions,
    assign_sgs,
    charge_imbalance_length,
    effective_relaxation_time,
    excess_current,
    find_sgs_peaks,
    fit_sgs_delta,
    free_electron,
    local_critical_field,
    local_temperature,
    neck_superconducting_length,
    sgs_positions,
    sharvin_contact,
    sharvin_resistance,
    time_from_energy,
)

DELTA_PB = 1.35e-3


def neck_dvdi(rng, heat=1.0, noise=0.01, n_max=4):
    """Synthetic dV/dI (Ohm) with SGS peaks at 2 Delta/n on a parabolic background; V_1 scaled by ``heat``."""
    V = np.linspace(-4e-3, 4e-3, 1601)
    y = 5.0 + 0.02 * (V / 1e-3) ** 2
    for n in range(1, n_max + 1):
        vn = 2 * DELTA_PB / n * (heat if n == 1 else 1.0)
        y = y + (0.6 - 0.1 * n) * np.exp(-((np.abs(V) - vn) ** 2) / (2 * (0.03e-3) ** 2))
    return V, y + rng.normal(0, noise, V.size)


class TestSubharmonicGapStructure:
    def test_pb_positions(self):
        assert sgs_positions(DELTA_PB) == pytest.approx([2.700e-3, 1.350e-3, 0.900e-3, 0.675e-3], abs=1e-9)

    def test_detect_assign_and_fit(self, rng):
        V, y = neck_dvdi(rng)
        peaks = find_sgs_peaks(V, y, v_min=0.3e-3)
        assert peaks.size == 4
        assert peaks == pytest.approx(sgs_positions(DELTA_PB)[::-1], abs=0.01e-3)
        r = analyse_sgs(V, y, v_min=0.3e-3)
        assert list(r.n) == [4, 3, 2, 1]
        assert r.delta == pytest.approx(DELTA_PB, rel=3e-3)
        assert r.delta_err < 5e-6
        assert not r.heated and r.T_local is None
        assert r.used == [1, 2, 3, 4]

    def test_dIdV_minima(self, rng):
        V, y = neck_dvdi(rng)
        r = analyse_sgs(V, 1.0 / y, quantity="dIdV", v_min=0.3e-3)
        assert r.delta == pytest.approx(DELTA_PB, rel=3e-3)
        both = find_sgs_peaks(V, 1.0 / y, quantity="dIdV", polarity="both", v_min=0.3e-3)
        minima = find_sgs_peaks(V, 1.0 / y, quantity="dIdV", v_min=0.3e-3)
        assert both.size > minima.size == 4
        assert np.all(np.isin(minima, both))

    def test_heating_flag_and_local_temperature(self, rng):
        V, y = neck_dvdi(rng, heat=0.9)
        r = analyse_sgs(V, y, v_min=0.3e-3)
        assert r.heated
        assert r.V1 < 2 * r.V2
        assert r.used == [2, 3, 4]  # the heated n = 1 feature is not used for Delta
        assert r.delta == pytest.approx(DELTA_PB, rel=3e-3)
        assert r.delta_heated == pytest.approx(0.9 * DELTA_PB, rel=3e-3)
        # Delta(T_loc) = e V_1/2 with Pb Tc = 7.2 K
        assert float(delta_bcs_interp(r.T_local, 7.2, r.delta)) == pytest.approx(r.delta_heated, rel=1e-9)
        assert r.T_local == pytest.approx(7.2 / (1 + (math.atanh(0.9) / 1.74) ** 2), rel=0.02)

    def test_heating_not_flagged_within_tolerance(self):
        r = analyse_sgs_positions([0.675e-3, 0.9e-3, 1.35e-3, 2.69e-3])
        assert not r.heated
        r = analyse_sgs_positions([0.675e-3, 0.9e-3, 1.35e-3, 2.55e-3])
        assert r.heated and r.T_local is not None and 0 < r.T_local < 7.2

    def test_assignment_without_and_with_gap(self):
        peaks = sgs_positions(DELTA_PB, 5)[[1, 2, 4]]  # n = 2, 3, 5 only
        n, d = assign_sgs(peaks)
        assert list(n) == [2, 3, 5]
        assert d == pytest.approx(DELTA_PB, rel=1e-9)
        n, _ = assign_sgs(np.array([1.36e-3, 0.6e-3]), delta=DELTA_PB)
        assert list(n) == [2, 0]  # 0.6 mV is not a subharmonic of 1.35 meV
        with pytest.raises(ValueError):
            assign_sgs(np.array([-1e-3]))

    def test_least_squares_gap(self):
        d, err = fit_sgs_delta(np.array([2.7e-3, 1.35e-3, 0.9e-3]), np.array([1, 2, 3]))
        assert d == pytest.approx(DELTA_PB, rel=1e-12)
        assert err == pytest.approx(0.0, abs=1e-15)
        d, err = fit_sgs_delta(np.array([2.4e-3, 1.35e-3, 0.9e-3]), np.array([1, 2, 3]), exclude=(1,))
        assert d == pytest.approx(DELTA_PB, rel=1e-12)
        with pytest.raises(ValueError):
            fit_sgs_delta(np.array([1e-3]), np.array([0]))

    def test_local_temperature_forms(self):
        assert local_temperature(DELTA_PB, DELTA_PB, 7.2) == 0.0
        t_interp = local_temperature(0.8 * DELTA_PB, DELTA_PB, 7.2)
        t_exact = local_temperature(0.8 * DELTA_PB, DELTA_PB, 7.2, method="exact")
        assert t_exact == pytest.approx(t_interp, rel=0.03)
        assert t_exact != t_interp

    def test_sgs_model_fit(self, rng):
        m = get_model("sgs_positions")
        n = np.array([1.0, 2.0, 3.0, 4.0])
        v = sgs_positions(DELTA_PB) + rng.normal(0, 2e-6, 4)
        g = m.guess(n, v)
        assert g["Delta"] == pytest.approx(DELTA_PB, rel=0.01)
        res = m.lmfit_model().fit(v, m.make_params(**g), x=n)
        assert res.params["Delta"].value == pytest.approx(DELTA_PB, rel=3e-3)
        jac = m.jacobian_batch(n, np.array([[DELTA_PB, 0.0]]))
        assert jac.shape == (1, 4, 2) and jac[0, 1, 0] == pytest.approx(1.0)

    def test_bad_input(self):
        with pytest.raises(ValueError):
            find_sgs_peaks(np.arange(3.0), np.arange(3.0))
        with pytest.raises(ValueError):
            find_sgs_peaks(np.linspace(-1, 1, 11), np.ones(11), quantity="R")
        with pytest.raises(ValueError, match="no subharmonic"):
            analyse_sgs_positions([])


class TestExcessCurrent:
    @pytest.mark.parametrize("kind", list(EXCESS_CURRENT_REFERENCE))
    def test_recovers_reference_values(self, kind, rng):
        rn = 5.0
        ratio = EXCESS_CURRENT_REFERENCE[kind]
        V = np.linspace(-20e-3, 20e-3, 2001)
        iexc = ratio * DELTA_PB / rn
        # approach to the asymptote within a few Delta, as in a real contact
        I = V / rn + iexc * np.sign(V) * (1 - np.exp(-np.abs(V) / DELTA_PB))
        I = I + rng.normal(0, 1e-7, V.size)
        res = excess_current(V, I, DELTA_PB)
        assert res.R_N == pytest.approx(rn, rel=1e-3)
        assert res.ratio == pytest.approx(ratio, abs=0.02)
        assert res.v_fit_min == pytest.approx(5 * DELTA_PB)

    def test_reference_table(self):
        assert EXCESS_CURRENT_REFERENCE["diffusive (Artemenko-Volkov-Zaitsev)"] == pytest.approx(
            1.467, abs=1e-3
        )
        assert EXCESS_CURRENT_REFERENCE["ballistic, transparent (OBTK / Averin-Bardeen)"] == pytest.approx(
            8 / 3
        )

    def test_window_and_errors(self):
        V = np.linspace(-10e-3, 10e-3, 201)
        I = V / 5.0 + 1e-4 * np.sign(V)
        res = excess_current(V, I, v_fit_min=2e-3, v_fit_max=8e-3)
        assert res.I_exc == pytest.approx(1e-4, rel=1e-9)
        assert res.ratio is None
        with pytest.raises(ValueError, match="delta"):
            excess_current(V, I)
        with pytest.raises(ValueError, match="fewer than 3"):
            excess_current(V, I, v_fit_min=1.0)

    def test_model(self):
        m = get_model("excess_current_line")
        V = np.linspace(-20e-3, 20e-3, 101)
        y = m(V, G_N=0.2, I_exc=3e-4)
        g = m.guess(V, y)
        assert g["G_N"] == pytest.approx(0.2, rel=1e-9)
        assert g["I_exc"] == pytest.approx(3e-4, rel=1e-9)


class TestSharvin:
    def test_pb_free_electron(self):
        assert PB.k_F == pytest.approx(1.575e10, rel=1e-3)
        assert PB.lambda_F == pytest.approx(0.399e-9, rel=2e-3)
        assert PB.v_F == pytest.approx(1.82e6, rel=3e-3)
        assert free_electron(PB.n) == PB

    def test_five_ohm_contact_radius_and_diameter(self):
        c = sharvin_contact(5.0)
        assert c.area == pytest.approx(130.7e-18, rel=1e-3)
        assert c.radius == pytest.approx(6.45e-9, rel=1e-3)
        assert c.diameter == pytest.approx(12.9e-9, rel=1e-3)
        assert c.n_channels == pytest.approx(2580, rel=2e-3)
        # the paper's "d of about 6 nm" is the radius, not the diameter
        assert abs(c.radius - 6e-9) < abs(c.diameter - 6e-9)
        assert sharvin_resistance(c.radius) == pytest.approx(5.0, rel=1e-12)
        with pytest.raises(ValueError):
            sharvin_contact(0.0)


class TestChargeImbalance:
    NECK = {"T": 4.2, "delta": DELTA_PB, "tau_E": 2.5e-11, "mean_free_path": 10e-9}

    def test_neck_numbers(self):
        c = charge_imbalance_length(**self.NECK)
        assert c.tau_Q == pytest.approx(8.53e-12, rel=1e-3)
        assert c.length == pytest.approx(228e-9, rel=3e-3)
        assert c.D == pytest.approx(PB.v_F * 10e-9 / 3)

    def test_430_nm_flag_is_not_reproduced(self):
        c = charge_imbalance_length(**self.NECK)
        assert c.length < 300e-9  # the paper's "> 430 nm" does not follow from its inputs
        # 394 nm without the 1/3 in D, 440 nm with kB T/Delta -> 1
        assert math.sqrt(3) * c.length == pytest.approx(394e-9, rel=3e-3)
        assert c.length * math.sqrt(DELTA_PB / (K_B_EV * 4.2)) == pytest.approx(440e-9, rel=3e-3)

    def test_pair_breaking_paper_and_corrected_forms(self):
        tau_pb = time_from_energy(0.2 * K_B_EV * 7.2)
        assert tau_pb == pytest.approx(5.30e-12, rel=2e-3)
        assert effective_relaxation_time(2.5e-11, tau_pb) == pytest.approx(7.40e-12, rel=2e-3)
        base = charge_imbalance_length(**self.NECK).length
        paper = charge_imbalance_length(**self.NECK, tau_PB=tau_pb).length
        corrected = charge_imbalance_length(**self.NECK, tau_PB=tau_pb, form="corrected").length
        assert base / corrected == pytest.approx(1.80, abs=0.01)
        assert base / paper == pytest.approx(1.84, abs=0.01)
        for factor in (base / paper, base / corrected):  # "a reduction by a factor of 2"
            assert 1.7 < factor < 2.1

    def test_weak_pair_breaking_limits(self):
        # the paper form does not reduce to tau_E; the corrected one does
        assert effective_relaxation_time(2.5e-11, 1e30) == pytest.approx(2.5e-11 / math.sqrt(2), rel=1e-9)
        assert effective_relaxation_time(2.5e-11, 1e30, form="corrected") == pytest.approx(2.5e-11, rel=1e-9)
        assert effective_relaxation_time(2.5e-11, None) == 2.5e-11
        with pytest.raises(ValueError):
            effective_relaxation_time(2.5e-11, 1e-12, form="other")
        with pytest.raises(ValueError):
            charge_imbalance_length(4.2, 0.0, 2.5e-11, 10e-9)


class TestNeckInField:
    def test_superconducting_length(self):
        lam, hc = 37e-9, 0.05
        H = np.array([0.1, 0.15, 0.25])
        L = neck_superconducting_length(H, theta_deg=35.0, lambda_L=lam, H_c=hc)
        assert L == pytest.approx(8 * lam * hc / (H * math.tan(math.radians(35.0))), rel=1e-12)
        assert L[0] == pytest.approx(211e-9, rel=2e-3)
        # a finite tip radius shortens it, down to zero when even the apex is above its critical field
        L0 = neck_superconducting_length(0.1, lambda_L=lam, H_c=hc, r0=20e-9)
        assert L0 == pytest.approx(2 * (4 * lam * hc / 0.1 - 20e-9) / math.tan(math.radians(35)), rel=1e-12)
        assert neck_superconducting_length(1.0, lambda_L=lam, H_c=hc, r0=20e-9) == 0.0
        assert neck_superconducting_length(0.0) == math.inf
        assert float(local_critical_field(74e-9, lam, hc)) == pytest.approx(0.1, rel=1e-12)
