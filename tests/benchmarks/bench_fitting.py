"""Batch Dynes fit of every pixel of a grid against per-pixel lmfit and least_squares loops.

Everything runs on one core (single-threaded BLAS) except the two-core row. Ratios are of CPU time (the
machine may be shared; wall times and their ratios are in the notes). Same data, same starting
values (a global fit of the mean spectrum), same bounds and tolerances (ftol = xtol = 1e-10) for every
method; the free parameters are G_N, Delta and Gamma (T fixed at the bath
temperature, as in the model's defaults). The per-pixel reference loops are timed on a random subset of
pixels and scaled to the whole grid (said in the row's note). Agreement: a pixel agrees when every free
parameter is within 0.1 standard error of the reference or, for energies, within 1e-4 meV.

A further row reports the fraction of the machine's matrix-multiply peak that the batch fit achieves: the
floating-point operations of the thermal-kernel products (counted while the fit runs) over the fit's wall
time, against the best single-threaded rate of a float64 matrix product of the same shape class measured in
the same run (informational; no budget).

Sizes: 128 x 128 x 256 (quick: 32 x 32 x 256).
"""

from __future__ import annotations

import time

import numpy as np

from tests.benchmarks.common import Row

BUDGET_LMFIT = 50.0
BUDGET_LSQ = 15.0
BUDGET_AGREE = 0.99
BUDGET_CORES = 1.8
TOL = 1e-10


def make_grid(n_side: int, nb: int = 256, seed: int = 0):
    """(model, x (nb,), Y (n, nb), P_true (n, k)): Dynes SIN spectra with smooth random maps + 1% noise."""
    from analysis.models.registry import get_model

    model = get_model("dynes_sin")
    rng = np.random.default_rng(seed)
    n = n_side * n_side
    x = np.linspace(-5e-3, 5e-3, nb)
    yy, xx = np.mgrid[0:n_side, 0:n_side] / max(n_side - 1, 1)
    P = np.tile(np.array([model.defaults()[k] for k in model.param_names]), (n, 1))
    P[:, 0] = (2e-8 * (1 + 0.1 * np.sin(3 * xx) * np.cos(2 * yy))).ravel()
    P[:, 1] = (1.35e-3 + 0.15e-3 * np.sin(4 * xx + 1) * np.sin(3 * yy)).ravel()
    P[:, 2] = (0.08e-3 + 0.03e-3 * yy).ravel()
    P[:, 3] = 1.5
    Y = model.evaluate_batch(x, P)
    Y += 0.01 * 2e-8 * rng.standard_normal(Y.shape)
    return model, x, Y, P


def _lmfit_loop(model, x, Y, p0, idx):
    lm = model.lmfit_model()
    names = model.param_names
    out = np.empty((idx.size, len(names)))
    for a, i in enumerate(idx):
        params = lm.make_params()
        for j, nme in enumerate(names):
            params[nme].set(value=p0[j])
        res = lm.fit(Y[i], params, x=x, fit_kws={"ftol": TOL, "xtol": TOL})
        out[a] = [res.params[nme].value for nme in names]
    return out


def _lsq_loop(model, x, Y, p0, idx, vary, lo, hi):
    from scipy.optimize import least_squares

    vi = np.flatnonzero(vary)
    out = np.empty((idx.size, len(p0)))
    for a, i in enumerate(idx):
        full = p0.copy()
        # Residuals in units of the data's typical size: same minimum, and gtol (absolute) is meaningful.
        s = 1.0 / float(np.median(np.abs(Y[i])))

        def fun(v, i=i, full=full, s=s):
            full[vi] = v
            return (model.evaluate_batch(x, full[None, :])[0] - Y[i]) * s

        def jac(v, full=full, s=s):
            full[vi] = v
            return model.jacobian_batch(x, full[None, :])[0][:, vi] * s

        res = least_squares(
            fun,
            p0[vi],
            jac=jac,
            bounds=(lo[vi], hi[vi]),
            method="trf",
            x_scale="jac",
            ftol=TOL,
            xtol=TOL,
            gtol=TOL,
        )
        full = p0.copy()
        full[vi] = res.x
        out[a] = full
    return out


