"""Fourier transforms in the ordinary map views: a reciprocal-space frame reads qx, qy in 1/nm (axes and
the status-bar read-out), has no length scale bar, and stays reciprocal through a project file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from analysis.dataset import Frame, Image
from analysis.lattice import datasets as lds
from tests.analysis.lattice.synthetic import lattice_image, square_q
from tests.app.gui_support import close_window, open_window
from tests.app.real_input import click_menu_path, menu_action, right_click_menu

PIX = 0.05e-9
A = 0.4e-9
FEATURES = ["app.features.lattice", "app.features.project"]


def _lattice(n: int = 64) -> Image:
    z = lattice_image((n, n), PIX, list(square_q(A, 10.0))) * 2e-11
    frame = Frame(center=(0.0, 0.0), size=(n * PIX, n * PIX), shape=(n, n))
    return Image(name="lattice", units={"Z": "m"}, channels={"Z": z.astype(np.float32)}, frame=frame)


def _double_click(qtbot, tree, item) -> None:
    tree.scrollToItem(item)
    pos = tree.visualItemRect(item).center()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    pos = tree.visualItemRect(item).center()
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _open_amplitude(qtbot, w, key: str):
    """Double-click the FFT amplitude under the transform in the data browser: a map view opens."""
    docks = w.exploration.map_docks
    browser = w.exploration.browser
    item = browser.map_item(key, lds.AMPLITUDE)
    assert item is not None
    before = len(docks.docks)
    _double_click(qtbot, browser.tree, item)
    qtbot.waitUntil(lambda: len(docks.docks) == before + 1, timeout=5000)
    md = docks.docks[-1]
    qtbot.waitUntil(lambda: md.panel.current_image() is not None and md.panel.isVisible(), timeout=5000)
    qtbot.wait(50)
    return md


def _assert_reciprocal(qtbot, w, panel) -> None:
    assert panel.frame.reciprocal
    assert "1/nm" in panel.axis_label("bottom") and "qx" in panel.axis_label("bottom")
    assert "1/nm" in panel.axis_label("left") and "qy" in panel.axis_label("left")
    assert "m)" not in panel.axis_label("bottom").replace("1/nm)", "")
    assert panel.scale_bar_length == 0.0
    assert panel._scale_bar is None or not panel._scale_bar.isVisible()
    # the mouse over the map: the read-out gives the wave vector in 1/nm
    q = 1.0 / A
    pos = panel.view_to_widget(q, 0.0)
    QTest.mouseMove(panel.graphics.viewport(), pos)
    qtbot.waitUntil(lambda: "qx =" in w.readout.text(), timeout=3000)
    text = w.readout.text()
    assert "1/nm" in text and " nm, y =" not in text
    qx = float(text.split("qx = ")[1].split(" ")[0])
    assert qx == pytest.approx(q * 1e-9, abs=2 / (64 * PIX) * 1e-9)


def _settled_position(qtbot, view, x: float, y: float):
    """Viewport position of the point (x, y) once the raised dock's layout has stopped moving the view
    (on a loaded machine the resize may land after the dock is shown)."""
    last = None
    for _ in range(50):
        pos = view.view_to_widget(x, y)
        if pos == last:
            return pos
        last = pos
        qtbot.wait(100)
    return last


def test_fft_map_view_reads_wave_vectors_and_stays_reciprocal_in_a_project(
    qtbot, tmp_path: Path, monkeypatch
):
    w = open_window(qtbot, tmp_path, features=FEATURES)
    try:
        key = w.state.add_dataset(_lattice(), "lattice")
        w.state.set_current(key)
        menu_action(qtbot, w, "Lattice", "FFT of current image")
        qtbot.waitUntil(lambda: w.lattice.fft_key is not None, timeout=10000)
        fft_key = w.lattice.fft_key
        # the Lattice FFT dock reads wave vectors under the mouse too
        w.dock("lattice").raise_()
        fmap = w.lattice.panel.map
        qtbot.waitUntil(lambda: fmap.current_image() is not None and fmap.isVisible(), timeout=5000)
        assert "qx (1/nm)" in fmap.axis_label("bottom") and fmap.scale_bar_length == 0.0
        QTest.mouseMove(fmap.graphics.viewport(), _settled_position(qtbot, fmap, 1.0 / A, 0.0))
        qtbot.waitUntil(lambda: "qx =" in w.readout.text(), timeout=3000)
        period = float(w.readout.text().split("1/|q| = ")[1].split(" ")[0])
        assert period == pytest.approx(A * 1e9, rel=0.03)
        md = _open_amplitude(qtbot, w, fft_key)
        _assert_reciprocal(qtbot, w, md.panel)
        assert md.levelling == "none"  # a Fourier amplitude is shown as is, never plane-levelled
        # right-click > Export > Data as CSV: the columns are wave vectors
        monkeypatch.setattr(w.exporter, "ask_path", lambda kind, name: str(tmp_path / f"fft.{kind}"))
        centre = md.panel.view_to_widget(0.0, 0.0)
        menu = right_click_menu(qtbot, md.panel.graphics.viewport(), centre)
        click_menu_path(qtbot, menu, "Export", "Data as CSV...")
        header = next(ln for ln in open(tmp_path / "fft.csv") if not ln.startswith("#"))
        assert header.startswith("ix,iy,qx (1/m),qy (1/m),")
        # a real-space image in another map view keeps metres and its length bar
        browser = w.exploration.browser
        _double_click(qtbot, browser.tree, browser.map_item(key, "Z"))
        qtbot.waitUntil(lambda: len(w.exploration.map_docks.docks) == 2, timeout=5000)
        rp = w.exploration.map_docks.docks[-1].panel
        assert not rp.frame.reciprocal and rp.scale_bar_length > 0
        assert "qx" not in rp.axis_label("bottom") and "m" in rp.axis_label("bottom")

        path = tmp_path / "fft project.h5"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
        w.project.save_action.trigger()
        qtbot.waitUntil(lambda: w.project.save_job is None, timeout=20000)
        assert path.is_file() and w.project.last_error is None
    finally:
        close_window(qtbot, w)

    b = open_window(qtbot, tmp_path, features=FEATURES)
    try:
        b.open_files([path])
        qtbot.waitUntil(lambda: len(b.state.entries) == 2 and b.loader.loading == 0, timeout=20000)
        new_fft = next(k for k, e in b.state.entries.items() if lds.is_fft(e.dataset))
        ds = b.state.entries[new_fft].dataset
        assert ds.frame.reciprocal and ds.frame.unit == "1/m"
        md = next(d for d in b.exploration.map_docks.docks if d.key == new_fft)
        qtbot.waitUntil(lambda: md.panel.current_image() is not None and md.panel.isVisible(), timeout=5000)
        qtbot.wait(50)
        _assert_reciprocal(qtbot, b, md.panel)
    finally:
        close_window(qtbot, b)
