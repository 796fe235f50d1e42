"""Nanonis grid spectroscopy files (``.3ds``): a full spectrum at every pixel of a scan frame.

Layout: a text header of ``key=value`` lines ending with ``:HEADER_END:\\r\\n``, then big-endian float32
records, one per pixel in acquisition order (``Grid dim="nx x ny"``: ``nx`` pixels per line, ``ny``
lines). A record holds the ``# Parameters (4 byte)`` per-pixel parameters (the fixed ``Sweep Start;Sweep
End`` then the experiment parameters such as ``X (m);Y (m);Z (m)``), then ``Points`` values for each
channel in ``Channels`` order.

The reader returns one :class:`~analysis.dataset.Grid` following the data-model conventions:

* the sweep axis comes from the pixels' own Sweep Start/Sweep End (first measured pixel; a warning when
  others differ) or, for multi-segment sweeps (``Filetype=MLS``), from the segment table in the header;
  it is made ascending and ``sweep_reversed`` records a downward sweep. Backward (``[bwd]``) channels are
  taken to be stored on the same sweep-point order as the forward ones (as in Nanonis ``.dat`` files) and
  are reversed with them;
* the sweep signal is kept (``Sweep Signal="Z (m)"`` gives a Z-spectroscopy grid, sweep unit ``m``);
* rows are oriented so that row 0 is the lowest line of the frame, decided from the per-pixel X/Y
  parameters when present; Nanonis' frame angle is clockwise, the data model's counter-clockwise, so
  ``frame.angle = -angle`` (the header value stays in ``metadata``);
* an aborted grid (file shorter than the header promises) loads what was measured: NaN and ``valid``
  False elsewhere, with a warning. A record whose parameters and data are all zero or NaN (space
  pre-allocated but never measured) also counts as not measured.

Sizes are checked against the bytes present before anything is allocated: a file that holds much less
than its header declares (more than :data:`ALLOC_FACTOR` times less, beyond :data:`ALLOC_FLOOR`) loads only
the lines it holds, the frame cut to them, with a warning, or is refused when even that is too much; a
grid is never allocated from a header alone.

Loading reads the records in cache-sized chunks into a small buffer per thread and converts them with one
strided byte-swapping copy per channel (two threads on large files): no Python loop over pixels, no copy
of the data block, and no mapping of the file, so the resident memory stays the output arrays (about the
data size) plus two buffers. A large grid (:data:`FILE_BACKED_BYTES`) is written instead, record block by
record block, into unlinked cache files that its channels read from (:mod:`analysis.io.file_cube`), so
its resident memory stays the buffers. ``read_grid`` takes ``progress(done, total)`` and ``cancel``
(threading.Event).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import Frame, Grid, Source
from analysis.errors import ReadError
from analysis.io.file_cube import FileCube
from analysis.io.nanonis_header import (
    HeaderCollector,
    decode_text,
    file_size,
    header_floats,
    header_int,
    read_until,
    split_label,
    split_list,
    to_float,
    unquote,
)
from analysis.io.registry import ReaderSpec

NAME = "nanonis_grid"
HEADER_END = b":HEADER_END:"

MAX_SIDE = 1 << 16
MAX_POINTS = 1 << 22
MAX_CHANNELS = 4096
MAX_PARAMS = 4096
#: A header declaring more data than this is treated as corrupt rather than allocated.
MAX_DATA_BYTES = 16 << 30
#: A file holding less than this fraction of what its header declares is refused when the declared size
#: is also above ``MIN_REFUSED_BYTES``: a corrupt header, not a grid aborted that early.
MIN_ABORTED_FRACTION = 1 / 4096
MIN_REFUSED_BYTES = 256 << 20
CHUNK_BYTES = 512 << 10
WORKERS = 2
#: A grid is allocated in full only when that takes at most ``ALLOC_FACTOR`` times the data bytes the file
#: holds, or at most ``ALLOC_FLOOR`` bytes; otherwise only the lines the file holds are loaded.
ALLOC_FACTOR = 4
ALLOC_FLOOR = 32 << 20
#: Channels of a grid with at least this many data bytes are kept in cache files (:class:`FileCube`), not
#: in memory.
FILE_BACKED_BYTES = 128 << 20

_F4 = np.dtype(">f4")


@dataclass
class Segment:
    """One segment of a multi-segment (MLS) sweep."""

    start: float
    end: float
    steps: int
    settling: float = math.nan
    integration: float = math.nan


@dataclass
class GridLayout:
    """What the header promises about the binary block."""

    nx: int
    ny: int
    points: int
    channel_labels: list[str]
    param_labels: list[str]
    data_offset: int
    sweep_label: str | None
    filetype: str | None
    settings: list[float] | None
    segments: list[Segment] | None
    warnings: list[str] = field(default_factory=list)

    @property
    def npix(self) -> int:
        return self.nx * self.ny

    @property
    def nparams(self) -> int:
        return len(self.param_labels)

    @property
    def record(self) -> int:
        """Floats per pixel record."""
        return self.nparams + len(self.channel_labels) * self.points

    @property
    def record_bytes(self) -> int:
        return 4 * self.record


def sniff(head: bytes, path: Path | None = None) -> bool:
    """True for a Nanonis grid header (``Grid dim=`` or ``:HEADER_END:`` with ``Channels=``)."""
    if head.startswith(b":NANONIS_VERSION:"):
        return False
    if head.startswith(b"Grid dim=") or b"\nGrid dim=" in head[:4096]:
        return True
    return HEADER_END in head and b"Channels=" in head


def _segments(path: Path, hdr: HeaderCollector, warnings: list[str]) -> list[Segment] | None:
    """The multi-segment sweep table of an MLS grid, or None for a linear sweep.

    An MLS grid has a top-level ``Segment Start (V), Segment End (V), ...=...`` entry. Nanonis also copies
    the bias-spectroscopy module's ``MultiLine Settings`` into headers of linear sweeps, so that one is
    used only when the file says the sweep is MLS.
    """
    filetype = unquote(hdr.raw("Filetype") or "").upper()
    mode = unquote(hdr.raw("Bias Spectroscopy>Sweep mode") or "").upper()
    is_mls = filetype == "MLS" or mode == "MLS"
    if filetype and not is_mls:
        return None
    tables = [k for k in hdr.keys() if "Segment Start" in k and "," in k]
    top = [k for k in tables if ">" not in k]
    key = top[-1] if top else (tables[-1] if tables and is_mls else None)
    if key is None:
        return None
    text = unquote(hdr.raw(key) or "")
    out: list[Segment] = []
    for i, item in enumerate(t for t in text.split(";") if t.strip()):
        fields = [to_float(f) for f in item.split(",")]
        if len(fields) < 5 or any(f is None for f in fields[:5]):
            raise ReadError(path, f"multi-segment sweep table: segment {i + 1} {item!r} is not 5+ numbers")
        start, end, settling, integration, steps = fields[:5]
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ReadError(path, f"multi-segment sweep table: segment {i + 1} has a non-finite start or end")
        if not (steps is not None and steps.is_integer() and 1 <= steps <= MAX_POINTS):
            raise ReadError(path, f"multi-segment sweep table: segment {i + 1} has {steps} steps")
        out.append(Segment(float(start), float(end), int(steps), float(settling), float(integration)))
    if not out:
        warnings.append("the multi-segment sweep table in the header is empty")
        return None
    return out


def parse_header(path: Path) -> tuple[HeaderCollector, GridLayout]:
    """Parse the header of ``path`` and check what it declares against the file size."""
    raw, end = read_until(path, [HEADER_END], "':HEADER_END:' marker")
    size = file_size(path)
    try:
        with open(path, "rb") as fh:
            fh.seek(end)
            tail = fh.read(2)
    except OSError as exc:
        raise ReadError(path, f"cannot read file: {exc.strerror or exc}") from None
    offset = end + (2 if tail == b"\r\n" else 1 if tail[:1] == b"\n" else 0)
    hdr = HeaderCollector()
    for line in decode_text(raw).splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        hdr.add(key.strip(), unquote(value))
    warnings: list[str] = []
    dup = hdr.duplicate_warning()
    if dup:
        warnings.append(dup)

    dim = hdr.raw("Grid dim")
    if dim is None:
        raise ReadError(path, "header has no 'Grid dim' entry (expected e.g. Grid dim=\"64 x 64\")")
    parts = [p for p in unquote(dim).lower().replace("x", " ").split() if p]
    if len(parts) != 2:
        raise ReadError(path, f"header entry 'Grid dim' should be 'nx x ny', found {dim!r}")
    nx = header_int(path, parts[0], "Grid dim", minimum=1, maximum=MAX_SIDE)
    ny = header_int(path, parts[1], "Grid dim", minimum=1, maximum=MAX_SIDE)

    chan = hdr.raw("Channels")
    if chan is None:
        raise ReadError(path, "header has no 'Channels' entry")
    channels = split_list(chan)
    if not channels or len(channels) > MAX_CHANNELS:
        raise ReadError(path, f"header entry 'Channels' lists {len(channels)} channels")
    if hdr.raw("Points") is None:
        raise ReadError(path, "header has no 'Points' entry (spectrum length)")
    points = header_int(path, hdr.raw("Points"), "Points", minimum=1, maximum=MAX_POINTS)

    fixed = split_list(hdr.raw("Fixed parameters") or "")
    experiment = split_list(hdr.raw("Experiment parameters") or "")
    names = fixed + experiment
    if hdr.raw("# Parameters (4 byte)") is not None:
        key = "# Parameters (4 byte)"
        nparams = header_int(path, hdr.raw(key), key, maximum=MAX_PARAMS)
        if nparams != len(names):
            warnings.append(
                f"header declares {nparams} parameters per pixel but names {len(names)}; "
                "unnamed ones are called 'Parameter <n>'"
            )
            names = (names + [f"Parameter {i + 1}" for i in range(len(names), nparams)])[:nparams]
    esize = hdr.raw("Experiment size (bytes)")
    if esize is not None:
        declared = header_int(path, esize, "Experiment size (bytes)", maximum=MAX_DATA_BYTES)
        if declared != 4 * points * len(channels):
            raise ReadError(
                path,
                f"header is inconsistent: 'Experiment size (bytes)'={declared} but {len(channels)} "
                f"channels x {points} points x 4 bytes = {4 * points * len(channels)}",
            )
    settings = None
    if hdr.raw("Grid settings") is not None:
        settings = header_floats(path, hdr.raw("Grid settings"), "Grid settings", ";")
        if len(settings) < 4:
            raise ReadError(path, "header entry 'Grid settings' should be 'x;y;width;height;angle'")
        if not all(math.isfinite(v) for v in settings):
            warnings.append("header 'Grid settings' holds non-finite numbers; a default frame is used")
            settings = None
    sweep = hdr.raw("Sweep Signal")
    layout = GridLayout(
        nx=nx,
        ny=ny,
        points=points,
        channel_labels=channels,
        param_labels=names,
        data_offset=offset,
        sweep_label=unquote(sweep) if sweep is not None else None,
        filetype=unquote(hdr.raw("Filetype") or "") or None,
        settings=settings,
        segments=_segments(path, hdr, warnings),
        warnings=warnings,
    )
    total = layout.npix * layout.record_bytes
    if total > MAX_DATA_BYTES:
        raise ReadError(
            path, f"header declares {total} bytes of data ({nx}x{ny} pixels), more than this reader accepts"
        )
    if size < offset:
        raise ReadError(path, "file ends inside the header", offset=size)
    avail = size - offset
    if total > MIN_REFUSED_BYTES and avail < total * MIN_ABORTED_FRACTION:
        raise ReadError(
            path,
            f"file holds {avail} of the {total} data bytes its header declares ({nx}x{ny} pixels); "
            "too little for an aborted grid, the header is probably corrupt",
            offset=offset,
        )
    return hdr, layout


def physical_memory() -> int | None:
    """Bytes of physical memory, when the platform says."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _sweep_axis_from_segments(segments: list[Segment], points: int) -> np.ndarray | None:
    """The true sweep values of a multi-segment sweep, or None when the table does not give ``points``."""
    parts = [np.linspace(s.start, s.end, s.steps) for s in segments]
    total = sum(s.steps for s in segments)
    if total == points:
        return np.concatenate(parts)
    if total - (len(segments) - 1) == points:  # consecutive segments share their boundary point
        return np.concatenate([parts[0]] + [p[1:] for p in parts[1:]])
    return None


