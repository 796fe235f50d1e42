"""Fit one spectrum with a registered model through lmfit.

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
from analysis.fitting.batch import FitCancelled
from analysis.models.base import Model

SETTING_KEYS = ("value", "min", "max", "vary", "expr")

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
        for key in ("redchi", "chisqr"):
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


def fit_spectrum(
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
        if par.vary and _at_bound(par.value, par.min, par.max):
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


def _at_bound(v: float, lo: float, hi: float) -> bool:
    span = hi - lo if math.isfinite(hi - lo) else max(abs(v), 1e-300)
    tol = 1e-6 * span
    return (math.isfinite(lo) and v - lo <= tol) or (math.isfinite(hi) and hi - v <= tol)
