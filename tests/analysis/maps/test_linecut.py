"""Line cuts: values against scipy's bilinear interpolation, polyline distances, width averaging, NaNs."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import ndimage

from analysis.dataset import Frame, Grid, Image
from analysis.errors import WorkbenchError
from analysis.maps.linecut import (
    CutPath,
    LineCut,
    cut_path,
    default_n_points,
    interpolate,
    line_cut,
    peak_height,
    position_at,
    project_onto_path,
    sample_path,
    value_at,
    write_cut_csv,
)

NM = 1e-9


def _cube(ny=20, nx=30, nb=7, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((ny, nx, nb), dtype=np.float32)


def _reference(cube: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
    """Per-bias scipy bilinear interpolation (rows: iy, columns: ix)."""
    return np.stack(
        [
            ndimage.map_coordinates(cube[:, :, k], [fy, fx], order=1, mode="nearest")
            for k in range(cube.shape[2])
        ],
        axis=1,
    )


@pytest.mark.parametrize("angle", [0.0, 30.0])
def test_cut_values_match_map_coordinates_per_bias(angle):
    cube = _cube()
    frame = Frame(center=(5 * NM, -3 * NM), size=(60 * NM, 40 * NM), angle=angle, shape=(20, 30))
    # a path from pixel (ix 2.3, iy 1.7) to (ix 26.1, iy 17.4), given in metres
    x0, y0 = frame.pixel_to_xy(2.3, 1.7)
    x1, y1 = frame.pixel_to_xy(26.1, 17.4)
    cut = line_cut(cube, frame, [(x0, y0), (x1, y1)], n_points=57)
    fx, fy = cut.pixel[:, 0], cut.pixel[:, 1]
    np.testing.assert_allclose(fx[[0, -1]], [2.3, 26.1], atol=1e-9)
    np.testing.assert_allclose(fy[[0, -1]], [1.7, 17.4], atol=1e-9)
    assert cut.values.shape == (57, 7) and cut.values.dtype == np.float32
    np.testing.assert_allclose(cut.values, _reference(cube, fx, fy), rtol=1e-5, atol=1e-6)
    # distance is the physical length along the path, in metres
    np.testing.assert_allclose(cut.distance[-1], np.hypot(x1 - x0, y1 - y0), rtol=1e-12)
    np.testing.assert_allclose(np.diff(cut.distance), cut.distance[-1] / 56, rtol=1e-9)


def test_default_sampling_is_one_per_pixel_and_hits_pixel_centres():
    cube = _cube()
    frame = Frame(size=(60 * NM, 40 * NM), shape=(20, 30))  # 2 nm pixels
    a = frame.pixel_to_xy(3, 5)
    b = frame.pixel_to_xy(13, 5)
    cut = line_cut(cube, frame, [a, b])
    assert cut.n_points == 11 == default_n_points(frame, [a, b])
    np.testing.assert_allclose(cut.pixel[:, 0], np.arange(3, 14), atol=1e-9)
    np.testing.assert_array_equal(cut.values, cube[5, 3:14, :])
    np.testing.assert_allclose(cut.distance, np.arange(11) * 2 * NM, rtol=1e-12, atol=1e-21)


def test_polyline_distance_accumulates_over_segments():
    frame = Frame(size=(100 * NM, 100 * NM), shape=(50, 50))
    verts = [(-30 * NM, -30 * NM), (0.0, -30 * NM), (0.0, 10 * NM), (30 * NM, 50 * NM)]
    # lengths 30, 40, 50 nm
    d, xy, normal = sample_path(verts, 121)
    np.testing.assert_allclose(d[-1], 120 * NM, rtol=1e-12)
    np.testing.assert_allclose(xy[30], (0.0, -30 * NM), atol=1e-18)  # corner at 30 nm
    np.testing.assert_allclose(xy[70], (0.0, 10 * NM), atol=1e-18)  # corner at 70 nm
    np.testing.assert_allclose(xy[50], (0.0, -10 * NM), atol=1e-18)
    np.testing.assert_allclose(normal[10], (0.0, 1.0))  # first segment runs +x: normal +y
    np.testing.assert_allclose(normal[50], (-1.0, 0.0))  # second runs +y: normal -x
    np.testing.assert_allclose(np.hypot(*normal.T), 1.0)
    cube = _cube(50, 50, 4)
    cut = line_cut(cube, frame, verts, n_points=121)
    np.testing.assert_allclose(
        cut.values, _reference(cube, cut.pixel[:, 0], cut.pixel[:, 1]), rtol=1e-5, atol=1e-6
    )
    # a zero-length segment in the middle does not change anything
    verts2 = [verts[0], verts[1], verts[1], verts[2], verts[3]]
    np.testing.assert_allclose(sample_path(verts2, 121)[1], xy, atol=1e-18)


def test_width_average_matches_hand_computation():
    ny, nx, nb = 16, 16, 3
    frame = Frame(size=(16 * NM, 16 * NM), shape=(ny, nx))  # 1 nm pixels, centres at -7.5 .. 7.5 nm
    cube = _cube(ny, nx, nb, seed=3)
    # horizontal line through the centres of row 8; width 2 nm, 3 samples -> rows 7, 8, 9 exactly
    a = frame.pixel_to_xy(2, 8)
    b = frame.pixel_to_xy(12, 8)
    cut = line_cut(cube, frame, [a, b], width_m=2 * NM, n_width=3)
    hand = (cube[7, 2:13] + cube[8, 2:13] + cube[9, 2:13]) / 3
    np.testing.assert_allclose(cut.values, hand, rtol=1e-6)
    assert cut.n_width == 3 and cut.width_m == 2 * NM
    # default n_width: one per pixel across + 1 = 3 for 2 nm
    np.testing.assert_allclose(line_cut(cube, frame, [a, b], width_m=2 * NM).values, hand, rtol=1e-6)
    # width 1 nm with 2 samples: rows 7.5 and 8.5 -> mean of (r7+r8)/2 and (r8+r9)/2
    half = line_cut(cube, frame, [a, b], width_m=1 * NM, n_width=2)
    hand2 = ((cube[7, 2:13] + cube[8, 2:13]) / 2 + (cube[8, 2:13] + cube[9, 2:13]) / 2) / 2
    np.testing.assert_allclose(half.values, hand2, rtol=1e-6)
    # a vertical line: the width runs along x
    c = frame.pixel_to_xy(5, 1)
    d = frame.pixel_to_xy(5, 11)
    vert = line_cut(cube, frame, [c, d], width_m=2 * NM, n_width=3)
    np.testing.assert_allclose(vert.values, (cube[1:12, 4] + cube[1:12, 5] + cube[1:12, 6]) / 3, rtol=1e-6)


def test_nan_pixels_are_left_out_and_renormalised():
    ny, nx = 10, 10
    frame = Frame(size=(10 * NM, 10 * NM), shape=(ny, nx))
    cube = np.ones((ny, nx, 2), np.float32) * np.arange(1, 3, dtype=np.float32)
    cube[:, :, 0] *= np.arange(nx, dtype=np.float32)[None, :]  # channel 0 = ix, channel 1 = 2
    cube[4, 5, :] = np.nan
    fx = np.array([4.5, 5.0, 4.0, 4.25])
    fy = np.array([4.0, 4.0, 4.0, 4.0])
    out = interpolate(cube, fx, fy)
    # (4.5, 4): neighbours ix 4 (weight .5) and ix 5 (NaN): renormalised -> value of ix 4
    np.testing.assert_allclose(out[0], [4.0, 2.0])
    assert np.all(np.isnan(out[1]))  # exactly on the NaN pixel
    np.testing.assert_allclose(out[2], [4.0, 2.0])  # NaN neighbour with zero weight does not matter
    np.testing.assert_allclose(out[3], [4.0, 2.0])
    # width average skips all-NaN samples without warnings
    cube2 = cube.copy()
    cube2[3, :, :] = np.nan
    cube2[5, :, :] = np.nan
    a, b = frame.pixel_to_xy(0, 4), frame.pixel_to_xy(9, 4)
    with np.errstate(all="raise"):
        cut = line_cut(cube2, frame, [a, b], width_m=2 * NM, n_width=3)
    np.testing.assert_allclose(cut.values[:4, 0], np.arange(4), rtol=1e-6, atol=1e-6)  # only row 4 left
    assert np.isnan(cut.values[5, 0])  # row 4 NaN at ix 5 and rows 3, 5 all NaN


def test_outside_the_frame_is_nan_and_edges_use_edge_pixels():
    frame = Frame(size=(10 * NM, 10 * NM), shape=(10, 10))
    cube = _cube(10, 10, 3)
    out = interpolate(cube, np.array([-0.4, 9.4, -0.6, 10.0, 3.0]), np.array([0.0, 0.0, 0.0, 0.0, 9.6]))
    np.testing.assert_allclose(out[0], cube[0, 0])
    np.testing.assert_allclose(out[1], cube[0, 9])
    assert np.all(np.isnan(out[2:]))
    cut = line_cut(cube, frame, [(-20 * NM, 0.0), (20 * NM, 0.0)], n_points=41)
    assert np.all(np.isnan(cut.values[:10])) and np.all(np.isfinite(cut.values[16:25]))


def test_scalar_maps_grids_and_images():
    frame = Frame(size=(20 * NM, 20 * NM), shape=(20, 20))
    iy, ix = np.mgrid[0:20, 0:20]
    plane = (3.0 * ix + 2.0 * iy).astype(np.float32)  # bilinear interpolation is exact on a plane
    a, b = frame.pixel_to_xy(1.5, 2.25), frame.pixel_to_xy(17.0, 14.0)
    cut = line_cut(plane, frame, [a, b], n_points=25)
    assert cut.values.shape == (25,)
    np.testing.assert_allclose(cut.values, 3 * cut.pixel[:, 0] + 2 * cut.pixel[:, 1], rtol=1e-5)
    image = Image(name="topo", channels={"Z": plane}, units={"Z": "m"}, frame=frame)
    ci = line_cut(image, None, [a, b], n_points=25)
    np.testing.assert_array_equal(ci.values, cut.values)
    assert ci.label == "Z" and ci.unit == "m" and ci.sweep is None
    cube = np.repeat(plane[..., None], 4, axis=2) * np.arange(1, 5, dtype=np.float32)
    grid = Grid(
        name="g",
        bias=np.linspace(-1e-3, 1e-3, 4),
        channels={"Current": cube * 0, "dI/dV": cube},
        units={"Current": "A", "dI/dV": "S"},
        frame=frame,
    )
    cg = line_cut(grid, None, [a, b], n_points=25)
    assert cg.label == "dI/dV" and cg.unit == "S"
    np.testing.assert_allclose(cg.sweep, grid.bias)
    np.testing.assert_allclose(cg.values, cut.values[:, None] * np.arange(1, 5), rtol=1e-5)


class _Lazy:
    """A cube that only supports basic slicing (like an h5py dataset)."""

    def __init__(self, arr):
        self._arr = arr
        self.shape = arr.shape
        self.dtype = arr.dtype
        self.reads = 0

    def __getitem__(self, key):
        assert all(isinstance(k, int | slice) for k in key)
        self.reads += 1
        return self._arr[key]


def test_lazy_cube_reads_only_the_needed_spectra():
    cube = _cube(30, 30, 5)
    lazy = _Lazy(cube)
    frame = Frame(size=(30 * NM, 30 * NM), shape=(30, 30))
    verts = [frame.pixel_to_xy(1.2, 3.3), frame.pixel_to_xy(20.7, 9.1)]
    ref = line_cut(cube, frame, verts)
    out = line_cut(lazy, frame, verts)
    np.testing.assert_allclose(out.values, ref.values, rtol=1e-6)
    assert 0 < lazy.reads <= 4 * ref.n_points < 30 * 30


def test_bad_input_gives_clear_errors():
    frame = Frame(size=(10 * NM, 10 * NM), shape=(10, 10))
    cube = _cube(10, 10, 2)
    with pytest.raises(WorkbenchError, match="two"):
        line_cut(cube, frame, [(0.0, 0.0)])
    with pytest.raises(WorkbenchError, match="zero length"):
        line_cut(cube, frame, [(0.0, 0.0), (0.0, 0.0)])
    with pytest.raises(WorkbenchError, match="frame"):
        line_cut(cube, None, [(0.0, 0.0), (1e-9, 0.0)])
    with pytest.raises(WorkbenchError, match="do not match"):
        line_cut(_cube(5, 10, 2), frame, [(0.0, 0.0), (1e-9, 0.0)])
    with pytest.raises(WorkbenchError, match="width"):
        line_cut(cube, frame, [(0.0, 0.0), (1e-9, 0.0)], width_m=-1.0)
    with pytest.raises(WorkbenchError, match="finite"):
        line_cut(cube, frame, [(0.0, np.nan), (1e-9, 0.0)])


def test_progress_and_cancel():
    frame = Frame(size=(10 * NM, 10 * NM), shape=(10, 10))
    cube = _cube(10, 10, 2)
    seen = []
    line_cut(cube, frame, [(-4 * NM, 0.0), (4 * NM, 0.0)], progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] > 0
    ev = threading.Event()
    ev.set()
    with pytest.raises(WorkbenchError, match="cancelled"):
        line_cut(cube, frame, [(-4 * NM, 0.0), (4 * NM, 0.0)], cancel=ev)


def test_cut_path_round_trip_and_geometry_helpers():
    path = CutPath(((0.0, 0.0), (30 * NM, 0.0), (30 * NM, 40 * NM)), 2 * NM, 50, "Cut 1")
    assert CutPath.from_dict(path.to_dict()) == path
    assert path.length == pytest.approx(70 * NM)
    assert position_at(path.vertices, 50 * NM) == pytest.approx((30 * NM, 20 * NM))
    assert position_at(path.vertices, -5 * NM) == pytest.approx((0.0, 0.0))  # clipped to the ends
    along, off = project_onto_path(path.vertices, 32 * NM, 10 * NM)
    assert along == pytest.approx(40 * NM) and off == pytest.approx(2 * NM)
    with pytest.raises(WorkbenchError):
        CutPath(((0.0, 0.0),))
    frame = Frame(size=(80 * NM, 80 * NM), shape=(40, 40))
    cube = _cube(40, 40, 3)
    a = cut_path(cube, path, frame)
    b = line_cut(cube, frame, path.vertices, 50, 2 * NM)
    np.testing.assert_array_equal(a.values, b.values)


def test_value_at_and_peak_height_profiles():
    frame = Frame(size=(10 * NM, 10 * NM), shape=(10, 10))
    bias = np.linspace(-2e-3, 2e-3, 41)
    amp = np.linspace(0.0, 1.0, 10, dtype=np.float32)  # peak amplitude grows with ix
    background = (1.0 + 0.2 * bias / 2e-3).astype(np.float32)  # sloping background
    peak = np.exp(-((bias / 0.2e-3) ** 2)).astype(np.float32)
    cube = np.broadcast_to(background + amp[None, :, None] * peak, (10, 10, 41)).copy()
    grid = Grid(name="g", bias=bias, channels={"dI/dV": cube}, units={"dI/dV": "S"}, frame=frame)
    cut = line_cut(grid, None, [frame.pixel_to_xy(0, 5), frame.pixel_to_xy(9, 5)])
    np.testing.assert_allclose(value_at(cut, 0.0), 1.0 + amp, rtol=1e-6)
    np.testing.assert_allclose(value_at(cut, 2e-3), 1.2, rtol=1e-6)
    h = peak_height(cut, -1e-3, 1e-3)  # measured from the straight baseline through the window edges
    np.testing.assert_allclose(h, amp, atol=2e-6)
    with pytest.raises(WorkbenchError, match="3 are needed"):
        peak_height(cut, 0.0, 0.05e-3)
    nan_cut = line_cut(grid.channels["dI/dV"] * np.nan, frame, cut.vertices)
    nan_cut = LineCut(
        nan_cut.values, nan_cut.distance, nan_cut.xy, nan_cut.pixel, nan_cut.vertices, sweep=bias
    )
    assert np.all(np.isnan(peak_height(nan_cut, -1e-3, 1e-3)))


def test_write_cut_csv_round_trip(tmp_path):
    frame = Frame(size=(20 * NM, 20 * NM), shape=(20, 20))
    cube = _cube(20, 20, 5)
    grid = Grid(
        name="g",
        bias=np.linspace(-1e-3, 1e-3, 5),
        channels={"dI/dV": cube},
        units={"dI/dV": "S"},
        frame=frame,
    )
    cut = line_cut(grid, None, [(-8 * NM, -8 * NM), (8 * NM, 5 * NM)], width_m=2 * NM)
    out = tmp_path / "cut.csv"
    write_cut_csv(cut, out)
    text = out.read_text().splitlines()
    assert text[0].startswith("# line cut of dI/dV [S]") and text[2].startswith("distance_m,x_m,y_m,-0.001,")
    table = np.loadtxt(out, delimiter=",", comments="#", skiprows=3)
    np.testing.assert_allclose(table[:, 0], cut.distance, rtol=1e-8)
    np.testing.assert_allclose(table[:, 1:3], cut.xy, rtol=1e-8, atol=1e-20)
    np.testing.assert_allclose(table[:, 3:], cut.values, rtol=1e-7)
    prof = line_cut(cube[:, :, 0], frame, cut.vertices)
    write_cut_csv(prof, out)
    assert out.read_text().splitlines()[2] == "distance_m,x_m,y_m,value"
