"""``stsworkbench fit``: batch fit of a grid file to a maps file, without Qt."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from analysis.models.registry import registry
from analysis.store import ProjectEntry, open_project, save_project
from app.cli import main as cli_main
from app.commands import fit as fit_cmd
from tests.analysis.fitting._models import Lorentzian, synthetic_grid


@pytest.fixture
def lorentzian_registered():
    reg = registry()
    model = Lorentzian()
    reg.register(model, override=True)
    yield model
    reg.unregister(model.name)


@pytest.fixture
def grid_file(tmp_path):
    grid, P = synthetic_grid(ny=8, nx=9)
    path = tmp_path / "grid.h5"
    save_project(path, [ProjectEntry("g", "grid", grid)])
    return path, P


def _maps(path):
    with open_project(path) as proj:
        [entry] = proj.load_all()
    return entry.dataset


def test_fit_command_writes_maps(lorentzian_registered, grid_file, tmp_path, capsys):
    path, P = grid_file
    out = tmp_path / "maps.h5"
    rc = cli_main(
        ["fit", str(path), "--model", "test_lorentzian", "--workers", "1", "--out", str(out), "--quiet"]
    )
    assert rc == 0
    assert "72/72 spectra converged" in capsys.readouterr().out
    img = _maps(out)
    assert img.kind == "image" and img.frame.shape == (8, 9)
    np.testing.assert_allclose(img.channels["x0"], P[..., 1], atol=0.01)
    assert np.all(img.channels["success"] == 1)
    assert img.provenance[0]["parameters"]["model"] == "test_lorentzian"


def test_fit_command_region_and_fix(lorentzian_registered, grid_file, tmp_path):
    path, P = grid_file
    mask = np.zeros((8, 9), bool)
    mask[:3] = True
    np.save(tmp_path / "mask.npy", mask)
    out = tmp_path / "maps.h5"
    rc = fit_cmd.main(
        [
            str(path),
            "--model",
            "test_lorentzian",
            "--region",
            str(tmp_path / "mask.npy"),
            "--fix",
            "c=0.05",
            "--workers",
            "2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    img = _maps(out)
    assert np.all(np.isnan(img.channels["x0"][3:]))
    assert np.all(img.channels["c"][:3] == np.float32(0.05))
    assert "c stderr" not in img.channels
    rc = fit_cmd.main(
        [
            str(path),
            "--model",
            "test_lorentzian",
            "--region",
            "rect:0,0,2,1",
            "--workers",
            "1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    assert np.sum(np.isfinite(_maps(out).channels["x0"])) == 6


def test_fit_command_errors_are_messages(lorentzian_registered, grid_file, tmp_path, capsys):
    path, _ = grid_file
    out = tmp_path / "maps.h5"
    assert fit_cmd.main([str(path), "--model", "no_such_model", "--out", str(out)]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert fit_cmd.main([str(tmp_path / "missing.h5"), "--model", "test_lorentzian", "--out", str(out)]) == 2
    assert "error" in capsys.readouterr().err
    assert (
        fit_cmd.main([str(path), "--model", "test_lorentzian", "--region", "rect:a,b", "--out", str(out)])
        == 2
    )
    assert "rect:IX0" in capsys.readouterr().err
    assert (
        fit_cmd.main([str(path), "--model", "test_lorentzian", "--out", str(tmp_path / "no" / "m.h5")]) == 2
    )
    assert "output folder" in capsys.readouterr().err
    assert not out.exists()


def test_plain_hdf5_layout_round_trip(tmp_path):
    from analysis.fitting.maps import fit_grid

    grid, _ = synthetic_grid(ny=3, nx=3)
    img = fit_grid(grid, Lorentzian()).to_image()
    img.metadata["fit_params"] = [p.to_dict() for p in Lorentzian.params]
    fit_cmd.write_maps_hdf5(tmp_path / "m.h5", img, "grid.h5")
    maps = fit_cmd.read_maps_hdf5(tmp_path / "m.h5")
    assert set(maps) == set(img.channels)
    np.testing.assert_array_equal(maps["x0"], img.channels["x0"])


def test_fit_command_local_cluster(lorentzian_registered, grid_file, tmp_path):
    pytest.importorskip("distributed")
    path, P = grid_file
    out_a, out_b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert (
        fit_cmd.main(
            [str(path), "--model", "test_lorentzian", "--workers", "1", "--out", str(out_a), "--quiet"]
        )
        == 0
    )
    assert (
        fit_cmd.main(
            [str(path), "--model", "test_lorentzian", "--local-cluster", "1", "--out", str(out_b), "--quiet"]
        )
        == 0
    )
    a, b = _maps(out_a), _maps(out_b)
    for name in a.channels:
        np.testing.assert_array_equal(a.channels[name], b.channels[name])


def test_command_does_not_import_qt():
    import subprocess

    code = (
        "import sys, app.commands.fit; "
        "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules), 'Qt imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
