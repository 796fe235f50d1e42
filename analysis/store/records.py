"""Generic records in a project file: collections of items (line cuts, fit records, ...) as one attachment.

:func:`records_attachment` turns ``{id: item}`` into an :class:`analysis.store.Attachment` and
:func:`records_from_attachment` turns it back. An item may be

* a plain dict (JSON-able values; numpy arrays anywhere inside it are stored as HDF5 arrays);
* an object with ``to_dict()`` and a classmethod ``from_dict()`` (``to_dict`` may return the dict alone, or
  ``(dict, array | None)``, or ``(dict, {name: array})``; ``from_dict`` is then called with the same
  second value);
* a dataclass instance (its fields are stored; arrays as arrays, nested dataclasses recursively).

Classes are named by module and qualified name and are rebuilt only when they live in this package's
``analysis`` layer (a project file never imports arbitrary code); anything else comes back as the plain
dict it was stored as. Tuples survive the round trip as tuples, numpy scalars as Python numbers.

Stored layout (``Attachment.data``)::

    {"items": [{"id": ..., "form": "dict" | "to_dict" | "dataclass", "class": "module:QualName",
                "data": <encoded value>, "extra": <encoded value>}, ...]}

where an encoded value is JSON with three markers: ``{"__array__": name}`` (an entry of
``Attachment.arrays``), ``{"__tuple__": [...]}`` and ``{"__dataclass__": "module:QualName",
"fields": {...}}``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from analysis.store import Attachment

#: Only classes from these top-level packages are rebuilt when a project is read.
TRUSTED_PACKAGES = ("analysis",)

#: Names of fields that hold the key of another object of the project (a dataset, region, fit, cut).
REFERENCE_FIELDS = frozenset(
    {
        "grid",
        "grids",
        "maps",
        "dataset",
        "datasets",
        "dataset_key",
        "grid_key",
        "source_key",
        "key",
        "parent",
        "region",
        "region_id",
        "regions",
    }
)


class RecordError(ValueError):
    """A record could not be stored or rebuilt; the message says which and why."""


# ----------------------------------------------------------------------------------------------------------
# encoding


class _Encoder:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, value: np.ndarray) -> dict[str, str]:
        name = f"{self.prefix}/{len(self.arrays)}"
        self.arrays[name] = np.asarray(value)
        return {"__array__": name}

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int | float):
            return value
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                return [self.encode(v) for v in value.tolist()]
            return self.array(value)
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                "__dataclass__": class_path(type(value)),
                "fields": {
                    f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
                },
            }
        if isinstance(value, Mapping):
            return {str(k): self.encode(v) for k, v in value.items()}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list | set | frozenset):
            return [self.encode(v) for v in value]
        raise RecordError(f"cannot store a value of type {type(value).__name__} in a project file")


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _has_serialiser(item: Any) -> bool:
    return callable(getattr(item, "to_dict", None)) and callable(getattr(type(item), "from_dict", None))


def encode_item(key: str, item: Any, index: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One item as (JSON description, arrays); arrays are named ``"<index>/<n>"``."""
    enc = _Encoder(str(index))
    rec: dict[str, Any] = {"id": str(key)}
    if isinstance(item, Mapping):
        rec["form"] = "dict"
        rec["data"] = enc.encode(item)
    elif _has_serialiser(item):
        out = item.to_dict()
        rec["form"] = "to_dict"
        rec["class"] = class_path(type(item))
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], Mapping):
            rec["data"] = enc.encode(out[0])
            rec["extra"] = enc.encode(out[1])
        elif isinstance(out, Mapping):
            rec["data"] = enc.encode(out)
        else:
            raise RecordError(f"{type(item).__name__}.to_dict() returned a {type(out).__name__}, not a dict")
    elif dataclasses.is_dataclass(item) and not isinstance(item, type):
        rec["form"] = "dataclass"
        rec["class"] = class_path(type(item))
        rec["data"] = enc.encode(item)["fields"]
    else:
        raise RecordError(
            f"item {key!r} is a {type(item).__name__}: expected a dict, a dataclass or an object with "
            "to_dict()/from_dict()"
        )
    return rec, enc.arrays


def records_attachment(items: Mapping[str, Any]) -> Attachment:
    """``{id: item}`` as a project attachment (RecordError names the item that cannot be stored)."""
    data: dict[str, Any] = {"items": []}
    arrays: dict[str, np.ndarray] = {}
    for i, (key, item) in enumerate(items.items()):
        try:
            rec, arr = encode_item(key, item, i)
        except RecordError:
            raise
        except Exception as exc:  # a to_dict() that fails: name the item
            raise RecordError(f"item {key!r} could not be stored: {type(exc).__name__}: {exc}") from exc
        data["items"].append(rec)
        arrays.update(arr)
    return Attachment(data=data, arrays=arrays)


