"""NeXus ``NXsts`` files (scanning tunnelling spectroscopy, the FAIRmat application definition extending
``NXspm``): export of grids and point spectra, and reading such files back.

One ``NXentry`` per dataset (``entry``, ``entry_2``, ...), laid out as NXsts requires:

* ``definition = "NXsts"``, ``experiment_technique = "STS"``, ``scan_mode`` (``"constant current"``
  unless the metadata say otherwise), ``title``, ``program_name`` (this program);
* ``instrument`` (NXinstrument): ``hardware`` and ``software`` (NXfabrication, the vendor guessed from the
  reader that read the data), ``current_sensor/current`` and ``sample_bias_voltage/bias_voltage`` (the
  set-point, A and V, NaN when unknown), ``scan_environment/scan_control`` (NXspm_scan_control) with the
  frame (``scan_region``: ``scan_offset_value_x/y``, ``scan_range_x/y`` in m, ``scan_angle_x`` in degrees)
  and the pixel counts and steps (``mesh_scan``: ``scan_points_x/y``, ``step_size_x/y``),
  ``bias_spectroscopy_environment/bias_spectroscopy/bias_sweep`` with ``scan_region``
  (``scan_start_bias``, ``scan_end_bias``, ``scan_offset_bias``) and ``linear_sweep``
  (``scan_points_bias``, ``step_size_bias``), and ``lockin_amplifier`` when the metadata name a lock-in;
* ``data`` (NXdata): one float32 dataset per channel, ``(ny, nx, nb)`` for a grid and ``(nb,)`` for a
  spectrum, with ``units`` and ``long_name`` (the channel name; HDF5 names replace ``/``), the axes
  ``y``, ``x`` (m, pixel centres along the frame's axes, shifted by its centre: exact positions for an
  unrotated frame) and ``bias`` (the sweep, ascending, in its unit), ``signal``/``auxiliary_signals``/``axes``
  attributes, and ``valid`` (int8, 1 where a pixel was measured);
* ``sts_workbench`` (NXcollection): what the application definition has no place for, so that reading the
  file back gives the dataset unchanged: the per-pixel parameters (with units), the frame (centre, size,
  angle), sweep signal/unit/direction, the spectrum's position, name, source, warnings, provenance and
  metadata (JSON text).

:func:`write_nxsts` is the export entry point (File > Export > NeXus); :func:`read_nxsts` and the reader
plugin read the files back. Images are not spectroscopy and are refused with a ValueError.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from analysis.dataset import Dataset, Frame, Grid, Source, Spectrum
from analysis.errors import ReadError
from analysis.hooks import check_cancel
from analysis.io.common import ascending_sweep, hdf5_size_problem
from analysis.io.registry import ReaderSpec
from analysis.store.probe import probe

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ProgressFn = Callable[[int, int], None]
PROGRAM = "STS Workbench"
NXSTS_VERSION = "1.0"
SWEEP_AXIS = "bias_voltage"
_VENDORS = {
    "nanonis": "SPECS Nanonis",
    "createc": "Createc",
    "rhk": "RHK Technology",
    "omicron": "Scienta Omicron",
    "gwyddion": "Gwyddion",
}


def _vendor(reader: str) -> str:
    for key, name in _VENDORS.items():
        if reader.startswith(key):
            return name
    return "unknown"


def _json(value: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        return str(o)

    return json.dumps(value, default=default)


def _h5name(name: str, taken: set[str]) -> str:
    """A NeXus-valid name (letters, digits, underscores) for ``name``, unique within ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "channel"
    if base[0].isdigit():
        base = "c_" + base
    out, k = base, 2
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def _field(group: h5py.Group, name: str, value: Any, units: str | None = None, **attrs: Any) -> h5py.Dataset:
    if isinstance(value, str):
        ds = group.create_dataset(name, data=value, dtype=h5py.string_dtype())
    else:
        ds = group.create_dataset(name, data=value)
    if units:
        ds.attrs["units"] = units
    for k, v in attrs.items():
        ds.attrs[k] = v
    return ds


def _group(parent: h5py.Group, name: str, nx_class: str) -> h5py.Group:
    g = parent.create_group(name, track_order=True)
    g.attrs["NX_class"] = nx_class
    return g


