"""The evented state models: events that say what changed, batches that coalesce, one undo stack."""

from __future__ import annotations

import numpy as np

from analysis.dataset import Image
from analysis.fitting.entries import BatchFitEntry, FitSource, SingleFitEntry, fit_entry
from analysis.maps.regions import Rectangle, Region
from app.state import AppState
from app.state.app_state import ViewState
from app.state.collections import MISSING
from app.state.edits import AddDataset, AddPin, RemovePins, SetView
from app.state.undo import DELETE, DictEdit
from tests.app.gui_support import make_grid


def _recorder(signal):
    calls: list[tuple] = []
    signal.connect(lambda *a: calls.append(a))
    return calls


def test_collection_events_carry_key_old_and_new():
    s = AppState()
    edits = _recorder(s.regions.edited)
    coarse = _recorder(s.regions_changed)
    r1 = Region("A", (1, 2, 3), geometry=Rectangle((0.0, 0.0), (1e-9, 1e-9)))
    s.regions[r1.id] = r1
    r2 = r1.with_changes(name="B")
    s.regions[r1.id] = r2
    del s.regions[r1.id]
    assert edits == [(r1.id, MISSING, r1), (r1.id, r1, r2), (r1.id, r2, MISSING)]
    assert len(coarse) == 3
    s.regions[r1.id] = r2
    edits.clear()
    s.regions[r1.id] = r2  # the same value: no event
    assert edits == []


def test_a_batch_delivers_each_coarse_signal_once_and_every_keyed_event():
    s = AppState()
    coarse = _recorder(s.linecuts_changed)
    edits = _recorder(s.linecuts.edited)
    cursor = _recorder(s.cursor_changed)
    pins = _recorder(s.pinned_changed)
    pin_edits = _recorder(s.pin_edited)
    with s.batch():
        s.linecuts["c1"] = "one"
        s.linecuts["c2"] = "two"
        s.set_cursor((1.0, 2.0))
        s.set_cursor((3.0, 4.0))
        p = s.pin(3.0, 4.0)
        assert coarse == [] and edits == [] and cursor == [] and pins == []
    assert coarse == [()]
    assert [e[0] for e in edits] == ["c1", "c2"]
    assert cursor == [((3.0, 4.0),)]  # the newest value
    assert pins == [()] and pin_edits == [(p.key, None, p)]


def test_view_state_events_name_the_field():
    s = AppState()
    s.views["slicer1"] = ViewState("slicer1", "d1", "LockinX", index=3)
    edited = _recorder(s.view_edited)
    s.set_view("slicer1", index=5, levels=(0, 2e-9), colormap="magma")
    assert edited == [
        ("slicer1", "index", 3, 5),
        ("slicer1", "levels", None, (0.0, 2e-9)),
        ("slicer1", "colormap", "viridis", "magma"),
    ]
    edited.clear()
    s.set_view("slicer1", index=5)
    assert edited == []


def test_every_kind_of_edit_undoes_and_redoes_on_the_one_stack():
    s = AppState()
    u = s.undo
    g = make_grid(ny=4, nx=5)
    kg = s.add_dataset(g, "grid")
    # region
    r = Region("R", (1, 2, 3), geometry=Rectangle((0.0, 0.0), (1e-9, 1e-9)))
    u.push(DictEdit("Add R", s.regions, r.id, r))
    # line cut
    u.push(DictEdit("Add cut", s.linecuts, "cut1", "path"))
    # pins
    add = AddPin(s, 1e-9, 2e-9)
    u.push(add)
    u.push(RemovePins(s, [add.pin.key]))
    # derived dataset
    derived = Image(name="levelled", units={"Z": "m"}, channels={"Z": np.zeros((4, 5))}, frame=g.frame)
    made = AddDataset(s, derived, "levelled", parent=kg)
    u.push(made)
    # view
    s.views["slicer1"] = ViewState("slicer1", kg, "dI/dV")
    u.push(SetView(s, "slicer1", "Levels", levels=(0.0, 1.0)))
    assert u.history() == ["Add R", "Add cut", add.text, "Unpin a point", "Add levelled", "Levels"]

    u.undo()
    assert s.views["slicer1"].levels is None
    u.undo()
    assert made.key not in s.entries
    u.undo()
    assert [p.key for p in s.pinned] == [add.pin.key]
    u.undo()
    assert s.pinned == []
    u.undo()
    assert "cut1" not in s.linecuts
    u.undo()
    assert r.id not in s.regions
    assert u.index == 0 and not u.can_undo

    u.set_index(6)  # redo everything, as a click on the last history row does
    assert r.id in s.regions and s.linecuts["cut1"] == "path" and s.pinned == []
    assert s.entries[made.key].dataset is derived and s.entries[made.key].parent == kg
    assert s.views["slicer1"].levels == (0.0, 1.0)
    u.set_index(3)
    assert [p.key for p in s.pinned] == [add.pin.key]  # the same pin (key and colour) came back


def test_an_undo_step_is_one_refresh():
    s = AppState()
    coarse = _recorder(s.regions_changed)
    from app.state.undo import Macro

    rs = [Region(f"R{i}", (1, 2, 3), geometry=Rectangle((0.0, 0.0), (1e-9, 1e-9))) for i in range(4)]
    s.undo.push(Macro("Bands", [DictEdit("Bands", s.regions, r.id, r) for r in rs]))
    assert len(coarse) == 1
    s.undo.undo()
    assert len(coarse) == 2 and len(s.regions) == 0
    s.undo.push(Macro("Del", [DictEdit("Del", s.regions, "nope", DELETE)]))
    assert len(s.regions) == 0


def test_fit_sources_are_typed_references():
    assert FitSource.from_token("pin:p3") == FitSource("pin", "p3")
    assert FitSource.from_token("spec:d2") == FitSource("spectrum", "d2")
    assert FitSource.from_token("cursor") == FitSource("cursor")
    assert FitSource("region", "r1").token == "region:r1"
    assert FitSource.from_token("bogus:x") is None and FitSource.from_token("") is None
    for bad in (("cursor", "x"), ("pin", None), ("nonsense", "k")):
        try:
            FitSource(*bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{bad} accepted")


def test_fit_entries_read_the_dicts_older_projects_stored():
    single = fit_entry({"kind": "single", "record": {"model": "dynes"}, "grid": "d1"})
    assert isinstance(single, SingleFitEntry) and single.grid == "d1"
    batch = fit_entry({"kind": "batch", "model": "dynes", "grid": "d1", "maps": "d2", "pixels": 5})
    assert isinstance(batch, BatchFitEntry) and batch.maps == "d2" and batch.pixels == 5
    odd = {"kind": "something new", "x": 1}
    assert fit_entry(odd) is odd
