"""``stsworkbench convert IN ... OUT.nxs``: grids and point spectra to a NeXus NXsts file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Grid, Spectrum
from analysis.io.nexus_sts import read_nxsts
from analysis.store import ProjectEntry, save_project
from app.cli import main as cli_main
from tests.analysis.io.test_createc_specgrid import write_specgrid
from tests.analysis.store.test_store import make_image, make_spectrum


def test_convert_to_nxsts_skips_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(5)
    spectra = rng.integers(-100, 100, size=(2, 3, 5, 1)).astype(np.float32)
    grid = write_specgrid(tmp_path / "A.specgrid", spectra, np.linspace(-10, 10, 5), select=1)
    proj = save_project(
        tmp_path / "p.h5",
        [ProjectEntry("iv", "I(V)", make_spectrum()), ProjectEntry("topo", "topo", make_image(rng))],
    )
    out = tmp_path / "out.nxs"
    assert cli_main(["convert", str(grid), str(proj), str(out)]) == 0
    captured = capsys.readouterr()
    assert "(image) is not a grid or spectrum" in captured.err
    assert "wrote" in captured.out and "2 datasets" in captured.out
    back = read_nxsts(out)
    assert [type(d) for d in back] == [Grid, Spectrum]
    assert back[0].shape == (2, 3, 5)
    assert back[0].units == {"Current": "A"}


def test_convert_only_images_to_nxsts_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = save_project(
        tmp_path / "p.h5", [ProjectEntry("topo", "topo", make_image(np.random.default_rng(1)))]
    )
    assert cli_main(["convert", str(proj), str(tmp_path / "o.nxs")]) == 1
    assert "no grid or point spectrum" in capsys.readouterr().err
    assert not (tmp_path / "o.nxs").exists()
