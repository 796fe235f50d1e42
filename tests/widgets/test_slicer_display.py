"""How the slicer shows its sweep value: at the sweep's resolution, the point nearest zero as 0."""

from __future__ import annotations

import numpy as np
import pytest

from widgets.slicer_panel import SlicerPanel, format_sweep, snap_zero, sweep_decimals, zero_index


def test_decimals_follow_the_step():
    assert sweep_decimals(4 / 255) == 3  # +-2 mV in 256 points
    assert sweep_decimals(30 / 255) == 2  # +-15 mV in 256 points
    assert sweep_decimals(0.5) == 2 and sweep_decimals(5.0) == 1
    assert sweep_decimals(0.0) == 2 and sweep_decimals(float("nan")) == 2


def test_snap_and_format():
    step = 4 / 255
    assert snap_zero(-step / 2, step) == 0.0 and snap_zero(step, step) == step
    assert format_sweep(-step / 2, step) == "0"
    assert format_sweep(-5.0, 30 / 255) == "-5"
    assert format_sweep(1.2549, step) == "1.255"
    assert format_sweep(-0.0001, 0.1) == "0"
    assert format_sweep(-step / 2, step, snap=False) == "-0.008"
    assert zero_index(np.linspace(-2, 2, 256), step) == 127
    assert zero_index(np.linspace(-2, 2, 5), 1.0) == 2
    assert zero_index(np.linspace(1, 2, 5), 0.25) is None


def test_the_point_nearest_zero_reads_0_mV(qtbot):
    p = SlicerPanel()
    qtbot.addWidget(p)
    bias = np.linspace(-2e-3, 2e-3, 256)  # no point at 0
    p.set_sweep(bias, "V")
    k = int(np.argmin(np.abs(bias)))
    p.set_index(k)
    assert p.sweep_value() == pytest.approx(bias[k]) and bias[k] != 0.0  # the data are untouched
    assert p.bias_spin.text() == "0.000 mV"
    p.show_slice(np.ones((4, 4), np.float32), k)
    p._update_title()
    assert "Bias 0 mV" in p.plot_item.titleLabel.text and p.sweep_text() == "0 mV"
    # the other point as near zero keeps its value: two points never read alike
    p.set_index(k + 1)
    assert p.bias_spin.text() == f"{bias[k + 1] * 1e3:.3f} mV" == "0.008 mV"
    p.show_slice(np.ones((4, 4), np.float32), k + 1)
    p._update_title()
    assert "Bias 0.008 mV" in p.plot_item.titleLabel.text
    # typing 0 selects the point nearest zero
    p.bias_spin.setValue(0.5)
    assert p.index() == int(np.argmin(np.abs(bias - 0.5e-3)))
