"""One-click scenarios: the workflows of the MgB2 paper ([JSTM] Figs. 4, 5, 6), exploration and fitting.

Each scenario is a list of steps run on the demo grids through the features' public controllers
(``window.exploration``, ``window.regions``, ``window.linecuts``, ``window.fit_controller``), exactly as
the menus and mouse would: regions from a map's colour scale, a line cut between two points, a fit of a
pinned spectrum, a batch fit of the whole grid. A :class:`ScenarioRunner` runs the steps one at a time, each
once the window has settled (no loading, no job, every slicer showing its requested bias), and reports
``finished(ok, message)``; ``stsworkbench --demo --scenario NAME --screenshot PNG`` uses it to render the
window once the last step has settled. ``install(window)`` adds the Scenarios menu.

The transport papers' scenarios (``neck``, ``mesa``; ``Scenario.demo`` False) open no demo: their first step
adds the paper's synthetic series to the session as an import would, the next ones press the paper
panel's buttons.

Positions come from the demo's own record (``metadata["demo"]``: the flux disc and the grain seeds), so
the cuts go from the normal (flux) region into the strongest grain and across the normal zone whatever
the seed of the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from analysis.dataset import Grid

if TYPE_CHECKING:
    from app.window.main_window import MainWindow

Step = Callable[["MainWindow"], None]

#: Bias of each demo map in the paper's figures (V).
QP_BIAS = -5e-3
JOSEPHSON_BIAS = 0.0
#: Where the exploration scenario pins a spectrum and puts the cursor (metres).
EXPLORE_PIN = (-40e-9, 30e-9)
EXPLORE_CURSOR = (20e-9, -45e-9)
#: Half length of the cut across the normal zone (metres).
FIG6_HALF_LENGTH = 75e-9
#: Model of the fit scenario (the demo's own physics) and the parameter map it shows.
FIT_MODEL = "two_band_sis_conductance"
GAP_MAP = "Delta_pi_s"
#: Start strategy and worker processes of the fit scenario's whole-grid batch fit.
FIT_START = "blocks"
FIT_WORKERS = 2
#: Normalisation of the Fig. 4 region spectra ("normalized to the same value, then offset"): the mean over
#: the sweep, so a Josephson spectrum without a peak (region 1) and one with a tall peak compare.
FIG4_NORMALISATION = "area"
#: The zero-bias Josephson map of Fig. 4 is averaged over +-3 sweep points (+-0.05 mV, well inside the
#: peak) so that its colour bands follow the grains rather than the noise.
FIG4_AVERAGE_POINTS = 3


class ScenarioError(RuntimeError):
    """A scenario cannot run (no demo grids, a feature missing)."""


@dataclass(frozen=True)
class Scenario:
    """A named list of steps, each ``step(window)``, run once the window has settled after the last."""

    name: str
    title: str
    description: str
    steps: tuple[Step, ...]
    #: whether the steps run on the demo grids (opened first when missing); the transport papers' scenarios
    #: load their own synthetic series instead
    demo: bool = True


# -- the demo grids and their geometry ------------------------------------------------------------------
def demo_keys(window: MainWindow) -> tuple[str, str]:
    """(QP grid key, Josephson grid key) of the open demo grids; ScenarioError when they are not open."""
    found: dict[str, str] = {}
    for e in window.state.entries.values():
        if isinstance(e.dataset, Grid) and e.parent is None:
            kind = (e.dataset.metadata.get("demo") or {}).get("grid")
            if kind in ("qp", "josephson") and kind not in found:
                found[kind] = e.key
    if len(found) < 2:
        raise ScenarioError("the scenarios run on the demo grids: open them with File > Open Demo")
    return found["qp"], found["josephson"]


def _demo_info(window: MainWindow) -> dict[str, Any]:
    return window.state.entries[demo_keys(window)[0]].dataset.metadata["demo"]


def flux_centre(window: MainWindow) -> tuple[float, float]:
    """Centre (x, y) in metres of the normal (flux) disc of the demo."""
    cx, cy = _demo_info(window)["flux_region"]["center_m"]
    return float(cx), float(cy)


def strongest_grain_point(window: MainWindow) -> tuple[float, float]:
    """(x, y) in metres inside the grain with the largest gap (the seed of its Voronoi cell)."""
    info = _demo_info(window)
    grid: Grid = window.state.entries[demo_keys(window)[0]].dataset  # type: ignore[assignment]
    u, v = info["grain_seeds_frac"][int(info["strongest_grain"])]
    w, h = grid.frame.size
    cx, cy = grid.frame.center
    return float(cx + (u - 0.5) * w), float(cy + (v - 0.5) * h)


def fig5_cut(window: MainWindow) -> list[tuple[float, float]]:
    """From the centre of the flux disc (region 1) to the centre of the strongest grain (region 4)."""
    return [flux_centre(window), strongest_grain_point(window)]


def fig6_cut(window: MainWindow) -> list[tuple[float, float]]:
    """A horizontal line through the flux disc, from superconducting grain to grain across the normal zone."""
    grid: Grid = window.state.entries[demo_keys(window)[0]].dataset  # type: ignore[assignment]
    cx, cy = flux_centre(window)
    half = grid.frame.size[0] / 2 - grid.frame.pixel_size[0]
    x0 = max(cx - FIG6_HALF_LENGTH, grid.frame.center[0] - half)
    x1 = min(cx + FIG6_HALF_LENGTH, grid.frame.center[0] + half)
    return [(x0, cy), (x1, cy)]


def slicer_of(window: MainWindow, key: str) -> Any:
    """The first slicer showing grid ``key`` (a new one when none does)."""
    ex = window.exploration
    found = ex.slicers_for(key)
    return found[0] if found else ex.new_slicer(key)


# -- steps ----------------------------------------------------------------------------------------------
def _maps_at_paper_biases(window: MainWindow) -> None:
    """The QP map at -5 mV beside the Josephson map at 0 mV (no bias averaging), both docks shown."""
    kq, kj = demo_keys(window)
    for key, value in ((kq, QP_BIAS), (kj, JOSEPHSON_BIAS)):
        slicer = slicer_of(window, key)
        window.dock(slicer.dock_key).show()
        slicer.panel.window_spin.setValue(0)
        slicer.set_value(value)
    window.state.set_current(kq)


def _explore_pin(window: MainWindow) -> None:
    _maps_at_paper_biases(window)
    if not window.state.pinned:
        window.state.set_cursor(EXPLORE_PIN)
        window.state.pin(*EXPLORE_PIN)
    window.state.set_cursor(EXPLORE_CURSOR)
    window.exploration.arrange_docks()


def fig4_thresholds(values: np.ndarray) -> tuple[float, float, float]:
    """Band edges of regions 1-4 of a zero-bias Josephson map, as a user reads its colour scale (shared
    with the paper figures: :func:`analysis.figures.paper.josephson_band_thresholds`)."""
    from analysis.figures.paper import josephson_band_thresholds
    from analysis.figures.resolve import FigureError

    try:
        return josephson_band_thresholds(values)
    except FigureError as exc:
        raise ScenarioError(str(exc)) from None


def _fig4_average(window: MainWindow) -> None:
    _kq, kj = demo_keys(window)
    slicer_of(window, kj).panel.window_spin.setValue(FIG4_AVERAGE_POINTS)


def _fig4_regions(window: MainWindow) -> None:
    from widgets.region_dialogs import BandsRequest

    regions = window.regions  # type: ignore[attr-defined]
    _kq, kj = demo_keys(window)
    panel = slicer_of(window, kj).panel
    image = panel.current_image()
    if panel.window_spin.value() != FIG4_AVERAGE_POINTS:
        raise ScenarioError("the Josephson map is not averaged over the expected bias window")
    if image is None:
        raise ScenarioError("the zero-bias Josephson map is not on display")
    regions.delete(list(window.state.regions))
    req = BandsRequest(
        map_key=f"panel:{id(panel)}",
        n=4,
        mode="thresholds",
        thresholds=fig4_thresholds(image),
        split_components=False,
        min_pixels=12,
        connectivity=8,
    )
    if len(regions.apply_bands(req)) != 4:
        raise ScenarioError("the zero-bias Josephson map did not split into 4 colour-scale regions")
    kq, kj = demo_keys(window)
    regions.compute_correlation(f"panel:{id(panel)}", f"panel:{id(slicer_of(window, kq).panel)}")


def _fig4_show(window: MainWindow) -> None:
    """Region spectra (normalised to the same mean, offset) below the maps; the Josephson-vs-QP scatter
    coloured by region on the right."""
    from widgets.region_spectra_panel import SpectraSettings

    regions = window.regions  # type: ignore[attr-defined]
    regions.spectra_panel.set_settings(SpectraSettings(mode=FIG4_NORMALISATION, auto_offset=True))
    regions.render_spectra()
    for key in ("region_spectra", "regions", "correlation"):
        window.dock(key).show()
    window.dock("region_spectra").raise_()
    window.dock("correlation").raise_()
    window.exploration.arrange_docks()


def _add_cut(window: MainWindow, vertices: list[tuple[float, float]]) -> None:
    lc = window.linecuts  # type: ignore[attr-defined]
    lc.delete_all()
    _kq, kj = demo_keys(window)
    lc.add_cut(vertices, anchor=kj)


def _fig5_cut(window: MainWindow) -> None:
    _add_cut(window, fig5_cut(window))


def _fig6_cut(window: MainWindow) -> None:
    _add_cut(window, fig6_cut(window))


def _show_cut_tab(tab: int) -> Step:
    def step(window: MainWindow) -> None:
        lc = window.linecuts  # type: ignore[attr-defined]
        window.dock("linecuts").show()
        window.dock("linecuts").raise_()
        lc.panel.tabs.setCurrentIndex(tab)
        window.dock("profile").show()
        window.dock("profile").raise_()
        window.exploration.arrange_docks()
        slicers = [s for s in window.exploration.slicers if window.dock(s.dock_key).isVisible()]
        if slicers:  # the cut is the subject: give its views more height than the maps
            h = window.height()
            window.resizeDocks(
                [window.dock(slicers[0].dock_key), window.dock("linecuts")],
                [int(0.44 * h), int(0.56 * h)],
                Qt.Orientation.Vertical,
            )

    return step


def _fig5_length(window: MainWindow) -> None:
    """Fit a tanh step to the zero-bias Josephson profile where it rises out of the normal region, the
    way the paper reads "about 15 nm" off its Fig. 5."""
    lc = window.linecuts  # type: ignore[attr-defined]
    d, y = lc.profile.profile()
    if d.size < 5 or not np.isfinite(y).any():
        raise ScenarioError("the cut has no profile to fit")
    above = np.flatnonzero(y > 0.5 * np.nanmax(y))
    d_half = float(d[above[0]]) if above.size else float(d[-1]) / 2
    rng = (float(d[0]), float(min(d[0] + 2.5 * (d_half - d[0]), d[-1])))
    lc.profile.set_fit_kind("step")
    lc.profile.set_fit_range(*rng)
    if lc.fit("step", rng) is None:
        raise ScenarioError("the step fit of the Josephson profile did not converge")


def _tip_parameters() -> dict[str, float]:
    """The MgB2 tip of the demo (known from a reference spectrum): fixed in the sample fits."""
    from analysis.demo.grids import TIP_DELTA_PI, TIP_DELTA_SIGMA, W_SIGMA_TIP

    return {"Delta_pi_t": TIP_DELTA_PI, "Delta_sigma_t": TIP_DELTA_SIGMA, "w_sigma_t": W_SIGMA_TIP}


def _fit_pin(window: MainWindow) -> None:
    for p in list(window.state.pinned):
        window.state.unpin(p.key)
    xy = strongest_grain_point(window)
    window.state.set_cursor(xy)
    window.state.pin(*xy)


def _fit_run(window: MainWindow) -> None:
    """The two-band SIS model of MgB2/MgB2 on the pinned spectrum, the tip's gaps fixed."""
    fc = window.fit_controller  # type: ignore[attr-defined]
    fc.show_panel()
    fc.panel.set_current_model(FIT_MODEL)
    for name, value in _tip_parameters().items():
        fc.panel.set_param(name, value=value, vary=False)
    pin = window.state.pinned[-1]
    fc.panel.set_current_source(f"pin:{pin.key}")
    fc.panel.fit_button.click()


