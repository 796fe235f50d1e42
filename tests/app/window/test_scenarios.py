"""One-click scenarios on the demo grids: the paper's Figs. 4, 5, 6, exploration and fitting.

Each test drives the real main window (all features installed) through a scenario and checks the state
it leaves: regions, cuts, fits, which docks and tabs are shown, and the physics the demo was made with.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from analysis.dataset import Grid
from analysis.figures.paper import figure_names
from app.window.scenarios import (
    SCENARIOS,
    Scenario,
    ScenarioError,
    ScenarioRunner,
    demo_keys,
    fig4_thresholds,
    fig5_cut,
    fig6_cut,
    flux_centre,
    is_settled,
    run_scenario,
    strongest_grain_point,
)
from tests.app.gui_support import close_window, open_window

TIMEOUT_MS = 90_000


@pytest.fixture
def win(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, features=None)
    w.resize(1600, 1000)
    yield w
    close_window(qtbot, w)


def run(qtbot, w, scenario, timeout=TIMEOUT_MS) -> ScenarioRunner:
    runner = run_scenario(w, scenario, timeout_ms=timeout)
    # the runner's deadline counts time without progress; the whole run may take longer on a busy machine
    qtbot.waitUntil(lambda: runner.done, timeout=4 * timeout + 5000)
    assert runner.ok, runner.message
    assert is_settled(w)
    return runner


def _grid(w, key) -> Grid:
    return w.state.entries[key].dataset


def _slicer(w, key):
    return w.exploration.slicers_for(key)[0]


def test_scenarios_menu_and_unknown_name(qtbot, win):
    actions = win.menu("Scenarios").actions()
    titles = [a.text() for a in actions if not a.isSeparator() and a.menu() is None]
    assert titles == [s.title for s in SCENARIOS.values()]
    exports = next(a.menu() for a in actions if a.menu() is not None)
    texts = [a.text() for a in exports.actions()]
    assert texts[:3] == [f"Fig. {n} (PDF, SVG, PNG)..." for n in (4, 5, 6)]
    assert len(texts) == len(figure_names()) == 7  # and one per transport paper
    assert set(SCENARIOS) == {"explore", "fig4", "fig5", "fig6", "fit", "neck", "mesa", "its", "microwave"}
    with pytest.raises(ScenarioError, match="unknown scenario"):
        ScenarioRunner(win, "fig7")
    with pytest.raises(ScenarioError, match="demo"):
        demo_keys(win)  # nothing open yet


def test_a_failing_step_ends_the_scenario_with_its_message(qtbot, win):
    def broken(_w):
        raise ValueError("no such map")

    runner = run_scenario(win, Scenario("broken", "Broken", "", (broken,)), timeout_ms=30_000)
    with qtbot.waitSignal(runner.finished, timeout=35_000) as sig:
        pass
    assert sig.args[0] is False and "ValueError: no such map" in sig.args[1]
    assert ("error", runner.message) in win.log_panel.entries()
    # the demo was opened first (the scenarios run on it) and the window carries on
    kq, kj = demo_keys(win)
    assert _grid(win, kq).bias.size == 256


def test_explore_opens_the_demo_at_the_papers_biases(qtbot, win):
    run(qtbot, win, "explore")
    kq, kj = demo_keys(win)
    sq, sj = _slicer(win, kq), _slicer(win, kj)
    assert sq.sweep_value() == pytest.approx(-5e-3, abs=1e-6)
    # the Josephson grid has no point at 0 V: the nearest one is shown, and displayed as 0 mV
    step = float(np.diff(_grid(win, kj).bias).mean())
    assert abs(sj.sweep_value()) <= step / 2 + 1e-12
    assert sj.panel.bias_spin.text().startswith("0.000")
    assert sj.panel.shown_index == sj.panel.index()
    assert len(win.state.pinned) == 1 and win.state.cursor is not None
    # the pinned spectrum is plotted for both grids
    for key in (kq, kj):
        assert win.exploration.spectra.plot_keys().count(key) == 1


def test_fig4_regions_from_the_josephson_colour_scale(qtbot, win):
    run(qtbot, win, "fig4")
    kq, kj = demo_keys(win)
    regions = list(win.state.regions.values())
    assert [r.name for r in regions] == ["Region 1", "Region 2", "Region 3", "Region 4"]
    # the Josephson map was averaged over +-3 points around zero bias, and split at its colour scale
    sj = _slicer(win, kj)
    assert sj.panel.window_spin.value() == 3
    jgrid, qgrid = _grid(win, kj), _grid(win, kq)
    k0 = jgrid.bias_index(0.0)
    jmap = jgrid.channels["dI/dV"][:, :, k0 - 3 : k0 + 4].mean(axis=2)
    qmap = qgrid.channels["dI/dV"][:, :, qgrid.bias_index(-5e-3)]
    means = [float(jmap[r.mask_in(jgrid.frame)].mean()) for r in regions]
    assert means == sorted(means) and means[0] < 0.2 * means[3]
    # region 1 is the normal (flux) zone: the demo's sample gap vanishes there
    gap = jgrid.params["Delta_pi_true"]
    assert float(np.median(gap[regions[0].mask_in(jgrid.frame)])) < 0.5e-3
    assert float(np.median(gap[regions[3].mask_in(jgrid.frame)])) > 2.5e-3
    # the QP peak at -5 mV follows the Josephson peak (the paper's correlation)
    qmeans = [float(qmap[r.mask_in(qgrid.frame)].mean()) for r in regions]
    assert qmeans[3] > qmeans[0]
    # region spectra: QP (left) and Josephson (right), one curve per region, normalised and offset
    rs = win.regions.spectra_panel
    assert rs.grid_keys() == [kq, kj]
    for key in (kq, kj):
        assert len(rs.legend_labels(key)) == 4
        firsts = [rs.curve_data(key, r.id)[1].min() for r in regions]
        assert firsts == sorted(firsts)  # offset upwards, region 1 at the bottom
    assert rs.settings().mode == "area" and rs.settings().auto_offset
    assert win.dock("region_spectra").isVisible() and not win.dock("region_spectra").visibleRegion().isEmpty()
    # the correlation scatter of the two maps is on display, coloured by region
    res = win.regions.last_correlation
    assert res is not None and len(res.per_label) == 4
    assert not win.dock("correlation").visibleRegion().isEmpty()


def test_fig4_thresholds_find_the_valleys_between_groups():
    rng = np.random.default_rng(1)
    groups = [(0.5, 300), (10, 1000), (12, 1000), (15, 900)]
    values = np.concatenate([rng.normal(mu, 0.2, n) for mu, n in groups])
    normal, t1, t2 = fig4_thresholds(values)
    assert 0.5 < normal < 10 and 10.5 < t1 < 11.5 and 12.5 < t2 < 14.5
    with pytest.raises(ScenarioError):
        fig4_thresholds(np.full(10, np.nan))


@pytest.mark.slow
def test_fig5_cut_from_the_normal_zone_into_the_strongest_grain(qtbot, win):
    run(qtbot, win, "fig5")
    kq, kj = demo_keys(win)
    lc = win.linecuts
    assert len(win.state.linecuts) == 1
    path = lc.current_path()
    assert path.vertices[0] == pytest.approx(flux_centre(win)) and path.vertices[1] == pytest.approx(
        strongest_grain_point(win)
    )
    assert [tuple(v) for v in path.vertices] == [tuple(v) for v in fig5_cut(win)]
    # the cut through both grids, Josephson column first, the 3D tab raised
    assert lc.panel.column_keys() == [kj, kq]
    assert lc.panel.tabs.currentIndex() == 2
    assert not win.dock("linecuts").visibleRegion().isEmpty()
    # the zero-bias Josephson peak grows from nothing (normal zone) to the grain's value along the cut
    cut = lc.results[kj]
    peak = cut.values[:, int(np.argmin(np.abs(cut.sweep)))]
    assert peak[:3].mean() < 0.2 * peak[-5:].mean()
    # the rise was fitted with a tanh step: a length of a few nanometres with its uncertainty
    assert "w =" in lc.profile.result_text() and "nm" in lc.profile.result_text()


def test_fig6_top_views_across_the_normal_zone(qtbot, win):
    run(qtbot, win, "fig6")
    kq, kj = demo_keys(win)
    lc = win.linecuts
    assert [tuple(v) for v in lc.current_path().vertices] == [tuple(v) for v in fig6_cut(win)]
    assert lc.panel.column_keys() == [kj, kq]  # Josephson left, QP right as in [JSTM] Fig. 6
    assert lc.panel.tabs.currentIndex() == 0
    # every dock fits: the controls of the cut, profile and region panels never widen the window
    assert (win.width(), win.height()) == (1600, 1000)
    for key in (kj, kq):
        img = lc.panel.image_data(key)
        assert img is not None and img.shape == (_grid(win, key).bias.size, lc.results[key].n_points)
    # the Josephson peak vanishes in the middle of the cut and comes back on the far side
    cut = lc.results[kj]
    peak = cut.values[:, int(np.argmin(np.abs(cut.sweep)))]
    n = peak.size
    middle = peak[n // 2 - 3 : n // 2 + 3].mean()
    assert middle < 0.2 * peak[:5].mean() and middle < 0.2 * peak[-5:].mean()


@pytest.mark.slow
def test_scenarios_run_one_after_another(qtbot, win):
    run(qtbot, win, "explore")
    kq, kj = demo_keys(win)
    sj = _slicer(win, kj)
    win.dock(sj.dock_key).hide()  # as the fit scenario leaves it
    sj.panel.window_spin.setValue(5)
    sj.set_value(1e-3)
    run(qtbot, win, "fig6")
    assert win.dock(sj.dock_key).isVisible() and sj.panel.window_spin.value() == 0
    assert sj.panel.index() == _grid(win, kj).bias_index(0.0) == sj.panel.shown_index
    assert len(win.state.linecuts) == 1


def test_fit_of_a_pinned_spectrum_recovers_the_grain_gap(qtbot, win):
    from app.window import scenarios

    steps = scenarios.SCENARIOS["fit"].steps[:3]  # biases, pin, fit (no batch)
    run(qtbot, win, Scenario("fit-single", "Fit", "", steps))
    fits = [f for f in win.state.fits.values() if f.kind == "single"]
    assert len(fits) == 1
    values = {p["name"]: p["value"] for p in fits[0].record["params"]}
    kq, _kj = demo_keys(win)
    grid = _grid(win, kq)
    iy, ix = grid.frame.nearest_pixel(*strongest_grain_point(win))
    assert values["Delta_pi_s"] == pytest.approx(grid.params["Delta_pi_true"][iy, ix], abs=0.05e-3)
    assert values["Delta_pi_t"] == pytest.approx(2.5e-3)  # fixed: the tip's gap
    panel = win.fit_controller.panel
    x, y = panel.model_curve()
    assert x.size > 100 and np.all(np.isfinite(y))
    assert "Delta_pi_s" in panel.report() and not win.dock("fit").visibleRegion().isEmpty()
    # a change elsewhere (a new region) keeps the fitted curve of the unchanged spectrum on display
    from analysis.maps.regions import Rectangle

    win.regions.add_geometry(Rectangle((0.0, 0.0), (20e-9, 20e-9)))
    assert panel.model_curve()[0].size == x.size


@pytest.mark.slow
def test_fit_scenario_maps_the_gap_of_the_whole_grid(qtbot, win):
    run(qtbot, win, "fit", timeout=240_000)
    batch = [f for f in win.state.fits.values() if f.kind == "batch"]
    assert len(batch) == 1 and batch[0].model == "two_band_sis_conductance"
    maps = win.state.entries[batch[0].maps].dataset
    kq, _kj = demo_keys(win)
    grid = _grid(win, kq)
    # every pixel of the 128 x 128 QP grid was fitted, from the blocks' starts set in the dialog
    assert batch[0].pixels == grid.shape[0] * grid.shape[1] == 128 * 128
    assert maps.provenance[0]["parameters"]["start"] == "blocks"
    assert not win.state.regions
    fitted = maps.channels["Delta_pi_s"]
    assert fitted.shape == (128, 128) and np.isfinite(fitted).mean() > 0.99
    true = grid.params["Delta_pi_true"]
    ok = maps.channels["success"] > 0
    assert ok.mean() > 0.9
    assert np.median(np.abs(fitted[ok] - true[ok])) < 0.05e-3
    # the grid holds the normal zone (no gap) and the grains' full gaps
    assert true.min() < 0.3e-3 and true.max() > 1.5e-3
    # exactly one map view shows the gap map, the whole grid in view; the dialog was closed
    views = [p for p in win.map_panels() if p.dataset_key == batch[0].maps]
    assert len(views) == 1 and views[0].value_label == "Delta_pi_s"
    (x0, x1), (y0, y1) = views[0].view_box.viewRange()
    half = 0.5 * grid.frame.size[0]
    assert x0 <= grid.frame.center[0] - 0.95 * half and x1 >= grid.frame.center[0] + 0.95 * half
    assert y0 <= grid.frame.center[1] - 0.95 * half and y1 >= grid.frame.center[1] + 0.95 * half
    assert not win.fit_controller.dialog.isVisible()


@pytest.mark.parametrize("name", ["neck", "mesa"])
def test_transport_scenarios_load_their_own_series_without_the_demo(qtbot, win, name):
    """The neck and mesa scenarios put their synthetic series into the session (no demo grids) and leave
    the paper's panel shown with its results."""
    from analysis.series import Series

    run(qtbot, win, name)
    kinds = [type(e.dataset) for e in win.state.entries.values()]
    assert kinds == [Series]
    ctl = getattr(win, f"paper_{name}")
    assert win.dock(f"paper_{name}").isVisible() and ctl.summary is not None
    assert ctl.panel.rows() and ctl.panel.export_button.isEnabled()
    if name == "mesa":
        assert ctl.simulation is not None and ctl.panel.n() == 12


