"""Writers of synthetic Nanonis files (``.3ds``, ``.sxm``, ``.dat``) laid out as the instrument writes them.

They serve tests, benchmarks and demos: every variant the readers must handle can be produced on purpose
(aborted or pre-allocated grids, multi-segment sweeps, Z spectroscopy, backward channels, old headers
without optional keys, images scanned down or stopped early, spectra with a byte-order mark, CRLF line
ends and repeated header keys).

Arrays are passed in the data model's orientation (row 0 = lowest line of the frame, column 0 leftmost,
see :mod:`analysis.dataset`); the writers put them in acquisition order as the instrument does. Frames are
:class:`~analysis.dataset.Frame` objects (angle counter-clockwise); the files get Nanonis' clockwise angle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from analysis.dataset import Frame

_F4 = np.dtype(">f4")


def _fmt(v: float) -> str:
    return f"{float(v):.6E}"


def grid_positions(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) in metres of every pixel centre of ``frame``, each (ny, nx), data-model orientation."""
    ny, nx = frame.shape
    iy, ix = np.mgrid[0:ny, 0:nx]
    return frame.pixel_to_xy(ix, iy)


def write_3ds(
    path: str | os.PathLike[str],
    channels: Mapping[str, np.ndarray],
    *,
    sweep: tuple[float, float] | np.ndarray = (-0.01, 0.01),
    sweep_signal: str = "Bias (V)",
    frame: Frame | None = None,
    params: Mapping[str, np.ndarray] | None = None,
    experiment_params: Sequence[str] = ("X (m)", "Y (m)", "Z (m)"),
    first_line: str = "bottom",
    segments: Sequence[Sequence[float]] | None = None,
    filetype: str | None = "Linear",
    delay: float | None = 0.0,
    measured: int | None = None,
    unmeasured: str = "truncate",
    partial_bytes: int = 0,
    extra_header: Sequence[tuple[str, str]] = (),
    chunk_lines: int | None = None,
) -> int:
    """Write a grid file; return the byte offset of the binary block.

    ``channels``: label with unit (``"Current (A)"``, ``"Current [bwd] (A)"``) -> (ny, nx, points) array,
    points in recorded order (index 0 is the Sweep Start). ``sweep``: (start, end) for every pixel, or a
    (ny, nx, 2) array of per-pixel values. ``params``: experiment-parameter label -> (ny, nx); X/Y default
    to the pixel centres of ``frame``, others to 0. ``first_line``: ``"bottom"`` or ``"top"``, where the
    instrument started. ``segments``: multi-segment sweep rows (start, end, settling, integration, steps),
    consecutive segments sharing their boundary point; written with ``Filetype=MLS``. ``filetype=None``
    and ``delay=None`` leave those keys out (old headers). ``measured``: pixels (acquisition order)
    actually measured; the rest are left out (``unmeasured="truncate"``, plus ``partial_bytes`` of the next
    record) or pre-filled with ``"zeros"`` or ``"nan"``.
    """
    labels = list(channels)
    if not labels:
        raise ValueError("at least one channel is needed")
    arrays = [np.asarray(channels[k], dtype=np.float32) for k in labels]
    ny, nx, pts = arrays[0].shape
    for a in arrays:
        if a.shape != (ny, nx, pts):
            raise ValueError("all channels must have the same (ny, nx, points) shape")
    frame = frame or Frame(center=(0.0, 0.0), size=(nx * 1e-10, ny * 1e-10), shape=(ny, nx))
    if frame.shape != (ny, nx):
        raise ValueError(f"frame shape {frame.shape} differs from the data ({ny}, {nx})")
    params = dict(params or {})
    exp_labels = list(experiment_params) + [k for k in params if k not in experiment_params]
    xs, ys = grid_positions(frame)
    pvals: list[np.ndarray] = []
    sw = np.asarray(sweep, dtype=np.float64)
    if segments is not None:
        seg = np.asarray(segments, dtype=np.float64)
        sw = np.array([seg[0, 0], seg[-1, 1]])
        filetype = "MLS"
    if sw.shape == (2,):
        sw = np.broadcast_to(sw, (ny, nx, 2))
    pvals += [sw[..., 0], sw[..., 1]]
    for lab in exp_labels:
        if lab in params:
            pvals.append(np.asarray(params[lab], dtype=np.float64))
        elif lab == "X (m)":
            pvals.append(xs)
        elif lab == "Y (m)":
            pvals.append(ys)
        else:
            pvals.append(np.zeros((ny, nx)))
    nparams = len(pvals)
    rec = nparams + len(labels) * pts

    lines = [
        f'Grid dim="{nx} x {ny}"',
        "Grid settings=" + ";".join(_fmt(v) for v in (*frame.center, *frame.size, -frame.angle)),
    ]
    if filetype is not None:
        lines.append(f"Filetype={filetype}")
    lines += [
        f'Sweep Signal="{sweep_signal}"',
        'Fixed parameters="Sweep Start;Sweep End"',
        f'Experiment parameters="{";".join(exp_labels)}"',
        f"# Parameters (4 byte)={nparams}",
    ]
    if segments is not None:
        rows = [
            ",".join([_fmt(s[0]), _fmt(s[1]), _fmt(s[2]), _fmt(s[3]), str(int(s[4])), "0E+0", "0E+0"])
            for s in segments
        ]
        lines.append(
            "Segment Start (V), Segment End (V), Settling (s), Integration (s), Steps (xn), Lockin, "
            "Init. Settling (s)=" + ";".join(rows)
        )
    lines += [
        f"Experiment size (bytes)={4 * pts * len(labels)}",
        f"Points={pts}",
        f'Channels="{";".join(labels)}"',
    ]
    if delay is not None:
        lines.append(f"Delay before measuring (s)={_fmt(delay)}")
    lines += ['Experiment="Grid Spectroscopy"', 'Start time="01.01.2024 12:00:00"', "User=", "Comment="]
    lines += [f"{k}={v}" for k, v in extra_header]
    header = ("\r\n".join(lines) + "\r\n:HEADER_END:\r\n").encode("latin-1")

    npix = nx * ny
    measured = npix if measured is None else max(0, min(int(measured), npix))
    # Acquisition line l is data row l (first line at the bottom) or row ny-1-l (at the top).
    order = np.arange(ny) if first_line == "bottom" else np.arange(ny)[::-1]
    step = chunk_lines or max(1, (8 << 20) // max(1, nx * rec * 4))
    with open(path, "wb") as fh:
        fh.write(header)
        written = 0
        for l0 in range(0, ny, step):
            rows_ = order[l0 : l0 + step]
            n = len(rows_) * nx
            block = np.empty((len(rows_), nx, rec), np.float32)
            for i, pv in enumerate(pvals):
                block[:, :, i] = pv[rows_]
            for c, a in enumerate(arrays):
                block[:, :, nparams + c * pts : nparams + (c + 1) * pts] = a[rows_]
            flat = block.reshape(n, rec)
            keep = max(0, min(n, measured - written))
            if keep < n and unmeasured in ("zeros", "nan"):
                flat[keep:] = 0.0 if unmeasured == "zeros" else np.nan
                keep = n
            fh.write(flat[:keep].astype(_F4).tobytes())
            if keep < n:
                if partial_bytes:
                    fh.write(flat[keep].astype(_F4).tobytes()[:partial_bytes])
                break
            written += n
    return len(header)


def write_sxm(
    path: str | os.PathLike[str],
    channels: Mapping[str, tuple[str, np.ndarray, np.ndarray | None]],
    *,
    frame: Frame,
    scan_dir: str = "up",
    scanned_lines: int | None = None,
    bias: float = 0.1,
    extra_header: Sequence[tuple[str, str]] = (),
) -> int:
    """Write a scan image; return the byte offset of the data.

    ``channels``: name -> (unit, forward (ny, nx), backward (ny, nx) or None), data-model orientation.
    ``scan_dir``: ``"up"`` (first line at the bottom) or ``"down"``. ``scanned_lines``: lines (in
    acquisition order) actually scanned; the rest are NaN as Nanonis writes them.
    """
    ny, nx = frame.shape
    info = ["Channel\tName\tUnit\tDirection\tCalibration\tOffset"]
    planes: list[np.ndarray] = []
    for i, (name, (unit, fwd, bwd)) in enumerate(channels.items()):
        info.append(f"{i}\t{name}\t{unit}\t{'both' if bwd is not None else 'forward'}\t1.000E+0\t0.000E+0")
        for img, backward in ((fwd, False), (bwd, True)):
            if img is None:
                continue
            a = np.asarray(img, dtype=np.float32)
            if a.shape != (ny, nx):
                raise ValueError(f"channel {name!r}: shape {a.shape} differs from the frame ({ny}, {nx})")
            if backward:
                a = a[:, ::-1]
            if scan_dir == "down":
                a = a[::-1]
            a = a.copy()
            if scanned_lines is not None:
                a[scanned_lines:] = np.nan
            planes.append(a)
    entries = [
        ("NANONIS_VERSION", "2"),
        ("SCANIT_TYPE", "              FLOAT            MSBFIRST"),
        ("REC_DATE", " 01.01.2024"),
        ("REC_TIME", "12:00:00"),
        ("SCAN_PIXELS", f"{nx:>10d}{ny:>10d}"),
        ("SCAN_TIME", "             1.000E+0             1.000E+0"),
        ("SCAN_RANGE", f"           {_fmt(frame.size[0])}           {_fmt(frame.size[1])}"),
        ("SCAN_OFFSET", f"             {_fmt(frame.center[0])}         {_fmt(frame.center[1])}"),
        ("SCAN_ANGLE", f"            {_fmt(-frame.angle)}"),
        ("SCAN_DIR", scan_dir),
        ("BIAS", f"            {_fmt(bias)}"),
        ("COMMENT", ""),
        *extra_header,
        ("DATA_INFO", "\n".join("\t" + ln for ln in info) + "\n"),
    ]
    text = "".join(f":{k}:\n{v}\n" for k, v in entries) + ":SCANIT_END:\n\n\n"
    head = text.encode("latin-1") + b"\x1a\x04"
    with open(path, "wb") as fh:
        fh.write(head)
        for a in planes:
            fh.write(a.astype(_F4).tobytes())
    return len(head)


def write_dat(
    path: str | os.PathLike[str],
    columns: Mapping[str, np.ndarray],
    header: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    *,
    experiment: str = "bias spectroscopy",
    bom: bool = False,
    newline: str = "\n",
) -> None:
    """Write a point spectrum: ``columns`` label with unit -> (n,) values, the first being the sweep.

    ``header`` is a sequence of (key, value) pairs (a key may repeat) written after ``Experiment``.
    """
    pairs = list(header.items()) if isinstance(header, Mapping) else list(header)
    labels = list(columns)
    data = np.column_stack([np.asarray(columns[k], dtype=np.float64) for k in labels])
    out = [f"Experiment\t{experiment}\t"]
    out += [f"{k}\t{v}\t" for k, v in pairs]
    out += ["", "[DATA]", "\t".join(labels)]
    out += ["\t".join(f"{v:.6E}" if np.isfinite(v) else "NaN" for v in row) for row in data]
    raw = (newline.join(out) + newline).encode("utf-8")
    Path(path).write_bytes((b"\xef\xbb\xbf" if bom else b"") + raw)
