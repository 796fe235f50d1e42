"""d-wave DOS with an optional directional tunnelling weight; d-wave SIN and SIS models (PHYSICS 4, [MESA]).

    N_d(E) = < W(phi) Re[z / sqrt(z^2 - Delta(phi)^2)] >_phi / < W >_phi,   Delta(phi) = Delta0 cos(2 phi)
    W(phi) = 1 + a cos(4 phi),  |a| < 1 (a > 0 weights the antinodes),  z = E + i Gamma

The phi average over [0, 2 pi) equals the average over [0, pi/4]. For a = 0 it has the closed form
N_d = Re[(2/pi) K(Delta0/z)] = Re[1/M(1, k')], k' = sqrt(1 - Delta0^2/z^2), evaluated by the complex
arithmetic-geometric mean M (:func:`dwave_dos_agm`, with its Delta0 and Gamma derivatives); at Gamma = 0 by
the real form N_d = (2/pi) x K(x^2) for x = |E|/Delta0 < 1 and (2/pi) K(1/x^2) above (scipy parameter
convention). With a != 0 (or a given n_phi) it is taken with the midpoint rule (spectrally convergent for
Gamma > 0; n_phi = max(64, 8 Delta0/Gamma) by default, at most 4096). [FLAG] [MESA] says only that its fits
"use the same momentum-averaging parameter"; the cos(4 phi) weight is this implementation's choice.

Zero bias for Gamma << Delta0: N_d(0) = (2 Gamma/(pi Delta0)) ln(4 Delta0/Gamma). The isotropic d-wave/d-wave
SIS conductance peaks *below* 2 Delta0 (45.0 mV for Delta0 = 24 meV, Gamma = 0.55 meV, T = 4.2 K): fit,
do not read the gap off the peak.

The SIN and SIS models evaluate on the shared grid of :mod:`analysis.models.sis_batch` (a normal tip for
SIN): the DOS is the angle average of Dynes grid averages with ``grid_n_phi`` angles, batched over spectra,
with exact derivatives in Delta0, Gamma and a (rows of a map sharing Gamma interpolate one table of Dynes
grid averages on gap nodes, :func:`analysis.models.sis_batch.gap_table_side`). The grid averages are hat-
weighted means, second differences of the second antiderivative, which has no such elliptic closed form.
``DWaveSIN.evaluate_reference`` keeps the FFT convolution route (:func:`sin_conductance` of
:class:`DWaveDOS`) as a cross-check.

Units: energies in eV, bias in V, T in K, G_N in S.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import ellipk

from analysis.models.base import Model, Param
from analysis.models.numerics import dynes_dos, dynes_dos_grid_average, sin_conductance, sis_iv
from analysis.models.sis import SISConductanceModel, SISCurrentModel, conductance_peak_guess
from analysis.models.sis_batch import (
    TABLE_WORTH,
    GridSISModel,
    Side,
    SISGrid,
    angle_side,
    gap_table_cached,
    gap_table_nodes,
    gap_table_side,
    gap_table_step,
    normal_side,
)

#: Cap on the number of angles of the phi quadrature.
N_PHI_MAX = 4096
#: Cap for grid averages: hat averaging already smooths the angle dependence (SIS peak positions and heights
#: agree with 4096 angles to 1e-4 down to Gamma = 1e-7 eV at Delta0 = 24 meV).
N_PHI_GRID_MAX = 1024
_ELEMENTS = 2_000_000


def default_n_phi(delta0: float, gamma: float, floor: float = 0.0) -> int:
    """Angles for the midpoint rule: max(64, 8 Delta0 / max(Gamma, floor)), at most N_PHI_MAX."""
    w = max(gamma, floor)
    if delta0 <= 0:
        return 1
    if w <= 0:
        return N_PHI_MAX
    return int(min(N_PHI_MAX, max(64, math.ceil(8 * abs(delta0) / w))))


def _angles(n_phi: int, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Midpoint angles on [0, pi/4] and their normalised weights W / Sum W."""
    phi = (np.arange(n_phi) + 0.5) * (math.pi / 4) / n_phi
    w = 1.0 + a * np.cos(4 * phi)
    return phi, w / w.sum()


