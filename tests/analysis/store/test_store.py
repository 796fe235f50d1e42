"""Project store: lossless round trip, lazy opening, atomic saves, format versions, registry access."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

from analysis.dataset import Frame, Grid, Image, Source, Spectrum
from analysis.errors import FormatVersionError, ReadError
from analysis.io import read_file, registry
from analysis.store import Attachment, ProjectEntry, SaveCancelled, open_project, save_project
from analysis.store.lazy import LazyCube


def make_grid(rng: np.random.Generator, shape=(40, 50, 70), name: str = "qp") -> Grid:
    ny, nx, nb = shape
    valid = np.ones((ny, nx), bool)
    valid[-3:, :] = False
    cube = rng.standard_normal(shape).astype(np.float32)
    cube[~valid] = np.nan
    return Grid(
        name=name,
        units={"Current": "A", "dI/dV": "S", "dI/dV [bwd]": "S"},
        metadata={
            "header": {"Grid dim": "50 x 40", "nested": {"list": [1, 2.5, "x"], "nan": math.nan}},
            "np": np.float32(1.5),
            "tuple": (1, 2),
            "ints": np.arange(3),
        },
        source=Source("/data/run1.3ds", "nanonis_grid", 0),
        warnings=["aborted grid: 3 lines missing"],
        provenance=[{"operation": "normalise", "parameters": {"range": [-1e-3, 1e-3]}, "inputs": ["raw"]}],
        bias=np.linspace(-15e-3, 15e-3, nb),
        channels={
            "Current": cube,
            "dI/dV": (cube * 2).astype(np.float32),
            "dI/dV [bwd]": (cube * 3).astype(np.float32),
        },
        frame=Frame(center=(1e-8, -2e-8), size=(220e-9, 180e-9), angle=12.5, shape=(ny, nx)),
        params={"Z": rng.standard_normal((ny, nx)), "Temperature": np.full((ny, nx), 1.8)},
        param_units={"Z": "m", "Temperature": "K"},
        valid=valid,
        sweep_signal="Bias",
        sweep_unit="V",
        sweep_reversed=True,
    )


def make_spectrum() -> Spectrum:
    return Spectrum(
        name="iv",
        units={"Current": "A"},
        metadata={"T": 4.2},
        x=np.linspace(-1e-3, 1e-3, 11),
        channels={"Current": np.linspace(-1e-9, 1e-9, 11)},
        x_name="Bias",
        x_unit="V",
        sweep_reversed=True,
        position=(1e-9, 2e-9),
    )


def make_image(rng: np.random.Generator) -> Image:
    return Image(
        name="topo",
        units={"Z": "m", "Z [bwd]": "m"},
        channels={"Z": rng.random((9, 7), dtype=np.float32), "Z [bwd]": rng.random((9, 7), dtype=np.float32)},
        frame=Frame(center=(0.0, 1e-9), size=(2e-8, 3e-8), angle=-45.0, shape=(9, 7)),
        scan_direction="down",
    )


def _entries(rng: np.random.Generator) -> list[ProjectEntry]:
    g = make_grid(rng)
    return [
        ProjectEntry("qp", "QP grid", g),
        ProjectEntry("map", "gap map", make_image(rng), parent="qp"),
        ProjectEntry("iv", "I(V)", make_spectrum()),
    ]


def _assert_same(a, b) -> None:
    assert type(a) is type(b)
    assert a.name == b.name and a.units == b.units and a.source == b.source
    assert a.warnings == b.warnings and a.provenance == b.provenance
    assert list(a.channels) == list(b.channels)
    for k in a.channels:
        x, y = np.asarray(a.channels[k][()]), np.asarray(b.channels[k][()])
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    if isinstance(a, Grid):
        np.testing.assert_array_equal(a.bias, b.bias)
        assert a.frame == b.frame and a.param_units == b.param_units
        np.testing.assert_array_equal(a.valid, b.valid)
        assert list(a.params) == list(b.params)
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k])
        for attr in ("sweep_signal", "sweep_unit", "sweep_reversed"):
            assert getattr(a, attr) == getattr(b, attr)
    if isinstance(a, Spectrum):
        np.testing.assert_array_equal(a.x, b.x)
        for attr in ("x_name", "x_unit", "sweep_reversed", "position"):
            assert getattr(a, attr) == getattr(b, attr)
    if isinstance(a, Image):
        assert a.frame == b.frame and a.scan_direction == b.scan_direction


def test_round_trip_is_lossless(tmp_path: Path, rng: np.random.Generator) -> None:
    entries = _entries(rng)
    att = {
        "regions": Attachment(
            {"names": ["grain A"], "colour": [255, 0, 0]}, {"grain A": np.eye(4, dtype=bool)}
        ),
        "view": Attachment({"bias_index": 12}),
    }
    p = save_project(tmp_path / "p.h5", entries, att)
    with open_project(p) as proj:
        assert [e.key for e in proj.entries] == ["qp", "map", "iv"]
        assert [e.label for e in proj.entries] == ["QP grid", "gap map", "I(V)"]
        assert [e.parent for e in proj.entries] == [None, "qp", None]
        for a, b in zip(entries, proj.entries):
            _assert_same(a.dataset, b.dataset)
        meta = proj.entry("qp").dataset.metadata
        assert meta["header"]["nested"]["list"] == [1, 2.5, "x"]
        assert math.isnan(meta["header"]["nested"]["nan"])
        assert meta["np"] == 1.5 and meta["tuple"] == [1, 2] and meta["ints"] == [0, 1, 2]
        assert proj.entry("iv").dataset.metadata == {"T": 4.2}
        assert proj.attachments["regions"].data == {"names": ["grain A"], "colour": [255, 0, 0]}
        np.testing.assert_array_equal(proj.attachments["regions"].arrays["grain A"], np.eye(4, dtype=bool))
        assert proj.attachments["view"].data == {"bias_index": 12} and proj.attachments["view"].arrays == {}
        assert proj.format_version == (1, 0)


def test_opening_is_lazy_and_chunked(tmp_path: Path, rng: np.random.Generator) -> None:
    g = make_grid(rng, shape=(40, 70, 100))
    small = make_grid(rng, shape=(5, 7, 10), name="small")
    p = save_project(tmp_path / "p.h5", [ProjectEntry("g", "g", g), ProjectEntry("s", "s", small)])
    proj = open_project(p)
    lazy = proj.entry("g").dataset
    cube = lazy.channels["dI/dV"]
    assert isinstance(cube, h5py.Dataset)
    assert cube.chunks == (32, 32, 64) and cube.compression is None and cube.dtype == np.float32
    assert proj.entry("s").dataset.channels["Current"].chunks == (5, 7, 10)
    # the Grid accessors work on the lazy cube
    np.testing.assert_array_equal(lazy.bias_slice("dI/dV", 17), g.channels["dI/dV"][:, :, 17])
    np.testing.assert_allclose(
        lazy.bias_slice("Current", 17, half_width=2),
        g.bias_slice("Current", 17, half_width=2),
        rtol=1e-6,
        equal_nan=True,
    )
    np.testing.assert_array_equal(lazy.spectrum("Current", 3, 4), g.channels["Current"][3, 4])
    assert lazy.valid_fraction() == pytest.approx(g.valid_fraction())
    copies = proj.load_all()
    proj.close()
    assert proj.closed
    with pytest.raises((OSError, ValueError, RuntimeError)):
        cube[0, 0, 0]
    assert isinstance(copies[0].dataset.channels["Current"], np.ndarray)
    np.testing.assert_array_equal(copies[0].dataset.channels["Current"], g.channels["Current"])


def test_compression_is_optional(tmp_path: Path, rng: np.random.Generator) -> None:
    g = make_grid(rng, shape=(8, 8, 16))
    p = save_project(tmp_path / "c.h5", [ProjectEntry("g", "g", g)], compression="gzip")
    with open_project(p) as proj:
        assert proj.entries[0].dataset.channels["Current"].compression == "gzip"
        _assert_same(g, proj.entries[0].dataset)


class FailingCube:
    """An array-like cube that fails when the second slab of lines is read."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.shape = data.shape
        self.dtype = data.dtype

    def __getitem__(self, key):
        if isinstance(key, slice) and (key.start or 0) >= 32:
            raise OSError("disk went away")
        return self.data[key]


