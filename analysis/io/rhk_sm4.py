"""RHK Technology ``.SM4`` files (R9 / XPMPro "STiMage" format): images, point spectra and grids.

Layout (little-endian), as RHK documents it and other open readers agree:

* file header: ``u16`` header size, the signature ``"STiMage 005.00x 1"`` in UTF-16 (36 bytes), then
  ``page_count, object_list_count, object_field_size`` and two reserved ``u32``, followed by an object list;
* an *object* is ``(type u32, offset u32, size u32)``; the file's list points at the page index header
  (type 1), the parameter block (PRM, 13, zlib-compressed text when its header, type 15, says so);
* the page index header (``page_count, object_count``, 2 reserved, objects) points at the page index array
  (type 2): per page a 16-byte id, ``data_type, source_type, object_count, minor_version`` and objects
  (page header 3, page data 4);
* a page header: ``u16 field_size, u16 string_count``, ``page_type, data_sub_source, line_type``,
  ``x_corner, y_corner, x_size, y_size, image_type, scan_type, group_id, page_data_size, min_z, max_z``,
  eleven float32 ``x_scale, y_scale, z_scale, xy_scale, x_offset, y_offset, z_offset, period, bias,
  current, angle``, ``color_info_count, grid_x_size, grid_y_size, object_count``, one flag byte and
  63 reserved bytes, then objects: string data (10: ``string_count`` strings of ``u16`` length + UTF-16,
  in the order label, system text, session text, user text, path, date, time, x unit, y unit, z unit, ...),
  spectroscopy drift header (7) and drift data (8: per curve seven float32 ``time, x, y, dx, dy,
  cumulative dx, cumulative dy``, positions in metres);
* page data: ``x_size * y_size`` int32; the physical value is ``raw * z_scale + z_offset`` in the z unit.

What the reader makes of it:

* image pages (data type 0) become :class:`Image` channels, pages of the same frame in one dataset. The
  frame is ``|x_scale| * x_size`` by ``|y_scale| * y_size`` about ``(x_offset, y_offset)``, turned by
  ``angle`` degrees. Rows are flipped when ``y_scale < 0`` (first stored line at the top) and columns
  when ``x_scale < 0``, so that row 0 is the lowest line and column 0 the leftmost; a page scanned
  right-to-left (scan type 1) is a backward channel (``" [bwd]"``).
* line pages (data type 1) hold ``y_size`` curves of ``x_size`` points on the axis
  ``x_offset + i * x_scale`` (x unit). Pages with the same axis and curve positions are combined: each
  curve becomes a :class:`Spectrum` with one channel per page, at the position from the drift data.
  When the curves sit on a regular lattice they become one :class:`Grid`: the ``grid_x_size`` x
  ``grid_y_size`` lattice of the page header (recorded positions, which may carry drift corrections,
  are snapped to its nodes, with a warning when they deviate), or else at least four distinct positions
  filling an evenly spaced rectangle. A location measured several times gives channels ``"label"``,
  ``"label #2"``, ...; the recorded position of each pixel's first curve is kept as the per-pixel
  parameters ``"X (recorded)"`` and ``"Y (recorded)"`` (m).
* other page types (sequential data, text, XY data) are skipped with a warning.

A damaged header never gives a non-finite frame or sweep. Geometry is checked against
:data:`MAX_LENGTH_M` (1 m: no scanner moves that far) and falls back, with a warning, to: a frame 1 nm
wide when the scan size is not finite, not positive or absurd; a frame centred at (0, 0) when the offsets
are not finite or absurd; an angle of 0 when it is not finite (and angles folded into [-180, 180)); the
point index 0, 1, ... (unit ``""``) when the sweep axis ``x_offset + i * x_scale`` is not finite or
``x_scale`` is 0; separate spectra instead of a grid when the curve positions give an absurd lattice.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import BWD_SUFFIX, Dataset, Frame, Grid, Image, Source, Spectrum
from analysis.errors import ReadError
from analysis.io.common import ascending_sweep, read_file_bytes
from analysis.io.registry import ReaderSpec

SIGNATURE = "STiMage".encode("utf-16-le")
OBJ_PAGE_INDEX_HEADER = 1
OBJ_PAGE_INDEX_ARRAY = 2
OBJ_PAGE_HEADER = 3
OBJ_PAGE_DATA = 4
OBJ_SPEC_DRIFT_HEADER = 7
OBJ_SPEC_DRIFT_DATA = 8
OBJ_STRING_DATA = 10
OBJ_PRM = 13
OBJ_PRM_HEADER = 15
DATA_IMAGE = 0
DATA_LINE = 1
DATA_TYPES = {0: "image", 1: "line", 2: "xy data", 3: "annotated line", 4: "text", 5: "annotated text",
              6: "sequential", 7: "movie"}  # fmt: skip
SCAN_TYPES = {0: "right", 1: "left", 2: "up", 3: "down"}
STRING_NAMES = (
    "label", "system_text", "session_text", "user_text", "path", "date", "time", "x_unit", "y_unit",
    "z_unit", "x_label", "y_label", "status_channel", "completed_line_count", "oversampling_count",
    "sliced_voltage", "pll_pro_status", "setpoint_unit", "channel_list",
)  # fmt: skip
_PAGE_HEADER = struct.Struct("<HHIIIiiIIIIIIii11fIIIIB63x")
_PAGE_FIELDS = (
    "field_size string_count page_type data_sub_source line_type x_corner y_corner x_size y_size "
    "image_type scan_type group_id page_data_size min_z max_z x_scale y_scale z_scale xy_scale x_offset "
    "y_offset z_offset period bias current angle color_info_count grid_x_size grid_y_size object_count "
    "data_flag"
).split()
MAX_OBJECTS = 4096
MAX_PAGES = 100_000
MAX_VALUES = 1 << 30
MAX_PRM_BYTES = 16 << 20


def sniff(head: bytes, path: Path) -> bool:
    return len(head) >= 16 and head[2:16] == SIGNATURE


class _Bytes:
    """Bounds-checked little-endian reads from the file's bytes; failures are ReadErrors with offsets."""

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path = path
        self.raw = raw

    def unpack(self, fmt: struct.Struct | str, offset: int, what: str) -> tuple[Any, ...]:
        st = fmt if isinstance(fmt, struct.Struct) else struct.Struct(fmt)
        if offset < 0 or offset + st.size > len(self.raw):
            raise ReadError(self.path, f"{what} lies outside the file ({len(self.raw)} bytes)", offset=offset)
        return st.unpack_from(self.raw, offset)

    def objects(self, offset: int, count: int, what: str) -> list[tuple[int, int, int]]:
        if not 0 <= count <= MAX_OBJECTS:
            raise ReadError(self.path, f"{what} declares {count} objects", offset=offset)
        return [self.unpack("<III", offset + 12 * k, what) for k in range(count)]  # type: ignore[misc]

    def strings(self, offset: int, count: int, what: str) -> list[str]:
        out: list[str] = []
        pos = offset
        for _ in range(min(count, 256)):
            (n,) = self.unpack("<H", pos, what)
            end = pos + 2 + 2 * n
            if end > len(self.raw):
                raise ReadError(self.path, f"{what}: a string runs past the end of the file", offset=pos)
            text = self.raw[pos + 2 : end].decode("utf-16-le", errors="replace")
            out.append(text.split("\x00", 1)[0].strip())
            pos = end
        return out


