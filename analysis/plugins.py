"""Entry-point plugin discovery shared by the reader and model registries.

Built-ins register through the same entry-point groups a third-party package uses. Loading is lazy (on the
first query) and never fails as a whole: a plugin that cannot be imported is listed in ``failures`` with the
reason, so the application can show it.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded: which entry point and why."""

    group: str
    name: str
    value: str
    reason: str
    details: str = ""


def iter_entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group``, sorted by name for a deterministic load order."""
    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def load_entry_point(ep: EntryPoint, group: str) -> tuple[object | None, PluginFailure | None]:
    """Load one entry point; return (object, None) or (None, failure)."""
    try:
        return ep.load(), None
    except Exception as exc:  # a broken plugin must never break the application
        return None, PluginFailure(
            group=group,
            name=ep.name,
            value=ep.value,
            reason=f"{type(exc).__name__}: {exc}",
            details=traceback.format_exc(),
        )


T = TypeVar("T")


class PluginRegistry(Generic[T]):
    """Named plugins of one entry-point group, loaded lazily on first use.

    Each entry point names either one plugin object or a list/tuple of them; ``accept`` turns a loaded item
    into a plugin (or raises TypeError to reject it) and ``name_of`` gives its unique name. Duplicate names
    are refused (the later one is listed as a failure) unless registered with ``override=True``.
    """

    def __init__(self, group: str, accept, name_of) -> None:
        import threading

        self.group = group
        self._accept = accept
        self._name_of = name_of
        self._items: dict[str, T] = {}
        self._origin: dict[str, str] = {}
        self._failures: list[PluginFailure] = []
        self._loaded = False
        self._lock = threading.RLock()

    def _ensure_loaded(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for ep in iter_entry_points(self.group):
                obj, failure = load_entry_point(ep, self.group)
                if failure is not None:
                    self._failures.append(failure)
                    continue
                items = obj if isinstance(obj, list | tuple) else [obj]
                for item in items:
                    try:
                        plugin = self._accept(item)
                    except Exception as exc:
                        self._failures.append(PluginFailure(self.group, ep.name, ep.value, str(exc)))
                        continue
                    name = self._name_of(plugin)
                    if name in self._items:
                        self._failures.append(
                            PluginFailure(
                                self.group,
                                ep.name,
                                ep.value,
                                f"duplicate name {name!r} (already provided by {self._origin[name]})",
                            )
                        )
                        continue
                    self._items[name] = plugin
                    self._origin[name] = ep.value

    def register(self, item: object, *, override: bool = False) -> T:
        """Register a plugin by hand (tests, scripts); refuses a duplicate name unless ``override``."""
        self._ensure_loaded()
        plugin = self._accept(item)
        name = self._name_of(plugin)
        with self._lock:
            if name in self._items and not override:
                raise ValueError(f"{self.group}: a plugin named {name!r} is already registered")
            self._items[name] = plugin
            self._origin[name] = "registered at run time"
        return plugin

    def unregister(self, name: str) -> None:
        self._ensure_loaded()
        with self._lock:
            self._items.pop(name, None)
            self._origin.pop(name, None)

    def names(self) -> list[str]:
        self._ensure_loaded()
        return list(self._items)

    def items(self) -> list[T]:
        self._ensure_loaded()
        return list(self._items.values())

    def get(self, name: str) -> T:
        self._ensure_loaded()
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"{self.group}: no plugin named {name!r}; known: {sorted(self._items)}") from None

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._items

    def origin(self, name: str) -> str:
        self._ensure_loaded()
        return self._origin[name]

    def failures(self) -> list[PluginFailure]:
        self._ensure_loaded()
        return list(self._failures)
