"""Rendering a :class:`~analysis.figures.description.FigureDescription` with matplotlib (Agg, no window).

:func:`export_figure` resolves every panel against a :class:`~analysis.figures.resolve.FigureSources`,
draws the figure at the journal width and writes it by extension: vector PDF or SVG (text kept as text,
fonts embedded as TrueType), raster PNG or TIFF at the figure's dpi (so a 17.8 cm figure at 300 dpi is
``round(17.8 / 2.54 * 300)`` = 2102 pixels wide). Fonts and sizes come from the figure's style for every
panel; the layout is matplotlib's constrained layout (tight, nothing clipped); panels get letters.
Maps are drawn pixel-exact: one data pixel is one block (``interpolation="nearest"`` in raster output,
the raw pixels embedded in vector output), ``origin="lower"``, the extent from the scan frame in nm and
the frame's rotation applied as an affine transform. With ``write_data`` each panel's data go beside the
figure: CSV for curves, scatter and line cuts, HDF5 (or CSV) for maps.

:func:`render_image` gives the same figure as an RGBA array for a preview. Only :mod:`matplotlib.figure`
and the Agg canvas are used; pyplot (and with it any GUI backend) is never imported. matplotlib's style
settings are process-wide, so drawing is serialised by a lock: run exports from one worker thread (or a
process), never on a GUI thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.figures.colormaps import mpl_colormap
from analysis.figures.description import FigureDescription, FigureStyle
from analysis.figures.resolve import (
    CurvesData,
    CutImageData,
    FigureError,
    FigureSources,
    FitData,
    MapData,
    Resolved,
    ScatterData,
    TagMapData,
    resolve,
)
from analysis.figures.units import axis_label, nice_length, si_scale

#: matplotlib's style settings are process-wide: one figure is drawn at a time (call from one worker).
_LOCK = threading.RLock()
VECTOR_FORMATS = ("pdf", "svg")
RASTER_FORMATS = ("png", "tif", "tiff")
FORMATS = VECTOR_FORMATS + RASTER_FORMATS
NM = 1e9


@dataclass
class RenderResult:
    """What :func:`export_figure` wrote: the figure ``path``, the panel ``data_files``, each panel's box
    ``(x0, y0, x1, y1)`` in figure fractions (origin bottom left), the letters, the size in pixels of a
    raster output and the seconds it took."""

    path: Path
    data_files: list[Path] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    letters: list[str] = field(default_factory=list)
    pixels: tuple[int, int] | None = None
    seconds: float = 0.0


def _rc(style: FigureStyle, dpi: int) -> dict[str, Any]:
    thin = 0.6
    return {
        "font.family": style.font_family,
        "font.size": style.font_size,
        "axes.labelsize": style.font_size,
        "axes.titlesize": style.title_size,
        "xtick.labelsize": style.tick_size,
        "ytick.labelsize": style.tick_size,
        "legend.fontsize": style.legend_size,
        "lines.linewidth": style.line_width,
        "axes.linewidth": thin,
        "xtick.major.width": thin,
        "ytick.major.width": thin,
        "xtick.major.size": 2.5,
        "ytick.major.size": 2.5,
        "xtick.direction": "in",
        "ytick.direction": "in",
        "axes.labelpad": 2.0,
        "axes.titlepad": 3.0,
        "xtick.major.pad": 2.0,
        "ytick.major.pad": 2.0,
        "axes.unicode_minus": True,
        "mathtext.default": "regular",
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "none",
        "savefig.dpi": dpi,
        "figure.dpi": dpi,
        "legend.frameon": False,
        "legend.handlelength": 1.4,
        "legend.borderaxespad": 0.3,
        "image.interpolation": "nearest",
    }


def _rgb(c: tuple[int, int, int] | None) -> Any:
    return None if c is None else tuple(v / 255 for v in c)


# -- drawing ----------------------------------------------------------------------------------------------
def _draw_map(fig: Any, ax: Any, d: MapData, style: FigureStyle, vector: bool) -> None:
    import matplotlib.patheffects as pe
    from matplotlib.collections import LineCollection
    from matplotlib.transforms import Affine2D

    f = d.frame
    cx, cy = f.center[0] * NM, f.center[1] * NM
    w, h = f.size[0] * NM, f.size[1] * NM
    scale, unit = si_scale(np.array([d.vmin, d.vmax]), d.unit)
    im = ax.imshow(
        d.values / scale,
        cmap=mpl_colormap(d.cmap),
        vmin=d.vmin / scale,
        vmax=d.vmax / scale,
        origin="lower",
        extent=(cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2),
        interpolation="none" if vector else "nearest",
        resample=False,
    )
    transform = ax.transData
    if f.angle:
        transform = Affine2D().rotate_deg_around(cx, cy, f.angle) + ax.transData
        im.set_transform(transform)
    for o in d.outlines:
        if o.segments.size == 0:
            continue
        segs = o.segments * NM + np.array([cx, cy])
        lines = LineCollection(
            segs, colors=[_rgb(o.colour)], linewidths=0.8, capstyle="projecting", transform=transform
        )
        # a thin white edge keeps a dark outline visible on a dark map and vice versa
        lines.set_path_effects([pe.Stroke(linewidth=1.5, foreground="white"), pe.Normal()])
        ax.add_collection(lines)
    halo = [pe.withStroke(linewidth=2.0, foreground="black")]
    for verts, _name in d.cuts:
        v = np.asarray(verts) * NM
        ax.plot(v[:, 0], v[:, 1], color="white", lw=1.0, path_effects=halo, solid_capstyle="round")
        ax.plot(v[0, 0], v[0, 1], "o", ms=2.5, mfc="white", mec="black", mew=0.5)
    for x, y in d.pins:
        ax.plot(x * NM, y * NM, "o", ms=3.0, mfc="white", mec="black", mew=0.6)
    # limits: the zoom, else the (rotated) frame's bounding box
    if d.zoom is not None:
        x0, x1, y0, y1 = (v * NM for v in d.zoom)
    else:
        a = np.radians(f.angle)
        corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
        rot = corners @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        x0, x1 = cx + rot[:, 0].min(), cx + rot[:, 0].max()
        y0, y1 = cy + rot[:, 1].min(), cy + rot[:, 1].max()
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("x (nm)")
    ax.set_ylabel("y (nm)")
    if not d.show_axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
    bar = d.scale_bar_m * NM if d.scale_bar_m is not None else nice_length(x1 - x0, 0.25)
    if bar > 0:
        bx1 = x1 - 0.05 * (x1 - x0)
        by = y0 + 0.06 * (y1 - y0)
        ax.plot([bx1 - bar, bx1], [by, by], color="white", lw=2.0, solid_capstyle="butt", path_effects=halo)
        ax.text(
            bx1 - bar / 2,
            by + 0.025 * (y1 - y0),
            f"{bar:g} nm",
            color="white",
            ha="center",
            va="bottom",
            fontsize=style.tick_size,
            path_effects=[pe.withStroke(linewidth=1.5, foreground="black")],
        )
    if d.title:
        ax.set_title(d.title)
    if d.colorbar:
        _colorbar(fig, ax, im, axis_label(d.label, unit), style)


def _colorbar(fig: Any, ax: Any, im: Any, label: str, style: FigureStyle) -> None:
    """A colour bar beside ``ax`` (an inset axes, so it follows an equal-aspect map), labelled with the
    quantity and its prefixed unit."""
    cax = ax.inset_axes((1.04, 0.0, 0.05, 1.0))
    cb = fig.colorbar(im, cax=cax)
    cb.set_label(label, labelpad=1.5)
    cb.ax.tick_params(labelsize=style.tick_size, length=2.0, width=0.5, pad=1.5)
    cb.outline.set_linewidth(0.5)
    cb.ax.locator_params(nbins=4)


def _draw_curves(ax: Any, d: CurvesData, style: FigureStyle) -> None:
    xs, xunit = si_scale(d.x, d.x_unit) if d.x.size else (1.0, d.x_unit)
    ys_all = [c.y for c in d.curves if c.y.size]
    ys, yunit = si_scale(np.concatenate(ys_all), d.y_unit) if ys_all else (1.0, d.y_unit)
    for c in d.curves:
        x = (c.x if c.x is not None else d.x) / xs
        y = c.y / ys
        colour = _rgb(c.colour)
        if c.std is not None:
            ax.fill_between(x, y - c.std / ys, y + c.std / ys, color=colour, alpha=0.25, lw=0)
        if c.style == "markers":
            ax.plot(x, y, "o", ms=2.0, mew=0, color=colour, label=c.label)
        else:
            ax.plot(x, y, "--" if c.style == "dashed" else "-", color=colour, label=c.label)
    if d.log_x:
        ax.set_xscale("log")
    if d.log_y:
        ax.set_yscale("log")
    if d.xlim is not None:
        ax.set_xlim(d.xlim[0] / xs, d.xlim[1] / xs)
    elif d.x.size and not d.log_x:
        ax.set_xlim(float(np.nanmin(d.x)) / xs, float(np.nanmax(d.x)) / xs)
    ax.set_xlabel(axis_label(d.x_label, xunit))
    ax.set_ylabel(axis_label(d.y_label, yunit))
    if not d.log_x:  # a log axis keeps its decade locator (LogLocator takes no nbins)
        ax.locator_params(axis="x", nbins=5)
    legend = {True: "inside", False: "none"}.get(d.legend, d.legend)  # type: ignore[call-overload]
    if legend == "inline":
        _inline_labels(ax, d, xs, ys, style)
    elif legend in ("inside", "outside") and any(c.label for c in d.curves):
        handles, labels = ax.get_legend_handles_labels()
        if legend == "outside":
            ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.0, 1.0))
        else:
            ax.legend(handles[::-1], labels[::-1], loc="best")
    if d.note:  # room above the curves for the note
        lo, hi = ax.get_ylim()
        if not d.log_y:
            ax.set_ylim(lo, hi + 0.18 * (hi - lo))
        ax.text(0.03, 0.97, d.note, transform=ax.transAxes, ha="left", va="top", fontsize=style.legend_size)
    if d.title:
        ax.set_title(d.title)


def _inline_labels(ax: Any, d: CurvesData, xs: float, ys: float, style: FigureStyle) -> None:
    """Each curve's name in its colour just above the curve's right end (inside the axes)."""
    from matplotlib.transforms import ScaledTranslation

    x_hi = ax.get_xlim()[1] * xs
    shift = ScaledTranslation(-2 / 72, 1.5 / 72, ax.figure.dpi_scale_trans)
    words = [c.label.split() for c in d.curves]
    # "Region 1", "Region 2": the numbers suffice beside the curves
    short = len({w[0] for w in words if len(w) == 2}) == 1 and all(len(w) == 2 for w in words)
    for c, w in zip(d.curves, words):
        x = c.x if c.x is not None else d.x
        inside = np.flatnonzero((x <= x_hi) & np.isfinite(c.y))
        if not c.label or inside.size == 0:
            continue
        k = inside[-1]
        ax.text(
            x[k] / xs,
            c.y[k] / ys,
            w[1] if short else c.label,
            color=_rgb(c.colour),
            ha="right",
            va="bottom",
            fontsize=style.legend_size,
            transform=ax.transData + shift,
        )


def _draw_cut_image(fig: Any, ax: Any, d: CutImageData, style: FigureStyle, vector: bool) -> None:
    xs, xunit = si_scale(d.sweep, d.sweep_unit)
    zs, zunit = si_scale(np.array([d.vmin, d.vmax]), d.unit)
    sweep = d.sweep / xs
    dist = d.distance * NM
    ds = np.diff(sweep)
    dd = np.diff(dist)
    kwargs = {"cmap": mpl_colormap(d.cmap), "vmin": d.vmin / zs, "vmax": d.vmax / zs}
    uniform = ds.size and dd.size and np.allclose(ds, ds[0], rtol=1e-6) and np.allclose(dd, dd[0], rtol=1e-6)
    if uniform:
        im = ax.imshow(
            d.values / zs,
            origin="lower",
            aspect="auto",
            extent=(sweep[0] - ds[0] / 2, sweep[-1] + ds[0] / 2, dist[0] - dd[0] / 2, dist[-1] + dd[0] / 2),
            interpolation="none" if vector else "nearest",
            resample=False,
            **kwargs,
        )
    else:
        im = ax.pcolormesh(sweep, dist, d.values / zs, shading="nearest", rasterized=False, **kwargs)
    if d.xlim is not None:
        ax.set_xlim(d.xlim[0] / xs, d.xlim[1] / xs)
    ax.set_xlabel(axis_label("Bias", xunit))
    ax.set_ylabel(axis_label("Distance", "nm"))
    ax.locator_params(axis="x", nbins=5)
    if d.title:
        ax.set_title(d.title)
    if d.colorbar:
        _colorbar(fig, ax, im, axis_label(d.label, zunit), style)


def _draw_tag_map(fig: Any, ax: Any, d: TagMapData, style: FigureStyle, vector: bool) -> None:
    """A series' map: x across, the tag up, one pixel per value (the rows and columns are evenly spaced)."""
    xs, xunit = si_scale(d.x, d.x_unit)
    ts, tunit = si_scale(d.tag, d.tag_unit)
    zs, zunit = si_scale(np.array([d.vmin, d.vmax]), d.unit)
    x, t = d.x / xs, d.tag / ts
    dx = (x[-1] - x[0]) / (x.size - 1) if x.size > 1 else 1.0
    dt = (t[-1] - t[0]) / (t.size - 1) if t.size > 1 else 1.0
    im = ax.imshow(
        d.values / zs,
        origin="lower",
        aspect="auto",
        extent=(x[0] - dx / 2, x[-1] + dx / 2, t[0] - dt / 2, t[-1] + dt / 2),
        interpolation="none" if vector else "nearest",
        resample=False,
        cmap=mpl_colormap(d.cmap),
        vmin=d.vmin / zs,
        vmax=d.vmax / zs,
    )
    ax.set_xlabel(axis_label(d.x_label, xunit))
    ax.set_ylabel(axis_label(d.tag_label, tunit))
    ax.locator_params(axis="x", nbins=5)
    if d.title:
        ax.set_title(d.title)
    if d.colorbar:
        _colorbar(fig, ax, im, axis_label(d.label, zunit), style)


