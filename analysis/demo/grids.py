"""Built-in demo data: a co-registered pair of MgB2/MgB2 grids like [JSTM] Fig. 4.

``make_demo(seed)`` returns ``(qp, josephson)``, two :class:`~analysis.dataset.Grid` objects of 128 x 128
pixels over the same 220 nm x 220 nm frame (centred at 0):

* topography ``params["Z"]`` (m): about six Voronoi grains of different heights, soft boundaries and a
  little roughness;
* the **QP grid**: 256 points over +-15 mV, two-band (pi + sigma) MgB2 tip against a two-band MgB2 sample,
  exactly the registry's ``two_band_sis_conductance`` / ``two_band_sis_current`` models
  (:func:`analysis.models.two_band.two_band_dos` correlated by :func:`analysis.models.numerics.sis_iv`);
  the sample pi gap differs grain by grain
  (2.2-2.8 meV, largest on one grain), the sigma gap scales with it (ratio 7.1/2.5), and a "flux" disc where
  the sample gap vanishes continuously (spectra become SIN-like with the tip gap only);
* the **Josephson grid**: 256 points over +-2 mV with an Ivanchenko-Zil'berman phase-diffusion peak
  (:func:`analysis.models.josephson.iz_conductance`) whose Ic follows the local pi gaps through
  Ambegaokar-Baratoff between the tip and sample pi gaps (:func:`analysis.models.josephson.ab_icrn`;
  [JSTM]: "in a first approximation, IcRn is proportional to the small gap"), plus the SIS
  quasiparticle background at that R_N. It is strongest on the largest-gap grain and absent where the gap
  vanishes.

Channels ``"dI/dV"`` (S) and ``"Current"`` (A), bias in V, Gaussian noise. The ground truth stays with the
data: ``params["Delta_pi_true"]``, ``params["Delta_sigma_true"]`` (eV), ``params["grain"]`` (index),
``params["IcRn_true"]`` (V) and ``params["Ic_true"]`` (A), and ``metadata["demo"]`` lists every setting
(gaps per grain, which grain is the strongest, flux disc, temperatures, resistances, noise levels).

Generation is fast: the sample gap is quantised to 0.02 meV steps, one spectrum is computed per distinct
gap and broadcast to the pixels (fancy indexing), so the cost does not grow with the pixel count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from analysis.dataset import Frame, Grid, Source

#: Frame and sampling of [JSTM] Fig. 4.
SIZE_M = 220e-9
SHAPE = (128, 128)
N_BIAS = 256
QP_RANGE_V = 15e-3
JOSEPHSON_RANGE_V = 2e-3

#: Physical settings (eV, K, Ohm).
T_K = 2.1
TIP_DELTA_PI = 2.5e-3
TIP_DELTA_SIGMA = 7.1e-3
SIGMA_TO_PI = 7.1 / 2.5
GAMMA_PI = 0.08e-3
GAMMA_SIGMA = 0.3e-3
W_SIGMA_TIP = 0.15
W_SIGMA_SAMPLE = 0.15
R_N_QP = 100e6  # ordinary STS set point
R_N_JOSEPHSON = 25e3  # Josephson set point ([JSTM]: 14-31 kOhm)
R_ENV = 100.0  # IZ source resistance ([JSTM] fits)
T_EFF = 66.0  # IZ noise temperature ([JSTM] fits)
GAP_STEP = 2e-5  # quantisation of the sample gap (eV)
NOISE_QP = 0.01  # relative to G_N
NOISE_JOSEPHSON = 0.01


def _grains(rng: np.random.Generator, n_grains: int = 6) -> np.ndarray:
    """(ny, nx) int grain index from a Voronoi partition of the frame with ``n_grains`` jittered seeds."""
    ny, nx = SHAPE
    # seeds on a jittered 3 x 2 lattice so every grain is sizeable
    cols, rows = 3, 2
    pts = []
    for r in range(rows):
        for c in range(cols):
            pts.append(((c + 0.5 + rng.uniform(-0.3, 0.3)) / cols, (r + 0.5 + rng.uniform(-0.3, 0.3)) / rows))
    pts = np.array(pts[:n_grains])
    yy, xx = np.mgrid[0:ny, 0:nx]
    u = (xx + 0.5) / nx
    v = (yy + 0.5) / ny
    d2 = (u[..., None] - pts[:, 0]) ** 2 + (v[..., None] - pts[:, 1]) ** 2
    return np.argmin(d2, axis=-1), pts


def _flux_suppression(centre_px: tuple[float, float], radius_px: float, xi_px: float) -> np.ndarray:
    """(ny, nx) factor in [0, 1]: 0 inside a disc of ``radius_px``, recovering as tanh over ``xi_px``."""
    ny, nx = SHAPE
    yy, xx = np.mgrid[0:ny, 0:nx]
    r = np.hypot(xx - centre_px[0], yy - centre_px[1])
    return np.tanh(np.clip(r - radius_px, 0.0, None) / xi_px)


def _sis_spectra(
    biases: tuple[np.ndarray, ...], gaps: np.ndarray, tick=None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per bias array, (G/G_N, I R_N) arrays (n_gaps, nb) of the two-band SIS junction per sample pi gap."""
    from analysis.models.numerics import sis_iv
    from analysis.models.two_band import two_band_dos

    tip = two_band_dos(TIP_DELTA_PI, TIP_DELTA_SIGMA, GAMMA_PI, GAMMA_SIGMA, W_SIGMA_TIP)
    out = [(np.empty((gaps.size, b.size)), np.empty((gaps.size, b.size))) for b in biases]
    for k, dpi in enumerate(gaps):
        sample = two_band_dos(float(dpi), float(dpi) * SIGMA_TO_PI, GAMMA_PI, GAMMA_SIGMA, W_SIGMA_SAMPLE)
        for (g, cur), (ik, gk) in zip(out, sis_iv(biases, tip, sample, T_K), strict=True):
            g[k] = gk
            cur[k] = ik
        if tick is not None:
            tick()
    return out


