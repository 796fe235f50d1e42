"""Data model: spectroscopy grids, point spectra and images, in SI units.

Conventions shared by every reader, processing step and view:

* Units are SI (V, A, S, m, K, Ohm, Hz); ``units`` maps each channel to its unit string.
* Pixel arrays are indexed ``[iy, ix]``. Row ``iy = 0`` is the *lowest* line of the scan frame (smallest
  frame-local y) and column ``ix = 0`` the leftmost, whatever the scan direction was; readers orient the
  data accordingly and record the scan direction in metadata.
* A grid's sweep axis ``bias`` is ascending. If the instrument swept downwards the reader reverses the
  spectra and sets ``sweep_reversed`` so the direction is recorded, never guessed.
* Forward and backward channels stay separate; a backward channel carries the suffix ``" [bwd]"``.
* Channel cubes are ``(ny, nx, nb)`` float32, C-contiguous (a spectrum is contiguous in memory). A cube may
  also be a lazy array-like (an ``h5py.Dataset`` from a project file) supporting basic slicing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BWD_SUFFIX = " [bwd]"
RECIPROCAL_UNIT = "1/m"  # the unit of a reciprocal-space frame (see Frame.unit)


@dataclass(frozen=True)
class Source:
    """Where a dataset came from: the file path and the reader that produced it."""

    path: str = ""
    reader: str = ""
    index: int = 0  # position in the list a multi-dataset file returned


@dataclass(frozen=True)
class Frame:
    """A rectangular scan frame in the sample plane.

    ``center`` (x, y) and ``size`` (width, height) in metres; ``angle`` in degrees, counter-clockwise,
    rotating the frame about its centre; ``shape`` (ny, nx) pixels. Pixel ``(iy, ix)`` has its centre at
    frame-local coordinates ``u = (ix + 0.5) * width / nx - width / 2`` and
    ``v = (iy + 0.5) * height / ny - height / 2``.

    ``unit`` says what space the frame is in: ``"m"`` (the sample plane, the default) or ``"1/m"`` for a
    reciprocal-space frame (a Fourier transform), whose ``center`` and ``size`` are wave vectors in 1/m.
    """

    center: tuple[float, float] = (0.0, 0.0)
    size: tuple[float, float] = (1e-9, 1e-9)
    angle: float = 0.0
    shape: tuple[int, int] = (1, 1)
    unit: str = "m"

    @property
    def reciprocal(self) -> bool:
        """True for a reciprocal-space frame (coordinates are wave vectors in 1/m)."""
        return self.unit == RECIPROCAL_UNIT

    @property
    def pixel_size(self) -> tuple[float, float]:
        """(dx, dy) in metres."""
        ny, nx = self.shape
        return (self.size[0] / max(nx, 1), self.size[1] / max(ny, 1))

    def _rot(self) -> tuple[float, float]:
        a = math.radians(self.angle)
        return math.cos(a), math.sin(a)

    def pixel_to_xy(self, ix: Any, iy: Any) -> tuple[np.ndarray, np.ndarray]:
        """Physical (x, y) in metres of (possibly fractional) pixel indices; vectorised."""
        ix = np.asarray(ix, dtype=float)
        iy = np.asarray(iy, dtype=float)
        dx, dy = self.pixel_size
        u = (ix + 0.5) * dx - self.size[0] / 2
        v = (iy + 0.5) * dy - self.size[1] / 2
        c, s = self._rot()
        return self.center[0] + c * u - s * v, self.center[1] + s * u + c * v

    def xy_to_pixel(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Fractional pixel indices (ix, iy) of physical points (metres); inverse of ``pixel_to_xy``."""
        x = np.asarray(x, dtype=float) - self.center[0]
        y = np.asarray(y, dtype=float) - self.center[1]
        c, s = self._rot()
        u = c * x + s * y
        v = -s * x + c * y
        dx, dy = self.pixel_size
        return (u + self.size[0] / 2) / dx - 0.5, (v + self.size[1] / 2) / dy - 0.5

    def nearest_pixel(self, x: float, y: float) -> tuple[int, int] | None:
        """(iy, ix) of the pixel containing physical point (x, y), or None when outside the frame."""
        fx, fy = self.xy_to_pixel(x, y)
        ix, iy = int(np.floor(fx + 0.5)), int(np.floor(fy + 0.5))
        ny, nx = self.shape
        if 0 <= ix < nx and 0 <= iy < ny:
            return iy, ix
        return None

    def same_area(self, other: Frame, rtol: float = 1e-3) -> bool:
        """True when two frames cover the same area (co-registered), whatever their pixel counts."""
        scale = max(self.size[0], self.size[1], 1e-30)
        return (
            abs(self.center[0] - other.center[0]) <= rtol * scale
            and abs(self.center[1] - other.center[1]) <= rtol * scale
            and abs(self.size[0] - other.size[0]) <= rtol * scale
            and abs(self.size[1] - other.size[1]) <= rtol * scale
            and abs(self.angle - other.angle) <= 1e-3
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "center": list(self.center),
            "size": list(self.size),
            "angle": self.angle,
            "shape": list(self.shape),
        }
        if self.unit != "m":  # real-space frames are written as before
            d["unit"] = self.unit
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Frame:
        return cls(
            center=(float(d["center"][0]), float(d["center"][1])),
            size=(float(d["size"][0]), float(d["size"][1])),
            angle=float(d.get("angle", 0.0)),
            shape=(int(d["shape"][0]), int(d["shape"][1])),
            unit=str(d.get("unit", "m")),
        )


