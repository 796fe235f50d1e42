"""Lattice menu with real input: FFT from the menu bar, Bragg peaks clicked on the Fourier map, a q-cut
dragged across it, drift correction from the submenu, alignment chosen in its dialog, and undo."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from analysis.dataset import Frame, Grid, Image
from analysis.lattice import datasets as lds
from analysis.lattice.bragg import angle_between_deg, lattice_vectors
from tests.analysis.lattice.synthetic import lattice_image, qpi_grid, smooth_drift, square_q
from tests.app.gui_support import click_map, close_window, open_window
from tests.app.real_input import choose, click_menu_path, menu_action
from tests.widgets.region_mouse import drag

PIX = 0.05e-9
A = 0.4e-9
FEATURES = ["app.features.lattice"]


def _lattice_image(name: str = "lattice", roll: tuple[int, int] = (0, 0)) -> Image:
    n = 128
    qa, qb = square_q(A, 10.0)
    ux, uy = smooth_drift((n, n), PIX, 0.25 * A)
    z = lattice_image((n, n), PIX, [qa, qb], ux, uy) * 2e-11
    z = np.roll(z, roll, axis=(0, 1))
    frame = Frame(center=(0.0, 0.0), size=(n * PIX, n * PIX), shape=(n, n))
    return Image(name=name, units={"Z": "m"}, channels={"Z": z.astype(np.float32)}, frame=frame)


def _new_entries(w, before: set[str]) -> list[str]:
    return [k for k in w.state.entries if k not in before]


def _click_button(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(button.width() // 2, button.height() // 2))


def _ok(qtbot, dialog) -> None:
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    _click_button(qtbot, ok)


def _undo(qtbot, w) -> None:
    """Edit > Undo ... clicked in the menu bar."""
    bar = w.menuBar()
    top = next(a for a in bar.actions() if a.text().replace("&", "") == "Edit")
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(top).center())
    menu = top.menu()
    qtbot.waitUntil(menu.isVisible, timeout=3000)
    act = next(a for a in menu.actions() if a.text().startswith("Undo"))
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(act).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=3000)


@pytest.fixture
def win(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=FEATURES)
    yield w
    close_window(qtbot, w)


def test_fft_peaks_drift_correction_and_undo_with_real_events(qtbot, win):
    w = win
    ctl = w.lattice
    key = w.state.add_dataset(_lattice_image(), "lattice")
    w.state.set_current(key)
    before = set(w.state.entries)
    menu_action(qtbot, w, "Lattice", "FFT of current image")
    qtbot.waitUntil(lambda: ctl.fft_key is not None, timeout=10000)
    fft_key = ctl.fft_key
    assert _new_entries(w, before) == [fft_key] and w.state.entries[fft_key].parent == key
    w.dock("lattice").raise_()
    panel = ctl.panel
    qtbot.waitUntil(lambda: panel.map.current_image() is not None and panel.map.isVisible(), timeout=5000)
    QApplication.processEvents()
    # the rendered Fourier map is brightest at the Bragg peaks
    img = panel.map.current_image()
    qx, qy = lds.q_axes_of(w.state.entries[fft_key].dataset)
    qa, qb = square_q(A, 10.0)
    iy, ix = np.unravel_index(np.nanargmax(img), img.shape)
    assert min(np.hypot(qx[ix] - s * q[0], qy[iy] - s * q[1]) for q in (qa, qb) for s in (1, -1)) < 3 / (
        128 * PIX
    )

    # pick two Bragg peaks by clicking next to them on the map
    _click_button(qtbot, panel.pick_button)
    assert ctl.pick_action.isChecked()
    for q in (qa, qb):
        click_map(qtbot, panel.map, q[0] + 0.6 / (128 * PIX), q[1] - 0.4 / (128 * PIX))
    peaks = ctl.peaks[fft_key]
    assert len(peaks) == 2 and panel.peak_list.count() == 2 and panel.map.marker_count() == 2
    for p, q in zip(peaks, (qa, qb)):
        assert np.hypot(p[0] - q[0], p[1] - q[1]) < 0.5 / (128 * PIX)
    assert abs(angle_between_deg(np.array(peaks[0]), np.array(peaks[1])) - 90) < 2

    # Ctrl+Z takes the last peak back
    qtbot.keyClick(panel.map.graphics.viewport(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(ctl.peaks[fft_key]) == 1 and panel.peak_list.count() == 1
    click_map(qtbot, panel.map, qb[0], qb[1])
    assert len(ctl.peaks[fft_key]) == 2

    # drift correction from its dialog: the reference lattice and L (4 lattice periods typed in, 3 by
    # default) give a derived image of the source
    before = set(w.state.entries)
    bar = w.menuBar()
    top = next(a for a in bar.actions() if a.text().replace("&", "") == "Lattice")
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(top).center())
    qtbot.waitUntil(top.menu().isVisible, timeout=3000)
    click_menu_path(qtbot, top.menu(), "Drift correct...")
    qtbot.waitUntil(lambda: ctl.dialog is not None and ctl.dialog.isVisible(), timeout=3000)
    dlg = ctl.dialog
    assert dlg.length.value() == 3.0 and dlg.reference.currentData() == ""
    choose(qtbot, dlg.reference, "square")
    edit = dlg.length.lineEdit()
    qtbot.mouseDClick(edit, Qt.MouseButton.LeftButton)
    edit.selectAll()
    qtbot.keyClicks(edit, "4")
    _ok(qtbot, dlg)
    qtbot.waitUntil(lambda: len(_new_entries(w, before)) == 1, timeout=15000)
    new = _new_entries(w, before)[0]
    out = w.state.entries[new]
    assert out.parent == key and isinstance(out.dataset, Image) and "drift corrected" in out.label
    step = out.dataset.provenance[-1]
    assert step["operation"] == "drift_correct" and step["parameters"]["ideal"] == "square"
    qa_, qb_ = lattice_vectors([np.asarray(p) for p in ctl.peaks[fft_key]])
    assert step["parameters"]["length"] == pytest.approx(4 / min(np.hypot(*qa_), np.hypot(*qb_)))

    # Edit > Undo removes the corrected image, then the peaks, and undoing the FFT clears the panel
    _undo(qtbot, w)
    assert new not in w.state.entries
    for _ in range(2):
        _undo(qtbot, w)
    assert fft_key in w.state.entries and panel.peak_list.count() == 0 and panel.map.marker_count() == 0
    _undo(qtbot, w)
    assert fft_key not in w.state.entries and ctl.fft_key is None
    assert panel.map.current_image() is None


def test_qpi_cut_dragged_on_the_fft_of_a_grid(qtbot, win):
    w = win
    ctl = w.lattice
    n = 96
    energies = np.linspace(-10e-3, 10e-3, 7)
    q0, slope = 1.2e9, 3.0e10
    cube = qpi_grid((n, n), PIX, energies, lambda e: q0 + slope * e)
    grid = Grid(
        name="qpi",
        units={"dI/dV": "S"},
        bias=energies,
        channels={"dI/dV": np.ascontiguousarray(cube)},
        frame=Frame(size=(n * PIX, n * PIX), shape=(n, n)),
        valid=np.ones((n, n), bool),
    )
    key = w.state.add_dataset(grid, "qpi")
    w.state.set_current(key)
    w.dock("lattice").raise_()
    choose(qtbot, ctl.panel.window_combo, "blackman")
    menu_action(qtbot, w, "Lattice", "FFT of current grid (QPI)")
    qtbot.waitUntil(lambda: ctl.fft_key is not None, timeout=10000)
    fft_key = ctl.fft_key
    fft = w.state.entries[fft_key].dataset
    assert isinstance(fft, Grid) and fft.shape == (n, n, 7)
    assert fft.metadata["lattice"]["window"] == "blackman"
    # the FFT grid has a slicer of its own
    assert any(v.dataset == fft_key and v.kind == "slicer" for v in w.state.views.values())
    w.dock("lattice").raise_()
    panel = ctl.panel
    qtbot.waitUntil(lambda: panel.map.current_image() is not None and panel.map.isVisible(), timeout=5000)

    # drag a cut from q = 0 outwards along qx
    _click_button(qtbot, panel.cut_button)
    assert ctl.cut_action.isChecked()
    p0 = panel.map.view_to_widget(0.0, 0.0)
    p1 = panel.map.view_to_widget(2.4e9, 0.0)
    pts = [
        QPointF(p0.x() + (p1.x() - p0.x()) * t, p0.y() + (p1.y() - p0.y()) * t) for t in np.linspace(0, 1, 6)
    ]
    drag(panel.map.graphics.viewport(), pts)
    qtbot.waitUntil(lambda: ctl.last_cut is not None, timeout=5000)
    cut = ctl.last_cut
    assert cut.values.shape == (cut.q.size, 7) and ctl.qpi.values is not None
    assert ctl.qpi.values.shape == cut.values.shape
    assert not panel.cut_button.isChecked()  # the tool switches off after one cut
    assert cut.q[-1] == pytest.approx(2.4e9, rel=0.1)
    # the cut's maxima follow the dispersion within two reciprocal pixels (a single unsymmetrised cut)
    sel = cut.q > 0.6e9
    q_found = cut.q[sel][np.argmax(cut.values[sel], axis=0)]
    assert np.median(np.abs(q_found - (q0 + slope * energies))) < 2 / (n * PIX)

    # the panel's slice follows the source grid's slicer
    src_view = next(k for k, v in w.state.views.items() if v.dataset == key)
    w.state.set_view(src_view, index=1)
    assert ctl.index[fft_key] == 1
    assert all(v.index == 1 for v in w.state.views.values() if v.dataset == fft_key)


def test_align_to_a_reference_chosen_in_the_dialog(qtbot, win):
    w = win
    ctl = w.lattice
    ref = w.state.add_dataset(_lattice_image("reference"), "reference")
    moved = w.state.add_dataset(_lattice_image("moved", roll=(2, -3)), "moved")
    w.state.set_current(moved)
    before = set(w.state.entries)
    menu_action(qtbot, w, "Lattice", "Align to...")
    qtbot.waitUntil(lambda: ctl.dialog is not None and ctl.dialog.isVisible(), timeout=3000)
    dlg = ctl.dialog
    choose(qtbot, dlg.reference, ref)
    _ok(qtbot, dlg)
    qtbot.waitUntil(lambda: len(_new_entries(w, before)) == 1, timeout=10000)
    out = w.state.entries[_new_entries(w, before)[0]]
    assert out.parent == moved
    sx, sy = out.dataset.provenance[-1]["parameters"]["shift_px"]
    assert sx == pytest.approx(-3, abs=0.05) and sy == pytest.approx(2, abs=0.05)


def test_symmetrise_and_inverse_filter_from_their_dialogs(qtbot, win):
    w = win
    ctl = w.lattice
    key = w.state.add_dataset(_lattice_image(), "lattice")
    w.state.set_current(key)
    menu_action(qtbot, w, "Lattice", "FFT of current image")
    qtbot.waitUntil(lambda: ctl.fft_key is not None, timeout=10000)
    fft_key = ctl.fft_key
    w.dock("lattice").raise_()
    panel = ctl.panel
    qtbot.waitUntil(lambda: panel.map.current_image() is not None and panel.map.isVisible(), timeout=5000)
    menu_action(qtbot, w, "Lattice", "Pick Bragg peaks")
    assert panel.pick_button.isChecked()
    qa, qb = square_q(A, 10.0)
    for q in (qa, qb):
        click_map(qtbot, panel.map, q[0], q[1])
    assert len(ctl.peaks[fft_key]) == 2

    # Symmetrise...: fourfold with mirrors about the first picked peak
    before = set(w.state.entries)
    menu_action(qtbot, w, "Lattice", "Symmetrise...")
    qtbot.waitUntil(lambda: ctl.dialog is not None and ctl.dialog.isVisible(), timeout=3000)
    dlg = ctl.dialog
    choose(qtbot, dlg.kind, "c4m")
    choose(qtbot, dlg.axis, "Along Q1")
    _ok(qtbot, dlg)
    qtbot.waitUntil(lambda: len(_new_entries(w, before)) == 1, timeout=10000)
    sym_key = _new_entries(w, before)[0]
    sym = w.state.entries[sym_key]
    assert sym.parent == fft_key and ctl.fft_key == sym_key and "c4m" in sym.label
    assert sym.dataset.provenance[-1]["parameters"]["axis"] == pytest.approx(list(ctl.peaks[fft_key][0]))
    amp = sym.dataset.channels[lds.AMPLITUDE]
    c = amp.shape[0] // 2
    inner = amp[c - 30 : c + 31, c - 30 : c + 31]
    assert np.allclose(np.rot90(inner), inner, rtol=1e-4, atol=1e-6 * inner.max())

    # Inverse filter... on the first transform's peaks: keep only them (a Bragg-filtered copy of the image)
    w.state.set_current(fft_key)
    assert ctl.fft_key == fft_key
    before = set(w.state.entries)
    menu_action(qtbot, w, "Lattice", "Inverse filter...")
    qtbot.waitUntil(lambda: ctl.dialog is not None and ctl.dialog.isVisible(), timeout=3000)
    dlg = ctl.dialog
    choose(qtbot, dlg.mode, "keep")
    _ok(qtbot, dlg)
    qtbot.waitUntil(lambda: len(_new_entries(w, before)) == 1, timeout=10000)
    out = w.state.entries[_new_entries(w, before)[0]]
    assert out.parent == key and "Bragg filtered" in out.label
    z0 = w.state.entries[key].dataset.channels["Z"]
    zf = out.dataset.channels["Z"]
    assert zf.shape == z0.shape and np.corrcoef(zf.ravel(), z0.ravel())[0, 1] > 0.8


def test_lattice_tools_without_data_explain_what_is_missing(qtbot, win):
    w = win
    for action in ("FFT of current image", "FFT of current grid (QPI)", "Symmetrise...", "Inverse filter..."):
        menu_action(qtbot, w, "Lattice", action)
    assert w.lattice.fft_key is None and not w.state.entries
    assert w.statusBar().currentMessage().startswith("Warning:")


@pytest.mark.realdata
def test_real_fese_topograph_fft_shows_the_se_lattice(qtbot, win):
    from analysis.lattice.bragg import find_peaks
    from analysis.processing.levelling import level
    from tests.conftest import shared_file

    w = win
    ctl = w.lattice
    w.open_files([shared_file("nanonis/FeSe_topography.sxm")])
    qtbot.waitUntil(lambda: bool(w.state.entries) and not w.loader.loading, timeout=20000)
    key = next(k for k, e in w.state.entries.items() if isinstance(e.dataset, Image))
    w.state.set_current(key)
    menu_action(qtbot, w, "Lattice", "FFT of current image")
    qtbot.waitUntil(lambda: ctl.fft_key is not None, timeout=10000)
    w.dock("lattice").raise_()
    panel = ctl.panel
    qtbot.waitUntil(lambda: panel.map.current_image() is not None and panel.map.isVisible(), timeout=5000)
    assert np.isfinite(panel.map.current_image()).all()
    # where the strongest Fourier peak of the levelled height map lies; the user clicks there
    im = w.state.entries[key].dataset
    z = level(np.asarray(im.channels["Z"], dtype=np.float64), "plane")
    q = find_peaks(z, im.frame.pixel_size, n=1)[0]
    _click_button(qtbot, panel.pick_button)
    click_map(qtbot, panel.map, q.qx, q.qy)
    (qx, qy), *_ = ctl.peaks[ctl.fft_key]
    assert 1 / np.hypot(qx, qy) == pytest.approx(0.38e-9, rel=0.03)  # the Se-Se spacing of FeSe
    assert panel.peak_list.item(0).text().endswith("nm")
