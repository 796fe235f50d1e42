"""The fit panel and the batch-fit dialog as plain widgets (no window, no fitting)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from widgets.batch_fit_dialog import BatchFitDialog
from widgets.fit_panel import C_ERR, C_UNIT, C_VALUE, C_VARY, FitPanel

MODELS = [
    {
        "name": "peak",
        "title": "Peak",
        "family": "shapes",
        "formula": "y = A w^2/((x-x0)^2+w^2)",
        "reference": "a textbook",
        "params": [
            {"name": "A", "unit": "S", "default": 1.0, "min": 0.0, "max": math.inf, "vary": True},
            {"name": "x0", "unit": "V", "default": 0.0, "min": -1.0, "max": 1.0, "vary": True},
            {"name": "T", "unit": "K", "default": 2.0, "min": 0.0, "max": 400.0, "vary": False},
        ],
    },
    {
        "name": "gap",
        "title": "Gap",
        "family": "BCS",
        "formula": "N = Re[z/sqrt(z^2-D^2)]",
        "reference": "Dynes 1978",
        "params": [{"name": "Delta", "unit": "eV", "default": 1e-3, "min": 0.0, "max": 0.05, "vary": True}],
    },
]


@pytest.fixture
def panel(qtbot):
    p = FitPanel()
    qtbot.addWidget(p)
    p.set_models(MODELS)
    return p


def test_models_grouped_by_family_with_formula(panel):
    combo = panel.model_combo
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts[0] == "BCS" and "shapes" in texts  # family headers, sorted
    headers = [i for i in range(combo.count()) if combo.itemData(i, Qt.ItemDataRole.UserRole) is None]
    for i in headers:
        assert not (panel._model_items.item(i).flags() & Qt.ItemFlag.ItemIsSelectable)
    assert panel.current_model() == "gap"  # first selectable entry
    assert "sqrt" in panel.formula.text() and "Dynes 1978" in panel.reference.text()
    panel.set_current_model("peak")
    assert panel.table.rowCount() == 3
    assert panel.table.item(1, C_UNIT).text() == "V"
    assert panel.table.item(2, C_VARY).checkState() == Qt.CheckState.Unchecked
    with pytest.raises(KeyError):
        panel.set_current_model("nope")


def test_param_settings_and_fit_request(panel, qtbot):
    panel.set_current_model("peak")
    panel.table.item(0, C_VALUE).setText("2.5")
    panel.set_param("x0", min=-0.5, expr="")
    panel.table.item(2, C_VARY).setCheckState(Qt.CheckState.Checked)
    s = panel.param_settings()
    assert s["A"]["value"] == 2.5 and s["A"]["max"] == math.inf
    assert s["x0"]["min"] == -0.5 and s["T"]["vary"] is True
    panel.set_sources([("cursor", "Clicked pixel"), ("pin:p1", "Pinned 1")])
    with qtbot.waitSignal(panel.fit_requested) as blocker:
        panel.fit_button.click()
    req = blocker.args[0]
    assert req["model"] == "peak" and req["source"] == "cursor" and req["fit_range"] is None
    assert req["settings"]["A"]["value"] == 2.5 and req["weights"] == "none"


def test_bad_number_reports_instead_of_fitting(panel, qtbot):
    panel.table.item(0, C_VALUE).setText("abc")
    with qtbot.assertNotEmitted(panel.fit_requested):
        panel.fit_button.click()
    assert "must be numbers" in panel.report()


def test_fit_range_from_the_dragged_region(panel, qtbot):
    x = np.linspace(-2e-3, 2e-3, 101)
    panel.set_data(x, np.cos(x * 1e3))
    assert panel.fit_range() is None
    panel.use_range.setChecked(True)
    assert panel.region.isVisible()
    lo, hi = panel.fit_range()
    assert -2e-3 <= lo < hi <= 2e-3
    with qtbot.waitSignal(panel.range_changed) as blocker:
        panel.region.setRegion((-1e-3, 0.5e-3))
        panel.region.sigRegionChangeFinished.emit(panel.region)
    assert blocker.args[0] == pytest.approx((-1e-3, 0.5e-3))
    with qtbot.waitSignal(panel.fit_requested) as blocker:
        panel.fit_button.click()
    assert blocker.args[0]["fit_range"] == pytest.approx((-1e-3, 0.5e-3))


def test_result_curves_errors_report_and_pixels(panel, qtbot):
    panel.set_current_model("peak")
    panel.resize(600, 900)
    panel.show()
    x = np.linspace(-1, 1, 200)
    y = 1 / (1 + (x / 0.2) ** 2)
    panel.set_data(x, y, "Bias", "dI/dV", "V", "S")
    panel.set_result(x, y * 0.98, x, y * 0.02, "REPORT TEXT", {"A": 0.98, "x0": 0.01}, {"A": 0.01})
    mx, my = panel.model_curve()
    np.testing.assert_allclose(my, y * 0.98)
    rx, ry = panel.residual_curve()
    np.testing.assert_allclose(ry, y * 0.02)
    assert panel.table.item(0, C_VALUE).text() == "0.98"
    assert panel.table.item(0, C_ERR).text() == "0.01"
    assert panel.report_view.toPlainText() == "REPORT TEXT"
    panel.copy_report()
    assert QGuiApplication.clipboard().text() == "REPORT TEXT"
    # The model curve is drawn in red on the plot.
    img = panel.plot_widget.grab().toImage()
    red = 0
    for yy in range(0, img.height(), 2):
        for xx in range(0, img.width(), 2):
            c = img.pixelColor(xx, yy)
            if c.red() > 180 and c.green() < 90 and c.blue() < 90:
                red += 1
    assert red > 20
    panel.set_data(None, None)
    assert panel.model_curve()[0].size == 0


def test_busy_state_and_cancel(panel, qtbot):
    panel.set_busy(True)
    assert not panel.fit_button.isEnabled() and panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.cancel_requested):
        panel.cancel_button.click()
    panel.set_busy(False)
    assert panel.fit_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_sources_and_cut_position(panel, qtbot):
    with qtbot.waitSignal(panel.source_changed) as blocker:
        panel.set_sources([("cursor", "Clicked"), ("cut:c1", "Line cut c1")])
    assert blocker.args == ["cursor"]
    assert not panel.position.isEnabled()
    with qtbot.waitSignal(panel.source_changed) as blocker:
        panel.set_current_source("cut:c1")
    assert blocker.args == ["cut:c1"] and panel.position.isEnabled()
    with qtbot.waitSignal(panel.position_changed) as blocker:
        panel.position.setValue(0.25)
    assert blocker.args == [0.25]
    # Refreshing the list keeps the choice and does not re-emit.
    with qtbot.assertNotEmitted(panel.source_changed):
        panel.set_sources([("cursor", "Clicked"), ("cut:c1", "Line cut c1")])
    assert panel.current_source() == "cut:c1"


def test_josephson_request(panel, qtbot):
    panel.set_sources([("spec:a", "Spectrum a"), ("spec:b", "Spectrum b")])
    panel.jos_box.setChecked(True)
    panel.set_gap(2.4e-3)
    panel.jos_add.click()  # current source at 25 kOhm
    panel.add_josephson_item("spec:b", "Spectrum b", 14e3)
    with qtbot.waitSignal(panel.josephson_requested) as blocker:
        panel.jos_fit.click()
    req = blocker.args[0]
    assert req["delta"] == pytest.approx(2.4e-3) and req["kind"] == "conductance"
    assert req["items"] == [("spec:a", pytest.approx(25e3)), ("spec:b", pytest.approx(14e3))]
    panel.jos_table.item(1, 1).setText("-3")
    with qtbot.assertNotEmitted(panel.josephson_requested):
        panel.jos_fit.click()
    assert "positive" in panel.report()


# -- batch dialog ----------------------------------------------------------------------------------------
@pytest.fixture
def dialog(qtbot):
    d = BatchFitDialog(max_workers=2)
    qtbot.addWidget(d)
    d.set_models(MODELS, current="peak")
    d.set_channels(["Current", "dI/dV"], current="dI/dV")
    d.set_regions([("r1", "Grain A")])
    return d


def test_batch_dialog_request(dialog, qtbot):
    dialog.region_combo.setCurrentIndex(1)
    dialog.start_combo.setCurrentIndex(2)
    dialog.fixed_edit.setText("T=2.1, x0 = 0")
    dialog.use_range.setChecked(True)
    dialog.range_lo.setValue(-5)
    dialog.range_hi.setValue(4)
    with qtbot.waitSignal(dialog.start_requested) as blocker:
        dialog.start_button.click()
    req = blocker.args[0]
    assert req["model"] == "peak" and req["channel"] == "dI/dV" and req["region"] == "r1"
    assert req["start"] == "neighbours" and req["runner"] == "processes" and req["workers"] == 2
    assert req["fixed"] == {"T": 2.1, "x0": 0.0}
    assert req["fit_range"] == pytest.approx((-5e-3, 4e-3))


def test_batch_dialog_offers_block_starts(dialog, qtbot):
    # the last start strategy, chosen from the keyboard: fits of block means start their pixels
    dialog.start_combo.setFocus()
    qtbot.keyClick(dialog.start_combo, Qt.Key.Key_End)
    assert dialog.start_combo.currentText() == "Fits of 4 x 4-pixel block means"
    with qtbot.waitSignal(dialog.start_requested) as blocker:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0]["start"] == "blocks" and blocker.args[0]["region"] is None


def test_batch_dialog_validation_and_run_state(dialog, qtbot):
    dialog.fixed_edit.setText("T:2")
    with qtbot.assertNotEmitted(dialog.start_requested):
        dialog.start_button.click()
    assert "NAME=NUMBER" in dialog.status.text()
    dialog.fixed_edit.setText("")
    dialog.runner_combo.setCurrentIndex(2)
    assert dialog.scheduler.isEnabled() and not dialog.workers.isEnabled()
    with qtbot.assertNotEmitted(dialog.start_requested):
        dialog.start_button.click()
    assert "scheduler" in dialog.status.text()
    dialog.set_running(True)
    assert not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.wait(20)
    dialog.set_progress(30, 120)
    assert dialog.progress.value() == 30 and dialog.progress.maximum() == 120
    assert dialog.status.text().startswith("30 / 120 pixels, ") and "left" in dialog.status.text()
    with qtbot.waitSignal(dialog.cancel_requested):
        dialog.reject()  # closing while running cancels
    dialog.set_finished("done: 120/120")
    assert dialog.start_button.isEnabled() and dialog.status.text() == "done: 120/120"
