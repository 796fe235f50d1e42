"""What a measured channel is: conductance, current, position, ... and which channel a view opens on.

Instruments name channels freely ("LockinX", "LI Demod 1 X", "LIX 1 omega", "dI/dV", "Current",
"Bias calc", "Z", "Excitation"); the classification below uses the name and the SI unit together so that
every analysis view shows and fits the same, physically meaningful channel:

* "conductance": a unit of S, a name saying dI/dV or conductance, or the in-phase (X) or magnitude (R)
  output of a lock-in amplifier (written in V or A by the instrument: proportional to dI/dV);
* "current": a unit of A that is not a lock-in output, or a channel named current;
* "position": a length in m (X, Y, Z, heights, oscillation amplitude);
* "excitation": the lock-in or tip excitation / modulation;
* "phase": a phase in deg or rad, or a lock-in phase output;
* "sweep": an echo of the swept signal ("Bias", "Bias calc", "Bias_m", the grid's own sweep signal);
* "other": anything else (lock-in quadrature Y, frequency shift, ADC inputs, ...).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from analysis.errors import WorkbenchError

QUANTITIES = ("conductance", "current", "position", "excitation", "phase", "sweep", "other")
#: Quantities a view never opens on by default.
NEVER_DEFAULT = ("position", "excitation", "phase", "sweep")

_SUFFIX = re.compile(r"\s*\[(bwd|filt|fwd|avg)\]\s*$", re.IGNORECASE)
_LOCKIN = re.compile(r"(lock[\s_-]?in|li[\s_]*demod|demod|\blia\b|^li(?=[xyr_\s\d])|^li$)", re.IGNORECASE)
_DIDV = re.compile(r"(di\s*/\s*dv|didv|d\s*i\s*d\s*v|conductance|^g$)", re.IGNORECASE)
_SWEEP = re.compile(r"^(bias|v_?bias|sample\s*bias|bias\s*calc|bias_?m|v|voltage|sweep|index|time)$", re.I)
_PHASE_UNITS = ("deg", "°", "rad")


def base_name(name: str) -> str:
    """``name`` without its direction / filter suffix (" [bwd]", " [filt]")."""
    out = name
    while True:
        stripped = _SUFFIX.sub("", out)
        if stripped == out:
            return out.strip()
        out = stripped


def _lockin_component(rest: str) -> str:
    """The lock-in component written in ``rest`` (the name without the lock-in word): "x", "y", "r",
    "phase" or "" when none is written."""
    low = rest.lower()
    if "phase" in low or "theta" in low or re.search(r"(^|[\s_\d])phi($|[\s_\d])", low):
        return "phase"
    tokens = re.findall(r"[a-z]+", low)
    for t in tokens:
        if t in ("x", "y", "r"):
            return t
    # "LockinX", "LIX_1_omega": the component glued to the lock-in word
    m = re.match(r"^([xyr])(?![a-z])", low.strip(" _-"))
    return m.group(1) if m else ""


def channel_quantity(name: str, unit: str, sweep_signal: str | None = None) -> str:
    """The quantity channel ``name`` (SI unit ``unit``) measures, one of :data:`QUANTITIES`.

    ``sweep_signal``, when given, is the swept signal of the dataset: a channel of that name is an echo of
    the sweep (e.g. "Z" in a Z-spectroscopy grid)."""
    base = base_name(name)
    low = base.lower()
    unit = (unit or "").strip()
    if sweep_signal and low == base_name(sweep_signal).lower():
        return "sweep"
    if _SWEEP.match(low):
        return "sweep"
    if "excitation" in low or "modulation" in low or low.endswith("drive"):
        return "excitation"
    lock = _LOCKIN.search(base)
    if lock is not None:
        comp = _lockin_component(base[: lock.start()] + " " + base[lock.end() :])
        if comp == "phase" or unit in _PHASE_UNITS:
            return "phase"
        if comp in ("x", "r", "") and unit in ("V", "A", "S", ""):
            return "conductance"
        return "other"
    if unit in _PHASE_UNITS or "phase" in low:
        return "phase"
    if unit == "S" or _DIDV.search(base):
        return "conductance"
    if unit == "m" or low in ("x", "y", "z", "height", "topography"):
        return "position"
    if unit == "A" or low in ("current", "i", "it", "tunnel current") or low.startswith("current"):
        return "current"
    return "other"


def _names(ds: Any) -> list[str]:
    names = list(ds.channel_names("fwd")) if hasattr(ds, "channel_names") else list(ds.channels)
    return names or list(ds.channels)


def _sweep_signal(ds: Any) -> str | None:
    return getattr(ds, "sweep_signal", None) or getattr(ds, "x_name", None)


def quantity_of(ds: Any, channel: str) -> str:
    """:func:`channel_quantity` of ``channel`` of dataset ``ds`` (a Grid or Spectrum)."""
    return channel_quantity(channel, ds.unit(channel), _sweep_signal(ds))


def _conductance_rank(name: str, unit: str) -> int:
    base = base_name(name)
    if unit == "S" or _DIDV.search(base):
        return 0
    lock = _LOCKIN.search(base)
    comp = _lockin_component(base[: lock.start()] + " " + base[lock.end() :]) if lock else ""
    return {"x": 1, "": 2, "r": 3}.get(comp, 4)


def conductance_channels(ds: Any) -> list[str]:
    """Forward channels of ``ds`` that measure dI/dV, best first (S or named dI/dV, lock-in X, lock-in,
    lock-in R)."""
    out = [n for n in _names(ds) if quantity_of(ds, n) == "conductance"]
    return sorted(out, key=lambda n: _conductance_rank(n, ds.unit(n)))


def current_channels(ds: Any) -> list[str]:
    """Forward current channels of ``ds``, one named "Current" first."""
    out = [n for n in _names(ds) if quantity_of(ds, n) == "current"]
    return sorted(out, key=lambda n: 0 if base_name(n).lower().startswith("current") else 1)


def default_channel(ds: Any) -> str:
    """The channel a view of ``ds`` opens on: a conductance channel, else a current, else the first
    forward channel that is not a position, excitation, phase or sweep echo ("" when ``ds`` has none)."""
    for group in (conductance_channels(ds), current_channels(ds)):
        if group:
            return group[0]
    names = _names(ds)
    for n in names:
        if quantity_of(ds, n) not in NEVER_DEFAULT:
            return n
    for n in names:  # only positions / sweeps: a measured one rather than the sweep's echo
        if quantity_of(ds, n) != "sweep":
            return n
    return names[0] if names else ""


def preferred_channel(ds: Any, quantity: str = "didv") -> str:
    """A forward channel of ``ds`` for ``quantity``: "current" a current channel, else (and for "didv")
    :func:`analysis.channels.default_channel` (a conductance, then a current; never a position, excitation,
    phase or sweep echo)."""
    if quantity == "current":
        currents = current_channels(ds)
        if currents:
            return currents[0]
    return default_channel(ds)


def axis_label(name: str, unit: str, sweep_signal: str | None = None) -> tuple[str, str]:
    """(label, unit) for a plot axis showing channel ``name``: "dI/dV" only where the channel is one."""
    q = channel_quantity(name, unit, sweep_signal)
    if q == "conductance":
        if unit == "S":
            return ("dI/dV" if _DIDV.search(name) or name == "" else f"dI/dV ({name})"), "S"
        return f"{name} (lock-in, ∝ dI/dV)", unit
    if q == "current":
        return ("Current" if base_name(name).lower() == "current" else name), unit or "A"
    return name, unit


def fit_route(model_y_unit: str, quantity: str) -> tuple[str, str]:
    """How a model predicting a quantity in ``model_y_unit`` is fitted to a channel of ``quantity``:
    ("direct" | "derivative" | "refuse", reason)."""
    if model_y_unit == "S":
        if quantity == "conductance":
            return "direct", ""
        if quantity == "current":
            return (
                "derivative",
                "the model predicts dI/dV: fitted to the numerical dI/dV (dI/dV = d(current)/dV)",
            )
        return "refuse", f"the model predicts dI/dV (S) but the channel is a {quantity}, not a conductance"
    if model_y_unit == "A":
        if quantity == "current":
            return "direct", ""
        if quantity == "conductance":
            return "refuse", (
                "the model predicts a current (A) but the channel is a conductance: integrating dI/dV needs "
                "the current at one bias, which the channel does not hold; choose a current channel"
            )
        return "refuse", f"the model predicts a current (A) but the channel is a {quantity}"
    return "refuse", f"the model predicts a quantity in {model_y_unit or 'no unit'}, not a spectrum channel"


def numerical_conductance(bias: np.ndarray, current: np.ndarray) -> np.ndarray:
    """dI/dV (S) of a current ``current`` (A, shape (..., n)) against ``bias`` (V, shape (n,)).

    Second-order central differences on the (possibly uneven) bias points, one-sided at the ends; NaN
    points stay NaN and do not spread beyond their neighbours. Raises :class:`WorkbenchError` when the bias
    is not strictly monotonic or has fewer than 3 points."""
    x = np.asarray(bias, dtype=np.float64)
    y = np.asarray(current, dtype=np.float64)
    if x.ndim != 1 or x.size < 3 or y.shape[-1] != x.size:
        raise WorkbenchError(
            f"numerical dI/dV needs a bias axis of at least 3 points matching the current "
            f"(bias {x.shape}, current {y.shape})"
        )
    dx = np.diff(x)
    if not np.all(np.isfinite(x)) or not (np.all(dx > 0) or np.all(dx < 0)):
        raise WorkbenchError("numerical dI/dV needs a strictly monotonic, finite bias axis")
    return np.gradient(y, x, axis=-1, edge_order=2)
