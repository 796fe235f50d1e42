"""The contract every registered model fulfils (parametrised over the whole registry).

* finite output at the defaults and with each parameter at either declared bound;
* ``guess`` returns every parameter, finite and inside the bounds;
* recovery of known parameters from noisy synthetic data (the model's ``contract_recover`` parameters are
  fitted from a start 5 % off the truth, the others held at their true values; tolerance
  ``contract_rtol``; Gaussian noise of ``contract_noise`` times the signal's peak-to-peak);
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


def _recovery_cases():
    out = []
    for name in NAMES:
        m = model(name)
        free = m.contract_recover
        if free is None:
            free = tuple(p.name for p in m.params if p.vary)
        if not free:
            continue
        cost = "slow" if m.family in {"d-wave", "Two-band"} else None
        marks = [pytest.mark.slow] if cost else []
        out.append(pytest.param(name, free, marks=marks, id=name))
    return out


@pytest.mark.parametrize(("name", "free"), _recovery_cases())
def test_recovers_known_parameters(name, free):
    m = model(name)
    x = x_axis(m)
    true = truth(m)
    clean = m(x, **true)
    rng = np.random.default_rng(20240601)
    sigma = m.contract_noise * max(float(np.ptp(clean)), float(np.max(np.abs(clean))) * 1e-3, 1e-300)
    y = clean + rng.normal(0.0, sigma, x.size)
    start = {}
    for n in free:
        p = m.param(n)
        t = true[n]
        span = p.max - p.min if math.isfinite(p.max - p.min) else 1.0
        start[n] = t * 1.05 if t != 0 else t + 0.05 * span
    start = m.clip_to_bounds({**true, **start})
    params = m.make_params(**{k: (start[k] if k in free else true[k]) for k in m.param_names})
    for n in m.param_names:
        params[n].set(vary=n in free)
    res = m.lmfit_model().fit(y, params, x=x, weights=np.full(x.size, 1.0 / sigma))
    for n in free:
        t = true[n]
        p = m.param(n)
        scale = abs(t) if t != 0 else (p.max - p.min if math.isfinite(p.max - p.min) else 1.0)
        got = res.params[n].value
        assert abs(got - t) <= m.contract_rtol * scale, f"{n}: fitted {got}, true {t}"
