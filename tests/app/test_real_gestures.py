"""Real files and real gestures in the main window: the mouse moved and clicked on the real viewport,
checked against what the window shows (status bar, plots, rendered pixels)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QColor, QImage

from tests.app.gui_support import close_window, open_window, pixel_xy, wait_slicers_idle
from tests.conftest import shared_file

LOCKIN_GRID = "nanonis/NanonisReader_STS_grid_lockin.3ds"


@pytest.fixture
def window(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=None)
    yield w
    close_window(qtbot, w)


def _open(qtbot, w, path) -> str:
    n = len(w.state.entries)
    w.open_files([str(path)])
    qtbot.waitUntil(lambda: len(w.state.entries) > n, timeout=20000)
    wait_slicers_idle(qtbot, w)
    return list(w.state.entries)[-1]


def open_menu(qtbot, window, title: str):
    """Click ``title`` in the menu bar and return the menu that opens."""
    bar = window.menuBar()
    top = next(a for a in bar.actions() if a.text().replace("&", "") == title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(top).center())
    qtbot.waitUntil(top.menu().isVisible, timeout=3000)
    return top.menu()


def _hover(qtbot, panel, x: float, y: float) -> None:
    pos = panel.view_to_widget(x, y)
    qtbot.mouseMove(panel.graphics.viewport(), QPoint(round(pos.x()), round(pos.y())))


def test_status_bar_readout_is_whole_and_names_the_slicers_bias(qtbot, window):
    key = _open(qtbot, window, shared_file(LOCKIN_GRID))
    slicer = window.exploration.slicers_for(key)[0]
    grid = slicer.grid
    for n, k in enumerate((slicer.panel.index(), 3, len(grid.bias) - 2)):
        slicer.panel.slider.setFocus()
        # walk the slider there with the keyboard
        while slicer.panel.index() != k:
            key_ = "Right" if slicer.panel.index() < k else "Left"
            qtbot.keyClick(slicer.panel.slider, getattr(Qt.Key, f"Key_{key_}"))
        wait_slicers_idle(qtbot, window)
        x, y = pixel_xy(grid, 7, 11 + n)
        window.readout.setText("")
        _hover(qtbot, slicer.panel, x, y)
        qtbot.waitUntil(lambda: "pixel" in window.readout.text())
        text = window.readout.text()
        # the bias read-out is the one the slicer shows, in the same digits and unit
        assert f"{grid.sweep_signal} = {slicer.panel.sweep_text()}" in text, (text, slicer.panel.sweep_text())
        # the whole read-out fits its label: nothing is cut at the right edge
        label = window.readout
        assert label.fontMetrics().horizontalAdvance(text) <= label.contentsRect().width(), text
    # a read-out too long for its label keeps the value and the bias whole and cuts only the end
    long = "LI Demod 1 X (A) = 210.2 pA  |  Bias = -1.106 mV  |  " + "x = 83.27 nm, y = 632.51 nm  |  " * 5
    window.readout.setText(long)
    shown = window.readout.shown_text()
    assert shown.startswith("LI Demod 1 X (A) = 210.2 pA  |  Bias = -1.106 mV") and shown.endswith("…")
    assert window.readout.toolTip() == long


SXM_IMAGE = "nanonis/FeSe_topography.sxm"


def test_a_line_cut_drawn_on_an_sxm_image_gives_its_height_profile(qtbot, window):
    from analysis.maps.linecut import line_cut
    from tests.app.real_input import click_menu_path
    from tests.widgets.region_mouse import drag

    key = _open(qtbot, window, shared_file(SXM_IMAGE))
    image = window.state.entries[key].dataset
    panel = next(p for p in window.map_panels() if getattr(p, "dataset_key", None) == key)
    click_menu_path(qtbot, open_menu(qtbot, window, "Analysis"), "Line cuts", "Draw line cut")
    qtbot.wait(100)
    cx, cy = image.frame.center
    pts = [(cx - 6e-9 + i * 1.2e-9, cy + 1e-9) for i in range(11)]
    drag(panel.graphics.viewport(), [panel.view_to_widget(x, y) for x, y in pts])
    assert len(window.state.linecuts) == 1
    path = next(iter(window.state.linecuts.values()))
    profile = window.linecuts.profile
    qtbot.waitUntil(lambda: profile.profile()[0].size > 0, timeout=5000)
    d, z = profile.profile()
    assert profile.source_combo.currentText().endswith(": Z")
    ref = line_cut(image.channels["Z"], image.frame, path.vertices, None, 0.0)
    np.testing.assert_allclose(z, ref.values, rtol=1e-6)
    assert np.nanmax(z) - np.nanmin(z) > 1e-11  # a real corrugation, metres
    assert profile.plot.getAxis("left").labelText == "Z"
    # the profile dock is raised and its curve is drawn
    dock = window.dock("profile")
    assert not dock.visibleRegion().isEmpty()
    img = profile.plot.grab().toImage()
    dark = sum(
        1
        for yy in range(0, img.height(), 2)
        for xx in range(0, img.width(), 2)
        if QColor(img.pixel(xx, yy)).value() < 80
    )
    assert dark > 50


def _colour_scale_regions(qtbot, window, panel) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from tests.app.real_input import click_menu_path, right_click_menu

    # a corner of the view, off the (45 degree) image: regions already made there do not catch the click
    corner = panel.graphics.mapFromScene(panel.view_box.sceneBoundingRect().topLeft())
    menu = right_click_menu(qtbot, panel.graphics.viewport(), corner + QPoint(6, 6))
    # chosen with the keyboard: a second menu popping up under a pointer that has not moved ignores the
    # release of a click (the first time it is taken with the mouse)
    old = window.regions.bands_dialog
    if old is None:
        click_menu_path(qtbot, menu, "Regions from this map's colour scale...")
    else:
        wanted = "Regions from this map's colour scale..."
        for _ in range(len(menu.actions())):
            qtbot.keyClick(menu, Qt.Key.Key_Down)
            if menu.activeAction() is not None and menu.activeAction().text().replace("&", "") == wanted:
                break
        qtbot.keyClick(menu, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.regions.bands_dialog is not old, timeout=3000)
    dlg = window.regions.bands_dialog
    qtbot.waitUntil(dlg.isVisible, timeout=3000)
    ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=3000)


def test_regions_from_the_colour_scale_twice_never_reuse_a_name(qtbot, window):
    key = _open(qtbot, window, shared_file(SXM_IMAGE))
    panel = next(p for p in window.map_panels() if getattr(p, "dataset_key", None) == key)
    _colour_scale_regions(qtbot, window, panel)
    _colour_scale_regions(qtbot, window, panel)
    names = [r.name for r in window.state.regions.values()]
    assert len(names) == 8 and len(set(names)) == 8, names
    # and the region list shows them under those names
    listed = window.regions.list_panel.names() if hasattr(window.regions.list_panel, "names") else names
    assert len(set(listed)) == len(listed)


def _ink(widget) -> int:
    """Pixels of a widget's rendering darker than light grey (axes, ticks, text, curves)."""
    img = widget.grab().toImage()
    return sum(
        1
        for yy in range(0, img.height(), 2)
        for xx in range(0, img.width(), 2)
        if QColor(img.pixel(xx, yy)).value() < 170
    )


