"""Transport analysis of I(V) series: import (column files, QCoDeS, Labber), processing, 2D maps, fits.

May import the data model, series, errors, hooks, readers, models and fitting; never maps or the store.
"""

from analysis.transport.features import (
    find_peaks,
    find_steps,
    gap_from_sgs,
    gap_ladder,
    shapiro_ladder,
    step_widths,
)
from analysis.transport.fitting import SeriesFit, fit_series
from analysis.transport.grids import derivative, onto_grid, to_current_grid, to_voltage_grid
from analysis.transport.importing import ImportResult, import_series, read_series_files
from analysis.transport.maps import TagMap, tag_map
from analysis.transport.operations import OPERATIONS, replay, replay_chain
from analysis.transport.processing import (
    average_repeats,
    estimate_offsets,
    normalise_rn,
    per_junction,
    remove_offsets,
    resistance_power,
    subtract_series_resistance,
    symmetrise,
)
from analysis.transport.tags import TagPreview, preview_tags, read_tag_table

__all__ = [
    "step_widths",
    "shapiro_ladder",
    "gap_ladder",
    "gap_from_sgs",
    "find_steps",
    "find_peaks",
    "OPERATIONS",
    "ImportResult",
    "SeriesFit",
    "TagMap",
    "TagPreview",
    "average_repeats",
    "derivative",
    "estimate_offsets",
    "fit_series",
    "import_series",
    "normalise_rn",
    "onto_grid",
    "per_junction",
    "preview_tags",
    "read_series_files",
    "read_tag_table",
    "remove_offsets",
    "replay",
    "replay_chain",
    "resistance_power",
    "subtract_series_resistance",
    "symmetrise",
    "tag_map",
    "to_current_grid",
    "to_voltage_grid",
]
