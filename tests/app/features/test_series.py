"""The transport series in the window: File > Import series... with tags from the file names, the Series
dock's overlay coloured by the tag, a derivative chosen as y quantity, the 2D map, and bad files named."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QInputDialog

from analysis.series import Series
from tests.app.gui_support import close_window, open_window
from tests.app.real_input import choose, menu_action


def _neck_iv(i: np.ndarray, field_t: float) -> np.ndarray:
    """A current-biased neck: a gap 1 mV wide at zero field closing linearly by 2 T, R_N = 10 Ohm."""
    gap = 1e-3 * max(0.0, 1.0 - field_t / 2.0)
    return 10.0 * i + gap * np.tanh(i / 2e-5) * 0.0 + np.sign(i) * gap * (np.abs(i) > 5e-5)


def _write(tmp_path, fields) -> list[str]:
    paths = []
    i = np.linspace(-4e-4, 4e-4, 401)
    for h in fields:
        v = _neck_iv(i, h)
        p = tmp_path / f"neck_{h:g}T.dat"
        np.savetxt(p, np.column_stack([i, v]), header="Current (A)\tVoltage (V)", delimiter="\t")
        paths.append(str(p))
    return paths


@pytest.fixture
def win(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=["app.features.series"])
    yield w
    close_window(qtbot, w)


def test_import_series_from_the_file_menu_shows_the_curves_coloured_by_field(
    qtbot, win, tmp_path, monkeypatch
):
    fields = [0.0, 0.5, 1.0, 1.5]
    paths = _write(tmp_path, fields)
    bad = tmp_path / "neck_2T.dat"
    bad.write_text("# Time (s)\tTemperature (K)\n0\t4.2\n1\t4.3\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([*paths, str(bad)], ""))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("neck_{H}T.dat", True))
    menu_action(qtbot, win, "File", "Import series...")
    ctl = win.series
    qtbot.waitUntil(lambda: ctl.series() is not None, timeout=20000)
    s = ctl.series()
    assert isinstance(s, Series) and len(s) == 4
    np.testing.assert_allclose(np.sort(s.tag("H")), fields)
    assert any("neck_2T.dat" in m for lvl, m in win.log_panel.entries() if lvl == "warning")
    panel = ctl.panel
    assert panel.tag_combo.currentData() == "H"
    # the curves are drawn in different colours for different fields
    cols = {panel.overlay.sweep_colour(k) for k in range(4)}
    assert len(cols) == 4

    # dV/dI as the y quantity, chosen from the combo box with the mouse, is computed and drawn
    idx = next(i for i in range(panel.y_combo.count()) if panel.y_combo.itemText(i).startswith("dV/dI"))
    choose(qtbot, panel.y_combo, panel.y_combo.itemData(idx))
    wanted = panel.y_combo.itemData(idx)
    qtbot.waitUntil(lambda: wanted in ctl.derived.get(ctl.key, {}), timeout=20000)
    qtbot.waitUntil(lambda: not win.active_jobs(), timeout=20000)
    assert ctl.y == "dV/dI"
    d = ctl.derived[ctl.key][ctl.y]
    r = np.nanmedian(np.concatenate([np.asarray(sw.channel("dV/dI")) for sw in d]))
    assert r == pytest.approx(10.0, rel=0.05)  # the normal-state resistance
