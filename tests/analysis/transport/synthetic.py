"""Synthetic transport series made with the models: a neck with subharmonic gap structure in field,
Shapiro steps under rf power, a heated mesa. Each function returns the true parameters with the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.constants import E_CHARGE, H_PLANCK
from analysis.models.heating import heating_spectrum, semiconducting_resistance
from analysis.models.microwave import bessel_step_amplitude, photon_ratio
from analysis.models.point_contact import sgs_positions

# -- neck: I(V) with steps at e V_n = 2 Delta / n, Delta(H) = Delta0 sqrt(1 - (H/Hc)^2) ----------------
NECK_DELTA0 = 1.35e-3  # eV (Pb)
NECK_HC = 0.2  # T
NECK_RN = 20.0  # Ohm
NECK_FIELDS = (0.0, 0.04, 0.08, 0.12)
NECK_STEP = 0.01  # current step at V_n, in units of Delta/(e R_N n)


def neck_delta(h: float) -> float:
    return NECK_DELTA0 * np.sqrt(max(0.0, 1.0 - (h / NECK_HC) ** 2))


def neck_iv(v: np.ndarray, h: float) -> np.ndarray:
    """Current (A) of the neck at bias ``v`` (V): ohmic plus an excess current, less a smooth current step
    at each subharmonic gap voltage e V_n = 2 Delta/n (n = 1..3), so that dV/dI has a peak there as in
    [NECK]'s plots (the conductance dips by at most 17 %, I(V) stays monotonic)."""
    delta = neck_delta(h)
    i = v / NECK_RN + 0.3 * delta / NECK_RN * np.tanh(v / (2 * delta))
    for n, vn in enumerate(sgs_positions(delta, 3), start=1):
        a = NECK_STEP * delta / NECK_RN / n
        w = 0.03 * vn
        i = i - a * (np.tanh((v - vn) / w) + np.tanh((v + vn) / w))
    return i


def neck_sweep(h: float, n: int = 2001, i_max: float = 2.5e-4) -> tuple[np.ndarray, np.ndarray]:
    """A current-biased sweep (I (n,) A uniform, V (n,) V) of the neck at field ``h`` (T)."""
    vf = np.linspace(-30e-3, 30e-3, 60001)
    i_f = neck_iv(vf, h)
    current = np.linspace(-i_max, i_max, n)
    return current, np.interp(current, i_f, vf)


def write_neck_files(folder: Path, fields=NECK_FIELDS) -> list[Path]:
    """``neck3_<H>T.dat`` text files (columns ``I (A)``, ``V (mV)``) for each field."""
    paths = []
    for h in fields:
        i, v = neck_sweep(h)
        p = folder / f"neck3_{h:g}T.dat"
        np.savetxt(p, np.c_[i, v * 1e3], header="I (A)\tV (mV)", delimiter="\t", comments="")
        paths.append(p)
    return paths


# -- Shapiro steps: current-biased V(I) of a resistively shunted junction under rf ---------------------
SHAPIRO_F = 10e9  # Hz
SHAPIRO_IC = 1e-6  # A
SHAPIRO_R = 5.0  # Ohm: steps k h f/(2e R) = 4.1 uA apart, wider than the zero-voltage step
SHAPIRO_C = 1e-4  # V at 0 dBm


def shapiro_alpha(p_dbm: float) -> float:
    """alpha = e V_rf/(h f) with V_rf = C 10^(P/20) (P in dBm); the step amplitudes go as |J_k(2 alpha)|."""
    return float(photon_ratio(SHAPIRO_C * 10 ** (p_dbm / 20.0), SHAPIRO_F))


def shapiro_sweep(p_dbm: float, n: int = 3001, i_max: float = 12e-6) -> tuple[np.ndarray, np.ndarray]:
    """(I (n,) A, V (n,) V): ohmic V = I R except on the Shapiro steps V_k = k h f/2e, which are flat
    over |I - V_k/R| < I_c |J_k(2 alpha)|."""
    current = np.linspace(-i_max, i_max, n)
    v = current * SHAPIRO_R
    alpha = shapiro_alpha(p_dbm)
    vstep = H_PLANCK * SHAPIRO_F / (2 * E_CHARGE)
    for k in range(-6, 7):
        half = SHAPIRO_IC * abs(float(bessel_step_amplitude(k, alpha)))
        on = np.abs(current - k * vstep / SHAPIRO_R) < half
        v = np.where(on, k * vstep, v)
    return current, v


def shapiro_step_halfwidth(p_dbm: float, k: int = 0) -> float:
    return SHAPIRO_IC * abs(float(bessel_step_amplitude(k, shapiro_alpha(p_dbm))))


# -- heated mesa: I(V) of an ohmic mesa with R(T) heated by Newton cooling ------------------------------
MESA_H_A = 2e-5  # W/K
MESA_R_MIN, MESA_T_STAR = 50.0, 60.0
MESA_AREA = 1e-10  # m^2


def mesa_spectrum(t_bath: float):
    return heating_spectrum(semiconducting_resistance(MESA_R_MIN, MESA_T_STAR), t_bath, MESA_H_A, n=1500)


def write_mesa_files(folder: Path, baths=(4.2, 20.0, 40.0)) -> list[Path]:
    """``mesa_<T>K.csv`` (columns ``V (V)``, ``I (A)``) along the swept branch, one per bath temperature."""
    paths = []
    for t in baths:
        v, i, _g = mesa_spectrum(t).swept()
        p = folder / f"mesa_{t:g}K.csv"
        np.savetxt(p, np.c_[v, i], header="V (V),I (A)", delimiter=",", comments="")
        paths.append(p)
    return paths