def _draw_surface(ax: Any, d: CutImageData, style: FigureStyle) -> None:
    """The cut as a 3D surface: bias along x, distance along y, the channel up, coloured by value."""
    xs, xunit = si_scale(d.sweep, d.sweep_unit)
    zs, zunit = si_scale(np.array([d.vmin, d.vmax]), d.unit)
    sel = np.ones(d.sweep.size, bool)
    if d.xlim is not None:
        sel = (d.sweep >= d.xlim[0]) & (d.sweep <= d.xlim[1])
    bx, dist = np.meshgrid(d.sweep[sel] / xs, d.distance * NM)
    z = np.clip(d.values[:, sel] / zs, d.vmin / zs, d.vmax / zs)
    ax.plot_surface(
        bx,
        dist,
        z,
        cmap=mpl_colormap(d.cmap),
        vmin=d.vmin / zs,
        vmax=d.vmax / zs,
        rstride=1,
        cstride=1,
        linewidth=0,
        antialiased=False,
        rasterized=True,
    )
    ax.view_init(elev=28, azim=-62)
    ax.set_xlabel(axis_label("Bias", xunit), labelpad=-6)
    ax.set_ylabel(axis_label("Distance", "nm"), labelpad=-6)
    # a 3D z label sits far right, over the next panel: the quantity goes above the z axis instead
    ax.text2D(1.0, 0.97, axis_label(d.label, zunit), transform=ax.transAxes, ha="right", va="top")
    ax.tick_params(axis="both", which="major", pad=-2, labelsize=style.tick_size)
    ax.locator_params(nbins=4)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.pane.set_facecolor((1.0, 1.0, 1.0, 0.0))
        axis.pane.set_edgecolor((0.6, 0.6, 0.6, 1.0))
    if d.title:
        ax.set_title(d.title)


