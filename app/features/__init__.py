"""Feature controllers, one module each: exploration (with its map docks and slicers), derived data,
history (undo), fits, regions, line cuts and the project file.

Each depends on the shared state and on the host protocol (:mod:`app.features.host`), never on the window
module; they do not import one another (the exploration package's own modules excepted).
"""
