"""Keyed collections of the application state whose events say what changed.

:class:`EventedDict` is a ``MutableMapping`` (so the undo stack's :class:`~app.state.undo.DictEdit` and
plain ``d[key] = value`` both work) that emits, for every change,

* ``edited(key, old, new)``: ``old`` is :data:`MISSING` for an addition, ``new`` is :data:`MISSING` for a
  removal; one emission per change, never coalesced, so a view can update just that item;
* ``changed()``: "something in this collection changed", coalesced inside a batch of the state's
  :class:`~app.state.events.EventHub`, for views that rebuild a list.

Values are stored as given (regions and line cuts are immutable records; a changed record is a new value
under the same key).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, Generic, TypeVar

from app.state.events import EventHub, Signal

V = TypeVar("V")


class _Missing:
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
"""The ``old`` of an addition and the ``new`` of a removal in ``edited(key, old, new)``."""


class EventedDict(MutableMapping[str, V], Generic[V]):
    """An insertion-ordered ``{key: value}`` with ``edited(key, old, new)`` and ``changed()`` signals."""

    def __init__(self, name: str, hub: EventHub | None = None) -> None:
        self.name = name
        self.hub = hub
        self._data: dict[str, V] = {}
        self.edited = Signal(f"{name}.edited", hub, coalesce=False)
        self.changed = Signal(f"{name}.changed", hub)

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __setitem__(self, key: str, value: V) -> None:
        old = self._data.get(key, MISSING)
        if old is value:
            return
        self._data[key] = value
        self.edited.emit(key, old, value)
        self.changed.emit()

    def __delitem__(self, key: str) -> None:
        old = self._data.pop(key)
        self.edited.emit(key, old, MISSING)
        self.changed.emit()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def clear(self) -> None:
        """Remove every item: one ``edited`` per item, one ``changed`` (inside a batch)."""
        if self.hub is None:
            for key in list(self._data):
                del self[key]
            return
        with self.hub.batch():
            for key in list(self._data):
                del self[key]

    def __repr__(self) -> str:
        return f"EventedDict({self.name!r}, {list(self._data)})"
