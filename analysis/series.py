"""Data model of the transport side: series of sweeps (I(V) curves against field, temperature, rf power...).

A :class:`Series` is an ordered set of :class:`Sweep` objects with a table of numeric tags, one value per
sweep and tag (NaN where a sweep has no value), each tag with its unit. Units are SI inside, like the rest
of the data model (A, V, Ohm, T, K, W, Hz); a tag may also carry a logarithmic unit that has no SI form
(``"dBm"`` or ``"dB"`` for rf power and attenuation).

Conventions:

* A sweep keeps the order in which it was measured: ``x`` is the swept quantity (current for a current-
  biased sweep, voltage for a voltage-biased one), non-uniform and non-monotonic (up/down, hysteretic and
  concatenated sweeps) allowed. :func:`segments` splits it at its turning points into monotonic branches.
* ``channels`` hold the measured quantities of the sweep, each (n,) float64 with the same length as ``x``;
  the swept quantity is also a channel (``x_channel``), so either can be put on the horizontal axis.
* Repeated sweeps at one tag value stay apart; :meth:`Series.groups` finds them, and the transport
  processing averages them on request.
* The tag table lives on the series, not on the sweeps, so a lazily opened series (from a project file)
  lists its tags without reading a single sweep.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.dataset import Source

#: Bias modes: which quantity was swept.
CURRENT_BIASED = "current"
VOLTAGE_BIASED = "voltage"
BIAS_MODES = (CURRENT_BIASED, VOLTAGE_BIASED)

#: Well-known tags and their SI units (any other named tag is allowed too).
KNOWN_TAGS: dict[str, str] = {
    "H": "T",  # magnetic field (mu0 H)
    "T": "K",  # temperature
    "P_rf": "W",  # microwave power (or "dBm")
    "f": "Hz",  # microwave frequency
    "N": "",  # number of junctions
    "R_N": "Ohm",  # normal-state resistance
    "area": "m^2",  # junction area
    "attenuation": "dB",
}


@dataclass(frozen=True)
class Segment:
    """A monotonic branch ``x[start:stop]`` of a sweep; ``direction`` is +1 (rising) or -1 (falling)."""

    start: int
    stop: int
    direction: int

    def __len__(self) -> int:
        return self.stop - self.start


def segments(x: np.ndarray, tolerance: float = 0.0) -> list[Segment]:
    """Split a sweep axis (n,) at its turning points into monotonic branches.

    A turning point is where the sign of the step changes; steps of size ``<= tolerance`` (repeated
    points, noise on a plateau) continue the current branch. The turning point belongs to both branches
    (the falling branch starts where the rising one ends), so every branch spans its full range.
    Returns one segment of direction +1 for fewer than two points.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 2:
        return [Segment(0, n, 1)]
    steps = np.diff(x)
    sign = np.where(steps > tolerance, 1, np.where(steps < -tolerance, -1, 0))
    nz = np.flatnonzero(sign)
    if nz.size == 0:
        return [Segment(0, n, 1)]
    sv = sign[nz]
    # a branch turns at step nz[k] when its sign differs from the previous non-zero step's
    turns = nz[1:][sv[1:] != sv[:-1]]
    starts = [0, *(int(i) for i in turns)]
    stops = [*(int(i) + 1 for i in turns), n]
    dirs = [int(sv[0]), *(int(sign[i]) for i in turns)]
    return [Segment(a, b, d) for a, b, d in zip(starts, stops, dirs)]


@dataclass
class Sweep:
    """One measured sweep.

    Attributes
    ----------
    x : (n,) float64, the swept quantity in measurement order, unit ``Series.x_unit``.
    channels : {name: (n,) float64}, units in ``Series.units``; the swept quantity is among them.
    label : a short name (file name, run number, ``"H = 0.2 T"``).
    source : where the sweep came from.
    metadata : the header of the sweep's file or run.
    """

    x: Any = field(default_factory=lambda: np.zeros(0))
    channels: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    source: Source = field(default_factory=Source)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def channel(self, name: str) -> np.ndarray:
        """(n,) float64 values of channel ``name`` (read now when the sweep is lazy)."""
        return np.asarray(self.channels[name], dtype=np.float64)

    def segments(self, tolerance: float = 0.0) -> list[Segment]:
        return segments(np.asarray(self.x), tolerance)