def _fit_grid_batch(window: MainWindow) -> None:
    """Batch fit of every pixel of the QP grid, set up in the batch-fit dialog as a user does (Fit > Batch
    fit...): the whole grid, starts from fits of 4 x 4-pixel block means, two worker processes, the
    tip's gaps fixed. The result is a map of the sample's pi gap over the whole grid."""
    kq, _kj = demo_keys(window)
    window.state.set_current(kq)
    fc = window.fit_controller  # type: ignore[attr-defined]
    dialog = fc.open_batch_dialog()
    if dialog is None:
        raise ScenarioError("the batch-fit dialog did not open")
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData(FIT_MODEL))
    dialog.channel_combo.setCurrentText("dI/dV")
    dialog.region_combo.setCurrentIndex(0)  # whole grid
    dialog.start_combo.setCurrentIndex(dialog.start_combo.findData(FIT_START))
    dialog.runner_combo.setCurrentIndex(dialog.runner_combo.findData("processes"))
    dialog.workers.setValue(FIT_WORKERS)
    dialog.use_range.setChecked(False)
    dialog.fixed_edit.setText(", ".join(f"{k}={v:g}" for k, v in _tip_parameters().items()))
    dialog.start_button.click()
    if fc.batch_job is None:
        raise ScenarioError(f"the batch fit did not start: {dialog.status.text()}")


