"""Fitting: the batched per-pixel engine, its parallel and distributed runners, maps and single fits.

* :mod:`analysis.fitting.batch` - vectorised Levenberg-Marquardt over a (n_spectra, n_params) state.
* :mod:`analysis.fitting.parallel` - the same engine over worker processes.
* :mod:`analysis.fitting.distributed` - the same engine over dask.distributed.
* :mod:`analysis.fitting.maps` - grid -> parameter maps (an Image in the grid's frame).
* :mod:`analysis.fitting.single` - one spectrum (batch engine or lmfit), with a serialisable record.
"""

from analysis.fitting.batch import (
    AT_BOUND,
    CONSTANT_DATA,
    CONVERGED,
    FLAG_CONSTANT,
    FLAG_INF,
    FLAG_MASKED,
    FLAG_MOSTLY_MASKED,
    FLAG_TEXT,
    MODEL_NOT_FINITE,
    NAN_DATA,
    NO_CONVERGENCE,
    NOT_FITTED,
    STATUS_TEXT,
    BatchResult,
    FitCancelled,
    FitOptions,
    fit_batch,
    global_start,
    guess_starts,
)
from analysis.fitting.maps import GridFit, dask_runner, fit_grid, in_process, process_runner

__all__ = [
    "AT_BOUND",
    "CONSTANT_DATA",
    "CONVERGED",
    "FLAG_CONSTANT",
    "FLAG_INF",
    "FLAG_MASKED",
    "FLAG_MOSTLY_MASKED",
    "FLAG_TEXT",
    "MODEL_NOT_FINITE",
    "NAN_DATA",
    "NOT_FITTED",
    "NO_CONVERGENCE",
    "STATUS_TEXT",
    "BatchResult",
    "FitCancelled",
    "FitOptions",
    "GridFit",
    "dask_runner",
    "fit_batch",
    "fit_grid",
    "global_start",
    "guess_starts",
    "in_process",
    "process_runner",
]
