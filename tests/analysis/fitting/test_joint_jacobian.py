"""Batch fits of models that give their Jacobian with their values (``fit_values_and_jacobian``): one model
pass per trial point, the same fit as with separate passes."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.fitting.batch import FitOptions, fit_batch, guess_starts
from analysis.models.registry import get_model


class _Counting:
    """Wraps a model, counting the rows of its passes; ``joint=False`` hides ``fit_values_and_jacobian``."""

    def __init__(self, model, joint: bool):
        self._m = model
        self._joint = joint
        self.passes = 0

    def __getattr__(self, name):
        return getattr(self._m, name)

    def evaluate_batch(self, x, P):
        self.passes += P.shape[0]
        return self._m.evaluate_batch(x, P)

    def fit_jacobian_columns(self, x, P, columns):
        self.passes += P.shape[0]
        return self._m.fit_jacobian_columns(x, P, columns)

    def fit_values_and_jacobian(self, x, P, columns):
        if not self._joint:
            return None
        self.passes += P.shape[0]
        return self._m.fit_values_and_jacobian(x, P, columns)


def _case(name: str, n: int = 12):
    m = get_model(name)
    x = np.linspace(m.example_x().min(), m.example_x().max(), 128)
    t = {**m.defaults(), **(m.contract_values or {})}
    P = np.tile([t[k] for k in m.param_names], (n, 1))
    gap = next((k for k in m.param_names if k.startswith("Delta")), "R")
    P[:, m.param_names.index(gap)] *= np.linspace(0.9, 1.1, n)
    Y = m.evaluate_batch(x, P)
    Y += 0.01 * np.median(np.abs(Y)) * np.random.default_rng(0).standard_normal(Y.shape)
    return m, x, Y


@pytest.mark.parametrize("name", ["dynes_sin", "dwave_sin", "sis_conductance", "iz_conductance"])
def test_one_pass_per_trial_point_and_the_same_fit(name):
    m, x, Y = _case(name)
    free = m.contract_recover or tuple(p.name for p in m.params if p.vary)
    t = {**m.defaults(), **(m.contract_values or {})}
    opts = FitOptions(fixed={k: t[k] for k in m.param_names if k not in free and m.param(k).vary})
    P0 = guess_starts(m, x, Y, opts)
    joint, separate = _Counting(m, True), _Counting(m, False)
    a = fit_batch(joint, x, Y, P0, opts)
    b = fit_batch(separate, x, Y, P0, opts)
    assert np.all(a.success) and np.all(b.success)
    np.testing.assert_array_equal(a.nfev, b.nfev)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-9, atol=0)
    # a pass per iteration (plus the start) instead of a value pass and a Jacobian pass per accepted step
    assert joint.passes <= 0.7 * separate.passes


@pytest.mark.parametrize("name", ["dynes_sin", "dwave_sin", "dwave_sis_conductance", "iz_conductance"])
def test_joint_values_and_columns_are_the_separate_ones(name):
    m, x, _ = _case(name, 3)
    t = {**m.defaults(), **(m.contract_values or {})}
    P = np.tile([t[k] for k in m.param_names], (3, 1))
    cols = np.array([2, 0, 1])
    F, J = m.fit_values_and_jacobian(x, P, cols)
    np.testing.assert_allclose(F, m.evaluate_batch(x, P), rtol=1e-12, atol=0)
    Js = m.fit_jacobian_columns(x, P, cols)
    np.testing.assert_allclose(J, Js, rtol=1e-12, atol=1e-12 * np.max(np.abs(Js)))


@pytest.mark.parametrize("name", ["dwave_sin", "iz_conductance"])
def test_the_start_takes_one_pass_for_values_and_jacobian(name):
    """The start of a batch fit is one joint pass (values and Jacobian), not a value pass and a Jacobian
    pass: the passes are one per row for the start and one per trial point."""
    m, x, Y = _case(name)
    free = m.contract_recover or tuple(p.name for p in m.params if p.vary)
    t = {**m.defaults(), **(m.contract_values or {})}
    opts = FitOptions(fixed={k: t[k] for k in m.param_names if k not in free and m.param(k).vary})
    P0 = guess_starts(m, x, Y, opts)
    joint = _Counting(m, True)
    full = fit_batch(joint, x, Y, P0, opts)
    # the passes are the start (one per row) and one per trial point
    assert joint.passes == Y.shape[0] + int(np.sum(full.nfev - 1))
