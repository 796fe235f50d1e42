"""NeXus NXsts export: lossless round trips of grids and point spectra, the layout the application
definition requires, validation with pynxtools when it is installed, and bad files."""

from __future__ import annotations

import json
import logging
import struct
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from analysis.dataset import Frame, Grid, Spectrum
from analysis.errors import ReadError
from analysis.hooks import Cancelled
from analysis.io import read_file, registry
from analysis.io.nexus_sts import read_nxsts, write_nxsts
from analysis.store import ProjectEntry, save_project
from tests.analysis.store.test_store import make_grid, make_image, make_spectrum
from tests.conftest import shared_file


def _grid(rng: np.random.Generator) -> Grid:
    g = make_grid(rng, shape=(5, 6, 7))
    g.metadata["setpoint"] = {"bias_V": 0.01, "current_A": 2e-10}
    g.metadata["lockin"] = {"frequency_Hz": 973.0, "amplitude_V": 2e-4}
    g.provenance = [{"operation": "normalise", "parameters": {"window": 3}, "inputs": ["raw"]}]
    g.warnings = ["the grid stopped early"]
    return g


def _as_json(a: object) -> str:
    """Metadata as JSON text (numpy values as plain numbers), compared as text so that NaN equals NaN."""

    def plain(o: object) -> object:
        if isinstance(o, np.ndarray | np.generic):
            return o.tolist()
        return str(o)

    return json.dumps(a, default=plain, sort_keys=True)


def assert_same_grid(a: Grid, b: Grid) -> None:
    assert list(a.channels) == list(b.channels)
    for name in a.channels:
        np.testing.assert_array_equal(np.asarray(a.channels[name]), np.asarray(b.channels[name]))
        assert b.channels[name].dtype == np.float32
    np.testing.assert_array_equal(a.bias, b.bias)
    assert a.units == b.units
    np.testing.assert_array_equal(a.valid, b.valid)
    assert a.frame == b.frame
    assert list(a.params) == list(b.params)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert a.param_units == b.param_units
    assert (a.sweep_signal, a.sweep_unit, a.sweep_reversed) == (
        b.sweep_signal,
        b.sweep_unit,
        b.sweep_reversed,
    )
    assert a.name == b.name and a.warnings == b.warnings and a.provenance == b.provenance
    assert _as_json(b.metadata) == _as_json(a.metadata)


def test_grid_round_trip_is_lossless(tmp_path: Path, rng: np.random.Generator) -> None:
    g = _grid(rng)
    path = write_nxsts(g, tmp_path / "g.nxs")
    assert registry().detect(path).name == "nexus_sts"
    (back,) = read_file(path)
    assert isinstance(back, Grid)
    assert_same_grid(g, back)
    assert back.source.reader == g.source.reader


def test_spectrum_round_trip_and_several_entries(tmp_path: Path, rng: np.random.Generator) -> None:
    s = make_spectrum()
    g = _grid(rng)
    path = write_nxsts([s, g], tmp_path / "two.nxs")
    back = read_nxsts(path)
    assert [d.kind for d in back] == ["spectrum", "grid"]
    b = back[0]
    assert isinstance(b, Spectrum)
    np.testing.assert_array_equal(b.x, s.x)
    np.testing.assert_array_equal(b.channels["Current"], s.channels["Current"])
    assert b.units == s.units and b.x_unit == s.x_unit and b.x_name == s.x_name
    assert b.sweep_reversed == s.sweep_reversed and b.position == s.position
    with h5py.File(path) as f:
        assert list(f) == ["entry", "entry_2"]


