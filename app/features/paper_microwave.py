"""Papers > Microwave (paper 004): the microwave panel on a series of I(V) sweeps under rf.

The panel picks the series (by default the newest series with V and A channels and an ``attenuation``
tag at one frequency), the I_0(V) without rf for the Tien-Gordon prediction (the newest V/A series
without that tag), the frequency scan for the frequency slice and its Eq. 11 inversion (the newest V/A
series with the attenuation tag and several values of its ``f`` tag), the frequency, the gap, the
calibration law and the slice's step N and 2 alpha. Analyse runs
:func:`analysis.papers.microwave_workflow.analyse_microwave` as a job with progress and Cancel (the joint
calibration and the global gap scan take seconds). Settings, the chosen series and the result are saved
in the project (attachment ``"paper_microwave"``) and come back when it is opened. Export figure... writes
:func:`analysis.figures.paper_microwave.microwave_figure` of the same series off the GUI thread.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analysis.papers.microwave_workflow import (
    MicrowaveResult,
    MicrowaveSettings,
    analyse_microwave,
    result_from_dict,
    result_to_dict,
)
from analysis.series import Series
from analysis.store import Attachment
from analysis.store.records import key_remapper
from app.features.host import Host
from app.features.paper_base import PaperController, last_line, value_text
from widgets.papers.microwave_panel import MicrowavePanel

ATTACHMENT = "paper_microwave"
DOCK = "paper_microwave"
#: Width (px) the dock takes when it opens narrower, so that the plots are readable.
PANEL_WIDTH = 820


def _fmt(value: float, err: float, unit: str, scale: float = 1.0) -> str:
    return value_text(value, err, unit, scale, 5)


def report(res: MicrowaveResult, settings: MicrowaveSettings) -> str:
    """The panel's numbers as text."""
    m = 4.0 * settings.delta / (4.135667696e-15 * settings.f)
    top = float(res.two_alpha.max()) if res.two_alpha.size else math.nan
    lines = [
        f"{res.attenuation.size} sweeps, {res.josephson_orders.size} Josephson and {res.qp_orders.size} "
        f"quasiparticle steps; law: {settings.law}",
        f"attenuator constant C = {_fmt(res.c, res.c_err, 'mV', 1e3)}  (V_rf = C 10^(-A/20))",
        f"Josephson scale I_J(0) = {_fmt(res.josephson_scale, res.josephson_scale_err, 'uA', 1e6)}",
        f"quasiparticle step scale = {_fmt(res.qp_scale, res.qp_scale_err, 'uA', 1e6)}",
        f"2 alpha at the weakest attenuation = {top:.3g}; M = 4 Delta/hf = {m:.3g}",
        f"Delta from the global scan = {_fmt(res.delta_fit, res.delta_fit_err, 'meV', 1e3)}",
    ]
    if res.slice_f.size:
        dev = np.abs(res.riedel_i_j - res.riedel_i_j_theory) / np.abs(res.riedel_i_j_theory)
        lines.append(
            f"frequency slice N = {res.slice_order:.0f} at 2 alpha = {res.slice_two_alpha:g}: "
            f"{res.slice_f.size} frequencies "
            f"{res.slice_f.min() * 1e-9:.4g}-{res.slice_f.max() * 1e-9:.4g} GHz"
        )
        lines.append(
            f"Eq. 11: I_J at f_J = {res.riedel_f_j.min() * 1e-9:.4g}-{res.riedel_f_j.max() * 1e-9:.4g} GHz "
            f"(4 Delta/h = {4 * settings.delta / 4.135667696e-15 * 1e-9:.4g} GHz), "
            f"median |I_J/Riedel - 1| = {float(np.median(dev)):.1%}"
        )
    if math.isfinite(res.tg_rms):
        lines.append(
            f"Tien-Gordon I(V) at {res.tg_attenuation:g} dB: rms difference {res.tg_rms:.2%}"
            " of the largest current"
        )
    return "\n".join(lines)


