"""Papers > Necks in the real window: the panel opened from the menu bar analyses the synthetic neck series,
its numbers match the truth, the figure is written, and the results come back with the project."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from analysis.papers.scenario_neck import STEP_COUNTS, TRUTH, make_neck_series
from tests.app.gui_support import window_maker
from tests.app.real_input import choose, menu_action

FEATURES = ["app.features.series", "app.features.project", "app.features.paper_neck"]


@pytest.fixture
def windows(qtbot, tmp_path):
    with window_maker(qtbot, tmp_path, FEATURES, size=(1500, 950)) as make:
        yield make


def _colour_pixels(widget, rgb: tuple[int, int, int], tol: int = 40) -> int:
    img = widget.grab().toImage()
    w, h = img.width(), img.height()
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8, count=img.sizeInBytes()).reshape(h, img.bytesPerLine())[:, : 4 * w]
    px = arr.reshape(h, w, 4)[:, :, :3][:, :, ::-1].astype(int)  # BGRA -> RGB
    return int(np.count_nonzero(np.all(np.abs(px - np.array(rgb)) < tol, axis=2)))


def test_neck_panel_from_the_papers_menu_recovers_the_truth_and_survives_the_project(
    qtbot, windows, tmp_path, monkeypatch
):
    w = windows("a")
    series = make_neck_series(0)
    truth = series.metadata["truth"]
    key = w.state.add_dataset(series, "Synthetic Pb neck")
    w.state.set_current(key)
    ctl = w.paper_neck
    dock = w.dock("paper_neck")
    assert not dock.isVisible()
    menu_action(qtbot, w, "Papers", "Necks and point contacts (001)")
    qtbot.waitUntil(dock.isVisible, timeout=3000)
    panel = ctl.panel
    assert panel.sweep_combo.count() == len(series)
    blue_before = _colour_pixels(panel.sweep_plot, (0, 114, 178))

    qtbot.mouseClick(panel.analyse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.summary is not None, timeout=30000)
    r = ctl.summary
    np.testing.assert_allclose(r.delta, [t["Delta"] for t in truth], rtol=0.01)
    np.testing.assert_allclose(r.T_local, TRUTH["T_loc"], atol=0.1)
    np.testing.assert_allclose(r.I_exc, [t["I_exc"] for t in truth], rtol=0.01)
    assert r.steps.tolist() == list(STEP_COUNTS)
    rows = dict((q, v) for q, v, _n in panel.rows())
    assert rows["heating"] == "heated" and rows["ladder"] == "unique"
    assert float(rows["Delta"].split()[0]) == pytest.approx(truth[0]["Delta"] * 1e3, rel=0.01)
    assert rows["Delta"].endswith("meV") and "+-" in rows["Delta"]
    assert rows["phase-slip steps"] == "3"
    assert {"n = 1", "n = 2", "n = 3"} <= set(panel.ladder_labels())
    qtbot.waitUntil(lambda: _colour_pixels(panel.sweep_plot, (0, 114, 178)) > blue_before + 200, timeout=3000)

    # the last sweep (highest field) has no phase slips; the field plot shows the step counts
    choose(qtbot, panel.sweep_combo, "H = 0.3 T")
    assert dict((q, v) for q, v, _n in panel.rows())["phase-slip steps"] == "0"
    choose(qtbot, panel.field_combo, "steps")
    (curve,) = panel.field_curves()
    assert curve.y.tolist() == list(STEP_COUNTS)

    # Export figure... writes the six-panel figure off the GUI thread
    out = tmp_path / "neck.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.export_job is None and out.is_file(), timeout=30000)
    assert out.read_bytes()[:4] == b"%PDF"

    # File > Save Project As..., then File > Open Project... in a fresh window
    project = tmp_path / "neck.h5"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(project), ""))
    menu_action(qtbot, w, "File", "Save Project As...")
    qtbot.waitUntil(lambda: w.project.save_job is None, timeout=30000)
    assert w.project.last_error is None and project.is_file()
    b = windows("b")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(project), ""))
    menu_action(qtbot, b, "File", "Open Project...")
    qtbot.waitUntil(lambda: b.paper_neck.summary is not None, timeout=30000)
    cb = b.paper_neck
    np.testing.assert_allclose(cb.summary.delta, r.delta)
    assert cb.summary.steps.tolist() == list(STEP_COUNTS)
    assert cb.panel.current_sweep() == len(series) - 1
    assert cb.panel.field_view() == "steps"
    assert dict((q, v) for q, v, _n in cb.panel.rows())["phase-slip steps"] == "0"
