"""An array that does not match its frame or sweep is left out with a warning naming it; the rest opens."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from analysis.store import ProjectEntry, open_project, save_project
from tests.analysis.store.test_store import make_grid, make_image, make_spectrum


@pytest.mark.parametrize(
    ("entry", "dataset", "message"),
    [
        ("e0000", "channels/c000", "s: channel 'Current' has shape (3,), expected (11,); left out"),
        ("e0001", "channels/c001", "i: channel 'Z [bwd]' has shape (3,), expected (9, 7); left out"),
        ("e0002", "params/p001", "g: parameter 'Temperature' has shape (3,), expected (4, 5); left out"),
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
    with open_project(path) as proj:
        assert message in proj.warnings
        assert [e.key for e in proj.entries] == ["s", "i", "g"]
        name = message.split("'")[1]
        ds = proj.entry({"e0000": "s", "e0001": "i", "e0002": "g"}[entry]).dataset
        assert name not in ds.channels and name not in getattr(ds, "params", {})
        assert message.partition(": ")[2] in ds.warnings
