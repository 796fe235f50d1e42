"""Fit one spectrum with a registered model: the batch engine with the model's Jacobian, or lmfit.

Models with an analytic (or forward-mode) Jacobian are fitted by the batched Levenberg-Marquardt engine of
:mod:`analysis.fitting.batch` on one row (exact derivatives, projected bounds: a few model evaluations
instead of one per parameter per step); models without one, and fits with expression constraints, go
through lmfit (finite differences, lmfit's bound transform). Both give the same record.

:func:`fit_spectrum` takes the data (x (n,), y (n,)), optional per-parameter settings (value, min, max,
vary, expr), a fit range in x units, weights (1/sigma per point) and a ``cancel`` event (checked by
lmfit's ``iter_cb``), and returns a :class:`SingleFit`: the serialisable :class:`FitRecord` (values,
standard errors, correlations, reduced chi-square, warnings such as "at a bound" or "not converged") plus
the arrays for plotting (data, model and residual over the fitted points, and the model on the full x).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import lmfit
import numpy as np

from analysis.errors import FitError
from analysis.fitting.batch import (
    AT_BOUND,
    CONVERGED,
    NO_CONVERGENCE,
    STATUS_TEXT,
    FitCancelled,
    FitOptions,
    fit_batch,
)
from analysis.models.base import Model

SETTING_KEYS = ("value", "min", "max", "vary", "expr")
#: Relative cost decrease and step below which a single fit by the batch engine has converged (the
#: defaults of lmfit's ``leastsq``, 1.49e-8).
SINGLE_TOL = 1.49012e-8

#: What a parameter expression (``expr``) may use besides the parameters: numbers and mathematics.
#: lmfit evaluates expressions with asteval, which blocks imports and dunders but otherwise offers
#: ``open()``, numpy's file readers (``fromfile``, ``loadtxt``, ...), ``print`` and the like.
EXPR_SYMBOLS = frozenset(
    """True False None pi e inf nan abs min max round pow float int sqrt exp expm1 exp2 log log10 log2 log1p
    ln sin cos tan arcsin arccos arctan arctan2 asin acos atan atan2 sinh cosh tanh arcsinh arccosh arctanh
    asinh acosh atanh hypot degrees radians deg2rad rad2deg floor ceil trunc rint sign copysign fabs fmod
    mod remainder maximum minimum fmax fmin clip where isfinite isnan isinf erf erfc gamfcn loggammafcn
    wofz betalnfnc sinc power square""".split()
)


class MathParameters(lmfit.Parameters):
    """lmfit ``Parameters`` whose expressions see the parameters and :data:`EXPR_SYMBOLS` only (copies,
    which lmfit makes during a fit, are of this class too)."""

    def __init__(self, usersyms: Mapping[str, Any] | None = None) -> None:
        super().__init__(usersyms)
        table = self._asteval.symtable
        for name in [k for k in table if k not in EXPR_SYMBOLS]:
            del table[name]


@dataclass
class ParamResult:
    """One parameter of a finished fit (SI units as declared by the model)."""

    name: str
    unit: str
    value: float
    stderr: float = math.nan
    min: float = -math.inf
    max: float = math.inf
    vary: bool = True
    expr: str = ""
    init: float = math.nan


@dataclass
class FitRecord:
    """A finished single fit, JSON-serialisable with :meth:`to_dict` / :meth:`from_dict`."""

    model: str
    params: list[ParamResult]
    redchi: float
    chisqr: float
    ndata: int
    nvarys: int
    success: bool
    message: str
    correlations: dict[str, dict[str, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fit_range: tuple[float, float] | None = None
    weighted: bool = False
    source: str = ""
    nfev: int = 0
    created: float = field(default_factory=time.time)
    #: the data's noise (y units) and the reduced chi-square against it, with where the noise came from
    noise: float = math.nan
    noise_redchi: float = math.nan
    noise_source: str = ""

    def value(self, name: str) -> float:
        return self.param(name).value

    def param(self, name: str) -> ParamResult:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def values(self) -> dict[str, float]:
        return {p.name: p.value for p in self.params}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fit_range"] = None if self.fit_range is None else [float(v) for v in self.fit_range]
        return _jsonable(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FitRecord:
        d = dict(d)
        d["params"] = [ParamResult(**{k: _unjson(v) for k, v in p.items()}) for p in d["params"]]
        fr = d.get("fit_range")
        d["fit_range"] = None if fr is None else (float(fr[0]), float(fr[1]))
        for key in ("redchi", "chisqr", "noise", "noise_redchi"):
            if key in d:
                d[key] = _unjson(d[key])
        return cls(**d)

    def report(self) -> str:
        """A plain-text report (for the clipboard and the panel)."""
        lines = [f"Model: {self.model}"]
        if self.source:
            lines.append(f"Data: {self.source}")
        if self.fit_range is not None:
            lines.append(f"Fit range: {self.fit_range[0]:.6g} .. {self.fit_range[1]:.6g}")
        lines.append(
            f"Points: {self.ndata}   free parameters: {self.nvarys}   evaluations: {self.nfev}"
            + ("   (weighted)" if self.weighted else "")
        )
        if math.isfinite(self.noise_redchi):
            lines.append(
                f"Reduced chi-square against the noise: {self.noise_redchi:.4g}"
                f"   (noise {self.noise:.3g} in y, {self.noise_source};"
                " about 1 for a fit that describes the data)"
            )
        lines.append(f"Reduced chi-square: {self.redchi:.6g}   chi-square: {self.chisqr:.6g}")
        lines.append(f"Converged: {'yes' if self.success else 'no'} ({self.message})")
        lines.append("Parameters:")
        for p in self.params:
            if not p.vary:
                how = f"fixed = {p.expr}" if p.expr else "fixed"
                lines.append(f"  {p.name:10s} = {p.value:.8g} {p.unit}  ({how})")
            elif math.isfinite(p.stderr):
                rel = abs(p.stderr / p.value) * 100 if p.value else math.inf
                lines.append(f"  {p.name:10s} = {p.value:.8g} +/- {p.stderr:.3g} {p.unit}  ({rel:.2g}%)")
            else:
                lines.append(f"  {p.name:10s} = {p.value:.8g} {p.unit}  (error not estimated)")
        pairs = []
        for a, row in self.correlations.items():
            for b, c in row.items():
                if a < b and math.isfinite(c) and abs(c) >= 0.1:
                    pairs.append((abs(c), a, b, c))
        if pairs:
            lines.append("Correlations (|C| >= 0.1):")
            for _, a, b, c in sorted(pairs, reverse=True):
                lines.append(f"  C({a}, {b}) = {c:+.3f}")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)


@dataclass
class SingleFit:
    """A fit record with its arrays: ``x``/``y`` fitted points, ``best`` model there, ``residual = y -
    best``; ``x_all``/``model_all`` the model over the full x range of the input."""

    record: FitRecord
    x: np.ndarray
    y: np.ndarray
    best: np.ndarray
    residual: np.ndarray
    x_all: np.ndarray
    model_all: np.ndarray
    init: np.ndarray


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float | np.floating):
        v = float(obj)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _unjson(v: Any) -> Any:
    if v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def _fit_spectrum(
    model: Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    fit_range: tuple[float, float] | None = None,
    weights: np.ndarray | None = None,
    source: str = "",
    max_nfev: int | None = None,
    cancel: threading.Event | None = None,
    progress=None,
) -> SingleFit:
    """Fit ``y`` (n,) at ``x`` (n,) with ``model`` by lmfit (least-squares, Levenberg-Marquardt with
    bounds handled by lmfit's transform).

    ``settings`` {param: {value, min, max, vary, expr}} overrides the model defaults; without a value the
    model's ``guess`` on the fitted points is used. Raises :class:`FitError` for unusable input and
    :class:`FitCancelled` when ``cancel`` is set during the fit.
    """

    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise FitError(f"x and y differ in length ({x.size} vs {y.size})")
    sel = np.isfinite(x) & np.isfinite(y)
    if fit_range is not None:
        a, b = sorted(float(v) for v in fit_range)
        sel &= (x >= a) & (x <= b)
        fit_range = (a, b)
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=float).ravel()
        if w.shape != x.shape:
            raise FitError("weights must have one value per data point")
        sel &= np.isfinite(w)
        w = w[sel]
    xs, ys = x[sel], y[sel]
    settings = dict(settings or {})
    names = model.param_names
    for name in settings:
        if name not in names:
            raise FitError(f"model {model.name!r} has no parameter {name!r}")
    nvary = sum(
        bool(settings.get(p.name, {}).get("vary", p.vary)) and not settings.get(p.name, {}).get("expr")
        for p in model.params
    )
    if nvary == 0:
        raise FitError("no parameter is free to vary")
    if xs.size <= nvary:
        raise FitError(f"only {xs.size} usable data points for {nvary} free parameters")

    start = model.defaults()
    try:
        start.update(model.guess(xs, ys))
    except Exception:  # a failing guess falls back to the defaults
        pass
    start = model.clip_to_bounds(start)
    if model.has_jacobian and not any(s.get("expr") for s in settings.values()):
        return _fit_with_engine(
            model, x, xs, ys, w, settings, start, fit_range, source, max_nfev, cancel, progress
        )
    lm = model.lmfit_model()
    params = MathParameters()
    params.add_many(*lm.make_params().values())
    for p in model.params:
        s = settings.get(p.name, {})
        par = params[p.name]
        lo = float(s.get("min", p.min))
        hi = float(s.get("max", p.max))
        if lo > hi:
            raise FitError(f"parameter {p.name}: min {lo:g} is above max {hi:g}")
        val = float(s["value"]) if "value" in s and s["value"] is not None else start[p.name]
        val = min(max(val, lo), hi)
        par.set(value=val, min=lo, max=hi, vary=bool(s.get("vary", p.vary)))
        expr = s.get("expr") or ""
        if expr:
            try:
                par.set(expr=str(expr))
            except (NameError, SyntaxError) as exc:
                why = exc or "invalid syntax"
                raise FitError(f"parameter {p.name}: expression {expr!r}: {why}") from None
    try:  # evaluates the expressions: a name that is neither a parameter nor mathematics fails here
        init_vals = {n: params[n].value for n in names}
    except (NameError, SyntaxError) as exc:
        raise FitError(f"parameter expression: {exc}") from None
    counter = {"n": 0}

    def iter_cb(_params, iteration, _resid, *a, **kw):
        counter["n"] = iteration
        if progress is not None and iteration % 10 == 0:
            progress(min(iteration, 999), 1000)
        return bool(cancel is not None and cancel.is_set())

    kws: dict[str, Any] = {}
    if max_nfev is not None:
        kws["max_nfev"] = int(max_nfev)
    try:
        with np.errstate(all="ignore"):
            res = lm.fit(ys, params, x=xs, weights=w, iter_cb=iter_cb, nan_policy="raise", **kws)
    except ValueError as exc:
        if cancel is not None and cancel.is_set():
            raise FitCancelled("fit cancelled") from None
        raise FitError(f"fit failed: {exc}") from exc
    if getattr(res, "aborted", False) or (cancel is not None and cancel.is_set()):
        raise FitCancelled("fit cancelled")

    out_params: list[ParamResult] = []
    warns: list[str] = []
    for p in model.params:
        par = res.params[p.name]
        se = par.stderr if par.stderr is not None else math.nan
        out_params.append(
            ParamResult(
                p.name,
                p.unit,
                float(par.value),
                float(se),
                float(par.min),
                float(par.max),
                bool(par.vary),
                par.expr or "",
                float(init_vals[p.name]),
            )
        )
        if par.vary and _at_bound(par.value, par.min, par.max, p.default):
            side = "lower" if abs(par.value - par.min) <= abs(par.value - par.max) else "upper"
            warns.append(f"{p.name} is at its {side} bound ({par.value:.6g} {p.unit})")
    if not res.success:
        warns.append(f"not converged: {res.message}")
    if not res.errorbars:
        warns.append("standard errors could not be estimated (singular or ill-conditioned covariance)")
    corr: dict[str, dict[str, float]] = {}
    for p in model.params:
        c = res.params[p.name].correl
        if c:
            corr[p.name] = {k: float(v) for k, v in c.items()}
    record = FitRecord(
        model=model.name,
        params=out_params,
        redchi=float(res.redchi),
        chisqr=float(res.chisqr),
        ndata=int(res.ndata),
        nvarys=int(res.nvarys),
        success=bool(res.success),
        message=str(res.message),
        correlations=corr,
        warnings=warns,
        fit_range=fit_range,
        weighted=w is not None,
        source=source,
        nfev=int(res.nfev),
    )
    vals = {n: res.params[n].value for n in names}
    best = model.evaluate(xs, **vals)
    return SingleFit(
        record, xs, ys, best, ys - best, x, model.evaluate(x, **vals), model.evaluate(xs, **init_vals)
    )


def noise_of(y: np.ndarray) -> float:
    """The white-noise level of a smooth curve's samples ``y`` (n,): the robust spread of its second
    differences, which cancel a slowly varying signal, divided by sqrt(6). NaN with fewer than 5 points."""
    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    if y.size < 5:
        return math.nan
    d2 = y[2:] - 2.0 * y[1:-1] + y[:-2]
    mad = float(np.median(np.abs(d2 - np.median(d2))))
    return 1.4826 * mad / math.sqrt(6.0)


def fit_spectrum(*args: Any, noise: float | None = None, noise_source: str = "", **kwargs: Any) -> SingleFit:
    """Fit a model to one spectrum (see :func:`_fit_spectrum` for the arguments) and judge it against the
    data's noise: ``noise`` (y units, e.g. from a region's standard deviation or repeated sweeps, named by
    ``noise_source``), else the point-to-point scatter of the fitted points (:func:`noise_of`). The record's
    ``noise_redchi`` is about 1 for a fit that describes the data and much larger for one that does not."""
    fit = _fit_spectrum(*args, **kwargs)
    rec = fit.record
    sigma = float(noise) if noise is not None and noise > 0 else noise_of(fit.y)
    source = noise_source if noise is not None and noise > 0 else "from the data's point-to-point scatter"
    dof = max(rec.ndata - rec.nvarys, 1)
    if math.isfinite(sigma) and sigma > 0:
        rec.noise = sigma
        rec.noise_redchi = float(np.nansum(np.asarray(fit.residual, float) ** 2) / (sigma**2 * dof))
        rec.noise_source = source
    return fit


def _fit_with_engine(
    model: Model,
    x: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    w: np.ndarray | None,
    settings: Mapping[str, Mapping[str, Any]],
    start: Mapping[str, float],
    fit_range: tuple[float, float] | None,
    source: str,
    max_nfev: int | None,
    cancel: threading.Event | None,
    progress,
) -> SingleFit:
    """The batch engine on one spectrum (models with a Jacobian, no expression constraints)."""
    names = model.param_names
    k = len(names)
    lo = np.empty(k)
    hi = np.empty(k)
    vary = np.empty(k, bool)
    p0 = np.empty(k)
    for j, p in enumerate(model.params):
        s = settings.get(p.name, {})
        lo[j] = float(s.get("min", p.min))
        hi[j] = float(s.get("max", p.max))
        if lo[j] > hi[j]:
            raise FitError(f"parameter {p.name}: min {lo[j]:g} is above max {hi[j]:g}")
        vary[j] = bool(s.get("vary", p.vary))
        val = float(s["value"]) if "value" in s and s["value"] is not None else start[p.name]
        p0[j] = min(max(val, lo[j]), hi[j])
    # the tolerances of lmfit's default (MINPACK) fit, so both paths stop alike
    opts = FitOptions(
        vary=vary,
        lower=lo,
        upper=hi,
        max_iter=int(max_nfev) if max_nfev else 400,
        ftol=SINGLE_TOL,
        xtol=SINGLE_TOL,
    )
    if progress is not None:
        progress(0, 1000)
    with np.errstate(all="ignore"):
        res = fit_batch(model, xs, ys[None, :], p0, opts, weights=w, cancel=cancel)
    if cancel is not None and cancel.is_set():
        raise FitCancelled("fit cancelled")
    status = int(res.status[0])
    vals = res.values[0] if np.all(np.isfinite(res.values[0])) else p0
    vary_idx = np.flatnonzero(vary)
    corr_m = _correlations(model, xs, vals, vary_idx, w)
    out_params: list[ParamResult] = []
    warns: list[str] = []
    for j, p in enumerate(model.params):
        se = float(res.stderr[0, j]) if vary[j] else math.nan
        out_params.append(
            ParamResult(
                p.name, p.unit, float(vals[j]), se, float(lo[j]), float(hi[j]), bool(vary[j]), "", p0[j]
            )
        )
        if vary[j] and _at_bound(float(vals[j]), float(lo[j]), float(hi[j]), p.default):
            side = "lower" if abs(vals[j] - lo[j]) <= abs(vals[j] - hi[j]) else "upper"
            warns.append(f"{p.name} is at its {side} bound ({vals[j]:.6g} {p.unit})")
    success = status in (CONVERGED, AT_BOUND)
    if not success:
        warns.append(f"not converged: {STATUS_TEXT.get(status, str(status))}")
    if success and not np.all(np.isfinite(res.stderr[0, vary_idx])):
        warns.append("standard errors could not be estimated (singular or ill-conditioned covariance)")
    corr: dict[str, dict[str, float]] = {}
    if corr_m is not None:
        for a, ja in enumerate(vary_idx):
            corr[names[ja]] = {names[jb]: float(corr_m[a, b]) for b, jb in enumerate(vary_idx) if jb != ja}
    record = FitRecord(
        model=model.name,
        params=out_params,
        redchi=float(res.redchi[0]),
        chisqr=float(res.chi2[0]),
        ndata=int(res.ndata[0]),
        nvarys=int(vary_idx.size),
        success=success,
        message=STATUS_TEXT.get(status, str(status))
        + (" (the iteration limit was reached)" if status == NO_CONVERGENCE else ""),
        correlations=corr,
        warnings=warns,
        fit_range=fit_range,
        weighted=w is not None,
        source=source,
        nfev=int(res.nfev[0]),
    )
    if progress is not None:
        progress(1000, 1000)
    P = np.stack([vals, p0])
    best, init = model.evaluate_batch(xs, P)
    return SingleFit(record, xs, ys, best, ys - best, x, model.evaluate_batch(x, vals[None, :])[0], init)


def _correlations(
    model: Model, x: np.ndarray, vals: np.ndarray, vary_idx: np.ndarray, w: np.ndarray | None
) -> np.ndarray | None:
    """(m, m) correlations of the free parameters from the Jacobian at the solution (None if singular)."""
    try:
        with np.errstate(all="ignore"):
            J = model.jacobian_columns(x, vals[None, :], vary_idx)
            if J is None:
                return None
            J = np.asarray(J, float)[0]
            if w is not None:
                J = J * w[:, None]
            cov = np.linalg.pinv(J.T @ J, hermitian=True)
            d = np.sqrt(np.abs(np.diag(cov)))
            out = cov / np.outer(d, d)
    except Exception:  # no correlations rather than no fit
        return None
    return out if np.all(np.isfinite(out)) else None


def _at_bound(v: float, lo: float, hi: float, default: float = 1.0) -> bool:
    """Whether ``v`` sits on a bound, judged on the parameter's own scale (its value, the bound, and a
    millionth of its default for a bound at zero), not on the span between the bounds: a gap of 1e-7 eV
    with bounds 1e-12..1 is five decades above its lower bound, not at it."""
    floor = 1e-6 * abs(default) if default else 1e-300

    def near(b: float) -> bool:
        return math.isfinite(b) and abs(v - b) <= max(1e-6 * max(abs(v), abs(b)), floor)

    return near(lo) or near(hi)
