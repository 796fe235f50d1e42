"""Nanonis grid (.3ds) reader: the real instrument file and synthetic variants written by the project."""

from __future__ import annotations

import re
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Frame
from analysis.errors import ReadError
from analysis.io import nanonis_grid
from analysis.io.nanonis_grid import READER, read_grid, sniff
from analysis.io.nanonis_write import grid_positions, write_3ds
from analysis.io.registry import read_file
from tests.conftest import shared_file

REAL = "nanonis/NanonisReader_STS_grid_lockin.3ds"
FRAME = Frame(center=(1e-7, 2e-7), size=(4e-9, 5e-9), angle=30.0, shape=(5, 4))


def _cube(rng: np.random.Generator, nb: int = 7) -> np.ndarray:
    return rng.standard_normal((5, 4, nb)).astype(np.float32)


def _raw_f4(path: Path, offset: int) -> float:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return struct.unpack(">f", fh.read(4))[0]


# ---------------------------------------------------------------- real instrument file


@pytest.mark.realdata
def test_real_grid_matches_header_promises() -> None:
    path = shared_file(REAL)
    g = read_grid(path)
    assert g.shape == (30, 30, 200)
    assert list(g.channels) == ["Current", "LockinX", "LockinY", "Bias_m"]
    assert g.units == {"Current": "A", "LockinX": "V", "LockinY": "V", "Bias_m": "V"}
    assert (g.sweep_signal, g.sweep_unit, g.sweep_reversed) == ("Bias", "V", False)
    assert g.bias[0] == pytest.approx(-0.22, abs=1e-7) and g.bias[-1] == pytest.approx(0.22, abs=1e-7)
    assert np.all(np.diff(g.bias) > 0)
    # Grid settings=8.451877E-8;6.329924E-7;5E-9;5E-9;45 (Nanonis angle clockwise -> -45 in the model)
    assert g.frame.center == pytest.approx((8.451877e-8, 6.329924e-7))
    assert g.frame.size == pytest.approx((5e-9, 5e-9))
    assert g.frame.angle == pytest.approx(-45.0)
    assert g.frame.shape == (30, 30)
    assert g.valid.all() and g.warnings == []
    # Old header: no Filetype, no Delay before measuring; everything else is in metadata, unquoted.
    assert "Filetype" not in g.metadata and "Delay before measuring (s)" not in g.metadata
    assert g.metadata["Grid dim"] == "30 x 30" and g.metadata["Points"] == 200
    assert g.metadata["Experiment size (bytes)"] == 3200
    assert g.param_units["Z"] == "m" and g.param_units["Sweep Start"] == "V"
    assert set(g.params) >= {"Sweep Start", "Sweep End", "X", "Y", "Z", "Final Z", "Z-Ctrl hold"}
    for cube in g.channels.values():
        assert cube.dtype == np.float32 and cube.flags.c_contiguous and cube.shape == (30, 30, 200)
    assert g.source.reader == "nanonis_grid"


@pytest.mark.realdata
def test_real_grid_values_match_raw_bytes() -> None:
    path = shared_file(REAL)
    g = read_grid(path)
    offset, npar, pts = 480, 10, 200  # header is 480 bytes including ':HEADER_END:\r\n'
    assert path.read_bytes()[offset - 14 : offset] == b":HEADER_END:\r\n"
    rec = npar + 4 * pts
    for line, col, ch, j in [(0, 0, 0, 0), (0, 29, 1, 57), (17, 3, 2, 199), (29, 29, 3, 100)]:
        raw = _raw_f4(path, offset + 4 * ((line * 30 + col) * rec + npar + ch * pts + j))
        name = list(g.channels)[ch]
        # The file's first line is the lowest one (X/Y say so): file line = row.
        assert g.channels[name][line, col, j] == np.float32(raw)
    z = _raw_f4(path, offset + 4 * ((12 * 30 + 5) * rec + 4))  # Z (m) is parameter 4
    assert g.topography is not None and g.topography[12, 5] == pytest.approx(z, rel=1e-7)
    assert g.topography[12, 5] == pytest.approx(-1.64e-7, rel=0.01)