@dataclass
class Series:
    """An ordered set of sweeps with numeric tags.

    Attributes
    ----------
    sweeps : sequence of :class:`Sweep` (a list, or a lazy sequence from a project file).
    x_name, x_unit : the swept quantity and its unit (``"Current", "A"`` for a current-biased series).
    x_channel : the channel that holds the swept quantity.
    bias_mode : ``"current"`` or ``"voltage"``, which quantity the source swept.
    units : {channel: unit} shared by every sweep.
    tags : {tag: (n_sweeps,) float64}; NaN where a sweep has no value for the tag.
    tag_units : {tag: unit}.
    """

    name: str = ""
    sweeps: Sequence[Sweep] = field(default_factory=list)
    x_name: str = "Current"
    x_unit: str = "A"
    x_channel: str = "Current"
    bias_mode: str = CURRENT_BIASED
    units: dict[str, str] = field(default_factory=dict)
    tags: dict[str, np.ndarray] = field(default_factory=dict)
    tag_units: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    source: Source = field(default_factory=Source)
    warnings: list[str] = field(default_factory=list)
    provenance: list[dict[str, Any]] = field(default_factory=list)

    kind = "series"

    def __post_init__(self) -> None:
        if self.bias_mode not in BIAS_MODES:
            raise ValueError(f"bias_mode must be one of {BIAS_MODES}, not {self.bias_mode!r}")
        n = len(self.sweeps)
        tags = {}
        for name, values in self.tags.items():
            arr = np.asarray(values, dtype=np.float64).reshape(-1)
            if arr.shape[0] != n:
                raise ValueError(f"tag {name!r} has {arr.shape[0]} values for {n} sweeps")
            tags[name] = arr
        self.tags = tags

    def __len__(self) -> int:
        return len(self.sweeps)

    def __iter__(self) -> Iterator[Sweep]:
        return iter(self.sweeps)

    # -- channels ----------------------------------------------------------------------------------
    def unit(self, channel: str) -> str:
        return self.units.get(channel, "")

    def channel_names(self, direction: str = "all") -> list[str]:
        return list(self.units)

    # -- tags --------------------------------------------------------------------------------------
    def tag(self, name: str) -> np.ndarray:
        """(n_sweeps,) float64 values of tag ``name``."""
        return self.tags[name]

    def tag_unit(self, name: str) -> str:
        return self.tag_units.get(name, KNOWN_TAGS.get(name, ""))

    def set_tag(self, name: str, values: Sequence[float] | np.ndarray, unit: str | None = None) -> None:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
        if arr.shape[0] != len(self):
            raise ValueError(f"tag {name!r} has {arr.shape[0]} values for {len(self)} sweeps")
        self.tags[name] = arr
        self.tag_units[name] = unit if unit is not None else self.tag_unit(name)

    def tag_names(self) -> list[str]:
        return list(self.tags)

    def order(self, tag: str) -> np.ndarray:
        """Sweep indices sorted by ``tag`` (stable; NaN last)."""
        values = self.tags[tag]
        return np.argsort(np.where(np.isnan(values), np.inf, values), kind="stable")

    def groups(self, tag: str, rtol: float = 1e-9) -> list[tuple[float, list[int]]]:
        """Sweeps that share one value of ``tag`` (repeated sweeps), in ascending tag order.

        Values equal within ``rtol`` of the tag's span form one group; sweeps with NaN are left out.
        """
        values = self.tags[tag]
        idx = [int(i) for i in self.order(tag) if np.isfinite(values[i])]
        if not idx:
            return []
        span = float(np.nanmax(values) - np.nanmin(values)) or max(abs(float(values[idx[0]])), 1.0)
        out: list[tuple[float, list[int]]] = []
        for i in idx:
            v = float(values[i])
            if out and abs(v - out[-1][0]) <= rtol * span:
                out[-1][1].append(i)
            else:
                out.append((v, [i]))
        return out

    # -- subsets -----------------------------------------------------------------------------------
    def select(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> Series:
        """A new series of the sweeps at ``indices`` (in that order), tags carried along."""
        idx = [int(i) for i in np.asarray(indices, dtype=int).reshape(-1)]
        return Series(
            name=name or self.name,
            sweeps=[self.sweeps[i] for i in idx],
            x_name=self.x_name,
            x_unit=self.x_unit,
            x_channel=self.x_channel,
            bias_mode=self.bias_mode,
            units=dict(self.units),
            tags={k: v[idx] for k, v in self.tags.items()},
            tag_units=dict(self.tag_units),
            metadata=dict(self.metadata),
            source=self.source,
            warnings=list(self.warnings),
            provenance=[*self.provenance, {"operation": "select", "parameters": {"indices": idx}}],
        )

    def summary(self) -> dict[str, Any]:
        """Counts and ranges without reading sweep data beyond the first sweep's length."""
        tags = {
            k: (float(np.nanmin(v)), float(np.nanmax(v)), self.tag_unit(k))
            for k, v in self.tags.items()
            if np.isfinite(v).any()
        }
        return {"sweeps": len(self), "channels": dict(self.units), "tags": tags, "bias_mode": self.bias_mode}

    def to_xarray(self) -> Any:
        """This series as an ``xarray.Dataset`` with dims (sweep, x) or (sweep, point); see
        :mod:`analysis.xarray_bridge`."""
        from analysis.xarray_bridge import to_xarray

        return to_xarray(self)

    @classmethod
    def from_xarray(cls, xds: Any) -> Series:
        from analysis.xarray_bridge import from_xarray

        out = from_xarray(xds)
        if not isinstance(out, Series):
            raise TypeError(f"the xarray dataset holds a {out.kind}, not a series")
        return out


def make_series(
    sweeps: Sequence[Mapping[str, Any]] | Sequence[Sweep],
    *,
    name: str = "",
    x_channel: str = "Current",
    units: Mapping[str, str] | None = None,
    bias_mode: str | None = None,
    tags: Mapping[str, Sequence[float]] | None = None,
    tag_units: Mapping[str, str] | None = None,
) -> Series:
    """Build a series from sweeps given as :class:`Sweep` or as ``{channel: (n,) array}`` mappings.

    ``x_channel`` names the swept channel; ``bias_mode`` defaults to ``"current"`` when that channel's
    unit is A, else ``"voltage"``.
    """
    units = dict(units or {})
    built: list[Sweep] = []
    for i, s in enumerate(sweeps):
        if isinstance(s, Sweep):
            built.append(s)
            continue
        chans = {k: np.asarray(v, dtype=np.float64) for k, v in s.items()}
        if x_channel not in chans:
            raise ValueError(f"sweep {i} has no channel {x_channel!r}")
        n = chans[x_channel].shape[0]
        for k, v in chans.items():
            if v.shape != (n,):
                raise ValueError(f"sweep {i}: channel {k!r} has shape {v.shape}, expected ({n},)")
        built.append(Sweep(x=chans[x_channel], channels=chans, label=f"sweep {i + 1}"))
    x_unit = units.get(x_channel, "A" if x_channel.lower().startswith("i") else "V")
    mode = bias_mode or (CURRENT_BIASED if x_unit == "A" else VOLTAGE_BIASED)
    out = Series(
        name=name,
        sweeps=built,
        x_name=x_channel,
        x_unit=x_unit,
        x_channel=x_channel,
        bias_mode=mode,
        units=units,
        tags={k: np.asarray(v, dtype=np.float64) for k, v in (tags or {}).items()},
        tag_units=dict(tag_units or {}),
    )
    for k in out.tags:
        out.tag_units.setdefault(k, KNOWN_TAGS.get(k, ""))
    return out
