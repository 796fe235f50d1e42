"""SIS quasiparticle tunnelling between two Dynes superconductors (PHYSICS section 2).

    I(V) R_N = Integral dE N_t(E) N_s(E + eV) [f(E) - f(E + eV)],      G(V) = dI/dV

with Dynes DOS N(E) = Re[z / (sqrt(z - D) sqrt(z + D))], z = E + i Gamma on each side (tip t, sample s)
and a common temperature T. The models evaluate any number of spectra at once on one energy grid shared by
all of them (:mod:`analysis.models.sis_batch`: exact hat-weighted DOS averages, the correlation as FFT
products, G by a fourth-order difference of I), with exact derivatives for the fitters; ``evaluate`` is the
one-row case. :func:`sis_iv_dynes` keeps the single-spectrum route (:func:`analysis.models.numerics.sis_iv`)
for the other models that need an SIS background.

Features: at T = 0 I jumps to (pi/2) sqrt(D_t D_s)/(e R_N) at eV = D_t + D_s, where dI/dV peaks; for
unequal gaps and T > 0 a thermal (logarithmic) feature appears at |eV| = |D_t - D_s| (a peak just below,
a dip just above in dI/dV). The Josephson current is not part of this formula.

Units: bias in V, gaps and Gammas in eV, T in K, G_N in S. V is the sample bias relative to the tip.
Reference: Giaever & Megerle (1961); Dynes et al., PRL 41, 1509 (1978); [JSTM] (MgB2/MgB2 SIS).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from analysis.models.base import Model, Param
from analysis.models.numerics import DynesDOS, sis_iv
from analysis.models.sis_batch import GridSISModel, Side, SISGrid, mixture_side

_DELTA_MAX = 50e-3
_GAMMA_MIN = 1e-7
_GAMMA_MAX = 5e-3


def sis_iv_dynes(
    V: np.ndarray,
    delta_t: float,
    delta_s: float,
    T: float,
    gamma_t: float = 0.0,
    gamma_s: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(I R_N in V, G/G_N) of a Dynes/Dynes SIS junction at bias V (V); gaps and Gammas in eV, T in K."""
    return sis_iv(
        np.asarray(V, dtype=float),
        DynesDOS(float(delta_t), float(gamma_t)),
        DynesDOS(float(delta_s), float(gamma_s)),
        T,
    )


def sis_background_conductance(
    V: np.ndarray, delta_t: float, delta_s: float, T: float, gamma_t: float = 0.0, gamma_s: float = 0.0
) -> np.ndarray:
    """Normalised quasiparticle SIS conductance G/G_N at bias V (V): the background under a Josephson peak."""
    return sis_iv_dynes(V, delta_t, delta_s, T, gamma_t, gamma_s)[1]


def _outer_mask(x: np.ndarray, frac: float = 0.2) -> np.ndarray:
    a = np.abs(x)
    return a >= np.quantile(a, 1 - frac)


def conductance_peak_guess(x: np.ndarray, g: np.ndarray) -> tuple[float, float]:
    """(G_N, |V| of the strongest conductance peak) from a dI/dV curve: G_N = median of the outer 20 %."""
    x = np.asarray(x, dtype=float)
    g = np.asarray(g, dtype=float)
    ok = np.isfinite(g)
    x, g = x[ok], g[ok]
    if x.size < 3:
        return 1.0, 0.0
    gn = float(np.median(g[_outer_mask(x)]))
    if not np.isfinite(gn) or gn == 0:
        gn = float(np.max(np.abs(g))) or 1.0
    # a 3-point average against noise (wider boxes would shift sharp, asymmetric SIS peaks)
    gs = np.convolve(g, np.ones(3) / 3, mode="same") if x.size > 6 else g
    inner = np.abs(x) <= 0.98 * np.max(np.abs(x))
    inner[[0, -1]] = False
    idx = int(np.argmax(np.where(inner, gs * np.sign(gn), -np.inf)))
    return gn, float(abs(x[idx]))


