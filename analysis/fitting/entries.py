"""Typed records of the fits made in a session, and typed references to the data a fit reads.

These are what the application state keeps in ``state.fits`` and what a project file stores (the store
rebuilds dataclasses of this package). Keys (``grid``, ``maps``, a source's ``key``) are keys of the
session's datasets, pins, regions or line cuts.

* :class:`FitSource`: the clicked pixel, a pinned point, a region average, a point along a line cut, or a
  point spectrum. ``token`` is its stable text form (``"cursor"``, ``"pin:p3"``, ``"region:r7"``,
  ``"cut:cut4"``, ``"spec:d2"``) for views that list sources; :meth:`FitSource.from_token` reads it back.
* :class:`SingleFitEntry`: one spectrum fitted with one model (``record`` is
  :meth:`analysis.fitting.single.FitRecord.to_dict`).
* :class:`BatchFitEntry`: a per-pixel fit of a grid whose parameter maps are dataset ``maps``.
* :class:`JosephsonSeriesEntry`: the phase-diffusion fit of a series of spectra at several R_N with a common
  R and T_eff (values in SI: Ohm, K, V, A).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SOURCE_KINDS = ("cursor", "pin", "region", "cut", "spectrum")
_PREFIX = {"pin": "pin", "region": "region", "cut": "cut", "spectrum": "spec"}
_KIND_OF_PREFIX = {v: k for k, v in _PREFIX.items()}


@dataclass(frozen=True)
class FitSource:
    """Where a fit's data come from: ``kind`` in :data:`SOURCE_KINDS`; ``key`` of the pin, region, line
    cut or spectrum dataset (None for the clicked pixel)."""

    kind: str
    key: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"fit source kind must be one of {SOURCE_KINDS}, not {self.kind!r}")
        if (self.kind == "cursor") != (self.key is None):
            raise ValueError(f"a {self.kind} source {'takes no' if self.kind == 'cursor' else 'needs a'} key")

    @property
    def token(self) -> str:
        return "cursor" if self.kind == "cursor" else f"{_PREFIX[self.kind]}:{self.key}"

    @classmethod
    def from_token(cls, token: str | None) -> FitSource | None:
        """The source a token names, or None for None or a token of no known form."""
        if not token:
            return None
        if token == "cursor":
            return cls("cursor")
        prefix, sep, key = token.partition(":")
        kind = _KIND_OF_PREFIX.get(prefix)
        return cls(kind, key) if sep and kind and key else None


@dataclass(frozen=True)
class SingleFitEntry:
    """One spectrum fitted with one model."""

    grid: str | None
    record: dict[str, Any]
    source: str = ""  # the source's token
    kind: str = "single"


@dataclass(frozen=True)
class BatchFitEntry:
    """A per-pixel fit of grid ``grid``'s ``channel``; its parameter maps are dataset ``maps``."""

    model: str
    grid: str
    maps: str | None
    channel: str = ""
    start: str = ""
    summary: str = ""
    pixels: int = 0
    kind: str = "batch"


@dataclass(frozen=True)
class JosephsonSeriesEntry:
    """The phase-diffusion fit of spectra at several R_N with a common R (Ohm) and T_eff (K)."""

    R: float
    R_err: float | None
    Teff: float
    Teff_err: float | None
    icrn: float
    Ic: list[float] = field(default_factory=list)
    R_N: list[float] = field(default_factory=list)
    delta: float = 0.0
    T: float = 0.0
    data_kind: str = ""
    sources: list[str] = field(default_factory=list)
    report: str = ""
    kind: str = "josephson"


FitEntry = SingleFitEntry | BatchFitEntry | JosephsonSeriesEntry
_BY_KIND: dict[str, type] = {
    "single": SingleFitEntry,
    "batch": BatchFitEntry,
    "josephson": JosephsonSeriesEntry,
}


def fit_entry(item: Any) -> Any:
    """A typed fit entry from what a project file holds: the entry itself, or the plain dict an older
    project stored (``{"kind": "single" | "batch" | "josephson", ...}``); anything else is returned as it
    is (so nothing a project holds is lost)."""
    if isinstance(item, SingleFitEntry | BatchFitEntry | JosephsonSeriesEntry) or not isinstance(
        item, Mapping
    ):
        return item
    cls = _BY_KIND.get(str(item.get("kind")))
    if cls is None:
        return item
    names = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    try:
        return cls(**{k: v for k, v in item.items() if k in names})
    except TypeError:
        return item
