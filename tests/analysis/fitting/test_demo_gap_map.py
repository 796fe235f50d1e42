"""The demo QP grid (two-band MgB2 SIS) gives a gap map matching how it was generated."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from analysis.fitting.batch import FitOptions
from analysis.fitting.maps import fit_grid
from analysis.models.registry import get_model


@pytest.fixture(scope="module")
def demo_qp():
    from analysis.demo.grids import make_demo

    qp, _ = make_demo(0)
    return qp


def _sample_pixels(qp, per_grain: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(mask, flux-centre pixel): a few pixels deep inside every grain and away from the flux disc, plus the
    flux-disc centre."""
    grain = np.asarray(qp.params["grain"]).astype(int)
    flux = qp.metadata["demo"]["flux_region"]
    iy0, ix0 = qp.frame.nearest_pixel(*flux["center_m"])
    ny, nx = grain.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    dx = qp.frame.pixel_size[0]
    # The gap recovers as tanh((r - radius) / recovery length): 99.5 % of it at three lengths.
    far = np.hypot(xx - ix0, yy - iy0) * dx > flux["radius_m"] + 3 * flux["recovery_length_m"]
    mask = np.zeros_like(far)
    for g in np.unique(grain):
        inside = ndimage.binary_erosion(grain == g, iterations=6) & far
        iy, ix = np.nonzero(inside)
        assert iy.size >= per_grain, f"grain {g} has no pixel deep inside it"
        order = np.argsort(np.hypot(iy - iy.mean(), ix - ix.mean()))[:per_grain]
        mask[iy[order], ix[order]] = True
    mask[iy0, ix0] = True
    return mask, (iy0, ix0)


@pytest.mark.slow
def test_demo_gap_map_grains_and_normal_region(demo_qp):
    qp = demo_qp
    d = qp.metadata["demo"]
    model = get_model("two_band_sis_conductance")
    tip = d["tip"]
    fixed = {
        "Delta_pi_t": tip["Delta_pi_eV"],
        "Delta_sigma_t": tip["Delta_sigma_eV"],
        "w_sigma_t": tip["w_sigma"],
        "w_sigma_s": d["sample"]["w_sigma"],
        "Gamma_sigma": d["Gamma_sigma_eV"],
        "T": d["temperature_K"],
    }
    mask, (fy, fx) = _sample_pixels(qp)
    gf = fit_grid(qp, model, "dI/dV", mask=mask, options=FitOptions(fixed=fixed))
    img = gf.to_image()
    gap = img.channels["Delta_pi_s"].astype(float)
    truth = np.asarray(qp.params["Delta_pi_true"], float)
    grain = np.asarray(qp.params["grain"]).astype(int)
    sel = mask.copy()
    sel[fy, fx] = False
    # Every grain pixel converged and its gap is within 0.04 meV of the generated one.
    assert np.all(img.channels["success"][sel] == 1)
    np.testing.assert_allclose(gap[sel], truth[sel], atol=0.04e-3)
    # Grain by grain, the fitted gaps order the grains as generated; the strongest grain is the largest.
    grains = np.unique(grain[sel])
    assert grains.size == len(d["grain_Delta_pi_eV"])  # every grain is represented
    fitted = np.array([gap[sel & (grain == g)].mean() for g in grains])
    generated = np.array([d["grain_Delta_pi_eV"][int(g)] for g in grains])
    np.testing.assert_array_equal(np.argsort(fitted), np.argsort(generated))
    assert grains[np.argmax(fitted)] == d["strongest_grain"]
    # In the flux disc the sample gap vanishes: the fit puts it (near) zero, far below every grain.
    assert gap[fy, fx] < 0.3e-3 < fitted.min()
    # Outside the fitted pixels the maps are empty.
    assert np.all(np.isnan(gap[~mask]))
