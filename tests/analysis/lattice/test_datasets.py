"""Derived lattice datasets: FFT images and grids on a q frame, corrected copies of images and grids."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.dataset import Frame, Grid, Image
from analysis.lattice import datasets as lds
from analysis.lattice.bragg import find_peaks, lattice_vectors
from analysis.lattice.fft import LatticeError, q_axes
from tests.analysis.lattice.synthetic import lattice_image, smooth_drift, square_q

PIX = 0.05e-9
A = 0.4e-9


def _image(n: int = 96, drift: bool = False) -> Image:
    qa, qb = square_q(A, 0.0)
    ux, uy = smooth_drift((n, n), PIX, 0.2 * A) if drift else (None, None)
    z = lattice_image((n, n), PIX, [qa, qb], ux, uy) * 1e-11
    frame = Frame(center=(1e-9, 2e-9), size=(n * PIX, n * PIX), shape=(n, n))
    return Image(
        name="lat",
        units={"Z": "m", "Current": "A"},
        frame=frame,
        channels={"Z": z.astype(np.float32), "Current": (z * 1e-3).astype(np.float32)},
    )


def test_q_frame_puts_pixels_on_the_q_axes():
    for shape in ((8, 10), (7, 9)):
        qx, qy = q_axes(shape, (PIX, 2 * PIX))
        f = lds.q_frame(qx, qy)
        x, y = f.pixel_to_xy(np.arange(shape[1]), np.zeros(shape[1]))
        assert np.allclose(x, qx, rtol=0, atol=1e-9 * qx.max())
        ds = Image(channels={"a": np.zeros(shape, np.float32)}, frame=f)
        gx, gy = lds.q_axes_of(ds)
        assert np.allclose(gx, qx, rtol=0, atol=1e-9 * qx.max()) and np.allclose(
            gy, qy, rtol=0, atol=1e-9 * qy.max()
        )


def test_fft_of_image_and_grid_are_marked_and_on_a_q_frame():
    im = _image()
    f = lds.fft_of_image(im)
    assert lds.is_fft(f) and set(f.channels) == {lds.AMPLITUDE, lds.PHASE, lds.POWER}
    assert f.metadata["lattice"]["source_channel"] == "Z" and f.units[lds.AMPLITUDE] == "m"
    qx, qy = lds.q_axes_of(f)
    amp = f.channels[lds.AMPLITUDE]
    iy, ix = np.unravel_index(np.argmax(amp), amp.shape)
    assert np.hypot(qx[ix], qy[iy]) == pytest.approx(1 / A, rel=0.02)
    cube = np.repeat(im.channels["Z"][:, :, None], 4, axis=2)
    g = Grid(
        name="g",
        bias=np.linspace(-1e-3, 1e-3, 4),
        channels={"dI/dV": cube},
        frame=im.frame,
        units={"dI/dV": "S"},
        valid=np.ones((96, 96), bool),
    )
    fg = lds.fft_of_grid(g, "dI/dV")
    assert lds.is_fft(fg) and fg.shape == (96, 96, 4) and np.allclose(fg.bias, g.bias)
    assert np.allclose(fg.channels[lds.AMPLITUDE][:, :, 2], amp, rtol=1e-3, atol=1e-6 * amp.max())
    s = lds.symmetrised(fg, "c4")
    assert s.channels[lds.AMPLITUDE].shape == (96, 96, 4) and "c4" in s.name
    with pytest.raises(LatticeError, match="Fourier"):
        lds.symmetrised(im, "c4")


def test_drift_corrected_filtered_and_aligned_copies_keep_every_channel():
    im = _image(drift=True)
    z = im.channels["Z"]
    qa, qb = lattice_vectors(find_peaks(z, im.frame.pixel_size, n=4))
    out, field = lds.drift_corrected(im, qa, qb, ideal="square")
    assert set(out.channels) == {"Z", "Current"} and out.frame == im.frame
    assert out.provenance[-1]["operation"] == "drift_correct" and field.rms() > 0
    filt = lds.fourier_filtered(im, [qa, qb], radius=0.1 / A, keep=True)
    assert filt.channels["Z"].shape == z.shape
    with pytest.raises(LatticeError, match="peak"):
        lds.fourier_filtered(im, [], radius=1e8)
    # a copy moved by a known number of pixels aligns back onto the original
    moved = Image(
        name="moved",
        units=im.units,
        frame=im.frame,
        channels={k: np.roll(v, (3, -2), axis=(0, 1)) for k, v in im.channels.items()},
    )
    back, (dx, dy) = lds.aligned(moved, im)
    assert dx == pytest.approx(-2 * PIX, abs=0.05 * PIX) and dy == pytest.approx(3 * PIX, abs=0.05 * PIX)
    far = Image(
        name="far",
        units=im.units,
        channels=im.channels,
        frame=Frame(center=(1e-6, 0), size=im.frame.size, shape=im.frame.shape),
    )
    with pytest.raises(LatticeError, match="same area"):
        lds.aligned(far, im)


def test_fft_datasets_survive_a_project_file(tmp_path):
    from analysis.store.hdf5 import ProjectEntry, open_project, save_project

    im = _image(32)
    cube = np.repeat(im.channels["Z"][:, :, None], 3, axis=2)
    g = Grid(
        name="g",
        units={"dI/dV": "S"},
        bias=np.linspace(-1e-3, 1e-3, 3),
        channels={"dI/dV": cube},
        frame=im.frame,
        valid=np.ones((32, 32), bool),
    )
    f1, f2 = lds.fft_of_image(im), lds.fft_of_grid(g, "dI/dV")
    path = tmp_path / "p.h5"
    save_project(
        path,
        [
            ProjectEntry("a", "im", im),
            ProjectEntry("b", "fft", f1, "a"),
            ProjectEntry("c", "g", g),
            ProjectEntry("d", "fft grid", f2, "c"),
        ],
    )
    back = {e.key: e for e in open_project(path).load_all()}
    assert not back["a"].dataset.frame.reciprocal and back["a"].dataset.frame == im.frame
    for key, orig in (("b", f1), ("d", f2)):
        ds = back[key].dataset
        assert back[key].parent == {"b": "a", "d": "c"}[key]
        assert lds.is_fft(ds) and ds.metadata["lattice"] == orig.metadata["lattice"]
        assert ds.frame.reciprocal and ds.frame == orig.frame  # the frame stays in reciprocal space
        assert np.allclose(np.asarray(ds.channels[lds.AMPLITUDE]), orig.channels[lds.AMPLITUDE])
        qx, _ = lds.q_axes_of(ds)
        assert np.allclose(qx, lds.q_axes_of(orig)[0])