def dwave_dos_gamma0(E: np.ndarray, delta0: float) -> np.ndarray:
    """Closed form of the isotropic d-wave DOS at Gamma = 0 (eV): (2/pi) x K(x^2) / (2/pi) K(1/x^2)."""
    E = np.asarray(E, dtype=float)
    if delta0 == 0:
        return np.ones_like(E)
    x = np.abs(E) / abs(delta0)
    with np.errstate(divide="ignore", invalid="ignore"):
        below = (2 / math.pi) * x * ellipk(np.minimum(x, 1.0) ** 2)
        above = (2 / math.pi) * ellipk(1.0 / np.maximum(x, 1.0) ** 2)
    return np.where(x < 1, below, np.where(x > 1, above, np.inf))


def dwave_dos_closed_form(E: np.ndarray, delta0: float, gamma: float) -> np.ndarray:
    """N_d(E) = Re[(2/pi) K(m = Delta0^2 / z^2)] for W = 1 and any Gamma >= 0 (complex K from mpmath;
    slow, for checks)."""
    import mpmath

    E = np.atleast_1d(np.asarray(E, dtype=float))
    out = np.empty(E.shape)
    for i, e in enumerate(E.ravel()):
        z = mpmath.mpc(e, gamma)
        out.flat[i] = float(mpmath.re(2 / mpmath.pi * mpmath.ellipk(mpmath.mpf(delta0) ** 2 / z**2)))
    return out


#: Largest number of arithmetic-geometric-mean steps (quadratic convergence: 5 to 8 steps reach 1e-16 for
#: Gamma / Delta0 >= 1e-3; a large |k'| at Gamma << Delta0 near E = 0 adds about log2 log|k'| steps).
AGM_MAX_STEPS = 64


