"""Import of many sweep files into one :class:`~analysis.series.Series`.

Each file gives one sweep (or several: a file holding up/down sweeps can be split at the turning points of
its swept column, a file holding a stepped quantity, e.g. a field column, by that column's value). Sweeps
keep the measurement order of their points (an up/down Nanonis sweep is its forward points followed by its
backward points). Readers:

* Nanonis ``.dat`` point spectra (through :mod:`analysis.io.nanonis_spectrum`);
* text columns (CSV, TSV, whitespace; header names with units such as ``V (mV)``, also on the last
  comment line before the data as ``numpy.savetxt`` writes it; ``# key = value`` comments; the unit
  conventions of :mod:`analysis.io.text_columns`, converted to SI). Plain tables of many files are parsed
  together in one pass of a C parser (pandas', which xarray brings; numpy's otherwise), others line by
  line (decimal commas, empty fields), which also names a bad line.

QCoDeS databases and Labber logs hold whole series: see :mod:`analysis.transport.qcodes_db` and
:mod:`analysis.transport.labber`, and :func:`read_series_files` which takes any of them.

Tags come from file-name patterns (:mod:`analysis.transport.tags`), from header keys and from a table.
Bad input never stops an import: a file that cannot be read, whose columns differ from those most files share,
whose name does not match a pattern, or whose sweep is all NaN is left out and reported in
:attr:`ImportResult.problems` as a :class:`~analysis.errors.ReadError` naming the file.
"""

from __future__ import annotations

import io
import math
import os
import re
import threading
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
#: Files read, and their tables parsed, together (progress is reported after each chunk).
IMPORT_CHUNK = 64
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


def _line_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


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


def _infer_unit(name: str) -> str | None:
    for pattern, unit in NAME_UNITS:
        if pattern.match(name.strip()):
            return unit
    return None


@dataclass
class _TextScan:
    """A text file read up to its table: column ``names`` with SI ``units`` and ``factors``, the
    ``body`` bytes of the table (trailing blank lines removed, ending in a line end) holding ``rows``
    lines, ``delim`` (None: whitespace), the line number of its first row."""

    path: Path
    names: list[str]
    units: list[str]
    factors: list[float]
    meta: dict[str, Any]
    delim: str | None
    ncol: int
    body: bytes
    rows: int
    first_line: int
    trailing_separator: bool

    @property
    def plain(self) -> bool:
        """True when the table can go to a C parser as it is (no decimal commas, no end separators)."""
        return not self.trailing_separator and not (self.delim in ("\t", ";") and b"," in self.body)


def _scan_text(path: Path, blob: bytes) -> _TextScan:
    """Header, comments and first data row of a text column file (the table itself is not parsed)."""
    if b"\x00" in blob[:65536]:
        raise ReadError(path, "not a text file (contains NUL bytes)")
    pos = 3 if blob.startswith(b"\xef\xbb\xbf") else 0
    meta: dict[str, Any] = {}
    comment_units: list[str] | None = None
    header: list[str] | None = None
    delim: str | None = None
    first: list[float] | None = None
    last_comment = ""
    lineno = 0
    first_text = ""
    n = len(blob)
    while pos < n:
        end = blob.find(b"\n", pos)
        end = n if end < 0 else end
        s = _line_text(blob[pos:end]).strip()
        lineno += 1
        if s.startswith(_COMMENT):
            body_text = s.lstrip("#%/").strip()
            m = _KEYVAL.match(body_text)
            if m:
                key, value = m.group(1).strip(), m.group(2).strip()
                if key.lower() in ("unit", "units"):
                    comment_units = [u for u in re.split(r"[,;\t ]+", value) if u]
                else:
                    meta[key] = value
            elif body_text:
                last_comment = body_text
        elif s:
            delim = _delimiter(s)
            first = _numeric(s, delim)
            if first is not None:
                first_text = s
                break
            if header is not None:
                raise ReadError(path, f"non-numeric data row: {s[:60]!r}", line=lineno)
            header = [h.strip() for h in _cells(s, delim)]
        pos = end + 1
    if first is None:
        raise ReadError(path, "no numeric data rows found")
    ncol = len(first)
    trailing = delim is not None and ncol > 2 and math.isnan(first[-1]) and not _cells(first_text, delim)[-1]
    if trailing:
        ncol -= 1  # a separator at the end of every line
    if ncol < 2:
        raise ReadError(path, "a data row has one column; expected at least two", line=lineno)
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
    names: list[str] = []
    units: list[str] = []
    factors: list[float] = []
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
        while name in names:
            j += 1
            name = f"{base} {j}"
        names.append(name)
        units.append(si)
        factors.append(factor)
    meta["columns"] = list(names)
    if warns:
        meta["warnings"] = warns
    body = blob[pos:].rstrip() + b"\n"
    return _TextScan(
        path, names, units, factors, meta, delim, ncol, body, body.count(b"\n"), lineno, trailing
    )


