"""Region geometries, masks, serialisation and colour-scale bands."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from analysis.dataset import Frame
from analysis.maps.regions import (
    Ellipse,
    Lasso,
    Polygon,
    Rectangle,
    Region,
    band_edges,
    fill_polygon_pixels,
    geometry_from_dict,
    points_in_polygon,
    regions_from_bands,
    regions_from_labels,
    resample_mask,
)

NM = 1e-9


def _frame(n: int, size_nm: float = 100.0, angle: float = 0.0, center=(0.0, 0.0)) -> Frame:
    return Frame(center=center, size=(size_nm * NM, size_nm * NM), angle=angle, shape=(n, n))


def _pixel_area(frame: Frame) -> float:
    dx, dy = frame.pixel_size
    return dx * dy


@pytest.mark.parametrize("angle", [0.0, 30.0, -72.5])
@pytest.mark.parametrize(
    "geom",
    [
        Rectangle(center=(3 * NM, -5 * NM), size=(40 * NM, 22 * NM), angle=17.0),
        Ellipse(center=(-4 * NM, 6 * NM), size=(50 * NM, 30 * NM), angle=-35.0),
        Polygon(
            (
                (-30 * NM, -20 * NM),
                (25 * NM, -28 * NM),
                (10 * NM, 5 * NM),
                (28 * NM, 30 * NM),
                (-20 * NM, 22 * NM),
            )
        ),
    ],
    ids=["rectangle", "ellipse", "concave-polygon"],
)
def test_pixel_count_converges_to_analytic_area(geom, angle):
    errors = []
    for n in (64, 256, 1024):
        frame = _frame(n, angle=angle)
        m = geom.mask(frame)
        assert m.shape == (n, n) and m.dtype == bool
        errors.append(abs(m.sum() * _pixel_area(frame) - geom.area_m2) / geom.area_m2)
    assert errors[-1] < 2e-3
    assert errors[-1] < errors[0]


def test_analytic_areas():
    assert Rectangle((0, 0), (2.0, 3.0), 40.0).area_m2 == pytest.approx(6.0)
    assert Ellipse((0, 0), (2.0, 3.0)).area_m2 == pytest.approx(math.pi * 1.5)
    assert Polygon(((0, 0), (4, 0), (4, 3))).area_m2 == pytest.approx(6.0)
    # an L shape (concave), clockwise order
    assert Polygon(((0, 0), (0, 2), (1, 2), (1, 1), (2, 1), (2, 0))).area_m2 == pytest.approx(3.0)


def test_rectangle_mask_exact_pixels():
    frame = Frame(center=(5.0, 5.0), size=(10.0, 10.0), shape=(10, 10))  # pixel centres at 0.5 .. 9.5
    m = Rectangle(center=(3.0, 6.0), size=(4.0, 2.0)).mask(frame)  # x in [1, 5], y in [5, 7]
    expected = np.zeros((10, 10), bool)
    expected[5:7, 1:5] = True  # rows iy (y centres 5.5, 6.5), cols ix (x centres 1.5..4.5)
    np.testing.assert_array_equal(m, expected)


def test_rotated_frame_same_physical_pixels():
    # a frame rotated by 90 degrees: the same physical rectangle covers the transposed pixel set
    f0 = Frame(center=(0.0, 0.0), size=(8.0, 8.0), angle=0.0, shape=(8, 8))
    f90 = Frame(center=(0.0, 0.0), size=(8.0, 8.0), angle=90.0, shape=(8, 8))
    r = Rectangle(center=(-2.0, 1.0), size=(2.6, 4.6))  # covers 2 x 4 pixel centres
    m0 = r.mask(f0)
    m90 = r.mask(f90)
    assert m0.sum() == m90.sum() == 8
    ix, iy = np.meshgrid(np.arange(8), np.arange(8))
    x, y = f90.pixel_to_xy(ix, iy)
    inside = (np.abs(x + 2.0) <= 1.3) & (np.abs(y - 1.0) <= 2.3)
    np.testing.assert_array_equal(m90, inside)
    np.testing.assert_array_equal(m90, np.rot90(m0, k=1))


def test_polygon_fill_matches_point_in_polygon():
    rng = np.random.default_rng(3)
    verts = rng.uniform(-40, 40, size=(25, 2)) * NM  # self-intersecting star-like shape
    frame = _frame(97, angle=12.0)
    m = Polygon(tuple(map(tuple, verts))).mask(frame)
    iy, ix = np.mgrid[0:97, 0:97]
    x, y = frame.pixel_to_xy(ix, iy)
    ref = points_in_polygon(x, y, verts)
    # both use the even-odd rule; only exact boundary hits may differ
    assert np.count_nonzero(m != ref) <= 2


def test_lasso_is_a_polygon_of_many_points():
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    pts = tuple(zip(30 * NM * np.cos(t), 30 * NM * np.sin(t)))
    lasso = Lasso(pts)
    assert lasso.kind == "lasso"
    assert lasso.area_m2 == pytest.approx(math.pi * (30 * NM) ** 2, rel=1e-3)
    frame = _frame(512)
    assert lasso.mask(frame).sum() * _pixel_area(frame) == pytest.approx(lasso.area_m2, rel=5e-3)


def test_fill_polygon_degenerate():
    assert not fill_polygon_pixels(np.array([0.0, 1.0]), np.array([0.0, 1.0]), (4, 4)).any()
    assert not fill_polygon_pixels(np.array([0.0, 3.0, 5.0]), np.array([1.0, 1.0, 1.0]), (4, 4)).any()
    # polygon entirely outside the frame
    assert not fill_polygon_pixels(np.array([10.0, 12.0, 11.0]), np.array([10.0, 10.0, 12.0]), (4, 4)).any()


def test_geometry_round_trip_and_errors():
    for g in (
        Rectangle((1e-9, 2e-9), (3e-9, 4e-9), 10.0),
        Ellipse((0.0, 0.0), (1e-9, 2e-9), -5.0),
        Polygon(((0, 0), (1e-9, 0), (0, 1e-9))),
        Lasso(((0, 0), (1e-9, 0), (1e-9, 1e-9), (0, 1e-9))),
    ):
        d = json.loads(json.dumps(g.to_dict()))
        assert geometry_from_dict(d) == g
    with pytest.raises(ValueError, match="unknown region geometry"):
        geometry_from_dict({"kind": "hexagon"})
    with pytest.raises(ValueError, match="malformed"):
        geometry_from_dict({"kind": "rectangle", "center": [0, 0]})


def test_region_needs_geometry_or_mask():
    with pytest.raises(ValueError, match="exactly one"):
        Region("x")
    frame = _frame(4)
    with pytest.raises(ValueError, match="does not match"):
        Region("x", mask=np.ones((3, 3), bool), frame=frame)


def test_region_serialisation_round_trip():
    frame = _frame(16, angle=20.0)
    mask = np.zeros((16, 16), bool)
    mask[3:9, 2:5] = True
    r1 = Region("Region 1", (10, 20, 30), mask=mask, frame=frame, origin={"method": "bands"})
    r2 = Region("Box", (200, 0, 0), geometry=Rectangle((0.0, 0.0), (5 * NM, 5 * NM)))
    for r in (r1, r2):
        d, m = r.to_dict()
        d = json.loads(json.dumps(d))  # JSON-able
        back = Region.from_dict(d, m)
        assert back == r
        np.testing.assert_array_equal(back.mask_in(frame), r.mask_in(frame))
    assert r1.area_m2 == pytest.approx(18 * _pixel_area(frame))
    with pytest.raises(ValueError, match="malformed region"):
        Region.from_dict({"colour": [1, 2, 3]})


def test_region_is_immutable_and_edits_keep_id():
    r = Region("a", geometry=Ellipse((0, 0), (1, 1)))
    r2 = r.with_changes(name="b", colour=(1, 2, 3))
    assert r2.id == r.id and r2.name == "b" and r.name == "a"
    m = Region("m", mask=np.ones((2, 2), bool), frame=_frame(2))
    with pytest.raises(ValueError):
        m.mask[0, 0] = False


def test_mask_region_applies_to_co_registered_frame_with_other_resolution():
    coarse = _frame(32)
    fine = _frame(128)
    geom = Ellipse((5 * NM, -10 * NM), (40 * NM, 30 * NM))
    mask = geom.mask(coarse)
    r = Region("e", mask=mask, frame=coarse)
    np.testing.assert_array_equal(r.mask_in(coarse), mask)
    fine_mask = r.mask_in(fine)
    assert fine_mask.shape == (128, 128)
    # every fine pixel takes the value of the coarse pixel containing its centre: exactly 16x the count
    assert fine_mask.sum() == 16 * mask.sum()
    np.testing.assert_array_equal(fine_mask[::4, ::4], mask)


def test_resample_mask_outside_is_false_and_shape_checked():
    src = _frame(8)
    dst = _frame(8, center=(200 * NM, 0.0))  # no overlap
    assert not resample_mask(np.ones((8, 8), bool), src, dst).any()
    with pytest.raises(ValueError):
        resample_mask(np.ones((4, 4), bool), src, dst)


def test_equal_bands_hand_computed_partition():
    frame = _frame(3)
    m = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    regions = regions_from_bands(m, frame, n=4, mode="equal")
    # edges 0, 2, 4, 6, 8 -> [0,2) [2,4) [4,6) [6,8]
    assert [r.name for r in regions] == ["Region 1", "Region 2", "Region 3", "Region 4"]
    got = [sorted(m[r.mask].tolist()) for r in regions]
    assert got == [[0, 1], [2, 3], [4, 5], [6, 7, 8]]
    np.testing.assert_allclose(regions[0].origin["edges"], [0, 2, 4, 6, 8])


def test_quantile_and_threshold_bands():
    frame = _frame(4)
    m = np.arange(16, dtype=float).reshape(4, 4) ** 2  # skewed values
    q = regions_from_bands(m, frame, n=4, mode="quantile")
    assert [int(r.mask.sum()) for r in q] == [4, 4, 4, 4]
    t = regions_from_bands(m, frame, thresholds=[10.0, 100.0], mode="thresholds")
    got = [sorted(m[r.mask].tolist()) for r in t]
    assert got == [[0, 1, 4, 9], [16, 25, 36, 49, 64, 81], [100, 121, 144, 169, 196, 225]]


def test_bands_ignore_nan_and_errors():
    frame = _frame(2)
    m = np.array([[np.nan, 1.0], [2.0, 3.0]])
    regions = regions_from_bands(m, frame, n=2)
    assert sum(int(r.mask.sum()) for r in regions) == 3
    assert not any(r.mask[0, 0] for r in regions)
    with pytest.raises(ValueError, match="no finite"):
        regions_from_bands(np.full((2, 2), np.nan), frame, n=2)
    with pytest.raises(ValueError, match="does not match"):
        regions_from_bands(np.ones((3, 3)), frame, n=2)
    with pytest.raises(ValueError, match="unknown band mode"):
        band_edges(m, n=2, mode="log")
    with pytest.raises(ValueError, match="at least one threshold"):
        band_edges(m, mode="thresholds")


def test_split_components_and_min_pixels():
    frame = _frame(6)
    m = np.zeros((6, 6))
    m[0:2, 0:2] = 1.0  # 4-pixel blob
    m[4:6, 3:6] = 1.0  # 6-pixel blob
    m[3, 0] = 1.0  # 1-pixel speck
    split = regions_from_bands(m, frame, n=2, split_components=True)
    high = [r for r in split if r.name.startswith("Region 2.")]
    assert [int(r.mask.sum()) for r in high] == [6, 4, 1]  # by decreasing size
    cleaned = regions_from_bands(m, frame, n=2, min_pixels=2)
    high = [r for r in cleaned if r.name == "Region 2"][0]
    assert int(high.mask.sum()) == 10 and not high.mask[3, 0]
    low = [r for r in cleaned if r.name == "Region 1"][0]
    assert int(low.mask.sum()) == 36 - 11  # the low band is one big component


def test_regions_from_labels():
    frame = _frame(3)
    lab = np.array([[0, 0, 1], [1, 2, -1], [2, 2, 2]])
    regions = regions_from_labels(lab, frame, prefix="Cluster")
    assert [r.name for r in regions] == ["Cluster 1", "Cluster 2", "Cluster 3"]
    assert [int(r.mask.sum()) for r in regions] == [2, 2, 4]


def test_geometry_contains_points():
    from analysis.maps.regions import geometry_contains

    x = np.array([0.0, 0.8, 1.1, 0.0, -0.5])
    y = np.array([0.0, 0.4, 0.0, 0.45, -0.2])
    np.testing.assert_array_equal(
        geometry_contains(Rectangle((0, 0), (2.0, 1.0)), x, y), [True, True, False, True, True]
    )
    np.testing.assert_array_equal(
        geometry_contains(Ellipse((0, 0), (2.0, 1.0)), x, y), [True, False, False, True, True]
    )
    tri = Polygon(((0, -1), (2, -1), (0, 1)))
    tx = np.array([0.5, 1.5, 0.2, -0.1])
    ty = np.array([0.0, 0.0, 0.5, 0.0])
    np.testing.assert_array_equal(geometry_contains(tri, tx, ty), [True, False, True, False])


@pytest.fixture(scope="module")
def demo():
    from analysis.demo.grids import make_demo

    return make_demo()


@pytest.mark.slow
def test_demo_josephson_peak_rises_with_qp_peak_across_colour_scale_regions(demo):
    """[JSTM] Fig. 4: regions 1-4 from the zero-bias Josephson map; the region-averaged Josephson peak and
    the SIS quasiparticle peak (both normalised at high bias) rise together from region 1 to region 4."""
    from analysis.maps.averaging import region_average
    from analysis.maps.normalisation import Normalisation, normalise

    qp, jo = demo
    assert qp.frame.same_area(jo.frame)
    jmap = jo.bias_slice("dI/dV", jo.bias_index(0.0))
    regions = regions_from_bands(jmap, jo.frame, n=4, mode="quantile")
    assert [r.name for r in regions] == ["Region 1", "Region 2", "Region 3", "Region 4"]
    qp_peaks, j_peaks, gaps = [], [], []
    for r in regions:
        aq = region_average(qp.channels["dI/dV"], r.mask_in(qp.frame), qp.valid)
        aj = region_average(jo.channels["dI/dV"], r.mask_in(jo.frame), jo.valid)
        assert aq.n_used == aj.n_used == int(r.mask.sum())
        vq = float(np.max(np.abs(qp.bias)))
        vj = float(np.max(np.abs(jo.bias)))
        nq, _ = normalise(qp.bias, aq.mean, Normalisation("high_bias", window=(0.85 * vq, vq)))
        nj, _ = normalise(jo.bias, aj.mean, Normalisation("high_bias", window=(0.85 * vj, vj)))
        neg = qp.bias < 0
        qp_peaks.append(float(nq[neg].max()))
        gaps.append(float(-qp.bias[neg][np.argmax(nq[neg])]))
        j_peaks.append(float(nj[jo.bias_index(0.0)]))
    assert np.all(np.diff(j_peaks) > 0), j_peaks
    assert np.all(np.diff(qp_peaks) > 0), qp_peaks
    # region 1 is nearly normal (no Josephson peak), region 4 has a strong one and a wider conductance gap
    assert j_peaks[0] < 0.2 * j_peaks[3]
    assert gaps[3] > gaps[0]
