"""Write images, grids and spectra as a Gwyddion ``.gwy`` file, so maps open in Gwyddion.

Mapping (the inverse of :mod:`analysis.io.gwyddion`): each image channel and each per-pixel parameter of a
grid becomes a data field ``/N/data`` titled by the channel name (and, on request, each grid channel's map
at chosen sweep values: bias slices); each grid channel a volume
``/brick/N`` with its exact sweep values as the ``calibration`` line and a preview field (the mean over
the sweep); each spectrum channel a curve of a graph ``/0/graph/graph/N``. Rows are written top line first
with ``y_gwyddion = -y``, so Gwyddion shows the picture the workbench shows and a read back gives the
same coordinates. Rotated frames cannot be expressed in the format: the writer refuses them unless
``allow_rotation`` is set, in which case the axes are written unrotated and a warning is returned.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from analysis.dataset import Dataset, Frame, Grid, Image, Spectrum
from analysis.errors import WorkbenchError
from analysis.io.gwyddion_format import GwyObject, dumps


def _unit(s: str) -> GwyObject:
    return GwyObject("GwySIUnit", {"unitstr": s or ""})


def _geometry(frame: Frame) -> dict:
    w, h = frame.size
    cx, cy = frame.center
    return {"xreal": float(w), "yreal": float(h), "xoff": float(cx - w / 2), "yoff": float(-(cy + h / 2))}


def _data_field(img: np.ndarray, frame: Frame, z_unit: str) -> GwyObject:
    ny, nx = img.shape
    items = {"xres": int(nx), "yres": int(ny), **_geometry(frame)}
    items["si_unit_xy"] = _unit("m")
    items["si_unit_z"] = _unit(z_unit)
    items["data"] = np.ascontiguousarray(np.asarray(img, dtype=np.float64)[::-1]).ravel()
    return GwyObject("GwyDataField", items)


def _brick(cube: np.ndarray, grid: Grid, unit: str) -> GwyObject:
    ny, nx, nz = cube.shape
    z = np.asarray(grid.bias, dtype=np.float64)
    dz = (z[-1] - z[0]) / (nz - 1) if nz > 1 else 1.0
    items = {"xres": int(nx), "yres": int(ny), "zres": int(nz), **_geometry(grid.frame)}
    items["zreal"] = float(dz * nz)
    items["zoff"] = float(z[0])
    items["si_unit_x"] = _unit("m")
    items["si_unit_y"] = _unit("m")
    items["si_unit_z"] = _unit(grid.sweep_unit)
    items["si_unit_w"] = _unit(unit)
    flipped = np.asarray(cube, dtype=np.float64)[::-1]
    items["data"] = np.ascontiguousarray(flipped.transpose(2, 0, 1)).ravel()
    items["calibration"] = GwyObject(
        "GwyDataLine",
        {
            "res": int(nz),
            "real": float(dz * nz),
            "off": 0.0,
            "si_unit_x": _unit(""),
            "si_unit_y": _unit(grid.sweep_unit),
            "data": z.copy(),
        },
    )
    return GwyObject("GwyBrick", items)


def _check_frame(ds: Image | Grid, allow_rotation: bool, notes: list[str]) -> None:
    if abs(ds.frame.angle) > 1e-9:
        if not allow_rotation:
            raise WorkbenchError(
                f"{ds.name}: the scan frame is rotated by {ds.frame.angle:g} deg; a .gwy file has no rotation"
            )
        notes.append(f"{ds.name}: frame rotation {ds.frame.angle:g} deg not written")


def container(
    datasets: Sequence[Dataset], *, allow_rotation: bool = False, bias_slices: Sequence[float] = ()
) -> tuple[GwyObject, list[str]]:
    """The ``GwyContainer`` for ``datasets`` and the notes on what could not be expressed.

    ``bias_slices`` (sweep values, in each grid's sweep unit) add, for every grid channel, the map at the
    nearest sweep point as a data field titled ``"<channel> @ <value> <unit>"``.
    """
    top = GwyObject("GwyContainer")
    notes: list[str] = []
    n_field = n_brick = n_graph = 0

    def add_field(title: str, img: np.ndarray, frame: Frame, unit: str) -> None:
        nonlocal n_field
        top.items[f"/{n_field}/data"] = _data_field(img, frame, unit)
        top.items[f"/{n_field}/data/title"] = title
        n_field += 1

    for ds in datasets:
        if isinstance(ds, Image):
            _check_frame(ds, allow_rotation, notes)
            for name, img in ds.channels.items():
                add_field(name, np.asarray(img), ds.frame, ds.units.get(name, ""))
        elif isinstance(ds, Grid):
            _check_frame(ds, allow_rotation, notes)
            if not np.all(np.diff(ds.bias) > 0):
                raise WorkbenchError(f"{ds.name}: the sweep axis is not strictly ascending")
            for name, cube in ds.channels.items():
                arr = np.asarray(cube)
                unit = ds.units.get(name, "")
                top.items[f"/brick/{n_brick}"] = _brick(arr, ds, unit)
                top.items[f"/brick/{n_brick}/title"] = name
                with np.errstate(invalid="ignore", divide="ignore"):
                    count = np.sum(np.isfinite(arr), axis=2)
                    preview = np.where(count > 0, np.nansum(arr, axis=2) / np.maximum(count, 1), np.nan)
                top.items[f"/brick/{n_brick}/preview"] = _data_field(preview, ds.frame, unit)
                n_brick += 1
            for name, img in ds.params.items():
                add_field(name, np.asarray(img), ds.frame, ds.param_units.get(name, ""))
            for value in bias_slices:
                k = ds.bias_index(float(value))
                at = float(ds.bias[k])
                if not np.isclose(at, float(value), rtol=1e-6, atol=0.0):
                    notes.append(f"{ds.name}: no sweep point at {value:g} {ds.sweep_unit}, {at:g} used")
                for name in ds.channels:
                    title = f"{name} @ {at:g} {ds.sweep_unit}".rstrip()
                    add_field(title, ds.bias_slice(name, k), ds.frame, ds.units.get(name, ""))
        elif isinstance(ds, Spectrum):
            curves = []
            for name, y in ds.channels.items():
                curves.append(
                    GwyObject(
                        "GwyGraphCurveModel",
                        {
                            "xdata": np.asarray(ds.x, dtype=np.float64),
                            "ydata": np.asarray(y, dtype=np.float64),
                            "description": f"{ds.name} {name}".strip(),
                        },
                    )
                )
            units = {ds.units.get(n, "") for n in ds.channels}
            if len(units) > 1:
                notes.append(f"{ds.name}: channels with different units share one graph's y unit")
            first = next(iter(ds.channels), "")
            top.items[f"/0/graph/graph/{n_graph + 1}"] = GwyObject(
                "GwyGraphModel",
                {
                    "curves": curves,
                    "title": ds.name,
                    "x_unit": _unit(ds.x_unit),
                    "y_unit": _unit(ds.units.get(first, "")),
                    "bottom_label": ds.x_name,
                    "left_label": first,
                },
            )
            n_graph += 1
        else:
            raise WorkbenchError(f"{getattr(ds, 'name', ds)!r}: cannot be written to a Gwyddion file")
    if not top.items:
        raise WorkbenchError("nothing to write: no image, grid or spectrum channels")
    return top, notes


def write_gwy(
    path: str | os.PathLike[str],
    datasets: Sequence[Dataset],
    *,
    allow_rotation: bool = False,
    bias_slices: Sequence[float] = (),
) -> list[str]:
    """Write ``datasets`` to ``path`` (replaced atomically); returns notes on what was not expressible.

    ``bias_slices``: sweep values whose maps are written as images too (see :func:`container`).
    """
    top, notes = container(datasets, allow_rotation=allow_rotation, bias_slices=bias_slices)
    data = dumps(top)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WorkbenchError(f"{path}: cannot write the Gwyddion file: {exc.strerror or exc}") from None
    return notes
