"""d-wave DOS and models (PHYSICS section 4, [MESA])."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.models.dwave import (
    DWaveDOS,
    DWaveSIN,
    DWaveSISConductance,
    DWaveSISCurrent,
    default_n_phi,
    dwave_dos,
    dwave_dos_closed_form,
    dwave_dos_gamma0,
)
from analysis.models.numerics import dynes_dos

D0 = 24e-3
G = 0.55e-3


def test_zero_bias_log_formula():
    assert float(dwave_dos(0.0, D0, G)) == pytest.approx(0.075304, abs=2e-6)
    approx = 2 * G / (math.pi * D0) * math.log(4 * D0 / G)
    assert approx == pytest.approx(0.07530, abs=1e-4)


def test_closed_form_equals_quadrature():
    E = np.array([-30e-3, -23.5e-3, -10e-3, 0.0, 5e-3, 20e-3, 24e-3, 40e-3])
    np.testing.assert_allclose(dwave_dos(E, D0, G), dwave_dos_closed_form(E, D0, G), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        dwave_dos(E, D0, 2e-3, n_phi=256), dwave_dos_closed_form(E, D0, 2e-3), rtol=1e-6
    )


def test_gamma_zero_real_closed_form():
    x = np.array([0.1, 0.5, 0.9, 1.3, 3.0])
    np.testing.assert_allclose(
        dwave_dos_gamma0(x * D0, D0), dwave_dos_closed_form(x * D0, D0, 1e-12 * D0), rtol=1e-6
    )
    # low energy: N ~ |E| / Delta0 (slope 1)
    assert float(dwave_dos(1e-4 * D0, D0, 0.0)) / 1e-4 == pytest.approx(1.0, rel=1e-3)
    # log singularity at Delta0
    assert dwave_dos(np.array([0.9999 * D0]), D0, 0.0)[0] > 3.0
    # even in E and 1 at large energies
    E = np.linspace(-3 * D0, 3 * D0, 301)
    n = dwave_dos(E, D0, G)
    np.testing.assert_allclose(n, n[::-1], rtol=1e-12)
    assert dwave_dos(np.array([50 * D0]), D0, G)[0] == pytest.approx(1.0, abs=1e-3)


def test_directional_weight():
    # a = 0 is the isotropic DOS; a > 0 (antinodes) deepens the low-energy V and sharpens the peak
    E = np.array([0.2 * D0, 1.0 * D0])
    iso = dwave_dos(E, D0, G, a=0.0, n_phi=512)
    anti = dwave_dos(E, D0, G, a=0.8, n_phi=512)
    assert anti[0] < iso[0] and anti[1] > iso[1]
    # an angle-independent gap makes any weight irrelevant: n_phi = 1 is the Dynes DOS
    np.testing.assert_allclose(dwave_dos(E, D0, G, n_phi=1), dynes_dos(E, D0 * math.cos(math.pi / 4), G))
    assert default_n_phi(D0, G) == math.ceil(8 * D0 / G)
    assert default_n_phi(D0, 1e-3 * D0) <= 4096


def test_grid_average_close_to_point_values_for_smooth_dos():
    dos = DWaveDOS(D0, 2e-3)
    E = np.linspace(-60e-3, 60e-3, 1201)
    h = E[1] - E[0]
    np.testing.assert_allclose(dos.grid_average(E, h), dos(E), rtol=3e-3)
    # the symmetric-grid shortcut is exact
    np.testing.assert_allclose(dos.grid_average(E, h), dos.grid_average(E + 1e-12, h), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("gamma", "a", "vpk", "height"),
    [(0.55e-3, 0.0, 45.0e-3, 1.84), (0.1e-3, 0.0, 46.7e-3, None), (0.55e-3, 0.8, 46.2e-3, 3.0)],
)
def test_sis_peak_below_two_delta(gamma, a, vpk, height):
    x = np.linspace(35e-3, 55e-3, 201)
    g = DWaveSISConductance()(x, G_N=1.0, Delta0_t=D0, Delta0_s=D0, Gamma=gamma, a=a, T=4.2)
    assert x[np.argmax(g)] == pytest.approx(vpk, abs=0.1e-3)
    if height is not None:
        assert g.max() == pytest.approx(height, abs=0.05)


def test_sin_model_and_guess():
    m = DWaveSIN()
    x = m.example_x()
    y = m(x, G_N=2e-8, Delta0=24e-3, Gamma=0.55e-3, T=4.2)
    assert np.all(np.isfinite(y)) and y[0] == pytest.approx(2e-8, rel=0.05)
    # the coherence peak sits near Delta0 for SIN
    pos = x > 0
    assert x[pos][np.argmax(y[pos])] == pytest.approx(24e-3, abs=1.5e-3)
    g = m.guess(x, y)
    assert g["Delta0"] == pytest.approx(24e-3, rel=0.1)


def test_sis_current_is_odd():
    m = DWaveSISCurrent()
    x = np.linspace(-60e-3, 60e-3, 121)
    i = m(x, G_N=1e-8, Delta0_t=24e-3, Delta0_s=20e-3, Gamma=1e-3, T=20.0)
    np.testing.assert_allclose(i, -i[::-1], atol=1e-6 * np.abs(i).max())
    assert i[-1] == pytest.approx(1e-8 * 60e-3, rel=0.1)


@pytest.mark.parametrize("ratio", [1e-3, 1e-5])
def test_small_gamma_is_accurate(ratio):
    E = np.array([0.0, 1e-3, 12e-3, 23.9e-3, 24.05e-3, 30e-3])
    g = ratio * D0
    np.testing.assert_allclose(dwave_dos(E, D0, g), dwave_dos_closed_form(E, D0, g), atol=1e-4)


@pytest.mark.parametrize("ratio", [1e-3, 1e-2, 0.1, 0.5])
def test_agm_closed_form_equals_the_angle_quadrature(ratio):
    """Re[1 / M(1, k')] equals the direct angle average (converged midpoint rule) to 1e-10, over
    E/Delta0 in [-5, 5] and at the gap edge, and mpmath's complete elliptic integral."""
    from analysis.models.dwave import dwave_dos_agm

    g = ratio * D0
    E = D0 * np.concatenate([np.linspace(-5, 5, 81), [-1.0, -0.999, 0.0, 0.999, 1.0, 1.001]])
    quad = dwave_dos(E, D0, g, n_phi=int(60 / ratio))
    agm = dwave_dos_agm(E, D0, g)
    np.testing.assert_allclose(agm, quad, rtol=1e-10, atol=0)
    np.testing.assert_allclose(agm[::8], dwave_dos_closed_form(E[::8], D0, g), rtol=1e-12, atol=0)
    np.testing.assert_allclose(dwave_dos(E, D0, g), agm, rtol=0, atol=0)  # the default route


@pytest.mark.parametrize("ratio", [1e-3, 0.05, 0.5])
def test_agm_derivatives_match_finite_differences(ratio):
    from analysis.models.dwave import dwave_dos_agm

    g = ratio * D0
    E = D0 * np.concatenate([np.linspace(-3, 3, 61), [-1.0, 1.0, 1.0 + ratio]])
    for d0 in (D0, -D0):
        N, dd, dg = dwave_dos_agm(E, d0, g, derivatives=True)
        np.testing.assert_array_equal(N, dwave_dos_agm(E, d0, g))
        s = 1e-4 * g
        fd_d = (dwave_dos_agm(E, d0 + s, g) - dwave_dos_agm(E, d0 - s, g)) / (2 * s)
        fd_g = (dwave_dos_agm(E, d0, g + s) - dwave_dos_agm(E, d0, g - s)) / (2 * s)
        assert np.max(np.abs(dd - fd_d)) < 1e-6 * np.max(np.abs(fd_d))
        assert np.max(np.abs(dg - fd_g)) < 1e-6 * np.max(np.abs(fd_g))
