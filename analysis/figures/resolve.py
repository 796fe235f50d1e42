"""Panels resolved against the session's data: the arrays a renderer draws, in SI units.

:class:`FigureSources` is what a session offers a figure (datasets, regions, line cuts, fits, series by
key). :func:`resolve` turns one panel of :mod:`analysis.figures.description` into one of
:class:`MapData`, :class:`CurvesData`, :class:`CutImageData` or :class:`ScatterData`, using the analysis
functions the views use (grid slices, :func:`~analysis.maps.averaging.region_average`,
:func:`~analysis.maps.normalisation.normalise`, :func:`~analysis.maps.linecut.cut_path`,
:func:`~analysis.maps.profile_fit.fit_profile`, :func:`~analysis.maps.correlation.correlate_maps`), so a
figure shows the numbers the screen shows. A missing key or channel raises :class:`FigureError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.dataset import Frame, Grid, Image, Spectrum
from analysis.errors import FitError, WorkbenchError
from analysis.figures.description import (
    CorrelationPanel,
    FitPanel,
    LineCutPanel,
    MapPanel,
    Panel,
    PointSpectraPanel,
    ProfilePanel,
    RegionSpectraPanel,
    SeriesMapPanel,
    XYPanel,
)
from analysis.maps.averaging import region_average
from analysis.maps.correlation import correlate_maps, labels_from_masks, map_in_frame
from analysis.maps.linecut import CutPath, LineCut, cut_path
from analysis.maps.normalisation import Normalisation, auto_offset, normalise
from analysis.maps.profile_fit import fit_profile
from analysis.maps.regions import Region

Colour = tuple[int, int, int]
GREY: Colour = (150, 150, 150)


class FigureError(WorkbenchError):
    """A panel refers to data that are not there (a key, a channel, a bias outside the sweep)."""


@dataclass
class XYSeries:
    """One curve for an :class:`~analysis.figures.description.XYPanel`: ``x``, ``y`` (n,) in the panel's
    units, optional ``yerr`` (n,), a ``label``, an RGB ``colour`` (None: the default cycle) and a
    ``style`` ("line", "dashed" or "markers"; empty: the panel's, markers when its ``markers`` is set)."""

    x: np.ndarray
    y: np.ndarray
    label: str = ""
    yerr: np.ndarray | None = None
    colour: Colour | None = None
    style: str = ""


@dataclass
class FigureSources:
    """What a session offers a figure, by key: ``datasets`` (Grid, Image or Spectrum), ``regions``,
    ``linecuts`` (:class:`~analysis.maps.linecut.CutPath`), ``fits`` (fit records) and ``series``
    (:class:`XYSeries`)."""

    datasets: Mapping[str, Grid | Image | Spectrum] = field(default_factory=dict)
    regions: Mapping[str, Region] = field(default_factory=dict)
    linecuts: Mapping[str, CutPath] = field(default_factory=dict)
    fits: Mapping[str, Any] = field(default_factory=dict)
    series: Mapping[str, XYSeries] = field(default_factory=dict)


# -- resolved data ------------------------------------------------------------------------------------------
@dataclass
class Outline:
    """A region's boundary along pixel edges: ``segments`` (k, 2, 2) in frame-local metres (x, y) measured
    from the frame centre, before the frame's rotation."""

    name: str
    colour: Colour
    segments: np.ndarray


@dataclass
class MapData:
    """A map to draw: ``values`` (ny, nx) float64 in ``unit`` (SI), row 0 the lowest line of ``frame``;
    ``vmin``/``vmax`` colour limits (SI); outlines, pins ((x, y) m), cuts ((k, 2) vertices in m, name);
    ``zoom`` (x0, x1, y0, y1) m; a colour bar, axes in nm or a scale bar of ``scale_bar_m``."""

    values: np.ndarray
    frame: Frame
    unit: str
    label: str
    cmap: str
    vmin: float
    vmax: float
    outlines: list[Outline] = field(default_factory=list)
    pins: list[tuple[float, float]] = field(default_factory=list)
    cuts: list[tuple[np.ndarray, str]] = field(default_factory=list)
    zoom: tuple[float, float, float, float] | None = None
    title: str = ""
    colorbar: bool = True
    show_axes: bool = False
    scale_bar_m: float | None = None


@dataclass
class Curve:
    """One curve: ``y`` (n,) on the panel's ``x``, optional ``std`` band (n,), ``label``, RGB ``colour``,
    ``style`` ``"line"``, ``"dashed"`` or ``"markers"``; ``x`` (n,) when it differs from the panel's."""

    y: np.ndarray
    label: str = ""
    colour: Colour | None = None
    std: np.ndarray | None = None
    style: str = "line"
    x: np.ndarray | None = None


@dataclass
class CurvesData:
    """Curves on a shared axis ``x`` (n,) in ``x_unit``; ``y`` values in ``y_unit`` (``""`` when
    normalised). ``note`` is a short text drawn in the panel (a fitted length)."""

    x: np.ndarray
    curves: list[Curve]
    x_label: str
    x_unit: str
    y_label: str
    y_unit: str
    legend: str = "inside"
    xlim: tuple[float, float] | None = None
    note: str = ""
    log_x: bool = False
    log_y: bool = False
    title: str = ""
    hide_y_ticks: bool = False


@dataclass
class CutImageData:
    """A line cut's top view (or, with ``surface``, its 3D surface): ``values`` (n_points, nb) in ``unit``,
    ``distance`` (n_points,) m, ``sweep`` (nb,) in ``sweep_unit``."""

    values: np.ndarray
    distance: np.ndarray
    sweep: np.ndarray
    sweep_unit: str
    unit: str
    label: str
    cmap: str
    vmin: float
    vmax: float
    colorbar: bool = True
    xlim: tuple[float, float] | None = None
    title: str = ""
    surface: bool = False


@dataclass
class ScatterData:
    """Scatter of ``y`` against ``x`` (n,) with an RGB colour per point ``colours`` (n, 3) uint8, legend
    entries (name, colour), Pearson ``r`` over every point."""

    x: np.ndarray
    y: np.ndarray
    colours: np.ndarray
    x_label: str
    x_unit: str
    y_label: str
    y_unit: str
    legend: list[tuple[str, Colour]]
    r: float
    marker_size: float = 2.0
    title: str = ""


@dataclass
class FitData:
    """A fit to draw: data ``x``, ``y`` (n,), the model ``model`` on ``x_model`` (m,), ``residual`` (n,)
    (None: no residual strip), all in SI units; ``note`` lists parameter values."""

    x: np.ndarray
    y: np.ndarray
    x_model: np.ndarray
    model: np.ndarray
    residual: np.ndarray | None
    x_label: str
    x_unit: str
    y_label: str
    y_unit: str
    note: str = ""
    title: str = ""


@dataclass
class TagMapData:
    """A series' quantity against x and a tag: ``values`` (n_tag, n_x) in ``unit``, ``x`` (n_x,) and
    ``tag`` (n_tag,) evenly spaced pixel centres in ``x_unit`` and ``tag_unit``."""

    values: np.ndarray
    x: np.ndarray
    tag: np.ndarray
    x_label: str
    x_unit: str
    tag_label: str
    tag_unit: str
    label: str
    unit: str
    cmap: str
    vmin: float
    vmax: float
    colorbar: bool = True
    title: str = ""


Resolved = MapData | CurvesData | CutImageData | ScatterData | FitData | TagMapData


# -- helpers ------------------------------------------------------------------------------------------------
def _dataset(sources: FigureSources, key: str) -> Grid | Image | Spectrum:
    if key not in sources.datasets:
        raise FigureError(f"no dataset {key!r} (have: {', '.join(sources.datasets) or 'none'})")
    return sources.datasets[key]


def _grid(sources: FigureSources, key: str) -> Grid:
    ds = _dataset(sources, key)
    if not isinstance(ds, Grid):
        raise FigureError(f"dataset {key!r} is a {ds.kind}, not a grid")
    return ds


def _region(sources: FigureSources, key: str) -> Region:
    if key not in sources.regions:
        raise FigureError(f"no region {key!r} (have: {', '.join(sources.regions) or 'none'})")
    return sources.regions[key]


def _panel_regions(panel: Any, sources: FigureSources, frame: Frame) -> list[Region]:
    """The regions a panel draws: those it names, or with ``all_regions`` every region of the sources
    that covers a pixel of ``frame`` (the live collection, in its order)."""
    if getattr(panel, "all_regions", False):
        return [r for r in sources.regions.values() if r.mask_in(frame).any()]
    return [_region(sources, k) for k in panel.regions]


def _cut(sources: FigureSources, key: str) -> CutPath:
    if key not in sources.linecuts:
        raise FigureError(f"no line cut {key!r} (have: {', '.join(sources.linecuts) or 'none'})")
    return sources.linecuts[key]


def _channel(ds: Grid | Image, channel: str, key: str) -> None:
    if channel not in ds.channels:
        raise FigureError(f"dataset {key!r} has no channel {channel!r} (has: {', '.join(ds.channels)})")


def bias_text(bias: float, unit: str = "V") -> str:
    """``-0.005`` -> ``"-5 mV"`` (a true minus sign); below 0.1 mV rounded to 0.01 mV
    (``-7.8e-6`` -> ``"-0.01 mV"``)."""
    if unit == "V":
        mv = bias * 1e3
        text = f"{mv:.3g} mV" if abs(mv) >= 0.1 else f"{round(mv, 2) + 0.0:g} mV"
    else:
        text = f"{bias:.3g} {unit}"
    return text.replace("-", "\u2212")


def grid_map(grid: Grid, channel: str, bias: float, window: int = 0) -> np.ndarray:
    """(ny, nx) float64 map of ``channel`` at the sweep point closest to ``bias`` (sweep unit), the mean
    over ``window`` sweep points either side (like the slicer's averaging)."""
    if grid.bias.size and not (grid.bias[0] - 1e-12 <= bias <= grid.bias[-1] + 1e-12):
        raise FigureError(
            f"bias {bias_text(bias, grid.sweep_unit)} lies outside the sweep of {grid.name or 'the grid'}"
        )
    return np.asarray(grid.bias_slice(channel, grid.bias_index(bias), max(0, int(window))), dtype=np.float64)


def colour_limits(
    values: np.ndarray, vmin: float | None, vmax: float | None, clip: float
) -> tuple[float, float]:
    """(vmin, vmax): the given ones, else the ``clip`` and ``100 - clip`` percentiles of the finite values."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    lo, hi = (0.0, 1.0)
    if finite.size:
        lo, hi = (float(v) for v in np.percentile(finite, [clip, 100.0 - clip]))
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    if not hi > lo:
        hi = lo + (abs(lo) or 1.0) * 1e-6
    return lo, hi


def mask_outline(mask: np.ndarray, frame: Frame) -> np.ndarray:
    """(k, 2, 2) segments along the pixel edges that separate ``mask`` from the rest, in frame-local metres
    (x, y from the frame centre, before rotation)."""
    m = np.asarray(mask, dtype=bool)
    ny, nx = m.shape
    dx, dy = frame.pixel_size
    w, h = frame.size
    p = np.pad(m, 1)
    # vertical edges: between columns j-1 and j (j = 0..nx) of row iy
    iy, jx = np.nonzero(p[1:-1, :-1] != p[1:-1, 1:])
    x = jx * dx - w / 2
    vert = np.stack([np.stack([x, iy * dy - h / 2], 1), np.stack([x, (iy + 1) * dy - h / 2], 1)], 1)
    # horizontal edges: between rows i-1 and i (i = 0..ny) of column ix
    iy2, ix2 = np.nonzero(p[:-1, 1:-1] != p[1:, 1:-1])
    y = iy2 * dy - h / 2
    horiz = np.stack([np.stack([ix2 * dx - w / 2, y], 1), np.stack([(ix2 + 1) * dx - w / 2, y], 1)], 1)
    return np.concatenate([vert, horiz]).astype(np.float64).reshape(-1, 2, 2)


def _norm(mode: str, at: float, window: tuple[float, float]) -> Normalisation:
    return Normalisation(mode=mode, at=float(at), window=(float(window[0]), float(window[1])))


# -- resolvers ----------------------------------------------------------------------------------------------
def resolve_map(panel: MapPanel, sources: FigureSources) -> MapData:
    ds = _dataset(sources, panel.dataset)
    if isinstance(ds, Spectrum):
        raise FigureError(f"dataset {panel.dataset!r} is a spectrum: it has no map")
    title = panel.title
    if panel.source == "param":
        params = ds.params if isinstance(ds, Grid) else ds.channels
        if panel.channel not in params:
            raise FigureError(f"dataset {panel.dataset!r} has no parameter map {panel.channel!r}")
        values = np.asarray(params[panel.channel], dtype=np.float64)
        unit = ds.param_units.get(panel.channel, "") if isinstance(ds, Grid) else ds.unit(panel.channel)
        label = "Z" if panel.channel in ("Z", "Z (m)", "Topography") else panel.channel
    elif panel.source == "channel":
        _channel(ds, panel.channel, panel.dataset)
        if isinstance(ds, Grid):
            if panel.bias is None:
                raise FigureError("a map of a grid channel needs a bias")
            values = grid_map(ds, panel.channel, panel.bias, panel.window)
            if not title:
                title = bias_text(float(ds.bias[ds.bias_index(panel.bias)]), ds.sweep_unit)
        else:
            values = np.asarray(ds.channels[panel.channel], dtype=np.float64)
        unit = ds.unit(panel.channel)
        label = panel.channel
    else:
        raise FigureError(f"unknown map source {panel.source!r}; expected 'channel' or 'param'")
    frame = ds.frame
    if values.shape != tuple(frame.shape):
        raise FigureError(f"map of shape {values.shape} does not match its frame {tuple(frame.shape)}")
    if panel.levelling != "none":
        from analysis.processing.levelling import METHODS, level

        if panel.levelling not in METHODS:
            raise FigureError(f"unknown levelling {panel.levelling!r}; expected one of {', '.join(METHODS)}")
        valid = getattr(ds, "valid", None)
        values = level(
            values, panel.levelling, valid if getattr(valid, "shape", None) == values.shape else None
        )
    vmin, vmax = colour_limits(values, panel.vmin, panel.vmax, panel.clip_percent)
    outlines = [
        Outline(reg.name, reg.colour, mask_outline(reg.mask_in(frame), frame))
        for reg in _panel_regions(panel, sources, frame)
    ]
    cuts = []
    for key in panel.cuts:
        c = _cut(sources, key)
        cuts.append((np.asarray(c.vertices, dtype=np.float64), c.name or key))
    return MapData(
        values=values,
        frame=frame,
        unit=unit,
        label=panel.colorbar_label or label,
        cmap=panel.cmap,
        vmin=vmin,
        vmax=vmax,
        outlines=outlines,
        pins=[(float(x), float(y)) for x, y in panel.pins],
        cuts=cuts,
        zoom=panel.zoom,
        title=title,
        colorbar=panel.colorbar,
        show_axes=panel.show_axes,
        scale_bar_m=panel.scale_bar_m,
    )


def _stacked(
    bias: np.ndarray,
    ys: list[np.ndarray],
    stds: list[np.ndarray | None],
    norm: Normalisation,
    offset: float | None,
) -> tuple[list[np.ndarray], list[np.ndarray | None], float]:
    out_y, out_s = [], []
    for y, s in zip(ys, stds):
        ny_, ns_ = normalise(bias, y, norm, s)
        out_y.append(np.asarray(ny_, dtype=np.float64))
        out_s.append(None if ns_ is None else np.asarray(ns_, dtype=np.float64))
    step = auto_offset(np.vstack(out_y)) if offset is None and out_y else float(offset or 0.0)
    return [y + i * step for i, y in enumerate(out_y)], out_s, step


def _y_axis(ds: Grid, channel: str, norm: Normalisation, step: float) -> tuple[str, str]:
    if norm.mode == "none":
        return channel + (" (offset)" if step else ""), ds.unit(channel)
    return f"{channel}, normalised" + (", offset" if step else ""), ""


def resolve_region_spectra(panel: RegionSpectraPanel, sources: FigureSources) -> CurvesData:
    grid = _grid(sources, panel.dataset)
    _channel(grid, panel.channel, panel.dataset)
    regions = _panel_regions(panel, sources, grid.frame)
    cube = grid.channels[panel.channel]
    ys, stds, labels = [], [], []
    used = []
    for reg in regions:
        avg = region_average(cube, reg.mask_in(grid.frame), grid.valid)
        if avg.n_used == 0:
            if panel.all_regions:  # a region of the collection over no valid pixel of this grid
                continue
            raise FigureError(f"region {reg.name!r} holds no valid pixel of {panel.dataset!r}")
        used.append(reg)
        ys.append(avg.mean)
        stds.append(avg.std if panel.std_band else None)
        labels.append(reg.name)
    norm = _norm(panel.normalisation, panel.norm_at, panel.norm_window)
    y_off, s_norm, step = _stacked(grid.bias, ys, stds, norm, panel.offset)
    curves = [Curve(y, lab, reg.colour, s) for y, lab, reg, s in zip(y_off, labels, used, s_norm)]
    y_label, y_unit = _y_axis(grid, panel.channel, norm, step)
    return CurvesData(
        x=np.asarray(grid.bias, dtype=np.float64),
        curves=curves,
        x_label=grid.sweep_signal,
        x_unit=grid.sweep_unit,
        y_label=y_label,
        y_unit=y_unit,
        legend=panel.legend,
        xlim=panel.xlim,
        title=panel.title,
    )


def resolve_point_spectra(panel: PointSpectraPanel, sources: FigureSources) -> CurvesData:
    from analysis.maps.regions import region_colour

    grid = _grid(sources, panel.dataset)
    _channel(grid, panel.channel, panel.dataset)
    ys, labels = [], []
    for x, y in panel.points:
        px = grid.frame.nearest_pixel(float(x), float(y))
        if px is None:
            raise FigureError(f"point ({x * 1e9:.4g}, {y * 1e9:.4g}) nm lies outside {panel.dataset!r}")
        ys.append(grid.spectrum(panel.channel, *px).astype(np.float64))
        labels.append(f"({x * 1e9:.0f}, {y * 1e9:.0f}) nm".replace("-", "\u2212"))
    norm = _norm(panel.normalisation, panel.norm_at, panel.norm_window)
    y_off, _s, step = _stacked(grid.bias, ys, [None] * len(ys), norm, panel.offset)
    curves = [Curve(y, lab, region_colour(i)) for i, (y, lab) in enumerate(zip(y_off, labels))]
    y_label, y_unit = _y_axis(grid, panel.channel, norm, step)
    return CurvesData(
        x=np.asarray(grid.bias, dtype=np.float64),
        curves=curves,
        x_label=grid.sweep_signal,
        x_unit=grid.sweep_unit,
        y_label=y_label,
        y_unit=y_unit,
        legend=panel.legend,
        xlim=panel.xlim,
        title=panel.title,
    )


def _line_cut(sources: FigureSources, dataset: str, channel: str, cut: str) -> tuple[Grid, LineCut]:
    grid = _grid(sources, dataset)
    _channel(grid, channel, dataset)
    return grid, cut_path(grid, _cut(sources, cut), channel=channel)


def resolve_linecut(panel: LineCutPanel, sources: FigureSources) -> CutImageData | CurvesData:
    grid, lc = _line_cut(sources, panel.dataset, panel.channel, panel.cut)
    values = np.asarray(lc.values, dtype=np.float64)
    if panel.style in ("top", "surface"):
        vmin, vmax = colour_limits(values, panel.vmin, panel.vmax, panel.clip_percent)
        return CutImageData(
            values=values,
            distance=lc.distance,
            sweep=np.asarray(grid.bias, dtype=np.float64),
            sweep_unit=grid.sweep_unit,
            unit=grid.unit(panel.channel),
            label=panel.channel,
            cmap=panel.cmap,
            vmin=vmin,
            vmax=vmax,
            colorbar=panel.colorbar,
            xlim=panel.xlim,
            title=panel.title,
            surface=panel.style == "surface",
        )
    if panel.style != "waterfall":
        raise FigureError(f"unknown line-cut style {panel.style!r}; expected 'top', 'surface' or 'waterfall'")
    from analysis.figures.colormaps import colour_stops

    n = max(1, min(int(panel.n_curves), lc.n_points))
    idx = np.unique(np.round(np.linspace(0, lc.n_points - 1, n)).astype(int))
    rows = values[idx]
    step = auto_offset(rows, 0.15) if panel.offset is None else float(panel.offset)
    pos, rgb = colour_stops(panel.cmap)
    stops = np.asarray(rgb, dtype=float)
    frac = np.linspace(0.0, 0.85, idx.size)
    colours = [tuple(int(round(np.interp(f, pos, stops[:, c]))) for c in range(3)) for f in frac]
    curves = [
        Curve(rows[i] + i * step, f"{lc.distance[k] * 1e9:.0f} nm", colours[i])  # type: ignore[arg-type]
        for i, k in enumerate(idx)
    ]
    return CurvesData(
        x=np.asarray(grid.bias, dtype=np.float64),
        curves=curves,
        x_label=grid.sweep_signal,
        x_unit=grid.sweep_unit,
        y_label=f"{panel.channel} (offset)",
        y_unit=grid.unit(panel.channel),
        legend="none",
        xlim=panel.xlim,
        note=f"0\u2013{lc.length * 1e9:.0f} nm, bottom to top",
        title=panel.title,
    )


def resolve_profile(panel: ProfilePanel, sources: FigureSources) -> CurvesData:
    grid, lc = _line_cut(sources, panel.dataset, panel.channel, panel.cut)
    k = grid.bias_index(panel.bias)
    lo, hi = max(0, k - panel.window), min(grid.shape[2], k + panel.window + 1)
    with np.errstate(invalid="ignore"):
        y = np.nanmean(np.asarray(lc.values[:, lo:hi], dtype=np.float64), axis=1)
    d = np.asarray(lc.distance, dtype=np.float64)
    curves = [Curve(y, "profile", (31, 119, 180), style="markers")]
    note = ""
    if panel.fit:
        try:
            fit = fit_profile(d, y, panel.fit, panel.fit_range)
        except FitError as exc:
            note = f"fit failed: {exc}"
        else:
            dd = np.linspace(float(fit.d[0]), float(fit.d[-1]), 200)
            curves.append(Curve(fit.evaluate(dd), f"{panel.fit} fit", (214, 39, 40), style="line", x=dd))
            name = "w" if fit.kind == "step" else "\u03be"
            note = f"{name} = {fit.length * 1e9:.3g} \u00b1 {fit.length_err * 1e9:.2g} nm"
    return CurvesData(
        x=d,
        curves=curves,
        x_label="Distance",
        x_unit="m",
        y_label=f"{panel.channel} at {bias_text(float(grid.bias[k]), grid.sweep_unit)}",
        y_unit=grid.unit(panel.channel),
        legend="none",
        note=note,
        title=panel.title,
    )


def resolve_correlation(panel: CorrelationPanel, sources: FigureSources) -> ScatterData:
    gx, gy = _grid(sources, panel.x_dataset), _grid(sources, panel.y_dataset)
    _channel(gx, panel.x_channel, panel.x_dataset)
    _channel(gy, panel.y_channel, panel.y_dataset)
    a = grid_map(gx, panel.x_channel, panel.x_bias, panel.x_window)
    b = map_in_frame(grid_map(gy, panel.y_channel, panel.y_bias, panel.y_window), gy.frame, gx.frame)
    regions = [_region(sources, k) for k in panel.regions]
    labels = labels_from_masks([r.mask_in(gx.frame) for r in regions], gx.frame.shape) if regions else None
    corr = correlate_maps(a, b, labels)
    palette = np.array([GREY, *[r.colour for r in regions]], dtype=np.uint8)
    lab = corr.labels if corr.labels is not None else np.full(corr.x.size, -1)
    colours = palette[np.asarray(lab) + 1]
    legend = [(r.name, r.colour) for r in regions]
    xb = bias_text(float(gx.bias[gx.bias_index(panel.x_bias)]), gx.sweep_unit)
    yb = bias_text(float(gy.bias[gy.bias_index(panel.y_bias)]), gy.sweep_unit)
    return ScatterData(
        x=corr.x,
        y=corr.y,
        colours=colours,
        x_label=f"{panel.x_channel} at {xb}",
        x_unit=gx.unit(panel.x_channel),
        y_label=f"{panel.y_channel} at {yb}",
        y_unit=gy.unit(panel.y_channel),
        legend=legend,
        r=corr.overall.pearson,
        marker_size=panel.marker_size,
        title=panel.title,
    )


def _curve_style(style: str, panel_markers: bool) -> str:
    if not style:
        return "markers" if panel_markers else "line"
    if style not in ("line", "dashed", "markers"):
        raise FigureError(f"unknown curve style {style!r}; expected 'line', 'dashed' or 'markers'")
    return style


def resolve_xy(panel: XYPanel, sources: FigureSources) -> CurvesData:
    curves = []
    for key in panel.series:
        if key not in sources.series:
            raise FigureError(f"no series {key!r} (have: {', '.join(sources.series) or 'none'})")
        s = sources.series[key]
        curves.append(
            Curve(
                np.asarray(s.y, dtype=np.float64),
                s.label or key,
                s.colour,
                None if s.yerr is None else np.asarray(s.yerr, dtype=np.float64),
                _curve_style(s.style, panel.markers),
                np.asarray(s.x, dtype=np.float64),
            )
        )
    x = curves[0].x if curves and curves[0].x is not None else np.zeros(0)
    return CurvesData(
        x=x,
        curves=curves,
        x_label=panel.x_label,
        x_unit=panel.x_unit,
        y_label=panel.y_label,
        y_unit=panel.y_unit,
        legend=panel.legend,
        log_x=panel.log_x,
        log_y=panel.log_y,
        title=panel.title,
    )


def _field(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, Mapping) else getattr(obj, name)


def _param_text(name: str, value: float, err: float, unit: str) -> str:
    from analysis.figures.units import si_scale

    scale, shown = si_scale(np.array([value]), unit)
    if np.isfinite(err) and err > 0:
        return f"{name} = {value / scale:.3g} \u00b1 {err / scale:.2g} {shown}".rstrip()
    return f"{name} = {value / scale:.3g} {shown}".rstrip()


def resolve_fit(panel: FitPanel, sources: FigureSources) -> FitData:
    """A finished single fit from ``sources.fits``: an object or mapping with ``x``, ``y``, ``residual``,
    ``x_all``, ``model_all`` (and ``record`` with ``params`` for the values), like
    :class:`analysis.fitting.single.SingleFit`."""
    if panel.fit not in sources.fits:
        raise FigureError(f"no fit {panel.fit!r} (have: {', '.join(sources.fits) or 'none'})")
    f = sources.fits[panel.fit]
    try:
        x, y = np.asarray(_field(f, "x"), float), np.asarray(_field(f, "y"), float)
        xm, model = np.asarray(_field(f, "x_all"), float), np.asarray(_field(f, "model_all"), float)
        residual = np.asarray(_field(f, "residual"), float) if panel.residuals else None
    except (KeyError, AttributeError) as exc:
        raise FigureError(f"fit {panel.fit!r} has no arrays to draw ({exc})") from exc
    lines = []
    record = f.get("record") if isinstance(f, Mapping) else getattr(f, "record", None)
    params = {_field(p, "name"): p for p in (_field(record, "params") if record is not None else [])}
    for name in panel.parameters:
        if name not in params:
            raise FigureError(f"fit {panel.fit!r} has no parameter {name!r}")
        p = params[name]
        lines.append(
            _param_text(name, float(_field(p, "value")), float(_field(p, "stderr")), _field(p, "unit"))
        )
    return FitData(
        x=x,
        y=y,
        x_model=xm,
        model=model,
        residual=residual,
        x_label=panel.x_label,
        x_unit=panel.x_unit,
        y_label=panel.y_label,
        y_unit=panel.y_unit,
        note="\n".join(lines),
        title=panel.title,
    )


def resolve_series_map(panel: SeriesMapPanel, sources: FigureSources) -> TagMapData:
    """The map of the Series dock: :func:`analysis.transport.maps.tag_map` of the series (or of its
    derivative when ``channel`` is one, named as :func:`analysis.transport.grids.derivative_name` names
    it)."""
    from analysis.series import Series
    from analysis.transport.grids import derivative, derivative_name
    from analysis.transport.maps import tag_map

    s = _dataset(sources, panel.series)
    if not isinstance(s, Series):
        raise FigureError(f"dataset {panel.series!r} is not a series")
    x = panel.x or s.x_channel
    holder = s
    if panel.channel not in s.channel_names("all"):
        names = s.channel_names("fwd")
        pairs = [
            (a, b) for a in names for b in names if a != b and derivative_name(s, a, b)[0] == panel.channel
        ]
        if not pairs:
            raise FigureError(f"series {panel.series!r} has no quantity {panel.channel!r}")
        holder = derivative(s, *pairs[0])
    try:
        tm = tag_map(holder, panel.channel, panel.tag, x=x)
    except (KeyError, ValueError) as exc:
        raise FigureError(f"no map of {panel.channel} against {panel.tag}: {exc}") from exc
    values = np.asarray(tm.values, dtype=np.float64)
    vmin, vmax = colour_limits(values, panel.vmin, panel.vmax, panel.clip_percent)
    return TagMapData(
        values=values,
        x=np.asarray(tm.x, dtype=np.float64),
        tag=np.asarray(tm.tag, dtype=np.float64),
        x_label=tm.x_name,
        x_unit=tm.x_unit,
        tag_label=tm.tag_name,
        tag_unit=tm.tag_unit,
        label=tm.value_name,
        unit=tm.value_unit,
        cmap=panel.cmap,
        vmin=vmin,
        vmax=vmax,
        colorbar=panel.colorbar,
        title=panel.title,
    )


_RESOLVERS: dict[type, Any] = {
    MapPanel: resolve_map,
    RegionSpectraPanel: resolve_region_spectra,
    PointSpectraPanel: resolve_point_spectra,
    LineCutPanel: resolve_linecut,
    ProfilePanel: resolve_profile,
    CorrelationPanel: resolve_correlation,
    XYPanel: resolve_xy,
    FitPanel: resolve_fit,
    SeriesMapPanel: resolve_series_map,
}


def resolve(panel: Panel, sources: FigureSources) -> Resolved:
    """The arrays ``panel`` draws, looked up in ``sources`` (raises :class:`FigureError` when a reference
    is missing)."""
    fn = _RESOLVERS.get(type(panel))
    if fn is None:
        raise FigureError(f"no resolver for panel kind {panel.kind!r}")
    return fn(panel, sources)
