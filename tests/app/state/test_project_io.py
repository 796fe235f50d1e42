"""The session as a project file and back, without Qt: datasets with parents, regions, line cuts, fits,
view state; saving over the very file the session reads lazily."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.dataset import Frame, Grid, Image, Source, Spectrum
from analysis.fitting.entries import BatchFitEntry, SingleFitEntry
from analysis.fitting.single import FitRecord, ParamResult
from analysis.maps.linecut import CutPath, LineCut, line_cut
from analysis.maps.regions import Rectangle, Region, new_region_id
from analysis.store import Attachment, open_project, save_project
from app.state import AppState
from app.state.project_io import collect_project, ordered_entries, restore_project

NM = 1e-9


def _grid(ny: int = 20, nx: int = 24, nb: int = 33, name: str = "QP") -> Grid:
    bias = np.linspace(-10e-3, 10e-3, nb)
    iy, ix = np.mgrid[0:ny, 0:nx]
    didv = ((1.0 + iy * nx + ix)[:, :, None] * 1e-9 * (1 + bias / 20e-3)).astype(np.float32)
    frame = Frame(center=(0.0, 0.0), size=(60 * NM, 50 * NM), shape=(ny, nx))
    return Grid(
        name=name,
        units={"dI/dV": "S"},
        source=Source(path=f"{name}.3ds", reader="synthetic"),
        bias=bias,
        channels={"dI/dV": np.ascontiguousarray(didv)},
        frame=frame,
        params={"Z": (1e-10 * ix).astype(np.float64)},
        param_units={"Z": "m"},
        valid=np.ones((ny, nx), bool),
    )


def _session() -> tuple[AppState, dict[str, str]]:
    """A state with a grid, a derived map image (child of the grid), a point spectrum, two regions, two
    line cuts, three fits, a current dataset, a cursor and two pins."""
    s = AppState()
    g = _grid()
    kg = s.add_dataset(g, "QP grid")
    maps = Image(
        name="dynes maps",
        units={"Delta": "V"},
        channels={"Delta": np.full(g.frame.shape, 2e-3, np.float32)},
        frame=g.frame,
        provenance=[{"operation": "batch fit", "model": "dynes"}],
    )
    km = s.add_dataset(maps, "dynes maps", parent=kg)
    sp = Spectrum(
        name="pc", x=np.linspace(-1e-3, 1e-3, 11), channels={"I": np.arange(11.0)}, units={"I": "A"}
    )
    ks = s.add_dataset(sp, "point contact")
    rect = Region("Grain", (200, 10, 10), geometry=Rectangle((0.0, 0.0), (20 * NM, 10 * NM)))
    mask = np.zeros(g.frame.shape, bool)
    mask[2:5, 3:9] = True
    masked = Region("Band 1", (10, 200, 10), mask=mask, frame=g.frame)
    for r in (rect, masked):
        s.regions[r.id] = r
    cut = line_cut(g, None, [(-20 * NM, -10 * NM), (20 * NM, 15 * NM)])
    s.linecuts["cut1"] = cut
    s.linecuts["cut2"] = CutPath(((-5 * NM, 0.0), (5 * NM, 5 * NM)), width_m=2 * NM, name="across")
    rec = FitRecord(
        model="dynes",
        params=[ParamResult("Delta", "V", 2.1e-3, 1e-5, 0.0, 1e-2), ParamResult("Gamma", "V", 1e-4)],
        redchi=1.5,
        chisqr=40.0,
        ndata=33,
        nvarys=2,
        success=True,
        message="ok",
        fit_range=(-5e-3, 5e-3),
        source="pixel",
    )
    s.fits["fit1"] = {"kind": "single", "record": rec.to_dict(), "grid": kg}
    s.fits["fit2"] = {
        "kind": "batch",
        "model": "dynes",
        "grid": kg,
        "maps": km,
        "pixels": 480,
        "start": "guess",
    }
    s.fits["fit3"] = rec  # an object with to_dict/from_dict
    s.set_current(km)
    s.set_cursor((3 * NM, -4 * NM))
    s.pin(1 * NM, 2 * NM)
    s.pin(-5 * NM, 6 * NM).color = (1, 2, 3)
    return s, {"grid": kg, "maps": km, "spectrum": ks, "rect": rect.id, "masked": masked.id}


def _save(state: AppState, path, **kw) -> None:
    entries, atts = collect_project(state, **kw)
    save_project(path, entries, atts)


def test_round_trip_restores_everything(tmp_path):
    s, k = _session()
    path = tmp_path / "session.h5"
    _save(s, path, view_extra={"slicers": [{"grid": k["grid"], "channel": "dI/dV", "value": -2e-3}]})

    t = AppState()
    with open_project(path) as project:
        res = restore_project(t, project)
        assert res.warnings == []
        assert len(t.entries) == 3
        kg, km, ks = (res.keys[k[n]] for n in ("grid", "maps", "spectrum"))
        assert res.datasets == [kg, km, ks]
        # labels, parent link, data
        assert [t.entries[x].label for x in (kg, km, ks)] == ["QP grid", "dynes maps", "point contact"]
        assert t.entries[km].parent == kg and t.entries[kg].parent is None and t.entries[ks].parent is None
        g0: Grid = s.entries[k["grid"]].dataset
        g1: Grid = t.entries[kg].dataset
        np.testing.assert_array_equal(g1.channels["dI/dV"][:, :, 7], g0.channels["dI/dV"][:, :, 7])
        np.testing.assert_array_equal(g1.params["Z"], g0.params["Z"])
        assert t.entries[km].dataset.provenance == [{"operation": "batch fit", "model": "dynes"}]
        np.testing.assert_array_equal(t.entries[ks].dataset.channels["I"], np.arange(11.0))

        # regions: same geometry and mask, fresh ids
        assert len(t.regions) == 2
        by_name = {r.name: r for r in t.regions.values()}
        assert by_name["Grain"].geometry == s.regions[k["rect"]].geometry
        assert by_name["Grain"].colour == (200, 10, 10)
        np.testing.assert_array_equal(by_name["Band 1"].mask, s.regions[k["masked"]].mask)
        assert by_name["Band 1"].frame == g0.frame
        assert res.keys[k["rect"]] == by_name["Grain"].id

        # line cuts: a LineCut dataclass with its arrays and a CutPath through to_dict/from_dict
        assert len(t.linecuts) == 2
        cut = t.linecuts[res.keys["cut1"]]
        assert isinstance(cut, LineCut)
        np.testing.assert_array_equal(cut.values, s.linecuts["cut1"].values)
        np.testing.assert_array_equal(cut.vertices, s.linecuts["cut1"].vertices)
        assert cut.values.dtype == np.float32 and cut.label == "dI/dV"
        assert t.linecuts[res.keys["cut2"]] == s.linecuts["cut2"]

        # fits: stored as plain dicts (as older projects did), they come back as typed entries with their
        # records intact and dataset references rewritten to the new keys
        f1 = t.fits[res.keys["fit1"]]
        assert isinstance(f1, SingleFitEntry) and f1.grid == kg
        assert FitRecord.from_dict(f1.record).values == {"Delta": 2.1e-3, "Gamma": 1e-4}
        assert FitRecord.from_dict(f1.record).fit_range == (-5e-3, 5e-3)
        f2 = t.fits[res.keys["fit2"]]
        assert isinstance(f2, BatchFitEntry)
        assert (f2.grid, f2.maps, f2.pixels, f2.start) == (kg, km, 480, "guess")
        f3 = t.fits[res.keys["fit3"]]
        assert isinstance(f3, FitRecord) and f3.param("Delta").stderr == 1e-5

        # view state
        assert t.current == km
        assert t.cursor == pytest.approx((3 * NM, -4 * NM))
        assert [(p.x, p.y) for p in t.pinned] == [(1 * NM, 2 * NM), (-5 * NM, 6 * NM)]
        assert t.pinned[1].color == (1, 2, 3)
        assert res.view["slicers"] == [{"grid": kg, "channel": "dI/dV", "value": -2e-3}]


def test_restore_emits_the_collection_signals():
    s, _ = _session()
    calls: list[str] = []
    t = AppState()
    for name in ("datasets_changed", "regions_changed", "linecuts_changed", "fits_changed", "pinned_changed"):
        getattr(t, name).connect(lambda n=name: calls.append(n))
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "p.h5"
        _save(s, p)
        with open_project(p) as project:
            restore_project(t, project)
    assert {
        "datasets_changed",
        "regions_changed",
        "linecuts_changed",
        "fits_changed",
        "pinned_changed",
    } <= set(calls)


def test_opening_into_a_busy_session_never_reuses_keys(tmp_path):
    s, k = _session()
    path = tmp_path / "a.h5"
    _save(s, path)
    with open_project(path) as project:
        res = restore_project(s, project)  # the same project into the session it came from
        assert len(s.entries) == 6 and len(s.regions) == 4 and len(s.linecuts) == 4 and len(s.fits) == 6
        new_maps = res.keys[k["maps"]]
        assert new_maps != k["maps"] and s.entries[new_maps].parent == res.keys[k["grid"]]
        # a region made afterwards does not collide with a restored one
        assert new_region_id() not in s.regions
        assert s.new_key("fit") not in s.fits


def test_saving_over_the_file_the_session_reads_lazily(tmp_path):
    s, k = _session()
    path = tmp_path / "p.h5"
    _save(s, path)
    original = np.array(s.entries[k["grid"]].dataset.channels["dI/dV"])

    t = AppState()
    project = open_project(path)
    try:
        res = restore_project(t, project)
        kg = res.keys[k["grid"]]
        cube = t.entries[kg].dataset.channels["dI/dV"]
        assert not isinstance(cube, np.ndarray)  # lazy: read from the file on demand
        extra = Region("New", (0, 0, 255), geometry=Rectangle((5 * NM, 5 * NM), (4 * NM, 4 * NM)))
        t.regions[extra.id] = extra
        _save(t, path)  # over the open file
        np.testing.assert_array_equal(cube[:, :, 3], original[:, :, 3])  # still readable
        leftovers = [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]
        assert leftovers == []
    finally:
        project.close()

    u = AppState()
    with open_project(path) as again:
        res2 = restore_project(u, again)
        g = u.entries[res2.datasets[0]].dataset
        np.testing.assert_array_equal(np.asarray(g.channels["dI/dV"][()]), original)
        assert sorted(r.name for r in u.regions.values()) == ["Band 1", "Grain", "New"]
        assert u.entries[res2.datasets[1]].parent == res2.datasets[0]


def test_damaged_or_unknown_attachments_do_not_stop_the_datasets(tmp_path):
    s, _ = _session()
    entries, atts = collect_project(s, attachments={"notes": Attachment(data={"text": "grain 3 odd"})})
    atts["fits"] = Attachment(data={"items": "not a list"})
    atts["linecuts"] = Attachment(
        data={"items": [{"id": "cut9", "form": "dataclass", "class": "os:PathLike", "data": {"a": 1}}]}
    )
    path = tmp_path / "d.h5"
    save_project(path, entries, atts)
    t = AppState()
    with open_project(path) as project:
        res = restore_project(t, project)
    assert len(t.entries) == 3 and len(t.regions) == 2
    assert t.fits == {}
    assert any(w.startswith("fits could not be restored") for w in res.warnings)
    # an untrusted class is never imported: the record comes back as its plain dict
    assert list(t.linecuts.values()) == [{"a": 1}]
    assert any("outside the trusted packages" in w for w in res.warnings)
    assert res.other["notes"].data == {"text": "grain 3 odd"}


def test_entries_are_saved_parents_first():
    s = AppState()
    g = _grid(4, 4, 5)
    kg = s.add_dataset(g, "g")
    child = s.add_dataset(
        Image(name="m", channels={"a": np.zeros((4, 4), np.float32)}, frame=g.frame), "m", kg
    )
    # reorder so that the child comes first, as a dict edit could leave it
    s.entries = {child: s.entries[child], kg: s.entries[kg]}
    assert [e.key for e in ordered_entries(s.entries)] == [kg, child]
    entries, _ = collect_project(s)
    assert [e.key for e in entries] == [kg, child] and entries[1].parent == kg


def test_annotations_come_back_on_the_new_dataset_keys(tmp_path):
    """A feature's marks (saved by its attachment provider) are restored onto the datasets' new keys;
    marks on datasets not in the project are left out with a warning, and undo edits them as state."""
    from app.state.app_state import AnnotationMap, annotation_key
    from app.state.project_io import annotations_attachment
    from app.state.undo import DictEdit

    s, k = _session()
    peaks = AnnotationMap(s, "bragg_peaks", "peaks")
    s.undo.push(DictEdit("Pick", peaks, k["grid"], ((1e9, 0.0), (0.0, 1e9))))
    assert s.annotations[annotation_key("bragg_peaks", k["grid"])]["dataset"] == k["grid"]
    s.annotations["stray"] = {"kind": "bragg_peaks", "dataset": "gone", "peaks": []}
    s.annotations["other"] = {"kind": "height_profile", "dataset": k["maps"], "line": [[0, 0], [1e-9, 0]]}
    att = annotations_attachment(s, "bragg_peaks")
    assert [m["dataset"] for m in att.data["annotations"]] == [k["grid"]]  # the stray mark is not saved
    att.data["annotations"].append({"kind": "bragg_peaks", "dataset": "d99", "peaks": []})
    entries, atts = collect_project(s, attachments={"lattice": att})
    path = tmp_path / "marks.h5"
    save_project(path, entries, atts)

    t = AppState()
    t.add_dataset(_grid(name="already open"))  # the project's keys are taken
    with open_project(path) as project:
        res = restore_project(t, project)
    new = res.keys[k["grid"]]
    assert new != k["grid"]
    assert AnnotationMap(t, "bragg_peaks", "peaks")[new] == [[1e9, 0.0], [0.0, 1e9]]
    assert list(AnnotationMap(t, "bragg_peaks", "peaks")) == [new]
    assert any("d99" in w and "left out" in w for w in res.warnings)
    assert "lattice" not in res.other  # written again by its provider
    s.undo.undo()
    assert k["grid"] not in peaks
