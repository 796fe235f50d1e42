"""Papers > Intrinsic tunnelling (paper 003): the ITS panel on the session's series.

The panel picks which series is R(T), which the I-Vs at several fields and which the I-V brush (each a
dataset of kind series in the state; by default the series whose channels fit: K and Ohm for R(T), A and V
with a field tag for the I-Vs, A and V with a ``branch`` tag for the brush). Analyse runs
:func:`analysis.papers.its_workflow.analyse_its` as a job; the result, the settings and the chosen series
are saved in the project (attachment ``"paper_its"``) and come back when it is opened. Export figure...
writes :func:`analysis.figures.paper_its.its_figure` of the same series off the GUI thread.
"""

from __future__ import annotations

import math
from typing import Any

from analysis.papers.its_workflow import (
    ITSResult,
    ITSSettings,
    analyse_its,
    result_from_dict,
    result_to_dict,
)
from analysis.series import Series
from analysis.store import Attachment
from analysis.store.records import key_remapper
from app.features.host import Host
from app.features.paper_base import PaperController, last_line, value_text
from widgets.papers.its_panel import ITSPanel

ATTACHMENT = "paper_its"
DOCK = "paper_its"
#: Width (px) the dock takes when it opens narrower, so that the 2 x 2 plots are readable.
PANEL_WIDTH = 820


def _fmt(value: float, err: float, unit: str, scale: float = 1.0) -> str:
    return value_text(value, err, unit, scale, 4)


def report(res: ITSResult, settings: ITSSettings) -> str:
    """The panel's numbers as text."""
    lines = [
        f"hA = {_fmt(res.h_a, res.h_a_err, 'uW/K', 1e6)}  (alpha = 1/hA = "
        f"{(1 / res.h_a if res.h_a > 0 else math.nan):.4g} K/W)",
        f"R(T) noise sigma = {res.rt_sigma:.3g} Ohm",
        "Heating-spectrum peaks: "
        + (", ".join(f"{v * 1e3:.4g} mV" for v in res.peak_V) if res.peak_V.size else "none"),
    ]
    unit = "W/m^2" if settings.area > 0 else "W"
    for b, p, e in zip(res.fields, res.p_c, res.p_c_err, strict=True):
        lines.append(f"P_c(B = {b:g} T) = {_fmt(p, e, unit)}")
    if math.isfinite(res.spread):
        lines.append(f"field collapse: rms spread of R(P)/R_N = {res.spread:.2%}")
    for k, (r, re, i, ie) in enumerate(
        zip(res.branch_R, res.branch_R_err, res.branch_I_star, res.branch_I_star_err, strict=True)
    ):
        lines.append(f"branch {k + 1}: R = {_fmt(r, re, 'Ohm')}, I* = {_fmt(i, ie, 'uA', 1e6)}")
    if math.isfinite(res.R1):
        lines.append(
            f"R_1 = {_fmt(res.R1, res.R1_err, 'Ohm')}, I* = {_fmt(res.I_star, res.I_star_err, 'uA', 1e6)}"
        )
    return "\n".join(lines)


