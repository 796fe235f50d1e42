"""Work-around for a reference-counting defect of some PySide6 builds (seen with PySide6 6.12.0).

In those builds every ``SignalInstance.emit()`` made from Python releases one reference to ``True`` that it
never took (and a few other calls do the same to ``None``). On Python < 3.12, where ``True`` and ``None``
are ordinary reference-counted objects, a session that emits a few thousand signals drives their count to
zero and the interpreter aborts ("deallocating True or False", usually while shutting down).

This module measures the defect once, on a throw-away signal, and when it is present adds references to
``True``, ``False`` and ``None`` that are never released (the count itself is raised, so no container has to
outlive the interpreter's shutdown); :func:`top_up` raises them again when they run low and is called
periodically by the main window. Nothing is done when the defect is absent or on Python >= 3.12 (immortal
singletons).
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_CHUNK = 1_000_000
_LOW = 400_000


class _Probe(QObject):
    sig = Signal()


def _measure() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.sig.emit()
    return sys.getrefcount(True) < before


DEFECTIVE = sys.version_info < (3, 12) and _measure()


def top_up() -> None:
    """Refill the reserve of references when the defect is present and a count runs low."""
    if not DEFECTIVE:
        return
    for obj in (True, False, None):
        if sys.getrefcount(obj) < _LOW:
            # CPython < 3.12: ob_refcnt is the first field of every object
            ctypes.c_ssize_t.from_address(id(obj)).value += _CHUNK


top_up()
