"""Gwyddion export of bias slices: a grid channel's map at chosen sweep values as images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Image
from analysis.io import gwyddion
from analysis.io.gwyddion_write import write_gwy
from tests.analysis.store.test_store import make_grid


def test_bias_slices_are_written_as_images(tmp_path: Path) -> None:
    g = make_grid(np.random.default_rng(4), shape=(4, 5, 7))
    g.frame = g.frame.__class__(center=g.frame.center, size=g.frame.size, angle=0.0, shape=g.frame.shape)
    want = float(g.bias[2])
    notes = write_gwy(tmp_path / "s.gwy", [g], bias_slices=[want, 99.0])
    assert any("no sweep point at 99" in n for n in notes)
    images = [d for d in gwyddion.read(tmp_path / "s.gwy") if isinstance(d, Image)]
    channels = {k: v for img in images for k, v in img.channels.items()}
    title = f"dI/dV @ {want:g} V"
    assert title in channels
    np.testing.assert_allclose(channels[title], g.bias_slice("dI/dV", 2), rtol=1e-6, equal_nan=True)
    top = f"Current @ {float(g.bias[-1]):g} V"
    np.testing.assert_allclose(
        channels[top], g.bias_slice("Current", g.shape[2] - 1), rtol=1e-6, equal_nan=True
    )
    units = {k: u for img in images for k, u in img.units.items()}
    assert units[title] == "S" and units[top] == "A"
    with pytest.raises(KeyError):
        channels["Current @ 99 V"]
