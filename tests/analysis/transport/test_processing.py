"""Processing steps against known answers, on synthetic series made with the models."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from analysis.hooks import Cancelled
from analysis.models.point_contact import sgs_positions
from analysis.series import make_series
from analysis.transport import (
    average_repeats,
    derivative,
    estimate_offsets,
    import_series,
    normalise_rn,
    onto_grid,
    per_junction,
    remove_offsets,
    resistance_power,
    subtract_series_resistance,
    symmetrise,
    tag_map,
    to_current_grid,
    to_voltage_grid,
)
from tests.analysis.transport.synthetic import (
    MESA_AREA,
    MESA_H_A,
    MESA_R_MIN,
    MESA_T_STAR,
    NECK_FIELDS,
    mesa_spectrum,
    neck_delta,
    neck_iv,
    neck_sweep,
    shapiro_step_halfwidth,
    shapiro_sweep,
    write_mesa_files,
    write_neck_files,
)

R, A3 = 100.0, 2e3  # I = V/R + A3 V^3


def cubic_series(rng, n_sweeps=3, voltage_biased=True):
    """Up/down sweeps on non-uniform voltage points (an even step of 0.5 mV with +-40 % jitter):
    I = V/R + A3 V^3, dI/dV = 1/R + 3 A3 V^2."""
    sweeps = []
    for _ in range(n_sweeps):
        up = np.linspace(-0.1, 0.1, 401) + rng.uniform(-0.2e-3, 0.2e-3, 401)
        v = np.r_[up, up[::-1][1:]]
        sweeps.append({"V": v, "I": v / R + A3 * v**3})
    return make_series(sweeps, x_channel="V" if voltage_biased else "I", units={"V": "V", "I": "A"})


def test_didv_on_non_uniform_up_down_sweeps(rng):
    s = cubic_series(rng)
    d = derivative(s)
    assert "dI/dV" in d.units and d.units["dI/dV"] == "S"
    for sw in d.sweeps:
        v, g = sw.x, sw.channel("dI/dV")
        inner = np.abs(v) < 0.09
        np.testing.assert_allclose(g[inner], 1 / R + 3 * A3 * v[inner] ** 2, rtol=1e-3, atol=1e-2)
    step = d.metadata["derivative_step"]
    assert d.provenance[-1]["parameters"]["step"] == step
    assert step == pytest.approx(5e-4, rel=0.1)  # the median spacing of the points
    spl = derivative(s.select([0]), method="spline")
    v, g = spl.sweeps[0].x, spl.sweeps[0].channel("dI/dV")
    inner = np.abs(v) < 0.09
    np.testing.assert_allclose(g[inner], 1 / R + 3 * A3 * v[inner] ** 2, rtol=5e-3, atol=5e-3)


def test_dvdi_and_didv_of_a_current_biased_neck():
    i, v = neck_sweep(0.0)
    s = make_series([{"I": i, "V": v}], x_channel="I", units={"I": "A", "V": "V"})
    dvdi = derivative(s)  # along the swept current
    assert dvdi.provenance[-1]["parameters"]["y"] == "V" and dvdi.units["dV/dI"] == "Ohm"
    assert dvdi.metadata["derivative_step"] == pytest.approx(i[1] - i[0])
    vv = np.linspace(-6e-3, 6e-3, 200001)
    g_true = np.gradient(neck_iv(vv, 0.0), vv)
    r = dvdi.sweeps[0].channel("dV/dI")
    sel = (np.abs(v) > 3.5e-3) & (np.abs(v) < 4e-3)  # smooth, ohmic-like part
    np.testing.assert_allclose(r[sel], 1 / np.interp(v[sel], vv, g_true), rtol=2e-3)
    didv = derivative(s, y="I", x="V")  # (dI/dI)/(dV/dI) along the sweep
    np.testing.assert_allclose(didv.sweeps[0].channel("dI/dV")[sel], np.interp(v[sel], vv, g_true), rtol=2e-3)


def test_common_voltage_grid_and_back(rng):
    s = cubic_series(rng, voltage_biased=False)
    g = to_voltage_grid(s, step=1e-3)
    assert g.x_channel == "V" and g.x_unit == "V" and g.bias_mode == "current"
    grid = g.sweeps[0].x
    assert grid[1] - grid[0] == pytest.approx(1e-3)
    for sw, orig in zip(g.sweeps, s.sweeps):
        ok = np.isfinite(sw.channel("I"))
        assert ok.sum() > 0.98 * grid.size
        up = slice(0, 401)  # both branches hold the same points: linear interpolation of either
        expected = np.interp(grid, orig.channel("V")[up], orig.channel("I")[up])
        np.testing.assert_allclose(sw.channel("I")[ok], expected[ok], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(expected[ok], grid[ok] / R + A3 * grid[ok] ** 3, atol=1e-4)
    d = derivative(g, y="I", x="V")  # NaN beyond a sweep's range: each finite run on its own
    gd = d.sweeps[0].channel("dI/dV")
    ok = np.isfinite(gd)
    assert ok.sum() > 0.95 * grid.size
    np.testing.assert_allclose(gd[ok], 1 / R + 3 * A3 * grid[ok] ** 2, rtol=0.02, atol=0.5)
    back = to_current_grid(g, grid=np.linspace(-5e-4, 5e-4, 11))
    assert back.x_channel == "I"
    v = back.sweeps[0].channel("V")
    np.testing.assert_allclose(back.sweeps[0].x, np.interp(v, grid, g.sweeps[0].channel("I")), atol=1e-12)


def test_offsets_are_found_from_the_point_symmetry():
    i, v = neck_sweep(0.0, n=801)
    s = make_series(
        [{"I": i + 3e-6, "V": v + 2e-4}, {"I": i - 1e-6, "V": v}], x_channel="I", units={"I": "A", "V": "V"}
    )
    v0, i0 = estimate_offsets(v + 2e-4, i + 3e-6)
    assert v0 == pytest.approx(2e-4, abs=5e-6) and i0 == pytest.approx(3e-6, abs=2e-7)
    out = remove_offsets(s)
    np.testing.assert_allclose(out.tag("V0"), [2e-4, 0], atol=5e-6)
    np.testing.assert_allclose(out.tag("I0"), [3e-6, -1e-6], atol=2e-7)
    fixed = remove_offsets(s, v0=[2e-4, 0.0], i0=0.0)
    np.testing.assert_allclose(fixed.sweeps[0].channel("V"), v, atol=1e-15)
    np.testing.assert_allclose(fixed.sweeps[0].x, i + 3e-6)
    assert fixed.provenance[-1] == {
        "operation": "remove_offsets",
        "parameters": {"voltage": "V", "current": "I", "v0": [2e-4, 0.0], "i0": 0.0},
        "inputs": [s.name],
    }


def test_symmetrise_and_antisymmetrise():
    v = np.r_[np.linspace(-1, 1, 201), np.linspace(1, -1, 201)[1:]]
    even, odd = np.cos(3 * v), v**3 + np.sin(v)
    s = make_series([{"V": v, "G": even + odd}], x_channel="V", units={"V": "V", "G": "S"})
    sym = symmetrise(s, "G").sweeps[0].channel("G")
    anti = symmetrise(s, "G", antisymmetric=True).sweeps[0].channel("G")
    np.testing.assert_allclose(sym, even, atol=1e-12)
    np.testing.assert_allclose(anti, odd, atol=1e-12)


def test_series_resistance_junction_count_and_rn():
    i, v = neck_sweep(0.0, n=801, i_max=1e-3)
    s = make_series([{"I": i, "V": v}] * 2, x_channel="I", units={"I": "A", "V": "V"}, tags={"N": [1, 4]})
    rs = subtract_series_resistance(s, [5.0, 0.0])
    np.testing.assert_allclose(rs.sweeps[0].channel("V"), v - 5.0 * i)
    d = derivative(s)
    pj = per_junction(d, "N", conductances=("dV/dI",))
    np.testing.assert_allclose(pj.sweeps[1].channel("V"), v / 4)
    np.testing.assert_allclose(pj.sweeps[1].channel("dV/dI"), d.sweeps[1].channel("dV/dI") / 4)
    n = normalise_rn(s, v_min=10e-3, conductances=())
    np.testing.assert_allclose(n.tag("R_N"), 20.0, rtol=1e-3)  # the neck's R_N, excess current aside
    assert n.tag_unit("R_N") == "Ohm"
    np.testing.assert_allclose(n.sweeps[0].channel("I R_N"), i * n.tag("R_N")[0])


def test_heated_mesa_resistance_and_heat_load(tmp_path):
    paths = write_mesa_files(tmp_path)
    s = import_series(paths, patterns={"T_B": "mesa_{}K.csv"}).series
    s.set_tag("area", [MESA_AREA] * len(s), "m^2")
    out = resistance_power(s, area="area")
    assert out.units["R"] == "Ohm" and out.units["P/area"] == "W/m^2"
    for k, tb in enumerate(s.tag("T_B")):
        sp = mesa_spectrum(tb)
        v, i, _ = sp.swept()
        keep = np.isin(sp.V, v)
        T = sp.T[keep][1:]  # the first point has I = 0
        sw = out.sweeps[k]
        np.testing.assert_allclose(sw.channel("P/area")[1:] * MESA_AREA, MESA_H_A * (T - tb), rtol=1e-6)
        r_true = 0.5 * MESA_R_MIN * (MESA_T_STAR / T + T / MESA_T_STAR)
        np.testing.assert_allclose(sw.channel("R")[1:], r_true, rtol=1e-6)
        np.testing.assert_allclose(sw.channel("R*area")[1:], r_true * MESA_AREA, rtol=1e-6)
        assert np.isnan(sw.channel("R")[0])


def test_repeated_sweeps_are_averaged_and_binned(rng):
    v = np.linspace(-1, 1, 51)
    sweeps = [{"V": v, "I": v * (1 + h) + rng.normal(0, 0.01, v.size)} for h in (0.0, 0.0, 0.0, 1.0, 1.02)]
    s = make_series(sweeps, x_channel="V", units={"V": "V", "I": "A"}, tags={"H": [0, 0, 0, 1.0, 1.02]})
    avg = average_repeats(s, "H")
    assert len(avg) == 3 and list(avg.tag("n_averaged")) == [3, 1, 1]
    mean0 = np.mean([s.sweeps[k].channel("I") for k in range(3)], axis=0)
    np.testing.assert_allclose(avg.sweeps[0].channel("I"), mean0)
    binned = average_repeats(s, "H", bin_width=0.1)
    assert list(binned.tag("n_averaged")) == [3, 2] and binned.tag("H")[1] == pytest.approx(1.01)
    shifted = make_series(
        [{"V": v, "I": v}, {"V": v + 0.01, "I": v + 0.01}],
        x_channel="V",
        units={"V": "V", "I": "A"},
        tags={"H": [0.0, 0.0]},
    )
    one = average_repeats(shifted, "H").sweeps[0]
    np.testing.assert_allclose(one.channel("I"), one.x, atol=1e-12)  # put on a common grid first


def test_neck_map_of_dvdi_against_v_and_h_shows_the_subharmonic_gap_structure(tmp_path):
    paths = write_neck_files(tmp_path)
    s = import_series(paths, patterns={"H": "neck3_{}T.dat"}).series
    d = derivative(s)
    m = tag_map(d, "dV/dI", "H", x="V", step=5e-6)
    assert m.values.shape == (len(NECK_FIELDS), m.x.size) and m.x_unit == "V" and m.tag_unit == "T"
    np.testing.assert_allclose(m.tag, NECK_FIELDS)
    for h in NECK_FIELDS:
        row = m.row(h)
        delta = neck_delta(h)
        for vn in sgs_positions(delta, 2):  # dV/dI peaks at e V_n = 2 Delta/n
            win = (m.x > 0.85 * vn) & (m.x < 1.15 * vn)
            x_max = m.x[win][np.nanargmax(row[win])]
            assert x_max == pytest.approx(vn, rel=0.01)
    x0, t0, w, hgt = m.rect
    assert w == pytest.approx(m.x[-1] - m.x[0] + (m.x[1] - m.x[0]))
    assert t0 == pytest.approx(-0.02) and hgt == pytest.approx(0.16)


def test_shapiro_fan_map_against_current_and_rf_power():
    powers = [-20.0, -15.0, -10.0, -5.0, 0.0, 10.0]  # dBm, unevenly spaced
    sweeps = [dict(zip(("I", "V"), shapiro_sweep(p))) for p in powers]
    s = make_series(
        sweeps, x_channel="I", units={"I": "A", "V": "V"}, tags={"P_rf": powers}, tag_units={"P_rf": "dBm"}
    )
    d = derivative(s, window=3, order=1)
    m = tag_map(d, "dV/dI", "P_rf")
    assert m.x_name == "I" and m.tag_unit == "dBm"
    assert m.tag.size == 7 and np.allclose(np.diff(m.tag), 5.0)  # an even grid, nearest sweep per row
    assert list(m.row_tag) == [-20, -15, -10, -5, 0, 0, 10]  # 5 dBm: the nearer (lower) sweep
    di = m.x[1] - m.x[0]
    mid = int(np.argmin(np.abs(m.x)))
    for p in powers:
        flat = np.abs(m.row(p)) < 1e-9  # the zero-voltage step: dV/dI = 0 around I = 0
        lo, hi = mid, mid
        while lo > 0 and flat[lo - 1]:
            lo -= 1
        while hi < flat.size - 1 and flat[hi + 1]:
            hi += 1
        assert m.x[hi] - m.x[lo] == pytest.approx(2 * shapiro_step_halfwidth(p), abs=4 * di)


def test_processing_reports_progress_and_cancels(rng):
    s = cubic_series(rng, n_sweeps=4)
    seen = []
    onto_grid(s, "V", step=1e-3, progress=lambda d, n: seen.append((d, n)))
    assert seen[-1] == (4, 4)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        derivative(s, cancel=ev)
    with pytest.raises(ValueError, match="no tag 'H'"):
        tag_map(s, "I", "H")
    with pytest.raises(ValueError, match="no channel 'G'"):
        symmetrise(s, "G")


def test_a_processing_chain_replays_from_its_provenance(rng):
    from analysis.transport.operations import replay, replay_chain

    i, v = neck_sweep(0.0, n=801, i_max=1e-3)
    s = make_series(
        [{"I": i + 1e-6, "V": v + 1e-4}, {"I": i, "V": 1.01 * v}],
        x_channel="I",
        units={"I": "A", "V": "V"},
        tags={"N": [2, 2], "H": [0.0, 0.0]},
    )
    chain = remove_offsets(s)
    chain = subtract_series_resistance(chain, 0.5)
    chain = to_voltage_grid(chain, step=2e-5)
    chain = derivative(chain, y="I", x="V")
    chain = symmetrise(chain, "dI/dV")
    chain = per_junction(chain, "N", conductances=("dI/dV",))
    chain = normalise_rn(chain, 6e-3, conductances=("dI/dV",))
    chain = resistance_power(chain)
    chain = average_repeats(chain, "H")
    again = replay_chain(s, chain.provenance)
    assert [p["operation"] for p in again.provenance] == [p["operation"] for p in chain.provenance]
    for name in chain.units:
        np.testing.assert_array_equal(again.sweeps[0].channel(name), chain.sweeps[0].channel(name))
    with pytest.raises(ValueError, match="cannot be replayed"):
        replay(s, {"operation": "import", "parameters": {}})


def test_waterfall_offsets_follow_the_tag_order():
    from analysis.transport.maps import waterfall_offsets

    v = np.linspace(-1, 1, 11)
    s = make_series(
        [{"V": v, "I": k * v} for k in (1, 2, 3)],
        x_channel="V",
        units={"V": "V", "I": "A"},
        tags={"T": [4.2, 1.5, 3.0]},
    )
    np.testing.assert_allclose(waterfall_offsets(s, "I", tag="T"), [2.0, 0.0, 1.0])  # spacing 4/4
    np.testing.assert_allclose(waterfall_offsets(s, "I", spacing=0.5), [0.0, 0.5, 1.0])
