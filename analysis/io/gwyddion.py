"""Gwyddion ``.gwy`` files: images (data fields), volume data (bricks) and graph curves.

The serialisation is parsed by :mod:`analysis.io.gwyddion_format`; this module maps the container onto
the data model:

* ``/N/data`` (``GwyDataField``: ``xres``, ``yres``, ``xreal``, ``yreal``, ``xoff``, ``yoff``, units
  ``si_unit_xy`` and ``si_unit_z``, ``data`` of ``xres * yres`` float64 values, the top line first) with
  its title ``/N/data/title``. Fields with the same pixels and frame become the channels of one
  :class:`~analysis.dataset.Image`.
* ``/brick/N`` (``GwyBrick``: ``xres``, ``yres``, ``zres``, ``xreal``, ``yreal``, ``zreal``, offsets, units
  ``si_unit_x/y/z/w``, ``data`` indexed ``(z * yres + y) * xres + x``, an optional ``calibration``
  ``GwyDataLine`` with the true z value of each level) with its title ``/brick/N/title``. Bricks with the
  same frame and z axis become the channels of one :class:`~analysis.dataset.Grid`; the z axis is the
  sweep (bias when its unit is V).
* ``/G/graph/graph/N`` (``GwyGraphModel`` with ``curves``, each a ``GwyGraphCurveModel`` with ``xdata``,
  ``ydata`` and ``description``): each curve a :class:`~analysis.dataset.Spectrum`.

Orientation: Gwyddion's y axis points down (row 0 is the top line, ``yoff`` the top edge); the data
model's points up (row 0 is the lowest line). The reader flips the rows, so the picture looks as it does in
Gwyddion, and takes ``y = -y_gwyddion``: the frame centre is ``(xoff + xreal/2, -(yoff + yreal/2))``.
:mod:`analysis.io.gwyddion_write` writes the same convention, so a round trip keeps every coordinate.
Values are SI already (Gwyddion stores base units). Old Gwyddion 1.x files (magic ``GWYO``, a differently
serialised top-level container) are read the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import Dataset, Frame, Grid, Image, Source, Spectrum
from analysis.errors import ReadError
from analysis.io.common import read_file_bytes
from analysis.io.gwyddion_format import MAGIC, OLD_MAGIC, GwyFormatError, GwyObject, parse
from analysis.io.registry import ReaderSpec

NAME = "gwyddion"
MAX_BYTES = 8 << 30
_DATA_KEY = re.compile(r"^/(\d+)/data$")
_BRICK_KEY = re.compile(r"^/brick/(\d+)$")
_GRAPH_KEY = re.compile(r"^/(\d+)/graph/graph/(\d+)$")


def sniff(head: bytes, path: Path) -> bool:
    return head[:4] in (MAGIC, OLD_MAGIC)


def _unit(obj: Any) -> str:
    if isinstance(obj, GwyObject) and obj.type_name == "GwySIUnit":
        u = obj.get("unitstr", "")
        return u if isinstance(u, str) else ""
    return ""


def _num(obj: GwyObject, key: str, default: float) -> float:
    v = obj.get(key, default)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return default
    return v if np.isfinite(v) else default


def _int(obj: GwyObject, key: str) -> int:
    v = obj.get(key, 0)
    return int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else 0


def _title(items: dict[str, Any], key: str, fallback: str) -> str:
    t = items.get(key + "/title")
    return t.strip() if isinstance(t, str) and t.strip() else fallback


def _unique(name: str, taken: dict[str, Any]) -> str:
    out, k = name, 2
    while out in taken:
        out, k = f"{name} ({k})", k + 1
    return out


def _frame(path: Path, obj: GwyObject, key: str, nx: int, ny: int, warnings: list[str]) -> Frame:
    xreal, yreal = _num(obj, "xreal", 0.0), _num(obj, "yreal", 0.0)
    if not xreal > 0:
        warnings.append(f"{key}: no usable width (xreal={obj.get('xreal')!r}); the frame is 1 nm wide")
        xreal = 1e-9
    if not yreal > 0:
        warnings.append(f"{key}: no usable height (yreal={obj.get('yreal')!r}); square pixels assumed")
        yreal = xreal * ny / max(nx, 1)
    xoff, yoff = _num(obj, "xoff", 0.0), _num(obj, "yoff", 0.0)
    return Frame(center=(xoff + xreal / 2, -(yoff + yreal / 2)), size=(xreal, yreal), shape=(ny, nx))


def _field(path: Path, key: str, obj: GwyObject) -> tuple[np.ndarray, int, int]:
    nx, ny = _int(obj, "xres"), _int(obj, "yres")
    data = obj.get("data")
    if nx <= 0 or ny <= 0:
        raise ReadError(path, f"{key}: invalid size xres={obj.get('xres')!r}, yres={obj.get('yres')!r}")
    if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
        raise ReadError(path, f"{key}: the data field has no float64 data array")
    if data.size != nx * ny:
        raise ReadError(path, f"{key}: the data array holds {data.size} values, its header says {nx} x {ny}")
    return data.reshape(ny, nx)[::-1].astype(np.float32), nx, ny


def _images(path: Path, items: dict[str, Any]) -> list[Image]:
    groups: dict[tuple, Image] = {}
    for key in sorted((k for k in items if _DATA_KEY.match(k)), key=lambda k: int(_DATA_KEY.match(k)[1])):
        obj = items[key]
        if not isinstance(obj, GwyObject) or obj.type_name != "GwyDataField":
            continue
        img, nx, ny = _field(path, key, obj)
        warnings: list[str] = []
        frame = _frame(path, obj, key, nx, ny, warnings)
        sig = (frame.shape, frame.size, frame.center)
        target = groups.get(sig)
        if target is None:
            target = Image(
                name=path.stem if not groups else f"{path.stem} [{len(groups) + 1}]",
                source=Source(str(path), NAME, len(groups)),
                frame=frame,
                metadata={"format": "Gwyddion GWYP", "xy_unit": _unit(obj.get("si_unit_xy"))},
                scan_direction="down",
            )
            groups[sig] = target
        target.warnings.extend(warnings)
        name = _unique(_title(items, key, f"Channel {_DATA_KEY.match(key)[1]}"), target.channels)
        target.channels[name] = np.ascontiguousarray(img)
        target.units[name] = _unit(obj.get("si_unit_z"))
    return list(groups.values())


def _z_axis(path: Path, key: str, obj: GwyObject, nz: int) -> np.ndarray:
    cal = obj.get("calibration")
    if isinstance(cal, GwyObject):
        values = cal.get("data")
        if isinstance(values, np.ndarray) and values.size == nz and np.all(np.isfinite(values)):
            return values.astype(np.float64)
    zreal, zoff = _num(obj, "zreal", float(nz)), _num(obj, "zoff", 0.0)
    return zoff + np.arange(nz) * (zreal / nz)


def _grids(path: Path, items: dict[str, Any], first_index: int) -> list[Grid]:
    groups: dict[tuple, Grid] = {}
    for key in sorted((k for k in items if _BRICK_KEY.match(k)), key=lambda k: int(_BRICK_KEY.match(k)[1])):
        obj = items[key]
        if not isinstance(obj, GwyObject) or obj.type_name != "GwyBrick":
            continue
        nx, ny, nz = _int(obj, "xres"), _int(obj, "yres"), _int(obj, "zres")
        data = obj.get("data")
        if nx <= 0 or ny <= 0 or nz <= 0:
            raise ReadError(
                path, f"{key}: invalid size {obj.get('xres')!r} x {obj.get('yres')!r} x {obj.get('zres')!r}"
            )
        if not isinstance(data, np.ndarray) or data.dtype.kind != "f" or data.size != nx * ny * nz:
            n = data.size if isinstance(data, np.ndarray) else 0
            raise ReadError(path, f"{key}: the brick holds {n} values, its header says {nx} x {ny} x {nz}")
        cube = data.reshape(nz, ny, nx).transpose(1, 2, 0)[::-1]
        z = _z_axis(path, key, obj, nz)
        reversed_ = bool(nz > 1 and z[-1] < z[0])
        if reversed_:
            z, cube = z[::-1], cube[:, :, ::-1]
        if nz > 1 and np.any(np.diff(z) <= 0):
            raise ReadError(path, f"{key}: the z axis (calibration) is not monotonic")
        warnings: list[str] = []
        frame = _frame(path, obj, key, nx, ny, warnings)
        z_unit = _unit(obj.get("si_unit_z"))
        sig = (frame.shape, frame.size, frame.center, z.tobytes(), z_unit)
        target = groups.get(sig)
        if target is None:
            target = Grid(
                name=path.stem if not groups else f"{path.stem} [{len(groups) + 1}]",
                source=Source(str(path), NAME, first_index + len(groups)),
                frame=frame,
                bias=np.ascontiguousarray(z),
                valid=np.ones((ny, nx), bool),
                sweep_signal="Bias" if z_unit == "V" else ("Z" if z_unit == "m" else (z_unit or "Index")),
                sweep_unit=z_unit,
                sweep_reversed=reversed_,
                metadata={"format": "Gwyddion GWYP", "xy_unit": _unit(obj.get("si_unit_x"))},
            )
            groups[sig] = target
        target.warnings.extend(warnings)
        name = _unique(_title(items, key, f"Volume {_BRICK_KEY.match(key)[1]}"), target.channels)
        target.channels[name] = np.ascontiguousarray(cube, dtype=np.float32)
        target.units[name] = _unit(obj.get("si_unit_w"))
    for g in groups.values():
        finite = np.zeros(g.frame.shape, bool)
        for cube in g.channels.values():
            finite |= np.any(np.isfinite(cube), axis=2)
        g.valid = finite
    return list(groups.values())


def _spectra(path: Path, items: dict[str, Any], first_index: int) -> list[Spectrum]:
    out: list[Spectrum] = []
    for key in sorted(k for k in items if _GRAPH_KEY.match(k)):
        graph = items[key]
        if not isinstance(graph, GwyObject) or graph.type_name != "GwyGraphModel":
            continue
        curves = graph.get("curves", [])
        x_unit, y_unit = _unit(graph.get("x_unit")), _unit(graph.get("y_unit"))
        x_label = graph.get("bottom_label") if isinstance(graph.get("bottom_label"), str) else ""
        y_label = graph.get("left_label") if isinstance(graph.get("left_label"), str) else ""
        for i, curve in enumerate(curves if isinstance(curves, list) else []):
            if not isinstance(curve, GwyObject):
                continue
            x, y = curve.get("xdata"), curve.get("ydata")
            if (
                not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray))
                or x.size != y.size
                or x.size < 2
            ):
                raise ReadError(path, f"{key} curve {i}: x and y data differ in length or are missing")
            order = np.argsort(x, kind="stable")
            desc = curve.get("description") if isinstance(curve.get("description"), str) else ""
            channel = y_label.strip() or "Signal"
            out.append(
                Spectrum(
                    name=desc.strip() or f"{path.stem} graph {i + 1}",
                    source=Source(str(path), NAME, first_index + len(out)),
                    x=np.ascontiguousarray(x[order]),
                    channels={channel: np.ascontiguousarray(y[order], dtype=np.float32)},
                    units={channel: y_unit},
                    x_name=x_label.strip() or "x",
                    x_unit=x_unit,
                    sweep_reversed=bool(x[0] > x[-1]),
                    metadata={"format": "Gwyddion GWYP", "graph": key},
                )
            )
    return out


def read(path: Path) -> list[Dataset]:
    path = Path(path)
    raw = read_file_bytes(path, MAX_BYTES)
    try:
        top = parse(raw)
    except GwyFormatError as exc:
        raise ReadError(path, str(exc), offset=exc.offset) from None
    if top.type_name != "GwyContainer":
        raise ReadError(path, f"the file holds a {top.type_name}, not a GwyContainer")
    items = top.items
    images: list[Dataset] = list(_images(path, items))
    grids = _grids(path, items, len(images))
    spectra = _spectra(path, items, len(images) + len(grids))
    datasets: list[Dataset] = [*images, *grids, *spectra]
    if not datasets:
        raise ReadError(path, "the Gwyddion file holds no data field, volume or graph")
    if raw[:4] == OLD_MAGIC:
        for ds in datasets:
            ds.metadata["format"] = "Gwyddion GWYO"
    masks = sorted(k for k in items if re.match(r"^/\d+/mask$", k))
    if masks and images:
        images[0].warnings.append(f"{len(masks)} mask(s) in the file are not read: {', '.join(masks)}")
    return datasets


READER = ReaderSpec(
    name=NAME,
    title="Gwyddion (.gwy)",
    extensions=(".gwy",),
    sniff=sniff,
    read=read,
    priority=10,
    kinds=("image", "grid", "spectrum"),
)
