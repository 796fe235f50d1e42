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


def test_transport_figures_are_listed_and_exported_from_the_window_series(qtbot, tmp_path, monkeypatch):
    """The menu lists the transport papers' figures too; the ITS figure is drawn from the window's own
    R(T) and I-V series (the window holds no brush, so the figure has no branch lines, where the
    scenario's synthetic series would give four)."""
    from analysis.figures.paper import SERIES_FIGURES
    from analysis.papers.scenario_its import make_field_series, make_rt_series
    from app.window.scenarios import SCENARIOS

    w = open_window(qtbot, tmp_path, features=["app.features.paper_its", "app.window.scenarios"])
    try:
        for s in (make_rt_series(3), make_field_series(3)):
            w.state.add_dataset(s, s.name)
        out = tmp_path / "its.svg"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
        bar = w.menuBar()
        action = next(a for a in bar.actions() if a.text().replace("&", "") == "Scenarios")
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(action).center())
        qtbot.waitUntil(action.menu().isVisible, timeout=3000)
        export = next(a for a in action.menu().actions() if a.text() == "Export paper figure").menu()
        listed = [a.text() for a in export.actions()]
        for name in SERIES_FIGURES:
            assert f"{SCENARIOS[name].title} (PDF, SVG, PNG)..." in listed
        click_menu_path(
            qtbot, action.menu(), "Export paper figure", f"{SCENARIOS['its'].title} (PDF, SVG, PNG)..."
        )
        qtbot.waitUntil(lambda: out.exists() and not w.active_jobs(), timeout=60000)
        text = out.read_text()
        assert "Heating spectrum" in text and "I-V at hA" in text
        assert "R = 29.9 Ohm" not in text and "R = 30 Ohm" not in text
        logs = [m for _lvl, m in w.log_panel.entries() if m.startswith("Wrote")]
        assert logs and "the window's series 'R(T)', 'I-V vs field'" in logs[-1]
    finally:
        close_window(qtbot, w)