_PANDAS: Any = None


def _pandas() -> Any:
    """pandas (installed with xarray) for its fast, correctly rounding C table parser; False without it."""
    global _PANDAS
    if _PANDAS is None:
        try:
            import pandas

            _PANDAS = pandas
        except ImportError:  # pragma: no cover - xarray brings pandas
            _PANDAS = False
    return _PANDAS


def _parse_block(body: bytes, delim: str | None, ncol: int, rows: int) -> np.ndarray | None:
    """The plain table ``body`` as (rows, ncol) float64 in one C pass, or None when it is not that."""
    pd = _pandas()
    if pd:
        try:
            frame = pd.read_csv(
                io.BytesIO(body), sep=delim or r"\s+", header=None, dtype=np.float64, engine="c"
            )
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
            return None
        table = frame.to_numpy(dtype=np.float64)
    else:  # pragma: no cover - the same without pandas
        text = _line_text(body)
        try:
            flat = np.fromstring(text if delim in (None, "\t") else text.replace(delim, " "), sep=" ")
        except (ValueError, DeprecationWarning):
            return None
        if flat.size % ncol:
            return None
        table = flat.reshape(-1, ncol)
    return table if table.shape == (rows, ncol) else None


def _slow_table(scan: _TextScan) -> np.ndarray:
    """The table parsed line by line (decimal commas, empty fields, stray lines); ReadError names the
    line that is not a row of numbers."""
    rows = []
    delim, ncol = scan.delim, scan.ncol
    dec = delim in ("\t", ";")
    for k, raw in enumerate(scan.body.split(b"\n")):
        s = _line_text(raw).strip()
        if not s or s.startswith(_COMMENT):
            continue
        cells = _cells(s, delim)
        if delim is not None and len(cells) == ncol + 1 and not cells[-1].strip():
            cells = cells[:-1]
        line = scan.first_line + k
        if len(cells) != ncol:
            raise ReadError(scan.path, f"data row has {len(cells)} columns, expected {ncol}", line=line)
        try:
            rows.append([_to_float(c, dec) for c in cells])
        except ValueError:
            raise ReadError(scan.path, f"non-numeric data row: {s[:60]!r}", line=line) from None
    return np.asarray(rows, dtype=np.float64).reshape(-1, ncol)


def _table(scan: _TextScan) -> np.ndarray:
    t = _parse_block(scan.body, scan.delim, scan.ncol, scan.rows) if scan.plain else None
    return t if t is not None else _slow_table(scan)


