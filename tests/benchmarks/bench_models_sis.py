"""SIS quasiparticle current by FFT cross-correlation against direct quadrature, point by point.

Same junction for both (Dynes tip 1.4 meV and sample 1.1 meV, Gamma = 30 ueV each, T = 1.5 K), biases
-6..6 mV. The FFT evaluation (``analysis.models.numerics.sis_current``: one correlation on a fine grid,
cubic spline at the biases) is compared with ``scipy.integrate.quad`` of
Integral N_t(E) N_s(E + eV) [f(E) - f(E + eV)] dE at every bias (break points at the gap edges, thermal
window +-40 kT). Budgets: at least 10x faster, agreement within 2e-4 of max |I R_N|.

Sizes: 1024 biases (quick: 256).

A second row times the batched Dynes SIN model (``evaluate_batch`` + ``jacobian_batch``, 4096 x 256;
quick 1024) against the same calls looped one spectrum at a time (budget >= 2x, identical values).
"""

from __future__ import annotations

import cmath
import math
import time

import numpy as np

from tests.benchmarks.common import Row, best_time

BUDGET_SPEED = 10.0
BUDGET_DEV = 2e-4

DT, DS, GAMMA, T = 1.4e-3, 1.1e-3, 30e-6, 1.5


def _dos(e: float, d: float) -> float:
    z = complex(e, GAMMA)
    return (z / (cmath.sqrt(z - d) * cmath.sqrt(z + d))).real


def _fermi(e: float, kt: float) -> float:
    x = e / kt
    if x > 0:
        q = math.exp(-x)
        return q / (1.0 + q)
    return 1.0 / (1.0 + math.exp(x))


def direct_current(V: np.ndarray) -> np.ndarray:
    """I R_N (V) at every bias by adaptive quadrature over energy (scalar integrand, cmath)."""
    from scipy import integrate

    from analysis.constants import K_B_EV

    kt = K_B_EV * T
    out = np.empty(V.size)
    for k, v in enumerate(V):
        v = float(v)
        lo, hi = min(0.0, -v) - 40 * kt, max(0.0, -v) + 40 * kt
        pts = sorted(p for p in (-DT, DT, -DS - v, DS - v, 0.0, -v) if lo < p < hi)

        def f(e: float, v: float = v) -> float:
            return _dos(e, DT) * _dos(e + v, DS) * (_fermi(e, kt) - _fermi(e + v, kt))

        val, _ = integrate.quad(f, lo, hi, points=pts, limit=800, epsabs=1e-13, epsrel=1e-10)
        out[k] = val
    return out


def bench_sis_fft_vs_quadrature(quick: bool) -> list[Row]:
    from analysis.models.numerics import DynesDOS, sis_current

    n = 256 if quick else 1024
    V = np.linspace(-6e-3, 6e-3, n)
    tip, sample = DynesDOS(DT, GAMMA), DynesDOS(DS, GAMMA)
    t_fft = best_time(lambda: sis_current(V, tip, sample, T), repeat=5)
    fft = sis_current(V, tip, sample, T)
    sub = slice(None)
    t0 = time.perf_counter()
    ref = direct_current(V[sub])
    t_ref = time.perf_counter() - t0
    dev = float(np.max(np.abs(fft[sub] - ref)) / np.max(np.abs(ref)))
    speed = t_ref / t_fft
    note = f"FFT {t_fft * 1e3:.1f} ms, quad {t_ref:.2f} s for {n} points"
    return [
        Row(
            f"SIS current {n} pts: FFT vs quad speed",
            speed,
            f">= {BUDGET_SPEED:g}x",
            speed >= BUDGET_SPEED,
            "x",
            note,
        ),
        Row(
            f"SIS current {n} pts: max |FFT - quad| / max|I|",
            dev,
            f"<= {BUDGET_DEV:g}",
            dev <= BUDGET_DEV,
            "",
        ),
    ]


BUDGET_BATCH = 2.0


def bench_dynes_batch_vs_loop(quick: bool) -> list[Row]:
    """Batched Dynes SIN evaluation + analytic Jacobian (what a batch fitter calls per iteration) against a
    loop of the same calls one spectrum at a time."""
    from analysis.models.bcs import DynesSIN

    n = 1024 if quick else 4096
    m = DynesSIN()
    x = np.linspace(-5e-3, 5e-3, 256)
    rng = np.random.default_rng(0)
    P = np.tile([m.defaults()[k] for k in m.param_names], (n, 1))
    P[:, 0] = 2e-8
    P[:, 1] = rng.uniform(1.2e-3, 1.5e-3, n)
    P[:, 2] = rng.uniform(5e-5, 1.5e-4, n)
    m.jacobian_batch(x, P[:1])  # warm the kernel cache for both paths

    def batch() -> None:
        m.evaluate_batch(x, P)
        m.jacobian_batch(x, P)

    sub = P[: max(64, n // 8)]

    def loop() -> None:
        for k in range(sub.shape[0]):
            m.evaluate_batch(x, sub[k : k + 1])
            m.jacobian_batch(x, sub[k : k + 1])

    t_batch = best_time(batch, repeat=3)
    t_loop = best_time(loop, repeat=3) * (n / sub.shape[0])
    Y = m.evaluate_batch(x, sub)
    same = max(
        float(np.max(np.abs(Y[k] - m.evaluate_batch(x, sub[k : k + 1])[0]))) for k in range(sub.shape[0])
    )
    ratio = t_loop / t_batch
    note = f"batch {t_batch * 1e3:.0f} ms, loop {t_loop * 1e3:.0f} ms"
    note += f" ({sub.shape[0]} rows scaled), diff {same:.0e}"
    ok = ratio >= BUDGET_BATCH and same < 1e-20
    return [
        Row(f"Dynes SIN {n}x256 eval+Jacobian batch vs loop", ratio, f">= {BUDGET_BATCH:g}x", ok, "x", note)
    ]


BENCHMARKS = [bench_sis_fft_vs_quadrature, bench_dynes_batch_vs_loop]