def test_its_scenario_loads_its_own_series_and_fills_the_panel(qtbot, win):
    """Scenarios > Paper 003 needs no demo grids: it adds the synthetic series and runs the panel."""
    from analysis.papers.scenario_its import TRUTH
    from analysis.series import Series
    from tests.app.real_input import click_menu_path

    bar = win.menuBar()
    action = next(a for a in bar.actions() if a.text().replace("&", "") == "Scenarios")
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(action).center())
    qtbot.waitUntil(action.menu().isVisible, timeout=3000)
    click_menu_path(qtbot, action.menu(), SCENARIOS["its"].title)
    runner = win.scenario_runner
    qtbot.waitUntil(lambda: runner.done, timeout=TIMEOUT_MS)
    assert runner.ok, runner.message
    assert not any(isinstance(e.dataset, Grid) for e in win.state.entries.values())  # no demo opened
    assert sorted(e.label for e in win.state.entries.values() if isinstance(e.dataset, Series)) == [
        "I-V brush",
        "I-V vs field",
        "R(T)",
    ]
    ctl = win.paper_its
    assert ctl.dock.isVisible()
    assert ctl.result.h_a == pytest.approx(TRUTH["h_a"], rel=0.01)
    assert "hA = " in ctl.panel.report.toPlainText()


def test_command_line_names_every_scenario():
    from app.window.launch import SCENARIO_NAMES, parse_args

    assert set(SCENARIO_NAMES) == set(SCENARIOS)
    a = parse_args(["--scenario", "fig6", "--screenshot", "out.png"])
    assert a.scenario == "fig6" and a.screenshot == "out.png"
    with pytest.raises(SystemExit):
        parse_args(["--scenario", "fig7"])