def dwave_dos_agm(
    E, delta0: float, gamma: float, derivatives: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Isotropic (a = 0) d-wave DOS by its closed form, for Gamma > 0 (eV):

        N_d(E) = < Re[z / sqrt(z^2 - Delta0^2 cos^2 2phi)] >_phi = Re[(2/pi) K(k)] = Re[1 / M(1, k')],

    z = E + i Gamma, k = Delta0 / z, k' = sqrt(1 - k^2) (principal root: Re k' >= 0, k' -> 1 as |E| -> inf),
    M the complex arithmetic-geometric mean (a, b) -> ((a + b)/2, sqrt(a b)) with the "right" root at every
    step (|a' - b'| <= |a' + b'|), which converges quadratically. With ``derivatives`` also returns
    (dN/dDelta0, dN/dGamma), carried forward through the same iteration (da' = (da + db)/2,
    db' = (a db + b da) / (2 sqrt(a b)))."""
    E = np.asarray(E, dtype=float)
    if not gamma > 0:
        raise ValueError("the AGM form needs Gamma > 0")
    d0 = abs(float(delta0))
    z = E + 1j * float(gamma)
    m = (d0 / z) ** 2
    kp = np.sqrt(1.0 - m)
    a = np.ones_like(kp)
    b = kp.copy()
    da = np.zeros_like(kp)  # d/dk' of a and b
    db = np.ones_like(kp)
    for _ in range(AGM_MAX_STEPS):
        a1 = 0.5 * (a + b)
        r = np.sqrt(a * b)
        flip = np.abs(a1 - r) > np.abs(a1 + r)
        r = np.where(flip, -r, r)
        if derivatives:
            with np.errstate(divide="ignore", invalid="ignore"):
                dr = np.where(r != 0, (a * db + b * da) / (2.0 * r), 0.0)
            da = 0.5 * (da + db)
            db = dr
        done = np.all(np.abs(a1 - r) <= 1e-16 * np.abs(a1))
        a, b = a1, r
        if done:
            break
    M = 0.5 * (a + b)
    N = np.real(1.0 / M)
    if not derivatives:
        return N
    dM = 0.5 * (da + db)  # dM/dk'
    # k' = sqrt(1 - Delta0^2 / z^2): dk'/dDelta0 = -Delta0 / (z^2 k'), dk'/dz = Delta0^2 / (z^3 k')
    dN_dkp = -dM / (M * M)
    dkp_dd = -d0 / (z * z * kp)
    dkp_dz = d0 * d0 / (z * z * z * kp)
    sign = 1.0 if delta0 >= 0 else -1.0
    return N, np.real(dN_dkp * dkp_dd) * sign, np.real(dN_dkp * dkp_dz * 1j)


def dwave_dos(E, delta0: float, gamma: float, a: float = 0.0, n_phi: int | None = None) -> np.ndarray:
    """d-wave DOS N_d(E) at energies E (eV) for gap maximum ``delta0`` (eV), Dynes ``gamma`` (eV) and
    directional weight ``a`` (W = 1 + a cos 4 phi). With a = 0 (and no ``n_phi`` given) the closed form
    of :func:`dwave_dos_agm` is used for Gamma > 0, the Gamma = 0 elliptic closed form at Gamma = 0; otherwise
    the midpoint rule in phi."""
    E = np.asarray(E, dtype=float)
    if delta0 == 0:
        return np.ones_like(E)
    if a == 0 and n_phi is None:
        if gamma > 0:
            return dwave_dos_agm(E, delta0, gamma)
        return dwave_dos_gamma0(E, delta0)
    n = default_n_phi(delta0, gamma) if n_phi is None else int(n_phi)
    phi, w = _angles(n, a)
    d = delta0 * np.cos(2 * phi)
    flat = E.ravel()
    out = np.zeros(flat.shape)
    step = max(1, _ELEMENTS // max(flat.size, 1))
    for k in range(0, n, step):
        out += w[k : k + step] @ dynes_dos(flat[None, :], d[k : k + step, None], gamma)
    return out.reshape(E.shape)


@dataclass(frozen=True)
class DWaveDOS:
    """The d-wave DOS as a DOS object (callable; exact hat-weighted grid averages per angle)."""

    delta0: float
    gamma: float
    a: float = 0.0
    n_phi: int | None = None

    def __call__(self, E: np.ndarray) -> np.ndarray:
        return dwave_dos(E, self.delta0, self.gamma, self.a, self.n_phi)

    def grid_average(self, E: np.ndarray, dE: float) -> np.ndarray:
        E = np.asarray(E, dtype=float)
        if self.delta0 == 0:
            return np.ones_like(E)
        if E.ndim == 1 and E.size > 2 and np.array_equal(E[::-1], -E):
            # N_d is even in E: compute the non-negative half of a symmetric grid and mirror it
            half = self.grid_average(E[E.size // 2 :].copy(), dE)
            return np.concatenate([half[:0:-1], half]) if E.size % 2 else np.concatenate([half[::-1], half])
        if self.n_phi is None:
            n = min(N_PHI_GRID_MAX, default_n_phi(self.delta0, self.gamma, floor=dE))
        else:
            n = self.n_phi
        phi, w = _angles(n, self.a)
        d = self.delta0 * np.cos(2 * phi)
        flat = E.ravel()
        out = np.zeros(flat.shape)
        step = max(1, _ELEMENTS // max(flat.size, 1))
        for k in range(0, n, step):
            out += w[k : k + step] @ dynes_dos_grid_average(flat, dE, d[k : k + step, None], self.gamma)
        return out.reshape(E.shape)

    @property
    def energy_scale(self) -> float:
        return abs(self.delta0)

    @property
    def width(self) -> float:
        return self.gamma if self.gamma > 0 else abs(self.delta0) / 200


#: Angles of the batched d-wave average: the power of two at or above GRID_PHI_FACTOR Delta0 / max(Gamma, h),
#: at least GRID_PHI_MIN. On hat-averaged grid values the midpoint rule in phi converges geometrically: 2
#: Delta0 / max(Gamma, h) angles already agree with 16 Delta0 / max(Gamma, h) to 1e-6 (1e-12 for
#: Gamma >= h), at Gamma = 1e-6 to 3e-4 eV, a = -0.5 to 0.5, T = 1 to 20 K, and the power of two above
#: it adds up to a factor 2 of margin.
GRID_PHI_FACTOR = 2.0
#: The narrowest feature of the angle-averaged DOS, in units of Gamma, that sets the batched grid step
#: (:func:`analysis.models.sis_batch.step_level`): the average over the gap directions smooths the coherence
#: peak, so half the resolution of a single Dynes gap is enough (SIS and SIN spectra within 7e-4 of their
#: maximum of a grid four times finer, at Gamma = 0.2 to 1 meV, Delta0 = 24 meV).
D_WAVE_WIDTH = 2.0
GRID_PHI_MIN = 32


def grid_n_phi(delta0: np.ndarray, gamma: np.ndarray, h: float) -> np.ndarray:
    """(n,) angles of the batched d-wave average on a grid of step h (eV): the power of two at or above
    max(GRID_PHI_MIN, GRID_PHI_FACTOR Delta0 / max(Gamma, h)), at most ``N_PHI_GRID_MAX`` (powers of two, so
    that rows share their angle sets and a fit changing Delta0 a little keeps the same quadrature)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        need = GRID_PHI_FACTOR * np.abs(delta0) / np.maximum(gamma, h)
    need = np.where(np.isfinite(need), np.maximum(need, float(GRID_PHI_MIN)), float(N_PHI_GRID_MAX))
    n = 2 ** np.ceil(np.log2(need))
    return np.minimum(n, N_PHI_GRID_MAX).astype(int)


def dwave_side(
    grid: SISGrid,
    delta0: np.ndarray,
    gamma: np.ndarray,
    a: np.ndarray,
    names: tuple[str | None, str | None, str | None],
) -> Side:
    """The d-wave DOS of rows (n,) on the shared grid (rows grouped by their number of angles).

    Rows sharing a Gamma (a fixed or common broadening, as in gap maps) and numerous enough (rows x angles
    at least ``TABLE_WORTH`` times the table's gap nodes, once when the table is already there) take the
    gap-node table of :func:`analysis.models.sis_batch.gap_table_side`: one set of Dynes grid averages for
    all of them instead of n_phi per row (the same angle rule, agreeing with the direct sum to about 1e-11
    of the values); the others, and a single row, the direct angle sum."""
    nphi = grid_n_phi(delta0, gamma, grid.h)
    n = delta0.shape[0]
    groups: list[tuple[np.ndarray, bool]] = []
    for k in np.unique(nphi):
        r = np.flatnonzero(nphi == k)
        vals, which, counts = np.unique(gamma[r], return_inverse=True, return_counts=True)
        rest = [r[counts[which] == 1]]  # a Gamma of one row: the direct sum
        for v in np.flatnonzero(counts > 1):
            g = vals[v]
            rg = r[which == v]
            step = gap_table_step(float(g), grid.h)
            nodes = gap_table_nodes(float(np.max(np.abs(delta0[rg]))), step)
            cached = gap_table_cached(grid, float(g), step, nodes)
            if g > 0 and rg.size > 1 and rg.size * int(k) >= (1.0 if cached else TABLE_WORTH) * nodes:
                groups.append((rg, True))
            else:
                rest.append(rg)
        rest_rows = np.sort(np.concatenate(rest))
        if rest_rows.size:
            groups.append((rest_rows, False))
    if len(groups) == 1 and groups[0][0].size == n:
        r, table = groups[0]
        k = int(nphi[0])
        if table:
            return gap_table_side(grid, delta0, float(gamma[0]), a, k, names)
        return angle_side(grid, delta0, gamma, a, k, names)
    N = np.empty((n, grid.ne))
    dN: dict[str, np.ndarray] = {}
    for r, table in groups:
        k = int(nphi[r[0]])
        if table:
            part = gap_table_side(grid, delta0[r], float(gamma[r[0]]), a[r], k, names)
        else:
            part = angle_side(grid, delta0[r], gamma[r], a[r], k, names)
        N[r] = part.N
        for nm, arr in part.dN.items():
            dN.setdefault(nm, np.empty_like(N))[r] = arr
    return Side(N, dN)


class DWaveSIN(GridSISModel):
    """d-wave SIN conductance G = G_N (1 + b1 u + b2 u^2) Integral N_d(E) K_T(E - u) dE, u = V - V0."""

    name: ClassVar[str] = "dwave_sin"
    title: ClassVar[str] = "d-wave SIN conductance"
    family: ClassVar[str] = "d-wave"
    y_name: ClassVar[str] = "dI/dV"
    y_unit: ClassVar[str] = "S"
    params: ClassVar[tuple[Param, ...]] = (
        Param("G_N", "S", 1e-8, 0.0, np.inf, "normal-state conductance"),
        Param("Delta0", "eV", 24e-3, 0.0, 80e-3, "gap maximum (antinode)"),
        Param("Gamma", "eV", 0.55e-3, 1e-7, 20e-3, "Dynes broadening"),
        Param("a", "", 0.0, -0.95, 0.95, "directional weight W = 1 + a cos 4phi", vary=False),
        Param("T", "K", 4.2, 0.0, 400.0, "temperature", vary=False),
        Param("V0", "V", 0.0, -10e-3, 10e-3, "bias offset", vary=False),
        Param("b1", "1/V", 0.0, -100.0, 100.0, "linear background", vary=False),
        Param("b2", "1/V^2", 0.0, -1e4, 1e4, "quadratic background", vary=False),
    )
    formula: ClassVar[str] = "N_d = <W Re[z/sqrt(z^2 - (D0 cos 2phi)^2)]>/<W>; G = G_N poly(u) N_d * K_T"
    reference: ClassVar[str] = "[MESA] Eq. 1; Won & Maki, PRB 49, 1397 (1994)"
    contract_recover: ClassVar[tuple[str, ...] | None] = ("G_N", "Delta0", "Gamma")
    contract_values: ClassVar[dict[str, float] | None] = {
        "G_N": 1e-8,
        "Delta0": 24e-3,
        "Gamma": 1.0e-3,
        "a": 0.0,
        "T": 20.0,
        "V0": 0.0,
        "b1": 0.0,
        "b2": 0.0,
    }
    contract_rtol: ClassVar[float] = 0.1

    def example_x(self) -> np.ndarray:
        return np.linspace(-60e-3, 60e-3, 241)

    def _sides(
        self, grid: SISGrid, P: np.ndarray, want: set[str], tip: Side | None = None
    ) -> tuple[Side, Side]:
        """A normal tip and the d-wave sample on the shared grid (batched evaluation, :mod:`sis_batch`)."""

        def nm(name: str) -> str | None:
            return name if name in want else None

        smp = dwave_side(grid, P[:, 1], P[:, 2], P[:, 3], (nm("a"), nm("Delta0"), nm("Gamma")))
        return normal_side(grid, P.shape[0]), smp

    def _gamma_min(self, P: np.ndarray) -> np.ndarray:
        return D_WAVE_WIDTH * P[:, 2]

    def evaluate_reference(self, x: np.ndarray, **p: float) -> np.ndarray:
        """The same conductance by the single-spectrum route (FFT convolution of the DOS object with the
        thermal kernel, :func:`sin_conductance`): a cross-check of the batched numerics."""
        u = np.asarray(x, dtype=float) - p["V0"]
        dos = DWaveDOS(p["Delta0"], p["Gamma"], p["a"])
        g = sin_conductance(u, dos, p["T"])
        return p["G_N"] * (1.0 + p["b1"] * u + p["b2"] * u * u) * g

    def guess(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        gn, vpk = conductance_peak_guess(x, y)
        d = max(vpk, 1e-3)
        return self.clip_to_bounds({**self.defaults(), "G_N": abs(gn), "Delta0": d, "Gamma": 0.03 * d})


class _DWaveSISBase(Model):
    family: ClassVar[str] = "d-wave"
    params: ClassVar[tuple[Param, ...]] = (
        Param("G_N", "S", 1e-8, 0.0, np.inf, "normal-state conductance"),
        Param("Delta0_t", "eV", 24e-3, 0.0, 80e-3, "tip (or counter-electrode) gap maximum"),
        Param("Delta0_s", "eV", 24e-3, 0.0, 80e-3, "sample gap maximum"),
        Param("Gamma", "eV", 0.55e-3, 1e-7, 20e-3, "Dynes broadening (both sides)"),
        Param("a", "", 0.0, -0.95, 0.95, "directional weight W = 1 + a cos 4phi", vary=False),
        Param("T", "K", 4.2, 0.0, 400.0, "temperature", vary=False),
        Param("V0", "V", 0.0, -10e-3, 10e-3, "bias offset", vary=False),
    )
    reference: ClassVar[str] = "[MESA] (intrinsic/MCT SIS); PHYSICS section 4"
    contract_recover: ClassVar[tuple[str, ...] | None] = ("G_N", "Delta0_s")
    contract_values: ClassVar[dict[str, float] | None] = {
        "G_N": 1e-8,
        "Delta0_t": 24e-3,
        "Delta0_s": 20e-3,
        "Gamma": 1.0e-3,
        "a": 0.0,
        "T": 20.0,
        "V0": 0.0,
    }
    contract_rtol: ClassVar[float] = 0.1

    def example_x(self) -> np.ndarray:
        return np.linspace(-80e-3, 80e-3, 201)

    def _iv(self, x: np.ndarray, p: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        tip = DWaveDOS(p["Delta0_t"], p["Gamma"], p["a"])
        smp = DWaveDOS(p["Delta0_s"], p["Gamma"], p["a"])
        return sis_iv(np.asarray(x, dtype=float) - p["V0"], tip, smp, p["T"])

    tip_params: ClassVar[tuple[str, ...]] = ("Delta0_t", "Gamma", "a")

    def _sides(
        self, grid: SISGrid, P: np.ndarray, want: set[str], tip: Side | None = None
    ) -> tuple[Side, Side]:
        """Tip and sample d-wave DOS on the shared grid (batched evaluation, :mod:`sis_batch`)."""

        def nm(name: str) -> str | None:
            return name if name in want else None

        _, dt, ds, g, a = P[:, :5].T
        tip = tip or dwave_side(grid, dt, g, a, (nm("a"), nm("Delta0_t"), nm("Gamma")))
        smp = dwave_side(grid, ds, g, a, (nm("a"), nm("Delta0_s"), nm("Gamma")))
        return tip, smp

    def _gamma_min(self, P: np.ndarray) -> np.ndarray:
        return D_WAVE_WIDTH * P[:, 3]

    def _guess_from_conductance(self, x: np.ndarray, g: np.ndarray) -> dict[str, float]:
        gn, vpk = conductance_peak_guess(x, g)
        # isotropic d-wave SIS peaks about 6 % below 2 Delta0
        d = max(vpk / 2 / 0.94, 1e-3)
        return self.clip_to_bounds({**self.defaults(), "G_N": abs(gn), "Delta0_t": d, "Delta0_s": d})


class DWaveSISConductance(GridSISModel, SISConductanceModel, _DWaveSISBase):
    """d-wave/d-wave SIS conductance dI/dV (S): FFT correlation of two d-wave DOS at common T."""

    name: ClassVar[str] = "dwave_sis_conductance"
    title: ClassVar[str] = "d-wave SIS conductance"
    formula: ClassVar[str] = "G = G_N d/dV Int N_d,t(E) N_d,s(E+eV) [f(E) - f(E+eV)] dE"


class DWaveSISCurrent(GridSISModel, SISCurrentModel, _DWaveSISBase):
    """d-wave/d-wave SIS quasiparticle current I (A)."""

    name: ClassVar[str] = "dwave_sis_current"
    current: ClassVar[bool] = True
    title: ClassVar[str] = "d-wave SIS current"
    formula: ClassVar[str] = "I = G_N Int N_d,t(E) N_d,s(E+eV) [f(E) - f(E+eV)] dE"


MODELS = [DWaveSIN, DWaveSISConductance, DWaveSISCurrent]

__all__ = [
    "MODELS",
    "DWaveDOS",
    "DWaveSIN",
    "DWaveSISConductance",
    "DWaveSISCurrent",
    "default_n_phi",
    "dwave_dos",
    "dwave_dos_agm",
    "dwave_dos_closed_form",
    "dwave_dos_gamma0",
]
