"""Series in a project file: sweeps of any length stored end to end, opened without reading the data.

Layout of a series entry (``/entries/eNNNN`` with ``kind = "series"`` and the attributes every entry has:
key, label, parent, name, units, metadata, source, warnings, provenance; see :mod:`analysis.store.hdf5`)::

    attrs   x_name, x_unit, x_channel, bias_mode, tag_units (JSON)
    offsets         (n_sweeps + 1,) int64: sweep k holds the points offsets[k]:offsets[k + 1]
    labels          (n_sweeps,) UTF-8 strings (NUL and unpaired surrogates replaced)
    labels.json     scalar JSON array of the exact labels, only when some label is not plain text
    sweep_sources   (n_sweeps,) JSON strings {"path", "reader", "index"}
    sweep_metadata  (n_sweeps,) JSON strings (each sweep's file header)
    tags/t000 ...   (n_sweeps,) float64, attr "name"
    channels/c000 ...  (total_points,) float64, chunked, attr "name"; the swept quantity is one of them

Opening reads the offsets, the labels and the tags: a series of 10,000 sweeps of 10,000 points opens in
milliseconds. Its ``sweeps`` is a :class:`LazySweeps` sequence of :class:`LazySweep` proxies; a sweep's
channel is read (one contiguous slice per channel) when it is asked for, its header and source when they
are asked for. The proxies read from the open project file: after :meth:`Project.close` they raise
:class:`~analysis.errors.ReadError`; :func:`load_series` gives an in-memory copy.

Derived series carry their ``provenance`` (operation, parameters, inputs) like every derived dataset, and
the entry's ``parent`` names the series they were made from.

Text is stored as the grid entries store it (:mod:`analysis.store.hdf5`): a name, unit or label holding a
NUL byte or an unpaired surrogate is kept exactly in its JSON form beside a readable copy, JSON is written
ASCII-escaped when it must be, and undecodable bytes read from a damaged file become U+FFFD, so whatever
opens also saves and reopens identically.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from analysis.dataset import Source
from analysis.errors import ReadError
from analysis.series import Series, Sweep

#: Points per HDF5 chunk of a channel (512 KiB of float64).
CHUNK_POINTS = 1 << 16
#: Points gathered in memory before a block is written.
WRITE_BLOCK = 1 << 22

_STR = h5py.string_dtype("utf-8")


def _json(obj: Any) -> str:
    """``obj`` as JSON text HDF5 can store (ASCII-escaped when it holds unpaired surrogates)."""
    from analysis.store.hdf5 import _dumps

    return _dumps(obj)


def _text(v: Any) -> str:
    """Text read from the file, undecodable bytes as U+FFFD."""
    from analysis.store.hdf5 import clean_text

    return clean_text(v)


def _plain(text: str) -> bool:
    """Whether HDF5 stores ``text`` unchanged as UTF-8 (no NUL, no unpaired surrogate)."""
    from analysis.store.hdf5 import _encodable

    return "\x00" not in text and _encodable(text)


def _set_text(attrs: h5py.AttributeManager, key: str, value: str) -> None:
    from analysis.store.hdf5 import _set_text as set_text

    set_text(attrs, key, value)


def _attr_str(obj: h5py.Group | h5py.Dataset, key: str, default: str) -> str:
    from analysis.store.hdf5 import _attr_str as attr_str

    return attr_str(obj, key, default)


# ----------------------------------------------------------------------------------------------------------
# writing


def write_series(g: h5py.Group, series: Series, check: Callable[[], None] | None = None) -> None:
    """Write ``series`` into the entry group ``g`` (its common attributes are written by the caller).

    ``check()`` is called between blocks of sweeps (the save's cancel test). Every sweep must hold every
    channel of ``series.units`` with the length of its ``x``; ValueError names the sweep otherwise.
    """
    n = len(series)
    names = list(series.units) or ([series.x_channel] if n else [])
    if series.x_channel not in names:
        names.insert(0, series.x_channel)
    _set_text(g.attrs, "x_name", series.x_name)
    _set_text(g.attrs, "x_unit", series.x_unit)
    _set_text(g.attrs, "x_channel", series.x_channel)
    _set_text(g.attrs, "bias_mode", series.bias_mode)
    g.attrs["tag_units"] = _json({k: series.tag_unit(k) for k in series.tags})
    lengths = np.fromiter((len(s) for s in series.sweeps), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    g.create_dataset("offsets", data=offsets)
    sweeps = series.sweeps
    labels = [str(s.label) for s in sweeps]
    if all(_plain(t) for t in labels):
        g.create_dataset("labels", data=labels, dtype=_STR, shape=(n,))
    else:
        shown = [t if _plain(t) else _text(t).replace("\x00", "\N{REPLACEMENT CHARACTER}") for t in labels]
        g.create_dataset("labels", data=shown, dtype=_STR, shape=(n,))
        g.create_dataset("labels.json", data=json.dumps(labels, ensure_ascii=True), dtype=_STR)
    srcs = [
        _json({"path": s.source.path, "reader": s.source.reader, "index": s.source.index}) for s in sweeps
    ]
    g.create_dataset("sweep_sources", data=srcs, dtype=_STR, shape=(n,))
    g.create_dataset("sweep_metadata", data=[_json(s.metadata) for s in sweeps], dtype=_STR, shape=(n,))
    tg = g.create_group("tags")
    for i, (name, values) in enumerate(series.tags.items()):
        d = tg.create_dataset(f"t{i:03d}", data=np.asarray(values, dtype=np.float64))
        _set_text(d.attrs, "name", name)
    cg = g.create_group("channels")
    chunks = (max(1, min(CHUNK_POINTS, total)),) if total else None
    dsets = []
    for i, name in enumerate(names):
        d = cg.create_dataset(f"c{i:03d}", shape=(total,), dtype=np.float64, chunks=chunks)
        _set_text(d.attrs, "name", name)
        dsets.append(d)
    k = 0
    while k < n:
        if check is not None:
            check()
        stop = k
        size = 0
        while stop < n and (stop == k or size + lengths[stop] <= WRITE_BLOCK):
            size += int(lengths[stop])
            stop += 1
        block = [sweeps[j] for j in range(k, stop)]
        for name, d in zip(names, dsets):
            parts = []
            for j, s in zip(range(k, stop), block):
                if name != series.x_channel and name not in s.channels:
                    raise ValueError(f"sweep {j} ({s.label!r}) has no channel {name!r}")
                arr = np.asarray(s.x if name == series.x_channel else s.channels[name], dtype=np.float64)
                if arr.shape != (int(lengths[j]),):
                    raise ValueError(
                        f"sweep {j} ({s.label!r}): channel {name!r} has shape {arr.shape}, "
                        f"the sweep has {int(lengths[j])} points"
                    )
                parts.append(arr)
            if size:
                d[int(offsets[k]) : int(offsets[stop])] = np.concatenate(parts)
        k = stop


# ----------------------------------------------------------------------------------------------------------
# reading


def _labels(g: h5py.Group) -> list[str]:
    """The sweep labels: the exact ``labels.json`` when present and well formed, else ``labels``."""
    if "labels.json" in g:
        try:
            exact = json.loads(_text(g["labels.json"][()]))
            if isinstance(exact, list) and all(isinstance(t, str) for t in exact):
                return exact
        except ValueError:
            pass
    return [_text(v) for v in g["labels"][()]]


class _SeriesFile:
    """The open datasets of one stored series, shared by its sweep proxies."""

    def __init__(self, path: Path, g: h5py.Group) -> None:
        self.path = path
        self.offsets = np.asarray(g["offsets"][()], dtype=np.int64)
        n = self.offsets.shape[0] - 1
        if n < 0 or np.any(np.diff(self.offsets) < 0):
            raise ValueError("series offsets are not ascending")
        self.labels = _labels(g) if n else []
        if len(self.labels) != n:
            raise ValueError(f"series has {len(self.labels)} labels for {n} sweeps")
        self.channels: dict[str, h5py.Dataset] = {}
        for key in sorted(g["channels"].keys()):
            d = g["channels"][key]
            name = _attr_str(d, "name", key)
            if d.shape != (int(self.offsets[-1]),):
                raise ValueError(
                    f"series channel {name!r} has shape {d.shape}, expected ({self.offsets[-1]},)"
                )
            self.channels[name] = d
        self._sources = g["sweep_sources"]
        self._metadata = g["sweep_metadata"]
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.offsets.shape[0] - 1

    def _dataset(self, d: h5py.Dataset, k: int) -> h5py.Dataset:
        if not d.id.valid:
            raise ReadError(self.path, f"the project file is closed; reopen it to read sweep {k + 1}")
        return d

    def read(self, k: int, name: str) -> np.ndarray:
        """(n_k,) float64 values of channel ``name`` of sweep ``k``."""
        if name not in self.channels:
            raise KeyError(name)
        a, b = int(self.offsets[k]), int(self.offsets[k + 1])
        with self._lock:
            return np.asarray(self._dataset(self.channels[name], k)[a:b], dtype=np.float64)

    def source(self, k: int) -> Source:
        with self._lock:
            d = json.loads(_text(self._dataset(self._sources, k)[k]))
        return Source(str(d.get("path", "")), str(d.get("reader", "")), int(d.get("index", 0)))

    def metadata(self, k: int) -> dict[str, Any]:
        with self._lock:
            return dict(json.loads(_text(self._dataset(self._metadata, k)[k])))


class LazyChannels(Mapping[str, np.ndarray]):
    """``{channel: (n,) float64}`` of one stored sweep, each read when it is looked up."""

    def __init__(self, store: _SeriesFile, index: int) -> None:
        self._store = store
        self._index = index

    def __getitem__(self, name: str) -> np.ndarray:
        return self._store.read(self._index, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.channels)

    def __len__(self) -> int:
        return len(self._store.channels)

    def __contains__(self, name: object) -> bool:
        return name in self._store.channels


class LazySweep(Sweep):
    """A :class:`Sweep` of a stored series: its length and label are known, everything else is read from
    the project file on access (assigning an attribute replaces it in memory)."""

    def __init__(self, store: _SeriesFile, index: int, x_channel: str) -> None:  # no dataclass init
        self._store = store
        self._index = index
        self._x_channel = x_channel
        self._set: dict[str, Any] = {}

    def _get(self, name: str, read: Callable[[], Any]) -> Any:
        return self._set[name] if name in self._set else read()

    @property  # type: ignore[override]
    def x(self) -> np.ndarray:
        return self._get("x", lambda: self._store.read(self._index, self._x_channel))

    @x.setter
    def x(self, value: Any) -> None:
        self._set["x"] = value

    @property  # type: ignore[override]
    def channels(self) -> Mapping[str, np.ndarray]:
        return self._get("channels", lambda: LazyChannels(self._store, self._index))

    @channels.setter
    def channels(self, value: Any) -> None:
        self._set["channels"] = value

    @property  # type: ignore[override]
    def label(self) -> str:
        return self._get("label", lambda: self._store.labels[self._index])

    @label.setter
    def label(self, value: str) -> None:
        self._set["label"] = value

    @property  # type: ignore[override]
    def source(self) -> Source:
        return self._get("source", lambda: self._store.source(self._index))

    @source.setter
    def source(self, value: Source) -> None:
        self._set["source"] = value

    @property  # type: ignore[override]
    def metadata(self) -> dict[str, Any]:
        return self._get("metadata", lambda: self._store.metadata(self._index))

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._set["metadata"] = value

    def __len__(self) -> int:
        if "x" in self._set:
            return int(np.asarray(self._set["x"]).shape[0])
        o = self._store.offsets
        return int(o[self._index + 1] - o[self._index])

    def __repr__(self) -> str:
        return f"<LazySweep {self._index} {self.label!r}, {len(self)} points>"

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def load(self) -> Sweep:
        """An in-memory copy of this sweep."""
        chans = {k: np.array(v) for k, v in self.channels.items()}
        x = np.array(self.x) if "x" in self._set else chans[self._x_channel]
        return Sweep(x=x, channels=chans, label=self.label, source=self.source, metadata=self.metadata)


class LazySweeps(Sequence[Sweep]):
    """The sweeps of a stored series as a read-only sequence of :class:`LazySweep` proxies (made on
    demand, so opening 10,000 sweeps creates none of them)."""

    def __init__(self, store: _SeriesFile, x_channel: str) -> None:
        self._store = store
        self._x_channel = x_channel

    def __len__(self) -> int:
        return len(self._store)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"sweep index {index} out of range for {len(self)} sweeps")
        return LazySweep(self._store, i, self._x_channel)

    def lengths(self) -> np.ndarray:
        """(n_sweeps,) int64 number of points of every sweep (no data read)."""
        return np.diff(self._store.offsets)


def read_series(path: Path, g: h5py.Group, common: Mapping[str, Any]) -> Series:
    """The series stored in entry group ``g`` with lazy sweeps; ``common`` holds the attributes every
    entry has (name, units, metadata, source, warnings, provenance), already decoded."""
    x_channel = _attr_str(g, "x_channel", "Current")
    store = _SeriesFile(path, g)
    if len(store) and x_channel not in store.channels:
        raise ValueError(f"series has no channel {x_channel!r} for its swept quantity")
    tags: dict[str, np.ndarray] = {}
    for key in sorted(g["tags"].keys()):
        d = g["tags"][key]
        tags[_attr_str(d, "name", key)] = np.asarray(d[()], dtype=np.float64)
    return Series(
        **common,
        sweeps=LazySweeps(store, x_channel),
        x_name=_attr_str(g, "x_name", x_channel),
        x_unit=_attr_str(g, "x_unit", ""),
        x_channel=x_channel,
        bias_mode=_attr_str(g, "bias_mode", "current"),
        tags=tags,
        tag_units=dict(json.loads(_text(g.attrs.get("tag_units", "{}")))),
    )


def load_series(series: Series) -> Series:
    """``series`` with every lazy sweep read into memory (usable after the project file is closed)."""
    sweeps = [s.load() if isinstance(s, LazySweep) else s for s in series.sweeps]
    return Series(
        name=series.name,
        sweeps=sweeps,
        x_name=series.x_name,
        x_unit=series.x_unit,
        x_channel=series.x_channel,
        bias_mode=series.bias_mode,
        units=dict(series.units),
        tags={k: v.copy() for k, v in series.tags.items()},
        tag_units=dict(series.tag_units),
        metadata=dict(series.metadata),
        source=series.source,
        warnings=list(series.warnings),
        provenance=list(series.provenance),
    )


def save_series(path: str | Path, series: Series | Sequence[Series], **kw: Any) -> Path:
    """Write one or several series as a project file of their own (keys ``s0``, ``s1``...; a derived
    series whose provenance names another one's ``name`` gets it as parent). ``kw`` go to
    :func:`analysis.store.save_project` (progress, cancel, compression)."""
    from analysis.store.hdf5 import ProjectEntry, save_project

    items = [series] if isinstance(series, Series) else list(series)
    keys = {}
    entries = []
    for i, s in enumerate(items):
        parent = None
        inputs = s.provenance[-1].get("inputs", []) if s.provenance else []
        if inputs and inputs[0] in keys:
            parent = keys[inputs[0]]
        key = f"s{i}"
        keys.setdefault(s.name, key)
        entries.append(ProjectEntry(key=key, label=s.name or key, dataset=s, parent=parent))  # type: ignore[arg-type]
    return save_project(path, entries, **kw)
