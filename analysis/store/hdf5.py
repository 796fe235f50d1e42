"""Project files: collections of Grid / Spectrum / Image (plus attachments) in one HDF5 file.

Layout (format version 1.0; JSON values are UTF-8 string attributes, never pickles)::

    /                          attrs: format="stsworkbench-project", format_version="1.0", writer, created
    /entries/e0000, e0001 ...  one group per entry, in the saved order
        attrs   key, label, parent ("" when none), kind ("grid" | "spectrum" | "image"), name,
                units, metadata, source, warnings, provenance                      (JSON)
        grid:     attrs frame (JSON), param_units (JSON), sweep_signal, sweep_unit, sweep_reversed
                  bias (nb,) float64, valid (ny, nx) bool,
                  channels/c000 ... (ny, nx, nb) chunked (32, 32, 64) clipped to the shape, attr "name",
                  params/p000 ... (ny, nx), attr "name"
        spectrum: attrs x_name, x_unit, sweep_reversed, position (JSON, null when unknown)
                  x (n,) float64, channels/c000 ... (n,), attr "name"
        image:    attrs frame (JSON), scan_direction;  channels/c000 ... (ny, nx), attr "name"
    /attachments/a0000 ...     attrs name, data (JSON);  arrays/r000 ... datasets with attr "name"

Channel and array names live in a ``name`` attribute (names such as ``"dI/dV"`` are not HDF5 paths).
Arrays keep their dtype. Cubes are not compressed unless asked.

Text attributes hold any Python string: one that HDF5 cannot store as UTF-8 text (a NUL byte, an
unpaired surrogate) is stored with ``NUL`` and such characters replaced, and exactly under ``<key>.json``
(a JSON string), which the reader prefers. Undecodable bytes in a file's text become U+FFFD when read, so
whatever opens can be saved again.

Saving (:func:`save_project`) is atomic: the file is written to ``path + ".tmp-"`` plus 8 random hex
digits in the same folder (locked while it is written), flushed, sealed (:mod:`analysis.store.seal`),
fsynced and renamed over ``path`` with ``os.replace``; a failure or a cancel leaves the previous file
untouched and removes the temporary one, and a disk that fills up or a folder that cannot be written gives a
:class:`~analysis.store.atomic.SaveError` in plain words (:mod:`analysis.store.atomic`). Temporaries left by
a save that was killed are removed by the next save or open of the same file, which says so. Cubes are
copied in slabs of 32 lines, so the entries may be lazy datasets of the very file being overwritten.

Opening (:func:`open_project`) is lazy: a grid's ``channels[name]`` is the ``h5py.Dataset`` itself and
the file stays open until :meth:`Project.close` (or the end of a ``with`` block); whole-frame sweep slices
``cube[:, :, k]`` are gathered from a memory map (see :mod:`analysis.store.lazy`); axes, masks, per-pixel
parameters, spectra, images and attachments are read into memory. :meth:`Project.load_all` gives
in-memory copies of everything. A file from a newer major format version raises
:class:`~analysis.errors.FormatVersionError`.

Opening never trusts a damaged file: a file whose seal does not match is opened first in a limited child
process (:mod:`analysis.store.probe`), so that HDF5 looping or crashing on damaged structures ends as a
:class:`~analysis.errors.ReadError`. External links, external storage and virtual datasets (arrays whose
bytes live in another file) are refused. Every array's declared size is checked against the bytes the
file stores for it before anything is read. An entry that cannot be used (no pixels, an empty sweep axis,
arrays that disagree with its frame) is left out, a non-finite or non-positive frame size or centre is
replaced, a channel or parameter map that does not fit is dropped, and entries sharing a key are kept
under distinct keys: each with a message in :attr:`Project.warnings`, the rest of the file opens.
"""

from __future__ import annotations

import json
import math
import os
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from analysis.dataset import RECIPROCAL_UNIT, Dataset, Frame, Grid, Image, Source, Spectrum
from analysis.errors import FormatVersionError, ReadError, WorkbenchError
from analysis.io.common import hdf5_size_problem
from analysis.store import seal
from analysis.store.atomic import (
    LOCKS_HELD_OPEN,
    GuardedFile,
    SaveError,
    check_space,
    create_temporary,
    describe_removed,
    remove_stale_temporaries,
    save_error,
)
from analysis.store.lazy import LazyCube
from analysis.store.probe import probe

FORMAT_NAME = "stsworkbench-project"
FORMAT_VERSION = (1, 0)
CUBE_CHUNK = (32, 32, 64)
SLAB_LINES = 32

ProgressFn = Callable[[int, int], None]


class SaveCancelled(WorkbenchError):
    """The save was cancelled; the previous file is untouched."""


@dataclass
class ProjectEntry:
    """One dataset of a project: a unique ``key``, a display ``label`` and the ``parent`` key of the
    dataset it was derived from (None for data read from an instrument file)."""

    key: str
    label: str
    dataset: Dataset
    parent: str | None = None


