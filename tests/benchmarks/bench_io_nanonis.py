"""Loading a Nanonis grid (.3ds) against the floor: ``np.fromfile`` of the same bytes; and its peak memory.

Quick: 128x128 pixels x 256 points x 4 channels (~67 MB). Full: 512x512 x 1024 points x 1 channel (~1 GB).
The file is written by the project's own writer to a temporary folder, so both timings read it from the
page cache; the budget is the ratio of the best times. The memory budget is the growth of the peak
resident memory of a fresh process across ``read_grid`` (Linux: the peak ``VmHWM`` reset through
``/proc/self/clear_refs`` just before, minus the resident memory then), divided by the data bytes: the
grid itself is as large as the data, so 1.0x is the floor.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from analysis.dataset import Frame
from analysis.io.nanonis_grid import read_grid
from analysis.io.nanonis_write import write_3ds
from tests.benchmarks.common import Row

BUDGET = 1.5
MEMORY_BUDGET = 1.3
ROOT = Path(__file__).resolve().parents[2]

_PEAK = r"""
import json, sys
from analysis.io.nanonis_grid import read_grid


def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key + ":"))


base = status("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # the peak (VmHWM) starts again from the current resident memory
grid = read_grid(sys.argv[1])
print(json.dumps({"grew": status("VmHWM") - base, "shape": list(grid.shape)}))
"""


def interleaved_best(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Best wall time of each function, the runs alternating so that load from other processes on the
    machine hits both sides alike (GC off while timing)."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - t0)
            finally:
                gc.enable()
    return best


def bench_3ds_load(quick: bool) -> list[Row]:
    n, nb, nch, repeat = (128, 256, 4, 15) if quick else (512, 1024, 1, 5)
    bias = np.linspace(-0.015, 0.015, nb, dtype=np.float32)
    spectrum = (1.0 + 0.5 * np.tanh(bias / 0.002) ** 2).astype(np.float32)
    cube = np.broadcast_to(spectrum, (n, n, nb))  # a view: the writer streams it line by line
    frame = Frame(center=(0.0, 0.0), size=(220e-9, 220e-9), shape=(n, n))
    labels = ["Current (A)", "LI Demod 1 X (A)", "Current [bwd] (A)", "LI Demod 1 X [bwd] (A)"][:nch]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.3ds"
        offset = write_3ds(path, {lab: cube for lab in labels}, sweep=(-0.015, 0.015), frame=frame)
        size_mb = path.stat().st_size / 1e6
        grid = read_grid(path)
        assert grid.shape == (n, n, nb) and grid.valid.all()
        del grid
        t_floor, t_read = interleaved_best(
            [lambda: np.fromfile(path, dtype=">f4", offset=offset), lambda: read_grid(path)], repeat
        )
    ratio = t_read / t_floor
    note = f"{n}x{n}x{nb}x{nch}, {size_mb:.0f} MB: read {t_read * 1e3:.0f} ms, floor {t_floor * 1e3:.0f} ms"
    name = ".3ds load vs np.fromfile of the same bytes"
    return [Row(name, ratio, f"<= {BUDGET}x", ratio <= BUDGET, note=note)]


def bench_3ds_memory(quick: bool) -> list[Row]:
    """Peak resident memory of reading a .3ds in a fresh process, over the data bytes (Linux)."""
    if sys.platform != "linux":
        return []
    n, nb, nch = (128, 256, 4) if quick else (512, 1024, 1)
    bias = np.linspace(-0.015, 0.015, nb, dtype=np.float32)
    cube = np.broadcast_to((1.0 + 0.5 * np.tanh(bias / 0.002) ** 2).astype(np.float32), (n, n, nb))
    labels = ["Current (A)", "LI Demod 1 X (A)", "Current [bwd] (A)", "LI Demod 1 X [bwd] (A)"][:nch]
    frame = Frame(center=(0.0, 0.0), size=(220e-9, 220e-9), shape=(n, n))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.3ds"
        offset = write_3ds(path, {lab: cube for lab in labels}, sweep=(-0.015, 0.015), frame=frame)
        data = path.stat().st_size - offset
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        done = subprocess.run(
            [sys.executable, "-c", _PEAK, str(path)], capture_output=True, text=True, env=env, check=True
        )
    grew = json.loads(done.stdout.strip().splitlines()[-1])["grew"]
    ratio = grew / data
    note = f"{n}x{n}x{nb}x{nch}: peak +{grew / 1e6:.0f} MB for {data / 1e6:.0f} MB of data"
    name = ".3ds load: peak memory growth vs the data bytes"
    return [Row(name, ratio, f"< {MEMORY_BUDGET}x", ratio < MEMORY_BUDGET, note=note)]


BENCHMARKS = [bench_3ds_load, bench_3ds_memory]
