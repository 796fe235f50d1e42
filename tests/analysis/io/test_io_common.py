"""Helpers shared by the readers: whole-file reading, ascending sweeps, unique channel keys."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.dataset import BWD_SUFFIX
from analysis.errors import ReadError
from analysis.io.common import ascending_sweep, read_file_bytes
from analysis.io.nanonis_header import unique_key


def test_read_file_bytes_returns_the_content(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"\x00\x01abc")
    assert read_file_bytes(p) == b"\x00\x01abc"
    assert read_file_bytes(p, max_bytes=5) == b"\x00\x01abc"


def test_read_file_bytes_refuses_large_files_with_the_given_message(tmp_path):
    p = tmp_path / "big.txt"
    p.write_bytes(b"x" * 10)
    with pytest.raises(ReadError, match="10 bytes is too much") as info:
        read_file_bytes(p, max_bytes=9, too_large=lambda size: f"{size} bytes is too much")
    assert info.value.path == str(p) and info.value.reason == "10 bytes is too much"
    with pytest.raises(ReadError, match="file of 10 bytes is too large"):
        read_file_bytes(p, max_bytes=9)


def test_read_file_bytes_names_a_missing_file(tmp_path):
    with pytest.raises(ReadError, match="cannot read file") as info:
        read_file_bytes(tmp_path / "missing.dat", max_bytes=100)
    assert "missing.dat" in str(info.value)
    with pytest.raises(ReadError, match="cannot read file"):
        read_file_bytes(tmp_path)  # a folder


def test_ascending_sweep_flips_a_downward_sweep_and_every_channel():
    x = np.array([3.0, 2.0, 1.0, 0.0])
    chans = {"I": np.array([30, 20, 10, 0], dtype=np.int32), "Z" + BWD_SUFFIX: np.arange(4.0)}
    xs, out, rev = ascending_sweep(x, chans)
    assert rev is True
    np.testing.assert_array_equal(xs, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(out["I"], [0.0, 10.0, 20.0, 30.0])
    np.testing.assert_array_equal(out["Z" + BWD_SUFFIX], [3.0, 2.0, 1.0, 0.0])
    for v in out.values():
        assert v.dtype == np.float64 and v.flags.c_contiguous
    np.testing.assert_array_equal(x, [3.0, 2.0, 1.0, 0.0])  # input untouched


def test_ascending_sweep_keeps_an_upward_or_short_sweep():
    x = np.array([0.0, 1.0, 2.0])
    col = np.array([5.0, 6.0, 7.0, 8.0, 9.0, 10.0])[::2]  # strided view
    xs, out, rev = ascending_sweep(x, {"I": col})
    assert rev is False and xs is x
    np.testing.assert_array_equal(out["I"], [5.0, 7.0, 9.0])
    assert out["I"].flags.c_contiguous
    one, out1, rev1 = ascending_sweep(np.array([2.0]), {"I": np.array([1.0])})
    assert rev1 is False and one.tolist() == [2.0] and out1["I"].tolist() == [1.0]
    empty, out0, rev0 = ascending_sweep(np.zeros(0), {})
    assert rev0 is False and empty.size == 0 and out0 == {}


def test_unique_key_numbers_repeats_from_two():
    assert unique_key("Current", {}) == "Current"
    assert unique_key("Current", {"Current"}) == "Current (2)"
    assert unique_key("Current", {"Current", "Current (2)", "Current (3)"}) == "Current (4)"
    assert unique_key("Bias", {"Bias (2)"}) == "Bias"