def _icrn(gaps: np.ndarray) -> np.ndarray:
    """Ic R_N (V) per sample pi gap: AB between the tip and sample pi gaps at T."""
    from analysis.models.josephson import ab_icrn

    out = np.zeros(gaps.size)
    for k, dpi in enumerate(gaps):
        if dpi > 0:
            out[k] = float(ab_icrn(TIP_DELTA_PI, float(dpi), T_K))
    return out


def _josephson_spectra(
    bias: np.ndarray, g_bg: np.ndarray, i_bg: np.ndarray, icrn: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(dI/dV in S, I in A) arrays (n_gaps, nb) at the Josephson set point: IZ peak + SIS background."""
    from analysis.models.josephson import iz_conductance, iz_current

    g = g_bg / R_N_JOSEPHSON
    cur = i_bg / R_N_JOSEPHSON
    for k, v in enumerate(icrn):
        if v <= 0:
            continue
        ic = v / R_N_JOSEPHSON
        g[k] += iz_conductance(bias, ic, R_ENV, T_EFF)
        cur[k] += iz_current(bias, ic, R_ENV, T_EFF)
    return g, cur


def make_demo(seed: int = 0, *, progress=None, cancel=None) -> tuple[Grid, Grid]:
    """The (QP grid, Josephson grid) pair, reproducible for a given ``seed`` (see the module docstring).

    ``progress(done, total)`` is called once per distinct gap; a set ``cancel`` event (threading.Event)
    stops the generation with ``analysis.hooks.Cancelled``.
    """
    rng = np.random.default_rng(seed)
    ny, nx = SHAPE
    grain, seeds = _grains(rng)
    n_grains = int(grain.max()) + 1

    # grain gaps: spread over 2.2-2.8 meV, the largest on one randomly chosen grain
    gaps_by_grain = np.linspace(2.2e-3, 2.7e-3, n_grains - 1)
    rng.shuffle(gaps_by_grain)
    strongest = int(rng.integers(n_grains))
    grain_gap = np.insert(gaps_by_grain, strongest, 2.8e-3)

    # topography: grain heights, soft boundaries, roughness (m)
    heights = rng.uniform(0.0, 3e-9, n_grains)
    z = ndimage.gaussian_filter(heights[grain], 1.5)
    z += ndimage.gaussian_filter(rng.normal(0.0, 0.15e-9, SHAPE), 1.0)
    z -= z.min()

    # flux disc in the lower part of the frame, away from the strongest grain's seed when possible
    px_per_m = nx / SIZE_M
    centre = (rng.uniform(0.3, 0.7) * nx, rng.uniform(0.12, 0.3) * ny)
    radius_px = 20e-9 * px_per_m
    xi_px = 10e-9 * px_per_m
    supp = _flux_suppression(centre, radius_px, xi_px)

    delta_pi = np.round(grain_gap[grain] * supp / GAP_STEP) * GAP_STEP
    levels, index = np.unique(delta_pi, return_inverse=True)
    index = index.reshape(SHAPE)
    delta_pi = levels[index]

    frame = Frame(center=(0.0, 0.0), size=(SIZE_M, SIZE_M), angle=0.0, shape=SHAPE)

    # -- QP grid
    bias_qp = np.linspace(-QP_RANGE_V, QP_RANGE_V, N_BIAS)
    bias_j = np.linspace(-JOSEPHSON_RANGE_V, JOSEPHSON_RANGE_V, N_BIAS)
    done = [0]

    def tick() -> None:
        done[0] += 1
        if cancel is not None and cancel.is_set():
            from analysis.hooks import Cancelled

            raise Cancelled("demo generation cancelled")
        if progress is not None:
            progress(done[0], levels.size)

    (g_qp, i_qp), (g_bg, i_bg) = _sis_spectra((bias_qp, bias_j), levels, tick)
    gn_qp = 1.0 / R_N_QP
    dIdV_qp = (g_qp * gn_qp)[index].astype(np.float32)
    dIdV_qp += rng.standard_normal(dIdV_qp.shape, dtype=np.float32) * np.float32(NOISE_QP * gn_qp)
    I_qp = (i_qp * gn_qp)[index].astype(np.float32)
    I_qp += rng.standard_normal(I_qp.shape, dtype=np.float32) * np.float32(NOISE_QP * gn_qp * 1e-3)

    # -- Josephson grid
    icrn_levels = _icrn(levels)
    g_j, i_j = _josephson_spectra(bias_j, g_bg, i_bg, icrn_levels)
    gn_j = 1.0 / R_N_JOSEPHSON
    dIdV_j = g_j[index].astype(np.float32)
    dIdV_j += rng.standard_normal(dIdV_j.shape, dtype=np.float32) * np.float32(NOISE_JOSEPHSON * gn_j)
    I_j = i_j[index].astype(np.float32)
    I_j += rng.standard_normal(I_j.shape, dtype=np.float32) * np.float32(NOISE_JOSEPHSON * gn_j * 2e-5)

    icrn = icrn_levels[index]
    params: dict[str, np.ndarray] = {
        "Z": z,
        "Delta_pi_true": delta_pi,
        "Delta_sigma_true": delta_pi * SIGMA_TO_PI,
        "grain": grain.astype(float),
        "IcRn_true": icrn,
        "Ic_true": icrn / R_N_JOSEPHSON,
    }
    param_units = {
        "Z": "m",
        "Delta_pi_true": "eV",
        "Delta_sigma_true": "eV",
        "grain": "",
        "IcRn_true": "V",
        "Ic_true": "A",
    }
    info: dict[str, Any] = {
        "generator": "analysis.demo.grids.make_demo",
        "seed": int(seed),
        "description": "synthetic MgB2 tip on an MgB2 film: co-registered QP and Josephson grids "
        "like [JSTM] Fig. 4",
        "temperature_K": T_K,
        "tip": {
            "Delta_pi_eV": TIP_DELTA_PI,
            "Delta_sigma_eV": TIP_DELTA_SIGMA,
            "w_sigma": W_SIGMA_TIP,
        },
        "sample": {"sigma_to_pi_ratio": SIGMA_TO_PI, "w_sigma": W_SIGMA_SAMPLE},
        "Gamma_pi_eV": GAMMA_PI,
        "Gamma_sigma_eV": GAMMA_SIGMA,
        "grain_Delta_pi_eV": {int(k): float(v) for k, v in enumerate(grain_gap)},
        "grain_seeds_frac": seeds.tolist(),
        "strongest_grain": strongest,
        "flux_region": {
            "center_m": [float(c / px_per_m - SIZE_M / 2) for c in centre],
            "radius_m": radius_px / px_per_m,
            "recovery_length_m": xi_px / px_per_m,
        },
        "gap_quantisation_eV": GAP_STEP,
        "R_N_qp_Ohm": R_N_QP,
        "R_N_josephson_Ohm": R_N_JOSEPHSON,
        "iz_R_Ohm": R_ENV,
        "iz_T_eff_K": T_EFF,
        "noise_relative_to_G_N": {"qp": NOISE_QP, "josephson": NOISE_JOSEPHSON},
        "models": {
            "qp": "two_band_sis_conductance / two_band_sis_current (FFT cross-correlation, Dynes DOS)",
            "josephson": "iz_conductance / iz_current with Ic = ab_icrn(Delta_pi_t, Delta_pi_s, T) / R_N, "
            "plus the two-band SIS background",
        },
    }

    def grid(name: str, bias: np.ndarray, dIdV: np.ndarray, cur: np.ndarray, kind: str) -> Grid:
        return Grid(
            name=name,
            bias=bias,
            channels={"dI/dV": np.ascontiguousarray(dIdV), "Current": np.ascontiguousarray(cur)},
            units={"dI/dV": "S", "Current": "A"},
            frame=frame,
            params={k: v.copy() for k, v in params.items()},
            param_units=dict(param_units),
            valid=np.ones(SHAPE, bool),
            metadata={"demo": {**info, "grid": kind}},
            source=Source(path="", reader="demo", index=0 if kind == "qp" else 1),
        )

    qp = grid("Demo QP grid (MgB2/MgB2, +-15 mV)", bias_qp, dIdV_qp, I_qp, "qp")
    jos = grid("Demo Josephson grid (MgB2/MgB2, +-2 mV)", bias_j, dIdV_j, I_j, "josephson")
    return qp, jos


__all__ = ["make_demo"]
