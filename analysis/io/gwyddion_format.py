"""Gwyddion native serialisation (``.gwy``, magic ``GWYP``): parse into plain Python, write from it.

Layout (Gwyddion user guide, "Format of Gwyddion files"): after the 4-byte magic comes one serialised
object, the ``GwyContainer``. An object is its type name (NUL-terminated), a little-endian uint32 giving
the byte size of what follows, then its components. A component is its name (NUL-terminated), a type
character and the value:

* ``b`` boolean and ``c`` char (1 byte), ``i`` int32, ``q`` int64, ``d`` float64, ``s`` NUL-terminated
  string, ``o`` a nested object;
* the upper-case letters ``C I Q D S O`` are arrays of those, preceded by a uint32 item count.

All numbers are little-endian. A container's components are its items, named by their keys
(``/0/data``, ``/0/data/title``, ``/brick/0``, ...).

Gwyddion 1.x files (magic ``GWYO``) serialise only the top-level ``GwyContainer`` differently: after its
type name and uint32 size, each item is an int32 GLib type code, the key (NUL-terminated) and the value
(code 80 object, serialised as above; 20 boolean and 16 unsigned char, 1 byte; 24 int32; 40 int64;
60 float64; 64 NUL-terminated string). :func:`parse` reads both into the same :class:`GwyObject`.

:class:`GwyObject` is the parsed form: ``type_name`` and an ordered ``dict`` of components. Arrays of
numbers come back as numpy arrays (``D`` float64, ``I`` int32, ``Q`` int64, ``C`` bytes). Parsing checks
every size against the bytes that are left, so a damaged file ends with a :class:`GwyFormatError`, never
a read past the end or an unbounded allocation.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAGIC = b"GWYP"
OLD_MAGIC = b"GWYO"
MAX_DEPTH = 32

_SCALARS = {"i": ("<i", 4), "q": ("<q", 8), "d": ("<d", 8)}
# GLib fundamental type codes of the items of a Gwyddion 1.x container, as component type characters
_OLD_TYPES = {80: "o", 20: "b", 16: "c", 24: "i", 40: "q", 60: "d", 64: "s"}
_ARRAYS = {"I": np.dtype("<i4"), "Q": np.dtype("<i8"), "D": np.dtype("<f8")}


class GwyFormatError(ValueError):
    """The bytes do not follow the Gwyddion serialisation; ``offset`` is where reading stopped."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass
class GwyObject:
    """A serialised Gwyddion object: its type (``"GwyDataField"``, ...) and its components by name."""

    type_name: str
    items: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.items.get(key, default)


# --------------------------------------------------------------------------------------------------
# Parsing


class _Reader:
    def __init__(self, buf: bytes, start: int) -> None:
        self.buf = buf
        self.pos = start

    def _need(self, n: int, end: int, what: str) -> None:
        if n < 0 or self.pos + n > end:
            raise GwyFormatError(f"{what} runs past the end of its object", self.pos)

    def cstring(self, end: int, what: str) -> str:
        stop = self.buf.find(b"\x00", self.pos, end)
        if stop < 0:
            raise GwyFormatError(f"{what} is not NUL-terminated within its object", self.pos)
        raw = self.buf[self.pos : stop]
        self.pos = stop + 1
        return raw.decode("utf-8", errors="replace")

    def uint32(self, end: int, what: str) -> int:
        self._need(4, end, what)
        (v,) = struct.unpack_from("<I", self.buf, self.pos)
        self.pos += 4
        return int(v)

    def obj(self, end: int, depth: int) -> GwyObject:
        if depth > MAX_DEPTH:
            raise GwyFormatError(f"objects nested deeper than {MAX_DEPTH} levels", self.pos)
        type_name = self.cstring(end, "an object's type name")
        if not type_name:
            raise GwyFormatError("an object has an empty type name", self.pos)
        size = self.uint32(end, f"the size of a {type_name}")
        self._need(size, end, f"the {size}-byte body of a {type_name}")
        stop = self.pos + size
        out = GwyObject(type_name)
        while self.pos < stop:
            name = self.cstring(stop, f"a component name in a {type_name}")
            self._need(1, stop, f"the type of component {name!r}")
            kind = chr(self.buf[self.pos])
            self.pos += 1
            out.items[name] = self.value(kind, stop, depth, f"{type_name}.{name}")
        return out

    def old_container(self, end: int) -> GwyObject:
        """A Gwyddion 1.x top-level container (items typed by GLib type codes)."""
        type_name = self.cstring(end, "the container's type name")
        if type_name != "GwyContainer":
            raise GwyFormatError(f"a Gwyddion 1.x file must hold a GwyContainer, not {type_name!r}", 4)
        size = self.uint32(end, "the size of the GwyContainer")
        self._need(size, end, f"the {size}-byte body of the GwyContainer")
        stop = self.pos + size
        out = GwyObject(type_name)
        while self.pos < stop:
            code = self.uint32(stop, "an item's type code")
            key = self.cstring(stop, "an item's key")
            kind = _OLD_TYPES.get(code)
            if kind is None:
                raise GwyFormatError(f"item {key!r} has the unknown type code {code}", self.pos)
            value = self.value(kind, stop, 0, f"item {key!r}")
            out.items[key] = value.decode("latin-1") if kind == "c" else value
        return out

    def value(self, kind: str, end: int, depth: int, what: str) -> Any:
        if kind in "bc":
            self._need(1, end, what)
            v = self.buf[self.pos]
            self.pos += 1
            return bool(v) if kind == "b" else bytes([v])
        if kind in _SCALARS:
            fmt, n = _SCALARS[kind]
            self._need(n, end, what)
            (v,) = struct.unpack_from(fmt, self.buf, self.pos)
            self.pos += n
            return v
        if kind == "s":
            return self.cstring(end, what)
        if kind == "o":
            return self.obj(end, depth + 1)
        if kind in _ARRAYS or kind == "C":
            count = self.uint32(end, f"the length of {what}")
            dtype = _ARRAYS.get(kind, np.dtype("u1"))
            nbytes = count * dtype.itemsize
            self._need(nbytes, end, f"the {count} items of {what}")
            arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos).copy()
            self.pos += nbytes
            return arr.tobytes() if kind == "C" else arr
        if kind in "SO":
            count = self.uint32(end, f"the length of {what}")
            # Every item takes at least one byte: a count beyond what is left is damage, not data.
            self._need(count, end, f"the {count} items of {what}")
            if kind == "S":
                return [self.cstring(end, what) for _ in range(count)]
            return [self.obj(end, depth + 1) for _ in range(count)]
        raise GwyFormatError(f"unknown component type {kind!r} in {what}", self.pos - 1)


