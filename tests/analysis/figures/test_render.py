"""Rendering: every panel kind to PDF, SVG and PNG; vector output keeps text and paths; raster size;
pixel-exact maps; colour-bar units; data beside the figure."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import h5py
import numpy as np
import pytest

from analysis.figures.colormaps import COLORMAP_STOPS, mpl_colormap
from analysis.figures.description import FigureDescription, MapPanel, RegionSpectraPanel
from analysis.figures.render import build_figure, export_figure, style_context
from analysis.figures.resolve import FigureError, FigureSources, resolve
from analysis.figures.units import nice_length, si_scale
from tests.analysis.figures.conftest import checkerboard
from tests.analysis.figures.test_description import every_kind

SVG = "{http://www.w3.org/2000/svg}"


def pdf_streams(path: Path) -> bytes:
    """Every content stream of a PDF, inflated."""
    raw = path.read_bytes()
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", raw, flags=re.S):
        try:
            out.append(zlib.decompress(m.group(1)))
        except zlib.error:
            out.append(m.group(1))
    return b"\n".join(out)


def svg_texts(path: Path) -> list[str]:
    root = ElementTree.parse(path).getroot()
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def png_pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture(scope="module")
def all_kinds(sources: FigureSources, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The figure with every panel kind written once as PDF, SVG and PNG (with its panel data)."""
    out = tmp_path_factory.mktemp("all")
    desc = every_kind()
    return {
        ext: export_figure(desc, sources, out / f"fig.{ext}", write_data=ext == "png")
        for ext in ("pdf", "svg", "png")
    }


@pytest.mark.parametrize("ext", ["pdf", "svg", "png"])
def test_every_panel_kind_renders(all_kinds: dict[str, Any], ext: str) -> None:
    result = all_kinds[ext]
    assert result.path.is_file() and result.path.stat().st_size > 1000
    assert len(result.boxes) == 8
    for x0, y0, x1, y1 in result.boxes:  # every panel inside the page
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
    if ext == "png":
        h, w, _ = png_pixels(result.path).shape
        assert (w, h) == result.pixels == (round(17.8 / 2.54 * 150), round(9.0 / 2.54 * 150))


def test_pdf_is_vector_with_text_as_text(all_kinds: dict[str, Any]) -> None:
    path = all_kinds["pdf"].path
    raw = path.read_bytes()
    assert b"/FontFile2" in raw  # TrueType fonts embedded: the text stays text
    body = pdf_streams(path)
    assert body.count(b" Tj") + body.count(b" TJ") > 20  # text-showing operators
    assert re.search(rb"\d l\n", body) and re.search(rb"\d m\n", body)  # paths (moveto / lineto)
    assert b"/Subtype /Image" in raw  # the map's pixels, embedded as they are


def test_svg_is_vector_with_text_as_text(all_kinds: dict[str, Any]) -> None:
    path = all_kinds["svg"].path
    texts = svg_texts(path)
    for letter in ("A", "B", "x", "G", "H"):
        assert letter in texts
    assert "width = 1 \u00b1 0.02 mV" in texts and "resid." in texts
    assert any("Bias (mV)" in t for t in texts)
    root = ElementTree.parse(path).getroot()
    assert len(list(root.iter(f"{SVG}path"))) > 50


def test_colour_bar_label_carries_the_unit(sources: FigureSources, tmp_path: Path) -> None:
    desc = FigureDescription(
        panels=[
            MapPanel(dataset="g", bias=-5e-3),
            MapPanel(col=1, dataset="g", source="param", channel="Z", cmap="cividis"),
        ],
        cols=2,
        width_cm=8.6,
    )
    path = tmp_path / "maps.svg"
    export_figure(desc, sources, path)
    texts = svg_texts(path)
    assert "dI/dV (nS)" in texts
    assert "Z (nm)" in texts
    assert "\u22125 mV" in texts  # the bias in the title, with a true minus sign


