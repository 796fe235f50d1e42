"""``stsworkbench figure --demo --scenario fig4 --out fig4.pdf``: a paper figure without a window.

Builds the MgB2 paper's Fig. 4, 5 or 6 (:mod:`analysis.figures.paper`) on the demo grids and writes it
by extension (.pdf, .svg, .png, .tif; raster at ``--dpi``), with ``--data`` each panel's data beside it
(CSV for curves and cuts, HDF5 for maps). The window's ``stsworkbench --demo --scenario fig4
--export-figure fig4.pdf`` comes here too (:func:`main_export_figure`). Exit status 0, or 1 with a
one-line message. No Qt is imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.errors import WorkbenchError
from analysis.figures.paper import figure_names, paper_figure
from analysis.figures.render import export_figure, figure_format


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="stsworkbench figure", description="Write a figure of the MgB2 paper built on the demo grids."
    )
    ap.add_argument("--demo", action="store_true", help="use the built-in demo grids (the only source yet)")
    ap.add_argument("--scenario", required=True, choices=figure_names(), help="which paper figure")
    ap.add_argument("--out", required=True, metavar="FILE", help="output file: .pdf, .svg, .png or .tif")
    ap.add_argument("--dpi", type=int, default=None, help="dots per inch of raster output (default 300)")
    ap.add_argument("--width-cm", type=float, default=None, help="figure width in cm (8.6, 17.8 or any)")
    ap.add_argument("--data", action="store_true", help="also write each panel's data beside the figure")
    ap.add_argument("--seed", type=int, default=0, help="seed of the demo grids (default 0)")
    return ap


def run(
    scenario: str,
    out: str | Path,
    *,
    dpi: int | None = None,
    width_cm: float | None = None,
    data: bool = False,
    seed: int = 0,
) -> int:
    """Write paper figure ``scenario`` into ``out``; 0 on success, 1 with a message on stderr."""
    try:
        figure_format(out)
        desc, sources = paper_figure(scenario, seed=seed)
        if width_cm is not None:
            from analysis.figures.description import FigureDescription

            desc = FigureDescription.from_dict({**desc.to_dict(), "width_cm": float(width_cm)})
        result = export_figure(desc, sources, out, dpi=dpi, write_data=data)
    except (WorkbenchError, ValueError, OSError) as exc:
        print(f"stsworkbench figure: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {result.path} ({len(desc.panels)} panels, {result.seconds:.1f} s)")
    for p in result.data_files:
        print(f"wrote {p}")
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.demo:
        print("stsworkbench figure: only --demo figures can be built without a window yet", file=sys.stderr)
        return 1
    return run(args.scenario, args.out, dpi=args.dpi, width_cm=args.width_cm, data=args.data, seed=args.seed)


def main_export_figure(argv: list[str]) -> int:
    """The window's options ``[--demo] --scenario NAME --export-figure FILE`` (other window options are
    ignored): the same figure, written without opening the window."""
    ap = argparse.ArgumentParser(prog="stsworkbench", add_help=False)
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--scenario", default=None)
    ap.add_argument("--export-figure", required=True)
    ap.add_argument("--dpi", type=int, default=None)
    args, _rest = ap.parse_known_args(argv)
    if args.scenario not in figure_names():
        choices = ", ".join(figure_names())
        print(f"stsworkbench: --export-figure needs --scenario with one of {choices}", file=sys.stderr)
        return 1
    return run(args.scenario, args.export_figure, dpi=args.dpi)