@dataclass
class Attachment:
    """Extra state another feature stores in the project (regions, line cuts, fits, view state):
    a JSON-able ``data`` dict plus optional named numpy ``arrays``."""

    data: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------------
# JSON conversion


def to_jsonable(obj: Any) -> Any:
    """Plain Python for JSON: numpy scalars/arrays -> numbers/lists, tuples -> lists, Paths -> str,
    non-string dict keys -> str; anything else unknown -> ``str(obj)``."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | float):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.complexfloating):
        return [float(obj.real), float(obj.imag)]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.decode("latin-1")
    return str(obj)


def _dumps(obj: Any) -> str:
    text = json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=True)
    if not _encodable(text):  # unpaired surrogates: keep them, escaped
        text = json.dumps(to_jsonable(obj), ensure_ascii=True, allow_nan=True)
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(value: Any) -> str:
    """A string read from a file as valid text: bytes decoded as UTF-8 and undecodable bytes (which h5py
    hands over as surrogate escapes) replaced by U+FFFD."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    text = str(value)
    if _encodable(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _set_text(attrs: h5py.AttributeManager, key: str, value: str) -> None:
    """Store ``value`` as the text attribute ``key``; a string HDF5 cannot hold as UTF-8 text (NUL, lone
    surrogates) also goes exactly into ``<key>.json``."""
    value = str(value)
    if "\x00" not in value and _encodable(value):
        attrs[key] = value
        return
    attrs[key] = clean_text(value).replace("\x00", "\N{REPLACEMENT CHARACTER}")
    attrs[key + ".json"] = json.dumps(value, ensure_ascii=True)


def _loads(text: Any, what: str) -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        raise ValueError(f"{what} is not a JSON string")
    return json.loads(clean_text(text))


# ----------------------------------------------------------------------------------------------------------
# Saving


def _chunks_for(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    if len(shape) != 3 or 0 in shape:
        return None
    return tuple(max(1, min(c, s)) for c, s in zip(CUBE_CHUNK, shape))


def _dtype_of(arr: Any) -> np.dtype:
    dt = getattr(arr, "dtype", None)
    return np.dtype(dt) if dt is not None else np.dtype(np.float32)


class _Saver:
    def __init__(self, progress: ProgressFn | None, cancel: threading.Event | None, total: int, compression):
        self.progress = progress
        self.cancel = cancel
        self.total = max(total, 1)
        self.done = 0
        self.compression = compression
        self.cubes: list[h5py.Dataset] = []
        self.sink: GuardedFile | None = None

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise SaveCancelled("save cancelled")
        if self.sink is not None and self.sink.error is not None:
            raise self.sink.error  # the disk is full: stop at once (save_project words the message)

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)
        self.check()

    def write_cube(
        self,
        group: h5py.Group,
        name: str,
        src: Any,
        expected: tuple[int, int, int],
        dims: tuple[h5py.Dataset, ...] = (),
        units: str = "",
    ) -> None:
        shape = tuple(int(s) for s in src.shape)
        if shape != expected:
            raise ValueError(f"channel {name!r} has shape {shape}, the grid expects {expected}")
        kw: dict[str, Any] = {}
        chunks = _chunks_for(shape)
        if chunks is not None:
            kw["chunks"] = chunks
            if self.compression:
                kw["compression"] = self.compression
        ds = group.create_dataset(f"c{len(group):03d}", shape=shape, dtype=_dtype_of(src), **kw)
        _set_text(ds.attrs, "name", name)
        _label(ds, dims, units)
        self.cubes.append(ds)
        for y0 in range(0, shape[0], SLAB_LINES):
            y1 = min(shape[0], y0 + SLAB_LINES)
            ds[y0:y1] = np.asarray(src[y0:y1])
            self.step()

    def write_small(
        self,
        group: h5py.Group,
        prefix: str,
        name: str,
        arr: Any,
        dims: tuple[h5py.Dataset, ...] = (),
        units: str = "",
    ) -> None:
        a = np.asarray(arr)
        ds = group.create_dataset(f"{prefix}{len(group):03d}", data=a)
        _set_text(ds.attrs, "name", name)
        _label(ds, dims, units)


def _label(ds: h5py.Dataset, dims: tuple[h5py.Dataset, ...], units: str) -> None:
    """Attach the dimension scales ``dims`` (one per axis, when their lengths fit) and a ``units``
    attribute, so that netCDF readers (``xarray.open_dataset(..., engine="h5netcdf", group=...)``) see
    named dimensions and units. The project reader does not need either."""
    if units:
        _set_text(ds.attrs, "units", units)
    if len(dims) == ds.ndim and all(d.shape == (n,) for d, n in zip(dims, ds.shape)):
        for axis, scale in enumerate(dims):
            ds.dims[axis].attach_scale(scale)


def _scale(g: h5py.Group, name: str, values: np.ndarray, units: str, long_name: str = "") -> h5py.Dataset:
    """A coordinate dataset made an HDF5 dimension scale (a netCDF dimension named ``name``)."""
    d = g[name] if name in g else g.create_dataset(name, data=values)
    d.make_scale(name)
    if units:
        _set_text(d.attrs, "units", units)
    if long_name:
        _set_text(d.attrs, "long_name", long_name)
    return d


def _frame_scales(g: h5py.Group, frame: Frame) -> tuple[h5py.Dataset, h5py.Dataset]:
    """``y`` (ny,) and ``x`` (nx,) pixel-centre coordinates in the frame's unit (metres, or 1/m for a
    reciprocal frame, whose axes are named qy and qx), frame axes shifted by the centre."""
    ny, nx = frame.shape
    w, h = frame.size
    x = frame.center[0] + (np.arange(nx) + 0.5) * w / nx - w / 2
    y = frame.center[1] + (np.arange(ny) + 0.5) * h / ny - h / 2
    q = "q" if frame.reciprocal else ""
    return _scale(g, "y", y, frame.unit, q + "y"), _scale(g, "x", x, frame.unit, q + "x")


def _slabs(ds: Dataset) -> int:
    if isinstance(ds, Grid):
        ny = ds.shape[0]
        return len(ds.channels) * max(1, math.ceil(ny / SLAB_LINES))
    return 0


def _common_attrs(g: h5py.Group, entry: ProjectEntry) -> None:
    ds = entry.dataset
    _set_text(g.attrs, "key", entry.key)
    _set_text(g.attrs, "label", entry.label)
    _set_text(g.attrs, "parent", entry.parent or "")
    g.attrs["kind"] = ds.kind
    _set_text(g.attrs, "name", ds.name)
    g.attrs["units"] = _dumps(ds.units)
    g.attrs["metadata"] = _dumps(ds.metadata)
    g.attrs["source"] = _dumps({"path": ds.source.path, "reader": ds.source.reader, "index": ds.source.index})
    g.attrs["warnings"] = _dumps(list(ds.warnings))
    g.attrs["provenance"] = _dumps(ds.provenance)


def _write_entry(saver: _Saver, g: h5py.Group, entry: ProjectEntry) -> None:
    ds = entry.dataset
    _common_attrs(g, entry)
    if isinstance(ds, Grid):
        ny, nx, nb = ds.shape
        g.attrs["frame"] = _dumps(ds.frame.to_dict())
        g.attrs["param_units"] = _dumps(ds.param_units)
        _set_text(g.attrs, "sweep_signal", ds.sweep_signal)
        _set_text(g.attrs, "sweep_unit", ds.sweep_unit)
        g.attrs["sweep_reversed"] = bool(ds.sweep_reversed)
        g.create_dataset("bias", data=np.asarray(ds.bias, dtype=np.float64))
        bias = _scale(g, "bias", ds.bias, ds.sweep_unit, ds.sweep_signal)
        ys, xs = _frame_scales(g, ds.frame)
        valid = np.asarray(ds.valid, dtype=bool)
        if valid.shape != (ny, nx):
            valid = np.broadcast_to(valid, (ny, nx)) if valid.size == 1 else valid
            if valid.shape != (ny, nx):
                raise ValueError(f"valid mask has shape {valid.shape}, the grid is {(ny, nx)}")
        _label(g.create_dataset("valid", data=valid), (ys, xs), "")
        chans = g.create_group("channels")
        for name, cube in ds.channels.items():
            saver.write_cube(chans, name, cube, (ny, nx, nb), (ys, xs, bias), ds.units.get(name, ""))
        params = g.create_group("params")
        for name, arr in ds.params.items():
            saver.write_small(params, "p", name, arr, (ys, xs), ds.param_units.get(name, ""))
    elif isinstance(ds, Spectrum):
        _set_text(g.attrs, "x_name", ds.x_name)
        _set_text(g.attrs, "x_unit", ds.x_unit)
        g.attrs["sweep_reversed"] = bool(ds.sweep_reversed)
        g.attrs["position"] = _dumps(list(ds.position) if ds.position is not None else None)
        g.create_dataset("x", data=np.asarray(ds.x, dtype=np.float64))
        xs = _scale(g, "x", ds.x, ds.x_unit, ds.x_name)
        chans = g.create_group("channels")
        for name, arr in ds.channels.items():
            saver.write_small(chans, "c", name, arr, (xs,), ds.units.get(name, ""))
    elif isinstance(ds, Image):
        g.attrs["frame"] = _dumps(ds.frame.to_dict())
        _set_text(g.attrs, "scan_direction", ds.scan_direction)
        ys, xs = _frame_scales(g, ds.frame)
        chans = g.create_group("channels")
        for name, arr in ds.channels.items():
            saver.write_small(chans, "c", name, arr, (ys, xs), ds.units.get(name, ""))
    elif getattr(ds, "kind", None) == "series":
        from analysis.store.series_io import write_series

        write_series(g, ds, saver.check)  # type: ignore[arg-type]
    else:
        raise TypeError(f"cannot save a {type(ds).__name__}; expected Grid, Spectrum, Image or Series")


def _writer() -> str:
    try:
        from importlib.metadata import version

        return f"STS Workbench {version('stsworkbench')}"
    except Exception:  # running from a source tree that is not installed
        return "STS Workbench"


def _fsync_path(path: str | os.PathLike[str], directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return  # some platforms cannot open a folder; the rename is still atomic
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _estimated_bytes(entries: list[ProjectEntry], attachments: Mapping[str, Attachment]) -> int:
    """A lower bound of the file size: the bytes of every array (compressed cubes not counted)."""

    def nbytes(a: Any) -> int:
        shape = getattr(a, "shape", None)
        if shape is None:
            return 0
        return math.prod(int(n) for n in shape) * _dtype_of(a).itemsize

    total = 0
    for e in entries:
        ds = e.dataset
        for arr in (getattr(ds, "channels", None) or {}).values():  # a series' sweeps are not counted
            total += nbytes(arr)
        if isinstance(ds, Grid):
            total += sum(nbytes(a) for a in ds.params.values())
    for att in attachments.values():
        total += sum(nbytes(a) for a in att.arrays.values())
    return total


def save_project(
    path: str | os.PathLike[str],
    entries: Iterable[ProjectEntry],
    attachments: Mapping[str, Attachment] | None = None,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    compression: str | None = None,
) -> Path:
    """Write ``entries`` and ``attachments`` to the project file ``path`` atomically; returns the path.

    Keys must be unique and parents must name another entry. ``progress(done, total)`` is called after
    each slab of 32 cube lines and each entry; setting ``cancel`` raises :class:`SaveCancelled`. A full
    disk or a folder that cannot be written raises :class:`~analysis.store.atomic.SaveError` with a plain
    message. Any failure leaves an existing file at ``path`` unchanged. Temporaries of earlier saves of
    ``path`` that were killed are removed first (:func:`~analysis.store.atomic.remove_stale_temporaries`
    says which, for a caller that wants to tell the user).
    """
    target = Path(path)
    entries = list(entries)
    attachments = dict(attachments or {})
    keys = [e.key for e in entries]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"duplicate entry keys: {dup}")
    for e in entries:
        if e.parent is not None and e.parent not in keys:
            raise ValueError(f"entry {e.key!r} names a parent {e.parent!r} that is not in the project")
    total = sum(_slabs(e.dataset) for e in entries) + len(entries) + len(attachments)
    saver = _Saver(progress, cancel, total, compression)
    saver.check()
    folder = target.parent if str(target.parent) else Path(".")
    remove_stale_temporaries(target)
    if not compression:
        check_space(target, _estimated_bytes(entries, attachments) + seal.USERBLOCK)
    tmp, fh = create_temporary(target)
    sink = saver.sink = GuardedFile(fh)
    failed: OSError | None = None  # a write of ours that failed (worded for the user after clean-up)
    try:
        with h5py.File(
            sink, "w", libver=("v110", "latest"), track_order=True, userblock_size=seal.USERBLOCK
        ) as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = f"{FORMAT_VERSION[0]}.{FORMAT_VERSION[1]}"
            f.attrs["writer"] = _writer()
            f.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
            eg = f.create_group("entries")
            for i, entry in enumerate(entries):
                _write_entry(saver, eg.create_group(f"e{i:04d}"), entry)
                saver.step()
            ag = f.create_group("attachments")
            for i, (name, att) in enumerate(attachments.items()):
                g = ag.create_group(f"a{i:04d}")
                _set_text(g.attrs, "name", str(name))
                g.attrs["data"] = _dumps(att.data)
                arrays = g.create_group("arrays")
                for aname, arr in att.arrays.items():
                    saver.write_small(arrays, "r", str(aname), arr)
                saver.step()
            f.flush()
            saver.check()
            excluded = seal.raw_ranges(saver.cubes)
        failed = sink.error
        if failed is None:
            try:
                seal.write_seal(fh, excluded)
                os.fsync(fh.fileno())
                if not LOCKS_HELD_OPEN:  # Windows cannot rename an open file
                    fh.close()
                os.replace(tmp, target)
            except OSError as exc:
                failed = exc
        if failed is not None:
            raise failed
    except BaseException as exc:
        fh.close()
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, SaveCancelled | SaveError):
            raise
        failed = failed or sink.error  # whatever HDF5 made of a failed write, that write is the cause
        if failed is not None:
            raise save_error(failed, target) from None
        raise
    fh.close()  # the lock is held until the file has its final name
    _fsync_path(folder, directory=True)
    return target


