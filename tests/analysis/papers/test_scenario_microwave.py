"""The synthetic microwave scenario: the panel's analysis recovers C, the amplitude scales and the gap
and the Tien-Gordon I(V) headlessly, a set cancel event stops it, and the figure command writes the figure
with its six panels."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from analysis.papers.microwave_workflow import (
    MicrowaveCancelled,
    MicrowaveSettings,
    analyse_microwave,
    result_from_dict,
    result_to_dict,
)
from analysis.papers.scenario_microwave import TRUTH, make_i0_series, make_microwave_series


@pytest.fixture(scope="module")
def series():
    return make_microwave_series(0)


@pytest.fixture(scope="module")
def result(series):
    return analyse_microwave(
        series, MicrowaveSettings(f=TRUTH["f"], delta=TRUTH["delta"]), i0=make_i0_series()
    )


def test_analysis_recovers_the_truth(result):
    r = result
    assert r.c == pytest.approx(TRUTH["c"], rel=2e-3)
    assert abs(r.c - TRUTH["c"]) < 4 * r.c_err
    assert r.josephson_scale == pytest.approx(TRUTH["josephson_scale"], rel=0.03)
    assert abs(r.josephson_scale - TRUTH["josephson_scale"]) < 4 * r.josephson_scale_err
    assert r.qp_scale == pytest.approx(TRUTH["qp_scale"], rel=0.05)
    assert abs(r.qp_scale - TRUTH["qp_scale"]) < 4 * r.qp_scale_err
    # the global scan lands in the right basin, and its error includes the bootstrap over the sweeps
    assert r.delta_fit == pytest.approx(TRUTH["delta"], rel=0.01)
    assert abs(r.delta_fit - TRUTH["delta"]) < 3 * r.delta_fit_err < 0.05 * TRUTH["delta"]
    m = 4 * TRUTH["delta"] / (4.135667696e-15 * TRUTH["f"])
    np.testing.assert_allclose(r.markers, np.arange(5) + m, rtol=1e-6)
    # Eq. 8 from I_0(V) at the calibrated V_rf reproduces the most strongly driven sweep to its noise
    assert r.tg_attenuation == 10.0 and r.tg_V.size > 1000
    assert r.tg_rms < 2e-3
    scalars, arrays = result_to_dict(r)
    assert result_from_dict(scalars, arrays).c == r.c


def test_cancel_stops_between_stages(series):
    ev = threading.Event()
    ev.set()
    with pytest.raises(MicrowaveCancelled):
        analyse_microwave(series, MicrowaveSettings(f=TRUTH["f"], delta=TRUTH["delta"]), cancel=ev)


def test_figure_command_writes_the_microwave_figure(tmp_path, capsys):
    from app.commands.figure import main_export_figure

    out = tmp_path / "mw.svg"
    assert main_export_figure(["--scenario", "microwave", "--export-figure", str(out)]) == 0
    text = out.read_text()
    for title in (
        "Steps vs attenuation",
        "Josephson steps vs 2 alpha",
        "Global gap scan",
        "Tien-Gordon I(V)",
        "Frequency slice, 2 alpha = 25.9",
        "Eq. 11: the Riedel peak",
    ):
        assert title in text
    assert "6 panels" in capsys.readouterr().out


def test_gap_error_covers_the_truth_over_noise_draws(result):
    """Delta from the step amplitudes of four more noise draws (V_rf from the calibrated C with its error):
    the truth lies within three reported standard errors each time, and the bootstrap error is at least
    the curvature error."""
    from analysis.models import microwave as mw
    from analysis.papers import microwave as pm

    for seed in (1, 2, 3, 4):
        s = make_microwave_series(seed)
        amps = np.array(
            [
                pm.step_amplitudes(
                    sw.channel("Voltage"), sw.channel("Current"), TRUTH["f"], orders=range(5)
                ).josephson_amplitude
                for sw in s.sweeps
            ]
        )
        v_rf = mw.rf_voltage_from_attenuation(np.asarray(s.tags["attenuation"], float), result.c)
        data = [(n, v_rf, amps[:, n]) for n in range(5)]
        rng = (0.9 * TRUTH["delta"], 1.1 * TRUTH["delta"])
        plain = pm.fit_gap_global(data, TRUTH["f"], delta_range=rng)
        fit = pm.fit_gap_global(
            data, TRUTH["f"], delta_range=rng, n_boot=30, v_rf_rel_err=result.c_err / result.c, seed=seed
        )
        assert abs(fit.delta - TRUTH["delta"]) < 3 * fit.delta_err < 0.01 * TRUTH["delta"]
        assert fit.delta_err >= plain.delta_err and fit.delta == plain.delta
