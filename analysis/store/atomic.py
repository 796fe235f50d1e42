"""Writing a project file atomically and failing clearly: the temporary file, its lock, a guard that keeps
HDF5 from being left with writes it cannot flush, the clean-up of temporaries a killed save left behind,
and the messages a user sees when the disk is full or the folder is not writable.

* :func:`create_temporary` makes ``<name>.tmp-<8 hex digits>`` beside the target (``O_EXCL``) and holds an
  exclusive ``flock`` on it for as long as it is open. The kernel drops the lock when the writing process
  dies, even by ``kill -9``; so a temporary nobody holds is a leftover of a save that never finished.
* :func:`remove_stale_temporaries` deletes such leftovers for one target (same name pattern, a regular
  file, no lock held, not written in the last :data:`STALE_GRACE_S` seconds) and says what it removed.
  Without ``fcntl`` (Windows) only temporaries older than an hour count as stale.
* :class:`GuardedFile` is the file object HDF5 writes through (h5py's ``fileobj`` driver). The first
  failed write (disk full, quota, I/O error) is recorded and every later write is accepted and dropped, so
  HDF5 can always flush and close its caches. Without it, a full disk leaves HDF5 holding dirty metadata
  it can neither write nor discard ("Can't destroy cache"), and the library crashes when the process
  exits. The temporary file is deleted afterwards, so nothing of the dropped writes survives.
* :func:`save_error` turns an ``OSError`` (or an HDF5 error carrying ``errno = N``) into a
  :class:`SaveError` whose text says what happened and where, without HDF5's internals.
"""

from __future__ import annotations

import errno as errno_codes
import os
import re
import secrets
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from analysis.errors import WorkbenchError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: The temporary stays open (and locked) until it has its final name; not where there are no locks.
LOCKS_HELD_OPEN = fcntl is not None
#: A temporary younger than this is never removed (a save may be between creating and locking it).
STALE_GRACE_S = 2.0
#: Without file locks (Windows), a temporary is stale only when older than this.
STALE_WITHOUT_LOCKS_S = 3600.0
_NO_SPACE = {errno_codes.ENOSPC, getattr(errno_codes, "EDQUOT", errno_codes.ENOSPC)}
_NO_PERMISSION = {errno_codes.EACCES, errno_codes.EPERM}
_HDF5_ERRNO = re.compile(r"errno = (\d+)")


class SaveError(WorkbenchError):
    """A project file could not be written; the message says why in plain words. The previous file at
    the target path is unchanged."""


def temporary_pattern(target: Path) -> re.Pattern[str]:
    """Names of the temporaries of ``target``: ``<name>.tmp-`` and 8 lower-case hex digits."""
    return re.compile(re.escape(target.name) + r"\.tmp-[0-9a-f]{8}")


def _lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; False when another open file holds one."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno_codes.EWOULDBLOCK, errno_codes.EAGAIN, errno_codes.EACCES):
            return False
        return True  # a file system without flock: nothing to learn from the lock
    return True