@pytest.mark.realdata
def test_real_grid_pixel_positions_agree_with_frame() -> None:
    g = read_grid(shared_file(REAL))
    assert g.metadata["Reader>Orientation"].startswith("first line at the bottom")
    iy, ix = np.mgrid[0:30, 0:30]
    fx, fy = g.frame.xy_to_pixel(g.params["X"], g.params["Y"])
    # Nanonis puts the points half a pixel from where the model's pixel centres are, never more.
    assert np.max(np.abs(fx - ix)) < 0.75 and np.max(np.abs(fy - iy)) < 0.75


@pytest.mark.realdata
def test_real_grid_through_the_registry() -> None:
    path = shared_file(REAL)
    assert sniff(path.read_bytes()[:4096], path)
    (g,) = read_file(path)
    assert g.source.reader == "nanonis_grid" and g.kind == "grid"


# ---------------------------------------------------------------- synthetic files


@pytest.mark.parametrize("first_line", ["bottom", "top"])
@pytest.mark.parametrize("sweep", [(-0.01, 0.01), (0.02, -0.02)])
def test_orientation_and_sweep_direction(tmp_path: Path, rng, first_line: str, sweep) -> None:
    cur = _cube(rng)
    path = tmp_path / "g.3ds"
    write_3ds(
        path,
        {"Current (A)": cur, "Current [bwd] (A)": 2 * cur},
        sweep=sweep,
        frame=FRAME,
        first_line=first_line,
    )
    g = read_grid(path)
    ascending = sweep[0] < sweep[1]
    expect = cur if ascending else cur[:, :, ::-1]
    np.testing.assert_array_equal(g.channels["Current"], expect)
    np.testing.assert_array_equal(g.channels["Current [bwd]"], 2 * expect)
    assert g.sweep_reversed is (not ascending)
    assert g.bias[0] == pytest.approx(min(sweep)) and g.bias[-1] == pytest.approx(max(sweep))
    assert g.frame.angle == pytest.approx(30.0) and g.frame.shape == (5, 4)
    x, y = grid_positions(FRAME)
    np.testing.assert_allclose(g.params["X"], x, rtol=1e-6)
    np.testing.assert_allclose(g.params["Y"], y, rtol=1e-6)
    assert g.units["Current [bwd]"] == "A" and g.warnings == []


def test_top_first_file_is_flipped_by_raw_bytes(tmp_path: Path, rng) -> None:
    cur = _cube(rng)
    path = tmp_path / "top.3ds"
    offset = write_3ds(path, {"Current (A)": cur}, frame=FRAME, first_line="top")
    g = read_grid(path)
    rec = 5 + 7  # Sweep Start, Sweep End, X, Y, Z + 7 points
    # The first record in the file is the top-left pixel: row ny-1, column 0.
    assert g.channels["Current"][4, 0, 3] == np.float32(_raw_f4(path, offset + 4 * (5 + 3)))
    assert g.channels["Current"][0, 2, 6] == np.float32(
        _raw_f4(path, offset + 4 * ((4 * 4 + 2) * rec + 5 + 6))
    )
    assert "top" in g.metadata["Reader>Orientation"]


def test_aborted_grid_loads_what_was_measured(tmp_path: Path, rng) -> None:
    cur = _cube(rng)
    path = tmp_path / "aborted.3ds"
    write_3ds(path, {"Current (A)": cur}, frame=FRAME, measured=7, partial_bytes=10)
    g = read_grid(path)
    assert g.valid.sum() == 7
    assert g.valid[0].all() and g.valid[1, :3].all() and not g.valid[1, 3] and not g.valid[2:].any()
    np.testing.assert_array_equal(g.channels["Current"][g.valid], cur[g.valid])
    assert np.isnan(g.channels["Current"][~g.valid]).all()
    assert np.isnan(g.params["Z"][~g.valid]).all()
    assert len(g.warnings) == 1 and "7 of 20 pixels" in g.warnings[0] and "partly written" in g.warnings[0]
    assert g.valid_fraction() == pytest.approx(7 / 20)


