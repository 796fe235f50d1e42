"""Header parsing shared by the Nanonis readers (``.3ds`` grids, ``.sxm`` images, ``.dat`` spectra).

Nanonis writes plain-text headers in three flavours (``key=value`` lines ending at ``:HEADER_END:``,
``:KEY:`` blocks ending at ``:SCANIT_END:``, ``key<TAB>value`` lines ending at ``[DATA]``). The functions here
turn them into a flat ``metadata`` dict of strings and numbers, split signal labels such as
``"Current [bwd] (A)"`` into a channel name and a unit, and locate header markers without reading an
unbounded amount of a (possibly corrupt) file.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Container, Iterable
from pathlib import Path
from typing import Any

from analysis.dataset import BWD_SUFFIX
from analysis.errors import ReadError

#: A header larger than this is not a Nanonis header (the largest real ones are a few tens of kB).
MAX_HEADER_BYTES = 4 << 20
UTF8_BOM = b"\xef\xbb\xbf"

_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_SPECIAL = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}
# "Current (A)", "Current [bwd] (A)", and markers after the unit as in "Current (A) [filt]"
_LABEL = re.compile(r"^(?P<name>.*?)\s*\((?P<unit>[^()]*)\)\s*(?P<tail>(?:\[[^\[\]]*\]\s*)*)$")
_BWD = re.compile(r"\s*\[bwd\]", re.IGNORECASE)


def decode_text(raw: bytes) -> str:
    """Header bytes as text: UTF-8 when valid (a leading byte-order mark dropped), else Latin-1."""
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def unquote(text: str) -> str:
    """``text`` stripped of surrounding white space and one pair of double quotes."""
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


def parse_value(text: str) -> str | int | float:
    """A header value as int or float when the whole text is a number (``10E+3``, ``Inf``), else the text."""
    t = text.strip()
    low = t.lower()
    if low in _SPECIAL:
        return _SPECIAL[low]
    if _INTEGER.match(t):
        return int(t)
    if _NUMBER.match(t):
        return float(t)
    return t


def to_float(value: Any) -> float | None:
    """A finite-or-not float of a header value, or None when it is not a number."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        v = parse_value(value)
        if isinstance(v, int | float):
            return float(v)
    return None


def split_list(text: str, sep: str = ";") -> list[str]:
    """Items of a ``sep``-separated header list, stripped, empty items dropped."""
    return [item.strip() for item in unquote(text).split(sep) if item.strip()]


def normalise_name(name: str) -> str:
    """A channel name with any ``[bwd]`` marker moved to the end as ``" [bwd]"``."""
    if _BWD.search(name):
        base = _BWD.sub("", name).strip()
        return base + BWD_SUFFIX
    return name.strip()


def split_label(label: str) -> tuple[str, str]:
    """``"Current [bwd] (A)"`` -> ``("Current [bwd]", "A")``, ``"Current (A) [filt]"`` -> ``("Current [filt]",
    "A")``; a label without unit gives ``(label, "")``."""
    label = label.strip()
    m = _LABEL.match(label)
    if m and m.group("name"):
        tail = " ".join(re.findall(r"\[[^\[\]]*\]", m.group("tail") or ""))
        return normalise_name(f"{m.group('name')} {tail}"), m.group("unit").strip()
    return normalise_name(label), ""


def unique_key(name: str, taken: Container[str]) -> str:
    """``name`` when it is not in ``taken``, else the first free one of ``"name (2)"``, ``"name (3)"``, ..."""
    key, n = name, 2
    while key in taken:
        key = f"{name} ({n})"
        n += 1
    return key


class HeaderCollector:
    """Ordered header entries into a flat ``metadata`` dict, keeping every value of a duplicated key.

    The last value of a duplicated key wins under the key itself; earlier values are kept under
    ``"<key> (#1)"``, ``"<key> (#2)"``, ... and the key is listed in :attr:`duplicates`.
    """

    def __init__(self) -> None:
        self._values: dict[str, list[str]] = {}

    def add(self, key: str, value: str) -> None:
        self._values.setdefault(key, []).append(value)

    def raw(self, key: str, default: str | None = None) -> str | None:
        """The last raw (string) value of ``key``."""
        vals = self._values.get(key)
        return vals[-1] if vals else default

    def keys(self) -> list[str]:
        return list(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    @property
    def duplicates(self) -> list[str]:
        return [k for k, v in self._values.items() if len(v) > 1]

    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, values in self._values.items():
            for i, v in enumerate(values[:-1], start=1):
                out[f"{key} (#{i})"] = parse_value(v)
            out[key] = parse_value(values[-1])
        return out

    def duplicate_warning(self) -> str | None:
        dups = self.duplicates
        if not dups:
            return None
        shown = ", ".join(repr(k) for k in dups[:5]) + (" ..." if len(dups) > 5 else "")
        return (
            f"header repeats {len(dups)} key(s) ({shown}); the last value is used, "
            "earlier ones are kept in the metadata as '<key> (#n)'"
        )


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError as exc:
        raise ReadError(path, f"cannot open file: {exc.strerror or exc}") from None


def read_until(
    path: Path, markers: Iterable[bytes], what: str, limit: int = MAX_HEADER_BYTES
) -> tuple[bytes, int]:
    """Read ``path`` up to the first of ``markers``; return (bytes before the marker, offset just after it).

    Reads at most ``limit`` bytes; raises :class:`ReadError` naming ``what`` when no marker is found.
    """
    markers = tuple(markers)
    longest = max(len(m) for m in markers)
    buf = bytearray()
    try:
        with open(path, "rb") as fh:
            while len(buf) < limit:
                chunk = fh.read(64 * 1024)
                if not chunk:
                    break
                start = max(0, len(buf) - longest)
                buf += chunk
                hits = [(buf.find(m, start), m) for m in markers]
                hits = [(i, m) for i, m in hits if i >= 0]
                if hits:
                    i, m = min(hits)
                    return bytes(buf[:i]), i + len(m)
    except OSError as exc:
        raise ReadError(path, f"cannot read file: {exc.strerror or exc}") from None
    where = min(len(buf), limit)
    raise ReadError(
        path, f"no {what} found in the first {where} bytes: not a complete Nanonis header", offset=where
    )


def header_int(path: Path, value: Any, key: str, *, minimum: int = 0, maximum: int) -> int:
    """A non-negative integer header entry, checked against ``[minimum, maximum]``."""
    v = parse_value(unquote(str(value))) if value is not None else None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int):
        raise ReadError(path, f"header entry {key!r} should be an integer, found {value!r}")
    if not minimum <= v <= maximum:
        raise ReadError(path, f"header entry {key!r} = {v} is outside the range {minimum}..{maximum}")
    return v


def header_floats(path: Path, value: Any, key: str, sep: str, count: int | None = None) -> list[float]:
    """A separated list of numbers (``"1E-9;2E-9"``, ``"224 224"``), checked for count."""
    text = unquote(str(value))
    items = text.split() if sep == " " else [t for t in text.split(sep) if t.strip()]
    out: list[float] = []
    for item in items:
        f = to_float(item)
        if f is None:
            raise ReadError(path, f"header entry {key!r} should hold numbers, found {value!r}")
        out.append(f)
    if count is not None and len(out) != count:
        raise ReadError(path, f"header entry {key!r} should hold {count} numbers, found {value!r}")
    return out