# ----------------------------------------------------------------------------------------------------------
# Opening


def _parse_version(path: Path, text: Any) -> tuple[int, int]:
    text = clean_text(text)
    try:
        major, _, minor = str(text).partition(".")
        return int(major), int(minor or 0)
    except ValueError:
        raise ReadError(path, f"unreadable format version {text!r}") from None


#: Most pixels along a frame side (a damaged frame must not make anyone allocate).
MAX_SIDE = 1 << 20


class _ExternalData(Exception):
    """The file refers to data outside itself: refused as a whole."""


def _member(group: h5py.Group, name: str) -> h5py.Group | h5py.Dataset:
    """``group[name]`` after checking that neither the link nor the object points outside the file."""
    link = group.get(name, getlink=True)
    if link is None:
        raise KeyError(f"{group.name}/{name} is missing")
    if isinstance(link, h5py.ExternalLink):
        raise _ExternalData(f"{group.name}/{name} is an external link to {link.filename}:{link.path}")
    obj = group[name]
    if isinstance(obj, h5py.Dataset):
        plist = obj.id.get_create_plist()
        if plist.get_layout() == h5py.h5d.VIRTUAL:
            raise _ExternalData(f"{obj.name} is a virtual dataset (its data are in other files)")
        if plist.get_external_count() > 0:
            where = clean_text(plist.get_external(0)[0])
            raise _ExternalData(f"{obj.name} keeps its data in the file {where!r} (external storage)")
    return obj