def test_failed_save_leaves_the_old_file_untouched(tmp_path: Path, rng: np.random.Generator) -> None:
    p = tmp_path / "p.h5"
    entries = _entries(rng)
    save_project(p, entries)
    before = p.read_bytes()
    g = make_grid(rng, shape=(70, 10, 8))
    g.channels["Current"] = FailingCube(g.channels["Current"])
    with pytest.raises(OSError, match="disk went away"):
        save_project(p, [ProjectEntry("bad", "bad", g)])
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["p.h5"]
    with open_project(p) as proj:
        _assert_same(entries[0].dataset, proj.entries[0].dataset)


def test_cancel_mid_save(tmp_path: Path, rng: np.random.Generator) -> None:
    p = tmp_path / "p.h5"
    save_project(p, [ProjectEntry("iv", "iv", make_spectrum())])
    before = p.read_bytes()
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2:
            cancel.set()

    with pytest.raises(SaveCancelled):
        grid = make_grid(rng, shape=(100, 8, 8))
        save_project(p, [ProjectEntry("g", "g", grid)], progress=progress, cancel=cancel)
    assert seen == [(1, 13), (2, 13)]  # 3 channels x 4 slabs of 32 lines + 1 entry; stopped at once
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["p.h5"]


def test_progress_reaches_total(tmp_path: Path, rng: np.random.Generator) -> None:
    seen: list[tuple[int, int]] = []
    att = {"a": Attachment()}
    save_project(tmp_path / "p.h5", _entries(rng), att, progress=lambda d, t: seen.append((d, t)))
    dones = [d for d, _ in seen]
    assert dones == sorted(dones) and seen[-1][0] == seen[-1][1]
    # 3 channels x 2 slabs (40 lines) + 3 entries + 1 attachment
    assert seen[-1][1] == 3 * 2 + 3 + 1


