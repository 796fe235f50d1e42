"""Omicron MATRIX: the mapping of access2theMatrix's images, curves and CITS volumes to the data model
(with a stand-in for the library), its failures as ReadError, and a real image when one is available."""

from __future__ import annotations

import struct
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.dataset import Grid, Image, Spectrum
from analysis.errors import ReadError
from analysis.io import registry
from analysis.io.omicron_matrix import MAGIC, PARAMETER_MAGIC, read
from tests.analysis.io.fuzz_support import matrix_files
from tests.conftest import shared_file

REAL_IMAGE = "omicron/20201111--4_1.Z_mtrx"


def _files(folder: Path, channel: str = "Z") -> Path:
    return matrix_files(folder, channel)


class _Fake:
    """A stand-in for access2thematrix.MtrxData returning prepared objects."""

    result: dict = {}

    def __init__(self) -> None:
        self.__dict__.update(self.result)

    def open(self, name: str):
        if "error" in self.result:
            raise self.result["error"]
        return dict(enumerate(self.result["trace_names"])), "Successfully opened"

    def select_image(self, trace: str):
        return self.result["images"][trace], f"Trace {trace} selected."

    def select_curve(self, trace: str):
        return self.result["curves"][trace], f"{trace} selected."


@pytest.fixture
def fake_library(monkeypatch: pytest.MonkeyPatch) -> type[_Fake]:
    module = types.ModuleType("access2thematrix")
    module.MtrxData = _Fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "access2thematrix", module)
    return _Fake


def _im(data: np.ndarray, **kw: object) -> types.SimpleNamespace:
    base = dict(width=2e-8, height=1e-8, x_offset=1e-9, y_offset=-2e-9, angle=30.0)
    base.update(kw)
    return types.SimpleNamespace(data=data, channel_name_and_unit=["Z", "m"], **base)


def test_image_traces_become_channels(tmp_path: Path, fake_library: type[_Fake]) -> None:
    z = np.arange(12.0).reshape(3, 4) * 1e-10
    names = ["forward/up", "backward/up", "forward/down", "backward/down"]
    fake_library.result = dict(
        object_type="image",
        scan=np.zeros((4, 3, 4)),
        param={"EEPA::XYScanner.Points": [4, "Count"], "EXPD::s0": "x"},
        trace_names=names,
        images={n: _im(z + k * 1e-9) for k, n in enumerate(names)},
        channel_name="Z",
        sample_name="Nb(110)",
    )
    path = _files(tmp_path)
    assert registry().detect(path).name == "omicron_matrix"
    (img,) = registry().read(path)
    assert isinstance(img, Image)
    assert list(img.channels) == ["Z", "Z [bwd]", "Z (down)", "Z (down) [bwd]"]
    assert img.units["Z [bwd]"] == "m"
    assert img.channels["Z (down)"][2, 3] == pytest.approx(11e-10 + 2e-9)
    assert img.frame == img.frame.__class__(center=(1e-9, -2e-9), size=(2e-8, 1e-8), angle=30.0, shape=(3, 4))
    assert img.metadata["sample_name"] == "Nb(110)"
    assert img.metadata["parameters"]["EEPA::XYScanner.Points"] == [4, "Count"]
    assert "EXPD::s0" not in img.metadata["parameters"]


def test_curve_with_retrace_and_position(tmp_path: Path, fake_library: type[_Fake]) -> None:
    x = np.linspace(0.1, -0.1, 21)  # swept downwards
    y = np.tanh(x * 30) * 1e-10
    ref = {"Location (m)": [3e-9, -4e-9], "Location (px)": [10, 20]}
    fake_library.result = dict(
        object_type="curve",
        scan=np.vstack([x, y, y[::-1] * 2]),
        param={},
        trace_names=["trace", "retrace"],
        curves={
            "trace": types.SimpleNamespace(
                data=np.vstack([x, y]),
                x_data_name_and_unit=["Spectroscopy Device 1", "V"],
                y_data_name_and_unit=["I(V)", "A"],
                referenced_by=ref,
            ),
            "retrace": types.SimpleNamespace(
                data=np.vstack([x[::-1], 2 * y[::-1]]),
                x_data_name_and_unit=["Spectroscopy Device 1", "V"],
                y_data_name_and_unit=["I(V)", "A"],
                referenced_by=ref,
            ),
        },  # fmt: skip
    )
    (s,) = read(_files(tmp_path, "I(V)"))
    assert isinstance(s, Spectrum)
    assert s.x_unit == "V" and s.x_name == "Bias" and s.sweep_reversed
    np.testing.assert_allclose(s.x, x[::-1])
    np.testing.assert_allclose(s.channels["I(V)"], y[::-1])
    np.testing.assert_allclose(s.channels["I(V) [bwd]"], 2 * y[::-1])
    assert s.units == {"I(V)": "A", "I(V) [bwd]": "A"}
    assert s.position == pytest.approx((3e-9, -4e-9))


