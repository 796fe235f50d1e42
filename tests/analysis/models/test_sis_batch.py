"""Batched SIS/SIN evaluation on a shared grid (analysis.models.sis_batch) and the models built on it.

Checked against the single-spectrum FFT route on a much finer grid (an independent discretisation), against
central finite differences for every Jacobian column, and for independence of the rows of a batch."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.fitting.batch import FitOptions, fit_batch, guess_starts
from analysis.models.numerics import DynesDOS, sis_iv
from analysis.models.registry import get_model
from analysis.models.two_band import two_band_dos

GRID_MODELS = [
    "sis_conductance",
    "sis_current",
    "two_band_sis_conductance",
    "two_band_sis_current",
    "dwave_sin",
    "dwave_sis_conductance",
    "dwave_sis_current",
]


def _truth(m) -> dict[str, float]:
    return {**m.defaults(), **(m.contract_values or {})}


def _rows(m, n: int = 3) -> np.ndarray:
    t = _truth(m)
    P = np.array([[t[k] for k in m.param_names]] * n, dtype=float)
    names = m.param_names
    gap = next(i for i, k in enumerate(names) if k.startswith("Delta"))
    P[1, gap] *= 1.07
    P[2, names.index("V0")] = 0.1e-3
    # off the exact Gamma / 4 = step boundary of the contract values (the step halves there)
    for j, k in enumerate(names):
        if k.startswith("Gamma"):
            P[:, j] *= 1.03
    return P


@pytest.mark.parametrize(
    ("dt", "ds", "gt", "gs", "T", "tol"),
    [(1.4e-3, 1.1e-3, 3e-5, 3e-5, 1.5, 3e-3), (1.5e-3, 1.5e-3, 1e-4, 1e-4, 4.0, 3e-3)],
)
def test_single_gap_matches_a_fine_grid(dt, ds, gt, gs, T, tol):
    x = np.linspace(-8e-3, 8e-3, 201)
    m = get_model("sis_conductance")
    g = m(x, G_N=1.0, Delta_t=dt, Delta_s=ds, Gamma_t=gt, Gamma_s=gs, T=T)
    i = get_model("sis_current")(x, G_N=1.0, Delta_t=dt, Delta_s=ds, Gamma_t=gt, Gamma_s=gs, T=T)
    ir, gr = sis_iv(x, DynesDOS(dt, gt), DynesDOS(ds, gs), T, de=1e-6)
    assert np.max(np.abs(g - gr)) < tol * np.max(gr)
    assert np.max(np.abs(i - ir)) < 1e-3 * np.max(np.abs(ir))


def test_two_band_matches_a_fine_grid():
    x = np.linspace(-15e-3, 15e-3, 256)
    m = get_model("two_band_sis_conductance")
    t = _truth(m)
    g = m(x, **t) / t["G_N"]
    tip = two_band_dos(t["Delta_pi_t"], t["Delta_sigma_t"], t["Gamma_pi"], t["Gamma_sigma"], t["w_sigma_t"])
    smp = two_band_dos(t["Delta_pi_s"], t["Delta_sigma_s"], t["Gamma_pi"], t["Gamma_sigma"], t["w_sigma_s"])
    _, gr = sis_iv(x, tip, smp, t["T"], de=2e-6)
    assert np.max(np.abs(g - gr)) < 3e-3 * np.max(gr)


def test_dwave_sin_matches_the_convolution_route():
    m = get_model("dwave_sin")
    x = m.example_x()
    t = _truth(m)
    np.testing.assert_allclose(m(x, **t), m.evaluate_reference(x, **t), rtol=0, atol=1e-3 * t["G_N"])


@pytest.mark.parametrize("name", GRID_MODELS)
def test_jacobian_matches_finite_differences(name):
    m = get_model(name)
    x = m.example_x()[::2]
    P = _rows(m)
    J = m.jacobian_batch(x, P)
    assert J.shape == (P.shape[0], x.size, P.shape[1])
    for j, pname in enumerate(m.param_names):
        step = 1e-6 * max(abs(P[0, j]), 1e-9 if pname == "G_N" else 1e-3)
        if pname == "T":
            step = 1e-4
        if pname in ("b1", "b2"):  # 1/V and 1/V^2 over a bias range of tens of mV
            step = 1e-3 if pname == "b1" else 1e-1
        up, dn = P.copy(), P.copy()
        up[:, j] += step
        dn[:, j] -= step
        fd = (m.evaluate_batch(x, up) - m.evaluate_batch(x, dn)) / (2 * step)
        scale = np.max(np.abs(fd)) + 1e-300
        # V0: the derivative is the fourth-order difference on the grid, the model a piecewise-cubic read-off
        tol = 5e-3 if pname == "V0" else 1e-5
        assert np.max(np.abs(fd - J[..., j])) <= tol * scale, pname
    cols = np.array([1, 0])
    np.testing.assert_allclose(m.jacobian_columns(x, P, cols), J[..., cols], rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["two_band_sis_conductance", "dwave_sin"])
def test_rows_are_independent_of_the_batch(name):
    m = get_model(name)
    x = m.example_x()
    P = _rows(m, 3)
    both = m.evaluate_batch(x, P)
    for i in range(P.shape[0]):
        alone = m.evaluate_batch(x, P[i : i + 1])[0]
        np.testing.assert_allclose(both[i], alone, rtol=0, atol=1e-9 * np.max(np.abs(alone)))  # FFT rounding


def test_batch_fit_of_two_band_sis_spectra_from_their_guesses():
    """Known gaps of 24 spectra are recovered by the batch engine with the exact Jacobian, tip fixed."""
    m = get_model("two_band_sis_conductance")
    x = np.linspace(-15e-3, 15e-3, 200)
    rng = np.random.default_rng(4)
    n = 24
    t = {**_truth(m), "Gamma_pi": 0.1e-3}
    P = np.array([[t[k] for k in m.param_names]] * n)
    names = m.param_names
    P[:, names.index("Delta_pi_s")] = rng.uniform(1.5e-3, 2.8e-3, n)
    P[:, names.index("Delta_sigma_s")] = P[:, names.index("Delta_pi_s")] * 7.1 / 2.5
    Y = m.evaluate_batch(x, P) + 0.005 * t["G_N"] * rng.standard_normal((n, x.size))
    fixed = {k: t[k] for k in ("Delta_pi_t", "Delta_sigma_t", "w_sigma_t")}
    opts = FitOptions(fixed=fixed)
    res = fit_batch(m, x, Y, guess_starts(m, x, Y, opts), opts)
    assert res.success.all(), res.summary()
    k = names.index("Delta_pi_s")
    z = (res.values[:, k] - P[:, k]) / res.stderr[:, k]
    assert np.all(np.abs(z) < 4)
    assert np.max(res.nfev) < 60


@pytest.mark.parametrize("name", ["sis_conductance", "two_band_sis_current", "dwave_sis_conductance"])
def test_a_tip_shared_by_the_rows_gives_the_same_values(name):
    """Rows with one tip (the tip computed once for the block) equal the rows evaluated alone."""
    m = get_model(name)
    x = m.example_x()
    P = _rows(m, 3)
    names = m.param_names
    tip = [names.index(k) for k in m.tip_params]
    P[:, tip] = P[0, tip]
    sample_gap = next(i for i, k in enumerate(names) if k.startswith("Delta") and k.endswith("_s"))
    P[:, sample_gap] *= np.array([1.0, 0.9, 1.1])
    both = m.evaluate_batch(x, P)
    cols = np.array([0, sample_gap])
    J = m.jacobian_columns(x, P, cols)
    for i in range(P.shape[0]):
        alone = m.evaluate_batch(x, P[i : i + 1])[0]
        np.testing.assert_allclose(both[i], alone, rtol=0, atol=1e-9 * np.max(np.abs(alone)))
        Ja = m.jacobian_columns(x, P[i : i + 1], cols)[0]
        np.testing.assert_allclose(J[i], Ja, rtol=0, atol=1e-9 * np.max(np.abs(Ja)))


@pytest.mark.parametrize(("gamma", "a"), [(5e-5, 0.0), (5e-5, 0.5), (1e-6, 0.0), (3e-4, -0.5)])
def test_dwave_angle_count_is_converged(monkeypatch, gamma, a):
    """The batched d-wave average with its default angle count equals one with 8x more angles."""
    import analysis.models.dwave as dw

    m = get_model("dwave_sin")
    x = np.linspace(-80e-3, 80e-3, 400)
    t = {**_truth(m), "Gamma": gamma, "a": a, "T": 4.2}
    default = m(x, **t)
    orig = dw.grid_n_phi
    monkeypatch.setattr(dw, "grid_n_phi", lambda d0, g, h: orig(d0, g, h) * 8)
    fine = m(x, **t)
    assert np.max(np.abs(default - fine)) < 1e-5 * np.max(fine)


@pytest.mark.parametrize("name", GRID_MODELS)
def test_fit_jacobian_is_the_exact_one_in_single_precision(name):
    m = get_model(name)
    x = m.example_x()[::2]
    P = _rows(m)
    cols = np.arange(len(m.params))
    exact = m.jacobian_columns(x, P, cols)
    fast = m.fit_jacobian_columns(x, P, cols)
    assert fast.shape == exact.shape and fast.dtype == np.float64
    scale = np.max(np.abs(exact), axis=1, keepdims=True) + 1e-300
    err = np.max(np.abs(fast - exact) / scale)
    # float32 transforms: a relative error of about 1e-7 of each column's scale, but not the exact columns
    assert 0 < err < 2e-5


def test_fits_stepping_with_the_single_precision_jacobian_reach_the_same_minimum(monkeypatch):
    m = get_model("two_band_sis_conductance")
    x = m.example_x()
    P = _rows(m, 4)
    P[3, m.param_names.index("Delta_pi_s")] *= 0.8
    Y = m.evaluate_batch(x, P)
    Y += 0.01 * np.median(Y) * np.random.default_rng(3).standard_normal(Y.shape)
    opts = FitOptions(fixed={k: P[0, m.param_names.index(k)] for k in ("Delta_pi_t", "V0")})
    P0 = guess_starts(m, x, Y, opts)
    fast = fit_batch(m, x, Y, P0, opts)
    monkeypatch.setattr(type(m), "fit_jacobian_columns", type(m).jacobian_columns)
    exact = fit_batch(m, x, Y, P0, opts)
    assert np.all(fast.success) and np.all(exact.success)
    v = exact.vary
    np.testing.assert_array_less(np.abs(fast.values - exact.values)[:, v], 1e-3 * exact.stderr[:, v])
    np.testing.assert_allclose(fast.stderr[:, v], exact.stderr[:, v], rtol=1e-4)


@pytest.mark.parametrize(("gamma", "a", "T"), [(1e-3, 0.0, 20.0), (2e-4, 0.5, 4.2), (5e-3, -0.5, 20.0)])
def test_dwave_gap_table_equals_the_direct_angle_sum(gamma, a, T):
    """The shared gap-node table gives the direct angle sum's DOS and derivatives on the same angles."""
    from analysis.models.dwave import grid_n_phi
    from analysis.models.sis_batch import angle_side, gap_table_side, make_grid

    x = np.linspace(-80e-3, 80e-3, 256)
    grid = make_grid(x, T, 80e-3, 2)
    d0 = np.array([24e-3, -21.7e-3, 26.3e-3, 0.0, 3e-3, 23.9e-3])
    g = np.full(d0.size, gamma)
    w = np.array([a, a, 0.3, a, -0.8, a])
    n_phi = int(grid_n_phi(np.abs(d0), g, grid.h).max())
    names = ("a", "D", "G")
    direct = angle_side(grid, d0, g, w, n_phi, names)
    table = gap_table_side(grid, d0, gamma, w, n_phi, names)
    assert np.max(np.abs(table.N - direct.N)) < 1e-10 * np.max(direct.N)
    for nm in names:
        ref = direct.dN[nm]
        assert np.max(np.abs(table.dN[nm] - ref)) < 1e-8 * np.max(np.abs(ref)), nm


