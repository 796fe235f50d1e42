"""Spread a batch fit over the cores with worker processes.

The rows (spectra) are cut into chunks; each chunk is fitted by :func:`analysis.fitting.batch.fit_batch`
in a worker process and the results are put back in order. Fitting is per spectrum, so the maps do not
depend on how the rows were cut. Processes are used rather than threads because the per-iteration work
is many small numpy calls that hold the GIL most of the time.

Workers are started with the ``forkserver`` method (safe in a process that runs Qt threads) and kept in a
pool per worker count for later runs; :func:`shutdown_pools` stops them (also at exit).
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from analysis.errors import FitError
from analysis.fitting.batch import BatchResult, FitCancelled, FitOptions, ProgressFn, fit_batch
from analysis.models.base import Model

_POOLS: dict[int, ProcessPoolExecutor] = {}
_LOCK = threading.Lock()


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


#: Worker processes run their BLAS single-threaded: the cores are shared out by processes instead.
_WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class _worker_env:
    """Set the worker environment while processes (or the fork server) are started."""

    def __enter__(self) -> None:
        self._old = {k: os.environ.get(k) for k in _WORKER_ENV}
        os.environ.update(_WORKER_ENV)

    def __exit__(self, *exc: object) -> None:
        for k, v in self._old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_BLAS_SETTERS = (
    "openblas_set_num_threads",
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
)


def _blas_thread_functions() -> list[tuple[object, object]]:
    """(set, get) pairs of the OpenBLAS thread-count functions of the libraries loaded in this process."""
    import ctypes

    paths = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1] if line.strip() else ""
                if "openblas" in path.lower() and path.startswith("/"):
                    paths.add(path)
    except OSError:
        return []
    out = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _BLAS_SETTERS:
            setter = getattr(lib, name, None)
            getter = getattr(lib, name.replace("set_num", "get_num"), None)
            if setter is not None and getter is not None:
                setter.argtypes = [ctypes.c_int]
                getter.restype = ctypes.c_int
                out.append((setter, getter))
                break
    return out


class single_threaded_blas:
    """Context manager running OpenBLAS with one thread in this process (restored afterwards).

    The batched evaluations call BLAS on small matrices, where threads cost more than they give; the
    benchmark uses this to compare one core with one core. Does nothing when no OpenBLAS is found.
    """

    def __enter__(self) -> single_threaded_blas:
        self._saved = []
        for setter, getter in _blas_thread_functions():
            self._saved.append((setter, int(getter())))
            setter(1)
        return self

    def __exit__(self, *exc: object) -> None:
        for setter, n in self._saved:
            setter(n)

    @property
    def active(self) -> bool:
        return bool(self._saved)


def _context():
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["numpy", "analysis.fitting.batch"])
        from multiprocessing import forkserver

        with _worker_env():
            forkserver.ensure_running()
    return ctx


def _noop() -> int:
    return os.getpid()


def get_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool with ``workers`` processes, created on first use and reused."""
    with _LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            with _worker_env():
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
                # Start every worker now, with the single-threaded BLAS environment.
                for f in [pool.submit(_noop) for _ in range(workers)]:
                    f.result()
            _POOLS[workers] = pool
        return pool


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down now: queued chunks are dropped and workers still fitting one are terminated (a
    chunk of slow spectra can take minutes, and nothing waits for a result that was cancelled)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        if proc.is_alive():
            proc.terminate()
    for proc in workers:
        proc.join(timeout=2.0)


def _drop_pool(workers: int, pool: ProcessPoolExecutor) -> None:
    with _LOCK:
        if _POOLS.get(workers) is pool:
            del _POOLS[workers]
    _stop(pool)


def shutdown_pools() -> None:
    """Stop every worker pool started by this module (at exit too: a cancelled or abandoned fit never
    keeps the process alive)."""
    with _LOCK:
        for pool in _POOLS.values():
            _stop(pool)
        _POOLS.clear()


atexit.register(shutdown_pools)


def _fit_chunk(
    model: Model,
    x: np.ndarray,
    Y: np.ndarray,
    P0: np.ndarray,
    options: FitOptions,
    weights: np.ndarray | None,
) -> BatchResult:
    """Worker entry point: one chunk of rows."""
    return fit_batch(model, x, Y, P0, options, weights=weights)


#: Chunks per worker of a parallel run (at least ``MIN_CHUNK_ROWS`` rows each): several per worker, so that a
#: chunk of slow spectra (a normal zone where a gap closes, pixels on a grain boundary) does not leave the
#: other workers idle at the end of the run.
CHUNKS_PER_WORKER = 8
MIN_CHUNK_ROWS = 256


