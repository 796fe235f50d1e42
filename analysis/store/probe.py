"""Opening an HDF5 file that is not known to be intact in a separate process first, with limits.

HDF5 can loop forever or crash on damaged structures, and a call into the C library cannot be interrupted
(see :mod:`analysis.store.seal`). :func:`probe` therefore runs the complete opening of the file, every check
included, in a child process, waits at most :data:`PROBE_TIMEOUT_S` seconds (environment variable
``STS_PROBE_TIMEOUT``) and lets the child use a bounded amount of address space. Only when the child opened
and closed the file cleanly does the caller open it in-process, where the same code then meets the same
(harmless) bytes. A hang, a crash or a memory blow-up in the child becomes a
:class:`~analysis.errors.ReadError` in the caller; the application never blocks or dies.

The child is started once and serves one request after another (one JSON line each way on its standard
input and output), so a probe costs a few milliseconds after the first (about 0.3 s to start Python, numpy
and h5py); a child that hung, crashed or ran out of memory is killed and the next probe starts a new one.
It exits when its standard input closes, that is when the caller exits, however that happens.

Project files the workbench wrote and that are unchanged carry a seal and are not probed at all. NeXus
files (:mod:`analysis.io.nexus_sts`) carry none, so each is read completely in the child before it is read
in-process.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from analysis.errors import FormatVersionError, ReadError

PROBE_TIMEOUT_S = 30.0
#: What the probe can open, and how its messages name such a file.
KINDS = {"project": "project file", "nexus": "NeXus file", "nexus_sniff": "NeXus file"}
#: Address space the child may use beyond what it holds after start-up.
PROBE_MEMORY_BYTES = 4 << 30
_ROOT = Path(__file__).resolve().parents[2]
_CHILD = "import sys; from analysis.store.probe import serve; sys.exit(serve())"


def timeout() -> float:
    """Seconds a probe may take (``STS_PROBE_TIMEOUT``, default :data:`PROBE_TIMEOUT_S`)."""
    try:
        return max(0.5, float(os.environ.get("STS_PROBE_TIMEOUT", PROBE_TIMEOUT_S)))
    except ValueError:
        return PROBE_TIMEOUT_S


class _Child:
    """The probing process and a thread that forwards its output lines."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, name="project-probe-output", daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace"))
        self.lines.put(None)

    def ask(self, path: Path, limit: float, kind: str = "project") -> dict[str, Any] | int | None:
        """The child's report on ``path`` (opened as ``kind``, see :data:`KINDS`); its exit status when it
        died; None when it did not answer in ``limit`` seconds (it is still running)."""
        assert self.proc.stdin is not None
        try:
            request = json.dumps({"path": str(path), "kind": kind})
            self.proc.stdin.write((request + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except OSError:
            return self._ended()
        try:
            while True:
                line = self.lines.get(timeout=limit)
                if line is None:
                    return self._ended()
                if line.startswith("{"):
                    return json.loads(line)
        except (queue.Empty, ValueError):
            return None

    def _ended(self) -> int | None:
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process that ignores SIGKILL
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


_lock = threading.Lock()
_child: _Child | None = None


def _stop_child() -> None:
    global _child
    if _child is not None:
        _child.stop()
        _child = None


atexit.register(_stop_child)


def probe(path: Path, kind: str = "project") -> list[str]:
    """Open ``path`` in the probing process with a time and memory limit; return the warnings the opening
    gave, or raise the :class:`ReadError` the child met (or one saying that reading hung or crashed).

    ``kind`` is one of :data:`KINDS`: ``"project"`` opens a project file with every check,
    ``"nexus"`` reads every entry of a NeXus NXsts file with all its arrays, ``"nexus_sniff"`` only
    checks that the file has an NXsts entry.
    """
    global _child
    if kind not in KINDS:
        raise ValueError(f"unknown kind of file to probe: {kind!r}")
    what = KINDS[kind]
    limit = timeout()
    with _lock:
        if _child is not None and _child.proc.poll() is not None:
            _stop_child()
        try:
            if _child is None:
                _child = _Child()
        except OSError as exc:
            raise ReadError(path, f"could not start a process to check the file: {exc}") from None
        # The first request also waits for the child to start (imports take about 0.3 s).
        report = _child.ask(path, limit, kind)
        if not isinstance(report, dict):
            code = report
            _stop_child()
            if code is None:
                why = f"HDF5 did not finish reading its structure within {limit:g} s"
            elif code < 0:
                why = f"the HDF5 library crashed reading it (signal {-code})"
            else:
                why = f"the process checking it stopped (exit status {code})"
            raise ReadError(path, f"damaged {what}: {why}")
        if report.get("restart"):
            _stop_child()
    if report.get("ok"):
        return [str(w) for w in report.get("warnings", [])]
    cls = FormatVersionError if report.get("kind") == "FormatVersionError" else ReadError
    raise cls(path, str(report.get("reason", f"damaged {what}")), offset=report.get("offset"))


def _limit_memory() -> None:
    try:
        import resource

        with open("/proc/self/statm") as fh:
            vm = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = vm + PROBE_MEMORY_BYTES
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, OSError, ValueError, AttributeError):
        pass  # no limit where the platform has none


def _open_project(path: Path) -> list[str]:
    from analysis.store.hdf5 import open_unchecked

    project = open_unchecked(path)
    warnings = list(project.warnings)
    project.close()
    return warnings


def _read_nexus(path: Path) -> list[str]:
    from analysis.io.nexus_sts import read_unprobed

    warnings: list[str] = []
    for ds in read_unprobed(path):
        warnings.extend(str(w) for w in ds.warnings)
    return warnings


def check(path: Path, kind: str = "project") -> dict[str, Any]:
    """The child's work for one file: open it with every check (``kind`` as for :func:`probe`), close
    it, report (never raises)."""
    what = KINDS.get(kind, "file")
    try:
        if kind == "nexus":
            warnings = _read_nexus(path)
        elif kind == "nexus_sniff":
            from analysis.io.nexus_sts import has_nxsts_entries

            has_nxsts_entries(path)
            warnings = []
        else:
            warnings = _open_project(path)
        return {"ok": True, "warnings": warnings}
    except ReadError as exc:
        return {"ok": False, "kind": type(exc).__name__, "reason": exc.reason, "offset": exc.offset}
    except MemoryError:
        reason = f"damaged {what}: opening it needs more memory than its size can justify"
        return {"ok": False, "reason": reason, "restart": True}
    except Exception as exc:  # anything else is damage too, said in the report
        return {"ok": False, "reason": f"damaged {what} ({type(exc).__name__}: {exc})"}


def serve() -> int:
    """The child's loop: one JSON request per input line (``{"path": ..., "kind": ...}``, or a bare path
    for a project file), one JSON report per output line, until EOF."""
    # imported before the memory limit is set
    import analysis.io.nexus_sts
    import analysis.store.hdf5  # noqa: F401

    _limit_memory()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if isinstance(request, str):
                path, kind = Path(request), "project"
            else:
                path, kind = Path(request["path"]), str(request.get("kind", "project"))
        except (ValueError, TypeError, KeyError):
            continue
        print(json.dumps(check(path, kind)), flush=True)
    return 0
