"""The fit plot's x axis names the model's independent variable, in the data's unit, chosen with the
model combo's popup in the real window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from analysis.dataset import Spectrum
from tests.app.real_input import choose, menu_action


@pytest.fixture
def window(qtbot, tmp_path):
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, features=["app.features.fit"], restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def _bottom(panel) -> tuple[str, str]:
    axis = panel.plot.getAxis("bottom")
    return axis.labelText, axis.labelUnits


def test_the_x_axis_follows_the_model_chosen_in_the_dock(window, qtbot):
    x = np.linspace(0.0, 2.5e-3, 60)
    window.state.add_dataset(
        Spectrum(name="steps", units={"I": "A"}, x=x, channels={"I": 1e-9 * np.cos(x / 1e-3)}), "steps"
    )
    menu_action(qtbot, window, "Analysis", "Fit spectrum")
    panel = window.fit_controller.panel
    qtbot.waitUntil(panel.isVisible, timeout=3000)

    choose(qtbot, panel.model_combo, "iz_current")
    assert _bottom(panel) == ("Bias", "V")
    assert panel.data_arrays()[0].size == 60

    choose(qtbot, panel.model_combo, "shapiro_bessel")  # I_N(V_rf): the sweep is the rf voltage
    assert _bottom(panel) == ("rf voltage", "V")
    assert panel.data_arrays()[0].size == 60

    choose(qtbot, panel.model_combo, "shapiro_bessel_attenuation")  # I_N(A) in dB: not this sweep
    assert _bottom(panel) == ("attenuation", "dB")
    assert panel.data_arrays()[0].size == 0
    note = panel.channel_note.text()
    assert "independent variable is attenuation (dB)" in note, note