def _dataset(group: h5py.Group, name: str) -> h5py.Dataset:
    obj = _member(group, name)
    if not isinstance(obj, h5py.Dataset):
        raise ValueError(f"{obj.name} is not an array")
    return obj


def _group(group: h5py.Group, name: str) -> h5py.Group:
    obj = _member(group, name)
    if not isinstance(obj, h5py.Group):
        raise ValueError(f"{obj.name} is not a group")
    return obj


def _check_stored(d: h5py.Dataset, what: str) -> None:
    """ValueError when ``d`` declares more bytes than the file stores for it (checked before reading)."""
    problem = hdf5_size_problem(d)
    if problem:
        raise ValueError(f"{what} {problem}")


def _read_array(d: h5py.Dataset, what: str, expected: tuple[int, ...] | None = None) -> np.ndarray:
    if expected is not None and d.shape != expected:
        raise ValueError(f"{what} has shape {d.shape}, expected {expected}")
    _check_stored(d, what)
    return np.asarray(d[()])


def _check_tree(g: h5py.Group, lazy: tuple[str, ...] = (), sized: bool = True, depth: int = 0) -> None:
    """Every link under ``g`` stays inside the file, and every array outside the groups named in ``lazy``
    (read in slices, never whole) stores the bytes it declares: for an entry whose own reader, such as a
    series', reads the arrays itself."""
    if depth > 8:
        raise ValueError(f"{g.name}: groups nested too deep")
    for name in g.keys():
        obj = _member(g, name)
        if isinstance(obj, h5py.Group):
            _check_tree(obj, lazy, sized and name not in lazy, depth + 1)
        elif sized:
            _check_stored(obj, f"array {obj.name}")


