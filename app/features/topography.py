"""Topography tools: Topography > Level... (derived levelled images) and Topography > Profile.

``install(window)`` adds the "Topography" menu, the "Height profile" dock
(:class:`widgets.topography_tools.HeightProfilePanel`) and a profile drawer on every map view. The user
drags a line on any map; its profile (averaged over the width set in the dock) is taken from the image
that map shows, with two cursor ranges A and B giving the step height B - A and its standard error
(:mod:`analysis.topography.profiles`). The line (its dataset, channel, vertices and width) is a mark in
``state.annotations``: drawing and editing it are undo steps, and it is saved with the project
(attachment ``"topography"``). Level... opens :class:`widgets.topography_tools.LevelDialog` on
the current image or grid; accepting computes the levelled map off the GUI thread
(:mod:`analysis.topography.images`) and adds it as a child dataset with :class:`AddDataset` (undoable).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog

from analysis.dataset import Grid, Image
from analysis.errors import WorkbenchError
from analysis.topography.images import height_map, level_channels, levelled_image
from analysis.topography.levelling import LevelSpec, apply
from analysis.topography.profiles import Profile, StepHeight, line_profile, step_height, write_profile_csv
from app.features.host import Host
from app.state.app_state import annotation_key
from app.state.edits import AddDataset
from app.state.project_io import annotations_attachment
from app.state.undo import DELETE, DictEdit, Macro
from widgets.linecut_drawing import CutShape, LineCutDrawer
from widgets.topography_tools import HeightProfilePanel, LevelDialog

PROFILE_ID = "height-profile"
PROFILE_COLOUR = (255, 255, 255)
PROFILE_KIND = "height_profile"  # annotation kind of the profile line (one at a time)
PROFILE_ATTACHMENT = "topography"  # the project attachment holding it
PREVIEW_SIZE = 256  # the preview is levelled on the map strided to at most this many pixels a side
TOPOGRAPHY_VIEW = "topography"  # the view state of the topography panel (its channel is the default)


def spec_from_values(v: dict[str, Any]) -> LevelSpec:
    """The :class:`LevelSpec` of the Level dialog's ``values()``."""
    method = str(v["method"])
    band = v.get("band")
    common: dict[str, Any] = {"band": band, "band_exclude": bool(v.get("band_exclude", True))}
    if method.startswith("line:"):
        return LevelSpec("line", int(v["order"]), method.split(":", 1)[1], **common)
    if method == "terrace":
        return LevelSpec("terrace", max(1, int(v["order"])), **common)
    if method == "scars":
        return LevelSpec("scars", threshold=float(v["threshold"]), **common)
    return LevelSpec("plane", int(v["order"]), **common)