@dataclass
class _Page:
    index: int
    data_type: int
    source_type: int
    header: dict[str, Any]
    strings: dict[str, str]
    data: np.ndarray | None  # (y_size, x_size) float64, physical units
    positions: np.ndarray | None  # (y_size, 2) metres, from the drift data
    times: np.ndarray | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.strings.get("label") or f"Page {self.index + 1}"


def _find(objs: list[tuple[int, int, int]], kind: int) -> tuple[int, int, int] | None:
    for obj in objs:
        if obj[0] == kind and obj[1] != 0:
            return obj
    return None


def _read_prm(buf: _Bytes, objs: list[tuple[int, int, int]]) -> str:
    prm, head = _find(objs, OBJ_PRM), _find(objs, OBJ_PRM_HEADER)
    if prm is None or head is None:
        return ""
    try:
        compressed, size, csize = buf.unpack("<III", head[1], "PRM header")
        blob = buf.raw[prm[1] : prm[1] + (csize if compressed else size)]
        if compressed:
            d = zlib.decompressobj()
            blob = d.decompress(blob, MAX_PRM_BYTES)
        return blob.decode("latin-1").replace("\x00", "")
    except (ReadError, zlib.error):
        return ""


def _read_page(buf: _Bytes, index: int, entry_offset: int) -> tuple[_Page | None, int]:
    """The page described at ``entry_offset`` of the page index array, and the next entry's offset."""
    path = buf.path
    data_type, source_type, nobj, minor = buf.unpack("<IIII", entry_offset + 16, f"page {index + 1} index")
    objs = buf.objects(entry_offset + 32, nobj, f"page {index + 1} index")
    next_offset = entry_offset + 32 + 12 * nobj
    if data_type not in (DATA_IMAGE, DATA_LINE):
        return _Page(index, data_type, source_type, {}, {}, None, None, None), next_offset
    hobj = _find(objs, OBJ_PAGE_HEADER)
    dobj = _find(objs, OBJ_PAGE_DATA)
    if hobj is None or dobj is None:
        raise ReadError(
            path, f"page {index + 1} has no page header or no page data object", offset=entry_offset
        )
    values = buf.unpack(_PAGE_HEADER, hobj[1], f"page {index + 1} header")
    hdr = dict(zip(_PAGE_FIELDS, values))
    hdr["minor_version"] = minor
    nx, ny = int(hdr["x_size"]), int(hdr["y_size"])
    if nx < 1 or ny < 1 or nx * ny > MAX_VALUES:
        raise ReadError(path, f"page {index + 1} declares {nx} x {ny} values", offset=hobj[1])
    hobjs = buf.objects(hobj[1] + _PAGE_HEADER.size, int(hdr["object_count"]), f"page {index + 1} header")
    strings: dict[str, str] = {}
    sobj = _find(hobjs, OBJ_STRING_DATA)
    if sobj is not None:
        texts = buf.strings(sobj[1], int(hdr["string_count"]), f"page {index + 1} strings")
        strings = {name: text for name, text in zip(STRING_NAMES, texts)}
    positions = times = None
    drift = _find(hobjs, OBJ_SPEC_DRIFT_DATA)
    if drift is not None and data_type == DATA_LINE:
        end = drift[1] + 28 * ny
        if end > len(buf.raw):
            raise ReadError(
                path, f"page {index + 1}: drift data run past the end of the file", offset=drift[1]
            )
        table = np.frombuffer(buf.raw, dtype="<f4", count=7 * ny, offset=drift[1]).reshape(ny, 7)
        positions = table[:, 1:3].astype(np.float64)
        times = table[:, 0].astype(np.float64)
    start, nbytes = dobj[1], 4 * nx * ny
    if dobj[2] < nbytes or start + nbytes > len(buf.raw):
        raise ReadError(
            path,
            f"page {index + 1}: data object of {dobj[2]} bytes cannot hold {nx} x {ny} int32 values",
            offset=start,
        )
    raw = np.frombuffer(buf.raw, dtype="<i4", count=nx * ny, offset=start).reshape(ny, nx)
    data = raw * float(hdr["z_scale"]) + float(hdr["z_offset"])
    return _Page(index, data_type, source_type, hdr, strings, data, positions, times), next_offset