def _draw_fit(fig: Any, cell: Any, d: FitData, style: FigureStyle) -> tuple[Any, Any]:
    """Data points, model line and (below, sharing x) the residuals; returns (main axes, residual axes or
    None)."""
    if d.residual is not None:
        sub = cell.subgridspec(2, 1, height_ratios=(3.0, 1.0), hspace=0.0)
        ax = fig.add_subplot(sub[0])
        rax = fig.add_subplot(sub[1], sharex=ax)
    else:
        ax, rax = fig.add_subplot(cell), None
    xs, xunit = si_scale(d.x, d.x_unit)
    ys, yunit = si_scale(np.concatenate([d.y, d.model]), d.y_unit)
    ax.plot(d.x / xs, d.y / ys, "o", ms=1.6, mew=0, color=_rgb((31, 119, 180)), label="data")
    ax.plot(d.x_model / xs, d.model / ys, "-", color=_rgb((214, 39, 40)), label="fit")
    ax.set_ylabel(axis_label(d.y_label, yunit))
    ax.locator_params(axis="x", nbins=5)
    if d.note:  # room above the curve for the parameter lines
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.14 * (d.note.count("\n") + 1) * (hi - lo))
        ax.text(0.03, 0.97, d.note, transform=ax.transAxes, ha="left", va="top", fontsize=style.legend_size)
    if d.title:
        ax.set_title(d.title)
    if rax is not None:
        assert d.residual is not None
        rax.axhline(0.0, color="0.5", lw=0.5)
        rax.plot(d.x / xs, d.residual / ys, "o", ms=1.2, mew=0, color="0.2")
        rax.set_ylabel("resid.")
        rax.locator_params(axis="y", nbins=3)
        ax.tick_params(labelbottom=False)
        rax.set_xlabel(axis_label(d.x_label, xunit))
    else:
        ax.set_xlabel(axis_label(d.x_label, xunit))
    return ax, rax


