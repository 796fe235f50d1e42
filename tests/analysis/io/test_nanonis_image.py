"""Nanonis image (.sxm) reader: the real FeSe scan and synthetic variants."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Frame
from analysis.errors import ReadError
from analysis.io.nanonis_image import READER, read_image, sniff
from analysis.io.nanonis_write import write_sxm
from analysis.io.registry import read_file
from tests.conftest import shared_file

REAL = "nanonis/FeSe_topography.sxm"
FRAME = Frame(center=(1e-7, -2e-7), size=(5e-9, 6e-9), angle=-20.0, shape=(6, 5))


def _raw_f4(path: Path, offset: int) -> float:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return struct.unpack(">f", fh.read(4))[0]


# ---------------------------------------------------------------- real instrument file


@pytest.mark.realdata
def test_real_image_matches_header() -> None:
    im = read_image(shared_file(REAL))
    assert im.shape == (224, 224) and im.scan_direction == "down"
    assert list(im.channels) == [
        "Z",
        "Z [bwd]",
        "Current",
        "Current [bwd]",
        "LIY_1_omega",
        "LIY_1_omega [bwd]",
        "LIY_n_omega",
        "LIY_n_omega [bwd]",
    ]
    assert im.units["Z"] == "m" and im.units["Current [bwd]"] == "A"
    assert im.frame.center == pytest.approx((-3.196416e-7, -1.834589e-7))
    assert im.frame.size == pytest.approx((2e-8, 2e-8))
    assert im.frame.angle == pytest.approx(-45.0)  # SCAN_ANGLE 45 clockwise
    assert im.metadata["SCAN_PIXELS"] == "224       224"
    assert im.metadata["Z-Controller>Setpoint"] == pytest.approx(450e-12)
    assert "14\tZ\tm\tboth\t1.800E-8\t0.000E+0" in im.metadata["DATA_INFO"]
    assert im.warnings == []
    for img in im.channels.values():
        assert img.dtype == np.float32 and img.flags.c_contiguous and np.isfinite(img).all()
    # Z in metres, around the Z-controller value of the header (-115.6 nm).
    assert np.median(im.channels["Z"]) == pytest.approx(-115.6e-9, abs=1e-9)


@pytest.mark.realdata
def test_real_image_values_match_raw_bytes() -> None:
    path = shared_file(REAL)
    im = read_image(path)
    start = path.read_bytes().index(b"\x1a\x04") + 2
    assert start == 3612 and im.metadata["Reader>Data offset"] == start
    n = 224
    for plane, name in [(0, "Z"), (1, "Z [bwd]"), (4, "LIY_1_omega")]:
        for line, col in [(0, 0), (5, 200), (223, 17)]:
            raw = _raw_f4(path, start + 4 * (plane * n * n + line * n + col))
            # Scanned down: file line 0 is the top (row 223); backward lines run right to left.
            row = n - 1 - line
            c = n - 1 - col if name.endswith("[bwd]") else col
            assert im.channels[name][row, c] == np.float32(raw)


@pytest.mark.realdata
def test_real_backward_lines_align_with_forward() -> None:
    im = read_image(shared_file(REAL))
    fwd, bwd = im.channels["Z"], im.channels["Z [bwd]"]

    def corr(a, b):
        return np.corrcoef(a - a.mean(), b - b.mean())[0, 1]

    aligned = np.mean([corr(fwd[i], bwd[i]) for i in range(0, 224, 4)])
    mirrored = np.mean([corr(fwd[i], bwd[i, ::-1]) for i in range(0, 224, 4)])
    assert aligned > 0.3 and aligned > mirrored + 0.3


@pytest.mark.realdata
def test_real_image_through_the_registry() -> None:
    path = shared_file(REAL)
    assert sniff(path.read_bytes()[:4096], path)
    (im,) = read_file(path)
    assert im.kind == "image" and im.source.reader == "nanonis_image"


# ---------------------------------------------------------------- synthetic files


@pytest.mark.parametrize("scan_dir", ["up", "down"])
def test_orientation_round_trip(tmp_path: Path, rng, scan_dir: str) -> None:
    z = rng.standard_normal((6, 5)).astype(np.float32)
    cur = rng.standard_normal((6, 5)).astype(np.float32)
    path = tmp_path / "a.sxm"
    offset = write_sxm(
        path, {"Z": ("m", z, z + 1), "Current": ("A", cur, None)}, frame=FRAME, scan_dir=scan_dir
    )
    im = read_image(path)
    assert list(im.channels) == ["Z", "Z [bwd]", "Current"]
    np.testing.assert_array_equal(im.channels["Z"], z)
    np.testing.assert_array_equal(im.channels["Z [bwd]"], z + 1)
    np.testing.assert_array_equal(im.channels["Current"], cur)
    assert im.scan_direction == scan_dir and im.frame == FRAME
    # The first value in the file is the first pixel scanned: bottom-left going up, top-left going down.
    first = np.float32(_raw_f4(path, offset))
    assert first == (z[0, 0] if scan_dir == "up" else z[5, 0])
    # The backward image's first value is recorded at the right end of the first line.
    first_bwd = np.float32(_raw_f4(path, offset + 4 * 30))
    assert first_bwd == (z[0, 4] + 1 if scan_dir == "up" else z[5, 4] + 1)


@pytest.mark.parametrize("scan_dir", ["up", "down"])
def test_unscanned_lines_are_nan(tmp_path: Path, rng, scan_dir: str) -> None:
    z = rng.standard_normal((6, 5)).astype(np.float32)
    path = tmp_path / "partial.sxm"
    write_sxm(path, {"Z": ("m", z, z)}, frame=FRAME, scan_dir=scan_dir, scanned_lines=4)
    im = read_image(path)
    empty = np.isnan(im.channels["Z"]).all(axis=1)
    expect = [False] * 4 + [True] * 2 if scan_dir == "up" else [True] * 2 + [False] * 4
    assert empty.tolist() == expect
    assert any("2 of 6 scan lines hold no data" in w for w in im.warnings)


def test_cut_short_file_is_padded_with_nan(tmp_path: Path, rng) -> None:
    z = rng.standard_normal((6, 5)).astype(np.float32)
    path = tmp_path / "cut.sxm"
    write_sxm(path, {"Z": ("m", z, z)}, frame=FRAME)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 4 * 7])  # the last 7 values of the backward image are lost
    im = read_image(path)
    np.testing.assert_array_equal(im.channels["Z"], z)
    bwd = im.channels["Z [bwd]"]
    # Scanned up: the last line recorded is the top row; 7 values = the whole top row + 2 of the next,
    # at the left end since backward lines run right to left.
    assert np.isnan(bwd[5]).all() and np.isnan(bwd[4, :2]).all()
    assert np.isnan(bwd).sum() == 7
    np.testing.assert_array_equal(bwd[:4], z[:4])
    assert any("cut short" in w for w in im.warnings)


def test_extra_header_entries_and_duplicates_kept(tmp_path: Path, rng) -> None:
    z = rng.standard_normal((6, 5)).astype(np.float32)
    path = tmp_path / "dup.sxm"
    extra = [("Scan>series name", "test"), ("Scan>series name", "again")]
    write_sxm(path, {"Z": ("m", z, None)}, frame=FRAME, extra_header=extra)
    im = read_image(path)
    assert im.metadata["Scan>series name"] == "again" and im.metadata["Scan>series name (#1)"] == "test"
    assert any("repeats" in w for w in im.warnings)


def _sxm_text(tmp_path: Path, rng) -> bytes:
    z = rng.standard_normal((6, 5)).astype(np.float32)
    path = tmp_path / "base.sxm"
    write_sxm(path, {"Z": ("m", z, z)}, frame=FRAME)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda b: b.replace(b"\x1a\x04", b"\x00\x00"), "0x1A 0x04"),
        (lambda b: b.replace(b":SCANIT_END:", b":SCANIT_ENX:"), "':SCANIT_END:'"),
        (lambda b: b.replace(b":DATA_INFO:", b":DATA_INFX:"), "':DATA_INFO:'"),
        (
            lambda b: b.replace(b"         5         6", b"         5   sixty"),
            "'SCAN_PIXELS' should be an integer",
        ),
        (lambda b: b.replace(b"         5         6", b"     30000     30000"), "header declares"),
        (
            lambda b: b.replace(b"FLOAT", b"INT32"),
            "unsupported SCANIT_TYPE",
        ),
    ],
    ids=["no-marker", "no-end", "no-data-info", "bad-pixels", "huge", "int-type"],
)
def test_bad_files_give_clear_errors(tmp_path: Path, rng, edit, message: str) -> None:
    path = tmp_path / "bad.sxm"
    path.write_bytes(edit(_sxm_text(tmp_path, rng)))
    with pytest.raises(ReadError, match=re.escape(message)) as info:
        read_image(path)
    assert str(path) in str(info.value)


def test_sniffing_is_by_content() -> None:
    assert sniff(b":NANONIS_VERSION:\n2\n:SCANIT_TYPE:\n", None)
    assert not sniff(b'Grid dim="2 x 2"\r\n', None)
    assert not sniff(b"Experiment\tbias spectroscopy\t\n", None)
    assert READER.extensions == (".sxm",)


def test_forward_only_channel_and_channel_order(tmp_path: Path, rng) -> None:
    a = rng.standard_normal((6, 5)).astype(np.float32)
    path = tmp_path / "fwd.sxm"
    offset = write_sxm(path, {"Current": ("A", a, None), "Z": ("m", 2 * a, 3 * a)}, frame=FRAME)
    im = read_image(path)
    assert list(im.channels) == ["Current", "Z", "Z [bwd]"]
    # Current (forward only) is stored first, then Z forward: its first value is 2 * a[0, 0].
    assert np.float32(_raw_f4(path, offset + 4 * 30)) == 2 * a[0, 0]
    np.testing.assert_array_equal(im.channels["Z [bwd]"], 3 * a)
