"""Export of maps and plots: PNG at a chosen dpi, SVG, CSV; through the context menus too."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage

from tests.app.gui_support import close_window, make_grid, open_window, pixel_xy, wait_slicers_idle


@pytest.fixture
def loaded(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path)
    g = make_grid(ny=6, nx=9)
    key = w.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, w, n=1)
    w.state.set_cursor(pixel_xy(g, 2, 4))
    yield w, g, key
    close_window(qtbot, w)


def test_map_png_svg_csv(loaded, tmp_path):
    w, g, key = loaded
    panel = w.exploration.slicers_for(key)[0].panel
    png = w.exporter.export_map(panel, "png", str(tmp_path / "map.png"), dpi=192, decorated=True)
    img = QImage(png)
    assert not img.isNull()
    assert img.width() == 2 * panel.graphics.viewport().width()
    assert round(img.dotsPerMeterX() * 0.0254) == 192
    assert len({img.pixel(x, img.height() // 2) for x in range(0, img.width(), 7)}) > 5  # not blank
    svg = w.exporter.export_map(panel, "svg", str(tmp_path / "map.svg"))
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    path = w.exporter.export_map(panel, "csv", str(tmp_path / "map.csv"))
    with open(path) as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    rows = list(csv.reader(lines))
    assert rows[0][:4] == ["ix", "iy", "x (m)", "y (m)"] and rows[0][4] == "dI/dV (S)"
    assert len(rows) == 1 + 6 * 9
    by_pixel = {(int(r[0]), int(r[1])): float(r[4]) for r in rows[1:]}
    image = panel.current_image()
    assert by_pixel[(4, 2)] == pytest.approx(float(image[2, 4]), rel=1e-6)
    x, y = pixel_xy(g, 5, 8)
    row = [r for r in rows[1:] if r[0] == "8" and r[1] == "5"][0]
    assert float(row[2]) == pytest.approx(x) and float(row[3]) == pytest.approx(y)


def test_plot_exports_and_context_menu_path(loaded, tmp_path, monkeypatch):
    w, g, key = loaded
    target = tmp_path / "spectra.csv"
    monkeypatch.setattr(w.exporter, "ask_path", lambda kind, name: str(target))
    row = w.exploration.spectra.rows[key]
    export = [a.menu() for a in row.build_context_menu().actions() if a.text() == "Export"][0]
    [a for a in export.actions() if "CSV" in a.text()][0].trigger()
    rows = list(csv.reader(open(target)))
    assert rows[0] == ["curve", "Bias (V)", "dI/dV (S)"]
    sel = [r for r in rows[1:] if r[0].startswith("Selected: ")]
    assert len(sel) == len(g.bias)
    np.testing.assert_allclose([float(r[2]) for r in sel], g.channels["dI/dV"][2, 4], rtol=1e-6)
    monkeypatch.setattr(w.exporter, "ask_path", lambda kind, name: str(tmp_path / f"plot.{kind}"))
    monkeypatch.setattr(w.exporter, "ask_dpi", lambda: 96)
    for a in export.actions():
        a.trigger()
    assert not QImage(str(tmp_path / "plot.png")).isNull()
    assert ET.parse(tmp_path / "plot.svg").getroot().tag.endswith("svg")
    # a cancelled file dialog writes nothing and logs nothing as an error
    monkeypatch.setattr(w.exporter, "ask_path", lambda kind, name: None)
    n = len(w.log_panel.entries())
    assert w.exporter.export_plot(row.plot_item, "csv") is None
    assert len(w.log_panel.entries()) == n


def test_export_failure_is_logged(loaded, tmp_path):
    w, _g, key = loaded
    panel = w.exploration.slicers_for(key)[0].panel
    out = w.exporter.export_map(panel, "csv", str(tmp_path / "no_such_dir" / "m.csv"))
    assert out is None
    assert w.log_panel.entries()[-1][0] == "error"
