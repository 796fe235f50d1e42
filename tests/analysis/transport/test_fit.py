"""Fits across a series: shared and per-sweep parameters recovered from the model's own guess."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from analysis.errors import FitError
from analysis.fitting import FitCancelled
from analysis.models import get_model
from analysis.series import make_series
from analysis.transport import fit_series
from analysis.transport.fitting import SeriesFit

FIELDS = (0.0, 0.05, 0.1, 0.15)  # T
G_N, GAMMA, T = 2e-8, 6e-5, 1.5
HELD = {"T": T, "V0": 0.0, "b1": 0.0, "b2": 0.0}


def delta_of(h: float) -> float:
    return 1.35e-3 * np.sqrt(1 - (h / 0.2) ** 2)


def gap_series(rng, shifted_x: bool = False):
    """Dynes dI/dV of a gap closing in field; G_N and Gamma common, Delta(H) per sweep, 0.1 % noise."""
    m = get_model("dynes_sin")
    sweeps = []
    for k, h in enumerate(FIELDS):
        v = np.linspace(-6e-3, 6e-3, 241) + (k * 1e-5 if shifted_x else 0.0)
        g = m(v, G_N=G_N, Delta=delta_of(h), Gamma=GAMMA, T=T)
        sweeps.append({"V": v, "dI/dV": g + rng.normal(0, 2e-11, v.size)})
    return make_series(sweeps, x_channel="V", units={"V": "V", "dI/dV": "S"}, tags={"H": FIELDS})


def test_shared_parameters_are_recovered_from_the_models_guess(rng):
    s = gap_series(rng)
    seen = []
    fit = fit_series(
        s, "dynes_sin", shared=("G_N", "Gamma"), fixed=HELD, progress=lambda d, n: seen.append((d, n))
    )
    assert fit.method == "global" and fit.success.all()
    np.testing.assert_allclose(fit.value("Delta"), [delta_of(h) for h in FIELDS], rtol=2e-3)
    np.testing.assert_allclose(fit.value("G_N"), G_N, rtol=2e-3)
    np.testing.assert_allclose(fit.value("Gamma"), GAMMA, rtol=0.05)
    assert np.all(fit.error("Delta") > 0) and np.all(np.isnan(fit.error("T")))
    assert len(set(fit.value("Gamma"))) == 1  # one value shared by every sweep
    assert seen and seen[-1][0] == seen[-1][1]
    rows = fit.table()
    assert rows[2]["H"] == 0.1 and rows[2]["Delta"] == fit.value("Delta")[2] and "Delta_err" in rows[2]
    back = SeriesFit.from_dict(fit.to_dict())
    np.testing.assert_array_equal(back.values, fit.values)
    assert back.tags["H"].tolist() == list(FIELDS)


def test_per_sweep_fit_uses_the_batch_engine(rng):
    s = gap_series(rng)
    fit = fit_series(s, "dynes_sin", fixed=HELD)
    assert fit.method == "batch" and fit.success.all()
    np.testing.assert_allclose(fit.value("Delta"), [delta_of(h) for h in FIELDS], rtol=2e-3)
    np.testing.assert_allclose(fit.value("Gamma"), GAMMA, rtol=0.1)


def test_expressions_and_sweeps_with_their_own_x(rng):
    s = gap_series(rng, shifted_x=True)
    fit = fit_series(
        s,
        "dynes_sin",
        sweeps=[0, 2],
        shared=("G_N",),
        fixed=HELD,
        expressions={"Gamma": "Delta_{i} * 0.0444"},
    )
    assert fit.method == "global" and list(fit.sweeps) == [0, 2]
    np.testing.assert_allclose(fit.value("Gamma"), 0.0444 * fit.value("Delta"))
    np.testing.assert_allclose(fit.value("Delta"), [delta_of(0.0), delta_of(0.1)], rtol=0.02)


def test_fit_cancel_and_bad_set_up(rng):
    s = gap_series(rng)
    ev = threading.Event()
    ev.set()
    with pytest.raises(FitCancelled):
        fit_series(s, "dynes_sin", shared=("G_N",), fixed=HELD, cancel=ev)
    with pytest.raises(FitCancelled):
        fit_series(s, "dynes_sin", fixed=HELD, cancel=ev)
    with pytest.raises(FitError, match="no parameter 'Delta0'"):
        fit_series(s, "dynes_sin", shared=("Delta0",))
    with pytest.raises(FitError, match="no channel in A"):
        fit_series(s, "sis_current")


def test_neck_excess_current_with_a_shared_normal_conductance():
    from tests.analysis.transport.synthetic import NECK_RN, NECK_STEP, neck_delta, neck_sweep

    fields = (0.0, 0.06, 0.12)
    sweeps = [dict(zip(("I", "V"), neck_sweep(h, n=1401, i_max=1.4e-3))) for h in fields]
    s = make_series(sweeps, x_channel="I", units={"I": "A", "V": "V"}, tags={"H": fields})
    fit = fit_series(s, "excess_current_line", x="V", y="I", shared=("G_N",), fit_range=(12e-3, 30e-3))
    # I = V/R_N + I_exc far above the gap: I_exc = 0.3 Delta/(e R_N) - sum_n 2 NECK_STEP Delta/(e R_N n)
    i_exc = [neck_delta(h) / NECK_RN * (0.3 - 2 * NECK_STEP * (1 + 1 / 2 + 1 / 3)) for h in fields]
    np.testing.assert_allclose(fit.value("G_N"), 1 / NECK_RN, rtol=1e-5)  # tanh tails at 12 mV
    np.testing.assert_allclose(fit.value("I_exc"), i_exc, rtol=3e-4)


def test_a_series_fit_is_stored_as_a_project_record(rng):
    from analysis.store.records import records_attachment, records_from_attachment

    fit = fit_series(gap_series(rng), "dynes_sin", fixed=HELD)
    items, warnings = records_from_attachment(records_attachment({"gap vs H": fit}))
    back = items["gap vs H"]
    assert warnings == [] and isinstance(back, SeriesFit)
    np.testing.assert_array_equal(back.value("Delta"), fit.value("Delta"))
    assert back.method == "batch" and back.tag_units == {"H": "T"}
