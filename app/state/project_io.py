"""The whole session as a project file and back, without Qt: datasets, regions, line cuts, fits, view state.

:func:`collect_project` turns an :class:`app.state.AppState` into what :func:`analysis.store.save_project`
writes: ``(entries, attachments)``. Entries keep their keys, labels and parent links (parents come before
their children); the attachments are

* ``"regions"``: :func:`analysis.store.region_io.regions_attachment` (geometry or mask of every region);
* ``"linecuts"`` and ``"fits"``: :func:`analysis.store.records.records_attachment` of
  ``state.linecuts`` and ``state.fits`` (dicts, dataclasses or objects with ``to_dict``/``from_dict``);
* ``"view"``: the current dataset key, the cursor and the pinned points (metres, with their colours),
  plus whatever the window adds (``view_extra``, e.g. the slicers' grid, channel and sweep value).

:func:`restore_project` adds a project's datasets and collections to a state. Keys are issued afresh by the
state (``d...`` for datasets, a new region id for each region, ``state.new_key`` for line cuts and fits),
so a project can be opened into a session that already holds data; references between objects (a fit's
``grid`` or ``maps``, a derived dataset's parent, a view's current dataset) are rewritten to the new keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from analysis.fitting.entries import fit_entry
from analysis.maps.regions import new_region_id
from analysis.store import Attachment, Project, ProjectEntry
from analysis.store.records import (
    RecordError,
    key_remapper,
    records_attachment,
    records_from_attachment,
)
from analysis.store.region_io import regions_attachment, regions_from_attachment
from app.state import AppState, DatasetEntry

REGIONS = "regions"
LINECUTS = "linecuts"
FITS = "fits"
VIEW = "view"
KNOWN_ATTACHMENTS = (REGIONS, LINECUTS, FITS, VIEW)


@dataclass
class RestoreResult:
    """What :func:`restore_project` did.

    ``keys``: old key -> new key for datasets, regions, line cuts and fits; ``datasets``: the new dataset
    keys in the project's order; ``view``: the stored view state with references rewritten (the window
    applies its own parts, e.g. ``view["slicers"]``); ``other``: attachments this module does not know
    (kept so that a later save writes them back); ``warnings``: what could not be restored, and why.
    """

    keys: dict[str, str] = field(default_factory=dict)
    datasets: list[str] = field(default_factory=list)
    view: dict[str, Any] = field(default_factory=dict)
    other: dict[str, Attachment] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------------------
# collecting


def ordered_entries(entries: Mapping[str, DatasetEntry]) -> list[DatasetEntry]:
    """The entries with every parent before its children (otherwise in their current order)."""
    out: list[DatasetEntry] = []
    placed: set[str] = set()

    def place(e: DatasetEntry, chain: tuple[str, ...] = ()) -> None:
        if e.key in placed:
            return
        parent = entries.get(e.parent) if e.parent else None
        if parent is not None and parent.key not in chain:
            place(parent, (*chain, e.key))
        placed.add(e.key)
        out.append(e)

    for e in entries.values():
        place(e)
    return out


def view_state(state: AppState, view_extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-able view state: current key, cursor (x, y) m, pinned points, plus ``view_extra``."""
    view: dict[str, Any] = {
        "current": state.current,
        "cursor": None if state.cursor is None else [float(state.cursor[0]), float(state.cursor[1])],
        "pinned": [
            {"key": p.key, "x": float(p.x), "y": float(p.y), "color": [int(c) for c in p.color]}
            for p in state.pinned
        ],
    }
    for k, v in (view_extra or {}).items():
        view.setdefault(str(k), v)
    return view


def collect_project(
    state: AppState,
    *,
    view_extra: Mapping[str, Any] | None = None,
    attachments: Mapping[str, Attachment] | None = None,
) -> tuple[list[ProjectEntry], dict[str, Attachment]]:
    """``(entries, attachments)`` for :func:`analysis.store.save_project`.

    ``attachments`` adds or replaces attachments (e.g. a richer ``"regions"`` one with the region spectra,
    or attachments of another feature); ``view_extra`` adds keys to the view state. Raises
    :class:`~analysis.store.records.RecordError` when a line cut or fit cannot be stored.
    """
    entries = [ProjectEntry(e.key, e.label, e.dataset, e.parent) for e in ordered_entries(state.entries)]
    keys = {e.key for e in entries}
    for e in entries:
        if e.parent is not None and e.parent not in keys:
            e.parent = None
    out: dict[str, Attachment] = {
        REGIONS: regions_attachment(list(state.regions.values())),
        LINECUTS: records_attachment(state.linecuts),
        FITS: records_attachment(state.fits),
        VIEW: Attachment(data=view_state(state, view_extra)),
    }
    for name, att in (attachments or {}).items():
        out[str(name)] = att
    return entries, out


# ----------------------------------------------------------------------------------------------------------
# restoring


def _prefix(key: str, default: str) -> str:
    m = re.match(r"[A-Za-z_]+", key)
    return m.group(0) if m else default


