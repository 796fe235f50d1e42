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

Saving (:func:`save_project`) is atomic: the file is written to ``path + ".tmp-"`` plus 8 random hex
digits in the same folder, flushed, fsynced and renamed over ``path`` with ``os.replace``; a failure or a
cancel leaves the previous file untouched and removes the temporary one. Cubes are copied in slabs of 32
lines, so the entries may be lazy datasets of the very file being overwritten.

Opening (:func:`open_project`) is lazy: a grid's ``channels[name]`` is the ``h5py.Dataset`` itself and
the file stays open until :meth:`Project.close` (or the end of a ``with`` block); whole-frame sweep slices
``cube[:, :, k]`` are gathered from a memory map (see :mod:`analysis.store.lazy`); axes, masks, per-pixel
parameters, spectra, images and attachments are read into memory. :meth:`Project.load_all` gives
in-memory copies of everything. A file from a newer major format version raises
:class:`~analysis.errors.FormatVersionError`.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from analysis.dataset import Dataset, Frame, Grid, Image, Source, Spectrum
from analysis.errors import FormatVersionError, ReadError, WorkbenchError
from analysis.store.lazy import LazyCube

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
    return json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=True)


def _loads(text: Any, what: str) -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not isinstance(text, str):
        raise ValueError(f"{what} is not a JSON string")
    return json.loads(text)


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

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise SaveCancelled("save cancelled")

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
        ds.attrs["name"] = name
        _label(ds, dims, units)
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
        ds.attrs["name"] = name
        _label(ds, dims, units)


def _label(ds: h5py.Dataset, dims: tuple[h5py.Dataset, ...], units: str) -> None:
    """Attach the dimension scales ``dims`` (one per axis, when their lengths fit) and a ``units``
    attribute, so that netCDF readers (``xarray.open_dataset(..., engine="h5netcdf", group=...)``) see
    named dimensions and units. The project reader does not need either."""
    if units:
        ds.attrs["units"] = units
    if len(dims) == ds.ndim and all(d.shape == (n,) for d, n in zip(dims, ds.shape)):
        for axis, scale in enumerate(dims):
            ds.dims[axis].attach_scale(scale)


def _scale(g: h5py.Group, name: str, values: np.ndarray, units: str, long_name: str = "") -> h5py.Dataset:
    """A coordinate dataset made an HDF5 dimension scale (a netCDF dimension named ``name``)."""
    d = g[name] if name in g else g.create_dataset(name, data=values)
    d.make_scale(name)
    if units:
        d.attrs["units"] = units
    if long_name:
        d.attrs["long_name"] = long_name
    return d


def _frame_scales(g: h5py.Group, frame: Frame) -> tuple[h5py.Dataset, h5py.Dataset]:
    """``y`` (ny,) and ``x`` (nx,) pixel-centre coordinates in metres (frame axes shifted by the centre)."""
    ny, nx = frame.shape
    w, h = frame.size
    x = frame.center[0] + (np.arange(nx) + 0.5) * w / nx - w / 2
    y = frame.center[1] + (np.arange(ny) + 0.5) * h / ny - h / 2
    return _scale(g, "y", y, "m", "y"), _scale(g, "x", x, "m", "x")


def _slabs(ds: Dataset) -> int:
    if isinstance(ds, Grid):
        ny = ds.shape[0]
        return len(ds.channels) * max(1, math.ceil(ny / SLAB_LINES))
    return 0


