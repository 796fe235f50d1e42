"""The batched Dynes SIN conductance inside the gap at low temperature against the exact BCS value.

At V = 0 and Gamma -> 0, G(0)/G_N = int N_BCS(E) (-df/dE) dE = 2 sum_n (-1)^(n+1) n a K_1(n a), a = Delta/kT
(expand -df/dE in powers of exp(-E/kT); each term integrates to a Bessel function). The in-gap value comes
from the coherence peaks through the tail of the thermal kernel, so a kernel cut at 20 kT around the bias
misses it once Delta > 20 kT."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import k1

from analysis.constants import K_B_EV
from analysis.models.bcs import dynes_sin_batch

DELTA = 1.5e-3


def exact_g0(ratio: float) -> float:
    a = 1.0 / ratio
    n = np.arange(1, 400)
    return float(2 * np.sum((-1.0) ** (n + 1) * n * a * k1(n * a)))


@pytest.mark.parametrize("ratio", [0.04, 0.05, 0.06, 0.1])
@pytest.mark.parametrize("npoints", [257, 601])
def test_zero_bias_conductance_matches_the_bessel_sum(ratio: float, npoints: int) -> None:
    V = np.linspace(-4 * DELTA, 4 * DELTA, npoints)
    T = ratio * DELTA / K_B_EV
    g = dynes_sin_batch(V, np.array([DELTA]), np.array([1e-14 * DELTA]), np.array([T]))[0]
    g0 = g[np.argmin(np.abs(V))]
    assert g0 == pytest.approx(exact_g0(ratio), rel=5e-4)


def test_result_does_not_depend_on_the_number_of_bias_points() -> None:
    T = 0.05 * DELTA / K_B_EV
    values = []
    for n in (129, 257, 601, 1201):
        V = np.linspace(-4 * DELTA, 4 * DELTA, n)
        g = dynes_sin_batch(V, np.array([DELTA]), np.array([1e-14 * DELTA]), np.array([T]))[0]
        values.append(g[np.argmin(np.abs(V))])
    assert np.ptp(values) / np.mean(values) < 1e-6
