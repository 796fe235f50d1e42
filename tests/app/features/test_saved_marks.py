"""Picked Bragg peaks and the height profile line are kept with the project: the profile line is drawn and
edited through the undo stack, and both come back when the saved project is opened in a fresh window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QFileDialog

from analysis.dataset import Frame, Image
from tests.analysis.lattice.synthetic import lattice_image, square_q
from tests.app.gui_support import click_map, close_window, open_window
from tests.app.real_input import menu_action
from tests.widgets.region_mouse import drag

PIX = 0.05e-9
A = 0.4e-9
N = 96
FEATURES = ["app.features.topography", "app.features.lattice", "app.features.project"]


def _lattice() -> Image:
    z = lattice_image((N, N), PIX, list(square_q(A, 10.0))) * 2e-11
    frame = Frame(center=(0.0, 0.0), size=(N * PIX, N * PIX), shape=(N, N))
    return Image(name="lattice", units={"Z": "m"}, channels={"Z": z.astype(np.float32)}, frame=frame)


def _edit_menu(qtbot, w, prefix: str) -> None:
    """Edit > Undo/Redo ... clicked in the menu bar."""
    bar = w.menuBar()
    top = next(a for a in bar.actions() if a.text().replace("&", "") == "Edit")
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(top).center())
    menu = top.menu()
    qtbot.waitUntil(menu.isVisible, timeout=3000)
    act = next(a for a in menu.actions() if a.text().startswith(prefix))
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(act).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=3000)


def _drag_line(qtbot, panel, a, b) -> None:
    pts = [
        panel.view_to_widget(a[0] + (b[0] - a[0]) * k / 10, a[1] + (b[1] - a[1]) * k / 10) for k in range(11)
    ]
    drag(panel.graphics.viewport(), pts)


def test_peaks_and_profile_line_undo_and_come_back_from_a_project(qtbot, tmp_path: Path, monkeypatch):
    w = open_window(qtbot, tmp_path, features=FEATURES)
    try:
        key = w.state.add_dataset(_lattice(), "lattice")
        topo = w.exploration.topography
        qtbot.waitUntil(lambda: topo.current_image() is not None and topo.dataset_key == key, timeout=10000)
        qtbot.wait(150)
        ctl = w.topography
        frame = topo.frame
        a, b, c = frame.pixel_to_xy(10, 40), frame.pixel_to_xy(80, 40), frame.pixel_to_xy(50, 40)

        # draw the profile line: one undo step; drag its end handle: another
        menu_action(qtbot, w, "Topography", "Profile")
        qtbot.wait(100)
        _drag_line(qtbot, topo, a, b)
        qtbot.waitUntil(lambda: ctl.profile is not None, timeout=5000)
        assert w.state.undo.undo_text == "Draw height profile"
        assert ctl.profile.distance[-1] == pytest.approx(70 * PIX, abs=3 * PIX)
        end = QPointF(topo.view_to_widget(*b))
        new_end = QPointF(topo.view_to_widget(*c))
        qtbot.mouseMove(topo.graphics.viewport(), end.toPoint())
        qtbot.wait(60)
        drag(topo.graphics.viewport(), [end + (new_end - end) * (k / 8) for k in range(9)])
        qtbot.waitUntil(lambda: abs(ctl.profile.distance[-1] - 40 * PIX) < 3 * PIX, timeout=3000)
        assert w.state.undo.undo_text == "Edit height profile"
        # Edit > Undo: back to the long line; undo again: no line; Redo: the long line again
        _edit_menu(qtbot, w, "Undo")
        qtbot.waitUntil(lambda: abs(ctl.profile.distance[-1] - 70 * PIX) < 3 * PIX, timeout=3000)
        _edit_menu(qtbot, w, "Undo")
        assert ctl.mark() is None and ctl.profile is None and ctl.line is None
        _edit_menu(qtbot, w, "Redo")
        qtbot.waitUntil(lambda: ctl.profile is not None, timeout=3000)
        assert ctl.profile.distance[-1] == pytest.approx(70 * PIX, abs=3 * PIX)
        saved_line = ctl.line

        # FFT and two Bragg peaks clicked on the Fourier map
        w.state.set_current(key)
        menu_action(qtbot, w, "Lattice", "FFT of current image")
        qtbot.waitUntil(lambda: w.lattice.fft_key is not None, timeout=10000)
        fft_key = w.lattice.fft_key
        w.dock("lattice").raise_()
        fmap = w.lattice.panel.map
        qtbot.waitUntil(lambda: fmap.current_image() is not None and fmap.isVisible(), timeout=5000)
        menu_action(qtbot, w, "Lattice", "Pick Bragg peaks")
        for q in square_q(A, 10.0):
            click_map(qtbot, fmap, q[0], q[1])
        peaks = [tuple(p) for p in w.lattice.peaks[fft_key]]
        assert len(peaks) == 2

        path = tmp_path / "marks.h5"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
        w.project.save_action.trigger()
        qtbot.waitUntil(lambda: w.project.save_job is None, timeout=20000)
        assert path.is_file() and w.project.last_error is None
    finally:
        close_window(qtbot, w)

    n = open_window(qtbot, tmp_path, features=FEATURES)
    try:
        n.open_files([path])
        qtbot.waitUntil(lambda: len(n.state.entries) == 2 and n.loader.loading == 0, timeout=20000)
        src = next(k for k, e in n.state.entries.items() if e.parent is None)
        fft = next(k for k, e in n.state.entries.items() if e.parent == src)
        # the peaks are those of the new transform, listed when it is shown
        np.testing.assert_allclose(np.array(n.lattice.peaks[fft], float), np.array(peaks), rtol=1e-12)
        n.state.set_current(fft)
        qtbot.waitUntil(lambda: n.lattice.panel.peak_list.count() == 2, timeout=5000)
        assert n.lattice.panel.map.marker_count() == 2
        # the profile line is back on a map of the image, with its profile
        ctl = n.topography
        k, mark = ctl.mark()
        assert mark["dataset"] == src
        topo = n.exploration.topography
        if topo.dataset_key != src:
            n.exploration.show_in_topography(src, "Z")
        qtbot.waitUntil(lambda: ctl.profile is not None and ctl.line_panel is topo, timeout=5000)
        np.testing.assert_allclose(np.array(ctl.line), np.array(saved_line), rtol=1e-12)
        assert ctl.profile.distance[-1] == pytest.approx(70 * PIX, abs=3 * PIX)
        assert not n.isWindowModified()
    finally:
        close_window(qtbot, n)
