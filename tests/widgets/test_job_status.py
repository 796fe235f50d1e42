"""The status bar's job widget: progress reported faster than it can be seen is shown at a bounded rate."""

from __future__ import annotations

from widgets.job_status import PROGRESS_INTERVAL_MS, JobStatus


def test_rapid_progress_is_coalesced_and_ends_on_the_newest_value(qtbot):
    w = JobStatus()
    qtbot.addWidget(w)
    w.show_job("Display copy", 1)
    w.show()
    shown: list[int] = []
    w.bar.valueChanged.connect(shown.append)
    for done in range(1, 501):  # a job reporting each of its 500 blocks within one interval
        w.set_progress(done, 500)
    assert len(shown) <= 2  # the first value at once, the rest wait for the interval's end
    qtbot.waitUntil(lambda: w.bar.value() == 500, timeout=10 * PROGRESS_INTERVAL_MS)
    assert len(shown) <= 3 and shown[-1] == 500 and w.bar.maximum() == 500
    # a job without a known total shows the busy bar
    qtbot.wait(2 * PROGRESS_INTERVAL_MS)
    w.set_progress(0, 0)
    assert (w.bar.minimum(), w.bar.maximum()) == (0, 0)