class MicrowaveController(PaperController):
    """Binds the microwave panel to the state's series."""

    DOCK = DOCK
    TITLE = "Microwave"
    MENU_TEXT = "&Microwave (paper 004)..."
    STATUS_TIP = "Step amplitudes under rf, the attenuator calibration and the gap"
    WIDTH = PANEL_WIDTH
    FIGURE = "microwave"

    def __init__(self, host: Host) -> None:
        super().__init__(host, MicrowavePanel())
        self.chosen: str | None = None
        self.chosen_i0: str | None = None
        self.chosen_fscan: str | None = None
        self.settings = MicrowaveSettings()
        self.result: MicrowaveResult | None = None
        self.panel.analyse_requested.connect(self.analyse)
        self.panel.cancel_requested.connect(self.cancel)
        self.panel.export_requested.connect(self.export_dialog)
        self.state.datasets_changed.connect(self._refresh_choices)
        self.state.attachment_providers[ATTACHMENT] = self.project_attachment
        self.state.attachment_restorers[ATTACHMENT] = self.restore_attachment

    def _series(self, key: str | None) -> Series | None:
        return self.series_at(key)

    def _guess(self, with_rf: bool = True, scan: bool = False) -> str | None:
        for key, _label in reversed(self.series_items()):
            s = self._series(key)
            if s is None or not {"A", "V"} <= set(s.units.values()) or ("attenuation" in s.tags) != with_rf:
                continue
            several = "f" in s.tags and len(set(np.asarray(s.tags["f"], float).tolist())) > 1
            if not with_rf or several == scan:
                return key
        return None

    def _refresh_choices(self) -> None:
        keys = {k for k, _ in self.series_items()}
        if self.chosen not in keys:
            self.chosen = self._guess()
        if self.chosen_i0 not in keys:
            self.chosen_i0 = self._guess(with_rf=False)
        if self.chosen_fscan not in keys:
            self.chosen_fscan = self._guess(scan=True)
        self.panel.set_series_choices(self.series_items(), self.chosen, self.chosen_i0, self.chosen_fscan)

    def show_panel(self) -> MicrowavePanel:
        self._refresh_choices()
        return super().show_panel()

    def analyse(self) -> Any:
        """Run the analysis on the chosen series as a job; returns it (None when busy or nothing chosen)."""
        if self.job is not None:
            return None
        self.chosen = self.panel.chosen()
        self.chosen_i0 = self.panel.chosen_i0()
        self.chosen_fscan = self.panel.chosen_fscan()
        self.settings = MicrowaveSettings(**{**self.settings.to_dict(), **self.panel.settings()})
        series = self._series(self.chosen)
        i0 = self._series(self.chosen_i0)
        fscan = self._series(self.chosen_fscan)
        if series is None:
            self.panel.report.setPlainText("Choose the series of I(V) sweeps under rf first.")
            return None
        self.panel.set_busy(True, "Extracting the steps, calibrating the attenuator, scanning the gap...")
        settings = self.settings

        def done(res: MicrowaveResult) -> None:
            self.job = None
            self.result = res
            self.panel.set_busy(False)
            self.panel.set_progress(4, 4)
            self._show()
            self.host.log("info", "Microwave: " + report(res, settings).splitlines()[1])

        def ended(message: str) -> None:
            self.job = None
            self.panel.set_busy(False, message)

        def work(progress: Any = None, cancel: Any = None) -> MicrowaveResult:
            return analyse_microwave(series, settings, i0=i0, progress=progress, cancel=cancel, fscan=fscan)

        self.job = self.host.run_job(
            work,
            name="Microwave analysis",
            on_finished=done,
            on_failed=lambda m: ended(f"Failed: {last_line(m)}"),
            on_cancelled=lambda: ended("Cancelled."),
        )
        self.job.progress.connect(self.panel.set_progress)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _show(self) -> None:
        if self.result is None:
            return
        _scalars, arrays = result_to_dict(self.result)
        arrays = {**arrays, "slice_bessel": np.asarray(self.result.slice_bessel)}
        self.panel.show_result(report(self.result, self.settings), arrays)

    def project_attachment(self) -> Attachment:
        data: dict[str, Any] = {
            "settings": self.settings.to_dict(),
            "dataset": self.chosen,
            "datasets": [self.chosen_i0] if self.chosen_i0 else [],
        }
        if self.chosen_fscan:
            data["fscan_dataset"] = self.chosen_fscan
        arrays: dict[str, Any] = {}
        if self.result is not None:
            scalars, arrays = result_to_dict(self.result)
            data["scalars"] = scalars
        return Attachment(data=data, arrays=arrays)

    def restore_attachment(self, att: Attachment, keys: dict[str, str]) -> list[str]:
        remap = key_remapper(keys)
        data = dict(att.data)
        self.settings = MicrowaveSettings.from_dict(dict(data.get("settings") or {}))
        self.panel.set_settings(self.settings.to_dict())
        key = data.get("dataset")
        self.chosen = remap("dataset", key) if key else None
        others = remap("datasets", list(data.get("datasets") or []))
        self.chosen_i0 = others[0] if others else None
        fkey = data.get("fscan_dataset")
        self.chosen_fscan = remap("dataset", fkey) if fkey else None
        self.panel.set_series_choices(self.series_items(), self.chosen, self.chosen_i0, self.chosen_fscan)
        if "scalars" in data:
            self.result = result_from_dict(dict(data["scalars"]), dict(att.arrays))
            self._show()
        return []

    def figure_inputs(self) -> tuple[dict[str, Series], MicrowaveSettings]:
        """(series by role "iv", "i0", "fscan", settings) of the paper figure: the chosen series (the
        newest fitting ones when none was chosen; no "iv": nothing to draw) and the panel's settings."""
        self._refresh_choices()
        series, i0 = self._series(self.chosen), self._series(self.chosen_i0)
        fscan = self._series(self.chosen_fscan)
        if series is None:
            return {}, self.settings
        datasets = {k: v for k, v in (("iv", series), ("i0", i0), ("fscan", fscan)) if v is not None}
        return datasets, MicrowaveSettings(**{**self.settings.to_dict(), **self.panel.settings()})

    def figure_writer(self, path: str) -> Any:
        """Builds and writes the paper figure of the chosen series."""
        from analysis.figures.paper_microwave import microwave_figure
        from analysis.figures.render import export_figure
        from analysis.figures.resolve import FigureSources

        datasets, settings = self.figure_inputs()

        def build_and_write(progress: Any = None, cancel: Any = None) -> Any:
            sources = FigureSources(datasets=datasets)  # type: ignore[arg-type]
            desc, out = microwave_figure(sources, 0, settings=settings)
            return export_figure(desc, out, path)

        return build_and_write


def install(host: Host) -> None:
    """Add Papers > Microwave (paper 004)... and its dock (``host.paper_microwave``)."""
    host.paper_microwave = MicrowaveController(host)  # type: ignore[attr-defined]