def _agree(batch_vals, batch_se, ref_vals, vary, units) -> np.ndarray:
    """(m,) True where every free parameter agrees (0.1 sigma, or 1e-4 meV for energies)."""
    ok = np.ones(batch_vals.shape[0], bool)
    for j in np.flatnonzero(vary):
        d = np.abs(batch_vals[:, j] - ref_vals[:, j])
        tol = 0.1 * batch_se[:, j]
        if units[j] == "eV":
            tol = np.maximum(tol, 1e-7)
        ok &= d <= tol
    return ok


def bench_batch_dynes(quick: bool) -> list[Row]:
    from analysis.fitting.parallel import single_threaded_blas

    # One core against one core: BLAS single-threaded in this process as in the worker processes.
    with single_threaded_blas():
        return _bench_batch_dynes(quick)


def _bench_batch_dynes(quick: bool) -> list[Row]:
    from analysis.fitting.batch import FitOptions, fit_batch, global_start
    from analysis.fitting.parallel import fit_batch_parallel

    side = 32 if quick else 128
    n_ref = 60 if quick else 500
    model, x, Y, _ = make_grid(side)
    n = Y.shape[0]
    opts = FitOptions(ftol=TOL, xtol=TOL)
    vary, lo, hi = opts.resolved(model)
    p0 = global_start(model, x, Y, opts)
    units = [p.unit for p in model.params]

    c0, t0 = time.process_time(), time.perf_counter()
    with _count_matmul_flops() as flops:
        res = fit_batch(model, x, Y, p0, opts)
    t_batch, c_batch = time.perf_counter() - t0, time.process_time() - c0
    peak = _matmul_peak()
    peak32 = _matmul_peak(np.float32)

    rng = np.random.default_rng(1)
    idx = np.sort(rng.choice(n, size=min(n_ref, n), replace=False))
    c0, t0 = time.process_time(), time.perf_counter()
    ref_lm = _lmfit_loop(model, x, Y, p0, idx)
    t_lm, c_lm = (time.perf_counter() - t0) / idx.size * n, (time.process_time() - c0) / idx.size * n
    c0, t0 = time.process_time(), time.perf_counter()
    ref_ls = _lsq_loop(model, x, Y, p0, idx, vary, lo, hi)
    t_ls, c_ls = (time.perf_counter() - t0) / idx.size * n, (time.process_time() - c0) / idx.size * n

    agree_lm = float(np.mean(_agree(res.values[idx], res.stderr[idx], ref_lm, vary, units)))
    agree_ls = float(np.mean(_agree(res.values[idx], res.stderr[idx], ref_ls, vary, units)))
    agree = min(agree_lm, agree_ls)
    size = f"{side}x{side}x256"
    scaled = f"reference timed on {idx.size} random pixels, scaled to {n}"
    rows = [
        Row(
            f"batch Dynes fit {size} vs lmfit.Model.fit loop (CPU)",
            c_lm / c_batch,
            f">= {BUDGET_LMFIT:g}x",
            c_lm / c_batch >= BUDGET_LMFIT,
            note=f"batch {c_batch:.1f} s CPU ({t_batch:.1f} s wall) on one core, "
            f"{int(res.success.sum())}/{n} converged; lmfit {c_lm:.0f} s CPU "
            f"({t_lm:.0f} s wall, {t_lm / t_batch:.1f}x); {scaled}",
        ),
        Row(
            f"batch Dynes fit {size} vs least_squares loop (analytic J, CPU)",
            c_ls / c_batch,
            f">= {BUDGET_LSQ:g}x",
            c_ls / c_batch >= BUDGET_LSQ,
            note=f"least_squares {c_ls:.0f} s CPU ({t_ls:.0f} s wall, {t_ls / t_batch:.1f}x); {scaled}",
        ),
        Row(
            f"batch Dynes fit {size}: pixels agreeing with references",
            agree * 100,
            f">= {BUDGET_AGREE * 100:g}%",
            agree >= BUDGET_AGREE,
            unit="%",
            note=f"lmfit {agree_lm * 100:.1f}%, least_squares {agree_ls * 100:.1f}% (0.1 sigma or 1e-4 meV)",
        ),
    ]

    achieved = flops.total / c_batch
    rows.append(
        Row(
            f"batch Dynes fit {size}: fraction of the matmul peak",
            achieved / peak * 100,
            "report",
            True,
            unit="%",
            note=f"{achieved / 1e9:.2f} GFLOP/s in the kernel products ({flops.total / 1e9:.1f} GFLOP in "
            f"{c_batch:.1f} s CPU) vs a measured single-threaded float64 peak of {peak / 1e9:.1f} GFLOP/s "
            f"(float32 peak {peak32 / 1e9:.1f} GFLOP/s, i.e. {achieved / peak32 * 100:.1f}% of it)",
        )
    )

    # Two cores against one, on the same pixels. The CPU time the chunks take inside the workers is
    # reported too: on a machine that other work keeps busy, wall time cannot show the speed-up that the
    # CPU time bounds.
    for w in (1, 2):  # start the worker processes
        fit_batch_parallel(model, x, Y[:64], p0, opts, workers=w, in_process_single=False)
    t0 = time.perf_counter()
    one = fit_batch_parallel(model, x, Y, p0, opts, workers=1, in_process_single=False)
    t1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    two = fit_batch_parallel(model, x, Y, p0, opts, workers=2)
    t2 = time.perf_counter() - t0
    cpu1, cpu2 = _worker_cpu(model, x, Y, p0, opts, 1), _worker_cpu(model, x, Y, p0, opts, 2)
    same = bool(
        np.array_equal(one.status, two.status)
        and np.allclose(one.values, two.values, rtol=1e-12, equal_nan=True)
    )
    bound = 2 * cpu1 / cpu2 if cpu2 > 0 else float("nan")
    rows.append(
        Row(
            f"batch Dynes fit, two cores vs one ({n} pixels)",
            t1 / t2,
            f">= {BUDGET_CORES:g}x",
            t1 / t2 >= BUDGET_CORES and same,
            note=f"wall {t1:.1f} s vs {t2:.1f} s; CPU in the workers {cpu1:.1f} s vs {cpu2:.1f} s, i.e. "
            f"{bound:.2f}x on two otherwise idle cores; single-threaded BLAS, workers started beforehand; "
            f"maps identical: {same}",
        )
    )
    return rows


