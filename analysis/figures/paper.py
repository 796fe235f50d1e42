"""The MgB2 paper's figures ([JSTM] Figs. 4, 5 and 6) as figure descriptions built on the demo grids.

Each builder takes :class:`~analysis.figures.resolve.FigureSources` holding the demo's QP and Josephson
grids (found by ``metadata["demo"]["grid"]``, whatever their keys) and returns the description and the
sources completed with the regions and line cuts the figure needs, made with the analysis functions the
window's scenarios use:

* **fig4**: a topography, b Josephson map at +2 mV, c QP map at -5 mV, d Josephson map at 0 mV (mean over
  +-3 sweep points) with regions 1-4 from its colour scale (:func:`josephson_band_thresholds`), e and f the
  QP and Josephson spectra of regions 1-4, normalised to the same mean and offset.
* **fig5**: a zoom of the topography with the cut from the normal (flux) region into the strongest grain,
  b the Josephson spectra along that cut as a waterfall (the paper's 3D view seen from the side), c the
  zero-bias Josephson profile with a tanh step fit (its width is the length over which the peak grows).
* **fig6**: a the QP map with a cut across the normal zone, b and c the top views (distance vs bias) of the
  Josephson (left) and QP (right) spectra along it.

:func:`demo_sources` makes the sources from :func:`analysis.demo.grids.make_demo`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from analysis.dataset import Grid
from analysis.figures.description import (
    DOUBLE_COLUMN_CM,
    FigureDescription,
    LineCutPanel,
    MapPanel,
    ProfilePanel,
    RegionSpectraPanel,
)
from analysis.figures.resolve import FigureError, FigureSources, grid_map
from analysis.maps.linecut import CutPath, cut_path
from analysis.maps.regions import Region, regions_from_bands

#: Biases of the paper's maps (V).
QP_BIAS = -5e-3
JOSEPHSON_BIAS = 0.0
JOSEPHSON_HIGH_BIAS = 2e-3
#: The zero-bias Josephson map is the mean over +-3 sweep points (+-0.05 mV, inside the peak) so that its
#: colour bands follow the grains rather than the noise.
FIG4_AVERAGE_POINTS = 3
#: "normalized to the same value, then offset": the mean over the sweep.
FIG4_NORMALISATION = "area"
#: Half length of the cut across the normal zone (m).
FIG6_HALF_LENGTH = 75e-9
#: Margin around the Fig. 5 cut in the topography zoom (m).
FIG5_ZOOM_MARGIN = 20e-9


def demo_sources(seed: int = 0) -> FigureSources:
    """Sources holding the demo's QP grid (key ``"qp"``) and Josephson grid (key ``"josephson"``)."""
    from analysis.demo.grids import make_demo

    qp, jos = make_demo(seed)
    return FigureSources(datasets={"qp": qp, "josephson": jos})


def demo_keys(sources: FigureSources) -> tuple[str, str]:
    """(QP grid key, Josephson grid key) of the demo grids in ``sources``; FigureError when absent."""
    found: dict[str, str] = {}
    for key, ds in sources.datasets.items():
        kind = (ds.metadata.get("demo") or {}).get("grid") if isinstance(ds, Grid) else None
        if kind in ("qp", "josephson") and kind not in found:
            found[kind] = key
    if len(found) < 2:
        raise FigureError("the paper's figures are built on the demo's QP and Josephson grids")
    return found["qp"], found["josephson"]


def _grids(sources: FigureSources) -> tuple[str, Grid, str, Grid]:
    kq, kj = demo_keys(sources)
    return kq, sources.datasets[kq], kj, sources.datasets[kj]  # type: ignore[return-value]


def _with(
    sources: FigureSources, regions: dict[str, Region] | None = None, cuts: dict[str, CutPath] | None = None
):
    return replace(
        sources,
        regions={**sources.regions, **(regions or {})},
        linecuts={**sources.linecuts, **(cuts or {})},
    )


# -- geometry of the demo -----------------------------------------------------------------------------------
def flux_centre(grid: Grid) -> tuple[float, float]:
    """Centre (x, y) in m of the demo's normal (flux) disc."""
    cx, cy = grid.metadata["demo"]["flux_region"]["center_m"]
    return float(cx), float(cy)


def strongest_grain_point(grid: Grid) -> tuple[float, float]:
    """(x, y) in m of the seed of the grain with the largest gap."""
    info = grid.metadata["demo"]
    u, v = info["grain_seeds_frac"][int(info["strongest_grain"])]
    w, h = grid.frame.size
    cx, cy = grid.frame.center
    return float(cx + (u - 0.5) * w), float(cy + (v - 0.5) * h)


def fig5_cut(grid: Grid) -> CutPath:
    """From the centre of the flux disc (region 1) to the centre of the strongest grain (region 4)."""
    return CutPath((flux_centre(grid), strongest_grain_point(grid)), name="region 1 to region 4")