def test_saving_over_the_open_lazy_file(tmp_path: Path, rng: np.random.Generator) -> None:
    p = tmp_path / "p.h5"
    entries = _entries(rng)
    save_project(p, entries)
    with open_project(p) as proj:
        lazy = proj.entries
        assert isinstance(lazy[0].dataset.channels["Current"], h5py.Dataset)
        extra = ProjectEntry("iv2", "again", make_spectrum(), parent="qp")
        save_project(p, [*lazy, extra], {"note": Attachment({"text": "resaved"})})
        # the open project still reads its (replaced) data
        expected = entries[0].dataset.channels["Current"][1, 2]
        np.testing.assert_array_equal(lazy[0].dataset.spectrum("Current", 1, 2), expected)
    with open_project(p) as again:
        assert [e.key for e in again.entries] == ["qp", "map", "iv", "iv2"]
        for a, b in zip(entries, again.entries):
            _assert_same(a.dataset, b.dataset)
        assert again.attachments["note"].data == {"text": "resaved"}


def test_large_metadata_survives(tmp_path: Path) -> None:
    s = make_spectrum()
    s.metadata = {f"key {i}": "v" * 100 for i in range(2000)}  # ~200 kB of JSON
    p = save_project(tmp_path / "m.h5", [ProjectEntry("s", "s", s)])
    with open_project(p) as proj:
        assert proj.entries[0].dataset.metadata == s.metadata


def test_newer_major_version_is_refused(tmp_path: Path) -> None:
    p = save_project(tmp_path / "v.h5", [ProjectEntry("s", "s", make_spectrum())])
    with h5py.File(p, "r+") as f:
        f.attrs["format_version"] = "1.7"
    with open_project(p) as proj:  # a newer minor version still opens
        assert proj.format_version == (1, 7)
    with h5py.File(p, "r+") as f:
        f.attrs["format_version"] = "2.0"
    with pytest.raises(FormatVersionError, match=r"newer STS Workbench, format 2\.0 > 1\.0"):
        open_project(p)


def test_foreign_and_broken_files(tmp_path: Path) -> None:
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ReadError, match="not an STS Workbench project"):
        open_project(other)
    text = tmp_path / "t.h5"
    text.write_text("hello")
    with pytest.raises(ReadError, match="not an HDF5"):
        open_project(text)
    with pytest.raises(ReadError, match="not found"):
        open_project(tmp_path / "missing.h5")
    p = save_project(tmp_path / "b.h5", [ProjectEntry("s", "s", make_spectrum())])
    with h5py.File(p, "r+") as f:
        f["entries/e0000"].attrs["metadata"] = "{broken json"
    with open_project(p) as proj:  # damaged metadata: the data still open, with a warning
        assert proj.entries[0].dataset.metadata == {}
        assert any("metadata cannot be read" in w for w in proj.warnings)
    with h5py.File(p, "r+") as f:
        del f["entries/e0000/x"]
    with pytest.raises(ReadError, match="damaged project file: none of its entries can be read"):
        open_project(p)