def _common_attrs(g: h5py.Group, entry: ProjectEntry) -> None:
    ds = entry.dataset
    g.attrs["key"] = entry.key
    g.attrs["label"] = entry.label
    g.attrs["parent"] = entry.parent or ""
    g.attrs["kind"] = ds.kind
    g.attrs["name"] = ds.name
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
        g.attrs["sweep_signal"] = ds.sweep_signal
        g.attrs["sweep_unit"] = ds.sweep_unit
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
        g.attrs["x_name"] = ds.x_name
        g.attrs["x_unit"] = ds.x_unit
        g.attrs["sweep_reversed"] = bool(ds.sweep_reversed)
        g.attrs["position"] = _dumps(list(ds.position) if ds.position is not None else None)
        g.create_dataset("x", data=np.asarray(ds.x, dtype=np.float64))
        xs = _scale(g, "x", ds.x, ds.x_unit, ds.x_name)
        chans = g.create_group("channels")
        for name, arr in ds.channels.items():
            saver.write_small(chans, "c", name, arr, (xs,), ds.units.get(name, ""))
    elif isinstance(ds, Image):
        g.attrs["frame"] = _dumps(ds.frame.to_dict())
        g.attrs["scan_direction"] = ds.scan_direction
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
    each slab of 32 cube lines and each entry; setting ``cancel`` raises :class:`SaveCancelled`. Any
    failure leaves an existing file at ``path`` unchanged.
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
    tmp = folder / f"{target.name}.tmp-{secrets.token_hex(4)}"
    try:
        with h5py.File(tmp, "w", libver=("v110", "latest"), track_order=True) as f:
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
                g.attrs["name"] = str(name)
                g.attrs["data"] = _dumps(att.data)
                arrays = g.create_group("arrays")
                for aname, arr in att.arrays.items():
                    saver.write_small(arrays, "r", str(aname), arr)
                saver.step()
            f.flush()
        _fsync_path(tmp)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_path(folder, directory=True)
    return target


# ----------------------------------------------------------------------------------------------------------
# Opening


def _parse_version(path: Path, text: Any) -> tuple[int, int]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        major, _, minor = str(text).partition(".")
        return int(major), int(minor or 0)
    except ValueError:
        raise ReadError(path, f"unreadable format version {text!r}") from None


def _named(group: h5py.Group) -> list[tuple[str, h5py.Dataset]]:
    out = []
    for key in sorted(group.keys()):
        ds = group[key]
        if not isinstance(ds, h5py.Dataset):
            raise ValueError(f"{group.name}/{key} is not a dataset")
        name = ds.attrs.get("name", key)
        if isinstance(name, bytes):
            name = name.decode("utf-8")
        out.append((str(name), ds))
    return out


def _arrays(group: h5py.Group, expected: tuple[int, ...], message: str) -> dict[str, np.ndarray]:
    """Every dataset of ``group`` read into memory, by name, each of shape ``expected``; otherwise
    ValueError with ``message`` formatted with ``name``, ``shape`` and ``expected``."""
    out = {}
    for name, d in _named(group):
        arr = np.asarray(d[()])
        if arr.shape != expected:
            raise ValueError(message.format(name=name, shape=arr.shape, expected=expected))
        out[name] = arr
    return out


def _attr_str(g: h5py.Group, key: str, default: str = "") -> str:
    v = g.attrs.get(key, default)
    if isinstance(v, bytes):
        v = v.decode("utf-8")
    return str(v)


