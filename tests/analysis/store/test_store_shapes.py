"""A project whose arrays do not match their frame or sweep is refused with a message naming the array."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from analysis.errors import ReadError
from analysis.store import ProjectEntry, open_project, save_project
from tests.analysis.store.test_store import make_grid, make_image, make_spectrum


@pytest.mark.parametrize(
    ("entry", "dataset", "message"),
    [
        ("e0000", "channels/c000", "channel 'Current' has (3,) points, the sweep has (11,)"),
        ("e0001", "channels/c001", "channel 'Z [bwd]' has shape (3,), expected (9, 7)"),
        ("e0002", "params/p001", "parameter 'Temperature' has shape (3,), expected (4, 5)"),
    ],
)
def test_mismatched_arrays_are_named(tmp_path: Path, entry: str, dataset: str, message: str) -> None:
    rng = np.random.default_rng(0)
    entries = [
        ProjectEntry("s", "s", make_spectrum()),
        ProjectEntry("i", "i", make_image(rng)),
        ProjectEntry("g", "g", make_grid(rng, shape=(4, 5, 6))),
    ]
    path = save_project(tmp_path / "p.h5", entries)
    with h5py.File(path, "r+") as f:
        group = f["entries"][entry]
        attrs = dict(group[dataset].attrs)
        del group[dataset]
        group[dataset] = np.zeros(3)
        for key, value in attrs.items():
            group[dataset].attrs[key] = value
    with pytest.raises(ReadError) as info:
        open_project(path)
    assert message in str(info.value)