def _restore_datasets(state: AppState, project: Project, result: RestoreResult) -> None:
    by_key = {e.key: e for e in project.entries}
    done: set[str] = set()

    def add(e: ProjectEntry, chain: tuple[str, ...] = ()) -> None:
        if e.key in done:
            return
        parent = by_key.get(e.parent) if e.parent else None
        if parent is not None and parent.key not in chain:
            add(parent, (*chain, e.key))
        new_parent = result.keys.get(e.parent) if e.parent else None
        if e.parent and new_parent is None:
            result.warnings.append(f"{e.label}: its parent {e.parent!r} is not in the project")
        new = state.add_dataset(e.dataset, e.label or None, parent=new_parent)
        done.add(e.key)
        result.keys[e.key] = new
        result.datasets.append(new)

    for e in project.entries:
        add(e)


def _restore_regions(state: AppState, att: Attachment, result: RestoreResult) -> None:
    regions = regions_from_attachment(att)
    if not regions:
        return
    for r in regions:
        fresh = r.with_changes(id=new_region_id())
        result.keys[r.id] = fresh.id
        state.regions[fresh.id] = fresh


def _restore_records(
    state: AppState,
    att: Attachment,
    target: MutableMapping[str, Any],
    default_prefix: str,
    result: RestoreResult,
) -> bool:
    items = att.data.get("items", [])
    if not isinstance(items, list):
        raise RecordError("the attachment's 'items' is not a list")
    for rec in items:  # issue the new keys first, so records may refer to each other
        if isinstance(rec, Mapping) and rec.get("id") is not None:
            old = str(rec["id"])
            result.keys[old] = state.new_key(_prefix(old, default_prefix))
    restored, warnings = records_from_attachment(att, key_remapper(result.keys))
    result.warnings.extend(warnings)
    for old, item in restored.items():
        if default_prefix == "fit":
            item = fit_entry(item)  # typed (older projects stored plain dicts)
        target[result.keys.get(old) or state.new_key(default_prefix)] = item
    return bool(restored)


def _restore_view(state: AppState, att: Attachment, result: RestoreResult) -> None:
    view = dict(att.data)
    remap = key_remapper(result.keys)
    cur = view.get("current")
    if isinstance(cur, str) and cur in result.keys:
        state.set_current(result.keys[cur])
    pins = view.get("pinned") or []
    for p in pins:
        try:
            pin = state.pin(float(p["x"]), float(p["y"]))
            colour = p.get("color")
            if isinstance(colour, list | tuple) and len(colour) >= 3:
                pin.color = (int(colour[0]), int(colour[1]), int(colour[2]))
        except (KeyError, TypeError, ValueError) as exc:
            result.warnings.append(f"a pinned point could not be restored: {exc}")
    cursor = view.get("cursor")
    if isinstance(cursor, list | tuple) and len(cursor) == 2:
        state.set_cursor((float(cursor[0]), float(cursor[1])))
    for part in ("slicers", "maps"):  # the window's slicers and map views, with their dataset keys rewritten
        items = []
        for item in view.get(part) or []:
            if isinstance(item, Mapping):
                items.append({str(k): remap(str(k), v) for k, v in item.items()})
        view[part] = items
    view["current"] = result.keys.get(cur, cur) if isinstance(cur, str) else None
    result.view = view


def restore_project(state: AppState, project: Project) -> RestoreResult:
    """Add the datasets (keeping parent links) and the regions, line cuts, fits and view state of an open
    ``project`` to ``state``. Datasets stay lazy: keep ``project`` open while the state uses them.

    A damaged attachment is skipped with a warning in the result (never an exception); the datasets are
    restored in any case. What opening the file left out or repaired (``project.warnings``) comes first in
    the result's warnings.
    """
    with state.batch():  # the views refresh once, when everything is in
        return _restore(state, project)


def _restore(state: AppState, project: Project) -> RestoreResult:
    result = RestoreResult(warnings=list(getattr(project, "warnings", [])))
    _restore_datasets(state, project, result)
    atts = project.attachments
    steps = (
        (REGIONS, lambda a: _restore_regions(state, a, result)),
        (LINECUTS, lambda a: _restore_records(state, a, state.linecuts, "cut", result)),
        (FITS, lambda a: _restore_records(state, a, state.fits, "fit", result)),
        (VIEW, lambda a: _restore_view(state, a, result)),
    )
    for name, step in steps:
        att = atts.get(name)
        if att is None:
            continue
        try:
            step(att)
        except Exception as exc:  # a damaged attachment (or what it leads to) must not stop the rest
            result.warnings.append(f"{name} could not be restored: {exc}")
            continue
    remap = key_remapper(result.keys)
    for name, att in atts.items():
        restorer = state.attachment_restorers.get(name)
        if name in KNOWN_ATTACHMENTS or restorer is None:
            continue
        try:
            result.warnings.extend(restorer(att, remap) or [])
        except Exception as exc:  # a feature's damaged attachment must not stop the rest
            result.warnings.append(f"{name} could not be restored: {exc}")
    # unknown attachments are kept (a later save writes them back); restored ones are saved by their feature
    result.other = {
        k: v for k, v in atts.items() if k not in KNOWN_ATTACHMENTS and k not in state.attachment_restorers
    }
    return result