def test_bad_entries_are_refused(tmp_path: Path) -> None:
    s = make_spectrum()
    with pytest.raises(ValueError, match="duplicate"):
        save_project(tmp_path / "d.h5", [ProjectEntry("a", "a", s), ProjectEntry("a", "b", s)])
    with pytest.raises(ValueError, match="parent"):
        save_project(tmp_path / "d.h5", [ProjectEntry("a", "a", s, parent="nope")])
    assert not any(tmp_path.iterdir())


def test_project_files_open_through_the_reader_registry(tmp_path: Path, rng: np.random.Generator) -> None:
    entries = _entries(rng)
    p = save_project(tmp_path / "r.h5", entries)
    assert registry().detect(p).name == "project_hdf5"
    datasets = read_file(p)
    assert [d.kind for d in datasets] == ["grid", "image", "spectrum"]
    _assert_same(entries[0].dataset, datasets[0])
    assert isinstance(datasets[0].channels["Current"], h5py.Dataset)


def test_sweep_slices_from_the_memory_map_match_hdf5(tmp_path: Path, rng: np.random.Generator) -> None:
    g = make_grid(rng, shape=(45, 70, 150))  # partial edge chunks on every axis
    p = save_project(tmp_path / "s.h5", [ProjectEntry("g", "g", g)])
    with open_project(p) as proj:
        cube = proj.entries[0].dataset.channels["Current"]
        assert isinstance(cube, LazyCube) and isinstance(cube, h5py.Dataset)
        ref = g.channels["Current"]
        for key in [
            (slice(None), slice(None), 0),
            (slice(None), slice(None), 149),
            (slice(None), slice(None), -1),
            (slice(None), slice(None), slice(60, 130)),
            (slice(None), slice(None), slice(63, 65)),
        ]:
            got = cube[key]
            np.testing.assert_array_equal(got, ref[key])
            assert got.dtype == np.float32
        assert cube._mm is not None  # the mapped path was taken
        # other selections go through h5py
        np.testing.assert_array_equal(cube[3:9, 5, ::3], ref[3:9, 5, ::3])
        np.testing.assert_array_equal(cube[()], ref)
    assert cube._mm is None  # released on close


def test_pixel_spectra_from_the_memory_map_match_hdf5(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spectrum ``cube[iy, ix]`` is gathered from the mapped chunks: HDF5 is not asked for it."""
    g = make_grid(rng, shape=(45, 70, 150))  # partial edge chunks on every axis
    p = save_project(tmp_path / "s.h5", [ProjectEntry("g", "g", g)])
    with open_project(p) as proj:
        cube = proj.entries[0].dataset.channels["Current"]
        cube.prepare()
        ref = g.channels["Current"]
        calls = []
        real = h5py.Dataset.__getitem__
        monkeypatch.setattr(
            h5py.Dataset, "__getitem__", lambda self, *a, **k: calls.append(a) or real(self, *a, **k)
        )
        for iy, ix in [(0, 0), (44, 69), (33, 64), (-1, -3), (np.int64(7), np.int32(31))]:
            got = proj.entries[0].dataset.spectrum("Current", iy, ix)
            np.testing.assert_array_equal(got, ref[iy, ix])
            np.testing.assert_array_equal(cube[iy, ix, :], ref[iy, ix, :])
        assert calls == []
        np.testing.assert_array_equal(cube[3, 5, 7:9], ref[3, 5, 7:9])  # other selections: h5py
        assert calls


def test_compressed_cubes_use_hdf5_for_slices(tmp_path: Path, rng: np.random.Generator) -> None:
    g = make_grid(rng, shape=(10, 12, 20))
    p = save_project(tmp_path / "z.h5", [ProjectEntry("g", "g", g)], compression="gzip")
    with open_project(p) as proj:
        cube = proj.entries[0].dataset.channels["Current"]
        np.testing.assert_array_equal(cube[:, :, 7], g.channels["Current"][:, :, 7])
        assert cube._mm is None


def test_root_attributes_describe_the_format(tmp_path: Path) -> None:
    p = save_project(tmp_path / "a.h5", [ProjectEntry("s", "s", make_spectrum())])
    with h5py.File(p, "r") as f:
        assert f.attrs["format"] == "stsworkbench-project"
        assert f.attrs["format_version"] == "1.0"
        assert str(f.attrs["writer"]).startswith("STS Workbench")
        assert f["entries/e0000"].attrs["kind"] == "spectrum"
        # JSON strings, never pickles
        assert f["entries/e0000"].attrs["metadata"] == '{"T": 4.2}'
