"""``stsworkbench info FILE ...``: what a data or project file holds, as readable text (no window).

For each dataset: kind, dimensions, channels with units, sweep range with unit, scan frame (centre, size
in nm, angle), valid fraction and warnings; for a project file also each entry's key, label and parent and
the names of the attachments. Exit status 0, or 1 with a one-line message when a file
cannot be read.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from analysis.dataset import Dataset, Frame, Grid, Image, Spectrum
from analysis.errors import ReadError
from analysis.io import registry
from analysis.store import open_project

_PREFIXES = (
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "u"),
    (1e-9, "n"),
    (1e-12, "p"),
    (1e-15, "f"),
)


def format_si(value: float, unit: str, digits: int = 4) -> str:
    """``0.015, "V"`` -> ``"15 mV"``; values without a unit are printed plainly."""
    if value is None or not math.isfinite(value):
        return f"{value} {unit}".strip()
    if not unit:
        return f"{value:.{digits}g}"
    mag = abs(value)
    for scale, prefix in _PREFIXES:
        if mag >= scale * 0.9995 or scale == _PREFIXES[-1][0]:
            return f"{value / scale:.{digits}g} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}"


def _range(values: np.ndarray, unit: str) -> str:
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return "empty"
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    scale_ref = max(abs(lo), abs(hi))
    if unit and scale_ref > 0:
        for scale, prefix in _PREFIXES:
            if scale_ref >= scale * 0.9995 or scale == _PREFIXES[-1][0]:
                return f"{lo / scale:.4g} .. {hi / scale:.4g} {prefix}{unit}"
    return f"{lo:.4g} .. {hi:.4g} {unit}".rstrip()


def _channels(ds: Dataset) -> str:
    parts = [f"{name} ({ds.unit(name) or 'no unit'})" for name in ds.channels]
    return ", ".join(parts) if parts else "none"


def _frame(frame: Frame) -> str:
    cx, cy = frame.center
    w, h = frame.size
    return (
        f"centre ({cx * 1e9:.4g}, {cy * 1e9:.4g}) nm, size {w * 1e9:.4g} x {h * 1e9:.4g} nm, "
        f"angle {frame.angle:.4g} deg"
    )


def describe(ds: Dataset) -> list[str]:
    """Readable lines describing one dataset."""
    lines = [f'{ds.kind} "{ds.name}"']
    if getattr(ds, "kind", None) == "series":
        from app.commands.series import describe_series

        return describe_series(ds)  # type: ignore[arg-type]
    if isinstance(ds, Grid):
        ny, nx, nb = ds.shape
        lines.append(f"  dimensions: {nx} x {ny} pixels, {nb} sweep points")
        lines.append(f"  channels: {_channels(ds)}")
        lines.append(
            f"  sweep: {ds.sweep_signal} {_range(ds.bias, ds.sweep_unit)}"
            + (" (measured downwards)" if ds.sweep_reversed else "")
        )
        lines.append(f"  frame: {_frame(ds.frame)}")
        if ds.params:
            plist = ", ".join(f"{k} ({ds.param_units.get(k, '') or 'no unit'})" for k in ds.params)
            lines.append(f"  per-pixel parameters: {plist}")
        lines.append(f"  valid fraction: {100.0 * ds.valid_fraction():.1f} %")
    elif isinstance(ds, Spectrum):
        lines.append(f"  dimensions: {len(ds)} points")
        lines.append(f"  channels: {_channels(ds)}")
        down = " (measured downwards)" if ds.sweep_reversed else ""
        lines.append(f"  sweep: {ds.x_name} {_range(ds.x, ds.x_unit)}{down}")
        if ds.position is not None:
            lines.append(f"  position: ({ds.position[0] * 1e9:.4g}, {ds.position[1] * 1e9:.4g}) nm")
    elif isinstance(ds, Image):
        ny, nx = ds.shape
        lines.append(f"  dimensions: {nx} x {ny} pixels")
        lines.append(f"  channels: {_channels(ds)}")
        lines.append(f"  frame: {_frame(ds.frame)}")
        lines.append(f"  scan direction: {ds.scan_direction}")
        finite = [float(np.mean(np.isfinite(np.asarray(a)))) for a in ds.channels.values()]
        if finite:
            lines.append(f"  valid fraction: {100.0 * min(finite):.1f} %")
    if ds.warnings:
        lines.append("  warnings:")
        lines.extend(f"    - {w}" for w in ds.warnings)
    else:
        lines.append("  warnings: none")
    return lines


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="stsworkbench info", description="Describe data or project files.")
    ap.add_argument("files", nargs="+", help="files in any supported format (or project .h5 files)")
    return ap


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    reg = registry()
    for name in args.files:
        path = Path(name)
        try:
            spec = reg.detect(path)
            datasets = reg.read(path, spec.name)
        except ReadError as exc:
            print(f"stsworkbench info: {exc}", file=sys.stderr)
            return 1
        labels: list[str] = [""] * len(datasets)
        attachments: list[str] = []
        if spec.name == "project_hdf5":
            try:
                with open_project(path) as project:
                    labels = [
                        f"key {e.key}, label {e.label!r}" + (f", derived from {e.parent}" if e.parent else "")
                        for e in project.entries
                    ]
                    attachments = list(project.attachments)
            except ReadError as exc:
                print(f"stsworkbench info: {exc}", file=sys.stderr)
                return 1
        print(f"{path}: {spec.title}, {len(datasets)} dataset{'s' if len(datasets) != 1 else ''}")
        for i, ds in enumerate(datasets, start=1):
            lines = describe(ds)
            print(f"[{i}] " + lines[0] + (f" ({labels[i - 1]})" if labels[i - 1] else ""))
            for line in lines[1:]:
                print(line)
        if attachments:
            print(f"attachments: {', '.join(attachments)}")
    return 0