def _fit_show_gap_map(window: MainWindow) -> None:
    """The fitted gap map in a map view beside the QP map (in place of the Josephson map), the whole grid
    in view; the batch-fit dialog closed and the fit dock raised."""
    records = [r for r in window.state.fits.values() if getattr(r, "kind", None) == "batch"]
    if not records or records[-1].maps not in window.state.entries:
        raise ScenarioError("the batch fit gave no parameter maps")
    maps_key = records[-1].maps
    fc = window.fit_controller  # type: ignore[attr-defined]
    if fc.dialog is not None:
        fc.dialog.hide()
    ex = window.exploration
    _kq, kj = demo_keys(window)
    for s in ex.slicers_for(kj):
        window.dock(s.dock_key).hide()
    shown = [p for p in window.map_panels() if p.dataset_key == maps_key and p.value_label == GAP_MAP]
    if shown:  # a finished batch fit opens its gap map by itself
        panel = shown[0]
    elif hasattr(ex, "open_map"):
        md = ex.open_map(maps_key, GAP_MAP)
        if md is None:
            raise ScenarioError(f"the parameter maps have no {GAP_MAP} map")
        panel = md.panel
    else:  # the topography panel shows the current image
        window.state.set_current(maps_key)
        panel = ex.topography
        panel.channel_combo.setCurrentText(GAP_MAP)
    panel.view_box.autoRange(padding=0)
    fc.show_panel()


