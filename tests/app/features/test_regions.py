"""The regions feature in the real main window: draw, average, undo/redo, bands, brushing, export."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from analysis.dataset import Frame, Grid
from analysis.maps.regions import Rectangle
from analysis.store.region_io import read_masks_npz, read_spectra_csv
from tests.widgets.region_mouse import drag

NM = 1e-9


def _grids():
    """Two co-registered grids (QP +-15 mV, Josephson +-2 mV) with a known pattern and a NaN pixel."""
    frame = Frame(center=(0.0, 0.0), size=(100 * NM, 100 * NM), shape=(40, 40))
    rng = np.random.default_rng(5)
    iy, ix = np.mgrid[0:40, 0:40]
    strength = (ix / 39.0).astype(np.float32)  # rises left to right
    qb = np.linspace(-15e-3, 15e-3, 61)
    jb = np.linspace(-2e-3, 2e-3, 41)
    qp = 1e-9 * (1 + strength[..., None] * np.exp(-(((np.abs(qb) - 5e-3) / 1e-3) ** 2)))
    jo = 1e-9 * (1 + strength[..., None] * np.exp(-((jb / 0.3e-3) ** 2)))
    qp = (qp + 1e-11 * rng.standard_normal(qp.shape)).astype(np.float32)
    jo = (jo + 1e-11 * rng.standard_normal(jo.shape)).astype(np.float32)
    jo[20, 5, :] = np.nan
    valid = np.ones((40, 40), bool)
    g1 = Grid(name="QP", bias=qb, channels={"dI/dV": qp}, units={"dI/dV": "S"}, frame=frame, valid=valid)
    g2 = Grid(
        name="Josephson", bias=jb, channels={"dI/dV": jo}, units={"dI/dV": "S"}, frame=frame, valid=valid
    )
    g2.params["Z"] = (iy * 1e-10).astype(np.float64)
    return g1, g2


@pytest.fixture
def win(qtbot, tmp_path):
    from app.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, features=["app.features.regions"], restore_layout=False)
    qtbot.addWidget(w)
    assert "app.features.regions" in w.features_installed, w.features_failed
    g1, g2 = _grids()
    kq = w.state.add_dataset(g1)
    kj = w.state.add_dataset(g2)
    w.show()
    qtbot.waitExposed(w)
    w.keys = (kq, kj)
    w.grids = (g1, g2)
    yield w
    w.shutdown()


def _slicer(w, key):
    panels = [p for p in w.map_panels() if p.dataset_key == key and hasattr(p, "sweep_value")]
    assert panels, "no slicer panel for the grid"
    return panels[0]


def _settle(qtbot, ctl):
    qtbot.waitUntil(lambda: not ctl.is_busy(), timeout=10000)


def test_draw_rectangle_on_a_map_average_and_undo(qtbot, win):
    ctl = win.regions
    kq, kj = win.keys
    g1, g2 = win.grids
    assert ctl.spectra_panel.grid_keys() == [kq, kj]  # QP left, Josephson right
    panel = _slicer(win, kj)
    panel.view_box.setRange(xRange=(-50 * NM, 50 * NM), yRange=(-50 * NM, 50 * NM), padding=0)
    qtbot.wait(50)
    ctl.list_panel.tool_buttons["rectangle"].click()
    assert ctl.drawer_for(panel).tool() == "rectangle"
    pts = [(-40 * NM + i * 3 * NM, -10 * NM + i * 2 * NM) for i in range(11)]  # to (-10, 10) nm
    drag(panel.graphics.viewport(), [panel.view_to_widget(x, y) for x, y in pts])
    assert len(win.state.regions) == 1
    region = next(iter(win.state.regions.values()))
    assert isinstance(region.geometry, Rectangle)
    assert not ctl.list_panel.tool_buttons["rectangle"].isChecked()
    _settle(qtbot, ctl)
    mask = region.mask_in(g1.frame)
    row = ctl.list_panel.rows()[0]
    assert row.pixels == int(mask.sum()) > 0
    assert row.area_nm2 == pytest.approx(region.geometry.area_m2 * 1e18)
    # plotted mean spectrum = numpy mean over the region (normalisation off, no offset for one curve)
    ctl.spectra_panel.mode_combo.setCurrentIndex(ctl.spectra_panel.mode_combo.findData("none"))
    for key, g in ((kq, g1), (kj, g2)):
        x, y = ctl.spectra_panel.curve_data(key, region.id)
        good = mask & np.isfinite(g.channels["dI/dV"]).all(axis=2)
        np.testing.assert_allclose(x, g.bias)
        np.testing.assert_allclose(y, g.channels["dI/dV"][good].astype(np.float64).mean(axis=0), rtol=1e-5)
    nan_inside = bool(mask[20, 5])
    label = ctl.spectra_panel.legend_labels(kj)[0]
    assert label.startswith(f"{region.name} (n={int(mask.sum()) - nan_inside})")
    # every map shows the region as an editable ROI
    for p in win.map_panels():
        assert ctl.drawer_for(p).region_ids() == [region.id]
    # undo / redo through the panel buttons
    ctl.list_panel.undo_button.click()
    assert win.state.regions == {} and ctl.list_panel.rows() == []
    ctl.list_panel.redo_button.click()
    assert list(win.state.regions) == [region.id]
    _settle(qtbot, ctl)


def test_edit_rename_recolour_delete_are_undoable(qtbot, win):
    ctl = win.regions
    r = ctl.add_geometry(Rectangle((0.0, 0.0), (20 * NM, 20 * NM)))
    ctl.rename(r.id, "grain A")
    ctl.recolour(r.id, (1, 2, 3))
    # moving the ROI on a map is a geometry edit
    panel = win.map_panels()[-1]
    roi = ctl.drawer_for(panel).roi(r.id)
    p = roi.pos()
    roi.setPos(p.x() + 10 * NM, p.y(), finish=True)
    moved = win.state.regions[r.id]
    assert moved.geometry.center == pytest.approx((10 * NM, 0.0), abs=1e-15)
    assert (moved.name, moved.colour) == ("grain A", (1, 2, 3))
    # the other maps follow
    for other in win.map_panels():
        assert ctl.drawer_for(other).geometry_of(r.id).center == pytest.approx((10 * NM, 0.0), abs=1e-15)
    ctl.delete([r.id])
    assert win.state.regions == {}
    texts = []
    while ctl.undo.can_undo:
        texts.append(ctl.undo.undo_text)
        ctl.undo_edit()
    assert texts == [
        "Delete grain A",
        "Reshape grain A",
        "Recolour grain A",
        "Rename Region 1",
        "Add Region 1",
    ]
    ctl.redo_edit()
    ctl.redo_edit()
    assert win.state.regions[r.id].name == "grain A"
    assert ctl.list_panel.rows()[0].name == "grain A"
    _settle(qtbot, ctl)


def test_regions_from_colour_scale_of_the_josephson_map(qtbot, win):
    ctl = win.regions
    kq, kj = win.keys
    g1, g2 = win.grids
    panel = _slicer(win, kj)
    dlg = ctl.open_bands_dialog(panel)
    dlg.reject()  # the cancel path adds nothing
    assert win.state.regions == {} and not ctl.undo.can_undo
    dlg = ctl.open_bands_dialog(panel)
    assert dlg.map_combo.currentData() == f"panel:{id(panel)}"
    dlg.n_spin.setValue(4)
    dlg.mode_combo.setCurrentIndex(dlg.mode_combo.findData("equal"))
    dlg.accept()
    regions = list(win.state.regions.values())
    assert [r.name for r in regions] == ["Region 1", "Region 2", "Region 3", "Region 4"]
    img = np.asarray(panel.current_image(), dtype=float)
    fin = img[np.isfinite(img)]
    edges = np.linspace(fin.min(), fin.max(), 5)
    for i, r in enumerate(regions):
        hi = img <= edges[i + 1] if i == 3 else img < edges[i + 1]
        np.testing.assert_array_equal(r.mask, (img >= edges[i]) & hi & np.isfinite(img))
    assert ctl.undo.undo_text.startswith("Regions from")
    _settle(qtbot, ctl)
    # the mask regions tint every map
    ov = ctl.drawer_for(panel).mask_overlay_image()
    assert ov is not None and tuple(ov[0, 39][:3]) == regions[3].colour
    # one undo removes all four
    ctl.undo_edit()
    assert win.state.regions == {}
    _settle(qtbot, ctl)


def test_correlation_and_brushing_highlight(qtbot, win):
    ctl = win.regions
    kq, kj = win.keys
    pq, pj = _slicer(win, kq), _slicer(win, kj)
    r = ctl.add_geometry(Rectangle((-25 * NM, 0.0), (50 * NM, 100 * NM)))  # left half
    res = ctl.compute_correlation(f"panel:{id(pj)}", f"panel:{id(pq)}")
    a = np.asarray(pj.current_image(), float)
    b = np.asarray(pq.current_image(), float)
    ok = np.isfinite(a) & np.isfinite(b)
    assert res.overall.n == int(ok.sum()) == 40 * 40 - 1
    from scipy import stats

    assert res.overall.pearson == pytest.approx(stats.pearsonr(a[ok], b[ok]).statistic)
    assert ctl.corr_panel.group_counts()[r.name] == int((r.mask_in(win.grids[0].frame) & ok).sum())
    assert "Pearson" in ctl.corr_panel.stats_label.text()
    # brush the upper part of the scatter: the highlighted map pixels are exactly those points
    lo = np.quantile(a[ok], 0.8)
    xs = a[ok]
    rect = Rectangle(((lo + xs.max() * 1.01) / 2, float(np.mean(b[ok]))), (xs.max() * 1.01 - lo, 1.0))
    picked = ctl.corr_panel.brush(rect)
    expected = np.flatnonzero((a >= lo) & ok)
    np.testing.assert_array_equal(np.sort(picked), expected)
    for p in (pq, pj):
        hl = ctl.drawer_for(p).highlight_image()
        assert hl is not None
        np.testing.assert_array_equal(np.flatnonzero(hl[..., 3] > 0), expected)
    ctl.corr_panel.clear_button.click()
    assert all(ctl.drawer_for(p).highlight_image() is None for p in win.map_panels())
    _settle(qtbot, ctl)


def test_clustering_dialog_makes_regions(qtbot, win):
    ctl = win.regions
    kq, _ = win.keys
    dlg = ctl.open_cluster_dialog()
    dlg.grid_combo.setCurrentIndex(dlg.grid_combo.findData(kq))
    dlg.k_spin.setValue(2)
    dlg.accept()
    qtbot.waitUntil(lambda: len(win.state.regions) == 2, timeout=10000)
    names = [r.name for r in win.state.regions.values()]
    assert names == ["Cluster 1", "Cluster 2"]
    m = [r.mask for r in win.state.regions.values()]
    assert not (m[0] & m[1]).any() and (m[0] | m[1]).sum() == 1600
    # cluster 2 (higher mean conductance) lies on the right, where the peaks are strong
    cols = np.arange(40)
    assert (m[1] * cols).sum() / m[1].sum() > (m[0] * cols).sum() / m[0].sum()
    _settle(qtbot, ctl)


def test_export_spectra_and_masks(qtbot, win, tmp_path):
    ctl = win.regions
    kq, kj = win.keys
    r = ctl.add_geometry(Rectangle((0.0, 0.0), (30 * NM, 30 * NM)))
    _settle(qtbot, ctl)
    n = ctl.export_spectra_csv(str(tmp_path / "s.csv"))
    assert n == 61 + 41
    back = read_spectra_csv(tmp_path / "s.csv")
    np.testing.assert_allclose(back[("Josephson", r.id)]["mean"], ctl.averages[kj][r.id].mean, rtol=1e-6)
    ctl.export_masks(str(tmp_path / "m.npz"))
    frame, regions = read_masks_npz(tmp_path / "m.npz")
    np.testing.assert_array_equal(regions[0].mask, r.mask_in(frame))
    att = ctl.project_attachment()
    assert att.data["regions"][0]["id"] == r.id


def test_rapid_edits_coalesce_into_the_newest_average(qtbot, win):
    ctl = win.regions
    kq, kj = win.keys
    ids = [ctl.add_geometry(Rectangle((i * 10 * NM, 0.0), (8 * NM, 8 * NM))).id for i in range(4)]
    ctl.delete([ids[0]])
    _settle(qtbot, ctl)
    assert set(ctl.averages[kq]) == set(ctl.averages[kj]) == set(ids[1:])
    assert len(ctl.spectra_panel.legend_labels(kq)) == 3


def test_project_file_round_trip_of_regions(qtbot, win, tmp_path):
    from analysis.store import open_project

    ctl = win.regions
    r = ctl.add_geometry(Rectangle((0.0, 0.0), (30 * NM, 30 * NM)))
    _settle(qtbot, ctl)
    path = str(tmp_path / "p.h5")
    saved = []
    ctl.save_project(path, on_finished=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=10000)
    with open_project(path) as proj:
        assert len(proj.entries) == 2
        assert proj.attachments["regions"].data["regions"][0]["name"] == r.name
    ctl.delete([r.id])
    got = ctl.import_regions(path)
    assert [g.geometry for g in got] == [r.geometry]
    assert list(win.state.regions) == [r.id]
    assert ctl.import_regions(str(tmp_path / "missing.h5")) == []
    _settle(qtbot, ctl)
