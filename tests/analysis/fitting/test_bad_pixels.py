"""Bad pixels in batch fits (spectra with +-inf, half NaN, one NaN, or constant) are flagged per pixel,
with the number of points left out, in the batch result, its summary and the parameter maps."""

from __future__ import annotations

import numpy as np

from analysis.dataset import Frame, Grid
from analysis.fitting.batch import (
    CONSTANT_DATA,
    FLAG_CONSTANT,
    FLAG_INF,
    FLAG_MASKED,
    FLAG_MOSTLY_MASKED,
    fit_batch,
    guess_starts,
)
from analysis.fitting.maps import fit_grid
from analysis.models.registry import get_model
from tests.analysis.fitting._models import Lorentzian, synthetic


def _poisoned():
    x, Y, P = synthetic(n=8, noise=0.003, seed=31)
    Y = Y.copy()
    Y[1, 17] = np.inf
    Y[1, 60] = -np.inf
    Y[2, : Y.shape[1] // 2 + 5] = np.nan  # more than half NaN
    Y[3, 40] = np.nan  # one NaN
    Y[4] = 0.25  # constant (dead or saturated pixel)
    return x, Y, P


def test_each_kind_of_bad_pixel_is_flagged_and_counted():
    model = Lorentzian()
    x, Y, P = _poisoned()
    res = fit_batch(model, x, Y, guess_starts(model, x, Y))
    assert res.flags[0] == 0 and res.masked[0] == 0 and res.flag_text(0) == ""
    assert res.flags[1] == FLAG_MASKED | FLAG_INF and res.masked[1] == 2
    assert res.flags[2] == FLAG_MASKED | FLAG_MOSTLY_MASKED and res.masked[2] == x.size // 2 + 5
    assert res.flags[3] == FLAG_MASKED and res.masked[3] == 1
    assert res.flags[4] == FLAG_CONSTANT
    assert res.status[4] == CONSTANT_DATA and not res.success[4] and np.all(np.isnan(res.values[4]))
    assert "2 non-finite points left out" in res.flag_text(1) and "infinite" in res.flag_text(1)
    assert "more than half" in res.flag_text(2)
    # the pixels with a few bad points are still fitted on the rest, and say so
    for i in (1, 3):
        assert res.success[i]
        np.testing.assert_allclose(res.values[i], P[i], atol=5 * np.nanmax(res.stderr[i]))
    text = res.summary()
    assert "constant spectrum" in text and "3 with non-finite points left out" in text
    # flags survive the chunking helpers
    part = res.take(np.array([4, 1]))
    assert list(part.flags) == [FLAG_CONSTANT, FLAG_MASKED | FLAG_INF]


def test_flags_in_the_parameter_maps():
    ny = nx = 6
    V = np.linspace(-6e-3, 6e-3, 81)
    d = np.full(ny * nx, 1.4e-3)
    from analysis.models.bcs import dynes_sin_batch

    g = dynes_sin_batch(V, d, np.full_like(d, 0.1e-3), np.full_like(d, 1.5)) * 1e-8
    g += np.random.default_rng(2).normal(scale=1e-10, size=g.shape)
    cube = g.reshape(ny, nx, -1)
    cube[0, 1, 5] = np.inf
    cube[2, 2, :50] = np.nan
    cube[3, 3] = 1e-8
    grid = Grid(
        name="t",
        bias=V,
        channels={"dI/dV": cube},
        units={"dI/dV": "S"},
        frame=Frame(size=(1e-8, 1e-8), shape=(ny, nx)),
        valid=np.ones((ny, nx), bool),
    )
    img = fit_grid(grid, get_model("dynes_sin"), channel="dI/dV").to_image()
    flags = img.channels["data flags"]
    assert flags[0, 1] == FLAG_MASKED | FLAG_INF and img.channels["masked points"][0, 1] == 1
    assert flags[2, 2] == FLAG_MASKED | FLAG_MOSTLY_MASKED and img.channels["masked points"][2, 2] == 50
    assert flags[3, 3] == FLAG_CONSTANT and img.channels["success"][3, 3] == 0
    assert flags[0, 0] == 0
    assert img.metadata["fit_bad_data"]["constant spectrum"] == 1
