"""Right-click menus opened with a real right-click on the maps and spectrum plots, and their entries
clicked with the mouse: Pin here, Reset zoom, Export (CSV/PNG), Open in new map view, Regions from the
colour scale. (Before the fix the view box menu was disabled and no menu ever opened.)"""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from tests.app.gui_support import close_window, make_grid, open_window, pixel_xy, wait_slicers_idle
from tests.app.real_input import click_menu_path, right_click_menu


@pytest.fixture
def loaded(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=None)
    g = make_grid(ny=6, nx=9)
    key = w.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, w, n=1)
    w.state.set_cursor(pixel_xy(g, 2, 4))
    yield w, g, key
    if QApplication.activePopupWidget() is not None:
        QApplication.activePopupWidget().close()
    close_window(qtbot, w)


def _at(panel, x: float, y: float) -> QPoint:
    p = panel.view_to_widget(x, y)
    return QPoint(round(p.x()), round(p.y()))


def _texts(menu) -> list[str]:
    return [a.text().replace("&", "") for a in menu.actions() if a.text()]


def test_right_click_on_a_map_opens_its_menu_and_pin_here_pins_that_point(loaded, qtbot):
    w, g, key = loaded
    panel = w.exploration.slicers_for(key)[0].panel
    x, y = pixel_xy(g, 4, 7)
    menu = right_click_menu(qtbot, panel.graphics.viewport(), _at(panel, x, y))
    texts = _texts(menu)
    assert {"Pin spectrum here", "Reset zoom", "Export"} <= set(texts)
    assert "Regions from this map's colour scale..." in texts
    n = len(w.state.pinned)
    click_menu_path(qtbot, menu, "Pin spectrum here")
    assert len(w.state.pinned) == n + 1
    pin = w.state.pinned[-1]
    dx, dy = g.frame.pixel_size
    assert abs(pin.x - x) < dx and abs(pin.y - y) < dy


def test_map_export_from_the_right_click_menu_writes_csv_and_png(loaded, qtbot, tmp_path, monkeypatch):
    w, g, key = loaded
    panel = w.exploration.slicers_for(key)[0].panel
    monkeypatch.setattr(w.exporter, "ask_path", lambda kind, name: str(tmp_path / f"map.{kind}"))
    monkeypatch.setattr(w.exporter, "ask_map_png", lambda: (96, False))
    centre = _at(panel, *g.frame.center)
    click_menu_path(
        qtbot, right_click_menu(qtbot, panel.graphics.viewport(), centre), "Export", "Data as CSV..."
    )
    rows = [r for r in csv.reader(ln for ln in open(tmp_path / "map.csv") if not ln.startswith("#"))]
    assert len(rows) == 1 + 6 * 9
    click_menu_path(
        qtbot, right_click_menu(qtbot, panel.graphics.viewport(), centre), "Export", "Image as PNG..."
    )
    assert not QImage(str(tmp_path / "map.png")).isNull()


def test_right_click_on_the_spectrum_plot_exports_its_curves(loaded, qtbot, tmp_path, monkeypatch):
    w, g, key = loaded
    row = w.exploration.spectra.rows[key]
    monkeypatch.setattr(w.exporter, "ask_path", lambda kind, name: str(tmp_path / "spectra.csv"))
    view = row.plot_item.getViewBox()
    scene_pt = view.mapViewToScene(view.viewRect().center())
    gv = row.plot_item.scene().views()[0]
    pos = gv.mapFromScene(scene_pt)
    menu = right_click_menu(qtbot, gv.viewport(), pos)
    assert "Export" in _texts(menu)
    click_menu_path(qtbot, menu, "Export", "Curves as CSV...")
    rows = list(csv.reader(open(tmp_path / "spectra.csv")))
    assert rows[0][1:] == ["Bias (V)", "dI/dV (S)"]
    assert len(rows) > len(g.bias)


def test_topography_right_click_opens_the_map_in_a_new_map_view(loaded, qtbot):
    w, g, key = loaded
    topo = w.exploration.topography
    qtbot.waitUntil(lambda: topo.frame is not None, timeout=5000)
    before = len(w.exploration.map_docks.docks)
    menu = right_click_menu(qtbot, topo.graphics.viewport(), _at(topo, *g.frame.center))
    click_menu_path(qtbot, menu, "Open this map in a new map view")
    qtbot.waitUntil(lambda: len(w.exploration.map_docks.docks) == before + 1, timeout=5000)