@pytest.mark.parametrize("fill", ["zeros", "nan"])
def test_preallocated_records_count_as_unmeasured(tmp_path: Path, rng, fill: str) -> None:
    cur = _cube(rng)
    path = tmp_path / "prefilled.3ds"
    write_3ds(path, {"Current (A)": cur}, frame=FRAME, measured=11, unmeasured=fill)
    g = read_grid(path)
    assert g.valid.sum() == 11 and not g.valid.ravel()[11:].any()
    assert np.isnan(g.channels["Current"][~g.valid]).all()
    assert "11 of 20 pixels" in g.warnings[0] and "file has" not in g.warnings[0]


def test_real_pixels_with_zero_data_stay_valid(tmp_path: Path) -> None:
    # Zero current everywhere and a pixel sitting at X=Y=Z=0 are real measurements, not blanks.
    frame = Frame(center=(0.0, 0.0), size=(3e-9, 3e-9), shape=(3, 3))
    path = tmp_path / "zeros.3ds"
    x, y = grid_positions(frame)
    x[1, 1] = y[1, 1] = 0.0
    write_3ds(
        path, {"Current (A)": np.zeros((3, 3, 5), np.float32)}, frame=frame, params={"X (m)": x, "Y (m)": y}
    )
    g = read_grid(path)
    assert g.params["X"][1, 1] == 0 and g.params["Y"][1, 1] == 0 and g.params["Z"][1, 1] == 0
    assert g.valid.all() and g.warnings == []


def test_z_spectroscopy_grid_keeps_sweep_signal(tmp_path: Path, rng) -> None:
    path = tmp_path / "z.3ds"
    write_3ds(path, {"Current (A)": _cube(rng)}, sweep=(0.0, -3e-10), sweep_signal="Z (m)", frame=FRAME)
    g = read_grid(path)
    assert (g.sweep_signal, g.sweep_unit) == ("Z", "m")
    assert g.bias[0] == pytest.approx(-3e-10) and g.bias[-1] == pytest.approx(0.0)
    assert g.sweep_reversed and g.param_units["Sweep Start"] == "m"


def test_multi_segment_sweep_builds_true_axis(tmp_path: Path, rng) -> None:
    # 0.3 -> 0 in 3 steps, 0 -> -0.5 in 3 steps, sharing the 0 V point: 5 points, not linear.
    cur = _cube(rng, nb=5)
    path = tmp_path / "mls.3ds"
    segments = [(0.3, 0.0, 0.01, 0.1, 3), (0.0, -0.5, 0.01, 0.1, 3)]
    write_3ds(path, {"Current (A)": cur}, frame=FRAME, segments=segments)
    g = read_grid(path)
    assert g.metadata["Filetype"] == "MLS"
    np.testing.assert_allclose(g.bias, [-0.5, -0.25, 0.0, 0.15, 0.3], atol=1e-7)
    assert g.sweep_reversed
    np.testing.assert_array_equal(g.channels["Current"], cur[:, :, ::-1])


def test_non_monotonic_segments_are_sorted_with_a_warning(tmp_path: Path, rng) -> None:
    cur = _cube(rng, nb=5)
    path = tmp_path / "mls2.3ds"
    write_3ds(path, {"Current (A)": cur}, frame=FRAME, segments=[(0.0, 0.2, 0, 0, 3), (0.2, 0.05, 0, 0, 3)])
    g = read_grid(path)
    recorded = np.array([0.0, 0.1, 0.2, 0.125, 0.05])
    order = np.argsort(recorded, kind="stable")
    np.testing.assert_allclose(g.bias, recorded[order], atol=1e-7)
    np.testing.assert_array_equal(g.channels["Current"], cur[:, :, order])
    assert any("not monotonic" in w for w in g.warnings)
    assert g.metadata["Reader>Sweep order"] == ";".join(map(str, order))


