"""The mesa paper's figure: ``stsworkbench --scenario mesa --export-figure`` writes it without a window."""

from __future__ import annotations

from pathlib import Path

from analysis.figures.paper import figure_names
from analysis.figures.paper_mesa import mesa_figure
from app.commands.figure import main_export_figure
from tests.analysis.figures.test_render import svg_texts


def test_window_option_writes_the_mesa_figure(tmp_path: Path, capsys):
    assert "mesa" in figure_names()
    out = tmp_path / "mesa.svg"
    assert main_export_figure(["--scenario", "mesa", "--export-figure", str(out)]) == 0
    assert "6 panels" in capsys.readouterr().out
    texts = svg_texts(out)
    for title in ("d-wave fit", "Peak voltage", "Figure of merit β", "Mesa temperature at the peak"):
        assert title in texts, title
    desc, sources = mesa_figure()
    assert [p.kind for p in desc.panels] == ["xy"] * 6
    assert {"iv1", "iv19", "sim12", "vp_sim", "beta_data", "fit_model"} <= set(sources.series)
