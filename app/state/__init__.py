"""Application state: Qt-free models shared by views and controllers, and the undo stack.

May import analysis and the app's own event helpers; never Qt, widgets or any other app package.
"""

from app.state.app_state import AppState, DatasetEntry, PinnedPoint

__all__ = ["AppState", "DatasetEntry", "PinnedPoint"]
