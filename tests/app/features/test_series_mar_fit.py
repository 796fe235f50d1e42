"""The MAR point-contact fit from the window: a voltage-biased I(V) of a three-channel contact, the series
fit dialog opened from Analysis > Series, the MAR model chosen in its list with the mouse, Fit clicked; the
channel transmissions and the gap come back from the model's own start."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from analysis.models.mar import mar_current
from analysis.series import make_series
from tests.app.features.test_series import _menu_path
from tests.app.gui_support import close_window, open_window
from tests.app.real_input import choose

TRUTH = {"Delta": 1.35e-3, "tau1": 0.85, "tau2": 0.4, "tau3": 0.1}


@pytest.fixture
def win(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=["app.features.series"])
    yield w
    close_window(qtbot, w)


def test_mar_fit_from_the_series_fit_dialog_recovers_the_channels(qtbot, win):
    d = TRUTH["Delta"]
    V = np.linspace(-4 * d, 4 * d, 321)
    taus = [TRUTH["tau1"], TRUTH["tau2"], TRUTH["tau3"]]
    current = mar_current(V, taus, d)
    ok = np.isfinite(current)
    rng = np.random.default_rng(3)
    noisy = current[ok] + rng.normal(0.0, 2e-3 * np.max(np.abs(current[ok])), np.count_nonzero(ok))
    s = make_series(
        [{"Bias": V[ok], "Current": noisy}],
        name="point contact",
        x_channel="Bias",
        units={"Bias": "V", "Current": "A"},
    )
    key = win.state.add_dataset(s, "point contact")
    win.state.set_current(key)
    ctl = win.series
    qtbot.waitUntil(lambda: ctl.series() is not None, timeout=5000)
    assert (ctl.x, ctl.y) == ("Bias", "Current")

    _menu_path(qtbot, win, "Analysis", "Series", "Fit the series...")
    dialog = ctl.fit_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    choose(qtbot, dialog.model_combo, "mar_current")
    names = [dialog.params.item(i).text().split()[0] for i in range(dialog.params.count())]
    assert {"Delta", "tau1", "tau2", "tau3"} <= set(names)
    qtbot.mouseClick(dialog.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.last_fit is not None, timeout=60000)
    fit = ctl.last_fit
    assert fit.model == "mar_current"
    assert fit.value("Delta")[0] == pytest.approx(d, rel=0.01)
    got = sorted((fit.value(n)[0] for n in ("tau1", "tau2", "tau3")), reverse=True)
    np.testing.assert_allclose(got, taus, atol=0.01)
    assert "mar_current" in dialog.report.toPlainText()
