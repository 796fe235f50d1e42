"""The contract every registered model fulfils (parametrised over the whole registry).

* finite output at the defaults and with each parameter at either declared bound;
* ``guess`` returns every parameter, finite and inside the bounds;
* recovery of known parameters from noisy synthetic data through the fit dock's path: the model's
  ``contract_recover`` parameters are fitted from the model's own ``guess`` (or a documented distant start
  when the guess is already right), the others held at their true values; every one must come out within 3
  standard errors, with a standard error below ``contract_rtol`` of its value (times the noise level), over
  two seeds and two noise levels (1x and 4x ``contract_noise`` times the signal's peak-to-peak), and the
  start must have been wrong;
* ``describe`` and the value record survive a JSON round trip; the batch API agrees with ``evaluate``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from analysis.models.base import Model
from analysis.models.registry import registry

NAMES = sorted(registry().names())


def model(name: str) -> Model:
    return registry().get(name)


def truth(m: Model) -> dict[str, float]:
    vals = m.defaults()
    vals.update(m.contract_values or {})
    return vals


def x_axis(m: Model) -> np.ndarray:
    x = np.asarray(m.example_x(), dtype=float)
    assert x.ndim == 1 and x.size >= 2 and np.all(np.isfinite(x))
    return x


def test_registry_is_not_empty():
    assert len(NAMES) >= 9


@pytest.mark.parametrize("name", NAMES)
def test_declaration(name):
    m = model(name)
    assert m.name == name and m.title and m.family
    assert m.params, "a model needs parameters"
    assert len(set(m.param_names)) == len(m.param_names)
    lo, hi = m.bounds()
    for p in m.params:
        assert p.min <= p.default <= p.max, p.name
        assert isinstance(p.unit, str)
    assert np.all(lo <= hi)
    assert m.formula or m.__doc__, "the formula belongs in the model"
    rec = m.contract_recover
    assert rec is None or set(rec) <= set(m.param_names)


@pytest.mark.parametrize("name", NAMES)
def test_finite_over_bounds(name):
    m = model(name)
    x = x_axis(m)
    base = truth(m)
    y = m(x, **base)
    assert y.shape == x.shape and np.all(np.isfinite(y)), "defaults"
    for p in m.params:
        for bound in (p.min, p.max):
            if not math.isfinite(bound) or bound == base[p.name]:
                continue
            y = m(x, **{**base, p.name: bound})
            assert y.shape == x.shape, (p.name, bound)
            assert np.all(np.isfinite(y)), f"non-finite output with {p.name} = {bound}"


@pytest.mark.parametrize("name", NAMES)
def test_guess_within_bounds(name):
    m = model(name)
    x = x_axis(m)
    y = m(x, **truth(m))
    g = m.guess(x, y)
    assert set(g) >= set(m.param_names)
    for p in m.params:
        v = g[p.name]
        assert math.isfinite(v), p.name
        assert p.min <= v <= p.max, f"{p.name} = {v} outside [{p.min}, {p.max}]"


@pytest.mark.parametrize("name", NAMES)
def test_batch_api_agrees_with_evaluate(name):
    m = model(name)
    x = x_axis(m)
    t = truth(m)
    P = np.array([[t[n] for n in m.param_names]] * 2)
    Y = m.evaluate_batch(x, P)
    assert Y.shape == (2, x.size)
    np.testing.assert_allclose(Y[0], m(x, **t), rtol=1e-9, atol=1e-30)
    J = m.jacobian_batch(x, P)
    if J is not None:
        assert J.shape == (2, x.size, len(m.params))
        assert np.all(np.isfinite(J))


@pytest.mark.parametrize("name", NAMES)
def test_serialisation_round_trip(name):
    m = model(name)
    d = json.loads(json.dumps(m.describe()))
    assert d["name"] == name and [p["name"] for p in d["params"]] == m.param_names
    assert d == json.loads(json.dumps(d))
    vals = truth(m)
    rec = json.loads(json.dumps(m.serialise_values(vals)))
    assert m.deserialise_values(rec) == {k: float(vals[k]) for k in m.param_names}
    with pytest.raises(ValueError):
        m.deserialise_values({**rec, "model": name + "_other"})


#: Seeds and noise levels (multiples of the model's ``contract_noise``) of the recovery test.
SEEDS = (11, 12)
NOISE_LEVELS = (1.0, 4.0)
#: Models whose four recovery fits take more than a few seconds.
SLOW_FAMILIES = {"d-wave"}


def _recovery_cases():
    out = []
    for name in NAMES:
        m = model(name)
        free = m.contract_recover
        if free is None:
            free = tuple(p.name for p in m.params if p.vary)
        if not free:
            continue
        marks = [pytest.mark.slow] if m.family in SLOW_FAMILIES else []
        out.append(pytest.param(name, free, marks=marks, id=name))
    return out


def _scale(m: Model, name: str, t: float) -> float:
    p = m.param(name)
    return abs(t) if t != 0 else (p.max - p.min if math.isfinite(p.max - p.min) else 1.0)


def _distant_start(m: Model, free, true: dict[str, float]) -> dict[str, float]:
    """The documented distant start: every free parameter 30 % above its true value (or 10 % of its bounds'
    span above 0), inside the bounds. Used when the model's guess already recovers the data."""
    out = {}
    for n in free:
        p = m.param(n)
        t = true[n]
        span = p.max - p.min if math.isfinite(p.max - p.min) else 1.0
        v = t * 1.3 if t != 0 else t + 0.1 * span
        if v > p.max:
            v = t * 0.7 if t != 0 else t - 0.1 * span
        out[n] = min(max(v, p.min), p.max)
    return out


