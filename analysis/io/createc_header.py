"""Createc STMAFM text headers (``[Param...]`` images and ``[ParVERT..]`` spectra) and DAC scaling.

A header is a list of ``key=value`` lines (CR LF). Many keys carry a long and a short name separated by
``" / "`` (``"Num.X / Num.X=256"``); both spellings are stored so a lookup works with either. Lines that
are only ``"="`` or ``" /  = "`` are padding and ignored.

Scaling facts used by the readers (checked against the real files, see the tests):

* The DAC span is 20 V (+-10 V) over ``2**bits`` steps, ``bits`` from ``DAC-Type`` (``"20bit"``).
* Lateral scale: ``Length x[A] = Num.X * Delta X * (20 V / 2**bits) * GainX * Xpiezoconst`` (Angstrom);
  the header's rounded ``Dacto[A]xy`` equals ``(20 V / 2**bits) * Xpiezoconst``.
* Image topography: ``Z[A] = DAC * (20 V / 2**bits) * GainZ * ZPiezoconst`` (``Dacto[A]z * GainZ``).
* Current: ``I[A] = DAC * (20 V / 2**bits) / 10**Gainpreamp``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from analysis.errors import ReadError

DAC_SPAN_V = 20.0


def parse_header(text: str) -> dict[str, str]:
    """``key=value`` lines into a dict; ``"long / short"`` keys are stored under both names."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip().strip("\x00")
        if "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        value = value.strip()
        if not key or key == "/":
            continue
        out.setdefault(key, value)
        if " / " in key:
            long_name, _, short_name = key.partition(" / ")
            for k in (long_name.strip(), short_name.strip()):
                if k:
                    out.setdefault(k, value)
    return out


def get_float(
    hdr: dict[str, str], *keys: str, default: float | None = None, warnings: list[str] | None = None
) -> float | None:
    """The first of ``keys`` present in ``hdr`` whose value parses as a finite float, else ``default``.

    A value that parses but is not finite (``1e999``, ``nan``) is skipped; with ``warnings`` that is said.
    """
    for key in keys:
        if key in hdr:
            text = hdr[key].replace(",", ".").split()
            if not text:
                continue
            try:
                value = float(text[0])
            except ValueError:
                continue
            if math.isfinite(value):
                return value
            if warnings is not None:
                warnings.append(f"header entry {key}={hdr[key].strip()} is not a finite number; ignored")
    return default


def get_int(hdr: dict[str, str], *keys: str, default: int | None = None) -> int | None:
    value = get_float(hdr, *keys, default=None)
    if value is None or abs(value) > 2**62:
        return default
    return int(value)


def header_count(path: Path, hdr: dict[str, str], key: str, maximum: int, default: int | None = None) -> int:
    """A whole number of the header (an image size, a channel count) in ``1..maximum``.

    Missing: ``default``, or ReadError when there is none. Anything else that is not such a number
    (``1.5``, ``NaN``, ``2**63``, ``1e999``, text) is a ReadError naming the entry: the data cannot be laid
    out from it.
    """
    raw = hdr.get(key)
    if raw is None or not raw.strip():
        if default is not None:
            return default
        raise ReadError(path, f"header has no {key} entry")
    text = raw.replace(",", ".").split()[0]
    try:
        value = float(text)
    except ValueError:
        raise ReadError(path, f"header entry {key}={raw.strip()} is not a number") from None
    if not (math.isfinite(value) and value.is_integer()):
        raise ReadError(path, f"header entry {key}={raw.strip()} is not a whole number")
    if not 1 <= value <= maximum:
        raise ReadError(path, f"header entry {key}={raw.strip()} is outside 1..{maximum}")
    return int(value)


def dac_bits(hdr: dict[str, str], default: int) -> int:
    """Bits of the DAC from ``DAC-Type`` (``"20bit"``), else ``default``."""
    m = re.search(r"(\d+)", hdr.get("DAC-Type", ""))
    if m:
        bits = int(m.group(1))
        if 8 <= bits <= 32:
            return bits
    return default


def volts_per_dac(hdr: dict[str, str], default_bits: int) -> float:
    """Volts per DAC step: the 20 V span over ``2**bits``."""
    return DAC_SPAN_V / 2 ** dac_bits(hdr, default_bits)


def current_per_dac(hdr: dict[str, str], default_bits: int, warnings: list[str] | None = None) -> float:
    """Amperes per DAC step of the current channel (preamplifier gain ``10**Gainpreamp`` V/A)."""
    gain_exp = get_float(hdr, "Gainpreamp", "GainPre 10^", default=9.0, warnings=warnings)
    assert gain_exp is not None
    if not -3 <= gain_exp <= 15:
        if warnings is not None:
            warnings.append(f"preamplifier gain 10^{gain_exp:g} V/A is outside 10^-3..10^15; 10^9 is used")
        gain_exp = 9.0
    return volts_per_dac(hdr, default_bits) / 10.0**gain_exp


def z_per_dac(hdr: dict[str, str], default_bits: int, warnings: list[str] | None = None) -> float:
    """Metres per DAC step of the image topography (piezo constant times Z high-voltage gain)."""
    gain_z = get_float(hdr, "GainZ", default=1.0, warnings=warnings) or 1.0
    piezo = get_float(hdr, "ZPiezoconst", default=None, warnings=warnings)
    if piezo:
        return volts_per_dac(hdr, default_bits) * gain_z * piezo * 1e-10
    dacto = get_float(hdr, "Dacto[A]z", default=None, warnings=warnings)
    if dacto:
        return dacto * gain_z * 1e-10
    raise ValueError("header gives neither ZPiezoconst nor Dacto[A]z")


def xy_per_dac(
    hdr: dict[str, str], default_bits: int, axis: str = "X", warnings: list[str] | None = None
) -> float:
    """Metres per DAC step of the lateral scanner along ``axis`` ("X" or "Y")."""
    gain = get_float(hdr, f"Gain{axis}", default=1.0, warnings=warnings) or 1.0
    piezo = get_float(hdr, f"{axis}piezoconst", f"{axis}Piezoconst", default=None, warnings=warnings)
    if piezo:
        return volts_per_dac(hdr, default_bits) * gain * piezo * 1e-10
    dacto = get_float(hdr, "Dacto[A]xy", default=None, warnings=warnings)
    if dacto:
        return dacto * gain * 1e-10
    return 0.0


def decode_header(path: Path, blob: bytes) -> str:
    """Header bytes as text (Latin-1: the files carry an Angstrom sign as byte 0xC5)."""
    try:
        return blob.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
        raise ReadError(path, f"header is not text: {exc}") from None