def _draw_scatter(ax: Any, d: ScatterData, style: FigureStyle) -> None:
    xs, xunit = si_scale(d.x, d.x_unit)
    ys, yunit = si_scale(d.y, d.y_unit)
    ax.scatter(
        d.x / xs, d.y / ys, s=d.marker_size, c=np.asarray(d.colours) / 255.0, linewidths=0, rasterized=True
    )
    for name, colour in d.legend:
        ax.plot([], [], "o", ms=3, color=_rgb(colour), label=name)
    r_text = f"r = {d.r:.2f}".replace("-", "\u2212") if np.isfinite(d.r) else None
    if d.legend or r_text:  # Pearson r heads the legend, placed where the points leave room
        leg = ax.legend(loc="best", handletextpad=0.2, title=r_text, alignment="left")
        leg.get_title().set_fontsize(style.legend_size)
    ax.set_xlabel(axis_label(d.x_label, xunit))
    ax.set_ylabel(axis_label(d.y_label, yunit))
    ax.locator_params(nbins=4)
    if d.title:
        ax.set_title(d.title)


def _letter(ax: Any, letter: str, style: FigureStyle, is_map: bool) -> Any:
    """The panel letter, bold, on the line of the title: just left of a map's frame, or (once
    :func:`_align_letters` has measured the labels) left of a plot's tick and axis labels."""
    from matplotlib.transforms import ScaledTranslation

    offset = ScaledTranslation(-2.0 / 72, 2.0 / 72, ax.figure.dpi_scale_trans)
    draw = getattr(ax, "text2D", ax.text)  # a 3D axes places 2D text with text2D
    return draw(
        0.0,
        1.0,
        letter,
        transform=ax.transAxes + offset,
        ha="right" if is_map else "left",
        va="bottom",
        fontsize=style.letter_size,
        fontweight="bold",
    )