def _unique(name: str, taken: set[str]) -> str:
    key, n = name, 2
    while key in taken:
        key = f"{name} ({n})"
        n += 1
    return key


def _named(group: h5py.Group, label: str, warnings: list[str]) -> list[tuple[str, h5py.Dataset]]:
    """The arrays of ``group`` by their ``name`` attribute; a repeated name gets a suffix, with a warning."""
    out = []
    taken: set[str] = set()
    for key in sorted(group.keys()):
        ds = _dataset(group, key)
        name = _attr_str(ds, "name", key)
        if name in taken:
            new = _unique(name, taken)
            warnings.append(f"{label}: two arrays are named {name!r}; the second is kept as {new!r}")
            name = new
        taken.add(name)
        out.append((name, ds))
    return out


def _arrays(
    group: h5py.Group, expected: tuple[int, ...], label: str, kind: str, warnings: list[str]
) -> dict[str, np.ndarray]:
    """Every array of ``group`` of shape ``expected``, read into memory, by name; one that does not fit
    (shape, stored bytes) is left out with a warning."""
    out = {}
    for name, d in _named(group, label, warnings):
        try:
            out[name] = _read_array(d, f"{kind} {name!r}", expected)
        except ValueError as exc:
            warnings.append(f"{label}: {exc}; left out")
    return out


def _attr_str(g: h5py.Group | h5py.Dataset, key: str, default: str = "") -> str:
    """A text attribute (its exact ``<key>.json`` form when present), as valid text."""
    if key + ".json" in g.attrs:
        try:
            v = json.loads(clean_text(g.attrs[key + ".json"]))
            if isinstance(v, str):
                return v
        except ValueError:
            pass
    return clean_text(g.attrs.get(key, default))


