"""``stsworkbench [FILE ...] [--demo] [--scenario NAME] [--screenshot PNG] [--size WxH]``: the window.

``--scenario`` sets up one workflow (see :mod:`app.window.scenarios`): ``explore``, ``fig4``, ``fig5``,
``fig6`` and ``fit`` on the demo grids, ``neck`` and ``mesa`` on their own synthetic transport series. With
``--screenshot`` the window opens the demo when the scenario needs it (and any files given), runs the
scenario (default ``explore``: the QP grid at -5 mV with a pinned spectrum beside the Josephson grid at
0 mV), waits until every job and slice has finished, renders itself into the PNG and exits.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

SCENARIO_NAMES = (
    "explore",
    "fig4",
    "fig5",
    "fig6",
    "fit",
    "neck",
    "mesa",
    "its",
    "microwave",
)  # app.window.scenarios.SCENARIOS, without importing Qt


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1600x1000, not {text!r}") from None
    if w < 200 or h < 200:
        raise argparse.ArgumentTypeError("size must be at least 200x200")
    return w, h


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="stsworkbench", description="STS Workbench: tunnelling spectroscopy analysis"
    )
    ap.add_argument("files", nargs="*", metavar="FILE", help="data files to open")
    ap.add_argument("--demo", action="store_true", help="open the built-in demo grids")
    ap.add_argument(
        "--screenshot", metavar="PNG", help="render the window with the demo data into PNG and exit"
    )
    ap.add_argument(
        "--scenario",
        choices=sorted(SCENARIO_NAMES),
        help="set up a workflow: the MgB2 paper's on the demo grids (implies --demo), a transport paper's "
        "(neck, mesa) on its own synthetic series",
    )
    ap.add_argument("--export-figure", metavar="FILE", help="write the scenario's paper figure, no window")
    ap.add_argument("--size", type=_size, default=(1600, 1000), metavar="WxH", help="window size (1600x1000)")
    return ap.parse_args(argv)


def grab_window(window):
    """The window as a QImage, with every visible OpenGL view painted from its own framebuffer (a plain
    grab of the window misses what those views draw with QPainter, such as the 3D axis labels)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter
    from PySide6.QtOpenGLWidgets import QOpenGLWidget

    image = window.grab().toImage()
    painter = QPainter(image)
    try:
        for gl in window.findChildren(QOpenGLWidget):
            if not gl.isVisible() or gl.visibleRegion().isEmpty():
                continue
            frame = gl.grabFramebuffer()
            if frame.isNull():
                continue
            top_left = gl.mapTo(window, QPoint(0, 0))
            painter.setClipRegion(gl.visibleRegion().translated(top_left))
            painter.drawImage(gl.rect().translated(top_left), frame)
    finally:
        painter.end()
    return image


def take_screenshot(window, path: str, scenario: Any = "explore", timeout_ms: int = 180_000) -> bool:
    """Run ``scenario`` (see :mod:`app.window.scenarios`), wait until the window has settled (event loop and
    timers, no processEvents), then write the window into ``path``. Returns True on success."""
    from PySide6.QtCore import QEventLoop

    from app.window.scenarios import run_scenario

    loop = QEventLoop()
    result = {"ok": False}

    def finish() -> None:
        result["ok"] = grab_window(window).save(path, "PNG")
        loop.quit()

    def scenario_done(ok: bool, message: str) -> None:
        if not ok:
            print(f"stsworkbench: {message}", file=sys.stderr)
            loop.quit()
            return
        QTimer.singleShot(600, finish)  # let the histograms, titles and 3D views repaint once

    runner = run_scenario(window, scenario, timeout_ms)
    runner.finished.connect(scenario_done)
    if not runner.done:
        loop.exec()
    return result["ok"]


def _scenario_needs_demo(name: str) -> bool:
    """Whether scenario ``name`` runs on the demo grids (the transport papers' load their own series)."""
    from app.window.scenarios import SCENARIOS

    scenario = SCENARIOS.get(name)
    return scenario is None or scenario.demo


def startup_plan(args: argparse.Namespace) -> tuple[bool, str | None]:
    """(whether the demo grids open, the scenario a screenshot runs when none is named). A screenshot of the
    files given shows those files alone; without files it shows the demo's start view (``explore``)."""
    shot_of_files = bool(args.screenshot and args.files and not args.scenario and not args.demo)
    default_scenario = None if shot_of_files else "explore"
    wants = bool(args.screenshot or args.scenario) and not shot_of_files
    return bool(args.demo or (wants and _scenario_needs_demo(args.scenario or "explore"))), default_scenario


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.export_figure:  # window-less: the figure command (app.cli dispatches before importing this)
        from app.commands.figure import main_export_figure

        return main_export_figure(list(sys.argv[1:] if argv is None else argv))
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "stsworkbench"])
    app.setApplicationName("STS Workbench")
    app.setOrganizationName("STS Workbench")
    from app.window.main_window import MainWindow

    if args.screenshot:
        tmp = tempfile.TemporaryDirectory()
        settings = QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, restore_layout=False)
    else:
        window = MainWindow()
    window.resize(*args.size)
    window.show()
    opens_demo, default_scenario = startup_plan(args)
    if opens_demo:
        window.open_demo()
    if args.files:
        window.open_files(args.files)
    project = getattr(window, "project", None)
    if not args.screenshot and project is not None and hasattr(project, "offer_recovery"):
        QTimer.singleShot(0, project.offer_recovery)  # a session that crashed left a recovery file
    if args.scenario and not args.screenshot:
        from app.window.scenarios import run_scenario

        run_scenario(window, args.scenario)
    if args.screenshot:
        if args.scenario or default_scenario:
            ok = take_screenshot(window, args.screenshot, args.scenario or default_scenario)
        else:
            from app.window.scenarios import Scenario

            settle = Scenario(
                "files", "The files given", "the window once the files are open", (), demo=False
            )
            ok = take_screenshot(window, args.screenshot, settle)
        window.close()
        window.deleteLater()
        QTimer.singleShot(0, app.quit)
        app.exec()  # runs the deferred deletion before the interpreter tears Qt down
        del window
        gc.collect()
        if not ok:
            print(f"stsworkbench: could not render the screenshot into {args.screenshot}", file=sys.stderr)
            return 1
        print(f"wrote {args.screenshot}")
        return 0
    return app.exec()
