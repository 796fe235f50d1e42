"""Project store budgets: a 1 GB project file opens lazily; bias slices and pixel spectra read fast.

The file (512 x 512 x 1024 float32, quick: 128 x 128 x 256) is written slab by slab from a synthetic lazy
cube, so the writer never holds the cube in memory. Opening and reading run in a fresh subprocess, so
the measured resident memory is the opener's own: the increase of RSS across ``open_project``. The reads
are "cold-ish": each one opens the file anew and picks a random index (the OS page cache stays warm).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from analysis.dataset import Frame, Grid
from analysis.store import ProjectEntry, save_project
from tests.benchmarks.common import Row

ROOT = Path(__file__).resolve().parents[2]

_PROBE = r"""
import json, sys, time
import numpy as np
import psutil
import h5py  # imported before the baseline: only what opening the file costs is measured
from analysis.store import open_project

path, repeats = sys.argv[1], int(sys.argv[2])
proc = psutil.Process()
rng = np.random.default_rng()
rss0 = proc.memory_info().rss
t0 = time.perf_counter()
project = open_project(path)
t_open = time.perf_counter() - t0
rss1 = proc.memory_info().rss
grid = project.entries[0].dataset
ny, nx, nb = grid.shape
project.close()
opens, slices, spectra = [t_open], [], []
for _ in range(repeats):
    t0 = time.perf_counter()
    p = open_project(path)
    opens.append(time.perf_counter() - t0)
    g = p.entries[0].dataset
    k = int(rng.integers(nb))
    t0 = time.perf_counter()
    img = g.bias_slice("dI/dV", k)
    slices.append(time.perf_counter() - t0)
    iy, ix = (int(v) for v in rng.integers(0, [ny, nx]))
    t0 = time.perf_counter()
    spec = g.spectrum("dI/dV", iy, ix)
    spectra.append(time.perf_counter() - t0)
    assert img.shape == (ny, nx) and spec.shape == (nb,)
    assert float(img[iy, ix]) == float(spec[k])
    p.close()
print(json.dumps({"open": opens, "rss_mb": (rss1 - rss0) / 2**20, "slice": slices, "spectrum": spectra}))
"""


class SyntheticCube:
    """A lazy (ny, nx, nb) float32 cube computed slab by slab (value = iy + ix / 1000 + k / 1e6)."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.shape = shape
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key: slice) -> np.ndarray:
        y0, y1, _ = key.indices(self.shape[0])
        ny, nx, nb = self.shape
        out = np.empty((y1 - y0, nx, nb), np.float32)
        out[...] = np.arange(nb, dtype=np.float32) * np.float32(1e-6)
        out += (np.arange(nx, dtype=np.float32) * np.float32(1e-3))[None, :, None]
        out += np.arange(y0, y1, dtype=np.float32)[:, None, None]
        return out


def _write(path: Path, shape: tuple[int, int, int]) -> float:
    ny, nx, nb = shape
    grid = Grid(
        name="big",
        units={"dI/dV": "S"},
        bias=np.linspace(-15e-3, 15e-3, nb),
        channels={"dI/dV": SyntheticCube(shape)},
        frame=Frame(size=(220e-9, 220e-9), shape=(ny, nx)),
        valid=np.ones((ny, nx), bool),
    )
    t0 = time.perf_counter()
    save_project(path, [ProjectEntry("big", "big grid", grid)])
    return time.perf_counter() - t0


def bench_project_store(quick: bool) -> list[Row]:
    shape = (128, 128, 256) if quick else (512, 512, 1024)
    size_txt = "x".join(str(s) for s in shape)
    with tempfile.TemporaryDirectory(prefix="stsw-bench-") as d:
        path = Path(d) / "big.h5"
        t_write = _write(path, shape)
        gb = path.stat().st_size / 1e9
        res = subprocess.run(
            [sys.executable, "-c", _PROBE, str(path), "7"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        if res.returncode != 0:
            raise RuntimeError(f"store probe failed: {res.stderr.strip()[-2000:]}")
        r = json.loads(res.stdout.strip().splitlines()[-1])
    t_open = float(np.median(r["open"]))
    t_slice = float(np.median(r["slice"]))
    t_spec = float(np.median(r["spectrum"]))
    note = f"{size_txt} float32, {gb:.2f} GB written in {t_write:.1f} s"
    return [
        Row(f"store: open project file ({size_txt})", t_open, "< 0.2 s", t_open < 0.2, "s", note),
        Row(
            f"store: resident memory added by opening ({size_txt})",
            r["rss_mb"],
            "< 150 MB",
            r["rss_mb"] < 150,
            " MB",
        ),
        Row(
            f"store: bias slice from a fresh open ({size_txt})",
            t_slice,
            "< 0.02 s",
            t_slice < 0.02,
            "s",
            "median of 7",
        ),
        Row(
            f"store: pixel spectrum from a fresh open ({size_txt})",
            t_spec,
            "< 0.02 s",
            t_spec < 0.02,
            "s",
            "median of 7",
        ),
    ]


BENCHMARKS = [bench_project_store]
