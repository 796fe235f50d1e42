"""The composer's figures in a project file, without Qt: saved with the session and restored with every
reference (datasets, regions, line cuts, series curves) rewritten to the new keys; a damaged figure is
skipped with a warning and the rest restored; a project without figures still opens."""

from __future__ import annotations

import numpy as np

from analysis.figures.description import FigureDescription, LineCutPanel, MapPanel, XYPanel
from analysis.maps.linecut import CutPath
from analysis.maps.regions import Rectangle, Region
from analysis.store import Attachment, open_project, save_project
from app.state import AppState
from app.state.project_io import FIGURES, collect_project, restore_project
from tests.app.state.test_project_io import NM, _grid


def _session() -> tuple[AppState, str, str, str]:
    s = AppState()
    kg = s.add_dataset(_grid(), "QP grid")
    r = Region("Grain", (200, 10, 10), geometry=Rectangle((0.0, 0.0), (20 * NM, 10 * NM)))
    s.regions[r.id] = r
    kc = s.new_key("cut")
    s.linecuts[kc] = CutPath(((-20 * NM, 0.0), (20 * NM, 5 * NM)), name="across")
    desc = FigureDescription(
        panels=[
            MapPanel(dataset=kg, bias=2e-3, regions=(r.id,), cuts=(kc,), view="slicer1"),
            LineCutPanel(col=1, dataset=kg, cut=kc, style="waterfall"),
            XYPanel(col=2, series=(f"{kg}|0|V|I|0.0|1,2,3",)),
        ],
        cols=3,
        width_cm=8.6,
        name="Figure 1",
    )
    s.figures[s.new_key("fig")] = desc
    return s, kg, r.id, kc


def test_figures_come_back_with_their_references_rewritten(tmp_path):
    s, kg, rid, kc = _session()
    entries, atts = collect_project(s)
    assert FIGURES in atts
    path = tmp_path / "p.h5"
    save_project(path, entries, atts)
    t = AppState()
    t.add_dataset(_grid(name="other"), "already open")  # the new keys differ from the saved ones
    with open_project(path) as project:
        result = restore_project(t, project)
        assert not result.warnings
        (fig,) = t.figures.values()
        new_g, new_r, new_c = result.keys[kg], result.keys[rid], result.keys[kc]
        assert new_g != kg
        m, lc, xy = fig.panels
        assert (m.dataset, m.regions, m.cuts, m.bias, m.view) == (new_g, (new_r,), (new_c,), 2e-3, "slicer1")
        assert (lc.dataset, lc.cut, lc.style) == (new_g, new_c, "waterfall")
        assert xy.series == (f"{new_g}|0|V|I|0.0|1,2,3",)
        assert (fig.width_cm, fig.name, fig.cols) == (8.6, "Figure 1", 3)
        assert new_r in t.regions and new_c in t.linecuts


def test_a_damaged_figure_is_skipped_and_a_project_without_figures_opens(tmp_path):
    s, kg, _rid, _kc = _session()
    entries, atts = collect_project(s)
    good = atts[FIGURES].data["items"][0]
    bad = {"id": "fig0", "figure": {"rows": 1, "cols": 1, "panels": [{"kind": "map", "row": 3}]}}
    atts[FIGURES] = Attachment(data={"items": [bad, good]})
    save_project(tmp_path / "damaged.h5", entries, atts)
    t = AppState()
    with open_project(tmp_path / "damaged.h5") as project:
        result = restore_project(t, project)
    assert len(t.figures) == 1 and any("figure could not be restored" in w for w in result.warnings)
    del atts[FIGURES]
    save_project(tmp_path / "old.h5", entries, atts)
    u = AppState()
    with open_project(tmp_path / "old.h5") as project:
        result = restore_project(u, project)
    assert not u.figures and not result.warnings and len(u.entries) == 1
    assert np.isfinite(next(iter(u.entries.values())).dataset.bias).all()


def test_restored_panels_are_relinked_to_the_restored_views(tmp_path):
    """Saved view keys map to the restored views; a map panel at a bias whose view is unknown (a project
    saved before slicers kept their keys) follows its grid's restored slicer; other panels keep theirs."""
    from dataclasses import replace

    from app.state.app_state import ViewState
    from app.state.project_io import relink_figure_views

    s, kg, _rid, _kc = _session()
    entries, atts = collect_project(s)
    save_project(tmp_path / "p.h5", entries, atts)
    t = AppState()
    with open_project(tmp_path / "p.h5") as project:
        result = restore_project(t, project)
    new_g = result.keys[kg]
    t.views["slicer9"] = ViewState("slicer9", new_g, "dI/dV", "slicer")
    (fkey,) = result.figures
    relink_figure_views(t, result.figures, {"slicer1": "slicer9"})
    assert [p.view for p in t.figures[fkey].panels] == ["slicer9", "", ""]
    # a project of before: the slicer's saved key unknown, the map panel found by its grid
    old = t.figures[fkey]
    t.figures[fkey] = replace(old, panels=[replace(old.panels[0], view="slicer1"), *old.panels[1:]])
    relink_figure_views(t, [fkey], {}, {new_g: "slicer9"})
    assert [p.view for p in t.figures[fkey].panels] == ["slicer9", "", ""]
