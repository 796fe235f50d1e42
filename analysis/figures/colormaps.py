"""Colour maps shared by the views and the figures, as plain colour stops (no Qt, no matplotlib needed).

Each map is the one the map views show: 17 evenly spaced stops (RGB, 0..255), linear in between. The stops
are those of matplotlib's viridis family (CC0) and Peter Kovesi's CET maps (CC-BY) sampled at
``linspace(0, 1, 17)``, so a figure and the screen use the same colours. :func:`mpl_colormap` builds the
matplotlib colour map (imported lazily).
"""

from __future__ import annotations

from functools import cache
from typing import Any

#: Display name -> 17 RGB stops (0..255) at evenly spaced positions 0..1.
COLORMAP_STOPS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "viridis": (
        (68, 1, 84), (72, 23, 105), (71, 44, 122), (66, 63, 133), (59, 81, 139), (51, 98, 141),
        (44, 113, 142), (38, 129, 142), (33, 144, 140), (31, 159, 136), (39, 173, 128), (61, 188, 115),
        (92, 200, 98), (129, 211, 76), (170, 220, 49), (213, 226, 25), (253, 231, 37),
    ),
    "inferno": (
        (0, 0, 4), (10, 7, 35), (32, 12, 73), (60, 9, 100), (86, 15, 109), (112, 25, 110),
        (137, 34, 106), (162, 43, 97), (187, 54, 84), (208, 69, 68), (227, 89, 50), (241, 113, 30),
        (249, 140, 9), (252, 170, 15), (249, 201, 50), (242, 232, 101), (252, 255, 164),
    ),
    "magma": (
        (0, 0, 4), (9, 7, 33), (28, 16, 70), (53, 16, 106), (80, 18, 123), (105, 28, 129),
        (130, 37, 129), (155, 46, 127), (182, 54, 121), (207, 64, 111), (229, 80, 99), (244, 105, 92),
        (251, 135, 97), (254, 165, 113), (254, 194, 135), (253, 224, 161), (252, 253, 191),
    ),
    "cividis": (
        (0, 32, 77), (0, 43, 104), (5, 54, 110), (44, 65, 108), (64, 77, 107), (81, 88, 108),
        (96, 100, 111), (110, 111, 115), (124, 123, 120), (139, 135, 121), (155, 148, 119),
        (172, 161, 116), (188, 175, 111), (206, 188, 103), (224, 203, 93), (242, 218, 79), (255, 234, 70),
    ),
    "plasma": (
        (13, 8, 135), (48, 5, 150), (75, 2, 161), (101, 0, 167), (125, 3, 168), (148, 16, 161),
        (169, 34, 149), (187, 52, 135), (203, 70, 120), (217, 88, 106), (229, 107, 92), (240, 127, 78),
        (248, 148, 64), (253, 171, 51), (253, 195, 39), (248, 221, 37), (240, 249, 33),
    ),
    "grey": (
        (0, 0, 0), (19, 19, 19), (32, 32, 32), (45, 45, 45), (59, 59, 59), (73, 73, 73), (88, 88, 88),
        (103, 103, 103), (118, 118, 118), (134, 134, 134), (151, 151, 151), (167, 167, 167),
        (184, 184, 184), (201, 202, 202), (219, 219, 219), (237, 237, 237), (255, 255, 255),
    ),
    "blue-white-red (diverging)": (
        (33, 81, 219), (81, 97, 222), (111, 116, 225), (137, 135, 228), (159, 155, 231), (181, 176, 234),
        (201, 196, 236), (220, 218, 238), (237, 231, 233), (242, 214, 207), (240, 189, 177),
        (237, 164, 147), (231, 139, 118), (223, 114, 90), (214, 87, 62), (203, 56, 35), (192, 2, 6),
    ),
    "blue-red, dark centre (diverging)": (
        (23, 41, 114), (29, 58, 160), (40, 77, 206), (81, 100, 229), (119, 124, 243), (152, 151, 252),
        (184, 179, 250), (212, 208, 246), (238, 227, 232), (250, 201, 190), (253, 164, 145),
        (248, 126, 104), (232, 90, 69), (211, 53, 39), (184, 6, 15), (142, 3, 9), (102, 7, 2),
    ),
}  # fmt: skip

#: Display name -> the source map's own name (matplotlib or CET), for reference.
SOURCE_NAMES: dict[str, str] = {
    "viridis": "viridis",
    "inferno": "inferno",
    "magma": "magma",
    "cividis": "cividis",
    "plasma": "plasma",
    "grey": "CET-L1",
    "blue-white-red (diverging)": "CET-D1",
    "blue-red, dark centre (diverging)": "CET-D1A",
}

#: The map each kind of view starts with.
DEFAULT_MAP = "viridis"
DEFAULT_TOPOGRAPHY = "cividis"


def colour_stops(name: str) -> tuple[list[float], list[tuple[int, int, int]]]:
    """(positions 0..1, RGB stops 0..255) of a display name or a source name (``"CET-D1"``)."""
    key = name
    if key not in COLORMAP_STOPS:
        key = next((k for k, v in SOURCE_NAMES.items() if v == name), name)
    if key not in COLORMAP_STOPS:
        raise ValueError(f"unknown colour map {name!r}; choose one of {', '.join(COLORMAP_STOPS)}")
    stops = COLORMAP_STOPS[key]
    n = len(stops)
    return [i / (n - 1) for i in range(n)], list(stops)


@cache
def mpl_colormap(name: str) -> Any:
    """A matplotlib ``LinearSegmentedColormap`` (256 entries) with the stops of ``name``; NaN is drawn
    transparent."""
    from matplotlib.colors import LinearSegmentedColormap

    pos, rgb = colour_stops(name)
    cmap = LinearSegmentedColormap.from_list(
        name, [(p, (r / 255, g / 255, b / 255)) for p, (r, g, b) in zip(pos, rgb)], N=256
    )
    return cmap.with_extremes(bad=(1.0, 1.0, 1.0, 0.0))