class _count_matmul_flops:
    """Counts 2 m k n for every thermal-kernel product of the batched Dynes model while active."""

    def __enter__(self):
        from analysis.models import bcs

        self.total = 0.0
        self._mod = bcs
        self._orig = bcs._matmul

        def counted(a, b):
            self.total += 2.0 * a.shape[0] * a.shape[1] * b.shape[1]
            return self._orig(a, b)

        bcs._matmul = counted
        return self

    def __exit__(self, *exc) -> None:
        self._mod._matmul = self._orig


def _matmul_peak(dtype=np.float64) -> float:
    """Best single-threaded matrix-product rate (FLOP/s) in ``dtype`` over a few shapes like the kernel
    products (32 rows against a few hundred to thousands of nodes) and a large square product."""
    from tests.benchmarks.common import best_time

    rng = np.random.default_rng(0)
    best = 0.0
    for m, k, n in ((32, 2048, 256), (32, 512, 64), (512, 512, 512)):
        a, b = rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)
        t = best_time(lambda a=a, b=b: a @ b, repeat=5, number=3)
        best = max(best, 2.0 * m * k * n / t)
    return best


def _timed_chunk(model, x, Y, P0, options) -> float:
    """Worker side: CPU seconds of one chunk's batch fit."""
    from analysis.fitting.batch import fit_batch

    c0 = time.process_time()
    fit_batch(model, x, Y, P0, options)
    return time.process_time() - c0


def _worker_cpu(model, x, Y, p0, opts, workers: int) -> float:
    """Total CPU seconds the chunks of a ``workers``-process run take inside the workers."""
    from analysis.fitting.parallel import CHUNKS_PER_WORKER, MIN_CHUNK_ROWS, get_pool, split_rows

    pool = get_pool(workers)
    P0 = np.broadcast_to(p0, (Y.shape[0], p0.size))
    futures = [
        pool.submit(_timed_chunk, model, x, Y[sl], np.ascontiguousarray(P0[sl]), opts)
        for sl in split_rows(Y.shape[0], workers * CHUNKS_PER_WORKER, min_rows=MIN_CHUNK_ROWS)
    ]
    return float(sum(f.result() for f in futures))


BENCHMARKS = [bench_batch_dynes]
