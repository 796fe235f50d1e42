"""Dynes SIN model (batched evaluation, analytic Jacobian, fits) and BCS Delta(T) (PHYSICS 1, 11)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.constants import K_B_EV
from analysis.models.bcs import BCS_RATIO, DynesSIN, delta_bcs_exact, delta_bcs_interp, dynes_sin_batch
from analysis.models.numerics import DynesDOS, dynes_dos, sin_conductance

X = np.linspace(-5e-3, 5e-3, 256)
NAMES = ["G_N", "Delta", "Gamma", "T", "V0", "b1", "b2"]
ROW = [2e-8, 1.35e-3, 1e-4, 1.5, 1e-4, 30.0, 1e4]


def test_parameters_and_registration():
    from analysis.models.registry import get_model

    m = get_model("dynes_sin")
    assert isinstance(m, DynesSIN)
    assert m.param_names == NAMES
    assert m.has_jacobian
    assert not m.param("T").vary and not m.param("V0").vary and m.param("Delta").vary
    lo, hi = m.bounds()
    assert lo[1] == 0 and hi[1] == pytest.approx(50e-3)


def test_evaluate_matches_reference_convolution():
    m = DynesSIN()
    y = m.evaluate(X, **dict(zip(NAMES, ROW, strict=True)))
    u = X - 1e-4
    ref = (
        2e-8
        * (1 + 30 * u + 1e4 * u**2)
        * sin_conductance(u, DynesDOS(1.35e-3, 1e-4), 1.5, de=K_B_EV * 1.5 / 40)
    )
    np.testing.assert_allclose(y, ref, rtol=0, atol=2e-5 * 2e-8)


def test_bcs_zero_bias_value_through_the_model():
    m = DynesSIN()
    d = 1e-3
    T = 0.1 * d / K_B_EV
    y = m(np.array([-1e-4, 0.0, 1e-4]), G_N=1.0, Delta=d, Gamma=0.0, T=T)
    assert y[1] == pytest.approx(3.72952e-4, rel=2e-3)


def test_batch_equals_rows_and_t0_limit():
    m = DynesSIN()
    rng = np.random.default_rng(1)
    P = np.tile(ROW, (7, 1))
    P[:, 1] *= rng.uniform(0.8, 1.2, 7)
    P[:, 2] *= rng.uniform(0.5, 2, 7)
    P[:, 4] = rng.normal(0, 2e-4, 7)
    P[3:, 3] = [0.5, 0.5, 4.2, 0.0]  # several temperatures, one T = 0 row
    Y = m.evaluate_batch(X, P)
    assert Y.shape == (7, X.size)
    for k in range(7):
        np.testing.assert_allclose(Y[k], m.evaluate(X, **dict(zip(NAMES, P[k], strict=True))), rtol=1e-12)
    u = X - P[6, 4]
    np.testing.assert_allclose(
        Y[6], P[6, 0] * (1 + P[6, 5] * u + P[6, 6] * u * u) * dynes_dos(u, P[6, 1], P[6, 2]), rtol=1e-12
    )


@pytest.mark.parametrize("T", [1.5, 0.0])
def test_jacobian_matches_finite_differences(T):
    m = DynesSIN()
    P = np.array([ROW])
    P[0, 3] = T
    J = m.jacobian_batch(X, P)
    assert J.shape == (1, X.size, 7)
    steps = [1e-12, 1e-8, 1e-8, 1e-4, 1e-8, 1e-3, 1e-1]
    for k, h in enumerate(steps):
        if T == 0 and NAMES[k] == "T":
            continue
        Pp, Pm = P.copy(), P.copy()
        Pp[0, k] += h
        Pm[0, k] -= h
        fd = (m.evaluate_batch(X, Pp)[0] - m.evaluate_batch(X, Pm)[0]) / (2 * h)
        scale = np.max(np.abs(J[0, :, k]))
        tol = 1e-4 if NAMES[k] == "T" else 1e-6  # T also moves the grid step (h = kT/8)
        assert np.max(np.abs(fd - J[0, :, k])) <= tol * scale, NAMES[k]


def test_batch_jacobian_rows_are_independent():
    P = np.tile(ROW, (3, 1))
    P[1, 1] = 1.0e-3
    P[2, 4] = -2e-4
    m = DynesSIN()
    J = m.jacobian_batch(X, P)
    for k in range(3):
        np.testing.assert_allclose(J[k], m.jacobian_batch(X, P[k : k + 1])[0], rtol=1e-10, atol=0)


def test_low_level_batch_shapes_and_normal_state():
    g = dynes_sin_batch(X, np.zeros(4), np.full(4, 1e-5), np.array([0.0, 0.3, 2.0, 50.0]))
    np.testing.assert_allclose(g, 1.0, atol=1e-9)
    out = dynes_sin_batch(X, 1e-3, 1e-5, 2.0, jacobian=True)
    assert len(out) == 5 and all(a.shape == (1, X.size) for a in out)


def test_guess_and_lmfit_recovery():
    m = DynesSIN()
    true = dict(zip(NAMES, [3e-8, 1.2e-3, 6e-5, 1.5, 0.0, 0.0, 0.0], strict=True))
    rng = np.random.default_rng(7)
    y = m(X, **true) + rng.normal(0, 0.005 * 3e-8, X.size)
    g = m.guess(X, y)
    assert g["Delta"] == pytest.approx(1.2e-3, rel=0.15)
    assert g["G_N"] == pytest.approx(3e-8, rel=0.05)
    params = m.make_params(**g)
    res = m.lmfit_model().fit(y, params, x=X)
    assert res.params["Delta"].value == pytest.approx(1.2e-3, rel=3e-3)
    assert res.params["Gamma"].value == pytest.approx(6e-5, rel=0.1)
    assert res.params["G_N"].value == pytest.approx(3e-8, rel=3e-3)


# -- Delta(T) -----------------------------------------------------------------------------------------------
TABLE = [
    (0.3, 0.99712, 0.99022),
    (0.5, 0.95688, 0.94023),
    (0.7, 0.82877, 0.81411),
    (0.9, 0.52634, 0.52267),
    (0.99, 0.17295, 0.17312),
]


@pytest.mark.parametrize(("t", "exact", "interp"), TABLE)
def test_delta_table(t, exact, interp):
    tc = 9.2
    d0 = BCS_RATIO * K_B_EV * tc
    assert delta_bcs_exact(t * tc, tc) / d0 == pytest.approx(exact, abs=2e-5)
    assert delta_bcs_interp(t * tc, tc) / d0 == pytest.approx(interp, abs=2e-5)


def test_delta_limits_and_interpolation_error():
    tc = 7.2
    assert BCS_RATIO == pytest.approx(1.7639, abs=1e-4)
    assert delta_bcs_exact(0.0, tc) == pytest.approx(BCS_RATIO * K_B_EV * tc)
    assert delta_bcs_exact(tc, tc) == 0.0 and delta_bcs_interp(1.2 * tc, tc) == 0.0
    assert delta_bcs_interp(0.0, tc, 1.35e-3) == pytest.approx(1.35e-3)
    t = np.linspace(0.05, 0.999, 60) * tc
    ex = delta_bcs_exact(t, tc)
    it = delta_bcs_interp(t, tc)
    err = (ex - it) / (BCS_RATIO * K_B_EV * tc)
    assert err.max() <= 0.018 and err.max() == pytest.approx(0.0174, abs=6e-4)
    assert t[np.argmax(err)] / tc == pytest.approx(0.57, abs=0.04)
    # near Tc: Delta ~ 3.062 sqrt(1 - T/Tc) kB Tc
    tt = 0.9999 * tc
    assert delta_bcs_exact(tt, tc) / (K_B_EV * tc * math.sqrt(1 - 0.9999)) == pytest.approx(3.062, abs=3e-3)
    # a given Delta(0) scales the reduced curve
    assert delta_bcs_exact(0.5 * tc, tc, 2e-3) == pytest.approx(2e-3 * 0.95688, rel=2e-5)


def test_bad_bias_axis_is_a_clear_error():
    m = DynesSIN()
    with pytest.raises(ValueError, match="finite"):
        m(np.array([0.0, np.nan, 1e-3]))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    delta=st.floats(0.0, 50e-3),
    gamma=st.floats(0.0, 10e-3),
    e=st.floats(-0.2, 0.2),
)
def test_dynes_dos_even_nonnegative_and_grid_average_bounded(delta, gamma, e):
    n = dynes_dos(np.array([e, -e]), delta, gamma)
    assert n[0] >= 0 and (n[0] == n[1] or abs(n[0] - n[1]) <= 1e-12 * max(1.0, abs(n[0])))
    from analysis.models.numerics import dynes_dos_grid_average

    h = max(delta, 1e-4) / 20
    avg = dynes_dos_grid_average(np.array([e - h, e, e + h]), h, delta, gamma)
    assert np.all(np.isfinite(avg)) and np.all(avg >= -1e-6)