def _unique_name(name: str, taken: dict[str, Any]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name} #{k}" in taken:
        k += 1
    return f"{name} #{k}"


#: Lengths (frame size and centre, m) beyond this are damage, not geometry.
MAX_LENGTH_M = 1.0
FALLBACK_SIZE_M = 1e-9


def _angle(value: Any) -> float:
    """The scan angle in degrees, folded into [-180, 180); 0 when not finite."""
    a = float(value)
    return float((a + 180.0) % 360.0 - 180.0) if np.isfinite(a) else 0.0


def _sane_length(value: float) -> bool:
    return bool(np.isfinite(value) and abs(value) <= MAX_LENGTH_M)


def _sweep_axis(h: dict[str, Any], npts: int, x_unit: str) -> tuple[np.ndarray, str, list[str]]:
    """The line pages' sweep ``x_offset + i * x_scale`` (npts,), its unit and warnings; the point index
    (unit ``""``) with a warning when the header's axis is not finite or does not advance."""
    scale, offset = float(h["x_scale"]), float(h["x_offset"])
    with np.errstate(over="ignore", invalid="ignore"):
        x = offset + scale * np.arange(npts, dtype=np.float64)
    if np.all(np.isfinite(x)) and (scale != 0.0 or npts < 2):
        return x, x_unit, []
    why = f"the page header's sweep axis (offset {offset:.6g}, step {scale:.6g}) is not usable"
    return np.arange(npts, dtype=np.float64), "", [f"{why}: the points are numbered 0 to {npts - 1}"]


