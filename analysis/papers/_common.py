"""Small helpers shared by the paper analyses: input checks and line fits with uncertainties."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np

from analysis.errors import WorkbenchError

T = TypeVar("T")


class AnalysisError(WorkbenchError, ValueError):
    """Input an analysis cannot work with (too few points, mismatched arrays, values out of range)."""


def as_pair(x, y, names: str = "x and y", min_points: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Finite (x, y) float arrays of equal length (raises :class:`AnalysisError`)."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise AnalysisError(f"{names} differ in length ({x.size} and {y.size})")
    ok = np.isfinite(x) & np.isfinite(y)
    if np.count_nonzero(ok) < min_points:
        raise AnalysisError(f"{names}: need at least {min_points} finite points, got {np.count_nonzero(ok)}")
    return x[ok], y[ok]


@dataclass(frozen=True)
class LineFit:
    """y = slope x + intercept with one-sigma errors from the residual scatter; ``n`` points."""

    slope: float
    intercept: float
    slope_err: float
    intercept_err: float
    n: int


def line_fit(x: np.ndarray, y: np.ndarray) -> LineFit:
    """Ordinary least-squares line with standard errors (x, y: (n,), n >= 3)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    if n < 3:
        raise AnalysisError("a line fit needs at least 3 points")
    xm = x.mean()
    sxx = float(np.sum((x - xm) ** 2))
    if sxx == 0:
        raise AnalysisError("a line fit needs at least two distinct x values")
    k = float(np.sum((x - xm) * (y - y.mean())) / sxx)
    b = float(y.mean() - k * xm)
    res = y - (k * x + b)
    s2 = float(np.sum(res**2)) / (n - 2)
    k_err = math.sqrt(s2 / sxx)
    b_err = math.sqrt(s2 * (1.0 / n + xm * xm / sxx))
    return LineFit(k, b, k_err, b_err, n)


def noise_sigma(y: np.ndarray) -> float:
    """Point-to-point noise of a smooth curve from its second difference (robust, MAD-based)."""
    d2 = np.diff(np.asarray(y, dtype=float), 2)
    if d2.size < 3:
        return 0.0
    return 1.4826 * float(np.median(np.abs(d2 - np.median(d2)))) / math.sqrt(6.0)


def result_parts(result: Any) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(scalars, arrays) of a result dataclass whose fields are floats or arrays: the form a project
    attachment stores (arrays as float64)."""
    scalars: dict[str, float] = {}
    arrays: dict[str, np.ndarray] = {}
    for k, v in asdict(result).items():
        if isinstance(v, np.ndarray):
            arrays[k] = np.asarray(v, dtype=np.float64)
        else:
            scalars[k] = float(v)
    return scalars, arrays


def result_from_parts(cls: type[T], scalars: dict[str, Any], arrays: dict[str, Any]) -> T:
    """The result dataclass ``cls`` from :func:`result_parts`' output; unknown names are ignored (a
    project from a newer version), missing ones keep their defaults."""
    names = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    kw: dict[str, Any] = {k: float(v) for k, v in scalars.items() if k in names}
    kw.update({k: np.asarray(v, dtype=np.float64) for k, v in arrays.items() if k in names})
    return cls(**kw)


def known_fields(cls: type[T], values: dict[str, Any]) -> T:
    """Settings dataclass ``cls`` from a dict, ignoring names it does not have."""
    names = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    return cls(**{k: v for k, v in values.items() if k in names})
