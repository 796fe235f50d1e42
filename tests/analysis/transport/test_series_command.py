"""``stsworkbench series``: files to a project file, tags from file names, preview, bad files reported."""

from __future__ import annotations

import numpy as np

from analysis.store import open_project
from app.cli import main
from tests.analysis.transport.synthetic import NECK_FIELDS, write_neck_files


def test_series_command_writes_the_tagged_series(tmp_path, capsys):
    paths = write_neck_files(tmp_path)
    (tmp_path / "neck3_warmT.dat").write_text("I (A)\tV (mV)\n1\t2\n2\t3\n")
    out = tmp_path / "series.h5"
    code = main(["series", str(tmp_path), "--tag", "H=neck3_{}T.dat", "--name", "neck 3", "--out", str(out)])
    cap = capsys.readouterr()
    assert code == 0
    assert "neck3_warmT.dat" in cap.err and "does not match" in cap.err
    assert 'series "neck 3"' in cap.out and "sweeps: 4 of 2001 points, current-biased" in cap.out
    assert "tags: H 0..0.12 T" in cap.out and "channels: I (A), V (V)" in cap.out
    with open_project(out) as p:
        s = p.entries[0].dataset
        assert s.kind == "series" and len(s) == len(NECK_FIELDS)
        np.testing.assert_allclose(np.sort(s.tag("H")), NECK_FIELDS)
        assert s.units == {"I": "A", "V": "V"}
    del paths


def test_series_command_preview_and_failures(tmp_path, capsys):
    write_neck_files(tmp_path, fields=(0.0, 0.05))
    odd = tmp_path / "neck3_xT.dat"
    odd.write_text("I (A)\tV (mV)\n1\t2\n")
    code = main(["series", str(tmp_path), "--tag", "H=neck3_{H:mT}T.dat", "--preview"])
    cap = capsys.readouterr()
    assert code == 1
    assert "neck3_0.05T.dat: H = 5e-05" in cap.out and "neck3_xT.dat" in cap.err
    empty = tmp_path / "empty.dat"
    empty.write_text("I (A)\tV (mV)\nnan\tnan\n")
    assert main(["series", str(empty), "--out", str(tmp_path / "o.h5")]) == 1
    err = capsys.readouterr().err
    assert "empty.dat" in err and "no sweep could be imported" in err
    assert main(["series", str(odd), "--tag", "H=neck.dat", "--out", str(tmp_path / "o.h5")]) == 1
    assert "no {tag} field" in capsys.readouterr().err
    assert not (tmp_path / "o.h5").exists()
