"""Fit every pixel of a grid (or of a region) and turn the results into parameter maps.

:func:`fit_grid` picks the spectra of the pixels in ``mask`` (all valid pixels by default), chooses the
starting values (``"global"``: a fit of the mean spectrum used for every pixel; ``"guess"``: the model's
guess per pixel; ``"neighbours"``: the global start, then pixels that failed or fit clearly worse than
their neighbours are refitted from the median of their converged 3x3 neighbours, keeping the better fit;
``"blocks"``: the mean spectra of blocks of ``BLOCK`` x ``BLOCK`` pixels are fitted from the global start
first, and every pixel starts from its block's fit, which leaves each pixel a few iterations from its
minimum instead of a dozen on a grid whose gaps vary from grain to grain),
runs the batch engine in-process, over worker processes or over dask, and returns a :class:`GridFit`.

:meth:`GridFit.to_image` gives an :class:`~analysis.dataset.Image` in the grid's frame with channels

* ``<param>`` (ny, nx): fitted values in the parameter's unit (NaN where not fitted or failed to start);
* ``<param> stderr`` for every varying parameter;
* ``redchi``: reduced chi-square; ``success``: 1 where the fit converged inside the bounds, else 0
  (NaN outside the region); ``status``: the code of :data:`analysis.fitting.batch.STATUS_TEXT`;
* ``masked points``: how many points of the pixel's spectrum were NaN or +-inf and left out;
  ``data flags``: the bits of :data:`analysis.fitting.batch.FLAG_TEXT` (bad points, infinities, more than
  half left out, constant spectrum), 0 for clean data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.dataset import Grid, Image
from analysis.errors import FitError
from analysis.fitting.batch import (
    AT_BOUND,
    CONSTANT_DATA,
    CONVERGED,
    FLAG_TEXT,
    MODEL_NOT_FINITE,
    NAN_DATA,
    NO_CONVERGENCE,
    NOT_FITTED,
    START_STRATEGIES,
    STATUS_TEXT,
    BatchResult,
    FitOptions,
    ProgressFn,
    fit_batch,
    global_start,
    guess_starts,
)
from analysis.models.base import Model

Runner = Callable[..., BatchResult]
_SLAB_LINES = 32
#: Side (pixels) of the blocks whose mean spectra give the starts of the ``"blocks"`` strategy.
BLOCK = 4


def in_process(model, x, Y, P0, options, *, weights=None, progress=None, cancel=None) -> BatchResult:
    """The default runner: the batch engine in this process."""
    return fit_batch(model, x, Y, P0, options, weights=weights, progress=progress, cancel=cancel)


def process_runner(workers: int | None = None) -> Runner:
    """A runner spreading the rows over ``workers`` processes."""
    from analysis.fitting.parallel import fit_batch_parallel

    def run(model, x, Y, P0, options, *, weights=None, progress=None, cancel=None) -> BatchResult:
        return fit_batch_parallel(
            model, x, Y, P0, options, weights=weights, workers=workers, progress=progress, cancel=cancel
        )

    return run


def dask_runner(scheduler: str | None = None, n_workers: int | None = None, processes: bool = True) -> Runner:
    """A runner sending chunks to a dask cluster (a LocalCluster when ``scheduler`` is None)."""
    from analysis.fitting.distributed import fit_batch_distributed

    def run(model, x, Y, P0, options, *, weights=None, progress=None, cancel=None) -> BatchResult:
        return fit_batch_distributed(
            model,
            x,
            Y,
            P0,
            options,
            weights=weights,
            scheduler=scheduler,
            n_workers=n_workers,
            processes=processes,
            progress=progress,
            cancel=cancel,
        )

    return run


def default_channel(grid: Grid, model: Model) -> str:
    """The forward channel whose unit matches what the model predicts (dI/dV in S, I in A, ...)."""
    fwd = grid.channel_names("fwd") or grid.channel_names()
    if not fwd:
        raise FitError("the grid has no channels")
    same = [c for c in fwd if grid.unit(c) == model.y_unit]
    if same:
        for c in same:
            low = c.lower()
            if "didv" in low or "di/dv" in low or "demod" in low or "conduct" in low:
                return c
        return same[0]
    return fwd[0]


@dataclass
class GridFit:
    """Batch results of the pixels ``index`` (flat, row-major) of a (ny, nx) grid."""

    model: Model
    channel: str
    shape: tuple[int, int]
    index: np.ndarray
    result: BatchResult
    options: FitOptions
    start: str
    grid_name: str = ""
    frame: Any = None
    info: dict[str, Any] = field(default_factory=dict)

    def map_of(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """(ny, nx) float32 map with ``values`` (len(index),) at the fitted pixels."""
        out = np.full(self.shape[0] * self.shape[1], fill, np.float64)
        out[self.index] = values
        return out.reshape(self.shape).astype(np.float32)

    @property
    def mask(self) -> np.ndarray:
        m = np.zeros(self.shape[0] * self.shape[1], bool)
        m[self.index] = True
        return m.reshape(self.shape)

    def status_map(self) -> np.ndarray:
        out = np.full(self.shape[0] * self.shape[1], NOT_FITTED, np.int8)
        out[self.index] = self.result.status
        return out.reshape(self.shape)

    def to_image(self, name: str | None = None) -> Image:
        r = self.result
        channels: dict[str, np.ndarray] = {}
        units: dict[str, str] = {}
        for j, p in enumerate(self.model.params):
            channels[p.name] = self.map_of(r.values[:, j])
            units[p.name] = p.unit
        for j, p in enumerate(self.model.params):
            if r.vary[j]:
                channels[f"{p.name} stderr"] = self.map_of(r.stderr[:, j])
                units[f"{p.name} stderr"] = p.unit
        channels["redchi"] = self.map_of(r.redchi)
        units["redchi"] = ""
        channels["success"] = self.map_of(r.success.astype(float))
        units["success"] = ""
        channels["status"] = self.map_of(r.status.astype(float), fill=float(NOT_FITTED))
        units["status"] = ""
        channels["masked points"] = self.map_of(r.masked.astype(float))
        units["masked points"] = ""
        channels["data flags"] = self.map_of(r.flags.astype(float))
        units["data flags"] = ""
        prov = {
            "operation": "batch_fit",
            "parameters": {
                "model": self.model.name,
                "channel": self.channel,
                "start": self.start,
                "fit_range": None if self.options.fit_range is None else list(self.options.fit_range),
                "vary": [bool(v) for v in r.vary],
                "fixed": dict(self.options.fixed),
                "pixels": int(self.index.size),
                **self.info,
            },
            "inputs": [self.grid_name],
        }
        ok = int(np.sum(r.success))
        meta = {
            "fit_model": self.model.name,
            "fit_channel": self.channel,
            "fit_summary": r.summary(),
            "fit_converged": ok,
            "fit_pixels": int(self.index.size),
            "status_codes": {str(k): v for k, v in STATUS_TEXT.items()},
            "data_flag_bits": {str(k): v for k, v in FLAG_TEXT.items()},
            "fit_bad_data": r.flag_counts(),
        }
        return Image(
            name=name or f"{self.model.name} fit of {self.grid_name or 'grid'}",
            units=units,
            metadata=meta,
            provenance=[prov],
            channels=channels,
            frame=self.frame,
        )


def grid_spectra(grid: Grid, channel: str, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(flat pixel indices (n,), spectra (n, nb) float64) of the pixels in ``mask`` that were measured."""
    ny, nx, nb = grid.shape
    if channel not in grid.channels:
        raise FitError(f"the grid has no channel {channel!r} (channels: {', '.join(grid.channels)})")
    sel = (
        np.asarray(grid.valid, bool).reshape(ny, nx)
        if grid.valid.shape == (ny, nx)
        else np.ones((ny, nx), bool)
    )
    if mask is not None:
        mask = np.asarray(mask, bool)
        if mask.shape != (ny, nx):
            raise FitError(f"region mask has shape {mask.shape}, the grid is {(ny, nx)}")
        sel = sel & mask
    index = np.flatnonzero(sel.ravel())
    cube = grid.channels[channel]
    Y = np.empty((index.size, nb), np.float64)
    # Read slabs of scan lines (a lazy cube is never loaded whole) and keep the selected pixels.
    filled = 0
    for r0 in range(0, ny, _SLAB_LINES):
        r1 = min(ny, r0 + _SLAB_LINES)
        rows_sel = sel[r0:r1]
        count = int(rows_sel.sum())
        if count == 0:
            continue
        slab = np.asarray(cube[r0:r1])
        Y[filled : filled + count] = slab[rows_sel]
        filled += count
    return index, Y


