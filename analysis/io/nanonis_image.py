"""Nanonis scan images (``.sxm``): topography and other channels, forward and backward.

Layout: a text header of ``:KEY:`` lines each followed by its value lines, ending with ``:SCANIT_END:``,
then a few newlines and the two bytes ``0x1A 0x04``, then float32 data (``SCANIT_TYPE``: ``MSBFIRST`` is
big-endian). The ``DATA_INFO`` table lists the channels (``Channel Name Unit Direction Calibration
Offset``); each channel stores its forward image and, when ``Direction`` is ``both``, its backward image,
each ``SCAN_PIXELS`` = ``nx ny`` values written line by line in acquisition order.

The reader returns one :class:`~analysis.dataset.Image`:

* row 0 is the lowest line of the frame: an image scanned ``down`` (first line at the top) is flipped;
* backward images, recorded right to left, are flipped left-right so column 0 is leftmost, and are named
  ``"<name> [bwd]"``;
* ``SCAN_OFFSET`` (centre), ``SCAN_RANGE`` (size) and ``SCAN_ANGLE`` give the frame; Nanonis' angle is
  clockwise and the data model's counter-clockwise, so ``frame.angle = -SCAN_ANGLE``;
* values are the stored physical values (Nanonis applies ``Calibration``/``Offset`` before saving; both
  stay in ``metadata``); lines that were never scanned are NaN (as Nanonis writes them), and a file cut
  short is padded with NaN, with a warning.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import BWD_SUFFIX, Frame, Image, Source
from analysis.errors import ReadError
from analysis.io.nanonis_header import (
    HeaderCollector,
    decode_text,
    file_size,
    header_floats,
    header_int,
    read_until,
    split_label,
    unique_key,
)
from analysis.io.registry import ReaderSpec

NAME = "nanonis_image"
SCAN_END = b":SCANIT_END:"
DATA_MARKER = b"\x1a\x04"
MAX_SIDE = 1 << 15
MAX_CHANNELS = 1024
#: Most data bytes a header may declare; beyond, or when a cut-short file holds less than
#: 1/``MAX_SHORTFALL`` of the declared data (and that is over ``MIN_REFUSED_BYTES``), the header is corrupt.
MAX_DATA_BYTES = 8 << 30
MAX_SHORTFALL = 16
MIN_REFUSED_BYTES = 64 << 20
_KEY = re.compile(r"^:(.+):\s*$")


def sniff(head: bytes, path: Path | None = None) -> bool:
    """True for a Nanonis scan header (``:NANONIS_VERSION:`` or ``:SCANIT_TYPE:`` near the start)."""
    h = head.lstrip()
    return h.startswith(b":NANONIS_VERSION:") or h.startswith(b":SCANIT_TYPE:") or b"\n:SCANIT_TYPE:" in head


def parse_header(text: str) -> HeaderCollector:
    """``:KEY:`` blocks into a collector; single-line values stripped, tables kept line by line."""
    hdr = HeaderCollector()
    key: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if key is not None:
            kept = [ln.strip() for ln in lines]
            while kept and not kept[-1]:
                kept.pop()
            while kept and not kept[0]:
                kept.pop(0)
            hdr.add(key, "\n".join(kept))

    for line in text.splitlines():
        m = _KEY.match(line)
        if m:
            flush()
            key, lines = m.group(1), []
        elif key is not None:
            lines.append(line)
    flush()
    return hdr


def data_info(path: Path, table: str | None) -> list[dict[str, str]]:
    """Rows of the ``DATA_INFO`` table as dicts keyed by its header row."""
    if not table:
        raise ReadError(path, "header has no ':DATA_INFO:' channel table")
    rows = [[c.strip() for c in ln.strip().split("\t")] for ln in table.splitlines() if ln.strip()]
    head = rows[0]
    if "Name" not in head:
        raise ReadError(path, f"':DATA_INFO:' table has no 'Name' column (columns: {head})")
    out = []
    for i, r in enumerate(rows[1:], start=1):
        if len(r) != len(head):
            raise ReadError(
                path, f"':DATA_INFO:' row {i} has {len(r)} fields, the table has {len(head)} columns"
            )
        out.append(dict(zip(head, r)))
    if not out:
        raise ReadError(path, "':DATA_INFO:' table lists no channel")
    if len(out) > MAX_CHANNELS:
        raise ReadError(path, f"':DATA_INFO:' lists {len(out)} channels")
    return out


def read_image(path: str | os.PathLike[str]) -> Image:
    """Read a Nanonis ``.sxm`` image (see the module docstring); raises :class:`ReadError` on bad input."""
    path = Path(path)
    raw, end = read_until(path, [SCAN_END], "':SCANIT_END:' marker")
    size = file_size(path)
    try:
        with open(path, "rb") as fh:
            fh.seek(end)
            gap = fh.read(64)
    except OSError as exc:
        raise ReadError(path, f"cannot read file: {exc.strerror or exc}") from None
    k = gap.find(DATA_MARKER)
    if k < 0 or gap[:k].strip(b"\r\n ") != b"":
        raise ReadError(path, "expected the data marker 0x1A 0x04 after ':SCANIT_END:'", offset=end)
    start = end + k + len(DATA_MARKER)

    hdr = parse_header(decode_text(raw))
    warnings: list[str] = []
    dup = hdr.duplicate_warning()
    if dup:
        warnings.append(dup)
    stype = (hdr.raw("SCANIT_TYPE") or "FLOAT MSBFIRST").upper().split()
    if "FLOAT" not in stype:
        raise ReadError(path, f"unsupported SCANIT_TYPE {hdr.raw('SCANIT_TYPE')!r} (expected FLOAT)")
    dtype = np.dtype("<f4") if "LSBFIRST" in stype else np.dtype(">f4")
    if hdr.raw("SCAN_PIXELS") is None:
        raise ReadError(path, "header has no ':SCAN_PIXELS:' entry")
    px = (hdr.raw("SCAN_PIXELS") or "").split()
    if len(px) != 2:
        raise ReadError(path, f"':SCAN_PIXELS:' should be 'nx ny', found {hdr.raw('SCAN_PIXELS')!r}")
    nx = header_int(path, px[0], "SCAN_PIXELS", minimum=1, maximum=MAX_SIDE)
    ny = header_int(path, px[1], "SCAN_PIXELS", minimum=1, maximum=MAX_SIDE)
    info = data_info(path, hdr.raw("DATA_INFO"))

    direction = (hdr.raw("SCAN_DIR") or "").strip().lower()
    if direction not in ("up", "down"):
        warnings.append(f"scan direction {hdr.raw('SCAN_DIR')!r} not 'up' or 'down'; taken as 'up'")
        direction = "up"
    w, h = 1e-9, 1e-9
    if hdr.raw("SCAN_RANGE") is not None:
        w, h = header_floats(path, hdr.raw("SCAN_RANGE"), "SCAN_RANGE", " ", 2)
    else:
        warnings.append("header has no ':SCAN_RANGE:'; the frame is 1 nm wide")
    if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
        warnings.append(f"scan range {w:g} x {h:g} m is not a positive size; a 1 nm frame is used")
        w, h = 1e-9, 1e-9
    cx = cy = 0.0
    if hdr.raw("SCAN_OFFSET") is not None:
        cx, cy = header_floats(path, hdr.raw("SCAN_OFFSET"), "SCAN_OFFSET", " ", 2)
    angle = 0.0
    if hdr.raw("SCAN_ANGLE") is not None:
        (angle,) = header_floats(path, hdr.raw("SCAN_ANGLE"), "SCAN_ANGLE", " ", 1)
    if not all(math.isfinite(v) for v in (cx, cy, angle)):
        warnings.append("scan offset or angle is not finite; 0 is used")
        cx, cy, angle = (v if math.isfinite(v) else 0.0 for v in (cx, cy, angle))
    frame = Frame(center=(cx, cy), size=(w, h), angle=-angle, shape=(ny, nx))

    planes: list[tuple[str, str, bool]] = []  # (name, unit, backward)
    for row in info:
        name = row.get("Name", "")
        unit = row.get("Unit", "")
        name, unit2 = split_label(f"{name} ({unit})") if unit else split_label(name)
        stored = row.get("Direction", "both").lower()
        if stored != "backward":
            planes.append((name, unit2, False))
        if stored in ("both", "backward"):
            planes.append((name + BWD_SUFFIX, unit2, True))
    per = nx * ny
    expected = len(planes) * per * 4
    avail = max(0, size - start)
    if expected > MAX_DATA_BYTES or (expected > MIN_REFUSED_BYTES and avail * MAX_SHORTFALL < expected):
        raise ReadError(
            path,
            f"header declares {expected} data bytes ({len(planes)} images of {nx}x{ny}) "
            f"but the file holds {avail}",
            offset=start,
        )
    count = min(expected, avail) // 4
    try:
        data = np.fromfile(path, dtype=dtype, count=count, offset=start).astype(np.float32)
    except OSError as exc:
        raise ReadError(path, f"cannot read file: {exc.strerror or exc}") from None
    if count * 4 < expected:
        full = np.full(len(planes) * per, np.nan, np.float32)
        full[:count] = data
        data = full
        warnings.append(
            f"file is cut short: {avail} of the {expected} data bytes the header promises; "
            "missing values are NaN"
        )
    elif avail > expected:
        warnings.append(f"{avail - expected} bytes after the image data were ignored")
    stack = data.reshape(len(planes), ny, nx)
    channels: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for (name, unit, bwd), img in zip(planes, stack):
        if direction == "down":
            img = img[::-1]
        if bwd:
            img = img[:, ::-1]
        key = unique_key(name, channels)
        channels[key] = np.ascontiguousarray(img)
        units[key] = unit
    if stack.size:
        scanned = np.any(np.isfinite(stack), axis=(0, 2))
        if not scanned.all():
            warnings.append(
                f"{int((~scanned).sum())} of {ny} scan lines hold no data (scan stopped early); they are NaN"
            )
    meta: dict[str, Any] = hdr.metadata()
    meta["Reader>Data offset"] = start
    return Image(
        name=path.stem,
        units=units,
        metadata=meta,
        source=Source(str(path), NAME),
        warnings=warnings,
        channels=channels,
        frame=frame,
        scan_direction=direction,
    )


def read(path: Path) -> list[Image]:
    return [read_image(path)]


READER = ReaderSpec(
    name=NAME,
    title="Nanonis scan image (.sxm)",
    extensions=(".sxm",),
    sniff=sniff,
    read=read,
    priority=10,
    kinds=("image",),
)
