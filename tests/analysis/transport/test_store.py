"""Series in the project file: round trip, lazy opening of 10,000 sweeps of 10,000 points, provenance."""

from __future__ import annotations

import json
import time

import h5py
import numpy as np
import pytest

from analysis.errors import ReadError
from analysis.series import make_series
from analysis.store import ProjectEntry, open_project, save_project
from analysis.store.hdf5 import FORMAT_NAME
from analysis.store.series_io import LazySweep, LazySweeps, load_series, save_series
from analysis.transport import derivative


def small_series():
    sweeps = [
        {"I": np.linspace(-1e-6, 1e-6, 20 + k), "V": np.linspace(-1e-3, 1e-3, 20 + k) ** 3 * (k + 1)}
        for k in range(4)
    ]
    s = make_series(
        sweeps,
        name="neck",
        x_channel="I",
        units={"I": "A", "V": "V"},
        tags={"H": [0.0, 0.1, 0.1, 0.2], "P_rf": [-10, -5, 0, 5]},
        tag_units={"P_rf": "dBm"},
    )
    s.sweeps[1].metadata = {"T (K)": "1.5"}
    s.sweeps[1].label = "neck3_0.1T"
    return s


def test_series_and_derived_series_round_trip_with_provenance(tmp_path):
    s = small_series()
    d = derivative(s)
    path = tmp_path / "p.h5"
    save_project(
        path,
        [ProjectEntry("a", "neck", s), ProjectEntry("b", "dV/dI", d, parent="a")],
    )
    with open_project(path) as p:
        a, b = p.entries[0].dataset, p.entries[1].dataset
        assert isinstance(a.sweeps, LazySweeps) and len(a) == 4
        assert p.entries[1].parent == "a"
        assert b.provenance[-1]["operation"] == "derivative" and b.provenance[-1]["inputs"] == ["neck"]
        assert a.tag_unit("P_rf") == "dBm" and a.tag_unit("H") == "T" and a.x_channel == "I"
        np.testing.assert_array_equal(a.tag("H"), s.tag("H"))
        sw = a.sweeps[1]
        assert isinstance(sw, LazySweep) and len(sw) == 21 and sw.label == "neck3_0.1T"
        assert sw.metadata == {"T (K)": "1.5"}
        np.testing.assert_array_equal(sw.x, s.sweeps[1].x)
        np.testing.assert_array_equal(b.sweeps[3].channel("dV/dI"), d.sweeps[3].channel("dV/dI"))
        assert set(b.sweeps[0].channels) == {"I", "V", "dV/dI"} and b.units["dV/dI"] == "Ohm"
        loaded = p.load_all()[0].dataset
        # a derived series made from the lazy one reads its sweeps once
        again = derivative(a)
        np.testing.assert_allclose(again.sweeps[2].channel("dV/dI"), d.sweeps[2].channel("dV/dI"))
    np.testing.assert_array_equal(loaded.sweeps[3].channel("V"), s.sweeps[3].channel("V"))
    with pytest.raises(ReadError, match="closed"):
        a.sweeps[0].channel("V")
    # saving a lazily opened series over its own file
    with open_project(path) as p:
        save_series(path, [p.entries[0].dataset])
    with open_project(path) as p:
        np.testing.assert_array_equal(p.entries[0].dataset.sweeps[2].channel("V"), s.sweeps[2].channel("V"))


def write_big_layout(path, n_sweeps=10_000, n_points=10_000):
    """A project file holding one series of n_sweeps x n_points in the series layout, its channel data
    left unwritten (HDF5 allocates no chunk), so that the file is small while the series is full-size."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT_NAME
        f.attrs["format_version"] = "1.0"
        g = f.create_group("entries").create_group("e0000")
        for k, v in {
            "key": "big",
            "label": "big",
            "parent": "",
            "kind": "series",
            "name": "big",
            "units": json.dumps({"I": "A", "V": "V"}),
            "metadata": "{}",
            "warnings": "[]",
            "provenance": "[]",
            "source": json.dumps({"path": "", "reader": "", "index": 0}),
            "x_name": "I",
            "x_unit": "A",
            "x_channel": "I",
            "bias_mode": "current",
            "tag_units": json.dumps({"H": "T"}),
        }.items():
            g.attrs[k] = v
        g.create_dataset("offsets", data=np.arange(n_sweeps + 1, dtype=np.int64) * n_points)
        strings = h5py.string_dtype("utf-8")
        g.create_dataset("labels", data=[f"sweep {k}" for k in range(n_sweeps)], dtype=strings)
        g.create_dataset(
            "sweep_sources", data=['{"path": "", "reader": "", "index": 0}'] * n_sweeps, dtype=strings
        )
        g.create_dataset("sweep_metadata", data=["{}"] * n_sweeps, dtype=strings)
        g.create_group("tags").create_dataset("t000", data=np.linspace(0, 1, n_sweeps)).attrs["name"] = "H"
        c = g.create_group("channels")
        for i, name in enumerate(("I", "V")):
            d = c.create_dataset(
                f"c{i:03d}",
                shape=(n_sweeps * n_points,),
                dtype=np.float64,
                chunks=(min(1 << 16, n_sweeps * n_points),),
                fillvalue=float(i + 1),
            )
            d.attrs["name"] = name
        f.create_group("attachments")


def test_ten_thousand_sweeps_of_ten_thousand_points_open_without_reading_the_data(tmp_path):
    path = tmp_path / "big.h5"
    write_big_layout(path)
    assert path.stat().st_size < 5_000_000  # 1.6 GB of channel data never written
    t0 = time.perf_counter()
    with open_project(path) as p:
        s = p.entries[0].dataset
        opened = time.perf_counter() - t0
        assert len(s) == 10_000 and s.tag("H")[-1] == 1.0
        assert s.sweeps.lengths().sum() == 100_000_000
        sw = s.sweeps[9_999]
        assert len(sw) == 10_000 and sw.label == "sweep 9999"
        v = sw.channel("V")
        assert v.shape == (10_000,) and np.all(v == 2.0)
        assert s.summary()["sweeps"] == 10_000
    assert opened < 2.0  # generous: reading 1.6 GB would take far longer


def test_a_damaged_series_entry_is_a_read_error(tmp_path):
    path = tmp_path / "bad.h5"
    write_big_layout(path, n_sweeps=3, n_points=5)
    with h5py.File(path, "r+") as f:
        del f["entries/e0000/offsets"]
        f["entries/e0000"].create_dataset("offsets", data=np.array([0, 5, 3, 15]))
    with pytest.raises(ReadError, match="offsets are not ascending"):
        open_project(path)


def test_load_series_copies_into_memory(tmp_path):
    s = small_series()
    path = save_series(tmp_path / "s.h5", s)
    with open_project(path) as p:
        mem = load_series(p.entries[0].dataset)
    assert not any(isinstance(sw, LazySweep) for sw in mem.sweeps)
    np.testing.assert_array_equal(mem.sweeps[0].channel("V"), s.sweeps[0].channel("V"))
