"""Nanonis point spectrum (.dat) reader: the two real files and synthetic variants."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from analysis.errors import ReadError
from analysis.io.nanonis_spectrum import READER, read_spectrum, sniff
from analysis.io.nanonis_write import write_dat
from analysis.io.registry import read_file
from tests.conftest import shared_file

IV = "nanonis/i_v.dat"
GENERIC = "nanonis/STS_nanonis_generic_4_5.dat"


# ---------------------------------------------------------------- real instrument files


@pytest.mark.realdata
def test_real_iv_forward_and_backward() -> None:
    s = read_spectrum(shared_file(IV))
    assert len(s) == 201 == s.metadata["Bias Spectroscopy>Num Pixel"]
    assert (s.x_name, s.x_unit, s.sweep_reversed) == ("Bias calc", "V", False)
    assert s.x[0] == pytest.approx(-8e-3) and s.x[-1] == pytest.approx(8e-3)
    assert np.allclose(np.diff(s.x), 8e-5)
    assert len(s.channels) == 14
    assert s.channel_names("bwd") == [n + " [bwd]" for n in s.channel_names("fwd")]
    assert (
        s.units["Current [bwd]"] == "A" and s.units["Phase"] == "deg" and s.units["Frequency Shift"] == "Hz"
    )
    # First and last rows of the table, read by hand.
    assert s.channels["Current"][0] == pytest.approx(-100.161e-12)
    assert s.channels["LIY 1 omega [bwd]"][0] == pytest.approx(-21.1698e-15)
    assert s.channels["Current [bwd]"][-1] == pytest.approx(99.8420e-12)
    assert s.position == pytest.approx((33.767e-9, 297.15e-9))
    assert s.metadata["Ext. VI 1>Microscope temperature (K)"] == pytest.approx(4.366)
    assert s.metadata["Bias Spectroscopy>backward sweep"] == "TRUE"
    assert s.warnings == []
    # A zero-bias dip: dI/dV within 1 mV of zero is ~15 % below its value at 3-5 mV.
    g = np.gradient(s.channels["Current"], s.x)
    centre = g[np.abs(s.x) < 1e-3].mean()
    outside = g[(np.abs(s.x) > 3e-3) & (np.abs(s.x) < 5e-3)].mean()
    assert 0.75 * outside < centre < 0.92 * outside


@pytest.mark.realdata
def test_real_generic_file_with_bom_and_crlf() -> None:
    path = shared_file(GENERIC)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw[:200]
    s = read_spectrum(path)
    assert list(s.metadata)[0] == "Experiment" and s.metadata["Experiment"] == "bias spectroscopy"
    assert len(s) == 600 and s.x[0] == pytest.approx(-3.0) and s.x[-1] == pytest.approx(3.0)
    assert list(s.channels) == ["Current", "LI Demod R", "LI Demod X", "LI Demod Y", "Bias"]
    assert s.metadata["Final Z (m)"] == "N/A"
    assert s.channels["Current"][1] == pytest.approx(-297.224e-12)
    assert s.channels["LI Demod Y"][2] == pytest.approx(-148.040e-3)
    np.testing.assert_allclose(s.channels["Bias"], s.x, atol=2e-5)  # measured vs computed bias
    assert s.position == pytest.approx((-528.284e-9, 9.34745e-9))


@pytest.mark.realdata
@pytest.mark.parametrize("rel", [IV, GENERIC])
def test_real_files_through_the_registry(rel: str) -> None:
    path = shared_file(rel)
    assert sniff(path.read_bytes()[:4096], path)
    (s,) = read_file(path)
    assert s.kind == "spectrum" and s.source.reader == "nanonis_spectrum"


# ---------------------------------------------------------------- synthetic files


def test_downward_sweep_is_reversed_with_all_channels(tmp_path: Path) -> None:
    x = np.linspace(0.01, -0.01, 11)
    path = tmp_path / "down.dat"
    write_dat(path, {"Bias calc (V)": x, "Current (A)": 2 * x, "Current [bwd] (A)": 3 * x})
    s = read_spectrum(path)
    assert s.sweep_reversed and np.all(np.diff(s.x) > 0)
    np.testing.assert_allclose(s.channels["Current"], 2 * s.x)
    np.testing.assert_allclose(s.channels["Current [bwd]"], 3 * s.x)


def test_suffixes_nan_and_units(tmp_path: Path) -> None:
    x = np.linspace(-1, 1, 5)
    cols = {
        "Bias (V)": x,
        "Current [00001] (A)": x,
        "Current [00002] (A)": 2 * x,
        "Current [AVG] (A)": 1.5 * x,
        "LI Demod 1 X [filt] (A)": np.array([1.0, np.nan, 3.0, 4.0, 5.0]),
        "Current [00001] [bwd] (A)": -x,
        "Index": np.arange(5.0),
    }
    path = tmp_path / "multi.dat"
    write_dat(path, cols)
    s = read_spectrum(path)
    assert list(s.channels) == [
        "Current [00001]",
        "Current [00002]",
        "Current [AVG]",
        "LI Demod 1 X [filt]",
        "Current [00001] [bwd]",
        "Index",
    ]
    assert s.units["Current [AVG]"] == "A" and s.units["Index"] == ""
    assert math.isnan(s.channels["LI Demod 1 X [filt]"][1]) and s.channels["LI Demod 1 X [filt]"][4] == 5.0
    assert s.x_name == "Bias" and s.channels["Current [00001] [bwd]"].dtype == np.float64


def test_bwd_marker_in_the_middle_is_moved_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "bwdmid.dat"
    write_dat(path, {"Bias (V)": [0.0, 1.0], "Current [bwd] [filt] (A)": [1.0, 2.0]})
    assert list(read_spectrum(path).channels) == ["Current [filt] [bwd]"]


def test_duplicated_keys_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "dup.dat"
    header = [("X (m)", "1E-9"), ("Y (m)", "2E-9"), ("Comment", "first"), ("Comment", "second")]
    write_dat(path, {"Bias (V)": [0.0, 1.0], "Current (A)": [1.0, 2.0]}, header, bom=True, newline="\r\n")
    s = read_spectrum(path)
    assert s.metadata["Comment"] == "second" and s.metadata["Comment (#1)"] == "first"
    assert any("repeats 1 key" in w and "'Comment'" in w for w in s.warnings)
    assert s.position == pytest.approx((1e-9, 2e-9))
    assert "\ufeffExperiment" not in s.metadata


def test_non_monotonic_sweep_is_sorted_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "nm.dat"
    write_dat(path, {"Bias (V)": [0.0, 2.0, 1.0], "Current (A)": [10.0, 12.0, 11.0]})
    s = read_spectrum(path)
    np.testing.assert_array_equal(s.x, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(s.channels["Current"], [10.0, 11.0, 12.0])
    assert any("not monotonic" in w for w in s.warnings)


def _lines(tmp_path: Path) -> list[str]:
    path = tmp_path / "base.dat"
    write_dat(path, {"Bias (V)": [0.0, 1.0, 2.0], "Current (A)": [1.0, 2.0, 3.0]})
    return path.read_text().split("\n")


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda ls: [ln for ln in ls if ln != "[DATA]"], "no '[DATA]' line", None),
        (lambda ls: ls[:-4] + ["1.0\t2.0\t3.0"] + ls[-3:], "data row has 3 values", 5),
        (lambda ls: ls[:-3] + ["1.0\tabc"] + ls[-2:], "not a number: 'abc'", 6),
        (lambda ls: ls[:-4], "holds no rows", 5),
        (lambda ls: ls[:3] + [""], "column labels", 4),
    ],
    ids=["no-data-tag", "ragged-row", "not-number", "no-rows", "no-labels"],
)
def test_bad_tables_name_the_line(tmp_path: Path, edit, message: str, line: int | None) -> None:
    path = tmp_path / "bad.dat"
    path.write_text("\n".join(edit(_lines(tmp_path))))
    with pytest.raises(ReadError, match=re.escape(message)) as info:
        read_spectrum(path)
    assert info.value.line == line


def test_sniffing_is_by_content() -> None:
    assert sniff(b"Experiment\tbias spectroscopy\t\nDate\t...", None)
    assert sniff(b"\xef\xbb\xbfExperiment\tbias spectroscopy\t\r\n", None)
    assert sniff(b"Saved Date\t1.1.2020\t\nBias Spectroscopy>Channels\tCurrent (A)\t\n\n[DATA]\n", None)
    assert not sniff(b"bias,current\n0.1,2e-9\n", None)
    assert not sniff(b'Grid dim="2 x 2"\r\n', None)
    assert not sniff(b"[Parameter]\nfoo=1\n", None)
    assert READER.extensions == (".dat",)
