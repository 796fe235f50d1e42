"""Createc .VERT point spectra: the real file and synthetic files covering each sweep layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Spectrum
from analysis.errors import ReadError
from analysis.io import registry
from analysis.io.createc_vert import read
from tests.conftest import shared_file

REAL = "createc/A190824.135614.VERT"
VPD = 20.0 / 2**20


def write_vert(
    path: Path,
    bias_mv: np.ndarray,
    z: np.ndarray | None = None,
    columns: dict[int, np.ndarray] | None = None,
    *,
    version: str = "ParVERT30",
    code: int | None = None,
    npoints: int | None = None,
    extra: str = "",
) -> Path:
    """A minimal Createc VERT file; ``columns`` maps channel bit -> raw values."""
    n = len(bias_mv)
    z = np.zeros(n) if z is None else z
    columns = columns or {0: np.linspace(100, 200, n)}
    code = sum(1 << b for b in columns) if code is None else code
    header = (
        f"[{version}]\r\nDAC-Type=20bit\r\nGainpreamp / GainPre 10^=9\r\nGainZ / GainZ=3\r\n"
        "ZPiezoconst=  8.64\r\nDacto[A]z=0.00016\r\nBiasvolt[mV]=100.00\r\nCurrent[A]=1.0E-11\r\n"
        f"LockinFreq= 5.26E+0002\r\nLockinAmpl= 2.000\r\nVertchannelselectval={code}\r\n{extra}"
        " = \r\n\x00\x00\x00\r\nDATA\r\n"
        f"    {npoints if npoints is not None else n}      32      96                {code}\r\n"
    )
    rows = []
    for i in range(n):
        vals = [f"{i}", f"{bias_mv[i]:.5E}", f"{z[i]:.5E}"]
        vals += [f"{columns[b][i]:.5E}" for b in sorted(columns)]
        rows.append("\t".join(vals) + "\t\r\n")
    path.write_bytes(header.encode("latin-1") + "".join(rows).encode("latin-1"))
    return path


@pytest.mark.realdata
def test_real_file_layout_units_and_values() -> None:
    path = shared_file(REAL)
    assert registry().detect(path).name == "createc_vert"
    (s,) = read(path)
    assert isinstance(s, Spectrum)
    assert len(s) == 1024
    # channel code 4209 = bits 0, 4, 5, 6, 12
    assert list(s.channels) == ["Bias", "Z", "Current", "ADC1", "ADC2", "ADC3", "DAC0"]
    assert s.units["Bias"] == "V" and s.units["Z"] == "m" and s.units["Current"] == "A"
    # an I(z) ramp at a fixed 5 mV: the bias is not a sweep, so x is the point index
    assert s.x_name == "Index" and s.x[0] == 0 and s.x[-1] == 1023
    assert any("neither the bias nor Z" in w for w in s.warnings)
    assert s.channels["Bias"].min() == pytest.approx(5e-3) and s.channels["Bias"].max() == pytest.approx(0.2)
    # row 512 of the file: "512  5.00000E+00  6.62295E+02  1.72577E+03 ..." (read by hand)
    assert s.channels["Z"][512] == pytest.approx(662.295 * 8.64e-3 * 1e-10, rel=1e-6)
    assert s.channels["Current"][512] == pytest.approx(1725.77 * VPD / 1e9, rel=1e-5)
    assert s.channels["Current"][512] == pytest.approx(3.29e-11, rel=1e-2)
    # lock-in settings and setpoint from the header, in SI
    assert s.metadata["lockin"]["frequency_Hz"] == pytest.approx(526.0)
    assert s.metadata["lockin"]["amplitude_V"] == pytest.approx(0.020)
    assert s.metadata["setpoint"]["current_A"] == pytest.approx(1e-11)
    assert s.metadata["setpoint"]["bias_V"] == pytest.approx(0.1)
    assert s.metadata["header"]["Vertchannelselectval"] == "4209"
    assert s.metadata["position_dac"] == [32.0, 96.0]


@pytest.mark.realdata
def test_real_file_z_scale_gives_a_physical_tunnelling_decay() -> None:
    """The approach half of the ramp: ln(I - offset) vs z has slope 2 kappa with kappa ~ 1 / Angstrom."""
    (s,) = read(shared_file(REAL))
    z = s.channels["Z"][20:512]
    current = s.channels["Current"][20:512]
    offset = np.median(current[:100])
    m = (current - offset) > 5 * VPD / 1e9
    slope = np.polyfit(z[m], np.log(current[m] - offset), 1)[0]
    kappa_per_angstrom = slope / 2 * 1e-10
    assert 0.7 < kappa_per_angstrom < 1.5


def test_descending_bias_sweep_is_made_ascending(tmp_path: Path) -> None:
    bias = np.linspace(20, -20, 41)
    current = np.linspace(-50, 50, 41)
    didv = np.linspace(1, 2, 41)
    p = write_vert(tmp_path / "a.VERT", bias, columns={0: current, 1: didv})
    (s,) = read(p)
    assert s.x_name == "Bias" and s.x_unit == "V" and s.sweep_reversed
    assert np.all(np.diff(s.x) > 0) and s.x[0] == pytest.approx(-0.02)
    assert set(s.channels) == {"Z", "Current", "dI/dV"}
    # the first point of the file (bias +20 mV) is now the last
    assert s.channels["Current"][-1] == pytest.approx(-50 * VPD / 1e9)
    assert s.channels["dI/dV"][0] == pytest.approx(2 * VPD)
    assert s.units["dI/dV"] == "V"
    assert s.warnings == []


def test_there_and_back_sweep_is_split_into_forward_and_backward(tmp_path: Path) -> None:
    up = np.linspace(-10, 10, 21)
    bias = np.concatenate([up, up[::-1]])
    current = np.concatenate([np.arange(21.0), 100 + np.arange(21.0)])
    (s,) = read(write_vert(tmp_path / "b.VERT", bias, columns={0: current}))
    assert len(s) == 21 and not s.sweep_reversed
    assert "Current [bwd]" in s.channels and s.units["Current [bwd]"] == "A"
    # the backward branch was measured from +10 mV down: reversed onto the ascending axis
    assert s.channels["Current [bwd]"][-1] == pytest.approx(100 * VPD / 1e9)
    assert s.channels["Current [bwd]"][0] == pytest.approx(120 * VPD / 1e9)


def test_z_spectroscopy_uses_z_as_the_sweep(tmp_path: Path) -> None:
    n = 30
    z = np.linspace(100, -200, n)
    (s,) = read(write_vert(tmp_path / "z.VERT", np.full(n, 5.0), z, {0: np.linspace(1, 30, n)}))
    assert s.x_name == "Z" and s.x_unit == "m" and s.sweep_reversed
    assert s.x[0] == pytest.approx(-200 * 8.64e-13) and s.x[-1] == pytest.approx(100 * 8.64e-13)
    assert "Bias" in s.channels and np.allclose(s.channels["Bias"], 5e-3)


def test_vert32_with_extra_x_column(tmp_path: Path) -> None:
    n = 10
    cols = {0: np.ones(n), 2: np.ones(n)}
    p = write_vert(tmp_path / "x.VERT", np.linspace(-5, 5, n), columns=cols, version="ParVERT32")
    # insert an X column after Z by rewriting the rows
    text = p.read_bytes().decode("latin-1").split("\r\n")
    start = next(i for i, t in enumerate(text) if t == "DATA") + 2
    for i in range(start, start + n):
        parts = text[i].split("\t")
        text[i] = "\t".join(parts[:3] + ["7.0"] + parts[3:])
    p.write_bytes("\r\n".join(text).encode("latin-1"))
    (s,) = read(p)
    assert list(s.channels) == ["Z", "X", "Current", "d2I/dV2"]
    assert np.allclose(s.channels["X"], 7.0)


def test_point_count_mismatch_is_a_warning(tmp_path: Path) -> None:
    (s,) = read(write_vert(tmp_path / "n.VERT", np.linspace(-1, 1, 5), npoints=8))
    assert len(s) == 5
    assert any("promises 8 points" in w for w in s.warnings)


def test_missing_data_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.VERT"
    p.write_bytes(b"[ParVERT30]\r\nDAC-Type=20bit\r\n")
    with pytest.raises(ReadError, match="no DATA line"):
        read(p)


def test_non_numeric_row_names_the_line(tmp_path: Path) -> None:
    p = write_vert(tmp_path / "c.VERT", np.linspace(-1, 1, 5))
    blob = p.read_bytes().replace(b"3\t", b"3\tabc\t", 1)
    p.write_bytes(blob)
    with pytest.raises(ReadError, match="non-numeric") as err:
        read(p)
    assert err.value.line is not None


def test_ragged_rows(tmp_path: Path) -> None:
    p = write_vert(tmp_path / "r.VERT", np.linspace(-1, 1, 5))
    lines = p.read_bytes().split(b"\r\n")
    lines[-2] = lines[-2] + b"\t9.0"
    p.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ReadError, match="columns"):
        read(p)


def test_not_a_vert_file(tmp_path: Path) -> None:
    p = tmp_path / "x.VERT"
    p.write_bytes(b"hello\r\nDATA\r\n")
    with pytest.raises(ReadError, match="ParVERT"):
        read(p)