class ITSController(PaperController):
    """Binds the ITS panel to the state's series."""

    DOCK = DOCK
    TITLE = "Intrinsic tunnelling"
    MENU_TEXT = "&Intrinsic tunnelling (paper 003)..."
    STATUS_TIP = "R(T), hA, heating spectra, critical loads and the I-V brush of a mesa"
    WIDTH = PANEL_WIDTH
    FIGURE = "ITS"

    def __init__(self, host: Host) -> None:
        super().__init__(host, ITSPanel())
        self.chosen: dict[str, str | None] = {"rt": None, "iv": None, "brush": None}
        self.settings = ITSSettings()
        self.result: ITSResult | None = None
        self.panel.analyse_requested.connect(self.analyse)
        self.panel.export_requested.connect(self.export_dialog)
        self.state.datasets_changed.connect(self._refresh_choices)
        self.state.attachment_providers[ATTACHMENT] = self.project_attachment
        self.state.attachment_restorers[ATTACHMENT] = self.restore_attachment

    # -- series ---------------------------------------------------------------------------------------------
    def _series(self, key: str | None) -> Series | None:
        return self.series_at(key)

    def _guess(self, role: str) -> str | None:
        for key, _label in reversed(self.series_items()):
            s = self._series(key)
            if s is None:
                continue
            units = set(s.units.values())
            if role == "rt" and {"K", "Ohm"} <= units:
                return key
            if role == "iv" and {"A", "V"} <= units and "branch" not in s.tags and len(s.tags):
                return key
            if role == "brush" and {"A", "V"} <= units and "branch" in s.tags:
                return key
        return None

    def _refresh_choices(self) -> None:
        keys = {k for k, _ in self.series_items()}
        for role in self.chosen:
            if self.chosen[role] not in keys:
                self.chosen[role] = self._guess(role)
        self.panel.set_series_choices(self.series_items(), self.chosen)

    def show_panel(self) -> ITSPanel:
        self._refresh_choices()
        return super().show_panel()

    # -- analysis -------------------------------------------------------------------------------------------
    def analyse(self) -> Any:
        """Run the analyses on the chosen series as a job; returns it (None when busy or nothing chosen)."""
        if self.job is not None:
            return None
        self.chosen = self.panel.chosen()
        self.settings = ITSSettings(**{**self.settings.to_dict(), **self.panel.settings()})
        rt, iv, brush = (self._series(self.chosen[r]) for r in ("rt", "iv", "brush"))
        if rt is None and iv is None and brush is None:
            self.panel.report.setPlainText("Choose the R(T), I-V or brush series first.")
            return None
        self.panel.set_busy(True, "Analysing...")
        settings = self.settings

        def done(res: ITSResult) -> None:
            self.job = None
            self.result = res
            self.panel.set_busy(False)
            self._show()
            self.host.log("info", "Intrinsic tunnelling: " + report(res, settings).splitlines()[0])

        def failed(message: str) -> None:
            self.job = None
            self.panel.set_busy(False, f"Failed: {last_line(message)}")

        def work(progress: Any = None, cancel: Any = None) -> ITSResult:
            return analyse_its(rt, iv, brush, settings, progress=progress)

        self.job = self.host.run_job(
            work,
            name="Intrinsic tunnelling analysis",
            on_finished=done,
            on_failed=failed,
            on_cancelled=lambda: failed("cancelled"),
        )
        return self.job

    def _show(self) -> None:
        if self.result is None:
            return
        _scalars, arrays = result_to_dict(self.result)
        self.panel.show_result(report(self.result, self.settings), arrays)

    # -- project --------------------------------------------------------------------------------------------
    def project_attachment(self) -> Attachment:
        data: dict[str, Any] = {"settings": self.settings.to_dict(), "datasets": dict(self.chosen)}
        arrays: dict[str, Any] = {}
        if self.result is not None:
            scalars, arrays = result_to_dict(self.result)
            data["scalars"] = scalars
        return Attachment(data=data, arrays=arrays)

    def restore_attachment(self, att: Attachment, keys: dict[str, str]) -> list[str]:
        remap = key_remapper(keys)
        data = dict(att.data)
        self.settings = ITSSettings.from_dict(dict(data.get("settings") or {}))
        self.panel.set_settings(self.settings.to_dict())
        chosen = dict(data.get("datasets") or {})
        self.chosen = {r: (remap("dataset", chosen.get(r)) if chosen.get(r) else None) for r in self.chosen}
        self.panel.set_series_choices(self.series_items(), self.chosen)
        if "scalars" in data:
            self.result = result_from_dict(dict(data["scalars"]), dict(att.arrays))
            self._show()
        return []

    # -- figure ---------------------------------------------------------------------------------------------
    def figure_inputs(self) -> tuple[dict[str, Series], ITSSettings]:
        """(series by role "rt", "iv", "brush", settings) of the paper figure: the chosen series (the
        newest fitting ones when none was chosen) and the panel's settings."""
        self._refresh_choices()
        roles = {r: self._series(k) for r, k in self.chosen.items()}
        return {r: s for r, s in roles.items() if s is not None}, self.settings

    def figure_writer(self, path: str) -> Any:
        """Builds and writes the paper figure of the chosen series."""
        from analysis.figures.paper_its import its_figure
        from analysis.figures.render import export_figure
        from analysis.figures.resolve import FigureSources

        datasets, settings = self.figure_inputs()

        def build_and_write(progress: Any = None, cancel: Any = None) -> Any:
            desc, sources = its_figure(FigureSources(datasets=datasets), 0, settings=settings)  # type: ignore[arg-type]
            return export_figure(desc, sources, path)

        return build_and_write


def install(host: Host) -> None:
    """Add Papers > Intrinsic tunnelling (paper 003)... and its dock (``host.paper_its``)."""
    host.paper_its = ITSController(host)  # type: ignore[attr-defined]
