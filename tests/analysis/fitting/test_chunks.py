"""The pieces shared by the process-pool and dask runners: input normalisation and chunk collection."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import FitError
from analysis.fitting.batch import BatchResult, FitOptions, fit_batch
from analysis.fitting.parallel import ChunkResults, batch_inputs, split_rows
from tests.analysis.fitting._models import Lorentzian


def test_batch_inputs_broadcast_a_single_start_and_promote_one_spectrum():
    model = Lorentzian()
    options, Y, P0 = batch_inputs(model, np.arange(5.0), np.array([1.0, 0.1, 0.2, 0.0]), None)
    assert isinstance(options, FitOptions)
    assert Y.shape == (1, 5) and Y.dtype == np.float64
    np.testing.assert_array_equal(P0, [[1.0, 0.1, 0.2, 0.0]])
    own = FitOptions(max_iter=7)
    Y3 = np.ones((3, 4), dtype=np.float32)
    options, Y, P0 = batch_inputs(model, Y3, [1.0, 0.0, 0.1, 0.0], own)
    assert options is own
    assert Y.dtype == np.float64 and Y.shape == (3, 4)
    assert P0.shape == (3, 4)
    P0[0, 0] = 5.0  # a private copy, not a read-only broadcast view
    assert P0[1, 0] == 1.0
    rows = np.arange(12.0).reshape(3, 4)
    _o, _y, P0 = batch_inputs(model, Y3, rows, own)
    np.testing.assert_array_equal(P0, rows)


def _fit_rows(model, x, Y, sl):
    return fit_batch(model, x, Y[sl], np.array([1.0, 0.0, 0.1, 0.0]))


def test_chunk_results_keep_row_order_and_count_rows_whatever_order_chunks_finish():
    model = Lorentzian()
    x = np.linspace(-1, 1, 41)
    rng = np.random.default_rng(2)
    x0 = rng.uniform(-0.3, 0.3, 40)
    Y = np.stack([model.evaluate(x, 2.0, c, 0.1, 0.1) for c in x0])
    slices = split_rows(40, 3, min_rows=5)
    assert len(slices) == 3
    seen = []
    results = ChunkResults(slices, 40, lambda done, total: seen.append((done, total)))
    for i in (2, 0, 1):
        results.add(i, _fit_rows(model, x, Y, slices[i]))
    merged = results.merged()
    assert isinstance(merged, BatchResult) and len(merged) == 40
    whole = fit_batch(model, x, Y, np.array([1.0, 0.0, 0.1, 0.0]))
    np.testing.assert_allclose(merged.values, whole.values, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(merged.values[:, 1], x0, atol=1e-6)
    sizes = [sl.stop - sl.start for sl in slices]
    assert seen == [(sizes[2], 40), (sizes[2] + sizes[0], 40), (40, 40)]


def test_chunk_results_without_progress_and_partial_runs():
    model = Lorentzian()
    x = np.linspace(-1, 1, 21)
    Y = np.stack([model.evaluate(x, 1.0, 0.0, 0.1, 0.0)] * 20)
    slices = [slice(0, 8), slice(8, 20)]
    results = ChunkResults(slices, 20, None)
    results.add(1, _fit_rows(model, x, Y, slices[1]))
    assert results.done_rows == 12
    assert len(results.merged()) == 12  # only the finished chunk
    with pytest.raises(FitError, match="nothing to concatenate"):
        ChunkResults(slices, 20, None).merged()


def test_dask_run_reports_rows_done_and_matches_the_in_process_fit():
    distributed = pytest.importorskip("distributed")
    from analysis.fitting.distributed import fit_batch_distributed

    model = Lorentzian()
    x = np.linspace(-1, 1, 41)
    x0 = np.random.default_rng(5).uniform(-0.3, 0.3, 90)
    Y = np.stack([model.evaluate(x, 2.0, c, 0.1, 0.1) for c in x0])
    P0 = np.array([1.0, 0.0, 0.1, 0.0])
    seen = []
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        res = fit_batch_distributed(
            model, x, Y, P0, client=client, rows_per_task=30, progress=lambda d, t: seen.append((d, t))
        )
    np.testing.assert_array_equal(res.values, fit_batch(model, x, Y, P0).values)
    assert [t for _d, t in seen] == [90] * len(seen)
    done = [d for d, _t in seen]
    assert done == sorted(done) and done[-1] == 90 and len(done) >= 2
