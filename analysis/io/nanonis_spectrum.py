"""Nanonis point spectra (``.dat``): bias spectroscopy, Z spectroscopy and other sweeps as text.

Layout: ``key<TAB>value<TAB>`` header lines (``Experiment<TAB>bias spectroscopy`` first), a blank line,
``[DATA]``, a line of tab-separated column labels with units (``Bias calc (V)``, ``Current (A)``,
``Current [bwd] (A)``, ``Current [AVG] (A)``, ``Current [00001] (A)``, ``LI Demod 1 X [filt] (A)``), then one
tab-separated row of numbers per sweep point. The file may start with a UTF-8 byte-order mark and use
CRLF line ends; values may be ``NaN``; a header key may be repeated.

The reader returns one :class:`~analysis.dataset.Spectrum`: ``x`` is the first column (the sweep signal,
e.g. ``Bias calc (V)``), made ascending with ``sweep_reversed`` recording a downward sweep; every other
column is a channel named by its label without the unit (suffixes such as ``[AVG]``, ``[00001]``,
``[filt]`` kept, ``[bwd]`` moved to the end as ``" [bwd]"``), float64, with its unit in ``units``. Backward
columns are stored by Nanonis against the same sweep column as the forward ones and stay aligned.
``position`` is the header's ``X (m)``/``Y (m)`` when present.

A table that disagrees with the header (a row count other than ``<Experiment>>Num Pixel``, a file that ends
inside its last row) loads with a warning saying how; an incomplete last row is left out.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import Source, Spectrum
from analysis.errors import ReadError
from analysis.io.common import ascending_sweep, read_file_bytes
from analysis.io.nanonis_header import (
    UTF8_BOM,
    HeaderCollector,
    decode_text,
    split_label,
    to_float,
    unique_key,
)
from analysis.io.registry import ReaderSpec

NAME = "nanonis_spectrum"
DATA_TAG = "[DATA]"
#: Larger files are not Nanonis point spectra (the longest real ones are a few MB of text).
MAX_FILE_BYTES = 512 << 20
_NANONIS_KEYS = (
    b"Bias Spectroscopy>",
    b"NanonisMain>",
    b"Z-Controller>",
    b"Saved Date\t",
    b"Z Spectroscopy>",
)


def sniff(head: bytes, path: Path | None = None) -> bool:
    """True for a Nanonis ``.dat`` text spectrum (``Experiment<TAB>...`` first, or Nanonis header keys)."""
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    first = head.split(b"\n", 1)[0]
    if b"\t" not in first:
        return False
    if first.startswith(b"Experiment\t"):
        return True
    return b"[DATA]" in head and any(k in head for k in _NANONIS_KEYS)


def _rows(
    path: Path, lines: list[str], first_line: int, ncols: int, cut: bool, warnings: list[str]
) -> np.ndarray:
    """The numeric table as (n, ncols) float64; ReadError names the offending line. With ``cut`` (the file
    does not end with a line end) an incomplete last row is left out, and a warning says the file is cut."""
    out = np.empty((len(lines), ncols), np.float64)
    n = 0
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        cells = line.rstrip("\r\n").split("\t")
        while cells and not cells[-1].strip():
            cells.pop()
        try:
            if len(cells) != ncols:
                msg = f"data row has {len(cells)} values, the header row names {ncols}"
                raise ReadError(path, msg, line=first_line + i)
            out[n] = [float(c) for c in cells]
        except (ReadError, ValueError) as exc:
            if cut and i == last and len(cells) <= ncols:
                warnings.append("the file ends inside its last data row, which is incomplete and left out")
                break
            if isinstance(exc, ReadError):
                raise
            bad = next((c for c in cells if to_float(c) is None), line.strip())
            msg = f"data row holds a value that is not a number: {bad!r}"
            raise ReadError(path, msg, line=first_line + i) from None
        if cut and i == last:
            warnings.append("the file ends inside its last data row (no line end): its last value may be cut")
        n += 1
    return out[:n]


def _declared_points(hdr: HeaderCollector, experiment: str, warnings: list[str]) -> int | None:
    """The number of sweep points the header declares (``<Experiment>>Num Pixel``), or None."""
    section = experiment.strip().lower()
    key = next((k for k in hdr.keys() if k.lower() == f"{section}>num pixel"), None) if section else None
    if key is None:
        return None
    value = to_float(hdr.raw(key) or "")
    if value is None or not math.isfinite(value) or not value.is_integer() or value < 0:
        warnings.append(f"header entry {key!r} = {hdr.raw(key)!r} is not a number of points")
        return None
    return int(value)


def read_spectrum(path: str | os.PathLike[str]) -> Spectrum:
    """Read a Nanonis ``.dat`` spectrum (see the module docstring); raises :class:`ReadError` on bad input."""
    path = Path(path)
    raw = read_file_bytes(
        path, MAX_FILE_BYTES, lambda size: f"file is {size} bytes, too large for a Nanonis point spectrum"
    )
    text = decode_text(raw)
    if "\x00" in text:
        raise ReadError(path, "file holds NUL bytes: not a Nanonis text spectrum", offset=raw.find(b"\x00"))
    lines = text.splitlines()
    try:
        tag = next(i for i, ln in enumerate(lines) if ln.strip() == DATA_TAG)
    except StopIteration:
        msg = "no '[DATA]' line: expected a Nanonis header followed by '[DATA]' and a table"
        raise ReadError(path, msg) from None
    hdr = HeaderCollector()
    for ln in lines[:tag]:
        if not ln.strip():
            continue
        key, sep, value = ln.partition("\t")
        if not sep:
            continue
        hdr.add(key.strip(), value.rstrip("\t\r\n ").strip())
    warnings: list[str] = []
    dup = hdr.duplicate_warning()
    if dup:
        warnings.append(dup)
    if tag + 1 >= len(lines) or not lines[tag + 1].strip():
        raise ReadError(path, "expected a line of column labels after '[DATA]'", line=tag + 2)
    labels = [c.strip() for c in lines[tag + 1].rstrip("\r\n").split("\t")]
    while labels and not labels[-1]:
        labels.pop()
    if len(labels) < 2 or any(not c for c in labels):
        msg = f"column labels after '[DATA]' should be 2+ non-empty names, found {labels}"
        raise ReadError(path, msg, line=tag + 2)
    cut = not raw.endswith((b"\n", b"\r"))
    table = _rows(path, lines[tag + 2 :], tag + 3, len(labels), cut, warnings)
    if table.shape[0] == 0:
        raise ReadError(path, "the '[DATA]' table holds no rows", line=tag + 3)
    declared = _declared_points(hdr, hdr.raw("Experiment") or "", warnings)
    if declared is not None and declared != table.shape[0]:
        warnings.append(
            f"the header declares {declared} sweep points (Num Pixel), the table holds {table.shape[0]} rows"
        )

    names = [split_label(c) for c in labels]
    x_name, x_unit = names[0]
    x = table[:, 0]
    channels: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for (name, unit), col in zip(names[1:], table.T[1:]):
        key = unique_key(name, {*channels, x_name})
        channels[key] = np.ascontiguousarray(col)
        units[key] = unit
    reversed_ = False
    finite = x[np.isfinite(x)]
    if finite.size != x.size:
        warnings.append(f"the sweep column '{labels[0]}' holds {x.size - finite.size} non-finite values")
    if x.size >= 2:
        d = np.diff(x)
        if np.all(d <= 0) and x[-1] < x[0]:
            x, channels, reversed_ = ascending_sweep(x, channels)
        elif not np.all(d >= 0):
            order = np.argsort(x, kind="stable")
            x = x[order]
            channels = {k: v[order] for k, v in channels.items()}
            warnings.append(f"the sweep column '{labels[0]}' is not monotonic; rows are sorted by it")
    position = None
    px, py = to_float(hdr.raw("X (m)") or ""), to_float(hdr.raw("Y (m)") or "")
    if px is not None and py is not None and math.isfinite(px) and math.isfinite(py):
        position = (px, py)
    meta: dict[str, Any] = hdr.metadata()
    meta["Reader>Columns"] = "\t".join(labels)
    return Spectrum(
        name=path.stem,
        units=units,
        metadata=meta,
        source=Source(str(path), NAME),
        warnings=warnings,
        x=np.ascontiguousarray(x, dtype=np.float64),
        channels=channels,
        x_name=x_name,
        x_unit=x_unit,
        sweep_reversed=reversed_,
        position=position,
    )


def read(path: Path) -> list[Spectrum]:
    return [read_spectrum(path)]


READER = ReaderSpec(
    name=NAME,
    title="Nanonis point spectrum (.dat)",
    extensions=(".dat",),
    sniff=sniff,
    read=read,
    priority=10,
    kinds=("spectrum",),
)
