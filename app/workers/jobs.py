"""Run long work off the GUI thread on the global QThreadPool.

``run_job(fn, *args, **kwargs)`` calls ``fn(*args, progress=..., cancel=..., **kwargs)`` on a pool thread.
``fn`` takes ``progress(done, total)`` and ``cancel`` (a threading.Event) as the analysis layer's
long-running functions do. The returned :class:`Job` has Qt signals ``progress(int, int)``,
``finished(object)``, ``failed(str)`` and ``cancelled()``, delivered on the GUI thread, and ``cancel()``.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class Cancelled(Exception):
    """Raised by analysis code (or by a job) when its cancel event was set."""


class Job(QObject):
    started = Signal()
    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, name: str = "") -> None:
        super().__init__()
        self.name = name
        self.cancel_event = threading.Event()
        self.done = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()


class _Runnable(QRunnable):
    def __init__(self, job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict, pass_hooks: bool):
        super().__init__()
        self.setAutoDelete(True)
        self.job, self.fn, self.args, self.kwargs, self.pass_hooks = job, fn, args, kwargs, pass_hooks

    def run(self) -> None:
        job = self.job
        result: Any = None
        job.started.emit()
        try:
            kwargs = dict(self.kwargs)
            if self.pass_hooks:
                kwargs["progress"] = lambda done, total: job.progress.emit(int(done), int(total))
                kwargs["cancel"] = job.cancel_event
            result = self.fn(*self.args, **kwargs)
        except Cancelled:
            job.cancelled.emit()
        except Exception as exc:
            if job.cancel_event.is_set():
                job.cancelled.emit()
            else:
                detail = traceback.format_exc(limit=3)
                job.failed.emit(f"{type(exc).__name__}: {exc}" if str(exc) else detail)
        else:
            if job.cancel_event.is_set():
                job.cancelled.emit()
            else:
                job.finished.emit(result)
        finally:
            # the pool may keep this runnable after it ran: drop the arguments and the result so a finished
            # job pins no array (or cache file) it was given
            self.args, self.kwargs, result = (), {}, None
            job.done.set()


_live_jobs: set[Job] = set()


def run_job(
    fn: Callable[..., Any],
    *args: Any,
    name: str = "",
    pass_hooks: bool = True,
    pool: QThreadPool | None = None,
    **kwargs: Any,
) -> Job:
    """Start ``fn`` on a pool thread; connect to the returned job's signals before the event loop runs."""
    job = Job(name)
    _live_jobs.add(job)

    def _forget(*_a: Any) -> None:
        _live_jobs.discard(job)

    job.finished.connect(_forget)
    job.failed.connect(_forget)
    job.cancelled.connect(_forget)
    (pool or QThreadPool.globalInstance()).start(_Runnable(job, fn, args, kwargs, pass_hooks))
    return job
