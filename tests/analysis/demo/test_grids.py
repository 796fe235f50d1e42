"""The built-in demo pair: co-registered MgB2 QP and Josephson grids like [JSTM] Fig. 4."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from analysis.dataset import Grid
from analysis.demo.grids import make_demo


@pytest.fixture(scope="module")
def demo():
    t0 = time.perf_counter()
    qp, jo = make_demo(0)
    return qp, jo, time.perf_counter() - t0


def test_shapes_units_and_frames(demo):
    qp, jo, elapsed = demo
    for g, vmax in ((qp, 15e-3), (jo, 2e-3)):
        assert isinstance(g, Grid)
        assert g.shape == (128, 128, 256)
        assert g.bias[0] == pytest.approx(-vmax) and g.bias[-1] == pytest.approx(vmax)
        assert np.all(np.diff(g.bias) > 0)
        assert g.units == {"dI/dV": "S", "Current": "A"}
        for c in g.channels.values():
            assert c.dtype == np.float32 and c.flags.c_contiguous and c.shape == g.shape
            assert np.all(np.isfinite(c))
        assert g.frame.size == (220e-9, 220e-9) and g.frame.center == (0.0, 0.0)
        assert g.valid.all() and g.topography is not None
        assert g.param_units["Z"] == "m" and g.param_units["Delta_pi_true"] == "eV"
        json.dumps(g.metadata)
    assert qp.frame.same_area(jo.frame)
    np.testing.assert_array_equal(qp.params["Z"], jo.params["Z"])
    assert elapsed < 10.0  # about 2 s on an idle core: one spectrum per distinct gap


def test_reproducible_and_seeded(demo):
    a = demo[0]
    b, _ = make_demo(0)
    c, _ = make_demo(4)
    np.testing.assert_array_equal(a.channels["dI/dV"], b.channels["dI/dV"])
    np.testing.assert_array_equal(a.params["Z"], b.params["Z"])
    assert not np.array_equal(a.params["Z"], c.params["Z"])


def test_grains_topography_and_gaps(demo):
    qp, _, _ = demo
    meta = qp.metadata["demo"]
    grain = qp.params["grain"].astype(int)
    n = grain.max() + 1
    assert n == 6 == len(meta["grain_Delta_pi_eV"])
    sizes = np.bincount(grain.ravel())
    assert sizes.min() > 0.05 * grain.size
    z = qp.params["Z"]
    means = np.array([z[grain == g].mean() for g in range(n)])
    within = np.mean([z[grain == g].std() for g in range(n)])
    assert np.ptp(means) > 3 * within  # grains differ in height more than the roughness
    gaps = np.array([meta["grain_Delta_pi_eV"][g] for g in range(n)])
    assert np.all((gaps >= 2.2e-3) & (gaps <= 2.8e-3)) and np.unique(gaps).size == n
    assert gaps[meta["strongest_grain"]] == pytest.approx(2.8e-3)
    truth = qp.params["Delta_pi_true"]
    # away from the flux disc the gap is the grain's gap; inside it vanishes
    iy, ix = qp.frame.nearest_pixel(*meta["flux_region"]["center_m"])
    assert truth[iy, ix] == 0.0
    ok = truth > 0.999 * gaps[grain]
    assert ok.mean() > 0.6
    np.testing.assert_allclose(truth[ok], gaps[grain][ok], atol=2e-5)
    np.testing.assert_allclose(qp.params["Delta_sigma_true"], truth * 7.1 / 2.5)


def test_qp_spectra_follow_the_local_gap(demo):
    qp, _, _ = demo
    meta = qp.metadata["demo"]
    tip = meta["tip"]["Delta_pi_eV"]
    truth = qp.params["Delta_pi_true"]
    V = qp.bias
    inner = (np.abs(V) > 3e-3) & (np.abs(V) < 7e-3)
    for g in (0, meta["strongest_grain"]):
        iy, ix = np.argwhere((qp.params["grain"] == g) & (truth > 0))[0]
        spec = qp.spectrum("dI/dV", iy, ix)
        vpk = V[inner][np.argmax(spec[inner] * (V[inner] > 0))]
        assert vpk == pytest.approx(tip + truth[iy, ix], abs=0.15e-3)  # SIS peak at Delta_t + Delta_s
        assert spec[np.argmin(np.abs(V))] < 0.1 * spec[0]  # deep SIS gap
    # in the flux disc the junction is SIN-like: peak near the tip gap only, filled-in gap
    iy, ix = qp.frame.nearest_pixel(*meta["flux_region"]["center_m"])
    spec = qp.spectrum("dI/dV", iy, ix)
    pos = (V > 1e-3) & (V < 7e-3)
    assert V[pos][np.argmax(spec[pos])] == pytest.approx(tip, abs=0.3e-3)
    # the -5 mV map ([JSTM] Fig. 4c) is darkest in the flux disc
    m5 = qp.bias_slice("dI/dV", qp.bias_index(-5e-3), half_width=1)
    assert m5[iy, ix] < np.percentile(m5, 5)
    # the current channel integrates the conductance
    from scipy.integrate import cumulative_trapezoid

    i = qp.spectrum("Current", 10, 10).astype(float)
    g = qp.spectrum("dI/dV", 10, 10).astype(float)
    np.testing.assert_allclose(i - i[0], cumulative_trapezoid(g, V, initial=0), atol=0.01 * np.abs(i).max())


def test_josephson_peak_follows_ab_and_vanishes_in_the_flux_region(demo):
    _, jo, _ = demo
    meta = jo.metadata["demo"]
    g0 = jo.bias_slice("dI/dV", jo.bias_index(0.0), half_width=2).astype(float)
    gh = jo.bias_slice("dI/dV", jo.bias_index(1.9e-3), half_width=2).astype(float)
    peak = g0 - gh
    icrn = jo.params["IcRn_true"]
    assert icrn.max() == pytest.approx(4.1e-3, abs=0.2e-3)  # [JSTM]: about 4 mV at the maximum
    np.testing.assert_allclose(jo.params["Ic_true"], icrn / meta["R_N_josephson_Ohm"])
    # peak height grows like (Ic R_N)^2 (small-coupling IZ) and is strongest on the strongest grain
    corr = np.corrcoef(peak.ravel(), (icrn**2).ravel())[0, 1]
    assert corr > 0.95
    grain = jo.params["grain"].astype(int)
    means = [peak[grain == g].mean() for g in range(grain.max() + 1)]
    assert int(np.argmax(means)) == meta["strongest_grain"]
    iy, ix = jo.frame.nearest_pixel(*meta["flux_region"]["center_m"])
    gn = 1.0 / meta["R_N_josephson_Ohm"]
    # no Josephson peak where the gap vanishes: the zero-bias conductance is the small SIN background
    assert icrn[iy, ix] == 0.0 and g0[iy, ix] < 0.05 * gn
    assert np.median(g0[icrn > 0.95 * icrn.max()]) > 0.25 * gn


def test_progress_and_cancel():
    import threading

    calls = []
    make_demo(1, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == list(range(1, len(calls) + 1))
    ev = threading.Event()
    ev.set()
    from analysis.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="cancelled"):
        make_demo(1, cancel=ev)


def test_qp_grid_is_the_registry_model(demo):
    """Averaging the pixels of one grain (same gap) removes the noise and leaves the two-band SIS model."""
    from analysis.models.registry import get_model

    qp, _, _ = demo
    d = qp.metadata["demo"]
    g = d["strongest_grain"]
    sel = (qp.params["grain"] == g) & np.isclose(qp.params["Delta_pi_true"], 2.8e-3, rtol=0, atol=1e-9)
    assert sel.sum() > 200
    mean = qp.channels["dI/dV"][sel].astype(float).mean(axis=0)
    model = get_model("two_band_sis_conductance")
    tip, smp = d["tip"], d["sample"]
    y = model(
        qp.bias,
        G_N=1 / d["R_N_qp_Ohm"],
        Delta_pi_t=tip["Delta_pi_eV"],
        Delta_sigma_t=tip["Delta_sigma_eV"],
        w_sigma_t=tip["w_sigma"],
        Delta_pi_s=2.8e-3,
        Delta_sigma_s=2.8e-3 * smp["sigma_to_pi_ratio"],
        w_sigma_s=smp["w_sigma"],
        Gamma_pi=d["Gamma_pi_eV"],
        Gamma_sigma=d["Gamma_sigma_eV"],
        T=d["temperature_K"],
    )
    noise = d["noise_relative_to_G_N"]["qp"] / d["R_N_qp_Ohm"] / np.sqrt(sel.sum())
    np.testing.assert_allclose(mean, y, atol=6 * noise + 2e-3 * y.max())
