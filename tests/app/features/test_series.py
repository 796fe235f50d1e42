"""The transport series in the window: File > Import series... with tags from the file names, the Series
dock's overlay coloured by the tag, a derivative chosen as y quantity, the 2D map, and bad files named."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QLineEdit

from analysis.series import Series
from tests.app.gui_support import close_window, open_window
from tests.app.real_input import choose, click_menu_path, menu_action


def _neck_iv(i: np.ndarray, field_t: float) -> np.ndarray:
    """A current-biased neck: a gap 1 mV wide at zero field closing linearly by 2 T, R_N = 10 Ohm."""
    gap = 1e-3 * max(0.0, 1.0 - field_t / 2.0)
    return 10.0 * i + gap * np.tanh(i / 2e-5) * 0.0 + np.sign(i) * gap * (np.abs(i) > 5e-5)


def _write(tmp_path, fields) -> list[str]:
    paths = []
    i = np.linspace(-4e-4, 4e-4, 401)
    for h in fields:
        v = _neck_iv(i, h)
        p = tmp_path / f"neck_{h:g}T.dat"
        np.savetxt(p, np.column_stack([i, v]), header="Current (A)\tVoltage (V)", delimiter="\t")
        paths.append(str(p))
    return paths


@pytest.fixture
def win(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=["app.features.series"])
    yield w
    close_window(qtbot, w)


def test_import_series_from_the_file_menu_shows_the_curves_coloured_by_field(
    qtbot, win, tmp_path, monkeypatch
):
    fields = [0.0, 0.5, 1.0, 1.5]
    paths = _write(tmp_path, fields)
    bad = tmp_path / "neck_2T.dat"
    bad.write_text("# Time (s)\tTemperature (K)\n0\t4.2\n1\t4.3\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([*paths, str(bad)], ""))
    menu_action(qtbot, win, "File", "Import series...")
    ctl = win.series
    dialog = ctl.import_dialog_shown
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    # type the pattern: the preview shows each file's field as it is typed
    qtbot.mouseClick(dialog.pattern_edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.pattern_edit, "neck_{H}T.dat")
    preview = dict(dialog.preview_texts())
    assert preview["neck_0.5T.dat"] == "H = 0.5" and preview["neck_2T.dat"] == "H = 2"
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.series() is not None, timeout=20000)
    s = ctl.series()
    assert isinstance(s, Series) and len(s) == 4
    np.testing.assert_allclose(np.sort(s.tag("H")), fields)
    assert any("neck_2T.dat" in m for lvl, m in win.log_panel.entries() if lvl == "warning")
    panel = ctl.panel
    assert panel.tag_combo.currentData() == "H"
    # the curves are drawn in different colours for different fields
    cols = {panel.overlay.sweep_colour(k) for k in range(4)}
    assert len(cols) == 4

    # dV/dI as the y quantity, chosen from the combo box with the mouse, is computed and drawn
    idx = next(i for i in range(panel.y_combo.count()) if panel.y_combo.itemText(i).startswith("dV/dI"))
    choose(qtbot, panel.y_combo, panel.y_combo.itemData(idx))
    wanted = panel.y_combo.itemData(idx)
    qtbot.waitUntil(lambda: wanted in ctl.derived.get(ctl.key, {}), timeout=20000)
    qtbot.waitUntil(lambda: not win.active_jobs(), timeout=20000)
    assert ctl.y == "dV/dI"
    d = ctl.derived[ctl.key][ctl.y]
    r = np.nanmedian(np.concatenate([np.asarray(sw.channel("dV/dI")) for sw in d]))
    assert r == pytest.approx(10.0, rel=0.05)  # the normal-state resistance


def _dynes_series(tmp_path, gaps, gamma=0.1e-3):
    """Voltage-biased dI/dV files of a Dynes SIN junction whose gap closes with field (files dyn_{H}T.dat)."""
    from analysis.models.registry import get_model

    model = get_model("dynes_sin")
    v = np.linspace(-4e-3, 4e-3, 321)
    rng = np.random.default_rng(3)
    paths = []
    for h, gap in gaps.items():
        values = {p.name: p.default for p in model.params}
        values.update({"Delta": gap, "Gamma": gamma, "G_N": 1e-6})
        g = model.evaluate(v, **values) if hasattr(model, "evaluate") else model.func(v, **values)
        g = g * (1 + 0.002 * rng.standard_normal(v.size))
        p = tmp_path / f"dyn_{h:g}T.dat"
        np.savetxt(p, np.column_stack([v, g]), header="Bias (V)\tdI/dV (S)", delimiter="\t")
        paths.append(str(p))
    return paths


def _menu_path(qtbot, window, top: str, *texts: str) -> None:
    """Click ``top`` in the menu bar, then ``texts`` in the menus that open, with the mouse."""
    bar = window.menuBar()
    action = next(a for a in bar.actions() if a.text().replace("&", "") == top)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(action).center())
    qtbot.waitUntil(action.menu().isVisible, timeout=3000)
    click_menu_path(qtbot, action.menu(), *texts)


def _drop(window, path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    where = QPoint(window.width() // 2, window.height() // 2)
    actions, buttons, mods = (
        Qt.DropAction.CopyAction,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(where, actions, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDragMoveEvent(where, actions, mime, buttons, mods))
    QApplication.sendEvent(window, QDropEvent(QPointF(where), actions, mime, buttons, mods))


def test_a_dropped_folder_imports_and_a_shared_gamma_fit_recovers_the_gaps(qtbot, win, tmp_path):
    folder = tmp_path / "dynes"
    folder.mkdir()
    gaps = {0.0: 1.4e-3, 0.5: 1.2e-3, 1.0: 0.9e-3}
    _dynes_series(folder, gaps)
    _drop(win, folder)
    ctl = win.series
    qtbot.waitUntil(lambda: ctl.import_dialog_shown is not None and ctl.import_dialog_shown.isVisible())
    dialog = ctl.import_dialog_shown
    qtbot.keyClicks(dialog.pattern_edit, "dyn_{H}T.dat")
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.series() is not None, timeout=20000)
    assert ctl.x == "Bias" and ctl.y == "dI/dV"

    _menu_path(qtbot, win, "Analysis", "Series", "Fit the series...")
    d = ctl.fit_dialog
    qtbot.waitUntil(d.isVisible, timeout=3000)
    choose(qtbot, d.model_combo, "dynes_sin")
    # Gamma shared by the three sweeps: click its row
    row = next(i for i in range(d.params.count()) if d.params.item(i).text().startswith("Gamma"))
    rect = d.params.visualItemRect(d.params.item(row))
    qtbot.mouseClick(d.params.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert d.shared() == ["Gamma"]
    qtbot.mouseClick(d.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.last_fit is not None, timeout=60000)
    fit = ctl.last_fit
    order = np.argsort(fit.tags["H"])
    np.testing.assert_allclose(fit.value("Delta")[order], [gaps[h] for h in sorted(gaps)], rtol=0.02)
    gamma = fit.value("Gamma")
    assert np.ptp(gamma) == 0 and gamma[0] == pytest.approx(0.1e-3, rel=0.1)
    assert ctl.panel.current_view() == "results"
    assert any(isinstance(f, type(fit)) for f in win.state.fits.values())


def test_processing_from_the_menu_adds_a_derived_series_and_ctrl_z_removes_it(qtbot, win, tmp_path):
    paths = _write(tmp_path, [0.0, 1.0])
    ctl = win.series
    ctl.import_files(paths, "neck_{H}T.dat")
    qtbot.waitUntil(lambda: ctl.series() is not None, timeout=20000)
    key = ctl.key
    n = len(win.state.entries)
    _menu_path(qtbot, win, "Analysis", "Series", "Resistance and power (R = V/I, P = IV)")
    qtbot.waitUntil(lambda: len(win.state.entries) == n + 1 and not win.active_jobs(), timeout=20000)
    child = list(win.state.entries.values())[-1]
    assert child.parent == key and isinstance(child.dataset, Series)
    assert child.dataset.provenance
    assert win.state.undo.undo_text.startswith("Add")
    win.activateWindow()
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(win.state.entries) == n


def test_picked_peaks_of_a_neck_give_its_gap_and_a_ladder(qtbot, win, tmp_path):
    from tests.analysis.transport.synthetic import NECK_DELTA0, write_neck_files

    paths = write_neck_files(tmp_path, fields=(0.0, 0.08))
    ctl = win.series
    ctl.import_files([str(p) for p in paths], "neck3_{H}T.dat")
    qtbot.waitUntil(lambda: ctl.series() is not None, timeout=20000)
    panel = ctl.panel
    choose(qtbot, panel.x_combo, "V")
    choose(qtbot, panel.y_combo, "dV/dI")
    qtbot.waitUntil(lambda: "dV/dI" in ctl.derived.get(ctl.key, {}) and not win.active_jobs(), timeout=20000)
    _menu_path(qtbot, win, "Analysis", "Series", "Pick peaks (gap from the subharmonic ladder)")
    qtbot.waitUntil(lambda: ctl.picked_gap is not None, timeout=10000)
    assert ctl.picker.isVisible() and len(ctl.picker.marker_list()) >= 2
    assert ctl.picked_gap.delta == pytest.approx(NECK_DELTA0, rel=0.03)
    assert "gap" in panel.ladders


def test_tags_typed_in_the_import_table_and_picked_shapiro_steps_give_the_drive_frequency(
    qtbot, win, tmp_path, monkeypatch
):
    from tests.analysis.transport.synthetic import SHAPIRO_F, shapiro_sweep

    powers = (-20.0, -10.0)
    paths = []
    for k, p_dbm in enumerate(powers):
        i, v = shapiro_sweep(p_dbm)
        path = tmp_path / f"run{k}.dat"
        np.savetxt(path, np.c_[i, v], header="I (A)\tV (V)", delimiter="\t", comments="")
        paths.append(str(path))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: (paths, ""))
    menu_action(qtbot, win, "File", "Import series...")
    ctl = win.series
    dialog = ctl.import_dialog_shown
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    table = dialog.table
    for row, p_dbm in enumerate(powers):  # type each file's rf power into its row, as a user does
        rect = table.visualItemRect(table.item(row, 2))
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.keyClick(table, Qt.Key.Key_F2)  # edit the chosen cell
        editor = next(e for e in table.viewport().findChildren(QLineEdit) if e.isVisible())
        qtbot.keyClicks(editor, f"P_rf = {p_dbm:g}")
        qtbot.keyClick(editor, Qt.Key.Key_Tab)  # commits the cell
        assert table.item(row, 2).text() == f"P_rf = {p_dbm:g}"
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.series() is not None, timeout=20000)
    s = ctl.series()
    np.testing.assert_allclose(s.tag("P_rf"), powers)
    assert ctl.x == "I" and ctl.y == "V"
    _menu_path(qtbot, win, "Analysis", "Series", "Pick steps (frequency from the Shapiro steps)")
    qtbot.waitUntil(lambda: ctl.picked_frequency is not None, timeout=10000)
    assert ctl.picked_frequency == pytest.approx(SHAPIRO_F, rel=0.02)