def _setpoint(ds: Dataset) -> tuple[float, float]:
    sp = ds.metadata.get("setpoint") if isinstance(ds.metadata, dict) else None
    bias = current = float("nan")
    if isinstance(sp, dict):
        try:
            bias = float(sp.get("bias_V")) if sp.get("bias_V") is not None else bias
            current = float(sp.get("current_A")) if sp.get("current_A") is not None else current
        except (TypeError, ValueError):
            pass
    return bias, current


def _axis_coords(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = frame.shape
    w, h = frame.size
    x = frame.center[0] + (np.arange(nx) + 0.5) * w / nx - w / 2
    y = frame.center[1] + (np.arange(ny) + 0.5) * h / ny - h / 2
    return x, y


SLAB_LINES = 32


class _Progress:
    """Counts written slabs for ``progress(done, total)`` and stops at the cancel event."""

    def __init__(self, total: int, progress: ProgressFn | None, cancel: threading.Event | None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.progress = progress
        self.cancel = cancel

    def step(self) -> None:
        check_cancel(self.cancel, "NeXus export")
        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)


def _slabs(ds: Dataset) -> int:
    if isinstance(ds, Grid):
        return len(ds.channels) * max(1, -(-ds.shape[0] // SLAB_LINES))
    return 1


def _write_entry(entry: h5py.Group, ds: Grid | Spectrum, counter: _Progress) -> None:
    sweep = np.asarray(ds.bias if isinstance(ds, Grid) else ds.x, dtype=np.float64)
    sweep_signal = ds.sweep_signal if isinstance(ds, Grid) else ds.x_name
    sweep_unit = ds.sweep_unit if isinstance(ds, Grid) else ds.x_unit
    bias_sp, current_sp = _setpoint(ds)
    meta = ds.metadata if isinstance(ds.metadata, dict) else {}

    _field(entry, "definition", "NXsts", version=NXSTS_VERSION)
    _field(entry, "experiment_technique", "STS")
    _field(entry, "scan_mode", str(meta.get("scan_mode", "constant current")))
    _field(entry, "title", ds.name or "untitled")
    _field(entry, "program_name", PROGRAM)
    entry.attrs["default"] = "data"
    user = _group(entry, "user", "NXuser")
    _field(user, "name", str(meta.get("user", "")) or "not recorded")

    inst = _group(entry, "instrument", "NXinstrument")
    vendor = _vendor(ds.source.reader)
    hw = _group(inst, "hardware", "NXfabrication")
    _field(hw, "vendor", vendor)
    sw = _group(inst, "software", "NXfabrication")
    _field(sw, "vendor", vendor)
    _field(sw, "model", ds.source.reader or "unknown")
    cs = _group(inst, "current_sensor", "NXsensor")
    _field(cs, "current", current_sp, "A")
    sb = _group(inst, "sample_bias_voltage", "NXsensor")
    _field(sb, "bias_voltage", bias_sp, "V")

    env = _group(inst, "scan_environment", "NXenvironment")
    ctrl = _group(env, "scan_control", "NXspm_scan_control")
    region = _group(ctrl, "scan_region", "NXspm_scan_region")
    mesh = _group(ctrl, "mesh_scan", "NXspm_scan_pattern")
    if isinstance(ds, Grid):
        f = ds.frame
        _field(region, "scan_offset_value_x", f.center[0], "m")
        _field(region, "scan_offset_value_y", f.center[1], "m")
        _field(region, "scan_range_x", f.size[0], "m")
        _field(region, "scan_range_y", f.size[1], "m")
        _field(region, "scan_angle_x", f.angle, "deg")
        _field(mesh, "scan_points_x", int(f.shape[1]))
        _field(mesh, "scan_points_y", int(f.shape[0]))
        _field(mesh, "step_size_x", f.pixel_size[0], "m")
        _field(mesh, "step_size_y", f.pixel_size[1], "m")
    else:
        pos = ds.position if ds.position is not None else (float("nan"), float("nan"))
        _field(region, "scan_offset_value_x", pos[0], "m")
        _field(region, "scan_offset_value_y", pos[1], "m")
        _field(mesh, "scan_points_x", 1)
        _field(mesh, "scan_points_y", 1)

    benv = _group(inst, "bias_spectroscopy_environment", "NXenvironment")
    bspec = _group(benv, "bias_spectroscopy", "NXspm_bias_spectroscopy")
    bsweep = _group(bspec, "bias_sweep", "NXspm_scan_control")
    bregion = _group(bsweep, "scan_region", "NXspm_scan_region")
    lin = _group(bsweep, "linear_sweep", "NXspm_scan_pattern")
    finite = sweep[np.isfinite(sweep)]
    start = float(finite[0]) if finite.size else float("nan")
    end = float(finite[-1]) if finite.size else float("nan")
    unit = sweep_unit or None
    _field(bregion, "scan_start_bias", start, unit)
    _field(bregion, "scan_end_bias", end, unit)
    _field(bregion, "scan_offset_bias", 0.0, unit)
    _field(lin, "scan_points_bias", int(sweep.size))
    step = float((end - start) / (sweep.size - 1)) if sweep.size > 1 else 0.0
    _field(lin, "step_size_bias", step, unit)

    lockin = meta.get("lockin")
    if isinstance(lockin, dict):
        lia = _group(inst, "lockin_amplifier", "NXlockin")
        freq = lockin.get("frequency_Hz")
        amp = lockin.get("amplitude_V")
        if isinstance(freq, int | float):
            _field(lia, "modulation_frequency", float(freq), "Hz")
        if isinstance(amp, int | float):
            _field(lia, "reference_amplitude", float(amp), "V")

    data = _group(entry, "data", "NXdata")
    taken = {"x", "y", "bias_voltage", "valid"}
    names: list[str] = []
    channel_map: dict[str, str] = {}
    for name, arr in ds.channels.items():
        key = _h5name(name, taken)
        if isinstance(ds, Grid):
            ny, nx, nb = ds.shape
            chunks = (min(ny, 32), min(nx, 32), max(nb, 1)) if ny * nx * nb else None
            d = data.create_dataset(key, shape=(ny, nx, nb), dtype=np.float32, chunks=chunks)
            for y0 in range(0, ny, SLAB_LINES):  # a slab at a time: lazy cubes are never read whole
                d[y0 : y0 + SLAB_LINES] = np.asarray(arr[y0 : y0 + SLAB_LINES], dtype=np.float32)
                counter.step()
        else:
            d = data.create_dataset(key, data=np.asarray(arr, dtype=np.float64))
            counter.step()
        if ds.units.get(name):
            d.attrs["units"] = ds.units[name]
        d.attrs["long_name"] = name
        names.append(key)
        channel_map[key] = name
    if names:
        data.attrs["signal"] = names[0]
        if len(names) > 1:
            data.attrs["auxiliary_signals"] = np.array(names[1:], dtype=h5py.string_dtype())
    _field(data, SWEEP_AXIS, sweep, sweep_unit or None, long_name=sweep_signal)
    if isinstance(ds, Grid):
        x, y = _axis_coords(ds.frame)
        _field(data, "x", x, "m", long_name="x")
        _field(data, "y", y, "m", long_name="y")
        data.attrs["axes"] = np.array(["y", "x", SWEEP_AXIS], dtype=h5py.string_dtype())
        data.attrs["y_indices"] = 0
        data.attrs["x_indices"] = 1
        data.attrs[f"{SWEEP_AXIS}_indices"] = 2
        _field(data, "valid", np.asarray(ds.valid, dtype=np.int8), long_name="measured pixel (1) or not (0)")
    else:
        data.attrs["axes"] = np.array([SWEEP_AXIS], dtype=h5py.string_dtype())
        data.attrs[f"{SWEEP_AXIS}_indices"] = 0

    coll = _group(entry, "sts_workbench", "NXcollection")
    _field(coll, "kind", ds.kind)
    _field(coll, "name", ds.name)
    _field(coll, "channel_names", _json(channel_map))
    _field(
        coll, "source", _json({"path": ds.source.path, "reader": ds.source.reader, "index": ds.source.index})
    )
    _field(coll, "warnings", _json(list(ds.warnings)))
    _field(coll, "provenance", _json(list(ds.provenance)))
    _field(coll, "metadata", _json(ds.metadata))
    _field(coll, "sweep_signal", sweep_signal)
    _field(coll, "sweep_unit", sweep_unit)
    _field(coll, "sweep_reversed", int(ds.sweep_reversed))
    if isinstance(ds, Grid):
        _field(coll, "frame", _json(ds.frame.to_dict()))
        params = _group(coll, "params", "NXcollection")
        ptaken: set[str] = set()
        porder: list[str] = []
        for pname, img in ds.params.items():
            key = _h5name(pname, ptaken)
            porder.append(key)
            d = params.create_dataset(key, data=np.asarray(img, dtype=np.float64))
            if ds.param_units.get(pname):
                d.attrs["units"] = ds.param_units[pname]
            d.attrs["long_name"] = pname
        _field(coll, "param_order", _json(porder))
    elif ds.position is not None:
        _field(coll, "position", np.asarray(ds.position, dtype=np.float64), "m")


def write_nxsts(
    dataset: Dataset | Sequence[Dataset],
    path: str | os.PathLike[str],
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write a grid or point spectrum (or a list of them) to ``path`` as a NeXus NXsts file.

    Each dataset becomes one NXentry (``entry``, ``entry_2``, ...). Grid channels are stored
    ``(ny, nx, nb)`` float32, spectrum channels ``(nb,)`` float64, in their SI units; cubes are written
    32 lines at a time, with ``progress(done, total)`` after each slab, and setting ``cancel`` stops the
    export with :class:`analysis.hooks.Cancelled`. The file is written to a temporary file beside ``path``
    and renamed, so a failure or a cancel leaves no partial file and keeps an existing ``path``.
    Raises ValueError for an image or an empty list (NXsts holds spectroscopy only), OSError when the
    file cannot be written.
    """
    items = list(dataset) if isinstance(dataset, Sequence) else [dataset]
    if not items:
        raise ValueError("nothing to export: no datasets given")
    for ds in items:
        if not isinstance(ds, Grid | Spectrum):
            raise ValueError(
                f"NXsts holds grids and point spectra; {getattr(ds, 'name', '')!r} is a {ds.kind}"  # type: ignore[union-attr]
            )
    counter = _Progress(sum(_slabs(ds) for ds in items), progress, cancel)
    check_cancel(cancel, "NeXus export")
    out = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".part", dir=out.parent or ".")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["default"] = "entry"
            f.attrs["creator"] = PROGRAM
            f.attrs["NX_class"] = "NXroot"
            f.attrs["HDF5_Version"] = h5py.version.hdf5_version
            f.attrs["h5py_version"] = h5py.version.version
            for k, ds in enumerate(items):
                entry = _group(f, "entry" if k == 0 else f"entry_{k + 1}", "NXentry")
                _write_entry(entry, ds, counter)  # type: ignore[arg-type]
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


# --------------------------------------------------------------------------------------------------
# Reading back


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _text(v[()])
    return str(v)


def _load(d: Any, where: str) -> Any:
    """The whole content of the ``h5py.Dataset`` ``d``, once its declared size has been checked against
    the bytes the file stores for it (a damaged header can declare gigabytes); ReadError otherwise."""
    if not isinstance(d, h5py.Dataset):
        raise _Damaged(f"{where} is not a dataset")
    problem = hdf5_size_problem(d)
    if problem is not None:
        raise _Damaged(f"{where} {problem}")
    return d[()]


class _Damaged(Exception):
    """A structure of the file that contradicts itself; becomes a ReadError naming the file."""


def _get_text(group: h5py.Group, name: str, default: str = "") -> str:
    if name in group and isinstance(group[name], h5py.Dataset):
        return _text(_load(group[name], f"{group.name}/{name}"))
    return default


def _loads(group: h5py.Group, name: str, default: Any) -> Any:
    try:
        return json.loads(_get_text(group, name)) if name in group else default
    except ValueError:
        return default


def _nxsts_entries(f: h5py.File) -> list[str]:
    out = []
    for key, g in f.items():
        if isinstance(g, h5py.Group) and _text(g.attrs.get("NX_class", "")) == "NXentry":
            if _get_text(g, "definition") == "NXsts":
                out.append(key)
    return out


def sniff(head: bytes, path: Path) -> bool:
    """An HDF5 file with at least one NXsts entry; its root group is listed in the probing process
    (:mod:`analysis.store.probe`), so a damaged file cannot hang or crash the caller."""
    if not head.startswith(HDF5_SIGNATURE):
        return False
    try:
        probe(path, "nexus_sniff")
    except ReadError:
        return False
    return True


def has_nxsts_entries(path: Path) -> None:
    """Raise ReadError unless the HDF5 file ``path`` has an NXsts entry (opened in this process: the
    probe's work for :func:`sniff`)."""
    try:
        with h5py.File(path, "r") as f:
            found = bool(_nxsts_entries(f))
    except Exception as exc:
        raise ReadError(path, f"cannot read the NeXus file: {type(exc).__name__}: {exc}") from None
    if not found:
        raise ReadError(path, "no NXentry with definition NXsts in the file")


def _units(d: h5py.Dataset) -> str:
    return _text(d.attrs.get("units", "")) if "units" in d.attrs else ""


def _read_entry(path: Path, entry: h5py.Group, index: int) -> Dataset:
    where = f"entry {entry.name}"
    if "data" not in entry or not isinstance(entry["data"], h5py.Group):
        raise ReadError(path, f"{where} has no NXdata group 'data'")
    data = entry["data"]
    coll = entry["sts_workbench"] if "sts_workbench" in entry else None
    if SWEEP_AXIS not in data:
        raise ReadError(path, f"{where}/data has no '{SWEEP_AXIS}' axis")
    bias = np.asarray(_load(data[SWEEP_AXIS], f"{where}/data/{SWEEP_AXIS}"), dtype=np.float64)
    if bias.ndim != 1:
        raise ReadError(path, f"{where}/data/{SWEEP_AXIS} is not one-dimensional")
    kind = _get_text(coll, "kind") if coll is not None else ("grid" if "x" in data else "spectrum")
    names = _loads(coll, "channel_names", {}) if coll is not None else {}
    axes = {"x", "y", SWEEP_AXIS, "valid"}
    channels: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    keys = [k for k in names if k in data] + [k for k in data if k not in names]
    for key in keys:
        d = data[key]
        if key in axes or not isinstance(d, h5py.Dataset):
            continue
        name = names.get(key) or _text(d.attrs.get("long_name", key))
        channels[name] = _load(d, f"{where}/data/{key}")
        units[name] = _units(d)
    sweep_signal = _get_text(coll, "sweep_signal") if coll is not None else ""
    sweep_signal = sweep_signal or _text(data[SWEEP_AXIS].attrs.get("long_name", "Bias"))
    sweep_unit = (
        _get_text(coll, "sweep_unit", _units(data[SWEEP_AXIS]))
        if coll is not None
        else _units(data[SWEEP_AXIS])
    )
    reversed_ = (
        bool(int(_load(coll["sweep_reversed"], f"{where}/sts_workbench/sweep_reversed")))
        if coll is not None and "sweep_reversed" in coll
        else False
    )
    src = _loads(coll, "source", {}) if coll is not None else {}
    common: dict[str, Any] = {
        "name": _get_text(coll, "name") if coll is not None else _get_text(entry, "title"),
        "units": units,
        "metadata": _loads(coll, "metadata", {}) if coll is not None else {},
        "source": Source(
            str(src.get("path", path)), str(src.get("reader", "nexus_sts")), int(src.get("index", index))
        ),
        "warnings": _loads(coll, "warnings", []) if coll is not None else [],
        "provenance": _loads(coll, "provenance", []) if coll is not None else [],
    }
    if kind == "grid":
        if "x" not in data or "y" not in data:
            raise ReadError(path, f"{where}/data has no 'x'/'y' axes for a grid")
        ny, nx = int(data["y"].shape[0]), int(data["x"].shape[0])
        for name, arr in channels.items():
            if arr.shape != (ny, nx, bias.size):
                raise ReadError(
                    path, f"{where}: channel {name!r} has shape {arr.shape}, not {(ny, nx, bias.size)}"
                )
            channels[name] = np.ascontiguousarray(arr, dtype=np.float32)
        frame_d = _loads(coll, "frame", None) if coll is not None else None
        if isinstance(frame_d, dict):
            frame = Frame.from_dict(frame_d)
        else:
            x = np.asarray(_load(data["x"], f"{where}/data/x"), dtype=np.float64)
            y = np.asarray(_load(data["y"], f"{where}/data/y"), dtype=np.float64)
            dx = float(x[1] - x[0]) if nx > 1 else 1e-9
            dy = float(y[1] - y[0]) if ny > 1 else 1e-9
            frame = Frame(
                center=(float((x[0] + x[-1]) / 2), float((y[0] + y[-1]) / 2)),
                size=(abs(dx) * nx, abs(dy) * ny),
                angle=0.0,
                shape=(ny, nx),
            )
        if frame.shape != (ny, nx):
            raise ReadError(path, f"{where}: the frame's shape {frame.shape} is not the data's {(ny, nx)}")
        valid = np.ones((ny, nx), bool)
        if "valid" in data:
            v = np.asarray(_load(data["valid"], f"{where}/data/valid"))
            if v.shape != (ny, nx):
                raise ReadError(path, f"{where}/data/valid has shape {v.shape}, not {(ny, nx)}")
            valid = v.astype(bool)
        params: dict[str, np.ndarray] = {}
        param_units: dict[str, str] = {}
        if coll is not None and "params" in coll:
            order = _loads(coll, "param_order", [])
            pgroup = coll["params"]
            for key in [k for k in order if k in pgroup] + [k for k in pgroup if k not in order]:
                d = pgroup[key]
                pname = _text(d.attrs.get("long_name", key))
                params[pname] = np.asarray(_load(d, f"{where}/sts_workbench/params/{key}"), dtype=np.float64)
                param_units[pname] = _units(d)
        return Grid(
            bias=bias,
            channels=channels,
            frame=frame,
            params=params,
            param_units=param_units,
            valid=valid,
            sweep_signal=sweep_signal,
            sweep_unit=sweep_unit,
            sweep_reversed=reversed_,
            **common,
        )
    for name, arr in channels.items():
        if arr.shape != bias.shape:
            raise ReadError(path, f"{where}: channel {name!r} has shape {arr.shape}, not {bias.shape}")
        channels[name] = np.asarray(arr, dtype=np.float64)
    position = None
    if coll is not None and "position" in coll:
        p = np.asarray(_load(coll["position"], f"{where}/sts_workbench/position"), dtype=np.float64)
        if p.shape == (2,):
            position = (float(p[0]), float(p[1]))
    return Spectrum(
        x=bias,
        channels=channels,
        x_name=sweep_signal,
        x_unit=sweep_unit,
        sweep_reversed=reversed_,
        position=position,
        **common,
    )


# Unit spellings of other NeXus writers (pint names) and their SI symbols
_UNIT_SYMBOLS = {
    "volt": "V", "ampere": "A", "meter": "m", "metre": "m", "siemens": "S", "kelvin": "K", "ohm": "Ohm",
    "hertz": "Hz", "second": "s", "ampere / volt": "S", "ampere/volt": "S", "A/V": "S",
}  # fmt: skip


def _si_unit(u: str) -> str:
    return _UNIT_SYMBOLS.get(u.strip(), u.strip())


def _read_foreign_entry(path: Path, entry: h5py.Group, index: int) -> list[Dataset]:
    """Point spectra of an NXsts entry written by another program: every NXdata group whose signal is
    one-dimensional over one axis becomes a channel; groups sharing the same axis values form one
    :class:`Spectrum` (channel named by the group)."""
    groups: list[tuple[str, np.ndarray, str, str, np.ndarray, str]] = []
    for key, g in entry.items():
        if not isinstance(g, h5py.Group) or _text(g.attrs.get("NX_class", "")) != "NXdata":
            continue
        signal = _text(g.attrs.get("signal", ""))
        axes = g.attrs.get("axes", [])
        axes = [axes] if isinstance(axes, str | bytes) else [_text(a) for a in np.atleast_1d(axes)]
        if signal not in g or len(axes) != 1 or _text(axes[0]) not in g:
            continue
        y, xa = g[signal], g[_text(axes[0])]
        if y.ndim != 1 or xa.ndim != 1 or y.shape != xa.shape or y.size < 1:
            continue
        where = f"{entry.name}/{key}"
        groups.append(
            (key, np.asarray(_load(xa, where), dtype=np.float64), _si_unit(_units(xa)), _text(axes[0]),
             np.asarray(_load(y, where), dtype=np.float64), _si_unit(_units(y)))
        )  # fmt: skip
    if not groups:
        raise ReadError(path, f"entry {entry.name} has no one-dimensional NXdata to read as a spectrum")
    out: list[Dataset] = []
    used: list[np.ndarray] = []
    for _key, x, x_unit, x_name, _y, _u in groups:
        if any(x.shape == u.shape and np.array_equal(x, u) for u in used):
            continue
        used.append(x)
        channels = {
            k: y for k, xx, _xu, _xn, y, _yu in groups if xx.shape == x.shape and np.array_equal(xx, x)
        }
        units = {k: yu for k, xx, _xu, _xn, _y, yu in groups if k in channels}
        xs, chans, reversed_ = ascending_sweep(x, channels)
        out.append(
            Spectrum(
                name=_get_text(entry, "title") or f"{path.stem} {entry.name.strip('/')}",
                units=units,
                metadata={
                    "format": "NeXus NXsts",
                    "entry": entry.name,
                    "scan_mode": _get_text(entry, "scan_mode"),
                },
                source=Source(str(path), "nexus_sts", index + len(out)),
                x=xs,
                channels=chans,
                x_name="Bias" if x_unit == "V" else x_name,
                x_unit=x_unit,
                sweep_reversed=reversed_,
            )
        )
    return out


def read_nxsts(path: str | os.PathLike[str]) -> list[Dataset]:
    """The grids and spectra of every NXsts entry of a NeXus file, in file order.

    Entries written by :func:`write_nxsts` come back unchanged; entries of other programs give their
    one-dimensional NXdata groups as point spectra (units converted to SI symbols).

    HDF5 trusts its own structures and can loop forever, crash or allocate gigabytes on a damaged file,
    and a NeXus file carries no seal that would prove it intact (see :mod:`analysis.store.seal`). So the
    file is first read completely in the time- and memory-limited probing process
    (:mod:`analysis.store.probe`); only when that succeeded is it read here. Every array's declared size
    is checked against the bytes the file stores before it is read. Any damage ends in a ReadError.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except OSError as exc:
        raise ReadError(p, f"cannot open file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(p, "not a file")
    probe(p, "nexus")
    return read_unprobed(p)


def read_unprobed(path: str | os.PathLike[str]) -> list[Dataset]:
    """:func:`read_nxsts` without the probing process (its work in that process; a damaged file can hang
    or crash the caller)."""
    p = Path(path)
    try:
        with h5py.File(p, "r") as f:
            keys = _nxsts_entries(f)
            if not keys:
                raise ReadError(p, "no NXentry with definition NXsts in the file")
            out: list[Dataset] = []
            for k in keys:
                entry = f[k]
                if "sts_workbench" in entry or "data" in entry and SWEEP_AXIS in entry["data"]:
                    out.append(_read_entry(p, entry, len(out)))
                else:
                    out.extend(_read_foreign_entry(p, entry, len(out)))
            return out
    except ReadError:
        raise
    except _Damaged as exc:
        raise ReadError(p, f"damaged NeXus file: {exc}") from None
    except Exception as exc:  # h5py reports corrupt files with many exception types
        raise ReadError(p, f"cannot read the NeXus file: {type(exc).__name__}: {exc}") from None


def read(path: Path) -> list[Dataset]:
    return read_nxsts(path)


READER = ReaderSpec(
    name="nexus_sts",
    title="NeXus NXsts",
    extensions=(".nxs", ".h5", ".hdf5", ".nx5"),
    sniff=sniff,
    read=read,
    priority=30,
    kinds=("grid", "spectrum"),
)