def test_layout_required_by_nxsts(tmp_path: Path, rng: np.random.Generator) -> None:
    """The concepts NXsts (and NXspm, which it extends) require, with their units."""
    g = _grid(rng)
    path = write_nxsts(g, tmp_path / "g.nxs")
    with h5py.File(path) as f:
        e = f["entry"]
        assert e.attrs["NX_class"] == "NXentry"
        assert e["definition"][()].decode() == "NXsts"
        assert e["experiment_technique"][()].decode() == "STS"
        assert e["scan_mode"][()].decode() == "constant current"
        inst = e["instrument"]
        assert inst.attrs["NX_class"] == "NXinstrument"
        for p in ("hardware/vendor", "software/vendor"):
            assert p in inst
        assert inst["current_sensor/current"][()] == pytest.approx(2e-10)
        assert inst["current_sensor/current"].attrs["units"] == "A"
        assert inst["sample_bias_voltage/bias_voltage"].attrs["units"] == "V"
        mesh = inst["scan_environment/scan_control/mesh_scan"]
        assert mesh.attrs["NX_class"] == "NXspm_scan_pattern"
        assert (mesh["scan_points_x"][()], mesh["scan_points_y"][()]) == (6, 5)
        region = inst["scan_environment/scan_control/scan_region"]
        assert region["scan_range_x"][()] == pytest.approx(g.frame.size[0])
        assert region["scan_angle_x"].attrs["units"] == "deg"
        sweep = inst["bias_spectroscopy_environment/bias_spectroscopy/bias_sweep"]
        assert sweep.parent.attrs["NX_class"] == "NXspm_bias_spectroscopy"
        assert sweep["scan_region/scan_start_bias"][()] == pytest.approx(g.bias[0])
        assert sweep["scan_region/scan_end_bias"].attrs["units"] == "V"
        assert sweep["linear_sweep/scan_points_bias"][()] == 7
        assert inst["lockin_amplifier/modulation_frequency"][()] == pytest.approx(973.0)
        data = e["data"]
        assert data.attrs["NX_class"] == "NXdata"
        assert data.attrs["signal"] == "Current"
        assert list(data.attrs["axes"]) == ["y", "x", "bias_voltage"]
        assert list(data.attrs["auxiliary_signals"]) == ["dI_dV", "dI_dV_bwd"]
        assert data["dI_dV_bwd"].attrs["long_name"] == "dI/dV [bwd]"
        assert data["dI_dV_bwd"].attrs["units"] == "S"
        assert data["Current"].shape == (5, 6, 7)
        assert data["x"].attrs["units"] == "m" and data["bias_voltage"].attrs["units"] == "V"


@pytest.mark.slow
def test_pynxtools_finds_only_its_known_false_positives(tmp_path: Path, rng: np.random.Generator) -> None:
    """pynxtools' validator against the NXsts definition it ships.

    It reports two problems in every file, FAIRmat's own reference NXsts files included: 0.16 checks
    the units of the variadic NXdata fields (``DATA``, ``AXISNAME``) by looking the field up as an
    attribute after stripping ``/@units`` with ``str.rstrip``, which never matches. Everything else must pass.
    """
    validation = pytest.importorskip("pynxtools.dataconverter.validation")
    path = write_nxsts([_grid(rng), make_spectrum()], tmp_path / "v.nxs")
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("pynxtools")
    logger.addHandler(handler)
    try:
        with h5py.File(path) as f:
            for key in ("entry", "entry_2"):
                validation.validate_hdf_group_against("NXsts", f[key], str(path))
    finally:
        logger.removeHandler(handler)
    known = ("/data/DATA/@units hasn't been supplied", "/data/AXISNAME/@units hasn't been supplied")
    problems = [m for m in messages if not any(k in m for k in known) and "is NOT valid" not in m]
    assert problems == []
    assert sum(any(k in m for k in known) for m in messages) == 4  # the two false positives per entry