def fit_grid(
    grid: Grid,
    model: Model,
    channel: str | None = None,
    *,
    mask: np.ndarray | None = None,
    start: str | np.ndarray = "global",
    options: FitOptions | None = None,
    weights: np.ndarray | None = None,
    runner: Runner | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> GridFit:
    """Fit the spectra of ``grid[channel]`` at the pixels of ``mask`` (default all measured pixels).

    ``start``: "global", "guess", "neighbours", "blocks", or an array of starting values ((k,) or
    (ny, nx, k)).
    ``weights``: (nb,) 1/sigma of every point. ``runner``: :func:`in_process` (default),
    :func:`process_runner` or :func:`dask_runner`. ``progress(done, total)`` counts pixels.
    """
    options = options or FitOptions()
    runner = runner or in_process
    channel = channel or default_channel(grid, model)
    ny, nx, nb = grid.shape
    x = np.asarray(grid.bias, float)
    index, Y = grid_spectra(grid, channel, mask)
    k = len(model.params)
    if index.size == 0:
        raise FitError("no measured pixel in the region to fit")
    if progress is not None:  # determinate from the start: nothing fitted yet
        progress(0, index.size * (2 if isinstance(start, str) and start == "neighbours" else 1))
    if weights is not None and np.ndim(weights) != 1:
        raise FitError("weights for a grid fit are one value per sweep point (nb,)")
    if isinstance(start, str):
        if start not in START_STRATEGIES:
            raise FitError(f"unknown start strategy {start!r} (one of {', '.join(START_STRATEGIES)})")
        if start == "guess":
            P0 = guess_starts(model, x, _cropped(Y, x, options), options, cancel=cancel)
        elif start == "blocks":
            P0 = block_starts(model, x, Y, index, (ny, nx), options, weights, runner, cancel)
        else:
            P0 = np.broadcast_to(global_start(model, x, Y, options, weights), (index.size, k)).copy()
    else:
        arr = np.asarray(start, float)
        if arr.shape == (k,):
            P0 = np.broadcast_to(arr, (index.size, k)).copy()
        elif arr.shape == (ny, nx, k):
            P0 = arr.reshape(ny * nx, k)[index].copy()
        else:
            raise FitError(f"starting values must have shape ({k},) or ({ny}, {nx}, {k})")
    label = start if isinstance(start, str) else "given"
    total = index.size * (2 if label == "neighbours" else 1)

    def prog1(d: int, _t: int) -> None:
        if progress is not None:
            progress(d, total)

    res = runner(model, x, Y, P0, options, weights=weights, progress=prog1, cancel=cancel)
    gf = GridFit(model, channel, (ny, nx), index, res, options, label, grid.name, grid.frame)
    if label in ("global", "blocks"):
        gf.info["refitted_from_own_guess"] = int(_guess_refit(gf, x, Y, weights, runner, options, cancel))
    if label == "neighbours":
        refit = _neighbour_refit(gf, x, Y, weights, runner, options, progress, total, cancel)
        gf.info["refitted_from_neighbours"] = int(refit)
    if progress is not None:
        progress(total, total)
    return gf


def block_means(Y: np.ndarray, index: np.ndarray, shape: tuple[int, int], block: int = BLOCK):
    """Mean spectra of the blocks of ``block`` x ``block`` pixels of a (ny, nx) grid.

    ``Y`` (n, nb) are the spectra of the flat pixel indices ``index`` (n,). Returns (means (nblk, nb) of
    the blocks holding at least one of the pixels (NaN points left out), the block of each pixel (n,) as a
    row of ``means``)."""
    ny, nx = shape
    bx = -(-nx // block)
    iy, ix = np.divmod(np.asarray(index), nx)
    blk = (iy // block) * bx + ix // block
    used, row = np.unique(blk, return_inverse=True)
    finite = np.isfinite(Y)
    sums = np.zeros((used.size, Y.shape[1]))
    counts = np.zeros((used.size, Y.shape[1]))
    np.add.at(sums, row, np.where(finite, Y, 0.0))
    np.add.at(counts, row, finite)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means, row


def block_starts(
    model: Model,
    x: np.ndarray,
    Y: np.ndarray,
    index: np.ndarray,
    shape: tuple[int, int],
    options: FitOptions,
    weights: np.ndarray | None,
    runner: Runner,
    cancel: threading.Event | None = None,
    block: int = BLOCK,
) -> np.ndarray:
    """(n, k) starts of the pixels ``index``: the fit of their block's mean spectrum (:func:`block_means`),
    itself started from :func:`global_start`; a block whose fit failed or left a parameter non-finite
    gives its pixels the global start (a block sitting on a bound, e.g. a gap closing in a normal zone, is
    a good start for its pixels)."""
    p_global = global_start(model, x, Y, options, weights)
    means, row = block_means(Y, index, shape, block)
    if means.shape[0] >= Y.shape[0]:  # blocks of one pixel: nothing to gain
        return np.broadcast_to(p_global, (Y.shape[0], p_global.size)).copy()
    res = runner(model, x, means, p_global, options, weights=weights, cancel=cancel)
    good = np.isin(res.status, (CONVERGED, AT_BOUND)) & np.all(np.isfinite(res.values), axis=1)
    starts = np.where(good[:, None], res.values, p_global[None, :])
    return starts[row]


def _cropped(Y: np.ndarray, x: np.ndarray, options: FitOptions) -> np.ndarray:
    if options.fit_range is None:
        return Y
    a, b = sorted(options.fit_range)
    keep = (x >= a) & (x <= b)
    out = np.full_like(Y, np.nan)
    out[:, keep] = Y[:, keep]
    return out


def neighbour_median(values: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median over the 3x3 neighbourhood (centre excluded) of ``values`` (ny, nx, k) where ``ok`` (ny, nx).

    Returns (medians (ny, nx, k), count of contributing neighbours (ny, nx)).
    """
    ny, nx, k = values.shape
    pad = np.full((ny + 2, nx + 2, k), np.nan)
    pad[1:-1, 1:-1] = np.where(ok[..., None], values, np.nan)
    stack = [
        pad[1 + dy : ny + 1 + dy, 1 + dx : nx + 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx
    ]
    s = np.stack(stack, axis=0)
    count = np.sum(np.isfinite(s[..., 0]), axis=0)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(s, axis=0)
    return med, count


def _guess_refit(gf: GridFit, x, Y, weights, runner: Runner, options: FitOptions, cancel) -> int:
    """Refit the pixels a shared start left unconverged or stuck on a bound from their own ``guess()``;
    keep what is better (converged inside the bounds where the first was not, or a lower chi-square).

    Returns the number of pixels whose result was replaced."""
    r = gf.result
    failed = (
        (r.status == NO_CONVERGENCE)
        | (r.status == MODEL_NOT_FINITE)
        | (r.status == AT_BOUND)
        | ~np.isfinite(r.chi2)
    )
    cand = np.flatnonzero(failed)
    cand = cand[(r.status[cand] != NAN_DATA) & (r.status[cand] != CONSTANT_DATA)]
    if cand.size == 0:
        return 0
    P0 = guess_starts(gf.model, x, _cropped(Y[cand], x, options), options, cancel=cancel)
    new = runner(gf.model, x, Y[cand], P0, options, weights=weights, cancel=cancel)
    old_chi = np.where(np.isfinite(r.chi2[cand]), r.chi2[cand], np.inf)
    was_bound = r.status[cand] == AT_BOUND
    lower = np.isfinite(new.chi2) & (new.chi2 < old_chi * (1 - 1e-9))
    better = np.where(
        was_bound,
        ((new.status == CONVERGED) & (new.chi2 <= old_chi * (1 + 1e-6))) | lower,
        np.isin(new.status, (CONVERGED, AT_BOUND)) | lower,
    )
    r.put(cand[better], new.take(np.flatnonzero(better)))
    return int(better.sum())


def _neighbour_refit(
    gf: GridFit,
    x,
    Y,
    weights,
    runner: Runner,
    options: FitOptions,
    progress: ProgressFn | None,
    total: int,
    cancel,
) -> int:
    """Refit failed or clearly worse-than-neighbours pixels from their neighbours' median; keep better."""
    ny, nx = gf.shape
    k = len(gf.model.params)
    r = gf.result
    vals = np.full((ny * nx, k), np.nan)
    vals[gf.index] = r.values
    ok = np.zeros(ny * nx, bool)
    ok[gf.index] = r.status == CONVERGED
    chi = np.full(ny * nx, np.nan)
    chi[gf.index] = r.redchi
    med, count = neighbour_median(vals.reshape(ny, nx, k), ok.reshape(ny, nx))
    chi_med, _ = neighbour_median(chi.reshape(ny, nx, 1), ok.reshape(ny, nx))
    med = med.reshape(ny * nx, k)[gf.index]
    count = count.ravel()[gf.index]
    chi_med = chi_med.ravel()[gf.index]
    worse = ~np.isfinite(r.redchi) | (r.redchi > 2.0 * chi_med)
    cand = np.flatnonzero(((r.status != CONVERGED) | worse) & (count >= 2) & np.all(np.isfinite(med), axis=1))
    base = gf.index.size
    if cand.size == 0:
        return 0

    def prog(d: int, _t: int) -> None:
        if progress is not None:
            progress(base + int(d * (total - base) / max(cand.size, 1)), total)

    new = runner(gf.model, x, Y[cand], med[cand], options, weights=weights, progress=prog, cancel=cancel)
    old_chi = np.where(np.isfinite(r.chi2[cand]), r.chi2[cand], np.inf)
    better = (new.status == CONVERGED) & (r.status[cand] != CONVERGED)
    better |= (
        np.isfinite(new.chi2)
        & (new.chi2 < old_chi * (1 - 1e-9))
        & ((new.status == CONVERGED) | (r.status[cand] != CONVERGED))
    )
    take = cand[better]
    r.put(take, new.take(np.flatnonzero(better)))
    return int(take.size)
