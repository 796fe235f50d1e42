"""The series 2D map as a panel (the quantity against x and a tag, pixel-exact, its data written beside
the figure) and panels that draw every region of the session (a region added later joins them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.figures.colormaps import mpl_colormap
from analysis.figures.description import FigureDescription, MapPanel, RegionSpectraPanel, SeriesMapPanel
from analysis.figures.render import export_figure
from analysis.figures.resolve import FigureError, FigureSources, resolve
from analysis.maps.regions import Rectangle, Region
from analysis.series import make_series
from analysis.transport.grids import derivative
from analysis.transport.maps import tag_map
from tests.analysis.figures.conftest import NM, small_grid
from tests.analysis.figures.test_render import png_pixels


def neck_series():
    """Five current sweeps of a resistor R(H) = 10 (1 + H) Ohm, H = 0 .. 1 T: dV/dI = R exactly."""
    i = np.linspace(-1e-4, 1e-4, 9)
    fields = np.linspace(0.0, 1.0, 5)
    sweeps = [{"Current": i, "Voltage": 10.0 * (1 + h) * i} for h in fields]
    return make_series(
        sweeps, units={"Current": "A", "Voltage": "V"}, tags={"H": fields}, tag_units={"H": "T"}
    )


def test_series_map_is_the_tag_map_and_draws_pixel_exact(tmp_path: Path) -> None:
    s = neck_series()
    src = FigureSources(datasets={"s": s})
    panel = SeriesMapPanel(series="s", channel="Voltage", tag="H", colorbar=False)
    data = resolve(panel, src)
    np.testing.assert_array_equal(data.values, tag_map(s, "Voltage", "H").values)
    assert (data.x_unit, data.tag_unit, data.unit) == ("A", "T", "V")
    # a derivative named as the Series dock names it: dV/dI of a resistor is its resistance
    ddi = resolve(SeriesMapPanel(series="s", channel="dV/dI", tag="H"), src)
    np.testing.assert_allclose(ddi.values, tag_map(derivative(s, "Voltage", "Current"), "dV/dI", "H").values)
    np.testing.assert_allclose(np.nanmedian(ddi.values, axis=1), 10.0 * (1 + np.linspace(0, 1, 5)), rtol=1e-6)
    with pytest.raises(FigureError, match="no quantity"):
        resolve(SeriesMapPanel(series="s", channel="nothing", tag="H"), src)
    with pytest.raises(FigureError, match="tag"):
        resolve(SeriesMapPanel(series="s", channel="Voltage", tag="T"), src)

    desc = FigureDescription(panels=[panel], width_cm=6.0, height_cm=5.0, dpi=100, letters=False)
    result = export_figure(desc, src, tmp_path / "map.png", write_data=True)
    px = png_pixels(result.path).astype(int)
    h, w, _ = px.shape
    x0, y0, x1, y1 = result.boxes[0]
    ny, nx = data.values.shape
    cmap = mpl_colormap(panel.cmap)
    for iy in range(ny):
        for ix in range(nx):
            col = int((x0 + (ix + 0.5) / nx * (x1 - x0)) * w)
            row = int((1 - (y0 + (iy + 0.5) / ny * (y1 - y0))) * h)
            f = np.clip((data.values[iy, ix] - data.vmin) / (data.vmax - data.vmin), 0, 1)
            want = np.round(np.array(cmap(f)[:3]) * 255)
            assert np.abs(px[row, col] - want).max() <= 3, (iy, ix)
    (csv,) = result.data_files
    table = np.loadtxt(csv, delimiter=",", comments="#", skiprows=3)
    np.testing.assert_allclose(table[:, 0], data.tag)
    np.testing.assert_allclose(table[:, 1:], data.values, rtol=1e-8)


def test_all_regions_follow_the_collection() -> None:
    grid = small_grid()
    left = Region("Left", (31, 119, 180), geometry=Rectangle((-15 * NM, 0.0), (28 * NM, 48 * NM), 0.0))
    regions = {"left": left}
    src = FigureSources(datasets={"g": grid}, regions=regions)
    spectra = RegionSpectraPanel(dataset="g", regions=("left",), all_regions=True, offset=0.0)
    outlined = MapPanel(dataset="g", bias=0.0, regions=("left",), all_regions=True)
    assert [c.label for c in resolve(spectra, src).curves] == ["Left"]
    # a region drawn later joins; one beside the grid (no pixel of it) is left out, not an error
    regions["right"] = Region(
        "Right", (214, 39, 40), geometry=Rectangle((20 * NM, 0.0), (10 * NM, 10 * NM), 0.0)
    )
    regions["away"] = Region("Away", (0, 0, 0), geometry=Rectangle((500 * NM, 0.0), (10 * NM, 10 * NM), 0.0))
    assert [c.label for c in resolve(spectra, src).curves] == ["Left", "Right"]
    assert [o.name for o in resolve(outlined, src).outlines] == ["Left", "Right"]
    # a panel that names its regions keeps them
    fixed = RegionSpectraPanel(dataset="g", regions=("left",), offset=0.0)
    assert [c.label for c in resolve(fixed, src).curves] == ["Left"]
