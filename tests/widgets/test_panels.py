"""Slicer, spectrum, data-browser, log and derived-channel widgets on their own."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.app.gui_support import make_grid
from widgets.data_browser import DataBrowser, details_html
from widgets.derived_dialog import DerivedDialog
from widgets.log_panel import LogPanel
from widgets.slicer_panel import SlicerPanel
from widgets.spectrum_panel import Curve, PlotSpec, SpectrumPanel


def test_slicer_controls_emit_requests(qtbot):
    p = SlicerPanel("s")
    qtbot.addWidget(p)
    bias = np.linspace(-10e-3, 10e-3, 21)
    p.set_sweep(bias, "V", "Bias")
    p.set_channels(["dI/dV", "Current"], "Current")
    assert p.bias_spin.suffix() == " mV" and p.bias_spin.minimum() == pytest.approx(-10)
    req, chans, windows = [], [], []
    p.index_requested.connect(req.append)
    p.channel_selected.connect(chans.append)
    p.window_changed.connect(windows.append)
    p.slider.setValue(15)
    assert req == [15] and p.bias_spin.value() == pytest.approx(5.0)
    p.bias_spin.setValue(-3.9)
    assert req[-1] == 6 and p.slider.value() == 6
    p.set_index(3)  # programmatic: no request
    assert req[-1] == 6 and p.index() == 3
    p.channel_combo.setCurrentText("dI/dV")
    p.window_spin.setValue(3)
    assert chans == ["dI/dV"] and windows == [3]
    assert p.step_key(Qt.Key.Key_End) and p.index() == 20
    assert not p.step_key(Qt.Key.Key_A)
    p.show_slice(np.ones((4, 4), np.float32), 20)
    assert p.shown_index == 20 and p.render_count == 1


def test_slicer_level_combo(qtbot):
    p = SlicerPanel("s")
    qtbot.addWidget(p)
    p.set_sweep(np.linspace(0, 1, 5))
    modes = []
    p.level_mode_selected.connect(modes.append)
    p.level_combo.setCurrentIndex(p.level_combo.findData("manual"))
    assert p.level_mode == "manual" and modes == ["manual"]
    p.level_combo.setCurrentIndex(p.level_combo.findData("global"))
    assert modes[-1] == "global"  # the owner answers with the levels
    p.set_level_mode("percentile")
    assert p.level_combo.currentData() == "percentile"


def test_spectrum_panel_curves_lines_and_pins(qtbot):
    sp = SpectrumPanel()
    qtbot.addWidget(sp)
    specs = [
        PlotSpec("a", "grid A", ["dI/dV", "Current"], "dI/dV", "Bias", "V", "dI/dV", "S"),
        PlotSpec("b", "grid B", ["X"], "X"),
    ]
    sp.set_plots(specs)
    assert sp.plot_keys() == ["a", "b"] and not sp.empty_hint.isVisible()
    x = np.linspace(-1, 1, 5)
    sp.set_curves("a", [Curve("cursor", x, x**2), Curve("hover", x, x, (9, 9, 9), style="dash")])
    np.testing.assert_array_equal(sp.curve("a", "cursor").getData()[1], x**2)
    sp.set_curves("a", [Curve("cursor", x, x**3)])
    assert sp.curve_ids("a") == ["cursor"]
    np.testing.assert_array_equal(sp.curve("a", "cursor").getData()[1], x**3)
    moved = []
    sp.bias_line_moved.connect(lambda lid, v: moved.append((lid, v)))
    sp.set_bias_lines("a", [("slicer1", 0.25, (255, 0, 0))])
    assert moved == []  # programmatic moves are silent
    sp.bias_line("a", "slicer1").setValue(0.5)
    assert moved == [("slicer1", 0.5)]
    chans = []
    sp.channel_selected.connect(lambda k, c: chans.append((k, c)))
    sp.rows["a"].channel_combo.setCurrentText("Current")
    assert chans == [("a", "Current")]
    unpinned = []
    sp.unpin_requested.connect(unpinned.append)
    sp.set_pins([("p1", "first", (255, 0, 0)), ("p2", "second", (0, 0, 255))])
    assert sp.pin_keys() == ["p1", "p2"]
    sp.pin_list.item(1).setSelected(True)
    sp.remove_button.click()
    assert unpinned == ["p2"]
    sp.set_plots(specs[1:])
    assert sp.plot_keys() == ["b"]


def test_slicer_key_repeats_ask_once_for_the_last_point(qtbot):
    """Stepping keys that arrive together (a held key while a map is drawn) move the controls at once and
    ask for one map, the last point's, in the next turn; the map shown ends on that point."""
    from PySide6.QtTest import QTest

    p = SlicerPanel("s")
    qtbot.addWidget(p)
    p.set_sweep(np.linspace(-10e-3, 10e-3, 21))
    p.show()
    qtbot.waitExposed(p)
    requests = []

    def draw(i: int) -> None:
        requests.append(i)
        p.show_slice(np.full((4, 4), float(i), np.float32), i)

    p.index_requested.connect(draw)
    view = p.graphics.viewport()
    for _ in range(6):  # delivered one after the other, no event-loop turn in between
        QTest.keyClick(view, Qt.Key.Key_Right)
    QTest.keyClick(view, Qt.Key.Key_PageUp)
    assert requests == [] and p.index() == 7 and p.slider.value() == 7
    qtbot.waitUntil(lambda: bool(requests))
    qtbot.wait(20)
    assert requests == [7] and p.shown_index == 7 and p.render_count == 1
    assert p.bias_spin.value() == pytest.approx(-3.0)
    QTest.keyClick(view, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: len(requests) == 2)
    assert requests == [7, 6] and p.shown_index == 6


