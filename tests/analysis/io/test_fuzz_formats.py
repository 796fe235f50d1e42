"""Fuzzing the SM4, specgrid and NeXus readers: truncated, bit-flipped and random bytes raise only
ReadError (or read successfully), never another exception and never hang."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.errors import ReadError
from analysis.io import createc_specgrid, nexus_sts, rhk_sm4
from analysis.io.nexus_sts import write_nxsts
from tests.analysis.io.sm4_writer import Page, write_sm4
from tests.analysis.io.test_createc_specgrid import write_specgrid
from tests.analysis.store.test_store import make_grid, make_spectrum

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _seeds() -> dict[str, tuple[bytes, Callable]]:
    rng = np.random.default_rng(11)
    out: dict[str, tuple[bytes, Callable]] = {}
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        spectra = rng.integers(-100, 100, size=(2, 3, 6, 2)).astype(np.float32)
        sg = write_specgrid(folder / "a.specgrid", spectra, np.linspace(-5, 5, 6), companion=False)
        out["specgrid"] = (sg.read_bytes(), createc_specgrid.read)
        img = write_sm4(folder / "b.SM4", [Page(rng.integers(-50, 50, size=(4, 5)).astype(np.int32))])
        out["sm4_image"] = (img.read_bytes(), rhk_sm4.read)
        iy, ix = np.divmod(np.arange(4), 2)
        line = Page(
            rng.integers(-50, 50, size=(4, 6)).astype(np.int32),
            data_type=1,
            x_unit="V",
            x_scale=0.01,
            positions=np.column_stack([ix * 1e-10, iy * 1e-10]),
        )
        grid = write_sm4(folder / "c.SM4", [line])
        out["sm4_grid"] = (grid.read_bytes(), rhk_sm4.read)
        nxs = write_nxsts([make_grid(rng, shape=(2, 3, 4)), make_spectrum()], folder / "d.nxs")
        out["nexus"] = (nxs.read_bytes(), nexus_sts.read)
    return out


SEEDS = _seeds()


def _check(read: Callable, blob: bytes, name: str = "fuzz.bin") -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
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
    keep = data.draw(st.sampled_from([0, 16, 64, 1024]))
    tail = data.draw(st.binary(min_size=0, max_size=2048))
    _check(read, blob[:keep] + tail)
