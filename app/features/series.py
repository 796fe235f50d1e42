"""Transport series in the window: import many I(V) files as one series, and the series views.

File > Import series... reads column files (Nanonis ``.dat``, text/CSV) into one
:class:`analysis.series.Series` off the GUI thread, with tags from a file-name pattern such as
``neck3_{H}T.dat``; files that cannot be read, whose columns disagree with the others or whose name does not
match are left out with a message naming each. A series is a dataset of the session (data browser, project
file). The Series dock shows the current series: curves of the chosen x and y quantities coloured by a tag
(overlay and offset waterfall), the 2D map of y against x and the tag, and results against the tag.
Derivatives (dI/dV, dV/dI) are offered as quantities and computed off the GUI thread on the non-uniform
axes (:func:`analysis.transport.derivative`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog

from analysis.series import Series
from analysis.transport import derivative, import_series, tag_map
from analysis.transport.grids import derivative_name
from app.features.host import Host
from widgets.series.series_panel import SeriesPanel


class SeriesController:
    """Binds the Series dock to the series datasets of the state."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.state = host.state
        self.panel = SeriesPanel()
        # hidden until there is a series to show (an STM session never sees it)
        host.add_dock("series", "Series", self.panel, Qt.DockWidgetArea.BottomDockWidgetArea, visible=False)
        self.key: str | None = None  # the series shown
        self.x: str | None = None
        self.y: str | None = None
        self.tag: str | None = None
        #: series key -> {quantity: derived Series holding it}
        self.derived: dict[str, dict[str, Series]] = {}
        self.last_import: Any = None
        self.jobs: list[Any] = []
        self._derivatives: dict[str, tuple[str, str]] = {}  # "dV/dI" -> (y channel, x channel)
        menu = host.menu("File")
        separators = [a for a in menu.actions() if a.isSeparator()]
        action = QAction("Import &series...", menu)
        action.triggered.connect(self.import_dialog)
        menu.insertAction(separators[-1] if separators else None, action)
        self.panel.quantity_changed.connect(self._quantity_chosen)
        self.panel.tag_changed.connect(self._tag_chosen)
        self.panel.export_requested.connect(self._export)
        self.state.datasets_changed.connect(self._datasets_changed)
        self.state.current_changed.connect(lambda _k: self._datasets_changed())

    # -- import ---------------------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self.panel, "Import I(V) files as one series", "", "Sweeps (*.dat *.txt *.csv *.tsv);;All (*)"
        )
        if not paths:
            return
        example = Path(paths[0]).name
        pattern, ok = QInputDialog.getText(
            self.panel,
            "Tags from file names",
            f"Pattern with {{tag}} fields for the values in the names (e.g. neck_{{H}}T.dat), or empty.\n"
            f"First file: {example}",
        )
        if ok:
            self.import_files(paths, pattern.strip() or None)

    def import_files(self, paths: list[str], pattern: str | None = None) -> Any:
        """Import ``paths`` as one series (tags from ``pattern``) off the GUI thread; returns the job."""
        names = [str(p) for p in paths]

        def done(result: Any) -> None:
            self.last_import = result
            for message in result.messages:
                self.host.log("warning", message)
            if len(result.series):
                label = result.series.name or f"Series of {len(result.series)} sweeps"
                key = self.state.add_dataset(result.series, label)
                self.state.set_current(key)
                self.host.log("info", f"Imported {len(result.series)} sweeps into {label}")
            else:
                self.host.log("error", "No sweep could be imported: " + "; ".join(result.messages))

        job = self.host.run_job(
            import_series, names, patterns=pattern, name="Import series", on_finished=done
        )
        self.jobs.append(job)
        return job

    # -- which series ---------------------------------------------------------------------------------------
    def series_keys(self) -> list[str]:
        return [k for k, e in self.state.entries.items() if isinstance(e.dataset, Series)]

    def series(self) -> Series | None:
        entry = self.state.entries.get(self.key or "")
        return entry.dataset if entry is not None and isinstance(entry.dataset, Series) else None

    def _datasets_changed(self) -> None:
        keys = self.series_keys()
        current = self.state.current if self.state.current in keys else None
        key = current or (self.key if self.key in keys else (keys[-1] if keys else None))
        for gone in [k for k in self.derived if k not in keys]:
            del self.derived[gone]
        if key != self.key:
            self.key = key
            self.x = self.y = self.tag = None
            self.show()
            if key is not None:
                dock = self.host.dock("series")
                dock.show()
                dock.raise_()

    # -- quantities -----------------------------------------------------------------------------------------
    def quantities(self, s: Series) -> list[tuple[str, str]]:
        """(name, unit) of every quantity offered: the channels, then the derivatives of the swept channel
        against the others and of the others against it, named as the field does ("dV/dI", "dI/dV")."""
        names = s.channel_names("fwd")
        out = [(n, s.unit(n)) for n in names]
        xc = s.x_channel
        self._derivatives = {}
        for n in names:
            if n == xc:
                continue
            for y, x in ((n, xc), (xc, n)):
                label, unit = derivative_name(s, y, x)
                if label not in names and label not in self._derivatives:
                    self._derivatives[label] = (y, x)
                    out.append((label, unit))
        return out

    def label(self, quantity: str) -> str:
        return quantity

    def _quantity_chosen(self, axis: str, quantity: str) -> None:
        if axis == "x":
            self.x = quantity
        else:
            self.y = quantity
        self.show()

    def _tag_chosen(self, tag: str) -> None:
        self.tag = tag
        self.show()

    def _values(self, s: Series, quantity: str) -> tuple[Series, str] | None:
        """(series holding ``quantity``, its channel) or None while a derivative is being computed."""
        if quantity not in self._derivatives:
            return s, quantity
        cache = self.derived.setdefault(self.key or "", {})
        if quantity in cache:
            return cache[quantity], quantity
        y, x = self._derivatives[quantity]
        key = self.key

        def done(result: Series) -> None:
            self.derived.setdefault(key or "", {})[quantity] = result
            if key == self.key:
                self.show()

        self.jobs.append(
            self.host.run_job(derivative, s, y, x, name=f"d{y}/d{x} of the series", on_finished=done)
        )
        return None

    # -- drawing --------------------------------------------------------------------------------------------
    def show(self) -> None:
        s = self.series()
        if s is None:
            self.panel.set_quantities([])
            self.panel.set_tags([])
            self.panel.set_series_curves([], [], [])
            return
        quantities = self.quantities(s)
        names = [q for q, _u in quantities]
        self.x = self.x if self.x in names else s.x_channel
        others = [n for n in names if n != self.x and n not in self._derivatives]
        self.y = self.y if self.y in names else (others[0] if others else self.x)
        tags = [(t, s.tag_unit(t)) for t in s.tag_names()]
        tag_names = [t for t, _u in tags]
        self.tag = self.tag if self.tag in tag_names else (tag_names[0] if tag_names else None)
        self.panel.set_quantities(quantities, self.x, self.y)
        self.panel.set_tags(tags, self.tag)
        xs_src = self._values(s, self.x)
        ys_src = self._values(s, self.y)
        if xs_src is None or ys_src is None:
            return  # a derivative is on its way
        (sx, cx), (sy, cy) = xs_src, ys_src
        xs = [np.asarray(sw.channel(cx), float) for sw in sx]
        ys = [np.asarray(sw.channel(cy), float) for sw in sy]
        tag_values = s.tag(self.tag) if self.tag else np.arange(len(s), dtype=float)
        self.panel.set_series_curves(
            xs,
            ys,
            tag_values,
            self.tag or "sweep",
            s.tag_unit(self.tag) if self.tag else "",
            self.label(self.x),
            sx.unit(cx),
            self.label(self.y),
            sy.unit(cy),
        )
        if self.tag and sx is s:
            try:
                tm = tag_map(sy, cy, self.tag, x=cx)
            except (ValueError, KeyError) as exc:
                self.host.log("warning", f"no 2D map of {self.label(self.y)}: {exc}")
            else:
                self.panel.set_map(
                    tm.values,
                    tm.x,
                    tm.tag,
                    tm.x_name,
                    tm.x_unit,
                    tm.tag_name,
                    tm.tag_unit,
                    tm.value_name,
                    tm.value_unit,
                )

    # -- export ---------------------------------------------------------------------------------------------
    def _export(self, kind: str, view: str) -> None:
        widget = {
            "overlay": self.panel.overlay,
            "waterfall": self.panel.waterfall,
            "map": self.panel.map,
            "results": self.panel.results,
        }.get(view)
        plot = getattr(widget, "plot", None)
        if plot is None:
            return
        label = self.state.entries[self.key].label if self.key in self.state.entries else "series"
        self.host.exporter.export_plot(plot, kind, name=f"{label} {view}")


def install(host: Host) -> None:
    """Add File > Import series... and the Series dock (``host.series`` is the controller)."""
    host.series = SeriesController(host)  # type: ignore[attr-defined]