def current_to_conductance(x: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Numerical dI/dV of an I(V) curve (same shape), for guesses."""
    x = np.asarray(x, dtype=float)
    i = np.asarray(i, dtype=float)
    if x.size < 2:
        return np.zeros_like(i)
    return np.gradient(i, x)


class _SISBase(Model):
    family: ClassVar[str] = "SIS"
    params: ClassVar[tuple[Param, ...]] = (
        Param("G_N", "S", 1e-8, 0.0, np.inf, "normal-state conductance 1/R_N"),
        Param("Delta_t", "eV", 1.4e-3, 0.0, _DELTA_MAX, "tip gap"),
        Param("Delta_s", "eV", 1.4e-3, 0.0, _DELTA_MAX, "sample gap"),
        Param("Gamma_t", "eV", 2e-5, _GAMMA_MIN, _GAMMA_MAX, "tip Dynes broadening"),
        Param("Gamma_s", "eV", 2e-5, _GAMMA_MIN, _GAMMA_MAX, "sample Dynes broadening"),
        Param("T", "K", 1.5, 0.0, 400.0, "temperature (both electrodes)", vary=False),
        Param("V0", "V", 0.0, -5e-3, 5e-3, "bias offset", vary=False),
    )
    reference: ClassVar[str] = (
        "Giaever & Megerle, Phys. Rev. 122, 1101 (1961); Dynes et al., PRL 41, 1509 (1978)"
    )
    # Delta_t and Delta_s are interchangeable in symmetric spectra: recover the sample gap, tip known.
    contract_recover: ClassVar[tuple[str, ...] | None] = ("G_N", "Delta_s")
    contract_values: ClassVar[dict[str, float] | None] = {
        "G_N": 1e-8,
        "Delta_t": 1.4e-3,
        "Delta_s": 1.1e-3,
        "Gamma_t": 3e-5,
        "Gamma_s": 3e-5,
        "T": 1.5,
        "V0": 0.0,
    }

    def _iv(self, x: np.ndarray, p: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        v = np.asarray(x, dtype=float) - p["V0"]
        return sis_iv_dynes(v, p["Delta_t"], p["Delta_s"], p["T"], p["Gamma_t"], p["Gamma_s"])

    tip_params: ClassVar[tuple[str, ...]] = ("Delta_t", "Gamma_t")

    def _sides(
        self, grid: SISGrid, P: np.ndarray, want: set[str], tip: Side | None = None
    ) -> tuple[Side, Side]:
        """Tip and sample Dynes DOS on the shared grid (batched evaluation, :mod:`sis_batch`)."""
        _, dt, ds, gt, gs = P[:, :5].T
        one = np.ones(P.shape[0])

        def nm(name: str) -> str | None:
            return name if name in want else None

        if tip is None:
            tip = mixture_side(grid, [(one, dt, gt)], [(None, nm("Delta_t"), nm("Gamma_t"))])
        smp = mixture_side(grid, [(one, ds, gs)], [(None, nm("Delta_s"), nm("Gamma_s"))])
        return tip, smp

    def _gamma_min(self, P: np.ndarray) -> np.ndarray:
        return np.minimum(P[:, 3], P[:, 4])

    def _guess_from_conductance(self, x: np.ndarray, g: np.ndarray) -> dict[str, float]:
        gn, vpk = conductance_peak_guess(x, g)
        d = max(vpk / 2, 1e-4)
        out = {
            **self.defaults(),
            "G_N": abs(gn),
            "Delta_t": d,
            "Delta_s": d,
            "Gamma_t": 0.02 * d,
            "Gamma_s": 0.02 * d,
        }
        return self.clip_to_bounds(out)


class SISConductanceModel(Model):
    """dI/dV (S) = G_N * (R_N dI/dV) of a subclass's ``_iv(x, p) -> (I R_N, R_N dI/dV)`` (each (nb,)).

    The subclass also gives ``_guess_from_conductance(x, g)``; list this class first among the bases.
    """

    y_name: ClassVar[str] = "dI/dV"
    y_unit: ClassVar[str] = "S"

    def evaluate(self, x: np.ndarray, **p: float) -> np.ndarray:
        return p["G_N"] * self._iv(x, p)[1]

    def guess(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return self._guess_from_conductance(x, y)


class SISCurrentModel(Model):
    """Current I (A) = G_N * (I R_N) of a subclass's ``_iv(x, p) -> (I R_N, R_N dI/dV)`` (each (nb,)).

    The subclass also gives ``_guess_from_conductance(x, g)``, used on dI/dV of the measured current; list
    this class first among the bases.
    """

    y_name: ClassVar[str] = "Current"
    y_unit: ClassVar[str] = "A"

    def evaluate(self, x: np.ndarray, **p: float) -> np.ndarray:
        return p["G_N"] * self._iv(x, p)[0]

    def guess(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return self._guess_from_conductance(x, current_to_conductance(x, y))


class SISConductance(GridSISModel, SISConductanceModel, _SISBase):
    """SIS quasiparticle conductance G_N * R_N dI/dV(V - V0; Delta_t, Delta_s, Gamma_t, Gamma_s, T)."""

    name: ClassVar[str] = "sis_conductance"
    title: ClassVar[str] = "SIS quasiparticle conductance (Dynes/Dynes)"
    formula: ClassVar[str] = "G = G_N d/dV Integral N_t(E) N_s(E+eV) [f(E) - f(E+eV)] dE"


class SISCurrent(GridSISModel, SISCurrentModel, _SISBase):
    """SIS quasiparticle current I = G_N * (I R_N)(V - V0; Delta_t, Delta_s, Gamma_t, Gamma_s, T)."""

    name: ClassVar[str] = "sis_current"
    current: ClassVar[bool] = True
    title: ClassVar[str] = "SIS quasiparticle current (Dynes/Dynes)"
    formula: ClassVar[str] = "I = G_N Integral N_t(E) N_s(E+eV) [f(E) - f(E+eV)] dE"


MODELS = [SISConductance, SISCurrent]

__all__ = [
    "MODELS",
    "SISConductance",
    "SISCurrent",
    "conductance_peak_guess",
    "current_to_conductance",
    "sis_background_conductance",
    "sis_iv_dynes",
]
