"""Newest-request-wins slicing of grid channels for the slicer panels.

A :class:`SliceScheduler` takes immutable :class:`SliceRequest` objects from the GUI thread, computes at
most one at a time on its own one-thread pool, and delivers a result only when no newer request arrived in
the meantime: stale requests are replaced (never queued) and stale results are dropped.

Bias slices of a spectra-contiguous ``(ny, nx, nb)`` cube are strided gathers; once a channel has been
shown, a bias-major copy ``(nb, ny, nx)`` is built in the background (see
``analysis.processing.bias_major``) and later slices are contiguous views of it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal

from analysis.dataset import Grid
from analysis.io.file_cube import temporary_cache_file
from analysis.processing.bias_major import bias_major_copy, window_mean
from app.workers import jobs as workers
from app.workers.deferred_pool import DeferredPool

# Largest cube (bytes) for which a bias-major display copy is kept.
CACHE_LIMIT_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class SliceRequest:
    """What to show: ``channel`` of the grid ``key`` at sweep ``index``, averaged over ``±half_width``."""

    key: str
    channel: str
    index: int
    half_width: int = 0
    serial: int = 0


class BiasMajorCache:
    """Bias-major copies of channels, keyed by (dataset key, channel); built off the GUI thread."""

    def __init__(self) -> None:
        self._cubes: dict[tuple[str, str], np.ndarray] = {}
        self._building: set[tuple[str, str]] = set()

    def get(self, key: str, channel: str) -> np.ndarray | None:
        return self._cubes.get((key, channel))

    def ensure(self, window: Any, key: str, grid: Grid, channel: str) -> None:
        """Start building the copy of ``channel`` unless it exists, is being built or is too large."""
        ident = (key, channel)
        cube = grid.channels.get(channel)
        if cube is None or ident in self._cubes or ident in self._building:
            return
        nbytes = int(np.prod(grid.shape)) * 4
        if nbytes > CACHE_LIMIT_BYTES:
            return
        self._building.add(ident)

        def done(result: np.ndarray) -> None:
            self._building.discard(ident)
            if key in window.state.entries:
                self._cubes[ident] = result

        def failed(*_a: Any) -> None:
            self._building.discard(ident)

        # the copy lives in an unlinked file in the user's cache directory, memory-mapped: a 1 GB grid no
        # longer costs another GB of resident memory, the slider still reads contiguous maps
        try:
            file: Any = temporary_cache_file("stsworkbench-bias-major-")
        except OSError:
            file = None
        window.run_job(
            bias_major_copy,
            cube,
            file=file,
            name=f"Preparing fast slicing of {channel}",
            on_finished=done,
            on_failed=failed,
            on_cancelled=failed,
        )

    def forget(self, key: str) -> None:
        for ident in [i for i in self._cubes if i[0] == key]:
            del self._cubes[ident]

    def clear(self) -> None:
        """Drop every copy (their cache files close when the last map read from them is gone)."""
        self._cubes.clear()

    def __len__(self) -> int:
        return len(self._cubes)


def compute_slice(grid: Grid, req: SliceRequest, cache: np.ndarray | None) -> np.ndarray:
    """The (ny, nx) float32 image for ``req``: read from the bias-major copy when there is one."""
    if cache is not None:
        if req.half_width <= 0:
            return np.array(cache[req.index])  # a copy: the view shown must not pin the cache file
        return window_mean(cache, req.index, req.half_width)
    return grid.bias_slice(req.channel, req.index, req.half_width)


class SliceScheduler(QObject):
    """One in flight, one pending; the newest request wins. ``ready(request, image)`` on the GUI thread."""

    ready = Signal(object, object)

    def __init__(self, grid_lookup: Any, cache: BiasMajorCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lookup = grid_lookup  # key -> Grid | None
        self._cache = cache
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._pending: SliceRequest | None = None
        self._busy = False
        self._serial = 0
        self.computed = 0
        self.dropped = 0
        self.delivered = 0
        self._live: list[workers.Job] = []

    def request(self, key: str, channel: str, index: int, half_width: int = 0) -> SliceRequest:
        self._serial += 1
        req = SliceRequest(key, channel, int(index), int(half_width), self._serial)
        self._pending = req
        if not self._busy:
            self._start_pending()
        return req

    def _start_pending(self) -> None:
        req, self._pending = self._pending, None
        if req is None:
            return
        grid = self._lookup(req.key)
        if grid is None or req.channel not in grid.channels:
            return
        self._busy = True
        cache = self._cache.get(req.key, req.channel)
        deferred = DeferredPool()
        job = workers.run_job(compute_slice, grid, req, cache, pass_hooks=False, pool=deferred)  # type: ignore[arg-type]
        self._live.append(job)
        job.finished.connect(lambda img, r=req, j=job: self._done(j, r, img))
        job.failed.connect(lambda msg, r=req, j=job: self._done(j, r, None, msg))
        self._pool.start(deferred.runnable)

    def _done(self, job: workers.Job, req: SliceRequest, image: Any, error: str | None = None) -> None:
        if job in self._live:
            self._live.remove(job)
        self._busy = False
        self.computed += 1
        if self._pending is not None:
            self.dropped += 1  # a newer request arrived: this result is stale
            self._start_pending()
            return
        if image is not None:
            self.delivered += 1
            self.ready.emit(req, image)

    def idle(self) -> bool:
        return not self._busy and self._pending is None

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pending = None
        for job in self._live:
            for sig in (job.finished, job.failed):
                with warnings.catch_warnings():  # PySide warns (not raises) when nothing is connected
                    warnings.simplefilter("ignore", RuntimeWarning)
                    try:
                        sig.disconnect()
                    except (RuntimeError, TypeError):
                        pass
        self._pool.waitForDone(timeout_ms)
