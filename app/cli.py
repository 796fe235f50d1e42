"""Console entry point ``stsworkbench``.

``stsworkbench [FILE ...] [--demo] [--screenshot PNG]`` opens the window; the subcommands
``info``, ``convert``, ``fit``, ``series`` and ``figure`` work without a window (they never import Qt),
and so does ``stsworkbench --demo --scenario fig4 --export-figure fig4.pdf``.
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = {
    "info": "app.commands.info:main",
    "convert": "app.commands.convert:main",
    "fit": "app.commands.fit:main",
    "series": "app.commands.series:main",
    "figure": "app.commands.figure:main",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        module, func = SUBCOMMANDS[argv[0]].split(":")
        return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
    if any(a == "--export-figure" or a.startswith("--export-figure=") for a in argv):  # no window, no Qt
        from app.commands.figure import main_export_figure

        return main_export_figure(argv)
    from app.window.launch import main as gui_main

    return int(gui_main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
