"""Createc ``.VERT`` point spectra (``[ParVERT30]`` / ``[ParVERT32]``).

Layout: a text header of ``key=value`` lines, a line ``DATA``, a parameter line
``npoints  x_dac  y_dac  channel_code [...]`` and one tab-separated row per point:
``index  V(mV)  Z  [X]  ch...``. ``channel_code`` (also ``Vertchannelselectval`` in the header) is a bit
mask of the recorded channels, in bit order: 0 current, 1 dI/dV (lock-in X), 2 d2I/dV2, 3-6 ADC0-ADC3,
7-9 unused, 10 dI/dV (lock-in Q), 11 d2I/dV2 (Q), 12 DAC0. ``[ParVERT32]`` files may add an ``X`` column
after ``Z`` (detected from the column count).

Scaling to SI: bias mV -> V; current ``DAC * (20 V / 2**bits) / 10**Gainpreamp`` A (the relation that
reproduces the current setpoint in Createc images); ``Z`` is read as millivolts of piezo drive,
``Z * ZPiezoconst / 1000`` Angstrom. That Z scale is inferred, not documented by the vendor: with it the
real file's I(z) ramp decays with kappa ~ 0.96 / Angstrom, a physical apparent barrier, while the image
topography scale (``Dacto[A]z * GainZ`` per step) would give an impossible 17 / Angstrom. The factor
used is recorded in ``metadata["scaling"]``. Lock-in and ADC columns are converted to volts at the ADC
input (``DAC * 20 V / 2**bits``); their physical meaning depends on the external set-up.

Sweep axis: the bias when it is strictly monotonic (reversed to ascending, ``sweep_reversed`` set); a
there-and-back bias sweep is split into forward and ``" [bwd]"`` channels; else ``Z`` when monotonic
(x in m); otherwise the point index, with the bias and Z kept as channels and a warning.

A file that disagrees with itself says so: a point count or channel code on the parameter line that is not
a whole number in range (``1e999``) is a ReadError; fewer or more rows than the point count, a file that
ends inside its last row (no line end; an incomplete last row is left out), a non-finite position and
non-finite header scales (ignored) are warnings.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from analysis.dataset import BWD_SUFFIX, Source, Spectrum
from analysis.errors import ReadError
from analysis.io.common import ascending_sweep, read_file_bytes, strictly_monotonic
from analysis.io.createc_header import (
    current_per_dac,
    decode_header,
    get_float,
    get_int,
    parse_header,
    volts_per_dac,
)
from analysis.io.registry import ReaderSpec

MAGICS = (b"[ParVERT30]", b"[ParVERT32]")
CHANNEL_BITS = (
    "Current",
    "dI/dV",
    "d2I/dV2",
    "ADC0",
    "ADC1",
    "ADC2",
    "ADC3",
    "NA1",
    "NA2",
    "NA3",
    "dI/dV Q",
    "d2I/dV2 Q",
    "DAC0",
)
MAX_POINTS = 10_000_000
_DATA_RE = re.compile(rb"\r?\nDATA[ \t]*\r?\n")


def sniff(head: bytes, path: Path) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(MAGICS)


def _split(path: Path, raw: bytes) -> tuple[dict[str, str], str, list[str], int]:
    if not sniff(raw[:64], path):
        raise ReadError(path, "not a Createc VERT file (expected [ParVERT30] or [ParVERT32] at the start)")
    m = _DATA_RE.search(raw)
    if m is None:
        raise ReadError(path, "no DATA line after the header")
    version = raw[1:10].decode("latin-1")
    hdr = parse_header(decode_header(path, raw[: m.start()]))
    body = raw[m.end() :].decode("latin-1").splitlines()
    if not body:
        raise ReadError(path, "DATA line is not followed by the parameter line", offset=m.end())
    header_lines = raw[: m.end()].count(b"\n")
    return hdr, version, body, header_lines


def _whole(path: Path, text: str, what: str, maximum: int, line: int) -> int:
    """A whole number of the parameter line in ``0..maximum`` (ReadError for ``1e999``, ``1.5``, ...)."""
    value = float(text)
    if not (math.isfinite(value) and value.is_integer() and 0 <= value <= maximum):
        raise ReadError(path, f"parameter line after DATA: {what} {text!r} is not a whole number", line=line)
    return int(value)


def _parse_rows(path: Path, lines: list[str], first_line: int, cut: bool, warnings: list[str]) -> np.ndarray:
    """The data rows as (n, ncol) float64. With ``cut`` (the file does not end with a line end) a last
    row that is incomplete is left out, and either way a warning says the file is cut short."""
    rows: list[list[float]] = []
    ncol = None
    last = max((k for k, line in enumerate(lines) if line.split()), default=-1)
    for k, line in enumerate(lines):
        parts = line.replace(",", ".").split()
        if not parts:
            continue
        try:
            values = [float(p) for p in parts]
        except ValueError:
            if cut and k == last:
                warnings.append("the file ends inside its last data row, which is incomplete and left out")
                break
            raise ReadError(
                path, f"non-numeric value in data row: {line.strip()[:60]!r}", line=first_line + k
            ) from None
        if ncol is None:
            ncol = len(values)
        elif len(values) != ncol:
            if cut and k == last and len(values) < ncol:
                warnings.append("the file ends inside its last data row, which is incomplete and left out")
                break
            raise ReadError(path, f"data row has {len(values)} columns, expected {ncol}", line=first_line + k)
        elif cut and k == last:
            warnings.append("the file ends inside its last data row (no line end): its last value may be cut")
        rows.append(values)
        if len(rows) > MAX_POINTS:
            raise ReadError(path, f"more than {MAX_POINTS} data rows")
    if not rows:
        raise ReadError(path, "no data rows after the parameter line", line=first_line)
    return np.asarray(rows, dtype=np.float64)


def read(path: Path) -> list[Spectrum]:
    path = Path(path)
    raw = read_file_bytes(path)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    hdr, version, body, header_lines = _split(path, raw)

    params = re.findall(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", body[0])
    line = header_lines + 1
    if len(params) < 1:
        raise ReadError(path, f"malformed parameter line after DATA: {body[0][:60]!r}", line=line)
    warnings: list[str] = []
    npoints = _whole(path, params[0], "the point count", MAX_POINTS, line)
    pos = (float(params[1]), float(params[2])) if len(params) >= 3 else None
    if pos is not None and not all(math.isfinite(v) for v in pos):
        warnings.append(f"the position on the parameter line ({params[1]}, {params[2]}) is not finite")
        pos = None
    if len(params) >= 4:
        code = _whole(path, params[3], "the channel code", (1 << 32) - 1, line)
    else:
        code = get_int(hdr, "Vertchannelselectval", default=1) or 1
    if code < 0 or code >= 1 << 32:
        raise ReadError(path, f"channel code {code} out of range", line=line)
    # bits 20 and up are flags, not data columns: ParVERT32 writes e.g. 1049867 = 2**20 + 1035
    flags = code >> 20

    cut = not raw.endswith((b"\n", b"\r"))
    table = _parse_rows(path, body[1:], header_lines + 2, cut, warnings)
    n, ncol = table.shape
    if n != npoints:
        warnings.append(f"the parameter line promises {npoints} points, the file holds {n}")
    if ncol < 3:
        raise ReadError(path, f"data rows have {ncol} columns; expected at least index, bias and Z")

    selected = [
        CHANNEL_BITS[b] if b < len(CHANNEL_BITS) else f"Channel {b}" for b in range(20) if code >> b & 1
    ]
    base = ["Bias", "Z"]
    if ncol == 3 + len(selected) + 1 and version == "ParVERT32":
        base.append("X")
    names = base + selected
    if len(names) != ncol - 1:
        warnings.append(
            f"channel code {code} names {len(selected)} channels, the rows have {ncol - 3} after bias and Z"
        )
        names = (base[:2] + selected)[: ncol - 1]
        names += [f"Column {k}" for k in range(len(names) + 1, ncol)]

    vpd = volts_per_dac(hdr, 20)
    ipd = current_per_dac(hdr, 20, warnings)
    piezo = get_float(hdr, "ZPiezoconst", default=None, warnings=warnings)
    if not piezo:
        dacto = get_float(hdr, "Dacto[A]z", default=None, warnings=warnings)
        piezo = dacto / vpd if dacto else 1.0
        if not dacto:
            warnings.append("neither ZPiezoconst nor Dacto[A]z in the header: Z assumes 1 Angstrom/V")
    z_scale = piezo * 1e-3 * 1e-10

    cols: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for k, name in enumerate(names, start=1):
        col = table[:, k]
        if name == "Bias":
            cols[name], units[name] = col * 1e-3, "V"
        elif name == "Z":
            cols[name], units[name] = col * z_scale, "m"
        elif name == "Current":
            cols[name], units[name] = col * ipd, "A"
        elif name in ("X",) or name.startswith("Column"):
            cols[name], units[name] = col.copy(), ""
        else:
            cols[name], units[name] = col * vpd, "V"

    bias = cols["Bias"]
    x_name, x_unit = "Bias", "V"
    channels: dict[str, np.ndarray]
    half = n // 2
    if strictly_monotonic(bias):
        x = bias
        channels = {k: v for k, v in cols.items() if k != "Bias"}
    elif (
        n % 2 == 0
        and half >= 2
        and strictly_monotonic(bias[:half])
        and np.allclose(bias[half:][::-1], bias[:half], rtol=1e-6, atol=1e-9)
    ):
        x = bias[:half]
        channels = {}
        for k, v in cols.items():
            if k == "Bias":
                continue
            channels[k] = v[:half]
        for k, v in cols.items():
            if k == "Bias":
                continue
            channels[k + BWD_SUFFIX] = v[half:][::-1].copy()
    elif strictly_monotonic(cols["Z"]):
        x, x_name, x_unit = cols["Z"], "Z", "m"
        channels = {k: v for k, v in cols.items() if k != "Z"}
    else:
        x, x_name, x_unit = np.arange(n, dtype=np.float64), "Index", ""
        channels = dict(cols)
        warnings.append("neither the bias nor Z is monotonic (a ramp there and back): x is the point index")
    x, channels, reversed_ = ascending_sweep(x, channels)

    lockin = {
        "frequency_Hz": get_float(hdr, "LockinFreq"),
        "amplitude_V": (get_float(hdr, "LockinAmpl") or 0.0) * 1e-3,
        "phase_deg": get_float(hdr, "LockinPhase"),
        "rc": get_float(hdr, "LockinRC"),
    }
    setpoint_bias = get_float(hdr, "Biasvolt[mV]", "BiasVolt.[mV]")
    metadata = {
        "format": version,
        "header": hdr,
        "lockin": lockin,
        "setpoint": {
            "bias_V": setpoint_bias * 1e-3 if setpoint_bias is not None else None,
            "current_A": get_float(hdr, "Current[A]", "SetPoint"),
        },
        "channel_code": code,
        "channel_flags": flags,
        "position_dac": list(pos) if pos else None,
        "scaling": {"volts_per_dac": vpd, "amperes_per_dac": ipd, "z_metres_per_unit": z_scale},
        "sweep_points_promised": npoints,
    }
    spec = Spectrum(
        name=path.stem,
        units={k: units[_base(k)] for k in channels},
        metadata=metadata,
        source=Source(str(path), "createc_vert", 0),
        warnings=warnings,
        x=np.ascontiguousarray(x, dtype=np.float64),
        channels=channels,
        x_name=x_name,
        x_unit=x_unit,
        sweep_reversed=reversed_,
    )
    return [spec]


def _base(name: str) -> str:
    return name[: -len(BWD_SUFFIX)] if name.endswith(BWD_SUFFIX) else name


READER = ReaderSpec(
    name="createc_vert",
    title="Createc point spectrum",
    extensions=(".vert",),
    sniff=sniff,
    read=read,
    priority=10,
    kinds=("spectrum",),
)