def _json_attr(g: h5py.Group, key: str, kind: type, default: Any, label: str, warnings: list[str]) -> Any:
    """A JSON attribute of type ``kind``; a missing or damaged one gives ``default`` with a warning."""
    if key not in g.attrs:
        return default
    try:
        value = _loads(g.attrs[key], key)
    except (ValueError, OSError) as exc:
        warnings.append(f"{label}: its {key} cannot be read ({exc}); left empty")
        return default
    if value is None:  # stored as null: nothing known
        return default
    if not isinstance(value, kind):
        warnings.append(f"{label}: its {key} is not a JSON {kind.__name__}; left empty")
        return default
    return value


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def _read_frame(g: h5py.Group, label: str, warnings: list[str]) -> Frame:
    """The entry's frame; one without pixels is ValueError, a non-finite or non-positive size or centre and
    a non-finite angle are replaced (with a warning)."""
    d = _loads(g.attrs["frame"], "frame")
    if not isinstance(d, dict):
        raise ValueError("its frame is not a JSON object")
    shape = d.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(n, int) for n in shape)):
        raise ValueError(f"its frame has no pixel shape ({shape!r})")
    ny, nx = shape
    if not (1 <= ny <= MAX_SIDE and 1 <= nx <= MAX_SIDE):
        raise ValueError(f"its frame holds {ny} x {nx} pixels")
    pair = [d.get("center"), d.get("size")]
    center = size = None
    if isinstance(pair[0], list) and len(pair[0]) == 2:
        center = tuple(_number(v) for v in pair[0])
    if isinstance(pair[1], list) and len(pair[1]) == 2:
        size = tuple(_number(v) for v in pair[1])
    angle = _number(d.get("angle", 0.0))
    if size is None or not all(v is not None and math.isfinite(v) and v > 0 for v in size):
        shown = d.get("size")
        warnings.append(f"{label}: its frame size {shown!r} m is not a positive size; 1 nm pixels are used")
        size = (nx * 1e-9, ny * 1e-9)
    if center is None or not all(v is not None and math.isfinite(v) for v in center):
        warnings.append(f"{label}: its frame centre {d.get('center')!r} is not finite; (0, 0) is used")
        center = (0.0, 0.0)
    if angle is None or not math.isfinite(angle):
        warnings.append(f"{label}: its frame angle {d.get('angle')!r} is not finite; 0 is used")
        angle = 0.0
    unit = d.get("unit", "m")
    if unit not in ("m", RECIPROCAL_UNIT):
        warnings.append(f"{label}: its frame unit {unit!r} is neither m nor {RECIPROCAL_UNIT}; m is used")
        unit = "m"
    return Frame(center=center, size=size, angle=angle, shape=(ny, nx), unit=unit)  # type: ignore[arg-type]


def _read_entry(path: Path, g: h5py.Group, warnings: list[str]) -> ProjectEntry:
    """One entry; ValueError (or an h5py error) when it cannot be used at all. Repairs and arrays left
    out are added to ``warnings``, and to the dataset's own warnings."""
    kind = _attr_str(g, "kind")
    key = _attr_str(g, "key")
    label = _attr_str(g, "label") or key or g.name
    mine: list[str] = []
    src = _json_attr(g, "source", dict, {}, label, mine)
    try:
        source = Source(str(src.get("path", "")), str(src.get("reader", "")), int(src.get("index", 0)))
    except (TypeError, ValueError, OverflowError):
        mine.append(f"{label}: its source record is damaged; left empty")
        source = Source()
    common = dict(
        name=_attr_str(g, "name"),
        units={str(k): str(v) for k, v in _json_attr(g, "units", dict, {}, label, mine).items()},
        metadata=_json_attr(g, "metadata", dict, {}, label, mine),
        source=source,
        warnings=[str(w) for w in _json_attr(g, "warnings", list, [], label, mine)],
        provenance=_json_attr(g, "provenance", list, [], label, mine),
    )
    ds: Dataset
    if kind == "grid":
        frame = _read_frame(g, label, mine)
        ny, nx = frame.shape
        bias_d = _dataset(g, "bias")
        if bias_d.ndim != 1 or bias_d.shape[0] == 0:
            raise ValueError(f"its sweep axis is empty (shape {bias_d.shape})")
        bias = np.asarray(_read_array(bias_d, "the sweep axis"), dtype=np.float64)
        if not np.all(np.isfinite(bias)):
            raise ValueError("its sweep axis holds non-finite values")
        if bias.size >= 2 and np.any(np.diff(bias) < 0):
            mine.append(f"{label}: its sweep axis is not ascending")
        expected = (ny, nx, int(bias.shape[0]))
        channels: dict[str, Any] = {}
        problems: list[str] = []
        for name, d in _named(_group(g, "channels"), label, mine):
            try:
                if d.shape != expected:
                    raise ValueError(f"channel {name!r} has shape {d.shape}, expected {expected}")
                _check_stored(d, f"channel {name!r}")
            except ValueError as exc:
                problems.append(str(exc))
                continue
            cube = LazyCube(d.id, str(path))
            cube.prepare()
            channels[name] = cube
        if problems and not channels:
            raise ValueError(f"none of its channels can be used ({'; '.join(problems[:2])})")
        mine.extend(f"{label}: {text}; left out" for text in problems)
        params = _arrays(_group(g, "params"), (ny, nx), label, "parameter", mine)
        valid = np.asarray(_read_array(_dataset(g, "valid"), "the valid mask", (ny, nx)), dtype=bool)
        punits = _json_attr(g, "param_units", dict, {}, label, mine)
        ds = Grid(
            **common,
            bias=bias,
            channels=channels,
            frame=frame,
            params=params,
            param_units={str(k): str(v) for k, v in punits.items()},
            valid=valid,
            sweep_signal=_attr_str(g, "sweep_signal", "Bias"),
            sweep_unit=_attr_str(g, "sweep_unit", "V"),
            sweep_reversed=bool(g.attrs.get("sweep_reversed", False)),
        )
    elif kind == "spectrum":
        x_d = _dataset(g, "x")
        if x_d.ndim != 1 or x_d.shape[0] == 0:
            raise ValueError(f"its sweep holds no points (shape {x_d.shape})")
        x = np.asarray(_read_array(x_d, "the sweep"), dtype=np.float64)
        chans = _arrays(_group(g, "channels"), x.shape, label, "channel", mine)
        pos = _json_attr(g, "position", list, None, label, mine) if "position" in g.attrs else None
        position = None
        if pos is not None:
            p = [_number(v) for v in pos[:2]] if len(pos) >= 2 else []
            if len(p) == 2 and all(v is not None for v in p):
                position = (p[0], p[1])
        ds = Spectrum(
            **common,
            x=x,
            channels=chans,
            x_name=_attr_str(g, "x_name", "Bias"),
            x_unit=_attr_str(g, "x_unit", "V"),
            sweep_reversed=bool(g.attrs.get("sweep_reversed", False)),
            position=position,  # type: ignore[arg-type]
        )
    elif kind == "image":
        frame = _read_frame(g, label, mine)
        chans = _arrays(_group(g, "channels"), frame.shape, label, "channel", mine)
        ds = Image(**common, channels=chans, frame=frame, scan_direction=_attr_str(g, "scan_direction", "up"))
    elif kind == "series":
        from analysis.store.series_io import read_series

        _check_tree(g, lazy=("channels",))
        ds = read_series(path, g, common)  # type: ignore[assignment]
    else:
        raise ValueError(f"unknown entry kind {kind!r}")
    ds.warnings.extend(w.partition(": ")[2] or w for w in mine)
    warnings.extend(mine)
    parent = _attr_str(g, "parent")
    return ProjectEntry(key=key, label=_attr_str(g, "label"), dataset=ds, parent=parent or None)


