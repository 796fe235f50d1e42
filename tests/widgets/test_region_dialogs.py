"""Bands and clustering dialogs: accept and cancel paths, input checks."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

from widgets.region_dialogs import BandsDialog, ClusterDialog, parse_thresholds


def test_parse_thresholds():
    assert parse_thresholds("1e-9, 2e-9;3e-9  4") == (1e-9, 2e-9, 3e-9, 4.0)
    with pytest.raises(ValueError, match="'x' is not a number"):
        parse_thresholds("1, x")


def test_bands_accept_typed_and_bad_input(qtbot):
    dlg = BandsDialog([("m1", "Map 1"), ("m2", "Map 2")], {"m2": "0 .. 5 S"}, current="m2")
    qtbot.addWidget(dlg)
    assert dlg.range_label.text() == "0 .. 5 S"
    dlg.mode_combo.setCurrentIndex(dlg.mode_combo.findData("thresholds"))
    dlg.thresholds_edit.setText("1, oops")
    dlg.accept()
    assert dlg.result() != QDialog.DialogCode.Accepted and "oops" in dlg.error_label.text()
    dlg.thresholds_edit.setText("3, 1")
    dlg.split_check.setChecked(True)
    dlg.min_spin.setValue(5)
    with qtbot.waitSignal(dlg.accepted):
        dlg.accept()
    r = dlg.request()
    assert (r.map_key, r.mode, r.thresholds, r.split_components, r.min_pixels) == (
        "m2",
        "thresholds",
        (3.0, 1.0),
        True,
        5,
    )


def test_bands_cancel(qtbot):
    dlg = BandsDialog([("m1", "Map 1")])
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.rejected):
        dlg.reject()
    assert dlg.result() == QDialog.DialogCode.Rejected


def test_cluster_dialog(qtbot):
    dlg = ClusterDialog(
        [("g1", "QP"), ("g2", "J")],
        {"g1": ["dI/dV", "Current"], "g2": ["dI/dV"]},
        {"g1": (-15e-3, 15e-3), "g2": (-2e-3, 2e-3)},
        current="g2",
    )
    qtbot.addWidget(dlg)
    assert dlg.lo_spin.value() == pytest.approx(-2.0)
    dlg.grid_combo.setCurrentIndex(0)
    assert dlg.channel_combo.count() == 2 and dlg.hi_spin.value() == pytest.approx(15.0)
    dlg.lo_spin.setValue(5.0)
    dlg.hi_spin.setValue(1.0)
    dlg.accept()
    assert "empty" in dlg.error_label.text()
    dlg.lo_spin.setValue(-8.0)
    dlg.hi_spin.setValue(8.0)
    dlg.method_combo.setCurrentIndex(dlg.method_combo.findData("pca_gmm"))
    dlg.k_spin.setValue(3)
    with qtbot.waitSignal(dlg.accepted):
        dlg.accept()
    r = dlg.request()
    assert (r.grid_key, r.channel, r.k, r.method) == ("g1", "dI/dV", 3, "pca_gmm")
    assert r.window == pytest.approx((-8e-3, 8e-3))
    with qtbot.waitSignal(dlg.rejected):
        dlg.reject()
