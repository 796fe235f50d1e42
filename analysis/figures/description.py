"""What a figure shows, as plain JSON-able dataclasses: the page, the grid of panels and each panel's
references to the session's data (dataset keys, channels, biases in V, region and cut keys).

A :class:`FigureDescription` holds the width (a journal column, :data:`SINGLE_COLUMN_CM` or
:data:`DOUBLE_COLUMN_CM`, or any width in cm), a grid of ``rows x cols`` cells, the panels (each placed
at ``row, col`` with ``rowspan, colspan``), the shared :class:`FigureStyle` (font family and sizes in
points) and the dpi of raster output. Panels never hold arrays: :mod:`analysis.figures.resolve` looks
their references up in a :class:`~analysis.figures.resolve.FigureSources`. ``to_dict`` / ``from_dict``
round-trip everything through plain dicts, lists, strings and numbers (a project file stores them).
Lengths are in metres and biases in volts, like everywhere else in the analysis layer.
"""

from __future__ import annotations

import dataclasses
import string
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

#: Where curve panels put their legend: inside the axes, right of them, each name at its curve's right
#: end, or nowhere.
LEGENDS = ("inside", "outside", "inline", "none")
SINGLE_COLUMN_CM = 8.6
DOUBLE_COLUMN_CM = 17.8
CM_PER_INCH = 2.54


@dataclass
class Panel:
    """Fields every panel has: its cell ``row, col`` (0-based), its span, an optional ``letter``
    (None: the next letter in reading order; ``""``: no letter), an optional ``title`` and ``view``, the
    key of a session's view the panel follows (its dataset, channel, bias and colours; ``""``: none;
    rendering ignores it)."""

    kind: ClassVar[str] = ""
    row: int = 0
    col: int = 0
    rowspan: int = 1
    colspan: int = 1
    letter: str | None = None
    title: str = ""
    view: str = ""


@dataclass
class MapPanel(Panel):
    """A 2D map drawn pixel-exact in the scan frame (axes in nm, or hidden with a scale bar).

    ``source``: ``"channel"`` (a grid's ``channel`` at ``bias`` V, averaged over ``window`` sweep points
    either side, or an image's channel, e.g. a fitted parameter map) or ``"param"`` (a grid's per-pixel
    parameter, ``"Z"`` for the topography). ``vmin``/``vmax`` in the data's SI unit (None: the
    ``clip_percent`` and ``100 - clip_percent`` percentiles). ``regions``: keys of regions outlined in
    their colours; ``pins``: (x, y) points in m; ``cuts``: keys of line cuts drawn on the map; ``zoom``:
    (x0, x1, y0, y1) in m shown instead of the whole frame. ``scale_bar_m``: length in m (None: a round
    length near a quarter of the width; 0: none). ``levelling``: one of
    :data:`analysis.processing.levelling.METHODS` applied to the map before drawing (as a height map is
    shown levelled on screen). ``all_regions``: outline every region of the sources that covers a pixel
    of the map (the live collection, ``regions`` ignored) instead of the regions named.
    """

    kind: ClassVar[str] = "map"
    dataset: str = ""
    source: str = "channel"
    channel: str = "dI/dV"
    bias: float | None = None
    window: int = 0
    cmap: str = "viridis"
    vmin: float | None = None
    vmax: float | None = None
    clip_percent: float = 0.5
    colorbar: bool = True
    colorbar_label: str = ""
    show_axes: bool = False
    scale_bar_m: float | None = None
    regions: tuple[str, ...] = ()
    pins: tuple[tuple[float, float], ...] = ()
    cuts: tuple[str, ...] = ()
    zoom: tuple[float, float, float, float] | None = None
    levelling: str = "none"
    all_regions: bool = False


