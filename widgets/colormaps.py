"""Colour maps offered by the map views: perceptually uniform sequential maps plus diverging ones.

The data come with pyqtgraph (matplotlib's viridis family, CC0, and Peter Kovesi's CET maps, CC-BY).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyqtgraph as pg

# display name -> pyqtgraph colour-map name
COLORMAPS: dict[str, str] = {
    "viridis": "viridis",
    "inferno": "inferno",
    "magma": "magma",
    "cividis": "cividis",
    "plasma": "plasma",
    "grey": "CET-L1",
    "blue-white-red (diverging)": "CET-D1",
    "blue-red, dark centre (diverging)": "CET-D1A",
}

STOPS = 17  # the maps are resampled to this many evenly spaced stops (linear in between)


@cache
def colormap(name: str) -> pg.ColorMap:
    """The pyqtgraph ColorMap for a display name from :data:`COLORMAPS` (or a pyqtgraph name),
    resampled to :data:`STOPS` stops so that a gradient editor carries a handful of ticks, not 256."""
    try:
        full = pg.colormap.get(COLORMAPS.get(name, name))
    except (FileNotFoundError, KeyError, ValueError, OSError):
        full = None
    if full is None:
        raise ValueError(f"unknown colour map {name!r}; choose one of {', '.join(COLORMAPS)}")
    pos = np.linspace(0.0, 1.0, STOPS)
    return pg.ColorMap(pos, full.map(pos, mode="byte"), name=name)
