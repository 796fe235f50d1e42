"""Channel classification and the default channel, on every real file and on synthetic channel lists."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.channels import (
    axis_label,
    channel_quantity,
    conductance_channels,
    current_channels,
    default_channel,
    fit_route,
    numerical_conductance,
)
from analysis.dataset import Grid, Spectrum
from analysis.errors import WorkbenchError
from analysis.io.registry import read_file
from tests.conftest import shared_file


def _grid(channels: list[tuple[str, str]], sweep: str = "Bias", sweep_unit: str = "V") -> Grid:
    data = {n: np.zeros((2, 2, 5), np.float32) for n, _u in channels}
    return Grid(
        bias=np.linspace(-1, 1, 5),
        channels=data,
        units=dict(channels),
        valid=np.ones((2, 2), bool),
        sweep_signal=sweep,
        sweep_unit=sweep_unit,
    )


@pytest.mark.parametrize(
    ("name", "unit", "quantity"),
    [
        ("LockinX", "V", "conductance"),
        ("LockinY", "V", "other"),
        ("LI Demod 1 X", "V", "conductance"),
        ("LI Demod R", "V", "conductance"),
        ("LI Demod 1 Y", "V", "other"),
        ("LIX 1 omega", "A", "conductance"),
        ("LIY_1_omega", "A", "other"),
        ("LI Demod 1 Phase", "deg", "phase"),
        ("dI/dV", "S", "conductance"),
        ("Conductance", "S", "conductance"),
        ("Current", "A", "current"),
        ("Current [filt]", "A", "current"),
        ("Current [bwd]", "A", "current"),
        ("X", "m", "position"),
        ("Z", "m", "position"),
        ("Excitation", "V", "excitation"),
        ("Phase", "deg", "phase"),
        ("Bias", "V", "sweep"),
        ("Bias calc", "V", "sweep"),
        ("Bias_m", "V", "sweep"),
        ("Bias [bwd]", "V", "sweep"),
        ("Frequency Shift", "Hz", "other"),
        ("ADC1", "V", "other"),
    ],
)
def test_channel_quantity(name: str, unit: str, quantity: str) -> None:
    assert channel_quantity(name, unit) == quantity


def test_sweep_signal_echo_is_a_sweep() -> None:
    assert channel_quantity("Z", "m", sweep_signal="Z") == "sweep"


# the channel each real spectroscopy file must open on
REAL = {
    "nanonis/NanonisReader_STS_grid_lockin.3ds": "LockinX",
    "nanonis/i_v.dat": "LIX 1 omega",
    "nanonis/STS_nanonis_generic_4_5.dat": "LI Demod X",
    "createc/A190824.135614.VERT": "Current",
}


@pytest.mark.realdata
@pytest.mark.parametrize("rel", sorted(REAL))
def test_default_channel_on_every_real_spectroscopy_file(rel: str) -> None:
    (ds,) = read_file(shared_file(rel))
    assert isinstance(ds, Grid | Spectrum)
    assert default_channel(ds) == REAL[rel]
    for n in conductance_channels(ds):
        assert channel_quantity(n, ds.unit(n)) == "conductance"
    assert current_channels(ds)[0] == "Current"


def test_kpfm_grid_opens_on_current_not_x() -> None:
    g = _grid(
        [
            ("X", "m"),
            ("Y", "m"),
            ("Z", "m"),
            ("Bias calc", "V"),
            ("Frequency Shift", "Hz"),
            ("Amplitude", "m"),
            ("Phase", "deg"),
            ("Excitation", "V"),
            ("Current", "A"),
        ]
    )
    assert default_channel(g) == "Current"
    g2 = _grid([("X", "m"), ("Y", "m"), ("Bias calc", "V"), ("Frequency Shift", "Hz"), ("Phase", "deg")])
    assert default_channel(g2) == "Frequency Shift"


def test_z_spectroscopy_grid_opens_on_current_not_excitation() -> None:
    g = _grid([("Excitation", "V"), ("Z", "m"), ("Current", "A"), ("Phase", "deg")], "Z", "m")
    assert default_channel(g) == "Current"
    g2 = _grid([("Excitation", "V"), ("Z", "m"), ("Current", "A"), ("LI Demod 1 X", "V")], "Z", "m")
    assert default_channel(g2) == "LI Demod 1 X"


def test_conductance_in_siemens_before_lockin() -> None:
    g = _grid([("Current", "A"), ("LockinX", "V"), ("dI/dV", "S")])
    assert conductance_channels(g) == ["dI/dV", "LockinX"]


def test_axis_label_never_says_didv_on_a_current() -> None:
    assert axis_label("Current", "A") == ("Current", "A")
    assert "dI/dV" not in axis_label("Current", "A")[0]
    assert axis_label("dI/dV", "S") == ("dI/dV", "S")
    label, unit = axis_label("LockinX", "V")
    assert unit == "V" and "LockinX" in label


def test_fit_route() -> None:
    assert fit_route("S", "conductance")[0] == "direct"
    assert fit_route("S", "current")[0] == "derivative"
    assert fit_route("A", "conductance")[0] == "refuse"
    assert fit_route("S", "position")[0] == "refuse"
    assert fit_route("A", "current")[0] == "direct"


def test_numerical_conductance_of_known_current() -> None:
    # I = G V + a V^3 on an uneven bias axis: dI/dV = G + 3 a V^2
    v = np.sort(np.random.default_rng(3).uniform(-0.01, 0.01, 400))
    g, a = 2e-9, 5e-5
    didv = numerical_conductance(v, g * v + a * v**3)
    assert np.allclose(didv, g + 3 * a * v**2, rtol=1e-3, atol=1e-13)
    cube = np.stack([g * v, 2 * g * v])
    assert np.allclose(numerical_conductance(v, cube), [[g], [2 * g]], rtol=1e-9)


def test_numerical_conductance_refuses_bad_axis() -> None:
    with pytest.raises(WorkbenchError):
        numerical_conductance(np.array([0.0, 1.0, 0.5, 2.0]), np.zeros(4))
    with pytest.raises(WorkbenchError):
        numerical_conductance(np.array([0.0, 1.0]), np.zeros(2))
