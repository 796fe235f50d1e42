"""Every reader fuzzed with seeded mutations of the shared real files and of files the project writes
(issue 16, "Must also hold").

For each reader, ``STS_FUZZ_N`` inputs (default :data:`DEFAULT_N`; the long run is ``STS_FUZZ_N=10000``),
each made from one seed file by one mutation: a truncation, bit flips, byte overwrites, an insertion, a
deleted span, or an edit of a size the header declares. Each input is read in a separate worker process
(:mod:`tests.analysis.io.fuzz_worker`) with a time limit (``STS_FUZZ_TIMEOUT`` seconds) and a memory limit
(its peak resident memory may grow by at most :data:`MEMORY_FLOOR` plus :data:`MEMORY_PER_BYTE` times the
input's size). The test fails on

* any exception other than ReadError, a crash, a hang, a memory blow-up;
* a dataset that is not well formed (shapes that disagree, a non-finite frame) or that cannot be saved
  into a project file and opened again;
* a silent read of a file that disagrees with its header: a truncation, deletion or insertion in the data
  of a format whose header fixes the data size, or an edit of such a size, must give a warning or a
  ReadError.

Inputs are reproducible: input ``i`` of reader ``r`` uses ``random.Random(f"{r}-{i}")``. With
``STS_FUZZ_REPORT=file.json`` the figures of the run (outcomes, slowest input, largest memory growth) are
written there.
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Frame, Grid, Image, Spectrum
from analysis.io import registry
from analysis.io.gwyddion_write import write_gwy
from analysis.io.nanonis_write import write_3ds, write_dat, write_sxm
from analysis.store import Attachment, ProjectEntry, save_project
from tests.analysis.io.fuzz_support import matrix_files, written_files
from tests.analysis.io.test_createc_image import write_image
from tests.analysis.io.test_createc_vert import write_vert
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_N = 200
MEMORY_FLOOR = 96 << 20
MEMORY_PER_BYTE = 16
CREATEC_HEADER = 16384


def _n() -> int:
    return int(os.environ.get("STS_FUZZ_N", DEFAULT_N))


def _timeout() -> float:
    return float(os.environ.get("STS_FUZZ_TIMEOUT", 20))


# ----------------------------------------------------------------------------------------------------------
# seeds


@dataclass
class Seed:
    """A file to mutate, and what its format says about it: where the data begin (None: the format has
    no header that fixes the data), whether the data are text, the patterns of the sizes its header
    declares, and a fixed header length that edits must keep."""

    name: str
    blob: bytes
    data_start: int | None
    text: bool = False
    binary_data: bool = False  # inserting or deleting data bytes must show
    sizes: tuple[bytes, ...] = ()
    fixed_header: int | None = None
    same_length: bool = False  # size edits keep the number of characters (JSON inside HDF5)
    int32_sizes: tuple[int, ...] = ()  # offsets of binary int32 size fields the reader uses (Gwyddion)
    filename: str | None = None  # the name the reader is given (a format that finds files by name)
    companions: dict[str, bytes] = field(default_factory=dict)  # files written beside it, unmutated
    mutated_file: str | None = None  # the companion that gets the mutated bytes instead
    reads: bool = True  # False: the unmutated seed is refused (a ReadError), not read


def _3ds_start(raw: bytes) -> int:
    i = raw.index(b":HEADER_END:") + len(b":HEADER_END:")
    return i + (2 if raw[i : i + 2] == b"\r\n" else 1)


def _dat_start(raw: bytes) -> int:
    i = raw.index(b"[DATA]")
    i = raw.index(b"\n", i) + 1
    return raw.index(b"\n", i) + 1


def _vert_start(raw: bytes) -> int:
    m = re.search(rb"\r?\nDATA[ \t]*\r?\n", raw)
    assert m is not None
    return raw.index(b"\n", m.end()) + 1


SIZES_3DS = (
    rb'Grid dim="(\d+) x \d+"',
    rb'Grid dim="\d+ x (\d+)"',
    rb"\nPoints=(\d+)",
    rb"# Parameters \(4 byte\)=(\d+)",
    rb"Experiment size \(bytes\)=(\d+)",
)
SIZES_SXM = (rb":SCAN_PIXELS:\s*\n\s*(\d+)\s+\d+", rb":SCAN_PIXELS:\s*\n\s*\d+\s+(\d+)")
SIZES_DAT = (rb"Num Pixel\t(\d+)",)
SIZES_VERT = (rb"\nDATA[ \t]*\r?\n\s*(\d+)",)
SIZES_CREATEC = (rb"Num\.X=(\d+)", rb"Num\.Y=(\d+)", rb"Channels=(\d+)")
SIZES_PROJECT = (rb'"shape": \[(\d+), \d+\]', rb'"shape": \[\d+, (\d+)\]')


def _real(rel: str) -> bytes | None:
    p = SHARED_DATA / rel
    return p.read_bytes() if p.is_file() else None


def _grid_seed(folder: Path, name: str, **kw) -> Seed:
    rng = np.random.default_rng(7)
    cube = rng.standard_normal((5, 4, 12)).astype(np.float32)
    frame = Frame(center=(1e-8, 2e-8), size=(4e-9, 5e-9), angle=10.0, shape=(5, 4))
    p = folder / f"{name}.3ds"
    write_3ds(p, {"Current (A)": cube, "Current [bwd] (A)": cube * 2}, frame=frame, **kw)
    raw = p.read_bytes()
    return Seed(name, raw, _3ds_start(raw), binary_data=True, sizes=SIZES_3DS)


def _gwy_size_fields(raw: bytes) -> tuple[int, ...]:
    """Offsets of the ``xres``/``yres``/``zres`` values of the objects the reader uses (not those of the
    preview images Gwyddion keeps beside a volume)."""
    skip = []
    for m in re.finditer(rb"/preview\x00o", raw):
        start = m.end()
        name_end = raw.index(b"\x00", start) + 1
        (size,) = struct.unpack_from("<I", raw, name_end)
        skip.append((start, name_end + 4 + size))
    spots = [m.end() for m in re.finditer(rb"[xyz]res\x00i", raw)]
    return tuple(p for p in spots if not any(a <= p < b for a, b in skip))


def make_seeds(folder: Path) -> dict[str, list[Seed]]:
    """Seed files for every built-in reader: files the project's own writers make, and the shared real
    instrument files when ``../shared/data`` is there."""
    rng = np.random.default_rng(11)
    seeds: dict[str, list[Seed]] = {}

    grid = [
        _grid_seed(folder, "grid"),
        _grid_seed(folder, "grid-mls", segments=[(0, 1, 0, 0, 6), (1.2, 2, 0, 0, 6)]),
    ]
    real = _real("nanonis/NanonisReader_STS_grid_lockin.3ds")
    if real is not None:
        grid.append(Seed("real.3ds", real, _3ds_start(real), binary_data=True, sizes=SIZES_3DS))
    seeds["nanonis_grid"] = grid

    frame = Frame(center=(1e-8, 2e-8), size=(4e-9, 3e-9), angle=10.0, shape=(6, 8))
    z = rng.standard_normal((6, 8)).astype(np.float32)
    p = folder / "i.sxm"
    start = write_sxm(p, {"Z": ("m", z, z), "Current": ("A", z, None)}, frame=frame, scan_dir="down")
    image = [Seed("image.sxm", p.read_bytes(), start, binary_data=True, sizes=SIZES_SXM)]
    real = _real("nanonis/FeSe_topography.sxm")
    if real is not None:
        start = real.index(b"\x1a\x04", real.index(b":SCANIT_END:")) + 2
        image.append(Seed("real.sxm", real, start, binary_data=True, sizes=SIZES_SXM))
    seeds["nanonis_image"] = image

    p = folder / "s.dat"
    x = np.linspace(-1e-2, 1e-2, 40)
    write_dat(
        p,
        {"Bias calc (V)": x, "Current (A)": x * 1e-9, "Current [bwd] (A)": x * 2e-9},
        [("X (m)", "1E-9"), ("Bias Spectroscopy>Num Pixel", "40")],
        bom=True,
    )
    raw = p.read_bytes()
    spectrum = [Seed("spectrum.dat", raw, _dat_start(raw), text=True, sizes=SIZES_DAT)]
    for rel in ("nanonis/i_v.dat", "nanonis/STS_nanonis_generic_4_5.dat"):
        real = _real(rel)
        if real is not None:
            spectrum.append(Seed(rel, real, _dat_start(real), text=True, sizes=SIZES_DAT))
    seeds["nanonis_spectrum"] = spectrum

    raw = write_vert(
        folder / "a.VERT", np.linspace(-10, 10, 24), columns={0: np.arange(24.0), 1: np.ones(24)}
    ).read_bytes()
    vert = [Seed("synthetic.VERT", raw, _vert_start(raw), text=True, sizes=SIZES_VERT)]
    real = _real("createc/A190824.135614.VERT")
    if real is not None:
        vert.append(Seed("real.VERT", real, _vert_start(real), text=True, sizes=SIZES_VERT))
    seeds["createc_vert"] = vert

    stack = rng.integers(-3000, 3000, size=(4, 6, 8)).astype(np.float32)
    createc = []
    for version in ("Paramet32", "Parameter", "Paramco32"):
        raw = write_image(folder / f"{version}.dat", stack, version=version).read_bytes()
        createc.append(
            Seed(
                version,
                raw,
                CREATEC_HEADER,
                binary_data=version != "Paramco32",
                sizes=SIZES_CREATEC,
                fixed_header=CREATEC_HEADER,
            )
        )
    real = _real("createc/A200621.161352.dat")
    if real is not None:
        createc.append(
            Seed("real Paramco32", real, CREATEC_HEADER, sizes=SIZES_CREATEC, fixed_header=CREATEC_HEADER)
        )
    seeds["createc_image"] = createc

    seeds["text_columns"] = [
        Seed(
            "iv.csv",
            b"# T = 4.2 K\n# units: mV, nA\nV, I\n"
            + b"".join(b"%d, %g\n" % (i, i * 0.5) for i in range(-10, 11)),
            None,
        ),
        Seed(
            "g.tsv",
            b"Bias (mV)\tG (uS)\tI [nA]\n"
            + b"".join(b"%g\t%g\t%g\n" % (i / 3, 1 + i % 3, i) for i in range(30)),
            None,
        ),
    ]

    g = Grid(
        name="g",
        units={"dI/dV": "S"},
        bias=np.linspace(-1e-3, 1e-3, 9),
        channels={"dI/dV": rng.standard_normal((4, 5, 9)).astype(np.float32)},
        frame=Frame(center=(0.0, 0.0), size=(5e-9, 4e-9), shape=(4, 5)),
        valid=np.ones((4, 5), bool),
    )
    img = Image(name="t", units={"Z": "m"}, channels={"Z": z}, frame=Frame(size=(8e-9, 6e-9), shape=(6, 8)))
    sp = Spectrum(name="s", units={"I": "A"}, x=np.linspace(0, 1, 7), channels={"I": np.arange(7.0)})
    p = folder / "w.gwy"
    write_gwy(p, [g, img, sp])
    raw = p.read_bytes()
    seeds["gwyddion"] = [Seed("written.gwy", raw, 4, int32_sizes=_gwy_size_fields(raw))]

    from tests.analysis.store.test_store import make_grid, make_image, make_spectrum

    p = save_project(
        folder / "p.h5",
        [
            ProjectEntry("g", "grid", make_grid(rng, shape=(4, 5, 6))),
            ProjectEntry("i", "image", make_image(rng)),
            ProjectEntry("s", "spectrum", make_spectrum(), parent="g"),
        ],
        {"regions": Attachment({"regions": []}, {"mask": np.ones((4, 5), bool)})},
    )
    seeds["project_hdf5"] = [Seed("written.h5", p.read_bytes(), 0, sizes=SIZES_PROJECT, same_length=True)]

    # readers whose layouts the oracle does not model: crashes, hangs, memory and what opens must save
    files = written_files(folder, rng)
    seeds["createc_specgrid"] = [Seed("written.specgrid", files["specgrid"].read_bytes(), None)]
    seeds["rhk_sm4"] = [
        Seed("image.SM4", files["sm4_image"].read_bytes(), None),
        Seed("grid.SM4", files["sm4_grid"].read_bytes(), None),
    ]
    seeds["nexus_sts"] = [Seed("written.nxs", files["nexus"].read_bytes(), None)]

    # MATRIX: the project writes no file access2theMatrix decodes, so the seeds are the result and
    # parameter files the MATRIX tests write, which the reader refuses; mutating either one exercises
    # the library's parsing of damaged files (exceptions, hangs, memory)
    m = folder / "matrix"
    m.mkdir()
    result = matrix_files(m)
    params = (m / "exp_0001.mtrx").read_bytes()
    seeds["omicron_matrix"] = [
        Seed(
            "result Z_mtrx",
            result.read_bytes(),
            None,
            filename=result.name,
            companions={"exp_0001.mtrx": params},
            reads=False,
        ),
        Seed(
            "parameters mtrx",
            params,
            None,
            filename=result.name,
            companions={result.name: result.read_bytes()},
            mutated_file="exp_0001.mtrx",
            reads=False,
        ),
    ]
    return seeds


# ----------------------------------------------------------------------------------------------------------
# mutations


def _splice(seed: Seed, blob: bytes, start: int, end: int, new: bytes) -> bytes:
    """``blob`` with ``blob[start:end]`` replaced by ``new``; a fixed-length header keeps its length (its
    NUL padding absorbs the difference)."""
    out = blob[:start] + new + blob[end:]
    h = seed.fixed_header
    if h is not None and start < h and end <= h:
        head = out[: h + len(new) - (end - start)]
        head = head[:h] if len(head) >= h else head + b"\x00" * (h - len(head))
        out = head + blob[h:]
    return out


def _edited_number(value: bytes, rnd: random.Random, same_length: bool) -> bytes:
    v = int(value)
    if same_length:
        choices = [
            str(d).encode() for d in range(10 ** (len(value) - 1) if len(value) > 1 else 1, 10 ** len(value))
        ]
        choices = [c for c in choices if c != value and len(c) == len(value)]
        return rnd.choice(choices[:50] + choices[-50:])
    options = [
        v + 1,
        v - 1,
        max(v // 2, 1),
        2 * v,
        0,
        -1,
        b"1.5",
        b"nan",
        b"1e999",
        b"9223372036854775808",
        b"",
        b"x",
    ]
    pick = rnd.choice([o for o in options if (o if isinstance(o, bytes) else str(o).encode()) != value])
    return pick if isinstance(pick, bytes) else str(pick).encode()


def mutate(seed: Seed, rnd: random.Random) -> tuple[bytes, str, bool]:
    """``(blob, description, must_warn)``: one mutation of ``seed``; ``must_warn`` when the result
    disagrees with its own header, so that a silent read is a failure."""
    blob = seed.blob
    n = len(blob)
    kinds = ["truncate", "flip", "overwrite", "insert", "delete"]
    if seed.sizes or seed.int32_sizes:
        kinds += ["size", "size"]
    kind = rnd.choice(kinds)
    ds = seed.data_start
    if kind == "truncate":
        cut = rnd.randrange(ds, n) if ds is not None and rnd.random() < 0.6 else rnd.randrange(0, n)
        removed = blob[cut:]
        content = removed.strip(b" \t\r\n") if seed.text else removed
        must = ds is not None and cut >= ds and bool(content)
        return blob[:cut], f"truncate at {cut} of {n}", must
    if kind == "flip":
        out = bytearray(blob)
        for _ in range(rnd.randint(1, 8)):
            pos = rnd.randrange(n)
            out[pos] ^= 1 << rnd.randrange(8)
        return bytes(out), "bit flips", False
    if kind == "overwrite":
        out = bytearray(blob)
        head = ds if ds is not None and ds > 16 else n  # the header, or the whole of a binary container
        for _ in range(rnd.randint(1, 4)):
            pos = rnd.randrange(head)
            out[pos] = rnd.choice([0, 0xFF, 0x0A, 0x39, 0x2D, 0x2E, rnd.randrange(256)])
        return bytes(out), "byte overwrites", False
    if kind in ("insert", "delete"):
        in_data = ds is not None and rnd.random() < 0.6
        pos = rnd.randrange(ds, n) if in_data else rnd.randrange(0, n)
        if kind == "insert":
            extra = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 64)))
            must = seed.binary_data and ds is not None and pos >= ds
            return _splice(seed, blob, pos, pos, extra), f"insert {len(extra)} at {pos}", must
        k = rnd.randint(1, min(64, n - pos))
        must = seed.binary_data and ds is not None and pos >= ds
        return _splice(seed, blob, pos, pos + k, b""), f"delete {k} at {pos}", must
    # an edit of a size the header declares
    if seed.int32_sizes:
        pos = rnd.choice(seed.int32_sizes)
        (v,) = struct.unpack_from("<i", blob, pos)
        new = rnd.choice([w for w in (v + 1, v - 1, max(v // 2, 1), 2 * v, 0, -1, 2**31 - 1) if w != v])
        key = blob[pos - 6 : pos - 2].decode()
        return blob[:pos] + struct.pack("<i", new) + blob[pos + 4 :], f"int32 {key} {v} -> {new}", True
    pattern = rnd.choice(seed.sizes)
    m = re.search(pattern, blob)
    if m is None:  # this seed's header lacks that entry
        return blob, "no edit", False
    new = _edited_number(m.group(1), rnd, seed.same_length)
    out = _splice(seed, blob, m.start(1), m.end(1), new)
    return out, f"size {pattern[:24]!r}: {m.group(1)!r} -> {new!r}", True


# ----------------------------------------------------------------------------------------------------------
# the worker process


class Worker:
    """The fuzz worker (see :mod:`tests.analysis.io.fuzz_worker`), restarted after a hang or a crash."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.restarts = 0

    def _start(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT), STS_PROBE_TIMEOUT=str(max(1.0, _timeout() / 3)))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.analysis.io.fuzz_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
        self.lines = queue.Queue()
        stdout = self.proc.stdout

        def pump() -> None:
            for raw in stdout:
                self.lines.put(raw.decode("utf-8", "replace"))
            self.lines.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def run(self, reader: str, path: Path, must_warn: bool, first: bool) -> dict:
        if self.proc is None:
            self._start()
            first = True
        assert self.proc is not None and self.proc.stdin is not None
        request = json.dumps({"reader": reader, "path": str(path), "must_warn": must_warn})
        try:
            self.proc.stdin.write(request.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        limit = _timeout() + (30 if first else 0)  # the first request also waits for the imports
        t0 = time.monotonic()
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, limit - (time.monotonic() - t0)))
            except queue.Empty:
                self.stop()
                self.restarts += 1
                return {"outcome": "hang", "detail": f"no answer within {limit:g} s", "seconds": limit}
            if line is None:
                code = self.proc.wait(10)
                self.proc = None
                self.restarts += 1
                return {"outcome": "crash", "detail": f"worker died (exit status {code})", "seconds": 0.0}
            if line.startswith("{"):
                return json.loads(line)


