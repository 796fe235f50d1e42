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


def test_jobs_starting_and_ending_never_lay_out_the_window(qtbot):
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QLabel, QMainWindow

    class Requests(QObject):
        count = 0

        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Type.LayoutRequest:
                Requests.count += 1
            return False

    w = QMainWindow()
    qtbot.addWidget(w)
    w.setCentralWidget(QLabel("map"))
    status = JobStatus()
    w.statusBar().addPermanentWidget(status)
    w.resize(900, 400)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)
    requests = Requests()
    w.statusBar().installEventFilter(requests)
    w.installEventFilter(requests)
    for name in ("Region spectra", "Save project session.h5 with a long name that does not fit", "Fit"):
        status.show_job(name, 2)
        qtbot.wait(10)
        assert status.is_busy() and status.cancel_button.isVisible() and status.label.isVisible()
        status.set_progress(3, 10)
        status.idle()
        qtbot.wait(10)
        assert not status.is_busy() and not status.cancel_button.isVisible()
    assert Requests.count == 0
    status.show_job("Save project session.h5 with a long name that does not fit", 1)
    assert status.label.toolTip().startswith("Save project session.h5 with a long")