@pytest.mark.parametrize("name", ["dwave_sis_conductance", "dwave_sin"])
def test_dwave_rows_of_a_map_sharing_gamma_equal_the_rows_alone(monkeypatch, name):
    """A map's rows with one Gamma (the shared gap-node table) get what each row gets alone (the direct
    angle sum), values and Jacobian, and the Jacobian of the map matches finite differences."""
    import analysis.models.dwave as dw

    m = get_model(name)
    x = m.example_x()[::2]
    names = m.param_names
    n = 40
    P = np.array([[_truth(m)[k] for k in names]] * n)
    gap = names.index("Delta0_s" if "Delta0_s" in names else "Delta0")
    P[:, gap] *= np.linspace(0.85, 1.15, n)
    used = []
    table = dw.gap_table_side
    monkeypatch.setattr(dw, "gap_table_side", lambda *a, **k: used.append(a[1].size) or table(*a, **k))
    cols = np.array([names.index(k) for k in ("G_N", names[gap], "Gamma", "a")])
    val, J = m.fit_values_and_jacobian(x, P, cols)
    J = m.jacobian_columns(x, P, cols)
    assert used and max(used) == n
    used.clear()
    for i in range(0, n, 13):
        alone = m.evaluate_batch(x, P[i : i + 1])[0]
        np.testing.assert_allclose(val[i], alone, rtol=0, atol=1e-9 * np.max(np.abs(alone)))
        Ja = m.jacobian_columns(x, P[i : i + 1], cols)[0]
        scale = np.max(np.abs(Ja), axis=0)
        assert np.all(np.max(np.abs(J[i] - Ja), axis=0) <= 1e-8 * scale)
    assert not used  # single rows take the direct sum
    for c, j in enumerate(cols[1:], start=1):
        step = 1e-6 * max(abs(P[0, j]), 1e-3)
        up, dn = P.copy(), P.copy()
        up[:, j] += step
        dn[:, j] -= step
        fd = (m.evaluate_batch(x, up) - m.evaluate_batch(x, dn)) / (2 * step)
        assert np.max(np.abs(fd - J[..., c])) <= 1e-5 * np.max(np.abs(fd)), names[j]
