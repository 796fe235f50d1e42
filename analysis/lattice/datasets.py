"""Derived datasets of the lattice tools: Fourier transforms and corrected copies of images and grids.

An FFT dataset lives in reciprocal space: its :class:`~analysis.dataset.Frame` (``unit = "1/m"``, so every
map view and the project file know it) is centred on q = 0 with
``size = (nx * dqx, ny * dqy)`` in 1/m, so pixel ``(iy, ix)`` sits at ``(qx[ix], qy[iy])``, and
``metadata["lattice"]`` records ``{"kind": "fft", "window", "source_channel", "pixel_size"}`` (the real-space
pixel size in metres). Corrected copies (drift, alignment, Fourier filtering) keep the source's frame and
channels and record the operation in ``provenance``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from analysis.dataset import BWD_SUFFIX, RECIPROCAL_UNIT, Frame, Grid, Image
from analysis.lattice.align import apply_shift, estimate_shift, resample_to_frame
from analysis.lattice.drift import DriftField, apply_field, displacement_field
from analysis.lattice.fft import LatticeError, fft_grid, fft_image
from analysis.lattice.qpi import inverse_filter
from analysis.lattice.symmetry import symmetrise

AMPLITUDE = "FFT amplitude"
PHASE = "FFT phase"
POWER = "FFT power"

Hooks = dict[str, Any]


def q_frame(qx: np.ndarray, qy: np.ndarray) -> Frame:
    """The reciprocal-space frame (1/m) whose pixel centres are the centred axes ``qx (nx,)``,
    ``qy (ny,)``."""
    nx, ny = qx.size, qy.size
    dqx, dqy = float(qx[1] - qx[0]), float(qy[1] - qy[0])
    cx = float(qx[0]) + (nx - 1) * dqx / 2
    cy = float(qy[0]) + (ny - 1) * dqy / 2
    return Frame(center=(cx, cy), size=(nx * dqx, ny * dqy), angle=0.0, shape=(ny, nx), unit=RECIPROCAL_UNIT)


def q_axes_of(ds: Grid | Image) -> tuple[np.ndarray, np.ndarray]:
    """(qx (nx,), qy (ny,)) in 1/m of an FFT dataset, from its frame."""
    ny, nx = ds.frame.shape
    qx, _ = ds.frame.pixel_to_xy(np.arange(nx), np.zeros(nx))
    _, qy = ds.frame.pixel_to_xy(np.zeros(ny), np.arange(ny))
    return np.asarray(qx, float), np.asarray(qy, float)


def is_fft(ds: Any) -> bool:
    """True for a dataset made by :func:`fft_of_image` or :func:`fft_of_grid`."""
    return isinstance(ds, Grid | Image) and ds.metadata.get("lattice", {}).get("kind") == "fft"


def map_channel(ds: Image) -> str:
    """The image channel the lattice tools use by default: the first forward height channel (unit m),
    else the first forward channel."""
    fwd = [c for c in ds.channels if not c.endswith(BWD_SUFFIX)] or list(ds.channels)
    if not fwd:
        raise LatticeError(f"{ds.name or 'the image'} has no channel")
    heights = [c for c in fwd if ds.unit(c) == "m"]
    return heights[0] if heights else fwd[0]


def lattice_map(ds: Grid | Image, channel: str | None = None) -> np.ndarray:
    """The (ny, nx) map a lattice is measured on: an image channel, or a grid's topography (its mean over
    the sweep of ``channel`` when it has none)."""
    if isinstance(ds, Image):
        return np.asarray(ds.channels[channel or map_channel(ds)], dtype=np.float64)
    topo = ds.topography
    if topo is not None and np.isfinite(topo).any():
        return np.asarray(topo, dtype=np.float64)
    ch = channel or next(iter(ds.channels))
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.asarray(ds.channels[ch], dtype=np.float64), axis=2)


def _provenance(ds: Grid | Image, operation: str, **parameters: Any) -> list[dict[str, Any]]:
    return [*ds.provenance, {"operation": operation, "parameters": parameters, "inputs": [ds.name]}]


def fft_of_image(image: Image, channel: str | None = None, window: str = "hann", **_hooks: Any) -> Image:
    """Image of the centred FFT of one channel: amplitude, phase (rad) and power maps on a q frame."""
    channel = channel or map_channel(image)
    res = fft_image(image.channels[channel], image.frame.pixel_size, window)
    unit = image.unit(channel)
    return Image(
        name=f"FFT of {image.name} {channel}".strip(),
        units={AMPLITUDE: unit, PHASE: "rad", POWER: f"{unit}^2" if unit else ""},
        metadata={
            "lattice": {
                "kind": "fft",
                "window": window,
                "source_channel": channel,
                "pixel_size": list(image.frame.pixel_size),
            }
        },
        source=image.source,
        provenance=_provenance(image, "fft", channel=channel, window=window),
        channels={
            AMPLITUDE: res.amplitude.astype(np.float32),
            PHASE: res.phase.astype(np.float32),
            POWER: res.power.astype(np.float32),
        },
        frame=q_frame(res.qx, res.qy),
    )


def fft_of_grid(
    grid: Grid,
    channel: str,
    window: str = "hann",
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Grid:
    """Grid of the FFT amplitude of every sweep slice of ``channel`` (the QPI stack), on a q frame.

    The complex transform is made and reduced to its amplitude in chunks of slices, so the memory needed
    beyond the result is that of one chunk."""
    cube = grid.channels[channel]
    ny, nx, nb = grid.shape
    amp = np.empty((ny, nx, nb), np.float32)
    chunk = 64
    res = None
    for lo in range(0, nb, chunk):
        hi = min(nb, lo + chunk)
        res = fft_grid(np.asarray(cube[:, :, lo:hi]), grid.frame.pixel_size, window, cancel=cancel)
        np.abs(res.spectrum, out=amp[:, :, lo:hi])
        if progress is not None:
            progress(hi, nb)
    if res is None:
        raise LatticeError(f"{grid.name or 'the grid'} has no sweep points")
    return Grid(
        name=f"FFT of {grid.name} {channel}".strip(),
        units={AMPLITUDE: grid.unit(channel)},
        metadata={
            "lattice": {
                "kind": "fft",
                "window": window,
                "source_channel": channel,
                "pixel_size": list(grid.frame.pixel_size),
            }
        },
        source=grid.source,
        provenance=_provenance(grid, "fft", channel=channel, window=window),
        bias=grid.bias.copy(),
        channels={AMPLITUDE: amp},
        frame=q_frame(res.qx, res.qy),
        valid=np.ones((ny, nx), bool),
        sweep_signal=grid.sweep_signal,
        sweep_unit=grid.sweep_unit,
        sweep_reversed=grid.sweep_reversed,
    )


def symmetrised(
    ds: Grid | Image,
    kind: str,
    axis: Sequence[float] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Grid | Image:
    """A copy of an FFT dataset with its amplitude (and power) symmetrised (see
    :func:`analysis.lattice.symmetry.symmetrise`); the phase is dropped, as it has no such symmetry."""
    if not is_fft(ds):
        raise LatticeError("symmetrisation applies to a Fourier transform; make one first")
    qx, qy = q_axes_of(ds)
    out = copy.copy(ds)
    out.channels = {}
    for name, data in ds.channels.items():
        if name == PHASE:
            continue
        out.channels[name] = symmetrise(np.asarray(data), qx, qy, kind, axis, progress, cancel).astype(
            np.float32
        )
    out.units = {k: v for k, v in ds.units.items() if k in out.channels}
    out.name = f"{ds.name} ({kind})"
    out.metadata = {**ds.metadata, "lattice": {**ds.metadata["lattice"], "symmetry": kind}}
    out.provenance = _provenance(ds, "symmetrise", kind=kind, axis=None if axis is None else list(axis))
    return out


def _per_channel(ds: Grid | Image, fn: Callable[[np.ndarray], np.ndarray], cancel: threading.Event | None):
    """Copies of the channels (and of a grid's parameter maps) of ``ds`` transformed by ``fn``."""
    channels = {}
    for name, data in ds.channels.items():
        if cancel is not None and cancel.is_set():
            break
        channels[name] = fn(np.asarray(data)).astype(np.float32)
    params = {n: fn(np.asarray(p, dtype=np.float64)) for n, p in getattr(ds, "params", {}).items()}
    return channels, params


def _copy_with(ds: Grid | Image, name: str, channels, params, prov) -> Grid | Image:
    out = copy.copy(ds)
    out.channels = channels
    out.name = name
    out.provenance = prov
    out.metadata = dict(ds.metadata)
    if isinstance(out, Grid):
        out.params = params
        out.valid = ds.valid.copy()
    return out


def drift_corrected(
    ds: Grid | Image,
    qa: Sequence[float],
    qb: Sequence[float],
    length: float | None = None,
    ideal: str = "",
    channel: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Grid | Image, DriftField]:
    """A drift-corrected copy of an image or grid: the displacement field is measured on
    :func:`lattice_map` with Bragg vectors ``qa``, ``qb`` (1/m) and applied to every channel (every slice
    of a grid) and parameter map. Returns the copy and the field."""
    z = lattice_map(ds, channel)
    field = displacement_field(z, ds.frame.pixel_size, np.asarray(qa), np.asarray(qb), length, ideal=ideal)
    n = len(ds.channels)
    done = [0]

    def fn(a: np.ndarray) -> np.ndarray:
        out = apply_field(a, field, order=3 if a.ndim == 2 else 1, cancel=cancel)
        done[0] += 1
        if progress is not None:
            progress(min(done[0], n), n)
        return out

    channels, params = _per_channel(ds, fn, cancel)
    label = f"{ds.name} (drift corrected{', ' + ideal if ideal else ''})"
    prov = _provenance(
        ds,
        "drift_correct",
        qa=[float(v) for v in qa],
        qb=[float(v) for v in qb],
        length=field.length,
        ideal=ideal,
        rms_displacement=field.rms(),
    )
    out = _copy_with(ds, label, channels, params, prov)
    if isinstance(out, Grid):
        out.valid = ds.valid & np.isfinite(apply_field(ds.valid.astype(np.float64), field, order=1))
    return out, field


def fourier_filtered(
    ds: Grid | Image,
    peaks: Sequence[Sequence[float]],
    radius: float,
    keep: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Grid | Image:
    """A copy with disks of ``radius`` (1/m) at ``peaks`` (and their inverses) removed from (or, with
    ``keep``, kept in) the Fourier transform of every channel and slice."""
    if not peaks:
        raise LatticeError("pick at least one Fourier peak to filter")
    pix = ds.frame.pixel_size
    channels, params = _per_channel(
        ds, lambda a: inverse_filter(a, pix, peaks, radius, keep, cancel=cancel), cancel
    )
    label = f"{ds.name} ({'Bragg filtered' if keep else 'peaks removed'})"
    prov = _provenance(
        ds, "fourier_filter", peaks=[list(map(float, p)) for p in peaks], radius=radius, keep=keep
    )
    return _copy_with(ds, label, channels, params, prov)


def aligned(
    ds: Grid | Image,
    reference: Grid | Image,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Grid | Image, tuple[float, float]]:
    """A copy of ``ds`` translated onto ``reference`` (co-registered frames): the shift between their
    :func:`lattice_map` maps (the reference resampled onto ``ds``'s pixels) by cross-correlation, applied
    to every channel and parameter map. Returns the copy and the shift (dx, dy) in metres."""
    if not ds.frame.same_area(reference.frame, rtol=0.05):
        raise LatticeError("the two datasets do not cover the same area; alignment needs co-registered scans")
    z = lattice_map(ds)
    ref = resample_to_frame(lattice_map(reference), reference.frame, ds.frame)
    dy, dx = estimate_shift(ref, z)
    channels, params = _per_channel(ds, lambda a: apply_shift(a, (dy, dx), cancel=cancel), cancel)
    px, py = ds.frame.pixel_size
    label = f"{ds.name} (aligned to {reference.name})"
    prov = _provenance(ds, "align", reference=reference.name, shift_px=[dx, dy], shift_m=[dx * px, dy * py])
    out = _copy_with(ds, label, channels, params, prov)
    if isinstance(out, Grid):
        out.valid = ds.valid & np.isfinite(apply_shift(ds.valid.astype(np.float64), (dy, dx), order=1))
    return out, (dx * px, dy * py)
