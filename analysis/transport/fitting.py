"""Fits of a registered model across a series: each parameter per sweep or shared by all sweeps.

* Every parameter free per sweep, no expressions, and every sweep with the same x values: the batch engine
  (:func:`analysis.fitting.fit_batch`, vectorised Levenberg-Marquardt) fits all sweeps at once.
* Otherwise one lmfit minimisation over all sweeps: a shared parameter ``p`` is one lmfit parameter named
  ``p``; a per-sweep parameter is ``p_0``, ``p_1``... (by position among the fitted sweeps). An lmfit
  expression may tie any of them: ``{"Gamma": "0.1*Delta_{i}"}`` gives each sweep's ``Gamma_<i>`` the
  expression with ``{i}`` replaced by the sweep's position; an expression for a shared parameter is used
  as it is.

Starting values come from the model's own ``guess`` on each sweep (shared ones: the median of the
guesses) unless given. ``progress(done, total)`` and ``cancel`` (a threading.Event; raises
:class:`analysis.fitting.FitCancelled`) work on both paths. Results: :class:`SeriesFit`, per-sweep values
and standard errors against the sweeps' tags.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.errors import FitError
from analysis.fitting import AT_BOUND, CONVERGED, FitCancelled, FitOptions, fit_batch
from analysis.fitting.batch import guess_start
from analysis.models import Model, get_model
from analysis.series import Series
from analysis.transport.common import Progress, find_channel


@dataclass
class SeriesFit:
    """Outcome of :func:`fit_series`.

    ``values``, ``stderr``: (n, k) float64 in the model's parameter order (``param_names``; units in
    ``param_units``), one row per fitted sweep (``sweeps`` their indices in the series); a shared
    parameter has the same value in every row. ``success`` (n,) bool, ``redchi`` (n,) reduced chi-square
    of each sweep. ``tags`` {tag: (n,)} of the fitted sweeps, ``tag_units``. ``method`` ``"batch"`` or
    ``"global"``.
    """

    model: str
    x: str
    y: str
    param_names: list[str]
    param_units: dict[str, str]
    shared: list[str]
    fixed: dict[str, float]
    expressions: dict[str, str]
    sweeps: np.ndarray
    labels: list[str]
    values: np.ndarray
    stderr: np.ndarray
    success: np.ndarray
    redchi: np.ndarray
    tags: dict[str, np.ndarray] = field(default_factory=dict)
    tag_units: dict[str, str] = field(default_factory=dict)
    method: str = "global"
    message: str = ""

    def value(self, name: str) -> np.ndarray:
        """(n,) values of parameter ``name``."""
        return self.values[:, self.param_names.index(name)]

    def error(self, name: str) -> np.ndarray:
        """(n,) standard errors of parameter ``name`` (NaN when unknown or fixed)."""
        return self.stderr[:, self.param_names.index(name)]

    def table(self) -> list[dict[str, Any]]:
        """One row per sweep: ``sweep``, ``label``, the tags, each parameter and ``<name>_err``,
        ``success``, ``redchi``."""
        rows = []
        for r, i in enumerate(self.sweeps):
            row: dict[str, Any] = {"sweep": int(i), "label": self.labels[r]}
            row.update({t: float(v[r]) for t, v in self.tags.items()})
            for j, p in enumerate(self.param_names):
                row[p] = float(self.values[r, j])
                row[f"{p}_err"] = float(self.stderr[r, j])
            row["success"] = bool(self.success[r])
            row["redchi"] = float(self.redchi[r])
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (arrays as lists) for a project file."""
        return {
            "model": self.model,
            "x": self.x,
            "y": self.y,
            "param_names": self.param_names,
            "param_units": self.param_units,
            "shared": self.shared,
            "fixed": self.fixed,
            "expressions": self.expressions,
            "sweeps": self.sweeps.tolist(),
            "labels": self.labels,
            "values": self.values.tolist(),
            "stderr": self.stderr.tolist(),
            "success": self.success.tolist(),
            "redchi": self.redchi.tolist(),
            "tags": {k: v.tolist() for k, v in self.tags.items()},
            "tag_units": self.tag_units,
            "method": self.method,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SeriesFit:
        a = lambda k, dt=np.float64: np.asarray(d[k], dtype=dt)  # noqa: E731
        return cls(
            model=d["model"],
            x=d["x"],
            y=d["y"],
            param_names=list(d["param_names"]),
            param_units=dict(d["param_units"]),
            shared=list(d["shared"]),
            fixed=dict(d["fixed"]),
            expressions=dict(d["expressions"]),
            sweeps=a("sweeps", np.int64),
            labels=list(d["labels"]),
            values=a("values"),
            stderr=a("stderr"),
            success=a("success", bool),
            redchi=a("redchi"),
            tags={k: np.asarray(v, dtype=np.float64) for k, v in d["tags"].items()},
            tag_units=dict(d["tag_units"]),
            method=d["method"],
            message=d.get("message", ""),
        )


def _data(series: Series, idx: list[int], xc: str, yc: str, fit_range) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i in idx:
        s = series.sweeps[i]
        x = np.asarray(s.x if xc == series.x_channel else s.channels[xc], dtype=np.float64)
        y = np.asarray(s.channels[yc], dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        if fit_range is not None:
            a, b = sorted(float(v) for v in fit_range)
            ok &= (x >= a) & (x <= b)
        out.append((x[ok], y[ok]))
    return out


def _starts(model: Model, data, start, fixed: Mapping[str, float]) -> np.ndarray:
    names = model.param_names
    n, k = len(data), len(names)
    if start is None or (isinstance(start, str) and start == "guess"):
        opts = FitOptions(fixed=dict(fixed))
        return np.array([guess_start(model, x, y, opts) for x, y in data]).reshape(n, k)
    if isinstance(start, Mapping):
        row = model.clip_to_bounds({**model.defaults(), **start, **fixed})
        return np.tile([row[p] for p in names], (n, 1))
    P = np.asarray(start, dtype=np.float64)
    P = np.broadcast_to(P, (n, k)).copy() if P.ndim == 1 else P.copy()
    if P.shape != (n, k):
        raise FitError(f"starting values have shape {P.shape}, expected ({n}, {k})")
    return P


def fit_series(
    series: Series,
    model: str | Model,
    *,
    x: str | None = None,
    y: str | None = None,
    sweeps: Sequence[int] | None = None,
    shared: Sequence[str] = (),
    fixed: Mapping[str, float] | None = None,
    expressions: Mapping[str, str] | None = None,
    start: Any = "guess",
    fit_range: tuple[float, float] | None = None,
    max_nfev: int | None = None,
    progress: Progress = None,
    cancel: threading.Event | None = None,
) -> SeriesFit:
    """Fit ``model`` (a registered name or a Model) to channel ``y`` against channel ``x`` of the sweeps
    ``sweeps`` (default all) of ``series``; see the module docstring.

    ``x`` defaults to the channel in the model's x unit (the swept one if it has it), ``y`` to the channel
    in the model's y unit. ``fixed`` {param: value} holds parameters (and parameters the model marks
    ``vary=False`` stay at their value from ``start``); ``shared`` names parameters common to all sweeps;
    ``expressions`` lmfit constraints. ``start``: ``"guess"``, {param: value} for all sweeps, or a (n, k)
    array. ``fit_range`` (xmin, xmax) in x units. FitError on a bad set-up.
    """
    m = get_model(model) if isinstance(model, str) else model
    names = m.param_names
    fixed = {str(k): float(v) for k, v in (fixed or {}).items()}
    expressions = dict(expressions or {})
    for p in [*shared, *fixed, *expressions]:
        if p not in names:
            raise FitError(f"model {m.name!r} has no parameter {p!r} (it has {', '.join(names)})")
    try:
        xc = find_channel(series, m.x_unit, x)
        yc = find_channel(series, m.y_unit, y)
    except ValueError as exc:
        raise FitError(str(exc)) from None
    idx = list(range(len(series))) if sweeps is None else [int(i) for i in sweeps]
    if not idx:
        raise FitError("no sweep to fit")
    data = _data(series, idx, xc, yc, fit_range)
    for r, (xv, _yv) in enumerate(data):
        if xv.size <= len(names) - len(fixed):
            raise FitError(
                f"sweep {idx[r]} ({series.sweeps[idx[r]].label!r}) has too few finite points to fit"
            )
    P0 = _starts(m, data, start, fixed)
    for p, v in fixed.items():
        P0[:, names.index(p)] = v
    common_x = all(d[0].shape == data[0][0].shape and np.array_equal(d[0], data[0][0]) for d in data)
    if not shared and not expressions and common_x:
        out = _fit_batch(m, data, P0, fixed, max_nfev, progress, cancel)
    else:
        out = _fit_global(m, data, P0, list(shared), fixed, expressions, common_x, max_nfev, progress, cancel)
    values, stderr, success, redchi, method, message = out
    return SeriesFit(
        model=m.name,
        x=xc,
        y=yc,
        param_names=names,
        param_units={p.name: p.unit for p in m.params},
        shared=list(shared),
        fixed=fixed,
        expressions=expressions,
        sweeps=np.asarray(idx, dtype=np.int64),
        labels=[series.sweeps[i].label for i in idx],
        values=values,
        stderr=stderr,
        success=success,
        redchi=redchi,
        tags={t: v[idx].copy() for t, v in series.tags.items()},
        tag_units={t: series.tag_unit(t) for t in series.tags},
        method=method,
        message=message,
    )


def _fit_batch(m: Model, data, P0, fixed, max_nfev, progress, cancel):
    x = data[0][0]
    Y = np.stack([d[1] for d in data])
    opts = FitOptions(fixed=dict(fixed), max_iter=max_nfev or 200)
    res = fit_batch(m, x, Y, P0, opts, progress=progress, cancel=cancel)
    ok = (res.status == CONVERGED) | (res.status == AT_BOUND)
    return res.values, res.stderr, ok, res.redchi, "batch", res.summary()


def _fit_global(m: Model, data, P0, shared, fixed, expressions, common_x, max_nfev, progress, cancel):
    import lmfit

    names = m.param_names
    n, k = P0.shape
    lo, hi = m.bounds()
    params = lmfit.Parameters()
    for j, p in enumerate(m.params):
        vary = p.vary and p.name not in fixed
        if p.name in shared:
            v = float(np.median(P0[:, j]))
            params.add(p.name, value=v, min=lo[j], max=hi[j], vary=vary)
            if p.name in expressions:
                params[p.name].set(expr=expressions[p.name])
        else:
            for i in range(n):
                params.add(f"{p.name}_{i}", value=float(P0[i, j]), min=lo[j], max=hi[j], vary=vary)
    for p, expr in expressions.items():
        if p not in shared:
            for i in range(n):
                params[f"{p}_{i}"].set(expr=expr.replace("{i}", str(i)))
    keys = [[p if p in shared else f"{p}_{i}" for p in names] for i in range(n)]
    y_all = np.concatenate([d[1] for d in data])
    batched = common_x and type(m).evaluate_batch is not Model.evaluate_batch

    def model_rows(pv) -> list[np.ndarray]:
        P = np.array([[pv[key] for key in row] for row in keys])
        if batched:
            return list(m.evaluate_batch(data[0][0], P))
        return [m.evaluate(d[0], **dict(zip(names, P[i]))) for i, d in enumerate(data)]

    def residual(pars) -> np.ndarray:
        r = np.concatenate(model_rows(pars.valuesdict())) - y_all
        return np.where(np.isfinite(r), r, 1e30)

    limit = max_nfev or 200 * (len(params) + 1)

    def iter_cb(_pars, it, _resid, *a, **kw) -> bool:
        if progress is not None:
            progress(min(int(it), limit), limit)
        return bool(cancel is not None and cancel.is_set())

    if cancel is not None and cancel.is_set():
        raise FitCancelled("series fit cancelled")
    res = lmfit.minimize(residual, params, method="leastsq", iter_cb=iter_cb, max_nfev=limit)
    if getattr(res, "aborted", False) or (cancel is not None and cancel.is_set()):
        raise FitCancelled("series fit cancelled")
    if progress is not None:
        progress(limit, limit)
    values = np.empty((n, k))
    stderr = np.full((n, k), np.nan)
    for i in range(n):
        for j, key in enumerate(keys[i]):
            par = res.params[key]
            values[i, j] = par.value
            if par.stderr is not None and (par.vary or par.expr):
                stderr[i, j] = float(par.stderr)
    rows = model_rows(res.params.valuesdict())
    nfree = max(1, len(params) - sum(not p.vary or p.expr is not None for p in params.values()))
    redchi = np.empty(n)
    for i, (r, d) in enumerate(zip(rows, data)):
        dof = max(1, d[1].size - nfree / n)
        redchi[i] = float(np.sum((r - d[1]) ** 2) / dof)
    success = np.full(n, bool(res.success) and math.isfinite(res.chisqr))
    return values, stderr, success, redchi, "global", str(res.message)