# -- the transport papers: synthetic series loaded the way an import ends up, then the paper's panel ------
def _load_series(module: str, make: str, label: str) -> Step:
    """A step that adds the synthetic series ``module.make(0)`` to the session as the current dataset."""

    def step(window: MainWindow) -> None:
        import importlib

        series = getattr(importlib.import_module(module), make)(0)
        key = window.state.add_dataset(series, label)
        window.state.set_current(key)

    return step


def _neck_analyse(window: MainWindow) -> None:
    """Papers > Necks: the panel opened on the series, Analyse pressed; the Series dock makes room."""
    ctl = getattr(window, "paper_neck", None)
    if ctl is None:
        raise ScenarioError("the Necks panel is not installed")
    if "series" in window.dock_keys():
        window.dock("series").hide()
    ctl.show_panel()
    ctl.panel.analyse_button.click()


def _mesa_analyse(window: MainWindow) -> None:
    """Papers > Mesas: the panel opened on the series, Analyse and Simulate pressed."""
    ctl = getattr(window, "paper_mesa", None)
    if ctl is None:
        raise ScenarioError("the Mesas panel is not installed")
    if "series" in window.dock_keys():
        window.dock("series").hide()
    ctl.show_panel()
    ctl.panel.analyse_button.click()
    ctl.panel.simulate_button.click()


