"""``stsworkbench [FILE ...] [--demo] [--screenshot PNG] [--size WxH]``: the workbench window.

With ``--screenshot`` the window opens the demo (and any files given), shows the QP grid at -5 mV with a
pinned spectrum beside the Josephson grid at 0 mV, renders itself into the PNG and exits.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

SCREENSHOT_POINT = (-40e-9, 30e-9)  # metres: where the screenshot pins a spectrum


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
    ap.add_argument("--size", type=_size, default=(1600, 1000), metavar="WxH", help="window size (1600x1000)")
    return ap.parse_args(argv)


def take_screenshot(window, path: str, timeout_ms: int = 60000) -> bool:
    """Wait (event loop, no polling of processEvents) until loading and slicing settle, pin a spectrum,
    then write the window into ``path``. Returns True on success."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    result = {"ok": False}

    def settled() -> bool:
        ex = window.exploration
        return (
            window.loader.loading == 0
            and not window.active_jobs()
            and len(ex.slicers) >= 2
            and all(s.scheduler.idle() and s.panel.shown_index is not None for s in ex.slicers)
        )

    stage = {"pinned": False}

    def check() -> None:
        if not settled():
            return
        if not stage["pinned"]:
            stage["pinned"] = True
            window.state.set_cursor(SCREENSHOT_POINT)
            window.state.pin(*SCREENSHOT_POINT)
            window.state.set_cursor((20e-9, -45e-9))
            return
        poll.stop()
        QTimer.singleShot(400, finish)  # let the histograms refresh once

    def finish() -> None:
        image = window.grab()
        result["ok"] = image.save(path, "PNG")
        loop.quit()

    poll = QTimer()
    poll.setInterval(100)
    poll.timeout.connect(check)
    poll.start()
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    poll.stop()
    return result["ok"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "stsworkbench"])
    app.setApplicationName("STS Workbench")
    app.setOrganizationName("STS Workbench")
    from app.main_window import MainWindow

    if args.screenshot:
        tmp = tempfile.TemporaryDirectory()
        settings = QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, restore_layout=False)
    else:
        window = MainWindow()
    window.resize(*args.size)
    window.show()
    if args.demo or args.screenshot:
        window.open_demo()
    if args.files:
        window.open_files(args.files)
    if args.screenshot:
        ok = take_screenshot(window, args.screenshot)
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
