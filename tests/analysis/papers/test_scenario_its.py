"""The synthetic ITS scenario: the panel's analysis recovers the truth headlessly, and the figure command
writes the paper figure with its four panels."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.papers.its_workflow import ITSSettings, analyse_its, result_from_dict, result_to_dict
from analysis.papers.scenario_its import TRUTH, make_its_series


@pytest.fixture(scope="module")
def result():
    s = make_its_series(0)
    return analyse_its(s["rt"], s["iv"], s["brush"], ITSSettings(area=TRUTH["area"], eps=TRUTH["eps"]))


def test_analysis_recovers_the_truth(result):
    r = result
    assert r.h_a == pytest.approx(TRUTH["h_a"], rel=0.01)
    np.testing.assert_allclose(r.peak_V, TRUTH["peak_V"], rtol=0.03)
    np.testing.assert_allclose(r.fields, TRUTH["fields"])
    np.testing.assert_allclose(r.p_c, TRUTH["p_c"], rtol=0.03)
    assert np.all(np.abs(r.p_c - TRUTH["p_c"]) < 4 * r.p_c_err)
    assert r.spread < 1e-3  # the field scaling divides out: the curves collapse
    assert r.R1 == pytest.approx(TRUTH["R1"], abs=4 * r.R1_err)
    assert r.I_star == pytest.approx(TRUTH["I_star"], abs=4 * r.I_star_err)
    np.testing.assert_array_equal(np.rint(r.branch_R / r.R1), [1, 2, 3, 4])


def test_result_round_trips_through_plain_values(result):
    scalars, arrays = result_to_dict(result)
    back = result_from_dict(scalars, arrays)
    assert back.h_a == result.h_a and back.R1 == result.R1
    np.testing.assert_array_equal(back.collapse_R, result.collapse_R)


def test_figure_command_writes_the_its_figure(tmp_path, capsys):
    from analysis.figures.paper import figure_names
    from app.commands.figure import main_export_figure

    assert "its" in figure_names()
    out = tmp_path / "its.svg"
    assert main_export_figure(["--scenario", "its", "--export-figure", str(out)]) == 0
    text = out.read_text()
    for title in ("R(T) and the superposed I-V", "Heating spectrum", "Field collapse", "I-V brush"):
        assert title in text
    assert "4 panels" in capsys.readouterr().out
    pdf = tmp_path / "its.pdf"
    assert main_export_figure(["--scenario", "its", "--export-figure", str(pdf)]) == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_h_a_error_covers_the_truth_over_noise_draws():
    """hA by superposition on four noise draws of R(T) and the I-Vs: the truth lies within three reported
    standard errors (the error of the smoothed R(T), common to all points, is carried through), and the
    error stays below 0.2 %."""
    from analysis.papers import its
    from analysis.papers.its_workflow import iv_curves, rt_curve
    from analysis.papers.scenario_its import make_field_series, make_rt_series

    for seed in (1, 2, 3, 4):
        T, R = rt_curve(make_rt_series(seed))
        v, i = iv_curves(make_field_series(seed))[0]
        fit = its.fit_h_a(v, i, TRUTH["t_bath"], T, R)
        assert abs(fit.h_a - TRUTH["h_a"]) < 3 * fit.h_a_err
        assert fit.h_a_err < 0.002 * TRUTH["h_a"]