@dataclass
class RegionSpectraPanel(Panel):
    """Region-averaged spectra of a grid's ``channel``: normalised (``normalisation`` one of
    :data:`analysis.maps.normalisation.MODES`, with ``norm_at`` V or the high-bias window
    ``norm_window`` (lo, hi) V of |V|), offset by ``offset`` (None: a quarter of the largest
    peak-to-peak range), with a standard-deviation band and a legend (:data:`LEGENDS`; ``"inline"``: each
    name at the right end of its curve). ``xlim`` (lo, hi) in V. ``all_regions``: every region of the
    sources that holds a valid pixel of the grid, in the collection's order (``regions`` ignored), so a
    region drawn later joins the panel."""

    kind: ClassVar[str] = "region_spectra"
    dataset: str = ""
    channel: str = "dI/dV"
    regions: tuple[str, ...] = ()
    normalisation: str = "area"
    norm_at: float = 0.0
    norm_window: tuple[float, float] = (0.0, 1e30)
    offset: float | None = None
    std_band: bool = True
    legend: str = "inline"
    xlim: tuple[float, float] | None = None
    all_regions: bool = False


@dataclass
class PointSpectraPanel(Panel):
    """Spectra of a grid's ``channel`` at ``points`` ((x, y) in m, nearest pixel), normalised and offset
    like :class:`RegionSpectraPanel` (default: no normalisation, no offset)."""

    kind: ClassVar[str] = "point_spectra"
    dataset: str = ""
    channel: str = "dI/dV"
    points: tuple[tuple[float, float], ...] = ()
    normalisation: str = "none"
    norm_at: float = 0.0
    norm_window: tuple[float, float] = (0.0, 1e30)
    offset: float | None = 0.0
    legend: str = "inside"
    xlim: tuple[float, float] | None = None


@dataclass
class LineCutPanel(Panel):
    """A line cut ``cut`` through a grid's ``channel``: ``style="top"`` is the distance-vs-bias image
    (top view, pixel-exact), ``"surface"`` the same values as a 3D surface, ``"waterfall"`` shows
    ``n_curves`` spectra evenly spaced along the cut, offset by ``offset`` (None: automatic) and coloured
    along the distance with ``cmap``."""

    kind: ClassVar[str] = "linecut"
    dataset: str = ""
    channel: str = "dI/dV"
    cut: str = ""
    style: str = "top"
    cmap: str = "viridis"
    vmin: float | None = None
    vmax: float | None = None
    clip_percent: float = 0.5
    colorbar: bool = True
    n_curves: int = 16
    offset: float | None = None
    xlim: tuple[float, float] | None = None


@dataclass
class ProfilePanel(Panel):
    """The profile of a grid's ``channel`` along ``cut`` at ``bias`` V (mean over ``window`` sweep points
    either side), with a ``fit`` (``"step"``, ``"decay"`` or ``""``) over ``fit_range`` (d0, d1) in m."""

    kind: ClassVar[str] = "profile"
    dataset: str = ""
    channel: str = "dI/dV"
    cut: str = ""
    bias: float = 0.0
    window: int = 0
    fit: str = "step"
    fit_range: tuple[float, float] | None = None


@dataclass
class CorrelationPanel(Panel):
    """Pixel-by-pixel scatter of map ``y`` against map ``x`` (each a grid channel at a bias, averaged over
    ``*_window`` sweep points either side), coloured by ``regions`` (grey: no region)."""

    kind: ClassVar[str] = "correlation"
    x_dataset: str = ""
    x_channel: str = "dI/dV"
    x_bias: float = 0.0
    x_window: int = 0
    y_dataset: str = ""
    y_channel: str = "dI/dV"
    y_bias: float = 0.0
    y_window: int = 0
    regions: tuple[str, ...] = ()
    marker_size: float = 2.0


@dataclass
class XYPanel(Panel):
    """Curves ``y(x)`` from the sources' ``series`` (keys in ``series``); axis names and SI units."""

    kind: ClassVar[str] = "xy"
    series: tuple[str, ...] = ()
    x_label: str = "x"
    x_unit: str = ""
    y_label: str = "y"
    y_unit: str = ""
    markers: bool = False
    log_x: bool = False
    log_y: bool = False
    legend: str = "inside"


