"""The newest-request-wins slice scheduler on its own."""

from __future__ import annotations

import numpy as np

from app.workers.slicing import BiasMajorCache, SliceRequest, SliceScheduler, compute_slice
from tests.app.gui_support import make_grid


def test_compute_slice_with_and_without_cache():
    g = make_grid(nb=9)
    cache = np.ascontiguousarray(g.channels["dI/dV"].transpose(2, 0, 1))
    for hw in (0, 2):
        req = SliceRequest("k", "dI/dV", 4, hw)
        np.testing.assert_allclose(compute_slice(g, req, cache), compute_slice(g, req, None), rtol=1e-6)
    # a copy of the map: the image shown must not keep the display copy (and its cache file) alive
    shown = compute_slice(g, SliceRequest("k", "dI/dV", 3), cache)
    assert shown.base is None and np.array_equal(shown, cache[3])


def test_many_requests_give_one_delivery_of_the_newest(qtbot):
    g = make_grid(nb=200)
    sched = SliceScheduler(lambda key: g if key == "k" else None, BiasMajorCache())
    got = []
    sched.ready.connect(lambda req, img: got.append((req.index, img)))
    for k in range(100):
        sched.request("k", "dI/dV", k)
    qtbot.waitUntil(sched.idle, timeout=5000)
    assert [i for i, _ in got] == [99]
    assert sched.computed <= 2 and sched.delivered == 1
    np.testing.assert_array_equal(got[0][1], g.channels["dI/dV"][:, :, 99])
    sched.request("missing", "dI/dV", 1)  # unknown dataset: nothing computed, nothing delivered
    assert sched.idle() and len(got) == 1
    sched.shutdown()
