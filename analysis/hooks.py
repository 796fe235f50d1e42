"""Progress and cancel hooks shared by the processing functions."""

from __future__ import annotations

import threading

from analysis.errors import WorkbenchError


class Cancelled(WorkbenchError):
    """The caller's cancel event was set; the operation stopped without a result."""


def check_cancel(cancel: threading.Event | None, what: str) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{what} cancelled")
