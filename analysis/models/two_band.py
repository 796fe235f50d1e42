"""Two-band (MgB2 pi + sigma) superconductor: SIN and SIS tunnelling with channel weights (PHYSICS 3).

    N(E) = (1 - w_sigma) N_D(E; Delta_pi, Gamma_pi) + w_sigma N_D(E; Delta_sigma, Gamma_sigma)

The weights are tunnelling-channel weights (conductance fractions), not band DOS fractions; they sum to 1
so G -> G_N far from the gaps. Because the current is bilinear in the two DOS, the two-band/two-band SIS
junction is Sum_ij w_i^t w_j^s I_SIS(Delta_i^t, Delta_j^s), which is what correlating the two mixture DOS
computes. Features: SIS dI/dV peaks at +-(Dpi_t + Dpi_s), +-(Dpi + Dsigma), +-2 Dsigma; thermal features
at +-|Dsigma - Dpi|. w_sigma = 0 is exactly the single-gap model.

c-axis MgB2 tunnelling is dominated by the pi channel (Brinkman et al. 2002): w_sigma is bounded to
[0, 0.5]. The additive model ignores interband (McMillan-type) structure in Delta_pi(E).

Evaluation: SIN through the batched Dynes kernel of :mod:`analysis.models.bcs`; SIS through the shared-grid
engine of :mod:`analysis.models.sis_batch` (batched, exact Jacobian of the free parameters).

Units: bias in V, gaps and Gammas in eV, T in K, G_N in S. Reference: [JSTM]; Brinkman et al., PRB 65,
180517 (2002); Schmidt et al., PRL 88, 127002 (2002).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from analysis.models.base import Model, Param
from analysis.models.numerics import DynesDOS, MixtureDOS, sis_iv
from analysis.models.sis import SISConductanceModel, SISCurrentModel, conductance_peak_guess
from analysis.models.sis_batch import GridSISModel, Side, SISGrid, mixture_side


def two_band_dos(
    delta_pi: float, delta_sigma: float, gamma_pi: float, gamma_sigma: float, w_sigma: float
) -> MixtureDOS:
    """The two-band DOS (1 - w) N_D(pi) + w N_D(sigma) as a DOS object (callable, exact grid averages)."""
    w = float(w_sigma)
    return MixtureDOS(
        (
            (1.0 - w, DynesDOS(float(delta_pi), float(gamma_pi))),
            (w, DynesDOS(float(delta_sigma), float(gamma_sigma))),
        )
    )


def two_band_dos_values(E: np.ndarray, delta_pi, delta_sigma, gamma_pi, gamma_sigma, w_sigma) -> np.ndarray:
    """N(E) of the two-band DOS at energies E (eV)."""
    return two_band_dos(delta_pi, delta_sigma, gamma_pi, gamma_sigma, w_sigma)(np.asarray(E, dtype=float))


_BAND_PARAMS = (
    Param("Gamma_pi", "eV", 0.1e-3, 1e-7, 5e-3, "pi-band Dynes broadening"),
    Param("Gamma_sigma", "eV", 0.3e-3, 1e-7, 5e-3, "sigma-band Dynes broadening"),
    Param("T", "K", 2.1, 0.0, 400.0, "temperature", vary=False),
    Param("V0", "V", 0.0, -5e-3, 5e-3, "bias offset", vary=False),
)


class TwoBandSIN(Model):
    """Two-band SIN conductance G = G_N Integral N_2band(E) K_T(E - e(V - V0)) dE (normal tip).

    Batched and with an analytic Jacobian: each channel is a Dynes SIN term of :mod:`analysis.models.bcs`.
    """

    name: ClassVar[str] = "two_band_sin"
    title: ClassVar[str] = "Two-band (pi + sigma) SIN conductance"
    family: ClassVar[str] = "Two-band"
    y_name: ClassVar[str] = "dI/dV"
    y_unit: ClassVar[str] = "S"
    params: ClassVar[tuple[Param, ...]] = (
        Param("G_N", "S", 1e-8, 0.0, np.inf, "normal-state conductance"),
        Param("Delta_pi", "eV", 2.5e-3, 0.0, 20e-3, "pi-band gap"),
        Param("Delta_sigma", "eV", 7.1e-3, 0.0, 30e-3, "sigma-band gap"),
        Param("w_sigma", "", 0.15, 0.0, 0.5, "sigma-channel tunnelling weight"),
        *_BAND_PARAMS,
    )
    formula: ClassVar[str] = "N = (1-w) N_D(Dpi, Gpi) + w N_D(Dsigma, Gsigma); G = G_N N * K_T"
    reference: ClassVar[str] = "[JSTM]; Brinkman et al., PRB 65, 180517 (2002)"
    contract_recover: ClassVar[tuple[str, ...] | None] = ("G_N", "Delta_pi", "Delta_sigma", "w_sigma")
    contract_values: ClassVar[dict[str, float] | None] = {
        "G_N": 1e-8,
        "Delta_pi": 2.4e-3,
        "Delta_sigma": 7.0e-3,
        "w_sigma": 0.25,
        "Gamma_pi": 0.1e-3,
        "Gamma_sigma": 0.3e-3,
        "T": 2.1,
        "V0": 0.0,
    }
    contract_rtol: ClassVar[float] = 0.08

    def example_x(self) -> np.ndarray:
        return np.linspace(-15e-3, 15e-3, 256)

    has_jacobian: ClassVar[bool] = True

    def evaluate(self, x: np.ndarray, **p: float) -> np.ndarray:
        P = np.array([[p[n] for n in self.param_names]])
        return self.evaluate_batch(np.asarray(x, dtype=float), P)[0]

    def evaluate_batch(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(n, nb) conductances: the two channels through the batched Dynes SIN kernel of
        :mod:`analysis.models.bcs` (same numerics as ``dynes_sin``)."""
        from analysis.models.bcs import dynes_sin_batch

        x = np.asarray(x, dtype=float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        gn, dp, ds, w, gp, gs, t, v0 = P.T
        g1 = dynes_sin_batch(x, dp, gp, t, v0)
        g2 = dynes_sin_batch(x, ds, gs, t, v0)
        return gn[:, None] * ((1 - w)[:, None] * g1 + w[:, None] * g2)

    def jacobian_batch(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(n, nb, 8) analytic derivatives in the order of ``params``."""
        return self._jacobian(x, P, range(8))

    def jacobian_columns(self, x: np.ndarray, P: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """(n, nb, len(columns)) analytic derivatives; only the kernel products the columns need."""
        cols = [int(c) for c in np.asarray(columns).ravel()]
        return self._jacobian(x, P, cols)[..., cols]

    def _jacobian(self, x: np.ndarray, P: np.ndarray, cols) -> np.ndarray:
        from analysis.models.bcs import dynes_sin_batch

        x = np.asarray(x, dtype=float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        gn, dp, ds, w, gp, gs, t, v0 = P.T
        c = set(cols)
        w1 = (1 in c, 4 in c, 6 in c, 7 in c)
        w2 = (2 in c, 5 in c, 6 in c, 7 in c)
        g1, d1, gg1, t1, v1 = dynes_sin_batch(x, dp, gp, t, v0, jacobian=True, want=w1)
        g2, d2, gg2, t2, v2 = dynes_sin_batch(x, ds, gs, t, v0, jacobian=True, want=w2)
        G = gn[:, None]
        a = (1 - w)[:, None]
        b = w[:, None]
        J = np.empty(g1.shape + (8,))
        J[..., 0] = a * g1 + b * g2
        J[..., 1] = G * a * d1
        J[..., 2] = G * b * d2
        J[..., 3] = G * (g2 - g1)
        J[..., 4] = G * a * gg1
        J[..., 5] = G * b * gg2
        J[..., 6] = G * (a * t1 + b * t2)
        J[..., 7] = G * (a * v1 + b * v2)
        return J

    def guess(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        gn, vpk = conductance_peak_guess(x, y)
        dpi = max(vpk, 1e-4)
        return self.clip_to_bounds(
            {**self.defaults(), "G_N": abs(gn), "Delta_pi": dpi, "Delta_sigma": 2.84 * dpi, "w_sigma": 0.15}
        )


class _TwoBandSISBase(Model):
    family: ClassVar[str] = "Two-band"
    params: ClassVar[tuple[Param, ...]] = (
        Param("G_N", "S", 1e-8, 0.0, np.inf, "normal-state conductance"),
        Param("Delta_pi_t", "eV", 2.5e-3, 0.0, 20e-3, "tip pi gap"),
        Param("Delta_sigma_t", "eV", 7.1e-3, 0.0, 30e-3, "tip sigma gap", vary=False),
        Param("w_sigma_t", "", 0.15, 0.0, 0.5, "tip sigma-channel weight", vary=False),
        Param("Delta_pi_s", "eV", 2.5e-3, 0.0, 20e-3, "sample pi gap"),
        Param("Delta_sigma_s", "eV", 7.1e-3, 0.0, 30e-3, "sample sigma gap"),
        Param("w_sigma_s", "", 0.15, 0.0, 0.5, "sample sigma-channel weight"),
        *_BAND_PARAMS,
    )
    reference: ClassVar[str] = "[JSTM]; Brinkman et al., PRB 65, 180517 (2002)"
    contract_recover: ClassVar[tuple[str, ...] | None] = ("G_N", "Delta_pi_s")
    contract_values: ClassVar[dict[str, float] | None] = {
        "G_N": 1e-8,
        "Delta_pi_t": 2.5e-3,
        "Delta_sigma_t": 7.1e-3,
        "w_sigma_t": 0.15,
        "Delta_pi_s": 2.3e-3,
        "Delta_sigma_s": 7.0e-3,
        "w_sigma_s": 0.15,
        "Gamma_pi": 0.1e-3,
        "Gamma_sigma": 0.3e-3,
        "T": 2.1,
        "V0": 0.0,
    }

    def example_x(self) -> np.ndarray:
        return np.linspace(-15e-3, 15e-3, 256)

    def _iv(self, x: np.ndarray, p: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        tip = two_band_dos(
            p["Delta_pi_t"], p["Delta_sigma_t"], p["Gamma_pi"], p["Gamma_sigma"], p["w_sigma_t"]
        )
        smp = two_band_dos(
            p["Delta_pi_s"], p["Delta_sigma_s"], p["Gamma_pi"], p["Gamma_sigma"], p["w_sigma_s"]
        )
        return sis_iv(np.asarray(x, dtype=float) - p["V0"], tip, smp, p["T"])

    tip_params: ClassVar[tuple[str, ...]] = (
        "Delta_pi_t",
        "Delta_sigma_t",
        "w_sigma_t",
        "Gamma_pi",
        "Gamma_sigma",
    )

    def _sides(
        self, grid: SISGrid, P: np.ndarray, want: set[str], tip: Side | None = None
    ) -> tuple[Side, Side]:
        """Tip and sample two-band DOS on the shared grid (batched evaluation, :mod:`sis_batch`)."""
        _, dpt, dst, wt, dps, dss, ws, gp, gs = P[:, :9].T

        def nm(name: str) -> str | None:
            return name if name in want else None

        chains = ((-1.0, 1.0), (1.0, 1.0))  # weights 1 - w and w
        tip = tip or mixture_side(
            grid,
            [(1.0 - wt, dpt, gp), (wt, dst, gs)],
            [
                (nm("w_sigma_t"), nm("Delta_pi_t"), nm("Gamma_pi")),
                (nm("w_sigma_t"), nm("Delta_sigma_t"), nm("Gamma_sigma")),
            ],
            chains=chains,
        )
        smp = mixture_side(
            grid,
            [(1.0 - ws, dps, gp), (ws, dss, gs)],
            [
                (nm("w_sigma_s"), nm("Delta_pi_s"), nm("Gamma_pi")),
                (nm("w_sigma_s"), nm("Delta_sigma_s"), nm("Gamma_sigma")),
            ],
            chains=chains,
        )
        return tip, smp

    def _gamma_min(self, P: np.ndarray) -> np.ndarray:
        return np.minimum(P[:, 7], P[:, 8])

    def _guess_from_conductance(self, x: np.ndarray, g: np.ndarray) -> dict[str, float]:
        gn, vpk = conductance_peak_guess(x, g)
        d = max(vpk / 2, 1e-4)
        return self.clip_to_bounds(
            {
                **self.defaults(),
                "G_N": abs(gn),
                "Delta_pi_t": d,
                "Delta_pi_s": d,
                "Delta_sigma_t": 2.84 * d,
                "Delta_sigma_s": 2.84 * d,
            }
        )


class TwoBandSISConductance(GridSISModel, SISConductanceModel, _TwoBandSISBase):
    """Two-band/two-band SIS dI/dV = G_N Sum_ij w_i^t w_j^s G_SIS(V - V0; D_i^t, D_j^s) / G_N."""

    name: ClassVar[str] = "two_band_sis_conductance"
    title: ClassVar[str] = "Two-band SIS conductance (MgB2/MgB2)"
    formula: ClassVar[str] = "G = G_N d/dV Sum_ij w_i^t w_j^s I_SIS(V; D_i^t, D_j^s) R_N"


class TwoBandSISCurrent(GridSISModel, SISCurrentModel, _TwoBandSISBase):
    """Two-band/two-band SIS current I = G_N Sum_ij w_i^t w_j^s I_SIS(V - V0; D_i^t, D_j^s) R_N."""

    name: ClassVar[str] = "two_band_sis_current"
    current: ClassVar[bool] = True
    title: ClassVar[str] = "Two-band SIS current (MgB2/MgB2)"
    formula: ClassVar[str] = "I = G_N Sum_ij w_i^t w_j^s I_SIS(V; D_i^t, D_j^s) R_N"


MODELS = [TwoBandSIN, TwoBandSISConductance, TwoBandSISCurrent]

__all__ = [
    "MODELS",
    "TwoBandSIN",
    "TwoBandSISConductance",
    "TwoBandSISCurrent",
    "two_band_dos",
    "two_band_dos_values",
]
