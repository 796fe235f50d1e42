"""``stsworkbench convert IN [IN ...] OUT.h5|OUT.gwy|OUT.nxs``: read supported files into one output file.

An output ending in ``.gwy`` is a Gwyddion file instead (images, grid volumes and spectra as graphs;
see :mod:`analysis.io.gwyddion_write`), so maps open in Gwyddion. An output ending in ``.nxs`` is a NeXus
NXsts file (one entry per grid or point spectrum, see :mod:`analysis.io.nexus_sts`); images are skipped
with a note, since NXsts holds spectroscopy.

Every dataset of every input becomes an entry (key = file stem, ``#k`` for the k-th dataset of a file with
several, ``-2``... when stems repeat). The output is written atomically; nothing is written when an input
cannot be read (exit status 1 and a one-line message). ``--compression gzip`` compresses the cubes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.errors import ReadError, WorkbenchError
from analysis.io import read_file
from analysis.io.gwyddion_write import write_gwy
from analysis.io.nexus_sts import write_nxsts
from analysis.store import ProjectEntry, save_project


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="stsworkbench convert", description="Convert files to a project file.")
    ap.add_argument("inputs", nargs="+", help="input files in any supported format")
    ap.add_argument(
        "output",
        help="the file to write: a project (.h5), a Gwyddion file (.gwy) or a NeXus NXsts file (.nxs)",
    )
    ap.add_argument("--compression", choices=("gzip", "lzf"), default=None, help="compress the grid cubes")
    return ap


def make_entries(per_file: list[tuple[Path, list]]) -> list[ProjectEntry]:
    """Entries with unique readable keys for the datasets read from each file."""
    entries: list[ProjectEntry] = []
    used: set[str] = set()
    for path, datasets in per_file:
        for k, ds in enumerate(datasets):
            base = path.stem if len(datasets) == 1 else f"{path.stem}#{k + 1}"
            key, n = base, 1
            while key in used:
                n += 1
                key = f"{base}-{n}"
            used.add(key)
            entries.append(ProjectEntry(key=key, label=ds.name or key, dataset=ds))
    return entries


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.output)
    per_file = []
    for name in args.inputs:
        try:
            per_file.append((Path(name), read_file(name)))
        except ReadError as exc:
            print(f"stsworkbench convert: {exc}", file=sys.stderr)
            return 1
    entries = make_entries(per_file)
    try:
        if out.suffix.lower() == ".nxs":
            spectro = [e for e in entries if e.dataset.kind in ("grid", "spectrum")]
            for e in entries:
                if e.dataset.kind not in ("grid", "spectrum"):
                    print(
                        f"stsworkbench convert: note: {e.key} ({e.dataset.kind}) is not a grid or spectrum",
                        file=sys.stderr,
                    )
            if not spectro:
                raise ValueError("no grid or point spectrum to write")
            write_nxsts([e.dataset for e in spectro], out)
            entries = spectro
        elif out.suffix.lower() == ".gwy":
            for note in write_gwy(out, [e.dataset for e in entries], allow_rotation=True):
                print(f"stsworkbench convert: note: {note}", file=sys.stderr)
        else:
            save_project(out, entries, compression=args.compression)
    except (OSError, ValueError, WorkbenchError) as exc:
        print(f"stsworkbench convert: cannot write {out}: {exc}", file=sys.stderr)
        return 1
    n_files = len(per_file)
    print(
        f"wrote {out}: {len(entries)} dataset{'s' if len(entries) != 1 else ''} from {n_files} file"
        f"{'s' if n_files != 1 else ''}"
    )
    for e in entries:
        print(f"  {e.key}: {e.dataset.kind} {e.label!r}")
    return 0
