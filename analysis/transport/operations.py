"""The processing steps by name, and replaying a derived series' provenance on another series.

Every step of :mod:`analysis.transport.processing` and :mod:`analysis.transport.grids` records
``{"operation", "parameters", "inputs"}``; :func:`replay` turns such a record back into the call, so that a
chain set up on one series (or stored in a project file) can be run again on another one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from analysis.series import Series
from analysis.transport.grids import derivative, onto_grid
from analysis.transport.processing import (
    average_repeats,
    normalise_rn,
    per_junction,
    remove_offsets,
    resistance_power,
    subtract_series_resistance,
    symmetrise,
)

Step = Mapping[str, Any]


def _derivative(s: Series, p: Mapping[str, Any], **kw: Any) -> Series:
    return derivative(
        s,
        p["y"],
        p["x"],
        method=p["method"],
        step=p["step"] if p.get("step_given") else None,
        window=p["window"],
        order=p["order"],
        smoothing=p.get("smoothing"),
        name=p.get("channel"),
        **kw,
    )


def _onto_grid(s: Series, p: Mapping[str, Any], **kw: Any) -> Series:
    grid = np.linspace(p["start"], p["stop"], int(p["points"]))
    return onto_grid(s, p["axis"], grid, branch=p.get("branch", "all"), **kw)


def _symmetrise(antisymmetric: bool) -> Callable[..., Series]:
    def run(s: Series, p: Mapping[str, Any], **kw: Any) -> Series:
        return symmetrise(s, p["channel"], x=p.get("x"), antisymmetric=antisymmetric, **kw)

    return run


def _tuple(p: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return tuple(p.get(key) or ())


OPERATIONS: dict[str, Callable[..., Series]] = {
    "derivative": _derivative,
    "onto_grid": _onto_grid,
    "remove_offsets": lambda s, p, **kw: remove_offsets(
        s, p.get("v0"), p.get("i0"), voltage=p.get("voltage"), current=p.get("current"), **kw
    ),
    "symmetrise": _symmetrise(False),
    "antisymmetrise": _symmetrise(True),
    "subtract_series_resistance": lambda s, p, **kw: subtract_series_resistance(
        s, p["r_s"], voltage=p.get("voltage"), current=p.get("current"), **kw
    ),
    "per_junction": lambda s, p, **kw: per_junction(
        s, p["n"], voltage=p.get("voltage"), conductances=_tuple(p, "conductances"), **kw
    ),
    "normalise_rn": lambda s, p, **kw: normalise_rn(
        s,
        p["v_min"],
        p.get("v_max"),
        voltage=p.get("voltage"),
        current=p.get("current"),
        conductances=_tuple(p, "conductances"),
        **kw,
    ),
    "resistance_power": lambda s, p, **kw: resistance_power(
        s, area=p.get("area"), voltage=p.get("voltage"), current=p.get("current"), **kw
    ),
    "average_repeats": lambda s, p, **kw: average_repeats(s, p["tag"], bin_width=p.get("bin_width"), **kw),
    "select": lambda s, p, **kw: s.select(p["indices"]),
}


def replay(
    series: Series,
    step: Step,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Series:
    """Apply one provenance record ``step`` to ``series``; ValueError for an operation that cannot be
    replayed (an import, or an unknown name)."""
    name = str(step.get("operation", ""))
    if name not in OPERATIONS:
        raise ValueError(f"operation {name!r} cannot be replayed (known: {', '.join(sorted(OPERATIONS))})")
    params = dict(step.get("parameters", {}))
    if name == "select":
        return OPERATIONS[name](series, params)
    return OPERATIONS[name](series, params, progress=progress, cancel=cancel)


def replay_chain(series: Series, steps: Sequence[Step], *, cancel: threading.Event | None = None) -> Series:
    """Every replayable step of ``steps`` in order (``import`` records are skipped)."""
    out = series
    for step in steps:
        if step.get("operation") == "import":
            continue
        out = replay(out, step, cancel=cancel)
    return out
