"""A scenario's deadline counts time without progress: a long job that reports progress lets the scenario
finish (a whole-grid fit on a busy machine), a job that stalls ends it with a clear message."""

from __future__ import annotations

import time

from app.window.scenarios import Scenario, run_scenario
from tests.app.gui_support import open_window


def _job(window, seconds: float, report: bool) -> None:
    def work(progress=None, cancel=None) -> str:
        steps = 20
        for k in range(steps):
            time.sleep(seconds / steps)
            if report and progress is not None:
                progress(k + 1, steps)
        return "done"

    window.run_job(work, name="long work")


def _run(qtbot, tmp_path, report: bool) -> tuple[bool, str]:
    w = open_window(qtbot, tmp_path)
    scenario = Scenario(
        "long",
        "Long work",
        "a job longer than the deadline",
        (lambda win: _job(win, 2.0, report),),
        demo=False,
    )
    runner = run_scenario(w, scenario, timeout_ms=700)
    qtbot.waitUntil(lambda: runner.done, timeout=20000)
    qtbot.waitUntil(lambda: not w.active_jobs(), timeout=20000)
    w.shutdown()
    return runner.ok, runner.message


def test_a_job_that_reports_progress_outlives_the_deadline(qtbot, tmp_path):
    ok, message = _run(qtbot, tmp_path, report=True)
    assert ok, message


def test_a_job_that_stalls_ends_the_scenario_with_the_reason(qtbot, tmp_path):
    ok, message = _run(qtbot, tmp_path, report=False)
    assert not ok and "no progress for 0.7 s" in message
