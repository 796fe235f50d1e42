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
