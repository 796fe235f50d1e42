"""Levelled images as derived datasets: a new :class:`~analysis.dataset.Image` with its provenance."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from analysis.dataset import Grid, Image
from analysis.hooks import check_cancel
from analysis.topography.levelling import LevellingError, LevelSpec, apply


def height_map(dataset: Grid | Image, channel: str) -> tuple[np.ndarray, str]:
    """(map (ny, nx) float64, unit) of an image channel or a grid's per-pixel map (e.g. ``"Z"``)."""
    if isinstance(dataset, Image):
        if channel not in dataset.channels:
            raise LevellingError(f"{dataset.name or 'the image'} has no channel {channel!r}")
        return np.asarray(dataset.channels[channel], dtype=np.float64), dataset.unit(channel)
    if isinstance(dataset, Grid):
        if channel not in dataset.params:
            raise LevellingError(f"{dataset.name or 'the grid'} has no map {channel!r}")
        z = np.asarray(dataset.params[channel], dtype=np.float64)
        if dataset.valid is not None:
            z = np.where(np.asarray(dataset.valid, bool), z, np.nan)
        return z, dataset.param_units.get(channel, "")
    raise LevellingError("only images and grids hold maps to level")


def level_channels(dataset: Grid | Image) -> list[str]:
    """Names of the 2D maps of ``dataset`` that can be levelled."""
    if isinstance(dataset, Image):
        return list(dataset.channels)
    if isinstance(dataset, Grid):
        return list(dataset.params)
    return []


def levelled_image(
    dataset: Grid | Image,
    channel: str,
    spec: LevelSpec,
    exclude: np.ndarray | None = None,
    label: str = "",
    exclude_names: list[str] | None = None,
    cancel: threading.Event | None = None,
    **_hooks: Any,
) -> Image:
    """A new Image with ``channel`` of ``dataset`` levelled by ``spec`` (float32, same unit and frame).

    ``exclude`` (ny, nx) bool: pixels left out of the fits (the union of the regions ``exclude_names``).
    The name is ``"<label> <channel> (<operation and parameters>)"`` and ``provenance`` ends with
    ``{"operation": "level", "parameters": {...}, "inputs": [source name]}``.
    """
    check_cancel(cancel, "levelling")
    z, unit = height_map(dataset, channel)
    out = apply(z, spec, exclude).astype(np.float32)
    check_cancel(cancel, "levelling")
    params = {"channel": channel, **spec.parameters()}
    if exclude_names:
        params["excluded_regions"] = list(exclude_names)
    source = label or dataset.name or "image"
    return Image(
        name=f"{source} {channel} ({spec.describe(bool(exclude_names))})",
        channels={channel: out},
        units={channel: unit},
        metadata={"derived_from": dataset.name},
        source=dataset.source,
        warnings=list(dataset.warnings),
        provenance=[
            *dataset.provenance,
            {"operation": "level", "parameters": params, "inputs": [dataset.name]},
        ],
        frame=dataset.frame,
        scan_direction=getattr(dataset, "scan_direction", "up"),
    )
