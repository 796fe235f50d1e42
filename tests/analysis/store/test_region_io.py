"""Export of regions and region spectra (CSV, NPZ, project attachment)."""

from __future__ import annotations

import numpy as np

from analysis.dataset import Frame, Grid
from analysis.maps.averaging import region_average
from analysis.maps.regions import Ellipse, Region
from analysis.store.region_io import (
    SpectraBlock,
    read_masks_npz,
    read_spectra_csv,
    regions_attachment,
    regions_from_attachment,
    write_masks_npz,
    write_spectra_csv,
)

NM = 1e-9


def _setup(rng):
    frame = Frame(size=(50 * NM, 50 * NM), shape=(10, 10))
    mask = np.zeros((10, 10), bool)
    mask[:3] = True
    regions = [
        Region("disc", (1, 2, 3), geometry=Ellipse((0.0, 0.0), (30 * NM, 20 * NM))),
        Region("band", (4, 5, 6), mask=mask, frame=frame),
    ]
    cube = rng.random((10, 10, 5)).astype(np.float32)
    bias = np.linspace(-1e-3, 1e-3, 5)
    avgs = {r.id: region_average(cube, r.mask_in(frame)) for r in regions}
    return frame, regions, SpectraBlock("QP", "dI/dV", "S", bias, avgs), cube


def test_spectra_csv_round_trip(tmp_path, rng):
    frame, regions, block, cube = _setup(rng)
    p = tmp_path / "spectra.csv"
    n = write_spectra_csv(p, [block], {r.id: r for r in regions})
    assert n == 10
    back = read_spectra_csv(p)
    got = back[("QP", regions[1].id)]
    np.testing.assert_allclose(got["mean"], cube[:3].reshape(-1, 5).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(got["bias_V"], block.bias)
    header = p.read_text().splitlines()[0]
    assert header.startswith("grid,channel,unit,region,region_id,n_used,n_invalid,bias_V,mean,std")


def test_masks_npz_round_trip(tmp_path, rng):
    frame, regions, _, _ = _setup(rng)
    p = tmp_path / "masks.npz"
    write_masks_npz(p, regions, frame)
    f2, back = read_masks_npz(p)
    assert f2 == frame
    for a, b in zip(regions, back):
        assert (a.name, a.colour, a.id) == (b.name, b.colour, b.id)
        np.testing.assert_array_equal(a.mask_in(frame), b.mask_in(frame))


def test_attachment_round_trip_through_project_file(tmp_path, rng):
    from analysis.store import ProjectEntry, open_project, save_project

    frame, regions, block, _ = _setup(rng)
    att = regions_attachment(regions, [block])
    grid = Grid(
        name="g",
        bias=block.bias,
        channels={"dI/dV": np.zeros((10, 10, 5), np.float32)},
        frame=frame,
        valid=np.ones((10, 10), bool),
    )
    path = tmp_path / "p.h5"
    save_project(path, [ProjectEntry("d1", "g", grid)], attachments={"regions": att})
    with open_project(path) as proj:
        back = regions_from_attachment(proj.attachments["regions"])
        arrays = proj.attachments["regions"].arrays
    assert [r.name for r in back] == ["disc", "band"]
    assert back[0].geometry == regions[0].geometry
    np.testing.assert_array_equal(back[1].mask, regions[1].mask)
    np.testing.assert_allclose(arrays[f"spectra/0/{regions[0].id}/mean"], block.averages[regions[0].id].mean)
