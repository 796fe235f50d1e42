"""Papers > Mesas in the real window: Analyse and Simulate from the panel, the N slider moved with the
keyboard redraws from the cached simulation, gap tables imported, the figure written, and everything back
with the project."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from analysis.papers.scenario_mesa import STACKS, TRUTH, make_mesa_series
from tests.app.gui_support import window_maker
from tests.app.real_input import choose, menu_action

FEATURES = ["app.features.series", "app.features.project", "app.features.paper_mesa"]


@pytest.fixture
def windows(qtbot, tmp_path):
    with window_maker(qtbot, tmp_path, FEATURES) as make:
        yield make


@pytest.fixture(scope="module")
def series():
    return make_mesa_series(0)


def test_mesa_panel_analyses_simulates_and_survives_the_project(
    qtbot, windows, series, tmp_path, monkeypatch
):
    w = windows("a")
    truth = series.metadata["truth"]
    key = w.state.add_dataset(series, "Synthetic Bi2212 mesas")
    w.state.set_current(key)
    ctl = w.paper_mesa
    menu_action(qtbot, w, "Papers", "Mesas: beta(N) and the stack simulator (002)")
    qtbot.waitUntil(w.dock("paper_mesa").isVisible, timeout=3000)
    panel = ctl.panel
    assert panel.sin_combo.currentText() == "top contact (SIN)"
    assert not panel.n_slider.isEnabled()

    qtbot.mouseClick(panel.analyse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.summary is not None, timeout=30000)
    r = ctl.summary
    assert r.ns.tolist() == list(STACKS)
    np.testing.assert_allclose(r.v_peak, [t["v_peak"] for t in truth], rtol=0.01)
    assert r.beta[1] == pytest.approx(truth[1]["beta"], rel=0.02)
    assert r.delta0 == pytest.approx(TRUTH["delta0"], rel=0.005)
    rows = {q: v for q, v, _n in panel.rows()}
    assert float(rows["Delta0 (d-wave fit)"].split()[0]) == pytest.approx(24.0, rel=0.005)

    qtbot.mouseClick(panel.simulate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.simulation is not None, timeout=60000)
    assert panel.n_slider.isEnabled() and panel.n_slider.maximum() == 30
    # the slider moved with the keyboard: each step redraws from the cache, no job starts
    before = ctl.redraws
    panel.n_slider.setFocus()
    qtbot.mouseClick(panel.n_slider, Qt.MouseButton.LeftButton, pos=panel.n_slider.rect().topLeft())
    qtbot.keyClick(panel.n_slider, Qt.Key.Key_Home)
    for _ in range(11):
        qtbot.keyClick(panel.n_slider, Qt.Key.Key_Right)
    assert panel.n() == 12 and not w.active_jobs()
    assert ctl.redraws >= before + 11
    assert panel.n_label.text().startswith("N = 12: T_m(peak) 51.9 K") and "backbends" in panel.n_label.text()
    assert {"V max", "V min", "V_peak"} <= set(panel.mark_labels())
    # the mesa temperature along the simulated S-curve of the 12 junctions
    choose(qtbot, panel.stack_combo, "tm")
    (tm_item,) = panel.stack_plot.getPlotItem().listDataItems()
    t_m = ctl.simulation.curves[11]["T_m"]
    assert tm_item.yData.max() == pytest.approx(np.max(t_m)) and tm_item.yData.min() == pytest.approx(
        TRUTH["t_bath"]
    )
    choose(qtbot, panel.n_combo, "beta")
    assert panel.n_curves()["sim"][0].size == 30

    # gap tables: BCS Delta(T) with a constant Gamma, imported from a file
    table = tmp_path / "gap.csv"
    t = np.linspace(4.2, 74.0, 50)
    d = 24e-3 * np.tanh(1.74 * np.sqrt(np.clip(74.0 / t - 1, 0, None)))
    np.savetxt(
        table, np.column_stack([t, d, np.full(t.size, 0.55e-3)]), delimiter=",", header="T, Delta, Gamma"
    )
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(table), ""))
    qtbot.mouseClick(panel.tables_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.tables is not None, timeout=10000)
    assert panel.gap_combo.currentData() == "tables" and "gap.csv" in panel.gap_combo.currentText()

    out = tmp_path / "mesa.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.export_job is None and out.is_file(), timeout=30000)
    assert out.read_bytes()[:4] == b"%PDF"

    project = tmp_path / "mesa.h5"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(project), ""))
    menu_action(qtbot, w, "File", "Save Project As...")
    qtbot.waitUntil(lambda: w.project.save_job is None, timeout=30000)
    assert w.project.last_error is None and project.is_file()
    b = windows("b")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(project), ""))
    menu_action(qtbot, b, "File", "Open Project...")
    qtbot.waitUntil(
        lambda: b.paper_mesa.simulation is not None and b.paper_mesa.summary is not None, timeout=30000
    )
    cb = b.paper_mesa
    assert cb.summary.delta0 == r.delta0
    np.testing.assert_allclose(cb.simulation.v_peak, ctl.simulation.v_peak)
    assert cb.panel.n() == 12 and cb.panel.n_view() == "beta"
    assert cb.panel.n_label.text() == panel.n_label.text()
