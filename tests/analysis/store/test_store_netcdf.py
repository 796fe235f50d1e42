"""Project files open in xarray's netCDF reader: dimension scales and units on the stored arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from analysis.dataset import Grid
from analysis.store import ProjectEntry, open_project, save_project
from tests.analysis.store.test_store import make_grid, make_image, make_spectrum


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Grid]:
    rng = np.random.default_rng(2)
    g = make_grid(rng, shape=(4, 5, 6))
    path = save_project(
        tmp_path / "p.h5",
        [
            ProjectEntry("g", "g", g),
            ProjectEntry("i", "i", make_image(rng)),
            ProjectEntry("s", "s", make_spectrum()),
        ],
    )
    return path, g


def test_grid_channels_open_with_named_dims_and_units(project: tuple[Path, Grid]) -> None:
    path, g = project
    with xr.open_dataset(path, engine="h5netcdf", group="entries/e0000/channels") as chans:
        assert [chans[v].attrs["name"] for v in chans.data_vars] == list(g.channels)
        cur = chans["c000"]
        assert cur.dims == ("y", "x", "bias") and cur.attrs["units"] == "A"
        np.testing.assert_array_equal(cur.values, np.asarray(g.channels["Current"]))
    with xr.open_dataset(path, engine="h5netcdf", group="entries/e0000") as entry:
        np.testing.assert_array_equal(entry["bias"].values, g.bias)
        assert entry["bias"].attrs["units"] == "V"
        assert entry["x"].attrs["units"] == "m" and entry.sizes["x"] == 5
        assert entry["valid"].dims == ("y", "x")
        np.testing.assert_array_equal(entry["valid"].values, g.valid)
    with xr.open_dataset(path, engine="h5netcdf", group="entries/e0000/params") as params:
        z = next(v for v in params.data_vars.values() if v.attrs["name"] == "Z")
        assert z.dims == ("y", "x") and z.attrs["units"] == g.param_units["Z"]


def test_datatree_inherits_the_coordinates(project: tuple[Path, Grid]) -> None:
    path, g = project
    tree = xr.open_datatree(path, engine="h5netcdf")
    try:
        chans = tree["entries/e0000/channels"].to_dataset()
        np.testing.assert_allclose(chans["bias"].values, g.bias)
        x = g.frame.center[0] + (np.arange(5) + 0.5) * g.frame.size[0] / 5 - g.frame.size[0] / 2
        np.testing.assert_allclose(chans["x"].values, x)
        spec = tree["entries/e0002/channels"].to_dataset()
        assert spec["c000"].dims == ("x",) and spec["c000"].attrs["units"] == "A"
        img = tree["entries/e0001/channels"].to_dataset()
        assert img["c000"].dims == ("y", "x")
    finally:
        tree.close()


def test_the_project_reader_is_unchanged(project: tuple[Path, Grid]) -> None:
    path, g = project
    with open_project(path) as proj:
        back = proj.datasets()[0]
        assert isinstance(back, Grid)
        assert list(back.channels) == list(g.channels)
        np.testing.assert_array_equal(np.asarray(back.channels["dI/dV"][()]), np.asarray(g.channels["dI/dV"]))
        assert list(back.params) == list(g.params)
        assert back.frame == g.frame
