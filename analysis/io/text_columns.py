"""Plain-text column files (CSV, TSV, whitespace): transport I(V) curves and exported spectra.

Accepted layout::

    # sample = MgB2 junction 3        <- '#' comment lines; "key = value" / "key: value" become metadata
    # units: mV, nA                   <- optional units, one per column (a single unit: the sweep's)
    V (mV), I [nA], G(uS)             <- optional header line: names with optional units
    -2.0, -0.51, 0.26
    ...

The first column is the sweep (bias), the others are channels. Units come from the header (``V (mV)``,
``I [nA]``, ``G(uS)``, ``Bias/mV``) or the ``# units:`` comment and are converted to SI (mV -> V, nA -> A,
uS -> S, kOhm -> Ohm); when a name has no unit a conventional one is inferred from the name (``V``/``Bias``
-> V, ``I``/``Current`` -> A, ``G``/``dI/dV`` -> S, ``R`` -> Ohm, ``T`` -> K, ``B`` -> T) and a warning
says so. The separator is detected (comma, tab, semicolon, whitespace); with tab or semicolon separators a
decimal comma is accepted. ``nan`` and empty fields read as NaN.

The sweep is made ascending (``sweep_reversed`` set when it ran downwards); a there-and-back sweep is
split into forward and ``" [bwd]"`` channels; any other non-monotonic sweep keeps the file order with the
point index as x and the sweep as a channel, with a warning.

Sniffing accepts only text whose first non-comment lines are numeric tables with at least two columns,
and never files that look like Nanonis or Createc files; the reader has a low priority.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import BWD_SUFFIX, Source, Spectrum
from analysis.errors import ReadError
from analysis.io.common import ascending_sweep, read_file_bytes
from analysis.io.registry import ReaderSpec

MAX_BYTES = 512 * 1024 * 1024
FOREIGN_MARKERS = (
    b"[DATA]",
    b":HEADER_END:",
    b"Grid dim",
    b":NANONIS_VERSION:",
    b":SCANIT_END:",
    b"Experiment\t",
)
PREFIXES = {
    "y": 1e-24,
    "z": 1e-21,
    "a": 1e-18,
    "f": 1e-15,
    "p": 1e-12,
    "n": 1e-9,
    "u": 1e-6,
    "µ": 1e-6,
    "μ": 1e-6,
    "m": 1e-3,
    "c": 1e-2,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
}
BASE_UNITS = {
    "V": "V",
    "A": "A",
    "S": "S",
    "Ohm": "Ohm",
    "ohm": "Ohm",
    "Ω": "Ohm",
    "K": "K",
    "T": "T",
    "Hz": "Hz",
    "m": "m",
    "s": "s",
    "W": "W",
    "": "",
}
NAME_UNITS = (
    (re.compile(r"^(v|u|bias|voltage|vbias|v_bias|vb)\b", re.I), "V"),
    (re.compile(r"^(di/dv|g|conductance|didv|dg)\b", re.I), "S"),
    (re.compile(r"^(i|current|ibias|i_bias)\b", re.I), "A"),
    (re.compile(r"^(r|resistance|dv/di)\b", re.I), "Ohm"),
    (re.compile(r"^(t|temp|temperature)\b", re.I), "K"),
    (re.compile(r"^(b|field|h)\b", re.I), "T"),
)
_UNIT_IN_NAME = re.compile(r"^(?P<name>.*?)\s*[\(\[]\s*(?P<unit>[^\)\]]*?)\s*[\)\]]\s*$")
_UNIT_SLASH = re.compile(r"^(?P<name>[^/]+?)\s*/\s*(?P<unit>[A-Za-zµμΩ]+)$")
_KEYVAL = re.compile(r"^\s*([^=:]+?)\s*[=:]\s*(.*?)\s*$")


def to_si(unit: str) -> tuple[str, float, bool]:
    """(SI unit, factor, known) for a unit string such as ``"mV"``, ``"nA"``, ``"kOhm"``, ``"uS"``."""
    u = unit.strip()
    if u in BASE_UNITS:
        return BASE_UNITS[u], 1.0, True
    if len(u) >= 2 and u[0] in PREFIXES and u[1:] in BASE_UNITS and u[1:]:
        return BASE_UNITS[u[1:]], PREFIXES[u[0]], True
    return u, 1.0, False


def split_name_unit(label: str) -> tuple[str, str | None]:
    """``"V (mV)"`` -> ("V", "mV"); ``"I"`` -> ("I", None)."""
    label = label.strip().strip('"').strip("'").strip()
    m = _UNIT_IN_NAME.match(label)
    if m and m.group("name"):
        return m.group("name").strip(), m.group("unit").strip()
    m = _UNIT_SLASH.match(label)
    if m and to_si(m.group("unit"))[2]:
        return m.group("name").strip(), m.group("unit").strip()
    return label, None


def _infer_unit(name: str) -> str | None:
    for pattern, unit in NAME_UNITS:
        if pattern.match(name.strip()):
            return unit
    return None


def _detect_delimiter(line: str) -> str | None:
    for delim in ("\t", ";", ","):
        if delim in line:
            return delim
    return None


def _parse_float(token: str, decimal_comma: bool) -> float:
    t = token.strip().strip('"')
    if decimal_comma:
        t = t.replace(",", ".")
    if t == "" or t.lower() in ("nan", "-nan", "na", "n/a"):
        return math.nan
    return float(t)


def _split(line: str, delim: str | None) -> list[str]:
    return line.split(delim) if delim else line.split()


def _numeric_row(line: str, delim: str | None) -> list[float] | None:
    parts = _split(line.strip(), delim)
    try:
        return [_parse_float(p, delim in ("\t", ";")) for p in parts]
    except ValueError:
        return None


def _decode(blob: bytes) -> str | None:
    if b"\x00" in blob:
        return None
    if blob.startswith(b"\xef\xbb\xbf"):
        blob = blob[3:]
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(blob) - 3:  # a multi-byte character cut by the sniff window
            return blob[: exc.start].decode("utf-8", errors="replace")
        return blob.decode("latin-1")


def sniff(head: bytes, path: Path) -> bool:
    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not stripped or stripped.startswith(b"[") or any(m in head for m in FOREIGN_MARKERS):
        return False
    if stripped.startswith(b"\x89HDF"):
        return False
    text = _decode(head)
    if text is None:
        return False
    lines = text.splitlines()
    if len(head) >= 4096 and lines:
        lines = lines[:-1]  # the last line may be cut by the sniff window
    numeric = 0
    ncol = None
    header_seen = False
    for line in lines:
        s = line.strip()
        if not s or s.startswith(("#", "%", "//")):
            continue
        delim = _detect_delimiter(s)
        row = _numeric_row(s, delim)
        if row is None:
            if numeric or header_seen:
                return False
            header_seen = True
            continue
        if len(row) < 2 or (ncol is not None and len(row) != ncol):
            return False
        ncol = len(row)
        numeric += 1
        if numeric >= 3:
            return True
    return numeric >= 2


#: quantities a column can be declared as in the import dialog: key -> (title, SI unit)
QUANTITIES = {
    "bias": ("Bias voltage", "V"),
    "current": ("Current", "A"),
    "conductance": ("Conductance dI/dV", "S"),
    "resistance": ("Resistance", "Ohm"),
    "temperature": ("Temperature", "K"),
    "field": ("Magnetic field", "T"),
    "other": ("Other", ""),
}
_QUANTITY_OF_SI = {"V": "bias", "A": "current", "S": "conductance", "Ohm": "resistance", "K": "temperature"}
DELIMITERS = {"auto": None, "comma": ",", "tab": "\t", "semicolon": ";", "whitespace": None}


@dataclass(frozen=True)
class ColumnChoice:
    """How one column is read: its ``name``, its ``unit`` as written in the file (``"mV"``, ``"nA"``; ""
    for none) and its ``quantity`` (a key of :data:`QUANTITIES`)."""

    name: str
    unit: str = ""
    quantity: str = "other"


@dataclass(frozen=True)
class TextOptions:
    """Choices of the text import dialog; the defaults detect everything.

    ``delimiter``: a key of :data:`DELIMITERS`; ``header_rows``: lines (after '#' comments) before the
    data, the last of them naming the columns (None: detected); ``x_column``: index of the swept column
    (None: detected; a file with no monotonic column then uses the point index, with a warning);
    ``columns``: one :class:`ColumnChoice` per column (empty: from the header and the values)."""

    delimiter: str = "auto"
    header_rows: int | None = None
    x_column: int | None = None
    columns: tuple[ColumnChoice, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "delimiter": self.delimiter,
            "header_rows": self.header_rows,
            "x_column": self.x_column,
            "columns": [[c.name, c.unit, c.quantity] for c in self.columns],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextOptions:
        cols = tuple(ColumnChoice(str(n), str(u), str(q)) for n, u, q in d.get("columns") or [])
        hr, xc = d.get("header_rows"), d.get("x_column")
        delim = str(d.get("delimiter", "auto"))
        return cls(
            delim if delim in DELIMITERS else "auto",
            None if hr is None else int(hr),
            None if xc is None else int(xc),
            cols,
        )


@dataclass
class TextTable:
    """A text file split into its parts, before the columns are interpreted."""

    table: np.ndarray  # (n rows, n columns) float64, as written (no unit conversion)
    delimiter: str | None
    header: list[str] | None
    header_lines: list[str]
    comments: list[str]
    meta: dict[str, str]
    comment_units: list[str] | None
    data_lines: list[str]  # the first data lines as written (for a preview)


@dataclass
class TextGuess:
    """What the reader would do with a file: the columns, the x column (None: the point index) and notes
    explaining each choice that was not written in the file."""

    columns: list[ColumnChoice]
    x_column: int | None
    notes: list[str] = field(default_factory=list)


def parse_table(path: Path, text: str, options: TextOptions | None = None, keep_lines: int = 0) -> TextTable:
    """Split ``text`` into comments, header lines and the numeric table (ReadError when it has none)."""
    options = options or TextOptions()
    forced = options.delimiter if options.delimiter in DELIMITERS and options.delimiter != "auto" else None
    comments: list[str] = []
    meta: dict[str, str] = {}
    comment_units: list[str] | None = None
    header_lines: list[str] = []
    rows: list[list[float]] = []
    data_lines: list[str] = []
    delim: str | None = DELIMITERS[forced] if forced else None
    ncol = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        if s.startswith(("#", "%", "//")) and not (
            options.header_rows and len(header_lines) < options.header_rows
        ):
            body = s.lstrip("#%/").strip()
            comments.append(body)
            m = _KEYVAL.match(body)
            if m:
                key, value = m.group(1).strip(), m.group(2).strip()
                if key.lower() in ("unit", "units"):
                    comment_units = [u.strip() for u in re.split(r"[,;\t ]+", value) if u.strip()]
                else:
                    meta[key] = value
            continue
        if options.header_rows is not None and len(header_lines) < options.header_rows and not rows:
            header_lines.append(s)
            continue
        if forced is None and ncol is None and not header_lines:
            delim = _detect_delimiter(s)
        elif forced is None and ncol is None:
            delim = _detect_delimiter(s)
        row = _numeric_row(s, delim)
        if row is None:
            if rows or (options.header_rows is None and header_lines):
                raise ReadError(path, f"non-numeric data row: {s[:60]!r}", line=lineno)
            header_lines.append(s)
            continue
        if ncol is None:
            ncol = len(row)
            if ncol < 2:
                raise ReadError(
                    path, "a data row has one column; expected sweep + at least one channel", line=lineno
                )
        elif len(row) != ncol:
            raise ReadError(path, f"data row has {len(row)} columns, expected {ncol}", line=lineno)
        rows.append(row)
        if len(data_lines) < keep_lines:
            data_lines.append(s)
    if not rows or ncol is None:
        raise ReadError(path, "no numeric data rows found")
    header = [h.strip() for h in _split(header_lines[-1], delim)] if header_lines else None
    table = np.asarray(rows, dtype=np.float64)
    if (
        delim is not None
        and ncol > 2
        and np.all(np.isnan(table[:, -1]))
        and (header is None or header[-1] == "")
    ):
        table = table[:, :-1]  # a separator at the end of every line
        header = header[:-1] if header is not None else None
    return TextTable(table, delim, header, header_lines, comments, meta, comment_units, data_lines)


def _sweep_like(a: np.ndarray) -> bool:
    """Monotonic, or a there-and-back sweep (up then the same points down)."""
    n, half = a.size, a.size // 2
    if _monotonic(a):
        return True
    return bool(n % 2 == 0 and half >= 2 and _monotonic(a[:half]) and np.allclose(a[half:][::-1], a[:half]))


def guess_columns(t: TextTable) -> TextGuess:
    """Names, units, quantities and the x column the reader uses when nothing is chosen."""
    ncol = t.table.shape[1]
    header = t.header if t.header is not None and len(t.header) == ncol else None
    notes: list[str] = []
    if t.header is not None and header is None:
        notes.append(f"the header names {len(t.header)} columns, the rows have {ncol}: header ignored")
    cols: list[ColumnChoice] = []
    for k in range(ncol):
        if header is not None:
            name, unit = split_name_unit(header[k])
            name = name or f"Column {k + 1}"
        else:
            name, unit = ("Bias" if k == 0 else f"Column {k + 1}"), None
        if t.comment_units is not None:
            if len(t.comment_units) == ncol:
                unit = t.comment_units[k]
            elif len(t.comment_units) == 1 and k == 0:
                unit = t.comment_units[0]
        if unit is None and header is not None:
            inferred = _infer_unit(name)
            if inferred is not None:
                notes.append(f"no unit given for {name!r}: assumed {inferred}")
                unit = inferred
        if unit is None and header is None and k == 0:
            # a header-less sweep: tunnelling spectra are written in mV far more often than in V, and a
            # bias sweep of several volts would destroy the junction
            col = t.table[:, 0]
            top = float(np.nanmax(np.abs(col))) if np.isfinite(col).any() else 0.0
            if 1.0 < top <= 1000.0:
                unit = "mV"
                notes.append(f"no header: the first column (up to {top:g}) is read as a bias in mV")
        unit = unit or ""
        si = to_si(unit)[0]
        quantity = _QUANTITY_OF_SI.get(si, "other")
        if header is None and k == 0:
            quantity = "bias"
        cols.append(ColumnChoice(name, unit, quantity))
    if header is None and t.comment_units is None:
        notes.append("no header line: the first column is taken as the bias sweep")
    x: int | None = 0
    if not _sweep_like(t.table[:, 0]):
        swept = [k for k in range(1, ncol) if _monotonic(t.table[:, k])]
        # a current-biased measurement sweeps the current and measures a voltage that need not be monotonic
        swept.sort(key=lambda k: cols[k].quantity not in ("current", "bias"))
        if swept:
            x = swept[0]
            notes.append(f"column {cols[0].name!r} is not monotonic: the swept column {cols[x].name!r} is x")
        else:
            x = None
            notes.append(
                f"the sweep column {cols[0].name!r} is not monotonic, nor is any other: x is the point index"
            )
    return TextGuess(cols, x, notes)


def read(path: Path, options: TextOptions | None = None) -> list[Spectrum]:
    """Read a text column file; ``options`` (from the import dialog) override what is detected."""
    path = Path(path)
    options = options or TextOptions()
    blob = read_file_bytes(
        path, MAX_BYTES, lambda size: f"text file of {size} bytes is larger than {MAX_BYTES} bytes"
    )
    text = _decode(blob)
    if text is None:
        raise ReadError(path, "not a text file (contains NUL bytes)")
    t = parse_table(path, text, options)
    guess = guess_columns(t)
    table = t.table
    ncol = table.shape[1]
    warnings = list(guess.notes)
    cols = list(guess.columns)
    if options.columns:
        if len(options.columns) != ncol:
            raise ReadError(path, f"{len(options.columns)} columns were described, the file has {ncol}")
        cols = list(options.columns)
        warnings = [w for w in warnings if "assumed" not in w and "read as a bias in mV" not in w]
    x_col = guess.x_column if options.x_column is None else options.x_column
    if x_col is not None and not 0 <= x_col < ncol:
        raise ReadError(path, f"x column {x_col + 1} does not exist (the file has {ncol} columns)")
    names: list[str] = []
    units: list[str] = []
    factors: list[float] = []
    for c in cols:
        si, factor, known = to_si(c.unit)
        if not known:
            warnings.append(f"unit {c.unit!r} of {c.name!r} is not an SI unit with a prefix: kept as is")
        names.append(c.name or f"Column {len(names) + 1}")
        units.append(si)
        factors.append(factor)
    seen: dict[str, int] = {}
    for k, n in enumerate(names):
        if n in seen:
            seen[n] += 1
            names[k] = f"{n} {seen[n]}"
        else:
            seen[n] = 1

    data = table * np.asarray(factors)[None, :]
    order = [x_col] + [k for k in range(ncol) if k != x_col] if x_col is not None else list(range(ncol))
    cols_d = {names[k]: data[:, k] for k in order[1:]} if x_col is not None else {}
    chan_units = {names[k]: units[k] for k in order[1:]} if x_col is not None else {}
    n = data.shape[0]
    half = n // 2
    x_all = data[:, x_col] if x_col is not None else np.arange(n, dtype=np.float64)
    x_name, x_unit = (names[x_col], units[x_col]) if x_col is not None else ("Index", "")
    if x_col is None:
        x = x_all
        channels = {names[k]: data[:, k] for k in range(ncol)}
        chan_units = {names[k]: units[k] for k in range(ncol)}
    elif _monotonic(x_all):
        x, channels = x_all, cols_d
    elif (
        n % 2 == 0
        and half >= 2
        and _monotonic(x_all[:half])
        and np.allclose(x_all[half:][::-1], x_all[:half])
    ):
        x = x_all[:half]
        channels = {k: v[:half] for k, v in cols_d.items()}
        channels |= {k + BWD_SUFFIX: v[half:][::-1] for k, v in cols_d.items()}
        chan_units |= {k + BWD_SUFFIX: u for k, u in list(chan_units.items())}
    else:
        warnings.append(f"the sweep column {x_name!r} is not monotonic: x is the point index")
        channels = {x_name: x_all, **cols_d}
        chan_units = {x_name: x_unit, **chan_units}
        x, x_name, x_unit = np.arange(n, dtype=np.float64), "Index", ""
    x, channels, reversed_ = ascending_sweep(x, channels)
    header = t.header if t.header is not None and len(t.header) == ncol else None
    metadata = {
        "columns": header if header is not None else [],
        "column_units": [c.unit for c in cols],
        "column_quantities": [c.quantity for c in cols],
        "comments": t.comments,
        "delimiter": {None: "whitespace", ",": "comma", "\t": "tab", ";": "semicolon"}[t.delimiter],
        "import_options": (options if options.columns or options.x_column is not None else None)
        and options.to_dict(),
        **{
            k: v
            for k, v in t.meta.items()
            if k not in ("columns", "comments", "delimiter", "column_units", "column_quantities")
        },
    }
    return [
        Spectrum(
            name=path.stem,
            units={k: chan_units[k] for k in channels},
            metadata=metadata,
            source=Source(str(path), "text_columns", 0),
            warnings=warnings,
            x=np.ascontiguousarray(x, dtype=np.float64),
            channels=channels,
            x_name=x_name,
            x_unit=x_unit,
            sweep_reversed=reversed_,
        )
    ]


PREVIEW_BYTES = 256 * 1024


def preview(path: Path, options: TextOptions | None = None, rows: int = 30) -> tuple[TextTable, TextGuess]:
    """The parsed first part of a file (up to :data:`PREVIEW_BYTES`) and what the reader would do with
    it, for the import dialog."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            blob = fh.read(PREVIEW_BYTES + 1)
    except OSError as exc:
        raise ReadError(path, f"cannot open file: {exc.strerror or exc}") from None
    if len(blob) > PREVIEW_BYTES:
        blob = blob[: blob.rfind(b"\n", 0, PREVIEW_BYTES) + 1] or blob[:PREVIEW_BYTES]
    text = _decode(blob)
    if text is None:
        raise ReadError(path, "not a text file (contains NUL bytes)")
    t = parse_table(path, text, options, keep_lines=rows)
    return t, guess_columns(t)


def _monotonic(a: np.ndarray) -> bool:
    if a.size < 2 or not np.all(np.isfinite(a)):
        return False
    d = np.diff(a)
    return bool((np.all(d >= 0) or np.all(d <= 0)) and np.any(d != 0))


READER = ReaderSpec(
    name="text_columns",
    title="Text columns (CSV/TSV)",
    extensions=(".csv", ".tsv", ".txt", ".dat"),
    sniff=sniff,
    read=read,
    priority=-10,
    kinds=("spectrum",),
)
