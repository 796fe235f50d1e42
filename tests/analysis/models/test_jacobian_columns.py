"""``jacobian_columns`` (what fitters call, with the free parameters only) gives the same derivatives as the
matching columns of ``jacobian_batch`` for every registered model with a Jacobian, whatever the subset."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.models.registry import registry

WITH_JACOBIAN = sorted(m.name for m in registry().items() if m.has_jacobian)


@pytest.mark.parametrize("name", WITH_JACOBIAN)
def test_columns_match_the_full_jacobian(name):
    m = registry().get(name)
    x = np.asarray(m.example_x(), dtype=float)[::3]
    t = {**m.defaults(), **(m.contract_values or {})}
    P = np.array([[t[k] for k in m.param_names]] * 2, dtype=float)
    full = m.jacobian_batch(x, P)
    k = len(m.params)
    free = np.array([j for j, p in enumerate(m.params) if p.vary])
    for cols in (np.arange(k), free, free[::-1], np.array([k - 1])):
        if cols.size == 0:
            continue
        got = m.jacobian_columns(x, P, cols)
        np.testing.assert_allclose(got, full[..., cols], rtol=1e-10, atol=1e-300)


def test_josephson_qp_jacobian_matches_finite_differences():
    m = registry().get("josephson_qp_conductance")
    x = np.linspace(-6e-3, 6e-3, 121)
    t = {**m.defaults(), **(m.contract_values or {}), "G_N": 2e-5}
    P = np.array([[t[k] for k in m.param_names]])
    J = m.jacobian_batch(x, P)
    for j, name in enumerate(m.param_names):
        step = 1e-5 * max(abs(P[0, j]), 1e-9)
        up, dn = P.copy(), P.copy()
        up[0, j] += step
        dn[0, j] -= step
        fd = (m.evaluate_batch(x, up) - m.evaluate_batch(x, dn)) / (2 * step)
        # the SIS background's own grid follows its gaps: its derivatives agree to ~1e-3 only
        tol = 5e-3 if name in ("Delta_t", "Delta_s", "T") else 1e-4
        assert np.max(np.abs(fd - J[..., j])) <= tol * (np.max(np.abs(fd)) + 1e-30), name
