"""Fuzzing the Createc, text-column and project readers: truncated, bit-flipped and random bytes raise
only ReadError (or read successfully), never another exception and never hang."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.errors import ReadError
from analysis.io import createc_image, createc_vert, text_columns
from analysis.store import ProjectEntry, save_project
from analysis.store import reader as project_reader
from tests.analysis.io.test_createc_image import write_image
from tests.analysis.io.test_createc_vert import write_vert
from tests.analysis.store.test_store import make_grid, make_image, make_spectrum

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


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


def _check(read: Callable, blob: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "fuzz.bin"
        p.write_bytes(blob)
        try:
            out = read(p)
        except ReadError:
            return
        assert isinstance(out, list) and out
        for ds in out:  # touching the data must not fail either
            for arr in ds.channels.values():
                np.asarray(arr[()])


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_truncated(kind: str, data: st.DataObject) -> None:
    blob, read = SEEDS[kind]
    cut = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    _check(read, blob[:cut])


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_bit_flipped(kind: str, data: st.DataObject) -> None:
    blob = bytearray(SEEDS[kind][0])
    flips = data.draw(st.lists(st.integers(min_value=0, max_value=len(blob) * 8 - 1), min_size=1, max_size=8))
    for bit in flips:
        blob[bit // 8] ^= 1 << (bit % 8)
    _check(SEEDS[kind][1], bytes(blob))


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_random_bytes_after_magic(kind: str, data: st.DataObject) -> None:
    blob, read = SEEDS[kind]
    keep = data.draw(st.sampled_from([0, 8, 11, 64]))
    tail = data.draw(st.binary(min_size=0, max_size=2048))
    _check(read, blob[:keep] + tail)