@pytest.mark.parametrize("dpi", [100, 200])
def test_checkerboard_renders_as_exact_blocks(tmp_path: Path, dpi: int) -> None:
    image = checkerboard(8)
    src = FigureSources(datasets={"c": image})
    desc = FigureDescription(
        panels=[MapPanel(dataset="c", channel="v", vmin=0.0, vmax=1.0, colorbar=False, scale_bar_m=0.0)],
        width_cm=4.0,
        height_cm=4.0,
        dpi=dpi,
        letters=False,
    )
    path = tmp_path / "checker.png"
    export_figure(desc, src, path)
    px = png_pixels(path).astype(int)
    cm = (np.array(mpl_colormap("viridis")([0.0, 1.0])[:, :3]) * 255).round().astype(int)
    lo, hi = cm[0], cm[1]
    is_lo = np.all(px == lo, axis=2)
    is_hi = np.all(px == hi, axis=2)
    rows, cols = np.nonzero(is_lo | is_hi)
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    inner = (slice(y0 + 3, y1 - 3), slice(x0 + 3, x1 - 3))  # inside the axes frame
    assert np.all(is_lo[inner] | is_hi[inner]), "blended colours: the map was interpolated"
    side = (x1 - x0) / 8
    assert (y1 - y0) == pytest.approx(x1 - x0, abs=2)  # square pixels
    # every data pixel is one block of one colour; row 0 (value 1 at column 0) is at the bottom
    for iy in range(8):
        for ix in range(8):
            cy = int(y1 - (iy + 0.5) * side)  # PNG rows run downwards
            cx = int(x0 + (ix + 0.5) * side)
            want_hi = image.channels["v"][iy, ix] == 1.0
            block = (
                slice(cy - int(side / 2) + 2, cy + int(side / 2) - 1),
                slice(cx - int(side / 2) + 2, cx + int(side / 2) - 1),
            )
            assert np.all((is_hi if want_hi else is_lo)[block]), (iy, ix)
    # block edges fall on the same columns in every row (no sub-pixel smearing)
    mid = is_hi[(y0 + y1) // 2, x0:x1].astype(int)
    edges = np.flatnonzero(np.diff(mid)) + 1
    assert len(edges) == 7
    assert np.allclose(np.diff(edges), side, atol=1.01)


def test_rotated_frame_is_drawn_rotated(tmp_path: Path) -> None:
    src = FigureSources(datasets={"c": checkerboard(8, angle=30.0)})
    desc = FigureDescription(panels=[MapPanel(dataset="c", channel="v")], width_cm=6.0)
    with style_context(desc):
        fig, axes, _ = build_figure(desc, src)
    half = 40 * (np.cos(np.radians(30)) + np.sin(np.radians(30)))  # nm, half the rotated bounding box
    assert axes[0].get_xlim() == pytest.approx((-half, half))
    im = axes[0].get_images()[0]
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    corner = im.get_transform().transform((40.0, -40.0))  # the frame's lower right corner, rotated
    assert corner == pytest.approx(axes[0].transData.transform((40 * c + 40 * s, 40 * s - 40 * c)))


def test_data_written_beside_the_figure(sources: FigureSources, all_kinds: dict[str, Any]) -> None:
    result = all_kinds["png"]
    folder = result.path.parent
    names = sorted(p.name for p in result.data_files)
    assert names[0] == "fig_A_map.h5" and "fig_B_region_spectra.csv" in names
    assert len(names) == 8 and all(p.is_file() for p in result.data_files)
    fit = np.loadtxt(folder / "fig_H_fit.csv", delimiter=",", skiprows=4)  # 3 comment lines, 1 header
    assert fit.shape == (41, 4) and np.allclose(fit[:, 1] - fit[:, 2], fit[:, 3])
    grid = sources.datasets["g"]
    with h5py.File(folder / "fig_A_map.h5") as h5:
        want = grid.bias_slice("dI/dV", grid.bias_index(-5e-3), 1)
        assert np.allclose(h5["values"][()], want)
        assert h5["values"].attrs["unit"] == "S"
    table = np.loadtxt(folder / "fig_B_region_spectra.csv", delimiter=",", comments="#", skiprows=2)
    assert table.shape == (21, 5)  # bias, then mean and std for each of two regions
    assert np.allclose(table[:, 0], grid.bias)


def test_region_spectra_are_normalised_and_offset(sources: FigureSources) -> None:
    data = resolve(RegionSpectraPanel(dataset="g", regions=("left", "right")), sources)
    bias = sources.datasets["g"].bias
    first = data.curves[0].y
    assert np.trapezoid(first, bias) / (bias[-1] - bias[0]) == pytest.approx(1.0)
    second = data.curves[1].y
    assert np.trapezoid(second, bias) / (bias[-1] - bias[0]) > 1.1  # offset upwards
    assert data.y_unit == ""


def test_missing_references_and_formats_are_reported(sources: FigureSources, tmp_path: Path) -> None:
    with pytest.raises(FigureError, match="no dataset 'nope'"):
        resolve(MapPanel(dataset="nope", bias=0.0), sources)
    with pytest.raises(FigureError, match="no region"):
        resolve(RegionSpectraPanel(dataset="g", regions=("ghost",)), sources)
    with pytest.raises(FigureError, match="outside the sweep"):
        resolve(MapPanel(dataset="g", bias=1.0), sources)
    with pytest.raises(FigureError, match=".pdf, .svg"):
        export_figure(
            FigureDescription(panels=[MapPanel(dataset="g", bias=0.0)]), sources, tmp_path / "x.jpg"
        )


def test_si_prefixes_from_the_data() -> None:
    assert si_scale(np.array([1e-9, 3e-9]), "S") == (pytest.approx(1e-9), "nS")
    assert si_scale(np.array([-15e-3, 15e-3]), "V") == (pytest.approx(1e-3), "mV")
    assert si_scale(np.array([0.0, 2e-9]), "m") == (pytest.approx(1e-9), "nm")
    assert si_scale(np.array([5e-6]), "S")[1] == "\u00b5S"
    assert si_scale(np.array([25e3]), "Ohm")[1] == "k\u03a9"
    assert si_scale(np.array([2.0]), "") == (1.0, "")
    assert nice_length(220.0) == 50.0 and nice_length(60.0) == 10.0


def test_cut_surface_and_waterfall(sources: FigureSources, tmp_path: Path) -> None:
    from analysis.figures.description import LineCutPanel

    desc = FigureDescription(
        panels=[
            LineCutPanel(dataset="g", cut="cut", style="surface"),
            LineCutPanel(col=1, dataset="g", cut="cut", style="waterfall", n_curves=5),
        ],
        cols=2,
        width_cm=12.0,
    )
    with style_context(desc):
        fig, axes, resolved = build_figure(desc, sources)
    assert axes[0].name == "3d" and axes[1].name == "rectilinear"
    assert len(resolved[1].curves) == 5
    steps = [c.y.mean() for c in resolved[1].curves]
    assert np.all(np.diff(steps) > 0)  # offset upwards along the cut
    export_figure(desc, sources, tmp_path / "cut.pdf")


def test_letters_sit_left_of_the_axis_labels(sources: FigureSources) -> None:
    desc = every_kind()
    with style_context(desc):
        fig, axes, _ = build_figure(desc, sources)
        renderer = fig.canvas.get_renderer()
        for ax in axes[1:]:
            letter = [t for t in ax.texts if t.get_fontweight() == "bold"]
            assert letter, "no letter"
            box = letter[0].get_window_extent(renderer)
            label = ax.yaxis.label.get_window_extent(renderer)
            assert box.x0 <= label.x0 + 1.0
            assert box.y0 >= ax.bbox.y1 - 1.0


def test_colour_maps_match_the_views() -> None:
    """The figures' stops are the map views' own colours (widgets/colormaps.py resamples to 17 stops)."""
    pytest.importorskip("PySide6")
    from widgets.colormaps import COLORMAPS, STOPS, colormap

    assert set(COLORMAPS) == set(COLORMAP_STOPS)
    for name in COLORMAPS:
        view = colormap(name).map(np.linspace(0.0, 1.0, STOPS), mode="byte")[:, :3]
        assert np.array_equal(view, np.array(COLORMAP_STOPS[name])), name


def test_tiff_at_a_chosen_dpi(tmp_path: Path) -> None:
    src = FigureSources(datasets={"c": checkerboard(4)})
    desc = FigureDescription(panels=[MapPanel(dataset="c", channel="v")], width_cm=8.6, height_cm=6.0)
    result = export_figure(desc, src, tmp_path / "f.tif", dpi=72)
    from PIL import Image

    with Image.open(result.path) as im:
        assert im.format == "TIFF" and im.size == (round(8.6 / 2.54 * 72), round(6.0 / 2.54 * 72))


def test_preview_image_has_the_export_size(sources: FigureSources) -> None:
    from analysis.figures.render import render_image

    desc = FigureDescription(panels=[MapPanel(dataset="g", bias=0.0)], width_cm=8.6, height_cm=6.0)
    rgba = render_image(desc, sources, dpi=50)
    assert rgba.dtype == np.uint8 and rgba.shape == (round(6.0 / 2.54 * 50), round(8.6 / 2.54 * 50), 4)


def test_xy_panel_on_a_log_axis_with_points_per_curve(tmp_path):
    """A log-x XY panel renders with its decade ticks, and a curve marked as points is drawn as markers
    beside a line in the same panel."""
    from matplotlib.figure import Figure

    from analysis.figures.description import DOUBLE_COLUMN_CM, FigureDescription, FigureStyle, XYPanel
    from analysis.figures.render import _draw_curves, export_figure
    from analysis.figures.resolve import FigureSources, XYSeries, resolve_xy

    x = np.geomspace(1e2, 1e6, 40)
    sources = FigureSources(
        series={
            "line": XYSeries(x, 1.0 / np.log10(x), "model"),
            "points": XYSeries(x[::5], 1.0 / np.log10(x[::5]), "measured", style="markers"),
        }
    )
    panel = XYPanel(series=("line", "points"), x_label="P", x_unit="W", y_label="R", log_x=True)
    data = resolve_xy(panel, sources)
    assert [c.style for c in data.curves] == ["line", "markers"]
    desc = FigureDescription(panels=[panel], rows=1, cols=1, width_cm=DOUBLE_COLUMN_CM, name="log")
    export_figure(desc, sources, tmp_path / "log.pdf")
    assert (tmp_path / "log.pdf").stat().st_size > 1000
    ax = Figure().add_subplot()
    _draw_curves(ax, data, FigureStyle())
    assert ax.get_xscale() == "log"
    line, points = ax.get_lines()
    assert line.get_marker() in ("None", "", None) and line.get_linestyle() == "-"
    assert points.get_marker() == "o" and points.get_linestyle() == "None"
