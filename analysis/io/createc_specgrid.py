"""Createc grid spectroscopy (``.specgrid``), with the image written beside it (``.specgrid.dat``).

Layout (the vendor's description of the SpecGrid format and what readers of real files add), little-endian:

* a 1024-byte header of 4-byte fields: ``version, nx, ny, dx, dy, specxgrid, specygrid, vertpoints,
  vertmandelay, vertmangain`` (int32), ``biasvoltage, tunnelcurrent`` (float32), ``imagedatasize,
  specgriddatasize, specgridchan, specgridchannelselectval`` (int32), ``specgriddatasize64`` (int64),
  ``xstart, xend, ystart, yend`` (int32, version >= 4; older files: ``xend = round(nx / specxgrid)``,
  ``yend = round(ny / specygrid)``, starts at 1), in newer files ``specgridchannelselectval2, specgridnx,
  specgridny, specgriddx, specgriddy, specgridcenterx, specgridcentery`` (the grid's size when non-zero),
  then zero padding;
* the sweep table: ``vertpoints`` rows of float32, ``(V, Z)`` or ``(V, Z, ...)`` (both widths exist; the
  width is told from the file size and a monotonic bias column);
* the spectra, float32, pixel after pixel (grid rows in scan order, each row left to right); each
  spectrum holds ``vertpoints`` points and each point the ``specgridchan`` channels.

``nx, ny`` are the pixels of the image scanned with the grid and ``specxgrid, specygrid`` the grid step in
image pixels, so the grid has ``xend - xstart + 1`` columns and ``yend - ystart + 1`` rows.

The channels are named by ``specgridchannelselectval``, a bit mask with the bit order of the ``.VERT``
point spectra (0 current, 1 dI/dV, 2 d2I/dV2, 3-6 ADC0-ADC3, 10 dI/dV Q, 11 d2I/dV2 Q, 12 DAC0).

Scaling to SI: the sweep table's V is in mV, as in ``.VERT`` files (-> V). The data are raw DAC values
like the ``.VERT`` columns; they are scaled only when the ``.VERT``-style text header of the
``.specgrid.dat`` image beside the file is found (``DAC-Type``, ``Gainpreamp``): current
``DAC * (20 V / 2**bits) / 10**Gainpreamp`` A, the other channels volts at the ADC input. Without that
header the values stay raw (unit ``""``) and the dataset says so in ``warnings``. The frame comes from the
same header (``Length x[A]``, ``Length y[A]``, ``Scanrotoffx/y``, ``Rotation``, ``ScanYDirec``): grid
pixel ``(iy, ix)`` sits on image pixel ``(ystart - 1 + iy) * specygrid``, ``(xstart - 1 + ix) * specxgrid``.

The image's topography at each grid pixel becomes the per-pixel parameter ``"Z"`` (m).

Real files (version 4400) were checked by hand: 5 x 5 grids of 521 points, a three-column table whose
first 19 rows repeat the start bias (the tip settling before the sweep: those points are left out of the
grid and counted in ``metadata["settling"]``), three channels stored point by point, an aborted grid with
10 of 25 spectra. No licence allows keeping them in the project, so the tests write files with this
layout. An aborted grid (fewer spectra than pixels) loads with NaN and ``valid = False`` where nothing was
measured.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from analysis.dataset import Frame, Grid, Source
from analysis.errors import ReadError
from analysis.io import createc_image
from analysis.io.common import read_file_bytes, strictly_monotonic
from analysis.io.createc_header import (
    current_per_dac,
    decode_header,
    get_float,
    get_int,
    parse_header,
    volts_per_dac,
    xy_per_dac,
)
from analysis.io.createc_vert import CHANNEL_BITS
from analysis.io.registry import ReaderSpec

HEADER_BYTES = 1024
_FIELDS = struct.Struct("<10i2f4iq4i7i")
_NAMES = (
    "version nx ny dx dy specxgrid specygrid vertpoints vertmandelay vertmangain biasvoltage "
    "tunnelcurrent imagedatasize specgriddatasize specgridchan specgridchannelselectval "
    "specgriddatasize64 xstart xend ystart yend specgridchannelselectval2 specgridnx specgridny "
    "specgriddx specgriddy specgridcenterx specgridcentery"
).split()
TABLE_WIDTHS = (2, 3)  # values per sweep point in the table: (V, Z), or (V, Z, a third column)
MAX_VALUES = 1 << 30  # float32 values in one grid (4 GB)
COMPANION_HEADER_BYTES = 16384


def _header(head: bytes) -> dict[str, float] | None:
    if len(head) < _FIELDS.size:
        return None
    return dict(zip(_NAMES, _FIELDS.unpack_from(head, 0)))


def _plausible(h: dict[str, float]) -> bool:
    return (
        1 <= h["version"] <= 1 << 20
        and 1 <= h["nx"] <= 1 << 16
        and 1 <= h["ny"] <= 1 << 16
        and 1 <= h["specxgrid"] <= 1 << 16
        and 1 <= h["specygrid"] <= 1 << 16
        and 1 <= h["vertpoints"] <= 1 << 24
        and 1 <= h["specgridchan"] <= 32
    )


def sniff(head: bytes, path: Path) -> bool:
    """The format has no magic bytes: a plausible binary header and the ``.specgrid`` extension."""
    h = _header(head)
    return h is not None and _plausible(h) and path.name.lower().endswith(".specgrid")


def _extent(h: dict[str, float]) -> tuple[int, int, int, int]:
    """(xstart, ncols, ystart, nrows), starts counted from 1."""
    if 0 < h["specgridnx"] <= 1 << 16 and 0 < h["specgridny"] <= 1 << 16:
        xs = int(h["xstart"]) if 1 <= h["xstart"] <= 1 << 16 else 1
        ys = int(h["ystart"]) if 1 <= h["ystart"] <= 1 << 16 else 1
        return xs, int(h["specgridnx"]), ys, int(h["specgridny"])
    if h["version"] >= 4 and h["xend"] >= h["xstart"] >= 1 and h["yend"] >= h["ystart"] >= 1:
        xs, ys = int(h["xstart"]), int(h["ystart"])
        return xs, int(h["xend"]) - xs + 1, ys, int(h["yend"]) - ys + 1
    ncols = max(1, round(h["nx"] / h["specxgrid"]))
    nrows = max(1, round(h["ny"] / h["specygrid"]))
    return 1, ncols, 1, nrows


def _table_width(raw: bytes, npts: int, per_pixel: int, npix: int) -> int:
    """Values per sweep point in the table after the header: 2 (V, Z) or 3.

    Files differ (readers of real files use both); the width is the one whose remainder is a whole number
    of spectra, preferring an exact count of ``npix`` spectra, then a monotonic bias column.
    """
    floats = (len(raw) - HEADER_BYTES) // 4
    scores = []
    for width in TABLE_WIDTHS:
        rest = floats - width * npts
        if rest < 0:
            continue
        whole = rest % per_pixel == 0
        exact = whole and rest // per_pixel == npix
        v = np.frombuffer(raw, dtype="<f4", count=width * npts, offset=HEADER_BYTES)[::width]
        d = np.diff(v.astype(np.float64))
        monotonic = bool(v.size < 2 or np.all(d > 0) or np.all(d < 0))
        scores.append((exact, whole, monotonic, -width, width))
    if not scores:
        return TABLE_WIDTHS[0]
    return max(scores)[-1]


def _channel_names(h: dict[str, float], nchan: int) -> tuple[list[str], bool]:
    select = int(h["specgridchannelselectval"])
    names: list[str] = []
    if 0 < select < 1 << 20:
        names = [
            CHANNEL_BITS[b] if b < len(CHANNEL_BITS) else f"Channel {b}" for b in range(20) if select >> b & 1
        ]
    if len(names) == nchan:
        return names, True
    return [f"Channel {k + 1}" for k in range(nchan)], False


def _companion_header(path: Path) -> tuple[dict[str, str] | None, Path]:
    side = path.with_name(path.name + ".dat")
    try:
        with open(side, "rb") as fh:
            blob = fh.read(COMPANION_HEADER_BYTES)
    except OSError:
        return None, side
    if not blob.startswith((b"[Param", b"[ParVERT")):
        return None, side
    text = decode_header(side, blob).split("\x00", 1)[0]
    return parse_header(text), side


def _sweep_run(v: np.ndarray) -> tuple[int, int]:
    """``(lo, hi)``: ``v[lo:hi]`` is strictly monotonic and every point outside it repeats the value at its
    end (a settling plateau before or after the sweep); ``(0, 0)`` when ``v`` is no such sweep."""
    n = v.size
    if n < 2 or not np.all(np.isfinite(v)):
        return 0, 0
    lo = 0
    while lo + 1 < n and v[lo + 1] == v[lo]:
        lo += 1
    hi = n
    while hi - 2 >= lo and v[hi - 1] == v[hi - 2]:
        hi -= 1
    return (lo, hi) if hi - lo >= 2 and strictly_monotonic(v[lo:hi]) else (0, 0)


def read(path: Path) -> list[Grid]:
    """Read a ``.specgrid`` file into one :class:`Grid`.

    Channels are ``(nrows, ncols, vertpoints)`` float32 (A for the current, V for the other channels
    when the ``.specgrid.dat`` header gives the scaling), the sweep axis in V (or m for Z sweeps).
    """
    path = Path(path)
    raw = read_file_bytes(path)
    h = _header(raw)
    if h is None or len(raw) < HEADER_BYTES:
        raise ReadError(path, f"file ends inside the {HEADER_BYTES}-byte specgrid header ({len(raw)} bytes)")
    if not _plausible(h):
        raise ReadError(
            path,
            "not a Createc specgrid header (version, nx, ny, grid steps, vertpoints or specgridchan "
            "out of range)",
            offset=0,
        )
    npts = int(h["vertpoints"])
    nchan = int(h["specgridchan"])
    xstart, ncols, ystart, nrows = _extent(h)
    if ncols * nrows * npts * nchan > MAX_VALUES or ncols > 1 << 16 or nrows > 1 << 16:
        raise ReadError(
            path, f"grid of {ncols}x{nrows} pixels x {npts} points x {nchan} channels is too large", offset=0
        )
    per_pixel = npts * nchan
    npix = ncols * nrows
    width = _table_width(raw, npts, per_pixel, npix)
    table_end = HEADER_BYTES + 4 * width * npts
    if len(raw) < table_end:
        raise ReadError(
            path, f"file ends inside the sweep table ({npts} (V, Z) pairs expected)", offset=HEADER_BYTES
        )
    table = np.frombuffer(raw, dtype="<f4", count=width * npts, offset=HEADER_BYTES).astype(np.float64)
    table = table.reshape(npts, width)
    v_mv, z_tab = table[:, 0], table[:, 1]
    available = (len(raw) - table_end) // (4 * per_pixel)
    warnings: list[str] = []
    if available < 1:
        raise ReadError(path, "no complete spectrum after the sweep table", offset=table_end)
    measured = min(available, npix)
    if npix * per_pixel > 1 << 26 and measured * 100 < npix:
        raise ReadError(
            path,
            f"the header declares {npix} spectra of {per_pixel} values but the file holds only {measured}",
            offset=0,
        )
    if available < npix:
        warnings.append(f"the grid stopped early: {measured} of {npix} pixels were measured (rest NaN)")
    elif (len(raw) - table_end) > 4 * per_pixel * npix:
        warnings.append("the file holds more data than the header's grid; the extra bytes are ignored")
    flat = np.full((npix, npts, nchan), np.nan, dtype=np.float32)
    flat[:measured] = np.frombuffer(raw, dtype="<f4", count=measured * per_pixel, offset=table_end).reshape(
        measured, npts, nchan
    )
    valid = np.zeros(npix, dtype=bool)
    valid[:measured] = True

    hdr, side = _companion_header(path)
    names, named = _channel_names(h, nchan)
    if not named:
        warnings.append(
            f"channel select value {int(h['specgridchannelselectval'])} does not name {nchan} channels"
        )
    units: dict[str, str] = {}
    scales: dict[str, float] = {}
    if hdr is not None:
        ipd, vpd = current_per_dac(hdr, 20), volts_per_dac(hdr, 20)
        for name in names:
            if name == "Current":
                scales[name], units[name] = ipd, "A"
            elif name.startswith("Channel"):
                scales[name], units[name] = 1.0, ""
            else:
                scales[name], units[name] = vpd, "V"
    else:
        warnings.append(f"no Createc header in {side.name} beside the grid: data are raw DAC values")
        for name in names:
            scales[name], units[name] = 1.0, ""

    # Sweep axis: the bias when it is strictly monotonic (after a settling plateau at the start or end
    # values, which is left out and recorded), else the Z table, else the point index.
    lo, hi = _sweep_run(v_mv)
    settle = {"leading_points": lo, "trailing_points": npts - hi}
    if hi - lo >= 2:
        if lo or hi < npts:
            warnings.append(
                f"{lo + npts - hi} points at the constant bias where the sweep starts or ends (settling) "
                "are left out of the grid"
            )
            flat = flat[:, lo:hi, :]
            v_mv, z_tab = v_mv[lo:hi], z_tab[lo:hi]
        axis, sweep_signal, sweep_unit = v_mv * 1e-3, "Bias", "V"
    elif strictly_monotonic(z_tab):
        axis, sweep_signal, sweep_unit = z_tab, "Z", ""
        warnings.append("the bias is not monotonic: the sweep axis is the raw Z table")
    else:
        axis, sweep_signal, sweep_unit = np.arange(npts, dtype=np.float64), "Index", ""
        warnings.append("neither the bias nor Z is monotonic: the sweep axis is the point index")
    reversed_ = bool(axis.size >= 2 and axis[-1] < axis[0])
    if reversed_:
        axis = axis[::-1].copy()
        flat = flat[:, ::-1, :]

    scan_down = hdr is not None and get_int(hdr, "ScanYDirec", default=1) != 0
    channels: dict[str, np.ndarray] = {}
    for k, name in enumerate(names):
        cube = flat[:, :, k].reshape(nrows, ncols, axis.size) * np.float32(scales[name])
        if scan_down:
            cube = cube[::-1]
        channels[name] = np.ascontiguousarray(cube, dtype=np.float32)
    valid2 = valid.reshape(nrows, ncols)
    if scan_down:
        valid2 = valid2[::-1]

    frame = _frame(h, hdr, xstart, ncols, ystart, nrows, scan_down, warnings)
    params: dict[str, np.ndarray] = {}
    param_units: dict[str, str] = {}
    if hdr is not None:
        topo = _topography(side, h, xstart, ncols, ystart, nrows, scan_down, warnings)
        if topo is not None:
            params["Z"], param_units["Z"] = topo, "m"
    setpoint_bias = float(h["biasvoltage"])
    metadata = {
        "format": f"specgrid v{int(h['version'])}",
        "specgrid_header": {k: (float(v) if isinstance(v, float) else int(v)) for k, v in h.items()},
        "header": hdr or {},
        "sweep_table": {"V_mV": table[:, 0].tolist(), "Z": table[:, 1].tolist(), "columns": width},
        "settling": settle,
        "setpoint": {"bias_V": setpoint_bias * 1e-3, "current_A": float(h["tunnelcurrent"])},
        "scaling": {name: scales[name] for name in names},
        "scan_direction": "down" if scan_down else "up",
    }
    return [
        Grid(
            name=path.name[: -len(".specgrid")] if path.name.lower().endswith(".specgrid") else path.stem,
            units=units,
            metadata=metadata,
            source=Source(str(path), "createc_specgrid", 0),
            warnings=warnings,
            bias=np.ascontiguousarray(axis, dtype=np.float64),
            channels=channels,
            frame=frame,
            params=params,
            param_units=param_units,
            valid=np.ascontiguousarray(valid2),
            sweep_signal=sweep_signal,
            sweep_unit=sweep_unit,
            sweep_reversed=reversed_,
        )
    ]


def _topography(
    side: Path,
    h: dict[str, float],
    xstart: int,
    ncols: int,
    ystart: int,
    nrows: int,
    scan_down: bool,
    warnings: list[str],
) -> np.ndarray | None:
    """(nrows, ncols) float64 topography in m: the ``.specgrid.dat`` image's Z at each grid pixel."""
    try:
        images = createc_image.read(side)
    except ReadError as exc:
        warnings.append(f"the image beside the grid could not be read, no topography: {exc.reason}")
        return None
    z = images[0].channels.get("Z") if images else None
    if z is None:
        return None
    ny_img, nx_img = z.shape
    # grid pixel -> image pixel in scan order, then into the image's orientation (row 0 the lowest line)
    rows_scan = (ystart - 1 + np.arange(nrows)) * int(h["specygrid"])
    cols = (xstart - 1 + np.arange(ncols)) * int(h["specxgrid"])
    if rows_scan.max() >= ny_img or cols.max() >= nx_img:
        warnings.append("the grid reaches beyond the image beside it: no topography")
        return None
    rows_img = ny_img - 1 - rows_scan if scan_down else rows_scan
    topo = z[np.ix_(rows_img, cols)].astype(np.float64)
    return topo[::-1] if scan_down else topo  # the grid's rows are flipped the same way


