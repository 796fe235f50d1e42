"""Grid -> parameter maps: recovery, regions, invalid pixels, start strategies."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.dataset import Image
from analysis.errors import FitError
from analysis.fitting.batch import CONVERGED, NAN_DATA, NOT_FITTED, FitOptions
from analysis.fitting.maps import block_means, default_channel, fit_grid, neighbour_median
from tests.analysis.fitting._models import Lorentzian, synthetic_grid


def test_maps_recover_known_parameter_maps():
    grid, P = synthetic_grid()
    gf = fit_grid(grid, Lorentzian())
    img = gf.to_image()
    assert isinstance(img, Image)
    assert img.frame == grid.frame
    assert gf.channel == "dIdV"  # chosen by unit
    for j, name in enumerate(["A", "x0", "w", "c"]):
        m = img.channels[name]
        assert m.shape == (12, 10) and m.dtype == np.float32
        se = img.channels[f"{name} stderr"]
        assert np.all(np.abs(m - P[..., j]) <= 5 * se + 1e-6)
    assert np.all(img.channels["success"] == 1)
    assert img.unit("x0") == "V" and img.unit("A") == "S"
    # The two grains are separated by the peak-position map.
    assert np.all(img.channels["x0"][:, :5] < 0) and np.all(img.channels["x0"][:, 5:] > 0)
    assert np.all(np.abs(img.channels["redchi"] / 0.005**2 - 1) < 0.6)
    prov = img.provenance[0]
    assert prov["operation"] == "batch_fit" and prov["parameters"]["model"] == "test_lorentzian"
    assert prov["parameters"]["pixels"] == 120 and prov["inputs"] == ["synthetic"]


def test_region_mask_fits_only_its_pixels():
    grid, P = synthetic_grid()
    mask = np.zeros((12, 10), bool)
    mask[2:5, 1:8] = True
    gf = fit_grid(grid, Lorentzian(), "dIdV", mask=mask)
    img = gf.to_image()
    assert gf.index.size == mask.sum()
    assert np.all(np.isnan(img.channels["x0"][~mask]))
    assert np.all(np.isnan(img.channels["success"][~mask]))
    assert np.all(img.channels["status"][~mask] == NOT_FITTED)
    assert np.all(img.channels["success"][mask] == 1)
    np.testing.assert_allclose(img.channels["x0"][mask], P[..., 1][mask], atol=0.01)
    with pytest.raises(FitError, match="mask has shape"):
        fit_grid(grid, Lorentzian(), mask=np.ones((3, 3), bool))


def test_aborted_grid_pixels_are_flagged_not_crashing():
    grid, _ = synthetic_grid()
    cube = grid.channels["dIdV"]
    cube[5:, :] = np.nan  # never measured
    grid.valid[5:, :] = False
    cube[1, 1] = np.nan  # a NaN spectrum in a "valid" pixel
    gf = fit_grid(grid, Lorentzian())
    img = gf.to_image()
    assert np.all(img.channels["status"][5:] == NOT_FITTED)
    assert img.channels["status"][1, 1] == NAN_DATA
    assert img.channels["success"][1, 1] == 0
    ok = np.ones((12, 10), bool)
    ok[5:] = False
    ok[1, 1] = False
    assert np.all(img.channels["success"][ok] == 1)


@pytest.mark.parametrize("start", ["guess", "neighbours", "blocks"])
def test_start_strategies_agree(start):
    grid, P = synthetic_grid(ny=6, nx=6)
    ref = fit_grid(grid, Lorentzian(), start="global").to_image()
    other = fit_grid(grid, Lorentzian(), start=start).to_image()
    np.testing.assert_allclose(other.channels["x0"], ref.channels["x0"], atol=1e-5)


def test_neighbours_rescue_pixels_stuck_from_a_bad_start():
    grid, P = synthetic_grid(ny=8, nx=8, noise=0.002)
    model = Lorentzian()
    start = P.copy()
    bad = [(2, 2), (5, 6), (7, 0)]
    for iy, ix in bad:
        start[iy, ix] = [0.3, 0.9, 0.01, 0.0]  # peak far away and narrow: ends on the width bound
    plain = fit_grid(grid, model, start=start)
    st = plain.status_map()
    assert all(st[iy, ix] != CONVERGED for iy, ix in bad)
    from analysis.fitting.maps import _neighbour_refit, grid_spectra, in_process

    _, Y = grid_spectra(grid, "dIdV")
    n = _neighbour_refit(plain, grid.bias, Y, None, in_process, FitOptions(), None, 1, None)
    assert n == len(bad)
    st = plain.status_map()
    assert np.all(st == CONVERGED)
    x0 = plain.to_image().channels["x0"]
    np.testing.assert_allclose(x0, P[..., 1], atol=0.01)


def test_block_starts_leave_each_pixel_few_iterations():
    # two grains: one shared start sits far from half of the pixels, a block's fit next to all of its own
    grid, P = synthetic_grid(ny=16, nx=16, noise=0.002)
    glob = fit_grid(grid, Lorentzian(), start="global")
    blocks = fit_grid(grid, Lorentzian(), start="blocks")
    assert blocks.start == "blocks" and np.all(blocks.result.status == CONVERGED)
    np.testing.assert_allclose(blocks.result.values, glob.result.values, rtol=1e-6, atol=1e-9)
    assert blocks.result.nfev.mean() < 0.8 * glob.result.nfev.mean()
    # the starts are the fits of the blocks' means: within the noise of each pixel's own fit
    x0_start = blocks.result.start[:, 1].reshape(16, 16)
    np.testing.assert_allclose(x0_start, P[..., 1], atol=0.01)


def test_block_means_of_a_region_with_missing_points():
    ny, nx, nb = 5, 6, 3
    Y = np.arange(ny * nx * nb, dtype=float).reshape(ny * nx, nb)
    Y[0, 1] = np.nan
    index = np.array([0, 1, 6, 7, 4, 5, 29])  # two pixels of the first block, two of its next row, ...
    means, row = block_means(Y[index], index, (ny, nx), block=2)
    assert means.shape == (3, nb)
    np.testing.assert_array_equal(row, [0, 0, 0, 0, 1, 1, 2])
    np.testing.assert_allclose(
        means[0], [np.mean(Y[[0, 1, 6, 7], 0]), np.mean(Y[[1, 6, 7], 1]), np.mean(Y[[0, 1, 6, 7], 2])]
    )
    np.testing.assert_allclose(means[2], Y[29])


def test_neighbour_median_excludes_centre_and_failed():
    vals = np.arange(9, dtype=float).reshape(3, 3, 1)
    ok = np.ones((3, 3), bool)
    ok[0, 0] = False
    med, count = neighbour_median(vals, ok)
    assert count[1, 1] == 7
    assert med[1, 1, 0] == np.median([1, 2, 3, 5, 6, 7, 8])


def test_default_channel_and_unknown_channel():
    grid, _ = synthetic_grid(ny=2, nx=2)
    assert default_channel(grid, Lorentzian()) == "dIdV"
    with pytest.raises(FitError, match="no channel"):
        fit_grid(grid, Lorentzian(), "nope")
    with pytest.raises(FitError, match="unknown start"):
        fit_grid(grid, Lorentzian(), start="magic")


def test_lazy_cube_from_a_project_file(tmp_path):
    from analysis.store import ProjectEntry, open_project, save_project

    grid, P = synthetic_grid(ny=40, nx=3)  # more lines than one read slab
    save_project(tmp_path / "g.h5", [ProjectEntry("g", "grid", grid)])
    with open_project(tmp_path / "g.h5") as proj:
        lazy = proj.entries[0].dataset
        assert not isinstance(lazy.channels["dIdV"], np.ndarray)
        mask = np.zeros((40, 3), bool)
        mask[::3, 1] = True
        mask[35:, :] = True
        img = fit_grid(lazy, Lorentzian(), "dIdV", mask=mask).to_image()
    ref = fit_grid(grid, Lorentzian(), "dIdV", mask=mask).to_image()
    np.testing.assert_array_equal(img.channels["x0"], ref.channels["x0"])
    np.testing.assert_allclose(img.channels["x0"][mask], P[..., 1][mask], atol=0.01)