def _align_letters(fig: Any, placed: list[tuple[Any, Any]]) -> None:
    """Move each plot's letter to the left edge of everything its axes draw (tick labels, axis label),
    measured after one layout pass; the letter stays attached to its axes, so later passes keep it."""
    from matplotlib.transforms import ScaledTranslation

    if not placed:
        return
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    for ax, text in placed:
        text.set_visible(False)
        left = ax.get_tightbbox(renderer).x0  # display pixels
        text.set_visible(True)
        dx = (left - ax.bbox.x0) / fig.dpi  # inches, <= 0
        text.set_transform(ax.transAxes + ScaledTranslation(dx, 2.0 / 72, fig.dpi_scale_trans))


def build_figure(
    desc: FigureDescription, sources: FigureSources, *, vector: bool = False
) -> tuple[Any, list[Any], list[Resolved]]:
    """(matplotlib Figure, axes per panel, resolved data per panel); call inside :func:`style_context`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    resolved = [resolve(p, sources) for p in desc.panels]
    w, h = desc.size_inches  # whole pixels at the dpi, so width x dpi is exactly the raster width
    size = (max(1, round(w * desc.dpi)) / desc.dpi, max(1, round(h * desc.dpi)) / desc.dpi)
    fig = Figure(figsize=size, dpi=desc.dpi, layout="constrained")
    FigureCanvasAgg(fig)
    fig.get_layout_engine().set(w_pad=3 / 72, h_pad=3 / 72, wspace=0.02, hspace=0.02)
    gs = fig.add_gridspec(
        desc.rows,
        desc.cols,
        height_ratios=list(desc.row_ratios) if desc.row_ratios else None,
        width_ratios=list(desc.col_ratios) if desc.col_ratios else None,
    )
    letters = desc.letters_in_order()
    axes = []
    to_align: list[tuple[Any, Any]] = []
    for panel, data, letter in zip(desc.panels, resolved, letters):
        cell = gs[panel.row : panel.row + panel.rowspan, panel.col : panel.col + panel.colspan]
        surface = isinstance(data, CutImageData) and data.surface
        if isinstance(data, FitData):  # two axes in the cell: the fit and its residuals
            ax, _residual_axes = _draw_fit(fig, cell, data, desc.style)
        else:
            ax = fig.add_subplot(cell, projection="3d" if surface else None)
            if surface:
                _draw_surface(ax, data, desc.style)  # type: ignore[arg-type]
            elif isinstance(data, MapData):
                _draw_map(fig, ax, data, desc.style, vector)
            elif isinstance(data, CutImageData):
                _draw_cut_image(fig, ax, data, desc.style, vector)
            elif isinstance(data, TagMapData):
                _draw_tag_map(fig, ax, data, desc.style, vector)
            elif isinstance(data, ScatterData):
                _draw_scatter(ax, data, desc.style)
            else:
                _draw_curves(ax, data, desc.style)
        if letter:
            is_map = isinstance(data, MapData) and not data.show_axes
            text = _letter(ax, letter, desc.style, is_map)
            if not is_map and not surface:
                to_align.append((ax, text))
        axes.append(ax)
    _align_letters(fig, to_align)
    return fig, axes, resolved


def style_context(desc: FigureDescription) -> Any:
    """A matplotlib ``rc_context`` with the figure's fonts, sizes and output settings."""
    import matplotlib

    return matplotlib.rc_context(_rc(desc.style, desc.dpi))


