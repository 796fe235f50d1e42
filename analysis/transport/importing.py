"""Import of many sweep files into one :class:`~analysis.series.Series`.

Each file gives one sweep (or several: a file holding up/down sweeps can be split at the turning points of
its swept column, a file holding a stepped quantity, e.g. a field column, by that column's value). Sweeps
keep the measurement order of their points (an up/down Nanonis sweep is its forward points followed by its
backward points). Readers:

* Nanonis ``.dat`` point spectra (through :mod:`analysis.io.nanonis_spectrum`);
* text columns (CSV, TSV, whitespace; header names with units such as ``V (mV)``, also on the last
  comment line before the data as ``numpy.savetxt`` writes it; ``# key = value`` comments; the unit
  conventions of :mod:`analysis.io.text_columns`, converted to SI). The table is parsed in one pass in C
  when it is plain, line by line otherwise (decimal commas, empty fields).

QCoDeS databases and Labber logs hold whole series: see :mod:`analysis.transport.qcodes_db` and
:mod:`analysis.transport.labber`, and :func:`read_series_files` which takes any of them.

Tags come from file-name patterns (:mod:`analysis.transport.tags`), from header keys and from a table.
Bad input never stops an import: a file that cannot be read, whose columns differ from those most files share,
whose name does not match a pattern, or whose sweep is all NaN is left out and reported in
:attr:`ImportResult.problems` as a :class:`~analysis.errors.ReadError` naming the file.
"""

from __future__ import annotations

import math
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import BWD_SUFFIX, Source
from analysis.errors import ReadError
from analysis.hooks import check_cancel
from analysis.io import nanonis_spectrum
from analysis.io.common import read_file_bytes
from analysis.io.text_columns import NAME_UNITS, split_name_unit, to_si
from analysis.series import CURRENT_BIASED, KNOWN_TAGS, VOLTAGE_BIASED, Series, Sweep, segments
from analysis.transport.tags import TagPattern, compile_pattern, header_tags, table_tags

Progress = Callable[[int, int], None] | None

MAX_TEXT_BYTES = 512 << 20
_COMMENT = ("#", "%", "//")
_KEYVAL = re.compile(r"^\s*([^=:]+?)\s*[=:]\s*(.*?)\s*$")
_HEADER_TOKEN = re.compile(r"[^\s(\[]+(?:\s*[(\[][^)\]]*[)\]])?")
_REPEAT = re.compile(r"\s*\[(\d{5})\]")


@dataclass
class RawSweep:
    """One sweep as read from a file: ``columns`` {name: (n,) float64} in measurement order, SI
    ``units``, the file header as ``metadata``."""

    columns: dict[str, np.ndarray]
    units: dict[str, str]
    metadata: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    source: Source = field(default_factory=Source)
    tags: dict[str, float] = field(default_factory=dict)


@dataclass
class ImportResult:
    """The imported ``series``, the ``files`` it holds and the ``problems`` (one ReadError per file left
    out, its message naming the file)."""

    series: Series
    files: list[str] = field(default_factory=list)
    problems: list[ReadError] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [str(p) for p in self.problems]


# ----------------------------------------------------------------------------------------------------------
# text columns


def _decode(blob: bytes, path: Path) -> str:
    if b"\x00" in blob[:65536]:
        raise ReadError(path, "not a text file (contains NUL bytes)")
    if blob.startswith(b"\xef\xbb\xbf"):
        blob = blob[3:]
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        return blob.decode("latin-1")


def _delimiter(line: str) -> str | None:
    for d in ("\t", ";", ","):
        if d in line:
            return d
    return None


def _cells(line: str, delim: str | None) -> list[str]:
    return line.split(delim) if delim else line.split()


def _to_float(cell: str, decimal_comma: bool) -> float:
    t = cell.strip().strip('"')
    if decimal_comma:
        t = t.replace(",", ".")
    if t == "" or t.lower() in ("nan", "-nan", "na", "n/a"):
        return math.nan
    return float(t)