def _page_meta(p: _Page) -> dict[str, Any]:
    hdr = {k: (float(v) if isinstance(v, float) else int(v)) for k, v in p.header.items()}
    return {"page": p.index + 1, "header": hdr, "strings": dict(p.strings)}


def _images(path: Path, pages: list[_Page], common: dict[str, Any]) -> list[Image]:
    groups: dict[tuple[Any, ...], list[_Page]] = {}
    for p in pages:
        h = p.header
        key = (
            h["x_size"], h["y_size"], round(abs(h["x_scale"]), 20), round(abs(h["y_scale"]), 20),
            round(h["x_offset"], 15), round(h["y_offset"], 15), round(h["angle"], 6),
        )  # fmt: skip
        groups.setdefault(key, []).append(p)
    out: list[Image] = []
    for pages_ in groups.values():
        first = pages_[0].header
        nx, ny = int(first["x_size"]), int(first["y_size"])
        channels: dict[str, np.ndarray] = {}
        units: dict[str, str] = {}
        for p in pages_:
            img = p.data
            assert img is not None
            if p.header["y_scale"] < 0:
                img = img[::-1]
            if p.header["x_scale"] < 0:
                img = img[:, ::-1]
            name = p.label + (BWD_SUFFIX if p.header["scan_type"] == 1 else "")
            name = _unique_name(name, channels)
            channels[name] = np.ascontiguousarray(img, dtype=np.float32)
            units[name] = p.strings.get("z_unit", "")
        with np.errstate(over="ignore", invalid="ignore"):
            width = abs(float(first["x_scale"])) * nx
            height = abs(float(first["y_scale"])) * ny
        warnings: list[str] = []
        if not (width > 0 and height > 0 and _sane_length(width) and _sane_length(height)):
            warnings.append(
                f"the page header gives no usable scan size ({width:.6g} x {height:.6g}): "
                "the frame is 1 nm wide"
            )
            width = height = FALLBACK_SIZE_M
        center = (float(first["x_offset"]), float(first["y_offset"]))
        if not (_sane_length(center[0]) and _sane_length(center[1])):
            warnings.append(
                f"the page header gives no usable scan offset ({center[0]:.6g}, {center[1]:.6g}): "
                "the frame is centred at (0, 0)"
            )
            center = (0.0, 0.0)
        angle = _angle(first["angle"])
        frame = Frame(
            center=center,
            size=(width, height),
            angle=angle,
            shape=(ny, nx),
        )
        metadata = dict(common)
        metadata["pages"] = [_page_meta(p) for p in pages_]
        metadata["setpoint"] = {"bias_V": float(first["bias"]), "current_A": float(first["current"])}
        out.append(
            Image(
                name=f"{path.stem} image {len(out) + 1}" if len(groups) > 1 else path.stem,
                units=units,
                metadata=metadata,
                source=Source(str(path), "rhk_sm4", 0),
                warnings=warnings,
                channels=channels,
                frame=frame,
                scan_direction="down" if first["y_scale"] < 0 else "up",
            )
        )
    return out


