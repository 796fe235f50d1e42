"""Side-by-side region spectra: curves, legend with pixel counts, std bands, settings."""

from __future__ import annotations

import numpy as np
import pytest

from widgets.region_spectra_panel import RegionCurve, RegionSpectraPanel, SpectraSettings


@pytest.fixture
def panel(qtbot):
    p = RegionSpectraPanel()
    qtbot.addWidget(p)
    return p


def test_one_plot_per_grid_with_curves(panel):
    panel.set_grids([("qp", "QP grid"), ("j", "Josephson grid")])
    assert panel.grid_keys() == ["qp", "j"]
    assert not panel.empty_label.isVisibleTo(panel)
    x = np.linspace(-1e-3, 1e-3, 11)
    curves = [
        RegionCurve("a", "Region 1", (255, 0, 0), x, np.ones(11), 0.1 * np.ones(11), 120, 2),
        RegionCurve("b", "Region 2", (0, 0, 255), x, 2 * np.ones(11), None, 30),
    ]
    panel.set_curves("j", curves)
    xs, ys = panel.curve_data("j", "b")
    np.testing.assert_array_equal(xs, x)
    np.testing.assert_array_equal(ys, 2 * np.ones(11))
    assert panel.legend_labels("j") == ["Region 1 (n=120), 2 invalid", "Region 2 (n=30)"]
    assert panel.has_std_band("j", "a") and not panel.has_std_band("j", "b")
    assert panel.curve_data("qp", "a") is None
    panel.set_curves("j", [])
    assert panel.legend_labels("j") == []


def test_settings_round_trip_and_signal(qtbot, panel):
    s = SpectraSettings(
        mode="at_bias", at=-5e-3, outer_fraction=0.2, offset=0.5, auto_offset=False, show_std=False
    )
    panel.set_settings(s)
    assert panel.settings() == s
    assert panel.at_spin.isEnabled() and not panel.outer_spin.isEnabled() and panel.offset_spin.isEnabled()
    with qtbot.waitSignal(panel.settings_changed) as blocker:
        panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("max"))
    assert blocker.args[0].mode == "max"
    with qtbot.waitSignal(panel.settings_changed) as blocker:
        panel.offset_spin.setValue(1.25)
    assert blocker.args[0].offset == pytest.approx(1.25)
