"""Export of maps and plots: PNG at a chosen resolution, SVG, and the data as CSV.

Widgets only emit ``export_requested(kind)``; the file is written here.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsView, QInputDialog

from analysis.dataset import Grid, Spectrum
from app.features.host import Host
from widgets.export_dialog import MapPngDialog
from widgets.map_view import MapView

SCREEN_DPI = 96.0
_FILTERS = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "csv": "CSV table (*.csv)"}


def render_png(view: QGraphicsView, path: str | Path, dpi: float = 300.0) -> QImage:
    """Render what ``view`` shows at ``dpi`` (relative to a 96 dpi screen) into a PNG file."""
    rect = view.viewport().rect()
    factor = dpi / SCREEN_DPI
    img = QImage(
        max(1, round(rect.width() * factor)),
        max(1, round(rect.height() * factor)),
        QImage.Format.Format_ARGB32,
    )
    img.fill(Qt.GlobalColor.white)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    # no SmoothPixmapTransform: a map's pixels stay sharp squares when scaled up
    view.render(painter, QRectF(img.rect()), rect)
    painter.end()
    dpm = round(dpi / 0.0254)
    img.setDotsPerMeterX(dpm)
    img.setDotsPerMeterY(dpm)
    if not img.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return img


def screen_block(panel: MapView) -> float:
    """How many screen pixels one data pixel of ``panel``'s map spans at its current zoom."""
    if panel.frame is None:
        return 1.0
    px, _py = panel.view_box.viewPixelSize()
    size = float(min(abs(panel.frame.pixel_size[0]), abs(panel.frame.pixel_size[1])))
    return size / px if px > 0 and size > 0 else 1.0


def write_map_png(panel: MapView, path: str | Path, dpi: float = 300.0) -> QImage:
    """The map alone, pixel-exact (:meth:`MapView.render_pixels`): each data pixel a square block of
    ``round(on-screen size x dpi / 96)`` identical pixels, at least one, so the map prints at its size on
    screen; the PNG records ``dpi``."""
    block = max(1, round(screen_block(panel) * dpi / SCREEN_DPI))
    img = panel.render_pixels(block)
    if img is None:
        raise ValueError("the map is empty")
    dpm = round(dpi / 0.0254)
    img.setDotsPerMeterX(dpm)
    img.setDotsPerMeterY(dpm)
    if not img.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return img


def write_svg(view: QGraphicsView, path: str | Path, title: str = "") -> None:
    """SVG of what ``view`` shows: axes, text and curves as vectors, images embedded as bitmaps."""
    rect = view.viewport().rect()
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(rect.size())
    gen.setViewBox(rect)
    gen.setTitle(title or "STS Workbench export")
    gen.setResolution(round(SCREEN_DPI))
    painter = QPainter()
    if not painter.begin(gen):
        raise OSError(f"could not write {path}")
    view.render(painter, QRectF(rect), rect)
    painter.end()
    if not Path(path).is_file() or Path(path).stat().st_size == 0:
        raise OSError(f"could not write {path}")


def write_map_csv(panel: MapView, path: str | Path) -> int:
    """One row per pixel: ix, iy, x (m), y (m) (qx (1/m), qy (1/m) on a reciprocal map), value; returns
    the number of rows."""
    image = panel.current_image()
    if image is None or panel.frame is None:
        raise ValueError("the map is empty")
    ny, nx = image.shape
    iy, ix = np.mgrid[0:ny, 0:nx]
    x, y = panel.frame.pixel_to_xy(ix.ravel(), iy.ravel())
    unit = panel.value_unit or "a.u."
    with open(path, "w", newline="") as fh:
        fh.write(
            f"# {panel.title}: {panel.value_label} [{unit}], {nx} x {ny} pixels, "
            "row iy = 0 is the lowest line\n"
        )
        w = csv.writer(fh)
        axes = ["qx (1/m)", "qy (1/m)"] if panel.frame.reciprocal else ["x (m)", "y (m)"]
        w.writerow(["ix", "iy", *axes, f"{panel.value_label} ({unit})"])
        for a, b, c, d, e in zip(ix.ravel(), iy.ravel(), x, y, np.asarray(image, dtype=np.float64).ravel()):
            w.writerow([int(a), int(b), f"{c:.9g}", f"{d:.9g}", f"{e:.9g}"])
    return nx * ny


def write_plot_csv(plot_item: pg.PlotItem, path: str | Path, items: list[Any] | None = None) -> int:
    """The curves of a plot (``items``, default: every curve) in long format: curve, x, y; returns the
    number of rows."""
    bottom, left = plot_item.getAxis("bottom"), plot_item.getAxis("left")
    xl = f"{bottom.labelText} ({bottom.labelUnits})" if bottom.labelUnits else bottom.labelText or "x"
    yl = f"{left.labelText} ({left.labelUnits})" if left.labelUnits else left.labelText or "y"
    n = 0
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["curve", xl, yl])
        for i, item in enumerate(plot_item.listDataItems() if items is None else items):
            xs, ys = item.getData()
            if xs is None:
                continue
            name = item.name() or f"curve {i + 1}"
            for a, b in zip(xs, ys):
                w.writerow([name, f"{a:.9g}", f"{b:.9g}"])
                n += 1
    return n


