"""Papers > Intrinsic tunnelling from the menu bar on the synthetic ITS series: the series chosen by their
channels, Analyse clicked, hA, P_c, R_1 and I* against the truth, the plots drawn, and the panel's settings
and numbers back after File > Save Project and opening the file in a fresh window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from analysis.papers.scenario_its import TRUTH, make_its_series
from tests.app.features.test_series import _menu_path
from tests.app.gui_support import window_maker

FEATURES = ["app.features.project", "app.features.series", "app.features.paper_its"]


@pytest.fixture
def windows(qtbot, tmp_path):
    with window_maker(qtbot, tmp_path, FEATURES) as make:
        yield make


def test_its_panel_from_the_papers_menu_recovers_the_truth_and_comes_back_from_a_project(
    qtbot, windows, tmp_path, monkeypatch
):
    a = windows("a")
    for s in make_its_series(0).values():
        a.state.add_dataset(s, s.name)
    _menu_path(qtbot, a, "Papers", "Intrinsic tunnelling (paper 003)...")
    ctl = a.paper_its
    qtbot.waitUntil(ctl.dock.isVisible, timeout=3000)
    panel = ctl.panel
    labels = {r: panel.combos[r].currentText() for r in ("rt", "iv", "brush")}
    assert labels == {"rt": "R(T)", "iv": "I-V vs field", "brush": "I-V brush"}
    # the 3-point term stays off; the threshold typed in
    panel.eps.selectAll()
    qtbot.mouseDClick(panel.eps.lineEdit(), Qt.MouseButton.LeftButton)
    panel.eps.lineEdit().selectAll()
    qtbot.keyClicks(panel.eps.lineEdit(), "0.02")
    qtbot.keyClick(panel.eps.lineEdit(), Qt.Key.Key_Return)
    qtbot.mouseClick(panel.analyse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.result is not None and ctl.job is None, timeout=30000)
    res = ctl.result
    assert res.h_a == pytest.approx(TRUTH["h_a"], rel=0.01)
    np.testing.assert_allclose(res.p_c, TRUTH["p_c"], rtol=0.03)
    assert np.all(np.abs(res.p_c - TRUTH["p_c"]) < 4 * res.p_c_err)
    np.testing.assert_allclose(res.fields, TRUTH["fields"])
    assert res.spread < 1e-3
    assert res.R1 == pytest.approx(TRUTH["R1"], abs=4 * res.R1_err)
    assert res.I_star == pytest.approx(TRUTH["I_star"], abs=4 * res.I_star_err)
    np.testing.assert_allclose(res.peak_V, TRUTH["peak_V"], rtol=0.03)
    text = panel.report.toPlainText()
    assert "hA = 15.9" in text or "hA = 16" in text
    assert panel.export_button.isEnabled()
    # the plots are drawn: the R(T) plot holds the curve and the superposed points
    assert len(panel.plot_rt.listDataItems()) == 2 and len(panel.plot_brush.listDataItems()) == 4
    img = panel.plots.grab().toImage()
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 10

    # Export figure... writes the paper figure of the window's series off the GUI thread
    fig = tmp_path / "its.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a_, **k: (str(fig), ""))
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fig.is_file() and not a.active_jobs(), timeout=60000)
    assert fig.read_text().count('<g id="axes_') >= 4

    path = tmp_path / "its session.h5"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a_, **k: (str(path), ""))
    _menu_path(qtbot, a, "File", "Save Project")
    qtbot.waitUntil(lambda: a.project.save_job is None and path.is_file(), timeout=20000)

    b = windows("b")
    b.open_files([path])
    qtbot.waitUntil(lambda: b.loader.loading == 0 and b.paper_its.result is not None, timeout=20000)
    back = b.paper_its
    assert back.result.h_a == res.h_a and back.result.R1 == res.R1
    np.testing.assert_array_equal(back.result.p_c, res.p_c)
    assert back.settings.eps == pytest.approx(0.02)
    assert {r: back.panel.combos[r].currentText() for r in labels} == labels
    assert back.panel.report.toPlainText() == text
