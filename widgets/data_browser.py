"""Data browser: datasets > channels, parameters and derived datasets, with a details pane."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QMenu,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from analysis.dataset import Dataset, Grid, Image, Spectrum

_ROLE = Qt.ItemDataRole.UserRole
_MAX_METADATA = 400


def _fmt_len(metres: float) -> str:
    return f"{metres * 1e9:.4g} nm"


def details_html(label: str, ds: Dataset, parent_label: str | None = None) -> str:
    """Human-readable description of a dataset: source, shape, frame, units, warnings, provenance, header."""
    rows: list[tuple[str, str]] = [("Name", label), ("Kind", ds.kind)]
    if parent_label:
        rows.append(("Derived from", parent_label))
    if ds.source.path:
        rows.append(("File", ds.source.path))
    if ds.source.reader:
        rows.append(("Reader", ds.source.reader))
    if isinstance(ds, Grid):
        ny, nx, nb = ds.shape
        rows.append(("Pixels x points", f"{nx} x {ny} x {nb}"))
        if nb:
            rows.append(
                (
                    "Sweep",
                    f"{ds.sweep_signal}: {ds.bias[0]:.6g} .. {ds.bias[-1]:.6g} {ds.sweep_unit}"
                    + (" (recorded downwards, reversed)" if ds.sweep_reversed else ""),
                )
            )
        rows.append(("Valid pixels", f"{100 * ds.valid_fraction():.1f} %"))
    if isinstance(ds, Spectrum):
        rows.append(("Points", str(len(ds))))
        rows.append(("Sweep", f"{ds.x_name} [{ds.x_unit}]"))
    frame = getattr(ds, "frame", None)
    if frame is not None and isinstance(ds, Grid | Image):
        rows.append(
            (
                "Frame",
                f"centre ({_fmt_len(frame.center[0])}, {_fmt_len(frame.center[1])}), "
                f"size {_fmt_len(frame.size[0])} x {_fmt_len(frame.size[1])}, angle {frame.angle:g} deg, "
                f"{frame.shape[1]} x {frame.shape[0]} px",
            )
        )
    out = ["<table cellspacing='2'>"]
    out += [f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows]
    out.append("</table>")
    if ds.warnings:
        out.append(
            "<p style='color:#b00'><b>Warnings</b><br>" + "<br>".join(html.escape(w) for w in ds.warnings)
        )
        out.append("</p>")
    chans = list(getattr(ds, "channels", {}))
    if chans:
        out.append("<p><b>Channels</b><br>")
        out.append(
            "<br>".join(f"{html.escape(c)} [{html.escape(ds.unit(c) or '-')}]" for c in chans) + "</p>"
        )
    if isinstance(ds, Grid) and ds.params:
        out.append("<p><b>Parameters per pixel</b><br>")
        out.append(
            "<br>".join(
                f"{html.escape(p)} [{html.escape(ds.param_units.get(p, '') or '-')}]" for p in ds.params
            )
            + "</p>"
        )
    if ds.provenance:
        out.append("<p><b>Provenance</b><br>")
        for step in ds.provenance:
            params = ", ".join(f"{k}={v}" for k, v in step.get("parameters", {}).items())
            out.append(f"{html.escape(str(step.get('operation', '?')))}({html.escape(params)})<br>")
        out.append("</p>")
    if ds.metadata:
        out.append("<p><b>Header</b></p><table cellspacing='1'>")
        for i, (k, v) in enumerate(ds.metadata.items()):
            if i >= _MAX_METADATA:
                out.append(f"<tr><td colspan='2'>... {len(ds.metadata) - i} more entries</td></tr>")
                break
            text = str(v)
            if len(text) > 200:
                text = text[:200] + "..."
            out.append(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(text)}</td></tr>")
        out.append("</table>")
    return "".join(out)


class DataBrowser(QWidget):
    """Tree of open datasets.

    Signals: ``current_selected(key)`` on selection; ``channel_activated(key, name)`` when a grid (or
    spectrum) channel is double-clicked or "Open in new slicer" is chosen; ``param_activated(key, name)``
    (a grid's per-pixel parameter such as Z) and ``image_activated(key, name)`` (a channel of an image
    dataset such as a fitted parameter map) when a 2D map is double-clicked or "Open in new map view" is
    chosen; ``topography_requested(key, name)`` for "Show in Topography"; ``remove_requested(key)`` for
    "Close dataset".
    """

    current_selected = Signal(str)
    channel_activated = Signal(str, str)
    param_activated = Signal(str, str)
    image_activated = Signal(str, str)
    topography_requested = Signal(str, str)
    remove_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        lay.addWidget(split)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Dataset", "Kind / unit"])
        self.tree.setColumnWidth(0, 200)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        split.addWidget(self.tree)
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        split.addWidget(self.details)
        split.setSizes([300, 200])
        self._items: dict[str, QTreeWidgetItem] = {}
        self._data: dict[str, tuple[str, Dataset, str | None]] = {}

    def set_datasets(self, entries: Sequence[tuple[str, str, str | None, Dataset]]) -> None:
        """(key, label, parent key, dataset) for every open dataset; parents before children."""
        current = self.current_key()
        self.tree.blockSignals(True)
        self.tree.clear()
        self._items.clear()
        self._data = {k: (label, ds, parent) for k, label, parent, ds in entries}
        for key, label, parent, ds in entries:
            item = QTreeWidgetItem([label, ds.kind if parent is None else f"derived {ds.kind}"])
            item.setData(0, _ROLE, ("dataset", key, ""))
            item.setToolTip(0, ds.source.path or label)
            if ds.warnings:
                item.setForeground(0, Qt.GlobalColor.darkRed)
            host = self._items.get(parent) if parent else None
            (host.addChild(item) if host is not None else self.tree.addTopLevelItem(item))
            self._items[key] = item
            chans = list(getattr(ds, "channels", {}))
            if chans:
                group = QTreeWidgetItem(["Channels", str(len(chans))])
                group.setData(0, _ROLE, ("group", key, ""))
                item.addChild(group)
                kind = "image" if isinstance(ds, Image) else "channel"
                for c in chans:
                    ch = QTreeWidgetItem([c, ds.unit(c)])
                    ch.setData(0, _ROLE, (kind, key, c))
                    if kind == "image":
                        ch.setToolTip(0, f"{c}: double-click to open in a new map view")
                    group.addChild(ch)
            params = getattr(ds, "params", None)
            if params:
                group = QTreeWidgetItem(["Parameters", str(len(params))])
                group.setData(0, _ROLE, ("group", key, ""))
                item.addChild(group)
                for p in params:
                    pi = QTreeWidgetItem([p, ds.param_units.get(p, "")])  # type: ignore[union-attr]
                    pi.setData(0, _ROLE, ("param", key, p))
                    pi.setToolTip(0, f"{p}: double-click to open in a new map view")
                    group.addChild(pi)
            item.setExpanded(True)
        self.tree.blockSignals(False)
        if current in self._items:
            self.set_current(current)

    def set_current(self, key: str | None) -> None:
        """Select dataset ``key``; a selected channel or parameter of that dataset stays selected (so the
        second click of a double-click lands on the item the first one chose)."""
        if key is not None and key in self._items and self.current_key() == key:
            self._show_details(key)
            return
        item = self._items.get(key) if key else None
        self.tree.blockSignals(True)
        self.tree.setCurrentItem(item) if item is not None else self.tree.clearSelection()
        self.tree.blockSignals(False)
        self._show_details(key)

    def current_key(self) -> str | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        data: Any = item.data(0, _ROLE)
        return data[1] if data else None

    def dataset_keys(self) -> list[str]:
        return list(self._items)

    def item_for(self, key: str) -> QTreeWidgetItem | None:
        return self._items.get(key)

    def map_item(self, key: str, name: str) -> QTreeWidgetItem | None:
        """The tree item of channel or parameter ``name`` of dataset ``key`` (None when absent)."""
        top = self._items.get(key)
        if top is None:
            return None
        for i in range(top.childCount()):
            group = top.child(i)
            for j in range(group.childCount()):
                data: Any = group.child(j).data(0, _ROLE)
                if data and data[0] != "dataset" and data[1] == key and data[2] == name:
                    return group.child(j)
        return None

    def _show_details(self, key: str | None) -> None:
        if key is None or key not in self._data:
            self.details.setHtml("")
            return
        label, ds, parent = self._data[key]
        parent_label = self._data[parent][0] if parent in self._data else None
        self.details.setHtml(details_html(label, ds, parent_label))

    def details_text(self) -> str:
        return self.details.toPlainText()

    def _selection_changed(self) -> None:
        key = self.current_key()
        if key is not None:
            self._show_details(key)
            self.current_selected.emit(key)

    def _double_clicked(self, item: QTreeWidgetItem, _col: int) -> None:
        kind, key, name = item.data(0, _ROLE) or ("", "", "")
        if kind == "channel":
            self.channel_activated.emit(key, name)
        elif kind == "param":
            self.param_activated.emit(key, name)
        elif kind == "image":
            self.image_activated.emit(key, name)

    def context_menu_for(self, item: QTreeWidgetItem) -> QMenu:
        """The right-click menu of a tree item (not shown)."""
        kind, key, name = item.data(0, _ROLE) or ("", "", "")
        menu = QMenu(self)
        if kind == "channel":
            menu.addAction("Open in new slicer", lambda: self.channel_activated.emit(key, name))
        if kind in ("image", "param"):
            opened = self.param_activated if kind == "param" else self.image_activated
            menu.addAction("Open in new map view", lambda: opened.emit(key, name))
            menu.addAction("Show in Topography", lambda: self.topography_requested.emit(key, name))
        menu.addAction("Close dataset", lambda: self.remove_requested.emit(key))
        return menu

    def _context_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is not None:
            self.context_menu_for(item).popup(self.tree.viewport().mapToGlobal(pos))
