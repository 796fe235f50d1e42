"""Fitting in the real main window: clicked-pixel fit, cancel, batch maps in the browser, Josephson."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from analysis.dataset import Frame, Grid, Image, Spectrum
from analysis.models.registry import get_model

NY, NX, NB = 6, 5, 128


def _dynes_grid(seed: int = 0) -> tuple[Grid, np.ndarray]:
    model = get_model("dynes_sin")
    rng = np.random.default_rng(seed)
    x = np.linspace(-5e-3, 5e-3, NB)
    P = np.tile(np.array([model.defaults()[k] for k in model.param_names]), (NY * NX, 1))
    P[:, 0] = 2e-8
    P[:, 1] = np.where(np.arange(NY * NX) % NX < 2, 1.2e-3, 1.5e-3)  # two "grains"
    P[:, 2] = 0.08e-3
    cube = model.evaluate_batch(x, P) + 2e-10 * rng.standard_normal((NY * NX, NB))
    grid = Grid(
        name="dynes",
        units={"dI/dV": "S", "Current": "A"},
        bias=x,
        channels={
            "Current": np.zeros((NY, NX, NB), np.float32),
            "dI/dV": cube.reshape(NY, NX, NB).astype(np.float32),
        },
        frame=Frame(center=(0.0, 0.0), size=(NX * 1e-9, NY * 1e-9), shape=(NY, NX)),
        valid=np.ones((NY, NX), bool),
    )
    return grid, P.reshape(NY, NX, -1)


@pytest.fixture
def window(qtbot, tmp_path):
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, features=["app.features.fit"], restore_layout=False)
    qtbot.addWidget(w)
    assert w.features_installed == ["app.features.fit"], w.features_failed
    yield w
    w.shutdown()


@pytest.fixture
def loaded(window):
    grid, P = _dynes_grid()
    key = window.state.add_dataset(grid, "dynes grid")
    return window, key, grid, P


def _click_pixel(window, grid, iy, ix):
    x, y = grid.frame.pixel_to_xy(ix, iy)
    window.state.set_cursor((float(x), float(y)))


def test_fit_clicked_pixel(loaded, qtbot):
    window, key, grid, P = loaded
    fc = window.fit_controller
    assert "Fit spectrum" in [a.text() for a in window.menu("Analysis").actions()]
    fc.panel.set_current_model("dynes_sin")
    _click_pixel(window, grid, 3, 4)
    assert fc.panel.current_source() == "cursor"
    x, y = fc.panel.data_arrays()
    np.testing.assert_allclose(y, grid.channels["dI/dV"][3, 4], rtol=1e-6)
    fc.panel.fit_button.click()
    assert not fc.panel.fit_button.isEnabled()
    qtbot.waitUntil(lambda: len(window.state.fits) == 1, timeout=60000)
    rec = next(iter(window.state.fits.values()))
    assert rec.kind == "single" and rec.grid == key
    vals = {p["name"]: p for p in rec.record["params"]}
    assert abs(vals["Delta"]["value"] - P[3, 4, 1]) < 5 * vals["Delta"]["stderr"] + 1e-6
    assert fc.panel.fit_button.isEnabled()
    assert "Delta" in fc.panel.report() and "+/-" in fc.panel.report()
    mx, my = fc.panel.model_curve()
    assert mx.size == NB and np.all(np.isfinite(my))
    # The gap from this fit feeds the Josephson box.
    fc.panel.jos_box.setChecked(True)
    fc.panel.jos_gap_button.click()
    assert fc.panel.jos_gap.value() == pytest.approx(vals["Delta"]["value"] * 1e3, rel=1e-3)


def test_fit_cancel_leaves_project_unchanged(loaded, qtbot, monkeypatch):
    import threading

    import app.features.fit as fit_module
    from app.workers import Cancelled

    started = threading.Event()

    def slow_fit(*args, cancel=None, **kwargs):  # a fit that runs until it is cancelled (fits are fast now)
        started.set()
        while not (cancel is not None and cancel.wait(0.01)):
            pass
        raise Cancelled("fit cancelled")

    monkeypatch.setattr(fit_module, "fit_spectrum", slow_fit)
    window, key, grid, _ = loaded
    fc = window.fit_controller
    fc.panel.set_current_model("dynes_sin")
    _click_pixel(window, grid, 1, 1)
    before = dict(window.state.entries)
    fc.panel.fit_button.click()
    qtbot.waitUntil(started.is_set, timeout=5000)
    fc.panel.cancel_button.click()
    qtbot.waitUntil(lambda: fc.job is None, timeout=60000)
    assert "cancelled" in fc.panel.report().lower()
    assert window.state.fits == {}
    assert window.state.entries == before
    assert fc.panel.fit_button.isEnabled()


def test_batch_fit_adds_maps_to_browser(loaded, qtbot):
    window, key, grid, P = loaded
    fc = window.fit_controller
    fc.panel.set_current_model("dynes_sin")
    d = fc.open_batch_dialog()
    assert d is not None and d.channel_combo.currentText() == "dI/dV"
    d.workers.setValue(1)
    d.start_button.click()
    qtbot.waitUntil(lambda: len(window.state.children(key)) == 1, timeout=120000)
    [child] = window.state.children(key)
    img = child.dataset
    assert isinstance(img, Image) and img.frame == grid.frame
    np.testing.assert_allclose(img.channels["Delta"], P[..., 1], atol=0.02e-3)
    assert np.all(img.channels["success"] == 1)
    assert "converged" in d.status.text()
    batch = [f for f in window.state.fits.values() if f.kind == "batch"]
    assert batch and batch[0].maps == child.key and batch[0].grid == key
    # the gap map opens in a map view of its own
    shown = [p for p in window.map_panels() if p.dataset_key == child.key]
    assert len(shown) == 1 and shown[0].value_label == "Delta"
    np.testing.assert_array_equal(shown[0].current_image(), img.channels[shown[0].value_label])


def test_batch_fit_cancel_adds_nothing(loaded, qtbot):
    window, key, grid, _ = loaded
    fc = window.fit_controller
    fc.panel.set_current_model("dynes_sin")
    d = fc.open_batch_dialog()
    d.workers.setValue(1)
    d.start_combo.setCurrentIndex(1)  # a guess per pixel, then the fit
    cube_before = grid.channels["dI/dV"].copy()
    d.start_button.click()
    d.cancel_button.click()
    qtbot.waitUntil(lambda: fc.batch_job is None, timeout=60000)
    assert window.state.children(key) == []
    assert not any(f.kind == "batch" for f in window.state.fits.values())
    np.testing.assert_array_equal(grid.channels["dI/dV"], cube_before)
    assert "Cancelled" in d.status.text()


def test_josephson_series_in_window(window, qtbot):
    from analysis.models.josephson import ab_icrn, iz_conductance

    delta, T, R, Teff = 2.5e-3, 2.1, 100.0, 66.0
    V = np.linspace(-2e-3, 2e-3, 201)
    rng = np.random.default_rng(3)
    keys = []
    for r_n in (15e3, 25e3):
        ic = ab_icrn(delta, None, T) / r_n
        g = iz_conductance(V, ic, R, Teff)
        g = g + 1e-3 * np.abs(g).max() * rng.standard_normal(V.size)
        sp = Spectrum(name=f"RN {r_n:g}", x=V, channels={"dI/dV": g}, units={"dI/dV": "S"})
        keys.append(window.state.add_dataset(sp, f"josephson {r_n / 1e3:g} kOhm"))
    fc = window.fit_controller
    fc.panel.jos_box.setChecked(True)
    fc.panel.set_gap(delta)
    fc.panel.jos_T.setValue(T)
    for k, r_n in zip(keys, (15e3, 25e3)):
        fc.panel.add_josephson_item(f"spec:{k}", k, r_n)
    fc.panel.jos_fit.click()
    qtbot.waitUntil(lambda: any(f.kind == "josephson" for f in window.state.fits.values()), timeout=60000)
    rec = next(f for f in window.state.fits.values() if f.kind == "josephson")
    assert rec.R == pytest.approx(R, rel=0.05)
    assert rec.Teff == pytest.approx(Teff, rel=0.05)
    assert rec.R_N == [15e3, 25e3]
    assert "T_eff" in fc.panel.report()


def test_sources_follow_state(loaded):
    window, key, grid, _ = loaded
    fc = window.fit_controller
    _click_pixel(window, grid, 0, 0)
    p = window.state.pin(*grid.frame.pixel_to_xy(2, 2))
    from analysis.maps.regions import Rectangle, Region

    region = Region("left", geometry=Rectangle(center=(-1.5e-9, 0.0), size=(2e-9, 6e-9)))
    window.state.regions[region.id] = region
    window.state.regions_changed.emit()
    from analysis.maps.linecut import CutPath

    window.state.linecuts["c1"] = CutPath(((-2e-9, 0.0), (0.0, 0.0), (0.0, 2.5e-9)), name="bent")
    window.state.linecuts_changed.emit()
    keys = [fc.panel.source_combo.itemData(i) for i in range(fc.panel.source_combo.count())]
    assert keys == ["cursor", f"pin:{p.key}", f"region:{region.id}", "cut:c1"]
    x, y, label, gk = fc.source_data(f"region:{region.id}")
    mask = region.mask_in(grid.frame)
    np.testing.assert_allclose(y, grid.channels["dI/dV"][mask].mean(axis=0), rtol=1e-5)
    for t, xy in ((1.0, (0.0, 2.5e-9)), (0.2, (-1.1e-9, 0.0))):  # along the bent polyline (length 4.5 nm)
        fc.panel.position.setValue(t)
        x, y, label, gk = fc.source_data("cut:c1")
        iy, ix = grid.frame.nearest_pixel(*xy)
        np.testing.assert_allclose(y, grid.channels["dI/dV"][iy, ix], rtol=1e-6)


def test_cursor_moves_do_not_recompute_a_region_source(loaded, monkeypatch):
    window, key, grid, _ = loaded
    fc = window.fit_controller
    from analysis.maps.regions import Rectangle, Region

    region = Region("all", geometry=Rectangle(center=(0.0, 0.0), size=(6e-9, 7e-9)))
    window.state.regions[region.id] = region
    window.state.regions_changed.emit()
    fc.panel.set_current_source(f"region:{region.id}")
    _, y_region = fc.panel.data_arrays()
    calls = []
    original = fc.source_data
    monkeypatch.setattr(fc, "source_data", lambda *a, **k: calls.append(a) or original(*a, **k))
    _click_pixel(window, grid, 2, 2)
    assert calls == []  # the plotted region average is kept
    np.testing.assert_array_equal(fc.panel.data_arrays()[1], y_region)
    fc.panel.set_current_source("cursor")
    assert calls and calls[-1][0] == "cursor"
    np.testing.assert_allclose(fc.panel.data_arrays()[1], grid.channels["dI/dV"][2, 2], rtol=1e-6)


def test_fit_records_survive_a_project_round_trip(loaded, qtbot, tmp_path):
    from analysis.store import open_project, save_project
    from app.state import AppState
    from app.state.project_io import collect_project, restore_project

    window, key, grid, _ = loaded
    fc = window.fit_controller
    fc.panel.set_current_model("dynes_sin")
    _click_pixel(window, grid, 2, 1)
    fc.panel.fit_button.click()
    qtbot.waitUntil(lambda: len(window.state.fits) == 1, timeout=60000)
    d = fc.open_batch_dialog()
    d.workers.setValue(1)
    d.start_button.click()
    qtbot.waitUntil(lambda: len(window.state.fits) == 2, timeout=120000)
    entries, attachments = collect_project(window.state)
    save_project(tmp_path / "p.h5", entries, attachments)
    fresh = AppState()
    with open_project(tmp_path / "p.h5") as proj:
        result = restore_project(fresh, proj)
        fits = list(fresh.fits.values())
        single = next(f for f in fits if f.kind == "single")
        batch = next(f for f in fits if f.kind == "batch")
        old_single = next(f for f in window.state.fits.values() if f.kind == "single")
        assert single.record == old_single.record
        # References to the grid and the maps point at the restored datasets.
        assert batch.grid == result.keys[key]
        assert isinstance(fresh.entries[batch.maps].dataset, Image)
        assert fresh.entries[batch.maps].parent == batch.grid


def test_the_fit_report_comes_back_with_the_project(qtbot, tmp_path):
    from tests.app.gui_support import close_window, open_window

    w = open_window(qtbot, tmp_path, features=None)
    grid, _P = _dynes_grid()
    try:
        w.state.add_dataset(grid, "dynes grid")
        fc = w.fit_controller
        fc.panel.set_current_model("dynes_sin")
        _click_pixel(w, grid, 2, 3)
        qtbot.mouseClick(fc.panel.fit_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(w.state.fits) == 1, timeout=60000)
        report = fc.panel.report()
        assert "dynes_sin" in report
        path = tmp_path / "fit.h5"
        w.project.save_to(path)
        qtbot.waitUntil(lambda: path.exists() and not w.active_jobs(), timeout=20000)
    finally:
        close_window(qtbot, w)
    (tmp_path / "again").mkdir()
    w2 = open_window(qtbot, tmp_path / "again", features=None)
    try:
        w2.project.open(path)
        qtbot.waitUntil(
            lambda: len(w2.state.fits) == 1 and not w2.active_jobs() and not w2.project.restoring,
            timeout=20000,
        )
        restored = w2.fit_controller.panel.report()
        assert restored.startswith("Restored with the project:") and report.strip() in restored
    finally:
        close_window(qtbot, w2)