def test_empty_plots_say_what_to_do_instead_of_drawing_placeholder_axes(qtbot, window):
    topo = window.exploration.topography
    fit = window.fit_controller.panel
    profile = window.linecuts.profile
    window.dock("fit").raise_()
    qtbot.wait(50)
    for view, plot in ((topo, topo.graphics), (fit, fit.plot_widget), (profile, profile.plot)):
        assert view.empty.is_empty()
        assert not plot.isVisible()  # no axes with a made-up 0-1 V or +-400 mm range
        assert view.empty.label.isVisible() and view.empty.message()
    # the empty topography draws only its message: little ink, none of it axis ticks
    ink_empty = _ink(topo.empty)
    # real data replaces the message with the map, its axes and colour bar
    key = _open(qtbot, window, shared_file(LOCKIN_GRID))
    window.dock("topography").raise_()
    qtbot.waitUntil(lambda: not topo.empty.is_empty(), timeout=5000)
    assert topo.graphics.isVisible() and _ink(topo.empty) > 2 * ink_empty
    # the message never shrank the dock: the map opens with room to look at (not a strip of axes)
    assert topo.view_box.sceneBoundingRect().height() > 150
    # no point chosen yet: the spectrum plot says so instead of drawing 0-1 V placeholder axes
    row = window.exploration.spectra.rows[key]
    assert not row.curves and row.empty.is_empty() and not row.plot_widget.isVisible()
    # a click on the map pins a spectrum: the fit plot shows it instead of the message
    slicer = window.exploration.slicers_for(key)[0]
    grid = slicer.grid
    pos = slicer.panel.view_to_widget(*pixel_xy(grid, 10, 12))
    qtbot.mouseClick(
        slicer.panel.graphics.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(round(pos.x()), round(pos.y())),
    )
    window.dock("fit").raise_()
    qtbot.waitUntil(lambda: not fit.empty.is_empty(), timeout=5000)
    assert fit.plot_widget.isVisible() and fit.data_arrays()[0].size == grid.bias.size
    assert not fit.resid_plot.isVisible()  # no fit yet: no residual axes with a made-up range
    window.dock("spectra").raise_()
    qtbot.waitUntil(lambda: not row.empty.is_empty(), timeout=5000)
    assert row.plot_widget.isVisible() and row.curves


