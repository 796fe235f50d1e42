"""Import of sweep files into a series: tags from names, headers and tables; splitting; bad input; QCoDeS
and Labber layouts."""

from __future__ import annotations

import io
import json
import sqlite3

import h5py
import numpy as np
import pytest

from analysis.errors import ReadError
from analysis.hooks import Cancelled
from analysis.transport import import_series, preview_tags, read_series_files, read_tag_table
from analysis.transport.importing import read_text_sweep
from analysis.transport.labber import read_labber
from analysis.transport.qcodes_db import list_runs, read_qcodes_db
from analysis.transport.tags import TagPatternError, compile_pattern, parse_number
from tests.analysis.transport.synthetic import NECK_FIELDS, neck_sweep, write_neck_files
from tests.conftest import shared_file


def test_neck_files_import_by_file_name_pattern(tmp_path):
    paths = write_neck_files(tmp_path)
    res = import_series(paths, patterns={"H": "neck3_{}T.dat"})
    s = res.series
    assert res.problems == [] and len(s) == len(NECK_FIELDS)
    np.testing.assert_allclose(s.tag("H"), NECK_FIELDS)
    assert s.tag_unit("H") == "T"
    assert s.bias_mode == "current" and s.x_channel == "I" and s.units == {"I": "A", "V": "V"}
    i, v = neck_sweep(NECK_FIELDS[2])
    np.testing.assert_allclose(s.sweeps[2].x, i)
    np.testing.assert_allclose(s.sweeps[2].channel("V"), v, rtol=1e-12, atol=1e-15)  # mV -> V
    assert s.provenance[-1]["operation"] == "import"


def test_pattern_units_minus_signs_and_wildcards():
    p = compile_pattern("run_{H:mT}mT_*_{T}K.csv")
    assert p.match("/data/run_m12p5mT_up_4.2K.csv") == {"H": pytest.approx(-0.0125), "T": 4.2}
    assert parse_number("0,25") == 0.25 and parse_number("n3") == -3.0
    assert compile_pattern("x_{P_rf:dBm}.dat").match("x_-10.dat") == {"P_rf": -10.0}
    with pytest.raises(TagPatternError, match="no {tag} field"):
        compile_pattern("neck.dat")
    with pytest.raises(TagPatternError, match="no tag name"):
        compile_pattern("neck_{}.dat")


def test_preview_names_the_file_that_does_not_match(tmp_path):
    pv = preview_tags([tmp_path / "neck3_0.1T.dat", tmp_path / "neck3_zeroT.dat"], {"H": "neck3_{}T.dat"})
    assert pv[0].ok and pv[0].values == {"H": 0.1}
    assert not pv[1].ok and "neck3_zeroT.dat" in pv[1].error and "neck3_{}T.dat" in pv[1].error


def test_bad_files_are_reported_by_name_and_the_rest_imported(tmp_path):
    paths = write_neck_files(tmp_path, fields=(0.0, 0.1))
    odd = tmp_path / "neck3_0.2T.dat"
    odd.write_text("I (A)\tV (mV)\tT (K)\n1\t2\t3\n2\t3\t4\n")
    nan = tmp_path / "neck3_0.3T.dat"
    nan.write_text("I (A)\tV (mV)\nnan\tnan\nnan\tnan\n")
    stray = tmp_path / "notes_0.4.dat"
    stray.write_text("I (A)\tV (mV)\n1\t2\n2\t3\n")
    broken = tmp_path / "neck3_0.5T.dat"
    broken.write_text("I (A)\tV (mV)\n1\t2\n2\tabc\n")
    res = import_series([*paths, odd, nan, stray, broken], patterns="neck3_{H}T.dat")
    assert len(res.series) == 2 and res.files == [str(p) for p in paths]
    msgs = res.messages
    assert len(msgs) == 4
    assert "neck3_0.2T.dat" in msgs[0] and "differ from those of neck3_0T.dat and 1 other file(s)" in msgs[0]
    assert "neck3_0.3T.dat" in msgs[1] and "no finite values" in msgs[1]
    assert "notes_0.4.dat" in msgs[2] and "does not match" in msgs[2]
    assert "neck3_0.5T.dat" in msgs[3] and "line 3" in msgs[3]
    assert res.series.warnings[-4:] == msgs