@dataclass
class SeriesMapPanel(Panel):
    """The 2D map of a series' quantity ``channel`` against ``x`` (a channel; ``""``: the swept one) and
    the tag ``tag`` (dV/dI against I and H), as the Series dock's map shows it: dataset ``series`` by key,
    a derivative named as the dock names it (``"dV/dI"``) computed when the figure is drawn. Colour limits
    ``vmin``/``vmax`` in the quantity's SI unit (None: the ``clip_percent`` percentiles)."""

    kind: ClassVar[str] = "series_map"
    series: str = ""
    channel: str = ""
    x: str = ""
    tag: str = ""
    cmap: str = "viridis"
    vmin: float | None = None
    vmax: float | None = None
    clip_percent: float = 0.5
    colorbar: bool = True


@dataclass
class FitPanel(Panel):
    """A fit from the sources' ``fits`` (key ``fit``): the data as points, the model as a line, the
    residuals in a strip below (``residuals``), and the values of ``parameters`` (names) with their
    uncertainties. ``x_label``/``x_unit`` and ``y_label``/``y_unit`` name the axes (SI units)."""

    kind: ClassVar[str] = "fit"
    fit: str = ""
    residuals: bool = True
    parameters: tuple[str, ...] = ()
    x_label: str = "Bias"
    x_unit: str = "V"
    y_label: str = "dI/dV"
    y_unit: str = "S"


PANEL_KINDS: dict[str, type[Panel]] = {
    cls.kind: cls
    for cls in (
        MapPanel,
        RegionSpectraPanel,
        PointSpectraPanel,
        LineCutPanel,
        ProfilePanel,
        CorrelationPanel,
        XYPanel,
        FitPanel,
        SeriesMapPanel,
    )
}


@dataclass
class FigureStyle:
    """Font family and sizes (points) shared by every panel, line width (points)."""

    font_family: str = "DejaVu Sans"
    font_size: float = 7.0
    tick_size: float = 6.0
    letter_size: float = 9.0
    title_size: float = 7.0
    legend_size: float = 6.0
    line_width: float = 0.8
    letter_case: str = "lower"


