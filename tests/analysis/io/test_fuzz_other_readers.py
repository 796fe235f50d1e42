"""Fuzzing the Createc, text-column and project readers: truncated, bit-flipped and random bytes raise
only ReadError (or read successfully), never another exception and never hang."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.io import createc_image, createc_vert, text_columns
from analysis.store import ProjectEntry, save_project
from analysis.store import reader as project_reader
from tests.analysis.io.fuzz_support import FUZZ, bit_flipped, random_after_magic, truncated
from tests.analysis.io.test_createc_image import write_image
from tests.analysis.io.test_createc_vert import write_vert
from tests.analysis.store.test_store import make_grid, make_image, make_spectrum


def _seeds() -> dict[str, tuple[bytes, Callable]]:
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        cols = {0: np.arange(16.0), 1: np.ones(16)}
        vert = write_vert(folder / "a.VERT", np.linspace(-10, 10, 16), columns=cols)
        stack = rng.integers(-100, 100, size=(4, 6, 8)).astype(np.float32)
        img32 = write_image(folder / "b.dat", stack, version="Paramet32")
        imgco = write_image(folder / "c.dat", stack, version="Paramco32")
        text = folder / "d.csv"
        text.write_text("# T = 4.2 K\nV (mV), I [nA]\n-1, -0.5\n0, 0\n1, 0.5\n2, 1.0\n")
        proj = save_project(
            folder / "e.h5",
            [
                ProjectEntry("g", "g", make_grid(rng, shape=(4, 5, 6))),
                ProjectEntry("i", "i", make_image(rng)),
                ProjectEntry("s", "s", make_spectrum(), parent="g"),
            ],
        )
        return {
            "vert": (vert.read_bytes(), createc_vert.read),
            "image32": (img32.read_bytes(), createc_image.read),
            "imageco": (imgco.read_bytes(), createc_image.read),
            "text": (text.read_bytes(), text_columns.read),
            "project": (proj.read_bytes(), project_reader.read),
        }


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
    random_after_magic(SEEDS, kind, data, [0, 8, 11, 64])
