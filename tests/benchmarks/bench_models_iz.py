"""Ivanchenko-Zil'berman current for 256 bias points: continued fraction against an mpmath.besseli loop."""

from __future__ import annotations

import time

import mpmath
import numpy as np

from analysis.constants import E_CHARGE, HBAR, K_B
from analysis.models.josephson import iz_current, iz_vp, iz_x
from tests.benchmarks.common import Row, best_time

R, TEFF = 100.0, 66.0


def _mpmath_iz(V: np.ndarray, ic: float, dps: int) -> np.ndarray:
    """The straightforward reference: I = Ic Im[I_{1-i eta}(x)/I_{-i eta}(x)] point by point."""
    out = np.empty(V.size)
    with mpmath.workdps(dps):
        x = mpmath.mpf(iz_x(ic, TEFF))
        vp = iz_vp(R, TEFF)
        for k, v in enumerate(V):
            eta = mpmath.mpf(float(v) / vp)
            out[k] = float(ic * mpmath.im(mpmath.besseli(1 - 1j * eta, x) / mpmath.besseli(-1j * eta, x)))
    return out


def bench_iz_vs_mpmath(quick: bool) -> list[Row]:
    xs = (0.1, 10.0) if quick else (0.1, 1.0, 10.0, 80.0)
    t_cf = 0.0
    t_mp = 0.0
    worst = 0.0
    for x in xs:
        ic = x * 2.0 * E_CHARGE * K_B * TEFF / HBAR
        span = 5.0 * max(iz_vp(R, TEFF), ic * R)
        V = np.linspace(-span, span, 256)
        t_cf += best_time(lambda V=V, ic=ic: iz_current(V, ic, R, TEFF), repeat=7)
        t0 = time.perf_counter()
        _mpmath_iz(V, ic, 15)  # what a plain mpmath loop costs at its default precision
        t_mp += time.perf_counter() - t0
        ref = _mpmath_iz(V, ic, 30)  # the accuracy reference
        got = iz_current(V, ic, R, TEFF)
        nz = ref != 0
        worst = max(worst, float(np.max(np.abs(got[nz] / ref[nz] - 1.0))))
    ratio = t_mp / t_cf
    n = len(xs)
    return [
        Row(
            "IZ current 256 points: continued fraction vs mpmath",
            ratio,
            ">= 100x",
            ratio >= 100.0,
            note=f"{t_cf / n * 1e3:.2f} ms vs {t_mp / n * 1e3:.0f} ms per curve, x in {xs}",
        ),
        Row(
            "IZ current 256 points: max relative deviation from mpmath",
            worst,
            "<= 1e-10",
            worst <= 1e-10,
            unit="",
        ),
    ]


BENCHMARKS = [bench_iz_vs_mpmath]
