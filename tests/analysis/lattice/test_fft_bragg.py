"""FFT, Bragg peaks and symmetrisation on synthetic lattices with known constants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from analysis.lattice.bragg import (
    angle_between_deg,
    find_peaks,
    lattice_vectors,
    real_space_vectors,
    refine_peak,
)
from analysis.lattice.fft import WINDOWS, LatticeError, fft_grid, fft_image, q_axes
from analysis.lattice.symmetry import symmetrise
from tests.analysis.lattice.synthetic import hexagonal_q, lattice_image, square_q

PIX = 0.05e-9  # 0.05 nm pixels


def test_q_axes_centred_and_in_inverse_metres():
    qx, qy = q_axes((64, 32), (1e-10, 2e-10))
    assert qx.size == 32 and qy.size == 64
    assert qx[16] == 0 and qy[32] == 0
    assert math.isclose(qx[1] - qx[0], 1 / (32 * 1e-10))
    qxa, _ = q_axes((64, 32), (1e-10, 2e-10), angular=True)
    assert np.allclose(qxa, 2 * np.pi * qx)


@pytest.mark.parametrize("window", WINDOWS)
def test_plane_wave_amplitude_and_peak_position(window):
    n = 128
    q0 = 16 / (n * PIX)  # on the FFT grid
    z = lattice_image((n, n), PIX, [np.array([q0, 0.0])]) * 3.0
    res = fft_image(z, (PIX, PIX), window)
    amp = res.amplitude
    iy, ix = np.unravel_index(np.argmax(amp), amp.shape)
    assert abs(abs(res.qx[ix]) - q0) < 1e-6 * q0 and res.qy[iy] == 0
    assert amp.max() == pytest.approx(1.5, rel=0.02)  # A / 2 whatever the window
    assert np.allclose(res.power, amp**2)
    assert np.all(np.abs(res.phase) <= np.pi)


def test_grid_fft_equals_image_fft_of_each_slice():
    rng = np.random.default_rng(0)
    cube = rng.standard_normal((32, 48, 5)).astype(np.float32)
    for shape in ((32, 48, 5), (31, 48, 5)):  # even (no fftshift copy) and odd sizes
        c = cube[: shape[0]]
        g = fft_grid(c, (PIX, 2 * PIX), "hann", block=2)
        for k in range(shape[2]):
            im = fft_image(c[:, :, k], (PIX, 2 * PIX), "hann")
            assert np.allclose(g.spectrum[:, :, k], im.spectrum, atol=2e-5 * np.abs(im.spectrum).max())
        assert np.allclose(g.qx, im.qx) and np.allclose(g.qy, im.qy)


def test_bad_window_and_shape_raise_clear_errors():
    with pytest.raises(LatticeError, match="window"):
        fft_image(np.zeros((8, 8)), (PIX, PIX), "kaiser")
    with pytest.raises(LatticeError, match="2x2"):
        fft_image(np.zeros(8), (PIX, PIX))


@pytest.mark.parametrize(("kind", "a", "angle"), [("square", 0.38e-9, 12.0), ("hexagonal", 0.3e-9, -7.0)])
def test_bragg_peaks_recover_lattice_constant_and_angle(kind, a, angle):
    qa_true, qb_true = (square_q if kind == "square" else hexagonal_q)(a, angle)
    qs = [qa_true, qb_true] if kind == "square" else [qa_true, qb_true, qb_true - qa_true]
    z = lattice_image((200, 256), PIX, qs, noise=0.5)
    peaks = find_peaks(z, (PIX, PIX), n=6)
    qa, qb = lattice_vectors(peaks)
    # the strongest peak is one of the true ones (or its inverse)
    lengths = [np.linalg.norm(qa), np.linalg.norm(qb)]
    expect = np.linalg.norm(qa_true)
    assert all(abs(q - expect) / expect < 0.01 for q in lengths)
    ang = angle_between_deg(qa, qb)
    assert abs(ang - (90.0 if kind == "square" else 60.0)) < 0.5
    # orientation of the lattice within 0.5 deg (modulo the point group)
    step = 90.0 if kind == "square" else 60.0
    d = (math.degrees(math.atan2(qa[1], qa[0])) - angle) % step
    assert min(d, step - d) < 0.5
    a1, a2 = real_space_vectors(qa, qb)
    if kind == "square":
        assert abs(np.linalg.norm(a1) - a) / a < 0.01 and abs(np.linalg.norm(a2) - a) / a < 0.01
    else:
        assert abs(2 / (math.sqrt(3) * np.linalg.norm(qa)) - a) / a < 0.01


def test_refine_peak_is_sub_pixel():
    n = 128
    q_true = np.array([13.37, 5.21]) / (n * PIX)  # between FFT pixels
    z = lattice_image((n, n), PIX, [q_true])
    p = refine_peak(z, (PIX, PIX), (13 / (n * PIX), 5 / (n * PIX)))
    dq = 1 / (n * PIX)
    assert abs(p.qx - q_true[0]) < 0.02 * dq and abs(p.qy - q_true[1]) < 0.02 * dq


def test_lattice_vectors_need_two_independent_peaks():
    with pytest.raises(LatticeError, match="line"):
        lattice_vectors([np.array([1.0, 0.0]), np.array([-1.0, 0.0])])


@pytest.mark.parametrize("kind", ["c4", "c6", "mirror", "c4m", "c6m", "c2"])
def test_symmetrised_map_is_invariant(kind):
    n = 96
    qx, qy = q_axes((n, n), (PIX, PIX))
    rng = np.random.default_rng(3)
    m = ndimage.gaussian_filter(rng.random((n, n)), 3)
    s = symmetrise(m, qx, qy, kind, axis=(1.0, 1.0))
    again = symmetrise(s, qx, qy, kind, axis=(1.0, 1.0))
    c = n // 2
    inner = slice(c - 20, c + 21)  # rotated images of the inner disk stay inside the map
    assert np.allclose(again[inner, inner], s[inner, inner], atol=2e-3)
    if kind == "c4":
        assert np.allclose(np.rot90(s[inner, inner]), s[inner, inner], atol=1e-9)
    if kind == "mirror":  # mirror about the diagonal qx = qy
        assert np.allclose(s[inner, inner].T, s[inner, inner], atol=1e-9)
    # a stack is symmetrised slice by slice
    st = symmetrise(np.stack([m, m], axis=2), qx, qy, kind, axis=(1.0, 1.0))
    assert np.allclose(st[:, :, 1], s)


def test_c4_symmetrisation_restores_a_fourfold_peak_pattern():
    n = 128
    qa, qb = square_q(0.4e-9, 0.0)
    z = lattice_image((n, n), PIX, [qa, 0.3 * qb])  # one weak direction
    res = fft_image(z, (PIX, PIX), "hann")
    s = symmetrise(res.amplitude, res.qx, res.qy, "c4")
    ia = np.argmin(abs(res.qx - qa[0]))
    c = n // 2
    assert s[c, ia] == pytest.approx(s[ia, c], rel=1e-6)  # the two directions are equal after
    assert res.amplitude[c, ia] > 2 * res.amplitude[ia, c]  # and were not before


def test_grid_fft_with_nan_and_odd_window_matches_images():
    rng = np.random.default_rng(2)
    cube = (rng.standard_normal((24, 30, 3)) + 5.0).astype(np.float32)
    cube[4, 5, 1] = np.nan
    for window in ("none", "tukey", "blackman"):
        g = fft_grid(cube, (PIX, PIX), window)
        for k in range(3):
            im = fft_image(cube[:, :, k], (PIX, PIX), window)
            assert np.allclose(g.spectrum[:, :, k], im.spectrum, atol=2e-5 * np.abs(im.spectrum).max())
            assert abs(g.spectrum[12, 15, k]) < 1e-5  # q = 0 removed


def test_refine_on_map_finds_the_nearby_peak():
    from analysis.lattice.bragg import refine_on_map

    n = 128
    q_true = np.array([20.3, -9.6]) / (n * PIX)
    res = fft_image(lattice_image((n, n), PIX, [q_true]), (PIX, PIX))
    p = refine_on_map(res.amplitude, res.qx, res.qy, (q_true[0] + 2 / (n * PIX), q_true[1]))
    dq = 1 / (n * PIX)
    assert abs(p.qx - q_true[0]) < 0.15 * dq and abs(p.qy - q_true[1]) < 0.15 * dq
    with pytest.raises(LatticeError, match="outside"):
        refine_on_map(res.amplitude, res.qx, res.qy, (1e12, 0.0))