def test_one_file_split_at_turning_points_and_by_a_column(tmp_path):
    i = np.r_[np.linspace(0, 1e-6, 51), np.linspace(1e-6, -1e-6, 101)[1:], np.linspace(-1e-6, 0, 51)[1:]]
    p = tmp_path / "loop.csv"
    np.savetxt(p, np.c_[i * 1e6, 10 * i], header="I (uA), V (V)", delimiter=",", comments="")
    s = import_series([p], split="turning_points").series
    assert len(s) == 3 and list(s.tag("direction")) == [1, -1, 1]
    np.testing.assert_allclose(s.sweeps[1].x[[0, -1]], [1e-6, -1e-6])
    q = tmp_path / "fields.txt"
    rows = [[h, v, v / 100 * (1 + h)] for h in (0.0, 0.5, 1.0) for v in np.linspace(-1, 1, 11)]
    np.savetxt(q, rows, header="B (mT) V (V)  I (A)", comments="# T = 1.5 K\n")
    res = import_series([q], split="column", split_column="B", x_channel="V", header={"T": "T"})
    assert res.problems == []
    s = res.series
    assert len(s) == 3 and s.bias_mode == "voltage"
    np.testing.assert_allclose(s.tag("B"), [0.0, 5e-4, 1e-3])
    np.testing.assert_allclose(s.tag("T"), 1.5)
    assert "B" not in s.units and s.sweeps[2].channel("I")[-1] == pytest.approx(0.01 * (1 + 1.0))


def test_the_odd_file_is_the_one_left_out_even_when_it_comes_first(tmp_path):
    odd = tmp_path / "a_0.dat"
    odd.write_text("I (A)\tV (mV)\tT (K)\n1\t2\t3\n2\t3\t4\n")
    good = []
    for k in (1, 2, 3):
        g = tmp_path / f"a_{k}.dat"
        g.write_text("I (A)\tV (mV)\n1\t2\n2\t3\n")
        good.append(g)
    res = import_series([odd, *good], patterns={"n": "a_{}.dat"})
    assert res.files == [str(g) for g in good] and list(res.series.tag("n")) == [1, 2, 3]
    assert (
        len(res.problems) == 1 and "a_0.dat" in res.messages[0] and "a_1.dat and 2 other" in res.messages[0]
    )


def test_nanonis_file_of_repeated_sweeps_gives_one_sweep_each(tmp_path):
    from analysis.io.nanonis_write import write_dat

    v = np.linspace(-5e-3, 5e-3, 11)
    cols = {"Bias calc (V)": v}
    for k in (1, 2, 3):
        cols[f"Current [{k:05d}] (A)"] = v * k
        cols[f"Current [{k:05d}] [bwd] (A)"] = v * k + 1e-12
    cols["Current [AVG] (A)"] = v * 2
    p = tmp_path / "rep.dat"
    write_dat(p, cols, {"Bias Spectroscopy>Number of sweeps": "3"})
    s = import_series([p]).series
    assert (
        len(s) == 3 and list(s.tag("repeat")) == [1, 2, 3] and s.units == {"Bias calc": "V", "Current": "A"}
    )
    sw = s.sweeps[2]
    np.testing.assert_allclose(sw.x, np.r_[v, v[::-1]])
    np.testing.assert_allclose(sw.channel("Current"), np.r_[3 * v, 3 * v[::-1] + 1e-12], atol=1e-15)


def test_tags_from_a_table_and_progress_and_cancel(tmp_path):
    paths = write_neck_files(tmp_path, fields=(0.0, 0.1, 0.15))
    t = tmp_path / "tags.csv"
    t.write_text("file,T (mK),P_rf (dBm)\nneck3_0T.dat,300,-10\nneck3_0.1T.dat,450,\n")
    table, units = read_tag_table(t)
    assert units == {"T": "K", "P_rf": "dBm"}
    seen = []
    s = import_series(paths, table=table, tag_units=units, progress=lambda d, n: seen.append((d, n))).series
    np.testing.assert_allclose(s.tag("T"), [0.3, 0.45, np.nan])
    assert np.isnan(s.tag("P_rf")[1]) and s.tag_unit("P_rf") == "dBm"
    assert seen[-1] == (3, 3)
    import threading

    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        import_series(paths, cancel=ev)
    t.write_text("file,T\nneck3_0T.dat,warm\n")
    with pytest.raises(ReadError, match="line 2"):
        read_tag_table(t)


