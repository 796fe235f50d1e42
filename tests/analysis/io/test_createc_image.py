"""Createc .dat images: the real [Paramco32] file (decompressed by hand here) and synthetic files."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Image
from analysis.errors import ReadError
from analysis.io import registry
from analysis.io.createc_image import HEADER_SIZE, read
from tests.conftest import shared_file

REAL = "createc/A200621.161352.dat"
VPD = 20.0 / 2**20


def write_image(
    path: Path,
    stack: np.ndarray,
    *,
    version: str = "Paramet32",
    select: int = 3,
    ydir: int = 1,
    header_extra: str = "",
) -> Path:
    """A Createc image file holding ``stack`` (nstored, ny, nx) raw DAC values."""
    nstored, ny, nx = stack.shape
    kinds = bin(select).count("1")
    header = (
        f"[{version}]\r\nDAC-Type=20bit\r\nDelta X / Delta X [Dac]=16\r\nDelta Y / Delta Y [Dac]=16\r\n"
        f"Num.X / Num.X={nx}\r\nNum.Y / Num.Y={ny}\r\nGainX / GainX=10\r\nGainY / GainY=10\r\n"
        "GainZ / GainZ=3\r\nRotation / Rotation=30.00\r\nGainpreamp / GainPre 10^=9\r\n"
        f"Chan(1,2,4) / Chan(1,2,4)={kinds}\r\n"
        "Scanrotoffx / OffsetX=1000.0\r\nScanrotoffy / OffsetY=-500.0\r\n"
        f"Channels / Channels={nstored}\r\nScanYDirec / ScanYDirec={ydir}\r\n"
        f"Channelselectval / Channelselectval={select}\r\nBiasvolt[mV]=50.00\r\nCurrent[A]=2.0E-10\r\n"
        f"ZPiezoconst=  8.79\r\nXpiezoconst= 34.44\r\nYPiezoconst= 34.44\r\n{header_extra}"
        " = \r\n"
    ).encode("latin-1")
    header = header + b"\x00" * (HEADER_SIZE - len(header))
    if version == "Paramco32":
        body = zlib.compress(b"\x00" * 4 + stack.astype("<f4").tobytes() + b"\x00" * 64)
    elif version == "Paramet32":
        body = b"\x00" * 4 + stack.astype("<f4").tobytes()
    else:
        body = b"\x00" * 2 + stack.astype("<i2").tobytes()
    path.write_bytes(header + body)
    return path


def _stack(rng: np.random.Generator, n: int = 4, ny: int = 6, nx: int = 8) -> np.ndarray:
    return rng.integers(-3000, 3000, size=(n, ny, nx)).astype(np.float32)


@pytest.mark.realdata
def test_real_file_matches_hand_decompression() -> None:
    path = shared_file(REAL)
    assert registry().detect(path).name == "createc_image"
    (img,) = read(path)
    assert isinstance(img, Image)
    assert img.shape == (256, 256)
    assert list(img.channels) == ["Z", "Current", "Z [bwd]", "Current [bwd]"]
    assert img.units == {"Z": "m", "Current": "A", "Z [bwd]": "m", "Current [bwd]": "A"}

    raw = path.read_bytes()
    payload = zlib.decompress(raw[16384:])
    assert len(payload) >= 4 + 4 * 4 * 256 * 256
    stack = np.frombuffer(payload, "<f4", count=4 * 256 * 256, offset=4).reshape(4, 256, 256)
    z_scale = VPD * 3 * 8.79e-10  # GainZ=3, ZPiezoconst=8.79 A/V
    i_scale = VPD / 1e9  # Gainpreamp 10^9 V/A
    # ScanYDirec=1: the first stored line is the top one; row 0 of the Image is the lowest line
    np.testing.assert_allclose(img.channels["Z"], (stack[0] * z_scale)[::-1], rtol=1e-6)
    np.testing.assert_allclose(img.channels["Current [bwd]"], (stack[3] * i_scale)[::-1], rtol=1e-6)
    assert img.scan_direction == "down"
    # the current images sit at the 100 pA setpoint of the header
    assert img.metadata["setpoint"]["current_A"] == pytest.approx(1e-10)
    assert float(np.mean(img.channels["Current"])) == pytest.approx(1e-10, rel=0.1)
    # topography corrugation of a Cu(111) terrace area: a few Angstrom, not nm or pm
    z = img.channels["Z"]
    assert 1e-10 < float(z.max() - z.min()) < 1e-9
    # frame: Length x[A]=215.2566, consistent with Num.X * Delta X * 20 V/2^20 * GainX * Xpiezoconst
    assert img.frame.size[0] == pytest.approx(215.2566e-10)
    assert 256 * 128 * VPD * 10 * 34.44 == pytest.approx(215.2566, rel=1e-4)
    assert img.frame.angle == 0.0
    assert img.frame.center[0] == pytest.approx(-89845.6 * VPD * 10 * 34.44e-10)


@pytest.mark.realdata
def test_real_backward_images_are_stored_left_to_right() -> None:
    (img,) = read(shared_file(REAL))
    fwd = img.channels["Z"].astype(float)
    bwd = img.channels["Z [bwd]"].astype(float)

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        a = a - a.mean(axis=1, keepdims=True)
        b = b - b.mean(axis=1, keepdims=True)
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    assert corr(fwd, bwd) > 0.8
    assert corr(fwd, bwd[:, ::-1]) < 0.0


@pytest.mark.parametrize("version", ["Paramet32", "Paramco32", "Parameter"])
def test_synthetic_versions_and_scaling(tmp_path: Path, rng: np.random.Generator, version: str) -> None:
    stack = _stack(rng)
    (img,) = read(write_image(tmp_path / f"{version}.dat", stack, version=version))
    header_vpd = VPD  # the synthetic header says DAC-Type=20bit for every version
    np.testing.assert_allclose(img.channels["Z"], stack[0][::-1] * header_vpd * 3 * 8.79e-10, rtol=1e-6)
    np.testing.assert_allclose(img.channels["Current"], stack[1][::-1] * header_vpd / 1e9, rtol=1e-6)
    np.testing.assert_allclose(img.channels["Z [bwd]"], stack[2][::-1] * header_vpd * 3 * 8.79e-10, rtol=1e-6)
    assert img.channels["Z"].dtype == np.float32
    assert img.frame.shape == (6, 8)
    assert img.frame.angle == pytest.approx(30.0)
    assert img.frame.size[0] == pytest.approx(8 * 16 * VPD * 10 * 34.44e-10)
    assert img.metadata["format"] == version


def test_scan_up_is_not_flipped(tmp_path: Path, rng: np.random.Generator) -> None:
    stack = _stack(rng, n=2)
    (img,) = read(write_image(tmp_path / "up.dat", stack, ydir=0))
    assert img.scan_direction == "up"
    np.testing.assert_allclose(img.channels["Z"], stack[0] * VPD * 3 * 8.79e-10, rtol=1e-6)
    assert list(img.channels) == ["Z", "Current"]


def test_adc_channels_from_the_select_mask(tmp_path: Path, rng: np.random.Generator) -> None:
    stack = _stack(rng, n=3)
    (img,) = read(write_image(tmp_path / "adc.dat", stack, select=1 | 4 | 8))
    assert list(img.channels) == ["Z", "ADC1", "ADC2"]
    assert img.units["ADC1"] == "V"
    np.testing.assert_allclose(img.channels["ADC2"], stack[2][::-1] * VPD, rtol=1e-6)


def test_stopped_scan_lines_become_nan(tmp_path: Path, rng: np.random.Generator) -> None:
    stack = _stack(rng)
    stack[:, 4:, :] = 0.0  # the last two scanned lines never measured
    (img,) = read(write_image(tmp_path / "stop.dat", stack))
    # scanned top-down: the unscanned lines are the lowest ones, rows 0 and 1 after the flip
    assert np.all(np.isnan(img.channels["Z"][:2])) and np.all(np.isfinite(img.channels["Z"][2:]))
    assert any("stopped early" in w for w in img.warnings)


def test_missing_channels_are_a_warning(tmp_path: Path, rng: np.random.Generator) -> None:
    stack = _stack(rng)
    p = write_image(tmp_path / "short.dat", stack)
    blob = p.read_bytes()
    p.write_bytes(blob[: HEADER_SIZE + 4 + 2 * 6 * 8 * 4 + 10])
    (img,) = read(p)
    assert list(img.channels) == ["Z", "Current"]
    assert any("promises 4 channels" in w for w in img.warnings)


def test_truncated_inside_header(tmp_path: Path, rng: np.random.Generator) -> None:
    p = write_image(tmp_path / "t.dat", _stack(rng))
    p.write_bytes(p.read_bytes()[:5000])
    with pytest.raises(ReadError, match="header"):
        read(p)


def test_no_data_after_header(tmp_path: Path, rng: np.random.Generator) -> None:
    p = write_image(tmp_path / "t.dat", _stack(rng))
    p.write_bytes(p.read_bytes()[: HEADER_SIZE + 10])
    with pytest.raises(ReadError, match="less than one"):
        read(p)


def test_corrupt_compressed_stream(tmp_path: Path, rng: np.random.Generator) -> None:
    p = write_image(tmp_path / "c.dat", _stack(rng), version="Paramco32")
    blob = bytearray(p.read_bytes())
    blob[HEADER_SIZE : HEADER_SIZE + 8] = b"garbage!"
    p.write_bytes(bytes(blob))
    with pytest.raises(ReadError, match="corrupt"):
        read(p)


def test_bad_dimensions(tmp_path: Path, rng: np.random.Generator) -> None:
    p = write_image(tmp_path / "d.dat", _stack(rng))
    p.write_bytes(p.read_bytes().replace(b"Num.X / Num.X=8", b"Num.X / Num.X=0"))
    with pytest.raises(ReadError, match="Num.X=0 is outside 1..65536"):
        read(p)
