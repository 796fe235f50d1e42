"""One slicer: binds a :class:`widgets.slicer_panel.SlicerPanel` to a grid channel through a scheduler."""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis.dataset import Grid
from app.state.app_state import ViewState
from app.workers.slicing import SliceRequest, SliceScheduler
from widgets.slicer_panel import SlicerPanel

LINE_COLOURS = [(200, 30, 30), (30, 90, 200), (20, 140, 60), (150, 60, 160), (220, 120, 0)]


def global_levels(cube: Any, lower: float = 1.0, max_values: int = 2_000_000) -> tuple[float, float]:
    """(lo, hi): the ``lower`` and ``100 - lower`` percentiles of a pixel-subsampled cube (all biases)."""
    ny, nx, nb = (int(n) for n in cube.shape)
    step = max(1, int(np.ceil(np.sqrt(ny * nx * nb / max_values))))
    sample = np.asarray(cube[::step, ::step, :], dtype=np.float64).ravel()
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(sample, [lower, 100 - lower])
    return float(lo), float(hi if hi > lo else lo + 1e-30)


class SlicerController:
    """A slicer dock showing ``channel`` of grid ``key``; bias requests go through a newest-wins scheduler."""

    def __init__(
        self,
        exploration: Any,
        number: int,
        key: str,
        channel: str,
        view_key: str = "",
        panel: SlicerPanel | None = None,
    ) -> None:
        self.ex = exploration
        self.window = exploration.window
        self.number = number
        #: the key of its dock and of its ViewState in ``state.views`` (given when the view came first)
        self.dock_key = view_key or f"slicer{number}"
        self.key = key
        self.channel = channel
        self.half_width = 0
        self.colour = LINE_COLOURS[(number - 1) % len(LINE_COLOURS)]
        entry = self.window.state.entry(key)
        grid: Grid = entry.dataset  # type: ignore[assignment]
        self.panel = panel if panel is not None else SlicerPanel(f"Slicer {number}")  # one built ahead
        self.panel.title = f"Slicer {number}"
        self.panel.dataset_key = key
        self.panel.set_dataset_name(entry.label)
        self.panel.set_channels(list(grid.channels), channel)
        self.panel.set_sweep(grid.bias, grid.sweep_unit, grid.sweep_signal)
        self.panel.set_frame(grid.frame)
        self.panel.set_value_label(channel, grid.unit(channel))
        self.scheduler = SliceScheduler(self._grid_for, exploration.cache)
        self.scheduler.ready.connect(self._ready)
        self.panel.index_requested.connect(lambda _i: self.request())
        self.panel.channel_selected.connect(self.set_channel)
        self.panel.window_changed.connect(self._window_changed)
        self.panel.level_mode_selected.connect(self._level_mode)
        self.last_request: SliceRequest | None = None
        # what this slicer shows lives in the state (project files and other views read it there)
        self.state = self.window.state
        if self.dock_key not in self.state.views:
            self.state.views[self.dock_key] = ViewState(
                self.dock_key, key, channel, "slicer", self.panel.index(), 1, None, self.panel.colormap_name
            )
        self.panel.levels_changed.connect(lambda lo, hi: self._set_view(levels=(lo, hi)))
        self.panel.level_mode_changed.connect(
            lambda m: None if m == "manual" else self._set_view(levels=None)
        )
        self.panel.colormap_changed.connect(lambda name: self._set_view(colormap=name))
        self.state.view_edited.connect(self._view_edited)

    def _view_edited(self, vkey: str, name: str, _old: Any, new: Any) -> None:
        """Another controller moved this slicer through the state (e.g. the demo's paper biases)."""
        if vkey != self.dock_key:
            return
        self.apply_view({name: new})

    def apply_view(self, fields: dict[str, Any]) -> None:
        """Show what the state says (fields of :class:`ViewState`); what already shows is left alone."""
        if "channel" in fields and isinstance(fields["channel"], str) and fields["channel"] != self.channel:
            self.set_channel(fields["channel"])
        window = fields.get("window")
        if isinstance(window, int) and window >= 1 and window // 2 != self.half_width:
            self.panel.window_spin.setValue(window // 2)  # emits window_changed -> request
        cmap = fields.get("colormap")
        if isinstance(cmap, str) and cmap != self.panel.colormap_name:
            self.panel.colormap_combo.setCurrentText(cmap)
        levels = fields.get("levels")
        if isinstance(levels, list | tuple) and len(levels) == 2:
            lo, hi = float(levels[0]), float(levels[1])
            if self.panel.level_mode != "manual" or self.panel.levels() != (lo, hi):
                self.panel.set_levels(lo, hi)
        index = fields.get("index")
        if isinstance(index, int) and index != self.panel.index():
            self.panel.request_index(index)

    def _set_view(self, **changes: Any) -> None:
        if self.dock_key in self.state.views:
            self.state.set_view(self.dock_key, **changes)

    @property
    def grid(self) -> Grid | None:
        return self._grid_for(self.key)

    def _grid_for(self, key: str) -> Grid | None:
        entry = self.window.state.entries.get(key)
        return entry.dataset if entry is not None and isinstance(entry.dataset, Grid) else None

    def title(self) -> str:
        entry = self.window.state.entries.get(self.key)
        return f"Slicer {self.number}: {entry.label if entry else self.key}"

    def index(self) -> int:
        return self.panel.index()

    def sweep_value(self) -> float:
        return self.panel.sweep_value()

    def request(self) -> None:
        grid = self.grid
        if grid is None:
            return
        self.ex.cache.ensure(self.window, self.key, grid, self.channel)
        self.last_request = self.scheduler.request(
            self.key, self.channel, self.panel.index(), self.half_width
        )
        self._set_view(index=self.panel.index(), window=2 * self.half_width + 1)
        self.ex.slicer_bias_changed(self)

    def set_index(self, index: int) -> None:
        self.panel.request_index(index)

    def set_value(self, value: float) -> None:
        """Move to the sweep point nearest ``value`` (SI units)."""
        grid = self.grid
        if grid is not None:
            self.panel.request_index(grid.bias_index(value))

    def set_channel(self, channel: str) -> None:
        grid = self.grid
        if grid is None or channel not in grid.channels:
            return
        self.channel = channel
        self._set_view(channel=channel)
        self.panel.set_channels(list(grid.channels), channel)
        self.panel.set_value_label(channel, grid.unit(channel))
        if self.panel.level_mode == "global":
            self.panel.set_level_mode("global", global_levels(grid.channels[channel]))
        elif self.panel.level_mode == "manual":
            self.panel.set_level_mode("percentile")
        self.request()
        self.ex.note_viewed(self)

    def _window_changed(self, half_width: int) -> None:
        self.half_width = int(half_width)
        self.request()

    def _level_mode(self, mode: str) -> None:
        grid = self.grid
        if mode == "global" and grid is not None:
            self.panel.set_level_mode("global", global_levels(grid.channels[self.channel]))

    def _ready(self, req: SliceRequest, image: np.ndarray) -> None:
        if req.channel != self.channel or req.key != self.key:
            return
        self.panel.show_slice(image, req.index)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self.scheduler.shutdown(timeout_ms)
        self.state.view_edited.disconnect(self._view_edited)
        self.state.views.pop(self.dock_key, None)
