"""Views share state and refresh incrementally: one click is one refresh, a hover replaces only the hover
curve, Ctrl+Z / Ctrl+Shift+Z undo and redo any edit, the history dock jumps, and a saved project takes the
slicers' view state from the state. All driven by real mouse and key events on the window."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from analysis.maps.regions import Rectangle
from tests.app.gui_support import click_map, close_window, make_grid, open_window, pixel_xy, wait_slicers_idle


def _loaded(qtbot, tmp_path, features=None):
    w = open_window(qtbot, tmp_path, features=features)
    g = make_grid(ny=8, nx=10, nb=64)
    key = w.state.add_dataset(g, "g")
    wait_slicers_idle(qtbot, w, n=1)
    return w, g, key


def _move(qtbot, panel, x: float, y: float) -> None:
    p = panel.view_to_widget(x, y)
    qtbot.mouseMove(panel.graphics.viewport(), QPoint(round(p.x()), round(p.y())))


def test_a_click_with_pin_on_click_is_one_refresh_of_the_curves_and_of_the_fit_sources(qtbot, tmp_path):
    w, g, key = _loaded(qtbot, tmp_path)
    try:
        ex, fc = w.exploration, w.fit_controller
        panel = ex.slicers_for(key)[0].panel
        for n, (iy, ix) in enumerate([(2, 3), (5, 7), (6, 1)], start=1):
            curves, sources = ex.curve_refreshes, fc.source_refreshes
            x, y = pixel_xy(g, iy, ix)
            click_map(qtbot, panel, x, y)
            assert len(w.state.pinned) == n and w.state.cursor is not None
            assert ex.curve_refreshes - curves == 1, "a click must redraw the curves once"
            assert fc.source_refreshes - sources == 1, "a click must rebuild the fit sources once"
    finally:
        close_window(qtbot, w)


def test_a_hover_replaces_only_the_hover_curve(qtbot, tmp_path):
    w, g, key = _loaded(qtbot, tmp_path, features=())
    try:
        ex = w.exploration
        panel = ex.slicers_for(key)[0].panel
        for iy, ix in [(1, 1), (2, 6), (6, 3)]:
            click_map(qtbot, panel, *pixel_xy(g, iy, ix))
        pinned = {
            cid: ex.spectra.curve(key, cid) for cid in ex.spectra.curve_ids(key) if cid.startswith("pin:")
        }
        assert len(pinned) == 3
        set_data_calls: list[str] = []
        for cid, item in pinned.items():
            original = item.setData
            item.setData = lambda *a, _o=original, _c=cid, **k: (set_data_calls.append(_c), _o(*a, **k))[1]
        curves, hovers = ex.curve_refreshes, ex.hover_refreshes
        x, y = pixel_xy(g, 4, 8)
        _move(qtbot, panel, x, y)
        qtbot.waitUntil(lambda: ex.spectra.curve(key, "hover") is not None, timeout=3000)
        assert ex.hover_refreshes > hovers
        assert ex.curve_refreshes == curves, "a hover must not redraw the pinned curves"
        assert set_data_calls == []
        _x, yy = ex.spectra.curve(key, "hover").getData()
        iy, ix = g.frame.nearest_pixel(x, y)
        assert list(yy) == list(g.spectrum(ex.channel_for_plot(key), iy, ix).astype(float))
    finally:
        close_window(qtbot, w)


def test_ctrl_z_undoes_a_pin_made_by_a_click_and_ctrl_shift_z_redoes_it(qtbot, tmp_path):
    w, g, key = _loaded(qtbot, tmp_path)
    try:
        panel = w.exploration.slicers_for(key)[0].panel
        click_map(qtbot, panel, *pixel_xy(g, 3, 3))
        click_map(qtbot, panel, *pixel_xy(g, 5, 5))
        keys = [p.key for p in w.state.pinned]
        assert len(keys) == 2
        w.activateWindow()
        panel.graphics.setFocus()
        qtbot.keyClick(panel.graphics.viewport(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert [p.key for p in w.state.pinned] == keys[:1]
        assert w.exploration.spectra.curve(key, f"pin:{keys[1]}") is None
        mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        qtbot.keyClick(panel.graphics.viewport(), Qt.Key.Key_Z, mods)
        assert [p.key for p in w.state.pinned] == keys
        assert w.exploration.spectra.curve(key, f"pin:{keys[1]}") is not None
        edit = next(a for a in w.menuBar().actions() if a.text().replace("&", "") == "Edit").menu()
        texts = [a.text() for a in edit.actions()]
        assert texts[0].startswith("Undo Pin") and texts[1] == "Redo"
    finally:
        close_window(qtbot, w)


def test_the_history_dock_lists_every_step_and_a_click_goes_back_to_one(qtbot, tmp_path):
    w, g, key = _loaded(qtbot, tmp_path)
    try:
        panel = w.exploration.slicers_for(key)[0].panel
        for iy, ix in [(1, 2), (3, 4), (5, 6)]:
            click_map(qtbot, panel, *pixel_xy(g, iy, ix))
        w.regions.add_geometry(Rectangle(g.frame.center, (g.frame.size[0] / 3, g.frame.size[1] / 3)))
        hist = w.history.panel
        w.history._show()
        qtbot.waitUntil(hist.isVisible, timeout=3000)
        texts = hist.texts()
        assert len(texts) == 4 and texts[-1] == "Add Region 1" and texts[0].startswith("Pin")
        row = hist.list.item(1)  # "after the first pin"
        rect = hist.list.visualItemRect(row)
        qtbot.mouseClick(hist.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert len(w.state.pinned) == 1 and len(w.state.regions) == 0
        assert w.state.undo.index == 1 and hist.current_index() == 1
        QApplication.processEvents()
    finally:
        close_window(qtbot, w)


def test_saved_slicer_view_comes_from_the_state_and_comes_back(qtbot, tmp_path):
    from analysis.store import open_project

    w, g, key = _loaded(qtbot, tmp_path)
    try:
        ctl = w.exploration.slicers_for(key)[0]
        panel = ctl.panel
        panel.graphics.setFocus()
        for _ in range(5):
            qtbot.keyClick(panel.graphics.viewport(), Qt.Key.Key_Right)
        wait_slicers_idle(qtbot, w)
        view = w.state.views[ctl.dock_key]
        assert view.index == panel.index() and view.channel == ctl.channel
        panel.set_levels(0.1, 0.9)  # the histogram's drag ends here
        panel.colormap_combo.setCurrentText("magma")
        assert view.levels == (0.1, 0.9) and view.colormap == "magma"
        path = tmp_path / "p.h5"
        w.project.save_to(path)
        qtbot.waitUntil(lambda: path.exists() and not w.active_jobs(), timeout=20000)
        project = open_project(path)
        try:
            (saved,) = project.attachments["view"].data["slicers"]
        finally:
            project.close()
        assert saved["channel"] == ctl.channel and saved["colormap"] == "magma"
        assert saved["levels"] == [0.1, 0.9]
        assert saved["value"] == float(g.bias[view.index])
    finally:
        close_window(qtbot, w)

    (tmp_path / "again").mkdir()
    w2 = open_window(qtbot, tmp_path / "again", features=None)
    try:
        w2.project.open(path)
        qtbot.waitUntil(lambda: len(w2.exploration.slicers) == 1 and not w2.active_jobs(), timeout=20000)
        wait_slicers_idle(qtbot, w2)
        ctl2 = w2.exploration.slicers[0]
        view2 = w2.state.views[ctl2.dock_key]
        assert (view2.index, view2.colormap, view2.levels) == (view.index, "magma", (0.1, 0.9))
        assert ctl2.panel.colormap_name == "magma" and ctl2.panel.levels() == (0.1, 0.9)
    finally:
        close_window(qtbot, w2)


def test_levelling_chosen_in_the_topography_and_a_map_view_undoes_with_ctrl_z(qtbot, tmp_path):
    import numpy as np

    from tests.app.real_input import choose

    w, g, key = _loaded(qtbot, tmp_path)
    try:
        ex = w.exploration
        topo = ex.topography
        before = np.array(topo.current_image(), copy=True)
        start = ex.topo_levelling
        target = "none" if start != "none" else "plane"
        choose(qtbot, topo.levelling_combo, target)
        assert ex.topo_levelling == target and w.state.views["topography"].levelling == target
        assert not np.allclose(topo.current_image(), before, rtol=1e-3, atol=0, equal_nan=True)
        assert w.state.undo.undo_text.startswith("Level topography")
        topo.graphics.setFocus()
        qtbot.keyClick(topo.graphics.viewport(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert ex.topo_levelling == start and topo.levelling_combo.currentData() == start
        np.testing.assert_allclose(topo.current_image(), before, rtol=1e-5, atol=0, equal_nan=True)

        md = ex.open_map(key, "Z")
        assert md is not None
        level_before = md.levelling
        other = "none" if level_before != "none" else "plane"
        choose(qtbot, md.panel.levelling_combo, other)
        assert md.levelling == other and w.state.views[md.dock_key].levelling == other
        w.state.undo.undo()
        assert md.levelling == level_before and md.panel.levelling_combo.currentData() == level_before
    finally:
        close_window(qtbot, w)


def test_map_views_come_back_with_a_project(qtbot, tmp_path):
    from tests.app.real_input import choose

    w, g, key = _loaded(qtbot, tmp_path)
    path = tmp_path / "maps.h5"
    try:
        md = w.exploration.open_map(key, "Z")
        choose(qtbot, md.panel.levelling_combo, "none")
        md.panel.colormap_combo.setCurrentText("magma")
        w.project.save_to(path)
        qtbot.waitUntil(lambda: path.exists() and not w.active_jobs(), timeout=20000)
    finally:
        close_window(qtbot, w)
    (tmp_path / "again").mkdir()
    w2 = open_window(qtbot, tmp_path / "again", features=None)
    try:
        w2.project.open(path)
        qtbot.waitUntil(
            lambda: len(w2.exploration.map_docks.docks) == 1 and not w2.active_jobs(), timeout=20000
        )
        md2 = w2.exploration.map_docks.docks[0]
        assert md2.channel == "Z" and md2.levelling == "none" and md2.panel.colormap_name == "magma"
        assert w2.dock(md2.dock_key).isVisible()
    finally:
        close_window(qtbot, w2)


def test_a_reopened_projects_map_views_open_after_the_restore_turn(qtbot, tmp_path):
    """Opening a project puts its contents into the state in the restore turn and builds the views in later
    turns (the slicer, then each saved map view in a turn of its own); all come back as saved."""
    w, g, key = _loaded(qtbot, tmp_path)
    path = tmp_path / "two_maps.h5"
    try:
        w.exploration.open_map(key, "Z")
        w.exploration.open_map(key, "Z").panel.colormap_combo.setCurrentText("magma")
        w.project.save_to(path)
        qtbot.waitUntil(lambda: path.exists() and not w.active_jobs(), timeout=20000)
    finally:
        close_window(qtbot, w)
    (tmp_path / "again").mkdir()
    w2 = open_window(qtbot, tmp_path / "again", features=None)
    try:
        at_restore: list[tuple[int, int]] = []
        restore = w2.project._opened

        def opened(*args):
            restore(*args)
            assert w2.project.restoring  # the views follow in later turns
            at_restore.append((len(w2.exploration.slicers), len(w2.exploration.map_docks.docks)))

        w2.project._opened = opened
        w2.project.open(path)
        docks = w2.exploration.map_docks.docks
        finished: list[str] = []
        w2.project.restore_finished.connect(finished.append)
        qtbot.waitUntil(lambda: bool(finished) and not w2.active_jobs(), timeout=20000)
        assert finished == [str(path)] and len(docks) == 2
        assert at_restore == [(0, 0)] and len(w2.state.entries) == 1
        assert len(w2.exploration.slicers) == 1 and not w2.project.restoring
        assert [d.channel for d in docks] == ["Z", "Z"]
        assert [d.panel.colormap_name for d in docks][1] == "magma"
        assert all(w2.dock(d.dock_key).isVisible() or d is not docks[-1] for d in docks)
    finally:
        close_window(qtbot, w2)
