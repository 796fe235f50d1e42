"""Synthetic intrinsic-tunnelling scenario ([ITS], paper 003) with known truth, built from the models.

Three series, as the transport import would give them:

* ``"R(T)"``: one sweep, channels ``Temperature`` (K, swept, 4.2-300 K, 600 points) and ``Resistance``
  (Ohm), a semiconducting c-axis R(T) (:func:`analysis.models.heating.semiconducting_resistance`, r_min
  100 Ohm, T* 150 K) with 0.1 % relative noise;
* ``"I-V vs field"``: three current-biased self-heated I-Vs (channels ``Current`` A, ``Voltage`` V) at the
  bath temperature 4.2 K and heat conductance hA = 16 uW/K, at fields B = 0, 10, 20 T (tag ``B``, T), the
  field scaling R by (1 - 0.014 B); 0.03 % relative noise on V;
* ``"I-V brush"``: four resistive branches V = k R_1 (I - I*) (k = 1..4, tag ``branch``), R_1 = 30 Ohm,
  I* = 2 uA, with 2 uV noise.

``TRUTH`` holds the numbers the panel should recover: hA (W/K), the critical load P_c (W/m^2 for the
``AREA``) per field, the branch resistance R_1 (Ohm), I* (A) and the heating-spectrum peak voltages of the
noise-free R(T) (V).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from analysis.models import heating as ht
from analysis.series import Series, make_series

T_BATH = 4.2
H_A = 16e-6
R_MIN, T_STAR = 100.0, 150.0
FIELDS = (0.0, 10.0, 20.0)
MAGNETORESISTANCE = 0.014  # R(T, B) = (1 - 0.014 B/T) R(T)
AREA = 1e-10  # 100 um^2
EPS = 0.02
R1, I_STAR = 30.0, 2e-6
CURVE = ht.semiconducting_resistance(R_MIN, T_STAR)


def _critical_load_truth() -> float:
    """|R(T)/R(T_B) - 1| = eps at T_eps; P_c = hA (T_eps - T_B)/A (the field scaling cancels)."""
    t_eps = optimize.brentq(lambda t: abs(CURVE(t) / CURVE(T_BATH) - 1) - EPS, T_BATH + 1e-6, 60.0)
    return float(H_A * (t_eps - T_BATH) / AREA)


def _peak_truth() -> list[float]:
    spec = ht.heating_spectrum(CURVE, T_BATH, H_A, T=np.linspace(T_BATH, 300.0, 3000))
    return [float(v) for v in spec.peak_voltages()]


TRUTH: dict[str, object] = {
    "h_a": H_A,
    "t_bath": T_BATH,
    "p_c": _critical_load_truth(),
    "R1": R1,
    "I_star": I_STAR,
    "peak_V": _peak_truth(),
    "area": AREA,
    "eps": EPS,
    "fields": list(FIELDS),
}


def make_rt_series(seed: int = 0) -> Series:
    rng = np.random.default_rng(seed)
    T = np.linspace(T_BATH, 300.0, 600)
    R = CURVE(T) * (1 + rng.normal(0.0, 1e-3, T.size))
    return make_series(
        [{"Temperature": T, "Resistance": R}],
        name="R(T)",
        x_channel="Temperature",
        units={"Temperature": "K", "Resistance": "Ohm"},
    )


def make_field_series(seed: int = 0) -> Series:
    rng = np.random.default_rng(seed + 1)
    sweeps = []
    for b in FIELDS:
        scale = 1.0 - MAGNETORESISTANCE * b
        s = ht.heating_spectrum(
            lambda t, sc=scale: sc * CURVE(t), T_BATH, H_A, T=T_BATH + np.geomspace(1e-4, 250.0, 4000)
        )
        v = s.V * (1 + rng.normal(0.0, 3e-4, s.V.size))
        sweeps.append({"Current": s.I, "Voltage": v})
    return make_series(
        sweeps,
        name="I-V vs field",
        x_channel="Current",
        units={"Current": "A", "Voltage": "V"},
        tags={"B": list(FIELDS)},
        tag_units={"B": "T"},
    )


def make_brush_series(seed: int = 0) -> Series:
    rng = np.random.default_rng(seed + 2)
    sweeps = []
    for k in (1, 2, 3, 4):
        i = np.linspace(4e-6, 12e-6, 30)
        sweeps.append({"Current": i, "Voltage": k * R1 * (i - I_STAR) + rng.normal(0.0, 2e-6, i.size)})
    return make_series(
        sweeps,
        name="I-V brush",
        x_channel="Current",
        units={"Current": "A", "Voltage": "V"},
        tags={"branch": [1.0, 2.0, 3.0, 4.0]},
    )


def make_its_series(seed: int = 0) -> dict[str, Series]:
    """The scenario's series by role: ``{"rt": R(T), "iv": I-V vs field, "brush": I-V brush}``."""
    return {"rt": make_rt_series(seed), "iv": make_field_series(seed), "brush": make_brush_series(seed)}


__all__ = ["TRUTH", "make_brush_series", "make_field_series", "make_its_series", "make_rt_series"]