def test_hover_and_click_never_move_the_layout_and_docks_never_widen_the_window(qtbot, window):
    key = _open(qtbot, window, shared_file(LOCKIN_GRID))
    slicer = window.exploration.slicers_for(key)[0]
    grid = slicer.grid
    qtbot.wait(300)
    browser = window.dock("browser")
    size0, data0, map0 = window.size(), browser.width(), slicer.panel.graphics.width()
    for n, (iy, ix) in enumerate(((3, 4), (20, 25), (12, 7))):
        _hover(qtbot, slicer.panel, *pixel_xy(grid, iy, ix))
        qtbot.waitUntil(lambda: "pixel" in window.readout.text())
        pos = slicer.panel.view_to_widget(*pixel_xy(grid, iy, ix))
        qtbot.mouseClick(
            slicer.panel.graphics.viewport(),
            Qt.MouseButton.LeftButton,
            pos=QPoint(round(pos.x()), round(pos.y())),
        )
        qtbot.waitUntil(lambda n=n: len(window.state.pinned) == n + 1, timeout=5000)
        qtbot.wait(200)
        assert (browser.width(), slicer.panel.graphics.width()) == (data0, map0), n
    assert window.size() == size0
    # open every dock from the View menu with the mouse: the window keeps its size
    view_menu = window.menu("View")
    for act in [a for a in view_menu.actions() if a.isCheckable() and not a.isChecked()]:
        menu = open_menu(qtbot, window, "View")
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(act).center())
        qtbot.waitUntil(lambda m=menu: not m.isVisible(), timeout=3000)
        qtbot.wait(100)
        assert window.size() == size0, act.text()
    # a second and a third slicer, then a map view opened from the map's right-click menu
    for n in (2, 3):
        window.exploration.new_slicer(key)
        wait_slicers_idle(qtbot, window, n=n)
        qtbot.wait(100)
        assert window.size() == size0, f"slicer {n}"
    from tests.app.real_input import click_menu_path, right_click_menu

    topo = window.exploration.topography
    c = topo.view_to_widget(*grid.frame.center)
    menu = right_click_menu(qtbot, topo.graphics.viewport(), QPoint(round(c.x()), round(c.y())))
    click_menu_path(qtbot, menu, "Open this map in a new map view")
    qtbot.waitUntil(lambda: len(window.exploration.map_docks.docks) == 1, timeout=5000)
    qtbot.wait(100)
    assert window.size() == size0, "map view"


