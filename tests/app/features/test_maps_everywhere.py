"""Derived parameter maps in the real window: map views, shared cursor, regions, correlation, cut profiles.

A small Dynes (SIN) grid with two "grains" (gap 1.2 meV left, 1.5 meV right) is batch-fitted; its maps image
is added to the state as the fit feature does, and the fitted Delta map is opened in its own map view.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from PySide6.QtCore import Qt

from analysis.dataset import Frame, Grid, Image, Source
from analysis.fitting.maps import fit_grid
from analysis.maps.linecut import line_cut
from analysis.models.registry import get_model
from app.features.map_docks import MapDock, default_levelling, display_map, map_content
from tests.app.gui_support import click_map, close_window, open_window, pixel_xy, wait_slicers_idle
from tests.widgets.region_mouse import drag

NY, NX, NB = 8, 10, 96
GAPS = (1.2e-3, 1.5e-3)  # left grain (ix < 4), right grain


@lru_cache(maxsize=1)
def _fitted() -> tuple[Grid, Image]:
    model = get_model("dynes_sin")
    rng = np.random.default_rng(3)
    x = np.linspace(-4e-3, 4e-3, NB)
    P = np.tile(np.array([model.defaults()[k] for k in model.param_names]), (NY * NX, 1))
    ix = np.arange(NY * NX) % NX
    P[:, 0] = 2e-8
    P[:, 1] = np.where(ix < 4, GAPS[0], GAPS[1])
    P[:, 2] = 0.08e-3
    cube = model.evaluate_batch(x, P) + 2e-10 * rng.standard_normal((NY * NX, NB))
    iy, jx = np.mgrid[0:NY, 0:NX]
    grid = Grid(
        name="dynes",
        units={"dI/dV": "S"},
        source=Source(path="dynes.3ds", reader="synthetic"),
        bias=x,
        channels={"dI/dV": cube.reshape(NY, NX, NB).astype(np.float32)},
        frame=Frame(center=(0.0, 0.0), size=(NX * 2e-9, NY * 2e-9), shape=(NY, NX)),
        params={"Z": (1e-10 * jx + 3e-10 * iy + 2e-10 * (jx > 6)).astype(np.float64)},
        param_units={"Z": "m"},
        valid=np.ones((NY, NX), bool),
    )
    image = fit_grid(grid, model, "dI/dV").to_image(name="dynes_sin maps of dynes grid")
    return grid, image


@pytest.fixture
def win(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=None)
    assert not w.features_failed, w.features_failed
    grid, image = _fitted()
    w.keys = (w.state.add_dataset(grid, "dynes grid"),)
    w.keys += (w.state.add_dataset(image, "dynes_sin maps", parent=w.keys[0]),)
    wait_slicers_idle(qtbot, w, n=1)
    yield w
    close_window(qtbot, w)


def _double_click(qtbot, tree, item) -> None:
    tree.scrollToItem(item)
    pos = tree.visualItemRect(item).center()
    # QTest's double click is only the second press: the first click comes before it, as with a mouse
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert tree.currentItem() is item  # the selection stays on the clicked map (not its dataset)
    pos = tree.visualItemRect(item).center()
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _open_delta(qtbot, w) -> MapDock:
    """Double-click "Delta" under the maps dataset in the data browser."""
    browser = w.exploration.browser
    item = browser.map_item(w.keys[1], "Delta")
    assert item is not None
    before = len(w.exploration.map_docks.docks)
    _double_click(qtbot, browser.tree, item)
    qtbot.waitUntil(lambda: len(w.exploration.map_docks.docks) == before + 1)
    md = w.exploration.map_docks.docks[-1]
    qtbot.wait(50)  # the dock has been laid out and the view auto-ranged
    return md


def _slicer_panel(w):
    return w.exploration.slicers_for(w.keys[0])[0].panel


def test_delta_map_opens_in_its_own_map_view(qtbot, win, tmp_path):
    grid, image = _fitted()
    delta = image.channels["Delta"]
    assert np.all(image.channels["success"] == 1)
    np.testing.assert_allclose(delta[:, :4], GAPS[0], atol=0.02e-3)
    np.testing.assert_allclose(delta[:, 4:], GAPS[1], atol=0.02e-3)
    md = _open_delta(qtbot, win)
    panel = md.panel
    dock = win.dock(md.dock_key)
    assert dock.isVisible() and dock.windowTitle() == "Map 1: dynes_sin maps: Delta"
    assert panel in win.map_panels() and panel.dataset_key == win.keys[1]
    # the rendered data is the map itself (no levelling for a gap), in the frame of the grid
    assert md.levelling == "none" and panel.levelling() == "none"
    np.testing.assert_array_equal(panel.current_image(), delta)
    np.testing.assert_array_equal(panel.image_item.image, delta)
    assert panel.frame == grid.frame and panel.value_label == "Delta" and panel.value_unit == "eV"
    # and its pixels on screen are the map's values through the colour table
    lo, hi = panel.levels()
    lut = panel.lookup_table(256)
    grab = panel.graphics.grab().toImage()
    ratio = grab.width() / panel.graphics.viewport().width()
    for iy, ix in [(0, 0), (7, 9), (3, 3), (4, 4), (6, 1)]:
        pos = panel.view_to_widget(*pixel_xy(grid, iy, ix))
        c = grab.pixelColor(round(pos.x() * ratio), round(pos.y() * ratio))
        frac = np.clip((delta[iy, ix] - lo) / (hi - lo), 0, 1)
        expected = lut[min(int(frac * 256), 255)][:3]
        assert np.abs(np.array([c.red(), c.green(), c.blue()]) - expected).max() <= 6, (iy, ix)
    # the features attached their overlays and context actions to it, like on a slicer
    assert win.regions.drawer_for(panel) is not None and win.linecuts.drawer_for(panel) is not None
    texts = [a.text() for a in panel.build_context_menu(0.0, 0.0).actions()]
    assert "Regions from this map's colour scale..." in texts and "Draw a line cut" in texts
    # another map of the same fit from the context menu; the channel choice switches the map
    browser = win.exploration.browser
    menu = browser.context_menu_for(browser.map_item(win.keys[1], "redchi"))
    next(a for a in menu.actions() if a.text() == "Open in new map view").trigger()
    assert len(win.exploration.map_docks.docks) == 2
    md2 = win.exploration.map_docks.docks[1]
    np.testing.assert_array_equal(md2.panel.current_image(), image.channels["redchi"])
    assert win.dock(md2.dock_key) in win.tabifiedDockWidgets(dock)
    md2.panel.channel_combo.setCurrentText("Gamma stderr")
    np.testing.assert_array_equal(md2.panel.current_image(), image.channels["Gamma stderr"])
    assert win.dock(md2.dock_key).windowTitle().endswith(": Gamma stderr")
    # the export writes the map's values
    path = win.exporter.export_map(panel, "csv", str(tmp_path / "delta.csv"))
    rows = np.loadtxt(path, delimiter=",", skiprows=2)
    assert rows.shape == (NY * NX, 5)
    np.testing.assert_allclose(rows[:, 4], delta.ravel(), rtol=1e-8)
    # its close button removes the view and its overlays; closing the data closes the rest
    panel2 = md2.panel
    win.dock(md2.dock_key).close()
    qtbot.waitUntil(lambda: len(win.exploration.map_docks.docks) == 1)
    assert panel2 not in win.map_panels() and md2.dock_key not in win.dock_keys()
    assert id(panel2) not in win.regions.drawers and id(panel2) not in win.linecuts.drawers
    win.state.remove_dataset(win.keys[0])
    assert win.exploration.map_docks.docks == [] and win.map_panels() == [win.exploration.topography]
    assert md.dock_key not in win.dock_keys()


def test_grid_parameter_and_topography_open_as_map_views(qtbot, win):
    grid, _ = _fitted()
    ex = win.exploration
    item = ex.browser.map_item(win.keys[0], "Z")
    _double_click(qtbot, ex.browser.tree, item)
    qtbot.waitUntil(lambda: len(ex.map_docks.docks) == 1)
    md = ex.map_docks.docks[0]
    # a height is plane-levelled by default, like the topography panel
    from analysis.processing.levelling import plane_level

    assert md.levelling == "plane"
    np.testing.assert_allclose(md.panel.current_image(), plane_level(grid.params["Z"]), atol=1e-15)
    md.panel.levelling_combo.setCurrentIndex(md.panel.levelling_combo.findData("none"))
    np.testing.assert_array_equal(md.panel.current_image(), grid.params["Z"].astype(np.float32))
    # the topography panel's map opens in a view of its own too
    topo = ex.topography
    act = next(
        a
        for a in topo.build_context_menu(0.0, 0.0).actions()
        if a.text() == "Open this map in a new map view"
    )
    act.trigger()
    assert len(ex.map_docks.docks) == 2 and ex.map_docks.docks[1].channel == ex.topo_channel
    np.testing.assert_allclose(ex.map_docks.docks[1].panel.current_image(), topo.current_image())
    # selecting the fitted maps leaves the topography on the sample's height...
    ex.browser.tree.setCurrentItem(ex.browser.item_for(win.keys[1]))
    assert win.state.current == win.keys[1]
    assert topo.dataset_key == win.keys[0] and topo.current_channel() == "Z"
    # ...and "Show in Topography" puts a fitted map there, not levelled
    menu = ex.browser.context_menu_for(ex.browser.map_item(win.keys[1], "Delta"))
    next(a for a in menu.actions() if a.text() == "Show in Topography").trigger()
    assert topo.dataset_key == win.keys[1] and topo.current_channel() == "Delta"
    assert topo.levelling() == "none"
    np.testing.assert_array_equal(topo.current_image(), _fitted()[1].channels["Delta"])
    # back on the grid, its height is plane-levelled again
    ex.browser.tree.setCurrentItem(ex.browser.item_for(win.keys[0]))
    assert topo.dataset_key == win.keys[0] and topo.levelling() == "plane"
    np.testing.assert_allclose(topo.current_image(), plane_level(grid.params["Z"]), atol=1e-15)
    # what cannot be opened gives a message, never a crash
    assert ex.open_map(win.keys[0], "no such map") is None and ex.open_map("nothing", None) is None
    assert "no map called" in win.log_panel.entries()[-2][1]


def test_click_on_the_delta_map_selects_the_point_everywhere(qtbot, win):
    grid, image = _fitted()
    md = _open_delta(qtbot, win)
    iy, ix = 5, 6
    click_map(qtbot, md.panel, *pixel_xy(grid, iy, ix))
    qtbot.waitUntil(lambda: win.state.cursor is not None)
    assert grid.frame.nearest_pixel(*win.state.cursor) == (iy, ix)
    slicer = _slicer_panel(win)
    for panel in (slicer, win.exploration.topography, md.panel):
        cross = panel.crosshair()
        assert cross is not None and np.allclose(cross, win.state.cursor)
    # "Pin on click": one pin, drawn on every map
    assert len(win.state.pinned) == 1
    assert slicer.marker_count() == 1 and md.panel.marker_count() == 1
    _x, y = win.exploration.spectra.curve(win.keys[0], "cursor").getData()
    np.testing.assert_array_equal(y, grid.channels["dI/dV"][iy, ix])
    # the status-bar read-out names the map's value
    text = win.exploration.readout_text(md.panel, pixel_xy(grid, iy, ix))
    assert f"pixel (ix {ix}, iy {iy})" in text and "Delta = 1.5 meV" in text
    # a click on the slicer moves the crosshair on the map view
    click_map(qtbot, slicer, *pixel_xy(grid, 1, 2))
    qtbot.waitUntil(lambda: grid.frame.nearest_pixel(*win.state.cursor) == (1, 2))
    assert np.allclose(md.panel.crosshair(), pixel_xy(grid, 1, 2))


def test_regions_from_the_delta_map_colour_scale(qtbot, win):
    grid, image = _fitted()
    delta = image.channels["Delta"]
    md = _open_delta(qtbot, win)
    ctl = win.regions
    act = next(
        a
        for a in md.panel.build_context_menu(0.0, 0.0).actions()
        if a.text() == "Regions from this map's colour scale..."
    )
    act.trigger()
    dlg = ctl.bands_dialog
    assert dlg is not None and dlg.map_combo.currentData() == f"panel:{id(md.panel)}"
    dlg.mode_combo.setCurrentIndex(dlg.mode_combo.findData("thresholds"))
    dlg.thresholds_edit.setText("1.35e-3")
    dlg.accept()
    regions = list(win.state.regions.values())
    assert [r.name for r in regions] == ["Region 1", "Region 2"]
    low = delta < 1.35e-3  # by hand: the left grain
    assert low.sum() == 4 * NY
    np.testing.assert_array_equal(regions[0].mask_in(grid.frame), low)
    np.testing.assert_array_equal(regions[1].mask_in(grid.frame), ~low)
    assert [row.pixels for row in ctl.list_panel.rows()] == [4 * NY, 6 * NY]
    qtbot.waitUntil(lambda: not ctl.is_busy(), timeout=15000)
    # the region averages are those of the grains' spectra
    avg = ctl.averages[win.keys[0]]
    cube = grid.channels["dI/dV"]
    np.testing.assert_allclose(avg[regions[0].id].mean, cube[low].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(avg[regions[1].id].mean, cube[~low].mean(axis=0), rtol=1e-5)
    # the mask regions tint the map view
    ov = ctl.drawer_for(md.panel).mask_overlay_image()
    assert ov is not None and tuple(ov[0, 0][:3]) == regions[0].colour
    assert tuple(ov[0, NX - 1][:3]) == regions[1].colour


def test_correlate_the_delta_map_with_a_bias_slice(qtbot, win):
    grid, image = _fitted()
    delta = image.channels["Delta"]
    md = _open_delta(qtbot, win)
    ctl = win.regions
    corr = ctl.corr_panel
    slicer = win.exploration.slicers_for(win.keys[0])[0]
    slicer.set_value(1.4e-3)  # near the coherence peaks: the conductance follows the gap
    wait_slicers_idle(qtbot, win)
    bias_map = grid.bias_slice("dI/dV", slicer.panel.shown_index).astype(np.float64)
    keys = [corr.combo_a.itemData(i) for i in range(corr.combo_a.count())]
    # derived image channels, grid parameters and the maps on display can all be chosen
    for key in (f"image:{win.keys[1]}:Delta", f"param:{win.keys[0]}:Z", f"panel:{id(md.panel)}"):
        assert key in keys, key
    corr.combo_a.setCurrentIndex(corr.combo_a.findData(f"image:{win.keys[1]}:Delta"))
    corr.combo_b.setCurrentIndex(corr.combo_b.findData(f"panel:{id(slicer.panel)}"))
    res = ctl.last_correlation
    assert res is not None and corr.point_count() == NY * NX
    expected = np.corrcoef(delta.ravel().astype(np.float64), bias_map.ravel())[0, 1]
    assert abs(res.overall.pearson - expected) < 1e-9 and abs(expected) > 0.5
    np.testing.assert_array_equal(res.x, delta.ravel().astype(np.float64))
    # the map view itself as x gives the same coefficient
    corr.combo_a.setCurrentIndex(corr.combo_a.findData(f"panel:{id(md.panel)}"))
    assert abs(ctl.last_correlation.overall.pearson - expected) < 1e-9
    # switching the map view to another map renames it in the lists
    md.panel.channel_combo.setCurrentText("redchi")
    i = corr.combo_a.findData(f"panel:{id(md.panel)}")
    assert corr.combo_a.itemText(i).endswith("redchi")


def test_profile_along_a_cut_drawn_on_the_delta_map(qtbot, win):
    grid, image = _fitted()
    delta = image.channels["Delta"]
    md = _open_delta(qtbot, win)
    ctl = win.linecuts
    panel = md.panel
    ctl.set_tool("line")
    assert ctl.drawer_for(panel).tool() == "line"
    qtbot.wait(150)  # the status-bar hint may relayout the window: let it settle before mapping points
    y_row = pixel_xy(grid, 3, 0)[1]
    x0, x1 = pixel_xy(grid, 3, 0)[0], pixel_xy(grid, 3, NX - 2)[0]  # the release point may drift a little
    pts = [(x0 + (x1 - x0) * i / 10, y_row) for i in range(11)]
    drag(panel.graphics.viewport(), [panel.view_to_widget(x, y) for x, y in pts])
    assert len(win.state.linecuts) == 1
    cid, path = next(iter(win.state.linecuts.items()))
    assert ctl.anchor[cid] == win.keys[1]  # drawn on the maps dataset: cuts the co-registered grid
    assert ctl.drawer_for(_slicer_panel(win)).cut_ids() == [cid]
    qtbot.waitUntil(lambda: not ctl.is_busy(), timeout=15000)
    assert ctl.panel.column_keys() == [win.keys[0]]
    prof = ctl.profile
    source = f"map|{win.keys[1]}|image|Delta"
    i = prof.source_combo.findData(source)
    assert i >= 0
    prof.source_combo.setCurrentIndex(i)
    d, y = prof.profile()
    cut = ctl.results[win.keys[0]]
    ref = line_cut(delta, grid.frame, path.vertices, cut.n_points)
    np.testing.assert_allclose(y, ref.values, rtol=1e-6)
    np.testing.assert_allclose(d, ref.distance)
    # the gap steps from the left grain's to the right grain's along the cut
    finite = y[np.isfinite(y)]
    assert finite.size >= NX - 3 and np.isfinite(y[0])
    assert abs(finite[0] - GAPS[0]) < 0.03e-3 and abs(finite[-1] - GAPS[1]) < 0.03e-3
    # a horizontal cut from pixel centre to pixel centre, one sample per pixel, gives the map's row
    cid2 = ctl.add_cut([pixel_xy(grid, 3, 0), pixel_xy(grid, 3, NX - 1)], win.keys[1])
    assert ctl.current == cid2 and ctl.panel.settings().n_points == 0
    qtbot.waitUntil(lambda: not ctl.is_busy(), timeout=15000)
    prof.source_combo.setCurrentIndex(prof.source_combo.findData(source))
    d, y = prof.profile()
    assert y.size == NX
    np.testing.assert_allclose(y, delta[3], rtol=1e-6)
    np.testing.assert_allclose(d, np.arange(NX) * grid.frame.pixel_size[0], atol=1e-15)


def test_browser_signals_for_maps(qtbot):
    from widgets.data_browser import DataBrowser

    grid, image = _fitted()
    b = DataBrowser()
    qtbot.addWidget(b)
    b.set_datasets([("g", "grid", None, grid), ("m", "maps", "g", image)])
    got = []
    for name in ("channel_activated", "param_activated", "image_activated", "topography_requested"):
        getattr(b, name).connect(lambda k, n, s=name: got.append((s, k, n)))
    b.tree.itemDoubleClicked.emit(b.map_item("m", "Delta"), 0)
    b.tree.itemDoubleClicked.emit(b.map_item("g", "Z"), 0)
    b.tree.itemDoubleClicked.emit(b.map_item("g", "dI/dV"), 0)
    menu = b.context_menu_for(b.map_item("m", "success"))
    assert [a.text() for a in menu.actions()] == [
        "Open in new map view",
        "Show in Topography",
        "Close dataset",
    ]
    for a in menu.actions()[:2]:
        a.trigger()
    assert got == [
        ("image_activated", "m", "Delta"),
        ("param_activated", "g", "Z"),
        ("channel_activated", "g", "dI/dV"),
        ("image_activated", "m", "success"),
        ("topography_requested", "m", "success"),
    ]
    assert b.map_item("m", "nothing") is None and b.map_item("x", "Delta") is None


def test_map_content_helpers():
    grid, image = _fitted()
    c = map_content(image)
    assert c is not None and c.kind == "image" and "Delta stderr" in c.maps and c.units["Delta"] == "eV"
    p = map_content(grid)
    assert p is not None and list(p.maps) == ["Z"] and p.valid is grid.valid
    assert map_content(object()) is None
    assert default_levelling("m") == "plane" and default_levelling("V") == "none"
    z = np.array([[0.0, 1.0], [2.0, np.nan]])
    out = display_map(z, "none")
    assert out.dtype == np.float32 and np.isnan(out[1, 1]) and out[0, 1] == 1.0
    levelled = display_map(z, "plane")
    np.testing.assert_allclose(levelled[np.isfinite(levelled)], 0.0, atol=1e-6)


@pytest.mark.realdata
def test_real_sxm_image_channels_open_as_map_views(qtbot, tmp_path):
    from analysis.io import read_file
    from analysis.processing.levelling import plane_level
    from tests.conftest import shared_file

    path = shared_file("nanonis/FeSe_topography.sxm")
    ref = read_file(path)[0]
    w = open_window(qtbot, tmp_path, features=None)
    try:
        w.open_files([path])
        qtbot.waitUntil(lambda: len(w.state.entries) == 1 and not w.loader.loading, timeout=30000)
        key = next(iter(w.state.entries))
        browser = w.exploration.browser
        _double_click(qtbot, browser.tree, browser.map_item(key, "Current [bwd]"))
        qtbot.waitUntil(lambda: len(w.exploration.map_docks.docks) == 1)
        md = w.exploration.map_docks.docks[0]
        assert md.levelling == "none" and md.panel.value_unit == "A"
        np.testing.assert_array_equal(md.panel.current_image(), ref.channels["Current [bwd]"])
        md.panel.channel_combo.setCurrentText("Z")
        assert md.levelling == "plane"
        np.testing.assert_allclose(md.panel.current_image(), plane_level(ref.channels["Z"]), atol=1e-15)
        # a click in the rotated (-45 deg) frame selects the pixel under the mouse
        qtbot.wait(50)
        iy, ix = 150, 40
        click_map(qtbot, md.panel, *pixel_xy(ref, iy, ix))
        qtbot.waitUntil(lambda: w.state.cursor is not None)
        assert ref.frame.nearest_pixel(*w.state.cursor) == (iy, ix)
        assert np.allclose(w.exploration.topography.crosshair(), w.state.cursor)
    finally:
        close_window(qtbot, w)
