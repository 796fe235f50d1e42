"""``stsworkbench info`` and ``stsworkbench convert`` from the console (no window, no Qt)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.store import Attachment, ProjectEntry, open_project, save_project
from app.cli import main as cli_main
from app.commands.info import format_si
from tests.analysis.store.test_store import make_grid, make_image, make_spectrum
from tests.conftest import shared_file


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    entries = [
        ProjectEntry("qp", "QP grid", make_grid(rng, shape=(12, 10, 30))),
        ProjectEntry("topo", "topography", make_image(rng), parent="qp"),
        ProjectEntry("iv", "I(V)", make_spectrum()),
    ]
    return save_project(tmp_path / "p.h5", entries, {"view": Attachment({"bias_index": 3})})


def test_format_si() -> None:
    assert format_si(0.015, "V") == "15 mV"
    assert format_si(-2.5e-10, "A") == "-250 pA"
    assert format_si(1.0, "K") == "1 K"
    assert format_si(3.0, "") == "3"


def test_info_on_a_project(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["info", str(project)]) == 0
    out = capsys.readouterr().out
    assert "STS Workbench project, 3 datasets" in out
    assert 'grid "qp"' in out and "10 x 12 pixels, 30 sweep points" in out
    assert "channels: Current (A), dI/dV (S), dI/dV [bwd] (S)" in out
    assert "sweep: Bias -15 .. 15 mV (measured downwards)" in out
    assert "frame: centre (10, -20) nm, size 220 x 180 nm, angle 12.5 deg" in out
    assert "valid fraction: 75.0 %" in out  # 3 of 12 lines never measured
    assert "aborted grid: 3 lines missing" in out
    assert 'image "topo"' in out and "scan direction: down" in out
    assert 'spectrum "iv"' in out and "11 points" in out and "sweep: Bias -1 .. 1 mV" in out
    assert "key topo, label 'topography', derived from qp" in out
    assert "attachments: view" in out


@pytest.mark.realdata
def test_info_on_real_createc_files(capsys: pytest.CaptureFixture[str]) -> None:
    img = shared_file("createc/A200621.161352.dat")
    vert = shared_file("createc/A190824.135614.VERT")
    assert cli_main(["info", str(img), str(vert)]) == 0
    out = capsys.readouterr().out
    assert "Createc image, 1 dataset" in out
    assert "256 x 256 pixels" in out and "Z (m), Current (A), Z [bwd] (m), Current [bwd] (A)" in out
    assert "size 21.53 x 21.53 nm" in out
    assert "Createc point spectrum" in out and "1024 points" in out


def test_info_fails_with_one_line_on_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "junk.bin"
    bad.write_bytes(b"\x00\x01\x02 not a known format")
    assert cli_main(["info", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "junk.bin" in err and "unrecognised file format" in err
    assert cli_main(["info", str(tmp_path / "missing.dat")]) == 1
    assert "cannot open file" in capsys.readouterr().err


def test_convert_several_inputs(tmp_path: Path, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "iv.csv"
    csv.write_text("V (mV), I (nA)\n-1, -2\n0, 0\n1, 2\n")
    out = tmp_path / "out.h5"
    assert cli_main(["convert", str(csv), str(project), str(out)]) == 0
    text = capsys.readouterr().out
    assert "wrote" in text and "4 datasets from 2 files" in text
    with open_project(out) as proj:
        assert [e.key for e in proj.entries] == ["iv", "p#1", "p#2", "p#3"]
        np.testing.assert_allclose(proj.entries[0].dataset.channels["I"], [-2e-9, 0.0, 2e-9])
        with open_project(project) as orig:
            np.testing.assert_array_equal(
                proj.entry("p#1").dataset.channels["dI/dV"][()], orig.entries[0].dataset.channels["dI/dV"][()]
            )


def test_convert_writes_nothing_when_an_input_fails(tmp_path: Path, capsys) -> None:
    good = tmp_path / "iv.csv"
    good.write_text("V (V), I (A)\n0, 0\n1, 1\n2, 2\n")
    bad = tmp_path / "bad.VERT"
    bad.write_bytes(b"[ParVERT30]\r\nno data here\r\n")
    out = tmp_path / "out.h5"
    assert cli_main(["convert", str(good), str(bad), str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.VERT" in err and "no DATA line" in err
    assert not out.exists()


def test_console_script_in_a_subprocess(project: Path) -> None:
    # the script pip installed beside this interpreter (not whatever PATH finds first, nor a skip in CI)
    bindir = Path(sys.executable).parent
    candidates = [
        bindir / "stsworkbench",
        bindir / "stsworkbench.exe",
        bindir / "Scripts" / "stsworkbench.exe",
    ]
    found = [c for c in candidates if c.is_file()]
    assert found, f"no stsworkbench console script beside {sys.executable}: pip install -e . installs it"
    exe = str(found[0])
    res = subprocess.run([exe, "info", str(project)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "STS Workbench project, 3 datasets" in res.stdout
    res = subprocess.run([exe, "info", str(project) + ".nope"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1
    # the info command never loads Qt
    code = (
        "import sys; from app.cli import main; main(['info', sys.argv[1]]); "
        "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt was imported'"
    )
    cmd = [sys.executable, "-c", code, str(project)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_convert_to_a_gwyddion_file(tmp_path: Path, project: Path) -> None:
    from analysis.io import read_file

    out = tmp_path / "maps.gwy"
    assert cli_main(["convert", str(project), str(out)]) == 0
    back = read_file(out)
    assert back and out.read_bytes()[:4] == b"GWYP"
    assert {d.kind for d in back} & {"grid", "image", "spectrum"}