def test_old_header_without_optional_keys(tmp_path: Path, rng) -> None:
    cur = _cube(rng)
    path = tmp_path / "old.3ds"
    write_3ds(path, {"Current (A)": cur}, frame=FRAME, filetype=None, delay=None)
    text = path.read_bytes()[:2000]
    assert b"Filetype" not in text and b"Delay before" not in text
    g = read_grid(path)
    np.testing.assert_array_equal(g.channels["Current"], cur)


def test_pixels_with_other_sweep_ranges_warn(tmp_path: Path, rng) -> None:
    sweep = np.broadcast_to(np.array([-0.01, 0.01]), (5, 4, 2)).copy()
    sweep[3, 2] = (-0.02, 0.02)
    path = tmp_path / "mixed.3ds"
    write_3ds(path, {"Current (A)": _cube(rng)}, sweep=sweep, frame=FRAME)
    g = read_grid(path)
    assert g.bias[0] == pytest.approx(-0.01)
    assert any("1 pixels record a different sweep range" in w for w in g.warnings)


def test_positions_far_from_frame_warn(tmp_path: Path, rng) -> None:
    x, y = grid_positions(FRAME)
    path = tmp_path / "shifted.3ds"
    write_3ds(path, {"Current (A)": _cube(rng)}, frame=FRAME, params={"X (m)": x + 2e-8, "Y (m)": y})
    g = read_grid(path)
    assert any("X/Y positions lie" in w for w in g.warnings)


def test_progress_and_cancel(tmp_path: Path, rng, monkeypatch) -> None:
    monkeypatch.setattr(nanonis_grid, "CHUNK_BYTES", 64)  # one pixel per chunk
    path = tmp_path / "p.3ds"
    write_3ds(path, {"Current (A)": _cube(rng)}, frame=FRAME)
    seen: list[tuple[int, int]] = []
    read_grid(path, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (20, 20) and len(seen) == 20
    stop = threading.Event()
    stop.set()
    with pytest.raises(ReadError, match="cancelled"):
        read_grid(path, cancel=stop)


def test_chunked_threaded_read_equals_single_pass(tmp_path: Path, rng, monkeypatch) -> None:
    frame = Frame(size=(8e-9, 6e-9), shape=(24, 32))
    cube = rng.standard_normal((24, 32, 33)).astype(np.float32)
    path = tmp_path / "big.3ds"
    write_3ds(path, {"Current (A)": cube, "LI (A)": -cube}, frame=frame, sweep=(1.0, -1.0))
    monkeypatch.setattr(nanonis_grid, "CHUNK_BYTES", 1000)
    g = read_grid(path)
    np.testing.assert_array_equal(g.channels["Current"], cube[:, :, ::-1])
    np.testing.assert_array_equal(g.channels["LI"], -cube[:, :, ::-1])


# ---------------------------------------------------------------- bad input


def _header_file(tmp_path: Path, text: str, data: bytes = b"") -> Path:
    p = tmp_path / "bad.3ds"
    p.write_bytes(text.replace("\n", "\r\n").encode() + b":HEADER_END:\r\n" + data)
    return p


GOOD = (
    'Grid dim="2 x 2"\nGrid settings=0;0;1E-9;1E-9;0\nSweep Signal="Bias (V)"\n'
    'Fixed parameters="Sweep Start;Sweep End"\nExperiment parameters=""\n# Parameters (4 byte)=2\n'
    'Experiment size (bytes)=12\nPoints=3\nChannels="Current (A)"\n'
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace('Grid dim="2 x 2"\n', ""), "no 'Grid dim'"),
        (GOOD.replace('Grid dim="2 x 2"', 'Grid dim="2 by 2"'), "should be 'nx x ny'"),
        (GOOD.replace("Points=3", "Points=4"), "'Experiment size (bytes)'=12"),
        (GOOD.replace('Channels="Current (A)"\n', ""), "no 'Channels'"),
        (GOOD.replace('Grid dim="2 x 2"', 'Grid dim="60000 x 60000"'), "more than"),
        (GOOD.replace("Points=3", "Points=three"), "'Points' should be an integer"),
    ],
    ids=["no-dim", "bad-dim", "inconsistent-size", "no-channels", "too-large", "bad-points"],
)
def test_bad_headers_give_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = _header_file(tmp_path, text, b"\x00" * 80)
    with pytest.raises(ReadError, match=re.escape(message)) as info:
        read_grid(path)
    assert str(path) in str(info.value)


