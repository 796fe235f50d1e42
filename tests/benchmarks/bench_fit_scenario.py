"""The fit scenario's batch fit: the whole 128 x 128 demo QP grid against the region it used to fit.

Both runs are :func:`analysis.fitting.maps.fit_grid` of the two-band SIS conductance (the scenario's model,
tip gaps fixed) on two worker processes, as the batch-fit dialog starts them:

* the whole grid with the ``"blocks"`` start (the fit of each 4 x 4-pixel block's mean spectrum starts its
  pixels), what ``--scenario fit`` runs now;
* the region the scenario fitted before: a 24 nm square across the edge of the normal (flux) disc towards
  the strongest grain, from the ``"global"`` start (a fit of the typical spectrum for every pixel).

Budget: the whole grid in less wall time than the region, both measured in this run (the pool is started
beforehand for both). The machine is shared: the CPU time the workers spent (summed over the chunks,
measured inside them) is reported beside the wall time, and the wall time the whole grid would take on two
otherwise idle cores (half the workers' CPU time) is given too. A further row gives the whole grid's
per-pixel CPU cost under each start strategy (``"blocks"`` against ``"global"`` on the same pixels).

Sizes: the full grid (quick: the central 48 x 48 pixels, against the same region).
"""

from __future__ import annotations

import time

import numpy as np

from tests.benchmarks.common import Row

REGION_SIZE_M = 24e-9
WORKERS = 2


def _demo():
    from analysis.demo.grids import make_demo

    qp, _ = make_demo(0)
    return qp


def _fixed() -> dict[str, float]:
    from analysis.demo.grids import TIP_DELTA_PI, TIP_DELTA_SIGMA, W_SIGMA_TIP

    return {"Delta_pi_t": TIP_DELTA_PI, "Delta_sigma_t": TIP_DELTA_SIGMA, "w_sigma_t": W_SIGMA_TIP}


def region_mask(qp) -> np.ndarray:
    """(ny, nx) mask of the square the fit scenario used to fit: across the flux disc's edge, on the side of
    the strongest grain."""
    from analysis.maps.regions import Rectangle

    info = qp.metadata["demo"]
    cx, cy = (float(v) for v in info["flux_region"]["center_m"])
    r = float(info["flux_region"]["radius_m"])
    u, v = info["grain_seeds_frac"][int(info["strongest_grain"])]
    (w, h), (fx, fy) = qp.frame.size, qp.frame.center
    gx, gy = fx + (u - 0.5) * w, fy + (v - 0.5) * h
    ux, uy = gx - cx, gy - cy
    norm = float(np.hypot(ux, uy)) or 1.0
    ux, uy = ux / norm, uy / norm
    d = r + REGION_SIZE_M / 2 - 6e-9
    rect = Rectangle(
        (cx + ux * d, cy + uy * d), (REGION_SIZE_M, REGION_SIZE_M), float(np.degrees(np.arctan2(uy, ux)))
    )
    return rect.mask(qp.frame)


def _timed_fit(model, x, Y, P0, options, weights=None):
    """Worker side: (CPU seconds, result) of one chunk."""
    from analysis.fitting.batch import fit_batch

    c0 = time.process_time()
    res = fit_batch(model, x, Y, P0, options, weights=weights)
    return time.process_time() - c0, res


