"""The contract every physical model plugin fulfils.

A model is a subclass of :class:`Model` with class attributes describing it and an ``evaluate`` method
vectorised over the independent variable. The batch fitter works on ``evaluate_batch`` and, when a model
gives one, ``jacobian_batch`` (through ``jacobian_columns``, the free parameters only); single fits use the
same engine for models with a Jacobian and :meth:`Model.lmfit_model` otherwise.

Units: the independent variable and every parameter are in SI units (V, A, S, Ohm, K, Hz) except energies,
which are given in eV (``unit="eV"``) so that a gap of 2.5 meV is ``2.5e-3`` and ``eV`` equals the bias in V.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class Param:
    """One model parameter: name, SI unit, default, bounds and a one-line description."""

    name: str
    unit: str
    default: float
    min: float = -math.inf
    max: float = math.inf
    description: str = ""
    vary: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Model(ABC):
    """Base class of physical models.

    Subclasses set the class attributes and implement :meth:`evaluate` (and usually :meth:`guess`).
    ``evaluate(x, **params)`` takes ``x`` (nb,) and scalar parameters and returns (nb,) float64.
    ``evaluate_batch(x, P)`` takes ``P`` (n, k) in the order of ``params`` and returns (n, nb); the default
    loops over rows, vectorised models override it. ``jacobian_batch(x, P)`` returns (n, nb, k) or None.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    family: ClassVar[str] = ""
    x_name: ClassVar[str] = "Bias"
    x_unit: ClassVar[str] = "V"
    y_name: ClassVar[str] = "dI/dV"
    y_unit: ClassVar[str] = "S"
    params: ClassVar[tuple[Param, ...]] = ()
    formula: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    has_jacobian: ClassVar[bool] = False

    # -- contract-test hints (used by the registry-wide contract test; safe defaults) -------------------
    #: Parameters a fit of noisy synthetic data must recover (the others are held at their true values).
    #: ``None`` means every parameter with ``vary=True``; ``()`` means recovery is not meaningful.
    contract_recover: ClassVar[tuple[str, ...] | None] = None
    #: Relative tolerance of that recovery (of |true|, or of the bounds' span when the true value is 0).
    contract_rtol: ClassVar[float] = 0.05
    #: True parameter values of the synthetic data (defaults when None).
    contract_values: ClassVar[dict[str, float] | None] = None
    #: Relative Gaussian noise (of the signal's peak-to-peak) added to the synthetic data.
    contract_noise: ClassVar[float] = 0.002

    # -- evaluation -------------------------------------------------------------------------------
    @abstractmethod
    def evaluate(self, x: np.ndarray, **params: float) -> np.ndarray:
        """(nb,) model values at ``x`` (nb,) for scalar parameters."""

    def evaluate_batch(self, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(n, nb) model values for parameter rows ``P`` (n, k)."""
        x = np.asarray(x, dtype=float)
        P = np.atleast_2d(np.asarray(P, dtype=float))
        names = self.param_names
        out = np.empty((P.shape[0], x.shape[0]))
        for i, row in enumerate(P):
            out[i] = self.evaluate(x, **dict(zip(names, row, strict=True)))
        return out

    def jacobian_batch(self, x: np.ndarray, P: np.ndarray) -> np.ndarray | None:
        """(n, nb, k) derivatives of the model with respect to each parameter, or None."""
        return None

    def jacobian_columns(self, x: np.ndarray, P: np.ndarray, columns: np.ndarray) -> np.ndarray | None:
        """(n, nb, len(columns)) derivatives with respect to the parameters with indices ``columns``, or
        None. Fitters call this with the free parameters only; models whose derivatives cost one pass per
        parameter override it, the default takes the columns of :meth:`jacobian_batch`."""
        J = self.jacobian_batch(x, P)
        return None if J is None else np.asarray(J)[..., np.asarray(columns, dtype=int)]

    def fit_jacobian_columns(self, x: np.ndarray, P: np.ndarray, columns: np.ndarray) -> np.ndarray | None:
        """The derivatives an iterative fitter steps with: :meth:`jacobian_columns` by default. A model may
        give them at a lower precision where that is cheaper (the Jacobian only sets the direction and the
        damping of a step; the residuals, the cost and the convergence tests stay in float64)."""
        return self.jacobian_columns(x, P, columns)

    def fit_values_and_jacobian(
        self, x: np.ndarray, P: np.ndarray, columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """((n, nb) values, (n, nb, len(columns)) :meth:`fit_jacobian_columns`) from one pass, or None
        (the default) when the derivatives cost a pass of their own. Models whose derivatives come nearly
        free with the values (forward mode through shared numerics) give them here, so that an iterative
        fitter gets the Jacobian of an accepted trial point without evaluating the model there again."""
        del x, P, columns
        return None

    def example_x(self) -> np.ndarray:
        """A representative independent-variable axis (previews, contract tests): +-10 mV, 201 points."""
        return np.linspace(-0.01, 0.01, 201)

    def __call__(self, x: np.ndarray, **params: float) -> np.ndarray:
        full = self.defaults()
        full.update(params)
        return self.evaluate(np.asarray(x, dtype=float), **full)

    # -- parameters -------------------------------------------------------------------------------
    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.params]

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"model {self.name!r} has no parameter {name!r}")

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) arrays (k,) in parameter order."""
        return (
            np.array([p.min for p in self.params], dtype=float),
            np.array([p.max for p in self.params], dtype=float),
        )

    def guess(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Starting values from data, inside the bounds. The default returns the defaults."""
        return self.defaults()

    def clip_to_bounds(self, values: Mapping[str, float]) -> dict[str, float]:
        out = {}
        for p in self.params:
            v = float(values.get(p.name, p.default))
            if not math.isfinite(v):
                v = p.default
            lo = p.min if math.isfinite(p.min) else -math.inf
            hi = p.max if math.isfinite(p.max) else math.inf
            out[p.name] = min(max(v, lo), hi)
        return out

    # -- lmfit --------------------------------------------------------------------------------------
    def lmfit_model(self):
        """An ``lmfit.Model`` wrapping :meth:`evaluate` with this model's parameter hints."""
        import lmfit

        names = self.param_names
        model = self

        def func(x, **kw):
            return model.evaluate(np.asarray(x, dtype=float), **{n: kw[n] for n in names})

        # lmfit inspects the signature: build one with explicit parameter names.
        func.__signature__ = _signature(["x", *names])  # type: ignore[attr-defined]
        func.__name__ = self.name
        lm = lmfit.Model(func, independent_vars=["x"], param_names=names, name=self.name)
        for p in self.params:
            lm.set_param_hint(p.name, value=p.default, min=p.min, max=p.max, vary=p.vary)
        return lm

    def make_params(self, **values: float):
        """``lmfit.Parameters`` with defaults, bounds and the given starting values."""
        params = self.lmfit_model().make_params()
        for k, v in values.items():
            params[k].set(value=float(v))
        return params

    # -- description and serialisation --------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "family": self.family,
            "x": {"name": self.x_name, "unit": self.x_unit},
            "y": {"name": self.y_name, "unit": self.y_unit},
            "params": [p.to_dict() for p in self.params],
            "formula": self.formula,
            "reference": self.reference,
        }

    def serialise_values(self, values: Mapping[str, float]) -> dict[str, Any]:
        """A JSON-able record of a parameter set of this model."""
        return {"model": self.name, "values": {n: float(values[n]) for n in self.param_names}}

    def deserialise_values(self, record: Mapping[str, Any]) -> dict[str, float]:
        if record.get("model") != self.name:
            raise ValueError(f"record is for model {record.get('model')!r}, not {self.name!r}")
        vals = record["values"]
        return {n: float(vals[n]) for n in self.param_names}


def _signature(names: list[str]):
    import inspect

    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
