"""The line-cut views on the real lock-in grid, in the real window under an X server: a cut drawn with the
mouse, the top views whole with their colour bars, and the 3D surface framed by the default camera (the
zero-bias ridge seen at an angle), without white specks, its labels never overlapping after rotations
done with the mouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent(
    """
    import json, math, sys, tempfile
    import numpy as np
    from scipy import ndimage
    from PySide6.QtCore import QPointF, QSettings
    from PySide6.QtWidgets import QApplication
    from PySide6.QtTest import QTest
    app = QApplication([])
    from app.window.main_window import MainWindow
    from tests.widgets.region_mouse import drag
    from widgets.linecut_panel import opengl_status

    def wait(cond, ms=20000):
        for _ in range(ms // 50):
            if cond():
                return True
            QTest.qWait(50)
        return False

    def specks(img):
        img = img.convertToFormat(img.Format.Format_RGB32)
        a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
        a = a[:, : img.width(), :3].astype(int)
        white = a.min(axis=2) > 200
        colour = (a.max(axis=2) - a.min(axis=2)) > 40
        lab, _n = ndimage.label(white)
        count = 0
        for i, sl in enumerate(ndimage.find_objects(lab), start=1):
            comp = lab[sl] == i
            if comp.sum() > 12:
                continue
            big = np.zeros_like(white)
            big[sl] = comp
            ring = ndimage.binary_dilation(big, iterations=2) & ~big
            count += colour[ring].mean() > 0.9
        edges = colour[0].any() or colour[-1].any() or colour[:, 0].any() or colour[:, -1].any()
        return int(count), bool(edges)

    out = {"gl": opengl_status()[0]}
    w = MainWindow(settings=QSettings(tempfile.mkdtemp() + "/s.ini", QSettings.Format.IniFormat),
                   features=None, restore_layout=False)
    w.resize(1600, 1000)
    w.show()
    w.open_files([sys.argv[1]])
    ex = w.exploration
    wait(lambda: w.state.entries and ex.slicers and ex.slicers[0].panel.shown_index is not None)
    QTest.qWait(300)
    key = list(w.state.entries)[-1]
    slicer = w.exploration.slicers[0]
    g = slicer.grid
    ctl = w.linecuts
    ctl.panel.draw_line.click()
    x0, y0 = g.frame.center
    # along the scan's x direction through the centre, as a user would drag it
    ang = math.radians(g.frame.angle)
    ux, uy = math.cos(ang), math.sin(ang)
    half = 0.4 * g.frame.size[0]
    pts = [(x0 + t * half * ux, y0 + t * half * uy) for t in np.linspace(-1, 1, 11)]
    drag(slicer.panel.graphics.viewport(), [slicer.panel.view_to_widget(x, y) for x, y in pts])
    wait(lambda: len(w.state.linecuts) == 1 and not ctl.is_busy() and ctl.panel.column_keys())
    w.dock("linecuts").raise_()
    panel = ctl.panel
    panel.tabs.setCurrentIndex(0)
    QTest.qWait(400)
    col = panel.column(key)
    top = col.top
    vb = col.top_plot.getViewBox()
    d = col.distance_nm
    xr = vb.viewRange()[0]
    out["top"] = {
        "widget_w": top.viewport().width(),
        "plot_right": col.top_plot.sceneBoundingRect().right(),
        "bar_right": col.bar.sceneBoundingRect().right(),
        "bar_visible": col.bar.isVisible(),
        "covers": bool(xr[0] <= d[0] and xr[1] >= d[-1]),
    }
    if out["gl"]:
        panel.tabs.setCurrentIndex(2)
        QTest.qWait(800)
        view = col.gl_view
        fb = view.grabFramebuffer()
        n_specks, touches = specks(fb)
        out["specks"] = n_specks
        out["touches_border"] = touches
        out["azimuth"] = float(view.opts["azimuth"])
        out["elevation"] = float(view.opts["elevation"])
        overlaps = []
        shown = []
        c = view.rect().center()
        for dx, dy in ((140, 0), (140, 0), (0, -60), (-200, 40), (90, 0)):
            drag(view, [QPointF(c), QPointF(c.x() + dx / 2, c.y() + dy / 2), QPointF(c.x() + dx, c.y() + dy)])
            QTest.qWait(300)
            view.grabFramebuffer()  # one paint with this camera
            rects = col.visible_label_rects()
            shown.append(len(rects))
            overlaps.append(sum(1 for i, a in enumerate(rects) for b in rects[i + 1:] if a.intersects(b)))
        out["azimuths"] = float(view.opts["azimuth"])
        out["overlaps"] = overlaps
        out["shown"] = shown
    print("RESULT " + json.dumps(out))
    w.close()
    """
)


@pytest.mark.slow
def test_line_cut_views_on_the_real_lockin_grid():
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display here (run under xvfb-run for the 3D view)")
    path = shared_file("nanonis/NanonisReader_STS_grid_lockin.3ds")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1][7:])
    top = out["top"]
    # the whole cut is drawn and the colour bar sits inside the view, right of the map
    assert top["covers"] and top["bar_visible"]
    assert top["plot_right"] <= top["widget_w"] + 1 and top["bar_right"] <= top["widget_w"] + 1, top
    if not out["gl"]:
        pytest.skip("no OpenGL context on this display")
    assert out["specks"] == 0
    assert not out["touches_border"]  # the surface is framed whole, nothing clipped at the edges
    # the line of sight makes an angle of 25-65 degrees with the distance axis: the ridge along the cut is
    # seen at an angle, neither edge-on nor end-on
    a = abs(out["azimuth"]) % 180
    assert 25 <= min(a, 180 - a) <= 65, out["azimuth"]
    assert out["overlaps"] == [0] * 5 and min(out["shown"]) >= 3, out
