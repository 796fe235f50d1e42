"""Real input events for window tests: menus opened with the mouse, combo boxes chosen from their popup."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication, QComboBox, QMenu


def _plain(text: str) -> str:
    return text.replace("&", "")


def park_pointer() -> None:
    """Move the screen's pointer to the bottom-right corner of the screen, away from the windows.

    ``QTest.mouseMove`` on a widget moves the real pointer; left over a spot where a later menu opens it
    makes that menu select the entry under it between a synthetic press and release, and the click is
    lost. Tests that click menus park the pointer first."""
    screen = QApplication.primaryScreen()
    if screen is not None:
        corner = screen.geometry().bottomRight()
        QCursor.setPos(corner - QPoint(2, 2))
        QApplication.processEvents()


def menu_action(qtbot, window, menu_title: str, action_text: str) -> None:
    """Click ``menu_title`` in the window's menu bar, then ``action_text`` in the menu that opens; fails
    with the reason when the menu closes without triggering the entry."""
    bar = window.menuBar()
    top = next(a for a in bar.actions() if _plain(a.text()) == menu_title)
    menu: QMenu = top.menu()
    act = next(a for a in menu.actions() if _plain(a.text()) == action_text)
    park_pointer()
    fired: list[bool] = []

    def spy(*_args: object) -> None:
        fired.append(True)

    act.triggered.connect(spy)
    try:
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(top).center())
        qtbot.waitUntil(menu.isVisible, timeout=3000)
        qtbot.wait(QApplication.doubleClickInterval() + 50)  # a menu may ignore a release sooner than this
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(act).center())
        qtbot.waitUntil(lambda: not menu.isVisible(), timeout=3000)
    finally:
        act.triggered.disconnect(spy)
    assert fired, f"{menu_title} > {action_text}: the menu closed without triggering the entry"


def choose(qtbot, combo: QComboBox, data_or_text: str) -> None:
    """Open ``combo``'s popup with a click and click the item whose data (or text) is ``data_or_text``."""
    idx = combo.findData(data_or_text)
    if idx < 0:
        idx = combo.findText(data_or_text)
    park_pointer()
    assert idx >= 0, f"{data_or_text!r} not in {[combo.itemText(i) for i in range(combo.count())]}"
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton, pos=QPoint(combo.width() // 2, combo.height() // 2))
    view = combo.view()
    qtbot.waitUntil(lambda: view.isVisible(), timeout=3000)
    index = combo.model().index(idx, combo.modelColumn())
    view.scrollTo(index)
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # the popup ignores a release sooner than this
    rect = view.visualRect(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=3000)
    QApplication.processEvents()
    assert combo.currentIndex() == idx


def right_click_menu(qtbot, viewport, pos) -> QMenu:
    """Right-click ``viewport`` at ``pos`` (a QPoint in its coordinates) and return the menu that opens."""
    qtbot.mouseClick(viewport, Qt.MouseButton.RightButton, pos=pos)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=3000)
    return QApplication.activePopupWidget()


def click_menu_path(qtbot, menu: QMenu, *texts: str) -> None:
    """Click the entries ``texts`` in an open menu with the mouse, opening submenus on the way."""
    for i, text in enumerate(texts):
        act = next((a for a in menu.actions() if _plain(a.text()) == text), None)
        assert act is not None, f"{text!r} not in {[_plain(a.text()) for a in menu.actions()]}"
        assert act.isEnabled(), f"{text!r} is disabled"
        qtbot.wait(QApplication.doubleClickInterval() + 50)  # a menu may ignore a release sooner than this
        qtbot.mouseMove(menu, menu.actionGeometry(act).center())
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(act).center())
        if i < len(texts) - 1:
            sub = act.menu()
            qtbot.waitUntil(sub.isVisible, timeout=3000)
            menu = sub
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=3000)
    park_pointer()
