"""Identities of the shared numerical kernels (PHYSICS sections 0-2 and 12)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import ellipe, ellipk

from analysis.constants import K_B_EV
from analysis.models.numerics import (
    DynesDOS,
    MixtureDOS,
    dynes_dos,
    dynes_dos_antiderivative,
    dynes_dos_cell_average,
    dynes_dos_derivatives,
    dynes_dos_grid_average,
    energy_grid,
    fermi,
    grid_average,
    kernel_weights,
    sin_conductance,
    sis_conductance,
    sis_current,
    sis_iv,
    thermal_kernel,
)

D = 1e-3  # 1 meV gap in eV


def temp(kt_over_delta: float, delta: float = D) -> float:
    return kt_over_delta * delta / K_B_EV


# -- Fermi function and kernel ---------------------------------------------------------------------
def test_fermi_values_and_limits():
    assert fermi(0.0, 4.2) == pytest.approx(0.5)
    kt = K_B_EV * 4.2
    assert fermi(kt, 4.2) == pytest.approx(1 / (math.e + 1), rel=1e-12)
    # no overflow warnings far in the tails
    with np.errstate(over="raise"):
        v = fermi(np.array([-1.0, 1.0]), 0.01)
    np.testing.assert_allclose(v, [1.0, 0.0], atol=1e-300)
    np.testing.assert_array_equal(fermi(np.array([-1e-3, 0.0, 1e-3]), 0.0), [1.0, 0.5, 0.0])


def test_thermal_kernel_normalised_and_fwhm():
    T = 3.0
    kt = K_B_EV * T
    val, _ = integrate.quad(lambda x: float(thermal_kernel(x, T)), -60 * kt, 60 * kt, points=[0.0])
    assert val == pytest.approx(1.0, abs=1e-10)
    half = float(thermal_kernel(0.0, T)) / 2
    x_half = float(
        __import__("scipy.optimize", fromlist=["brentq"]).brentq(
            lambda x: thermal_kernel(x, T) - half, 0, 10 * kt
        )
    )
    assert 2 * x_half / kt == pytest.approx(4 * math.asinh(1.0), rel=1e-9)
    assert 2 * x_half / kt == pytest.approx(3.5255, abs=1e-4)
    # -df/dx
    h = 1e-9
    assert float(thermal_kernel(0.3 * kt, T)) == pytest.approx(
        float(-(fermi(0.3 * kt + h, T) - fermi(0.3 * kt - h, T)) / (2 * h)), rel=1e-6
    )
    with pytest.raises(ValueError):
        thermal_kernel(0.0, 0.0)


def test_kernel_weights_sum_to_one_and_are_symmetric():
    x, w = kernel_weights(2.0, K_B_EV * 2.0 / 8)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(w, w[::-1], rtol=1e-12)
    assert x[-1] >= 30 * K_B_EV * 2.0


# -- Dynes DOS -------------------------------------------------------------------------------------
@pytest.mark.parametrize("gamma", [1e-7, 1e-5, 3e-4, 1e-3])
def test_dynes_zero_energy_exact(gamma):
    assert float(dynes_dos(0.0, D, gamma)) == pytest.approx(gamma / math.hypot(gamma, D), rel=1e-12)


def test_dynes_even_and_branch():
    E = np.linspace(-5 * D, 5 * D, 1001)
    for g in (0.0, 1e-5, 2e-4):
        n = dynes_dos(E, D, g)
        np.testing.assert_allclose(n, n[::-1], rtol=1e-12, atol=1e-15)
        assert np.all(n[np.isfinite(n)] >= 0)
    # the principal-branch pitfall P1: E = -2 Delta must give +1.1547, not -1.1547
    assert float(dynes_dos(-2 * D, D, 0.0)) == pytest.approx(2 / math.sqrt(3), rel=1e-12)
    assert float(dynes_dos(-1e-6, D, 1e-5)) == pytest.approx(0.0100, abs=1e-4)
    # BCS inside the gap is 0 at Gamma = 0, normal state is 1
    assert float(dynes_dos(0.5 * D, D, 0.0)) == 0.0
    np.testing.assert_array_equal(dynes_dos(E, 0.0, 1e-4), np.ones_like(E))


def test_dynes_asymptote_and_peak():
    E = np.array([20 * D, -50 * D])
    np.testing.assert_allclose(dynes_dos(E, D, 1e-6), 1 + D**2 / (2 * E**2), rtol=1e-4)
    g = 0.01 * D
    E = np.linspace(D, 1.02 * D, 200001)
    n = dynes_dos(E, D, g)
    i = int(np.argmax(n))
    assert n[i] == pytest.approx(5.748, abs=2e-3)
    assert E[i] / D == pytest.approx(1.00584, abs=2e-5)
    # small-Gamma asymptotics: E_pk = D + G/sqrt(3), N_max = 0.570 sqrt(D/G)
    g = 1e-4 * D
    E = np.linspace(D, D * 1.0003, 300001)
    n = dynes_dos(E, D, g)
    i = int(np.argmax(n))
    assert (E[i] - D) / g == pytest.approx(1 / math.sqrt(3), rel=2e-3)
    assert n[i] == pytest.approx(
        math.cos(math.pi / 6) * math.sqrt(math.sin(math.pi / 3)) * math.sqrt(D / (2 * g)), rel=2e-3
    )


@pytest.mark.parametrize("gamma", [0.0, 1e-5, 3e-4])
def test_dynes_sum_rule(gamma):
    # Integral (N - 1) dE = 0 over the whole axis: exact antiderivative S(L) - S(-L) - 2L + analytic tail
    L = 200 * D
    total = float(dynes_dos_antiderivative(L, D, gamma) - dynes_dos_antiderivative(-L, D, gamma)) - 2 * L
    tail = 2 * D**2 / (2 * L)  # Integral_L^inf of D^2/(2E^2) on both sides
    assert abs(total + tail) < 1e-7 * D  # next tail order is (D/L)^3


def test_antiderivative_and_averages_are_exact():
    g = 2e-5
    a, b = 0.9 * D, 1.3 * D
    val, _ = integrate.quad(lambda e: float(dynes_dos(e, D, g)), a, b, points=[D], limit=500, epsabs=1e-15)
    assert float(dynes_dos_antiderivative(b, D, g) - dynes_dos_antiderivative(a, D, g)) == pytest.approx(
        val, rel=1e-9
    )
    # cell average at Gamma = 0 across the singularity is finite and exact
    h = 0.1 * D
    cell = float(dynes_dos_cell_average(np.array([D]), h, D, 0.0)[0])
    exact = math.sqrt((D + h / 2) ** 2 - D**2) / h
    assert cell == pytest.approx(exact, rel=1e-12)
    # hat-weighted average matches quadrature of N times the hat
    E0 = 1.02 * D
    h = 0.05 * D

    def hat(e):
        return max(0.0, 1 - abs(e - E0) / h) / h * float(dynes_dos(e, D, g))

    ref, _ = integrate.quad(hat, E0 - h, E0 + h, points=[D, E0], limit=500, epsabs=1e-14)
    got = float(dynes_dos_grid_average(np.array([E0]), h, D, g)[0])
    assert got == pytest.approx(ref, rel=1e-8)


def test_grid_average_derivatives_match_finite_differences():
    E = np.linspace(-4 * D, 4 * D, 81)
    h = E[1] - E[0]
    g = 1e-4
    _, dd, dg = dynes_dos_grid_average(E, h, D, g, derivatives=True)
    eps = 1e-9
    fd_d = (dynes_dos_grid_average(E, h, D + eps, g) - dynes_dos_grid_average(E, h, D - eps, g)) / (2 * eps)
    fd_g = (dynes_dos_grid_average(E, h, D, g + eps) - dynes_dos_grid_average(E, h, D, g - eps)) / (2 * eps)
    np.testing.assert_allclose(dd, fd_d, rtol=1e-5, atol=1e-5 * np.max(np.abs(fd_d)))
    np.testing.assert_allclose(dg, fd_g, rtol=1e-5, atol=1e-5 * np.max(np.abs(fd_g)))
    E = np.array([-1.3 * D, 0.4 * D, 1.1 * D])
    _, nd, ng = dynes_dos_derivatives(E, D, g)
    np.testing.assert_allclose(
        nd, (dynes_dos(E, D + eps, g) - dynes_dos(E, D - eps, g)) / (2 * eps), rtol=1e-5
    )
    np.testing.assert_allclose(
        ng, (dynes_dos(E, D, g + eps) - dynes_dos(E, D, g - eps)) / (2 * eps), rtol=1e-5
    )


def test_generic_grid_average_is_exact_for_cubics():
    def cubic(e):
        return 1 + 2 * e + 3 * e**2 - e**3

    E = np.array([0.0, 0.3, -1.1])
    h = 0.2
    ref = [
        integrate.quad(lambda x, c=c: max(0, 1 - abs(x - c) / h) / h * cubic(x), c - h, c + h, points=[c])[0]
        for c in E
    ]
    np.testing.assert_allclose(grid_average(cubic, E, h), ref, rtol=1e-12)


def test_energy_grid():
    E, de = energy_grid(1e-3, 1e-5)
    assert E[E.size // 2] == 0.0 and E[-1] >= 1e-3 and de == 1e-5
    np.testing.assert_allclose(E, -E[::-1])
    E, de = energy_grid(1.0, 1e-9, max_points=1001)
    assert E.size == 1001 and de == pytest.approx(1.0 / 500)
    with pytest.raises(ValueError):
        energy_grid(-1.0, 1e-3)


# -- SIN -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kt", "ref"), [(0.2, 0.0400762), (0.1, 3.72952e-4), (0.05, 2.35322e-8)])
def test_sin_zero_bias_bcs(kt, ref):
    g0 = sin_conductance(np.array([0.0, 1e-5]), DynesDOS(D, 0.0), temp(kt))[0]
    assert g0 == pytest.approx(ref, rel=1e-3)


def test_sin_zero_bias_series():
    # G(0) = Sum (-1)^(n+1) n (2 D/kT) K1(n D/kT)
    from scipy.special import k1

    kt = 0.15
    series = sum((-1) ** (n + 1) * n * (2 / kt) * k1(n / kt) for n in range(1, 60))
    g0 = sin_conductance(np.array([0.0]), DynesDOS(D, 0.0), temp(kt))[0]
    assert g0 == pytest.approx(series, rel=1e-3)


def test_sin_limits_and_sum_rule():
    V = np.linspace(-20 * D, 20 * D, 2001)
    dos = DynesDOS(D, 5e-5)
    # T -> 0 is N(eV)
    np.testing.assert_allclose(sin_conductance(V, dos, 0.0), dos(V))
    T = temp(0.1)
    g = sin_conductance(V, dos, T)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, g[::-1], rtol=1e-9, atol=1e-12)
    # far from the gap G -> G_N (asymptote 1 + D^2 / 2V^2 of the DOS)
    assert g[-1] == pytest.approx(1 + 1 / (2 * 20**2), rel=1e-3)
    # Integral (G - 1) dV = 0 with the analytic tail of the DOS beyond the window
    s = integrate.trapezoid(g - 1, V) + 2 * D**2 / (2 * V[-1])
    assert abs(s) < 2e-3 * D
    # normal metal stays 1
    np.testing.assert_allclose(sin_conductance(V, DynesDOS(0.0, 0.0), T), 1.0, atol=1e-12)


def test_sin_generic_callable_matches_exact_averages():
    V = np.linspace(-3 * D, 3 * D, 121)
    T = temp(0.15)
    g = 2e-4
    exact = sin_conductance(V, DynesDOS(D, g), T)
    generic = sin_conductance(V, lambda e: dynes_dos(e, D, g), T, de=g / 6)
    np.testing.assert_allclose(generic, exact, rtol=2e-3, atol=2e-4)


# -- SIS -------------------------------------------------------------------------------------------
def sis_t0_closed_form(v: np.ndarray, d: float) -> np.ndarray:
    """I e R_N at T = 0 for identical BCS gaps (PHYSICS 2)."""
    m = 1 - (2 * d / v) ** 2
    return v * ellipe(m) - (2 * d**2 / v) * ellipk(m)


def test_sis_t0_elliptic_closed_form():
    bcs = DynesDOS(D, 0.0)
    V = np.linspace(-6 * D, 6 * D, 1201)
    cur = sis_current(V, bcs, bcs, 0.0)
    i = int(np.argmin(np.abs(V - 2.5 * D)))
    assert cur[i] / D == pytest.approx(2.144605, rel=1e-4)
    sel = np.abs(V) > 2.3 * D
    np.testing.assert_allclose(cur[sel], np.sign(V[sel]) * sis_t0_closed_form(np.abs(V[sel]), D), rtol=5e-4)
    assert np.max(np.abs(cur[np.abs(V) < 1.9 * D])) < 1e-3 * D
    np.testing.assert_allclose(cur, -cur[::-1], atol=1e-12)


def _jump(d1: float, d2: float) -> float:
    """I(V) just above the gap sum, extrapolated from the T = 0 closed-form-free FFT result."""
    V = (d1 + d2) * (1 + np.array([0.004, 0.008, 0.016]))
    cur = sis_current(V, DynesDOS(d1, 0.0), DynesDOS(d2, 0.0), 0.0, de=(d1 + d2) / 4000)
    # I = I0 + c sqrt(x) + ... near the onset: fit in sqrt(V - Vg)
    x = np.sqrt(V - (d1 + d2))
    c = np.polyfit(x, cur, 2)
    return float(c[-1])


def test_sis_jump_at_gap_sum():
    assert _jump(D, D) / D == pytest.approx(math.pi / 2, rel=5e-3)
    d1, d2 = 1.0e-3, 2.5e-3
    assert _jump(d1, d2) == pytest.approx(math.pi / 2 * math.sqrt(d1 * d2), rel=5e-3)


def test_sis_normal_state_is_ohmic():
    V = np.linspace(-5e-3, 5e-3, 301)
    n = DynesDOS(0.0, 0.0)
    for T in (0.0, 4.2, 50.0):
        np.testing.assert_allclose(sis_current(V, n, n, T), V, atol=1e-12)
        np.testing.assert_allclose(sis_conductance(V, n, n, T), 1.0, atol=1e-9)


def test_sis_conductance_peak_and_thermal_feature():
    dt, ds = 1.4e-3, 0.6e-3
    T = 3.0
    V = np.linspace(0, 3e-3, 3001)
    i, g = sis_iv(V, DynesDOS(dt, 2e-5), DynesDOS(ds, 2e-5), T)
    # main peak at Delta_t + Delta_s
    hi = V > 1.2e-3
    assert V[hi][np.argmax(g[hi])] == pytest.approx(dt + ds, abs=0.03e-3)
    # thermal feature at |Delta_t - Delta_s|: a peak just below, a negative dip just above
    lo = (V > 0.4e-3) & (V < 1.2e-3)
    vpk = V[lo][np.argmax(g[lo])]
    vdip = V[lo][np.argmin(g[lo])]
    assert vpk == pytest.approx(dt - ds, abs=0.05e-3)
    assert vpk < vdip < dt - ds + 0.2e-3
    assert g[lo].min() < 0
    # the conductance is the derivative of the current
    np.testing.assert_allclose(np.gradient(i, V)[5:-5], g[5:-5], atol=2e-3 * g.max())


def test_sis_symmetric_for_equal_gaps_and_with_several_bias_arrays():
    dos = DynesDOS(D, 3e-5)
    V1 = np.linspace(-4 * D, 4 * D, 201)
    V2 = np.linspace(-D, D, 51)
    (i1, g1), (i2, g2) = sis_iv((V1, V2), dos, dos, 2.0)
    np.testing.assert_allclose(g1, g1[::-1], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        i2, sis_current(V2, dos, dos, 2.0, de=float(np.diff(V2)[0]) / 2), atol=1e-3 * D
    )
    # a two-band mixture is the weighted sum of the channel currents (bilinearity)
    a, b = DynesDOS(D, 3e-5), DynesDOS(3 * D, 1e-4)
    mix = MixtureDOS(((0.7, a), (0.3, b)))
    de = 2e-6
    direct = sis_current(V1, mix, a, 2.0, de=de)
    parts = 0.7 * sis_current(V1, a, a, 2.0, de=de) + 0.3 * sis_current(V1, b, a, 2.0, de=de)
    np.testing.assert_allclose(direct, parts, atol=1e-9)


# -- lock-in broadening -----------------------------------------------------------------------------------
def test_lockin_kernel_moments():
    from analysis.models.numerics import lockin_kernel, lockin_weights

    v_rms = 0.2e-3
    vpk = math.sqrt(2) * v_rms
    val, _ = integrate.quad(lambda x: float(lockin_kernel(x, v_rms)), -vpk, vpk)
    assert val == pytest.approx(1.0, abs=1e-9)
    m2, _ = integrate.quad(lambda x: x * x * float(lockin_kernel(x, v_rms)), -vpk, vpk)
    assert m2 == pytest.approx(vpk**2 / 4, rel=1e-4)  # = v_rms^2 / 2
    x, w = lockin_weights(v_rms, vpk / 50)
    assert w.sum() == pytest.approx(1.0) and np.allclose(w, w[::-1])
    assert np.sum(w * x * x) == pytest.approx(vpk**2 / 4, rel=2e-3)
    assert lockin_weights(0.0, 1e-6)[1].tolist() == [1.0]
    with pytest.raises(ValueError):
        lockin_kernel(0.0, 0.0)


def test_lockin_broadening_of_sin_and_sis():
    V = np.linspace(-4 * D, 4 * D, 801)
    dos = DynesDOS(D, 2e-5)
    T = temp(0.05)
    sharp = sin_conductance(V, dos, T)
    broad = sin_conductance(V, dos, T, lockin_rms=0.1 * D)
    assert broad.max() < 0.95 * sharp.max()  # the coherence peak is smeared
    # the spectral weight is conserved (sum rule) and the normal state stays 1
    assert integrate.trapezoid(broad - sharp, V) == pytest.approx(0.0, abs=2e-3 * D)
    np.testing.assert_allclose(sin_conductance(V, DynesDOS(0.0), T, lockin_rms=0.1 * D), 1.0, atol=1e-9)
    # a linear DOS is unchanged by the symmetric kernel
    lin = sin_conductance(V, lambda e: 1 + 50.0 * e, 0.0, lockin_rms=0.1 * D, de=D / 50)
    np.testing.assert_allclose(lin, 1 + 50.0 * V, rtol=1e-9)
    # SIS: ohmic stays ohmic; the gap-edge peak is smeared
    n = DynesDOS(0.0)
    np.testing.assert_allclose(sis_current(V, n, n, T) - V, 0.0, atol=1e-12)
    i_b, g_b = sis_iv(V, n, n, T, lockin_rms=0.1 * D)
    np.testing.assert_allclose(i_b, V, atol=1e-12)
    _, g0 = sis_iv(V, dos, dos, T)
    _, g1 = sis_iv(V, dos, dos, T, lockin_rms=0.1 * D)
    assert g1.max() < 0.95 * g0.max()
    assert abs(V[np.argmax(g1)]) == pytest.approx(2 * D, abs=0.05 * D)
