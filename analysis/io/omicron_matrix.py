"""Omicron (Scienta Omicron) MATRIX result files: images (``*.Z_mtrx``, ``*.I_mtrx``, ...), spectroscopy
curves (``*.I(V)_mtrx``, ``*.Aux1(V)_mtrx``, ...) and CITS volumes, with the experiment's parameter file.

A MATRIX result file starts with ``ONTMATRX0101`` and holds only raw integers; their meaning (scan size,
offsets, angle, the transfer function from integers to physical units, the position of a spectrum) is in
the experiment's parameter file, ``<experiment>_0001.mtrx`` (and ``_0002``, ... when it was continued),
which MATRIX writes beside the data: a result file ``<experiment>--<session>_<cycle>.<channel>_mtrx`` needs
it. The decoding is done by the BSD-licensed package ``access2theMatrix`` (optional extra ``matrix``); its
failures, and a missing parameter file, become :class:`ReadError`.

Mapping to the data model:

* an image becomes one :class:`Image`; the traces ``forward/up``, ``backward/up``, ``forward/down`` and
  ``backward/down`` become the channels ``"Z"``, ``"Z [bwd]"``, ``"Z (down)"`` and ``"Z (down) [bwd]"``
  (named by the channel). access2theMatrix returns every trace with row 0 the lowest line and column 0
  the leftmost (backward lines and down scans are already reversed), which is the data model's
  convention. Frame: width, height, centre offset and angle (degrees) of the selected trace.
* a spectroscopy curve becomes one :class:`Spectrum` with the channel and, when a retrace was
  recorded on the same points, the channel ``" [bwd]"``; the position is the ``Location (m)`` that
  MATRIX recorded for the curve.
* a CITS volume becomes one :class:`Grid` per scan trace with the sweep's trace and retrace as channels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import BWD_SUFFIX, Dataset, Frame, Grid, Image, Source, Spectrum
from analysis.errors import ReadError
from analysis.io.common import ascending_sweep
from analysis.io.registry import ReaderSpec

MAGIC = b"ONTMATRX0101"
PARAMETER_MAGIC = b"ONTMATRX0101ATEM"
INSTALL_HINT = "install the optional package access2theMatrix (pip install 'stsworkbench[matrix]')"
_NAME_RE = re.compile(r"^(?P<chain>.+)--(?P<session>[^_]+)_(?P<cycle>[^.]+)\.(?P<channel>.+)_mtrx$", re.I)
TRACE_SUFFIX = {
    "forward/up": "",
    "backward/up": BWD_SUFFIX,
    "forward/down": " (down)",
    "backward/down": " (down)" + BWD_SUFFIX,
}


def sniff(head: bytes, path: Path) -> bool:
    """A MATRIX file: a result file, or the parameter file (``...ATEM``), which :func:`read` refuses with a
    message pointing to its result files."""
    return head.startswith(MAGIC)


def parameter_file(path: Path) -> Path:
    """The experiment's parameter file for the result file ``path`` (it need not exist)."""
    m = _NAME_RE.match(path.name)
    if m is None:
        raise ReadError(
            path,
            "a MATRIX result file name has the form <experiment>--<session>_<cycle>.<channel>_mtrx; "
            "without it the experiment's parameter file cannot be found",
        )
    return path.with_name(f"{m.group('chain')}_0001.mtrx")