def split_rows(n: int, parts: int, min_rows: int = 16) -> list[slice]:
    """Cut ``range(n)`` into about ``parts`` contiguous slices of at least ``min_rows`` rows."""
    parts = max(1, min(parts, max(1, n // max(1, min_rows))))
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


#: Rows of the first chunk each worker gets (a fraction of a second of fitting), doubling from there.
FIRST_CHUNK_ROWS = 64


def ramp_rows(n: int, workers: int, parts: int, first: int = FIRST_CHUNK_ROWS) -> list[slice]:
    """Cut ``range(n)`` into contiguous slices that start small and double in size: each of the
    ``workers`` gets a first slice of ``first`` rows, then ``2 first``, ``4 first``, ... up to the size
    of :func:`split_rows` into ``parts`` slices. The first results (and progress) come back within a
    fraction of a second however large ``n`` is, while the later, larger slices keep the per-chunk
    overhead small."""
    workers = max(1, int(workers))
    first = max(1, int(first))
    cap = max(first, -(-n // max(1, parts)))
    out: list[slice] = []
    start = i = 0
    while start < n:
        size = min(cap, first << min(i // workers, 30))
        stop = min(n, start + size)
        out.append(slice(start, stop))
        start, i = stop, i + 1
    return out


def batch_inputs(
    model: Model, Y: np.ndarray, P0: np.ndarray, options: FitOptions | None
) -> tuple[FitOptions, np.ndarray, np.ndarray]:
    """The inputs of a chunked run: ``options`` (defaults when None), ``Y`` as (n, nb) float and ``P0`` as
    (n, k) (a (k,) ``P0`` is repeated for every row)."""
    options = options or FitOptions()
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    n, k = Y.shape[0], len(model.params)
    P0 = np.asarray(P0, float)
    P0 = np.broadcast_to(P0, (n, k)).copy() if P0.ndim == 1 else P0
    return options, Y, P0


class ChunkResults:
    """The results of the chunks of one run, kept in row order, with progress counted in rows.

    ``slices`` are the row slices of the chunks (from :func:`ramp_rows` or :func:`split_rows`), ``total``
    the number of rows;
    :meth:`add` stores the result of chunk ``i`` and reports ``progress(rows done, total)``.
    """

    def __init__(self, slices: list[slice], total: int, progress: ProgressFn | None) -> None:
        self.slices = slices
        self.total = total
        self.progress = progress
        self.parts: list[BatchResult | None] = [None] * len(slices)
        self.done_rows = 0

    def add(self, i: int, part: BatchResult) -> None:
        self.parts[i] = part
        self.done_rows += self.slices[i].stop - self.slices[i].start
        if self.progress is not None:
            self.progress(self.done_rows, self.total)

    def merged(self) -> BatchResult:
        """One :class:`BatchResult` of the rows of every stored chunk, in order."""
        return BatchResult.concat([p for p in self.parts if p is not None])


def chunk_args(
    Y: np.ndarray, P0: np.ndarray, weights: np.ndarray | None, slices: list[slice]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    w2 = weights is not None and np.ndim(weights) == 2
    out = []
    for sl in slices:
        w = None if weights is None else (np.asarray(weights)[sl] if w2 else np.asarray(weights))
        out.append((np.ascontiguousarray(Y[sl]), np.ascontiguousarray(P0[sl]), w))
    return out


def fit_batch_parallel(
    model: Model,
    x: np.ndarray,
    Y: np.ndarray,
    P0: np.ndarray,
    options: FitOptions | None = None,
    *,
    weights: np.ndarray | None = None,
    workers: int | None = None,
    chunks_per_worker: int | None = None,
    in_process_single: bool = True,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> BatchResult:
    """:func:`~analysis.fitting.batch.fit_batch` over ``workers`` processes (default: all cores).

    With ``workers == 1`` the fit runs in this process (unless ``in_process_single`` is False: then in one
    worker process, single-threaded, which is how the one-core speed is measured). ``cancel`` stops the
    run within one chunk's time: pending chunks are dropped and :class:`FitCancelled` is raised.
    Chunks start small and grow (:func:`ramp_rows`), and while the worker processes start (seconds, the
    first time) this thread fits the first chunks itself, so ``progress(done, total)`` (rows) moves
    within a fraction of a second and then once per chunk.
    """
    options, Y, P0 = batch_inputs(model, Y, P0, options)
    n = Y.shape[0]
    workers = cpu_count() if workers is None else max(1, int(workers))
    if (workers == 1 and in_process_single) or n < 32:
        return fit_batch(model, x, Y, P0, options, weights=weights, progress=progress, cancel=cancel)
    slices = ramp_rows(n, workers, workers * (chunks_per_worker or CHUNKS_PER_WORKER))
    x = np.asarray(x, float)
    args = chunk_args(Y, P0, weights, slices)
    results = ChunkResults(slices, n, progress)
    # Starting the worker processes takes seconds the first time (each imports numpy, scipy and the
    # models): meanwhile this thread fits the first, small chunks itself, so progress starts at once.
    started: dict[str, Any] = {}

    def start_pool() -> None:
        try:
            started["pool"] = get_pool(workers)
        except BaseException as exc:  # re-raised in the caller
            started["error"] = exc

    starter = threading.Thread(target=start_pool, name="fit-pool-start", daemon=True)
    starter.start()
    local = 0
    while starter.is_alive() and local < len(slices):
        y, p, w = args[local]
        results.add(local, fit_batch(model, x, y, p, options, weights=w, cancel=cancel))
        local += 1
    starter.join()
    if "error" in started:
        raise started["error"]
    pool: ProcessPoolExecutor = started["pool"]
    futures: dict[Future, int] = {}
    pending: set[Future] = set()
    try:
        for i in range(local, len(slices)):
            y, p, w = args[i]
            futures[pool.submit(_fit_chunk, model, x, y, p, options, w)] = i
        pending = set(futures)
        while pending:
            if cancel is not None and cancel.is_set():
                if any(f.running() for f in pending):
                    _drop_pool(workers, pool)  # free the cores now; a new pool starts with the next fit
                raise FitCancelled("batch fit cancelled")
            finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            for f in finished:
                results.add(futures[f], f.result())
    except BrokenProcessPool as exc:
        _drop_pool(workers, pool)
        raise FitError(f"a fitting worker process stopped abruptly: {exc}") from exc
    finally:
        for f in pending:
            f.cancel()
    return results.merged()
