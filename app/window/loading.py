"""Loading files and the demo off the GUI thread; a bad file gives a non-modal message and a log entry."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QMessageBox

from analysis.dataset import Grid
from analysis.io import read_file, registry
from app.features.host import Host
from app.workers.turns import NextTurns

DEMO_QP_BIAS = -5e-3  # V: the coherence-peak region of the QP grid
DEMO_J_BIAS = 0.0  # V: the zero-bias Josephson peak


def _describe(ds: Any) -> str:
    if isinstance(ds, Grid):
        ny, nx, nb = ds.shape
        return f"grid {nx}x{ny} px, {nb} points, channels {', '.join(ds.channels)}"
    return f"{ds.kind}, channels {', '.join(getattr(ds, 'channels', {}))}"


def file_pattern(name: str) -> str:
    """Files named alike share their import choices: digits stand for any number ("MgB2_#K.txt")."""
    return re.sub(r"\d+", "#", name)


def _is_text_columns(path: str) -> bool:
    try:
        return registry().detect(path).name == "text_columns"
    except Exception:
        return False


class Loader:
    """Opens files and the demo with ``window.run_job``. ``last_error`` keeps the newest failure text."""

    def __init__(self, window: Host) -> None:
        self.window = window
        self.last_error: str | None = None
        self.message_box: QMessageBox | None = None
        self.loading = 0
        #: the views hear of a file's new datasets in event-loop turns of their own (``loading`` counts
        #: the file until they all have)
        self.turns = NextTurns(window)
        #: ``opener(path) -> bool``: called first for every file; True means it opened the file itself
        #: (``app.features.project`` uses it to restore a project's regions, fits and view state too).
        self.project_opener: Callable[[str], bool] | None = None
        #: ``opener(folder) -> bool`` for a dropped folder (``app.features.series`` imports its sweep files
        #: as one series); without it a folder is refused with a message
        self.folder_opener: Callable[[str], bool] | None = None
        #: text and CSV files open through the import dialog (the interactive window; scripts read them
        #: with the detected options)
        self.ask_text_import = bool(getattr(window, "confirm_unsaved", False))
        self.text_dialog: Any = None

    def open_dialog(self) -> None:
        filters = [
            f"{title} ({' '.join('*' + e for e in exts)})" for title, exts in registry().file_filters()
        ]
        exts = sorted({e for _t, es in registry().file_filters() for e in es})
        filters.insert(0, f"All supported ({' '.join('*' + e for e in exts)})")
        filters.append("All files (*)")
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Open data files", "", ";;".join(filters))
        if paths:
            self.window.open_files(paths)

    def open(self, path: str) -> None:
        if Path(path).is_dir():
            if self.folder_opener is None or not self.folder_opener(path):
                self.window.log("warning", f"{path} is a folder: open the files in it")
            return
        if self.project_opener is not None and self.project_opener(path):
            return
        name = Path(path).name
        if self.ask_text_import and _is_text_columns(path):
            self._ask_text_import(path)
            return
        self.loading += 1
        self.window.run_job(
            read_file,
            path,
            name=f"Loading {name}",
            pass_hooks=False,
            on_finished=lambda datasets: self._loaded(path, datasets),
            on_failed=lambda msg: self._failed(path, msg),
            on_cancelled=self._done,
        )

    def _ask_text_import(self, path: str) -> None:
        """Show the import dialog for a text file (prefilled with what was chosen for files named like
        it); OK reads it with those choices off the GUI thread and remembers them."""
        from analysis.io.text_columns import TextOptions, preview
        from analysis.io.text_columns import read as read_text
        from widgets.text_import_dialog import TextImportDialog

        key = f"text_import/{file_pattern(Path(path).name)}"
        initial = None
        saved = self.window.settings.value(key, "")
        if saved:
            try:
                initial = TextOptions.from_dict(json.loads(str(saved)))
            except (ValueError, TypeError):
                initial = None
        dlg = TextImportDialog(Path(path).name, lambda o: preview(Path(path), o), initial, self.window)

        def accepted() -> None:
            options = dlg.options()
            self.window.settings.setValue(key, json.dumps(options.to_dict()))
            self.loading += 1
            self.window.run_job(
                read_text,
                Path(path),
                options,
                name=f"Loading {Path(path).name}",
                pass_hooks=False,
                on_finished=lambda datasets: self._loaded(path, datasets),
                on_failed=lambda msg: self._failed(path, msg),
                on_cancelled=self._done,
            )

        dlg.accepted.connect(accepted)
        self.text_dialog = dlg
        dlg.open()

    def _done(self) -> None:
        self.loading -= 1

    def _loaded(self, path: str, datasets: list[Any]) -> None:
        name = Path(path).name
        # the datasets go into the state now; each view rebuilds in a turn of its own (a slicer, the region
        # spectra, the fit sources, ...) and the file counts as loading until the last has
        with self.window.state.batch(spread=self.turns.call):
            for i, ds in enumerate(datasets):
                label = name if len(datasets) == 1 else f"{name} [{ds.name or i}]"
                self.window.state.add_dataset(ds, label)
                self.window.log("info", f"Loaded {label}: {_describe(ds)}")
                for w in ds.warnings:
                    self.window.log("warning", f"{label}: {w}")
        # a call of its own for each file (never merged), once the refreshes the views queue have run too
        self.turns.call_last(lambda: self._done())
        self.window.add_recent_file(path)

    def _failed(self, path: str, message: str) -> None:
        self._done()
        text = message.split(": ", 1)[1] if message.startswith("ReadError: ") else message
        self.last_error = text
        box = QMessageBox(QMessageBox.Icon.Warning, "Could not open file", text, parent=self.window)
        box.setModal(False)
        box.setInformativeText("The datasets already open are unchanged.")
        box.show()
        if self.message_box is not None:
            self.message_box.close()
        self.message_box = box

    def open_demo(self) -> None:
        try:
            from analysis.demo.grids import make_demo
        except ImportError as exc:
            self.window.log("error", f"the demo data are not available: {exc}")
            return
        self.loading += 1
        self.window.run_job(
            make_demo,
            name="Generating demo data",
            pass_hooks=False,
            on_finished=self._demo_ready,
            on_failed=lambda _m: self._done(),
            on_cancelled=self._done,
        )

    def _demo_ready(self, grids: tuple[Grid, Grid]) -> None:
        self._done()
        qp, jos = grids
        state = self.window.state
        kq = state.add_dataset(qp, qp.name or "Demo QP grid")
        kj = state.add_dataset(jos, jos.name or "Demo Josephson grid")
        # the slicers opened for the new grids show them at the paper's biases (set through the state)
        for key, grid, value in ((kq, qp, DEMO_QP_BIAS), (kj, jos, DEMO_J_BIAS)):
            for vkey, view in list(state.views.items()):
                if view.kind == "slicer" and view.dataset == key:
                    state.set_view(vkey, index=grid.bias_index(value))
        state.set_current(kq)
        self.window.log(
            "info", "Demo: co-registered QP (±15 mV) and Josephson (±2 mV) grids of an MgB2-like film"
        )
