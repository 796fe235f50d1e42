"""The neck paper's figure: ``stsworkbench --scenario neck --export-figure`` writes it without a window."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.figures.description import XYPanel
from analysis.figures.paper import figure_names, paper_figure
from app.commands.figure import main_export_figure
from tests.analysis.figures.test_render import pdf_streams


def test_neck_figure_has_the_ladder_and_the_results_against_field():
    assert "neck" in figure_names()
    desc, sources = paper_figure("neck")
    assert [p.title for p in desc.panels] == [
        "Subharmonic ladder",
        "Gap",
        "Local temperature",
        "Excess current",
        "Phase-slip steps",
        "L_S against Λ_Q*",
    ]
    assert all(isinstance(p, XYPanel) for p in desc.panels)
    assert sources.series["steps"].y.tolist() == [3, 3, 2, 2, 1, 1, 0]
    rung_x = sources.series["rungs"].x
    assert np.count_nonzero(np.isfinite(rung_x)) >= 6  # three rungs drawn as vertical marks


def test_window_option_writes_the_pdf(tmp_path: Path, capsys):
    out = tmp_path / "neck.pdf"
    assert main_export_figure(["--scenario", "neck", "--export-figure", str(out)]) == 0
    assert out.read_bytes()[:4] == b"%PDF"
    assert pdf_streams(out).count(b"Tj") + pdf_streams(out).count(b"TJ") > 30
    assert "6 panels" in capsys.readouterr().out