def test_missing_header_end_and_empty_data(tmp_path: Path) -> None:
    p = tmp_path / "nohead.3ds"
    p.write_bytes(GOOD.encode() + b"\x00" * 100)
    with pytest.raises(ReadError, match="':HEADER_END:'") as info:
        read_grid(p)
    assert info.value.offset is not None
    with pytest.raises(ReadError, match="no complete pixel record"):
        read_grid(_header_file(tmp_path, GOOD, b"\x00" * 10))
    with pytest.raises(ReadError, match="no measured pixel"):
        read_grid(_header_file(tmp_path, GOOD, b"\x00" * 80))


def test_corrupt_size_refused_before_allocating(tmp_path: Path) -> None:
    # 4000 x 4000 pixels of 1 MB each declared, a few bytes present: refused, not allocated.
    text = GOOD.replace('"2 x 2"', '"4000 x 4000"').replace("Points=3", "Points=250000")
    text = text.replace("Experiment size (bytes)=12", "Experiment size (bytes)=1000000")
    with pytest.raises(ReadError, match="more than|too little"):
        read_grid(_header_file(tmp_path, text, b"\x00" * 100))


def test_sniffing_is_by_content() -> None:
    assert sniff(b'Grid dim="64 x 64"\r\nGrid settings=...', None)
    assert not sniff(b":NANONIS_VERSION:\n2\n:SCANIT_TYPE:", None)
    assert not sniff(b"Experiment\tbias spectroscopy\t\n", None)
    assert READER.name == "nanonis_grid" and ".3ds" in READER.extensions


def test_multiline_settings_of_a_linear_sweep_are_ignored(tmp_path: Path, rng) -> None:
    # Nanonis copies the module's MultiLine Settings into linear headers; they must not set the axis.
    cur = _cube(rng, nb=5)
    path = tmp_path / "linear.3ds"
    stale = "Bias Spectroscopy>MultiLine Settings : Segment Start (V), Segment End (V), Settling (s), "
    stale += "Integration (s), Steps (xn)"
    write_3ds(
        path, {"Current (A)": cur}, frame=FRAME, sweep=(-0.1, 0.1), extra_header=[(stale, "-1,1,0,0,5")]
    )
    g = read_grid(path)
    np.testing.assert_allclose(g.bias, np.linspace(-0.1, 0.1, 5), atol=1e-7)
    assert g.warnings == []


def test_lines_recorded_right_to_left_are_mirrored(tmp_path: Path, rng) -> None:
    cur = _cube(rng)
    x, y = grid_positions(FRAME)
    path = tmp_path / "rtl.3ds"
    # The instrument says the first pixel of every line sits at the right edge.
    write_3ds(path, {"Current (A)": cur}, frame=FRAME, params={"X (m)": x[:, ::-1], "Y (m)": y[:, ::-1]})
    g = read_grid(path)
    np.testing.assert_array_equal(g.channels["Current"], cur[:, ::-1])
    np.testing.assert_allclose(g.params["X"], x, rtol=1e-6)
    assert "right to left" in g.metadata["Reader>Orientation"] and g.warnings == []


def test_without_positions_or_sweep_signal(tmp_path: Path, rng) -> None:
    cur = _cube(rng)
    path = tmp_path / "bare.3ds"
    write_3ds(path, {"Current (A)": cur}, frame=FRAME, experiment_params=("Z (m)",))
    raw = path.read_bytes().replace(b'Sweep Signal="Bias (V)"\r\n', b"")
    path.write_bytes(raw)
    g = read_grid(path)
    np.testing.assert_array_equal(g.channels["Current"], cur)  # kept as recorded
    assert g.metadata["Reader>Orientation"].startswith("as recorded")
    assert (g.sweep_signal, g.sweep_unit) == ("Sweep", "")
    assert any("no 'Sweep Signal'" in w for w in g.warnings)
