"""A small synthetic session for figure tests: a grid, an image, regions, a cut and a series."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.dataset import Frame, Grid, Image
from analysis.figures.resolve import FigureSources, XYSeries
from analysis.fitting.single import FitRecord, ParamResult, SingleFit
from analysis.maps.linecut import CutPath
from analysis.maps.regions import Rectangle, Region

NM = 1e-9


def small_grid() -> Grid:
    """12 x 10 pixels over 60 nm x 50 nm, 21 sweep points over +-10 mV; dI/dV of order 1 nS with a gap
    that closes towards the left (so profiles have a step)."""
    ny, nx, nb = 10, 12, 21
    bias = np.linspace(-10e-3, 10e-3, nb)
    ix = np.arange(nx)[None, :, None]
    gap = 2e-3 + 4e-3 * (ix >= 6)
    g = 1e-9 * (1.0 + 2.0 * np.exp(-(((np.abs(bias)[None, None, :] - gap) / 1e-3) ** 2)))
    cube = np.broadcast_to(g, (ny, nx, nb)).astype(np.float32).copy()
    cube += np.float32(1e-11) * np.arange(ny, dtype=np.float32)[:, None, None]
    frame = Frame(center=(0.0, 0.0), size=(60 * NM, 50 * NM), angle=0.0, shape=(ny, nx))
    z = np.add.outer(np.arange(ny), np.arange(nx)).astype(float) * 0.1e-9
    return Grid(
        name="small",
        bias=bias,
        channels={"dI/dV": cube},
        units={"dI/dV": "S"},
        frame=frame,
        params={"Z": z},
        param_units={"Z": "m"},
        valid=np.ones((ny, nx), bool),
    )


def checkerboard(n: int = 8, angle: float = 0.0) -> Image:
    """An n x n checkerboard of 0 and 1 (pixel (0, 0), bottom left, is 1) over 80 nm."""
    values = ((np.add.outer(np.arange(n), np.arange(n)) + 1) % 2).astype(np.float32)
    frame = Frame(center=(0.0, 0.0), size=(80 * NM, 80 * NM), angle=angle, shape=(n, n))
    return Image(name="checker", channels={"v": values}, units={"v": "a.u."}, frame=frame)


@pytest.fixture(scope="module")
def sources() -> FigureSources:
    grid = small_grid()
    left = Region("Left", (31, 119, 180), geometry=Rectangle((-15 * NM, 0.0), (28 * NM, 48 * NM), 0.0))
    mask = np.zeros(grid.frame.shape, bool)
    mask[2:8, 7:11] = True
    right = Region("Right", (214, 39, 40), mask=mask, frame=grid.frame)
    return FigureSources(
        datasets={"g": grid, "checker": checkerboard()},
        regions={"left": left, "right": right},
        linecuts={"cut": CutPath(((-25 * NM, 0.0), (25 * NM, 0.0)), name="across")},
        series={"s": XYSeries(np.linspace(1, 10, 10), np.linspace(1, 10, 10) ** 2, "square")},
        fits={"f": small_fit()},
    )


def small_fit() -> SingleFit:
    """A finished fit as the fit panel keeps it: a Gaussian on 41 points with its residuals."""
    x = np.linspace(-5e-3, 5e-3, 41)
    best = 1e-9 * (1 + np.exp(-((x / 1e-3) ** 2)))
    y = best + 1e-11 * np.sin(40 * x / 5e-3)
    record = FitRecord(
        model="gauss",
        params=[ParamResult("width", "V", 1e-3, 2e-5), ParamResult("height", "S", 1e-9, 3e-12)],
        redchi=1.0,
        chisqr=41.0,
        ndata=41,
        nvarys=2,
        success=True,
        message="ok",
    )
    return SingleFit(record, x, y, best, y - best, x, best, best)
