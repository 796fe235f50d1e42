"""Paper analyses: the joint attenuator calibration with the Eq. 6 law, and the stack simulator.

Calibration: Josephson steps N = 0, 2 following Eq. 6 (Sn, 25.7 GHz, 41 attenuator settings, 10-30 dB,
C = 8.4 mV) and photon-assisted steps n = 1, 3, fitted for one C (``analysis.papers.microwave.
joint_attenuator_calibration``, law "werthamer") against the budget of 5 s. The direct path (the model
module's calibration with the exact Eq. 6 law in every trial C) costs one Eq. 6 evaluation per step and
trial C: it is timed on 5 trial C values and scaled to the number its grid search visits (its
least-squares refinement is not counted, so the estimate is a lower bound); the ratio is reported.

Stack simulator: N = 1..30 uniform-heating S-curves with the simulator's default d-wave family, cold
(including the one-off tabulation of the family) and warm (family cached), against 5 s.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import special

from tests.benchmarks.common import Row, best_time

BUDGET_CAL_S = 5.0
BUDGET_RATIO = 30.0
BUDGET_STACK_S = 5.0
F, GAP, R = 25.7e9, 0.5875e-3, 5.4


def _steps():
    from analysis.models import microwave as mw

    c_true = 8.4e-3
    i0 = mw.riedel_zero_voltage(GAP, R)
    att = np.linspace(10.0, 30.0, 41)
    alpha = mw.photon_ratio(mw.rf_voltage_from_attenuation(att, c_true), F)
    rng = np.random.default_rng(11)
    steps = []
    for n in (0, 2):
        amp = 0.8 * mw.werthamer_riedel_step_amplitude(n, alpha, F, GAP, R, damping=1e-3)
        steps.append(mw.StepData("josephson", n, att, amp + rng.normal(0, 0.003 * i0, att.size)))
    q = alpha < 12
    for n in (1, 3):
        steps.append(mw.StepData("qp", n, att[q], 5e-5 * special.jv(n, alpha[q]) ** 2))
    return steps, c_true


def bench_attenuator_calibration_eq6(quick: bool) -> list[Row]:
    from analysis.models import microwave as mw
    from analysis.papers import microwave as pm

    steps, c_true = _steps()
    t0 = time.perf_counter()
    cal = pm.joint_attenuator_calibration(steps, F, law="werthamer", delta=GAP)
    t_new = time.perf_counter() - t0
    i0 = mw.riedel_zero_voltage(GAP, R)

    def law(order, alpha):
        return mw.werthamer_riedel_step_amplitude(order, alpha, F, GAP, R, damping=1e-3) / i0

    a_min = min(float(s.attenuation.min()) for s in steps)
    grid = mw._c_search_grid(a_min, F, 0.05, 150.0)  # the grid the direct path searches
    probe = grid[:: max(grid.size // 5, 1)][:5]

    def designs() -> None:
        for c in probe:
            for s in steps:
                if s.kind == "josephson":
                    law(s.order, mw.photon_ratio(mw.rf_voltage_from_attenuation(s.attenuation, c), F))

    t_probe = best_time(designs, repeat=1)
    t_old = t_probe / probe.size * grid.size
    ratio = t_old / t_new
    err = abs(cal.c / c_true - 1)
    note = f"C off by {err:.1e}; direct path >= {t_old:.0f} s ({grid.size} trial C)"
    return [
        Row(
            "attenuator calibration, Eq. 6 law (joint J + QP)",
            t_new,
            f"<= {BUDGET_CAL_S:g} s",
            t_new <= BUDGET_CAL_S and err < 2e-3,
            " s",
            note,
        ),
        Row(
            "attenuator calibration, Eq. 6: speed-up vs direct",
            ratio,
            f">= {BUDGET_RATIO:g}x",
            ratio >= BUDGET_RATIO,
            "x",
        ),
    ]


def bench_stack_simulation(quick: bool) -> list[Row]:
    from analysis.models import heating as ht
    from analysis.papers import mesa

    p = mesa.default_stack_parameters(4.2)
    ht._FAMILY_CACHE.pop(p, None)  # cold: the equilibrium family is tabulated inside the timing
    t0 = time.perf_counter()
    mesa.simulate_stacks(range(1, 31), 110e3, 4.2, 24.2, params=p)
    t_cold = time.perf_counter() - t0
    t_warm = best_time(lambda: mesa.simulate_stacks(range(1, 31), 110e3, 4.2, 24.2, params=p), repeat=2)
    return [
        Row(
            "stack simulation N = 1..30, cold (family built)",
            t_cold,
            f"< {BUDGET_STACK_S:g} s",
            t_cold < BUDGET_STACK_S,
            " s",
        ),
        Row(
            "stack simulation N = 1..30, family cached",
            t_warm,
            f"< {BUDGET_STACK_S:g} s",
            t_warm < BUDGET_STACK_S,
            " s",
        ),
    ]


BENCHMARKS = [bench_attenuator_calibration_eq6, bench_stack_simulation]
