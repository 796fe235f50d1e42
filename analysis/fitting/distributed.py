"""Run the batch fitter over dask.distributed.

The rows (spectra) are cut into chunks and each chunk is fitted by the same engine
(:func:`analysis.fitting.batch.fit_batch`) as a dask task. Starting values are computed by the caller
before the chunks are sent, so the maps equal those of an in-process run. Without a scheduler address a
``LocalCluster`` is started for the run (and closed afterwards); with an address
(``tcp://host:port``) the chunks go to that cluster, whose workers need this package installed.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from analysis.errors import FitError
from analysis.fitting.batch import BatchResult, FitCancelled, FitOptions, ProgressFn, fit_batch
from analysis.fitting.parallel import (
    ChunkResults,
    _fit_chunk,
    batch_inputs,
    chunk_args,
    cpu_count,
    split_rows,
)
from analysis.models.base import Model


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise FitError(
            "distributed fitting needs dask.distributed: pip install 'stsworkbench[distributed]'"
        ) from exc
    return distributed


def fit_batch_distributed(
    model: Model,
    x: np.ndarray,
    Y: np.ndarray,
    P0: np.ndarray,
    options: FitOptions | None = None,
    *,
    weights: np.ndarray | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    processes: bool = True,
    client=None,
    rows_per_task: int = 1024,
    connect_timeout: float = 10.0,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> BatchResult:
    """Fit the rows of ``Y`` (n, nb) over a dask cluster; same result as ``fit_batch``.

    ``client``: an existing ``distributed.Client`` (left open); else ``scheduler`` ("tcp://host:port")
    to connect to, else a ``LocalCluster`` of ``n_workers`` single-threaded workers (processes unless
    ``processes=False``) started and closed here. ``connect_timeout`` (s) bounds the wait for a scheduler.
    """
    options, Y, P0 = batch_inputs(model, Y, P0, options)
    n = Y.shape[0]
    if n == 0:
        return fit_batch(model, x, Y, P0, options, weights=weights)
    distributed = _import_distributed()
    own_client = own_cluster = None
    if client is None:
        try:
            if scheduler:
                own_client = distributed.Client(scheduler, timeout=f"{connect_timeout}s")
            else:
                own_cluster = distributed.LocalCluster(
                    n_workers=n_workers or cpu_count(),
                    threads_per_worker=1,
                    processes=processes,
                    dashboard_address=None,
                )
                own_client = distributed.Client(own_cluster)
        except OSError as exc:
            raise FitError(f"cannot reach the dask scheduler {scheduler or '(local)'}: {exc}") from exc
        client = own_client
    try:
        nw = max(1, len(client.scheduler_info().get("workers", {})) or 1)
        slices = split_rows(n, max(nw * 2, -(-n // rows_per_task)))
        x = np.asarray(x, float)
        [x_fut] = client.scatter([x], broadcast=True)
        futures = []
        for y, p, w in chunk_args(Y, P0, weights, slices):
            futures.append(client.submit(_fit_chunk, model, x_fut, y, p, options, w, pure=False))
        index = {f.key: i for i, f in enumerate(futures)}
        results = ChunkResults(slices, n, progress)
        ac = distributed.as_completed(futures)
        remaining = len(futures)
        while remaining:
            if cancel is not None and cancel.is_set():
                client.cancel(futures)
                raise FitCancelled("batch fit cancelled")
            batch = ac.next_batch(block=False)
            if not batch:
                time.sleep(0.05)
                continue
            for f in batch:
                results.add(index[f.key], f.result())
                remaining -= 1
        return results.merged()
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
