"""Plain-text column files: separators, units, sweep direction, sniffing that steals nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.errors import ReadError
from analysis.io import registry
from analysis.io.text_columns import read, sniff, split_name_unit, to_si
from tests.conftest import shared_file


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("V (mV)", ("V", "mV")),
        ("I [nA]", ("I", "nA")),
        ("G(uS)", ("G", "uS")),
        ("Bias/mV", ("Bias", "mV")),
        ("dI/dV", ("dI/dV", None)),
        ("dI/dV (nS)", ("dI/dV", "nS")),
        ('"R (kOhm)"', ("R", "kOhm")),
    ],
)
def test_split_name_unit(label: str, expected: tuple) -> None:
    assert split_name_unit(label) == expected


@pytest.mark.parametrize(
    ("unit", "si", "factor"),
    [
        ("mV", "V", 1e-3),
        ("nA", "A", 1e-9),
        ("uS", "S", 1e-6),
        ("µV", "V", 1e-6),
        ("kOhm", "Ohm", 1e3),
        ("m", "m", 1.0),
        ("mK", "K", 1e-3),
        ("V", "V", 1.0),
    ],
)
def test_si_prefixes(unit: str, si: str, factor: float) -> None:
    got = to_si(unit)
    assert got[0] == si and got[1] == pytest.approx(factor) and got[2]


def test_csv_with_units_and_metadata(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "iv.csv",
        "# sample = MgB2 junction 3\n# T: 4.2 K\nV (mV), I [nA], G(uS)\n"
        "-2.0, -0.50, 0.25\n-1.0, -0.25, 0.25\n0.0, 0.0, 0.20\n1.0, 0.25, 0.25\n",
    )
    assert registry().detect(p).name == "text_columns"
    (s,) = read(p)
    assert s.x_name == "V" and s.x_unit == "V"
    np.testing.assert_allclose(s.x, [-2e-3, -1e-3, 0.0, 1e-3])
    np.testing.assert_allclose(s.channels["I"], [-0.5e-9, -0.25e-9, 0.0, 0.25e-9])
    np.testing.assert_allclose(s.channels["G"], [0.25e-6, 0.25e-6, 0.2e-6, 0.25e-6])
    assert s.units == {"I": "A", "G": "S"}
    assert s.metadata["sample"] == "MgB2 junction 3" and s.metadata["T"] == "4.2 K"
    assert s.metadata["delimiter"] == "comma"
    assert s.warnings == []
    assert not s.sweep_reversed


def test_tsv_with_decimal_comma_and_descending_sweep(tmp_path: Path) -> None:
    p = _write(tmp_path, "iv.tsv", "Bias (V)\tCurrent (uA)\n0,5\t2,0\n0,0\t0,0\n-0,5\t-2,0\n")
    (s,) = read(p)
    assert s.sweep_reversed
    np.testing.assert_allclose(s.x, [-0.5, 0.0, 0.5])
    np.testing.assert_allclose(s.channels["Current"], [-2e-6, 0.0, 2e-6])


def test_whitespace_without_header_warns(tmp_path: Path) -> None:
    p = _write(tmp_path, "plain.txt", "1 10 100\n2 20 200\n3 30 300\n")
    (s,) = read(p)
    assert list(s.channels) == ["Column 2", "Column 3"]
    # a header-less sweep of a few units is a bias in mV (a tunnelling bias of volts is rare), said so
    assert s.x_unit == "V" and s.units["Column 2"] == ""
    np.testing.assert_allclose(s.x, [1e-3, 2e-3, 3e-3])
    assert any("no header line" in w for w in s.warnings)
    assert any("read as a bias in mV" in w for w in s.warnings)


def test_units_comment_and_inferred_units(tmp_path: Path) -> None:
    p = _write(tmp_path, "u.dat", "# units: mV, pA\nV I\n1 5\n2 6\n3 7\n")
    (s,) = read(p)
    np.testing.assert_allclose(s.x, [1e-3, 2e-3, 3e-3])
    np.testing.assert_allclose(s.channels["I"], [5e-12, 6e-12, 7e-12])
    q = _write(tmp_path, "v.csv", "Bias,Current,dI/dV\n0,1,2\n1,2,3\n2,3,4\n")
    (t,) = read(q)
    assert t.x_unit == "V" and t.units == {"Current": "A", "dI/dV": "S"}
    assert sum("assumed" in w for w in t.warnings) == 3


def test_there_and_back_sweep_is_split(tmp_path: Path) -> None:
    up = [-1.0, 0.0, 1.0]
    rows = [f"{v},{i}" for i, v in enumerate(up + up[::-1])]
    (s,) = read(_write(tmp_path, "tb.csv", "V (V),I (A)\n" + "\n".join(rows) + "\n"))
    np.testing.assert_allclose(s.x, up)
    np.testing.assert_allclose(s.channels["I"], [0, 1, 2])
    np.testing.assert_allclose(s.channels["I [bwd]"], [5, 4, 3])
    assert s.units["I [bwd]"] == "A"


def test_non_monotonic_sweep_keeps_file_order(tmp_path: Path) -> None:
    (s,) = read(_write(tmp_path, "loop.csv", "V (V),I (A)\n0,0\n1,1\n-1,-1\n0,0\n0.5,0.5\n"))
    assert s.x_name == "Index"
    np.testing.assert_allclose(s.channels["V"], [0, 1, -1, 0, 0.5])
    assert any("not monotonic" in w for w in s.warnings)


def test_nan_fields(tmp_path: Path) -> None:
    (s,) = read(_write(tmp_path, "n.csv", "V (V),I (A)\n0,nan\n1,\n2,3\n"))
    assert np.isnan(s.channels["I"][0]) and np.isnan(s.channels["I"][1]) and s.channels["I"][2] == 3


def test_bad_row_names_the_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "b.csv", "V,I\n0,1\n1,2\n2,x\n")
    with pytest.raises(ReadError, match="non-numeric") as err:
        read(p)
    assert err.value.line == 4


def test_ragged_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="columns"):
        read(_write(tmp_path, "r.csv", "0,1\n1,2,3\n"))
    with pytest.raises(ReadError, match="no numeric"):
        read(_write(tmp_path, "e.csv", "# only a comment\n"))
    with pytest.raises(ReadError, match="one column"):
        read(_write(tmp_path, "o.csv", "1\n2\n"))
    p = tmp_path / "bin.csv"
    p.write_bytes(b"0,1\x00\n")
    with pytest.raises(ReadError, match="NUL"):
        read(p)


@pytest.mark.parametrize(
    "head",
    [
        b"[ParVERT30]\r\nDATA\r\n1\t2\t3\r\n4\t5\t6\r\n",
        b"Experiment\tbias spectroscopy\r\n[DATA]\r\nBias (V)\tCurrent (A)\r\n1\t2\r\n3\t4\r\n",
        b"\x89HDF\r\n\x1a\n",
        b"just some words\nand more words\n",
        b"1\n2\n3\n",
    ],
)
def test_sniff_refuses_other_formats(head: bytes) -> None:
    assert not sniff(head, Path("x.dat"))


@pytest.mark.realdata
@pytest.mark.parametrize(
    "rel",
    [
        "nanonis/i_v.dat",
        "nanonis/STS_nanonis_generic_4_5.dat",
        "nanonis/NanonisReader_STS_grid_lockin.3ds",
        "nanonis/FeSe_topography.sxm",
        "createc/A190824.135614.VERT",
        "createc/A200621.161352.dat",
    ],
)
def test_does_not_steal_real_instrument_files(rel: str) -> None:
    p = shared_file(rel)
    assert not sniff(p.read_bytes()[:4096], p)
    assert registry().detect(p).name != "text_columns"


def test_header_less_mgb2_didv_in_mv_and_a_current_swept_file(tmp_path: Path) -> None:
    bias_mv = np.linspace(-20, 20, 81)
    didv = 1 + 0.5 * np.exp(-((np.abs(bias_mv) - 7) ** 2) / 2)
    p = _write(tmp_path, "MgB2_didv.txt", "".join(f"{b:.3f}\t{g:.5f}\n" for b, g in zip(bias_mv, didv)))
    (s,) = read(p)
    np.testing.assert_allclose(s.x, bias_mv * 1e-3)
    assert s.x_unit == "V"
    # a current-biased I(V): the current is swept, the measured voltage is not monotonic (a jump back)
    i_na = np.linspace(-10, 10, 41)
    v_mv = np.where(np.abs(i_na) < 3, 0.0, np.sign(i_na) * (2.5 + 0.1 * np.abs(i_na)))
    v_mv[20] = 0.01  # noise at zero
    v_mv[21] = -0.01
    q = _write(tmp_path, "iv_cb.csv", "V (mV),I (nA)\n" + "".join(f"{v},{i}\n" for v, i in zip(v_mv, i_na)))
    (t,) = read(q)
    assert t.x_name == "I" and t.x_unit == "A"
    np.testing.assert_allclose(t.x, i_na * 1e-9)
    np.testing.assert_allclose(t.channels["V"], v_mv * 1e-3)
    assert any("swept column 'I' is x" in w for w in t.warnings)


def test_options_override_the_guess_and_round_trip(tmp_path: Path) -> None:
    from analysis.io.text_columns import ColumnChoice, TextOptions, preview

    p = _write(tmp_path, "two.txt", "header line one\nbias current\n1 10\n2 20\n3 30\n")
    opts = TextOptions(
        "whitespace", 2, 0, (ColumnChoice("V", "V", "bias"), ColumnChoice("I", "nA", "current"))
    )
    (s,) = read(p, opts)
    np.testing.assert_allclose(s.x, [1, 2, 3])
    np.testing.assert_allclose(s.channels["I"], [10e-9, 20e-9, 30e-9])
    assert TextOptions.from_dict(opts.to_dict()) == opts
    table, guess = preview(p, TextOptions(header_rows=2))
    assert table.header == ["bias", "current"] and len(guess.columns) == 2 and guess.x_column == 0
