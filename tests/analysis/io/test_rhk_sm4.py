"""RHK SM4: a real spectroscopy file, and files written with the documented layout for images and grids."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Grid, Image, Spectrum
from analysis.errors import ReadError
from analysis.io import registry
from analysis.io.rhk_sm4 import read
from tests.analysis.io.sm4_writer import Page, write_sm4
from tests.conftest import shared_file

REAL = "rhk/test_iv.SM4"


@pytest.mark.realdata
def test_real_spectroscopy_file() -> None:
    path = shared_file(REAL)
    assert registry().detect(path).name == "rhk_sm4"
    out = read(path)
    # five line pages (channels) of five curves each, all taken at one spot
    assert len(out) == 5 and all(isinstance(s, Spectrum) for s in out)
    s = out[0]
    assert list(s.channels) == ["DC Current", "Conductance", "THz Current", "Pump Induced", "Current"]
    assert s.units["Current"] == "A" and s.units["DC Current"] == "A" and s.units["THz Current"] == "e-"
    assert s.x_unit == "V" and len(s) == 299 and not s.sweep_reversed
    assert s.x[0] == pytest.approx(-1.50054931640625)
    assert s.x[1] - s.x[0] == pytest.approx(0.01007080078125)
    # position of the curves from the drift data, in metres
    assert s.position == pytest.approx((-26.8376e-9, 22.9515e-9), rel=1e-4)
    assert all(o.position == s.position for o in out)
    # a value checked by hand: page 1 (DC Current) data start at byte 6262, z_scale at byte 5242 + 64
    raw = path.read_bytes()
    (first,) = struct.unpack_from("<i", raw, 6262)
    (z_scale,) = struct.unpack_from("<f", raw, 5242 + 64)
    assert first == -8335  # the page header's min_z
    assert s.channels["DC Current"][0] == pytest.approx(first * z_scale)
    assert s.channels["DC Current"][0] == pytest.approx(-2.6454e-10, rel=1e-4)
    (second,) = struct.unpack_from("<i", raw, 6262 + 4 * 299)  # curve 2, first point
    assert out[1].channels["DC Current"][0] == pytest.approx(second * z_scale)
    assert s.metadata["setpoint"]["bias_V"] == pytest.approx(0.99411, abs=1e-5)
    assert s.metadata["setpoint"]["current_A"] == pytest.approx(4.31244e-11, rel=1e-5)
    assert s.metadata["pages"][0]["strings"]["date"] == "06/17/23"
    assert out[4].metadata["curve_time_s"] == pytest.approx(159.59375)
    assert "WinSpm" in s.metadata["prm"]


def test_image_pages_forward_backward_orientation_and_frame(tmp_path: Path) -> None:
    raw = np.arange(12, dtype=np.int32).reshape(3, 4) * 10
    common = dict(x_offset=5e-9, y_offset=-2e-9, angle=15.0, z_scale=1e-12, z_offset=1e-10)
    pages = [
        Page(raw, label="Topography", scan_type=0, x_scale=2e-10, y_scale=-3e-10, **common),
        Page(raw, label="Topography", scan_type=1, x_scale=-2e-10, y_scale=-3e-10, **common),
        Page(raw, label="Current", z_unit="A", scan_type=0, x_scale=2e-10, y_scale=-3e-10, **common),
    ]
    path = write_sm4(tmp_path / "img.SM4", pages)
    assert registry().detect(path).name == "rhk_sm4"
    (img,) = registry().read(path)
    assert isinstance(img, Image)
    assert list(img.channels) == ["Topography", "Topography [bwd]", "Current"]
    assert img.units == {"Topography": "m", "Topography [bwd]": "m", "Current": "A"}
    assert img.shape == (3, 4)
    topo = img.channels["Topography"]
    # y_scale < 0: the first stored line is the top of the frame, so it is the last row here
    assert topo[2, 0] == pytest.approx(0 * 1e-12 + 1e-10)
    assert topo[0, 3] == pytest.approx(110 * 1e-12 + 1e-10)
    # x_scale < 0 on the backward page: columns are flipped so column 0 is leftmost
    assert img.channels["Topography [bwd]"][2, 0] == pytest.approx(30 * 1e-12 + 1e-10)
    assert img.frame.size == pytest.approx((8e-10, 9e-10))
    assert img.frame.center == pytest.approx((5e-9, -2e-9))
    assert img.frame.angle == pytest.approx(15.0)
    assert img.scan_direction == "down"


def _line_pages(values: np.ndarray, positions: np.ndarray, grid: tuple[int, int] = (0, 0)) -> list[Page]:
    """Two line pages (current and lock-in) of ``values`` (ncurves, npts) on a descending bias axis."""
    npts = values.shape[1]
    line = dict(data_type=1, x_unit="V", x_scale=-0.01, x_offset=0.05, positions=positions, grid=grid,
                page_type=38, line_type=7, y_scale=1.0)  # fmt: skip
    return [
        Page(values.astype(np.int32), label="Current", z_unit="A", z_scale=1e-13, **line),
        Page((2 * values).astype(np.int32), label="LIA", z_unit="V", z_scale=1e-6, **line),
    ][: 2 if npts else 0]


def test_grid_spectroscopy_becomes_a_grid(tmp_path: Path, rng: np.random.Generator) -> None:
    ny, nx, npts = 3, 4, 11
    # curves stored in an arbitrary order: the positions decide where each lands
    iy, ix = np.divmod(rng.permutation(ny * nx), nx)
    positions = np.column_stack([1e-9 + ix * 2e-10, -3e-9 + iy * 2e-10])
    values = rng.integers(-1000, 1000, size=(ny * nx, npts))
    path = write_sm4(tmp_path / "grid.SM4", _line_pages(values, positions, grid=(nx, ny)))
    (g,) = read(path)
    assert isinstance(g, Grid)
    assert g.shape == (ny, nx, npts)
    assert list(g.channels) == ["Current", "LIA"]
    assert g.units == {"Current": "A", "LIA": "V"}
    assert g.sweep_reversed and np.all(np.diff(g.bias) > 0)
    assert g.bias[0] == pytest.approx(0.05 - 0.1) and g.bias[-1] == pytest.approx(0.05)
    k = 5
    got = g.spectrum("Current", int(iy[k]), int(ix[k]))
    np.testing.assert_allclose(got, values[k][::-1] * 1e-13, rtol=1e-6)
    np.testing.assert_allclose(
        g.spectrum("LIA", int(iy[k]), int(ix[k])), 2 * values[k][::-1] * 1e-6, rtol=1e-6
    )
    assert g.frame.shape == (ny, nx)
    assert g.frame.size == pytest.approx((8e-10, 6e-10))
    cx, cy = g.pixel_to_xy(ix[k], iy[k])
    assert (float(cx), float(cy)) == pytest.approx(tuple(positions[k]), abs=1e-15)
    assert g.valid.all()


def test_grid_with_repeats_gives_numbered_channels(tmp_path: Path, rng: np.random.Generator) -> None:
    iy, ix = np.divmod(np.arange(6), 3)
    loc = np.column_stack([ix * 1e-10, iy * 1e-10])
    positions = np.repeat(loc, 2, axis=0)  # each location measured twice in a row
    values = rng.integers(-100, 100, size=(12, 5))
    (g,) = read(write_sm4(tmp_path / "rep.SM4", _line_pages(values, positions)))
    assert isinstance(g, Grid) and g.shape == (2, 3, 5)
    assert list(g.channels) == ["Current", "Current #2", "LIA", "LIA #2"]
    np.testing.assert_allclose(g.spectrum("Current #2", 1, 2), values[11][::-1] * 1e-13, rtol=1e-6)


def test_drift_corrected_grid_snaps_to_the_header_lattice(tmp_path: Path, rng: np.random.Generator) -> None:
    ny, nx, npts = 3, 4, 6
    iy, ix = np.divmod(np.arange(ny * nx), nx)
    nominal = np.column_stack([ix * 5e-10, iy * 5e-10])
    positions = np.repeat(nominal, 2, axis=0) + rng.normal(
        scale=2e-11, size=(2 * ny * nx, 2)
    )  # two sweeps each
    values = rng.integers(-100, 100, size=(2 * ny * nx, npts))
    (g,) = read(write_sm4(tmp_path / "drift.SM4", _line_pages(values, positions, grid=(nx, ny))))
    assert isinstance(g, Grid) and g.shape == (ny, nx, npts)
    assert list(g.channels) == ["Current", "Current #2", "LIA", "LIA #2"]
    np.testing.assert_allclose(g.spectrum("Current", 2, 1), values[2 * 9][::-1] * 1e-13, rtol=1e-6)
    np.testing.assert_allclose(g.spectrum("Current #2", 2, 1), values[2 * 9 + 1][::-1] * 1e-13, rtol=1e-6)
    assert g.frame.size == pytest.approx((4 * 5e-10, 3 * 5e-10), rel=0.1)
    assert any("drift correction" in w for w in g.warnings)
    assert g.param_units == {"X (recorded)": "m", "Y (recorded)": "m"}
    assert g.params["X (recorded)"][2, 1] == pytest.approx(positions[2 * 9, 0])


def test_scattered_point_spectra_keep_their_positions(tmp_path: Path, rng: np.random.Generator) -> None:
    positions = np.array([[0.0, 0.0], [3e-9, 1e-9], [-2e-9, 5e-10]])
    values = rng.integers(-100, 100, size=(3, 7))
    out = read(write_sm4(tmp_path / "pts.SM4", _line_pages(values, positions)))
    assert len(out) == 3 and all(isinstance(s, Spectrum) for s in out)
    assert out[1].position == pytest.approx((3e-9, 1e-9))
    assert out[1].sweep_reversed
    np.testing.assert_allclose(out[1].channels["Current"], values[1][::-1] * 1e-13, rtol=1e-6)


def test_bad_files_raise_read_error(tmp_path: Path) -> None:
    good = write_sm4(tmp_path / "g.SM4", [Page(np.ones((4, 4), np.int32))]).read_bytes()
    for cut in (20, 60, 120, len(good) - 8):
        p = tmp_path / f"cut{cut}.SM4"
        p.write_bytes(good[:cut])
        with pytest.raises(ReadError):
            read(p)
    text_only = tmp_path / "text.SM4"
    write_sm4(text_only, [Page(np.ones((1, 4), np.int32), data_type=4)])
    with pytest.raises(ReadError, match="no image or spectroscopy pages"):
        read(text_only)
    other = tmp_path / "other.SM4"
    other.write_bytes(b"\x00" * 64)
    with pytest.raises(ReadError, match="STiMage"):
        read(other)


def _finite_frame(frame) -> bool:
    return all(np.isfinite(v) for v in (*frame.center, *frame.size, frame.angle)) and min(frame.size) > 0


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("x_offset", float("nan"), "centred at (0, 0)"),
        ("y_offset", float("inf"), "centred at (0, 0)"),
        ("x_offset", 3e30, "centred at (0, 0)"),
        ("y_scale", 1e35, "1 nm wide"),
    ],
)
def test_damaged_image_geometry_gives_a_finite_frame_and_a_warning(
    tmp_path: Path, field: str, value: float, says: str
) -> None:
    page = Page(np.arange(20, dtype=np.int32).reshape(4, 5), **{field: value})
    (img,) = read(write_sm4(tmp_path / "a.SM4", [page]))
    assert isinstance(img, Image)
    assert _finite_frame(img.frame), img.frame
    assert any(says in w for w in img.warnings), img.warnings


def test_non_finite_angle_is_zero_and_large_angles_fold(tmp_path: Path) -> None:
    (a,) = read(write_sm4(tmp_path / "a.SM4", [Page(np.zeros((3, 3), np.int32), angle=float("nan"))]))
    (b,) = read(write_sm4(tmp_path / "b.SM4", [Page(np.zeros((3, 3), np.int32), angle=370.0)]))
    assert a.frame.angle == 0.0
    assert b.frame.angle == pytest.approx(10.0)


@pytest.mark.parametrize("field", ["x_scale", "x_offset"])
def test_damaged_sweep_axis_numbers_the_points(tmp_path: Path, rng: np.random.Generator, field: str) -> None:
    iy, ix = np.divmod(np.arange(4), 2)
    geometry = {"x_scale": 0.01, "x_offset": -0.03, field: float("nan")}
    line = Page(
        rng.integers(-50, 50, size=(4, 6)).astype(np.int32),
        data_type=1,
        x_unit="V",
        positions=np.column_stack([ix * 1e-10, iy * 1e-10]),
        **geometry,
    )
    (grid,) = read(write_sm4(tmp_path / "g.SM4", [line]))
    assert isinstance(grid, Grid)
    np.testing.assert_array_equal(grid.bias, np.arange(6.0))
    assert grid.sweep_unit == ""
    assert any("points are numbered 0 to 5" in w for w in grid.warnings), grid.warnings


def test_absurd_curve_positions_give_spectra_not_a_grid(tmp_path: Path, rng: np.random.Generator) -> None:
    iy, ix = np.divmod(np.arange(4), 2)
    line = Page(
        rng.integers(-50, 50, size=(4, 6)).astype(np.int32),
        data_type=1,
        x_unit="V",
        x_scale=0.01,
        positions=np.column_stack([ix * 1e30, iy * 1e30]),
    )
    out = read(write_sm4(tmp_path / "g.SM4", [line]))
    assert len(out) == 4 and all(isinstance(s, Spectrum) for s in out)
