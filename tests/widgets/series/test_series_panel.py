"""The series panel: choosers emit requests, setters fill the tabs, export buttons and menus name the view."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from tests.app.real_input import choose, click_menu_path, right_click_menu
from tests.widgets.region_mouse import click, drag
from tests.widgets.series.helpers import grab, near_colour, point, show
from tests.widgets.series.synthetic import gap, map_data, series
from widgets.series.result_plot import Result
from widgets.series.series_panel import VIEWS, SeriesPanel


@pytest.fixture
def panel(qtbot):
    p = show(qtbot, SeriesPanel(), 900, 600)
    p.set_quantities([("Voltage", "V"), ("Current", "A"), ("dV/dI", "Ohm")], x="Voltage", y="Current")
    p.set_tags([("H", "T"), ("T", "K")], current="H")
    xs, ys, h = series(12, 400)
    p.set_series_curves(xs, ys, h, "H", "T", "Voltage", "V", "Current", "A")
    x, hh, z = map_data(40, 200)
    p.set_map(z, x, hh, "Voltage", "V", "H", "T", "dV/dI", "Ohm")
    p.set_results([Result("Delta", hh[::8], gap(hh[::8]), np.full(5, 2e-5), "V")], "H", "T")
    return p


def _click_tab(qtbot, panel, key: str) -> None:
    bar = panel.tabs.tabBar()
    i = [k for k, _t in VIEWS].index(key)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(i).center())
    qtbot.waitUntil(lambda: panel.current_view() == key, timeout=2000)


def test_choosers_list_channels_with_units_and_emit_the_choice(panel, qtbot):
    texts = [panel.x_combo.itemText(i) for i in range(panel.x_combo.count())]
    assert texts == ["Voltage (V)", "Current (A)", "dV/dI (Ohm)"]
    assert panel.y_combo.currentData() == "Current"
    with qtbot.waitSignal(panel.quantity_changed) as sig:
        choose(qtbot, panel.y_combo, "dV/dI")
    assert sig.args == ["y", "dV/dI"]
    with qtbot.waitSignal(panel.quantity_changed) as sig:
        choose(qtbot, panel.x_combo, "Current")
    assert sig.args == ["x", "Current"]
    with qtbot.waitSignal(panel.tag_changed) as sig:
        choose(qtbot, panel.tag_combo, "T")
    assert sig.args == ["T"]


def test_setters_do_not_emit_requests(qtbot):
    p = show(qtbot, SeriesPanel(), 600, 400)
    with qtbot.assertNotEmitted(p.quantity_changed), qtbot.assertNotEmitted(p.tag_changed):
        p.set_quantities([("Voltage", "V"), ("Current", "A")], x="Current", y="Voltage")
        p.set_tags([("P_rf", "dBm")], "P_rf")
    assert p.x_combo.currentData() == "Current" and p.tag_combo.currentText() == "P_rf (dBm)"


def test_every_tab_shows_its_view(panel, qtbot):
    for key, _title in VIEWS:
        _click_tab(qtbot, panel, key)
        view = panel.views[key]
        img = grab(view.graphics)
        # something other than the white background is drawn in every view
        colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
        assert len(colours) > 10, key
        assert view.isVisible() and img.width() > 500, key
    # the 2D map is in viridis: its background between the ridges is dark violet
    m = panel.map
    img = grab(m.graphics)
    assert near_colour(img, m.view_to_widget(0.0, 0.2), (68, 1, 84), radius=2, tol=40)


def test_export_buttons_and_menus_name_the_view(panel, qtbot):
    with qtbot.waitSignal(panel.export_requested) as sig:
        qtbot.mouseClick(panel.export_buttons["png"], Qt.MouseButton.LeftButton)
    assert sig.args == ["png", "overlay"]
    _click_tab(qtbot, panel, "map")
    with qtbot.waitSignal(panel.export_requested) as sig:
        qtbot.mouseClick(panel.export_buttons["csv"], Qt.MouseButton.LeftButton)
    assert sig.args == ["csv", "map"]
    menu = right_click_menu(qtbot, panel.map.graphics.viewport(), point(panel.map.view_to_widget(-3e-3, 0.5)))
    with qtbot.waitSignal(panel.export_requested) as sig:
        click_menu_path(qtbot, menu, "Export", "Image as SVG...")
    assert sig.args == ["svg", "map"]
    _click_tab(qtbot, panel, "results")
    v = panel.results
    at = v.graphics.mapFromScene(v.view_box.mapViewToScene(v.view_box.viewRect().center()))
    menu = right_click_menu(qtbot, v.graphics.viewport(), point(at))
    with qtbot.waitSignal(panel.export_requested) as sig:
        click_menu_path(qtbot, menu, "Export", "Data as CSV...")
    assert sig.args == ["csv", "results"]


def test_map_clicks_and_waterfall_hover_reach_the_panel_signals(panel, qtbot):
    _click_tab(qtbot, panel, "map")
    with qtbot.waitSignal(panel.cut_changed) as sig:
        click(panel.map.graphics.viewport(), panel.map.view_to_widget(1e-3, 0.3))
    assert sig.args[0] == pytest.approx(1e-3, abs=1e-4) and sig.args[1] == pytest.approx(0.3, abs=0.05)
    _click_tab(qtbot, panel, "waterfall")
    w = panel.waterfall
    x, y = w.overlay.xs[5][100], w.overlay.ys[5][100] + w.overlay.offsets()[5]
    with qtbot.waitSignal(panel.hovered) as sig:
        qtbot.mouseMove(w.graphics.viewport(), point(w.view_to_widget(x, y)))
    assert sig.args == [5]


def test_a_ladder_on_the_map_is_dragged_by_a_rung(panel, qtbot):
    _click_tab(qtbot, panel, "map")
    ladder = panel.add_ladder("map", "2\u0394", "inverse", 2.0e-3, n_rungs=3)
    m = panel.map
    start = m.view_to_widget(1.0e-3, 0.8)  # rung 2 at 2 mV / 2, near the top, away from the crosshair
    end = m.view_to_widget(1.2e-3, 0.8)
    got: list[tuple[str, float]] = []
    panel.ladder_changed.connect(lambda n, v: got.append((n, v)))
    path = [QPointF(start.x() + (end.x() - start.x()) * t, start.y()) for t in (0, 0.1, 0.5, 1)]
    drag(m.graphics.viewport(), path)
    qtbot.waitUntil(lambda: bool(got), timeout=2000)
    name, value = got[-1]  # emitted along the drag; the last one is where it was released
    assert name == "2\u0394"
    assert value == pytest.approx(2 * 1.2e-3, abs=4 * m.view_box.viewPixelSize()[0])
    assert ladder.lines[0][2].value() == pytest.approx(value)  # rung 1 sits at 2Delta itself
    lines = [line for _n, _s, line in ladder.lines]
    panel.remove_ladder("2\u0394")
    assert all(line.scene() is None for line in lines) and not panel.ladders
