"""SI prefixes for axis and colour-bar labels: the prefix is chosen from the data (``2.1e-9 S`` -> nS)."""

from __future__ import annotations

import math

import numpy as np

_PREFIXES: tuple[tuple[int, str], ...] = (
    (12, "T"),
    (9, "G"),
    (6, "M"),
    (3, "k"),
    (0, ""),
    (-3, "m"),
    (-6, "\u00b5"),
    (-9, "n"),
    (-12, "p"),
    (-15, "f"),
)
#: Units that take a prefix; anything else (``""``, ``"a.u."``, ``"%"``) is shown as it is.
PREFIXABLE = {"V", "A", "S", "m", "Ohm", "\u03a9", "Hz", "K", "eV", "s", "F", "H", "T", "W"}


def prefix_for(magnitude: float) -> tuple[float, str]:
    """(scale, prefix) so that ``magnitude / scale`` lies in [1, 1000) (engineering prefixes)."""
    if not math.isfinite(magnitude) or magnitude <= 0:
        return 1.0, ""
    exp3 = int(math.floor(math.log10(magnitude) / 3 + 1e-9)) * 3
    exp3 = max(min(exp3, _PREFIXES[0][0]), _PREFIXES[-1][0])
    return 10.0**exp3, dict(_PREFIXES)[exp3]


def si_scale(values: np.ndarray, unit: str) -> tuple[float, str]:
    """(scale, prefixed unit) for showing ``values`` (in ``unit``) as ``values / scale``.

    The magnitude is the 99th percentile of the finite ``|values|``, so a single outlier does not set the
    prefix. ``"Ohm"`` is shown as the Greek capital omega. Units without a prefix are returned unchanged.
    """
    shown = "\u03a9" if unit == "Ohm" else unit
    if unit not in PREFIXABLE:
        return 1.0, shown
    a = np.abs(np.asarray(values, dtype=np.float64))
    a = a[np.isfinite(a)]
    if a.size == 0:
        return 1.0, shown
    scale, prefix = prefix_for(float(np.percentile(a, 99)))
    return scale, prefix + shown


def axis_label(name: str, unit: str) -> str:
    """``"dI/dV"``, ``"nS"`` -> ``"dI/dV (nS)"``; no brackets without a unit."""
    return f"{name} ({unit})" if unit else name


def nice_length(span: float, fraction: float = 0.25) -> float:
    """A round length (1, 2 or 5 times a power of ten) close to ``fraction * span`` and not above it."""
    target = span * fraction
    if not math.isfinite(target) or target <= 0:
        return 0.0
    base = 10.0 ** math.floor(math.log10(target))
    for m in (5.0, 2.0, 1.0):
        if m * base <= target * 1.0000001:
            return m * base
    return base