def _frame(
    h: dict[str, float],
    hdr: dict[str, str] | None,
    xstart: int,
    ncols: int,
    ystart: int,
    nrows: int,
    scan_down: bool,
    warnings: list[str],
) -> Frame:
    """The grid's frame: the image frame from the companion header cut to the grid's pixels."""
    nx, ny = int(h["nx"]), int(h["ny"])
    if hdr is None:
        return Frame(center=(0.0, 0.0), size=(ncols * 1e-10, nrows * 1e-10), angle=0.0, shape=(nrows, ncols))
    width = (get_float(hdr, "Length x[A]", default=0.0) or 0.0) * 1e-10
    height = (get_float(hdr, "Length y[A]", default=0.0) or 0.0) * 1e-10
    xscale = xy_per_dac(hdr, 20, "X")
    yscale = xy_per_dac(hdr, 20, "Y") or xscale
    if not (np.isfinite(width) and width > 0):
        width = ncols * 1e-10 * h["specxgrid"]
        warnings.append("no scan size in the image header: grid pixels are 1 Angstrom per image pixel")
    if not (np.isfinite(height) and height > 0):
        height = width * ny / nx
    px, py = width / nx, height / ny
    gx, gy = px * h["specxgrid"], py * h["specygrid"]
    # Grid pixel centres in image-pixel units, measured from the first scanned line and the left edge.
    u0 = (xstart - 1) * h["specxgrid"] * px
    v0 = (ystart - 1) * h["specygrid"] * py
    u_mid = u0 + ncols * gx / 2 - width / 2
    v_first = v0 + nrows * gy / 2 - height / 2
    v_mid = -v_first if scan_down else v_first  # the first line is the top when the tip scanned down
    angle = get_float(hdr, "Rotation", default=0.0) or 0.0
    angle = angle if np.isfinite(angle) else 0.0
    off_x = (get_float(hdr, "Scanrotoffx", "OffsetX", default=0.0) or 0.0) * xscale
    off_y = (get_float(hdr, "Scanrotoffy", "OffsetY", default=0.0) or 0.0) * yscale
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    center = (off_x + c * u_mid - s * v_mid, off_y + s * u_mid + c * v_mid)
    return Frame(
        center=(float(center[0]), float(center[1])),
        size=(ncols * gx, nrows * gy),
        angle=angle,
        shape=(nrows, ncols),
    )


READER = ReaderSpec(
    name="createc_specgrid",
    title="Createc grid spectroscopy",
    extensions=(".specgrid",),
    sniff=sniff,
    read=read,
    priority=5,
    kinds=("grid",),
)