def _lattice(
    positions: np.ndarray, angle: float, nx_hint: int, ny_hint: int
) -> tuple[Frame, np.ndarray, np.ndarray] | None:
    """A regular lattice through ``positions`` (n, 2): frame, column and row index of each position."""
    n = positions.shape[0]
    if n < 4 or not np.all(np.isfinite(positions)):
        return None
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    u = c * positions[:, 0] + s * positions[:, 1]
    v = -s * positions[:, 0] + c * positions[:, 1]
    span = max(np.ptp(u), np.ptp(v), 1e-30)

    def levels(a: np.ndarray) -> np.ndarray:
        order = np.sort(a)
        cuts = np.flatnonzero(np.diff(order) > 1e-6 * span)
        return np.array([g.mean() for g in np.split(order, cuts + 1)])

    lu, lv = levels(u), levels(v)
    if nx_hint > 1 and ny_hint > 1 and (len(lu), len(lv)) != (nx_hint, ny_hint):
        return None
    if len(lu) * len(lv) != n or len(lu) < 2 or len(lv) < 2:
        return None
    du, dv = np.diff(lu), np.diff(lv)
    if np.ptp(du) > 1e-3 * du.mean() or np.ptp(dv) > 1e-3 * dv.mean():
        return None  # not evenly spaced
    ix = np.argmin(np.abs(u[:, None] - lu[None, :]), axis=1)
    iy = np.argmin(np.abs(v[:, None] - lv[None, :]), axis=1)
    if len(set(zip(ix.tolist(), iy.tolist()))) != n:
        return None
    step_u, step_v = float(du.mean()), float(dv.mean())
    uc, vc = (lu[0] + lu[-1]) / 2, (lv[0] + lv[-1]) / 2
    center = (c * uc - s * vc, s * uc + c * vc)
    frame = Frame(
        center=(float(center[0]), float(center[1])),
        size=(step_u * len(lu), step_v * len(lv)),
        angle=angle,
        shape=(len(lv), len(lu)),
    )
    return frame, ix, iy


def _spectra(path: Path, pages: list[_Page], common: dict[str, Any]) -> list[Dataset]:
    groups: dict[tuple[Any, ...], list[_Page]] = {}
    for p in pages:
        h = p.header
        pos_key = None if p.positions is None else tuple(np.round(p.positions.ravel(), 13).tolist())
        key = (h["x_size"], h["y_size"], float(h["x_scale"]), float(h["x_offset"]), pos_key)
        groups.setdefault(key, []).append(p)
    out: list[Dataset] = []
    for pages_ in groups.values():
        first = pages_[0]
        h = first.header
        npts, ncurves = int(h["x_size"]), int(h["y_size"])
        x_unit = first.strings.get("x_unit", "")
        x_name = first.strings.get("x_label") or ("Bias" if x_unit == "V" else "X")
        x, x_unit, warnings = _sweep_axis(h, npts, x_unit)
        if warnings:
            x_name = "Point"
        if first.positions is None:
            warnings.append("the page has no drift data: the positions of the curves are unknown")
        grid = None
        if first.positions is not None and ncurves >= 4:
            grid = _grid(path, pages_, x, x_name, x_unit, common)
        if grid is not None:
            grid.warnings[:0] = warnings
            out.append(grid)
            continue
        for k in range(ncurves):
            channels: dict[str, np.ndarray] = {}
            units: dict[str, str] = {}
            for p in pages_:
                assert p.data is not None
                name = _unique_name(p.label, channels)
                channels[name] = p.data[k]
                units[name] = p.strings.get("z_unit", "")
            xs, chans, reversed_ = ascending_sweep(x, channels)
            position = None
            if first.positions is not None and np.all(np.isfinite(first.positions[k])):
                position = (float(first.positions[k, 0]), float(first.positions[k, 1]))
            metadata = dict(common)
            metadata["pages"] = [_page_meta(p) for p in pages_]
            metadata["curve"] = k + 1
            if first.times is not None:
                metadata["curve_time_s"] = float(first.times[k])
            metadata["setpoint"] = {"bias_V": float(h["bias"]), "current_A": float(h["current"])}
            out.append(
                Spectrum(
                    name=f"{path.stem} curve {k + 1}" if ncurves > 1 else path.stem,
                    units=units,
                    metadata=metadata,
                    source=Source(str(path), "rhk_sm4", 0),
                    warnings=list(warnings),
                    x=xs,
                    channels=chans,
                    x_name=x_name,
                    x_unit=x_unit,
                    sweep_reversed=reversed_,
                    position=position,
                )
            )
    return out