def _answer_png_dialog(qtbot, window, dpi: int, decorated: bool) -> None:
    """When the PNG options dialog is up: type the dpi, set the check box, click OK (input events)."""
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    def answer() -> None:
        dlg = QApplication.activeModalWidget()
        if dlg is None or not hasattr(dlg, "dpi_spin"):
            QTimer.singleShot(30, answer)
            return
        spin = dlg.dpi_spin
        spin.setFocus()
        qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(spin.lineEdit(), str(dpi))
        if dlg.decorated_check.isChecked() != decorated:
            qtbot.mouseClick(
                dlg.decorated_check,
                Qt.MouseButton.LeftButton,
                pos=QPoint(8, dlg.decorated_check.height() // 2),
            )
        qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    QTimer.singleShot(30, answer)


def test_map_png_export_is_pixel_exact_at_the_chosen_dpi(qtbot, window, tmp_path, monkeypatch):
    from tests.app.real_input import click_menu_path, right_click_menu

    key = _open(qtbot, window, shared_file(LOCKIN_GRID))
    slicer = window.exploration.slicers_for(key)[0]
    panel, grid = slicer.panel, slicer.grid
    qtbot.wait(300)  # the histogram settles
    monkeypatch.setattr(window.exporter, "ask_path", lambda kind, name: str(tmp_path / "map.png"))
    c = panel.view_to_widget(*grid.frame.center)
    menu = right_click_menu(qtbot, panel.graphics.viewport(), QPoint(round(c.x()), round(c.y())))
    _answer_png_dialog(qtbot, window, 288, False)
    click_menu_path(qtbot, menu, "Export", "Image as PNG...")
    img = QImage(str(tmp_path / "map.png"))
    ny, nx = grid.shape[:2]
    block = img.width() // nx
    # the map alone: whole blocks of one data pixel each, nothing around it (no colour bar, no axes)
    assert img.width() == nx * block and img.height() == ny * block and block >= 3
    assert round(img.dotsPerMeterX() * 0.0254) == 288
    # about 3x the on-screen size of a data pixel at 288 dpi
    from app.window.export import screen_block

    assert block == max(1, round(screen_block(panel) * 3))
    for iy, ix in ((0, 0), (7, 11), (ny - 1, nx - 1), (15, 3)):
        top, left = (ny - 1 - iy) * block, ix * block
        colours = {img.pixel(left + a, top + b) for a in range(block) for b in range(block)}
        assert len(colours) == 1, (iy, ix)  # not smoothed: one colour per block
        # and the colour the window shows at that pixel's centre
        pos = panel.view_to_widget(*pixel_xy(grid, iy, ix))
        screen = panel.graphics.grab().toImage().pixelColor(round(pos.x()), round(pos.y()))
        got = QColor(colours.pop())
        assert (
            max(
                abs(got.red() - screen.red()),
                abs(got.green() - screen.green()),
                abs(got.blue() - screen.blue()),
            )
            <= 6
        )


def test_spectra_csv_names_pins_by_label_and_position_without_the_hover_curve(
    qtbot, window, tmp_path, monkeypatch
):
    import csv

    from tests.app.real_input import click_menu_path, right_click_menu

    key = _open(qtbot, window, shared_file(LOCKIN_GRID))
    slicer = window.exploration.slicers_for(key)[0]
    panel, grid = slicer.panel, slicer.grid
    for iy, ix in ((5, 6), (20, 22)):
        pos = panel.view_to_widget(*pixel_xy(grid, iy, ix))
        qtbot.mouseClick(
            panel.graphics.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(pos.x()), round(pos.y()))
        )
    qtbot.waitUntil(lambda: len(window.state.pinned) == 2, timeout=5000)
    _hover(qtbot, panel, *pixel_xy(grid, 12, 12))
    row = window.exploration.spectra.rows[key]
    qtbot.waitUntil(lambda: "hover" in row.curves, timeout=5000)
    target = tmp_path / "spectra.csv"
    monkeypatch.setattr(window.exporter, "ask_path", lambda kind, name: str(target))
    view = row.plot_item.getViewBox()
    gv = row.plot_item.scene().views()[0]
    pos = gv.mapFromScene(view.mapViewToScene(view.viewRect().center()))
    menu = right_click_menu(qtbot, gv.viewport(), pos)
    click_menu_path(qtbot, menu, "Export", "Curves as CSV...")
    rows = list(csv.reader(open(target)))
    names = list(dict.fromkeys(r[0] for r in rows[1:]))
    pins = window.state.pinned
    expected = [f"Pin {i + 1}: x = {p.x * 1e9:.2f} nm, y = {p.y * 1e9:.2f} nm" for i, p in enumerate(pins)]
    assert names[:2] == expected
    assert all("mouse" not in n and "hover" not in n for n in names)
    assert len(names) == 3 and names[2].startswith("Selected: x = ")  # the last clicked point
    # the pin list shows the same labels
    listed = [
        window.exploration.spectra.pin_list.item(i).text()
        for i in range(window.exploration.spectra.pin_list.count())
    ]
    assert listed == expected


