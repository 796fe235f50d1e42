"""The shared ("global") start of a grid fit survives outlier pixels, and pixels it leaves unconverged are
refitted from their own guess."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.dataset import Frame, Grid
from analysis.fitting.batch import typical_spectrum
from analysis.fitting.maps import fit_grid
from analysis.models.bcs import dynes_sin_batch
from analysis.models.registry import get_model


def _grid(bad: dict[tuple[int, int], float]) -> tuple[Grid, np.ndarray]:
    rng = np.random.default_rng(0)
    ny = nx = 24
    V = np.linspace(-6e-3, 6e-3, 121)
    d = rng.uniform(1.2e-3, 1.6e-3, ny * nx)
    g = dynes_sin_batch(V, d, np.full_like(d, 0.1e-3), np.full_like(d, 1.5)) * 1e-8
    g += rng.normal(scale=1e-10, size=g.shape)
    cube = g.reshape(ny, nx, -1).astype(np.float32)
    for (iy, ix), value in bad.items():
        cube[iy, ix, :] = value
    grid = Grid(
        name="t",
        bias=V,
        channels={"dI/dV": cube},
        units={"dI/dV": "S"},
        frame=Frame(size=(1e-8, 1e-8), shape=(ny, nx)),
        valid=np.ones((ny, nx), bool),
    )
    return grid, d.reshape(ny, nx)


def test_typical_spectrum_ignores_a_huge_pixel_a_dead_pixel_and_spikes() -> None:
    rng = np.random.default_rng(1)
    Y = 1e-8 * (1 + 0.01 * rng.normal(size=(50, 30)))
    Y[3] = 1e30
    Y[7] = 0.0
    Y[9, 4] = 1e30
    np.testing.assert_allclose(typical_spectrum(Y), 1e-8, rtol=0.02)


@pytest.mark.parametrize("value", [1e30, 0.0, -1e20])
def test_one_absurd_pixel_no_longer_spoils_the_global_start(value: float) -> None:
    grid, delta = _grid({(3, 4): value})
    gf = fit_grid(grid, get_model("dynes_sin"), channel="dI/dV", start="global")
    ok = gf.result.status == 0
    assert ok.sum() >= grid.shape[0] * grid.shape[1] - 1
    k = gf.result.param_names.index("Delta")
    got = gf.map_of(gf.result.values[:, k])
    good = np.ones(delta.shape, bool)
    good[3, 4] = False
    np.testing.assert_allclose(got[good], delta[good], rtol=0.02)
