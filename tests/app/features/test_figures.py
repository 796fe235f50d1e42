"""The figure composer in the real window: panels added from the right-click menus of three kinds of
views, a bias changed on the slicer redraws the preview, Export... (its dialog accepted and cancelled with
keys) writes a PDF with a letter per panel and a PNG whose map pixels are the data's colours, table edits
undo and overlaps are refused, Fig. 4 comes from the menu, and a session touching every kind of view
comes back whole in a new window (state, dock layout, history line, slicer and composer pixels)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from analysis.figures.colormaps import mpl_colormap
from analysis.figures.description import MapPanel, RegionSpectraPanel
from analysis.maps.regions import Rectangle
from tests.analysis.figures.test_render import pdf_streams, png_pixels
from tests.app.gui_support import close_window, make_grid, open_window, temp_settings, wait_slicers_idle
from tests.app.real_input import click_menu_path, menu_action, right_click_menu
from tests.widgets.region_mouse import drag

NM = 1e-9
FEATURES = ("app.features.regions", "app.features.project", "app.features.figures")


def _at(panel, x: float, y: float) -> QPoint:
    p = panel.view_to_widget(x, y)
    return QPoint(round(p.x()), round(p.y()))


def _add_from_map(qtbot, panel, xy) -> None:
    menu = right_click_menu(qtbot, panel.graphics.viewport(), _at(panel, *xy))
    click_menu_path(qtbot, menu, "Add to figure")


def _wait_preview(qtbot, fig, after: int) -> np.ndarray:
    qtbot.waitUntil(lambda: fig.previews > after and fig._preview_job is None, timeout=20000)
    return fig.last_preview


def _preview_settled(qtbot, fig) -> np.ndarray:
    """The preview once no redraw is pending."""
    qtbot.waitUntil(
        lambda: fig.previews > 0 and fig._preview_job is None and not fig._timer.isActive(), timeout=20000
    )
    return fig.last_preview


def _dialog_keys(qtbot, fill) -> list:
    """Run ``fill(dialog)`` on the export dialog once it is shown (it is modal)."""
    seen = []

    def poll() -> None:
        d = QApplication.activeModalWidget()
        if isinstance(d, QDialog) and d.isVisible():
            seen.append(d)
            fill(d)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(20, poll)
    return seen


def _image_diff(a, b) -> int:
    """Largest channel difference between two QImages of the same size."""
    from PySide6.QtGui import QImage

    arrs = []
    for im in (a, b):
        im = im.convertToFormat(QImage.Format.Format_RGBA8888)
        arrs.append(
            np.frombuffer(im.constBits(), np.uint8).reshape(im.height(), im.bytesPerLine())[
                :, : 4 * im.width()
            ]
        )
    return int(np.abs(arrs[0].astype(int) - arrs[1].astype(int)).max())


def _type_in_cell(qtbot, table, item, text: str) -> None:
    """Click a table cell, press F2 to edit it, type ``text`` over its value and press Enter."""
    table.scrollToItem(item)
    pos = table.visualItemRect(item).center()
    assert table.viewport().rect().contains(pos)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.keyClick(table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: table.state() == table.State.EditingState, timeout=3000)
    editor = QApplication.focusWidget()
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


@pytest.fixture(scope="module")
def built(qapp, request, tmp_path_factory):
    """One window for the tests of the composer's figure: a grid with its slicer, the topography and
    the region spectra added as panels by :func:`_build` (each test leaves the figure as it found it)."""
    from pytestqt.qtbot import QtBot

    from app.window.main_window import MainWindow

    bot = QtBot(request)
    w = MainWindow(
        settings=temp_settings(tmp_path_factory.mktemp("figures")), features=FEATURES, restore_layout=False
    )
    w.resize(1400, 900)
    w.show()
    bot.waitExposed(w)
    g = make_grid(ny=12, nx=16)
    key = w.state.add_dataset(g, "g")
    wait_slicers_idle(bot, w, n=1)
    fig, slicer = _build(bot, w, g, key)
    yield w, g, key, fig, slicer
    close_window(bot, w)
    w.deleteLater()


@pytest.fixture
def session(built, qtbot):
    w = built[0]
    w.activateWindow()  # the previous test's dialogs may have taken the focus with them
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=3000)
    yield built
    if QApplication.activePopupWidget() is not None:
        QApplication.activePopupWidget().close()
    qtbot.waitUntil(lambda: not w.active_jobs(), timeout=20000)


def _build(qtbot, w, g, key):
    """Slicer, topography and region spectra added with their right-click menus."""
    fig = w.figures
    slicer = w.exploration.slicers_for(key)[0]
    _add_from_map(qtbot, slicer.panel, g.frame.center)
    assert len(w.state.figures) == 1
    desc = fig.figure()
    assert [p.kind for p in desc.panels] == ["map"] and desc.panels[0].view == slicer.dock_key
    w.regions.add_geometry(Rectangle((-10 * NM, 0.0), (12 * NM, 8 * NM)))
    topo = w.exploration.topography
    qtbot.waitUntil(lambda: topo.dataset_key == key, timeout=5000)
    _add_from_map(qtbot, topo, g.frame.center)
    qtbot.waitUntil(lambda: bool(w.regions.spectra_panel.grid_keys()), timeout=10000)
    pw = w.regions.spectra_panel.plot_widget(key)
    w.dock("region_spectra").show()
    w.dock("region_spectra").raise_()
    qtbot.waitUntil(lambda: pw.isVisible() and pw.width() > 50, timeout=5000)
    menu = right_click_menu(qtbot, pw.viewport(), QPoint(pw.width() // 2, pw.height() // 2))
    click_menu_path(qtbot, menu, "Add to figure")
    desc = fig.figure()
    assert [p.kind for p in desc.panels] == ["map", "map", "region_spectra"]
    assert (desc.rows, desc.cols) == (1, 3)
    assert desc.panels[1].source == "param" and desc.panels[1].channel == "Z"
    # the height map levelled as the topography shows it (a plane by default)
    from analysis.figures.resolve import resolve

    topo_map = resolve(fig.live(desc).panels[1], fig.sources())
    assert desc.panels[1].levelling == "plane"
    np.testing.assert_allclose(
        topo_map.values, np.asarray(topo.current_image(), float), rtol=1e-5, atol=1e-15
    )
    assert isinstance(desc.panels[2], RegionSpectraPanel) and desc.panels[2].regions == tuple(w.state.regions)
    # the region's spectrum normalised as the dock shows it
    (rid,) = w.state.regions
    curve = resolve(desc.panels[2], fig.sources()).curves[0]
    qtbot.waitUntil(lambda: w.regions.spectra_panel.curve_data(key, rid) is not None, timeout=10000)
    shown_x, shown_y = w.regions.spectra_panel.curve_data(key, rid)
    np.testing.assert_allclose(curve.y, shown_y, rtol=1e-5, atol=1e-9 * np.abs(shown_y).max())
    return fig, slicer


def test_panels_from_three_views_stay_live_and_export(session, qtbot, tmp_path, monkeypatch):
    w, g, key, fig, slicer = session
    first = _preview_settled(qtbot, fig)
    assert first is not None and first.shape[2] == 4
    assert fig.composer.table.rowCount() == 3
    assert [fig.composer.cell_of(i, "letter").text() for i in range(3)] == ["a", "b", "c"]

    # a different bias on the slicer (End on its slider) redraws the map panel: the pixels change
    n = fig.previews
    qtbot.mouseClick(slicer.panel.slider, Qt.MouseButton.LeftButton)
    qtbot.keyClick(slicer.panel.slider, Qt.Key.Key_End)
    wait_slicers_idle(qtbot, w)
    second = _wait_preview(qtbot, fig, n)
    assert fig.live(fig.figure()).panels[0].bias == pytest.approx(g.bias[-1])
    assert second.shape == first.shape and np.abs(second.astype(int) - first.astype(int)).max() > 30

    # Export... cancelled with Escape writes nothing
    def cancel(d):
        qtbot.keyClick(d, Qt.Key.Key_Escape)

    seen = _dialog_keys(qtbot, cancel)
    qtbot.mouseClick(fig.composer.export_button, Qt.MouseButton.LeftButton)
    assert seen and fig.export_job is None and not list(tmp_path.glob("*.pdf"))

    # accepted with Enter after typing the file name: PDF with a letter per panel and the data beside it
    pdf = tmp_path / "composed.pdf"

    def accept(d):
        d.path_edit.selectAll()
        qtbot.keyClicks(d.path_edit, str(pdf))
        qtbot.keyClick(d.path_edit, Qt.Key.Key_Return)

    _dialog_keys(qtbot, accept)
    qtbot.mouseClick(fig.composer.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fig.export_job is None and fig.last_export is not None, timeout=30000)
    assert pdf.is_file() and len(fig.last_export.boxes) == 3
    body = pdf_streams(pdf)
    # the letters are text of their own (one glyph each, two-byte codes of the embedded TrueType font)
    shown = re.findall(rb"\[ \(\x00([a-z])\) \] TJ", body)
    assert sorted(shown) == [b"a", b"b", b"c"]
    assert len(fig.last_export.data_files) == 3 and all(p.is_file() for p in fig.last_export.data_files)

    # PNG at 100 dpi: the map panel's pixels are the colours of the slicer's map at its new bias
    png = tmp_path / "composed.png"

    def accept_png(d):
        # Browse... picks the file; its extension chooses the format
        qtbot.mouseClick(d.browse_button, Qt.MouseButton.LeftButton)
        assert d.format_combo.currentData() == "png" and d.dpi_spin.isEnabled()
        d.dpi_spin.selectAll()
        qtbot.keyClicks(d.dpi_spin, "100")
        qtbot.keyClick(d.path_edit, Qt.Key.Key_Return)

    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(png), ""))

    fig.last_export = None
    _dialog_keys(qtbot, accept_png)
    qtbot.mouseClick(fig.composer.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fig.export_job is None and fig.last_export is not None, timeout=30000)
    px = png_pixels(png).astype(int)
    assert fig.last_export.pixels == (px.shape[1], px.shape[0]) == (round(17.8 / 2.54 * 100), px.shape[0])
    panel = fig.live(fig.figure()).panels[0]
    values = g.bias_slice("dI/dV", len(g.bias) - 1)
    lo, hi = np.percentile(values, [panel.clip_percent, 100 - panel.clip_percent])
    x0, y0, x1, y1 = fig.last_export.boxes[0]
    ny, nx = values.shape
    cmap = mpl_colormap(panel.cmap)
    h, wd, _ = px.shape
    checked = 0
    for iy in range(0, ny, 2):
        for ix in range(0, nx, 2):
            if iy < 3 and ix > nx // 2:  # under the scale bar
                continue
            col = int((x0 + (ix + 0.5) / nx * (x1 - x0)) * wd)
            row = int((1 - (y0 + (iy + 0.5) / ny * (y1 - y0))) * h)
            want = np.round(np.array(cmap(np.clip((values[iy, ix] - lo) / (hi - lo), 0, 1))[:3]) * 255)
            assert np.abs(px[row, col] - want).max() <= 3, (iy, ix, px[row, col], want)
            checked += 1
    assert checked >= 40


def test_figure_edits_undo_and_the_composer_refuses_overlaps(session, qtbot):
    w, g, key, fig, _slicer = session
    shown = _preview_settled(qtbot, fig)
    table = fig.composer.table
    # column of panel c typed as 1 would overlap panel a: refused, the figure unchanged
    before = fig.figure().to_dict()
    _type_in_cell(qtbot, table, fig.composer.cell_of(2, "col"), "1")
    qtbot.waitUntil(lambda: "overlap" in fig.composer.status.text(), timeout=3000)
    assert fig.figure().to_dict() == before
    # row of panel c typed as 2: the grid grows to two rows; Ctrl+Z puts it back
    _type_in_cell(qtbot, table, fig.composer.cell_of(2, "row"), "2")
    qtbot.waitUntil(lambda: fig.figure().rows == 2, timeout=3000)
    assert fig.figure().panels[2].row == 1 and fig.composer.cell_of(2, "row").text() == "2"
    w.state.undo.undo()
    assert fig.figure().to_dict() == before
    # the width choice: one journal column
    from tests.app.real_input import choose

    choose(qtbot, fig.composer.width_combo, "8.6 cm")
    assert fig.figure().width_cm == pytest.approx(8.6)
    narrow = _wait_preview(qtbot, fig, fig.previews)
    assert narrow.shape != shown.shape
    # undone: the figure drawn before is shown again at once, nothing is drawn anew
    w.state.undo.undo()
    assert fig.figure().to_dict() == before
    qtbot.waitUntil(lambda: fig.last_preview is shown, timeout=5000)
    assert fig._preview_job is None


def _orange_pixels(rgba: np.ndarray) -> int:
    """How many pixels of an RGBA image are orange, also when blended with white (thin lines at the
    preview's resolution are): red well above green and far above blue (no colour of viridis, of the
    first region's blue or of black text is)."""
    r, g, b = (rgba[:, :, i].astype(int) for i in range(3))
    return int(((r - g > 50) & (r - b > 90)).sum())


def test_a_region_drawn_after_the_panels_joins_them(session, qtbot):
    from analysis.figures.resolve import resolve

    w, g, key, fig, slicer = session
    desc = fig.figure()
    assert desc.panels[0].all_regions and desc.panels[2].all_regions  # every region was shown
    assert "all regions" in fig.composer.cell_of(2, "source").text()
    # the map panel's box unticked (click its cell, Space): it keeps the regions it draws now
    box = fig.composer.cell_of(0, "all_regions")
    assert box.checkState() == Qt.CheckState.Checked
    table = fig.composer.table
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(box).center())
    qtbot.keyClick(table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not fig.figure().panels[0].all_regions, timeout=3000)
    assert fig.figure().panels[0].regions == tuple(w.state.regions)
    assert fig.composer.cell_of(0, "all_regions").checkState() == Qt.CheckState.Unchecked
    first = _preview_settled(qtbot, fig)
    n = fig.previews
    # a rectangle drawn on the slicer with the mouse, right of the first region
    ctl = w.regions
    qtbot.mouseClick(ctl.list_panel.tool_buttons["rectangle"], Qt.MouseButton.LeftButton)
    pts = [(4 * NM + i * NM, -10 * NM + i * 1.5 * NM) for i in range(11)]  # to (14, 5) nm
    drag(slicer.panel.graphics.viewport(), [slicer.panel.view_to_widget(x, y) for x, y in pts])
    assert len(w.state.regions) == 2
    new = list(w.state.regions.values())[-1]
    _wait_preview(qtbot, fig, n)
    second = _preview_settled(qtbot, fig)
    names = [r.name for r in w.state.regions.values()]
    live, sources = fig.live(fig.figure()), fig.sources()
    assert [o.name for o in resolve(live.panels[0], sources).outlines] == names[:1]  # kept its one
    assert [c.label for c in resolve(live.panels[2], sources).curves] == names  # follows them all
    # its colour appears in the preview: the outline on the map and its spectrum
    assert new.colour == (255, 127, 14)  # the second colour of the regions' cycle: orange
    assert _orange_pixels(second) > _orange_pixels(first) + 20
    w.state.undo.undo()  # the region goes again, and with it from the panels
    assert len(w.state.regions) == 1
    assert len(resolve(fig.live(fig.figure()).panels[2], fig.sources()).curves) == 1
    w.state.undo.undo()  # the map panel follows every region again
    assert fig.figure().panels[0].all_regions