def test_images_are_refused_and_project_files_are_not_claimed(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    with pytest.raises(ValueError, match="NXsts holds grids and point spectra"):
        write_nxsts(make_image(rng), tmp_path / "img.nxs")
    with pytest.raises(ValueError, match="nothing to export"):
        write_nxsts([], tmp_path / "none.nxs")
    assert not (tmp_path / "img.nxs").exists() and not list(tmp_path.glob("*.part"))
    proj = save_project(tmp_path / "p.h5", [ProjectEntry("g", "g", make_grid(rng, shape=(3, 4, 5)))])
    assert registry().detect(proj).name == "project_hdf5"


def test_rotated_frame_and_z_sweep_survive(tmp_path: Path, rng: np.random.Generator) -> None:
    g = Grid(
        name="z",
        bias=np.linspace(0, 1e-10, 4),
        channels={"I": rng.normal(size=(2, 3, 4)).astype(np.float32)},
        units={"I": "A"},
        frame=Frame(center=(1e-9, 2e-9), size=(3e-9, 2e-9), angle=33.0, shape=(2, 3)),
        valid=np.array([[True, True, False], [True, False, True]]),
        sweep_signal="Z",
        sweep_unit="m",
    )
    (back,) = read_nxsts(write_nxsts(g, tmp_path / "z.nxs"))
    assert isinstance(back, Grid)
    assert back.frame == g.frame and back.sweep_signal == "Z" and back.sweep_unit == "m"
    np.testing.assert_array_equal(back.valid, g.valid)


def test_bad_files_raise_read_error(tmp_path: Path, rng: np.random.Generator) -> None:
    plain = tmp_path / "plain.nxs"
    with h5py.File(plain, "w") as f:
        f.create_dataset("x", data=np.arange(3))
    with pytest.raises(ReadError, match="no NXentry with definition NXsts"):
        read_nxsts(plain)
    good = write_nxsts(_grid(rng), tmp_path / "g.nxs")
    with h5py.File(good, "a") as f:
        del f["entry/data/bias_voltage"]
    with pytest.raises(ReadError, match="bias_voltage"):
        read_nxsts(good)
    good = write_nxsts(_grid(rng), tmp_path / "g2.nxs")
    with h5py.File(good, "a") as f:
        del f["entry/data/valid"]
        f["entry/data"].create_dataset("valid", data=np.ones((2, 2), np.int8))
    with pytest.raises(ReadError, match="valid has shape"):
        read_nxsts(good)
    cut = tmp_path / "cut.nxs"
    cut.write_bytes(write_nxsts(_grid(rng), tmp_path / "g3.nxs").read_bytes()[:3000])
    with pytest.raises(ReadError):
        read_nxsts(cut)


@pytest.mark.realdata
def test_real_nanonis_grid_round_trip(tmp_path: Path) -> None:
    (g,) = read_file(shared_file("nanonis/NanonisReader_STS_grid_lockin.3ds"))
    assert isinstance(g, Grid)
    (back,) = read_nxsts(write_nxsts(g, tmp_path / "real.nxs"))
    assert isinstance(back, Grid)
    assert back.shape == (30, 30, 200)
    assert_same_grid(g, back)


def test_progress_and_cancel(tmp_path: Path, rng: np.random.Generator) -> None:
    g = make_grid(rng, shape=(70, 3, 4))  # 3 slabs of 32 lines for each of the 3 channels
    seen: list[tuple[int, int]] = []
    write_nxsts([g, make_spectrum()], tmp_path / "p.nxs", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (10, 10) and [d for d, _ in seen] == list(range(1, 11))
    target = tmp_path / "keep.nxs"
    target.write_bytes(b"old")
    cancel = threading.Event()

    def stop_after_first(done: int, total: int) -> None:
        cancel.set()

    with pytest.raises(Cancelled):
        write_nxsts(g, target, progress=stop_after_first, cancel=cancel)
    assert target.read_bytes() == b"old" and not list(tmp_path.glob("*.part"))


def test_nxsts_of_another_writer_reads_as_spectra(tmp_path: Path) -> None:
    """The layout of FAIRmat's converter: NXdata groups named by channel, pint unit names."""
    path = tmp_path / "foreign.nxs"
    bias = np.linspace(0.05, -0.05, 11)
    with h5py.File(path, "w") as f:
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e["definition"] = "NXsts"
        e["scan_mode"] = "constant height"
        for name, unit, values in (
            ("current", "ampere", bias * 1e-8),
            ("current_grad", "ampere / volt", bias * 0 + 1e-8),
        ):
            g = e.create_group(name)
            g.attrs.update({"NX_class": "NXdata", "signal": name, "axes": ["bias_voltage"]})
            g.create_dataset("bias_voltage", data=bias).attrs["units"] = "volt"
            g.create_dataset(name, data=values).attrs["units"] = unit
    assert registry().detect(path).name == "nexus_sts"
    (s,) = read_file(path)
    assert isinstance(s, Spectrum)
    assert list(s.channels) == ["current", "current_grad"]
    assert s.units == {"current": "A", "current_grad": "S"} and s.x_unit == "V" and s.x_name == "Bias"
    assert s.sweep_reversed and s.x[0] == pytest.approx(-0.05)
    assert s.channels["current"][0] == pytest.approx(-0.05e-8)
    assert s.metadata["scan_mode"] == "constant height"


@pytest.mark.realdata
def test_real_fairmat_nxsts_file() -> None:
    """A Nanonis bias spectrum converted to NXsts by FAIRmat's pynxtools-spm (its test data)."""
    out = read_file(shared_file("nexus/sts_5_described_nxdata.nxs"))
    assert [len(s) for s in out] == [2048, 2048]
    s = out[0]
    assert isinstance(s, Spectrum)
    assert list(s.channels) == ["current", "current_grad"]
    assert s.units["current"] == "A" and s.x_unit == "V"
    assert s.x[0] == pytest.approx(-0.05) and s.x[1] == pytest.approx(-0.04995115, rel=1e-6)
    assert s.channels["current"][0] == pytest.approx(1.4288776e-10, rel=1e-6)


def _nexus_heap_strings(raw: bytes) -> list[int]:
    """Offsets of the objects of the last HDF5 global heap collection (variable-length strings): 2-byte
    index, 2-byte reference count, 4 reserved bytes, 8-byte size, then the data."""
    start = raw.rfind(b"GCOL")
    assert start > 0
    (size,) = struct.unpack_from("<Q", raw, start + 8)
    out, pos = [], start + 16
    while pos + 16 <= start + size:
        index, _ref, _res, n = struct.unpack_from("<HHIQ", raw, pos)
        if index == 0:
            break
        out.append(pos)
        pos += 16 + (n + 7) // 8 * 8
    return out


@pytest.mark.timeout(120)
def test_a_damaged_string_heap_ends_in_a_read_error_within_the_time_limit(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flipped size byte of the last strings of the heap makes HDF5 spin; the read is limited."""
    monkeypatch.setenv("STS_PROBE_TIMEOUT", "2")
    raw = write_nxsts([_grid(rng), make_spectrum()], tmp_path / "a.nxs").read_bytes()
    outcomes = []
    for pos in _nexus_heap_strings(raw)[-2:]:
        bad = bytearray(raw)
        bad[pos + 8] ^= 0xFF
        damaged = tmp_path / f"d{pos}.nxs"
        damaged.write_bytes(bytes(bad))
        t0 = time.monotonic()
        try:
            read_nxsts(damaged)
            outcomes.append("read")
        except ReadError as exc:
            outcomes.append(str(exc))
        assert time.monotonic() - t0 < 20
    assert any("HDF5 did not finish reading its structure within 2 s" in o for o in outcomes), outcomes


def test_an_array_declaring_more_than_the_file_stores_is_refused(tmp_path: Path) -> None:
    """A damaged dataspace that declares a hundred thousand times the stored cube is refused before
    anything is allocated."""
    rng = np.random.default_rng(3)
    g = make_grid(rng, shape=(7, 11, 13))
    raw = bytearray(write_nxsts(g, tmp_path / "a.nxs").read_bytes())
    dims = struct.pack("<QQQ", 7, 11, 13)
    spots = [i for i in range(len(raw)) if raw.startswith(dims, i)]
    assert spots
    for i in spots:
        raw[i : i + 24] = struct.pack("<QQQ", 7, 11, 1_300_000)
    damaged = tmp_path / "big.nxs"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(ReadError, match="declares 400400000 bytes"):
        read_nxsts(damaged)


def test_sniffing_a_damaged_file_cannot_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.store.probe as probe_mod

    p = tmp_path / "x.nxs"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    monkeypatch.setattr(probe_mod, "_CHILD", "import time; time.sleep(60)")
    monkeypatch.setenv("STS_PROBE_TIMEOUT", "1")
    probe_mod._stop_child()
    spec = registry().get("nexus_sts")
    t0 = time.monotonic()
    try:
        assert spec.sniff(p.read_bytes()[:64], p) is False
        with pytest.raises(ReadError, match="damaged NeXus file: HDF5 did not finish"):
            read_nxsts(p)
    finally:
        probe_mod._stop_child()
    assert time.monotonic() - t0 < 10
