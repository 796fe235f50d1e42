"""The optional compiled kernel and the numpy path give the same grid averages (and the models run on
either)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.models import accel, sis_batch


def _case():
    x = np.linspace(-15e-3, 15e-3, 256)
    grid = sis_batch.make_grid(x, 2.1, 15e-3, 1)
    rng = np.random.default_rng(0)
    d = rng.uniform(1e-3, 8e-3, 16)
    g = rng.uniform(1e-6, 3e-4, 16)
    d[0] = 0.0  # no gap: N = 1
    return grid, d, g


@pytest.mark.skipif(not accel.AVAILABLE, reason="numba not installed")
def test_compiled_and_numpy_averages_agree(monkeypatch):
    grid, d, g = _case()
    fast = sis_batch.dynes_half_averages(grid, d, g, True)
    monkeypatch.setattr(accel, "AVAILABLE", False)
    slow = sis_batch.dynes_half_averages(grid, d, g, True)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9 * np.max(np.abs(b)))
    np.testing.assert_array_equal(fast[0][0], 1.0)


def test_numpy_path_alone(monkeypatch):
    monkeypatch.setattr(accel, "AVAILABLE", False)
    grid, d, g = _case()
    avg, dd, dg = sis_batch.dynes_half_averages(grid, d, g, True)
    assert avg.shape == dd.shape == dg.shape == (d.size, grid.m + 1)
    np.testing.assert_allclose(avg[0], 1.0)
    # far above the gaps the hat average is the DOS itself
    from analysis.models.numerics import dynes_dos

    e_last = grid.h * grid.m
    np.testing.assert_allclose(avg[:, -1], dynes_dos(e_last, d, g), rtol=1e-4)


@pytest.mark.skipif(not accel.AVAILABLE, reason="numba not installed")
def test_compiled_and_numpy_dwave_averages_agree(monkeypatch):
    grid, _, _ = _case()
    rng = np.random.default_rng(1)
    d0 = rng.uniform(2e-3, 8e-3, 6)
    d0[1] = -d0[1]  # the DOS depends on |Delta0|, its derivative carries the sign
    g = rng.uniform(1e-5, 3e-4, 6)
    a = rng.uniform(-0.5, 0.5, 6)
    names = ("a", "Delta0", "Gamma")
    calls = []
    kernel = accel.dwave_half_averages_compiled
    monkeypatch.setattr(accel, "dwave_half_averages_compiled", lambda *a: calls.append(1) or kernel(*a))
    fast = sis_batch.angle_side(grid, d0, g, a, 64, names)
    assert calls  # one compiled loop for the rows
    monkeypatch.setattr(accel, "AVAILABLE", False)
    slow = sis_batch.angle_side(grid, d0, g, a, 64, names)
    np.testing.assert_allclose(fast.N, slow.N, rtol=0, atol=1e-10 * np.max(slow.N))
    for nm in names:
        ref = slow.dN[nm]
        np.testing.assert_allclose(fast.dN[nm], ref, rtol=0, atol=1e-10 * np.max(np.abs(ref)))


@pytest.mark.skipif(not accel.AVAILABLE, reason="numba not installed")
@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_compiled_and_numpy_continued_fractions_agree(monkeypatch, order):
    from analysis.models import josephson

    rng = np.random.default_rng(2)
    x = rng.uniform(0.01, 30.0, (5, 1))
    nu = -1j * rng.uniform(-40, 40, (5, 64))
    calls = []
    kernel = accel.bessel_ratio_rows_compiled
    monkeypatch.setattr(accel, "bessel_ratio_rows_compiled", lambda *a: calls.append(1) or kernel(*a))
    fast = josephson._ratio_batch(nu, x, order)
    assert calls
    monkeypatch.setattr(accel, "AVAILABLE", False)
    slow = josephson._ratio_batch(nu, x, order)
    assert len(fast) == len(slow) == (1, 2, 3, 5)[order]
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14 * np.max(np.abs(b)))
