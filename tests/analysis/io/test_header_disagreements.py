"""Files that disagree with their own header load with a warning that says how, or are refused
(issue 16, items 2-5 and 12): overflowing numbers, truncations, edited sizes, non-finite scales, data beyond
the declared channels, headers that declare far more than the file holds, and a .3ds read in place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Frame
from analysis.errors import ReadError
from analysis.io import createc_image, createc_vert, nanonis_grid, nanonis_spectrum
from analysis.io.nanonis_write import write_3ds, write_dat
from analysis.store import ProjectEntry, open_project, save_project
from tests.analysis.io.test_createc_image import write_image
from tests.analysis.io.test_createc_vert import write_vert
from tests.benchmarks.bench_io_nanonis import _PEAK as PEAK
from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parents[3]


def _replace(path: Path, old: bytes, new: bytes) -> Path:
    raw = path.read_bytes()
    assert raw.count(old) == 1, old
    path.write_bytes(raw.replace(old, new))
    return path


def _edit_createc_header(raw: bytes, old: bytes, new: bytes) -> bytes:
    """``raw`` with ``old`` replaced in the fixed 16384-byte Createc header (its NUL padding absorbs the
    change of length, so the data stay where they were)."""
    head = raw[:16384]
    assert head.count(old) == 1, old
    head = head.replace(old, new)
    return head[:16384].ljust(16384, b"\x00") + raw[16384:]


def _edit_image(path: Path, old: bytes, new: bytes) -> Path:
    path.write_bytes(_edit_createc_header(path.read_bytes(), old, new))
    return path


# ----------------------------------------------------------------------------------------------------------
# 2. Createc .VERT: 1e999 on the parameter line


@pytest.mark.parametrize("field", ["npoints", "code"])
def test_an_overflowing_number_on_the_vert_parameter_line_is_a_read_error(tmp_path, field):
    p = write_vert(tmp_path / "a.VERT", np.linspace(-10, 10, 16))
    old = b"    16      32      96                1\r\n"
    new = (
        b"    1e999      32      96                1\r\n"
        if field == "npoints"
        else old.replace(b"  1\r", b"1e999\r")
    )
    _replace(p, old, new)
    with pytest.raises(ReadError, match=r"parameter line after DATA: .* '1e999' is not a whole number"):
        createc_vert.read(p)


@pytest.mark.realdata
def test_the_real_vert_file_with_1e999_in_its_parameter_line(tmp_path):
    raw = shared_file("createc/A190824.135614.VERT").read_bytes()
    p = tmp_path / "r.VERT"
    p.write_bytes(raw.replace(b"    1024      32      96", b"    1e999      32      96"))
    with pytest.raises(ReadError, match="the point count '1e999' is not a whole number"):
        createc_vert.read(p)
    p.write_bytes(raw.replace(b"    1024      32      96", b"    1024      1e999      96"))
    (s,) = createc_vert.read(p)
    assert "the position on the parameter line (1e999, 96) is not finite" in s.warnings


# ----------------------------------------------------------------------------------------------------------
# 4. Silent truncation and edited sizes


def _dat(tmp_path: Path, n: int = 201, declared: int | None = None) -> Path:
    p = tmp_path / "s.dat"
    x = np.linspace(-8e-3, 8e-3, n)
    header = [("Bias Spectroscopy>Num Pixel", str(declared if declared is not None else n))]
    write_dat(p, {"Bias calc (V)": x, "Current (A)": x * 1e-9, "Current [bwd] (A)": x * 1e-9}, header)
    return p


def test_a_nanonis_spectrum_with_fewer_rows_than_num_pixel_warns(tmp_path):
    (s,) = nanonis_spectrum.read(_dat(tmp_path, n=100, declared=201))
    assert "the header declares 201 sweep points (Num Pixel), the table holds 100 rows" in s.warnings
    (ok,) = nanonis_spectrum.read(_dat(tmp_path, n=100, declared=100))
    assert ok.warnings == []


def test_a_nanonis_spectrum_cut_inside_its_last_number_warns(tmp_path):
    p = _dat(tmp_path, n=50)
    raw = p.read_bytes()
    p.write_bytes(raw[:-2])  # the newline and the last digit of the last value (8.000000E-1 from E-12)
    (s,) = nanonis_spectrum.read(p)
    assert len(s) == 50
    assert "the file ends inside its last data row (no line end): its last value may be cut" in s.warnings
    cut = raw.rstrip(b"\n")
    p.write_bytes(cut[: cut.rindex(b"\t") - 3])  # two values missing from the last row
    (s,) = nanonis_spectrum.read(p)
    assert len(s) == 49
    assert "the file ends inside its last data row, which is incomplete and left out" in s.warnings
    assert "the header declares 50 sweep points (Num Pixel), the table holds 49 rows" in s.warnings


@pytest.mark.realdata
def test_the_real_spectrum_with_num_pixel_201_and_100_rows_warns(tmp_path):
    raw = shared_file("nanonis/i_v.dat").read_bytes()
    lines = raw.split(b"\n")
    start = next(i for i, ln in enumerate(lines) if ln.strip() == b"[DATA]") + 2
    p = tmp_path / "i_v.dat"
    p.write_bytes(b"\n".join(lines[: start + 100]) + b"\n")
    (s,) = nanonis_spectrum.read(p)
    assert len(s) == 100
    assert "the header declares 201 sweep points (Num Pixel), the table holds 100 rows" in s.warnings


def test_a_vert_cut_inside_its_last_number_warns(tmp_path):
    p = write_vert(tmp_path / "a.VERT", np.linspace(-10, 10, 16))
    raw = p.read_bytes()
    p.write_bytes(raw[:-4])  # "\t\r\n" and the last digit of the last value (2.00000E+0 from E+02)
    (s,) = createc_vert.read(p)
    assert len(s) == 16
    assert "the file ends inside its last data row (no line end): its last value may be cut" in s.warnings
    p.write_bytes(raw[: raw.rstrip().rindex(b"\t")])  # the last value gone entirely
    (s,) = createc_vert.read(p)
    assert len(s) == 15
    assert "the file ends inside its last data row, which is incomplete and left out" in s.warnings
    assert "the parameter line promises 16 points, the file holds 15" in s.warnings


def _image(tmp_path: Path, version: str = "Paramet32") -> Path:
    stack = np.random.default_rng(0).integers(-3000, 3000, size=(4, 6, 8)).astype(np.float32)
    return write_image(tmp_path / "c.dat", stack, version=version)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"Num.X=8", b"Num.X=1.5", "header entry Num.X=1.5 is not a whole number"),
        (b"Channels=4", b"Channels=NaN", "header entry Channels=NaN is not a whole number"),
        (b"Channels=4", b"Channels=9223372036854775808", "Channels=9223372036854775808 is outside 1..64"),
        (b"Num.Y=6", b"Num.Y=1e999", "header entry Num.Y=1e999 is not a whole number"),
    ],
)
def test_createc_image_sizes_that_are_not_whole_numbers_are_refused(tmp_path, old, new, message):
    p = _edit_image(_image(tmp_path), b"/ " + old, b"/ " + new)
    with pytest.raises(ReadError, match=message.replace(".", r"\.")):
        createc_image.read(p)


@pytest.mark.parametrize("version", ["Paramet32", "Parameter", "Paramco32"])
def test_data_beyond_the_declared_channels_is_reported(tmp_path, version):
    p = _image(tmp_path, version)
    (img,) = createc_image.read(p)
    assert img.warnings == []
    _edit_image(p, b"/ Num.Y=6", b"/ Num.Y=3")  # Num.Y halved: half of every channel is unaccounted for
    (img,) = createc_image.read(p)
    assert img.frame.shape == (3, 8)
    said = [w for w in img.warnings if "ignored" in w]
    assert said, img.warnings
    _edit_image(p, b"/ Num.Y=3", b"/ Num.Y=6")
    _edit_image(p, b"/ Channels=4", b"/ Channels=3")  # one channel more than declared
    (img,) = createc_image.read(p)
    assert any("ignored" in w for w in img.warnings)


def test_a_compressed_image_cut_short_warns(tmp_path):
    p = _image(tmp_path, "Paramco32")
    raw = p.read_bytes()
    p.write_bytes(raw[:-6])  # inside the zero padding and the checksum: every channel still whole
    (img,) = createc_image.read(p)
    assert len(img.channels) == 4
    assert any("stop before the end of their stream" in w and "cut short" in w for w in img.warnings)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ((b"GainY / GainY=10", b"GainY / GainY=1e999"), "header entry GainY=1e999 is not a finite number"),
        ((b"Scanrotoffx / OffsetX=1000.0", b"Scanrotoffx / OffsetX=nan"), "Scanrotoffx=nan is not a finite"),
        ((b"GainZ / GainZ=3", b"GainZ / GainZ=1e999"), "header entry GainZ=1e999 is not a finite number"),
    ],
)
def test_non_finite_header_scales_never_give_a_non_finite_frame_silently(tmp_path, edit, message):
    p = _edit_image(_image(tmp_path), *edit)
    (img,) = createc_image.read(p)
    f = img.frame
    assert all(np.isfinite([*f.center, *f.size, f.angle])) and min(f.size) > 0
    assert all(np.all(np.isfinite(c)) for c in img.channels.values())
    assert any(message in w for w in img.warnings), img.warnings


@pytest.mark.realdata
def test_the_real_createc_image_with_edited_header_values(tmp_path):
    raw = shared_file("createc/A200621.161352.dat").read_bytes()
    p = tmp_path / "r.dat"
    for old, new, expect in [
        (b"Num.Y / Num.Y=256", b"Num.Y / Num.Y=128", "the compressed data hold more than"),
        (b"GainY / GainY=10", b"GainY / GainY=1e999", "GainY=1e999 is not a finite number"),
        (b"Scanrotoffx / OffsetX=-89845.6", b"Scanrotoffx / OffsetX=nan   ", "Scanrotoffx=nan"),
    ]:
        p.write_bytes(_edit_createc_header(raw, old, new))
        (img,) = createc_image.read(p)
        assert any(expect in w for w in img.warnings), (new, img.warnings)
        assert all(np.isfinite([*img.frame.center, *img.frame.size]))
    for old, new in [
        (b"Num.X / Num.X=256", b"Num.X / Num.X=1.5"),
        (b"Channels / Channels=4", b"Channels / Channels=NaN"),
    ]:
        p.write_bytes(_edit_createc_header(raw, old, new))
        with pytest.raises(ReadError, match="is not a whole number"):
            createc_image.read(p)


# ----------------------------------------------------------------------------------------------------------
# 3. A .3ds with a NUL byte in its header opens, and then saves into a project


def _grid_file(
    tmp_path: Path, ny: int = 6, nx: int = 5, nb: int = 16, labels=("Current (A)",)
) -> tuple[Path, int]:
    rng = np.random.default_rng(2)
    cube = rng.standard_normal((ny, nx, nb)).astype(np.float32)
    frame = Frame(center=(1e-8, 2e-8), size=(nx * 1e-9, ny * 1e-9), angle=30.0, shape=(ny, nx))
    p = tmp_path / "g.3ds"
    offset = write_3ds(p, {lab: cube for lab in labels}, frame=frame)
    return p, offset


def test_a_grid_with_a_nul_in_its_header_opens_and_saves(tmp_path):
    p, _ = _grid_file(tmp_path, labels=("Current (A)", "LI Demod 1 X (A)"))
    _replace(p, b"LI Demod 1 X (A)", b"LI De\x00mod 1 X (A)")
    g = nanonis_grid.read_grid(p)
    assert "LI De\x00mod 1 X" in g.channels
    out = save_project(tmp_path / "p.h5", [ProjectEntry("g", "g", g)])
    with open_project(out) as proj:
        assert list(proj.entries[0].dataset.channels) == list(g.channels)


# ----------------------------------------------------------------------------------------------------------
# 5. A header declaring far more than the file holds allocates no more than the file justifies


def test_a_grid_header_declaring_far_more_lines_loads_only_the_lines_present(tmp_path):
    p, offset = _grid_file(tmp_path, ny=30, nx=30, nb=200)
    before = nanonis_grid.read_grid(p)
    _replace(p, b'Grid dim="30 x 30"', b'Grid dim="30 x 41000"')
    g = nanonis_grid.read_grid(p)
    assert g.shape == (30, 30, 200) and g.valid.all()
    np.testing.assert_array_equal(g.channels["Current"], before.channels["Current"])
    # the frame: the strip of the declared one that the 30 lines present cover
    assert g.frame.shape == (30, 30) and g.frame.size[0] == pytest.approx(30e-9)
    assert g.frame.size[1] == pytest.approx(30 * 30e-9 / 41000)
    assert np.all(np.isfinite(g.frame.center))
    assert any("only the 30 lines in the file are loaded" in w for w in g.warnings), g.warnings


def test_a_grid_header_declaring_huge_lines_is_refused(tmp_path):
    p, _ = _grid_file(tmp_path, ny=30, nx=30, nb=200)
    _replace(p, b'Grid dim="30 x 30"', b'Grid dim="41000 x 30"')
    with pytest.raises(ReadError, match="not even its first line fits what the file can justify"):
        nanonis_grid.read_grid(p)


def test_an_aborted_grid_still_loads_in_full_with_nan(tmp_path):
    p, offset = _grid_file(tmp_path, ny=40, nx=20, nb=64)
    raw = p.read_bytes()
    record = (len(raw) - offset) // 800
    p.write_bytes(raw[: offset + 300 * record])  # aborted after 15 of 40 lines
    g = nanonis_grid.read_grid(p)
    assert g.shape == (40, 20, 64) and int(g.valid.sum()) == 300
    assert any("grid incomplete: 300 of 800 pixels measured" in w for w in g.warnings)


@pytest.mark.realdata
def test_the_real_grid_declaring_30_x_41000_takes_little_memory(tmp_path):
    raw = shared_file("nanonis/NanonisReader_STS_grid_lockin.3ds").read_bytes()
    p = tmp_path / "g.3ds"
    p.write_bytes(raw.replace(b'Grid dim="30 x 30"', b'Grid dim="30 x 41000"'))
    code = (
        "import json, resource, sys\n"
        "from analysis.io.nanonis_grid import read_grid\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "g = read_grid(sys.argv[1])\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'shape': g.shape, 'grew_kb': peak - base, 'warnings': g.warnings}))\n"
    )
    out = _run(code, p)
    assert out["shape"] == [30, 30, 200]
    assert out["grew_kb"] < 64 * 1024  # it took 4.1 GB
    assert any("only the 30 lines in the file are loaded" in w for w in out["warnings"])


# ----------------------------------------------------------------------------------------------------------
# 12. A .3ds is read in place: the peak stays near the size of the data


def _run(code: str, *args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="the peak is read from /proc/self (Linux)")
def test_reading_a_grid_peaks_below_1_3_times_its_data(tmp_path):
    n, nb = 128, 1024  # 64 MB of data
    bias = np.linspace(-0.015, 0.015, nb, dtype=np.float32)
    cube = np.broadcast_to((1.0 + 0.5 * np.tanh(bias / 0.002) ** 2).astype(np.float32), (n, n, nb))
    p = tmp_path / "m.3ds"
    offset = write_3ds(p, {"Current (A)": cube}, sweep=(-0.015, 0.015), frame=Frame(shape=(n, n)))
    data = p.stat().st_size - offset
    out = _run(PEAK, p)
    assert out["shape"] == [n, n, nb]
    assert out["grew"] < 1.3 * data, f"{out['grew'] / data:.2f}x the data"
