"""Synthetic microwave scenario ([HAM], paper 004) with known truth, built from the models.

One series ``"I-V under rf"`` of 21 I(V) sweeps (channels ``Voltage`` V, swept, and ``Current`` A) of a
tunnel junction (Delta = 0.5875 meV, R_N = 5.4 Ohm) under rf at f = 25.7 GHz, at attenuator readings 10 to
30 dB (tag ``attenuation``, dB; tag ``f``, Hz); the rf voltage is V_rf = C 10^(-A/20) with C = 8.4 mV
([HAM] Eq. 9). Each sweep holds

* Josephson plateaus N = 0..4 at N h f/2e whose current extent is 0.8 times the Eq. 6 (Werthamer, broadened
  Riedel) amplitude (:func:`analysis.models.microwave.werthamer_riedel_step_amplitude`);
* the photon-assisted quasiparticle current (Tien-Gordon, Eq. 8) of I_0(V) = V/R_N above 2 Delta/e (a
  leakage of R_N/50 below), whose steps at 2 Delta/e + n h f/e have heights (2 Delta/e R_N)(1 - 1/50)
  J_n(alpha)^2;
* 0.2 uA of current noise.

:func:`make_i0_series` gives I_0(V) without rf, the input of the Tien-Gordon prediction.

``TRUTH``: C (V), Delta (eV), the Josephson amplitude scale 0.8 I_J(0) (A), the quasiparticle scale
the jump of I_0(V) at 2 Delta/e, (2 Delta/(e R_N)) (1 - 1/50) with the leakage (A), f (Hz).
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
QP_SCALE = 2.0 * DELTA / R_N * (1.0 - 1.0 / 50.0)  # the jump of I_0 at the gap (leakage R_N/50 below)
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


#: The frequency slice of the scenario ([HAM] Fig. 8): step N = 0 at 2 alpha = 25.9, f from 22 to 29 GHz.
SLICE_ORDER = 0
SLICE_TWO_ALPHA = 25.9
SLICE_FREQUENCIES = np.arange(22.0e9, 29.01e9, 0.5e9)
#: Attenuator offsets (dB) around the reading that gives SLICE_TWO_ALPHA at each frequency.
SLICE_OFFSETS = (-0.1, -0.05, 0.0, 0.05, 0.1)


def slice_truth(f) -> np.ndarray:
    """The scenario's signed N = SLICE_ORDER amplitude (A) at 2 alpha = SLICE_TWO_ALPHA against f (Hz)."""
    alpha = SLICE_TWO_ALPHA / 2.0
    return np.array(
        [
            0.8
            * float(
                mw.werthamer_riedel_step_amplitude(
                    SLICE_ORDER, alpha, float(fr), DELTA, R_N, damping=1e-3, signed=True
                )
            )
            for fr in np.atleast_1d(f)
        ]
    )


def make_frequency_scan_series(seed: int = 0) -> Series:
    """A frequency scan for the slice: at each f of ``SLICE_FREQUENCIES`` five I(V) sweeps at attenuator
    readings within +-0.1 dB of the one that gives 2 alpha = ``SLICE_TWO_ALPHA`` (same C), each with the
    photon-assisted branch below 0.2 mV and the Josephson plateaus N = 0, 1 (0.8 times Eq. 6), 0.2 uA
    noise. Tags ``attenuation`` (dB) and ``f`` (Hz)."""
    rng = np.random.default_rng(seed + 100)
    v0, i0 = _i0()
    v_branch = np.arange(0.0, 0.2e-3, 1e-6)
    sweeps, atts, fs = [], [], []
    for fr in SLICE_FREQUENCIES:
        v_target = SLICE_TWO_ALPHA / 2.0 * mw.H_OVER_E * fr
        centre_att = 20.0 * np.log10(C_TRUE / v_target)
        hj = mw.H_OVER_2E * fr
        for off in SLICE_OFFSETS:
            att = float(centre_att + off)
            v_rf = float(mw.rf_voltage_from_attenuation(att, C_TRUE))
            alpha = float(mw.photon_ratio(v_rf, fr))
            qp = mw.tien_gordon_current(v_branch, (v0, i0), v_rf, fr)
            V, I = [v_branch], [qp]
            for n in (0, 1):
                amp = 0.8 * float(mw.werthamer_riedel_step_amplitude(n, alpha, fr, DELTA, R_N, damping=1e-3))
                centre = float(np.interp(n * hj, v_branch, qp))
                V.append(np.full(21, n * hj))
                I.append(np.linspace(centre - amp / 2, centre + amp / 2, 21))
            v = np.concatenate(V)
            i = np.concatenate(I) + rng.normal(0.0, NOISE, v.size)
            order = np.argsort(v, kind="stable")
            sweeps.append({"Voltage": v[order], "Current": i[order]})
            atts.append(att)
            fs.append(float(fr))
    return make_series(
        sweeps,
        name="I-V under rf vs f",
        x_channel="Voltage",
        units={"Voltage": "V", "Current": "A"},
        tags={"attenuation": atts, "f": fs},
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


__all__ = [
    "SLICE_FREQUENCIES",
    "SLICE_ORDER",
    "SLICE_TWO_ALPHA",
    "TRUTH",
    "make_frequency_scan_series",
    "make_i0_series",
    "make_microwave_series",
    "slice_truth",
]