def _numeric(line: str, delim: str | None) -> list[float] | None:
    try:
        return [_to_float(c, delim in ("\t", ";")) for c in _cells(line.strip(), delim)]
    except ValueError:
        return None


def _fast_table(body: str, delim: str | None, ncol: int) -> np.ndarray | None:
    """The table (n, ncol) parsed in one C pass, or None when the text is not plain enough."""
    if delim in ("\t", ";") and "," in body:
        return None  # decimal commas: the line-by-line path
    flat_text = body if delim is None else body.replace(delim, " ")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            flat = np.fromstring(flat_text, dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    if flat.size % ncol:
        return None
    rows = flat.size // ncol
    lines = body.count("\n") + (0 if body.endswith("\n") else 1)
    if rows != lines and rows != sum(1 for ln in body.split("\n") if ln.strip()):
        return None
    return flat.reshape(rows, ncol)


def _slow_table(path: Path, body: str, delim: str | None, ncol: int, first_line: int) -> np.ndarray:
    rows = []
    dec = delim in ("\t", ";")
    for k, line in enumerate(body.split("\n")):
        s = line.strip()
        if not s or s.startswith(_COMMENT):
            continue
        cells = _cells(s, delim)
        if delim is not None and len(cells) == ncol + 1 and not cells[-1].strip():
            cells = cells[:-1]
        if len(cells) != ncol:
            raise ReadError(path, f"data row has {len(cells)} columns, expected {ncol}", line=first_line + k)
        try:
            rows.append([_to_float(c, dec) for c in cells])
        except ValueError:
            raise ReadError(path, f"non-numeric data row: {s[:60]!r}", line=first_line + k) from None
    return np.asarray(rows, dtype=np.float64).reshape(-1, ncol)


def _infer_unit(name: str) -> str | None:
    for pattern, unit in NAME_UNITS:
        if pattern.match(name.strip()):
            return unit
    return None


def read_text_sweep(path: str | os.PathLike[str]) -> RawSweep:
    """One sweep from a text column file (see the module docstring); ReadError names the file and line."""
    path = Path(path)
    blob = read_file_bytes(
        path, MAX_TEXT_BYTES, lambda size: f"text file of {size} bytes is larger than {MAX_TEXT_BYTES}"
    )
    text = _decode(blob, path)
    meta: dict[str, Any] = {}
    comment_units: list[str] | None = None
    header: list[str] | None = None
    delim: str | None = None
    first: list[float] | None = None
    last_comment = ""
    pos = 0
    lineno = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        lineno += 1
        s = line.strip()
        if s.startswith(_COMMENT):
            body_text = s.lstrip("#%/").strip()
            m = _KEYVAL.match(body_text)
            if not m and body_text:
                last_comment = body_text
            if m:
                key, value = m.group(1).strip(), m.group(2).strip()
                if key.lower() in ("unit", "units"):
                    comment_units = [u for u in re.split(r"[,;\t ]+", value) if u]
                else:
                    meta[key] = value
        elif s:
            delim = _delimiter(s)
            first = _numeric(s, delim)
            if first is not None:
                break
            if header is not None:
                raise ReadError(path, f"non-numeric data row: {s[:60]!r}", line=lineno)
            header = [h.strip() for h in _cells(s, delim)]
        pos = end + 1
    if first is None:
        raise ReadError(path, "no numeric data rows found")
    ncol = len(first)
    if (
        delim is not None
        and ncol > 2
        and math.isnan(first[-1])
        and not _cells(text[pos:end], delim)[-1].strip()
    ):
        ncol -= 1  # a separator at the end of every line
    if ncol < 2:
        raise ReadError(path, "a data row has one column; expected at least two", line=lineno)
    body = text[pos:]
    table = _fast_table(body, delim, ncol) if ncol == len(first) else None
    if table is None:
        table = _slow_table(path, body, delim, ncol, lineno)
    if header is None and last_comment and comment_units is None:
        # a commented header line ("# I (A)  V (V)", as numpy.savetxt writes one) names the columns
        cand = (
            [h.strip() for h in _cells(last_comment, delim)] if delim else _HEADER_TOKEN.findall(last_comment)
        )
        if len(cand) == ncol and _numeric(last_comment, delim) is None:
            header = cand
    if header is not None and len(header) == ncol + 1 and not header[-1]:
        header = header[:-1]
    if header is not None and delim is None and len(header) != ncol:
        header = _HEADER_TOKEN.findall(" ".join(header))  # "B (mT) V (V)": a unit belongs to its name
    warns: list[str] = []
    if header is not None and len(header) != ncol:
        warns.append(f"the header names {len(header)} columns, the rows have {ncol}: header ignored")
        header = None
    columns: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for k in range(ncol):
        if header is not None:
            name, unit = split_name_unit(header[k])
            name = name or f"Column {k + 1}"
        else:
            name, unit = f"Column {k + 1}", None
        if comment_units is not None and len(comment_units) == ncol:
            unit = comment_units[k]
        if unit is None:
            unit = (_infer_unit(name) if header is not None else None) or ""
        si, factor, _known = to_si(unit)
        base, j = name, 1
        while name in columns:
            j += 1
            name = f"{base} {j}"
        col = table[:, k]
        columns[name] = col * factor if factor != 1.0 else np.ascontiguousarray(col)
        units[name] = si
    meta["columns"] = list(columns)
    if warns:
        meta["warnings"] = warns
    return RawSweep(columns, units, meta, path.stem, Source(str(path), "text_columns", 0))


# ----------------------------------------------------------------------------------------------------------
# Nanonis


def read_nanonis_sweeps(path: str | os.PathLike[str]) -> list[RawSweep]:
    """The sweeps of a Nanonis ``.dat`` spectrum, each in measurement order: the forward points, then the
    backward points when the file has ``[bwd]`` channels (channels without a backward column get NaN
    there). A file of repeated sweeps (channels numbered ``[00001]``, ``[00002]``...) gives one sweep per
    number, tagged ``repeat``, with the numbers taken out of the channel names (the ``[AVG]`` channels are
    left out); any other file gives one sweep."""
    raw = read_nanonis_sweep(path)
    numbered: dict[int, dict[str, str]] = {}
    for name in raw.columns:
        m = _REPEAT.search(name)
        if m:
            numbered.setdefault(int(m.group(1)), {})[name] = (name[: m.start()] + name[m.end() :]).strip()
    if not numbered:
        return [raw]
    x_name = next(iter(raw.columns))
    out = []
    for k in sorted(numbered):
        cols = {x_name: raw.columns[x_name]}
        units = {x_name: raw.units[x_name]}
        for name, base in numbered[k].items():
            cols[base] = raw.columns[name]
            units[base] = raw.units[name]
        label = f"{raw.label} #{k}"
        out.append(
            RawSweep(
                cols,
                units,
                raw.metadata,
                label,
                Source(raw.source.path, raw.source.reader, k),
                {"repeat": float(k)},
            )
        )
    return out


def read_nanonis_sweep(path: str | os.PathLike[str]) -> RawSweep:
    """A Nanonis ``.dat`` spectrum as one sweep with all its channels (see :func:`read_nanonis_sweeps`)."""
    sp = nanonis_spectrum.read_spectrum(path)
    x = np.asarray(sp.x, dtype=np.float64)
    fwd = {k: v for k, v in sp.channels.items() if not k.endswith(BWD_SUFFIX)}
    bwd = {k[: -len(BWD_SUFFIX)]: v for k, v in sp.channels.items() if k.endswith(BWD_SUFFIX)}
    if sp.sweep_reversed:
        x = x[::-1]
        fwd = {k: v[::-1] for k, v in fwd.items()}
        bwd = {k: v[::-1] for k, v in bwd.items()}
    columns = {sp.x_name: x}
    units = {sp.x_name: sp.x_unit}
    for k, v in fwd.items():
        columns[k] = np.asarray(v, dtype=np.float64)
        units[k] = sp.unit(k)
    if bwd:
        nan = np.full(x.shape, np.nan)
        columns = {
            k: np.concatenate([v, (x if k == sp.x_name else bwd.get(k, nan))[::-1]])
            for k, v in columns.items()
        }
    meta = dict(sp.metadata)
    if sp.warnings:
        meta["warnings"] = list(sp.warnings)
    return RawSweep(columns, units, meta, sp.name, Source(str(path), nanonis_spectrum.NAME, 0))


# ----------------------------------------------------------------------------------------------------------
# dispatch, splitting


def read_sweeps(path: str | os.PathLike[str]) -> list[RawSweep]:
    """The sweep(s) of one column file: Nanonis ``.dat`` when it looks like one, text columns otherwise."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise ReadError(p, f"cannot read file: {exc.strerror or exc}") from None
    if nanonis_spectrum.sniff(head, p):
        return read_nanonis_sweeps(p)
    if head.lstrip().startswith(b"\x89HDF") or head.startswith(b"SQLite format 3"):
        raise ReadError(p, "a QCoDeS or Labber file holds a whole series: read it with read_series_files")
    return [read_text_sweep(p)]


def split_at_turning_points(raw: RawSweep, column: str, tolerance: float = 0.0) -> list[RawSweep]:
    """The monotonic branches of ``column`` as separate sweeps (tag ``direction`` +1 or -1)."""
    out = []
    segs = segments(raw.columns[column], tolerance)
    for k, seg in enumerate(segs):
        cols = {n: v[seg.start : seg.stop] for n, v in raw.columns.items()}
        label = f"{raw.label} #{k + 1}" if len(segs) > 1 else raw.label
        tags = {**raw.tags, "direction": float(seg.direction)}
        out.append(RawSweep(cols, raw.units, raw.metadata, label, raw.source, tags))
    return out


def split_by_column(raw: RawSweep, column: str, rtol: float = 1e-6) -> list[RawSweep]:
    """Runs of a constant value of ``column`` (a stepped field, temperature, power...) as separate sweeps,
    each tagged with that value (tag named ``column``). Values equal within ``rtol`` of the column's
    largest magnitude belong to one run."""
    if column not in raw.columns:
        raise ReadError(
            raw.source.path, f"no column {column!r} to split by (columns: {', '.join(raw.columns)})"
        )
    c = raw.columns[column]
    scale = float(np.nanmax(np.abs(c))) if np.isfinite(c).any() else 0.0
    change = np.abs(np.diff(c)) > rtol * max(scale, np.finfo(float).tiny)
    bounds = [0, *(np.flatnonzero(change) + 1).tolist(), c.size]
    out = []
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        cols = {n: v[a:b] for n, v in raw.columns.items() if n != column}
        label = f"{raw.label} {column}={np.nanmedian(c[a:b]):.6g}"
        tags = {**raw.tags, column: float(np.nanmedian(c[a:b]))}
        units = {n: u for n, u in raw.units.items() if n != column}
        out.append(RawSweep(cols, units, dict(raw.metadata, split_index=k), label, raw.source, tags))
    return out


def _all_nan(raw: RawSweep, x_channel: str) -> bool:
    x = raw.columns[x_channel]
    if not np.isfinite(x).any():
        return True
    others = [v for k, v in raw.columns.items() if k != x_channel]
    return bool(others) and not any(np.isfinite(v).any() for v in others)


def _pattern_list(patterns: Mapping[str, str] | Sequence[str] | str | None) -> list[TagPattern]:
    if patterns is None:
        return []
    if isinstance(patterns, str):
        return [compile_pattern(patterns)]
    if isinstance(patterns, Mapping):
        return [compile_pattern(p, name) for name, p in patterns.items()]
    return [compile_pattern(p) for p in patterns]


def import_series(
    paths: Iterable[str | os.PathLike[str]],
    *,
    patterns: Mapping[str, str] | Sequence[str] | str | None = None,
    header: Mapping[str, str] | None = None,
    table: Mapping[str, Mapping[str, float]] | None = None,
    tag_units: Mapping[str, str] | None = None,
    split: str | None = None,
    split_column: str | None = None,
    x_channel: str | None = None,
    bias_mode: str | None = None,
    name: str = "",
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> ImportResult:
    """Read column files (Nanonis ``.dat``, text/CSV) into one series, in the order given.

    Parameters
    ----------
    patterns : file-name tag patterns (``"neck3_{H}T.dat"``, a list, or ``{tag: pattern}``).
    header : {tag: header key} read from each file's header (``"# T = 4.2 K"`` comments, Nanonis keys).
    table : {file name or path: {tag: value}} (see :func:`analysis.transport.tags.read_tag_table`).
    tag_units : units of the header and table tags (defaults: the well-known tags' SI units).
    split : None, ``"turning_points"`` (each monotonic branch of the swept column a sweep, tag
        ``direction``) or ``"column"`` (runs of constant ``split_column`` a sweep, tagged with its value).
    x_channel : the swept column (default: the first column of the first file).
    bias_mode : ``"current"`` or ``"voltage"`` (default: current when the swept column is in A).

    A file that cannot be read, whose columns (names or units) differ from those most files share, whose
    name a pattern does not match, or whose sweep is all NaN is left out with a ReadError in
    ``problems``; the others are imported. ``progress(done, total)`` counts files; ``cancel`` raises
    :class:`analysis.hooks.Cancelled`. Tags missing for a sweep are NaN.
    """
    paths = [Path(p) for p in paths]
    compiled = _pattern_list(patterns)
    units_of_tags: dict[str, str] = {f.name: f.unit for p in compiled for f in p.fields}
    if split not in (None, "turning_points", "column"):
        raise ValueError(f"split must be None, 'turning_points' or 'column', not {split!r}")
    if split == "column" and not split_column:
        raise ValueError("split='column' needs split_column")
    problems: list[tuple[int, ReadError]] = []
    read_ok: list[tuple[int, Path, list[RawSweep]]] = []
    xc = x_channel
    total = len(paths)
    for i, path in enumerate(paths):
        check_cancel(cancel, "import")
        try:
            tags: dict[str, float] = {}
            for p in compiled:
                tags.update(p.match(path))
            raws = read_sweeps(path)
            if header:
                for r in raws:
                    tags.update(header_tags(r.metadata, header))
            if table is not None:
                tags.update(table_tags(table, path))
            pieces: list[RawSweep] = []
            for r in raws:
                r.tags = {**tags, **r.tags}
                if xc is None:
                    xc = next(iter(r.columns))
                if xc not in r.columns:
                    raise ReadError(path, f"no swept column {xc!r} (columns: {', '.join(r.columns)})")
                if split == "turning_points":
                    pieces.extend(split_at_turning_points(r, xc))
                elif split == "column":
                    pieces.extend(split_by_column(r, str(split_column)))
                else:
                    pieces.append(r)
            for r in pieces:
                if _all_nan(r, str(xc)):
                    raise ReadError(path, f"sweep {r.label!r} holds no finite values")
        except ReadError as exc:
            problems.append((i, exc))
        else:
            read_ok.append((i, path, pieces))
        if progress is not None:
            progress(i + 1, total)

    # the columns (names and units) most files share are the series' channels; the others are reported
    def signature(r: RawSweep) -> tuple[tuple[str, str], ...]:
        return tuple((c, r.units.get(c, "")) for c in r.columns)

    counts: dict[tuple[tuple[str, str], ...], int] = {}
    first_file: dict[tuple[tuple[str, str], ...], str] = {}
    for _i, path, pieces in read_ok:
        for sig in {signature(r) for r in pieces}:
            counts[sig] = counts.get(sig, 0) + 1
            first_file.setdefault(sig, path.name)
    ref = max(counts, key=lambda k: counts[k]) if counts else ()
    accepted: list[RawSweep] = []
    files: list[str] = []
    for i, path, pieces in read_ok:
        odd = next((r for r in pieces if signature(r) != ref), None)
        if odd is not None:
            mine = ", ".join(f"{c} ({u})" for c, u in signature(odd))
            theirs = ", ".join(f"{c} ({u})" for c, u in ref)
            others = (
                f"{first_file[ref]} and {counts[ref] - 1} other file(s)"
                if counts[ref] > 1
                else first_file[ref]
            )
            problems.append((i, ReadError(path, f"columns {mine} differ from those of {others}: {theirs}")))
            continue
        accepted.extend(pieces)
        files.append(str(path))
    problems = sorted(problems, key=lambda t: t[0])
    series = build_series(
        accepted, x_channel=xc or "Current", bias_mode=bias_mode, name=name, tag_units=tag_units
    )
    for t, u in units_of_tags.items():
        if t in series.tags:
            series.tag_units[t] = u
    series.warnings.extend(str(p) for _i, p in problems)
    series.provenance.append(
        {
            "operation": "import",
            "parameters": {
                "files": len(files),
                "patterns": [p.text for p in compiled],
                "header": dict(header or {}),
                "split": split,
                "split_column": split_column,
            },
            "inputs": [],
        }
    )
    return ImportResult(series, files, [p for _i, p in problems])


def build_series(
    raws: Sequence[RawSweep],
    *,
    x_channel: str,
    bias_mode: str | None = None,
    name: str = "",
    tag_units: Mapping[str, str] | None = None,
) -> Series:
    """A series from raw sweeps that share their columns; tags gathered over the sweeps (NaN where one
    has none)."""
    units = dict(raws[0].units) if raws else {}
    x_unit = units.get(x_channel, "")
    mode = bias_mode or (CURRENT_BIASED if x_unit == "A" else VOLTAGE_BIASED)
    tag_names: list[str] = []
    for r in raws:
        for t in r.tags:
            if t not in tag_names:
                tag_names.append(t)
    tags = {t: np.array([r.tags.get(t, math.nan) for r in raws], dtype=np.float64) for t in tag_names}
    tu = {t: (tag_units or {}).get(t, KNOWN_TAGS.get(t, "")) for t in tag_names}
    sweeps = [
        Sweep(x=r.columns[x_channel], channels=r.columns, label=r.label, source=r.source, metadata=r.metadata)
        for r in raws
    ]
    src = raws[0].source if raws else Source()
    return Series(
        name=name or (Path(src.path).parent.name if src.path else "series"),
        sweeps=sweeps,
        x_name=x_channel,
        x_unit=x_unit,
        x_channel=x_channel,
        bias_mode=mode,
        units=units,
        tags=tags,
        tag_units=tu,
        source=Source(str(Path(src.path).parent) if src.path else "", src.reader, 0),
    )


def read_series_files(
    paths: Iterable[str | os.PathLike[str]], **kw: Any
) -> tuple[list[Series], list[ReadError]]:
    """Series from any mix of files: every QCoDeS ``.db`` run and every Labber log is a series of its own;
    the column files (Nanonis, text) together make one series through :func:`import_series` (``kw``).
    Returns ``(series, problems)``."""
    from analysis.transport.labber import is_labber, read_labber
    from analysis.transport.qcodes_db import is_qcodes_db, read_qcodes_db

    out: list[Series] = []
    problems: list[ReadError] = []
    columns: list[Path] = []
    for path in (Path(p) for p in paths):
        try:
            if is_qcodes_db(path):
                out.extend(read_qcodes_db(path))
            elif is_labber(path):
                out.append(read_labber(path))
            else:
                columns.append(path)
        except ReadError as exc:
            problems.append(exc)
    if columns:
        res = import_series(columns, **kw)
        if res.files:
            out.insert(0, res.series)
        problems.extend(res.problems)
    return out, problems