def _why(exc: BaseException) -> str:
    if isinstance(exc, ValueError | KeyError) and str(exc):
        return str(exc).strip("'\"")
    return f"{type(exc).__name__}: {exc}"


def _entries(p: Path, f: h5py.File, warnings: list[str]) -> list[ProjectEntry]:
    eg = _group(f, "entries")
    entries: list[ProjectEntry] = []
    failures: list[str] = []
    for k in sorted(eg.keys()):
        try:
            g = _group(eg, k)
            entries.append(_read_entry(p, g, warnings))
        except _ExternalData:
            raise
        except Exception as exc:  # a damaged entry: left out, the rest opens
            try:
                name = _attr_str(eg[k], "label") or k
            except Exception:
                name = k
            failures.append(f"{name}: {_why(exc)}")
            warnings.append(f"{name} could not be opened and was left out: {_why(exc)}")
    if failures and not entries:
        shown = "; ".join(failures[:3]) + (" ..." if len(failures) > 3 else "")
        raise ReadError(p, f"damaged project file: none of its entries can be read ({shown})")
    taken: set[str] = set()
    for e in entries:
        if e.key in taken:
            new = _unique(e.key, taken | {x.key for x in entries})
            warnings.append(
                f"{e.label or e.key}: two entries share the key {e.key!r}; this one is kept as {new!r}"
            )
            e.key = new
        taken.add(e.key)
    return entries


def _attachments(f: h5py.File, warnings: list[str]) -> dict[str, Attachment]:
    attachments: dict[str, Attachment] = {}
    if "attachments" not in f:
        return attachments
    ag = _group(f, "attachments")
    for k in sorted(ag.keys()):
        name = k
        try:
            g = _group(ag, k)
            name = _attr_str(g, "name", k)
            data = _loads(g.attrs["data"], "attachment data")
            if not isinstance(data, dict):
                raise ValueError("its data are not a JSON object")
            arrays: dict[str, np.ndarray] = {}
            if "arrays" in g:
                for aname, d in _named(_group(g, "arrays"), f"attachment {name!r}", warnings):
                    arrays[aname] = _read_array(d, f"array {aname!r}")
        except _ExternalData:
            raise
        except Exception as exc:
            warnings.append(f"attachment {name!r} could not be read and was left out: {_why(exc)}")
            continue
        if name in attachments:
            new = _unique(name, set(attachments))
            warnings.append(f"two attachments are named {name!r}; the second is kept as {new!r}")
            name = new
        attachments[name] = Attachment(data=data, arrays=arrays)
    return attachments


