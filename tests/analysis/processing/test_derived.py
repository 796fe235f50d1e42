"""Derived channels: Savitzky-Golay dI/dV and smoothing, normalised conductance, lock-in rotation."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from analysis.dataset import Frame, Grid
from analysis.hooks import Cancelled
from analysis.processing.derived import (
    didv_from_current,
    lockin_phase,
    normalised_conductance,
    rotate_lockin,
    smooth_along_bias,
)


def _grid(channels: dict[str, np.ndarray], bias: np.ndarray, units: dict[str, str]) -> Grid:
    ny, nx, _nb = next(iter(channels.values())).shape
    return Grid(
        name="g",
        bias=bias,
        channels={k: v.astype(np.float32) for k, v in channels.items()},
        units=units,
        frame=Frame(size=(10e-9, 10e-9), shape=(ny, nx)),
        params={"Z": np.zeros((ny, nx))},
        param_units={"Z": "m"},
        valid=np.ones((ny, nx), bool),
    )


def test_savgol_didv_of_a_cubic_current_is_exact():
    v = np.linspace(-10e-3, 10e-3, 101)
    a = np.arange(1, 7, dtype=float).reshape(2, 3, 1)  # a different scale per pixel
    current = a * 1e-9 * (v / 1e-2 + (v / 1e-2) ** 3)  # A, |I| <= 2 nA * a
    g = _grid({"Current": current}, v, {"Current": "A"})
    out = didv_from_current(g, "Current", window=9, order=3)
    exact = a * 1e-9 * (1 / 1e-2 + 3 * v**2 / 1e-2**3)
    assert out.units["dI/dV (SG)"] == "S"
    np.testing.assert_allclose(out.channels["dI/dV (SG)"], exact, rtol=1e-4)
    assert out.provenance[-1] == {
        "operation": "didv_savgol",
        "parameters": {"channel": "Current", "window": 9, "order": 3},
        "inputs": ["g"],
    }
    assert out.frame == g.frame and out.params is g.params and out.channels["dI/dV (SG)"].dtype == np.float32


def test_savgol_rejects_bad_windows_and_uneven_sweeps():
    v = np.linspace(-1, 1, 21)
    g = _grid({"Current": np.zeros((1, 1, 21))}, v, {"Current": "A"})
    with pytest.raises(ValueError, match="odd"):
        didv_from_current(g, "Current", window=6)
    with pytest.raises(ValueError, match="order"):
        didv_from_current(g, "Current", window=5, order=5)
    with pytest.raises(ValueError, match="no channel"):
        didv_from_current(g, "I", window=5)
    g.bias = v**3
    with pytest.raises(ValueError, match="evenly spaced"):
        didv_from_current(g, "Current", window=5)


def test_smoothing_keeps_a_quadratic_and_reduces_noise(rng):
    v = np.linspace(-1, 1, 201)
    clean = np.broadcast_to(2 + v**2, (3, 4, 201))
    noisy = clean + rng.normal(0, 0.05, clean.shape)
    g = _grid({"dI/dV": noisy, "clean": clean}, v, {"dI/dV": "S", "clean": "S"})
    kept = smooth_along_bias(g, "clean", window=11, order=2).channels["clean (smoothed)"]
    np.testing.assert_allclose(kept, clean, rtol=1e-5)
    sm = smooth_along_bias(g, "dI/dV", window=21, order=2).channels["dI/dV (smoothed)"]
    assert np.std(sm - clean) < 0.5 * np.std(noisy - clean)


def test_normalised_conductance_is_one_for_an_ohmic_junction_including_zero_bias():
    v = np.linspace(-5e-3, 5e-3, 51)  # contains V = 0 exactly
    gn = np.array([1e-9, 3e-9]).reshape(1, 2, 1)
    g = _grid(
        {"dI/dV": np.broadcast_to(gn, (1, 2, 51)), "Current": gn * v}, v, {"dI/dV": "S", "Current": "A"}
    )
    for broadening in (None, 0.0, 1e-3):
        out = normalised_conductance(g, "dI/dV", "Current", broadening=broadening).channels["(dI/dV)/(I/V)"]
        np.testing.assert_allclose(out, 1.0, rtol=1e-5)


def test_normalised_conductance_of_a_nonlinear_curve_without_broadening():
    v = np.linspace(-1, 1, 41)
    current = (v + v**3).reshape(1, 1, -1)
    didv = (1 + 3 * v**2).reshape(1, 1, -1)
    g = _grid({"dI/dV": didv, "Current": current}, v, {"dI/dV": "S", "Current": "A"})
    out = normalised_conductance(g, broadening=0.0).channels["(dI/dV)/(I/V)"][0, 0]
    far = np.abs(v) > 0.01
    np.testing.assert_allclose(out[far], ((1 + 3 * v**2) / (1 + v**2))[far], rtol=1e-5)
    assert np.isfinite(out).all() and out[20] == pytest.approx(1.0, abs=0.01)  # regularised at V = 0
    # with broadening the value stays finite and close to 1 at zero bias
    out_b = normalised_conductance(g, broadening=0.1).channels["(dI/dV)/(I/V)"][0, 0]
    assert np.isfinite(out_b).all() and 0.8 < out_b[20] < 1.2


def test_normalised_conductance_nan_inside_a_hard_gap_without_broadening():
    v = np.linspace(-1, 1, 41)
    current = np.where(np.abs(v) > 0.5, v - 0.5 * np.sign(v), 0.0).reshape(1, 1, -1)
    didv = (np.abs(v) > 0.5).astype(float).reshape(1, 1, -1)
    g = _grid({"dI/dV": didv, "Current": current}, v, {"dI/dV": "S", "Current": "A"})
    out = normalised_conductance(g, broadening=0.0).channels["(dI/dV)/(I/V)"][0, 0]
    assert np.isnan(out[np.abs(v) < 0.45]).all()
    out_b = normalised_conductance(g, broadening=0.3).channels["(dI/dV)/(I/V)"][0, 0]
    assert np.isfinite(out_b).all()


@pytest.mark.parametrize("phase_deg", [0.0, 30.0, -75.0, 160.0])
def test_lockin_rotation_recovers_the_phase(rng, phase_deg):
    v = np.linspace(-1, 1, 64)
    signal = (1.5 + v**2)[None, None, :] * rng.uniform(0.5, 2.0, (4, 5, 1))
    phi = math.radians(phase_deg)
    x = signal * math.cos(phi) + rng.normal(0, 1e-3, signal.shape)
    y = signal * math.sin(phi) + rng.normal(0, 1e-3, signal.shape)
    g = _grid({"X": x, "Y": y}, v, {"X": "V", "Y": "V"})
    theta = lockin_phase(g.channels["X"], g.channels["Y"])
    assert math.degrees(theta) == pytest.approx(phase_deg, abs=0.05)
    out = rotate_lockin(g, "X", "Y")
    np.testing.assert_allclose(out.channels["X (rotated)"], signal, atol=5e-3)
    assert np.abs(out.channels["Y (rotated)"]).max() < 5e-3
    assert out.provenance[-1]["parameters"]["phase_deg"] == pytest.approx(phase_deg, abs=0.05)


def test_derived_functions_report_progress_and_cancel():
    v = np.linspace(-1, 1, 21)
    g = _grid({"Current": np.zeros((40, 2, 21))}, v, {"Current": "A"})
    seen = []
    didv_from_current(g, "Current", window=5, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (40, 40) and len(seen) == 3
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        smooth_along_bias(g, "Current", window=5, cancel=ev)