def test_restored_panels_follow_the_restored_slicers(session, qtbot, tmp_path):
    """A panel of a second slicer: reopened, that slicer has a new key; the panel follows it again."""
    w, g, key, fig, _slicer = session
    n_panels = len(fig.figure().panels)
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: len(w.exploration.slicers_for(key)) == 2, timeout=5000)
    second = w.exploration.slicers_for(key)[1]
    wait_slicers_idle(qtbot, w)
    qtbot.waitUntil(lambda: second.panel.isVisible() and second.panel.width() > 50, timeout=5000)
    _add_from_map(qtbot, second.panel, g.frame.center)
    panel = fig.figure().panels[-1]
    assert panel.view == second.dock_key and len(fig.figure().panels) == n_panels + 1
    path = tmp_path / "two_slicers.h5"
    w.project.save_to(path)
    qtbot.waitUntil(lambda: path.exists() and w.project.save_job is None, timeout=20000)
    w.state.undo.undo()  # the shared window's figure as it was
    w.exploration.close_slicer(second)

    b = open_window(qtbot, tmp_path / "b", features=FEATURES)
    b.project.open(path)
    qtbot.waitUntil(lambda: b.loader.loading == 0 and len(b.state.figures) == 1, timeout=20000)
    wait_slicers_idle(qtbot, b, n=2)
    fb = b.figures
    restored = fb.figure().panels[-1]
    twin = next(s for s in b.exploration.slicers if s.dock_key == restored.view)
    assert twin.dock_key != second.dock_key  # a new key, and the panel follows it
    first = _preview_settled(qtbot, fb)
    n = fb.previews
    qtbot.mouseClick(twin.panel.slider, Qt.MouseButton.LeftButton)
    qtbot.keyClick(twin.panel.slider, Qt.Key.Key_Home)
    wait_slicers_idle(qtbot, b)
    _wait_preview(qtbot, fb, n)
    moved = _preview_settled(qtbot, fb)
    assert fb.live(fb.figure()).panels[-1].bias == pytest.approx(g.bias[0])
    assert np.abs(moved.astype(int) - first.astype(int)).max() > 30
    close_window(qtbot, b)


