"""Lengths read off a scalar profile along a line cut: a step (tanh) or a decay (exponential) fit.

Definitions (distance ``d`` in metres along the cut):

* **step**: ``y(d) = A tanh((d - d0) / w) + B``. The length is the tanh width ``w`` (> 0): the profile
  covers 76% of its full step ``2A`` between ``d0 - w`` and ``d0 + w``; its 10-90% width is
  ``2 artanh(0.8) w = 2.197 w``.
* **decay**: ``y(d) = A exp(-(d - d0) / xi) + B`` with ``d0`` fixed at the first distance of the fitted
  range (A and d0 are not separately identifiable). The length is the decay length ``xi`` (> 0); a
  recovery towards ``B`` from below has ``A < 0``.

Fits use :func:`scipy.optimize.curve_fit` (Levenberg-Marquardt / trust region) with data-driven starting
values; the uncertainty of every parameter is the square root of the covariance diagonal scaled by the
reduced chi-square (no per-point errors are assumed). NaN samples are ignored.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from analysis.errors import FitError

KINDS = ("step", "decay")
KIND_TITLES = {
    "step": "step: A tanh((d - d0)/w) + B",
    "decay": "decay: A exp(-(d - d0)/xi) + B",
}


def tanh_step(d: np.ndarray, a: float, d0: float, w: float, b: float) -> np.ndarray:
    """``a * tanh((d - d0) / w) + b``."""
    return a * np.tanh((np.asarray(d, dtype=float) - d0) / w) + b


def exp_decay(d: np.ndarray, a: float, xi: float, b: float, d0: float = 0.0) -> np.ndarray:
    """``a * exp(-(d - d0) / xi) + b``."""
    return a * np.exp(-(np.asarray(d, dtype=float) - d0) / xi) + b


@dataclass(frozen=True)
class ProfileFit:
    """Result of :func:`fit_profile`.

    ``params`` and ``stderr`` map parameter names (``a``, ``d0``, ``w``, ``b`` for a step; ``a``, ``xi``,
    ``b``, ``d0`` for a decay, ``d0`` fixed) to values in SI units (distances in metres, amplitudes in the
    profile's unit). ``length`` / ``length_err`` are ``w`` or ``xi`` in metres. ``d``, ``y`` are the
    samples that were fitted, ``redchi`` the residual variance.
    """

    kind: str
    params: dict[str, float]
    stderr: dict[str, float]
    length: float
    length_err: float
    d: np.ndarray
    y: np.ndarray
    redchi: float
    fixed: dict[str, float] = field(default_factory=dict)

    def evaluate(self, d: np.ndarray) -> np.ndarray:
        """The fitted curve at distances ``d`` (metres)."""
        p = self.params
        if self.kind == "step":
            return tanh_step(d, p["a"], p["d0"], p["w"], p["b"])
        return exp_decay(d, p["a"], p["xi"], p["b"], p["d0"])

    def summary(self) -> str:
        """One line: the length with its uncertainty in nm."""
        name = "w" if self.kind == "step" else "xi"
        return f"{name} = {self.length * 1e9:.3g} +/- {self.length_err * 1e9:.2g} nm"


def _clean(
    d: np.ndarray, y: np.ndarray, d_range: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(d, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if d.shape != y.shape:
        raise FitError(f"profile distance and values differ in length ({d.size} vs {y.size})")
    keep = np.isfinite(d) & np.isfinite(y)
    if d_range is not None:
        lo, hi = sorted(d_range)
        keep &= (d >= lo) & (d <= hi)
    d, y = d[keep], y[keep]
    order = np.argsort(d, kind="stable")
    d, y = d[order], y[order]
    if d.size < 5:
        raise FitError(f"a profile fit needs at least 5 finite samples in the range, got {d.size}")
    if not d[-1] > d[0]:
        raise FitError("the profile's samples all sit at the same distance")
    return d, y


def _ends(y: np.ndarray, frac: float = 0.15) -> tuple[float, float]:
    k = max(2, int(round(frac * y.size)))
    return float(np.mean(y[:k])), float(np.mean(y[-k:]))


def _guess_step(d: np.ndarray, y: np.ndarray) -> list[float]:
    y0, y1 = _ends(y)
    a = (y1 - y0) / 2 or (float(np.ptp(y)) / 2 or 1.0)
    b = (y1 + y0) / 2
    k = max(1, y.size // 20)
    smooth = np.convolve(y, np.ones(k) / k, mode="same")
    d0 = float(d[int(np.argmin(np.abs(smooth - b)))])
    # crude width from the 24-76% crossing distance (tanh(1) = 0.76)
    span = d[-1] - d[0]
    frac = (smooth - b) / a
    inside = np.flatnonzero(np.abs(frac) < 0.76)
    w = (float(d[inside[-1]] - d[inside[0]]) / 2) if inside.size >= 2 else span / 10
    w = float(np.clip(w, span / (2 * d.size), span))
    return [a, d0, w, b]


def _guess_decay(d: np.ndarray, y: np.ndarray) -> list[float]:
    y0, y1 = _ends(y, 0.1)
    b = y1
    a = y0 - b or (float(np.ptp(y)) or 1.0)
    span = d[-1] - d[0]
    rel = (y - b) / a
    below = np.flatnonzero(rel < math.exp(-1))
    xi = float(d[below[0]] - d[0]) if below.size and below[0] > 0 else span / 5
    xi = float(np.clip(xi, span / (2 * d.size), 2 * span))
    return [a, xi, b]


def fit_profile(
    d: np.ndarray,
    y: np.ndarray,
    kind: str = "step",
    d_range: tuple[float, float] | None = None,
) -> ProfileFit:
    """Fit a step (tanh) or a decay (exponential) to a profile ``y(d)`` (``d`` in metres).

    ``d_range`` (metres) limits the fit to part of the cut. Raises :class:`FitError` with a plain reason
    when there are too few samples or the fit does not converge to a finite length.
    """
    if kind not in KINDS:
        raise FitError(f"profile fit kind must be one of {KINDS}, got {kind!r}")
    d, y = _clean(d, y, d_range)
    # work in a scaled distance so the optimiser sees numbers of order one
    scale = float(d[-1] - d[0])
    origin = float(d[0])
    u = (d - origin) / scale
    yscale = float(np.max(np.abs(y))) or 1.0
    v = y / yscale
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            if kind == "step":
                a, d0, w, b = _guess_step(d, y)
                p0 = [a / yscale, (d0 - origin) / scale, w / scale, b / yscale]
                lower = [-np.inf, -1.0, 1e-6, -np.inf]
                upper = [np.inf, 2.0, 10.0, np.inf]
                popt, pcov = curve_fit(
                    lambda x, a, c, s, b: a * np.tanh((x - c) / s) + b, u, v, p0=p0, bounds=(lower, upper)
                )
            else:
                a, xi, b = _guess_decay(d, y)
                p0 = [a / yscale, xi / scale, b / yscale]
                lower = [-np.inf, 1e-6, -np.inf]
                upper = [np.inf, 100.0, np.inf]
                popt, pcov = curve_fit(
                    lambda x, a, s, b: a * np.exp(-x / s) + b, u, v, p0=p0, bounds=(lower, upper)
                )
    except (RuntimeError, ValueError) as exc:
        raise FitError(f"the {kind} fit did not converge: {exc}") from exc
    err = np.sqrt(np.abs(np.diag(pcov)))
    resid = v - (
        popt[0] * np.tanh((u - popt[1]) / popt[2]) + popt[3]
        if kind == "step"
        else popt[0] * np.exp(-u / popt[1]) + popt[2]
    )
    redchi = float(np.sum(resid**2) / max(u.size - len(popt), 1)) * yscale**2
    if kind == "step":
        params = {
            "a": popt[0] * yscale,
            "d0": popt[1] * scale + origin,
            "w": popt[2] * scale,
            "b": popt[3] * yscale,
        }
        stderr = {"a": err[0] * yscale, "d0": err[1] * scale, "w": err[2] * scale, "b": err[3] * yscale}
        length, length_err = params["w"], stderr["w"]
        fixed: dict[str, float] = {}
    else:
        params = {"a": popt[0] * yscale, "xi": popt[1] * scale, "b": popt[2] * yscale, "d0": origin}
        stderr = {"a": err[0] * yscale, "xi": err[1] * scale, "b": err[2] * yscale, "d0": 0.0}
        length, length_err = params["xi"], stderr["xi"]
        fixed = {"d0": origin}
    params = {k: float(v) for k, v in params.items()}
    stderr = {k: float(v) for k, v in stderr.items()}
    if not (math.isfinite(length) and math.isfinite(length_err)):
        raise FitError(f"the {kind} fit gave no finite length (is there a {kind} in the profile?)")
    return ProfileFit(kind, params, stderr, float(length), float(length_err), d, y, redchi, fixed)


__all__ = ["KINDS", "KIND_TITLES", "ProfileFit", "exp_decay", "fit_profile", "tanh_step"]