def test_text_reader_slow_path_matches_the_fast_one(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("# sample = x\nV;I\n0,5;1,0\n1,5;2,0\n2,5;;\n")
    r = read_text_sweep(a)
    np.testing.assert_allclose(r.columns["V"], [0.5, 1.5, 2.5])
    np.testing.assert_allclose(r.columns["I"], [1.0, 2.0, np.nan])
    assert r.units == {"V": "V", "I": "A"} and r.metadata["sample"] == "x"


def test_blank_and_comment_lines_inside_tables_of_a_batch(tmp_path):
    paths = []
    for k, text in enumerate(
        ["V\tI\n1\t2\n\n3\t4\n", "V\tI\n1\t2\n# pause\n3\t4\n\n\n", "V\tI\n1\t2\n3\t4\n"]
    ):
        p = tmp_path / f"f{k}.txt"
        p.write_text(text)
        paths.append(p)
    res = import_series(paths)
    assert res.problems == [] and len(res.series) == 3
    for sw in res.series.sweeps:
        np.testing.assert_array_equal(sw.x, [1.0, 3.0])
        np.testing.assert_array_equal(sw.channel("I"), [2.0, 4.0])


def test_a_commented_header_line_names_the_columns(tmp_path):
    a = tmp_path / "saved.txt"
    np.savetxt(a, np.c_[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], header="run 3\nI (nA)  V (mV)")
    r = read_text_sweep(a)
    assert r.units == {"I": "A", "V": "V"}
    np.testing.assert_allclose(r.columns["V"], [4e-3, 5e-3, 6e-3])


def test_real_nanonis_file_keeps_the_measurement_order():
    p = shared_file("nanonis/i_v.dat")
    s = import_series([p]).series
    sw = s.sweeps[0]
    x = sw.x
    n = x.size // 2
    assert s.bias_mode == "voltage" and s.x_unit == "V"
    assert x[0] == pytest.approx(-8e-3) and x[n - 1] == pytest.approx(8e-3) and x[-1] == pytest.approx(-8e-3)
    assert len(sw.segments()) == 2


def _npy(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def make_qcodes_db(path, arrays: bool = False):
    """A database with the QCoDeS layout: run 1 a field (outer, mT) x bias (inner, mV) sweep of current;
    run 2 without dependent parameters."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE experiments (exp_id INTEGER PRIMARY KEY, name TEXT, sample_name TEXT)")
    con.execute(
        "CREATE TABLE runs (run_id INTEGER PRIMARY KEY, exp_id INTEGER, name TEXT, result_table_name TEXT, "
        "result_counter INTEGER, run_timestamp INTEGER, is_completed INTEGER, run_description TEXT, "
        "guid TEXT)"
    )
    con.execute("INSERT INTO experiments VALUES (1, 'neck', 'Pb')")
    kind = "array" if arrays else "numeric"
    specs = [
        {
            "name": "field",
            "paramtype": kind,
            "label": "B",
            "unit": "mT",
            "inferred_from": [],
            "depends_on": [],
        },
        {
            "name": "bias",
            "paramtype": kind,
            "label": "Bias",
            "unit": "mV",
            "inferred_from": [],
            "depends_on": [],
        },
        {
            "name": "curr",
            "paramtype": kind,
            "label": "I",
            "unit": "nA",
            "inferred_from": [],
            "depends_on": ["field", "bias"],
        },
    ]
    desc = json.dumps({"version": 3, "interdependencies": {"paramspecs": specs}, "shapes": None})
    con.execute("INSERT INTO runs VALUES (1, 1, 'iv_vs_B', 'results-1-1', 1, 0, 1, ?, 'g1')", (desc,))
    lone = [
        {"name": "t", "paramtype": "numeric", "label": "", "unit": "s", "depends_on": "", "inferred_from": ""}
    ]
    desc2 = json.dumps({"version": 0, "interdependencies": {"paramspecs": lone}})
    con.execute("INSERT INTO runs VALUES (2, 1, 'clock', 'results-1-2', 2, 0, 1, ?, 'g2')", (desc2,))
    con.execute(
        'CREATE TABLE "results-1-1" (id INTEGER PRIMARY KEY, "field" '
        + kind
        + ', "bias" '
        + kind
        + ', "curr" '
        + kind
        + ")"
    )
    con.execute('CREATE TABLE "results-1-2" (id INTEGER PRIMARY KEY, "t" numeric)')
    v = np.linspace(-1, 1, 21)
    for b in (0.0, 50.0, 100.0):
        if arrays:
            con.execute(
                'INSERT INTO "results-1-1" (field, bias, curr) VALUES (?, ?, ?)',
                (_npy(np.full(v.size, b)), _npy(v), _npy(v * (1 + b / 100))),
            )
        else:
            con.executemany(
                'INSERT INTO "results-1-1" (field, bias, curr) VALUES (?, ?, ?)',
                [(b, float(x), float(x * (1 + b / 100))) for x in v],
            )
    con.commit()
    con.close()


@pytest.mark.parametrize("arrays", [False, True])
def test_qcodes_run_is_a_series_with_setpoints_as_tags(tmp_path, arrays):
    db = tmp_path / "exp.db"
    make_qcodes_db(db, arrays)
    assert [r["run_id"] for r in list_runs(db)] == [1, 2]
    (s,) = read_qcodes_db(db)
    assert len(s) == 3 and s.x_channel == "bias" and s.bias_mode == "voltage"
    np.testing.assert_allclose(s.tag("field"), [0.0, 0.05, 0.1])
    assert s.tag_unit("field") == "T" and s.units == {"bias": "V", "curr": "A"}
    np.testing.assert_allclose(s.sweeps[2].channel("curr"), np.linspace(-1, 1, 21) * 2e-9, atol=1e-24)
    np.testing.assert_allclose(s.sweeps[2].x, np.linspace(-1e-3, 1e-3, 21))
    assert s.metadata["sample"] == "Pb"


def test_labber_log_is_a_series_with_outer_steps_as_tags(tmp_path):
    p = tmp_path / "log.hdf5"
    i = np.linspace(-1e-6, 1e-6, 31)
    powers = np.array([-20.0, -10.0, 0.0, -5.0])
    data = np.empty((i.size, 3, powers.size))
    for k, pw in enumerate(powers):
        data[:, 0, k] = i
        data[:, 1, k] = pw
        data[:, 2, k] = 10 * i * (1 + k)
    with h5py.File(p, "w") as f:
        f.attrs["log_name"] = "shapiro"
        g = f.create_group("Data")
        g.create_dataset("Data", data=data)
        names = np.array(
            [(b"Bias current", b""), (b"RF power", b""), (b"Voltage", b"")],
            dtype=[("name", "S32"), ("info", "S32")],
        )
        g.create_dataset("Channel names", data=names)
        ch = np.array(
            [(b"Bias current", b"uA"), (b"RF power", b"dBm"), (b"Voltage", b"mV")],
            dtype=[("name", "S32"), ("unitPhys", "S16")],
        )
        f.create_dataset("Channels", data=ch)
        f.create_dataset(
            "Step list", data=np.array([(b"Bias current",), (b"RF power",)], dtype=[("channel_name", "S32")])
        )
    s = read_labber(p)
    assert s.name == "shapiro" and len(s) == 4 and s.x_channel == "Bias current"
    np.testing.assert_allclose(s.tag("RF power"), powers)
    assert s.tag_unit("RF power") == "dBm" and s.units["Bias current"] == "A" and s.units["Voltage"] == "V"
    np.testing.assert_allclose(s.sweeps[1].channel("Voltage"), 10 * i * 2 * 1e-3)
    np.testing.assert_allclose(s.sweeps[1].x, i * 1e-6)
    both, problems = read_series_files([p, tmp_path / "missing.dat"])
    assert len(both) == 1 and "missing.dat" in str(problems[0])


def test_a_database_written_by_qcodes_reads_the_same(tmp_path):
    qc = pytest.importorskip("qcodes")
    from qcodes.dataset import Measurement, initialise_or_create_database_at, load_or_create_experiment

    db = tmp_path / "qc.db"
    initialise_or_create_database_at(db)
    exp = load_or_create_experiment("neck", sample_name="Pb")
    meas = Measurement(exp=exp, name="iv_vs_B")
    meas.register_custom_parameter("field", unit="mT")
    meas.register_custom_parameter("bias", unit="mV")
    meas.register_custom_parameter("curr", unit="nA", setpoints=("field", "bias"))
    v = np.linspace(-1, 1, 21)
    with meas.run() as saver:
        for b in (0.0, 50.0, 100.0):
            for x in v:
                saver.add_result(("field", b), ("bias", x), ("curr", x * (1 + b / 100)))
    del qc
    (s,) = read_qcodes_db(db)
    np.testing.assert_allclose(s.tag("field"), [0.0, 0.05, 0.1])
    np.testing.assert_allclose(s.sweeps[2].channel("curr"), v * 2e-9)