def test_figure_from_scenario_builds_fig4_from_the_menu(qtbot, tmp_path, monkeypatch):
    import analysis.demo.grids as demo

    monkeypatch.setattr(demo, "SHAPE", (64, 64))  # the demo at a quarter of its pixels, half its biases
    monkeypatch.setattr(demo, "N_BIAS", 128)
    w = open_window(qtbot, tmp_path, features=FEATURES)
    w.open_demo()
    qtbot.waitUntil(lambda: w.loader.loading == 0 and len(w.state.entries) >= 2, timeout=30000)
    bar = w.menuBar()
    top = w.menu("Figure").menuAction()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(top).center())
    qtbot.waitUntil(w.menu("Figure").isVisible, timeout=3000)
    click_menu_path(qtbot, w.menu("Figure"), "Figure from scenario", "Fig. 4")
    qtbot.waitUntil(lambda: len(w.state.figures) == 1, timeout=30000)
    desc = w.figures.figure()
    assert len(desc.panels) == 6 and (desc.rows, desc.cols) == (2, 4)
    region_keys = desc.panels[3].regions
    assert len(region_keys) == 4 and all(k in w.state.regions for k in region_keys)
    assert all(isinstance(p, MapPanel) for p in desc.panels[:4])
    w.state.undo.undo()  # one step takes the figure and its regions away
    assert not w.state.figures and not any(k in w.state.regions for k in region_keys)
    close_window(qtbot, w)


