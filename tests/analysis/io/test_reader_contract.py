"""The reader contract, for every reader of the formats added with the interop work: registered through
the entry points, chosen by content, datasets shaped and typed as the data model says, every channel with
a unit, convertible to xarray and back, storable in a project file, and ReadError on an empty file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Grid, Image, Spectrum
from analysis.errors import ReadError
from analysis.io import registry
from analysis.io.gwyddion_format import GwyObject, dumps_old
from analysis.io.nexus_sts import write_nxsts
from analysis.store import ProjectEntry, open_project, save_project
from analysis.xarray_bridge import from_xarray, to_xarray
from tests.analysis.io.sm4_writer import Page, write_sm4
from tests.analysis.io.test_createc_specgrid import write_specgrid
from tests.analysis.store.test_store import make_grid, make_spectrum
from tests.conftest import shared_file


def _specgrid(folder: Path) -> Path:
    spectra = np.random.default_rng(1).integers(-100, 100, size=(3, 4, 9, 2)).astype(np.float32)
    return write_specgrid(folder / "s.specgrid", spectra, np.linspace(-5, 5, 9))


def _sm4(folder: Path) -> Path:
    rng = np.random.default_rng(2)
    iy, ix = np.divmod(np.arange(6), 3)
    line = Page(
        rng.integers(-50, 50, size=(6, 8)).astype(np.int32),
        data_type=1,
        label="Current",
        z_unit="A",
        x_unit="V",
        x_scale=0.01,
        positions=np.column_stack([ix * 1e-10, iy * 1e-10]),
    )
    points = Page(
        rng.integers(-50, 50, size=(2, 5)).astype(np.int32),
        data_type=1,
        label="Current",
        z_unit="A",
        x_unit="V",
        x_scale=-0.02,
        positions=np.array([[1e-9, 0.0], [0.0, 2e-9]]),
    )
    image = Page(rng.integers(-50, 50, size=(4, 5)).astype(np.int32))
    return write_sm4(folder / "r.SM4", [image, line, points])


def _nexus(folder: Path) -> Path:
    return write_nxsts(
        [make_grid(np.random.default_rng(3), shape=(3, 4, 5)), make_spectrum()], folder / "n.nxs"
    )


def _gwyo(folder: Path) -> Path:
    field = GwyObject(
        "GwyDataField",
        {"xres": 3, "yres": 2, "xreal": 3e-9, "yreal": 2e-9, "data": np.arange(6.0),
         "si_unit_z": GwyObject("GwySIUnit", {"unitstr": "m"})},
    )  # fmt: skip
    path = folder / "o.gwy"
    path.write_bytes(dumps_old(GwyObject("GwyContainer", {"/0/data": field, "/0/data/title": "Z"})))
    return path


def _matrix(folder: Path) -> Path:
    pytest.importorskip("access2thematrix")
    return shared_file("omicron/20201111--4_1.Z_mtrx")


SAMPLES: dict[str, Callable[[Path], Path]] = {
    "createc_specgrid": _specgrid,
    "rhk_sm4": _sm4,
    "nexus_sts": _nexus,
    "gwyddion": _gwyo,
    "omicron_matrix": _matrix,
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_reader_contract(name: str, tmp_path: Path) -> None:
    reg = registry()
    assert name in reg.names(), [str(f) for f in reg.failures()]
    spec = reg.get(name)
    path = SAMPLES[name](tmp_path)
    assert reg.detect(path).name == name
    out = reg.read(path)
    assert out
    for ds in out:
        assert ds.kind in spec.kinds
        assert ds.source.reader in (name, "") or name == "nexus_sts"  # NXsts keeps the original reader
        assert isinstance(ds.name, str)
        assert set(ds.units) >= set(ds.channels) and all(isinstance(u, str) for u in ds.units.values())
        if isinstance(ds, Grid):
            ny, nx, nb = ds.shape
            assert ds.bias.dtype == np.float64 and ds.bias.ndim == 1
            assert nb < 2 or np.all(np.diff(ds.bias) > 0)
            assert ds.valid.shape == (ny, nx) and ds.valid.dtype == bool
            for cube in ds.channels.values():
                assert cube.shape == (ny, nx, nb) and cube.dtype == np.float32 and cube.flags.c_contiguous
            for img in ds.params.values():
                assert img.shape == (ny, nx)
        elif isinstance(ds, Spectrum):
            assert ds.x.ndim == 1 and (len(ds) < 2 or np.all(np.diff(ds.x) > 0))
            for arr in ds.channels.values():
                assert arr.shape == ds.x.shape
        else:
            assert isinstance(ds, Image)
            for img in ds.channels.values():
                assert img.shape == ds.frame.shape and img.dtype == np.float32
        back = from_xarray(to_xarray(ds))
        assert type(back) is type(ds) and list(back.channels) == list(ds.channels)
        for cname, arr in ds.channels.items():
            np.testing.assert_array_equal(np.asarray(back.channels[cname]), np.asarray(arr))
    saved = save_project(tmp_path / "p.h5", [ProjectEntry(f"e{i}", d.name, d) for i, d in enumerate(out)])
    with open_project(saved) as proj:
        assert [d.kind for d in proj.datasets()] == [d.kind for d in out]
    empty = tmp_path / ("empty" + (path.suffix or ".bin"))
    empty.write_bytes(b"")
    with pytest.raises(ReadError):
        spec.read(empty)
