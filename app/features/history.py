"""Edit menu and history dock over the session's one undo stack (``state.undo``).

Edit > Undo (Ctrl+Z) and Redo (Ctrl+Shift+Z, and Ctrl+Y) undo the last edit of any kind: regions, line
cuts, pins, datasets made in the session (derived channels, fitted maps), view changes. The History dock
lists every step; clicking one goes back (or forward) to it. The history is not saved with a project: after
opening one the list starts with a line naming the opened file.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from app.features.host import Host
from widgets.history_panel import HistoryPanel


class HistoryController:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.undo = host.state.undo
        menu = host.menu("Edit")
        self.undo_action = QAction("Undo", host)  # type: ignore[arg-type]
        self.undo_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
        self.undo_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.undo_action.triggered.connect(self.undo.undo)
        self.redo_action = QAction("Redo", host)  # type: ignore[arg-type]
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.redo_action.triggered.connect(self.undo.redo)
        menu.addAction(self.undo_action)
        menu.addAction(self.redo_action)
        menu.addSeparator()
        self.panel = HistoryPanel()
        host.add_dock(
            "history",
            "History",
            self.panel,
            Qt.DockWidgetArea.LeftDockWidgetArea,
            visible=False,
            tabify_with="log",
        )
        menu.addAction("Show history").triggered.connect(self._show)
        self.panel.index_chosen.connect(self.undo.set_index)
        self.undo.on_change(self._changed)
        self._changed()

    def _show(self) -> None:
        dock = self.host.dock("history")
        dock.show()
        dock.raise_()

    def _changed(self) -> None:
        u = self.undo
        self.undo_action.setEnabled(u.can_undo)
        self.redo_action.setEnabled(u.can_redo)
        self.undo_action.setText(f"Undo {u.undo_text}" if u.can_undo else "Undo")
        self.redo_action.setText(f"Redo {u.redo_text}" if u.can_redo else "Redo")
        start = f"History starts at the opened {u.origin}" if u.origin else "Session start"
        self.panel.set_history(u.history(), u.index, start)
