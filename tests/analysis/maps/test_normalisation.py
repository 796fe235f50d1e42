"""Normalisation modes and offsets."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.maps.normalisation import (
    Normalisation,
    auto_offset,
    normalisation_factor,
    normalise,
    offset_stack,
)

V = np.linspace(-10e-3, 10e-3, 201)


def _spectra():
    g1 = 1.0 + np.exp(-((V / 3e-3) ** 2))
    g2 = 2.0 * g1
    return np.vstack([g1, g2])


def test_at_bias_interpolates():
    y = _spectra()
    out, _ = normalise(V, y, Normalisation("at_bias", at=0.0))
    np.testing.assert_allclose(out[:, 100], [1.0, 1.0])
    f = normalisation_factor(V, y[0], Normalisation("at_bias", at=0.05e-3))  # between two points
    assert f == pytest.approx(0.5 * (y[0, 100] + y[0, 101]))
    with pytest.raises(ValueError, match="outside the sweep"):
        normalise(V, y, Normalisation("at_bias", at=0.5))


def test_high_bias_window_uses_both_polarities():
    y = _spectra()
    y[0, V < -8e-3] = 3.0
    y[0, V > 8e-3] = 5.0
    f = normalisation_factor(V, y, Normalisation("high_bias", window=(8.05e-3, 10e-3)))
    assert f[0] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="no sweep point"):
        normalisation_factor(V, y, Normalisation("high_bias", window=(20e-3, 30e-3)))


def test_area_and_max():
    y = _spectra()
    out, _ = normalise(V, y, Normalisation("area"))
    np.testing.assert_allclose(np.trapezoid(out, V, axis=1) / (V[-1] - V[0]), [1.0, 1.0])
    np.testing.assert_allclose(out[0], out[1])  # scale-free
    out, _ = normalise(V, y, Normalisation("max"))
    np.testing.assert_allclose(out.max(axis=1), [1.0, 1.0])


def test_std_scaled_with_the_same_factor():
    y = _spectra()[1]
    std = 0.1 * np.ones_like(y)
    out, s = normalise(V, y, Normalisation("max"), std)
    np.testing.assert_allclose(s, 0.1 / y.max())
    assert out.shape == y.shape


def test_none_and_bad_mode():
    y = _spectra()
    out, s = normalise(V, y, Normalisation("none"))
    np.testing.assert_array_equal(out, y)
    assert s is None
    with pytest.raises(ValueError, match="unknown normalisation"):
        Normalisation("log")
    with pytest.raises(ValueError, match="points"):
        normalise(V[:-1], y, Normalisation("max"))


def test_offsets():
    y = np.zeros((3, 4))
    np.testing.assert_array_equal(offset_stack(y, 0.5)[:, 0], [0.0, 0.5, 1.0])
    y = _spectra()
    assert auto_offset(y, 0.5) == pytest.approx(0.5 * np.ptp(y[1]))
    assert auto_offset(np.full((2, 3), np.nan)) == 0.0
