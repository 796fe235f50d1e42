"""Tags of imported sweeps: from file-name patterns, from file headers and from a typed table.

File-name patterns mark each value with a field in braces, matched against the file's name (or its path
relative to the pattern's folder when the pattern holds a ``/``)::

    neck3_{H}T.dat          H = 0.25 for neck3_0.25T.dat
    mesa_{T}K_{P_rf:dBm}.txt   two tags; P_rf kept in dBm
    run_{H:mT}mT_*.csv      H in mT converted to T (SI); * matches anything

A field is a tag name with an optional unit after a colon (SI prefixes are converted: ``mT`` -> T with a
factor 1e-3, ``mK`` -> K; ``dBm``/``dB`` are kept). Numbers may use a decimal point, a decimal comma or a
``p`` (``0p25``) and a leading ``m`` or ``n`` for a minus sign (``m0p5`` is -0.5). ``{}`` (no name) stands
for the tag the pattern is given for.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import ReadError
from analysis.io.text_columns import split_name_unit, to_si
from analysis.series import KNOWN_TAGS

_FIELD = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")
_NUMBER = r"[-+mn]?(?:\d+(?:[.,p]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?"
_LOG_UNITS = ("dBm", "dB", "dBW")
_FIRST_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


class TagPatternError(ValueError):
    """A file-name pattern that cannot be used (no field, a field without a name...)."""


@dataclass(frozen=True)
class TagField:
    name: str
    unit: str  # SI unit (or a logarithmic unit kept as is)
    factor: float  # value in the pattern * factor = value in ``unit``


@dataclass(frozen=True)
class TagPattern:
    """A compiled file-name pattern (see the module docstring)."""

    text: str
    regex: re.Pattern[str]
    fields: tuple[TagField, ...]

    @property
    def uses_path(self) -> bool:
        return "/" in self.text

    def subject(self, path: str | os.PathLike[str]) -> str:
        p = Path(path)
        if not self.uses_path:
            return p.name
        depth = self.text.count("/")
        return "/".join(p.parts[-(depth + 1) :])

    def match(self, path: str | os.PathLike[str]) -> dict[str, float]:
        """{tag: value in SI} for ``path``; :class:`ReadError` naming the file when it does not match."""
        subject = self.subject(path)
        m = self.regex.fullmatch(subject)
        if m is None:
            raise ReadError(path, f"file name {subject!r} does not match the tag pattern {self.text!r}")
        out = {}
        for i, f in enumerate(self.fields):
            out[f.name] = parse_number(m.group(f"f{i}")) * f.factor
        return out


def parse_number(text: str) -> float:
    """A number written in a file name: ``0.25``, ``0,25``, ``0p25``, ``m0p5`` (= -0.5), ``1e-3``."""
    t = text.strip()
    sign = 1.0
    if t[:1] in ("m", "n"):
        sign, t = -1.0, t[1:]
    t = t.replace("p", ".").replace(",", ".")
    return sign * float(t)


def compile_pattern(pattern: str, default_name: str | None = None) -> TagPattern:
    """Compile a file-name pattern; ``{}`` fields take ``default_name``. TagPatternError when the
    pattern has no field or a field has no name."""
    parts: list[str] = []
    fields: list[TagField] = []
    pos = 0
    for m in _FIELD.finditer(pattern):
        parts.append(_literal(pattern[pos : m.start()]))
        name = m.group(1).strip() or (default_name or "")
        if not name:
            raise TagPatternError(f"pattern {pattern!r}: a field {m.group(0)!r} has no tag name")
        unit_text = (m.group(2) or "").strip()
        if unit_text in _LOG_UNITS:
            unit, factor = unit_text, 1.0
        elif unit_text:
            unit, factor, known = to_si(unit_text)
            if not known:
                raise TagPatternError(f"pattern {pattern!r}: unknown unit {unit_text!r} of tag {name!r}")
        else:
            unit, factor = KNOWN_TAGS.get(name, ""), 1.0
        parts.append(f"(?P<f{len(fields)}>{_NUMBER})")
        fields.append(TagField(name, unit, factor))
        pos = m.end()
    parts.append(_literal(pattern[pos:]))
    if not fields:
        raise TagPatternError(f"pattern {pattern!r} has no {{tag}} field")
    return TagPattern(pattern, re.compile("".join(parts)), tuple(fields))


def _literal(text: str) -> str:
    return ".*?".join(re.escape(p) for p in text.split("*"))


@dataclass
class TagPreview:
    """What one file would get from the patterns: ``values`` {tag: SI value}, or ``error`` (a message
    naming the file) when a pattern does not match."""

    path: str
    values: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _patterns(patterns: Mapping[str, str] | Sequence[str] | str) -> list[TagPattern]:
    if isinstance(patterns, str):
        return [compile_pattern(patterns)]
    if isinstance(patterns, Mapping):
        return [compile_pattern(p, name) for name, p in patterns.items()]
    return [compile_pattern(p) for p in patterns]


def tag_units(patterns: Mapping[str, str] | Sequence[str] | str) -> dict[str, str]:
    """{tag: unit} the patterns give."""
    return {f.name: f.unit for p in _patterns(patterns) for f in p.fields}


def preview_tags(
    paths: Iterable[str | os.PathLike[str]], patterns: Mapping[str, str] | Sequence[str] | str
) -> list[TagPreview]:
    """For each file, the tags the patterns would give it (nothing is read).

    ``patterns``: one pattern, a list of them, or ``{tag: pattern}`` (then ``{}`` stands for that tag).
    A pattern that cannot be compiled raises :class:`TagPatternError`; a file that does not match gets
    an ``error`` naming it.
    """
    compiled = _patterns(patterns)
    out = []
    for path in paths:
        pv = TagPreview(str(path))
        for p in compiled:
            try:
                pv.values.update(p.match(path))
            except ReadError as exc:
                pv.error = str(exc)
                break
        out.append(pv)
    return out


# ----------------------------------------------------------------------------------------------------------
# header and table tags


def number_in(value: Any) -> float | None:
    """The first number in a header value (``"4.2 K"`` -> 4.2), or None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    m = _FIRST_NUMBER.search(str(value))
    return float(m.group(0)) if m else None


