"""Scenarios > Export paper figure > Fig. 4: the paper's figure of the session's demo grids, written with
matplotlib off the GUI thread, chosen with the mouse from the menu."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from tests.app.gui_support import close_window, open_window
from tests.app.real_input import click_menu_path


def test_fig4_is_exported_from_the_scenarios_menu(qtbot, tmp_path, monkeypatch):
    w = open_window(qtbot, tmp_path, features=["app.window.scenarios"])
    try:
        w.open_demo()
        qtbot.waitUntil(lambda: len(w.state.grids()) == 2 and not w.loader.loading, timeout=60000)
        out = tmp_path / "fig4.png"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
        bar = w.menuBar()
        action = next(a for a in bar.actions() if a.text().replace("&", "") == "Scenarios")
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(action).center())
        qtbot.waitUntil(action.menu().isVisible, timeout=3000)
        click_menu_path(qtbot, action.menu(), "Export paper figure", "Fig. 4 (PDF, SVG, PNG)...")
        qtbot.waitUntil(lambda: out.exists() and not w.active_jobs(), timeout=60000)
        img = QImage(str(out))
        assert img.width() > 1500 and img.height() > 700  # 17.8 cm wide at the figure's dpi
        assert any(m.startswith("Wrote fig4") for _lvl, m in w.log_panel.entries())
    finally:
        close_window(qtbot, w)