def _drop_file(qtbot, window, path) -> str:
    """Drag ``path`` from a file manager onto the window (drag-enter, drag-move and drop events)."""
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    n = len(window.state.entries)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    where = QPoint(window.width() // 2, window.height() // 2)
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(where, actions, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDragMoveEvent(where, actions, mime, buttons, mods))
    QApplication.sendEvent(window, QDropEvent(QPointF(where), actions, mime, buttons, mods))
    qtbot.waitUntil(lambda: len(window.state.entries) > n or window.loader.loading is False, timeout=10000)
    qtbot.waitUntil(lambda: len(window.state.entries) > n, timeout=10000)
    # the views are shown: the loader counts the file until every view has heard of it, in its own turn
    qtbot.waitUntil(
        lambda: not window.loader.loading and not window.exploration.turns.pending(), timeout=10000
    )
    return list(window.state.entries)[-1]


def test_a_createc_vert32_with_flag_bit_20_in_its_channel_code_opens(qtbot, window, tmp_path):
    real = shared_file("createc/A190824.135614.VERT").read_bytes()
    head, _, body = real.partition(b"\nDATA")
    lines = body.split(b"\n")
    # the parameter line of a ParVERT32 file whose channel code has bit 20 set (1049867 = 2**20 + 1035:
    # Current, dI/dV, ADC0, bit 8 and lock-in Q), with an X column after Z in every row
    lines[1] = b"    1024      32      96                1049867"
    rows = []
    for ln in lines[2:]:
        cells = ln.rstrip(b"\r\t").split(b"\t")
        if len(cells) >= 8:
            rows.append(b"\t".join([*cells[:3], b"0.0", *cells[3:8]]) + b"\t")
    text = head.replace(b"[ParVERT30]", b"[ParVERT32]", 1).replace(
        b"Vertchannelselectval=4209", b"Vertchannelselectval=1049867"
    )
    path = tmp_path / "A230101.120000.VERT"
    path.write_bytes(text + b"\nDATA" + b"\n".join([b"", lines[1], *rows]) + b"\n")
    key = _drop_file(qtbot, window, path)
    spec = window.state.entries[key].dataset
    assert spec.metadata["channel_code"] == 1049867 and spec.metadata["channel_flags"] == 1
    assert {"Current", "dI/dV", "ADC0"} <= set(spec.channels)
    assert spec.units["Current"] == "A" and len(spec.x) == 1024
    assert not [m for m in window.log_panel.entries() if m[0] == "error"]


def test_nanonis_filt_columns_keep_their_unit(qtbot, window, tmp_path):
    real = shared_file("nanonis/i_v.dat").read_text(encoding="latin-1")
    head, _, data = real.partition("[DATA]\n")
    labels, _, rows = data.partition("\n")
    labels = labels.replace("Current (A)\t", "Current (A) [filt]\t", 1)
    path = tmp_path / "filtered.dat"
    path.write_text(head + "[DATA]\n" + labels + "\n" + rows, encoding="latin-1")
    key = _drop_file(qtbot, window, path)
    spec = window.state.entries[key].dataset
    assert "Current [filt]" in spec.channels and spec.units["Current [filt]"] == "A"
    # the spectrum plot offers it, and its axis carries the unit
    row = window.exploration.spectra.rows[key]
    choose = row.channel_combo
    from tests.app.real_input import choose as pick

    pick(qtbot, choose, "Current [filt]")
    qtbot.waitUntil(lambda: row.plot_item.getAxis("left").labelUnits == "A", timeout=5000)


def _mgb2_text(path, scale: float = 1.0) -> None:
    bias_mv = np.linspace(-20, 20, 81)
    didv = scale * (1 + 0.5 * np.exp(-((np.abs(bias_mv) - 7) ** 2) / 2))
    path.write_text("".join(f"{b:.3f}\t{g:.5f}\n" for b, g in zip(bias_mv, didv)))


def _choose_editable(qtbot, combo, text: str) -> None:
    """Open an editable combo box with a click on its arrow and click ``text`` in the list."""
    from PySide6.QtWidgets import QApplication

    idx = combo.findText(text)
    assert idx >= 0
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton, pos=QPoint(combo.width() - 6, combo.height() // 2))
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=3000)
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    rect = view.visualRect(combo.model().index(idx, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=3000)
    assert combo.currentText() == text


def _dialog(qtbot, window):
    qtbot.waitUntil(lambda: window.loader.text_dialog is not None and window.loader.text_dialog.isVisible())
    return window.loader.text_dialog


def test_text_import_dialog_reads_mv_sets_units_and_remembers_them_per_file_pattern(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QDialogButtonBox

    from tests.app.real_input import choose

    window.loader.ask_text_import = True
    first = tmp_path / "MgB2_4K_01.txt"
    _mgb2_text(first, 12.0)
    n = len(window.state.entries)
    window.open_files([str(first)])  # as File > Open does
    dlg = _dialog(qtbot, window)
    # the header-less sweep is offered as a bias in mV, and the dialog says why
    assert dlg.unit_combo(0).currentText() == "mV" and dlg.quantity_combo(0).currentData() == "bias"
    assert "mV" in dlg.notes_label.text()
    assert dlg.x_combo.currentData() == 0 and dlg.table.item(3, 0).text() == "-20.000"
    # the second column is a conductance in nS: chosen with the mouse
    choose(qtbot, dlg.quantity_combo(1), "conductance")
    _choose_editable(qtbot, dlg.unit_combo(1), "nS")
    name = dlg.name_edit(1)
    qtbot.mouseDClick(name, Qt.MouseButton.LeftButton)
    qtbot.keyClick(name, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(name, "dI/dV")
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.state.entries) == n + 1, timeout=10000)
    spec = window.state.entries[list(window.state.entries)[-1]].dataset
    np.testing.assert_allclose(spec.x[[0, -1]], [-20e-3, 20e-3])
    assert spec.x_unit == "V" and spec.units == {"dI/dV": "S"}
    assert 10e-9 < float(np.max(spec.channels["dI/dV"])) < 20e-9
    # a file named alike opens with the same choices
    second = tmp_path / "MgB2_4K_02.txt"
    _mgb2_text(second, 8.0)
    window.open_files([str(second)])
    dlg2 = _dialog(qtbot, window)
    assert dlg2 is not dlg
    assert dlg2.quantity_combo(1).currentData() == "conductance" and dlg2.unit_combo(1).currentText() == "nS"
    assert dlg2.name_edit(1).text() == "dI/dV"
    # Cancel reads nothing
    qtbot.mouseClick(dlg2.buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    qtbot.wait(300)
    assert len(window.state.entries) == n + 1


def test_text_import_of_a_current_swept_file_takes_the_current_as_x(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QDialogButtonBox

    window.loader.ask_text_import = True
    i_na = np.linspace(-10, 10, 41)
    v_mv = np.where(np.abs(i_na) < 3, 0.0, np.sign(i_na) * (2.5 + 0.1 * np.abs(i_na)))
    v_mv[20], v_mv[21] = 0.01, -0.01
    path = tmp_path / "junction_iv.csv"
    path.write_text("V (mV),I (nA)\n" + "".join(f"{v},{i}\n" for v, i in zip(v_mv, i_na)))
    n = len(window.state.entries)
    window.open_files([str(path)])
    dlg = _dialog(qtbot, window)
    assert dlg.x_combo.currentData() == 1 and "swept column 'I' is x" in dlg.notes_label.text()
    assert all(dlg.x_combo.itemData(i) != -1 for i in range(dlg.x_combo.count()))  # no point index offered
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.state.entries) == n + 1, timeout=10000)
    spec = window.state.entries[list(window.state.entries)[-1]].dataset
    assert spec.x_name == "I" and spec.x_unit == "A" and list(spec.channels) == ["V"]


def test_the_fast_slicing_copy_is_memory_mapped_and_the_slider_shows_the_same_maps(qtbot, window):
    from tests.app.gui_support import make_grid

    g = make_grid(ny=20, nx=24, nb=61)
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    slicer = window.exploration.slicers_for(key)[0]
    channel = slicer.channel
    qtbot.waitUntil(lambda: window.exploration.cache.get(key, channel) is not None, timeout=10000)
    copy = window.exploration.cache.get(key, channel)
    assert isinstance(copy, np.memmap)  # file-backed: not another resident copy of the grid
    slicer.panel.slider.setFocus()
    for _ in range(7):
        qtbot.keyClick(slicer.panel.slider, Qt.Key.Key_Right)
    wait_slicers_idle(qtbot, window)
    k = slicer.panel.index()
    np.testing.assert_array_equal(slicer.panel.current_image(), g.channels[channel][:, :, k])


def test_the_waterfall_is_built_when_its_tab_is_shown_not_with_every_cut(qtbot, window):
    from tests.app.gui_support import make_grid
    from tests.widgets.region_mouse import drag

    g = make_grid(ny=20, nx=24, nb=61)
    key = window.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, window, n=1)
    slicer = window.exploration.slicers_for(key)[0]
    ctl = window.linecuts
    ctl.panel.draw_line.click()
    pts = [pixel_xy(g, 10, ix) for ix in range(2, 22, 2)]
    drag(slicer.panel.graphics.viewport(), [slicer.panel.view_to_widget(x, y) for x, y in pts])
    qtbot.waitUntil(lambda: ctl.panel.column_keys() == [key] and not ctl.is_busy(), timeout=10000)
    col = ctl.panel.column(key)
    window.dock("linecuts").raise_()
    assert ctl.panel.tabs.currentIndex() == 0 and col.water_curves == []  # nothing built behind the top view
    bar = ctl.panel.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert ctl.panel.tabs.currentIndex() == 1
    assert len(col.water_curves) == col.data.values.shape[0]
    i, _x, y = ctl.panel.waterfall_data(key)[3]
    np.testing.assert_allclose(y, col.data.values[i] + 3 * col.water_offset)
