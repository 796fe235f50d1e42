"""File > Export dataset as NeXus (NXsts): the current grid is written off the GUI thread and reads back."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QFileDialog

from analysis.io import read_file
from tests.app.gui_support import close_window, make_grid, open_window
from tests.app.real_input import menu_action


def test_export_the_current_grid_as_nexus_from_the_file_menu(qtbot, tmp_path, monkeypatch):
    w = open_window(qtbot, tmp_path)
    try:
        g = make_grid(ny=5, nx=6, nb=32)
        key = w.state.add_dataset(g, "grid")
        w.state.set_current(key)
        out = tmp_path / "grid.nxs"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
        menu_action(qtbot, w, "File", "Export dataset as NeXus (NXsts)...")
        qtbot.waitUntil(lambda: out.exists() and not w.active_jobs(), timeout=20000)
        (back,) = [d for d in read_file(out) if d.kind == "grid"]
        np.testing.assert_allclose(back.bias, g.bias)
        for name in g.channels:
            np.testing.assert_array_equal(back.channels[name], g.channels[name])
        assert any("NeXus" in m for _lvl, m in w.log_panel.entries())
    finally:
        close_window(qtbot, w)