def _read_entry(path: Path, g: h5py.Group) -> ProjectEntry:
    kind = _attr_str(g, "kind")
    src = _loads(g.attrs["source"], "source")
    common = dict(
        name=_attr_str(g, "name"),
        units=dict(_loads(g.attrs["units"], "units")),
        metadata=dict(_loads(g.attrs["metadata"], "metadata")),
        source=Source(str(src.get("path", "")), str(src.get("reader", "")), int(src.get("index", 0))),
        warnings=list(_loads(g.attrs["warnings"], "warnings")),
        provenance=list(_loads(g.attrs["provenance"], "provenance")),
    )
    ds: Dataset
    if kind == "grid":
        frame = Frame.from_dict(_loads(g.attrs["frame"], "frame"))
        bias = np.asarray(g["bias"][()], dtype=np.float64)
        ny, nx = frame.shape
        expected = (ny, nx, int(bias.shape[0]))
        channels: dict[str, Any] = {}
        for name, d in _named(g["channels"]):
            if d.shape != expected:
                raise ValueError(f"channel {name!r} has shape {d.shape}, expected {expected}")
            cube = LazyCube(d.id, str(path))
            cube.prepare()
            channels[name] = cube
        params = _arrays(g["params"], (ny, nx), "parameter {name!r} has shape {shape}, expected {expected}")
        valid = np.asarray(g["valid"][()], dtype=bool)
        if valid.shape != (ny, nx):
            raise ValueError(f"valid mask has shape {valid.shape}, expected {(ny, nx)}")
        ds = Grid(
            **common,
            bias=bias,
            channels=channels,
            frame=frame,
            params=params,
            param_units=dict(_loads(g.attrs["param_units"], "param_units")),
            valid=valid,
            sweep_signal=_attr_str(g, "sweep_signal", "Bias"),
            sweep_unit=_attr_str(g, "sweep_unit", "V"),
            sweep_reversed=bool(g.attrs.get("sweep_reversed", False)),
        )
    elif kind == "spectrum":
        x = np.asarray(g["x"][()], dtype=np.float64)
        mismatch = "channel {name!r} has {shape} points, the sweep has {expected}"
        chans = _arrays(g["channels"], x.shape, mismatch)
        pos = _loads(g.attrs.get("position", "null"), "position")
        ds = Spectrum(
            **common,
            x=x,
            channels=chans,
            x_name=_attr_str(g, "x_name", "Bias"),
            x_unit=_attr_str(g, "x_unit", "V"),
            sweep_reversed=bool(g.attrs.get("sweep_reversed", False)),
            position=(float(pos[0]), float(pos[1])) if pos is not None else None,
        )
    elif kind == "image":
        frame = Frame.from_dict(_loads(g.attrs["frame"], "frame"))
        chans = _arrays(g["channels"], frame.shape, "channel {name!r} has shape {shape}, expected {expected}")
        ds = Image(**common, channels=chans, frame=frame, scan_direction=_attr_str(g, "scan_direction", "up"))
    elif kind == "series":
        from analysis.store.series_io import read_series

        ds = read_series(path, g, common)  # type: ignore[assignment]
    else:
        raise ValueError(f"unknown entry kind {kind!r} in {g.name}")
    parent = _attr_str(g, "parent")
    return ProjectEntry(
        key=_attr_str(g, "key"), label=_attr_str(g, "label"), dataset=ds, parent=parent or None
    )


class Project:
    """An open project file: ``entries`` (lazy grid cubes), ``attachments``; close it when done."""

    def __init__(self, path: Path, file: h5py.File, entries: list[ProjectEntry], attachments, version):
        self.path = path
        self.entries: list[ProjectEntry] = entries
        self.attachments: dict[str, Attachment] = attachments
        self.format_version: tuple[int, int] = version
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


def open_project(path: str | os.PathLike[str]) -> Project:
    """Open a project file lazily; raises ReadError (FormatVersionError for a newer format)."""
    p = Path(path)
    try:
        f = h5py.File(p, "r")
    except FileNotFoundError:
        raise ReadError(p, "file not found") from None
    except Exception as exc:
        raise ReadError(p, f"not an HDF5 project file ({type(exc).__name__}: {exc})") from None
    try:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode("utf-8", "replace")
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
        entries = [_read_entry(p, f["entries"][k]) for k in sorted(f["entries"].keys())]
        attachments: dict[str, Attachment] = {}
        if "attachments" in f:
            for k in sorted(f["attachments"].keys()):
                g = f["attachments"][k]
                data = _loads(g.attrs["data"], "attachment data")
                if not isinstance(data, dict):
                    raise ValueError(f"attachment {k} data is not a JSON object")
                arrays = {name: np.asarray(d[()]) for name, d in _named(g["arrays"])}
                attachments[_attr_str(g, "name", k)] = Attachment(data=data, arrays=arrays)
    except ReadError:
        f.close()
        raise
    except Exception as exc:
        f.close()
        raise ReadError(p, f"damaged project file ({type(exc).__name__}: {exc})") from None
    return Project(p, f, entries, attachments, version)