def _snap_to_header_lattice(
    pos: np.ndarray, angle: float, gx: int, gy: int
) -> tuple[Frame, np.ndarray, np.ndarray] | None:
    """Each curve's node on the ``gx`` x ``gy`` lattice the page header announces.

    The recorded positions may carry drift corrections, so they are snapped to the nearest node; a
    position more than a third of a step away from every node means the curves are not that lattice.
    """
    if gx < 2 or gy < 2 or not np.all(np.isfinite(pos)):
        return None
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    u = c * pos[:, 0] + s * pos[:, 1]
    v = -s * pos[:, 0] + c * pos[:, 1]
    du, dv = np.ptp(u) / (gx - 1), np.ptp(v) / (gy - 1)
    if not (du > 0 and dv > 0):
        return None
    fx, fy = (u - u.min()) / du, (v - v.min()) / dv
    ix, iy = np.rint(fx).astype(int), np.rint(fy).astype(int)
    if np.max(np.abs(fx - ix)) > 1 / 3 or np.max(np.abs(fy - iy)) > 1 / 3:
        return None
    uc, vc = u.min() + du * (gx - 1) / 2, v.min() + dv * (gy - 1) / 2
    frame = Frame(
        center=(float(c * uc - s * vc), float(s * uc + c * vc)),
        size=(float(du * gx), float(dv * gy)),
        angle=angle,
        shape=(gy, gx),
    )
    return frame, ix, iy


def _grid(
    path: Path, pages: list[_Page], x: np.ndarray, x_name: str, x_unit: str, common: dict[str, Any]
) -> Grid | None:
    first = pages[0]
    assert first.positions is not None
    h = first.header
    pos = first.positions
    ncurves = pos.shape[0]
    angle = _angle(h["angle"])
    gx, gy = int(h["grid_x_size"]), int(h["grid_y_size"])
    snapped = None
    if gx > 1 and gy > 1 and ncurves % (gx * gy) == 0:
        snapped = _snap_to_header_lattice(pos, angle, gx, gy)
    if snapped is not None:
        frame, cix, ciy = snapped
        node = ciy * gx + cix
    else:
        # distinct recorded locations, in order of first appearance, on a lattice of their own
        keys = [tuple(np.round(p, 13)) for p in pos]
        loc_of: dict[tuple[float, ...], int] = {}
        node = np.array([loc_of.setdefault(key, len(loc_of)) for key in keys], dtype=int)
        locs = np.array([list(k) for k in loc_of], dtype=np.float64)
        found = _lattice(locs, angle, gx, gy)
        if found is None:
            return None
        frame, lix, liy = found
        cix, ciy = lix[node], liy[node]
    sizes = (*frame.center, *frame.size)
    if not (all(_sane_length(v) for v in sizes) and min(frame.size) > 0):
        return None  # positions no scanner reaches: separate spectra
    counts = np.bincount(node)
    nrep = int(counts.max())
    if counts.min() != nrep or counts.size * nrep != ncurves:
        return None  # every location measured the same number of times, or no grid
    repeat = np.empty(ncurves, dtype=int)
    seen: dict[int, int] = {}
    for k, n in enumerate(node.tolist()):
        repeat[k] = seen.get(n, 0)
        seen[n] = repeat[k] + 1
    ny, nx = frame.shape
    order = np.argsort(x) if x.size >= 2 and x[-1] < x[0] else np.arange(x.size)
    channels: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for p in pages:
        assert p.data is not None
        for r in range(nrep):
            cube = np.full((ny, nx, x.size), np.nan, dtype=np.float32)
            sel = repeat == r
            cube[ciy[sel], cix[sel], :] = p.data[sel][:, order]
            name = _unique_name(p.label, channels)
            channels[name] = cube
            units[name] = p.strings.get("z_unit", "")
    metadata = dict(common)
    metadata["pages"] = [_page_meta(p) for p in pages]
    metadata["setpoint"] = {"bias_V": float(h["bias"]), "current_A": float(h["current"])}
    metadata["repeats_per_location"] = nrep
    first_sweep = repeat == 0
    params = {}
    for key, col in (("X (recorded)", 0), ("Y (recorded)", 1)):
        img = np.full((ny, nx), np.nan)
        img[ciy[first_sweep], cix[first_sweep]] = pos[first_sweep, col]
        params[key] = img
    warnings = []
    if snapped is not None:
        dev = np.hypot(*(pos - np.column_stack(frame.pixel_to_xy(cix, ciy))).T)
        if np.max(dev) > 1e-3 * max(frame.pixel_size):
            warnings.append(
                f"recorded positions deviate from the {gx} x {gy} lattice by up to {np.max(dev):.3g} m "
                "(drift correction); the spectra are placed on the lattice nodes"
            )
    return Grid(
        name=path.stem,
        units=units,
        metadata=metadata,
        source=Source(str(path), "rhk_sm4", 0),
        warnings=warnings,
        bias=np.ascontiguousarray(x[order], dtype=np.float64),
        channels=channels,
        frame=frame,
        params=params,
        param_units={key: "m" for key in params},
        valid=np.ones((ny, nx), dtype=bool),
        sweep_signal=x_name,
        sweep_unit=x_unit,
        sweep_reversed=bool(order[0] != 0),
    )