def _mesa_show_n(n: int) -> Step:
    """The N slider moved to ``n``: the simulated S-curve of n junctions over the data of that stack."""

    def step(window: MainWindow) -> None:
        window.paper_mesa.panel.n_slider.setValue(n)  # type: ignore[attr-defined]

    return step


# -- ITS (paper 003) --------------------------------------------------------------------------------------
def _its_load(window: MainWindow) -> None:
    """Add the synthetic R(T), I-V-vs-field and brush series to the state, as an import would."""
    from analysis.papers.scenario_its import make_its_series

    for s in make_its_series(0).values():
        key = window.state.add_dataset(s, s.name)
    window.state.set_current(key)


def _its_analyse(window: MainWindow) -> None:
    ctl = getattr(window, "paper_its", None)
    if ctl is None:
        raise ScenarioError("the intrinsic-tunnelling panel is not installed")
    ctl.show_panel()
    if ctl.analyse() is None:
        raise ScenarioError("the intrinsic-tunnelling analysis did not start")


# -- Microwave (paper 004) ------------------------------------------------------------------------------
def _microwave_load(window: MainWindow) -> None:
    """Add the synthetic series of I(V)s under rf (and the I_0(V) and the frequency scan) to the state, as
    an import would."""
    from analysis.papers.scenario_microwave import (
        make_frequency_scan_series,
        make_i0_series,
        make_microwave_series,
    )

    i0 = make_i0_series()
    window.state.add_dataset(i0, i0.name)
    fs = make_frequency_scan_series(0)
    window.state.add_dataset(fs, fs.name)
    s = make_microwave_series(0)
    window.state.set_current(window.state.add_dataset(s, s.name))