def _plain(value: Any) -> Any:
    """Parameter values as plain Python types (for metadata that is saved and shown)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def _open(path: Path) -> tuple[Any, dict[int, str]]:
    try:
        import access2thematrix  # optional dependency, imported when needed
    except ImportError:
        raise ReadError(
            path, f"reading Omicron MATRIX files needs access2theMatrix: {INSTALL_HINT}"
        ) from None
    params = parameter_file(path)
    if not params.is_file():
        raise ReadError(path, f"the experiment's parameter file {params.name} is not beside the data file")
    try:
        with open(params, "rb") as fh:
            if not fh.read(len(PARAMETER_MAGIC)) == PARAMETER_MAGIC:
                raise ReadError(params, "not a MATRIX parameter file (expected ONTMATRX0101ATEM)", offset=0)
    except OSError as exc:
        raise ReadError(params, f"cannot read the parameter file: {exc.strerror or exc}") from None
    mtrx = access2thematrix.MtrxData()
    try:
        traces, message = mtrx.open(str(path))
    except Exception as exc:  # the library's own failures become ReadErrors
        raise ReadError(
            path, f"access2theMatrix could not decode the file: {type(exc).__name__}: {exc}"
        ) from None
    if not traces or getattr(mtrx, "scan", None) is None and getattr(mtrx, "volume_scan", None) is None:
        raise ReadError(path, f"access2theMatrix: {message}")
    return mtrx, {int(k): str(v) for k, v in dict(traces).items()}


def _common_metadata(mtrx: Any, path: Path) -> dict[str, Any]:
    param = getattr(mtrx, "param", {}) or {}
    return {
        "format": "Omicron MATRIX",
        "parameter_file": parameter_file(path).name,
        "parameters": _plain({k: v for k, v in param.items() if not k.startswith("EXPD")}),
        "channel": str(getattr(mtrx, "channel_name", "")),
        "session": str(getattr(mtrx, "session", "")),
        "cycle": str(getattr(mtrx, "cycle", "")),
        "sample_name": str(getattr(mtrx, "sample_name", "")),
        "data_set_name": str(getattr(mtrx, "data_set_name", "")),
        "creation_comment": str(getattr(mtrx, "creation_comment", "")),
    }


def _image(path: Path, mtrx: Any, traces: dict[int, str]) -> Image:
    channels: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    frame = None
    trace_meta: dict[str, Any] = {}
    for trace in traces.values():
        try:
            im, message = mtrx.select_image(trace)
        except Exception as exc:
            raise ReadError(path, f"access2theMatrix could not select trace {trace}: {exc}") from None
        data = np.asarray(getattr(im, "data", np.zeros((0, 0))), dtype=np.float64)
        if data.ndim != 2 or data.size == 0:
            raise ReadError(path, f"access2theMatrix: {message}")
        name_unit = list(getattr(im, "channel_name_and_unit", ["", ""])) + ["", ""]
        base = str(name_unit[0] or getattr(mtrx, "channel_name", "") or "Channel")
        name = base + TRACE_SUFFIX.get(trace, f" ({trace})")
        channels[name] = np.ascontiguousarray(data, dtype=np.float32)
        units[name] = str(name_unit[1])
        angle = float(getattr(im, "angle", 0.0) or 0.0)
        size = (float(im.width), float(im.height))
        trace_meta[trace] = {"center": [float(im.x_offset), float(im.y_offset)], "size": list(size)}
        if frame is None:
            if not (all(np.isfinite(size)) and min(size) > 0):
                raise ReadError(
                    path, f"the parameter file gives no usable scan size ({size[0]} x {size[1]} m)"
                )
            frame = Frame(
                center=(float(im.x_offset), float(im.y_offset)), size=size, angle=angle, shape=data.shape
            )
    if frame is None:
        raise ReadError(path, "no image trace in the file")
    warnings = []
    if len({c.shape for c in channels.values()}) > 1:
        # a down scan stopped early holds fewer lines: keep the traces of the first trace's shape
        shape = frame.shape
        dropped = [k for k, v in channels.items() if v.shape != shape]
        channels = {k: v for k, v in channels.items() if v.shape == shape}
        units = {k: units[k] for k in channels}
        warnings.append(
            f"traces {', '.join(dropped)} have a different size (an aborted scan) and were skipped"
        )
    metadata = _common_metadata(mtrx, path)
    metadata["traces"] = trace_meta
    return Image(
        name=path.name,
        units=units,
        metadata=metadata,
        source=Source(str(path), "omicron_matrix", 0),
        warnings=warnings,
        channels=channels,
        frame=frame,
        scan_direction="up",
    )


def _curve(path: Path, mtrx: Any, traces: dict[int, str]) -> Spectrum:
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    x_name_unit = ["", ""]
    y_name_unit = ["", ""]
    ref: dict[str, Any] = {}
    for trace in traces.values():
        try:
            cu, message = mtrx.select_curve(trace)
        except Exception as exc:
            raise ReadError(path, f"access2theMatrix could not select the {trace}: {exc}") from None
        data = np.asarray(getattr(cu, "data", np.zeros((2, 0))), dtype=np.float64)
        if data.ndim != 2 or data.shape[0] != 2 or data.shape[1] < 1:
            raise ReadError(path, f"access2theMatrix: {message}")
        curves[trace] = (data[0], data[1])
        x_name_unit = list(getattr(cu, "x_data_name_and_unit", x_name_unit)) + ["", ""]
        y_name_unit = list(getattr(cu, "y_data_name_and_unit", y_name_unit)) + ["", ""]
        ref = dict(getattr(cu, "referenced_by", {}) or ref)
    name = str(y_name_unit[0] or getattr(mtrx, "channel_name", "") or "Channel")
    x_unit = str(x_name_unit[1])
    x, y = curves.get("trace", next(iter(curves.values())))
    channels = {name: y}
    units = {name: str(y_name_unit[1])}
    warnings: list[str] = []
    if "retrace" in curves:
        xr, yr = curves["retrace"]
        order = np.argsort(xr)
        if xr.shape == x.shape and np.allclose(np.sort(xr), np.sort(x), rtol=1e-9, atol=0):
            channels[name + BWD_SUFFIX] = yr[order][np.argsort(np.argsort(x))]
            units[name + BWD_SUFFIX] = units[name]
        else:
            warnings.append("the retrace does not share the trace's points and was left out")
    xs, chans, reversed_ = ascending_sweep(x, channels)
    position = None
    loc = ref.get("Location (m)")
    if loc is not None and len(loc) >= 2 and all(np.isfinite(np.asarray(loc[:2], dtype=float))):
        position = (float(loc[0]), float(loc[1]))
    metadata = _common_metadata(mtrx, path)
    metadata["referenced_by"] = _plain(ref)
    metadata["x_device"] = str(x_name_unit[0])
    x_name = "Bias" if x_unit == "V" else ("Z" if x_unit == "m" else str(x_name_unit[0] or "X"))
    return Spectrum(
        name=path.name,
        units=units,
        metadata=metadata,
        source=Source(str(path), "omicron_matrix", 0),
        warnings=warnings,
        x=xs,
        channels=chans,
        x_name=x_name,
        x_unit=x_unit,
        sweep_reversed=reversed_,
        position=position,
    )


def _volume(path: Path, mtrx: Any) -> list[Grid]:
    volume = getattr(mtrx, "volume_scan", None) or {}
    scan = np.asarray(getattr(mtrx, "scan", np.zeros((1, 0))), dtype=np.float64)
    if scan.ndim != 2 or scan.shape[1] < 1 or not volume:
        raise ReadError(path, "access2theMatrix found no CITS volume data")
    bias = scan[0]
    param = getattr(mtrx, "param", {}) or {}

    def value(key: str, default: float) -> float:
        v = param.get(f"EEPA::XYScanner.{key}")
        try:
            return float(v[0]) if v is not None else default
        except (TypeError, ValueError, IndexError):
            return default

    name_unit = list(getattr(mtrx, "channel_name_and_unit", ["", ""])) + ["", ""]
    z_name_unit = list(getattr(mtrx, "z_data_name_and_unit", ["", ""])) + ["", ""]
    base = str(name_unit[0] or getattr(mtrx, "channel_name", "") or "Channel")
    out: list[Grid] = []
    for trace, sweeps in volume.items():
        channels: dict[str, np.ndarray] = {}
        for sweep, cube in sweeps.items():
            arr = np.asarray(cube, dtype=np.float64)
            if arr.ndim != 3 or arr.shape[2] != bias.size:
                raise ReadError(path, f"CITS trace {trace} has shape {arr.shape}, not (ny, nx, {bias.size})")
            channels[base + (BWD_SUFFIX if sweep == "retrace" else "")] = arr
        xs = bias
        if bias.size >= 2 and bias[-1] < bias[0]:
            xs = bias[::-1].copy()
            channels = {k: v[:, :, ::-1] for k, v in channels.items()}
        first = next(iter(channels.values()))
        ny, nx = first.shape[:2]
        valid = np.any(np.isfinite(first), axis=2)
        frame = Frame(
            center=(value("X_Offset", 0.0), value("Y_Offset", 0.0)),
            size=(value("Width", 1e-9), value("Height", 1e-9)),
            angle=value("Angle", 0.0),
            shape=(ny, nx),
        )
        metadata = _common_metadata(mtrx, path)
        metadata["trace"] = str(trace)
        out.append(
            Grid(
                name=f"{path.name} {trace}",
                units={k: str(name_unit[1]) for k in channels},
                metadata=metadata,
                source=Source(str(path), "omicron_matrix", len(out)),
                warnings=[] if valid.all() else ["the CITS map was not completed: unmeasured pixels are NaN"],
                bias=np.ascontiguousarray(xs, dtype=np.float64),
                channels={k: np.ascontiguousarray(v, dtype=np.float32) for k, v in channels.items()},
                frame=frame,
                valid=valid,
                sweep_signal="Bias" if z_name_unit[1] == "V" else str(z_name_unit[0] or "Sweep"),
                sweep_unit=str(z_name_unit[1]),
                sweep_reversed=bool(bias.size >= 2 and bias[-1] < bias[0]),
            )
        )
    return out


def read(path: Path) -> list[Dataset]:
    """Read a MATRIX result file with the parameter file beside it (see the module docstring)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(PARAMETER_MAGIC))
    except OSError as exc:
        raise ReadError(path, f"cannot read file: {exc.strerror or exc}") from None
    if head == PARAMETER_MAGIC:
        raise ReadError(path, "this is the experiment's parameter file; open one of its result files")
    if not head.startswith(MAGIC):
        raise ReadError(
            path, "not an Omicron MATRIX result file (expected ONTMATRX0101 at the start)", offset=0
        )
    mtrx, traces = _open(path)
    kind = getattr(mtrx, "object_type", None)
    if kind == "image":
        return [_image(path, mtrx, traces)]
    if kind == "curve":
        return [_curve(path, mtrx, traces)]
    if kind == "volume CITS":
        return list(_volume(path, mtrx))
    raise ReadError(path, f"access2theMatrix returned an object of unknown kind {kind!r}")


READER = ReaderSpec(
    name="omicron_matrix",
    title="Omicron MATRIX",
    extensions=("_mtrx",),
    sniff=sniff,
    read=read,
    priority=10,
    kinds=("grid", "spectrum", "image"),
)
