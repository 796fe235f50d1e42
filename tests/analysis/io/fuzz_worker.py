"""The process that reads fuzzed files for :mod:`tests.analysis.io.test_fuzz_readers`.

One JSON request per input line (``{"reader": name, "path": file, "must_warn": bool}``), one JSON report
per output line. For each file it calls the reader's own ``read`` (not the registry, whose last line of
defence would hide a reader's own exception), touches every array, checks that the datasets are well
formed, saves them into a project file and opens that again (what opens must save), and measures the
time and the growth of its peak resident memory (Linux: ``/proc/self/clear_refs`` resets the peak). Its
address space is capped, so a memory blow-up becomes a MemoryError here rather than trouble for the
machine. The parent kills and restarts it on a hang or a crash.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import Grid, Image, Spectrum
from analysis.errors import ReadError
from analysis.io import registry
from analysis.store import ProjectEntry, open_project, save_project

#: Address space the worker may use beyond what it holds after start-up.
ADDRESS_SPACE = 3 << 30


def _status(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _cap_memory() -> None:
    try:
        import resource

        with open("/proc/self/statm") as fh:
            vm = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (vm + ADDRESS_SPACE, vm + ADDRESS_SPACE))
    except (ImportError, OSError, ValueError):
        pass


def _finite_frame(frame: Any) -> bool:
    values = [*frame.center, *frame.size, frame.angle]
    return all(math.isfinite(v) for v in values) and min(frame.size) > 0 and min(frame.shape) >= 1


def well_formed(ds: Any) -> str | None:
    """None, or what is wrong with a dataset a reader returned."""
    if isinstance(ds, Grid):
        ny, nx = ds.frame.shape
        nb = int(np.asarray(ds.bias).shape[0])
        if not _finite_frame(ds.frame):
            return f"grid frame {ds.frame}"
        if nb < 1 or not np.all(np.isfinite(ds.bias)):
            return "grid sweep axis empty or not finite"
        if np.asarray(ds.valid).shape != (ny, nx):
            return f"valid mask {np.asarray(ds.valid).shape} for {(ny, nx)}"
        for name, cube in ds.channels.items():
            if tuple(cube.shape) != (ny, nx, nb):
                return f"channel {name!r} {cube.shape} for {(ny, nx, nb)}"
            np.asarray(cube[()])
        for name, p in ds.params.items():
            if np.asarray(p).shape != (ny, nx):
                return f"parameter {name!r} {np.asarray(p).shape}"
    elif isinstance(ds, Image):
        if not _finite_frame(ds.frame):
            return f"image frame {ds.frame}"
        for name, img in ds.channels.items():
            if np.asarray(img).shape != ds.frame.shape:
                return f"channel {name!r} {np.asarray(img).shape} for {ds.frame.shape}"
    elif isinstance(ds, Spectrum):
        for name, col in ds.channels.items():
            if np.asarray(col).shape != np.asarray(ds.x).shape:
                return f"channel {name!r} {np.asarray(col).shape} for x {np.asarray(ds.x).shape}"
    else:
        return f"a {type(ds).__name__}"
    return None


def handle(request: dict[str, Any], scratch: Path) -> dict[str, Any]:
    spec = registry().get(request["reader"])
    path = Path(request["path"])
    rss0 = _status("VmRSS")
    measured = _reset_peak() and rss0 is not None
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    try:
        datasets = spec.read(path)
        problems = [p for p in (well_formed(ds) for ds in datasets) if p]
        out["outcome"] = "malformed" if problems or not datasets else "read"
        out["detail"] = "; ".join(problems) if problems else ""
        out["warnings"] = sorted({str(w)[:200] for ds in datasets for w in ds.warnings})[:50]
    except ReadError as exc:
        out = {"outcome": "refused", "detail": str(exc)[-300:]}
    except MemoryError:
        out = {"outcome": "memory", "detail": "MemoryError"}
    except BaseException as exc:  # anything else is a finding
        tb = traceback.format_exc().strip().splitlines()
        out = {"outcome": "exception", "detail": f"{type(exc).__name__}: {exc}"[:300], "where": tb[-3:]}
    out["seconds"] = time.perf_counter() - t0
    if measured:
        hwm = _status("VmHWM")
        out["grew"] = max(0, (hwm or 0) - (rss0 or 0))
    if out["outcome"] == "read":
        try:  # what opens must save (and open again)
            target = scratch / "resaved.h5"
            entries = [ProjectEntry(f"d{i}", ds.name or f"d{i}", ds) for i, ds in enumerate(datasets)]
            save_project(target, entries)
            open_project(target).close()
        except BaseException as exc:
            out["outcome"] = "unsavable"
            out["detail"] = f"{type(exc).__name__}: {exc}"[:300]
        del datasets
    return out


def main() -> int:
    try:
        import analysis.store.probe  # noqa: F401 - imported before the cap
    except ImportError:  # an older tree without it
        pass

    _cap_memory()
    with tempfile.TemporaryDirectory(prefix="fuzz-worker-") as scratch:
        for line in sys.stdin:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            report = handle(request, Path(scratch))
            print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
