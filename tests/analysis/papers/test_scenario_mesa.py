"""The synthetic mesa series: beta(N), the SIN correction and the d-wave fit recover the truth, and the
simulator reproduces the stacks the series was made from."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.papers._common import AnalysisError
from analysis.papers.mesa_series import (
    MesaSummary,
    SimulationSummary,
    analyse_mesa_series,
    read_gap_tables,
    simulate_summary,
    table_rows,
)
from analysis.papers.scenario_mesa import STACKS, TRUTH, make_mesa_series


@pytest.fixture(scope="module")
def mesas():
    s = make_mesa_series(0)
    return s, analyse_mesa_series(s)


def test_beta_and_peak_voltage_of_every_stack(mesas):
    s, r = mesas
    truth = s.metadata["truth"]
    assert r.ns.tolist() == list(STACKS)
    np.testing.assert_allclose(r.v_peak, [t["v_peak"] for t in truth], rtol=0.01)
    for b, e, t in zip(r.beta, r.beta_err, truth, strict=True):
        if np.isnan(t["beta"]):
            assert np.isnan(b)  # a broad equilibrium peak has no zero-baseline half maximum
        else:
            assert b == pytest.approx(t["beta"], abs=3 * e + 0.01 * t["beta"])
    assert r.regime[1] == "equilibrium" and r.regime[-1] == "heating"


def test_sin_correction_and_dwave_fit_recover_the_junction(mesas):
    _s, r = mesas
    assert r.sin_sweep == len(STACKS)
    assert r.delta0 == pytest.approx(TRUTH["delta0"], rel=0.005)
    assert r.G_N == pytest.approx(1 / TRUTH["r_n"], rel=0.005)
    assert r.gamma == pytest.approx(TRUTH["gamma0"], rel=0.1)
    back = MesaSummary.from_dict(r.to_dict())
    assert table_rows(back)[0][0] == "beta (N = 1)"


def test_simulator_reproduces_the_stacks(mesas):
    s, _r = mesas
    sim = simulate_summary()
    truth = {t["N"]: t for t in s.metadata["truth"]}
    for n, t in truth.items():
        k = sim.index(n)
        assert sim.v_peak[k] == pytest.approx(t["v_peak"], rel=1e-6)
        assert sim.t_at_peak[k] == pytest.approx(t["t_at_peak"], rel=1e-6)
        assert bool(sim.backbends[k]) == t["backbends"]
    assert len(sim.curves) == 30 and SimulationSummary.from_dict(sim.to_dict()).index(30) == 29


def test_gap_tables_are_read_and_checked(tmp_path):
    good = tmp_path / "gap.csv"
    good.write_text("# T, Delta, Gamma\n4.2, 0.024, 0.00055\n74, 0, 0.00055\n")
    (t, d), (_t, g) = read_gap_tables(str(good))
    assert t.tolist() == [4.2, 74.0] and d[0] == 0.024 and g[1] == 0.00055
    bad = tmp_path / "bad.csv"
    bad.write_text("4.2, 24, 0\n")
    with pytest.raises(AnalysisError):
        read_gap_tables(str(bad))