@dataclass
class _Common:
    """Fields every dataset kind carries."""

    name: str = ""
    units: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    source: Source = field(default_factory=Source)
    warnings: list[str] = field(default_factory=list)
    # How a derived dataset was made: a list of {"operation": str, "parameters": {...}, "inputs": [...]}
    provenance: list[dict[str, Any]] = field(default_factory=list)

    def unit(self, channel: str) -> str:
        return self.units.get(channel, "")

    def channel_names(self, direction: str = "all") -> list[str]:
        """Channel names; ``direction`` in {"all", "fwd", "bwd"}."""
        names = list(self.channels)  # type: ignore[attr-defined]
        if direction == "fwd":
            return [n for n in names if not n.endswith(BWD_SUFFIX)]
        if direction == "bwd":
            return [n for n in names if n.endswith(BWD_SUFFIX)]
        return names

    def to_xarray(self) -> Any:
        """This dataset as an ``xarray.Dataset`` (layout: :mod:`analysis.xarray_bridge`)."""
        from analysis.xarray_bridge import to_xarray

        return to_xarray(self)  # type: ignore[arg-type]

    @classmethod
    def from_xarray(cls, xds: Any) -> Any:
        """The dataset held by ``xds``, laid out as :mod:`analysis.xarray_bridge` says."""
        from analysis.xarray_bridge import from_xarray

        out = from_xarray(xds)
        if cls is not _Common and not isinstance(out, cls):
            raise TypeError(f"the xarray dataset holds a {out.kind}, not a {cls.kind}")  # type: ignore[attr-defined]
        return out


