"""Necks (paper 001): the subharmonic ladder without aliasing, heating, excess current, phase slips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.models import point_contact as pc
from analysis.models.bcs import delta_bcs_interp
from analysis.papers import neck

DELTA = 1.35e-3
TC = 7.2
T_LOC = 5.0  # K: the heated n = 1 feature sits at 2 Delta(T_loc)
SGS = [2 * DELTA / 4, 2 * DELTA / 3, 2 * DELTA / 2]
PHASE_SLIPS = [2.42e-3, 3.03e-3, 4.03e-3]


def heated_neck(seed: int = 3, noise: float = 0.004):
    """dV/dI (Ohm) of a heated neck over +-15 mV: SGS peaks at 2 Delta/n (n = 2..4), the n = 1 peak at
    2 Delta(T_loc), and three narrow phase-slip peaks above it (each with its voltage step)."""
    V = np.linspace(-15e-3, 15e-3, 3001)
    v1 = 2 * float(delta_bcs_interp(T_LOC, TC, DELTA))
    y = 5.0 + 0.2 * np.exp(-((V / 8e-3) ** 2))
    for p in [*SGS, v1]:
        for s in (1, -1):
            y += 0.35 * np.exp(-0.5 * ((V - s * p) / 40e-6) ** 2)
    for p in PHASE_SLIPS:
        for s in (1, -1):
            y += 1.5 * np.exp(-0.5 * ((V - s * p) / 15e-6) ** 2)
    rng = np.random.default_rng(seed)
    return V, y + rng.normal(0.0, noise, V.size), v1


def test_heated_neck_over_the_full_bias_range_does_not_alias():
    V, y, v1 = heated_neck()
    # today's assignment (most peaks explained) takes the ladder for Delta ~ 6 meV with n = 6, 5, ...
    old = pc.analyse_sgs(V, y)
    assert old.delta > 5e-3, "the scenario reproduces the aliasing"
    res = neck.neck_gap(V, y, Tc=TC, v_min=0.3e-3)
    assert res.delta == pytest.approx(DELTA, rel=0.01)
    assert res.delta_err < 0.02 * DELTA
    assert not res.ambiguous
    assert res.heated and res.V1 == pytest.approx(v1, rel=0.01)
    # the phase-slip peaks are above the ladder, never SGS
    for p in PHASE_SLIPS:
        assert np.any(np.abs(res.above_ladder - p) < 30e-6), p
    assert res.T_local == pytest.approx(T_LOC, abs=0.15)
    assert 0 < res.T_local_err < 0.5


def test_unheated_ladder_uses_every_rung():
    peaks = [2 * DELTA / n for n in (1, 2, 3, 4, 5)]
    res = neck.neck_gap_from_peaks(peaks, Tc=TC, position_err=5e-6)
    assert res.delta == pytest.approx(DELTA, rel=1e-6)
    assert sorted(res.n.tolist()) == [1, 2, 3, 4, 5]
    assert not res.heated and res.T_local is None


def test_ambiguity_is_reported():
    res = neck.neck_gap_from_peaks([1.35e-3], delta_range=(0.3e-3, 3e-3), v_range=(0.5e-3, 10e-3))
    assert res.ambiguous
    assert any(abs(a / res.delta - 2.0) < 0.05 or abs(a / res.delta - 0.5) < 0.05 for a in res.alternatives)
    assert res.warnings


def test_alias_candidates_lose_on_ladder_consistency():
    peaks = np.array(SGS + [2 * DELTA])
    cands = neck.assign_ladder(peaks, delta_range=(0.2e-3, 8e-3))
    assert cands[0].delta == pytest.approx(DELTA, rel=0.02)
    by_delta = {round(c.delta * 1e6): c.score for c in cands}
    double = max(s for d, s in by_delta.items() if abs(d - 2700) <= 30)
    assert double < cands[0].score


def test_excess_current_from_both_polarities():
    rn, iexc = 5.0, 0.4e-3
    V = np.linspace(-15e-3, 15e-3, 601)
    I = V / rn + iexc * np.sign(V) * (1 - np.exp(-((V / (2 * DELTA)) ** 2)))
    I += 1e-6 * np.where(V > 0, 1.0, 0.0)  # a small polarity asymmetry
    rng = np.random.default_rng(5)
    I = I + rng.normal(0.0, 2e-6, V.size)
    res = neck.neck_excess_current(V, I, DELTA, v_fit_max=14e-3)
    assert res.I_exc == pytest.approx(iexc, abs=4 * res.I_exc_err + 1e-6)
    assert res.I_exc_err < 5e-6
    assert res.R_N == pytest.approx(rn, rel=1e-3)
    assert res.I_exc_pos > res.I_exc_neg
    assert res.ratio == pytest.approx(iexc * rn / DELTA, rel=0.02)


def test_phase_slip_steps_height_and_resistance_change():
    I = np.linspace(0.5e-3, 1.2e-3, 1401)
    V = 5.0 * I
    steps = [(0.7e-3, 40e-6, 0.05), (0.85e-3, 60e-6, 0.05), (1.0e-3, 30e-6, 0.05)]
    for i0, dv, dr in steps:
        V = V + np.where(I > i0, dv + dr * (I - i0), 0.0)
    rng = np.random.default_rng(2)
    V = V + rng.normal(0.0, 0.5e-6, I.size)
    res = neck.phase_slip_steps(I, V, delta=DELTA)
    assert res.count == 3
    for s, (i0, dv, dr) in zip(res.steps, steps, strict=True):
        assert s.I == pytest.approx(i0, abs=1e-6)
        assert s.dV == pytest.approx(dv, abs=4e-6)
        assert s.dR == pytest.approx(dr, abs=0.03)
    # peak count against field
    sweeps = [(I, 5.0 * I), (I, V)]
    vs = neck.phase_slips_vs_field(sweeps, [0.05, 0.15], delta=DELTA)
    assert vs.count.tolist() == [0, 3]


def test_sharvin_size_is_the_radius_of_the_papers_six_nanometres():
    c = neck.sharvin_size(5.0, 0.1)
    assert c.radius == pytest.approx(6.45e-9, rel=0.01)
    assert c.diameter == pytest.approx(12.9e-9, rel=0.01)
    assert c.radius_err == pytest.approx(0.5 * c.radius * 0.02, rel=1e-6)


def test_charge_imbalance_length_against_field():
    H = np.linspace(0.0, 0.4, 81)
    res = neck.charge_imbalance_vs_field(H)
    assert res.lambda_q[0] == pytest.approx(228e-9, rel=0.01)
    at_ref = float(np.interp(0.15, H, res.lambda_q))
    assert res.lambda_q[0] / at_ref == pytest.approx(1.84, rel=0.03)
    assert np.all(np.diff(res.lambda_q) <= 0)
    assert math.isfinite(res.crossing_H) and 0 < res.crossing_H < 0.4


def test_gap_against_field():
    V, y, _ = heated_neck()
    flat = np.full(V.size, 5.0) + np.random.default_rng(1).normal(0.0, 0.004, V.size)
    res = neck.gap_vs_field([(V, y), (V, flat)], [0.0, 0.3], Tc=TC, v_min=0.3e-3)
    assert res.delta[0] == pytest.approx(DELTA, rel=0.01) and res.heated[0]
    assert res.n_above[0] == len(PHASE_SLIPS)
    assert math.isnan(res.delta[1]) and res.results[1] is None
