"""Createc ``.dat`` images (``[Parameter]``, ``[Paramet32]``, ``[Paramco32]``).

Layout: a 16384-byte text header (``key=value`` lines, NUL padding, sometimes a JPEG preview), then the
channels one after another, each ``Num.X * Num.Y`` values in scan order (the first scanned line first,
each line left to right):

* ``[Parameter]``: little-endian int16 after 2 unused bytes (offset 16386);
* ``[Paramet32]``: little-endian float32 after 4 unused bytes (offset 16388);
* ``[Paramco32]``: a zlib stream at offset 16384 whose content is 4 unused bytes and then the float32
  channels (possibly followed by padding).

Channels: ``Channels`` counts the stored images; the bit mask ``Channelselectval`` (1 topography,
2 current, 4 ADC1, 8 ADC2, ...; or the count ``Chan(1,2,4)`` in old files) says which kinds were recorded.
When ``Channels`` is twice the number of kinds, the forward images come first and the backward images
(already stored left to right, verified on the real file) follow in the same order.

Scaling to SI (see :mod:`analysis.io.createc_header`): topography in m via ``GainZ * ZPiezoconst``,
current in A via ``10**Gainpreamp``, other channels in volts at the ADC. Frame: ``Length x[A]`` and
``Length y[A]`` (or ``Num * Delta * scale``), centre from ``Scanrotoffx/y`` in DAC steps times the
lateral scale, angle ``Rotation`` in degrees.

Orientation: with ``ScanYDirec=1`` the first stored line is the top of the frame (the tip scans down), as
Createc's own display and other readers show it; the reader flips the rows so that row 0 is the lowest
line (the data model's convention) and records ``scan_direction="down"``. ``ScanYDirec=0`` means the
first line is the bottom one (``"up"``, no flip). Trailing lines that are exactly zero in every channel
(an image stopped before the end) become NaN, with a warning.

A file that disagrees with its header says so: ``Num.X``, ``Num.Y`` and ``Channels`` must be whole numbers
in range (else ReadError); fewer channels than declared, data beyond the declared channels (other than
zero padding) and a compressed stream cut short are warnings; a header value that is not finite
(``GainY=1e999``, ``OffsetX=nan``) is ignored with a warning, and a scale or frame part that comes out
unusable is replaced (DAC units, a 1 nm frame, centre (0, 0)) with a warning.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np

from analysis.dataset import BWD_SUFFIX, Frame, Image, Source
from analysis.errors import ReadError
from analysis.io.common import read_file_bytes
from analysis.io.createc_header import (
    current_per_dac,
    decode_header,
    get_float,
    get_int,
    header_count,
    parse_header,
    volts_per_dac,
    xy_per_dac,
    z_per_dac,
)
from analysis.io.registry import ReaderSpec

HEADER_SIZE = 16384
MAGICS = {b"[Parameter]": "Parameter", b"[Paramet32]": "Paramet32", b"[Paramco32]": "Paramco32"}
KIND_BITS = ("Z", "Current", "ADC1", "ADC2", "ADC3", "ADC4", "ADC5", "ADC6")
MAX_PIXELS = 1 << 26
MAX_SIDE = 1 << 16
MAX_CHANNELS = 64
#: How far past the declared data the compressed stream is decompressed, to see whether more follows
#: (the real files pad the stream with about 4 kB of zeros).
LOOK_BEYOND = 64 << 10


def sniff(head: bytes, path: Path) -> bool:
    return head[:11] in MAGICS


def _kinds(hdr: dict[str, str], nstored: int) -> list[str]:
    select = get_int(hdr, "Channelselectval", default=0) or 0
    if 0 < select < 1 << len(KIND_BITS):
        kinds = [KIND_BITS[b] for b in range(len(KIND_BITS)) if select >> b & 1]
    else:
        count = get_int(hdr, "Chan(1,2,4)", default=0) or 0
        kinds = list(KIND_BITS[: max(1, min(count, 4))]) if count else ["Z"]
    if nstored == 2 * len(kinds):
        return kinds + [k + BWD_SUFFIX for k in kinds]
    if nstored <= len(kinds):
        return kinds[:nstored]
    return kinds + [f"Channel {k + 1}" for k in range(len(kinds), nstored)]


def _scale(value: float, what: str, unit: str, warnings: list[str]) -> tuple[float, str]:
    """``(value, unit)``, or ``(1, "")`` with a warning when the header makes the scale unusable."""
    if math.isfinite(value) and value != 0:
        return value, unit
    warnings.append(f"the {what} scale from the header is {value:g}: the values are left in DAC units")
    return 1.0, ""


def _payload(path: Path, raw: bytes, want: int, warnings: list[str]) -> bytes:
    """The decompressed ``[Paramco32]`` data: at most ``want`` bytes plus a look beyond them, to say when
    the stream holds more than the header declares or stops before its end (a file cut short)."""
    d = zlib.decompressobj()
    try:
        payload = d.decompress(raw[HEADER_SIZE:], want + LOOK_BEYOND)
    except zlib.error as exc:
        raise ReadError(path, f"compressed image data are corrupt: {exc}", offset=HEADER_SIZE) from None
    extra = payload[want:]
    if (extra and any(extra)) or (len(payload) == want + LOOK_BEYOND and not d.eof):
        warnings.append(
            "the compressed data hold more than the header's Num.X x Num.Y x Channels; the rest was ignored"
        )
    elif not d.eof:
        warnings.append(
            f"the compressed data stop before the end of their stream ({len(payload)} bytes): "
            "the file is cut short"
        )
    elif any(d.unused_data):
        warnings.append(f"{len(d.unused_data)} bytes after the compressed data were ignored")
    return payload[:want]


def read(path: Path) -> list[Image]:
    path = Path(path)
    raw = read_file_bytes(path)
    version = MAGICS.get(raw[:11])
    if version is None:
        raise ReadError(path, "not a Createc image (expected [Parameter], [Paramet32] or [Paramco32])")
    if len(raw) < HEADER_SIZE:
        raise ReadError(path, f"file ends inside the {HEADER_SIZE}-byte header ({len(raw)} bytes)")
    text = decode_header(path, raw[:HEADER_SIZE])
    hdr = parse_header(text.split("\x00", 1)[0])

    nx = header_count(path, hdr, "Num.X", MAX_SIDE)
    ny = header_count(path, hdr, "Num.Y", MAX_SIDE)
    if nx * ny > MAX_PIXELS:
        raise ReadError(path, f"invalid image size Num.X={nx}, Num.Y={ny} in the header")
    nstored = header_count(path, hdr, "Channels", MAX_CHANNELS, default=1)
    npix = nx * ny
    warnings: list[str] = []

    if version == "Paramco32":
        want = 4 + 4 * npix * nstored
        data_bytes = _payload(path, raw, want, warnings)
        offset, dtype, default_bits = 4, np.dtype("<f4"), 20
    elif version == "Paramet32":
        data_bytes, offset, dtype, default_bits = raw, HEADER_SIZE + 4, np.dtype("<f4"), 20
    else:
        data_bytes, offset, dtype, default_bits = raw, HEADER_SIZE + 2, np.dtype("<i2"), 16
    available = (len(data_bytes) - offset) // (dtype.itemsize * npix)
    if available < 1:
        raise ReadError(
            path,
            f"image data hold {max(len(data_bytes) - offset, 0)} bytes, less than one {nx}x{ny} channel",
            offset=HEADER_SIZE,
        )
    if available < nstored:
        warnings.append(f"the header promises {nstored} channels, the file holds {available}")
    elif version != "Paramco32":
        end = offset + nstored * npix * dtype.itemsize
        if len(raw) > end and any(raw[end:]):
            warnings.append(
                f"the file holds {len(raw) - end} bytes after the {nstored} channels of {nx} x {ny} "
                "pixels its header declares; they were ignored"
            )
    count = min(available, nstored)
    stack = np.frombuffer(data_bytes, dtype=dtype, count=count * npix, offset=offset)
    stack = stack.reshape(count, ny, nx).astype(np.float32)
    names = _kinds(hdr, nstored)[:count]

    try:
        zscale = z_per_dac(hdr, default_bits, warnings)
    except ValueError as exc:
        raise ReadError(path, str(exc)) from None
    iscale = current_per_dac(hdr, default_bits, warnings)
    vscale = volts_per_dac(hdr, default_bits)

    # Unscanned trailing lines: zero in every channel.
    flat = np.all(stack == 0, axis=(0, 2))
    n_empty = 0
    while n_empty < ny and flat[ny - 1 - n_empty]:
        n_empty += 1
    if 0 < n_empty < ny:
        stack[:, ny - n_empty :, :] = np.nan
        warnings.append(f"the scan stopped early: the last {n_empty} of {ny} lines are empty (NaN)")

    y_dir = get_int(hdr, "ScanYDirec", default=1)
    scan_direction = "up" if y_dir == 0 else "down"
    scales = {
        "Z": _scale(zscale, "Z", "m", warnings),
        "Current": _scale(iscale, "current", "A", warnings),
        "": _scale(vscale, "ADC", "V", warnings),
    }
    channels: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for name, img in zip(names, stack):
        kind = name[: -len(BWD_SUFFIX)] if name.endswith(BWD_SUFFIX) else name
        scale, unit = scales.get(kind, scales[""])
        with np.errstate(over="ignore", invalid="ignore"):
            out = img * np.float32(scale)
        if scan_direction == "down":
            out = out[::-1]
        channels[name] = np.ascontiguousarray(out, dtype=np.float32)
        units[name] = unit

    frame, xy_scale = _frame(hdr, default_bits, nx, ny, warnings)
    bias = get_float(hdr, "Biasvolt[mV]", "BiasVolt.[mV]")
    metadata = {
        "format": version,
        "header": hdr,
        "setpoint": {
            "bias_V": bias * 1e-3 if bias is not None else None,
            "current_A": get_float(hdr, "Current[A]"),
        },
        "scaling": {
            "z_metres_per_dac": zscale,
            "amperes_per_dac": iscale,
            "volts_per_dac": vscale,
            "xy_metres_per_dac": list(xy_scale),
        },
        "ScanYDirec": y_dir,
    }
    return [
        Image(
            name=path.stem,
            units=units,
            metadata=metadata,
            source=Source(str(path), "createc_image", 0),
            warnings=warnings,
            channels=channels,
            frame=frame,
            scan_direction=scan_direction,
        )
    ]


def _frame(
    hdr: dict[str, str], default_bits: int, nx: int, ny: int, warnings: list[str]
) -> tuple[Frame, tuple[float, float]]:
    """The scan frame from the header and the lateral scale (m per DAC step along x and y); every
    non-finite or non-positive part is replaced, with a warning."""
    xscale = xy_per_dac(hdr, default_bits, "X", warnings)
    yscale = xy_per_dac(hdr, default_bits, "Y", warnings) or xscale
    if not math.isfinite(xscale) or not math.isfinite(yscale):
        warnings.append("the lateral scale (Gain, piezo constant) is not finite: the frame centre is (0, 0)")
        xscale = yscale = 0.0
    width = get_float(hdr, "Length x[A]", default=None, warnings=warnings)
    height = get_float(hdr, "Length y[A]", default=None, warnings=warnings)
    dx = get_float(hdr, "Delta X", default=1.0, warnings=warnings) or 1.0
    dy = get_float(hdr, "Delta Y", default=1.0, warnings=warnings) or 1.0
    width_m = width * 1e-10 if width else nx * dx * xscale
    height_m = height * 1e-10 if height else ny * dy * yscale
    if not (math.isfinite(width_m) and width_m != 0):
        warnings.append("no usable scan size in the header: the frame is 1 nm wide")
        width_m = 1e-9
    if not (math.isfinite(height_m) and height_m != 0):
        warnings.append("no usable scan height in the header: the frame is as high as it is wide")
        height_m = width_m
    off_x = get_float(hdr, "Scanrotoffx", "OffsetX", default=0.0, warnings=warnings) or 0.0
    off_y = get_float(hdr, "Scanrotoffy", "OffsetY", default=0.0, warnings=warnings) or 0.0
    cx, cy = off_x * xscale, off_y * yscale
    if not (math.isfinite(cx) and math.isfinite(cy)):
        warnings.append("the frame centre from the header is not finite: (0, 0) is used")
        cx = cy = 0.0
    angle = get_float(hdr, "Rotation", default=0.0, warnings=warnings) or 0.0
    frame = Frame(center=(cx, cy), size=(abs(width_m), abs(height_m)), angle=angle, shape=(ny, nx))
    return frame, (xscale, yscale)


READER = ReaderSpec(
    name="createc_image",
    title="Createc image",
    extensions=(".dat",),
    sniff=sniff,
    read=read,
    priority=10,
    kinds=("image",),
)
