"""Synthetic mesa series ([MESA], paper 002): current-biased stacks of N intercalated Bi2212 junctions
measured through a top-contact SIN junction, with stated truth.

* Each stack is the uniform self-heating S-curve of :func:`analysis.papers.mesa.simulate_stacks` with the
  simulator's default junction (d-wave SIS, Delta0 24 meV, Tc 74 K, Gamma 0.55 meV) and the thermal
  resistance, bath temperature and junction resistance of :data:`TRUTH`; it is sampled on a uniform
  current grid along its rising-current branch (current bias).
* The measured voltage adds the top contact's V_SIN(I), the inverse of the monotone
  I_SIN(V) = V/R_SIN + I_SIN0 tanh(V/V_SIN0), and noise.
* The top contact alone is the sweep tagged N = 0 (the separately measured SIN curve the correction needs).

Truth per stack (``series.metadata["truth"]``): the simulator's beta, V_peak per junction and mesa
temperature at the peak, without the SIN contact and without noise; for the junction: Delta0, Gamma0 and
G_N = 1/R_N per junction.
"""

from __future__ import annotations

import numpy as np

from analysis.papers.mesa import default_stack_parameters, simulate_stacks
from analysis.series import Series, Sweep

TRUTH: dict[str, float] = {
    "alpha": 110e3,  # K/W, thermal resistance of the mesa
    "t_bath": 4.2,  # K
    "r_n": 24.2,  # Ohm per junction
    "delta0": 24e-3,  # eV
    "gamma0": 0.55e-3,  # eV
    "R_SIN": 2.0,  # Ohm, top contact at high bias
    "I_SIN0": 0.2e-3,  # A, gap-like nonlinearity of the top contact
    "V_SIN0": 5e-3,  # V
}
#: Junction counts of the stacks.
STACKS = (1, 4, 7, 12, 19)
#: Points per sweep and the voltage noise (V).
N_POINTS = 1500
NOISE_V = 2e-6
#: Points of the separately measured top-contact curve (coarser: its steps stay far above the noise).
SIN_POINTS = 201


def sin_current(v: np.ndarray) -> np.ndarray:
    """I_SIN(V) (A) of the top contact, V in volts."""
    return v / TRUTH["R_SIN"] + TRUTH["I_SIN0"] * np.tanh(v / TRUTH["V_SIN0"])


def _sin_voltage(i: np.ndarray) -> np.ndarray:
    vs = np.linspace(-0.2, 0.2, 40001)
    return np.interp(i, sin_current(vs), vs)


def make_mesa_series(seed: int = 0) -> Series:
    """The synthetic mesas: one sweep per stack of :data:`STACKS` (tag ``N``) and the top contact alone
    (N = 0); channels Current (A, swept) and Voltage (V). ``metadata["truth"]`` holds per stack ``N``,
    ``beta``, ``v_peak`` (V per junction), ``t_at_peak`` (K) and ``backbends``; ``metadata["junction"]``
    the junction truth."""
    rng = np.random.default_rng(seed)
    p = default_stack_parameters(TRUTH["t_bath"])
    sim = simulate_stacks(STACKS, TRUTH["alpha"], TRUTH["t_bath"], TRUTH["r_n"], params=p)
    sweeps: list[Sweep] = []
    truths = []
    for st in sim.stacks:
        iv = st.iv
        rising = np.concatenate(([True], np.diff(iv.I) > 0)) & (iv.I >= np.maximum.accumulate(iv.I))
        i_b, v_b = iv.I[rising], iv.V[rising]
        current = np.linspace(0.0, float(i_b[-1]), N_POINTS)
        v_stack = np.interp(current, i_b, v_b)
        v = v_stack + _sin_voltage(current) + rng.normal(0.0, NOISE_V, current.size)
        label = f"N = {st.n}"
        sweeps.append(Sweep(x=current, channels={"Current": current, "Voltage": v}, label=label))
        truths.append(
            {
                "N": st.n,
                "beta": float(st.beta),
                "v_peak": float(st.v_peak),
                "t_at_peak": float(st.t_at_peak),
                "backbends": bool(iv.backbends),
            }
        )
    i_top = float(max(sw.x[-1] for sw in sweeps))
    i_sin = np.linspace(-i_top, i_top, SIN_POINTS)
    v_sin = _sin_voltage(i_sin) + rng.normal(0.0, NOISE_V, i_sin.size)
    sweeps.append(Sweep(x=i_sin, channels={"Current": i_sin, "Voltage": v_sin}, label="top contact (SIN)"))
    return Series(
        name="Synthetic Bi2212 mesas",
        sweeps=sweeps,
        x_name="Current",
        x_unit="A",
        x_channel="Current",
        bias_mode="current",
        units={"Current": "A", "Voltage": "V"},
        tags={"N": np.array([*STACKS, 0], dtype=float)},
        tag_units={"N": ""},
        metadata={
            "truth": truths,
            "junction": {"delta0": TRUTH["delta0"], "gamma0": TRUTH["gamma0"], "G_N": 1.0 / TRUTH["r_n"]},
            "scenario": "mesa",
        },
    )


__all__ = ["STACKS", "TRUTH", "make_mesa_series", "sin_current"]
