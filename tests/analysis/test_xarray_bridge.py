"""Grids, images, spectra and series to xarray and back: dims, SI coordinates with units, the valid mask and
per-pixel parameters as variables, metadata as attributes; netCDF files written by xarray read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from analysis.dataset import Frame, Grid, Image, Source, Spectrum
from analysis.errors import WorkbenchError
from analysis.series import Series, Sweep

NM = 1e-9


def _grid() -> Grid:
    rng = np.random.default_rng(1)
    valid = np.ones((4, 5), bool)
    valid[3, 2:] = False
    return Grid(
        name="grid",
        bias=np.linspace(-0.01, 0.01, 6),
        channels={"LockinX": rng.normal(size=(4, 5, 6)).astype(np.float32)},
        units={"LockinX": "S"},
        frame=Frame(center=(10 * NM, -3 * NM), size=(5 * NM, 4 * NM), shape=(4, 5)),
        params={"Z": rng.normal(size=(4, 5))},
        param_units={"Z": "m"},
        valid=valid,
        source=Source("a.3ds", "nanonis_grid", 0),
        warnings=["w1"],
        metadata={"T": 4.2, "nested": {"a": [1, 2]}},
    )


def test_grid_dims_coordinates_units_and_round_trip() -> None:
    g = _grid()
    xds = g.to_xarray()
    assert xds["LockinX"].dims == ("y", "x", "bias")
    assert xds["LockinX"].attrs["units"] == "S"
    assert xds["bias"].attrs["units"] == "V"
    np.testing.assert_allclose(xds["x"].values, 10 * NM + (np.arange(5) + 0.5 - 2.5) * NM)
    assert xds["x"].attrs["units"] == "m"
    assert xds["Z"].dims == ("y", "x") and xds["Z"].attrs["role"] == "parameter"
    assert xds["valid"].dtype == bool
    # Selecting by physical coordinates works as xarray users expect.
    assert float(xds["LockinX"].sel(bias=0.002, method="nearest").isel(y=0, x=0)) == pytest.approx(
        float(g.channels["LockinX"][0, 0, 3])
    )
    back = Grid.from_xarray(xds)
    np.testing.assert_array_equal(back.channels["LockinX"], g.channels["LockinX"])
    np.testing.assert_array_equal(back.valid, g.valid)
    np.testing.assert_allclose(back.params["Z"], g.params["Z"])
    assert back.frame.center == pytest.approx(g.frame.center) and back.frame.size == pytest.approx(
        g.frame.size
    )
    assert back.metadata == g.metadata and back.warnings == g.warnings and back.source == g.source


def test_netcdf_file_round_trip(tmp_path: Path) -> None:
    g = _grid()
    path = tmp_path / "g.nc"
    g.to_xarray().to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as xds:
        back = Grid.from_xarray(xds.load())
    np.testing.assert_array_equal(back.channels["LockinX"], g.channels["LockinX"])
    np.testing.assert_array_equal(back.valid, g.valid)


def test_image_and_spectrum_round_trip() -> None:
    img = Image(
        name="i",
        channels={"Z": np.arange(6, dtype=np.float32).reshape(2, 3)},
        units={"Z": "m"},
        frame=Frame(center=(0, 0), size=(3 * NM, 2 * NM), shape=(2, 3)),
        scan_direction="down",
    )
    back = Image.from_xarray(img.to_xarray())
    np.testing.assert_array_equal(back.channels["Z"], img.channels["Z"])
    assert back.scan_direction == "down" and back.units == {"Z": "m"}
    spec = Spectrum(
        name="s",
        x=np.linspace(-1, 1, 5),
        channels={"Current": np.arange(5.0)},
        units={"Current": "A"},
        position=(1 * NM, 2 * NM),
    )
    xds = spec.to_xarray()
    assert xds["Current"].dims == ("bias",)
    s2 = Spectrum.from_xarray(xds)
    np.testing.assert_array_equal(s2.channels["Current"], spec.channels["Current"])
    assert s2.position == pytest.approx(spec.position)
    with pytest.raises(TypeError, match="holds a spectrum"):
        Grid.from_xarray(xds)


def _series(shared: bool) -> Series:
    sweeps = []
    for k in range(3):
        n = 7 if shared else 5 + k
        i = np.linspace(-1e-6, 1e-6, n)
        sweeps.append(Sweep(x=i, channels={"Current": i, "Voltage": i * (100 + k)}, label=f"H{k}"))
    return Series(
        name="neck",
        sweeps=sweeps,
        units={"Current": "A", "Voltage": "V"},
        tags={"H": np.array([0.0, 0.1, 0.2])},
        tag_units={"H": "T"},
    )


@pytest.mark.parametrize("shared", [True, False])
def test_series_round_trip_shared_and_ragged_axes(shared: bool) -> None:
    s = _series(shared)
    xds = s.to_xarray()
    assert xds["Voltage"].dims == (("sweep", "x") if shared else ("sweep", "point"))
    assert xds["H"].attrs["units"] == "T"
    back = Series.from_xarray(xds)
    assert len(back) == 3 and back.tag_units["H"] == "T"
    for a, b in zip(s, back):
        np.testing.assert_allclose(b.x, a.x)
        np.testing.assert_allclose(b.channel("Voltage"), a.channel("Voltage"))
        assert b.label == a.label


def test_foreign_dataset_without_our_attributes_and_irregular_axes() -> None:
    xds = xr.Dataset(
        {"dIdV": (("y", "x", "bias"), np.ones((2, 3, 4)), {"units": "S"})},
        coords={"x": np.array([0.0, 1e-9, 2e-9]), "y": np.array([0.0, 1e-9]), "bias": np.linspace(-1, 1, 4)},
    )
    g = Grid.from_xarray(xds)
    assert g.shape == (2, 3, 4) and g.frame.size == pytest.approx((3e-9, 2e-9))
    bad = xds.assign_coords(x=np.array([0.0, 1e-9, 5e-9]))
    with pytest.raises(WorkbenchError, match="evenly spaced"):
        Grid.from_xarray(bad)


def test_real_lock_in_grid_to_xarray_and_back() -> None:
    from analysis.io import read_file
    from tests.conftest import shared_file

    (g,) = read_file(shared_file("nanonis/NanonisReader_STS_grid_lockin.3ds"))
    xds = g.to_xarray()
    assert set(g.channels) <= set(xds.data_vars)
    back = Grid.from_xarray(xds)
    for name in g.channels:
        np.testing.assert_array_equal(back.channels[name], np.asarray(g.channels[name]))
        assert back.units[name] == g.units[name]
    np.testing.assert_allclose(back.bias, g.bias)
    assert back.frame.center == pytest.approx(g.frame.center)
