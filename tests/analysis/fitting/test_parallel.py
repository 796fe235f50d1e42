"""Process pool and dask.distributed runners give the in-process maps."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from analysis.fitting.batch import FitCancelled, FitOptions, fit_batch, guess_starts
from analysis.fitting.maps import dask_runner, fit_grid, process_runner
from analysis.fitting.parallel import fit_batch_parallel, split_rows
from tests.analysis.fitting._models import Lorentzian, synthetic, synthetic_grid


def test_split_rows_covers_everything_once():
    for n, parts in [(100, 8), (5, 8), (1000, 3), (17, 1)]:
        sl = split_rows(n, parts)
        idx = np.concatenate([np.arange(s.start, s.stop) for s in sl])
        np.testing.assert_array_equal(idx, np.arange(n))


def test_process_pool_equals_in_process():
    model = Lorentzian()
    x, Y, _ = synthetic(n=300, seed=11)
    P0 = guess_starts(model, x, Y)
    ref = fit_batch(model, x, Y, P0)
    seen = []
    par = fit_batch_parallel(model, x, Y, P0, workers=2, progress=lambda d, t: seen.append(d))
    np.testing.assert_array_equal(par.status, ref.status)
    np.testing.assert_allclose(par.values, ref.values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(par.stderr, ref.stderr, rtol=1e-9)
    assert seen[-1] == 300


def test_process_pool_cancel():
    model = Lorentzian()
    x, Y, _ = synthetic(n=400, seed=12)
    ev = threading.Event()
    ev.set()
    with pytest.raises(FitCancelled):
        fit_batch_parallel(model, x, Y, guess_starts(model, x, Y), workers=2, cancel=ev)


def test_grid_maps_same_with_processes():
    grid, _ = synthetic_grid(ny=10, nx=10)
    a = fit_grid(grid, Lorentzian()).to_image()
    b = fit_grid(grid, Lorentzian(), runner=process_runner(2)).to_image()
    for name in a.channels:
        np.testing.assert_array_equal(a.channels[name], b.channels[name])


def test_dask_local_cluster_gives_same_maps():
    pytest.importorskip("distributed")
    grid, _ = synthetic_grid(ny=10, nx=10)
    opts = FitOptions(fit_range=(-0.9, 0.9))
    a = fit_grid(grid, Lorentzian(), options=opts).to_image()
    b = fit_grid(
        grid, Lorentzian(), options=opts, runner=dask_runner(n_workers=2, processes=False)
    ).to_image()
    for name in a.channels:
        np.testing.assert_array_equal(a.channels[name], b.channels[name])


def test_dask_scheduler_address_and_cancel():
    distributed = pytest.importorskip("distributed")
    from analysis.fitting.distributed import fit_batch_distributed

    model = Lorentzian()
    x, Y, _ = synthetic(n=120, seed=13)
    P0 = guess_starts(model, x, Y)
    ref = fit_batch(model, x, Y, P0)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        res = fit_batch_distributed(model, x, Y, P0, scheduler=address, rows_per_task=50)
        np.testing.assert_array_equal(res.values, ref.values)
        ev = threading.Event()
        ev.set()
        with pytest.raises(FitCancelled):
            fit_batch_distributed(model, x, Y, P0, scheduler=address, cancel=ev)


def test_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    from analysis.errors import FitError
    from analysis.fitting.distributed import fit_batch_distributed

    model = Lorentzian()
    x, Y, _ = synthetic(n=10, seed=14)
    with pytest.raises(FitError, match="cannot reach the dask scheduler"):
        fit_batch_distributed(
            model, x, Y, guess_starts(model, x, Y), scheduler="tcp://127.0.0.1:9", connect_timeout=1.0
        )


def test_single_threaded_blas_restores_the_thread_count():
    from analysis.fitting.parallel import _blas_thread_functions, single_threaded_blas

    funcs = _blas_thread_functions()
    before = [g() for _, g in funcs]
    with single_threaded_blas() as ctx:
        assert ctx.active == bool(funcs)
        assert all(g() == 1 for _, g in funcs)
    assert [g() for _, g in funcs] == before


def test_ramp_rows_start_small_double_and_cover_everything_once():
    from analysis.fitting.parallel import ramp_rows

    slices = ramp_rows(16384, 2, 4, first=64)
    sizes = [s.stop - s.start for s in slices]
    assert sizes[:8] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert max(sizes) == 4096 and sum(sizes) == 16384
    assert all(a.stop == b.start for a, b in zip(slices, slices[1:])) and slices[0].start == 0
    for n, workers, parts in [(1, 1, 1), (33, 2, 4), (1000, 3, 6), (200, 8, 16)]:
        sl = ramp_rows(n, workers, parts)
        covered = np.concatenate([np.arange(s.start, s.stop) for s in sl])
        np.testing.assert_array_equal(covered, np.arange(n))