def _copy_records(
    path: Path,
    layout: GridLayout,
    nread: int,
    cubes: list[Any],
    params: np.ndarray,
    order: np.ndarray | slice | None,
    progress: Callable[[int, int], None] | None,
    cancel: threading.Event | None,
) -> None:
    """Copy the first ``nread`` big-endian records of the file into ``cubes`` (npix, points) native float32
    and ``params``, applying ``order`` (a slice or permutation of the sweep points) in the same
    byte-swapping copy.

    Works through the records in cache-sized chunks, each read into a buffer of the thread's own (the
    file's pages are never mapped into the process), split over up to ``WORKERS`` threads (numpy and the
    reads release the GIL, and the page faults of the fresh output arrays are then taken in parallel);
    progress is reported about a hundred times.
    """
    npar, pts = layout.nparams, layout.points
    per = max(1, CHUNK_BYTES // layout.record_bytes)
    every = max(per, -(-nread // 100))
    lock = threading.Lock()
    state = {"done": 0, "next": every}

    def run(lo: int, hi: int) -> None:
        raw = bytearray(per * layout.record_bytes)
        buf = np.frombuffer(raw, dtype=_F4).reshape(per, layout.record)
        view = memoryview(raw)
        try:
            fh = open(path, "rb", buffering=0)  # one file object per thread: seek + read stay paired
        except OSError as exc:
            raise ReadError(path, f"cannot read file: {exc.strerror or exc}") from None
        with fh:
            for first in range(lo, hi, per):
                if cancel is not None and cancel.is_set():
                    raise ReadError(path, "reading was cancelled")
                stop = min(first + per, hi)
                n = stop - first
                want = n * layout.record_bytes
                fh.seek(layout.data_offset + first * layout.record_bytes)
                got = 0
                while got < want:
                    k = fh.readinto(view[got:want])
                    if not k:
                        raise ReadError(path, "file shrank while it was being read", offset=fh.tell())
                    got += k
                block = buf[:n]
                np.copyto(params[first:stop], block[:, :npar])
                for c, cube in enumerate(cubes):
                    src = block[:, npar + c * pts : npar + (c + 1) * pts]
                    if order is not None:
                        src = src[:, order]
                    cube[first:stop] = src
                if progress is not None:
                    with lock:
                        state["done"] += n
                        if state["done"] >= state["next"] or state["done"] == nread:
                            state["next"] = state["done"] + every
                            progress(state["done"], layout.npix)

    nthreads = max(1, min(WORKERS, os.cpu_count() or 1, nread // (4 * per)))
    if nthreads == 1:
        run(0, nread)
        return
    bounds = np.linspace(0, nread, nthreads + 1).astype(int)
    with ThreadPoolExecutor(nthreads) as pool:
        futures = [pool.submit(run, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]
        for f in futures:
            f.result()


def _first_record_params(path: Path, layout: GridLayout) -> np.ndarray | None:
    try:
        with open(path, "rb") as fh:
            fh.seek(layout.data_offset)
            raw = fh.read(4 * layout.nparams)
    except OSError:
        return None
    if len(raw) < 4 * layout.nparams:
        return None
    return np.frombuffer(raw, dtype=_F4).astype(np.float64)


def _flip_rows_inplace(a: Any) -> None:
    """Reverse axis 0 of a C-contiguous array in place (one row buffer, a loop over rows only)."""
    n = a.shape[0]
    tmp = np.empty_like(a[0])
    for i in range(n // 2):
        j = n - 1 - i
        tmp[...] = a[i]
        a[i] = a[j]
        a[j] = tmp


def _flip_cols_inplace(a: Any) -> None:
    """Reverse axis 1 of a C-contiguous (ny, nx, ...) array in place, row by row."""
    for i in range(a.shape[0]):
        a[i] = a[i, ::-1].copy()


def _unique_names(labels: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for label in labels:
        name, unit = split_label(label)
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        out.append((name, unit))
    return out


def _direction(axis: np.ndarray) -> np.ndarray | slice | None:
    """How to make ``axis`` ascending: None (already), a reversing slice, or a sorting permutation."""
    if axis.size < 2 or not np.all(np.isfinite(axis)):
        return None
    d = np.diff(axis)
    if np.all(d >= 0):
        return None
    if np.all(d <= 0):
        return slice(None, None, -1)
    return np.argsort(axis, kind="stable")


def _sweep_axis(
    hdr: HeaderCollector,
    params: np.ndarray,
    valid: np.ndarray,
    i_start: int | None,
    i_end: int | None,
    pts: int,
    unit: str,
    warnings: list[str],
) -> tuple[np.ndarray, str]:
    """(axis in recorded order, unit) from the first measured pixel's Sweep Start/End.

    Falls back to the header's bias-spectroscopy settings, then to the point index, with a warning.
    """
    if i_start is not None and i_end is not None:
        se = params[:, [i_start, i_end]]
        ok = valid & np.all(np.isfinite(se), axis=1)
        if ok.any():
            p0 = int(np.flatnonzero(ok)[0])
            s0, e0 = se[p0]
            span = max(abs(e0 - s0), abs(s0), abs(e0), 1e-300)
            differ = ok & np.any(np.abs(se - se[p0]) > 1e-5 * span, axis=1)
            if differ.any():
                warnings.append(
                    f"{int(differ.sum())} pixels record a different sweep range than the first measured one "
                    f"({s0:g}..{e0:g} {unit}); all spectra use the first pixel's axis"
                )
            return np.linspace(s0, e0, pts), unit
    start = to_float(hdr.raw(f"Bias Spectroscopy>Sweep Start ({unit})") or "")
    end = to_float(hdr.raw(f"Bias Spectroscopy>Sweep End ({unit})") or "")
    if start is not None and end is not None and math.isfinite(start) and math.isfinite(end):
        warnings.append("pixels record no sweep range; the axis is from the header sweep settings")
        return np.linspace(start, end, pts), unit
    warnings.append("no sweep range in the pixels or the header; the axis is the point index")
    return np.arange(pts, dtype=np.float64), ""


def _frame(lay: GridLayout, has_settings: bool, warnings: list[str]) -> Frame:
    """The scan frame from ``Grid settings`` (Nanonis' clockwise angle turned counter-clockwise)."""
    shape = (lay.ny, lay.nx)
    if lay.settings is None:
        if not has_settings:
            warnings.append("header has no 'Grid settings'; the frame is a 1 nm square at the origin")
        return Frame(shape=shape)
    cx, cy, w, h = lay.settings[:4]
    ang = lay.settings[4] if len(lay.settings) > 4 else 0.0
    if not (w > 0 and h > 0):
        warnings.append(f"grid settings give a frame of {w:g} x {h:g} m; a 1 nm frame is used instead")
        w, h = (w if w > 0 else 1e-9), (h if h > 0 else 1e-9)
    return Frame(center=(cx, cy), size=(w, h), angle=-ang, shape=shape)


#: Pixels sampled to decide the orientation (evenly over the measured ones).
ORIENTATION_SAMPLES = 4096


def _orientation(
    params: np.ndarray, valid: np.ndarray, pidx: dict[str, int], frame: Frame, warnings: list[str]
) -> tuple[bool, bool, str]:
    """(flip rows, flip columns, description) from where the per-pixel X/Y put the recorded lines.

    ``params`` (npix, nparams) in acquisition order. Without X/Y the data stay as recorded (Nanonis starts
    a grid at its lowest line). A warning is added when the positions are more than a pixel away from
    where the frame puts them.
    """
    ix, iy = pidx.get("X"), pidx.get("Y")
    if ix is None or iy is None:
        return False, False, "as recorded (no per-pixel X/Y)"
    ny, nx = frame.shape
    xy = params[:, [ix, iy]]
    sel = np.flatnonzero(valid & np.all(np.isfinite(xy), axis=1))
    if sel.size == 0:
        return False, False, "as recorded (no finite per-pixel X/Y)"
    if sel.size > ORIENTATION_SAMPLES:
        sel = sel[np.linspace(0, sel.size - 1, ORIENTATION_SAMPLES).astype(np.intp)]
    line, col = sel // nx, sel % nx
    with np.errstate(all="ignore"):
        fx, fy = frame.xy_to_pixel(xy[sel, 0], xy[sel, 1])
        flip_rows = ny > 1 and np.median(np.abs(fy - (ny - 1 - line))) < np.median(np.abs(fy - line))
        flip_cols = nx > 1 and np.median(np.abs(fx - (nx - 1 - col))) < np.median(np.abs(fx - col))
        ey = (ny - 1 - line) if flip_rows else line
        ex = (nx - 1 - col) if flip_cols else col
        dev = float(np.median(np.hypot(fx - ex, fy - ey)))
    text = f"first line at the {'top' if flip_rows else 'bottom'} of the frame (from X/Y)"
    if flip_cols:
        text += "; lines run right to left"
    if dev > 1.0:
        warnings.append(
            f"per-pixel X/Y positions lie {dev:.1f} pixels (median) from where the grid frame puts them; "
            "check the frame"
        )
    return bool(flip_rows), bool(flip_cols), text


def _lines_to_load(path: Path, lay: GridLayout, avail: int, nfull: int, warnings: list[str]) -> GridLayout:
    """The layout to allocate: the declared one, or only the lines the file holds when the declared grid
    would take more than :data:`ALLOC_FACTOR` times the bytes present (and more than
    :data:`ALLOC_FLOOR`); ReadError when even those lines, or the grid, would not fit in memory."""
    budget = max(ALLOC_FLOOR, ALLOC_FACTOR * avail)
    declared = lay.npix * lay.record_bytes
    out = lay
    if declared > budget:
        lines = -(-nfull // lay.nx)
        if lines * lay.nx * lay.record_bytes > budget:
            raise ReadError(
                path,
                f"header declares {lay.nx} x {lay.ny} pixels ({declared} data bytes) but the file holds "
                f"{avail}; not even its first line fits what the file can justify: header damaged",
                offset=lay.data_offset,
            )
        out = replace(lay, ny=lines)
        warnings.append(
            f"header declares {lay.nx} x {lay.ny} pixels ({declared} data bytes) but the file holds {avail} "
            f"bytes ({nfull} pixel records): only the {lines} lines in the file are loaded, the frame cut "
            "to them"
        )
    memory = physical_memory()
    need = out.npix * out.record_bytes
    if memory and need > memory // 2:
        raise ReadError(path, f"the grid takes {need} bytes, more than half of this machine's memory")
    return out


def _first_lines(frame: Frame, lines: int, at_top: bool) -> Frame:
    """The part of ``frame`` covered by its first ``lines`` scan lines (the lowest ones, or the highest
    ones when the scan started at the top)."""
    ny, nx = frame.shape
    w, h = frame.size
    dy = h / ny
    v = (ny - lines) * dy / 2 * (1 if at_top else -1)  # centre of the kept strip, frame-local
    a = math.radians(frame.angle)
    cx = frame.center[0] - math.sin(a) * v
    cy = frame.center[1] + math.cos(a) * v
    return Frame(center=(cx, cy), size=(w, lines * dy), angle=frame.angle, shape=(lines, nx))


def read_grid(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    file_backed: bool | None = None,
) -> Grid:
    """Read a Nanonis ``.3ds`` grid (see the module docstring); raises :class:`ReadError` on bad input.

    ``file_backed``: keep each channel in an unlinked cache file (:class:`analysis.io.file_cube.FileCube`,
    resident memory stays a few buffers) instead of an array; None decides by size
    (:data:`FILE_BACKED_BYTES`).
    """
    path = Path(path)
    hdr, lay = parse_header(path)
    warnings = list(lay.warnings)
    size = file_size(path)
    avail = size - lay.data_offset
    nfull = min(lay.npix, avail // lay.record_bytes)
    if nfull == 0:
        raise ReadError(
            path,
            f"file holds no complete pixel record ({avail} data bytes, "
            f"one record is {lay.record_bytes} bytes)",
            offset=lay.data_offset,
        )
    partial = avail - nfull * lay.record_bytes if nfull < lay.npix else 0
    extra = avail - lay.npix * lay.record_bytes
    if extra > 0:
        warnings.append(f"{extra} bytes after the last pixel record were ignored")
    declared = lay
    lay = _lines_to_load(path, lay, avail, nfull, warnings)

    chan_names = _unique_names(lay.channel_labels)
    par_names = _unique_names(lay.param_labels)
    pidx = {name: i for i, (name, _u) in enumerate(par_names)}
    sweep_name, sweep_unit = split_label(lay.sweep_label) if lay.sweep_label else ("Sweep", "")
    if not lay.sweep_label:
        warnings.append("header names no 'Sweep Signal'; the sweep axis has no unit")

    # Sweep axis: multi-segment table when present, else the pixels' Sweep Start / Sweep End.
    axis_from_segments = None
    if lay.segments is not None:
        axis_from_segments = _sweep_axis_from_segments(lay.segments, lay.points)
        if axis_from_segments is None:
            warnings.append(
                f"multi-segment sweep table gives {sum(s.steps for s in lay.segments)} points for "
                f"{len(lay.segments)} segments, the header says {lay.points}; the table is ignored"
            )
    elif (lay.filetype or "").upper() == "MLS":
        warnings.append("Filetype=MLS but the header holds no segment table; the sweep is taken as linear")
    i_start, i_end = pidx.get("Sweep Start"), pidx.get("Sweep End")

    order: np.ndarray | slice | None = None
    planned = False
    if axis_from_segments is not None:
        order, planned = _direction(axis_from_segments), True
    elif i_start is not None and i_end is not None:
        first = _first_record_params(path, lay)
        if first is not None:
            s0, e0 = first[i_start], first[i_end]
            if np.isfinite(s0) and np.isfinite(e0) and not (s0 == 0 and e0 == 0):
                order, planned = (slice(None, None, -1) if e0 < s0 else None), True

    npix, pts = lay.npix, lay.points
    if file_backed is None:
        file_backed = npix * pts * 4 * len(chan_names) >= FILE_BACKED_BYTES
    cubes: list[Any] = []
    try:
        for _ in chan_names:
            cubes.append(FileCube.create((npix, pts)) if file_backed else np.empty((npix, pts), np.float32))
    except OSError as exc:
        raise ReadError(path, f"cannot create a cache file for the grid's data: {exc}") from None
    praw = np.empty((npix, lay.nparams), np.float32)
    _copy_records(path, lay, nfull, cubes, praw, order, progress, cancel)
    if nfull < npix:
        praw[nfull:] = np.nan
        for cube in cubes:
            cube[nfull:] = np.nan
        if progress is not None:
            progress(npix, npix)

    # Pixels never measured: missing from the file, or pre-allocated records of zeros/NaN.
    valid = np.zeros(npix, bool)
    valid[:nfull] = True
    blankish = np.all((praw[:nfull] == 0) | np.isnan(praw[:nfull]), axis=1) if lay.nparams else None
    if blankish is not None and blankish.any():
        for p in np.flatnonzero(blankish):
            if all(np.all((cube[p] == 0) | np.isnan(cube[p])) for cube in cubes):
                valid[p] = False
                praw[p] = np.nan
                for cube in cubes:
                    cube[p] = np.nan
    nvalid = int(valid.sum())
    if nvalid == 0:
        raise ReadError(path, "grid holds no measured pixel (every record is empty)", offset=lay.data_offset)
    if nvalid < npix:
        msg = f"grid incomplete: {nvalid} of {npix} pixels measured"
        if nfull < npix:
            msg += f" (file has {avail} of the {npix * lay.record_bytes} data bytes the header promises"
            msg += "; a partly written pixel record was ignored)" if partial else ")"
        warnings.append(msg + "; unmeasured pixels are NaN and marked invalid")

    with np.errstate(invalid="ignore"):  # signalling NaNs in damaged records
        params64 = praw.astype(np.float64)
    first_valid = int(np.flatnonzero(valid)[0])

    sweep_reversed = False
    if axis_from_segments is not None:
        axis = axis_from_segments
    else:
        axis, sweep_unit = _sweep_axis(hdr, params64, valid, i_start, i_end, pts, sweep_unit, warnings)
    if not planned:
        late = _direction(axis)
        if late is not None:
            for cube in cubes:
                for r in range(0, npix, 4096):
                    cube[r : r + 4096] = cube[r : r + 4096][:, late]
        order = late
    if isinstance(order, slice):
        axis = axis[::-1].copy()
        sweep_reversed = True
    elif isinstance(order, np.ndarray):
        axis = axis[order]
        seg = axis_from_segments
        sweep_reversed = bool(seg is not None and seg[-1] < seg[0])
        warnings.append("the sweep is not monotonic; spectra are sorted by sweep value (order in metadata)")
    if axis.size >= 2 and np.any(np.diff(axis) == 0):
        warnings.append("the sweep axis has repeated values")

    ny, nx = lay.ny, lay.nx
    frame = _frame(declared, "Grid settings" in hdr, warnings)
    flip_rows, flip_cols, orientation = _orientation(params64, valid, pidx, frame, warnings)
    if ny < declared.ny:
        frame = _first_lines(frame, ny, at_top=flip_rows)
    chans: dict[str, Any] = {}
    units: dict[str, str] = {}
    for (name, unit), cube in zip(chan_names, cubes):
        c3 = cube.reshape(ny, nx, pts)
        if flip_rows:
            _flip_rows_inplace(c3)
        if flip_cols:
            _flip_cols_inplace(c3)
        chans[name] = c3
        units[name] = unit
    p3 = params64.reshape(ny, nx, lay.nparams)
    v2 = valid.reshape(ny, nx)
    if flip_rows:
        p3, v2 = p3[::-1], v2[::-1]
    if flip_cols:
        p3, v2 = p3[:, ::-1], v2[:, ::-1]
    params = {name: np.ascontiguousarray(p3[:, :, i]) for i, (name, _u) in enumerate(par_names)}
    param_units = {name: unit for name, unit in par_names}
    for fixed in ("Sweep Start", "Sweep End"):
        if fixed in param_units and not param_units[fixed]:
            param_units[fixed] = sweep_unit

    meta: dict[str, Any] = hdr.metadata()
    meta["Reader>Orientation"] = orientation
    meta["Reader>First measured pixel"] = first_valid
    if isinstance(order, np.ndarray):
        meta["Reader>Sweep order"] = ";".join(str(int(i)) for i in order)
    return Grid(
        name=path.stem,
        units=units,
        metadata=meta,
        source=Source(str(path), NAME),
        warnings=warnings,
        bias=np.asarray(axis, dtype=np.float64),
        channels=chans,
        frame=frame,
        params=params,
        param_units=param_units,
        valid=np.ascontiguousarray(v2),
        sweep_signal=sweep_name,
        sweep_unit=sweep_unit,
        sweep_reversed=sweep_reversed,
    )


def read(path: Path) -> list[Grid]:
    return [read_grid(path)]


READER = ReaderSpec(
    name=NAME,
    title="Nanonis grid spectroscopy (.3ds)",
    extensions=(".3ds",),
    sniff=sniff,
    read=read,
    priority=10,
    kinds=("grid",),
)
