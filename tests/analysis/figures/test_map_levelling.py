"""A map panel's levelling: a tilted height map drawn levelled, as the topography shows it."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.figures.description import FigureDescription, MapPanel
from analysis.figures.resolve import FigureError, FigureSources, resolve
from tests.analysis.figures.conftest import small_grid


def test_a_plane_levelled_tilted_plane_is_flat() -> None:
    g = small_grid()  # Z is a plane tilted by 0.1 nm per pixel along x and y
    sources = FigureSources(datasets={"g": g})
    raw = resolve(MapPanel(dataset="g", source="param", channel="Z"), sources)
    levelled = resolve(MapPanel(dataset="g", source="param", channel="Z", levelling="plane"), sources)
    np.testing.assert_array_equal(raw.values, g.params["Z"])
    assert np.ptp(raw.values) == pytest.approx(2.0e-9)
    assert np.abs(levelled.values).max() < 1e-18
    back = FigureDescription.from_dict(FigureDescription(panels=[MapPanel(levelling="plane")]).to_dict())
    assert back.panels[0].levelling == "plane"


def test_an_unknown_levelling_is_named() -> None:
    sources = FigureSources(datasets={"g": small_grid()})
    with pytest.raises(FigureError, match="unknown levelling 'tilt'"):
        resolve(MapPanel(dataset="g", source="param", channel="Z", levelling="tilt"), sources)
