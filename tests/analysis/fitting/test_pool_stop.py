"""Stopping the worker pools never waits for a chunk still being fitted (closing the window during a long
batch fit, or a cancelled fit, must not keep the process or the cores busy)."""

from __future__ import annotations

import time

from analysis.fitting import parallel


def test_shutdown_terminates_workers_busy_with_a_long_chunk():
    pool = parallel.get_pool(2)
    workers = list(pool._processes.values())
    busy = [pool.submit(time.sleep, 60) for _ in range(2)]
    t0 = time.monotonic()
    while not all(f.running() for f in busy) and time.monotonic() - t0 < 10:
        time.sleep(0.01)
    t0 = time.monotonic()
    parallel.shutdown_pools()
    assert time.monotonic() - t0 < 5.0
    assert not any(p.is_alive() for p in workers)
    assert 2 not in parallel._POOLS  # the next fit starts a fresh pool