def parse(buf: bytes) -> GwyObject:
    """The top-level object of a ``GWYP`` or ``GWYO`` file's bytes (magic included)."""
    if buf[:4] == OLD_MAGIC:
        return _Reader(buf, 4).old_container(len(buf))
    if buf[:4] != MAGIC:
        raise GwyFormatError("not a Gwyddion file (the file does not start with GWYP or GWYO)", 0)
    r = _Reader(buf, 4)
    top = r.obj(len(buf), 0)
    return top


def dumps_old(container: GwyObject) -> bytes:
    """A Gwyddion 1.x (``GWYO``) file holding the items of ``container`` (the layout :func:`parse` reads)."""
    codes = {kind: code for code, kind in _OLD_TYPES.items()}
    body = b""
    for key, value in container.items.items():
        name = _cstr(key)
        comp = _component(key, value)  # name, type character, value
        kind = chr(comp[len(name)])
        if kind not in codes:
            raise TypeError(f"a Gwyddion 1.x container cannot hold item {key!r} (component type {kind!r})")
        body += struct.pack("<i", codes[kind]) + name + comp[len(name) + 1 :]
    return OLD_MAGIC + _cstr(container.type_name) + struct.pack("<I", len(body)) + body


# --------------------------------------------------------------------------------------------------
# Writing


def _cstr(s: str) -> bytes:
    b = s.encode("utf-8")
    if b"\x00" in b:
        raise ValueError(f"a Gwyddion string cannot hold a NUL byte: {s!r}")
    return b + b"\x00"


def _component(name: str, value: Any) -> bytes:
    head = _cstr(name)
    if isinstance(value, GwyObject):
        return head + b"o" + serialise(value)
    if isinstance(value, bool):
        return head + b"b" + (b"\x01" if value else b"\x00")
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if -(2**31) <= v < 2**31:
            return head + b"i" + struct.pack("<i", v)
        return head + b"q" + struct.pack("<q", v)
    if isinstance(value, (float, np.floating)):
        return head + b"d" + struct.pack("<d", float(value))
    if isinstance(value, str):
        return head + b"s" + _cstr(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            arr = np.ascontiguousarray(value, dtype="<f8").ravel()
            return head + b"D" + struct.pack("<I", arr.size) + arr.tobytes()
        if value.dtype.kind in "iu":
            arr = np.ascontiguousarray(value, dtype="<i4").ravel()
            return head + b"I" + struct.pack("<I", arr.size) + arr.tobytes()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return head + b"S" + struct.pack("<I", len(value)) + b"".join(_cstr(v) for v in value)
    if isinstance(value, list) and all(isinstance(v, GwyObject) for v in value):
        return head + b"O" + struct.pack("<I", len(value)) + b"".join(serialise(v) for v in value)
    raise TypeError(f"cannot serialise component {name!r} of type {type(value).__name__}")


def serialise(obj: GwyObject) -> bytes:
    """The serialised bytes of ``obj`` (no magic)."""
    body = b"".join(_component(k, v) for k, v in obj.items.items())
    return _cstr(obj.type_name) + struct.pack("<I", len(body)) + body


def dumps(container: GwyObject) -> bytes:
    """A whole ``.gwy`` file: magic plus the serialised container."""
    return MAGIC + serialise(container)
