"""Papers > Microwave from the menu bar on the synthetic series under rf: the gap typed in, Analyse and
Cancel clicked (the job stops and says so), Analyse again; C, the amplitude scales and the gap against the
truth; the panel's settings and numbers back after File > Save Project and opening it in a fresh window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from analysis.papers.scenario_microwave import (
    TRUTH,
    make_frequency_scan_series,
    make_i0_series,
    make_microwave_series,
    slice_truth,
)
from tests.app.features.test_series import _menu_path
from tests.app.gui_support import window_maker

FEATURES = ["app.features.project", "app.features.series", "app.features.paper_microwave"]


@pytest.fixture
def windows(qtbot, tmp_path):
    with window_maker(qtbot, tmp_path, FEATURES) as make:
        yield make


def _type(qtbot, spin, text: str) -> None:
    edit = spin.lineEdit()
    qtbot.mouseDClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def test_microwave_panel_from_the_papers_menu_recovers_the_truth_and_comes_back_from_a_project(
    qtbot, windows, tmp_path, monkeypatch
):
    a = windows("a")
    i0 = make_i0_series()
    a.state.add_dataset(i0, i0.name)
    fs = make_frequency_scan_series(0)
    a.state.add_dataset(fs, fs.name)
    s = make_microwave_series(0)
    a.state.add_dataset(s, s.name)
    _menu_path(qtbot, a, "Papers", "Microwave (paper 004)...")
    ctl = a.paper_microwave
    qtbot.waitUntil(ctl.dock.isVisible, timeout=3000)
    panel = ctl.panel
    assert panel.series_combo.currentText() == "I-V under rf"
    assert panel.i0_combo.currentText() == "I-V without rf"
    assert panel.fscan_combo.currentText() == "I-V under rf vs f"
    _type(qtbot, panel.delta_mev, "0.5875")
    _type(qtbot, panel.slice_two_alpha, "25.9")
    _type(qtbot, panel.slice_order, "0")
    assert panel.delta_mev.value() == pytest.approx(0.5875)
    assert panel.f_ghz.value() == pytest.approx(TRUTH["f"] * 1e-9)

    qtbot.mouseClick(panel.analyse_button, Qt.MouseButton.LeftButton)
    assert panel.cancel_button.isEnabled() and not panel.analyse_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.job is None, timeout=30000)
    assert ctl.result is None and panel.report.toPlainText() == "Cancelled."

    qtbot.mouseClick(panel.analyse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.result is not None and ctl.job is None, timeout=60000)
    r = ctl.result
    assert r.c == pytest.approx(TRUTH["c"], rel=2e-3) and abs(r.c - TRUTH["c"]) < 4 * r.c_err
    assert r.josephson_scale == pytest.approx(TRUTH["josephson_scale"], rel=0.03)
    assert r.qp_scale == pytest.approx(TRUTH["qp_scale"], rel=0.05)
    assert r.delta_fit == pytest.approx(TRUTH["delta"], rel=0.01)
    assert r.tg_rms < 2e-3 and len(panel.plot_tg.listDataItems()) == 2
    text = panel.report.toPlainText()
    assert "attenuator constant C = 8.4" in text
    assert panel.progress.value() == panel.progress.maximum()
    assert len(panel.plot_steps.listDataItems()) == 8  # 5 Josephson and 3 quasiparticle steps
    # the frequency slice and its Eq. 11 inversion to I_J near the Riedel peak at 4 Delta/h
    assert r.slice_f.size == 15
    np.testing.assert_allclose(r.slice_amp, np.abs(slice_truth(r.slice_f)), rtol=0.03, atol=0.3e-6)
    f_peak = 4 * TRUTH["delta"] / 4.135667696e-15
    assert np.all(np.abs(r.riedel_f_j - f_peak) <= r.slice_f.max())
    assert np.median(np.abs(r.riedel_i_j / r.riedel_i_j_theory - 1)) < 0.02
    assert len(panel.plot_slice.listDataItems()) == 2 and len(panel.plot_riedel.listDataItems()) == 2
    assert "Eq. 11: I_J at f_J" in text and "frequency slice N = 0 at 2 alpha = 25.9" in text
    img = panel.plots.grab().toImage()
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 10

    # Export figure... writes the paper figure of the window's series off the GUI thread
    fig = tmp_path / "mw.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a_, **k: (str(fig), ""))
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fig.is_file() and not a.active_jobs(), timeout=60000)
    assert fig.read_text().count('<g id="axes_') >= 4

    path = tmp_path / "rf session.h5"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a_, **k: (str(path), ""))
    _menu_path(qtbot, a, "File", "Save Project")
    qtbot.waitUntil(lambda: a.project.save_job is None and path.is_file(), timeout=20000)

    b = windows("b")
    b.open_files([path])
    qtbot.waitUntil(lambda: b.loader.loading == 0 and b.paper_microwave.result is not None, timeout=20000)
    back = b.paper_microwave
    assert back.result.c == r.c and back.result.delta_fit == r.delta_fit
    assert back.panel.delta_mev.value() == pytest.approx(0.5875)
    assert back.panel.series_combo.currentText() == "I-V under rf"
    assert back.panel.i0_combo.currentText() == "I-V without rf"
    assert back.panel.fscan_combo.currentText() == "I-V under rf vs f"
    assert back.panel.slice_two_alpha.value() == pytest.approx(25.9)
    assert back.panel.report.toPlainText() == text
