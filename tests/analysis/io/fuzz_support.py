"""What the hypothesis fuzz jobs (:mod:`tests.analysis.io.test_fuzz_formats`,
:mod:`tests.analysis.io.test_fuzz_other_readers`) share: the settings, the check of one input, and the
three mutations (a truncation, bit flips, random bytes after the first bytes of a seed)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from analysis.errors import ReadError

#: Hypothesis settings of the fuzz jobs: 40 inputs per reader and mutation, no deadline.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

Seeds = Mapping[str, tuple[bytes, Callable]]


def check(read: Callable, blob: bytes, name: str = "fuzz.bin") -> None:
    """Read ``blob`` (written as ``name``) with ``read``: a ReadError, or a non-empty list of datasets
    whose every channel can be read whole; anything else fails the test."""
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


def truncated(seeds: Seeds, kind: str, data: st.DataObject) -> None:
    """The seed ``kind`` cut at a drawn length."""
    blob, read = seeds[kind]
    cut = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    check(read, blob[:cut])


def bit_flipped(seeds: Seeds, kind: str, data: st.DataObject) -> None:
    """The seed ``kind`` with one to eight drawn bits flipped."""
    raw, read = seeds[kind]
    blob = bytearray(raw)
    flips = data.draw(st.lists(st.integers(min_value=0, max_value=len(blob) * 8 - 1), min_size=1, max_size=8))
    for bit in flips:
        blob[bit // 8] ^= 1 << (bit % 8)
    check(read, bytes(blob))


def random_after_magic(seeds: Seeds, kind: str, data: st.DataObject, keeps: Sequence[int]) -> None:
    """The first ``keep`` bytes of the seed ``kind`` (``keep`` drawn from ``keeps``), then up to 2 kB of
    random bytes."""
    blob, read = seeds[kind]
    keep = data.draw(st.sampled_from(list(keeps)))
    tail = data.draw(st.binary(min_size=0, max_size=2048))
    check(read, blob[:keep] + tail)


def written_files(folder: Path, rng: np.random.Generator) -> dict[str, Path]:
    """Files the project's writers and test writers make, for the readers without real seed files:
    ``specgrid`` (Createc, no companion header), ``sm4_image`` and ``sm4_grid`` (RHK: one image page;
    one line page of four curves on a 2 x 2 lattice), ``nexus`` (a grid and a spectrum)."""
    from analysis.io.nexus_sts import write_nxsts
    from tests.analysis.io.sm4_writer import Page, write_sm4
    from tests.analysis.io.test_createc_specgrid import write_specgrid
    from tests.analysis.store.test_store import make_grid, make_spectrum

    spectra = rng.integers(-100, 100, size=(2, 3, 6, 2)).astype(np.float32)
    out = {"specgrid": write_specgrid(folder / "a.specgrid", spectra, np.linspace(-5, 5, 6), companion=False)}
    out["sm4_image"] = write_sm4(
        folder / "b.SM4", [Page(rng.integers(-50, 50, size=(4, 5)).astype(np.int32))]
    )
    iy, ix = np.divmod(np.arange(4), 2)
    line = Page(
        rng.integers(-50, 50, size=(4, 6)).astype(np.int32),
        data_type=1,
        x_unit="V",
        x_scale=0.01,
        positions=np.column_stack([ix * 1e-10, iy * 1e-10]),
    )
    out["sm4_grid"] = write_sm4(folder / "c.SM4", [line])
    out["nexus"] = write_nxsts([make_grid(rng, shape=(2, 3, 4)), make_spectrum()], folder / "d.nxs")
    return out


def matrix_files(folder: Path, channel: str = "Z") -> Path:
    """The Omicron MATRIX result file ``exp--4_1.<channel>_mtrx`` the MATRIX tests write (the file
    signature, a ``TLKB`` block tag, zeros) with its parameter file ``exp_0001.mtrx`` beside it."""
    from analysis.io.omicron_matrix import MAGIC, PARAMETER_MAGIC

    data = folder / f"exp--4_1.{channel}_mtrx"
    data.write_bytes(MAGIC + b"TLKB" + b"\x00" * 32)
    (folder / "exp_0001.mtrx").write_bytes(PARAMETER_MAGIC + b"\x00" * 32)
    return data
