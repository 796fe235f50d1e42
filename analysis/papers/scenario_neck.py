"""Synthetic neck series ([NECK], paper 001): current-biased sweeps of a Pb point contact against field.

Each sweep is built from stated truth values, so the neck analysis can be checked end to end:

* the bare contact has the differential conductance G(V) = 1/R_b + I_x0 * 2|V|/V_x^2 exp(-(V/V_x)^2)
  (whose integral is the excess current I_x0 sign(V) (1 - exp(-(V/V_x)^2))) minus Gaussian dips at the
  subharmonic rungs 2 Delta(H)/n (n = 2, 3, 4) and at the heated n = 1 feature 2 Delta_T(T_loc) (BCS
  Delta(T) scaled to Delta(H)); V_b(I) is the inverse of its current I_b(V);
* phase-slip centres add a voltage step dV_k and a resistance dR_k at the currents where V_b reaches
  ``PHASE_SLIP_V`` (the first ``count(H)`` of them, fewer in higher field);
* the channels are Current (A, the swept quantity), Voltage (V, with noise) and a lock-in dV/dI (Ohm,
  with noise; a step shows as a narrow peak of area dV_k in current).

Gap: Delta(H) = Delta0 sqrt(1 - (H/H_c2)^2). The high-bias lines are V = R_N I - R_N I_exc with
R_N = R_b + sum dR_k and I_exc = (R_b I_x0 - sum (dV_k - dR_k I_k) + dip deficit)/R_N for the steps taken,
where the dip deficit is the current the conductance dips remove at high bias (sum a_j sigma_j sqrt(2 pi)
R_b). :data:`TRUTH` holds the inputs; :func:`make_neck_series` returns the series with a per-sweep truth
table in ``series.metadata["truth"]``.
"""

from __future__ import annotations

import math

import numpy as np

from analysis.models.bcs import delta_bcs_interp
from analysis.series import Series, Sweep

TRUTH: dict[str, float] = {
    "Delta0": 1.35e-3,  # eV, the gap at zero field
    "Tc": 7.2,  # K
    "H_c2": 0.6,  # T, the field scale of Delta(H)
    "T_loc": 5.0,  # K, the local temperature of the heated n = 1 feature
    "R_b": 5.0,  # Ohm, the bare contact's high-bias resistance
    "I_x0": 0.4e-3,  # A, the bare excess current
    "V_x": 1.5e-3,  # V, the bias over which the excess current builds up
    "dV_step": 40e-6,  # V, voltage step of each phase-slip centre
    "dR_step": 0.05,  # Ohm, resistance added by each phase-slip centre
}
#: Fields of the sweeps (T) and the number of phase-slip centres at each.
FIELDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
STEP_COUNTS = (3, 3, 2, 2, 1, 1, 0)
#: Bias (V, of the bare contact) at which each phase-slip centre appears.
PHASE_SLIP_V = (3.0e-3, 3.8e-3, 4.6e-3)
#: Dip amplitudes (S) and widths (V) of the subharmonic features in G(V).
DIP_AMPLITUDE = 0.04
DIP_WIDTH = 40e-6
#: Current range and points of a sweep, and the noise of V (V) and dV/dI (Ohm).
I_MAX = 3.2e-3
#: Current width (A) over which the lock-in spreads a voltage step.
LOCKIN_WIDTH = 5e-6
N_POINTS = 6001
NOISE_V = 1e-6
NOISE_R = 0.004


def gap_at(H: float) -> float:
    """Delta(H) (eV) of the synthetic neck."""
    return TRUTH["Delta0"] * math.sqrt(max(1.0 - (H / TRUTH["H_c2"]) ** 2, 0.0))


def _features(H: float) -> list[float]:
    d = gap_at(H)
    v1 = 2.0 * float(delta_bcs_interp(TRUTH["T_loc"], TRUTH["Tc"], d))
    return [2 * d / 4, 2 * d / 3, 2 * d / 2, v1]


