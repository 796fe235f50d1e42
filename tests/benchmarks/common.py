"""Helpers for the benchmark script: timing and the printed row."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    """One budget: ``measured`` (a ratio or a value, with ``unit``) against ``budget`` (text)."""

    name: str
    measured: float
    budget: str
    ok: bool
    unit: str = "x"
    note: str = ""

    def format(self) -> str:
        m = f"{self.measured:.4g}{self.unit}"
        tail = f"  ({self.note})" if self.note else ""
        return f"{self.name:58s} {m:>14s} {self.budget:>14s}  {'ok' if self.ok else 'FAIL'}{tail}"


def best_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Best wall time in seconds of ``number`` calls, over ``repeat`` runs (GC off while timing)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            dt = (time.perf_counter() - t0) / number
        finally:
            gc.enable()
        best = min(best, dt)
    return best