def _microwave_analyse(window: MainWindow) -> None:
    from analysis.papers.scenario_microwave import TRUTH

    ctl = getattr(window, "paper_microwave", None)
    if ctl is None:
        raise ScenarioError("the microwave panel is not installed")
    panel = ctl.show_panel()
    panel.f_ghz.setValue(TRUTH["f"] * 1e-9)  # the frequency of the run and the gap of its I_0(V) edge
    panel.delta_mev.setValue(TRUTH["delta"] * 1e3)
    if ctl.analyse() is None:
        raise ScenarioError("the microwave analysis did not start")


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "explore",
            "Explore the demo grids",
            "QP map at -5 mV beside the Josephson map at 0 mV, a pinned spectrum and the cursor's spectra",
            (_explore_pin,),
        ),
        Scenario(
            "fig4",
            "Fig. 4: regions from the Josephson map",
            "Regions 1-4 from the colour scale of the zero-bias Josephson map; their QP (left) and "
            "Josephson (right) spectra, normalised and offset",
            (_maps_at_paper_biases, _fig4_average, _fig4_regions, _fig4_show),
        ),
        Scenario(
            "fig5",
            "Fig. 5: 3D view of a cut into a grain",
            "A line cut from the normal (flux) region into the strongest grain, as a 3D surface",
            (_maps_at_paper_biases, _fig5_cut, _show_cut_tab(2), _fig5_length),
        ),
        Scenario(
            "fig6",
            "Fig. 6: top view across the normal zone",
            "A cut across the normal zone, Josephson (left) and QP (right) top views side by side",
            (_maps_at_paper_biases, _fig6_cut, _show_cut_tab(0)),
        ),
        Scenario(
            "fit",
            "Fit a spectrum and map a gap",
            "A two-band SIS fit of a pinned spectrum with its report, and a batch-fit gap map of the whole "
            "QP grid",
            (_maps_at_paper_biases, _fit_pin, _fit_run, _fit_grid_batch, _fit_show_gap_map),
        ),
        Scenario(
            "neck",
            "Necks (paper 001): gap ladder, heating, phase slips",
            "A synthetic Pb neck against field: the subharmonic ladder with its n labels, T_loc from the "
            "heated n = 1 feature, the excess current, the phase-slip steps and L_S against Lambda_Q*",
            (
                _load_series("analysis.papers.scenario_neck", "make_neck_series", "Synthetic Pb neck"),
                _neck_analyse,
            ),
            demo=False,
        ),
        Scenario(
            "mesa",
            "Mesas (paper 002): beta(N) and the stack simulator",
            "Synthetic Bi2212 stacks through a top SIN contact: the SIN correction, beta(N), a d-wave fit, "
            "and the simulated S-curve of N = 12 junctions (backbending) over the data",
            (
                _load_series("analysis.papers.scenario_mesa", "make_mesa_series", "Synthetic Bi2212 mesas"),
                _mesa_analyse,
                _mesa_show_n(12),
            ),
            demo=False,
        ),
        Scenario(
            "its",
            "Paper 003: intrinsic tunnelling",
            "A synthetic mesa: hA by superposition on R(T), the heating spectrum, P_c at three fields "
            "with their collapse, and the branch resistances and I* of the I-V brush",
            (_its_load, _its_analyse),
            demo=False,
        ),
        Scenario(
            "microwave",
            "Paper 004: microwave steps",
            "A synthetic junction under rf: Josephson and quasiparticle step amplitudes against attenuation, "
            "one attenuator constant from both, the Eq. 6 overlays and the gap from a global scan",
            (_microwave_load, _microwave_analyse),
            demo=False,
        ),
    )
}


# -- running --------------------------------------------------------------------------------------------
def is_settled(window: MainWindow) -> bool:
    """True when nothing is loading, computing or waiting for a slice."""
    if window.loader.loading or window.active_jobs():
        return False
    project = getattr(window, "project", None)
    if project is not None and project.restoring:  # an opened project is still coming back, in turns
        return False
    for s in window.exploration.slicers:
        if not s.scheduler.idle() or s.panel.shown_index != s.panel.index():
            return False
    for name in ("regions", "linecuts"):
        ctl = getattr(window, name, None)
        if ctl is not None and ctl.is_busy():
            return False
    fc = getattr(window, "fit_controller", None)
    return fc is None or (fc.job is None and fc.batch_job is None and not fc.turns.pending())


