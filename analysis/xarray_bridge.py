"""Grids, images, spectra and series as labelled ``xarray.Dataset`` objects, and back.

Layout of the xarray side (what :func:`to_xarray` makes and :func:`from_xarray` expects):

* Grid: dims ``("y", "x", "bias")``; coordinates ``x`` (nx,) and ``y`` (ny,) are the pixel centres in
  metres (frame-local axes shifted by the frame centre; a rotated frame keeps its angle in the attribute
  ``frame_angle_deg``), ``bias`` (nb,) the sweep in ``sweep_unit`` (``long_name`` the sweep signal). Each
  channel is a float32 variable over ``(y, x, bias)``, each per-pixel parameter a float64 variable over
  ``(y, x)`` with ``role = "parameter"``, the valid mask a bool variable ``valid`` with ``role = "valid"``.
* Image: dims ``("y", "x")``, one variable per channel.
* Spectrum: dim ``("bias",)`` (its ``long_name`` is the swept quantity), one variable per channel.
* Series: dims ``("sweep", "x")`` when every sweep has the same x values, otherwise ``("sweep", "point")``
  with ``x`` a 2D variable padded with NaN beyond each sweep's ``length``; channels over the same dims; each
  tag a coordinate along ``sweep`` with its unit.

Every variable and coordinate carries ``units``; the dataset attributes keep the name, kind, source,
warnings, provenance and metadata (JSON text, since netCDF attributes hold no nested data), so a round
trip gives back an equal object. xarray is imported when a function is called, not with ``analysis``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from analysis.dataset import Dataset, Frame, Grid, Image, Source, Spectrum
from analysis.errors import WorkbenchError
from analysis.series import Series, Sweep

ROLE = "role"


def _xr():
    try:
        import xarray
    except ImportError as exc:  # pragma: no cover - xarray is a dependency
        raise WorkbenchError("xarray is not installed: pip install xarray") from exc
    return xarray


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o))


def _common_attrs(ds: Any) -> dict[str, Any]:
    src = getattr(ds, "source", Source())
    return {
        "name": ds.name,
        "kind": ds.kind,
        "source_path": src.path,
        "source_reader": src.reader,
        "source_index": int(src.index),
        "warnings": _json(list(ds.warnings)),
        "provenance": _json(list(ds.provenance)),
        "metadata": _json(ds.metadata),
    }


def _loads(attrs: dict[str, Any], key: str, default: Any) -> Any:
    raw = attrs.get(key)
    if not isinstance(raw, str):
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return default


def _common_kwargs(attrs: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": str(attrs.get("name", "")),
        "source": Source(
            str(attrs.get("source_path", "")),
            str(attrs.get("source_reader", "")),
            int(attrs.get("source_index", 0)),
        ),
        "warnings": list(_loads(attrs, "warnings", [])),
        "provenance": list(_loads(attrs, "provenance", [])),
        "metadata": dict(_loads(attrs, "metadata", {})),
    }


def _frame_coords(frame: Frame) -> dict[str, tuple]:
    ny, nx = frame.shape
    w, h = frame.size
    cx, cy = frame.center
    x = cx + (np.arange(nx) + 0.5) * w / nx - w / 2
    y = cy + (np.arange(ny) + 0.5) * h / ny - h / 2
    return {"x": ("x", x, {"units": "m", "long_name": "x"}), "y": ("y", y, {"units": "m", "long_name": "y"})}


def _frame_from(xds: Any) -> Frame:
    x = np.asarray(xds["x"].values, dtype=np.float64)
    y = np.asarray(xds["y"].values, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or x.size < 1 or y.size < 1:
        raise WorkbenchError("the dataset needs 1D 'x' and 'y' coordinates")

    def extent(c: np.ndarray) -> tuple[float, float]:
        if c.size == 1:
            return float(c[0]), 1e-9
        step = (c[-1] - c[0]) / (c.size - 1)
        if not np.allclose(np.diff(c), step, rtol=1e-6, atol=0):
            raise WorkbenchError(
                "the 'x'/'y' coordinates are not evenly spaced; a scan frame needs a regular grid"
            )
        if step <= 0:
            raise WorkbenchError("the 'x'/'y' coordinates must increase")
        return float((c[0] + c[-1]) / 2), float(step * c.size)

    (cx, w), (cy, h) = extent(x), extent(y)
    angle = float(xds.attrs.get("frame_angle_deg", 0.0))
    return Frame(center=(cx, cy), size=(w, h), angle=angle, shape=(y.size, x.size))


def _units(var: Any) -> str:
    u = var.attrs.get("units", "")
    return u if isinstance(u, str) else str(u)


# --------------------------------------------------------------------------------------------------
# To xarray


def to_xarray(ds: Dataset | Series) -> Any:
    """An ``xarray.Dataset`` holding ``ds`` (see the module docstring for the layout)."""
    xr = _xr()
    attrs = _common_attrs(ds)
    if isinstance(ds, Grid):
        coords = _frame_coords(ds.frame)
        coords["bias"] = ("bias", np.asarray(ds.bias), {"units": ds.sweep_unit, "long_name": ds.sweep_signal})
        data: dict[str, Any] = {}
        for name, cube in ds.channels.items():
            data[name] = (
                ("y", "x", "bias"),
                np.asarray(cube, dtype=np.float32),
                {"units": ds.units.get(name, "")},
            )
        for name, img in ds.params.items():
            key = name if name not in data else f"{name} (parameter)"
            data[key] = (
                ("y", "x"),
                np.asarray(img, dtype=np.float64),
                {"units": ds.param_units.get(name, ""), ROLE: "parameter", "parameter": name},
            )
        data["valid" if "valid" not in data else "valid (mask)"] = (
            ("y", "x"),
            np.asarray(ds.valid, bool),
            {ROLE: "valid"},
        )
        attrs.update(frame_angle_deg=float(ds.frame.angle), sweep_reversed=int(ds.sweep_reversed))
        return xr.Dataset(data, coords=coords, attrs=attrs)
    if isinstance(ds, Image):
        coords = _frame_coords(ds.frame)
        data = {
            n: (("y", "x"), np.asarray(a), {"units": ds.units.get(n, "")}) for n, a in ds.channels.items()
        }
        attrs.update(frame_angle_deg=float(ds.frame.angle), scan_direction=ds.scan_direction)
        return xr.Dataset(data, coords=coords, attrs=attrs)
    if isinstance(ds, Spectrum):
        coords = {"bias": ("bias", np.asarray(ds.x), {"units": ds.x_unit, "long_name": ds.x_name})}
        data = {n: (("bias",), np.asarray(a), {"units": ds.units.get(n, "")}) for n, a in ds.channels.items()}
        attrs.update(sweep_reversed=int(ds.sweep_reversed))
        if ds.position is not None:
            attrs.update(position_x=float(ds.position[0]), position_y=float(ds.position[1]))
        return xr.Dataset(data, coords=coords, attrs=attrs)
    if isinstance(ds, Series):
        return _series_to_xarray(xr, ds, attrs)
    raise WorkbenchError(f"cannot convert a {type(ds).__name__} to xarray")


def _series_to_xarray(xr: Any, s: Series, attrs: dict[str, Any]) -> Any:
    sweeps = list(s)
    n = len(sweeps)
    lengths = np.array([len(w) for w in sweeps], dtype=np.int64)
    channels = list(s.units) or (list(sweeps[0].channels) if sweeps else [])
    xs = [np.asarray(w.x, dtype=np.float64) for w in sweeps]
    shared = n > 0 and all(x.shape == xs[0].shape and np.array_equal(x, xs[0]) for x in xs)
    coords: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for tag, values in s.tags.items():
        coords[tag] = ("sweep", np.asarray(values), {"units": s.tag_unit(tag)})
    coords["label"] = ("sweep", np.array([w.label for w in sweeps], dtype=object))
    if shared:
        dims = ("sweep", "x")
        coords["x"] = ("x", xs[0], {"units": s.x_unit, "long_name": s.x_name})
        for c in channels:
            data[c] = (dims, np.stack([w.channel(c) for w in sweeps]), {"units": s.unit(c)})
    else:
        dims = ("sweep", "point")
        m = int(lengths.max()) if n else 0
        pad = np.full((n, m), np.nan)
        xpad = pad.copy()
        for i, x in enumerate(xs):
            xpad[i, : x.size] = x
        data["x"] = (dims, xpad, {"units": s.x_unit, "long_name": s.x_name, ROLE: "sweep axis"})
        for c in channels:
            arr = pad.copy()
            for i, w in enumerate(sweeps):
                v = w.channel(c)
                arr[i, : v.size] = v
            data[c] = (dims, arr, {"units": s.unit(c)})
    data["length"] = (("sweep",), lengths, {ROLE: "length"})
    attrs.update(x_channel=s.x_channel, bias_mode=s.bias_mode, x_name=s.x_name, x_unit=s.x_unit)
    return xr.Dataset(data, coords=coords, attrs=attrs)


# --------------------------------------------------------------------------------------------------
# From xarray


def from_xarray(xds: Any) -> Dataset | Series:
    """The data-model object for an ``xarray.Dataset`` laid out as the module docstring says.

    The kind comes from the ``kind`` attribute, or from the dims when it is absent (``bias`` with ``y``
    and ``x`` a grid, ``y`` and ``x`` an image, ``bias`` alone a spectrum, ``sweep`` a series).
    """
    dims = set(xds.dims)
    kind = xds.attrs.get("kind")
    if kind not in ("grid", "image", "spectrum", "series"):
        if "sweep" in dims:
            kind = "series"
        elif {"y", "x", "bias"} <= dims:
            kind = "grid"
        elif {"y", "x"} <= dims:
            kind = "image"
        elif "bias" in dims:
            kind = "spectrum"
        else:
            raise WorkbenchError(f"cannot tell the data kind from dims {sorted(dims)}")
    common = _common_kwargs(xds.attrs)
    if kind == "grid":
        return _grid_from(xds, common)
    if kind == "image":
        frame = _frame_from(xds)
        channels, units = {}, {}
        for name, var in xds.data_vars.items():
            if var.dims == ("y", "x"):
                channels[str(name)] = np.asarray(var.values, dtype=np.float32)
                units[str(name)] = _units(var)
        return Image(
            channels=channels,
            units=units,
            frame=frame,
            scan_direction=str(xds.attrs.get("scan_direction", "up")),
            **common,
        )
    if kind == "spectrum":
        bias = xds["bias"]
        channels, units = {}, {}
        for name, var in xds.data_vars.items():
            if var.dims == ("bias",):
                channels[str(name)] = np.asarray(var.values, dtype=np.float64)
                units[str(name)] = _units(var)
        pos = None
        if "position_x" in xds.attrs and "position_y" in xds.attrs:
            pos = (float(xds.attrs["position_x"]), float(xds.attrs["position_y"]))
        return Spectrum(
            x=np.asarray(bias.values, dtype=np.float64),
            channels=channels,
            units=units,
            x_name=str(bias.attrs.get("long_name", "Bias")),
            x_unit=_units(bias),
            sweep_reversed=bool(xds.attrs.get("sweep_reversed", 0)),
            position=pos,
            **common,
        )
    return _series_from(xds, common)


def _grid_from(xds: Any, common: dict[str, Any]) -> Grid:
    frame = _frame_from(xds)
    bias = xds["bias"]
    b = np.asarray(bias.values, dtype=np.float64)
    if b.size > 1 and not np.all(np.diff(b) > 0):
        raise WorkbenchError("the 'bias' coordinate must be strictly ascending")
    channels, units, params, param_units = {}, {}, {}, {}
    valid = np.ones(frame.shape, bool)
    for name, var in xds.data_vars.items():
        role = var.attrs.get(ROLE)
        if role == "valid":
            valid = np.asarray(var.transpose("y", "x").values, bool)
        elif set(var.dims) == {"y", "x", "bias"}:
            channels[str(name)] = np.ascontiguousarray(
                var.transpose("y", "x", "bias").values, dtype=np.float32
            )
            units[str(name)] = _units(var)
        elif set(var.dims) == {"y", "x"}:
            pname = str(var.attrs.get("parameter", name))
            params[pname] = np.asarray(var.transpose("y", "x").values, dtype=np.float64)
            param_units[pname] = _units(var)
    return Grid(
        bias=b,
        channels=channels,
        units=units,
        frame=frame,
        params=params,
        param_units=param_units,
        valid=valid,
        sweep_signal=str(bias.attrs.get("long_name", "Bias")),
        sweep_unit=_units(bias),
        sweep_reversed=bool(xds.attrs.get("sweep_reversed", 0)),
        **common,
    )


def _series_from(xds: Any, common: dict[str, Any]) -> Series:
    n = int(xds.sizes["sweep"])
    lengths = np.asarray(xds["length"].values, dtype=np.int64) if "length" in xds else None
    shared = "x" in xds.dims
    xvar = xds["x"]
    channels = [
        str(k)
        for k, v in xds.data_vars.items()
        if v.dims and v.dims[0] == "sweep" and len(v.dims) == 2 and k != "x"
    ]
    labels = xds["label"].values if "label" in xds.coords else [""] * n
    sweeps = []
    for i in range(n):
        x = np.asarray(xvar.values if shared else xvar.values[i], dtype=np.float64)
        m = int(lengths[i]) if lengths is not None else (x.size if shared else int(np.sum(np.isfinite(x))))
        sweeps.append(
            Sweep(
                x=x[:m].copy(),
                channels={c: np.asarray(xds[c].values[i, :m], dtype=np.float64) for c in channels},
                label=str(labels[i]),
            )
        )
    tags, tag_units = {}, {}
    for name, coord in xds.coords.items():
        if coord.dims == ("sweep",) and name != "label":
            tags[str(name)] = np.asarray(coord.values, dtype=np.float64)
            tag_units[str(name)] = _units(coord)
    attrs = xds.attrs
    return Series(
        sweeps=sweeps,
        x_name=str(attrs.get("x_name", xvar.attrs.get("long_name", "Current"))),
        x_unit=str(attrs.get("x_unit", _units(xvar))),
        x_channel=str(attrs.get("x_channel", "Current")),
        bias_mode=str(attrs.get("bias_mode", "current")),
        units={c: _units(xds[c]) for c in channels},
        tags=tags,
        tag_units=tag_units,
        **common,
    )
