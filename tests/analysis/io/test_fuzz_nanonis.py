"""Fuzzing the Nanonis readers: truncated, bit-flipped, header-mutated and random files.

Whatever the bytes, a reader either returns well-formed datasets or raises ReadError, and it finishes
quickly (the hypothesis deadline).
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.dataset import Frame, Grid, Image, Spectrum
from analysis.errors import ReadError
from analysis.io import nanonis_grid, nanonis_image, nanonis_spectrum
from analysis.io.nanonis_write import write_3ds, write_dat, write_sxm
from tests.conftest import SHARED_DATA

FUZZ = settings(
    max_examples=40,
    deadline=3000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
HEADER_CHARS = b'0123456789 .-+E;x="\r\n\t:()[]abc'


@functools.cache
def seeds() -> dict[str, tuple[bytes, int]]:
    """Small synthetic files of each kind: name -> (bytes, header length)."""
    rng = np.random.default_rng(7)
    out: dict[str, tuple[bytes, int]] = {}
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "g.3ds"
        cur = rng.standard_normal((3, 4, 6)).astype(np.float32)
        frame = Frame(center=(1e-8, 2e-8), size=(4e-9, 3e-9), angle=10.0, shape=(3, 4))
        n = write_3ds(p, {"Current (A)": cur, "Current [bwd] (A)": cur}, sweep=(0.1, -0.1), frame=frame)
        out["3ds"] = (p.read_bytes(), n)
        p = Path(d) / "mls.3ds"
        n = write_3ds(
            p, {"Current (A)": cur[..., :5]}, frame=frame, segments=[(0, 1, 0, 0, 3), (1, 2, 0, 0, 3)]
        )
        out["3ds-mls"] = (p.read_bytes(), n)
        p = Path(d) / "i.sxm"
        z = rng.standard_normal((3, 4)).astype(np.float32)
        n = write_sxm(p, {"Z": ("m", z, z), "Current": ("A", z, None)}, frame=frame, scan_dir="down")
        out["sxm"] = (p.read_bytes(), n)
        p = Path(d) / "s.dat"
        x = np.linspace(-1, 1, 6)
        write_dat(
            p, {"Bias calc (V)": x, "Current (A)": x, "Current [bwd] (A)": x}, [("X (m)", "1E-9")], bom=True
        )
        raw = p.read_bytes()
        out["dat"] = (raw, raw.index(b"[DATA]"))
    return out


READERS = {"3ds": nanonis_grid, "3ds-mls": nanonis_grid, "sxm": nanonis_image, "dat": nanonis_spectrum}
KINDS = {nanonis_grid: Grid, nanonis_image: Image, nanonis_spectrum: Spectrum}


def _check(module, data: bytes, workdir: Path) -> None:
    path = workdir / "fuzz.bin"
    path.write_bytes(data)
    assert isinstance(module.sniff(data[:4096], path), bool)
    try:
        out = module.READER.read(path)
    except ReadError as exc:
        assert str(path) in str(exc)
        return
    assert len(out) == 1 and isinstance(out[0], KINDS[module])
    ds = out[0]
    if isinstance(ds, Grid):
        ny, nx, nb = ds.shape
        assert ds.valid.shape == (ny, nx) and ds.valid.any()
        assert np.all(np.isfinite(ds.bias)) and np.all(np.diff(ds.bias) >= 0)
        for cube in ds.channels.values():
            assert cube.shape == (ny, nx, nb) and cube.dtype == np.float32 and cube.flags.c_contiguous
    elif isinstance(ds, Image):
        for img in ds.channels.values():
            assert img.shape == ds.frame.shape and img.dtype == np.float32
    else:
        assert all(v.shape == ds.x.shape for v in ds.channels.values())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("kind", list(READERS))
@FUZZ
@given(data=st.data())
def test_truncated(kind: str, workdir: Path, data) -> None:
    raw, _ = seeds()[kind]
    n = data.draw(st.integers(0, len(raw)))
    _check(READERS[kind], raw[:n], workdir)


@pytest.mark.parametrize("kind", list(READERS))
@FUZZ
@given(data=st.data())
def test_bit_flips(kind: str, workdir: Path, data) -> None:
    raw, _ = seeds()[kind]
    buf = bytearray(raw)
    for pos, bit in data.draw(
        st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 7)), max_size=12)
    ):
        buf[pos] ^= 1 << bit
    _check(READERS[kind], bytes(buf), workdir)


@pytest.mark.parametrize("kind", list(READERS))
@FUZZ
@given(data=st.data())
def test_header_mutations(kind: str, workdir: Path, data) -> None:
    raw, hlen = seeds()[kind]
    buf = bytearray(raw)
    edits = st.tuples(st.integers(0, hlen - 1), st.sampled_from(list(HEADER_CHARS)))
    for pos, ch in data.draw(st.lists(edits, min_size=1, max_size=6)):
        buf[pos] = ch
    _check(READERS[kind], bytes(buf), workdir)


@pytest.mark.parametrize("kind", list(READERS))
@FUZZ
@given(data=st.data())
def test_random_bytes_after_a_real_prefix(kind: str, workdir: Path, data) -> None:
    raw, hlen = seeds()[kind]
    cut = data.draw(st.integers(0, hlen + 16))
    tail = data.draw(st.binary(max_size=2048))
    _check(READERS[kind], raw[:cut] + tail, workdir)


REAL = {
    "nanonis/NanonisReader_STS_grid_lockin.3ds": nanonis_grid,
    "nanonis/FeSe_topography.sxm": nanonis_image,
    "nanonis/i_v.dat": nanonis_spectrum,
    "nanonis/STS_nanonis_generic_4_5.dat": nanonis_spectrum,
}


@pytest.mark.realdata
@pytest.mark.parametrize("rel", list(REAL))
@settings(max_examples=15, deadline=5000, derandomize=True)
@given(data=st.data())
def test_real_files_mutated(rel: str, workdir: Path, data) -> None:
    path = SHARED_DATA / rel
    if not path.is_file():
        pytest.skip(f"real instrument file {rel} not available (../shared/data is absent)")
    raw = bytearray(path.read_bytes())
    head = min(len(raw), 6000)
    for pos, bit in data.draw(st.lists(st.tuples(st.integers(0, head - 1), st.integers(0, 7)), max_size=6)):
        raw[pos] ^= 1 << bit
    n = data.draw(st.sampled_from([len(raw), len(raw) - 1, len(raw) // 2, head]))
    _check(REAL[rel], bytes(raw[:n]), workdir)