class Exporter:
    """Asks for a file (and a resolution for PNG) and writes it; errors are logged, never raised."""

    def __init__(self, window: Host) -> None:
        self.window = window
        self.default_dpi = 300

    def ask_path(self, kind: str, name: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {name}", f"{name}.{kind}", _FILTERS[kind])
        return path or None

    # -- NeXus ---------------------------------------------------------------------------------------------
    def export_nexus_dialog(self) -> None:
        """File > Export dataset as NeXus: the current grid or point spectrum (and the grids co-registered
        with it) as an NXsts file, written off the GUI thread."""
        state = self.window.state
        key = state.current if state.current in state.entries else None
        if key is None or not isinstance(state.entries[key].dataset, Grid | Spectrum):
            self.window.log("warning", "Select a grid or a point spectrum in the data browser to export it")
            return
        label = state.entries[key].label
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export as NeXus NXsts", f"{label}.nxs", "NeXus (*.nxs *.h5)"
        )
        if path:
            self.export_nexus(key, path)

    def export_nexus(self, key: str, path: str) -> Any:
        """Write dataset ``key`` to ``path`` as NeXus NXsts (a job; the log says how it went)."""
        from analysis.io.nexus_sts import write_nxsts

        entry = self.window.state.entries[key]
        return self.window.run_job(
            write_nxsts,
            entry.dataset,
            path,
            name="Export NeXus",
            on_finished=lambda p: self.window.log("info", f"Wrote {entry.label} as NeXus NXsts to {p}"),
            on_failed=lambda m: self.window.log("error", f"Could not write {path}: {m.splitlines()[-1]}"),
        )

    def ask_dpi(self) -> int | None:
        dpi, ok = QInputDialog.getInt(
            self.window, "PNG resolution", "Dots per inch", self.default_dpi, 50, 1200
        )
        return dpi if ok else None

    def ask_map_png(self) -> tuple[int, bool] | None:
        """(dpi, as on screen) for a map's PNG, or None when cancelled."""
        dlg = MapPngDialog(self.default_dpi, False, self.window)
        self.map_png_dialog = dlg
        if dlg.exec() != MapPngDialog.DialogCode.Accepted:
            return None
        self.default_dpi = dlg.dpi()
        return dlg.dpi(), dlg.decorated()

    def export_map(
        self,
        panel: MapView,
        kind: str,
        path: str | None = None,
        dpi: int | None = None,
        decorated: bool | None = None,
    ) -> str | None:
        """Write ``panel``'s map; a PNG is the map alone, pixel-exact, unless ``decorated`` (as on screen,
        with axes, colour bar and overlays). Without ``dpi`` the PNG options are asked for."""
        name = (panel.title or "map").replace(" ", "_").replace(":", "")
        if kind != "png":
            return self._export(kind, name, path, dpi, panel.graphics, lambda p: write_map_csv(panel, p))
        path = path or self.ask_path(kind, name)
        if not path:
            return None
        if dpi is None:
            options = self.ask_map_png()
            if options is None:
                return None
            dpi, decorated = options
        if decorated:
            return self._export(kind, name, path, dpi, panel.graphics, None)
        try:
            write_map_png(panel, path, dpi)
        except (OSError, ValueError) as exc:
            self.window.log("error", f"Export to {path} failed: {exc}")
            return None
        self.window.log("info", f"Exported {Path(path).name}")
        return path

    def export_plot(
        self,
        plot_item: pg.PlotItem,
        kind: str,
        path: str | None = None,
        name: str = "plot",
        dpi: int | None = None,
        items: list[Any] | None = None,
    ) -> str | None:
        view = plot_item.scene().views()[0]
        return self._export(
            kind, name.replace(" ", "_"), path, dpi, view, lambda p: write_plot_csv(plot_item, p, items)
        )

    def _export(
        self, kind: str, name: str, path: str | None, dpi: int | None, view: QGraphicsView, csv_fn: Any
    ) -> str | None:
        if kind not in _FILTERS:
            self.window.log("error", f"unknown export format {kind!r}")
            return None
        path = path or self.ask_path(kind, name)
        if not path:
            return None
        try:
            if kind == "png":
                dpi = dpi or self.ask_dpi()
                if dpi is None:
                    return None
                render_png(view, path, dpi)
            elif kind == "svg":
                write_svg(view, path, name)
            else:
                csv_fn(path)
        except (OSError, ValueError) as exc:
            self.window.log("error", f"Export to {path} failed: {exc}")
            return None
        self.window.log("info", f"Exported {Path(path).name}")
        return path