@dataclass
class FigureDescription:
    """A multi-panel figure: ``width_cm`` (8.6, 17.8 or free), ``height_cm`` (None: from the grid),
    ``rows x cols`` cells (relative heights ``row_ratios`` and widths ``col_ratios``, None: equal),
    ``panels`` placed on them, ``style``, ``dpi`` of raster output and whether the panels get letters."""

    panels: list[Panel] = field(default_factory=list)
    rows: int = 1
    cols: int = 1
    width_cm: float = DOUBLE_COLUMN_CM
    height_cm: float | None = None
    dpi: int = 300
    letters: bool = True
    style: FigureStyle = field(default_factory=FigureStyle)
    name: str = ""
    row_ratios: tuple[float, ...] | None = None
    col_ratios: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError when a panel lies outside the grid or two panels share a cell."""
        if self.rows < 1 or self.cols < 1:
            raise ValueError(f"the grid needs at least one row and one column, not {self.rows} x {self.cols}")
        if not self.width_cm > 0 or (self.height_cm is not None and not self.height_cm > 0):
            raise ValueError("the figure width and height must be positive")
        taken: dict[tuple[int, int], int] = {}
        for ratios, n, what in ((self.row_ratios, self.rows, "row"), (self.col_ratios, self.cols, "column")):
            if ratios is not None and (len(ratios) != n or not all(r > 0 for r in ratios)):
                raise ValueError(f"{what} ratios must be {n} positive numbers, not {ratios}")
        for i, p in enumerate(self.panels):
            if p.rowspan < 1 or p.colspan < 1 or p.row < 0 or p.col < 0:
                raise ValueError(f"panel {i + 1} ({p.kind}) has a bad place or span")
            if p.row + p.rowspan > self.rows or p.col + p.colspan > self.cols:
                raise ValueError(f"panel {i + 1} ({p.kind}) spans beyond the {self.rows} x {self.cols} grid")
            for r in range(p.row, p.row + p.rowspan):
                for c in range(p.col, p.col + p.colspan):
                    if (r, c) in taken:
                        raise ValueError(f"panels {taken[(r, c)] + 1} and {i + 1} overlap at cell ({r}, {c})")
                    taken[(r, c)] = i

    @property
    def size_inches(self) -> tuple[float, float]:
        """(width, height) in inches; the automatic height gives each row 0.8 of a column's width."""
        w = self.width_cm / CM_PER_INCH
        h = self.height_cm / CM_PER_INCH if self.height_cm else w / self.cols * self.rows * 0.8
        return w, h

    def letters_in_order(self) -> list[str]:
        """The letter of each panel ("" for none): explicit letters kept, the others a, b, c... in reading
        order (row, then column)."""
        order = sorted(range(len(self.panels)), key=lambda i: (self.panels[i].row, self.panels[i].col))
        alphabet = string.ascii_uppercase if self.style.letter_case == "upper" else string.ascii_lowercase
        out = [""] * len(self.panels)
        k = 0
        for i in order:
            p = self.panels[i]
            if p.letter is not None:
                out[i] = p.letter
            elif self.letters:
                out[i] = alphabet[k % 26]
            k += 1
        return out

    # -- JSON --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists, strings and numbers (tuples become lists)."""
        return {
            "name": self.name,
            "rows": self.rows,
            "cols": self.cols,
            "width_cm": self.width_cm,
            "height_cm": self.height_cm,
            "dpi": self.dpi,
            "letters": self.letters,
            "style": _plain(dataclasses.asdict(self.style)),
            "panels": [panel_to_dict(p) for p in self.panels],
            "row_ratios": None if self.row_ratios is None else list(self.row_ratios),
            "col_ratios": None if self.col_ratios is None else list(self.col_ratios),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FigureDescription:
        """Inverse of :meth:`to_dict`; unknown keys are ignored, a missing or unknown panel kind raises
        ValueError."""
        style = _build(FigureStyle, d.get("style") or {})
        h = d.get("height_cm")
        return cls(
            panels=[panel_from_dict(p) for p in d.get("panels", [])],
            rows=int(d.get("rows", 1)),
            cols=int(d.get("cols", 1)),
            width_cm=float(d.get("width_cm", DOUBLE_COLUMN_CM)),
            height_cm=None if h is None else float(h),
            dpi=int(d.get("dpi", 300)),
            letters=bool(d.get("letters", True)),
            style=style,
            name=str(d.get("name", "")),
            row_ratios=None if d.get("row_ratios") is None else tuple(float(r) for r in d["row_ratios"]),
            col_ratios=None if d.get("col_ratios") is None else tuple(float(r) for r in d["col_ratios"]),
        )


def panel_to_dict(panel: Panel) -> dict[str, Any]:
    """``{"kind": ..., field: value, ...}`` with tuples as lists."""
    return {"kind": panel.kind, **_plain(dataclasses.asdict(panel))}


def panel_from_dict(d: dict[str, Any]) -> Panel:
    """The panel a :func:`panel_to_dict` dict describes; ValueError for an unknown kind."""
    kind = d.get("kind")
    if kind not in PANEL_KINDS:
        raise ValueError(f"unknown panel kind {kind!r}; expected one of {', '.join(PANEL_KINDS)}")
    return _build(PANEL_KINDS[kind], d)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _tuples(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_tuples(v) for v in value)
    return value


def _build(cls: type, d: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in d:
            continue
        v = d[f.name]
        if "tuple" in str(hints.get(f.name, "")) and v is not None:
            v = _tuples(v)
        kwargs[f.name] = v
    return cls(**kwargs)
