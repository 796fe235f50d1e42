"""Createc .specgrid grids: files written with the documented layout, with and without the image header."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Grid
from analysis.errors import ReadError
from analysis.io import registry
from analysis.io.createc_specgrid import HEADER_BYTES, read
from tests.analysis.io.test_createc_image import write_image

VPD = 20.0 / 2**20  # volts per DAC step, 20-bit
IPD = VPD / 1e9  # amperes per DAC step at Gainpreamp 9


def write_specgrid(
    path: Path,
    spectra: np.ndarray,
    bias_mv: np.ndarray,
    *,
    select: int = 0b11,
    version: int = 4,
    nx: int | None = None,
    ny: int | None = None,
    step: int = 2,
    measured: int | None = None,
    companion: bool = True,
    ydir: int = 1,
    z_table: np.ndarray | None = None,
    topography: np.ndarray | None = None,
    table_width: int = 2,
    grid_size_fields: bool = False,
) -> Path:
    """A .specgrid file of ``spectra`` (nrows, ncols, npts, nchan) raw values, stored in scan order.

    With ``companion`` an image file ``<name>.dat`` carries the text header (100 x 100 Angstrom frame) and
    ``topography`` (ny, nx) raw Z values in scan order (zeros when not given).
    """
    nrows, ncols, npts, nchan = spectra.shape
    nx = ncols * step if nx is None else nx
    ny = nrows * step if ny is None else ny
    head = struct.pack(
        "<10i2f4iq4i7i",
        version, nx, ny, 16, 16, step, step, npts, 0, 0, 50.0, 2e-10,
        nx * ny, spectra.size, nchan, select, spectra.size, 1, ncols, 1, nrows,
        0, ncols if grid_size_fields else 0, nrows if grid_size_fields else 0, 0, 0, 0, 0,
    )  # fmt: skip
    head += b"\x00" * (HEADER_BYTES - len(head))
    z_table = np.zeros(npts) if z_table is None else z_table
    columns = [bias_mv, z_table] + [np.full(npts, 7.0)] * (table_width - 2)
    table = np.column_stack(columns).astype("<f4").tobytes()
    flat = spectra.reshape(nrows * ncols, npts, nchan).astype("<f4")
    if measured is not None:
        flat = flat[:measured]
    path.write_bytes(head + table + flat.tobytes())
    if companion:
        write_image(
            path.with_name(path.name + ".dat"),
            (np.zeros((ny, nx)) if topography is None else topography)[None].astype(np.float32),
            ydir=ydir,
            header_extra="Length x[A]= 100.0\r\nLength y[A]= 100.0\r\n",
        )
    return path


def _spectra(rng: np.random.Generator, nrows: int = 3, ncols: int = 4, npts: int = 11, nchan: int = 2):
    return rng.integers(-5000, 5000, size=(nrows, ncols, npts, nchan)).astype(np.float32)


def test_grid_dimensions_units_values_and_frame(tmp_path: Path, rng: np.random.Generator) -> None:
    spectra = _spectra(rng)
    bias = np.linspace(-20, 20, 11)
    path = write_specgrid(tmp_path / "A1.specgrid", spectra, bias)
    assert registry().detect(path).name == "createc_specgrid"
    (g,) = registry().read(path)
    assert isinstance(g, Grid)
    assert g.shape == (3, 4, 11)
    assert list(g.channels) == ["Current", "dI/dV"]
    assert g.units == {"Current": "A", "dI/dV": "V"}
    np.testing.assert_allclose(g.bias, bias * 1e-3)
    assert g.sweep_signal == "Bias" and g.sweep_unit == "V" and not g.sweep_reversed
    # ScanYDirec=1: the first stored row is the top of the frame, so it lands in the last row.
    assert g.spectrum("Current", 2, 1)[5] == pytest.approx(spectra[0, 1, 5, 0] * IPD, rel=1e-6)
    assert g.spectrum("dI/dV", 0, 3)[0] == pytest.approx(spectra[2, 3, 0, 1] * VPD, rel=1e-6)
    assert g.valid.all() and not g.warnings
    # 100 x 100 Angstrom over 8 x 6 image pixels, grid step 2 pixels: 4 columns and 3 rows cover it all
    assert g.frame.size == pytest.approx((100e-10, 100e-10))
    # the grid covers the whole image, so it shares the image's centre (offset 1000, -500 DAC steps)
    xy = 20.0 / 2**20 * 10 * 34.44e-10
    assert g.frame.center == pytest.approx((1000 * xy, -500 * xy))
    assert g.frame.angle == pytest.approx(30.0)
    assert g.metadata["setpoint"]["bias_V"] == pytest.approx(0.05)
    assert g.source.reader == "createc_specgrid"


def test_topography_of_the_image_beside_becomes_the_z_parameter(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    spectra = _spectra(rng)  # 3 rows x 4 columns, grid step 2 image pixels
    topo = np.arange(6 * 8, dtype=np.float64).reshape(6, 8) * 10  # scan order, first line on top
    path = write_specgrid(tmp_path / "t.specgrid", spectra, np.linspace(-1, 1, 11), topography=topo)
    (g,) = read(path)
    z_per_dac = VPD * 3 * 8.79e-10  # GainZ * ZPiezoconst of the image header
    assert g.param_units == {"Z": "m"} and g.params["Z"].shape == (3, 4)
    # model row 0 is the lowest grid line: the last scanned grid row, image scan line 2 * 2 = 4
    assert g.params["Z"][0, 1] == pytest.approx(topo[4, 2] * z_per_dac)
    assert g.params["Z"][2, 3] == pytest.approx(topo[0, 6] * z_per_dac)
    assert g.topography is g.params["Z"]


@pytest.mark.parametrize(("width", "nchan", "measured"), [(3, 2, None), (3, 1, 7), (2, 1, 7), (3, 2, 5)])
def test_sweep_tables_of_two_and_three_columns(
    tmp_path: Path, rng: np.random.Generator, width: int, nchan: int, measured: int | None
) -> None:
    spectra = _spectra(rng, nchan=nchan)
    path = write_specgrid(
        tmp_path / "w.specgrid", spectra, np.linspace(-3, 3, 11), select=(1 << nchan) - 1,
        measured=measured, table_width=width, grid_size_fields=True, ydir=0,
    )  # fmt: skip
    (g,) = read(path)
    assert g.metadata["sweep_table"]["columns"] == width
    np.testing.assert_allclose(g.bias, np.linspace(-3e-3, 3e-3, 11), rtol=1e-6)
    assert g.spectrum("Current", 1, 0)[4] == pytest.approx(spectra[1, 0, 4, 0] * IPD, rel=1e-6)
    assert int(g.valid.sum()) == (12 if measured is None else measured)


def test_settling_plateau_new_version_and_grid_size_fields(tmp_path: Path, rng: np.random.Generator) -> None:
    """Traits seen in real files: version 4400, a three-column table, the grid size in the newer header
    fields, and 19 points at the start bias (settling) before the sweep from +20 mV to -20 mV."""
    bias = np.concatenate([np.full(19, 20.0), np.linspace(20, -20, 502)])
    spectra = rng.integers(-5000, 5000, size=(5, 5, bias.size, 3)).astype(np.float32)
    path = write_specgrid(
        tmp_path / "r.specgrid", spectra, bias, select=7, version=4400, table_width=3,
        grid_size_fields=True, measured=10, ydir=0,
    )  # fmt: skip
    (g,) = read(path)
    assert g.shape == (5, 5, 502) and list(g.channels) == ["Current", "dI/dV", "d2I/dV2"]
    assert g.sweep_reversed and g.bias[0] == pytest.approx(-0.02) and g.bias[-1] == pytest.approx(0.02)
    assert g.metadata["settling"] == {"leading_points": 19, "trailing_points": 0}
    assert any("settling" in w for w in g.warnings)
    # ascending index 0 is the last stored point; index 501 the first point after the plateau
    assert g.spectrum("Current", 0, 3)[0] == pytest.approx(spectra[0, 3, -1, 0] * IPD, rel=1e-6)
    assert g.spectrum("Current", 0, 3)[501] == pytest.approx(spectra[0, 3, 19, 0] * IPD, rel=1e-6)
    assert int(g.valid.sum()) == 10 and g.valid[1, 4] and not g.valid[2, 0]


def test_scan_up_keeps_row_order(tmp_path: Path, rng: np.random.Generator) -> None:
    spectra = _spectra(rng)
    path = write_specgrid(tmp_path / "up.specgrid", spectra, np.linspace(-1, 1, 11), ydir=0)
    (g,) = read(path)
    assert g.spectrum("Current", 0, 1)[3] == pytest.approx(spectra[0, 1, 3, 0] * IPD, rel=1e-6)


def test_descending_sweep_is_reversed_and_recorded(tmp_path: Path, rng: np.random.Generator) -> None:
    spectra = _spectra(rng)
    path = write_specgrid(tmp_path / "d.specgrid", spectra, np.linspace(20, -20, 11), ydir=0)
    (g,) = read(path)
    assert g.sweep_reversed
    assert np.all(np.diff(g.bias) > 0)
    assert g.spectrum("Current", 1, 2)[0] == pytest.approx(spectra[1, 2, -1, 0] * IPD, rel=1e-6)


def test_aborted_grid_is_nan_and_invalid(tmp_path: Path, rng: np.random.Generator) -> None:
    spectra = _spectra(rng)
    path = write_specgrid(tmp_path / "a.specgrid", spectra, np.linspace(-1, 1, 11), measured=5, ydir=0)
    (g,) = read(path)
    assert int(g.valid.sum()) == 5
    assert g.valid[1, 0] and not g.valid[1, 1]
    assert np.isnan(g.spectrum("Current", 2, 3)).all()
    assert any("stopped early" in w for w in g.warnings)


def test_old_version_extent_and_missing_image_header(tmp_path: Path, rng: np.random.Generator) -> None:
    spectra = _spectra(rng, nrows=2, ncols=5, nchan=1)
    path = write_specgrid(
        tmp_path / "old.specgrid", spectra, np.linspace(-1, 1, 11), version=3, select=1, companion=False
    )
    (g,) = read(path)
    assert g.shape == (2, 5, 11)
    assert g.units == {"Current": ""}
    # raw values, first stored row first (no header to say the scan went down)
    assert g.spectrum("Current", 0, 4)[2] == spectra[0, 4, 2, 0]
    assert any("raw DAC" in w for w in g.warnings)


def test_unknown_select_value_names_channels_by_number(tmp_path: Path, rng: np.random.Generator) -> None:
    spectra = _spectra(rng, nchan=3)
    (g,) = read(write_specgrid(tmp_path / "n.specgrid", spectra, np.linspace(-1, 1, 11), select=1))
    assert list(g.channels) == ["Channel 1", "Channel 2", "Channel 3"]


def test_bad_files_raise_read_error(tmp_path: Path, rng: np.random.Generator) -> None:
    good = write_specgrid(tmp_path / "g.specgrid", _spectra(rng), np.linspace(-1, 1, 11)).read_bytes()
    short = tmp_path / "s.specgrid"
    short.write_bytes(good[:500])
    with pytest.raises(ReadError, match="1024-byte"):
        read(short)
    no_data = tmp_path / "t.specgrid"
    no_data.write_bytes(good[: HEADER_BYTES + 8 * 11 + 10])
    with pytest.raises(ReadError, match="no complete spectrum"):
        read(no_data)
    bad = tmp_path / "b.specgrid"
    bad.write_bytes(struct.pack("<i", 0) + good[4:])
    with pytest.raises(ReadError, match="not a Createc specgrid"):
        read(bad)
    # Content that is not a specgrid header is not claimed, whatever the extension.
    noise = tmp_path / "noise.specgrid"
    noise.write_bytes(b"\xff" * 2048)
    with pytest.raises(ReadError, match="unrecognised"):
        registry().read(noise)
