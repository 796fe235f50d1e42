"""``stsworkbench fit FILE --model NAME --out maps.h5``: batch-fit every pixel of a grid without a window.

Options: ``--channel CH`` (default: the channel matching the model's unit), ``--region MASK.npy`` (a
(ny, nx) boolean array) or ``--region rect:IX0,IY0,IX1,IY1`` (inclusive pixel rectangle), ``--start
global|guess|neighbours``, ``--fit-range VMIN VMAX`` (V), ``--fix NAME=VALUE`` (repeatable),
``--workers N`` (processes; default all cores), ``--scheduler tcp://host:port`` or ``--local-cluster N``
(run over dask.distributed), ``--grid-index I`` when the file holds several grids.

Output: the maps are written as a project file (``analysis.store.save_project``) holding one image
entry (key ``"maps"``) whose channels are the maps; it opens in the workbench like any project. Where the
project store is not installed, a plain HDF5 file with this layout is written instead:

* ``/maps/<channel>``: (ny, nx) float32 per map (parameters, ``<p> stderr``, ``redchi``, ``success``,
  ``status``), attribute ``unit``;
* root attributes: ``format = "stsworkbench-fit-maps"``, ``version = 1``, ``model``, ``channel``,
  ``source`` (input path), ``frame`` (JSON of the scan frame), ``provenance`` (JSON), ``summary``,
  ``status_codes`` (JSON {code: meaning});
* ``/params``: one attribute group per model parameter (``unit``, ``vary``, ``min``, ``max``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from analysis.dataset import Grid, Image
from analysis.errors import FitError, WorkbenchError
from analysis.fitting.batch import START_STRATEGIES, FitOptions
from analysis.fitting.maps import dask_runner, fit_grid, in_process, process_runner


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="stsworkbench fit", description="Batch-fit every pixel of a grid.")
    ap.add_argument("file", help="grid file (any supported format or a project file)")
    ap.add_argument("--model", required=True, help="registered model name")
    ap.add_argument("--channel", help="channel to fit (default: the one matching the model's unit)")
    ap.add_argument("--region", help="MASK.npy ((ny, nx) bool) or rect:IX0,IY0,IX1,IY1")
    ap.add_argument("--start", default="global", choices=START_STRATEGIES, help="starting values")
    ap.add_argument("--fit-range", nargs=2, type=float, metavar=("VMIN", "VMAX"), help="in sweep units")
    ap.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE", help="fix a parameter")
    ap.add_argument("--grid-index", type=int, default=0, help="which grid of the file (default 0)")
    grp = ap.add_mutually_exclusive_group()
    grp.add_argument("--scheduler", help="dask scheduler address tcp://host:port")
    grp.add_argument("--local-cluster", type=int, metavar="N", help="run on a dask LocalCluster of N workers")
    ap.add_argument("--workers", type=int, help="worker processes (default: all cores; 1 = in-process)")
    ap.add_argument("--out", required=True, help="output HDF5 file for the maps")
    ap.add_argument("--quiet", action="store_true")
    return ap


def parse_region(spec: str, shape: tuple[int, int]) -> np.ndarray:
    """(ny, nx) bool mask from ``MASK.npy`` or ``rect:IX0,IY0,IX1,IY1``."""
    ny, nx = shape
    if spec.startswith("rect:"):
        try:
            ix0, iy0, ix1, iy1 = (int(v) for v in spec[5:].split(","))
        except ValueError:
            raise FitError(f"region {spec!r}: expected rect:IX0,IY0,IX1,IY1 (integers)") from None
        mask = np.zeros((ny, nx), bool)
        mask[max(0, min(iy0, iy1)) : max(iy0, iy1) + 1, max(0, min(ix0, ix1)) : max(ix0, ix1) + 1] = True
        return mask
    p = Path(spec)
    if not p.is_file():
        raise FitError(f"region file {spec} not found")
    try:
        mask = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise FitError(f"region file {spec}: not a numpy .npy array ({exc})") from None
    if mask.shape != (ny, nx):
        raise FitError(f"region mask {spec} has shape {mask.shape}, the grid is {(ny, nx)}")
    return mask.astype(bool)


def parse_fixed(items: list[str]) -> dict[str, float]:
    out = {}
    for it in items:
        name, sep, val = it.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(val)
        except ValueError:
            raise FitError(f"--fix {it!r}: expected NAME=VALUE") from None
    return out


def write_maps(path: str | os.PathLike[str], image: Image, source: str = "") -> None:
    """Write the maps of ``image`` to ``path`` (the project store when available, else plain HDF5)."""
    try:
        from analysis.store import ProjectEntry, save_project
    except ImportError:
        write_maps_hdf5(path, image, source)
        return
    save_project(path, [ProjectEntry("maps", image.name, image)])


def write_maps_hdf5(path: str | os.PathLike[str], image: Image, source: str = "") -> None:
    """The plain HDF5 layout of this module's docstring; written to a temporary file, then renamed."""
    import h5py

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = "stsworkbench-fit-maps"
            f.attrs["version"] = 1
            meta = image.metadata
            f.attrs["model"] = str(meta.get("fit_model", ""))
            f.attrs["channel"] = str(meta.get("fit_channel", ""))
            f.attrs["source"] = str(source)
            f.attrs["name"] = image.name
            f.attrs["frame"] = json.dumps(image.frame.to_dict())
            f.attrs["provenance"] = json.dumps(image.provenance)
            f.attrs["summary"] = str(meta.get("fit_summary", ""))
            f.attrs["status_codes"] = json.dumps(meta.get("status_codes", {}))
            g = f.create_group("maps")
            for name, arr in image.channels.items():
                ds = g.create_dataset(name.replace("/", "_"), data=np.asarray(arr, np.float32))
                ds.attrs["unit"] = image.unit(name)
            pg = f.create_group("params")
            for p in meta.get("fit_params", []):
                sub = pg.create_group(p["name"])
                for key in ("unit", "vary", "min", "max", "default"):
                    sub.attrs[key] = p[key]
            f.flush()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_maps_hdf5(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """{map name: (ny, nx) array} from a file written by :func:`write_maps_hdf5`."""
    import h5py

    with h5py.File(path, "r") as f:
        return {k: np.asarray(v) for k, v in f["maps"].items()}


def _load_grid(path: str, index: int) -> Grid:
    from analysis.io.registry import read_file

    datasets = read_file(path)
    grids = [d for d in datasets if isinstance(d, Grid)]
    if not grids:
        raise FitError(f"{path}: the file holds no grid (found: {', '.join(d.kind for d in datasets)})")
    if not 0 <= index < len(grids):
        raise FitError(f"{path}: grid index {index} outside 0..{len(grids) - 1}")
    return grids[index]


def run(args: argparse.Namespace, cancel: threading.Event | None = None) -> Image:
    from analysis.models.registry import get_model

    try:
        model = get_model(args.model)
    except KeyError:
        from analysis.models.registry import registry

        raise FitError(f"unknown model {args.model!r}; known: {', '.join(registry().names())}") from None
    out_dir = Path(args.out).resolve().parent
    if not out_dir.is_dir():
        raise FitError(f"output folder {out_dir} does not exist")
    grid = _load_grid(args.file, args.grid_index)
    mask = parse_region(args.region, grid.frame.shape) if args.region else None
    options = FitOptions(
        fixed=parse_fixed(args.fix), fit_range=tuple(args.fit_range) if args.fit_range else None
    )
    if args.scheduler:
        runner = dask_runner(scheduler=args.scheduler)
    elif args.local_cluster:
        runner = dask_runner(n_workers=args.local_cluster)
    elif args.workers == 1:
        runner = in_process
    else:
        runner = process_runner(args.workers)
    last = [-1]

    def progress(done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        if not args.quiet and pct != last[0] and pct % 5 == 0:
            last[0] = pct
            print(f"\r{pct:3d}% ({done}/{total} pixels)", end="", file=sys.stderr, flush=True)

    gf = fit_grid(
        grid,
        model,
        args.channel,
        mask=mask,
        start=args.start,
        options=options,
        runner=runner,
        progress=progress,
        cancel=cancel,
    )
    if not args.quiet:
        print(file=sys.stderr)
    image = gf.to_image()
    image.metadata["fit_params"] = [p.to_dict() for p in model.params]
    write_maps(args.out, image, source=str(args.file))
    return image


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        image = run(args)
    except (WorkbenchError, OSError) as exc:
        print(f"stsworkbench fit: error: {exc}", file=sys.stderr)
        return 2
    print(f"{image.metadata.get('fit_summary', '')}; maps written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
