"""Application state: typed, Qt-free evented models shared by views and controllers, and the undo stack.

May import analysis and psygnal; never Qt, widgets or any other app package.
"""