class Project:
    """An open project file: ``entries`` (lazy grid cubes), ``attachments``; close it when done.

    ``warnings`` says what opening left out or repaired (damaged entries, duplicate keys, leftover
    temporaries removed), one sentence each.
    """

    def __init__(
        self,
        path: Path,
        file: h5py.File,
        entries: list[ProjectEntry],
        attachments,
        version,
        warnings: list[str] | None = None,
    ):
        self.path = path
        self.entries: list[ProjectEntry] = entries
        self.attachments: dict[str, Attachment] = attachments
        self.format_version: tuple[int, int] = version
        self.warnings: list[str] = list(warnings or [])
        self._file: h5py.File | None = file

    @property
    def closed(self) -> bool:
        return self._file is None

    def entry(self, key: str) -> ProjectEntry:
        for e in self.entries:
            if e.key == key:
                return e
        raise KeyError(f"no entry with key {key!r} in {self.path}")

    def datasets(self) -> list[Dataset]:
        return [e.dataset for e in self.entries]

    def load_all(self) -> list[ProjectEntry]:
        """Entries with every lazy cube read into memory (usable after :meth:`close`)."""
        out = []
        for e in self.entries:
            ds = e.dataset
            if isinstance(ds, Grid):
                chans = {k: np.ascontiguousarray(v[()]) for k, v in ds.channels.items()}
                ds = replace(ds, channels=chans)
            elif getattr(ds, "kind", None) == "series":
                from analysis.store.series_io import load_series

                ds = load_series(ds)  # type: ignore[arg-type]
            out.append(ProjectEntry(e.key, e.label, ds, e.parent))
        return out

    def close(self) -> None:
        if self._file is not None:
            for e in self.entries:
                if isinstance(e.dataset, Grid):
                    for cube in e.dataset.channels.values():
                        if isinstance(cube, LazyCube):
                            cube.release()
            try:
                self._file.close()
            finally:
                self._file = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Project {self.path} ({len(self.entries)} entries, {state})>"


def open_unchecked(path: str | os.PathLike[str]) -> Project:
    """Open a project file in this process with every check but the seal and the probe (see
    :func:`open_project`, which is what to call). Raises ReadError."""
    p = Path(path)
    try:
        f = h5py.File(p, "r")
    except FileNotFoundError:
        raise ReadError(p, "file not found") from None
    except Exception as exc:
        raise ReadError(p, f"not an HDF5 project file ({type(exc).__name__}: {exc})") from None
    warnings: list[str] = []
    try:
        fmt = clean_text(f.attrs.get("format", ""))
        if fmt != FORMAT_NAME:
            raise ReadError(p, "an HDF5 file but not an STS Workbench project (no format attribute)")
        version = _parse_version(p, f.attrs.get("format_version", ""))
        if version[0] > FORMAT_VERSION[0]:
            mine = f"{FORMAT_VERSION[0]}.{FORMAT_VERSION[1]}"
            raise FormatVersionError(
                p,
                f"written by a newer STS Workbench, format {version[0]}.{version[1]} > {mine}; "
                "update STS Workbench to open it",
            )
        entries = _entries(p, f, warnings)
        attachments = _attachments(f, warnings)
    except _ExternalData as exc:
        f.close()
        raise ReadError(
            p,
            f"refused: {exc}. A project file must hold all its data itself; external links and "
            "external storage are not followed",
        ) from None
    except ReadError:
        f.close()
        raise
    except Exception as exc:
        f.close()
        raise ReadError(p, f"damaged project file ({type(exc).__name__}: {exc})") from None
    return Project(p, f, entries, attachments, version, warnings)


def _has_hdf5_signature(path: Path, size: int) -> bool:
    """HDF5's signature at offset 0, 512, 1024, 2048, ... (where the library looks for it)."""
    sig = b"\x89HDF\r\n\x1a\n"
    try:
        with open(path, "rb") as fh:
            off = 0
            while off + len(sig) <= size:
                fh.seek(off)
                if fh.read(len(sig)) == sig:
                    return True
                off = 512 if off == 0 else 2 * off
    except OSError:
        return False
    return False


def open_project(path: str | os.PathLike[str]) -> Project:
    """Open a project file lazily; raises ReadError (FormatVersionError for a newer format).

    A file that is not exactly as the workbench wrote it (its seal does not match) is opened in a limited
    child process first (:mod:`analysis.store.probe`): a damaged file ends with a ReadError, never a hang
    or a crash. Temporaries that killed saves of this file left behind are removed (said in
    :attr:`Project.warnings`).
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ReadError(p, "file not found") from None
    except OSError as exc:
        raise ReadError(p, f"cannot open file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(p, "not a file")
    removed = remove_stale_temporaries(p)
    if not seal.check_seal(p):
        if not _has_hdf5_signature(p, st.st_size):
            raise ReadError(p, "not an HDF5 project file (no HDF5 signature)")
        probe(p)
    project = open_unchecked(p)
    if removed:
        project.warnings.insert(0, describe_removed(removed))
    return project