class _CountingRunner:
    """A process runner (two workers, the chunks of :func:`fit_batch_parallel`) that sums the CPU time the
    workers spend on the chunks."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.cpu = 0.0

    def __call__(self, model, x, Y, P0, options, *, weights=None, progress=None, cancel=None):
        from analysis.fitting.batch import BatchResult
        from analysis.fitting.parallel import (
            CHUNKS_PER_WORKER,
            MIN_CHUNK_ROWS,
            batch_inputs,
            chunk_args,
            get_pool,
            split_rows,
        )

        options, Y, P0 = batch_inputs(model, Y, P0, options)
        if Y.shape[0] < 32:  # as fit_batch_parallel: a few rows are fitted in this process
            cpu, res = _timed_fit(model, x, Y, P0, options, weights)
            self.cpu += cpu
            return res
        slices = split_rows(Y.shape[0], self.workers * CHUNKS_PER_WORKER, min_rows=MIN_CHUNK_ROWS)
        pool = get_pool(self.workers)
        futures = [
            pool.submit(_timed_fit, model, x, y, p, options, w)
            for y, p, w in chunk_args(Y, P0, weights, slices)
        ]
        parts = []
        for f in futures:
            cpu, part = f.result()
            self.cpu += cpu
            parts.append(part)
        return BatchResult.concat(parts)


def _run(qp, model, mask, start: str) -> tuple[float, float, float, object]:
    """(wall s, worker CPU s, main-process CPU s, GridFit)."""
    from analysis.fitting.batch import FitOptions
    from analysis.fitting.maps import fit_grid

    runner = _CountingRunner(WORKERS)
    c0, t0 = time.process_time(), time.perf_counter()
    gf = fit_grid(
        qp, model, "dI/dV", mask=mask, start=start, options=FitOptions(fixed=_fixed()), runner=runner
    )
    return time.perf_counter() - t0, runner.cpu, time.process_time() - c0, gf


def bench_fit_scenario(quick: bool) -> list[Row]:
    from analysis.fitting.parallel import get_pool, single_threaded_blas
    from analysis.models.registry import get_model

    qp = _demo()
    model = get_model("two_band_sis_conductance")
    region = region_mask(qp)
    ny, nx = region.shape
    whole = np.ones((ny, nx), bool)
    if quick:
        whole[:] = False
        whole[ny // 2 - 24 : ny // 2 + 24, nx // 2 - 24 : nx // 2 + 24] = True
    with single_threaded_blas():
        get_pool(WORKERS).submit(int).result()  # the workers are up before either run
        t_r, w_r, c_r, g_r = _run(qp, model, region, "global")
        t_g, w_g, c_g, g_g = _run(qp, model, whole, "blocks")
    n_r, n_g = int(region.sum()), int(whole.sum())
    true = np.asarray(qp.params["Delta_pi_true"], float).ravel()
    j = model.param_names.index("Delta_pi_s")
    ok = g_g.result.success
    err = float(np.median(np.abs(g_g.result.values[ok, j] - true[g_g.index][ok]))) * 1e3
    idle = (w_g + c_g) / WORKERS
    rows = [
        Row(
            f"fit scenario: whole grid ({n_g} px) vs the former region ({n_r} px), wall",
            t_r / t_g,
            ">= 1x",
            t_g < t_r,
            note=f"whole grid {t_g:.1f} s wall, workers {w_g:.1f} s CPU + {c_g:.1f} s in this process "
            f"(about {idle:.0f} s on {WORKERS} idle cores), {int(ok.sum())}/{n_g} converged, median "
            f"|Delta_pi - truth| {err:.4f} meV; region {t_r:.1f} s wall, workers {w_r:.1f} s CPU + "
            f"{c_r:.1f} s here",
        )
    ]
    # the same pixels from the global start: what the blocks' starts save per pixel
    t_s, w_s, c_s, g_s = _run(qp, model, whole, "global") if not quick else (np.nan, np.nan, np.nan, None)
    if g_s is not None:
        per_b, per_s = (w_g + c_g) / n_g * 1e3, (w_s + c_s) / n_g * 1e3
        rows.append(
            Row(
                f"whole-grid fit ({n_g} px): CPU per pixel, global start / blocks start",
                per_s / per_b,
                "(info)",
                True,
                note=f"blocks {per_b:.2f} ms ({g_g.result.nfev.mean():.1f} evaluations per pixel), global "
                f"{per_s:.2f} ms ({g_s.result.nfev.mean():.1f}); wall {t_g:.0f} s vs {t_s:.0f} s",
            )
        )
    return rows


BENCHMARKS = [bench_fit_scenario]
