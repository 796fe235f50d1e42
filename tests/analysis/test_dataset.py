"""Data model: frame geometry, accessors, sweep ordering."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.dataset import Frame, Grid, ensure_ascending


def make_grid(ny=4, nx=5, nb=7, angle=0.0) -> Grid:
    cube = np.arange(ny * nx * nb, dtype=np.float32).reshape(ny, nx, nb)
    frame = Frame(center=(1e-9, -2e-9), size=(50e-9, 40e-9), angle=angle, shape=(ny, nx))
    return Grid(
        name="g",
        bias=np.linspace(-1e-3, 1e-3, nb),
        channels={"Current": cube},
        units={"Current": "A"},
        frame=frame,
        valid=np.ones((ny, nx), bool),
    )


@pytest.mark.parametrize("angle", [0.0, 30.0, -90.0])
def test_pixel_xy_round_trip(angle: float) -> None:
    g = make_grid(angle=angle)
    iy, ix = np.mgrid[0:4, 0:5]
    x, y = g.pixel_to_xy(ix, iy)
    fx, fy = g.xy_to_pixel(x, y)
    np.testing.assert_allclose(fx, ix, atol=1e-9)
    np.testing.assert_allclose(fy, iy, atol=1e-9)


def test_pixel_centres_span_the_frame() -> None:
    g = make_grid()
    x0, y0 = g.pixel_to_xy(0, 0)
    x1, y1 = g.pixel_to_xy(4, 3)
    # centres sit half a pixel inside the frame edges
    assert float(x0) == pytest.approx(1e-9 - 25e-9 + 5e-9)
    assert float(y0) == pytest.approx(-2e-9 - 20e-9 + 5e-9)
    assert float(x1) == pytest.approx(1e-9 + 25e-9 - 5e-9)
    assert float(y1) == pytest.approx(-2e-9 + 20e-9 - 5e-9)


def test_rotation_is_counter_clockwise() -> None:
    f = Frame(center=(0.0, 0.0), size=(2.0, 2.0), angle=90.0, shape=(2, 2))
    x, y = f.pixel_to_xy(1, 0)  # right-bottom pixel centre (0.5, -0.5) rotated by +90 deg -> (0.5, 0.5)
    assert (float(x), float(y)) == pytest.approx((0.5, 0.5))


def test_nearest_pixel_and_outside() -> None:
    g = make_grid()
    x, y = g.pixel_to_xy(3, 2)
    assert g.frame.nearest_pixel(float(x), float(y)) == (2, 3)
    assert g.frame.nearest_pixel(1.0, 1.0) is None


def test_bias_slice_and_window_mean() -> None:
    g = make_grid()
    cube = g.channels["Current"]
    np.testing.assert_array_equal(g.bias_slice("Current", 3), cube[:, :, 3])
    cube[0, 0, 2] = np.nan
    win = g.bias_slice("Current", 3, half_width=1)
    np.testing.assert_allclose(win[1, 1], cube[1, 1, 2:5].mean())
    np.testing.assert_allclose(win[0, 0], np.nanmean(cube[0, 0, 2:5]))
    with pytest.raises(IndexError):
        g.bias_slice("Current", 7)


def test_spectrum_and_bias_index() -> None:
    g = make_grid()
    np.testing.assert_array_equal(g.spectrum("Current", 1, 2), g.channels["Current"][1, 2])
    assert g.bias_index(0.0) == 3
    assert g.shape == (4, 5, 7)


def test_ensure_ascending_reverses_and_records() -> None:
    axis = np.array([3.0, 2.0, 1.0])
    data = np.arange(6.0).reshape(2, 3)
    ax, (d,), rev = ensure_ascending(axis, [data])
    assert rev
    np.testing.assert_array_equal(ax, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(d, data[:, ::-1])
    ax2, _, rev2 = ensure_ascending(ax, [d])
    assert not rev2


def test_same_area_detects_co_registration() -> None:
    a = Frame(center=(0, 0), size=(220e-9, 220e-9), shape=(128, 128))
    b = Frame(center=(0, 0), size=(220e-9, 220e-9), shape=(64, 64))
    c = Frame(center=(5e-9, 0), size=(220e-9, 220e-9), shape=(128, 128))
    assert a.same_area(b)
    assert not a.same_area(c)