def _tables(scans: Sequence[_TextScan]) -> list[np.ndarray | ReadError]:
    """The tables of many scanned files; consecutive plain files with the same layout are parsed together
    in one C pass (blocks of up to 16 MB), any file that spoils a block is parsed on its own."""
    out: list[np.ndarray | ReadError | None] = [None] * len(scans)
    k = 0
    while k < len(scans):
        first = scans[k]
        stop, size = k, 0
        while (
            stop < len(scans)
            and scans[stop].plain
            and scans[stop].delim == first.delim
            and scans[stop].ncol == first.ncol
            and (stop == k or size + len(scans[stop].body) <= 16 << 20)
        ):
            size += len(scans[stop].body)
            stop += 1
        if stop - k > 1:
            rows = [sc.rows for sc in scans[k:stop]]
            block = _parse_block(
                b"".join(sc.body for sc in scans[k:stop]), first.delim, first.ncol, sum(rows)
            )
            if block is not None:
                for j, part in enumerate(np.split(block, np.cumsum(rows)[:-1])):
                    out[k + j] = part
        for j in range(k, max(stop, k + 1)):
            if out[j] is None:
                try:
                    out[j] = _table(scans[j])
                except ReadError as exc:
                    out[j] = exc
        k = max(stop, k + 1)
    return out  # type: ignore[return-value]


def _finish_text(scan: _TextScan, table: np.ndarray) -> RawSweep:
    columns: dict[str, np.ndarray] = {}
    for k, (name, factor) in enumerate(zip(scan.names, scan.factors)):
        col = table[:, k]
        columns[name] = col * factor if factor != 1.0 else np.ascontiguousarray(col)
    units = dict(zip(scan.names, scan.units))
    return RawSweep(columns, units, scan.meta, scan.path.stem, Source(str(scan.path), "text_columns", 0))


def read_text_sweep(path: str | os.PathLike[str], blob: bytes | None = None) -> RawSweep:
    """One sweep from a text column file (see the module docstring); ReadError names the file and line.
    ``blob`` is the file's content when it has been read already."""
    path = Path(path)
    if blob is None:
        blob = read_file_bytes(path, MAX_TEXT_BYTES, lambda size: f"text file of {size} bytes is too large")
    scan = _scan_text(path, blob)
    return _finish_text(scan, _table(scan))


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
    raws, scan = _read_or_scan(p)
    return raws if scan is None else [_finish_text(scan, _table(scan))]


def _read_or_scan(p: Path) -> tuple[list[RawSweep], _TextScan | None]:
    """A Nanonis file read, or a text file scanned up to its table (parsed later, with others)."""
    blob = read_file_bytes(p, MAX_TEXT_BYTES, lambda size: f"file of {size} bytes is too large for a sweep")
    head = blob[:4096]
    if nanonis_spectrum.sniff(head, p):
        return read_nanonis_sweeps(p), None
    if head.startswith(b"\x89HDF") or head.startswith(b"SQLite format 3"):
        raise ReadError(p, "a QCoDeS or Labber file holds a whole series: read it with read_series_files")
    return [], _scan_text(p, blob)


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
    done = 0
    for c0 in range(0, total, IMPORT_CHUNK):
        # a chunk of files: names matched, files read (text files scanned), text tables parsed together
        loaded: list[tuple[int, Path, dict[str, float], list[RawSweep], _TextScan | None]] = []
        for i in range(c0, min(total, c0 + IMPORT_CHUNK)):
            check_cancel(cancel, "import")
            path = paths[i]
            try:
                tags: dict[str, float] = {}
                for p in compiled:
                    tags.update(p.match(path))
                raws, scan = _read_or_scan(path)
                loaded.append((i, path, tags, raws, scan))
            except ReadError as exc:
                problems.append((i, exc))
        check_cancel(cancel, "import")
        scans = [item[4] for item in loaded if item[4] is not None]
        parsed = iter(_tables(scans))
        for i, path, tags, raws, scan in loaded:
            try:
                if scan is not None:
                    t = next(parsed)
                    if isinstance(t, ReadError):
                        raise t
                    raws = [_finish_text(scan, t)]
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
        done = min(total, c0 + IMPORT_CHUNK)
        if progress is not None:
            progress(done, total)

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