def test_spectrum_panel_builds_its_first_plot_ahead_of_the_data(qtbot, monkeypatch):
    """The plot of the first grid is built in an idle turn after the panel appears, so the turn that shows
    the grid's spectra builds no plot; the plot it takes is the grid's (title, channels, signals)."""
    import widgets.spectrum_panel as sp_mod

    sp = SpectrumPanel()
    qtbot.addWidget(sp)
    sp.show()
    qtbot.wait(50)  # idle turns
    built = []
    real_init = sp_mod._PlotRow.__init__

    def counting_init(self, *a, **k):
        built.append(1)
        real_init(self, *a, **k)

    monkeypatch.setattr(sp_mod._PlotRow, "__init__", counting_init)
    sp.set_plots([PlotSpec("a", "grid A", ["dI/dV", "Current"], "dI/dV")])
    assert built == [] and sp.plot_keys() == ["a"]
    row = sp.rows["a"]
    assert row.title.full_text == "grid A" and row.channel_combo.currentText() == "dI/dV"
    chans = []
    sp.channel_selected.connect(lambda k, c: chans.append((k, c)))
    row.channel_combo.setCurrentText("Current")
    assert chans == [("a", "Current")]
    qtbot.waitUntil(lambda: len(built) == 1)  # the next spare, in a turn of its own
    sp.set_plots([PlotSpec("a", "grid A", ["dI/dV"], "dI/dV"), PlotSpec("b", "grid B", ["X"], "X")])
    assert len(built) == 1 and sp.plot_keys() == ["a", "b"]


def test_data_browser_tree_and_details(qtbot):
    b = DataBrowser()
    qtbot.addWidget(b)
    g = make_grid()
    g.warnings.append("grid aborted after 10 lines")
    child = make_grid(name="child")
    child.provenance.append({"operation": "smooth", "parameters": {"window": 5}, "inputs": ["g"]})
    selected, activated, params = [], [], []
    b.current_selected.connect(selected.append)
    b.channel_activated.connect(lambda k, c: activated.append((k, c)))
    b.param_activated.connect(lambda k, p: params.append((k, p)))
    b.set_datasets([("d1", "grid one", None, g), ("d2", "smoothed", "d1", child)])
    top = b.item_for("d1")
    assert b.tree.topLevelItemCount() == 1 and top.text(0) == "grid one"
    kids = [top.child(i).text(0) for i in range(top.childCount())]
    assert kids == ["Channels", "Parameters", "smoothed"]
    chan_item = top.child(0).child(0)
    assert (chan_item.text(0), chan_item.text(1)) == ("dI/dV", "S")
    b.tree.itemDoubleClicked.emit(chan_item, 0)
    b.tree.itemDoubleClicked.emit(top.child(1).child(0), 0)
    assert activated == [("d1", "dI/dV")] and params == [("d1", "Z")]
    b.tree.setCurrentItem(b.item_for("d2"))
    assert selected[-1] == "d2"
    text = b.details_text()
    assert "Derived from" in text and "grid one" in text and "smooth(window=5)" in text
    html = details_html("grid one", g)
    assert "grid aborted after 10 lines" in html and "16 x 12 x 41" in html and "40 nm" in html


def test_log_panel_keeps_order_and_limit(qtbot):
    log = LogPanel(max_rows=3)
    qtbot.addWidget(log)
    for i in range(5):
        log.append("info" if i % 2 else "error", f"m{i}")
    assert log.entries() == [("error", "m2"), ("info", "m3"), ("error", "m4")]
    assert log.table.rowCount() == 3 and log.table.item(2, 2).text() == "m4"


def test_derived_dialog_accept_and_cancel(qtbot):
    d = DerivedDialog("g", ["Current", "dI/dV"], ["Z"], {"didv:a": "Current"})
    qtbot.addWidget(d)
    d.set_operation("didv")
    assert d.channel_a.currentText() == "Current" and d.window_spin.isVisibleTo(d)
    d.window_spin.setValue(6)
    d.buttons.accepted.emit()
    assert d.result() == 0 and "odd" in d.message.text()  # refused, stays open
    d.window_spin.setValue(7)
    d.order_spin.setValue(2)
    with qtbot.waitSignal(d.accepted, timeout=1000):
        d.buttons.accepted.emit()
    v = d.values()
    assert (v["operation"], v["channel_a"], v["window"], v["order"]) == ("didv", "Current", 7, 2)
    d2 = DerivedDialog("g", ["X", "Y"], [])
    qtbot.addWidget(d2)
    d2.set_operation("rotate")
    assert d2.channel_b.isVisibleTo(d2) and not d2.window_spin.isVisibleTo(d2)
    with qtbot.waitSignal(d2.rejected, timeout=1000):
        d2.buttons.rejected.emit()
    d2.set_operation("level")
    d2.buttons.accepted.emit()
    assert "no map" in d2.message.text()
