"""Run every performance budget: ``python -m tests.benchmarks [--quick] [-k SUBSTRING]``.

Each ``tests/benchmarks/bench_*.py`` module exposes ``BENCHMARKS``: a list of functions
``f(quick: bool) -> list[Row]``. Budgets are ratios measured side by side in one run. One row is printed per
budget (``name  measured  budget  ok|FAIL``); the exit status is non-zero when any budget fails.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from tests.benchmarks.common import Row


def _modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        f"tests.benchmarks.{m.name}" for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run, budgets still checked)")
    ap.add_argument("-k", default="", help="run only benchmark functions whose name contains this")
    args = ap.parse_args(argv)
    rows: list[Row] = []
    print(f"{'name':58s} {'measured':>14s} {'budget':>14s}  result", flush=True)
    for modname in _modules():
        mod = importlib.import_module(modname)
        for fn in getattr(mod, "BENCHMARKS", []):
            if args.k and args.k not in fn.__name__ and args.k not in modname:
                continue
            try:
                new = fn(args.quick)
            except Exception:
                traceback.print_exc()
                new = [Row(f"{modname}.{fn.__name__}", float("nan"), "crashed", False)]
            for r in new:
                print(r.format(), flush=True)
            rows.extend(new)
    failed = [r for r in rows if not r.ok]
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
