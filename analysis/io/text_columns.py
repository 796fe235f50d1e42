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
from pathlib import Path

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


def read(path: Path) -> list[Spectrum]:
    path = Path(path)
    blob = read_file_bytes(
        path, MAX_BYTES, lambda size: f"text file of {size} bytes is larger than {MAX_BYTES} bytes"
    )
    text = _decode(blob)
    if text is None:
        raise ReadError(path, "not a text file (contains NUL bytes)")

    comments: list[str] = []
    meta: dict[str, str] = {}
    comment_units: list[str] | None = None
    header: list[str] | None = None
    rows: list[list[float]] = []
    delim: str | None = None
    ncol = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        if s.startswith(("#", "%", "//")):
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
        if ncol is None and header is None:
            delim = _detect_delimiter(s)
        row = _numeric_row(s, delim)
        if row is None:
            if rows or header is not None:
                raise ReadError(path, f"non-numeric data row: {s[:60]!r}", line=lineno)
            header = [h.strip() for h in _split(s, delim)]
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
    if not rows or ncol is None:
        raise ReadError(path, "no numeric data rows found")
    table = np.asarray(rows, dtype=np.float64)
    warnings: list[str] = []
    if (
        delim is not None
        and ncol > 2
        and np.all(np.isnan(table[:, -1]))
        and (header is None or header[-1] == "")
    ):
        table, ncol = table[:, :-1], ncol - 1  # a separator at the end of every line
        header = header[:-1] if header is not None else None

    if header is not None and len(header) != ncol:
        warnings.append(f"the header names {len(header)} columns, the rows have {ncol}: header ignored")
        header = None
    names: list[str] = []
    units: list[str] = []
    factors: list[float] = []
    raw_units: list[str | None] = []
    for k in range(ncol):
        if header is not None:
            name, unit = split_name_unit(header[k])
            name = name or f"Column {k + 1}"
        else:
            name, unit = ("Bias" if k == 0 else f"Column {k + 1}"), None
        if comment_units is not None:
            if len(comment_units) == ncol:
                unit = comment_units[k]
            elif len(comment_units) == 1 and k == 0:
                unit = comment_units[0]
        raw_units.append(unit)
        if unit is None:
            inferred = _infer_unit(name) if header is not None else None
            if inferred is not None:
                warnings.append(f"no unit given for {name!r}: assumed {inferred}")
                unit = inferred
            else:
                unit = ""
        si, factor, known = to_si(unit)
        if not known:
            warnings.append(f"unit {unit!r} of {name!r} is not an SI unit with a prefix: kept as is")
        names.append(name)
        units.append(si)
        factors.append(factor)
    if header is None and comment_units is None:
        warnings.append("no header line: the first column is taken as the bias sweep, units unknown")
    seen: dict[str, int] = {}
    for k, n in enumerate(names):
        if n in seen:
            seen[n] += 1
            names[k] = f"{n} {seen[n]}"
        else:
            seen[n] = 1

    data = table * np.asarray(factors)[None, :]
    x_all = data[:, 0]
    x_name, x_unit = names[0], units[0]
    cols = {names[k]: data[:, k] for k in range(1, ncol)}
    chan_units = {names[k]: units[k] for k in range(1, ncol)}
    n = x_all.size
    half = n // 2
    if _monotonic(x_all):
        x, channels = x_all, cols
    elif (
        n % 2 == 0
        and half >= 2
        and _monotonic(x_all[:half])
        and np.allclose(x_all[half:][::-1], x_all[:half])
    ):
        x = x_all[:half]
        channels = {k: v[:half] for k, v in cols.items()}
        channels |= {k + BWD_SUFFIX: v[half:][::-1] for k, v in cols.items()}
        chan_units |= {k + BWD_SUFFIX: u for k, u in list(chan_units.items())}
    else:
        warnings.append(f"the sweep column {x_name!r} is not monotonic: x is the point index")
        channels = {x_name: x_all, **cols}
        chan_units = {x_name: x_unit, **chan_units}
        x, x_name, x_unit = np.arange(n, dtype=np.float64), "Index", ""
    x, channels, reversed_ = ascending_sweep(x, channels)
    metadata = {
        "columns": header if header is not None else [],
        "column_units": [u if u is not None else "" for u in raw_units],
        "comments": comments,
        "delimiter": {None: "whitespace", ",": "comma", "\t": "tab", ";": "semicolon"}[delim],
        **{k: v for k, v in meta.items() if k not in ("columns", "comments", "delimiter", "column_units")},
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