def header_tags(metadata: Mapping[str, Any], keys: Mapping[str, str]) -> dict[str, float]:
    """{tag: value} from header ``keys`` ({tag: header key}); a key that is absent or holds no number
    gives NaN. A header key's unit in brackets (``"Temperature (mK)"``) is converted to SI."""
    out = {}
    for tag, key in keys.items():
        value = number_in(metadata[key]) if key in metadata else None
        factor = 1.0
        _, unit = split_name_unit(key)
        if unit:
            _, factor, _known = to_si(unit)
        out[tag] = math.nan if value is None else value * factor
    return out


def read_tag_table(path: str | os.PathLike[str]) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """A CSV table of tags: first column the file name, then one column per tag (header ``H (mT)`` or
    ``T``; values converted to SI). Returns ``({file name: {tag: value}}, {tag: unit})``; ReadError names
    the line of a value that is not a number."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ReadError(p, f"cannot read the tag table: {exc.strerror or exc}") from None
    dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
    rows = list(csv.reader(text.splitlines(), dialect))
    if not rows or len(rows[0]) < 2:
        raise ReadError(p, "a tag table needs a header line: file name, then one column per tag")
    names, factors, units = [], [], {}
    for h in rows[0][1:]:
        name, unit = split_name_unit(h)
        si, factor = KNOWN_TAGS.get(name, ""), 1.0
        if unit in _LOG_UNITS:
            si = unit
        elif unit:
            si, factor, _ = to_si(unit)
        names.append(name)
        factors.append(factor)
        units[name] = si
    table: dict[str, dict[str, float]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip():
            continue
        vals = {}
        for name, factor, cell in zip(names, factors, row[1:]):
            cell = cell.strip()
            if not cell:
                vals[name] = math.nan
                continue
            try:
                vals[name] = float(cell.replace(",", ".")) * factor
            except ValueError:
                raise ReadError(p, f"tag {name!r} value {cell!r} is not a number", line=line) from None
        table[row[0].strip()] = vals
    return table, units


def table_tags(table: Mapping[str, Mapping[str, float]], path: str | os.PathLike[str]) -> dict[str, float]:
    """The row of ``table`` for ``path`` (looked up by full path, then by file name), or {}."""
    p = Path(path)
    for key in (str(path), p.name, p.stem):
        if key in table:
            return dict(table[key])
    return {}
