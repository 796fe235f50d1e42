"""Batch fits of the models on the shared energy grid (two-band SIS, SIS, d-wave SIN/SIS) and of the IZ
phase-diffusion conductance against an lmfit loop of the same model, one core each.

Ratios are of CPU time (this process; the machine is shared, wall time is given beside it). Every method
gets the same data, the same starting values (the model's ``guess`` on each spectrum, fixed
parameters at their true values) and the same tolerances (ftol = xtol = 1e-10). The lmfit loop
(``lmfit.Model.fit`` per spectrum, finite-difference Jacobian of ``evaluate``) is timed on a random subset of
the pixels and scaled to the grid (said in the row). A pixel agrees when every free parameter is within 0.1
standard error of the reference or, for energies, within 1e-4 meV (as in ``bench_fitting``).

Rows:

* two-band SIS conductance (MgB2 tip fixed, as in the demo QP grid: sample pi and sigma gaps, sigma weight,
  both Gammas and G_N free), 128 x 128 x 256 (quick: 24 x 24): >= 50x the lmfit loop, >= 99 % of the
  pixels agreeing, and a per-pixel cost <= 3x that of the batched Dynes SIN fit of ``bench_fitting``'s grid
  (measured here on a grid of the same size and start strategy);
* SIS conductance, d-wave SIN, d-wave SIS conductance and IZ conductance, 32 x 32 x 256 pixels
  (quick: 12 x 12): each >= 20x its lmfit loop;
* single fits of every registered model (the fit dock's path) on 400 points: each < 1 s of CPU.
"""

from __future__ import annotations

import time

import numpy as np

from tests.benchmarks.common import Row

TOL = 1e-10
BUDGET_TWO_BAND = 50.0
BUDGET_AGREE = 0.99
BUDGET_PER_PIXEL = 3.0
BUDGET_OTHERS = 20.0


def _smooth(n_side: int, seed: int) -> np.ndarray:
    """(n_side^2,) smooth map in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n_side, 0:n_side] / max(n_side - 1, 1)
    a, b = rng.uniform(1, 4, 2)
    return (0.5 + 0.5 * np.sin(a * xx + 1) * np.sin(b * yy + 0.5)).ravel()


def _grid_case(name: str, n_side: int, seed: int = 0):
    """(model, x, Y, P_true, fixed {name: value}) for the benchmark of model ``name``."""
    from analysis.models.registry import get_model

    m = get_model(name)
    rng = np.random.default_rng(seed)
    n = n_side * n_side
    s = _smooth(n_side, seed)
    t = {**m.defaults(), **(m.contract_values or {})}
    fixed: dict[str, float] = {}
    if name == "two_band_sis_conductance":
        from analysis.demo import grids as demo

        x = np.linspace(-15e-3, 15e-3, 256)
        t.update(
            {
                "Delta_pi_t": demo.TIP_DELTA_PI,
                "Delta_sigma_t": demo.TIP_DELTA_SIGMA,
                "w_sigma_t": demo.W_SIGMA_TIP,
                "Gamma_pi": demo.GAMMA_PI,
                "Gamma_sigma": demo.GAMMA_SIGMA,
                "T": demo.T_K,
            }
        )
        fixed = {k: t[k] for k in ("Delta_pi_t", "Delta_sigma_t", "w_sigma_t")}
        P = np.tile([t[k] for k in m.param_names], (n, 1))
        j = m.param_names.index
        P[:, j("Delta_pi_s")] = 1.6e-3 + 1.2e-3 * s
        P[:, j("Delta_sigma_s")] = P[:, j("Delta_pi_s")] * demo.SIGMA_TO_PI
    else:
        x = np.linspace(m.example_x().min(), m.example_x().max(), 256)
        P = np.tile([t[k] for k in m.param_names], (n, 1))
        free = m.contract_recover or tuple(p.name for p in m.params if p.vary)
        fixed = {k: t[k] for k in m.param_names if k not in free and m.param(k).vary}
        gap = next((k for k in free if k.startswith("Delta")), None)
        if gap is not None:
            P[:, m.param_names.index(gap)] *= 0.9 + 0.2 * s
        elif "R" in free:
            P[:, m.param_names.index("R")] *= 0.8 + 0.4 * s
    Y = m.evaluate_batch(x, P)
    Y += 0.01 * np.median(np.abs(Y)) * rng.standard_normal(Y.shape)
    return m, x, Y, P, fixed


def _lmfit_loop(model, x, Y, P0, vary, idx, lm=None):
    lm = lm or model.lmfit_model()
    names = model.param_names
    out = np.empty((idx.size, len(names)))
    for a, i in enumerate(idx):
        params = lm.make_params()
        for j, nme in enumerate(names):
            params[nme].set(value=P0[i, j], vary=bool(vary[j]))
        with np.errstate(all="ignore"):
            res = lm.fit(Y[i], params, x=x, fit_kws={"ftol": TOL, "xtol": TOL})
        out[a] = [res.params[nme].value for nme in names]
    return out


def _agree(vals, se, ref, vary, units) -> np.ndarray:
    ok = np.ones(vals.shape[0], bool)
    for j in np.flatnonzero(vary):
        tol = 0.1 * se[:, j]
        if units[j] == "eV":
            tol = np.maximum(tol, 1e-7)
        ok &= np.abs(vals[:, j] - ref[:, j]) <= tol
    return ok


def _previous_lmfit_model(m):
    """An lmfit model of ``m`` evaluated as before the shared-grid numerics: one FFT correlation of the
    model's DOS objects per call (``m._iv``, :func:`analysis.models.numerics.sis_iv`)."""
    import lmfit

    from analysis.models.base import _signature

    names = m.param_names

    def func(x, **kw):
        return kw["G_N"] * m._iv(np.asarray(x, float), kw)[1]

    func.__signature__ = _signature(["x", *names])
    lm = lmfit.Model(func, independent_vars=["x"], param_names=names)
    for p in m.params:
        lm.set_param_hint(p.name, value=p.default, min=p.min, max=p.max, vary=p.vary)
    return lm


