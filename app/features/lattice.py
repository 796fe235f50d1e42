"""Lattice menu: Fourier transforms and QPI, Bragg peaks, symmetrisation, Fourier filtering, Lawler-Fujita
drift correction and alignment of co-registered datasets.

``install(host)`` adds the "Lattice" menu, the "Lattice FFT" dock (:class:`widgets.lattice.fft_panel.
FFTPanel`: the Fourier map of the FFT dataset last made or selected, its picked Bragg peaks and a q-cut
tool) and the "QPI cut" dock (:class:`widgets.lattice.qpi_view.QPIView`: q along the cut against the
sweep). Every result is a derived dataset (a child of its source) added through the undo stack; picked
peaks are undoable too, kept in ``state.annotations`` and saved with the project (attachment
``"lattice"``). Heavy work runs in ``host.run_job``. An FFT grid gets a slicer of its own, and its
slice follows the slicers of the grid it was made from (same sweep axis).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis.channels import preferred_channel
from analysis.dataset import Grid, Image
from analysis.errors import WorkbenchError
from analysis.lattice import datasets as lds
from analysis.lattice.bragg import lattice_vectors, refine_on_map
from analysis.lattice.qpi import q_cut
from app.features.host import Host
from app.state.app_state import AnnotationMap, ViewState
from app.state.edits import AddDataset
from app.state.project_io import annotations_attachment
from app.state.undo import DELETE, DictEdit
from widgets.lattice.dialogs import AlignDialog, DriftDialog, FilterDialog, SymmetriseDialog
from widgets.lattice.fft_panel import FFTPanel
from widgets.lattice.qpi_view import QPIView

Peaks = tuple[tuple[float, float], ...]
PEAKS_KIND = "bragg_peaks"  # annotation kind of the picked peaks of an FFT dataset
PEAKS_ATTACHMENT = "lattice"  # the project attachment holding them
DEFAULT_PERIODS = 3.0  # demodulation length of the drift correction, in periods of the longer spacing


class LatticeController:
    """Owns the lattice docks and menu; ``fft_key`` is the FFT dataset the panel shows."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.state = host.state
        self.fft_key: str | None = None
        #: FFT dataset key -> picked peaks (qx, qy) in 1/m, kept in the state (saved with the project)
        self.peaks: AnnotationMap = AnnotationMap(self.state, PEAKS_KIND, "peaks")
        self.index: dict[str, int] = {}  # FFT grid key -> sweep index shown
        self.cut_ends: list[tuple[float, float]] | None = None
        self.last_cut: Any = None
        self.last_job: Any = None
        self.dialog: Any = None
        self.log_scale = True
        self.drift_ideal = ""  # the drift dialog's last choices
        self.drift_periods = DEFAULT_PERIODS

        self.panel = FFTPanel()
        # hidden until there is a transform or a cut to show (View lists them)
        host.add_dock("lattice", "Lattice FFT", self.panel, visible=False)
        self.qpi = QPIView()
        host.add_dock("qpi", "QPI cut", self.qpi, visible=False)
        self.panel.peak_clicked.connect(self.pick_peak)
        self.panel.cut_drawn.connect(self.cut)
        self.panel.clear_peaks_requested.connect(self.clear_peaks)
        self.panel.log_scale_toggled.connect(self._log_toggled)
        self.panel.map.hovered.connect(self._hovered)

        m = host.menu("Lattice")
        m.addAction("&FFT of current image", self.fft_image)
        m.addAction("FFT of current &grid (QPI)", self.fft_grid)
        m.addSeparator()
        m.addAction("&Symmetrise...", self.symmetrise_dialog)
        self.pick_action = m.addAction("Pick &Bragg peaks")
        self.pick_action.setCheckable(True)
        self.pick_action.toggled.connect(self.panel.pick_button.setChecked)
        self.panel.pick_button.toggled.connect(self.pick_action.setChecked)
        self.cut_action = m.addAction("&QPI cut")
        self.cut_action.setCheckable(True)
        self.cut_action.toggled.connect(self.panel.cut_button.setChecked)
        self.panel.cut_button.toggled.connect(self.cut_action.setChecked)
        m.addAction("&Inverse filter...", self.filter_dialog)
        m.addAction("&Drift correct...", self.drift_dialog)
        m.addAction("&Align to...", self.align_dialog)

        self.state.datasets_changed.connect(self._datasets_changed)
        self.state.current_changed.connect(self._current_changed)
        self.state.view_edited.connect(self._view_edited)
        self.state.undo.on_change(self._show_peaks)
        self.state.annotations.changed.connect(self._show_peaks)  # a project's peaks came in
        self.state.attachment_providers[PEAKS_ATTACHMENT] = lambda: annotations_attachment(
            self.state, PEAKS_KIND
        )

    # -- helpers --------------------------------------------------------------------------------------
    def _warn(self, text: str) -> None:
        self.host.log("warning", text)

    def _source_key(self, key: str | None) -> str | None:
        """The nearest ancestor of ``key`` (itself included) that is not a Fourier transform."""
        seen = set()
        while key is not None and key in self.state.entries and key not in seen:
            seen.add(key)
            entry = self.state.entries[key]
            if not lds.is_fft(entry.dataset):
                return key
            key = entry.parent
        return None

    def _run(self, fn: Any, *args: Any, name: str, done: Any, **kw: Any) -> None:
        self.last_job = self.host.run_job(fn, *args, name=name, on_finished=done, **kw)

    def _add(self, result: Any, parent: str, show: bool = False) -> str | None:
        if parent not in self.state.entries:
            return None
        edit = AddDataset(self.state, result, result.name, parent=parent)
        self.state.undo.push(edit)
        self.host.log("info", f"Lattice: added {result.name}")
        if show and edit.key is not None:
            self.show(edit.key)
        return edit.key

    # -- FFT ------------------------------------------------------------------------------------------
    def fft_image(self) -> None:
        """FFT of the selected image (its height channel), or of the selected grid's topography."""
        key = self.state.current
        entry = self.state.entries.get(key) if key else None
        if entry is None or lds.is_fft(entry.dataset) or not isinstance(entry.dataset, Image | Grid):
            self._warn("Select an image (or a grid with a topography) first")
            return
        ds = entry.dataset
        if isinstance(ds, Grid):
            ds = Image(
                name=f"{ds.name} topography",
                units={"Z": "m" if ds.topography is not None else ""},
                channels={"Z": lds.lattice_map(ds).astype(np.float32)},
                frame=ds.frame,
                source=ds.source,
            )
        window = self.panel_window()
        self._run(
            lds.fft_of_image,
            ds,
            name="Lattice: FFT",
            done=lambda r, k=key: self._add(r, k, True),
            window=window,
        )

    def fft_grid(self) -> None:
        """FFT of every sweep slice of the channel shown for the current grid."""
        key = self.host.current_grid_key()
        entry = self.state.entries.get(key) if key else None
        if entry is None or lds.is_fft(entry.dataset):
            self._warn("Open a grid first: its slices are transformed")
            return
        grid = entry.dataset
        channel = self.state.viewed_channel(key) or preferred_channel(grid, "didv")
        self._run(
            lds.fft_of_grid,
            grid,
            channel,
            self.panel_window(),
            name="Lattice: FFT of grid",
            done=lambda r, k=key: self._grid_done(r, k),
        )

    def panel_window(self) -> str:
        return self.panel.window_name()

    def _grid_done(self, result: Grid, parent: str) -> None:
        key = self._add(result, parent)
        if key is None:
            return
        idx = [v.index for v in self.state.views.values() if v.dataset == parent and v.index is not None]
        self.index[key] = int(idx[-1]) if idx else result.shape[2] // 2
        vkey = self.state.new_key("slicer-fft")
        self.state.views[vkey] = ViewState(
            vkey, key, lds.AMPLITUDE, "slicer", index=self.index[key], colormap="inferno"
        )
        self.show(key)

    # -- display --------------------------------------------------------------------------------------
    def show(self, key: str | None) -> None:
        """Show FFT dataset ``key`` in the panel (None: nothing)."""
        entry = self.state.entries.get(key) if key else None
        if entry is None or not lds.is_fft(entry.dataset):
            self.fft_key = None
            self.cut_ends = None
            self.panel.set_cut(None)
            self.panel.show_map("No Fourier transform yet: Lattice > FFT of ...", None, None)
            self._show_peaks()
            return
        ds = entry.dataset
        dock = self.host.dock("lattice")
        if not dock.isVisible():
            dock.setVisible(True)
            dock.raise_()
        old = self.state.entries.get(self.fft_key) if self.fft_key else None
        if old is None or old.dataset.frame != ds.frame:
            self.cut_ends = None  # a cut drawn in another reciprocal frame does not carry over
        self.fft_key = key
        amp = ds.channels[lds.AMPLITUDE]
        title = entry.label
        if isinstance(ds, Grid):
            k = min(max(self.index.get(key, ds.shape[2] // 2), 0), ds.shape[2] - 1)
            self.index[key] = k
            amp = np.asarray(amp[:, :, k])
            title = f"{entry.label}  at {ds.sweep_signal} = {ds.bias[k]:.4g} {ds.sweep_unit}"
        img = np.asarray(amp, dtype=np.float64)
        label = "|F|"
        if self.log_scale:
            floor = max(float(np.nanmax(img)) * 1e-6, 1e-300) if img.size else 1.0
            img = np.log10(np.maximum(img, floor))
            label = "log10 |F|"
        self.panel.show_map(
            title, ds.frame, img.astype(np.float32), label, "" if self.log_scale else ds.unit(lds.AMPLITUDE)
        )
        self.panel.set_cut(self.cut_ends)
        self._show_peaks()

    def _hovered(self, q: tuple[float, float] | None) -> None:
        """Status-bar read-out over the Fourier map: the wave vector in 1/nm and its period."""
        if q is None:
            self.host.readout.setText("")
            return
        length = float(np.hypot(*q))
        period = f", 1/|q| = {1e9 / length:.3f} nm" if length > 0 else ""
        where = f"qx = {q[0] * 1e-9:.3f} 1/nm, qy = {q[1] * 1e-9:.3f} 1/nm"
        self.host.readout.setText(f"{where}, |q| = {length * 1e-9:.3f} 1/nm{period}")

    def _log_toggled(self, on: bool) -> None:
        self.log_scale = bool(on)
        self.show(self.fft_key)

    def _show_peaks(self) -> None:
        self.panel.set_peaks(list(self.peaks.get(self.fft_key, ())) if self.fft_key else [])

    def _datasets_changed(self) -> None:
        if self.fft_key is not None and self.fft_key not in self.state.entries:
            ffts = [k for k, e in self.state.entries.items() if lds.is_fft(e.dataset)]
            self.show(ffts[-1] if ffts else None)

    def _current_changed(self, key: str | None) -> None:
        if key is not None and key in self.state.entries and lds.is_fft(self.state.entries[key].dataset):
            if key != self.fft_key:
                self.show(key)

    def _view_edited(self, vkey: str, name: str, _old: Any, new: Any) -> None:
        """The panel's FFT grid follows its own slicer and the slicers of the grid it was made from."""
        if name != "index" or new is None or self.fft_key is None:
            return
        view = self.state.views.get(vkey)
        entry = self.state.entries.get(self.fft_key)
        if view is None or entry is None or not isinstance(entry.dataset, Grid):
            return
        if view.dataset == self.fft_key or view.dataset == entry.parent:
            if self.index.get(self.fft_key) != int(new):
                self.index[self.fft_key] = int(new)
                self.show(self.fft_key)
                if self.cut_ends is not None and self.last_cut is not None:
                    self.qpi.set_marker(float(entry.dataset.bias[int(new)]))
            if view.dataset == entry.parent:
                for other_key, other in list(self.state.views.items()):
                    if other.dataset == self.fft_key and other.index != int(new):
                        self.state.set_view(other_key, index=int(new))

    # -- Bragg peaks -----------------------------------------------------------------------------------
    def pick_peak(self, qx: float, qy: float) -> None:
        """Add the Fourier peak nearest (qx, qy) (1/m) to the shown transform's peaks (undoable)."""
        key = self.fft_key
        if key is None or key not in self.state.entries:
            self._warn("Make a Fourier transform first (Lattice > FFT of ...)")
            return
        ds = self.state.entries[key].dataset
        amp = ds.channels[lds.AMPLITUDE]
        if isinstance(ds, Grid):
            amp = amp[:, :, self.index.get(key, 0)]
        qxs, qys = lds.q_axes_of(ds)
        try:
            p = refine_on_map(np.asarray(amp), qxs, qys, (qx, qy))
        except WorkbenchError as exc:
            self._warn(str(exc))
            return
        new = (*self.peaks.get(key, ()), (p.qx, p.qy))
        self.state.undo.push(DictEdit("Pick Bragg peak", self.peaks, key, new))
        self.host.log(
            "info", f"Bragg peak at |q| = {p.length * 1e-9:.4f} 1/nm (1/|q| = {1e9 / p.length:.4f} nm)"
        )

    def clear_peaks(self) -> None:
        if self.fft_key in self.peaks:
            self.state.undo.push(DictEdit("Clear Bragg peaks", self.peaks, self.fft_key, DELETE))

    def _peaks_or_warn(self, need: int) -> Peaks | None:
        peaks = self.peaks.get(self.fft_key, ()) if self.fft_key else ()
        if len(peaks) < need:
            self._warn(f"Pick {need} Bragg peak{'s' if need > 1 else ''} on the Fourier map first")
            return None
        return peaks

    # -- QPI cut ---------------------------------------------------------------------------------------
    def cut(self, ends: list[tuple[float, float]]) -> None:
        """A q-space cut along ``ends`` through the shown FFT (the whole stack for a grid)."""
        key = self.fft_key
        if key is None:
            return
        entry = self.state.entries[key]
        ds = entry.dataset
        self.cut_ends = [tuple(map(float, ends[0])), tuple(map(float, ends[-1]))]
        self.panel.set_cut(self.cut_ends)
        if not isinstance(ds, Grid):
            self._warn("A q-cut against energy needs the Fourier transform of a grid")
            return
        qxs, qys = lds.q_axes_of(ds)
        try:
            c = q_cut(ds.channels[lds.AMPLITUDE], qxs, qys, self.cut_ends[0], self.cut_ends[1])
        except WorkbenchError as exc:
            self._warn(str(exc))
            return
        self.last_cut = c
        self.qpi.set_cut(
            f"QPI cut through {entry.label}", c.q, ds.bias, c.values, ds.sweep_signal, ds.sweep_unit
        )
        dock = self.host.dock("qpi")
        dock.setVisible(True)
        dock.raise_()

    # -- derived datasets ------------------------------------------------------------------------------
    def symmetrise_dialog(self) -> SymmetriseDialog | None:
        if self.fft_key is None:
            self._warn("Make a Fourier transform first (Lattice > FFT of ...)")
            return None
        peaks = self.peaks.get(self.fft_key, ())
        dlg = SymmetriseDialog([f"Q{i + 1}" for i in range(len(peaks))], parent=self.host)  # type: ignore[arg-type]
        key = self.fft_key
        dlg.accepted.connect(lambda: self._symmetrise(key, dlg.values()))
        dlg.finished.connect(lambda _r: dlg.deleteLater())
        self.dialog = dlg
        dlg.open()
        return dlg

    def _symmetrise(self, key: str, v: dict[str, Any]) -> None:
        if key not in self.state.entries:
            return
        peaks = self.peaks.get(key, ())
        axis = peaks[v["axis_peak"]] if 0 <= v["axis_peak"] < len(peaks) else None
        ds = self.state.entries[key].dataset
        self._run(
            lds.symmetrised,
            ds,
            v["kind"],
            axis,
            name="Lattice: symmetrise",
            done=lambda r: self._sym_done(r, key),
        )

    def _sym_done(self, result: Any, parent: str) -> None:
        new = self._add(result, parent)
        if new is not None:
            if parent in self.index:
                self.index[new] = self.index[parent]
            self.show(new)

    def filter_dialog(self) -> FilterDialog | None:
        peaks = self._peaks_or_warn(1)
        src = self._source_key(self.fft_key)
        if peaks is None or src is None:
            return None
        ds = self.state.entries[self.fft_key].dataset  # type: ignore[index]
        dq = max(ds.frame.pixel_size)
        dlg = FilterDialog(3 * dq * 1e-9, parent=self.host)  # type: ignore[arg-type]
        dlg.accepted.connect(lambda: self._filter(src, peaks, dlg.values()))
        dlg.finished.connect(lambda _r: dlg.deleteLater())
        self.dialog = dlg
        dlg.open()
        return dlg

    def _filter(self, src: str, peaks: Peaks, v: dict[str, Any]) -> None:
        if src not in self.state.entries:
            return
        ds = self.state.entries[src].dataset
        self._run(
            lds.fourier_filtered,
            ds,
            list(peaks),
            v["radius"],
            v["keep"],
            name="Lattice: Fourier filter",
            done=lambda r: self._add(r, src),
        )

    def drift_dialog(self) -> DriftDialog | None:
        """Lattice > Drift correct...: the reference lattice and the demodulation length L (in lattice
        periods) are asked for; accepting runs :meth:`drift_correct`."""
        if self._peaks_or_warn(2) is None or self._source_key(self.fft_key) is None:
            return None
        dlg = DriftDialog(self.drift_ideal, self.drift_periods, parent=self.host)  # type: ignore[arg-type]
        dlg.accepted.connect(lambda: self.drift_correct(**dlg.values()))
        dlg.finished.connect(lambda _r: dlg.deleteLater())
        self.dialog = dlg
        dlg.open()
        return dlg

    def drift_correct(self, ideal: str = "", periods: float = DEFAULT_PERIODS) -> None:
        """Lawler-Fujita correction of the transform's source with the picked Bragg peaks, demodulated
        over ``periods`` periods of the longer lattice spacing (L = periods / min |Q|)."""
        peaks = self._peaks_or_warn(2)
        src = self._source_key(self.fft_key)
        if peaks is None or src is None:
            return
        if not periods > 0:
            self._warn("The demodulation length must be positive")
            return
        try:
            qa, qb = lattice_vectors([np.asarray(p) for p in peaks])
        except WorkbenchError as exc:
            self._warn(str(exc))
            return
        self.drift_ideal, self.drift_periods = ideal, float(periods)
        length = float(periods) / min(float(np.hypot(*qa)), float(np.hypot(*qb)))
        ds = self.state.entries[src].dataset

        def done(result: Any) -> None:
            out, field = result
            self._add(out, src)
            self.host.log(
                "info",
                f"Drift correction: rms displacement {field.rms() * 1e12:.1f} pm "
                f"(demodulation length {field.length * 1e9:.2f} nm)",
            )

        self._run(lds.drift_corrected, ds, qa, qb, length, ideal, name="Lattice: drift correction", done=done)

    def align_dialog(self) -> AlignDialog | None:
        key = self._source_key(self.state.current)
        if key is None or not isinstance(self.state.entries[key].dataset, Grid | Image):
            self._warn("Select the grid or image to align first")
            return None
        ds = self.state.entries[key].dataset
        choices = [
            (k, e.label)
            for k, e in self.state.entries.items()
            if k != key
            and isinstance(e.dataset, Grid | Image)
            and not lds.is_fft(e.dataset)
            and e.dataset.frame.same_area(ds.frame, rtol=0.05)
        ]
        if not choices:
            self._warn(f"No other dataset covers the area of {self.state.entries[key].label}")
            return None
        dlg = AlignDialog(self.state.entries[key].label, choices, parent=self.host)  # type: ignore[arg-type]
        dlg.accepted.connect(lambda: self._align(key, dlg.values()["reference"]))
        dlg.finished.connect(lambda _r: dlg.deleteLater())
        self.dialog = dlg
        dlg.open()
        return dlg

    def _align(self, key: str, ref: str) -> None:
        if key not in self.state.entries or ref not in self.state.entries:
            return

        def done(result: Any) -> None:
            out, (dx, dy) = result
            self._add(out, key)
            self.host.log("info", f"Aligned: shift dx = {dx * 1e12:.1f} pm, dy = {dy * 1e12:.1f} pm")

        ds, reference = self.state.entries[key].dataset, self.state.entries[ref].dataset
        self._run(lds.aligned, ds, reference, name="Lattice: align", done=done)


def install(host: Host) -> None:
    """Add the Lattice menu and its docks (``host.lattice`` is the controller)."""
    host.lattice = LatticeController(host)  # type: ignore[attr-defined]
