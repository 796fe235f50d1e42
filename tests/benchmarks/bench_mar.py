"""Multiple Andreev reflection I(V): a 400-point curve of a 3-channel contact.

Direct evaluation of the Averin-Bardas ladder (``analysis.models.mar.mar_current``, biases -4..4 Delta/e,
transmissions 0.85, 0.4, 0.1, T = 0) against the budget of 1 s, and the tabulated evaluation used by the
channel fit (``MARTable.reduced`` after its one-off tabulation, reported in the note).
"""

from __future__ import annotations

import time

import numpy as np

from tests.benchmarks.common import Row, best_time

BUDGET_S = 1.0
DELTA = 1.35e-3
TAUS = [0.85, 0.4, 0.1]


def bench_mar_iv_three_channels(quick: bool) -> list[Row]:
    from analysis.models import mar

    V = np.linspace(-4 * DELTA, 4 * DELTA, 400)
    t_direct = best_time(lambda: mar.mar_current(V, TAUS, DELTA), repeat=1 if quick else 3)
    c0 = time.process_time()
    mar.mar_current(V, TAUS, DELTA)
    cpu_direct = time.process_time() - c0
    t0 = time.perf_counter()
    tab = mar.mar_table(0.0, v_max=5.0)
    t_build = time.perf_counter() - t0
    t_tab = best_time(lambda: tab.reduced(V / DELTA, TAUS), repeat=5)
    direct = mar.mar_current(V, TAUS, DELTA)
    table = mar.G0 * DELTA * tab.reduced(V / DELTA, TAUS)
    ok = np.isfinite(direct)
    dev = float(np.max(np.abs(direct[ok] - table[ok])) / np.max(np.abs(direct[ok])))
    return [
        Row(
            "MAR I(V) 400 pts x 3 channels, direct ladder",
            t_direct,
            f"< {BUDGET_S:g} s",
            t_direct < BUDGET_S,
            " s",
            f"CPU {cpu_direct:.2f} s; {np.count_nonzero(~ok)} points below {mar.V_MIN_FRACTION} Delta/e"
            " not computed",
        ),
        Row(
            "MAR I(V) 400 pts x 3 channels, tabulated (fits)",
            t_tab,
            f"< {BUDGET_S:g} s",
            t_tab < BUDGET_S,
            " s",
            f"one-off table {t_build:.1f} s; max deviation from direct {dev:.1e} of max |I|",
        ),
    ]


BENCHMARKS = [bench_mar_iv_three_channels]
