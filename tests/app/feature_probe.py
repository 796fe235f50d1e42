"""A feature module used by the tests: adds a dock and an Analysis action through the window API."""

from PySide6.QtWidgets import QLabel

installed = []


def install(window) -> None:
    window.add_dock("probe", "Probe", QLabel("probe"))
    window.menu("Analysis").addAction("Probe action")
    installed.append(window)
