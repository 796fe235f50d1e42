"""Figure descriptions: JSON round trip, letters, validation."""

from __future__ import annotations

import json

import pytest

from analysis.figures.description import (
    DOUBLE_COLUMN_CM,
    PANEL_KINDS,
    CorrelationPanel,
    FigureDescription,
    FigureStyle,
    FitPanel,
    LineCutPanel,
    MapPanel,
    PointSpectraPanel,
    ProfilePanel,
    RegionSpectraPanel,
    SeriesMapPanel,
    XYPanel,
    panel_from_dict,
)


def every_kind() -> FigureDescription:
    return FigureDescription(
        panels=[
            MapPanel(row=0, col=0, dataset="g", bias=-5e-3, window=1, regions=("left", "right"),
                     pins=((1e-9, 2e-9),), cuts=("cut",), zoom=(-2e-8, 2e-8, -2e-8, 2e-8)),
            RegionSpectraPanel(row=0, col=1, dataset="g", regions=("left", "right"), xlim=(-8e-3, 8e-3)),
            PointSpectraPanel(row=0, col=2, dataset="g", points=((0.0, 0.0), (1e-8, 0.0)), letter="x"),
            LineCutPanel(row=0, col=3, dataset="g", cut="cut", style="waterfall"),
            ProfilePanel(row=1, col=0, dataset="g", cut="cut", fit_range=(0.0, 4e-8)),
            CorrelationPanel(row=1, col=1, x_dataset="g", y_dataset="g", y_bias=5e-3, regions=("left",)),
            XYPanel(row=1, col=2, series=("s",), log_y=True),
            FitPanel(row=1, col=3, fit="f", parameters=("width", "height")),
        ],
        rows=2,
        cols=4,
        width_cm=DOUBLE_COLUMN_CM,
        height_cm=9.0,
        dpi=150,
        style=FigureStyle(font_size=8.0, letter_case="upper"),
        row_ratios=(1.0, 1.3),
        name="all kinds",
    )  # fmt: skip


def test_round_trip_through_json() -> None:
    base = every_kind()
    series_map = SeriesMapPanel(row=2, col=0, series="s", channel="dV/dI", tag="H", vmax=12.0)
    desc = FigureDescription(
        **{**base.__dict__, "panels": [*base.panels, series_map], "rows": 3, "row_ratios": (1.0, 1.3, 1.0)}
    )
    d = json.loads(json.dumps(desc.to_dict()))
    back = FigureDescription.from_dict(d)
    assert back == desc
    assert {p["kind"] for p in d["panels"]} == set(PANEL_KINDS)
    assert isinstance(back.panels[0], MapPanel) and back.panels[0].pins == ((1e-9, 2e-9),)


def test_letters_in_reading_order_keep_explicit_ones() -> None:
    assert every_kind().letters_in_order() == ["A", "B", "x", "D", "E", "F", "G", "H"]
    desc = every_kind()
    desc.letters = False
    assert desc.letters_in_order() == ["", "", "x", "", "", "", "", ""]


def test_overlap_and_out_of_grid_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        FigureDescription(panels=[MapPanel(), MapPanel()], rows=1, cols=1)
    with pytest.raises(ValueError, match="beyond"):
        FigureDescription(panels=[MapPanel(colspan=3)], rows=1, cols=2)
    with pytest.raises(ValueError, match="ratios"):
        FigureDescription(rows=2, row_ratios=(1.0,))


def test_unknown_panel_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown panel kind"):
        panel_from_dict({"kind": "hologram"})


def test_size_follows_width_and_auto_height() -> None:
    w, h = FigureDescription(rows=2, cols=2, width_cm=17.8).size_inches
    assert w == pytest.approx(17.8 / 2.54)
    assert h == pytest.approx(w * 0.8)
