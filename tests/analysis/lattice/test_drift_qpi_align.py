"""Drift correction, QPI cuts, Fourier filtering and alignment against synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from analysis.dataset import Frame
from analysis.lattice.align import apply_shift, estimate_shift, resample_to_frame
from analysis.lattice.bragg import angle_between_deg, find_peaks, lattice_vectors, refine_peak
from analysis.lattice.drift import apply_field, displacement_field, drift_correct, unwrap_phase
from analysis.lattice.fft import LatticeError, fft_grid, fft_image
from analysis.lattice.qpi import inverse_filter, peak_along_cut, q_cut
from analysis.lattice.symmetry import symmetrise
from tests.analysis.lattice.synthetic import lattice_image, qpi_grid, smooth_drift, square_q

PIX = 0.05e-9
A = 0.4e-9  # 8 pixels per lattice period


def test_unwrap_phase_recovers_a_smooth_phase():
    y, x = np.mgrid[0:64, 0:80].astype(float)
    phi = 0.3 * x + 0.05 * (y - 30) ** 2 / 10 + 1.0
    out = unwrap_phase(np.angle(np.exp(1j * phi)))
    d = out - phi  # whole turns are not observable: the difference is one multiple of 2 pi
    assert np.ptp(d) < 1e-6
    assert abs(d.mean() / (2 * np.pi) - round(d.mean() / (2 * np.pi))) < 1e-6


def test_drift_field_recovered_and_peaks_sharpened():
    shape = (256, 256)
    qa, qb = square_q(A, 5.0)
    ux, uy = smooth_drift(shape, PIX, 0.35 * A)
    z = lattice_image(shape, PIX, [qa, qb], ux, uy, noise=0.3)
    # the workflow: Bragg peaks picked on the drifted image, then the field
    qa_m, qb_m = lattice_vectors(find_peaks(z, (PIX, PIX), n=4))
    corrected, field = drift_correct(z, (PIX, PIX), qa_m, qb_m, length=2 * A)
    err = np.hypot(field.ux - ux, field.uy - uy)
    rms_all = float(np.sqrt(np.mean(err**2)))
    inner = err[16:-16, 16:-16]  # two demodulation lengths from the (non-periodic) edges
    rms_inner = float(np.sqrt(np.mean(inner**2)))
    assert rms_inner < 0.1 * A
    assert rms_all < 0.15 * A
    assert field.rms() == pytest.approx(float(np.sqrt(np.mean(ux**2 + uy**2))), rel=0.15)
    # the corrected image's Bragg peak is higher (sharper) than the drifted one's
    before = refine_peak(z, (PIX, PIX), qa_m).amplitude
    after = refine_peak(np.nan_to_num(corrected, nan=0.0), (PIX, PIX), qa_m).amplitude
    assert after > 1.1 * before
    assert after > 0.95 * 0.5  # a perfect lattice of unit cosines has peaks of 1/2
    # and close to a perfect lattice
    perfect = lattice_image(shape, PIX, [field.qa, field.qb])
    ok = np.isfinite(corrected)[20:-20, 20:-20]
    c = np.corrcoef(corrected[20:-20, 20:-20][ok], perfect[20:-20, 20:-20][ok])[0, 1]
    assert c > 0.9


def test_drift_field_applied_to_every_slice_of_a_grid():
    shape = (64, 64)
    qa, qb = square_q(A, 0.0)
    ux, uy = smooth_drift(shape, PIX, 0.2 * A)
    z = lattice_image(shape, PIX, [qa, qb], ux, uy)
    field = displacement_field(z, (PIX, PIX), qa, qb)
    cube = np.stack([z * s for s in (1.0, 2.0, -1.0)], axis=2).astype(np.float32)
    cube[3, 3, 1] = np.nan
    out = apply_field(cube, field, order=1)
    assert out.shape == cube.shape and out.dtype == np.float32
    one = apply_field(z, field, order=1)
    assert np.allclose(out[:, :, 0], one, atol=1e-5, equal_nan=True)
    assert np.allclose(out[:, :, 2], -one, atol=1e-5, equal_nan=True)
    assert np.isnan(out[:, :, 1]).sum() >= 1  # the missing pixel stays missing, nothing else is lost
    assert np.isfinite(out[:, :, 1]).sum() >= np.isfinite(out[:, :, 0]).sum() - 9
    with pytest.raises(LatticeError, match="parallel"):
        displacement_field(z, (PIX, PIX), qa, 2 * qa)


def test_qpi_cut_recovers_a_known_dispersion():
    n = 128
    energies = np.linspace(-10e-3, 10e-3, 9)
    q0, slope = 1.2e9, 3.0e10  # 1/m and 1/m per V: q(E) = q0 + slope * E
    cube = qpi_grid((n, n), PIX, energies, lambda e: q0 + slope * e)
    res = fft_grid(cube, (PIX, PIX), "hann")
    # an isotropic band: the speckle of a dozen scatterers is averaged out by symmetrising first
    amp = symmetrise(res.amplitude, res.qx, res.qy, "c4m")
    cut = q_cut(amp, res.qx, res.qy, (0.0, 0.0), (2.5e9, 2.5e9 * np.tan(np.radians(20))))
    assert cut.values.shape == (cut.q.size, energies.size)
    q_found = peak_along_cut(cut, q_min=0.5e9)
    dq = 1 / (n * PIX)  # one reciprocal pixel, 1.56e8 1/m
    truth = q0 + slope * energies
    assert np.max(np.abs(q_found - truth)) < 0.5 * dq
    fit = np.polyfit(energies, q_found, 1)
    assert fit[0] == pytest.approx(slope, rel=0.05)
    assert fit[1] == pytest.approx(q0, rel=0.02)


def test_q_cut_samples_bilinearly():
    qx = np.arange(-4, 4) * 1.0
    qy = np.arange(-3, 3) * 2.0
    QX, QY = np.meshgrid(qx, qy)
    stack = np.stack([QX + 10 * QY, 2 * QX], axis=2)
    cut = q_cut(stack, qx, qy, (-3.0, -4.0), (2.0, 3.0), n_q=11)
    assert np.allclose(cut.values[:, 0], cut.points[:, 0] + 10 * cut.points[:, 1])
    assert np.allclose(cut.values[:, 1], 2 * cut.points[:, 0])
    assert cut.q[-1] == pytest.approx(np.hypot(5, 7))
    with pytest.raises(LatticeError, match="length"):
        q_cut(stack, qx, qy, (1, 1), (1, 1))


def test_inverse_filter_removes_or_keeps_the_lattice():
    n = 128
    qa, qb = square_q(A, 0.0)
    lat = lattice_image((n, n), PIX, [qa, qb])
    y, x = np.mgrid[0:n, 0:n]
    slow = np.exp(-((x - 60) ** 2 + (y - 70) ** 2) / (2 * 15.0**2))
    z = lat + slow
    removed = inverse_filter(z, (PIX, PIX), [qa, qb], radius=0.1 / A)
    assert np.sqrt(np.mean((removed - slow) ** 2)) < 0.02
    kept = inverse_filter(z, (PIX, PIX), [qa, qb], radius=0.1 / A, keep=True)
    assert np.sqrt(np.mean((kept - lat) ** 2)) < 0.05
    grid = inverse_filter(np.stack([z, 2 * z], axis=2), (PIX, PIX), [qa, qb], radius=0.1 / A)
    assert np.allclose(grid[:, :, 1], 2 * removed)


@pytest.mark.parametrize("shift", [(3.37, -5.81), (-0.42, 0.13)])
def test_alignment_recovers_a_known_sub_pixel_shift(shift):
    rng = np.random.default_rng(5)
    big = ndimage.gaussian_filter(rng.standard_normal((160, 170)), 2.5)
    # the moving image is the reference translated by shift (a crop of one larger field, not periodic)
    spline = ndimage.spline_filter(big, order=3)
    yy, xx = np.mgrid[0:128, 0:128].astype(float) + 16
    ref = ndimage.map_coordinates(spline, [yy, xx], order=3, prefilter=False)
    mov = ndimage.map_coordinates(spline, [yy - shift[0], xx - shift[1]], order=3, prefilter=False)
    noisy = 2.0 * mov + 1.0 + 0.01 * rng.standard_normal(mov.shape)  # another gain, offset and noise
    dy, dx = estimate_shift(ref, noisy)
    assert abs(dy - shift[0]) < 0.05 and abs(dx - shift[1]) < 0.05
    back = apply_shift(mov, (dy, dx))
    ok = np.isfinite(back)
    assert ok[10:-10, 10:-10].all()
    assert np.sqrt(np.mean((back[ok] - ref[ok]) ** 2)) < 0.05 * ref.std()


def test_resample_to_frame_maps_a_coarser_frame():
    src = Frame(size=(10e-9, 10e-9), shape=(20, 20))
    dst = Frame(size=(10e-9, 10e-9), shape=(40, 40))
    iy, ix = np.mgrid[0:20, 0:20]
    x, _ = src.pixel_to_xy(ix, iy)
    out = resample_to_frame(x, src, dst)
    X, _ = dst.pixel_to_xy(*np.mgrid[0:40, 0:40][::-1])
    inner = np.s_[2:-2, 2:-2]
    assert np.allclose(out[inner], X[inner], rtol=1e-9, atol=1e-18)


def test_fft_of_noise_has_finite_output():
    z = np.random.default_rng(0).standard_normal((33, 47))
    z[0, 0] = np.nan
    res = fft_image(z, (PIX, 2 * PIX), "tukey")
    assert np.isfinite(res.amplitude).all()


def test_ideal_square_reference_removes_a_uniform_skew():
    shape = (128, 128)
    qa, qb = square_q(A, 20.0)
    y, x = np.mgrid[0:128, 0:128] * PIX
    ux, uy = 0.04 * (y - y.mean()), 0.02 * (x - x.mean())  # a uniform shear and stretch (linear drift)
    z = lattice_image(shape, PIX, [qa, qb], ux, uy)
    qa_m, qb_m = lattice_vectors(find_peaks(z, (PIX, PIX), n=4))
    assert abs(angle_between_deg(qa_m, qb_m) - 90) > 2  # visibly skewed before
    corrected, field = drift_correct(z, (PIX, PIX), qa_m, qb_m, ideal="square")
    assert angle_between_deg(field.qa, field.qb) == pytest.approx(90.0, abs=1e-9)
    c = np.where(np.isfinite(corrected), corrected, 0.0)
    qa_c, qb_c = lattice_vectors(find_peaks(c, (PIX, PIX), n=4))
    assert abs(angle_between_deg(qa_c, qb_c) - 90) < 0.5
    assert abs(np.linalg.norm(qa_c) - np.linalg.norm(qb_c)) < 0.01 * np.linalg.norm(qa_c)
    with pytest.raises(LatticeError, match="ideal"):
        displacement_field(z, (PIX, PIX), qa_m, qb_m, ideal="cubic")


@pytest.mark.realdata
def test_real_fese_topograph_bragg_peaks_and_drift_correction():
    from analysis.io.nanonis_image import read_image
    from analysis.processing.levelling import level
    from tests.conftest import shared_file

    im = read_image(shared_file("nanonis/FeSe_topography.sxm"))
    z = level(np.asarray(im.channels["Z"], dtype=np.float64), "plane")
    pix = im.frame.pixel_size
    qa, qb = lattice_vectors(find_peaks(z, pix, n=4))
    # the image resolves the Se lattice: both Bragg peaks at the Se-Se spacing, about 0.38 nm
    for q in (qa, qb):
        assert 1 / np.linalg.norm(q) == pytest.approx(0.38e-9, rel=0.03)
    skew = abs(angle_between_deg(qa, qb) - 90)
    corrected, field = drift_correct(z, pix, qa, qb, ideal="square")
    c = np.where(np.isfinite(corrected), corrected, np.nanmean(corrected))
    qa_c, qb_c = lattice_vectors(find_peaks(c, pix, n=4))
    assert abs(angle_between_deg(qa_c, qb_c) - 90) < min(0.5, skew)
    assert np.isfinite(field.ux).all() and field.rms() < 0.5e-9