def figure_format(path: str | Path) -> str:
    """The output format of ``path`` from its extension; FigureError for anything but PDF, SVG, PNG, TIFF."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise FigureError(
            f"cannot write a figure as {ext or 'a file without extension'!r}: use .pdf, .svg, .png or .tif"
        )
    return ext


def render_image(desc: FigureDescription, sources: FigureSources, dpi: int = 100) -> np.ndarray:
    """The figure as an (h, w, 4) uint8 RGBA array at ``dpi`` (a preview for a figure view; the same
    layout and fonts as the exported file)."""
    if dpi != desc.dpi:
        desc = FigureDescription.from_dict({**desc.to_dict(), "dpi": int(dpi)})
    with _LOCK, style_context(desc):
        fig, _axes, _resolved = build_figure(desc, sources)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).copy()


def export_figure(
    desc: FigureDescription,
    sources: FigureSources,
    path: str | Path,
    *,
    dpi: int | None = None,
    write_data: bool = False,
    map_data_format: str = "hdf5",
) -> RenderResult:
    """Draw ``desc`` with data from ``sources`` and write it to ``path`` (format by extension: .pdf, .svg,
    .png, .tif/.tiff; raster at ``dpi`` or the figure's dpi). With ``write_data`` each panel's data are
    written beside it as ``<stem>_<letter>_<kind>.csv`` (maps: ``.h5``, or ``.csv`` with
    ``map_data_format="csv"``). Raises FigureError for a missing reference or an unknown format."""
    t0 = time.perf_counter()
    path = Path(path)
    fmt = figure_format(path)
    if dpi is not None:
        desc = FigureDescription.from_dict({**desc.to_dict(), "dpi": int(dpi)})
    with _LOCK, style_context(desc):
        fig, axes, resolved = build_figure(desc, sources, vector=fmt in VECTOR_FORMATS)
        save_fmt = "tiff" if fmt in ("tif", "tiff") else fmt
        kwargs: dict[str, Any] = {"format": save_fmt, "dpi": desc.dpi}
        if fmt == "pdf":
            kwargs["metadata"] = {"Creator": "STS Workbench", "Title": desc.name or path.stem}
        fig.savefig(path, **kwargs)
        boxes = [tuple(float(v) for v in ax.get_position().extents) for ax in axes]
    result = RenderResult(path=path, boxes=boxes, letters=desc.letters_in_order())  # type: ignore[arg-type]
    if fmt in RASTER_FORMATS:
        w, h = desc.size_inches
        result.pixels = (int(round(w * desc.dpi)), int(round(h * desc.dpi)))
    if write_data:
        for i, (panel, data, letter) in enumerate(zip(desc.panels, resolved, result.letters)):
            stem = path.with_name(f"{path.stem}_{letter or i + 1}_{panel.kind}")
            result.data_files.append(write_panel_data(data, stem, map_data_format))
    result.seconds = time.perf_counter() - t0
    return result


# -- panel data beside the figure ---------------------------------------------------------------------------
def _header(lines: list[str]) -> str:
    return "".join(f"# {line}\n" for line in lines)


def write_panel_data(data: Resolved, stem: Path, map_format: str = "hdf5") -> Path:
    """Write one resolved panel's data to ``stem`` + ``.csv`` or ``.h5``; returns the path. Values in SI
    units (V, m, S, ...) as the column names say."""
    if isinstance(data, MapData):
        return _write_map(data, stem, map_format)
    if isinstance(data, FitData):
        path = stem.with_suffix(".csv")
        model = np.interp(data.x, data.x_model, data.model)
        resid = data.residual if data.residual is not None else data.y - model
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(_header([f"fit: x {data.x_label} [{data.x_unit}], y {data.y_label} [{data.y_unit}]"]))
            fh.write(_header(data.note.splitlines()) if data.note else "")
            fh.write("x,data,model,residual\n")
            np.savetxt(fh, np.column_stack([data.x, data.y, model, resid]), delimiter=",", fmt="%.9g")
        return path
    if isinstance(data, CutImageData):
        path = stem.with_suffix(".csv")
        table = np.column_stack([data.distance, data.values])
        names = ["distance_m", *[f"{v:.9g}" for v in data.sweep]]
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(
                _header(
                    [
                        f"line cut of {data.label} [{data.unit}]; "
                        f"columns after distance_m: sweep ({data.sweep_unit})"
                    ]
                )
            )
            fh.write(",".join(names) + "\n")
            np.savetxt(fh, table, delimiter=",", fmt="%.9g")
        return path
    if isinstance(data, TagMapData):
        path = stem.with_suffix(".csv")
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(_header([f"{data.label} [{data.unit}]; rows: {data.tag_label} [{data.tag_unit}]"]))
            fh.write(_header([f"columns after the tag: {data.x_label} [{data.x_unit}]"]))
            fh.write(",".join(["tag", *[f"{v:.9g}" for v in data.x]]) + "\n")
            np.savetxt(fh, np.column_stack([data.tag, data.values]), delimiter=",", fmt="%.9g")
        return path
    if isinstance(data, ScatterData):
        path = stem.with_suffix(".csv")
        names = {tuple(int(v) for v in c): n for n, c in data.legend}
        region = [names.get(tuple(int(v) for v in c), "") for c in data.colours]
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(
                _header(
                    [
                        f"x: {data.x_label} [{data.x_unit}]; y: {data.y_label} [{data.y_unit}]; "
                        f"r = {data.r:.6g}"
                    ]
                )
            )
            fh.write("x,y,region\n")
            for x, y, r in zip(data.x, data.y, region):
                fh.write(f"{x:.9g},{y:.9g},{r}\n")
        return path
    return _write_curves(data, stem)


def _write_curves(d: CurvesData, stem: Path) -> Path:
    path = stem.with_suffix(".csv")
    head = [f"x: {d.x_label} [{d.x_unit}]; y: {d.y_label} [{d.y_unit or 'dimensionless'}] as plotted"]
    if d.note:
        head.append(d.note)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(_header(head))
        if all(c.x is None for c in d.curves):
            cols, names = [d.x], ["x"]
            for c in d.curves:
                cols.append(c.y)
                names.append(c.label or "y")
                if c.std is not None:
                    cols.append(c.std)
                    names.append(f"{c.label or 'y'} std")
            fh.write(",".join(n.replace(",", ";") for n in names) + "\n")
            np.savetxt(fh, np.column_stack(cols), delimiter=",", fmt="%.9g")
        else:  # curves on different x: one row per point
            fh.write("curve,x,y,std\n")
            for c in d.curves:
                x = c.x if c.x is not None else d.x
                std = c.std if c.std is not None else np.full(c.y.shape, np.nan)
                for xv, yv, sv in zip(x, c.y, std):
                    fh.write(f"{(c.label or 'y').replace(',', ';')},{xv:.9g},{yv:.9g},{sv:.9g}\n")
    return path


def _write_map(d: MapData, stem: Path, fmt: str) -> Path:
    f = d.frame
    ny, nx = f.shape
    if fmt == "csv":
        path = stem.with_suffix(".csv")
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(
                _header(
                    [
                        f"{d.label} [{d.unit}], {ny} rows x {nx} columns, row 0 = lowest line of the frame",
                        f"frame: centre {f.center} m, size {f.size} m, angle {f.angle} deg",
                    ]
                )
            )
            np.savetxt(fh, d.values, delimiter=",", fmt="%.9g")
        return path
    import h5py

    path = stem.with_suffix(".h5")
    ix = np.arange(nx)
    iy = np.arange(ny)
    dx, dy = f.pixel_size
    with h5py.File(path, "w") as h5:
        ds = h5.create_dataset("values", data=d.values)
        ds.attrs["unit"] = d.unit
        ds.attrs["label"] = d.label
        ds.attrs["layout"] = "[iy, ix]; row 0 = lowest line of the frame"
        h5.create_dataset("u_m", data=(ix + 0.5) * dx - f.size[0] / 2).attrs["meaning"] = (
            "frame-local x of columns"
        )
        h5.create_dataset("v_m", data=(iy + 0.5) * dy - f.size[1] / 2).attrs["meaning"] = (
            "frame-local y of rows"
        )
        for k, v in f.to_dict().items():
            h5.attrs[f"frame_{k}"] = v
        h5.attrs["colour_limits"] = [d.vmin, d.vmax]
        h5.attrs["colour_map"] = d.cmap
        for o in d.outlines:
            h5.create_dataset(f"outlines/{o.name}", data=o.segments).attrs["colour"] = list(o.colour)
    return path