@pytest.mark.parametrize(("name", "free"), _recovery_cases())
def test_recovers_known_parameters_from_its_guess(name, free):
    """A fit in the fit dock's path (:func:`fit_spectrum`) starting from the model's ``guess`` on the noisy
    data recovers every free parameter within 3 standard errors, over two seeds and two noise levels; the
    standard error must be below the model's ``contract_rtol`` times the noise level (a degenerate fit with
    huge errors fails),
    and the start must be a wrong answer (more than 3 standard errors off in some parameter), so that the
    test cannot pass without fitting. When ``guess`` already lands within 3 standard errors everywhere, the
    fit starts from :func:`_distant_start` instead. Parameters outside ``free`` are fixed at the truth."""
    from analysis.fitting.single import fit_spectrum

    m = model(name)
    x = x_axis(m)
    true = truth(m)
    clean = m(x, **true)
    held = {n: {"value": true[n], "vary": False} for n in m.param_names if n not in free}
    for n in free:
        held[n] = {"vary": True}
    for seed in SEEDS:
        for level in NOISE_LEVELS:
            rng = np.random.default_rng(seed)
            peak = max(float(np.ptp(clean)), float(np.max(np.abs(clean))) * 1e-3, 1e-300)
            sigma = level * m.contract_noise * peak
            y = clean + rng.normal(0.0, sigma, x.size)
            w = np.full(x.size, 1.0 / sigma)
            fit = fit_spectrum(m, x, y, settings=held, weights=w)
            rec = fit.record
            start = {p.name: p.init for p in rec.params}
            se = {p.name: p.stderr for p in rec.params}
            if all(abs(start[n] - true[n]) <= 3 * se[n] for n in free if math.isfinite(se[n])):
                settings = {
                    **held,
                    **{n: {"value": v, "vary": True} for n, v in _distant_start(m, free, true).items()},
                }
                fit = fit_spectrum(m, x, y, settings=settings, weights=w)
                rec = fit.record
                start = {p.name: p.init for p in rec.params}
            where = f"seed {seed}, noise x{level}"
            assert rec.success, f"{where}: {rec.message}"
            off = []
            for n in free:
                p = rec.param(n)
                t = true[n]
                assert math.isfinite(p.stderr) and p.stderr > 0, f"{where}: no standard error for {n}"
                assert p.stderr <= level * m.contract_rtol * _scale(m, n, t), (
                    f"{where}: {n} +/- {p.stderr} is no recovery"
                )
                assert abs(p.value - t) <= 3 * p.stderr, f"{where}: {n} = {p.value} +/- {p.stderr}, true {t}"
                off.append(abs(start[n] - t) > 3 * p.stderr)
            assert any(off), (
                f"{where}: the start {start} already was the answer (the fit did not have to move)"
            )
