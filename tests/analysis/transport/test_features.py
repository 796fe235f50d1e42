"""Ladders, peak and step pickers and their values across a series, against the synthetic models."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.series import make_series
from analysis.transport import derivative
from analysis.transport.features import (
    find_peaks,
    find_steps,
    frequency_from_rung,
    gap_from_rung,
    gap_from_sgs,
    gap_ladder,
    shapiro_ladder,
    step_widths,
)
from tests.analysis.transport.synthetic import (
    NECK_FIELDS,
    SHAPIRO_F,
    neck_delta,
    neck_sweep,
    shapiro_step_halfwidth,
    shapiro_sweep,
)


def test_ladders_and_their_inverse():
    n, v = gap_ladder(1.35e-3, 3)
    assert list(n) == [-3, -2, -1, 1, 2, 3]
    np.testing.assert_allclose(v[3:], [2.7e-3, 1.35e-3, 0.9e-3])
    assert gap_from_rung(-0.9e-3, 3) == pytest.approx(1.35e-3)
    n, v = shapiro_ladder(10e9, 2)
    assert v[n == 1][0] == pytest.approx(20.678e-6, rel=1e-4)  # h f/2e at 10 GHz
    assert frequency_from_rung(v[n == -2][0], -2) == pytest.approx(10e9)
    with pytest.raises(ValueError):
        gap_from_rung(1e-3, 0)


def test_peak_picker_finds_the_subharmonic_gap_peaks_with_widths():
    i, v = neck_sweep(0.0)
    d = derivative(make_series([{"I": i, "V": v}], x_channel="I", units={"I": "A", "V": "V"}))
    r = d.sweeps[0].channel("dV/dI")
    peaks = find_peaks(v, r, x_range=(0.5e-3, 4e-3), prominence=0.05)
    delta = neck_delta(0.0)
    np.testing.assert_allclose([p.position for p in peaks], [2 * delta / 3, delta, 2 * delta], rtol=5e-3)
    assert all(0 < p.width < 0.3 * p.position for p in peaks) and all(p.height > 20 for p in peaks)
    dips = find_peaks(v, -r, minima=True, x_range=(0.5e-3, 4e-3), prominence=0.05)
    assert [p.position for p in dips] == pytest.approx([p.position for p in peaks])


def test_step_picker_and_shapiro_step_widths_across_rf_power():
    powers = [-20.0, -10.0, -5.0, 0.0]
    sweeps = [dict(zip(("I", "V"), shapiro_sweep(p))) for p in powers]
    s = make_series(sweeps, x_channel="I", units={"I": "A", "V": "V"}, tags={"P_rf": powers})
    i, v = shapiro_sweep(-10.0)
    steps = find_steps(i, v)
    zero = [st for st in steps if abs(st.level) < 1e-9]
    assert len(zero) == 1 and zero[0].centre == pytest.approx(0.0, abs=1e-8)
    di = i[1] - i[0]
    widths = step_widths(s, SHAPIRO_F, orders=(0, 1))
    for k, p in enumerate(powers):
        for n in (0, 1):
            assert widths[n][k] == pytest.approx(2 * shapiro_step_halfwidth(p, n), abs=2 * di)


def test_gap_of_every_sweep_from_its_subharmonic_gap_structure():
    sweeps = [dict(zip(("I", "V"), neck_sweep(h))) for h in NECK_FIELDS]
    s = make_series(sweeps, x_channel="I", units={"I": "A", "V": "V"}, tags={"H": NECK_FIELDS})
    delta, err = gap_from_sgs(derivative(s), "dV/dI", v_min=0.4e-3, n_max=3)
    np.testing.assert_allclose(delta, [neck_delta(h) for h in NECK_FIELDS], rtol=5e-3)
    assert np.all(err < 0.01 * delta)


def test_shapiro_step_widths_against_rf_voltage_give_back_the_critical_current():
    from analysis.fitting.single import fit_spectrum
    from analysis.models import get_model
    from tests.analysis.transport.synthetic import SHAPIRO_C, SHAPIRO_IC

    powers = np.linspace(-25.0, 5.0, 9)  # dBm
    sweeps = [dict(zip(("I", "V"), shapiro_sweep(p))) for p in powers]
    s = make_series(sweeps, x_channel="I", units={"I": "A", "V": "V"}, tags={"P_rf": powers})
    half = step_widths(s, SHAPIRO_F, orders=(0,))[0] / 2  # step amplitude I_J0 |J_0(2 alpha)|
    v_rf = SHAPIRO_C * 10 ** (s.tag("P_rf") / 20)
    settings = {"f": {"value": SHAPIRO_F, "vary": False}, "N": {"value": 0.0, "vary": False}}
    fit = fit_spectrum(get_model("shapiro_bessel"), v_rf, half, settings=settings)
    assert fit.record.value("I_J0") == pytest.approx(SHAPIRO_IC, rel=0.01)
