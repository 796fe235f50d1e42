"""Single-spectrum fits through lmfit: record, report, serialisation, warnings, cancel."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from analysis.errors import FitError
from analysis.fitting.batch import FitCancelled
from analysis.fitting.single import FitRecord, fit_spectrum
from tests.analysis.fitting._models import Lorentzian, synthetic


def test_fit_recovers_and_reports():
    x, Y, P = synthetic(n=1, noise=0.003, seed=21)
    fit = fit_spectrum(Lorentzian(), x, Y[0], source="pixel (3, 4)")
    rec = fit.record
    assert rec.success and not rec.warnings
    for j, name in enumerate(["A", "x0", "w", "c"]):
        p = rec.param(name)
        assert abs(p.value - P[0, j]) < 5 * p.stderr
    assert abs(rec.redchi / 0.003**2 - 1) < 0.4
    assert rec.correlations["A"]["w"] < -0.3  # amplitude and width anticorrelate
    text = rec.report()
    assert "x0" in text and "+/-" in text and "pixel (3, 4)" in text
    assert fit.residual.shape == fit.x.shape == fit.best.shape
    np.testing.assert_allclose(fit.y - fit.best, fit.residual)
    assert fit.model_all.shape == x.shape


def test_record_round_trips_through_json():
    x, Y, _ = synthetic(n=1, seed=22)
    rec = fit_spectrum(Lorentzian(), x, Y[0], fit_range=(-0.7, 0.7), weights=np.full(x.size, 2.0)).record
    back = FitRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert back == rec
    assert back.fit_range == (-0.7, 0.7) and back.weighted
    assert back.ndata == np.sum((x >= -0.7) & (x <= 0.7))


def test_settings_fix_and_bound_warnings():
    x, Y, P = synthetic(n=1, noise=0.002, seed=23)
    fit = fit_spectrum(
        Lorentzian(), x, Y[0], settings={"c": {"value": 0.0, "vary": False}, "w": {"max": 0.5 * P[0, 2]}}
    )
    rec = fit.record
    assert rec.value("c") == 0.0 and not rec.param("c").vary
    assert rec.value("w") <= 0.5 * P[0, 2] * (1 + 1e-9)
    assert any("w is at its upper bound" in w for w in rec.warnings)
    assert "Warnings" in rec.report()


def test_expression_constraint():
    x, Y, _ = synthetic(n=1, seed=24)
    rec = fit_spectrum(Lorentzian(), x, Y[0], settings={"c": {"expr": "0.1*A"}}).record
    assert rec.value("c") == pytest.approx(0.1 * rec.value("A"))


def test_cancel_and_bad_input():
    x, Y, _ = synthetic(n=1, seed=25)
    ev = threading.Event()
    ev.set()
    with pytest.raises(FitCancelled):
        fit_spectrum(Lorentzian(), x, Y[0], cancel=ev)
    with pytest.raises(FitError, match="usable data points"):
        fit_spectrum(Lorentzian(), x, np.full(x.size, np.nan))
    with pytest.raises(FitError, match="no parameter"):
        fit_spectrum(Lorentzian(), x, Y[0], settings={"nope": {"value": 1}})


def test_at_bound_is_judged_on_the_parameter_scale_not_the_span_of_its_bounds():
    from analysis.fitting.single import _at_bound

    # five decades above a lower bound of 1e-12 (bounds spanning 12 decades): not at the bound
    assert not _at_bound(1e-7, 1e-12, 1.0, default=1e-3)
    assert _at_bound(1e-12 * (1 + 1e-9), 1e-12, 1.0, default=1e-3)
    assert _at_bound(1.0, 0.0, 1.0, default=0.5)
    assert _at_bound(1e-12, 0.0, 1.0, default=0.5)  # a bound at zero: a millionth of the default
    assert not _at_bound(1e-3, 0.0, 1.0, default=0.5)


def test_the_chi_square_against_the_noise_tells_a_good_fit_from_a_nonsense_one():
    import numpy as np

    from analysis.fitting.single import fit_spectrum, noise_of
    from analysis.models.registry import get_model

    model = get_model("dynes_sin")
    v = np.linspace(-4e-3, 4e-3, 401)
    truth = {p.name: p.default for p in model.params}
    truth.update({"Delta": 1.2e-3, "Gamma": 0.08e-3, "G_N": 1e-6})
    clean = model.evaluate(v, **truth)
    sigma = 0.01 * float(np.max(clean))
    y = clean + sigma * np.random.default_rng(5).standard_normal(v.size)
    assert noise_of(y) == pytest.approx(sigma, rel=0.2)
    good = fit_spectrum(model, v, y).record
    assert 0.7 < good.noise_redchi < 1.4 and "scatter" in good.noise_source
    assert "Reduced chi-square against the noise" in good.report()
    # the same data against a model that cannot describe it (a straight line of the wrong slope)
    settings = {"Delta": {"value": 1e-5, "vary": False}, "Gamma": {"value": 5e-3, "vary": False}}
    bad = fit_spectrum(model, v, y, settings=settings).record
    assert bad.noise_redchi > 20 * good.noise_redchi
    given = fit_spectrum(model, v, y, noise=sigma, noise_source="from the region's standard deviation").record
    assert given.noise == sigma and given.noise_source.startswith("from the region")