def _place(folder: Path, reader: str, seed: Seed, blob: bytes) -> Path:
    """Write ``blob`` as the seed's file (or as its mutated companion, the others unmutated) in
    ``folder``; the path to give the reader."""
    path = folder / (seed.filename or f"fuzz-{reader}.bin")
    for name, data in seed.companions.items():
        (folder / name).write_bytes(data)
    (folder / seed.mutated_file if seed.mutated_file else path).write_bytes(blob)
    return path


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, list[Seed]]:
    return make_seeds(tmp_path_factory.mktemp("fuzz-seeds"))


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()


FAILURES = {"exception", "crash", "hang", "memory", "malformed", "unsavable"}


@pytest.mark.timeout(0)
@pytest.mark.parametrize("reader", sorted(r.name for r in registry().readers()))
def test_fuzz_reader(reader, seeds, worker, tmp_path):
    if reader not in seeds:
        pytest.skip(f"no seed files for the reader {reader!r}: add them to make_seeds()")
    n = _n()
    counts: Counter[str] = Counter()
    failures: list[str] = []
    slowest = (0.0, "")
    biggest = (0, "")
    baseline: dict[str, set[str]] = {}  # the warnings of each unmutated seed
    for seed in seeds[reader]:
        path = _place(tmp_path, reader, seed, seed.blob)
        res = worker.run(reader, path, False, first=not baseline)
        assert res["outcome"] == ("read" if seed.reads else "refused"), (seed.name, res)
        baseline[seed.name] = set(res.get("warnings", []))
    t_start = time.monotonic()
    for i in range(n):
        rnd = random.Random(f"{reader}-{i}")
        seed = rnd.choice(seeds[reader])
        blob, what, must_warn = mutate(seed, rnd)
        path = _place(tmp_path, reader, seed, blob)
        res = worker.run(reader, path, must_warn, first=False)
        outcome = res["outcome"]
        new_warnings = set(res.get("warnings", [])) - baseline[seed.name]
        if outcome == "read" and must_warn and not new_warnings:
            outcome = "silent"
            res["detail"] = "read without a warning although the file disagrees with its header"
        grew = int(res.get("grew", 0))
        if outcome not in FAILURES and grew > MEMORY_FLOOR + MEMORY_PER_BYTE * len(blob):
            outcome = "memory"
            res["detail"] = f"peak resident memory grew by {grew / 2**20:.0f} MB for {len(blob)} bytes"
        counts[outcome] += 1
        if outcome == "refused" and "HDF5 did not finish reading" in res.get("detail", ""):
            counts["refused: HDF5 hang stopped by the probe"] += 1
        elif outcome == "refused" and "HDF5 library crashed" in res.get("detail", ""):
            counts["refused: HDF5 crash caught by the probe"] += 1
        label = f"{reader} #{i} ({seed.name}: {what})"
        if outcome in FAILURES or outcome == "silent":
            failures.append(f"{label}: {outcome}: {res.get('detail', '')} {res.get('where', '')}")
        seconds = float(res.get("seconds", 0.0))
        if seconds > slowest[0]:
            slowest = (seconds, label)
        if grew > biggest[0]:
            biggest = (grew, label)
    elapsed = time.monotonic() - t_start
    report = {
        "reader": reader,
        "inputs": n,
        "outcomes": dict(counts),
        "failures": len(failures),
        "slowest_s": round(slowest[0], 3),
        "slowest": slowest[1],
        "max_growth_MB": round(biggest[0] / 2**20, 1),
        "max_growth": biggest[1],
        "elapsed_s": round(elapsed, 1),
        "worker_restarts": worker.restarts,
    }
    print(json.dumps(report))
    out = os.environ.get("STS_FUZZ_REPORT")
    if out:
        with open(out, "a") as fh:
            fh.write(json.dumps({**report, "first_failures": failures[:20]}) + "\n")
    assert not failures, f"{len(failures)} of {n} inputs failed:\n" + "\n".join(failures[:15])


def test_mutations_are_reproducible_and_the_seeds_read_cleanly(seeds, worker, tmp_path):
    """The same index gives the same input; the unmutated seeds written by the project read without a
    warning (a warning on a mutated one then means something)."""
    for reader, group in seeds.items():
        for seed in group:
            a = mutate(seed, random.Random(f"{reader}-3"))
            assert a == mutate(seed, random.Random(f"{reader}-3"))
            if seed.name.startswith(("real", "nanonis/", "createc/")):
                continue
            p = _place(tmp_path, reader, seed, seed.blob)
            res = worker.run(reader, p, False, first=False)
            if not seed.reads:
                assert res["outcome"] == "refused", (reader, seed.name, res)
                continue
            expected = {  # what these seeds say of themselves
                "project_hdf5": ["aborted grid: 3 lines missing"],
                "nexus_sts": ["aborted grid: 3 lines missing"],
                "createc_specgrid": [
                    "no Createc header in fuzz-createc_specgrid.bin.dat beside the grid: "
                    "data are raw DAC values"
                ],
            }.get(reader, [])
            assert res["outcome"] == "read" and res["warnings"] == expected, (reader, seed.name, res)