def read(path: Path) -> list[Dataset]:
    """Read every image and spectroscopy page of an SM4 file (see the module docstring for the mapping)."""
    path = Path(path)
    raw = read_file_bytes(path)
    if not sniff(raw[:16], path):
        raise ReadError(path, "not an RHK SM4 file (expected the UTF-16 signature 'STiMage' at byte 2)")
    buf = _Bytes(path, raw)
    (header_size,) = buf.unpack("<H", 0, "file header")
    signature = raw[2:38].decode("utf-16-le", errors="replace").split("\x00", 1)[0]
    page_count, obj_count, _field_size = buf.unpack("<III", 38, "file header")
    file_objs = buf.objects(38 + 20, obj_count, "file header")
    pih = _find(file_objs, OBJ_PAGE_INDEX_HEADER)
    if pih is None:
        raise ReadError(path, "the file header lists no page index header", offset=58)
    npages, nobj, _r1, _r2 = buf.unpack("<IIII", pih[1], "page index header")
    if not 0 < npages <= MAX_PAGES:
        raise ReadError(path, f"page index header declares {npages} pages", offset=pih[1])
    pia = _find(buf.objects(pih[1] + 16, nobj, "page index header"), OBJ_PAGE_INDEX_ARRAY)
    if pia is None:
        raise ReadError(path, "the page index header lists no page index array", offset=pih[1])
    pages: list[_Page] = []
    offset = pia[1]
    for k in range(npages):
        page, offset = _read_page(buf, k, offset)
        if page is not None:
            pages.append(page)
    skipped = sorted({DATA_TYPES.get(p.data_type, str(p.data_type)) for p in pages if p.data is None})
    common: dict[str, Any] = {
        "format": signature,
        "file_header": {"header_size": header_size, "page_count": page_count},
        "prm": _read_prm(buf, file_objs),
    }
    out: list[Dataset] = []
    out += _images(path, [p for p in pages if p.data_type == DATA_IMAGE and p.data is not None], common)
    out += _spectra(path, [p for p in pages if p.data_type == DATA_LINE and p.data is not None], common)
    if not out:
        raise ReadError(path, f"no image or spectroscopy pages (page types: {', '.join(skipped) or 'none'})")
    if skipped:
        for ds in out:
            ds.warnings.append(f"pages of type {', '.join(skipped)} were skipped")
    for k, ds in enumerate(out):
        ds.source = Source(str(path), "rhk_sm4", k)
    return out


READER = ReaderSpec(
    name="rhk_sm4",
    title="RHK SM4",
    extensions=(".sm4",),
    sniff=sniff,
    read=read,
    priority=10,
    kinds=("grid", "spectrum", "image"),
)
