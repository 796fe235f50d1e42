"""Gwyddion .gwy: files written by an independent writer (the gwyfile package) and by the workbench read
back with their units, frames and orientation; damaged and contradictory files give ReadError."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.dataset import Frame, Grid, Image, Spectrum
from analysis.errors import ReadError, WorkbenchError
from analysis.io import gwyddion
from analysis.io.gwyddion_format import GwyObject, dumps, parse
from analysis.io.gwyddion_write import write_gwy
from analysis.io.registry import ReaderRegistry

NM = 1e-9


def _gwyfile_image(path: Path, data: np.ndarray) -> None:
    """A .gwy written by the gwyfile package (row 0 of ``data`` is the top line, as Gwyddion stores it)."""
    from gwyfile.objects import GwyContainer, GwyDataField, GwySIUnit

    c = GwyContainer()
    c["/0/data"] = GwyDataField(
        data,
        xreal=20 * NM,
        yreal=10 * NM,
        xoff=5 * NM,
        yoff=2 * NM,
        si_unit_xy=GwySIUnit(unitstr="m"),
        si_unit_z=GwySIUnit(unitstr="m"),
    )
    c["/0/data/title"] = "Topography"
    c["/1/data"] = GwyDataField(
        data * 1e-3,
        xreal=20 * NM,
        yreal=10 * NM,
        xoff=5 * NM,
        yoff=2 * NM,
        si_unit_xy=GwySIUnit(unitstr="m"),
        si_unit_z=GwySIUnit(unitstr="A"),
    )
    c["/1/data/title"] = "Current"
    c.tofile(str(path))


def test_file_from_an_independent_writer_reads_with_units_frame_and_orientation(tmp_path: Path) -> None:
    data = np.arange(4 * 6, dtype=float).reshape(4, 6) * 1e-10  # 4 lines of 6 pixels
    path = tmp_path / "scan.gwy"
    _gwyfile_image(path, data)
    (img,) = gwyddion.read(path)
    assert isinstance(img, Image)
    assert list(img.channels) == ["Topography", "Current"]
    assert img.units == {"Topography": "m", "Current": "A"}
    # Gwyddion's top line (its row 0) is the data model's last row.
    np.testing.assert_allclose(img.channels["Topography"], data[::-1], rtol=1e-6)
    np.testing.assert_allclose(img.channels["Current"], data[::-1] * 1e-3, rtol=1e-6)
    assert img.frame.shape == (4, 6)
    assert img.frame.size == pytest.approx((20 * NM, 10 * NM))
    assert img.frame.center == pytest.approx((15 * NM, -7 * NM))


def test_registry_picks_the_reader_by_content(tmp_path: Path) -> None:
    path = tmp_path / "renamed.bin"
    _gwyfile_image(path, np.ones((3, 3)))
    assert ReaderRegistry().detect(path).name == "gwyddion"


def _grid() -> Grid:
    rng = np.random.default_rng(3)
    bias = np.array([-0.02, -0.01, -0.004, 0.0, 0.003, 0.01, 0.02])  # non-uniform sweep
    cube = rng.normal(size=(5, 4, bias.size)).astype(np.float32)
    z = rng.normal(size=(5, 4)) * 1e-10
    return Grid(
        name="g",
        bias=bias,
        channels={"LockinX": cube, "Current": cube * 2},
        units={"LockinX": "S", "Current": "A"},
        frame=Frame(center=(3 * NM, 4 * NM), size=(8 * NM, 10 * NM), shape=(5, 4)),
        params={"Z": z},
        param_units={"Z": "m"},
        valid=np.ones((5, 4), bool),
    )


def test_round_trip_of_grid_image_and_spectrum_keeps_values_axes_and_coordinates(tmp_path: Path) -> None:
    grid = _grid()
    img = Image(
        name="i",
        channels={"Z": np.arange(12, dtype=np.float32).reshape(3, 4)},
        units={"Z": "m"},
        frame=Frame(center=(-2 * NM, 1 * NM), size=(4 * NM, 3 * NM), shape=(3, 4)),
    )
    spec = Spectrum(
        name="s",
        x=np.linspace(-0.01, 0.01, 9),
        channels={"dIdV": np.linspace(1, 2, 9).astype(np.float32)},
        units={"dIdV": "S"},
        x_name="Bias",
        x_unit="V",
    )
    path = tmp_path / "out.gwy"
    assert write_gwy(path, [grid, img, spec]) == []
    back = gwyddion.read(path)
    images = [d for d in back if isinstance(d, Image)]
    (g2,) = [d for d in back if isinstance(d, Grid)]
    (s2,) = [d for d in back if isinstance(d, Spectrum)]
    np.testing.assert_allclose(g2.bias, grid.bias)
    assert g2.sweep_signal == "Bias" and g2.sweep_unit == "V"
    for name in grid.channels:
        np.testing.assert_allclose(g2.channels[name], grid.channels[name], rtol=1e-6)
        assert g2.units[name] == grid.units[name]
    assert g2.frame.center == pytest.approx(grid.frame.center) and g2.frame.size == pytest.approx(
        grid.frame.size
    )
    # The grid's topography and the image: two frames, so two images.
    z = next(i for i in images if "Z" in i.channels and i.frame.shape == (5, 4))
    np.testing.assert_allclose(z.channels["Z"], grid.params["Z"], rtol=1e-6)
    im2 = next(i for i in images if i.frame.shape == (3, 4))
    np.testing.assert_allclose(im2.channels["Z"], img.channels["Z"])
    assert im2.frame.center == pytest.approx(img.frame.center)
    np.testing.assert_allclose(s2.x, spec.x)
    np.testing.assert_allclose(s2.channels["dIdV"], spec.channels["dIdV"], rtol=1e-6)
    assert s2.x_unit == "V" and s2.units["dIdV"] == "S"


def test_written_file_opens_in_the_independent_reader_top_line_first(tmp_path: Path) -> None:
    import gwyfile

    img = Image(
        name="i",
        channels={"Z": np.arange(6, dtype=np.float32).reshape(2, 3)},
        units={"Z": "m"},
        frame=Frame(center=(0.0, 0.0), size=(3 * NM, 2 * NM), shape=(2, 3)),
    )
    path = tmp_path / "w.gwy"
    write_gwy(path, [img])
    obj = gwyfile.load(str(path))
    field = gwyfile.util.get_datafields(obj)["Z"]
    np.testing.assert_allclose(field.data, img.channels["Z"][::-1])
    assert field.xreal == pytest.approx(3 * NM)


def test_rotated_frames_are_refused_unless_allowed(tmp_path: Path) -> None:
    img = Image(name="r", channels={"Z": np.zeros((2, 2), np.float32)}, frame=Frame(angle=30.0, shape=(2, 2)))
    with pytest.raises(WorkbenchError, match="rotated by 30"):
        write_gwy(tmp_path / "r.gwy", [img])
    notes = write_gwy(tmp_path / "r.gwy", [img], allow_rotation=True)
    assert notes and "rotation" in notes[0]


def _field(xres: int, yres: int, n: int) -> GwyObject:
    return GwyObject(
        "GwyDataField", {"xres": xres, "yres": yres, "xreal": 1e-9, "yreal": 1e-9, "data": np.zeros(n)}
    )


def test_data_that_contradict_their_header_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.gwy"
    path.write_bytes(dumps(GwyObject("GwyContainer", {"/0/data": _field(4, 4, 15)})))
    with pytest.raises(ReadError, match="15 values, its header says 4 x 4"):
        gwyddion.read(path)


def test_old_gwyo_files_and_empty_containers_get_a_clear_message(tmp_path: Path) -> None:
    old = tmp_path / "old.gwy"
    old.write_bytes(b"GWYO" + b"\x00" * 32)
    with pytest.raises(ReadError, match="Gwyddion 1.x"):
        gwyddion.read(old)
    empty = tmp_path / "empty.gwy"
    empty.write_bytes(dumps(GwyObject("GwyContainer", {"/meta": "x"})))
    with pytest.raises(ReadError, match="no data field"):
        gwyddion.read(empty)


def test_serialisation_matches_the_documented_layout() -> None:
    """Bytes built by hand from the format description parse to the expected objects."""
    body = (
        b"xres\x00i"
        + struct.pack("<i", 2)
        + b"data\x00D"
        + struct.pack("<I", 2)
        + struct.pack("<2d", 1.5, -2.0)
    )
    raw = b"GWYP" + b"GwyDataField\x00" + struct.pack("<I", len(body)) + body
    obj = parse(raw)
    assert obj.type_name == "GwyDataField" and obj.items["xres"] == 2
    np.testing.assert_array_equal(obj.items["data"], [1.5, -2.0])
    assert dumps(obj) == raw


SEED = dumps(
    GwyObject(
        "GwyContainer",
        {"/0/data": _field(3, 2, 6), "/0/data/title": "Z", "/1/data": _field(3, 2, 6)},
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(0, len(SEED)),
    flips=st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 7)), max_size=4),
)
def test_damaged_files_raise_only_read_error(tmp_path_factory, cut: int, flips) -> None:
    buf = bytearray(SEED)
    for pos, bit in flips:
        buf[pos] ^= 1 << bit
    path = tmp_path_factory.mktemp("fz") / "f.gwy"
    path.write_bytes(bytes(buf[:cut] if cut < len(buf) else buf))
    try:
        out = gwyddion.read(path)
    except ReadError:
        return
    assert out


@pytest.mark.parametrize(
    "relpath", ["nanonis/NanonisReader_STS_grid_lockin.3ds", "nanonis/FeSe_topography.sxm"]
)
def test_real_files_survive_the_trip_through_gwyddion(tmp_path: Path, relpath: str) -> None:
    from analysis.io import read_file
    from tests.conftest import shared_file

    (ds,) = read_file(shared_file(relpath))
    path = tmp_path / "real.gwy"
    write_gwy(path, [ds], allow_rotation=True)
    back = gwyddion.read(path)
    same = next(d for d in back if d.kind == ds.kind)
    for name, arr in ds.channels.items():
        np.testing.assert_allclose(
            np.asarray(same.channels[name]), np.asarray(arr), rtol=1e-6, equal_nan=True
        )
        assert same.units[name] == ds.units[name]
    assert same.frame.size == pytest.approx(ds.frame.size)
    assert same.frame.center == pytest.approx(ds.frame.center)
    if isinstance(ds, Grid):
        np.testing.assert_allclose(same.bias, ds.bias)
