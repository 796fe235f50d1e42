"""Transport series budgets: importing text sweeps and dV/dI of a whole series.

* Import: 1,000 text files of 2,000 points (quick: 200), each a current-biased neck I(V) with a header
  line ``I (A)<TAB>V (V)``, through :func:`analysis.transport.import_series` with a file-name tag pattern,
  against a plain ``np.loadtxt(path, skiprows=1)`` loop over the same files (both read warm files from the
  page cache), in five interleaved rounds, best of each. Budget <= 1.0x.
* dV/dI: :func:`analysis.transport.derivative` (Savitzky-Golay, window 7, along the swept current) of that
  series, against one ``np.gradient`` pass over the same (n_sweeps, n_points) array. Budget <= 3x.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from analysis.series import make_series
from analysis.transport import derivative, import_series
from tests.benchmarks.common import Row, best_time


def _write(folder: Path, n_files: int, n_points: int) -> list[Path]:
    i = np.linspace(-2.5e-4, 2.5e-4, n_points)
    paths = []
    for k in range(n_files):
        h = 0.15 * k / max(n_files - 1, 1)
        v = 20.0 * i + 2e-4 * np.tanh(i / 5e-5) * (1 - h / 0.2)
        p = folder / f"neck3_{h:.6f}T.dat"
        np.savetxt(p, np.c_[i, v], fmt="%.10e", delimiter="\t", header="I (A)\tV (V)", comments="")
        paths.append(p)
    return paths


def bench_import(quick: bool) -> list[Row]:
    n_files = 200 if quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write(Path(tmp), n_files, 2000)

        def ours() -> None:
            res = import_series(paths, patterns={"H": "neck3_{}T.dat"})
            assert len(res.series) == n_files and not res.problems

        def plain() -> None:
            for p in paths:
                np.loadtxt(p, skiprows=1)

        plain()  # warm the page cache
        # interleaved rounds (the order alternating), best of each: a shared machine's load drifts
        t_ours = t_plain = float("inf")
        for r in range(5):
            for fn in (ours, plain) if r % 2 == 0 else (plain, ours):
                t = best_time(fn, repeat=1)
                if fn is ours:
                    t_ours = min(t_ours, t)
                else:
                    t_plain = min(t_plain, t)
    ratio = t_ours / t_plain
    note = f"{n_files} files x 2000 points: {t_ours * 1e3:.0f} ms vs loadtxt loop {t_plain * 1e3:.0f} ms"
    return [Row("series: import text sweeps vs np.loadtxt loop", ratio, "<= 1.0x", ratio <= 1.0, note=note)]


def bench_dvdi(quick: bool) -> list[Row]:
    n_sweeps = 200 if quick else 1000
    i = np.linspace(-2.5e-4, 2.5e-4, 2000)
    rng = np.random.default_rng(0)
    V = 20.0 * i[None, :] + 2e-4 * np.tanh(i / 5e-5)[None, :] * rng.uniform(0.2, 1.0, (n_sweeps, 1))
    s = make_series([{"I": i, "V": v} for v in V], x_channel="I", units={"I": "A", "V": "V"})

    def ours() -> None:
        derivative(s)

    def grad() -> None:
        np.gradient(V, i, axis=1)

    t_ours = best_time(ours, repeat=5)
    t_grad = best_time(grad, repeat=5)
    ratio = t_ours / t_grad
    note = f"{n_sweeps} x 2000: {t_ours * 1e3:.1f} ms vs np.gradient {t_grad * 1e3:.1f} ms"
    return [
        Row("series: dV/dI of the series vs one np.gradient pass", ratio, "<= 3x", ratio <= 3.0, note=note)
    ]


BENCHMARKS = [bench_import, bench_dvdi]