def _run(name: str, n_side: int, n_ref: int, previous: int = 0):
    """(batch result, batch wall s, batch CPU s, lmfit wall s and CPU s scaled to the grid, agreement, n,
    n_ref, previous-evaluation lmfit CPU s scaled to the grid or NaN)."""
    from analysis.fitting.batch import FitOptions, fit_batch, guess_starts

    m, x, Y, _P, fixed = _grid_case(name, n_side)
    opts = FitOptions(fixed=fixed, ftol=TOL, xtol=TOL)
    vary, _lo, _hi = opts.resolved(m)
    P0 = guess_starts(m, x, Y, opts)
    n = Y.shape[0]
    m.evaluate_batch(x, P0[:2])  # grids and caches, as the loop gets after its first pixel
    c0, t0 = time.process_time(), time.perf_counter()
    res = fit_batch(m, x, Y, P0, opts)
    t_batch, c_batch = time.perf_counter() - t0, time.process_time() - c0
    rng = np.random.default_rng(1)
    idx = np.sort(rng.choice(n, size=min(n_ref, n), replace=False))
    c0, t0 = time.process_time(), time.perf_counter()
    ref = _lmfit_loop(m, x, Y, P0, vary, idx)
    t_lm = (time.perf_counter() - t0) / idx.size * n
    c_lm = (time.process_time() - c0) / idx.size * n
    units = [p.unit for p in m.params]
    agree = float(np.mean(_agree(res.values[idx], res.stderr[idx], ref, vary, units)))
    c_prev = float("nan")
    if previous:
        sub = idx[:previous]
        c0 = time.process_time()
        _lmfit_loop(m, x, Y, P0, vary, sub, lm=_previous_lmfit_model(m))
        c_prev = (time.process_time() - c0) / sub.size * n
    return res, t_batch, c_batch, (t_lm, c_lm), agree, n, idx.size, c_prev


def _dynes_per_pixel(n_side: int) -> tuple[float, float]:
    """(wall, CPU) seconds per pixel of the batched Dynes SIN fit of ``bench_fitting``'s grid, per-pixel
    guesses as the start (the same strategy as the two-band row)."""
    from analysis.fitting.batch import FitOptions, fit_batch, guess_starts
    from tests.benchmarks.bench_fitting import make_grid

    model, x, Y, _ = make_grid(n_side)
    opts = FitOptions(ftol=TOL, xtol=TOL)
    P0 = guess_starts(model, x, Y, opts)
    model.evaluate_batch(x, P0[:2])
    c0, t0 = time.process_time(), time.perf_counter()
    fit_batch(model, x, Y, P0, opts)
    return (time.perf_counter() - t0) / Y.shape[0], (time.process_time() - c0) / Y.shape[0]