class TopographyController:
    """Profile line, its dock and the Level dialog. ``profile`` and ``step`` hold the last results."""

    def __init__(self, window: Host) -> None:
        self.window = window
        self.state = window.state
        self.drawers: dict[int, tuple[Any, LineCutDrawer]] = {}
        self.line: tuple[tuple[float, float], ...] | None = None
        self.line_panel: Any = None
        self.profile: Profile | None = None
        self.step: StepHeight | None = None
        self.dialog: LevelDialog | None = None
        self.last_job: Any = None
        self._dialog_key: str | None = None
        self._drawn_on: Any = None  # the map a line is being drawn on, while its edit is pushed

        self.panel = HeightProfilePanel()
        tab = "profile" if "profile" in window.dock_keys() else None
        self.dock = window.add_dock(
            "height_profile", "Height profile", self.panel, Qt.DockWidgetArea.RightDockWidgetArea, False, tab
        )
        self.panel.width_changed.connect(lambda _w: self._width_changed())
        self.panel.cursors_changed.connect(self._update_step)
        self.panel.export_requested.connect(self.export_dialog)
        self.panel.draw_requested.connect(self.start_drawing)

        self._refresh_timer = QTimer()
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(30)
        self._refresh_timer.timeout.connect(self.refresh)
        self._preview_timer = QTimer()
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(60)
        self._preview_timer.timeout.connect(self.update_preview)

        menu = window.menu("Topography")
        self.menu = menu
        menu.addAction("&Level...").triggered.connect(lambda: self.show_level_dialog())
        menu.addAction("&Profile").triggered.connect(self.start_drawing)
        menu.addAction("Export profile (CSV)...").triggered.connect(self.export_dialog)
        menu.addAction("Clear profile").triggered.connect(self.clear_profile)

        for panel in window.map_panels():
            self._attach(panel)
        window.map_panel_added.connect(self._attach)
        self.state.annotations.edited.connect(self._mark_edited)
        self.state.attachment_providers[PROFILE_ATTACHMENT] = lambda: annotations_attachment(
            self.state, PROFILE_KIND
        )
        removed = getattr(window, "map_panel_removed", None)
        if removed is not None:
            removed.connect(self._detach)

    # -- drawers ---------------------------------------------------------------------------------------
    def _attach(self, panel: Any) -> None:
        if id(panel) in self.drawers or getattr(panel, "view_box", None) is None:
            return
        drawer = LineCutDrawer(panel.view_box)
        drawer.drawn.connect(lambda verts, p=panel: self.set_line(verts, p))
        drawer.edited.connect(lambda _cid, verts, p=panel: self.set_line(verts, p))
        drawer.tool_changed.connect(self._tool_changed)
        self.drawers[id(panel)] = (panel, drawer)
        add = getattr(panel, "add_context_action", None)
        if add is not None:
            add("Draw a height profile", lambda _x, _y: self.start_drawing())
        panel.image_item.sigImageChanged.connect(lambda p=panel: self._image_changed(p))

    def _detach(self, panel: Any) -> None:
        item = self.drawers.pop(id(panel), None)
        if item is not None:
            item[1].detach()
        if panel is self.line_panel:  # the map closed: the line goes to another map of its dataset
            self.line_panel = None
            self.apply_mark()

    def drawer_for(self, panel: Any) -> LineCutDrawer:
        return self.drawers[id(panel)][1]

    def start_drawing(self) -> None:
        """Let the user drag the profile line on any map."""
        for _, d in self.drawers.values():
            d.set_tool("line")
        self.dock.show()
        self.dock.raise_()
        self.window.log("info", "Profile: drag a line on a map from start to end")

    def _tool_changed(self, tool: str) -> None:
        if not tool:
            for _, d in self.drawers.values():
                if d.tool():
                    d.set_tool("")

    def _image_changed(self, panel: Any) -> None:
        found = self.mark()
        if panel is self.line_panel and found is not None and panel.dataset_key != found[1]["dataset"]:
            QTimer.singleShot(0, self.apply_mark)  # the map shows another dataset now
        elif panel is self.line_panel:
            self._refresh_timer.start()
        elif self.line_panel is None and found is not None:
            QTimer.singleShot(0, self.apply_mark)  # a map of the mark's dataset may have appeared

    # -- profile ---------------------------------------------------------------------------------------
    def mark(self) -> tuple[str, dict[str, Any]] | None:
        """(annotation key, mark) of the profile line kept in the state, or None."""
        for k, v in self.state.annotations.items():
            if v.get("kind") == PROFILE_KIND:
                return k, v
        return None

    def set_line(self, vertices: Any, panel: Any) -> None:
        """The profile runs along ``vertices`` ((x, y) metres) on the map ``panel`` shows: one undoable
        edit of the profile mark in the state (on the dataset the map shows)."""
        line = tuple((float(x), float(y)) for x, y in vertices)
        key = getattr(panel, "dataset_key", None)
        if key is None or key not in self.state.entries:  # a map of no dataset: shown, not kept
            self._show_line(line, panel)
            return
        value = {
            "kind": PROFILE_KIND,
            "dataset": key,
            "channel": panel.value_label,
            "line": [list(p) for p in line],
            "width": self.panel.width_m(),
        }
        old = self.mark()
        if old is not None and old[1] == value and panel is self.line_panel:
            return
        new_key = annotation_key(PROFILE_KIND, key)
        edits = []
        if old is not None and old[0] != new_key:  # one profile line at a time
            edits.append(DictEdit("", self.state.annotations, old[0], DELETE))
        edits.append(DictEdit("", self.state.annotations, new_key, value))
        self._drawn_on = panel
        try:
            self.state.undo.push(Macro("Edit height profile" if old else "Draw height profile", edits))
        finally:
            self._drawn_on = None

    def _panel_for(self, mark: dict[str, Any]) -> Any:
        """The map view the profile mark is shown on: the one it was drawn on, else one showing its
        dataset (and channel)."""
        same = [p for p in self.window.map_panels() if getattr(p, "dataset_key", None) == mark["dataset"]]
        for p in (self._drawn_on, self.line_panel):
            if p is not None and p in same:
                return p
        chan = [p for p in same if p.value_label == mark.get("channel")]
        return (chan or same or [None])[0]

    def _mark_edited(self, key: str, _old: Any, new: Any) -> None:
        if (isinstance(new, dict) and new.get("kind") == PROFILE_KIND) or (
            isinstance(_old, dict) and _old.get("kind") == PROFILE_KIND
        ):
            self.apply_mark()

    def apply_mark(self) -> None:
        """Show the profile mark of the state (after a drag, an undo or a project being opened)."""
        found = self.mark()
        if found is None:
            self._show_line(None, None)
            return
        mark = found[1]
        width = float(mark.get("width", self.panel.width_m()))
        if abs(width - self.panel.width_m()) > 1e-15:
            self.panel.width_spin.blockSignals(True)
            self.panel.width_spin.setValue(width * 1e9)
            self.panel.width_spin.blockSignals(False)
        line = tuple((float(x), float(y)) for x, y in mark["line"])
        self._show_line(line, self._panel_for(mark))

    def _width_changed(self) -> None:
        """The width is a setting of the profile: kept in its mark (not an undo step of its own)."""
        found = self.mark()
        if found is not None and found[1].get("width") != self.panel.width_m():
            self.state.annotations[found[0]] = {**found[1], "width": self.panel.width_m()}
        self.refresh()

    def _show_line(self, line: tuple[tuple[float, float], ...] | None, panel: Any) -> None:
        self.line = line
        self.line_panel = panel if line is not None else None
        self.profile = None
        self.step = None
        for p, d in self.drawers.values():
            if line is not None and p is panel:
                shape = CutShape(PROFILE_ID, line, PROFILE_COLOUR, "profile", self.panel.width_m(), True)
                d.set_cuts([shape])
            else:
                d.set_cuts([])
        if line is None or panel is None:
            self.panel.set_profile(np.zeros(0), np.zeros(0), "", "")
            self.panel.set_step_text("")
            return
        self.refresh()

    def clear_profile(self) -> None:
        """Topography > Clear profile: removes the profile mark (undoable)."""
        found = self.mark()
        if found is None:
            self._show_line(None, None)
            return
        self.state.undo.push(DictEdit("Clear height profile", self.state.annotations, found[0], DELETE))

    def refresh(self) -> None:
        """Recompute the profile from the image the line's map shows now (a few ms: done inline)."""
        panel = self.line_panel
        if self.line is None or panel is None:
            return
        image = panel.current_image()
        frame = panel.frame
        if image is None or frame is None:
            return
        width = self.panel.width_m()
        if id(panel) in self.drawers:
            shape = CutShape(PROFILE_ID, self.line, PROFILE_COLOUR, "profile", width, True)
            self.drawer_for(panel).set_cuts([shape])
        label = panel.value_label or "value"
        try:
            self.profile = line_profile(image, frame, self.line, width, unit=panel.value_unit, label=label)
        except WorkbenchError as exc:
            self.profile = None
            self.panel.set_step_text(str(exc))
            return
        self.panel.set_profile(self.profile.distance, self.profile.values, label, self.profile.unit)
        self._update_step()

    def _update_step(self) -> None:
        p = self.profile
        if p is None:
            return
        r = self.panel.cursor_ranges()
        frame = self.line_panel.frame if self.line_panel is not None else None
        corr = min(frame.pixel_size) if frame is not None else 0.0
        try:
            self.step = step_height(p.distance, p.values, r["A"], r["B"], correlation_m=corr)
        except WorkbenchError as exc:
            self.step = None
            self.panel.set_step_text(str(exc))
            return
        self.panel.set_step_text(f"B − A: {self.step.text(p.unit)} (common tilt fitted)")

    def export_dialog(self) -> None:
        if self.profile is None:
            self.window.log("warning", "Draw a profile first: there is nothing to export")
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Export profile", "profile.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str) -> bool:
        if self.profile is None:
            return False
        try:
            write_profile_csv(self.profile, path, self.step)
        except (OSError, WorkbenchError) as exc:
            self.window.log("error", f"Profile export failed: {exc}")
            return False
        self.window.log("info", f"Profile written to {path}")
        return True

    # -- levelling -------------------------------------------------------------------------------------
    def _target(self) -> str | None:
        cur = self.state.current
        if cur is not None and level_channels(self.state.entries[cur].dataset):
            return cur
        for e in self.state.entries.values():
            if isinstance(e.dataset, Image) and e.dataset.channels:
                return e.key
        return self.window.current_grid_key()

    def show_level_dialog(self, key: str | None = None) -> LevelDialog | None:
        key = key or self._target()
        if key is None or key not in self.state.entries:
            self.window.log("warning", "Open an image or a grid with a height map first")
            return None
        entry = self.state.entries[key]
        channels = level_channels(entry.dataset)
        if not channels:
            self.window.log("warning", f"{entry.label} has no map to level")
            return None
        view = self.state.views.get(TOPOGRAPHY_VIEW)
        default = view.channel if view is not None and view.dataset == key else ""
        if default not in channels:
            default = "Z" if "Z" in channels else channels[0]
        dlg = LevelDialog(entry.label, channels, default, len(self.state.regions), parent=self.window)  # type: ignore[arg-type]
        self._dialog_key = key
        self._set_band_defaults(dlg)
        dlg.channel.currentIndexChanged.connect(lambda _i: self._set_band_defaults(dlg))
        dlg.changed.connect(self._preview_timer.start)
        dlg.accepted.connect(lambda: self._level(key, dlg.values()))
        dlg.finished.connect(lambda _r: self._dialog_closed(dlg))
        self.dialog = dlg
        dlg.open()
        self.update_preview()
        return dlg

    def _dialog_closed(self, dlg: LevelDialog) -> None:
        if self.dialog is dlg:
            self.dialog = None
        self._preview_timer.stop()
        dlg.deleteLater()

    def _set_band_defaults(self, dlg: LevelDialog) -> None:
        key = self._dialog_key
        if key is None or key not in self.state.entries:
            return
        try:
            z, _unit = height_map(self.state.entries[key].dataset, dlg.values()["channel"])  # type: ignore[arg-type]
        except WorkbenchError:
            return
        s = max(1, int(np.ceil(max(z.shape) / 512)))  # a strided sample keeps this well under 100 ms
        sample = z[::s, ::s]
        if np.isfinite(sample).any():
            lo, hi = np.nanpercentile(sample, [90, 100])
            dlg.set_band_range(float(lo), float(hi))

    def _exclusion(self, ds: Any, use: bool) -> tuple[np.ndarray | None, list[str]]:
        if not use or not self.state.regions:
            return None, []
        ex = np.zeros(ds.frame.shape, dtype=bool)
        names = []
        for r in self.state.regions.values():
            ex |= np.asarray(r.mask_in(ds.frame), dtype=bool)
            names.append(r.name)
        return ex, names

    def update_preview(self) -> None:
        """Level the dialog's map, strided to at most PREVIEW_SIZE a side, and show it in the dialog."""
        dlg, key = self.dialog, self._dialog_key
        if dlg is None or key is None or key not in self.state.entries:
            return
        v = dlg.values()
        ds = self.state.entries[key].dataset
        try:
            z, _unit = height_map(ds, v["channel"])  # type: ignore[arg-type]
            ex, _names = self._exclusion(ds, v["exclude_regions"])
            s = max(1, int(np.ceil(max(z.shape) / PREVIEW_SIZE)))
            out = apply(z[::s, ::s], spec_from_values(v), None if ex is None else ex[::s, ::s])
        except WorkbenchError as exc:
            dlg.set_preview(None, str(exc))
            return
        dlg.set_preview(out, "")

    def _level(self, key: str, v: dict[str, Any]) -> None:
        if key not in self.state.entries:
            return
        entry = self.state.entries[key]
        ds = entry.dataset
        if not isinstance(ds, Grid | Image):
            return
        spec = spec_from_values(v)
        ex, names = self._exclusion(ds, v["exclude_regions"])

        def done(result: Any) -> None:
            if key not in self.state.entries:
                return
            edit = AddDataset(self.state, result, result.name, parent=key)
            self.state.undo.push(edit)
            self.window.log("info", f"Levelled: {self.state.entries[edit.key].label}")  # type: ignore[index]

        def failed(message: str) -> None:
            self.window.log("error", f"Levelling failed: {message}")

        self.last_job = self.window.run_job(
            levelled_image,
            ds,
            v["channel"],
            spec,
            ex,
            entry.label,
            names,
            name=f"Level: {spec.describe()}",
            on_finished=done,
            on_failed=failed,
        )


def install(window: Host) -> None:
    window.topography = TopographyController(window)  # type: ignore[attr-defined]