SESSION_FEATURES = (
    "app.features.regions",
    "app.features.linecuts",
    "app.features.project",
    "app.features.series",
    "app.features.figures",
)


def _write_series(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    i = np.linspace(-4e-4, 4e-4, 201)
    paths = []
    for h in (0.0, 0.5, 1.0):
        v = 10.0 * i + np.sign(i) * 1e-3 * (1 - h / 2) * (np.abs(i) > 5e-5)
        p = folder / f"neck_{h:g}T.dat"
        np.savetxt(p, np.column_stack([i, v]), header="Current (A)\tVoltage (V)", delimiter="\t")
        paths.append(str(p))
    return paths


def _session_state(w) -> dict:
    """What a user sees of a session, keys replaced by labels and names (they are issued afresh)."""
    s = w.state
    label = {k: e.label for k, e in s.entries.items()}
    views = sorted(
        (v.kind, label.get(v.dataset, v.dataset), v.channel, v.index, v.window, v.colormap, v.levelling)
        for v in s.views.values()
        if v.kind != "topography"
    )
    figures = []
    for f in s.figures.values():
        d = w.figures.live(f).to_dict()
        for p in d["panels"]:
            p["dataset"] = label.get(p.get("dataset"), p.get("dataset"))
            p["regions"] = sorted(s.regions[r].name for r in p.get("regions", []) if r in s.regions)
            if isinstance(p.get("series"), str):  # a series map names its series
                p["series"] = label[p["series"]]
            else:
                p["series"] = [label[c.split("|")[0]] + c[c.index("|") :] for c in p.get("series", [])]
            if "cut" in p:
                p["cut"] = str(s.linecuts.get(p["cut"]))
            p["cuts"] = [str(s.linecuts.get(c)) for c in p.get("cuts", [])]
            p.pop("view")
        figures.append(d)
    fits = sorted(
        (f["kind"] if isinstance(f, dict) else f.kind, label.get(getattr(f, "grid", None) or f.get("grid")))
        for f in s.fits.values()
    )
    ser = w.series
    return {
        "datasets": [(e.label, e.parent and label[e.parent]) for e in s.entries.values()],
        "regions": sorted((r.name, r.colour, r.geometry) for r in s.regions.values()),
        "linecuts": sorted(str(c) for c in s.linecuts.values()),
        "fits": fits,
        "pins": [(p.x, p.y, p.color) for p in s.pinned],
        "views": views,
        "figures": figures,
        "series": (label.get(ser.key), ser.x, ser.y, ser.tag, ser.panel.current_view()),
    }


def test_a_session_touching_every_kind_of_view_comes_back_whole(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from analysis.fitting.entries import BatchFitEntry, SingleFitEntry
    from tests.app.real_input import choose

    a = open_window(qtbot, tmp_path / "a", features=SESSION_FEATURES)
    g = make_grid(ny=12, nx=16)
    key = a.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, a, n=1)
    fig, slicer = _build(qtbot, a, g, key)  # slicer, topography, region and region spectra in a figure
    qtbot.mouseClick(slicer.panel.slider, Qt.MouseButton.LeftButton)
    qtbot.keyClick(slicer.panel.slider, Qt.Key.Key_PageUp)
    wait_slicers_idle(qtbot, a)
    md = a.exploration.open_map(key, "Z")  # a map view of the height map
    assert md is not None
    _add_from_map(qtbot, md.panel, g.frame.center)
    cut = a.linecuts.add_cut([(-15 * NM, -5 * NM), (15 * NM, 5 * NM)])
    # the line cut's top view as a 3D surface panel
    a.dock(next(k for k in a.dock_keys() if a.dock(k).widget() is a.linecuts.panel)).show()
    lp = a.linecuts.panel
    qtbot.waitUntil(lambda: key in lp.column_keys() and lp.current_cut() == cut, timeout=20000)
    col = lp.column(key)
    col.top.show()
    qtbot.waitUntil(lambda: col.top.isVisible() and col.top.width() > 50, timeout=5000)
    tvb = col.top_plot.getViewBox()
    centre = col.top.mapFromScene(tvb.sceneBoundingRect().center())
    menu = right_click_menu(qtbot, col.top.viewport(), centre)
    click_menu_path(qtbot, menu, "Add to figure as a 3D surface")
    surface = fig.figure().panels[-1]
    assert (surface.kind, surface.style, surface.cut, surface.dataset) == ("linecut", "surface", cut, key)
    # the cut's profile at the profile dock's bias
    prof = a.linecuts.profile
    a.dock(next(k for k in a.dock_keys() if a.dock(k).widget() is prof)).show()
    a.dock(next(k for k in a.dock_keys() if a.dock(k).widget() is prof)).raise_()
    qtbot.waitUntil(lambda: prof.plot.isVisible() and prof.request() is not None, timeout=5000)
    menu = right_click_menu(
        qtbot, prof.plot.viewport(), QPoint(prof.plot.width() // 2, prof.plot.height() // 2)
    )
    click_menu_path(qtbot, menu, "Add to figure")
    profile = fig.figure().panels[-1]
    assert (profile.kind, profile.cut, profile.dataset) == ("profile", cut, key)
    assert profile.bias == pytest.approx(prof.request().bias)
    a.state.pin(5 * NM, 5 * NM)
    a.state.fits[a.state.new_key("fit")] = SingleFitEntry(key, {"model": "dynes_sin", "params": []}, "cursor")
    a.state.fits[a.state.new_key("fit")] = BatchFitEntry("dynes_sin", key, None, "dI/dV", pixels=192)
    # a series with its dock's choices: y = dV/dI, the waterfall tab in front
    a.series.import_files(_write_series(tmp_path / "series"), pattern="neck_{H}T.dat")
    qtbot.waitUntil(lambda: a.series.series() is not None and not a.active_jobs(), timeout=20000)
    panel = a.series.panel
    idx = next(i for i in range(panel.y_combo.count()) if panel.y_combo.itemText(i).startswith("dV/dI"))
    choose(qtbot, panel.y_combo, panel.y_combo.itemData(idx))
    qtbot.waitUntil(lambda: a.series.y == "dV/dI" and not a.active_jobs(), timeout=20000)
    bar = panel.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert panel.current_view() == "waterfall"
    # the waterfall as a panel: its sweeps with the dock's quantities, offsets and colours
    water = panel.waterfall
    a.dock("series").show()
    a.dock("series").raise_()
    gv = water.graphics
    qtbot.waitUntil(lambda: gv.isVisible() and gv.width() > 50, timeout=5000)
    vb = water.overlay.view_box
    centre = gv.mapFromScene(vb.mapViewToScene(vb.viewRect().center()))
    click_menu_path(qtbot, right_click_menu(qtbot, gv.viewport(), centre), "Add to figure")
    xy = fig.figure().panels[-1]
    assert xy.kind == "xy" and len(xy.series) == 3 and xy.y_label == "dV/dI"
    curves = fig.sources().series
    c2 = curves[xy.series[2]]
    shown = a.series.derived[a.series.key]["dV/dI"].sweeps[2].channel("dV/dI")
    assert water.offset > 0
    np.testing.assert_allclose(c2.y, np.asarray(shown) + 2 * water.offset, rtol=1e-9, atol=1e-12)
    assert c2.colour == water.overlay.sweep_colour(2)
    assert np.nanmedian(curves[xy.series[0]].y) == pytest.approx(10.0, rel=0.05)  # dV/dI of the neck, Ohm
    # the 2D map (dV/dI against I and H) as a panel that names the series by its key
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(panel.tabs.indexOf(panel.map)).center())
    smap = panel.map
    qtbot.waitUntil(lambda: smap.graphics.isVisible() and smap.z.size > 0, timeout=5000)
    mvb = smap.view_box
    centre = smap.graphics.mapFromScene(mvb.mapViewToScene(mvb.viewRect().center()))
    click_menu_path(qtbot, right_click_menu(qtbot, smap.graphics.viewport(), centre), "Add to figure")
    sm = fig.figure().panels[-1]
    assert (sm.kind, sm.series, sm.channel, sm.tag) == ("series_map", a.series.key, "dV/dI", "H")
    from analysis.figures.resolve import resolve

    np.testing.assert_allclose(resolve(sm, fig.sources()).values, smap.z, rtol=1e-9, equal_nan=True)
    # the layout: the spectra dock closed, the figure dock in front
    a.dock("spectra").close()
    a.dock("figures").raise_()
    wait_slicers_idle(qtbot, a)
    before = _session_state(a)
    preview_a = _preview_settled(qtbot, fig)
    docks_a = {k: a.dock(k).isVisible() for k in a.dock_keys()}
    image_a = np.array(slicer.panel.current_image())

    path = tmp_path / "whole.h5"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *x, **k: (str(path), ""))
    menu_action(qtbot, a, "File", "Save Project As...")
    qtbot.waitUntil(lambda: a.project.save_job is None, timeout=20000)
    assert a.project.last_error is None

    b = open_window(qtbot, tmp_path / "b", features=SESSION_FEATURES)
    b.project.open(path)
    qtbot.waitUntil(lambda: b.loader.loading == 0 and len(b.state.figures) == 1, timeout=20000)
    wait_slicers_idle(qtbot, b)
    qtbot.waitUntil(lambda: b.project.restored_layout is not None and not b.active_jobs(), timeout=20000)
    qtbot.wait(50)
    after = _session_state(b)
    for part in before:
        assert after[part] == before[part], part
    assert {k: b.dock(k).isVisible() for k in docks_a if k in b.dock_keys()} == {
        k: v for k, v in docks_a.items() if k in b.dock_keys()
    }
    assert set(b.dock_keys()) == set(docks_a)
    assert [b.history.panel.list.item(i).text() for i in range(b.history.panel.list.count())] == [
        "History starts at the opened whole.h5"
    ]
    (slicer_b,) = b.exploration.slicers
    np.testing.assert_array_equal(np.array(slicer_b.panel.current_image()), image_a)
    preview_b = _preview_settled(qtbot, b.figures)
    assert preview_b.shape == preview_a.shape
    assert np.abs(preview_b.astype(int) - preview_a.astype(int)).max() <= 2
    # the composer as drawn on screen: same size, same pixels in its preview area
    shot_a, shot_b = a.figures.composer.preview.grab(), b.figures.composer.preview.grab()
    assert shot_a.size() == shot_b.size()
    assert _image_diff(shot_a.toImage(), shot_b.toImage()) <= 2
    # the restored panels follow the restored slicer and map view
    desc_b = b.figures.figure()
    assert desc_b.panels[0].view == slicer_b.dock_key
    assert b.state.views[desc_b.panels[3].view].kind == "map"
    close_window(qtbot, b)
    close_window(qtbot, a)