def test_cits_volume_becomes_grids(tmp_path: Path, fake_library: type[_Fake]) -> None:
    bias = np.linspace(0.05, -0.05, 6)
    cube = np.random.default_rng(3).normal(size=(2, 3, 6))
    cube[1, 2] = np.nan  # a pixel never measured
    fake_library.result = dict(
        object_type="volume CITS",
        scan=np.vstack([bias, bias, bias]),
        volume_scan={"forward/up": {"trace": cube, "retrace": cube * 2}},
        param={
            "EEPA::XYScanner.Width": [3e-9, "m"],
            "EEPA::XYScanner.Height": [2e-9, "m"],
            "EEPA::XYScanner.X_Offset": [0.0, "m"],
            "EEPA::XYScanner.Y_Offset": [1e-9, "m"],
            "EEPA::XYScanner.Angle": [0.0, "deg"],
        },  # fmt: skip
        trace_names=["trace", "retrace"],
        channel_name_and_unit=["I(V)", "A"],
        z_data_name_and_unit=["Spectroscopy Device 1", "V"],
    )
    (g,) = read(_files(tmp_path, "I(V)"))
    assert isinstance(g, Grid)
    assert g.shape == (2, 3, 6) and list(g.channels) == ["I(V)", "I(V) [bwd]"]
    assert g.sweep_reversed and g.sweep_unit == "V" and g.sweep_signal == "Bias"
    np.testing.assert_allclose(g.spectrum("I(V)", 0, 1), cube[0, 1, ::-1], rtol=1e-6)
    assert not g.valid[1, 2] and g.valid.sum() == 5
    assert g.frame.size == pytest.approx((3e-9, 2e-9)) and g.frame.center == pytest.approx((0.0, 1e-9))


def test_library_failures_and_missing_files_are_read_errors(
    tmp_path: Path, fake_library: type[_Fake], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _files(tmp_path)
    fake_library.result = dict(error=ValueError("broken block"))
    with pytest.raises(ReadError, match="could not decode.*broken block"):
        read(path)
    fake_library.result = dict(trace_names=[], scan=None, volume_scan=None)
    with pytest.raises(ReadError, match="access2theMatrix"):
        read(path)
    (tmp_path / "exp_0001.mtrx").unlink()
    with pytest.raises(ReadError, match="parameter file exp_0001.mtrx is not beside"):
        read(path)
    odd = tmp_path / "nochain.Z_mtrx"
    odd.write_bytes(MAGIC + b"\x00" * 16)
    with pytest.raises(ReadError, match="<experiment>--<session>"):
        read(odd)
    params = tmp_path / "p_0001.mtrx"
    params.write_bytes(PARAMETER_MAGIC + b"\x00" * 8)
    with pytest.raises(ReadError, match="open one of its result files"):
        registry().read(params)
    monkeypatch.setitem(sys.modules, "access2thematrix", None)  # the optional package is not installed
    (tmp_path / "exp_0001.mtrx").write_bytes(PARAMETER_MAGIC)
    with pytest.raises(ReadError, match=r"stsworkbench\[matrix\]"):
        read(path)


def test_real_library_on_random_content_gives_read_error() -> None:
    pytest.importorskip("access2thematrix")

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.binary(max_size=512), params=st.binary(max_size=512), tag=st.sampled_from([b"TLKB", b""]))
    def check(data: bytes, params: bytes, tag: bytes) -> None:
        with tempfile.TemporaryDirectory() as d:
            folder = Path(d)
            f = folder / "exp--1_1.Z_mtrx"
            f.write_bytes(MAGIC + tag + data)
            (folder / "exp_0001.mtrx").write_bytes(PARAMETER_MAGIC + params)
            try:
                out = read(f)
            except ReadError:
                return
            assert out

    check()


@pytest.mark.realdata
def test_real_image_file() -> None:
    pytest.importorskip("access2thematrix")
    path = shared_file(REAL_IMAGE)
    (img,) = read(path)
    assert list(img.channels) == ["Z", "Z [bwd]"] and img.units["Z"] == "m"
    assert img.shape == (400, 400)
    assert img.frame.size == pytest.approx((100e-9, 100e-9))
    assert img.frame.center == pytest.approx((-16.5e-9, 281.5e-9))
    # The first forward line is the first 400 integers of the data block; the backward line the next
    # 400, stored right to left; the transfer function is linear (about 0.42 fm per count).
    raw = path.read_bytes()
    at = raw.find(b"ATAD")
    ints = np.frombuffer(raw, "<i4", count=1200, offset=at + 8).astype(float)
    a, b = np.polyfit(ints[:400], img.channels["Z"][0].astype(float), 1)
    assert a == pytest.approx(4.1667e-16, rel=1e-3)
    np.testing.assert_allclose(a * ints[400:800][::-1] + b, img.channels["Z [bwd]"][0], atol=1e-13)
    np.testing.assert_allclose(a * ints[800:1200] + b, img.channels["Z"][1], atol=1e-13)
    assert img.channels["Z"][0, 0] == pytest.approx(-5.13071e-7, rel=1e-5)
    assert struct.unpack_from("<i", raw, at + 8)[0] == -1231369839
