"""Views built ahead: :class:`Spare` keeps one widget ready, built in an event-loop turn of its own.

A map view (a plot, its colour bar and their menus) takes tens of milliseconds to build. Built when the
first grid opens, a batch fit shows its first map or a project comes back, that time adds to the turn that
shows the new data; built ahead, in a turn of its own while the window starts, the view is ready when it
is first needed. Later ones are built when needed: built again at once, the next one landed in whatever the
user did next (the slider, a save), holding that turn instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtWidgets import QWidget

from app.workers.turns import NextTurns

W = TypeVar("W", bound=QWidget)


class Spare(Generic[W]):
    """``take()`` returns the widget built ahead by ``make`` (or builds one when none is ready); the first
    is built in a turn of its own after the owner is made. Until taken, it is a hidden child of ``owner``."""

    def __init__(self, owner: QWidget, make: Callable[[], W]) -> None:
        self._owner = owner
        self._make = make
        self._spare: W | None = None
        self.built = 0  # how many were built ahead
        self._turns = NextTurns(owner)  # the application's queue of later turns: one call per turn
        self._turns.call(self._prepare)

    def _prepare(self) -> None:
        if self._spare is None:
            widget = self._make()
            widget.setParent(self._owner)  # deleted with the owner, hidden until taken
            widget.hide()
            self._spare = widget
            self.built += 1

    def ready(self) -> bool:
        return self._spare is not None

    def take(self) -> W:
        widget, self._spare = self._spare, None
        if widget is None:
            return self._make()
        widget.setParent(None)  # a top-level widget again, as if just built
        return widget