class ScenarioRunner(QObject):
    """Runs a scenario's steps, each once the window has settled; ``finished(ok, message)`` at the end.

    ``timeout_ms`` bounds the time without progress (a step started, a job started, ended or reported
    progress), not the whole run: a whole-grid fit on a busy machine may take minutes and still finish.

    The window is checked on a timer from the event loop (no processEvents); the window counts as settled
    after two checks in a row found it idle, so work a step queues has started before the next check.
    """

    finished = Signal(bool, str)
    step_started = Signal(int)

    def __init__(
        self,
        window: MainWindow,
        scenario: str | Scenario,
        timeout_ms: int = 180_000,
        interval_ms: int = 100,
    ) -> None:
        super().__init__(window)
        if isinstance(scenario, str):
            if scenario not in SCENARIOS:
                raise ScenarioError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
            scenario = SCENARIOS[scenario]
        self.window = window
        self.scenario = scenario
        self.next_step = 0
        self.done = False
        self.ok = False
        self.message = ""
        self._quiet = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.setInterval(timeout_ms)
        self._deadline.timeout.connect(
            lambda: self._finish(False, f"timed out: the window made no progress for {timeout_ms / 1000:g} s")
        )
        self._progress: tuple = ()

    def start(self) -> None:
        self._size = self.window.size()
        self._resized = False
        needs_demo = self.scenario.demo and not any(True for _ in _demo_entries(self.window))
        if needs_demo and not self.window.loader.loading:
            self.window.open_demo()
        self._timer.start()
        self._deadline.start()

    def _jobs_moved(self) -> bool:
        """Whether the window's jobs changed or reported progress since the last check."""
        now = tuple((id(j), getattr(j, "last_progress", None)) for j in self.window.active_jobs())
        moved, self._progress = now != self._progress, now
        return moved

    def _tick(self) -> None:
        if self.done:
            return
        if self._jobs_moved():
            self._deadline.start()  # the deadline counts time without progress: a long fit that moves is fine
        if not is_settled(self.window):
            self._quiet = 0
            return
        self._quiet += 1
        if self._quiet < 2:
            return
        self._quiet = 0
        if self.next_step >= len(self.scenario.steps):
            if not self._resized and self.window.size() != self._size:
                # a dock opened on the way may have widened the window: give it back its size once
                self._resized = True
                self.window.resize(self._size)
                return
            self._finish(True, f"{self.scenario.title}: ready")
            return
        step = self.scenario.steps[self.next_step]
        self._deadline.start()
        self.step_started.emit(self.next_step)
        self.next_step += 1
        try:
            step(self.window)
        except Exception as exc:  # a failed step ends the scenario with its message, never a crash
            self._finish(False, f"{self.scenario.title}: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        """Stop before the next step (the steps already run stay done)."""
        self._finish(False, f"{self.scenario.title}: stopped")

    def _finish(self, ok: bool, message: str) -> None:
        if self.done:
            return
        self.done, self.ok, self.message = True, ok, message
        self._timer.stop()
        self._deadline.stop()
        self.window.log("info" if ok else "error", message)
        self.finished.emit(ok, message)


def _demo_entries(window: MainWindow) -> list[Any]:
    return [
        e
        for e in window.state.entries.values()
        if isinstance(e.dataset, Grid) and (e.dataset.metadata.get("demo") or {}).get("grid")
    ]


def run_scenario(window: MainWindow, scenario: str | Scenario, timeout_ms: int = 180_000) -> ScenarioRunner:
    """Start ``scenario`` (a name of :data:`SCENARIOS` or a :class:`Scenario`) in ``window``, opening the
    demo first when needed; a scenario still running in the window is stopped. Returns the runner."""
    runner = ScenarioRunner(window, scenario, timeout_ms)
    previous = getattr(window, "scenario_runner", None)
    if previous is not None and not previous.done:
        previous.stop()
    window.scenario_runner = runner  # type: ignore[attr-defined]
    runner.start()
    return runner


def install(window: MainWindow) -> None:
    """Add the Scenarios menu: each entry sets up one workflow of the paper on the demo grids."""
    menu = window.menu("Scenarios")
    for s in SCENARIOS.values():
        act = menu.addAction(s.title)
        act.setToolTip(s.description)
        act.setStatusTip(s.description)
        act.triggered.connect(lambda _=False, n=s.name: run_scenario(window, n))
    menu.setToolTipsVisible(True)
    menu.addSeparator()
    export = menu.addMenu("Export paper figure")
    from analysis.figures.paper import figure_names

    for name in figure_names():
        export.addAction(f"{_figure_title(name)} (PDF, SVG, PNG)...").triggered.connect(
            lambda _=False, n=name: export_paper_figure_dialog(window, n)
        )


def _figure_title(name: str) -> str:
    """ "Fig. 4" for fig4; a transport paper's figure by its scenario's title."""
    if name.startswith("fig") and name[3:].isdigit():
        return f"Fig. {name[3:]}"
    s = SCENARIOS.get(name)
    return s.title if s is not None else name


def export_paper_figure_dialog(window: MainWindow, name: str) -> Any:
    """Ask for a file and write the paper's figure ``name`` made from the open demo grids or, for a
    transport paper, from the window's series."""
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getSaveFileName(
        window, f"Export {name}", f"{name}.pdf", "PDF (*.pdf);;SVG (*.svg);;PNG (*.png);;TIFF (*.tif *.tiff)"
    )
    return export_paper_figure(window, name, path) if path else None


def export_paper_figure(window: MainWindow, name: str, path: str) -> Any:
    """Write the paper's figure ``name`` (fig4, fig5, fig6 of the session's demo grids, or a transport
    paper's figure of :data:`analysis.figures.paper.SERIES_FIGURES`) to ``path`` (the format by extension)
    off the GUI thread, with matplotlib; returns the job."""
    from analysis.figures.paper import SERIES_FIGURES, paper_figure
    from analysis.figures.render import export_figure
    from analysis.figures.resolve import FigureSources

    if name in SERIES_FIGURES:
        return _export_series_figure(window, name, path)

    try:
        kq, kj = demo_keys(window)
    except ScenarioError as exc:
        window.log("warning", str(exc))
        return None
    grids = {"qp": window.state.entries[kq].dataset, "josephson": window.state.entries[kj].dataset}

    def build_and_write(progress: Any = None, cancel: Any = None) -> Any:
        desc, sources = paper_figure(name, FigureSources(datasets=grids))
        return export_figure(desc, sources, path)

    return window.run_job(
        build_and_write,
        name=f"Export {name}",
        on_finished=lambda r: window.log("info", f"Wrote {name} to {r.path} ({r.seconds:.1f} s)"),
        on_failed=lambda m: window.log("error", f"Could not write {path}: {m.strip().splitlines()[-1]}"),
    )


def _export_series_figure(window: MainWindow, name: str, path: str) -> Any:
    """A transport paper's figure from the window's series: the paper's panel (``window.paper_<name>``)
    names the series it uses and its settings (``figure_inputs()``); when the window holds none of the
    paper's data the figure is made from the scenario's own synthetic series, and the log says so."""
    from analysis.figures.paper import paper_figure
    from analysis.figures.render import export_figure
    from analysis.figures.resolve import FigureSources

    ctl = getattr(window, f"paper_{name}", None)
    datasets, settings = ctl.figure_inputs() if hasattr(ctl, "figure_inputs") else ({}, None)
    title = _figure_title(name)
    if datasets:
        sources = FigureSources(datasets=datasets)
        origin = "the window's series " + ", ".join(repr(s.name) for s in datasets.values())
    else:
        sources, origin = None, "the scenario's synthetic series (the window has none of its data)"
    options = {"settings": settings} if settings is not None else {}

    def build_and_write(progress: Any = None, cancel: Any = None) -> Any:
        desc, out = paper_figure(name, sources, **options)
        return export_figure(desc, out, path)

    return window.run_job(
        build_and_write,
        name=f"Export {title}",
        on_finished=lambda r: window.log(
            "info", f"Wrote {title} from {origin} to {r.path} ({r.seconds:.1f} s)"
        ),
        on_failed=lambda m: window.log("error", f"Could not write {path}: {m.strip().splitlines()[-1]}"),
    )