# ----------------------------------------------------------------------------------------------------------
# decoding


def resolve_class(path: str) -> type:
    """The class named ``"module:QualName"`` when its module is in :data:`TRUSTED_PACKAGES`."""
    module, _, qualname = str(path).partition(":")
    if not module or not qualname:
        raise RecordError(f"malformed class name {path!r}")
    if module.split(".", 1)[0] not in TRUSTED_PACKAGES:
        raise RecordError(f"class {path!r} is outside the trusted packages {TRUSTED_PACKAGES}")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise RecordError(f"class {path!r} is not available: {exc}") from exc
    if not isinstance(obj, type):
        raise RecordError(f"{path!r} is not a class")
    return obj


class _Decoder:
    def __init__(self, arrays: Mapping[str, np.ndarray], remap: Callable[[str, Any], Any]) -> None:
        self.arrays = arrays
        self.remap = remap
        self.warnings: list[str] = []

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"__array__"}:
            name = str(value["__array__"])
            if name not in self.arrays:
                raise RecordError(f"array {name!r} is missing from the attachment")
            return np.asarray(self.arrays[name])
        if set(value) == {"__tuple__"}:
            return tuple(self.decode(v) for v in value["__tuple__"])
        if "__dataclass__" in value and set(value) == {"__dataclass__", "fields"}:
            fields = self.fields(value["fields"])
            try:
                cls = resolve_class(value["__dataclass__"])
                if not dataclasses.is_dataclass(cls):
                    raise RecordError(f"{value['__dataclass__']!r} is not a dataclass")
                return cls(**fields)
            except Exception as exc:
                self.warnings.append(f"kept as a plain record: {exc}")
                return fields
        return self.fields(value)

    def fields(self, d: Mapping[str, Any]) -> dict[str, Any]:
        return {str(k): self.remap(str(k), self.decode(v)) for k, v in d.items()}


def _no_remap(_name: str, value: Any) -> Any:
    return value


def key_remapper(keys: Mapping[str, str]) -> Callable[[str, Any], Any]:
    """A remap function for :func:`records_from_attachment`: in fields named in :data:`REFERENCE_FIELDS`,
    a string (or list of strings) found in ``keys`` is replaced by its new key."""

    def remap(name: str, value: Any) -> Any:
        if name not in REFERENCE_FIELDS or not keys:
            return value
        if isinstance(value, str):
            return keys.get(value, value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [keys.get(v, v) for v in value]
        if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            return tuple(keys.get(v, v) for v in value)
        return value

    return remap


def decode_item(
    rec: Mapping[str, Any], arrays: Mapping[str, np.ndarray], remap: Callable[[str, Any], Any] = _no_remap
) -> tuple[str, Any, list[str]]:
    """(id, item, warnings) for one stored record; an item whose class cannot be rebuilt comes back as
    its plain dict with a warning."""
    dec = _Decoder(arrays, remap)
    key = str(rec.get("id", ""))
    form = rec.get("form")
    if form not in ("dict", "to_dict", "dataclass"):
        raise RecordError(f"record {key!r} has an unknown form {form!r}")
    data = dec.decode(rec.get("data", {}))
    if not isinstance(data, dict):
        raise RecordError(f"record {key!r} holds a {type(data).__name__}, not a dict")
    item: Any = data
    if form != "dict":
        try:
            cls = resolve_class(str(rec.get("class", "")))
            if form == "to_dict":
                if "extra" in rec:
                    item = cls.from_dict(data, dec.decode(rec["extra"]))  # type: ignore[attr-defined]
                else:
                    item = cls.from_dict(data)  # type: ignore[attr-defined]
            else:
                if not dataclasses.is_dataclass(cls):
                    raise RecordError(f"{rec.get('class')!r} is not a dataclass")
                item = cls(**data)
        except Exception as exc:
            dec.warnings.append(f"kept as a plain record: {exc}")
            item = data
    warnings = [f"record {key!r}: {w}" for w in dec.warnings]
    return key, item, warnings


def records_from_attachment(
    att: Attachment, remap: Callable[[str, Any], Any] = _no_remap
) -> tuple[dict[str, Any], list[str]]:
    """Inverse of :func:`records_attachment`: ``({id: item}, warnings)``.

    ``remap(field_name, value)`` may rewrite references to other objects (see :func:`key_remapper`).
    A malformed attachment raises RecordError.
    """
    items = att.data.get("items", [])
    if not isinstance(items, list):
        raise RecordError("the attachment's 'items' is not a list")
    out: dict[str, Any] = {}
    warnings: list[str] = []
    for rec in items:
        if not isinstance(rec, Mapping):
            raise RecordError(f"a record is a {type(rec).__name__}, not an object")
        key, item, w = decode_item(rec, att.arrays, remap)
        out[key] = item
        warnings.extend(w)
    return out, warnings
