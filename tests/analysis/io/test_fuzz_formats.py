"""Fuzzing the SM4, specgrid and NeXus readers: truncated, bit-flipped and random bytes raise only
ReadError (or read successfully), never another exception and never hang."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.io import createc_specgrid, nexus_sts, rhk_sm4
from tests.analysis.io.fuzz_support import FUZZ, bit_flipped, random_after_magic, truncated, written_files


def _seeds() -> dict[str, tuple[bytes, Callable]]:
    readers = {
        "specgrid": createc_specgrid.read,
        "sm4_image": rhk_sm4.read,
        "sm4_grid": rhk_sm4.read,
        "nexus": nexus_sts.read,
    }
    with tempfile.TemporaryDirectory() as d:
        files = written_files(Path(d), np.random.default_rng(11))
        return {kind: (files[kind].read_bytes(), read) for kind, read in readers.items()}


SEEDS = _seeds()


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_truncated(kind: str, data: st.DataObject) -> None:
    truncated(SEEDS, kind, data)


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_bit_flipped(kind: str, data: st.DataObject) -> None:
    bit_flipped(SEEDS, kind, data)


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_random_bytes_after_magic(kind: str, data: st.DataObject) -> None:
    random_after_magic(SEEDS, kind, data, [0, 16, 64, 1024])
