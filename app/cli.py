"""Console entry point ``stsworkbench``.

``stsworkbench [FILE ...] [--demo] [--screenshot PNG]`` opens the window; the subcommands
``info``, ``convert``, ``fit`` and ``series`` work without a window (they never import Qt).
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = {
    "info": "app.commands.info:main",
    "convert": "app.commands.convert:main",
    "fit": "app.commands.fit:main",
    "series": "app.commands.series:main",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        module, func = SUBCOMMANDS[argv[0]].split(":")
        return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
    from app.window.launch import main as gui_main

    return int(gui_main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