def create_temporary(target: Path) -> tuple[Path, Any]:
    """``(path, file)`` of a new, locked temporary beside ``target``, open for reading and writing
    (unbuffered). Raises :class:`SaveError` when the folder cannot take it."""
    folder = target.parent if str(target.parent) else Path(".")
    for _ in range(16):
        tmp = folder / f"{target.name}.tmp-{secrets.token_hex(4)}"
        try:
            fh = open(tmp, "xb+", buffering=0)  # closed by the caller
        except FileExistsError:
            continue
        except OSError as exc:
            raise save_error(exc, target) from None
        _lock(fh.fileno())
        return tmp, fh
    raise SaveError(f"cannot create a temporary file in {folder}: too many name collisions")


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[tuple[Path, int]]:
    """Delete the temporaries that interrupted saves of ``target`` left behind; ``[(path, bytes)]``.

    Only files named ``<target name>.tmp-<8 hex digits>`` in the target's folder are considered, and only
    those no live process holds (see the module docstring). Errors (a folder that cannot be listed, a file
    that cannot be removed) are ignored: the clean-up never stops a save or an open.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    pattern = temporary_pattern(target)
    removed: list[tuple[Path, int]] = []
    try:
        names = [n for n in os.listdir(folder) if pattern.fullmatch(n)]
    except OSError:
        return removed
    now = time.time()
    for name in names:
        p = folder / name
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        age = now - st.st_mtime
        if age < STALE_GRACE_S or (fcntl is None and age < STALE_WITHOUT_LOCKS_S):
            continue
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            if not _lock(fd):
                continue  # a save in progress (this or another process)
            size = os.fstat(fd).st_size
            os.unlink(p)
            removed.append((p, size))
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


def describe_removed(removed: list[tuple[Path, int]]) -> str:
    """A sentence for the log: which leftover temporaries were deleted and how much space came back."""
    total = sum(size for _p, size in removed)
    names = ", ".join(p.name for p, _s in removed[:3]) + (" ..." if len(removed) > 3 else "")
    n = len(removed)
    return (
        f"removed {n} leftover temporary file{'s' if n != 1 else ''} of an interrupted save "
        f"({names}; {human_bytes(total)} freed)"
    )


def human_bytes(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def free_space(folder: Path) -> int | None:
    try:
        return int(shutil.disk_usage(folder).free)
    except OSError:
        return None


def check_space(target: Path, needed: int) -> None:
    """Raise :class:`SaveError` before writing anything when the folder has clearly too little room."""
    folder = target.parent if str(target.parent) else Path(".")
    free = free_space(folder)
    if free is not None and needed > free:
        raise SaveError(
            f"not enough disk space in {folder}: the project needs about {human_bytes(needed)}, "
            f"{human_bytes(free)} are free"
        )


def error_number(exc: BaseException) -> int | None:
    """The ``errno`` of an OSError, or the one HDF5 quotes in its message (``errno = 28``)."""
    if isinstance(exc, OSError) and exc.errno is not None and not str(exc).count("errno = "):
        return exc.errno
    m = _HDF5_ERRNO.search(str(exc))
    if m:
        return int(m.group(1))
    return exc.errno if isinstance(exc, OSError) else None


def save_error(exc: BaseException, target: Path) -> SaveError:
    """A :class:`SaveError` saying in plain words why writing next to ``target`` failed."""
    folder = target.parent if str(target.parent) else Path(".")
    code = error_number(exc)
    if code in _NO_SPACE:
        free = free_space(folder)
        room = f"the space left in {folder}"
        if free is not None:
            room = f"the {human_bytes(free)} free in {folder}"
        return SaveError(f"the disk is full: the project did not fit in {room}")
    if code == errno_codes.EFBIG:
        return SaveError(f"the file grew larger than the system allows in {folder} (file too large)")
    if code in _NO_PERMISSION:
        return SaveError(f"no permission to write in {folder} (the folder is read-only for you)")
    if code == errno_codes.EROFS:
        return SaveError(f"{folder} is on a read-only file system")
    if code == errno_codes.ENOENT:
        return SaveError(f"the folder {folder} does not exist")
    if code == errno_codes.ENOTDIR:
        return SaveError(f"{folder} is not a folder")
    text = os.strerror(code) if code else str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return SaveError(f"writing in {folder} failed: {text}")


class GuardedFile:
    """A raw file for h5py's ``fileobj`` driver that records the first write error and drops every
    later write (see the module docstring). ``error`` is that first ``OSError``, or None."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.error: OSError | None = None

    def seek(self, pos: int, whence: int = 0) -> int:
        return self.fh.seek(pos, whence)

    def tell(self) -> int:
        return self.fh.tell()

    def read(self, n: int = -1) -> bytes:
        return self.fh.read(n)

    def readinto(self, buf: Any) -> int:
        return self.fh.readinto(buf)

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        if self.error is not None:
            return n
        try:
            done = 0
            while done < n:  # a raw write may be partial
                k = self.fh.write(memoryview(data)[done:])
                if not k:
                    raise OSError(errno_codes.ENOSPC, os.strerror(errno_codes.ENOSPC))
                done += k
        except OSError as exc:
            self.error = exc
        return n

    def truncate(self, size: int | None = None) -> int:
        if self.error is None:
            try:
                return self.fh.truncate(size)
            except OSError as exc:
                self.error = exc
        return size if size is not None else self.tell()

    def flush(self) -> None:
        if self.error is None:
            try:
                self.fh.flush()
            except OSError as exc:
                self.error = exc
