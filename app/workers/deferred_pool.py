"""A stand-in thread pool that keeps the runnable ``workers.run_job`` creates until it may start.

``run_job`` starts its runnable at once; a job that finishes before the caller has connected to its
signals would lose its result. Passing a :class:`DeferredPool` and starting ``pool.runnable`` on the real
pool after connecting closes that window.
"""

from __future__ import annotations

from typing import Any


class DeferredPool:
    def __init__(self) -> None:
        self.runnable: Any = None

    def start(self, runnable: Any) -> None:
        self.runnable = runnable
