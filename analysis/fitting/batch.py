"""Vectorised batched Levenberg-Marquardt: fit many spectra with one model at once.

The state is a (n_spectra, n_params) array. Every spectrum has its own damping ``lambda``, its own trust
bookkeeping and its own convergence test; spectra leave the active set as they converge, so the work per
iteration shrinks as the batch converges. Each iteration costs one batched model evaluation of the active
spectra and one batched Jacobian of the spectra whose previous step was accepted.

Bounds: *projection*. A trial point is clipped onto the box ``[lower, upper]``; a parameter sitting on a
bound whose gradient points outwards is frozen for that step (a projected active-set Levenberg-Marquardt
step), so the others keep converging. Inside the box the iteration is plain Levenberg-Marquardt, so for
solutions away from the bounds it converges to the same least-squares minimum as an unbounded reference
(``scipy.optimize.least_squares`` with ``method="lm"`` or lmfit, whose bound transform is the identity
there). A converged spectrum with a varying parameter on a finite bound is flagged :data:`AT_BOUND`.

Jacobian: the model's analytic ``jacobian_batch`` when it gives one, else batched forward differences (one
``evaluate_batch`` call for every parameter column of every active spectrum).

Scaling: steps are solved in variables scaled by the running maximum of ``sqrt(diag(J^T J))`` per
spectrum (as in MINPACK), which makes the damping independent of parameter units (S, eV, K).

Covariance: ``inv(J^T J) * redchi`` (the lmfit convention ``scale_covar=True``) with the last Jacobian
computed, i.e. at the start of the final (converged, hence negligible) step, as MINPACK does; restricted to
the varying parameters; standard errors are the square roots of its diagonal, NaN for fixed parameters.

Shapes: ``x`` (nb,), ``Y`` (n, nb) data, ``P`` (n, k) parameters in the order of ``model.params``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.errors import FitError
from analysis.models.base import Model

# -- per-spectrum status codes ------------------------------------------------------------------------
CONVERGED = 0
NAN_DATA = 1
NO_CONVERGENCE = 2
AT_BOUND = 3
MODEL_NOT_FINITE = 4
NOT_FITTED = 5  # outside the region / not part of the run
CONSTANT_DATA = 6

STATUS_TEXT = {
    CONVERGED: "converged",
    NAN_DATA: "not enough finite data points",
    NO_CONVERGENCE: "no convergence within the iteration limit",
    AT_BOUND: "a parameter is at a bound",
    MODEL_NOT_FINITE: "model not finite at the starting values",
    NOT_FITTED: "not fitted",
    CONSTANT_DATA: "constant spectrum (no signal to fit)",
}

# -- per-spectrum data flags (bits; a spectrum can carry several) -------------------------------------
#: Some points were NaN or +-inf and were left out of the fit (``BatchResult.masked`` says how many).
FLAG_MASKED = 1
#: At least one point was +-inf (overflowed or saturated data).
FLAG_INF = 2
#: More than half of the points were left out.
FLAG_MOSTLY_MASKED = 4
#: All finite points have the same value (a dead or saturated pixel): not fitted.
FLAG_CONSTANT = 8

FLAG_TEXT = {
    FLAG_MASKED: "non-finite points left out",
    FLAG_INF: "infinite values",
    FLAG_MOSTLY_MASKED: "more than half of the points left out",
    FLAG_CONSTANT: "constant spectrum",
}

_RUNNING = -1

ProgressFn = Callable[[int, int], None]


class FitCancelled(FitError):
    """The batch fit was cancelled through its ``cancel`` event; inputs are left unchanged."""


@dataclass
class FitOptions:
    """Settings shared by every chunk of a batch run (plain data so that it pickles to workers).

    ``vary`` (k,) bool overrides the model's ``Param.vary``; ``lower``/``upper`` (k,) override the model
    bounds; ``fixed`` {name: value} sets the value of parameters (and makes them fixed);
    ``fit_range`` (xmin, xmax) in x units restricts the fitted points; ``max_iter`` bounds the model
    evaluations per spectrum; ``ftol``, ``xtol`` (relative decrease of the cost, relative step) and
    ``gtol`` (scaled gradient) are the convergence tests. ``chunk_size``: spectra iterated together
    (small blocks keep the model's temporaries in cache, which measured faster than large ones).
    ``broyden``: after a good step the Jacobian is updated by a rank-1 Broyden formula instead of
    re-evaluated (at most three times in a row; an exact Jacobian is always recomputed before
    convergence is declared or after a rejected step); ``None`` turns it on for finite-difference
    Jacobians only (where a Jacobian costs one evaluation per free parameter).
    """

    vary: np.ndarray | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    fixed: dict[str, float] = field(default_factory=dict)
    fit_range: tuple[float, float] | None = None
    max_iter: int = 200
    ftol: float = 1e-10
    xtol: float = 1e-10
    gtol: float = 1e-12
    chunk_size: int = 128
    lambda0: float = 1e-3
    broyden: bool | None = None

    def resolved(self, model: Model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(vary (k,) bool, lower (k,), upper (k,)) for ``model``."""
        k = len(model.params)
        vary = np.array([p.vary for p in model.params], bool) if self.vary is None else np.asarray(self.vary)
        vary = vary.astype(bool).copy()
        lo, hi = model.bounds()
        if self.lower is not None:
            lo = np.asarray(self.lower, float).copy()
        if self.upper is not None:
            hi = np.asarray(self.upper, float).copy()
        if vary.shape != (k,) or lo.shape != (k,) or hi.shape != (k,):
            raise FitError(f"vary/bounds must have one entry per parameter ({k}) of model {model.name!r}")
        names = model.param_names
        for name in self.fixed:
            if name not in names:
                raise FitError(f"model {model.name!r} has no parameter {name!r}")
            vary[names.index(name)] = False
        if np.any(lo > hi):
            raise FitError("a lower bound is above its upper bound")
        return vary, lo, hi


@dataclass
class BatchResult:
    """Outcome of a batch fit of n spectra with a k-parameter model.

    values, stderr : (n, k) float64 (stderr NaN for fixed parameters and unfitted spectra)
    redchi : (n,) reduced chi-square (weighted); chi2 : (n,)
    status : (n,) int8 codes (see :data:`STATUS_TEXT`); success = status == CONVERGED
    nfev : (n,) model evaluations (iterations) used per spectrum
    ndata : (n,) number of points used per spectrum
    masked : (n,) number of points left out because they were NaN or +-inf (in the fit range)
    flags : (n,) uint8 data flags (:data:`FLAG_TEXT`): bad points, infinities, constant spectra
    """

    param_names: list[str]
    vary: np.ndarray
    values: np.ndarray
    stderr: np.ndarray
    redchi: np.ndarray
    chi2: np.ndarray
    status: np.ndarray
    nfev: np.ndarray
    ndata: np.ndarray
    start: np.ndarray | None = None
    masked: np.ndarray | None = None
    flags: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.values.shape[0]
        if self.masked is None:
            self.masked = np.zeros(n, np.int32)
        if self.flags is None:
            self.flags = np.zeros(n, np.uint8)

    @property
    def success(self) -> np.ndarray:
        return self.status == CONVERGED

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def reasons(self) -> dict[str, int]:
        """{status text: count} over the batch."""
        codes, counts = np.unique(self.status, return_counts=True)
        return {STATUS_TEXT.get(int(c), str(c)): int(n) for c, n in zip(codes, counts)}

    def flag_counts(self) -> dict[str, int]:
        """{flag text: number of spectra carrying it} for the flags that occur."""
        return {t: int(np.sum((self.flags & f) != 0)) for f, t in FLAG_TEXT.items() if np.any(self.flags & f)}

    def flag_text(self, i: int) -> str:
        """The data flags of spectrum i in words ("" when its data were clean)."""
        f = int(self.flags[i])
        parts = [t for b, t in FLAG_TEXT.items() if f & b]
        if f & FLAG_MASKED:
            parts[0] = f"{int(self.masked[i])} {parts[0]}"
        return ", ".join(parts)

    def take(self, idx: np.ndarray) -> BatchResult:
        return BatchResult(
            list(self.param_names),
            self.vary.copy(),
            self.values[idx],
            self.stderr[idx],
            self.redchi[idx],
            self.chi2[idx],
            self.status[idx],
            self.nfev[idx],
            self.ndata[idx],
            None if self.start is None else self.start[idx],
            self.masked[idx],
            self.flags[idx],
        )

    def put(self, idx: np.ndarray, other: BatchResult) -> None:
        """Overwrite rows ``idx`` with ``other`` (same length as ``idx``)."""
        self.values[idx] = other.values
        self.stderr[idx] = other.stderr
        self.redchi[idx] = other.redchi
        self.chi2[idx] = other.chi2
        self.status[idx] = other.status
        self.nfev[idx] = other.nfev
        self.ndata[idx] = other.ndata
        self.masked[idx] = other.masked
        self.flags[idx] = other.flags
        if self.start is not None and other.start is not None:
            self.start[idx] = other.start

    @staticmethod
    def concat(parts: Sequence[BatchResult]) -> BatchResult:
        if not parts:
            raise FitError("nothing to concatenate")
        first = parts[0]

        def cat(attr: str) -> np.ndarray:
            return np.concatenate([getattr(p, attr) for p in parts], axis=0)

        start = None if any(p.start is None for p in parts) else cat("start")
        return BatchResult(
            list(first.param_names),
            first.vary.copy(),
            cat("values"),
            cat("stderr"),
            cat("redchi"),
            cat("chi2"),
            cat("status"),
            cat("nfev"),
            cat("ndata"),
            start,
            cat("masked"),
            cat("flags"),
        )

    @staticmethod
    def empty(model: Model, n: int, vary: np.ndarray) -> BatchResult:
        k = len(model.params)
        return BatchResult(
            model.param_names,
            np.asarray(vary, bool).copy(),
            np.full((n, k), np.nan),
            np.full((n, k), np.nan),
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.full(n, NOT_FITTED, np.int8),
            np.zeros(n, np.int32),
            np.zeros(n, np.int32),
        )

    def summary(self) -> str:
        n = len(self)
        ok = int(np.sum(self.success))
        parts = ", ".join(f"{c} {t}" for t, c in sorted(self.reasons().items()))
        text = f"{ok}/{n} spectra converged ({parts})"
        flagged = self.flag_counts()
        if flagged:
            text += "; bad data: " + ", ".join(f"{c} with {t}" for t, c in flagged.items())
        return text


# -- data preparation ------------------------------------------------------------------------------
def data_flags(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(masked (n,) int32, flags (n,) uint8) of spectra Y (n, nb): how many points are NaN or +-inf, and the
    data flags (:data:`FLAG_TEXT`) of each spectrum."""
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    finite = np.isfinite(Y)
    masked = np.sum(~finite, axis=1).astype(np.int32)
    flags = np.zeros(Y.shape[0], np.uint8)
    flags[masked > 0] |= FLAG_MASKED
    flags[np.any(np.isinf(Y), axis=1)] |= FLAG_INF
    flags[2 * masked > Y.shape[1]] |= FLAG_MOSTLY_MASKED
    with np.errstate(invalid="ignore"):
        hi = np.max(np.where(finite, Y, -np.inf), axis=1)
        lo = np.min(np.where(finite, Y, np.inf), axis=1)
    flags[np.any(finite, axis=1) & (hi == lo) & (np.sum(finite, axis=1) > 1)] |= FLAG_CONSTANT
    return masked, flags


def prepare(
    x: np.ndarray, Y: np.ndarray, options: FitOptions, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x_fit (nb',), Y_fit (n, nb') float64 with NaN/inf replaced by 0, W (n, nb') weights, 0 there)."""
    x = np.asarray(x, dtype=float)
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    if Y.shape[1] != x.shape[0]:
        raise FitError(f"data have {Y.shape[1]} points per spectrum but x has {x.shape[0]}")
    sel = np.ones(x.shape[0], bool)
    if options.fit_range is not None:
        a, b = sorted(float(v) for v in options.fit_range)
        sel = (x >= a) & (x <= b)
        if not sel.any():
            raise FitError(f"fit range {a:g}..{b:g} contains no data points")
    xs = x[sel]
    Ys = Y[:, sel]
    if weights is None:
        W = np.ones_like(Ys)
    else:
        w = np.asarray(weights, dtype=float)
        if w.ndim == 1:
            if w.shape[0] != x.shape[0]:
                raise FitError("weights must have one value per data point")
            W = np.broadcast_to(w[sel], Ys.shape).copy()
        else:
            if w.shape != Y.shape:
                raise FitError(f"weights shape {w.shape} does not match data {Y.shape}")
            W = w[:, sel].copy()
        W[~np.isfinite(W)] = 0.0
    bad = ~np.isfinite(Ys)
    if bad.any():
        W = np.where(bad, 0.0, W)
        Ys = np.where(bad, 0.0, Ys)
    return xs, np.ascontiguousarray(Ys), np.ascontiguousarray(W)


def _in_range(x: np.ndarray, Y: np.ndarray, options: FitOptions) -> np.ndarray:
    """The columns of Y (n, nb) inside the fit range (all without one)."""
    Y = np.atleast_2d(np.asarray(Y))
    if options.fit_range is None:
        return Y
    a, b = sorted(float(v) for v in options.fit_range)
    x = np.asarray(x, dtype=float)
    return Y[:, (x >= a) & (x <= b)]


def _param_scale(model: Model, P0: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(k,) typical magnitude of each parameter (for finite-difference steps and the x tolerance)."""
    k = P0.shape[1]
    out = np.empty(k)
    for j in range(k):
        col = np.abs(P0[:, j][np.isfinite(P0[:, j])])
        s = float(np.median(col)) if col.size else 0.0
        s = max(s, abs(model.params[j].default))
        if s == 0.0 and math.isfinite(lo[j]) and math.isfinite(hi[j]) and hi[j] > lo[j]:
            s = 1e-3 * (hi[j] - lo[j])
        out[j] = s if s > 0 else 1e-12
    return out


def _safe_eval(model: Model, x: np.ndarray, P: np.ndarray) -> np.ndarray:
    """(n, nb) ``model.evaluate_batch``; when the batch call raises, rows are evaluated one by one and a
    row that still raises becomes NaN (that spectrum fails, the run goes on)."""
    try:
        return np.asarray(model.evaluate_batch(x, P), dtype=float)
    except Exception:
        out = np.full((P.shape[0], x.shape[0]), np.nan)
        for i in range(P.shape[0]):
            try:
                out[i] = model.evaluate_batch(x, P[i : i + 1])[0]
            except Exception:  # a model error at these parameters: this spectrum fails
                pass
        return out


def _safe_jacobian(model: Model, x: np.ndarray, P: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
    """``model.fit_jacobian_columns`` (n, nb, len(cols)) with the same per-row fallback as
    :func:`_safe_eval` (NaN rows)."""
    try:
        J = model.fit_jacobian_columns(x, P, cols)
        return None if J is None else np.asarray(J, dtype=float)
    except Exception:
        out = np.full((P.shape[0], x.shape[0], cols.size), np.nan)
        for i in range(P.shape[0]):
            try:
                out[i] = model.fit_jacobian_columns(x, P[i : i + 1], cols)[0]
            except Exception:  # a model error at these parameters: this spectrum fails
                pass
        return out


def _jacobian(
    model: Model,
    x: np.ndarray,
    P: np.ndarray,
    vary_idx: np.ndarray,
    F: np.ndarray,
    scale: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """(n, nb, m) derivatives with respect to the varying parameters."""
    if model.has_jacobian:
        J = _safe_jacobian(model, x, P, vary_idx)
        if J is not None:
            return J
    n, k = P.shape
    m = vary_idx.size
    h = np.sqrt(np.finfo(float).eps) * np.maximum(np.abs(P[:, vary_idx]), scale[vary_idx])
    # Step backwards where a forward step would leave the box.
    h = np.where(P[:, vary_idx] + h > hi[vary_idx], -h, h)
    Pst = np.repeat(P[:, None, :], m, axis=1)  # (n, m, k)
    for a, j in enumerate(vary_idx):
        Pst[:, a, j] += h[:, a]
    Fst = _safe_eval(model, x, Pst.reshape(n * m, k)).reshape(n, m, -1)
    return np.transpose((Fst - F[:, None, :]) / h[:, :, None], (0, 2, 1))


def _safe_joint(
    model: Model, x: np.ndarray, P: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """((n, nb) values, (n, nb, len(cols)) Jacobian or None) from ``model.fit_values_and_jacobian``; when
    that raises or gives None, the values alone by :func:`_safe_eval` (the Jacobian is then computed where
    it is needed)."""
    try:
        out = model.fit_values_and_jacobian(x, P, cols)
    except Exception:
        out = None
    if out is None:
        return _safe_eval(model, x, P), None
    return np.asarray(out[0], dtype=float), np.asarray(out[1], dtype=float)


def _solve(M: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched solve of M (n, m, m) x = b (n, m), falling back to a pseudo-inverse for singular rows."""
    try:
        return np.linalg.solve(M, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.einsum("nij,nj->ni", np.linalg.pinv(M, rcond=1e-13), b)


# -- the engine -------------------------------------------------------------------------------------
def fit_batch(
    model: Model,
    x: np.ndarray,
    Y: np.ndarray,
    P0: np.ndarray,
    options: FitOptions | None = None,
    *,
    weights: np.ndarray | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> BatchResult:
    """Fit every row of ``Y`` (n, nb) with ``model`` starting from ``P0`` (n, k) (or (k,) for all rows).

    Returns a :class:`BatchResult`. Spectra with fewer finite points than varying parameters are flagged
    :data:`NAN_DATA` and never fitted; NaN and +-inf points are left out and counted per spectrum
    (``masked``, ``flags``: :data:`FLAG_TEXT`); a constant spectrum is flagged :data:`CONSTANT_DATA` and
    not fitted. ``progress(done, total)`` counts finished spectra; when ``cancel``
    is set the run stops at the next iteration and raises :class:`FitCancelled` (the inputs are never
    modified).
    """
    options = options or FitOptions()
    vary, lo, hi = options.resolved(model)
    names = model.param_names
    xs, Ys, W = prepare(x, Y, options, weights)
    n = Ys.shape[0]
    masked, flags = data_flags(_in_range(x, Y, options))
    k = len(names)
    P0 = np.asarray(P0, dtype=float)
    P0 = np.broadcast_to(P0, (n, k)).copy() if P0.ndim == 1 else P0.copy()
    if P0.shape != (n, k):
        raise FitError(f"starting values have shape {P0.shape}, expected ({n}, {k})")
    for name, v in options.fixed.items():
        P0[:, names.index(name)] = float(v)
    P0 = np.clip(P0, lo, hi)
    vary_idx = np.flatnonzero(vary)
    result = BatchResult.empty(model, n, vary)
    result.start = P0.copy()
    if vary_idx.size == 0:
        raise FitError("no parameter is free to vary")
    scale = _param_scale(model, P0, lo, hi)
    total = n
    done_before = 0
    chunk = max(1, int(options.chunk_size))
    for start in range(0, n, chunk):
        sl = slice(start, min(n, start + chunk))

        def chunk_progress(d: int, _t: int, base: int = done_before) -> None:
            if progress is not None:
                progress(base + d, total)

        part = _lm_chunk(
            model,
            xs,
            Ys[sl],
            W[sl],
            P0[sl],
            vary_idx,
            lo,
            hi,
            scale,
            options,
            chunk_progress,
            cancel,
            (flags[sl] & FLAG_CONSTANT) != 0,
        )
        part.masked[:] = masked[sl]
        part.flags[:] = flags[sl]
        result.put(np.arange(sl.start, sl.stop), part)
        done_before = sl.stop
    if progress is not None:
        progress(total, total)
    return result


def _lm_chunk(
    model: Model,
    x: np.ndarray,
    Y: np.ndarray,
    W: np.ndarray,
    P0: np.ndarray,
    vary_idx: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    scale: np.ndarray,
    opt: FitOptions,
    progress: ProgressFn,
    cancel: threading.Event | None,
    constant: np.ndarray | None = None,
) -> BatchResult:
    n, nb = Y.shape
    k = P0.shape[1]
    m = vary_idx.size
    vary = np.zeros(k, bool)
    vary[vary_idx] = True
    res = BatchResult.empty(model, n, vary)
    P = P0.copy()
    ndata = np.sum(W != 0, axis=1).astype(np.int32)
    res.ndata[:] = ndata
    status = np.full(n, _RUNNING, np.int8)
    status[ndata <= m] = NAN_DATA
    if constant is not None:
        status[constant & (status == _RUNNING)] = CONSTANT_DATA

    F = np.zeros((n, nb))
    R = np.zeros((n, nb))
    cost = np.full(n, np.nan)
    run = np.flatnonzero(status == _RUNNING)
    use_broyden = opt.broyden if opt.broyden is not None else not model.has_jacobian
    # Trial points evaluated with their Jacobian in the same pass (a model whose derivatives come with its
    # values): an accepted step then needs no second evaluation at the new point.
    joint = model.has_jacobian and not use_broyden
    J_start = None  # the start's Jacobian, from the same pass as its values
    if run.size:
        with np.errstate(all="ignore"):
            if joint:
                F[run], J_start = _safe_joint(model, x, P[run], vary_idx)
                joint = J_start is not None
            else:
                F[run] = _safe_eval(model, x, P[run])
            R[run] = W[run] * (F[run] - Y[run])
            cost[run] = 0.5 * np.sum(R[run] ** 2, axis=1)
    status[(status == _RUNNING) & ~np.isfinite(cost)] = MODEL_NOT_FINITE

    lo_v, hi_v, scale_v = lo[vary_idx], hi[vary_idx], scale[vary_idx]
    lam = np.full(n, float(opt.lambda0))
    nu = np.full(n, 2.0)
    dmax = np.zeros((n, m))
    A = np.zeros((n, m, m))
    g = np.zeros((n, m))
    need = np.ones(n, bool)
    fresh = np.zeros(n, bool)  # A, g come from an exact Jacobian at the current parameters
    n_broyden = np.zeros(n, np.int32)
    Jst = np.zeros((n, nb, m)) if use_broyden else None
    nfev = np.ones(n, np.int32)
    eye = np.eye(m)
    tiny = np.finfo(float).tiny

    while True:
        if cancel is not None and cancel.is_set():
            raise FitCancelled("batch fit cancelled")
        act = np.flatnonzero(status == _RUNNING)
        progress(n - act.size, n)
        if act.size == 0:
            break
        # Jacobian and normal equations where the last step was accepted.
        jn = act[need[act]]
        if jn.size:
            with np.errstate(all="ignore"):
                if J_start is not None and np.array_equal(jn, run):
                    J = J_start * W[jn][:, :, None]
                else:
                    J = _jacobian(model, x, P[jn], vary_idx, F[jn], scale, hi) * W[jn][:, :, None]
            J_start = None
            Jt = np.transpose(J, (0, 2, 1))
            A[jn] = Jt @ J
            g[jn] = (Jt @ R[jn][:, :, None])[..., 0]
            dmax[jn] = np.maximum(dmax[jn], np.sqrt(np.abs(np.einsum("nii->ni", A[jn]))))
            need[jn] = False
            fresh[jn] = True
            n_broyden[jn] = 0
            if Jst is not None:
                Jst[jn] = J
            bad = ~np.all(np.isfinite(A[jn]), axis=(1, 2)) | ~np.all(np.isfinite(g[jn]), axis=1)
            if bad.any():
                status[jn[bad]] = MODEL_NOT_FINITE
                act = np.flatnonzero(status == _RUNNING)
                if act.size == 0:
                    continue
        a = act
        d = np.where(dmax[a] > 0, dmax[a], 1.0)
        Pa = P[a]
        pv = Pa[:, vary_idx]
        ga = g[a]
        # Parameters on a bound with the gradient pushing outwards are frozen for this step.
        frozen = ((pv <= lo_v) & (ga > 0)) | ((pv >= hi_v) & (ga < 0))
        free = ~frozen
        # Gradient test (scaled, on the free parameters only).
        gnorm = np.max(np.abs(np.where(free, ga / d, 0.0)), axis=1)
        gconv = gnorm <= opt.gtol * np.sqrt(2.0 * cost[a] + tiny)
        As = A[a] / (d[:, :, None] * d[:, None, :])
        gs = ga / d
        ff = free[:, :, None] & free[:, None, :]
        M = np.where(ff, As, 0.0) + eye * (lam[a][:, None, None] + np.where(free, 0.0, 1.0)[:, None, :])
        hs = _solve(M, np.where(free, -gs, 0.0))
        h = hs / d
        pn = np.clip(pv + h, lo_v, hi_v)
        h = pn - pv
        Pn = Pa.copy()
        Pn[:, vary_idx] = pn
        with np.errstate(all="ignore"):
            if joint:
                Fn, Jn = _safe_joint(model, x, Pn, vary_idx)
                joint = Jn is not None
            else:
                Fn, Jn = _safe_eval(model, x, Pn), None
            Rn = W[a] * (Fn - Y[a])
            cn = 0.5 * np.sum(Rn**2, axis=1)
        nfev[a] += 1
        Ah = (A[a] @ h[:, :, None])[..., 0]
        pred = -(np.sum(ga * h, axis=1) + 0.5 * np.sum(h * Ah, axis=1))
        actual = cost[a] - cn
        ok = np.isfinite(cn) & (actual > 0)
        with np.errstate(all="ignore"):
            rho = np.where(pred > 0, actual / pred, 0.0)
        was_fresh = fresh[a]
        # Accepted steps.
        acc = a[ok]
        if acc.size:
            r = rho[ok]
            lam[acc] *= np.maximum(1.0 / 3.0, 1.0 - (2.0 * np.clip(r, 0, 1) - 1.0) ** 3)
            nu[acc] = 2.0
            old = cost[acc]
            R_old = R[acc]
            P[acc] = Pn[ok]
            F[acc] = Fn[ok]
            R[acc] = Rn[ok]
            cost[acc] = cn[ok]
            hv = np.abs(h[ok])
            xsmall = np.all(hv <= opt.xtol * np.maximum(np.abs(pn[ok]), scale_v), axis=1)
            fsmall = actual[ok] <= opt.ftol * old
            zero = cn[ok] <= tiny
            crit = xsmall | fsmall | zero
            # Convergence is only declared on a step computed from an exact Jacobian.
            status[acc[crit & was_fresh[ok]]] = CONVERGED
            # Next Jacobian: a Broyden rank-1 update after a good step (at most 3 in a row), else exact.
            cand = ~crit & (r > 0.5) & (n_broyden[acc] < 3) if Jst is not None else np.zeros(acc.size, bool)
            bi = acc[cand]
            need[acc[~cand & (status[acc] == _RUNNING)]] = True
            fresh[acc] = False
            if bi.size:
                hb = h[ok][cand]
                Jb = Jst[bi]
                u = (Rn[ok][cand] - R_old[cand]) - (Jb @ hb[:, :, None])[..., 0]
                Jb += u[:, :, None] * (hb / np.maximum(np.sum(hb * hb, axis=1), tiny)[:, None])[:, None, :]
                Jst[bi] = Jb
                Jbt = np.transpose(Jb, (0, 2, 1))
                A[bi] = Jbt @ Jb
                g[bi] = (Jbt @ R[bi][:, :, None])[..., 0]
                n_broyden[bi] += 1
            if Jn is not None:
                # The exact Jacobian at the accepted points came with their values.
                take = need[acc]
                jn = acc[take]
                if jn.size:
                    J = Jn[ok][take] * W[jn][:, :, None]
                    Jt = np.transpose(J, (0, 2, 1))
                    A[jn] = Jt @ J
                    g[jn] = (Jt @ R[jn][:, :, None])[..., 0]
                    dmax[jn] = np.maximum(dmax[jn], np.sqrt(np.abs(np.einsum("nii->ni", A[jn]))))
                    need[jn] = False
                    fresh[jn] = True
                    n_broyden[jn] = 0
                    bad = ~np.all(np.isfinite(A[jn]), axis=(1, 2)) | ~np.all(np.isfinite(g[jn]), axis=1)
                    status[jn[bad]] = MODEL_NOT_FINITE
        rej = a[~ok]
        if rej.size:
            rf = was_fresh[~ok]
            # With an approximate Jacobian, first recompute it exactly (no extra damping).
            need[rej[~rf]] = True
            rj = rej[rf]
            lam[rj] *= nu[rj]
            nu[rj] *= 2.0
            # A rejected step with negligible length or huge damping: the minimum is reached.
            hv = np.abs(h[~ok][rf])
            stuck = np.all(hv <= opt.xtol * np.maximum(np.abs(pv[~ok][rf]), scale_v), axis=1) | (
                lam[rj] > 1e16
            )
            status[rj[stuck & np.isfinite(cost[rj])]] = CONVERGED
        status[a[gconv & was_fresh & (status[a] == _RUNNING)]] = CONVERGED
        over = a[(nfev[a] > opt.max_iter) & (status[a] == _RUNNING)]
        status[over] = NO_CONVERGENCE

    # Statistics at the solution.
    fitted = np.flatnonzero((status == CONVERGED) | (status == NO_CONVERGENCE))
    res.values[:] = P
    res.values[(status == NAN_DATA) | (status == MODEL_NOT_FINITE) | (status == CONSTANT_DATA)] = np.nan
    res.nfev[:] = nfev
    if fitted.size:
        dof = np.maximum(ndata[fitted] - m, 1)
        chi2 = 2.0 * cost[fitted]
        res.chi2[fitted] = chi2
        res.redchi[fitted] = chi2 / dof
        Af = A[fitted]
        dd = np.sqrt(np.abs(np.einsum("nii->ni", Af)))
        dd = np.where(dd > 0, dd, 1.0)
        with np.errstate(all="ignore"):
            cov_s = np.linalg.pinv(Af / (dd[:, :, None] * dd[:, None, :]), rcond=1e-13, hermitian=True)
            cov = cov_s / (dd[:, :, None] * dd[:, None, :]) * res.redchi[fitted][:, None, None]
            se = np.sqrt(np.abs(np.einsum("nii->ni", cov)))
        se = np.where(np.isfinite(se), se, np.nan)
        res.stderr[np.ix_(fitted, vary_idx)] = se
        # At-bound flag for converged fits.
        conv = status[fitted] == CONVERGED
        pvf = P[fitted][:, vary_idx]
        span = np.where(np.isfinite(hi_v - lo_v), hi_v - lo_v, np.inf)
        tol = 1e-9 * np.maximum(np.maximum(np.abs(pvf), scale_v), np.where(np.isfinite(span), span, 0.0))
        on_lo = np.isfinite(lo_v) & (pvf <= lo_v + tol)
        on_hi = np.isfinite(hi_v) & (pvf >= hi_v - tol)
        atb = conv & np.any(on_lo | on_hi, axis=1)
        status[fitted[atb]] = AT_BOUND
    res.status[:] = status
    return res


def param_correlations(
    model: Model, x: np.ndarray, y: np.ndarray, values: np.ndarray, vary: np.ndarray
) -> np.ndarray:
    """(m, m) correlation matrix of the varying parameters at ``values`` (k,) for one spectrum."""
    P = np.asarray(values, float)[None, :]
    vary_idx = np.flatnonzero(vary)
    lo, hi = model.bounds()
    F = model.evaluate_batch(np.asarray(x, float), P)
    J = _jacobian(model, np.asarray(x, float), P, vary_idx, F, _param_scale(model, P, lo, hi), hi)[0]
    cov = np.linalg.pinv(J.T @ J, hermitian=True)
    d = np.sqrt(np.abs(np.diag(cov)))
    d = np.where(d > 0, d, 1.0)
    return cov / np.outer(d, d)


# -- starting values ---------------------------------------------------------------------------------
START_STRATEGIES = ("global", "guess", "neighbours", "blocks")


def guess_start(model: Model, x: np.ndarray, y: np.ndarray, options: FitOptions | None = None) -> np.ndarray:
    """(k,) starting values from ``model.guess`` on one spectrum (defaults where the guess fails)."""
    options = options or FitOptions()
    y = np.asarray(y, float)
    ok = np.isfinite(y)
    vals = model.defaults()
    if ok.sum() > len(model.params):
        try:
            vals.update(model.guess(np.asarray(x, float)[ok], y[ok]))
        except Exception:  # a guess that fails falls back to the defaults
            pass
    vals = model.clip_to_bounds(vals)
    vals.update({k: float(v) for k, v in options.fixed.items()})
    return np.array([vals[n] for n in model.param_names], float)


#: Spectra whose typical magnitude is further than this factor from the median spectrum's are outliers.
OUTLIER_FACTOR = 10.0


def typical_spectrum(Y: np.ndarray) -> np.ndarray:
    """(nb,) point-wise median of the spectra Y (n, nb) that are not outliers.

    A spectrum is left out when it has no finite value, when its median magnitude is zero, or when that
    magnitude differs from the median over the spectra by more than ``OUTLIER_FACTOR`` (or 5 robust
    standard deviations in log scale, whichever is wider). So one pixel holding 1e30, a dead pixel at zero
    or a saturated line cannot drag the start of every pixel away, as a plain mean does.
    """
    Y = np.atleast_2d(np.asarray(Y, float))
    with np.errstate(all="ignore"), _quiet():
        Yc = np.where(np.isfinite(Y), Y, np.nan)
        scale = np.nanmedian(np.abs(Yc), axis=1)
        good = np.isfinite(scale) & (scale > 0)
        if good.sum() == 0:
            return np.nanmedian(Yc, axis=0)
        logs = np.log10(scale[good])
        centre = np.median(logs)
        spread = 1.4826 * np.median(np.abs(logs - centre))
        keep = np.abs(logs - centre) <= max(np.log10(OUTLIER_FACTOR), 5 * spread)
        rows = np.flatnonzero(good)[keep]
        # values far outside the kept spectra's range (a spike of 1e30 in one point) are dropped too
        sub = Yc[rows]
        lim = OUTLIER_FACTOR * 10 ** (centre + max(np.log10(OUTLIER_FACTOR), 5 * spread))
        sub = np.where(np.abs(sub) <= lim, sub, np.nan)
        return np.nanmedian(sub, axis=0)


def global_start(
    model: Model,
    x: np.ndarray,
    Y: np.ndarray,
    options: FitOptions | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """(k,) parameters of a fit of the typical spectrum (:func:`typical_spectrum`), used as the start of
    every pixel."""
    options = options or FitOptions()
    Y = np.atleast_2d(np.asarray(Y, float))
    mean = typical_spectrum(Y)
    if np.sum(np.isfinite(mean)) <= len(model.params):
        raise FitError("no finite data to fit")
    p0 = guess_start(model, x, mean, options)
    w = None
    if weights is not None:
        w = np.asarray(weights, float)
        if w.ndim == 2:
            w = np.nanmean(w, axis=0)
    res = fit_batch(model, x, mean[None, :], p0, options, weights=w)
    if res.status[0] in (CONVERGED, AT_BOUND, NO_CONVERGENCE) and np.all(np.isfinite(res.values[0])):
        return res.values[0]
    return p0


def guess_starts(
    model: Model,
    x: np.ndarray,
    Y: np.ndarray,
    options: FitOptions | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """(n, k) per-spectrum guesses."""
    Y = np.atleast_2d(np.asarray(Y, float))
    out = np.empty((Y.shape[0], len(model.params)))
    for i in range(Y.shape[0]):
        if cancel is not None and i % 256 == 0 and cancel.is_set():
            raise FitCancelled("batch fit cancelled")
        out[i] = guess_start(model, x, Y[i], options)
    return out


class _quiet:
    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._w.__exit__(*exc)
