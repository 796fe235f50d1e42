"""Synthetic microwave scenario ([HAM], paper 004) with known truth, built from the models.

One series ``"I-V under rf"`` of 21 I(V) sweeps (channels ``Voltage`` V, swept, and ``Current`` A) of a
tunnel junction (Delta = 0.5875 meV, R_N = 5.4 Ohm) under rf at f = 25.7 GHz, at attenuator readings 10 to
30 dB (tag ``attenuation``, dB; tag ``f``, Hz); the rf voltage is V_rf = C 10^(-A/20) with C = 8.4 mV
([HAM] Eq. 9). Each sweep holds

* Josephson plateaus N = 0..4 at N h f/2e whose current extent is 0.8 times the Eq. 6 (Werthamer, broadened
  Riedel) amplitude (:func:`analysis.models.microwave.werthamer_riedel_step_amplitude`);
* the photon-assisted quasiparticle current (Tien-Gordon, Eq. 8) of I_0(V) = V/R_N above 2 Delta/e (a
  leakage of R_N/50 below), whose steps at 2 Delta/e + n h f/e have heights (2 Delta/e R_N) J_n(alpha)^2;
* 0.2 uA of current noise.

:func:`make_i0_series` gives I_0(V) without rf, the input of the Tien-Gordon prediction.

``TRUTH``: C (V), Delta (eV), the Josephson amplitude scale 0.8 I_J(0) (A), the quasiparticle scale
2 Delta/(e R_N) (A), f (Hz).
"""

from __future__ import annotations

import numpy as np

from analysis.models import microwave as mw
from analysis.series import Series, make_series

F = 25.7e9
DELTA = 0.5875e-3
R_N = 5.4
C_TRUE = 8.4e-3
ATTENUATIONS = np.linspace(10.0, 30.0, 21)
JOSEPHSON_ORDERS = (0, 1, 2, 3, 4)
QP_ORDERS = (-1, 0, 1)
JOSEPHSON_SCALE = 0.8 * mw.riedel_zero_voltage(DELTA, R_N)
QP_SCALE = 2.0 * DELTA / R_N
NOISE = 0.2e-6

TRUTH: dict[str, float] = {
    "c": C_TRUE,
    "delta": DELTA,
    "josephson_scale": JOSEPHSON_SCALE,
    "qp_scale": QP_SCALE,
    "f": F,
    "r_n": R_N,
}


def _i0() -> tuple[np.ndarray, np.ndarray]:
    v0 = np.linspace(-9e-3, 9e-3, 18001)
    i0 = np.where(np.abs(v0) > 2 * DELTA, v0 / R_N, v0 / (50.0 * R_N))
    return v0, i0


def make_microwave_series(seed: int = 0) -> Series:
    """The scenario's series (module docstring)."""
    rng = np.random.default_rng(seed)
    v0, i0 = _i0()
    hj = mw.H_OVER_2E * F
    v_branch = np.arange(0.0, 1.5e-3, 1e-6)
    sweeps = []
    for att in ATTENUATIONS:
        v_rf = float(mw.rf_voltage_from_attenuation(att, C_TRUE))
        alpha = float(mw.photon_ratio(v_rf, F))
        qp = mw.tien_gordon_current(v_branch, (v0, i0), v_rf, F)
        V, I = [v_branch], [qp]
        for n in JOSEPHSON_ORDERS:
            amp = 0.8 * float(mw.werthamer_riedel_step_amplitude(n, alpha, F, DELTA, R_N, damping=1e-3))
            vn = n * hj
            centre = float(np.interp(vn, v_branch, qp))
            V.append(np.full(21, vn))
            I.append(np.linspace(centre - amp / 2, centre + amp / 2, 21))
        v = np.concatenate(V)
        i = np.concatenate(I) + rng.normal(0.0, NOISE, v.size)
        order = np.argsort(v, kind="stable")
        sweeps.append({"Voltage": v[order], "Current": i[order]})
    return make_series(
        sweeps,
        name="I-V under rf",
        x_channel="Voltage",
        units={"Voltage": "V", "Current": "A"},
        tags={"attenuation": list(ATTENUATIONS), "f": [F] * len(ATTENUATIONS)},
        tag_units={"attenuation": "dB", "f": "Hz"},
    )


def make_i0_series() -> Series:
    """The junction's I_0(V) without rf (one sweep, -3..3 mV, 1 uV steps, no noise): the input of the
    Tien-Gordon prediction."""
    v0, i0 = _i0()
    sel = np.abs(v0) <= 3e-3
    return make_series(
        [{"Voltage": v0[sel], "Current": i0[sel]}],
        name="I-V without rf",
        x_channel="Voltage",
        units={"Voltage": "V", "Current": "A"},
    )


__all__ = ["TRUTH", "make_i0_series", "make_microwave_series"]