def test_correlation_plot_adds_a_correlation_panel_of_the_two_slicer_maps(session, qtbot):
    from analysis.figures.resolve import resolve

    w, g, k1, fig, s1 = session
    n_panels = len(fig.figure().panels)
    k2 = w.state.add_dataset(make_grid(ny=12, nx=16, name="second"), "g2")
    wait_slicers_idle(qtbot, w, n=2)
    s2 = w.exploration.slicers_for(k2)[0]
    s2.set_value(-5e-3)
    wait_slicers_idle(qtbot, w)
    w.regions.compute_correlation(f"panel:{id(s1.panel)}", f"panel:{id(s2.panel)}")
    dock = w.dock("correlation")
    dock.show()
    dock.raise_()
    pw = w.regions.corr_panel.plot
    qtbot.waitUntil(lambda: pw.isVisible() and pw.width() > 50, timeout=5000)
    _preview_settled(qtbot, fig)
    n = fig.previews
    menu = right_click_menu(qtbot, pw.viewport(), QPoint(pw.width() // 2, pw.height() // 2))
    click_menu_path(qtbot, menu, "Add to figure")
    assert len(fig.figure().panels) == n_panels + 1
    panel = fig.figure().panels[-1]
    assert panel.kind == "correlation"
    assert (panel.x_dataset, panel.y_dataset) == (k1, k2)
    assert (panel.x_bias, panel.y_bias) == (pytest.approx(s1.sweep_value()), pytest.approx(-5e-3))
    data = resolve(panel, fig.sources())
    # the panel's points are the two maps on screen, pixel by pixel, coloured by the region
    a = np.asarray(s1.panel.current_image(), float).ravel()
    b = np.asarray(s2.panel.current_image(), float).ravel()
    np.testing.assert_allclose(np.sort(data.x), np.sort(a), rtol=1e-6)
    np.testing.assert_allclose(np.sort(data.y), np.sort(b), rtol=1e-6)
    assert data.legend == [(r.name, r.colour) for r in w.state.regions.values()]
    _wait_preview(qtbot, fig, n)  # the figure with the scatter drawn
    fig.remove_panel(n_panels)  # the shared window's figure and data as they were
    w.state.remove_dataset(k2)
    assert len(fig.figure().panels) == n_panels and k2 not in w.state.entries


def test_fit_plot_adds_a_fit_panel_that_comes_back_with_the_project(qtbot, tmp_path):
    from analysis.figures.resolve import resolve
    from tests.app.features.test_fit import _click_pixel, _dynes_grid

    features = ("app.features.fit", "app.features.project", "app.features.figures")
    a = open_window(qtbot, tmp_path / "a", features=features)
    grid, _p = _dynes_grid()
    a.state.add_dataset(grid, "dynes grid")
    fc = a.fit_controller
    fc.panel.set_current_model("dynes_sin")
    _click_pixel(a, grid, 2, 3)
    qtbot.mouseClick(fc.panel.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(a.state.fits) == 1 and fc.last_fit is not None, timeout=60000)
    dock = next(k for k in a.dock_keys() if a.dock(k).widget() is fc.panel)
    a.dock(dock).show()
    a.dock(dock).raise_()
    gv = fc.panel.plot_widget
    vb = fc.panel.plot.getViewBox()
    qtbot.waitUntil(lambda: gv.isVisible() and vb.sceneBoundingRect().width() > 20, timeout=5000)
    centre = gv.mapFromScene(vb.sceneBoundingRect().center())
    click_menu_path(qtbot, right_click_menu(qtbot, gv.viewport(), centre), "Add to figure")
    (panel,) = a.figures.figure().panels
    (fit_key,) = a.state.fits
    assert panel.kind == "fit" and panel.fit == fit_key and "Delta" in panel.parameters
    data = resolve(panel, a.figures.sources())
    np.testing.assert_array_equal(data.y, fc.last_fit.y)
    np.testing.assert_array_equal(data.residual, fc.last_fit.residual)
    assert "Delta = " in data.note
    path = tmp_path / "fit.h5"
    a.project.save_to(path)
    qtbot.waitUntil(lambda: path.exists() and a.project.save_job is None, timeout=20000)

    b = open_window(qtbot, tmp_path / "b", features=features)
    b.project.open(path)
    qtbot.waitUntil(lambda: len(b.state.figures) == 1 and not b.loader.loading, timeout=20000)
    (restored,) = b.figures.figure().panels
    assert restored.fit in b.state.fits
    again = resolve(restored, b.figures.sources())
    np.testing.assert_array_equal(again.model, data.model)
    assert again.note == data.note
    # the reopened fit is added from the fit plot's right-click menu like a fit made in this session
    fb = b.fit_controller
    assert fb.last_fit is None
    dock = next(k for k in b.dock_keys() if b.dock(k).widget() is fb.panel)
    b.dock(dock).show()
    b.dock(dock).raise_()
    gv, vb = fb.panel.plot_widget, fb.panel.plot.getViewBox()
    qtbot.waitUntil(lambda: gv.isVisible() and vb.sceneBoundingRect().width() > 20, timeout=5000)
    centre = gv.mapFromScene(vb.sceneBoundingRect().center())
    click_menu_path(qtbot, right_click_menu(qtbot, gv.viewport(), centre), "Add to figure")
    added = b.figures.figure().panels[-1]
    assert len(b.figures.figure().panels) == 2 and added.kind == "fit" and added.fit == restored.fit
    assert added.parameters == panel.parameters
    third = resolve(added, b.figures.sources())
    np.testing.assert_array_equal(third.y, fc.last_fit.y)
    np.testing.assert_array_equal(third.residual, fc.last_fit.residual)
    np.testing.assert_array_equal(third.model, data.model)
    close_window(qtbot, b)
    close_window(qtbot, a)


def transport_figure(sources, seed):
    """A transport scenario's figure as a builder of ``SERIES_FIGURES`` returns it: a map of a dataset it
    made and a curve it computed."""
    from analysis.dataset import Frame, Image
    from analysis.figures.description import FigureDescription, XYPanel
    from analysis.figures.resolve import FigureSources, XYSeries

    image = Image(
        name="made by the scenario",
        channels={"v": np.arange(12.0).reshape(3, 4)},
        units={"v": "S"},
        frame=Frame(size=(40e-9, 30e-9), shape=(3, 4)),
    )
    i = np.linspace(-1e-6, 1e-6, 21)
    curve = XYSeries(i, 10.0 * i + 1e-4 * np.tanh(i / 1e-7), "R = 10 Ohm", colour=(200, 30, 30))
    desc = FigureDescription(
        panels=[
            MapPanel(dataset="made", channel="v", scale_bar_m=0.0),
            XYPanel(col=1, series=("iv",), x_label="I", x_unit="A", y_label="V", y_unit="V"),
        ],
        cols=2,
        width_cm=8.6,
        name="neck",
    )
    datasets = {**(sources.datasets if sources is not None else {}), "made": image}
    return desc, FigureSources(datasets=datasets, series={"iv": curve})


def test_a_transport_scenario_figure_joins_the_session_and_comes_back(qtbot, tmp_path, monkeypatch):
    from analysis.figures import paper
    from analysis.figures.resolve import resolve

    monkeypatch.setitem(paper.SERIES_FIGURES, "neck", f"{__name__}:transport_figure")
    features = ("app.features.project", "app.features.figures")
    a = open_window(qtbot, tmp_path / "a", features=features)
    bar = a.menuBar()
    qtbot.mouseClick(
        bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(a.menu("Figure").menuAction()).center()
    )
    qtbot.waitUntil(a.menu("Figure").isVisible, timeout=3000)
    click_menu_path(qtbot, a.menu("Figure"), "Figure from scenario", "Neck")
    qtbot.waitUntil(lambda: len(a.state.figures) == 1, timeout=20000)
    desc = a.figures.figure()
    (made,) = a.state.entries  # the scenario's dataset is a dataset of the session
    assert desc.panels[0].dataset == made and a.state.entries[made].label == "made by the scenario"
    curve = resolve(desc.panels[1], a.figures.sources()).curves[0]
    assert curve.label == "R = 10 Ohm" and curve.colour == (200, 30, 30)
    first = _preview_settled(qtbot, a.figures)
    a.state.undo.undo()  # one step takes the figure and its dataset away, redo brings them back
    assert not a.state.figures and not a.state.entries
    a.state.undo.redo()
    assert a.figures.figure().panels[0].dataset in a.state.entries
    path = tmp_path / "neck.h5"
    a.project.save_to(path)
    qtbot.waitUntil(lambda: path.exists() and a.project.save_job is None, timeout=20000)

    b = open_window(qtbot, tmp_path / "b", features=features)
    b.project.open(path)
    qtbot.waitUntil(lambda: len(b.state.figures) == 1 and not b.loader.loading, timeout=20000)
    again = resolve(b.figures.figure().panels[1], b.figures.sources()).curves[0]
    np.testing.assert_array_equal(again.y, curve.y)
    assert again.colour == curve.colour
    after = _preview_settled(qtbot, b.figures)
    assert after.shape == first.shape and np.abs(after.astype(int) - first.astype(int)).max() <= 2
    close_window(qtbot, b)
    close_window(qtbot, a)
