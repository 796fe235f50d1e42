"""A Qt-free undo/redo stack of commands.

A :class:`Command` knows how to ``redo()`` (apply) and ``undo()`` itself. :class:`DictEdit` is the one the
region editor uses: it sets, replaces or removes one key of a dict and restores the previous value on
undo, so edits to immutable records (``Region.with_changes``) become undoable; :class:`Macro` groups
several commands into one step (e.g. "regions from bands"). ``on_change`` callbacks are called after
every push, undo, redo and clear. The application state owns one stack for the whole session
(``AppState.undo``), so Ctrl+Z undoes the last edit of any kind.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

_MISSING = object()
DELETE = _MISSING
"""Value for :class:`DictEdit` meaning "remove the key"."""


class Command:
    """Base class: ``text`` describes the edit ("Move Region 2")."""

    text: str = ""

    def redo(self) -> None:
        raise TypeError(f"{type(self).__name__} must define redo()")

    def undo(self) -> None:
        raise TypeError(f"{type(self).__name__} must define undo()")


class DictEdit(Command):
    """Set ``target[key] = value`` (or remove the key when ``value is DELETE``); undo restores it."""

    def __init__(self, text: str, target: MutableMapping[str, Any], key: str, value: Any) -> None:
        self.text = text
        self.target = target
        self.key = key
        self.new = value
        self.old: Any = _MISSING

    def _set(self, value: Any) -> None:
        if value is _MISSING:
            self.target.pop(self.key, None)
        else:
            self.target[self.key] = value

    def redo(self) -> None:
        self.old = self.target.get(self.key, _MISSING)
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)


class Macro(Command):
    """Several commands applied in order and undone in reverse order, as one step."""

    def __init__(self, text: str, commands: Sequence[Command]) -> None:
        self.text = text
        self.commands = list(commands)

    def redo(self) -> None:
        for c in self.commands:
            c.redo()

    def undo(self) -> None:
        for c in reversed(self.commands):
            c.undo()


class UndoStack:
    """Linear history: ``push`` applies a command and drops any redo tail; ``limit`` bounds the depth."""

    def __init__(
        self, limit: int = 200, batch: Callable[[], AbstractContextManager[Any]] | None = None
    ) -> None:
        self._done: list[Command] = []
        self._undone: list[Command] = []
        #: what the history starts from ("" for a new session; an opened project's file name)
        self.origin = ""
        self.limit = int(limit)
        self._callbacks: list[Callable[[], None]] = []
        # each step applies inside one batch of the state's signals (a macro is one refresh)
        self._batch = batch or nullcontext

    def on_change(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def _changed(self) -> None:
        for cb in list(self._callbacks):
            cb()

    def push(self, command: Command) -> None:
        with self._batch():
            command.redo()
        self._done.append(command)
        self._undone.clear()
        if len(self._done) > self.limit:
            del self._done[0]
        self._changed()

    def undo(self) -> bool:
        if not self._done:
            return False
        c = self._done.pop()
        with self._batch():
            c.undo()
        self._undone.append(c)
        self._changed()
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        c = self._undone.pop()
        with self._batch():
            c.redo()
        self._done.append(c)
        self._changed()
        return True

    def clear(self, origin: str | None = None) -> None:
        """Forget every step; ``origin`` (when given) says what the history now starts from."""
        self._done.clear()
        self._undone.clear()
        if origin is not None:
            self.origin = origin
        self._changed()

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def __len__(self) -> int:
        return len(self._done)

    # -- history (for a history view) ---------------------------------------------------------------
    def history(self) -> list[str]:
        """Texts of every step, oldest first: the done ones, then the undone ones (most recent undo last
        undone first), so ``history()[:index]`` is what is applied now."""
        return [c.text for c in self._done] + [c.text for c in reversed(self._undone)]

    @property
    def index(self) -> int:
        """Number of steps applied now (a position in :meth:`history`)."""
        return len(self._done)

    def set_index(self, index: int) -> None:
        """Undo or redo until ``index`` steps are applied."""
        index = max(0, min(int(index), len(self._done) + len(self._undone)))
        while len(self._done) > index and self.undo():
            pass
        while len(self._done) < index and self.redo():
            pass