def fig6_cut(grid: Grid) -> CutPath:
    """A horizontal line through the flux disc, from grain to grain across the normal zone."""
    cx, cy = flux_centre(grid)
    half = grid.frame.size[0] / 2 - grid.frame.pixel_size[0]
    x0 = max(cx - FIG6_HALF_LENGTH, grid.frame.center[0] - half)
    x1 = min(cx + FIG6_HALF_LENGTH, grid.frame.center[0] + half)
    return CutPath(((x0, cy), (x1, cy)), name="across the normal zone")


def josephson_band_thresholds(values: np.ndarray) -> tuple[float, float, float]:
    """Band edges (S) of regions 1-4 of a zero-bias Josephson map, as a user reads its colour scale:
    region 1 is the normal zone (below half the median); regions 2-4 split the superconducting rest at the
    two deepest valleys of its histogram (between groups of grains), else into three equal-count bands."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise FigureError("the Josephson map has no finite value")
    normal = 0.5 * float(np.median(v))
    sc = v[v > normal]
    if sc.size < 3:
        raise FigureError("the Josephson map shows no superconducting pixels")
    lo, hi = np.percentile(sc, [0.5, 99.5])
    counts, edges = np.histogram(sc, bins=120, range=(lo, hi))
    smooth = gaussian_filter1d(counts.astype(float), 1.5)
    valleys, props = find_peaks(-smooth, prominence=0.05 * smooth.max())
    if valleys.size >= 2:
        best = np.sort(valleys[np.argsort(props["prominences"])[-2:]])
        centres = 0.5 * (edges[:-1] + edges[1:])
        return normal, float(centres[best[0]]), float(centres[best[1]])
    t1, t2 = np.percentile(sc, [100 / 3, 200 / 3])
    return normal, float(t1), float(t2)


def fig4_regions(josephson: Grid, channel: str = "dI/dV") -> list[Region]:
    """Regions 1-4 from the colour scale of the zero-bias Josephson map (mean over +-3 sweep points)."""
    jmap = grid_map(josephson, channel, JOSEPHSON_BIAS, FIG4_AVERAGE_POINTS)
    regions = regions_from_bands(
        jmap,
        josephson.frame,
        thresholds=josephson_band_thresholds(jmap),
        mode="thresholds",
        min_pixels=12,
        connectivity=8,
    )
    if len(regions) != 4:
        raise FigureError(f"the zero-bias Josephson map split into {len(regions)} regions, not 4")
    return [r.with_changes(origin={**r.origin, "map": "Josephson dI/dV at 0 mV"}) for r in regions]


# -- the figures ------------------------------------------------------------------------------------------
def fig4(sources: FigureSources) -> tuple[FigureDescription, FigureSources]:
    """[JSTM] Fig. 4 on the demo grids (see the module docstring)."""
    kq, _qp, kj, jos = _grids(sources)
    regions = {f"fig4_region_{i + 1}": r for i, r in enumerate(fig4_regions(jos))}
    keys = tuple(regions)
    panels = [
        MapPanel(row=0, col=0, dataset=kq, source="param", channel="Z", cmap="cividis", title="Topography"),
        MapPanel(row=0, col=1, dataset=kj, bias=JOSEPHSON_HIGH_BIAS, title="Josephson, +2 mV"),
        MapPanel(row=0, col=2, dataset=kq, bias=QP_BIAS, title="QP, \u22125 mV"),
        MapPanel(
            row=0,
            col=3,
            dataset=kj,
            bias=JOSEPHSON_BIAS,
            window=FIG4_AVERAGE_POINTS,
            regions=keys,
            title="Josephson, 0 mV",
        ),
        RegionSpectraPanel(
            row=1, col=0, colspan=2, dataset=kq, regions=keys, normalisation=FIG4_NORMALISATION, title="QP"
        ),
        RegionSpectraPanel(
            row=1,
            col=2,
            colspan=2,
            dataset=kj,
            regions=keys,
            normalisation=FIG4_NORMALISATION,
            title="Josephson",
        ),
    ]
    desc = FigureDescription(
        panels=panels,
        rows=2,
        cols=4,
        width_cm=DOUBLE_COLUMN_CM,
        height_cm=9.0,
        row_ratios=(1.0, 1.15),
        name="fig4",
    )
    return desc, _with(sources, regions=regions)


def _profile_fit_range(sources: FigureSources, key: str, cut: CutPath) -> tuple[float, float]:
    """Where the zero-bias profile rises out of the normal region: from the start to 2.5 times the
    distance at which it first passes half its maximum (the window's scenario reads it the same way)."""
    grid = sources.datasets[key]
    lc = cut_path(grid, cut, channel="dI/dV")
    k = grid.bias_index(JOSEPHSON_BIAS)  # type: ignore[union-attr]
    y = np.asarray(lc.values[:, k], dtype=float)
    d = lc.distance
    above = np.flatnonzero(y > 0.5 * np.nanmax(y))
    d_half = float(d[above[0]]) if above.size else float(d[-1]) / 2
    return float(d[0]), float(min(d[0] + 2.5 * (d_half - d[0]), d[-1]))


def fig5(sources: FigureSources) -> tuple[FigureDescription, FigureSources]:
    """[JSTM] Fig. 5 on the demo grids (see the module docstring)."""
    kq, _qp, kj, jos = _grids(sources)
    cut = fig5_cut(jos)
    verts = np.asarray(cut.vertices)
    m = FIG5_ZOOM_MARGIN
    half = max(np.ptp(verts[:, 0]), np.ptp(verts[:, 1])) / 2 + m
    cx, cy = verts.mean(axis=0)
    fx, fy = jos.frame.center
    fw, fh = jos.frame.size
    x0 = float(np.clip(cx - half, fx - fw / 2, fx + fw / 2 - 2 * half))
    y0 = float(np.clip(cy - half, fy - fh / 2, fy + fh / 2 - 2 * half))
    zoom = (x0, x0 + 2 * half, y0, y0 + 2 * half)
    out = _with(sources, cuts={"fig5_cut": cut})
    panels = [
        MapPanel(
            row=0, col=0, dataset=kq, source="param", channel="Z", cmap="cividis", cuts=("fig5_cut",),
            zoom=zoom, title="Topography (zoom)",
        ),
        LineCutPanel(
            row=0, col=1, dataset=kj, cut="fig5_cut", style="surface",
            xlim=(-1e-3, 1e-3), title="Josephson peak along the cut",
        ),
        ProfilePanel(
            row=0, col=2, dataset=kj, cut="fig5_cut", bias=JOSEPHSON_BIAS, window=0, fit="step",
            fit_range=_profile_fit_range(out, kj, cut), title="Zero-bias Josephson profile",
        ),
    ]  # fmt: skip
    desc = FigureDescription(
        panels=panels,
        rows=1,
        cols=3,
        width_cm=DOUBLE_COLUMN_CM,
        height_cm=6.0,
        col_ratios=(1.0, 1.2, 1.2),
        name="fig5",
    )
    return desc, out


def fig6(sources: FigureSources) -> tuple[FigureDescription, FigureSources]:
    """[JSTM] Fig. 6 on the demo grids (see the module docstring)."""
    kq, qp, kj, _jos = _grids(sources)
    cut = fig6_cut(qp)
    panels = [
        MapPanel(row=0, col=0, dataset=kq, bias=QP_BIAS, cuts=("fig6_cut",), title="QP, \u22125 mV"),
        LineCutPanel(row=0, col=1, dataset=kj, cut="fig6_cut", style="top", title="Josephson"),
        LineCutPanel(row=0, col=2, dataset=kq, cut="fig6_cut", style="top", title="QP"),
    ]
    desc = FigureDescription(
        panels=panels, rows=1, cols=3, width_cm=DOUBLE_COLUMN_CM, height_cm=6.0, name="fig6"
    )
    return desc, _with(sources, cuts={"fig6_cut": cut})


PAPER_FIGURES: dict[str, Callable[[FigureSources], tuple[FigureDescription, FigureSources]]] = {
    "fig4": fig4,
    "fig5": fig5,
    "fig6": fig6,
}


#: Figures of the transport papers by scenario name, as ``"module:function"`` (imported when asked for).
#: The function takes ``(sources, seed)`` and returns ``(description, completed sources)``; with ``sources``
#: None it builds the scenario's own synthetic series from the models (the series the window's scenario
#: shows).
SERIES_FIGURES: dict[str, str] = {
    "neck": "analysis.figures.paper_neck:neck_figure",
    "mesa": "analysis.figures.paper_mesa:mesa_figure",
    "its": "analysis.figures.paper_its:its_figure",
    "microwave": "analysis.figures.paper_microwave:microwave_figure",
}


def figure_names() -> list[str]:
    """Every figure :func:`paper_figure` can build: the MgB2 paper's, then the transport papers'."""
    return [*PAPER_FIGURES, *SERIES_FIGURES]


def paper_figure(
    name: str, sources: FigureSources | None = None, seed: int = 0, **options: Any
) -> tuple[FigureDescription, Any]:
    """(description, completed sources) of paper figure ``name`` (``"fig4"``, ``"fig5"``, ``"fig6"`` or a
    transport scenario of :data:`SERIES_FIGURES`) on ``sources`` (default: the demo grids made with ``seed``,
    or the scenario's own synthetic series). ``options`` (e.g. ``settings``) go to a transport figure's
    function."""
    if name in SERIES_FIGURES:
        import importlib

        module, func = SERIES_FIGURES[name].split(":")
        return getattr(importlib.import_module(module), func)(sources, seed, **options)
    if name not in PAPER_FIGURES:
        raise FigureError(f"no paper figure {name!r}; choose one of {', '.join(figure_names())}")
    return PAPER_FIGURES[name](sources if sources is not None else demo_sources(seed))
