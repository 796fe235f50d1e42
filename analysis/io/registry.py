"""Reader registry: file formats are plugins of the entry-point group ``stsworkbench.readers``.

An entry point names a :class:`ReaderSpec` object. Which reader handles a file is decided by content
(``sniff`` on the first bytes), with the extension as a tie-breaker, never by the extension alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analysis.dataset import Dataset
from analysis.errors import ReadError
from analysis.plugins import PluginRegistry

GROUP = "stsworkbench.readers"
SNIFF_BYTES = 4096


@dataclass(frozen=True)
class ReaderSpec:
    """A file-format reader.

    ``sniff(head, path)`` gets the first ``SNIFF_BYTES`` bytes and the path and returns True when the
    content is of this format. ``read(path)`` returns a list of datasets or raises :class:`ReadError`.
    Higher ``priority`` wins when several readers claim a file.
    """

    name: str
    title: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes, Path], bool]
    read: Callable[[Path], list[Dataset]]
    priority: int = 0
    kinds: tuple[str, ...] = field(default=("grid", "spectrum", "image"))


def _accept_reader(obj: object) -> ReaderSpec:
    if not isinstance(obj, ReaderSpec):
        raise TypeError(f"entry point gave {type(obj).__name__}, expected a ReaderSpec")
    return obj


class ReaderRegistry(PluginRegistry[ReaderSpec]):
    """Readers from the entry-point group, lazily loaded; duplicates refused unless ``override=True``."""

    def __init__(self, group: str = GROUP) -> None:
        super().__init__(group, _accept_reader, lambda spec: spec.name)

    def readers(self) -> list[ReaderSpec]:
        return self.items()

    def file_filters(self) -> list[tuple[str, tuple[str, ...]]]:
        """(title, extensions) for file dialogs."""
        return [(r.title, r.extensions) for r in self.readers()]

    def detect(self, path: str | os.PathLike[str]) -> ReaderSpec:
        """The reader for ``path`` by content; raises ReadError when none claims it."""
        p = Path(path)
        try:
            with open(p, "rb") as fh:
                head = fh.read(SNIFF_BYTES)
        except OSError as exc:
            raise ReadError(p, f"cannot open file: {exc.strerror or exc}") from None
        if not head:
            raise ReadError(p, "file is empty")
        candidates: list[tuple[int, int, ReaderSpec]] = []
        suffix = p.name.lower()
        for r in self.readers():
            try:
                ok = bool(r.sniff(head, p))
            except Exception:
                ok = False
            if ok:
                ext_match = int(any(suffix.endswith(e.lower()) for e in r.extensions))
                candidates.append((r.priority, ext_match, r))
        if not candidates:
            raise ReadError(p, "unrecognised file format (no reader recognised its content)")
        candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
        return candidates[0][2]

    def read(self, path: str | os.PathLike[str], reader: str | None = None) -> list[Dataset]:
        """Read ``path`` into datasets. Only :class:`ReadError` escapes for bad input."""
        p = Path(path)
        spec = self.get(reader) if reader else self.detect(p)
        try:
            out = spec.read(p)
        except ReadError:
            raise
        except MemoryError:
            raise ReadError(p, "file declares more data than fits in memory") from None
        except Exception as exc:  # last line of defence: a reader bug must not reach the user raw
            raise ReadError(p, f"{spec.title} reader failed: {type(exc).__name__}: {exc}") from exc
        if not out:
            raise ReadError(p, f"{spec.title} reader found no data in the file")
        return out


_REGISTRY = ReaderRegistry()


def registry() -> ReaderRegistry:
    """The process-wide reader registry."""
    return _REGISTRY


def read_file(path: str | os.PathLike[str], reader: str | None = None) -> list[Dataset]:
    """Read a file with the registered reader that recognises its content."""
    return _REGISTRY.read(path, reader)


def supported_extensions() -> Sequence[str]:
    return sorted({e for r in _REGISTRY.readers() for e in r.extensions})
