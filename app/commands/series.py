"""``stsworkbench series FILES... [--tag NAME=PATTERN] --out series.h5``: sweep files into series (no window).

Column files (Nanonis ``.dat``, text/CSV; folders stand for the files in them, sorted by name) make one
series; each QCoDeS ``.db`` run and each Labber log makes a series of its own. Tags come from file-name
patterns (``--tag H=neck3_{H}T.dat``, ``{}`` standing for NAME; ``{H:mT}`` for a value in mT), header keys
(``--header T="Temperature (K)"``) and a CSV table (``--tags-table tags.csv``). ``--preview`` prints the
tags each file would get and reads nothing. Files that cannot be used are reported on stderr, one line
each naming the file, and left out; the others are written. Exit status 0 when a series was written,
1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from analysis.errors import WorkbenchError
from analysis.series import Series
from analysis.store.series_io import save_series
from analysis.transport import preview_tags, read_series_files, read_tag_table
from analysis.transport.tags import TagPatternError


def describe_series(series: Series) -> list[str]:
    """Readable lines describing a series (reads no sweep data beyond the sweep lengths)."""
    lengths = [len(sw) for sw in series.sweeps]
    pts = (
        f"{min(lengths)}..{max(lengths)}"
        if lengths and min(lengths) != max(lengths)
        else str(lengths[0] if lengths else 0)
    )
    lines = [f'series "{series.name}"']
    lines.append(f"  sweeps: {len(series)} of {pts} points, {series.bias_mode}-biased")
    lines.append(f"  swept: {series.x_channel} ({series.x_unit or 'no unit'})")
    chans = ", ".join(f"{k} ({u or 'no unit'})" for k, u in series.units.items())
    lines.append(f"  channels: {chans or 'none'}")
    tags = [
        f"{k} {np.nanmin(v):.4g}..{np.nanmax(v):.4g} {series.tag_unit(k)}".rstrip()
        for k, v in series.tags.items()
        if np.isfinite(v).any()
    ]
    lines.append(f"  tags: {', '.join(tags) or 'none'}")
    if series.provenance:
        lines.append("  made by: " + " -> ".join(str(p.get("operation", "?")) for p in series.provenance))
    return lines


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value:
            raise ValueError(f"{what} {item!r} is not NAME=VALUE")
        out[name.strip()] = value
    return out


def _expand(names: list[str]) -> list[Path]:
    out: list[Path] = []
    for name in names:
        p = Path(name)
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith(".")))
        else:
            out.append(p)
    return out


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="stsworkbench series", description="Import sweep files as a series.")
    ap.add_argument(
        "files", nargs="+", help="sweep files or folders (Nanonis .dat, text/CSV, QCoDeS .db, Labber)"
    )
    ap.add_argument(
        "--tag", action="append", default=[], metavar="NAME=PATTERN", help="file-name tag pattern"
    )
    ap.add_argument("--header", action="append", default=[], metavar="NAME=KEY", help="tag from a header key")
    ap.add_argument("--tags-table", metavar="CSV", help="table: file name, then one column per tag")
    ap.add_argument(
        "--split", metavar="HOW", help="'turning_points' or 'column:NAME' (several sweeps per file)"
    )
    ap.add_argument("--x", metavar="CHANNEL", help="the swept column (default: the first one)")
    ap.add_argument("--bias", choices=("current", "voltage"), help="which quantity was swept")
    ap.add_argument("--name", default="", help="name of the series")
    ap.add_argument("--preview", action="store_true", help="print the tags each file would get and stop")
    ap.add_argument("--out", help="project file to write (.h5)")
    return ap


def main(argv: list[str]) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    err = sys.stderr
    try:
        patterns = _pairs(args.tag, "--tag")
        header = _pairs(args.header, "--header")
        files = _expand(args.files)
        if args.preview:
            if not patterns:
                print("stsworkbench series: --preview needs at least one --tag", file=err)
                return 1
            bad = 0
            for pv in preview_tags(files, patterns):
                if pv.ok:
                    print(f"{pv.path}: " + ", ".join(f"{k} = {v:.6g}" for k, v in pv.values.items()))
                else:
                    bad += 1
                    print(f"stsworkbench series: {pv.error}", file=err)
            return 1 if bad else 0
        if not args.out:
            ap.error("--out is required (or use --preview)")
        table, units = (None, {})
        if args.tags_table:
            table, units = read_tag_table(args.tags_table)
        split, split_column = None, None
        if args.split:
            if args.split == "turning_points":
                split = "turning_points"
            elif args.split.startswith("column:") and args.split[7:]:
                split, split_column = "column", args.split[7:]
            else:
                raise ValueError(f"--split {args.split!r}: expected 'turning_points' or 'column:NAME'")
        series, problems = read_series_files(
            files,
            patterns=patterns or None,
            header=header or None,
            table=table,
            tag_units=units,
            split=split,
            split_column=split_column,
            x_channel=args.x,
            bias_mode=args.bias,
            name=args.name,
        )
    except (WorkbenchError, TagPatternError, ValueError) as exc:
        print(f"stsworkbench series: {exc}", file=err)
        return 1
    for p in problems:
        print(f"stsworkbench series: {p}", file=err)
    if not series:
        print("stsworkbench series: no sweep could be imported; nothing written", file=err)
        return 1
    try:
        out = save_series(args.out, series)
    except (OSError, WorkbenchError, ValueError) as exc:
        print(f"stsworkbench series: cannot write {args.out}: {exc}", file=err)
        return 1
    for s in series:
        for line in describe_series(s):
            print(line)
    print(f"wrote {out}" + (f" ({len(problems)} file(s) left out)" if problems else ""))
    return 0
