"""Two-band (pi + sigma) SIN and SIS models (PHYSICS section 3)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.models.numerics import DynesDOS, sin_conductance
from analysis.models.sis import SISConductance
from analysis.models.two_band import (
    TwoBandSIN,
    TwoBandSISConductance,
    TwoBandSISCurrent,
    two_band_dos,
    two_band_dos_values,
)

V = np.linspace(-16e-3, 16e-3, 641)
MGB2 = dict(
    Delta_pi_t=2.5e-3,
    Delta_sigma_t=7.1e-3,
    Delta_pi_s=2.5e-3,
    Delta_sigma_s=7.1e-3,
    Gamma_pi=5e-5,
    Gamma_sigma=1e-4,
)


def _peaks(x, y, lo, hi):
    sel = (x > lo) & (x < hi)
    return x[sel][np.argmax(y[sel])]


def test_dos_is_weighted_sum():
    E = np.linspace(-10e-3, 10e-3, 101)
    n = two_band_dos_values(E, 2.5e-3, 7.1e-3, 1e-4, 2e-4, 0.3)
    ref = 0.7 * DynesDOS(2.5e-3, 1e-4)(E) + 0.3 * DynesDOS(7.1e-3, 2e-4)(E)
    np.testing.assert_allclose(n, ref, rtol=1e-13)


def test_w_sigma_zero_is_single_gap():
    x = np.linspace(-8e-3, 8e-3, 321)
    two = TwoBandSISConductance()(
        x, **{**MGB2, "w_sigma_t": 0.0, "w_sigma_s": 0.0, "Delta_pi_s": 2.2e-3}, G_N=1e-8, T=2.0
    )
    one = SISConductance()(x, G_N=1e-8, Delta_t=2.5e-3, Delta_s=2.2e-3, Gamma_t=5e-5, Gamma_s=5e-5, T=2.0)
    np.testing.assert_allclose(two, one, rtol=1e-6, atol=1e-15)
    sin2 = TwoBandSIN()(x, G_N=1.0, Delta_pi=2.5e-3, Delta_sigma=7e-3, w_sigma=0.0, Gamma_pi=1e-4, T=2.0)
    from analysis.models.bcs import DynesSIN

    np.testing.assert_allclose(sin2, DynesSIN()(x, G_N=1.0, Delta=2.5e-3, Gamma=1e-4, T=2.0), rtol=1e-12)
    np.testing.assert_allclose(sin2, sin_conductance(x, DynesDOS(2.5e-3, 1e-4), 2.0), rtol=2e-4)


def test_sis_peak_positions_jstm():
    g = TwoBandSISConductance()(V, **MGB2, w_sigma_t=0.3, w_sigma_s=0.3, G_N=1.0, T=2.0)
    assert _peaks(V, g, 4e-3, 6.5e-3) == pytest.approx(5.0e-3, abs=0.08e-3)  # pi + pi
    assert _peaks(V, g, 8.5e-3, 10.5e-3) == pytest.approx(9.6e-3, abs=0.1e-3)  # pi + sigma
    assert _peaks(V, g, 13e-3, 15.5e-3) == pytest.approx(14.2e-3, abs=0.1e-3)  # sigma + sigma
    np.testing.assert_allclose(g, g[::-1], rtol=1e-7, atol=1e-9)


def test_thermal_feature_at_gap_difference():
    warm = TwoBandSISConductance()(V, **MGB2, w_sigma_t=0.3, w_sigma_s=0.3, G_N=1.0, T=12.0)
    cold = TwoBandSISConductance()(V, **MGB2, w_sigma_t=0.3, w_sigma_s=0.3, G_N=1.0, T=2.0)
    k = np.argmin(np.abs(V - 4.6e-3))
    diff = warm - cold
    assert _peaks(V, diff, 3.8e-3, 4.8e-3) == pytest.approx(4.6e-3, abs=0.25e-3)
    assert diff[k - 3] > 0


def test_normalisation_and_current():
    x = np.linspace(-40e-3, 40e-3, 401)
    g = TwoBandSIN()(x, G_N=3e-8, Delta_pi=2.5e-3, Delta_sigma=7.1e-3, w_sigma=0.4, T=4.2)
    assert g[0] == pytest.approx(3e-8, rel=0.02) and g[-1] == pytest.approx(3e-8, rel=0.02)
    i = TwoBandSISCurrent()(x, **MGB2, w_sigma_t=0.2, w_sigma_s=0.2, G_N=3e-8, T=4.2)
    assert i[-1] == pytest.approx(3e-8 * 40e-3, rel=0.03)
    assert two_band_dos(2.5e-3, 7e-3, 1e-4, 1e-4, 0.2).energy_scale == pytest.approx(7e-3)


def test_ab_channel_values_quoted_in_physics():
    # Ic R_N of the pi-sigma channel at T -> 0 (PHYSICS 3): 6.19 mV for 2.5 / 7.1 meV; pi-pi at 2.1 K: 3.93 mV
    from analysis.models.josephson import ab_icrn

    assert float(ab_icrn(2.5e-3, 7.1e-3, 0.0)) == pytest.approx(6.19e-3, abs=0.01e-3)
    assert float(ab_icrn(2.5e-3, 2.5e-3, 2.1)) == pytest.approx(3.93e-3, abs=0.01e-3)


def test_guess_reasonable():
    m = TwoBandSISConductance()
    y = m(V, **MGB2, w_sigma_t=0.15, w_sigma_s=0.15, G_N=1e-8, T=2.0)
    g = m.guess(V, y)
    assert g["Delta_pi_s"] == pytest.approx(2.5e-3, rel=0.1)
    assert g["G_N"] == pytest.approx(1e-8, rel=0.2)


def test_two_band_sin_batch_and_jacobian():
    m = TwoBandSIN()
    x = np.linspace(-12e-3, 12e-3, 121)
    P = np.array(
        [
            [2e-8, 2.4e-3, 7.0e-3, 0.3, 1e-4, 3e-4, 2.1, 1e-4],
            [1e-8, 2.6e-3, 6.5e-3, 0.1, 2e-4, 2e-4, 2.1, 0.0],
        ]
    )
    Y = m.evaluate_batch(x, P)
    # same as the generic FFT path with the two-band DOS
    dos = two_band_dos(2.4e-3, 7.0e-3, 1e-4, 3e-4, 0.3)
    np.testing.assert_allclose(Y[0], 2e-8 * sin_conductance(x - 1e-4, dos, 2.1), rtol=2e-4)
    J = m.jacobian_batch(x, P)
    assert J.shape == (2, x.size, 8)
    steps = [1e-12, 1e-8, 1e-8, 1e-6, 1e-8, 1e-8, 1e-4, 1e-8]
    for k, h in enumerate(steps):
        Pp, Pm = P.copy(), P.copy()
        Pp[:, k] += h
        Pm[:, k] -= h
        fd = (m.evaluate_batch(x, Pp) - m.evaluate_batch(x, Pm)) / (2 * h)
        tol = 1e-4 if k == 6 else 1e-6
        assert np.max(np.abs(fd - J[..., k])) <= tol * np.max(np.abs(J[..., k])), m.param_names[k]
