"""Reader registry: content sniffing, duplicates, plugin failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.dataset import Spectrum
from analysis.errors import ReadError
from analysis.io.registry import ReaderRegistry, ReaderSpec


def _spec(name: str, magic: bytes, priority: int = 0) -> ReaderSpec:
    def read(path: Path) -> list:
        return [Spectrum(name=name)]

    return ReaderSpec(
        name=name,
        title=name.title(),
        extensions=(".x",),
        sniff=lambda head, path: head.startswith(magic),
        read=read,
        priority=priority,
    )


def test_builtin_readers_register_through_entry_points() -> None:
    reg = ReaderRegistry()
    names = {r.name for r in reg.readers()}
    for expected in ("nanonis_grid", "nanonis_image", "nanonis_spectrum", "createc_vert", "createc_image"):
        assert expected in names, reg.failures()


def test_content_decides_not_the_extension(tmp_path: Path) -> None:
    reg = ReaderRegistry(group="stsworkbench.none")
    reg.register(_spec("alpha", b"ALPHA"))
    reg.register(_spec("beta", b"BETA"))
    f = tmp_path / "data.x"
    f.write_bytes(b"BETA payload")
    assert reg.detect(f).name == "beta"
    assert reg.read(f)[0].name == "beta"


def test_duplicate_names_refused_unless_override() -> None:
    reg = ReaderRegistry(group="stsworkbench.none")
    reg.register(_spec("alpha", b"A"))
    with pytest.raises(ValueError, match="already registered"):
        reg.register(_spec("alpha", b"B"))
    reg.register(_spec("alpha", b"B"), override=True)
    assert (
        reg.get("alpha").sniff(
            b"B",
            Path("x"),
        )
        is True
    )


def test_unknown_and_empty_files_give_read_error(tmp_path: Path) -> None:
    reg = ReaderRegistry(group="stsworkbench.none")
    reg.register(_spec("alpha", b"ALPHA"))
    unknown = tmp_path / "u.bin"
    unknown.write_bytes(b"\x00\x01\x02")
    with pytest.raises(ReadError, match="unrecognised"):
        reg.read(unknown)
    empty = tmp_path / "e.bin"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match="empty"):
        reg.read(empty)
    with pytest.raises(ReadError, match="cannot open"):
        reg.read(tmp_path / "missing.bin")


def test_reader_bug_is_reported_as_read_error(tmp_path: Path) -> None:
    def boom(path: Path) -> list:
        raise ZeroDivisionError("bad arithmetic")

    reg = ReaderRegistry(group="stsworkbench.none")
    reg.register(ReaderSpec("boom", "Boom", (".b",), lambda h, p: True, boom))
    f = tmp_path / "f.b"
    f.write_bytes(b"x")
    with pytest.raises(ReadError, match="ZeroDivisionError"):
        reg.read(f)