@dataclass
class Grid(_Common):
    """Grid spectroscopy: a spectrum at every pixel of a scan frame.

    Attributes
    ----------
    bias : (nb,) float64, ascending, in ``sweep_unit`` (V for bias spectroscopy, m for Z spectroscopy).
    channels : {name: (ny, nx, nb) float32 array or lazy array-like}, units in ``units``.
    frame : scan frame; ``frame.shape == (ny, nx)``.
    params : {name: (ny, nx) float64} per-pixel parameters (``"Z"`` is the topography when recorded),
        units in ``param_units``.
    valid : (ny, nx) bool; False where an aborted grid never measured (data are NaN there).
    sweep_signal, sweep_unit : what the sweep axis is (``"Bias"``, ``"V"``) — never assumed.
    sweep_reversed : True when the instrument swept from high to low (the arrays were reversed).
    """

    bias: np.ndarray = field(default_factory=lambda: np.zeros(0))
    channels: dict[str, Any] = field(default_factory=dict)
    frame: Frame = field(default_factory=Frame)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    param_units: dict[str, str] = field(default_factory=dict)
    valid: np.ndarray = field(default_factory=lambda: np.ones((1, 1), bool))
    sweep_signal: str = "Bias"
    sweep_unit: str = "V"
    sweep_reversed: bool = False

    kind = "grid"

    @property
    def shape(self) -> tuple[int, int, int]:
        """(ny, nx, nb)."""
        return (self.frame.shape[0], self.frame.shape[1], int(self.bias.shape[0]))

    @property
    def topography(self) -> np.ndarray | None:
        """(ny, nx) float64 topography in metres when the instrument recorded Z per pixel, else None."""
        for key in ("Z", "Z (m)", "Topography"):
            if key in self.params:
                return self.params[key]
        return None

    def bias_index(self, value: float) -> int:
        """Index of the sweep point closest to ``value`` (sweep units)."""
        if self.bias.size == 0:
            raise ValueError("grid has no sweep points")
        return int(np.argmin(np.abs(self.bias - value)))

    def bias_slice(self, channel: str, index: int, half_width: int = 0) -> np.ndarray:
        """(ny, nx) float32 image of ``channel`` at sweep index ``index``.

        With ``half_width > 0`` the image is the NaN-aware mean over indices
        ``index - half_width .. index + half_width`` (clipped to the axis).
        """
        cube = self.channels[channel]
        nb = self.shape[2]
        if not 0 <= index < nb:
            raise IndexError(f"sweep index {index} outside 0..{nb - 1}")
        if half_width <= 0:
            return np.asarray(cube[:, :, index], dtype=np.float32)
        lo, hi = max(0, index - half_width), min(nb, index + half_width + 1)
        block = np.asarray(cube[:, :, lo:hi], dtype=np.float32)
        with np.errstate(invalid="ignore"):
            count = np.sum(np.isfinite(block), axis=2)
            total = np.nansum(block, axis=2, dtype=np.float64)
            out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return out.astype(np.float32)

    def spectrum(self, channel: str, iy: int, ix: int) -> np.ndarray:
        """(nb,) float32 spectrum of ``channel`` at pixel (iy, ix)."""
        return np.asarray(self.channels[channel][iy, ix, :], dtype=np.float32)

    def pixel_to_xy(self, ix: Any, iy: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.frame.pixel_to_xy(ix, iy)

    def xy_to_pixel(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.frame.xy_to_pixel(x, y)

    def valid_fraction(self) -> float:
        return float(np.mean(self.valid)) if self.valid.size else 0.0


@dataclass
class Spectrum(_Common):
    """One sweep: point spectra, transport I(V) curves.

    Attributes
    ----------
    x : (n,) float64 ascending sweep axis in ``x_unit`` (V for bias).
    channels : {name: (n,) float64} with units in ``units``.
    position : (x, y) in metres where the spectrum was taken, when known.
    """

    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    channels: dict[str, np.ndarray] = field(default_factory=dict)
    x_name: str = "Bias"
    x_unit: str = "V"
    sweep_reversed: bool = False
    position: tuple[float, float] | None = None

    kind = "spectrum"

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class Image(_Common):
    """A 2D scan (topography, current, ...).

    Attributes
    ----------
    channels : {name: (ny, nx) float32}; row 0 is the lowest line of the frame (see module docstring);
        backward channels are flipped so that column 0 is leftmost, like the forward ones.
    frame : scan frame.
    scan_direction : "up" or "down" as recorded by the instrument.
    """

    channels: dict[str, np.ndarray] = field(default_factory=dict)
    frame: Frame = field(default_factory=Frame)
    scan_direction: str = "up"

    kind = "image"

    @property
    def shape(self) -> tuple[int, int]:
        return self.frame.shape


Dataset = Grid | Spectrum | Image


def ensure_ascending(
    axis: np.ndarray, arrays: Sequence[np.ndarray], along: int = -1
) -> tuple[np.ndarray, list[np.ndarray], bool]:
    """Return the sweep axis ascending and ``arrays`` reversed along ``along`` when it was descending.

    The third value says whether a reversal happened (store it as ``sweep_reversed``).
    """
    axis = np.asarray(axis, dtype=np.float64)
    if axis.size >= 2 and axis[-1] < axis[0]:
        flipped = [np.ascontiguousarray(np.flip(a, axis=along)) for a in arrays]
        return axis[::-1].copy(), flipped, True
    return axis, list(arrays), False