def bench_two_band_sis(quick: bool) -> list[Row]:
    from analysis.fitting.parallel import single_threaded_blas

    with single_threaded_blas():
        side = 24 if quick else 128
        res, t_b, c_b, (t_lm, c_lm), agree, n, n_ref, c_prev = _run(
            "two_band_sis_conductance", side, 8 if quick else 24, previous=2 if quick else 4
        )
        d_wall, d_cpu = _dynes_per_pixel(side)
    size = f"{side}x{side}x256"
    per = c_b / n
    ratio = per / d_cpu
    return [
        Row(
            f"two-band SIS batch fit {size} vs lmfit loop (CPU)",
            c_lm / c_b,
            f">= {BUDGET_TWO_BAND:g}x",
            c_lm / c_b >= BUDGET_TWO_BAND,
            note=f"batch {c_b:.1f} s CPU ({t_b:.1f} s wall) on one core, {int(res.success.sum())}/{n} "
            f"converged; lmfit loop of the same model {c_lm:.0f} s CPU ({t_lm:.0f} s wall), timed on {n_ref} "
            f"random pixels and scaled to {n}; the loop evaluating the model as before this change "
            f"(one sis_iv FFT per call) {c_prev:.0f} s CPU, i.e. {c_prev / c_b:.0f}x",
        ),
        Row(
            f"two-band SIS batch fit {size}: pixels agreeing with lmfit",
            agree * 100,
            f">= {BUDGET_AGREE * 100:g}%",
            agree >= BUDGET_AGREE,
            unit="%",
            note=f"{n_ref} pixels; 0.1 sigma or 1e-4 meV",
        ),
        Row(
            f"two-band SIS batch fit {size}: per-pixel cost / Dynes (CPU)",
            ratio,
            f"<= {BUDGET_PER_PIXEL:g}x",
            ratio <= BUDGET_PER_PIXEL,
            note=f"{per * 1e3:.1f} ms vs {d_cpu * 1e3:.2f} ms CPU per pixel (wall {t_b / n * 1e3:.1f} vs "
            f"{d_wall * 1e3:.2f} ms)",
        ),
    ]


def _compiled() -> str:
    from analysis.models import accel

    return "yes" if accel.AVAILABLE else "no (numpy path)"


def bench_grid_models(quick: bool) -> list[Row]:
    from analysis.fitting.parallel import single_threaded_blas

    side = 12 if quick else 32
    rows = []
    for name in ("sis_conductance", "dwave_sin", "dwave_sis_conductance", "iz_conductance"):
        with single_threaded_blas():
            res, t_b, c_b, (t_lm, c_lm), agree, n, n_ref, _ = _run(name, side, 4 if quick else 12)
        rows.append(
            Row(
                f"{name} batch fit {side}x{side}x256 vs lmfit loop (CPU)",
                c_lm / c_b,
                f">= {BUDGET_OTHERS:g}x",
                c_lm / c_b >= BUDGET_OTHERS,
                note=f"batch {c_b:.1f} s CPU ({t_b:.1f} s wall), {int(res.success.sum())}/{n} converged; "
                f"lmfit {c_lm:.0f} s CPU ({t_lm:.0f} s wall) on {n_ref} pixels scaled to {n}; "
                f"agreeing {agree * 100:.0f}%; compiled kernels (numba): {_compiled()}",
            )
        )
    return rows


def bench_single_fits(quick: bool) -> list[Row]:
    """Every registered model fitted once, as the fit dock does (:func:`fit_spectrum` from the model's guess),
    to 400 points of its own curve with 0.2 % noise: the slowest fit's CPU time against 1 s."""
    from analysis.fitting.single import fit_spectrum
    from analysis.models.registry import registry

    times = {}
    for m in sorted(registry().items(), key=lambda m: m.name):
        x0 = np.asarray(m.example_x(), float)
        x = np.linspace(x0.min(), x0.max(), 400)
        t = {**m.defaults(), **(m.contract_values or {})}
        y = m(x, **t)
        y = y + 0.002 * np.ptp(y) * np.random.default_rng(1).standard_normal(x.size)
        fit_spectrum(m, x, y)  # first call: imports, caches, compiled kernels
        best = np.inf
        for _ in range(1 if quick else 3):
            c0 = time.process_time()
            fit_spectrum(m, x, y)
            best = min(best, time.process_time() - c0)
        times[m.name] = best
    worst = max(times, key=times.get)
    slow = ", ".join(f"{k} {v:.2f} s" for k, v in sorted(times.items(), key=lambda kv: -kv[1])[:4])
    return [
        Row(
            f"single fit, 400 points, slowest of {len(times)} models (CPU)",
            times[worst],
            "< 1 s",
            times[worst] < 1.0,
            unit=" s",
            note=f"slowest: {slow}",
        )
    ]


BENCHMARKS = [bench_two_band_sis, bench_grid_models, bench_single_fits]
