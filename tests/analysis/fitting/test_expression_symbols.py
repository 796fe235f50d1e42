"""Parameter expressions see the parameters and mathematics only (issue 16, item 10): lmfit evaluates them
with asteval, which blocks imports and dunders but offered ``open()``, numpy's file readers and ``print``."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from analysis.errors import FitError
from analysis.fitting.single import EXPR_SYMBOLS, MathParameters, fit_spectrum
from analysis.models.registry import get_model


@pytest.fixture(scope="module")
def data():
    model = get_model("dynes_sin")
    x = np.linspace(-5e-3, 5e-3, 201)
    return model, x, model.evaluate(x, **model.defaults())


@pytest.mark.parametrize(
    "expr",
    [
        "len(open('/etc/hostname').read()) * 0 + Delta",
        "fromfile('/etc/hostname')[0] * 0 + Delta",
        "loadtxt('/etc/hostname') * 0 + Delta",
        "print('x') or Delta",
        "type(Delta)",
        "__import__('os')",
    ],
)
def test_expressions_cannot_reach_files_or_the_interpreter(data, tmp_path, expr):
    model, x, y = data
    with pytest.raises(FitError, match="parameter expression: name '.*' is not defined"):
        fit_spectrum(model, x, y, settings={"Gamma": {"expr": expr}})


def test_mathematical_expressions_still_work(data):
    model, x, y = data
    fit = fit_spectrum(model, x, y, settings={"Gamma": {"expr": "sqrt(Delta**2) / 2 + 0 * sin(pi) * exp(1)"}})
    p = {q.name: q for q in fit.record.params}
    assert p["Gamma"].value == pytest.approx(p["Delta"].value / 2)
    assert p["Gamma"].expr.startswith("sqrt(")


def test_a_syntax_error_is_a_fit_error(data):
    model, x, y = data
    with pytest.raises(FitError, match=r"parameter Gamma: expression 'Delta \+'"):
        fit_spectrum(model, x, y, settings={"Gamma": {"expr": "Delta +"}})


def test_copies_keep_the_restriction():
    params = MathParameters()
    params.add("a", value=1.0)
    for copied in (copy.deepcopy(params), params.copy()):
        table = copied._asteval.symtable
        assert isinstance(copied, MathParameters)
        assert "open" not in table and "fromfile" not in table and "print" not in table
        assert set(table) <= EXPR_SYMBOLS | {"a"}
        assert "sqrt" in table and "pi" in table