def _conductance(V: np.ndarray, H: float) -> np.ndarray:
    """G(V) (S) of the bare contact with its dips."""
    vx, ix = TRUTH["V_x"], TRUTH["I_x0"]
    g = 1.0 / TRUTH["R_b"] + ix * 2.0 * np.abs(V) / vx**2 * np.exp(-((V / vx) ** 2))
    for p in _features(H):
        for s in (1.0, -1.0):
            g = g - DIP_AMPLITUDE * np.exp(-0.5 * ((V - s * p) / DIP_WIDTH) ** 2)
    return g


def _sweep(H: float, count: int, rng: np.random.Generator) -> tuple[Sweep, dict[str, float]]:
    vf = np.linspace(-20e-3, 20e-3, 80001)
    g = _conductance(vf, H)
    ib = np.concatenate(([0.0], np.cumsum(0.5 * (g[1:] + g[:-1]) * np.diff(vf))))
    ib -= np.interp(0.0, vf, ib)
    current = np.linspace(-I_MAX, I_MAX, N_POINTS)
    vb = np.interp(current, ib, vf)
    rb = 1.0 / np.interp(vb, vf, g)  # dV/dI of the bare contact
    v = vb.copy()
    r = rb.copy()
    width = LOCKIN_WIDTH
    offset = 0.0
    for k in range(count):
        ik = float(np.interp(PHASE_SLIP_V[k], vf, ib))
        dv, dr = TRUTH["dV_step"], TRUTH["dR_step"]
        for s in (1.0, -1.0):
            after = s * current > ik
            v = v + s * np.where(after, dv + dr * (s * current - ik), 0.0)
            r = r + np.where(after, dr, 0.0)
            r = r + dv * np.exp(-0.5 * ((s * current - ik) / width) ** 2) / (width * math.sqrt(2 * math.pi))
        offset += dv - dr * ik
    deficit = len(_features(H)) * DIP_AMPLITUDE * DIP_WIDTH * math.sqrt(2 * math.pi)
    r_n = TRUTH["R_b"] + count * TRUTH["dR_step"]
    i_exc = (TRUTH["R_b"] * (TRUTH["I_x0"] - deficit) - offset) / r_n
    v = v + rng.normal(0.0, NOISE_V, v.size)
    r = r + rng.normal(0.0, NOISE_R, r.size)
    label = f"H = {H:g} T"
    sweep = Sweep(x=current, channels={"Current": current, "Voltage": v, "dV/dI": r}, label=label)
    d = gap_at(H)
    truth = {
        "H": H,
        "Delta": d,
        "T_loc": TRUTH["T_loc"],
        "V1": _features(H)[3],
        "steps": float(count),
        "R_N": r_n,
        "I_exc": i_exc,
    }
    return sweep, truth


def make_neck_series(seed: int = 0) -> Series:
    """The synthetic neck: one current-biased sweep per field of :data:`FIELDS` (tag ``H`` in T), channels
    Current (A), Voltage (V) and dV/dI (Ohm); ``metadata["truth"]`` lists per sweep the truth values
    (``Delta`` eV, ``T_loc`` K, ``V1`` V, ``steps``, ``R_N`` Ohm, ``I_exc`` A)."""
    rng = np.random.default_rng(seed)
    sweeps, truths = [], []
    for H, count in zip(FIELDS, STEP_COUNTS, strict=True):
        sw, tr = _sweep(H, count, rng)
        sweeps.append(sw)
        truths.append(tr)
    return Series(
        name="Synthetic Pb neck",
        sweeps=sweeps,
        x_name="Current",
        x_unit="A",
        x_channel="Current",
        bias_mode="current",
        units={"Current": "A", "Voltage": "V", "dV/dI": "Ohm"},
        tags={"H": np.array(FIELDS)},
        tag_units={"H": "T"},
        metadata={"truth": truths, "scenario": "neck", "Tc": TRUTH["Tc"]},
    )


__all__ = ["FIELDS", "PHASE_SLIP_V", "STEP_COUNTS", "TRUTH", "gap_at", "make_neck_series"]
