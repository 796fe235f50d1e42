"""The ``stsworkbench`` window entry point: arguments and the screenshot option."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from app.window.launch import parse_args, startup_plan


def test_parse_args():
    a = parse_args(["a.3ds", "b.sxm", "--demo", "--size", "800x600"])
    assert a.files == ["a.3ds", "b.sxm"] and a.demo and a.size == (800, 600) and a.screenshot is None
    with pytest.raises(SystemExit):
        parse_args(["--size", "big"])


def test_a_screenshot_of_files_shows_them_alone():
    assert startup_plan(parse_args(["a.sxm", "--screenshot", "s.png"])) == (False, None)
    assert startup_plan(parse_args(["--screenshot", "s.png"])) == (True, "explore")
    assert startup_plan(parse_args(["a.sxm", "--demo", "--screenshot", "s.png"])) == (True, "explore")
    assert startup_plan(parse_args(["a.sxm", "--scenario", "fig4", "--screenshot", "s.png"]))[0]
    assert startup_plan(parse_args(["a.sxm"])) == (False, "explore")


@pytest.mark.slow
def test_screenshot_writes_a_1600x1000_png(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run(
        [sys.executable, "-m", "app.cli", "--screenshot", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1600, 1000)
    # the maps are drawn: many distinct colours in the middle band of the picture
    colours = {img.pixel(x, 300) for x in range(400, 1500, 3)}
    assert len(colours) > 50
