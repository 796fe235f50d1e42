"""Gwyddion 1.x files (magic GWYO): the old top-level container, built byte by byte from its documented
layout around a data field serialised by an independent writer (the gwyfile package)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from analysis.dataset import Image
from analysis.errors import ReadError
from analysis.io import gwyddion, registry
from analysis.io.gwyddion_format import GwyObject, dumps_old, parse

NM = 1e-9


def _item(code: int, key: str, payload: bytes) -> bytes:
    return struct.pack("<i", code) + key.encode() + b"\x00" + payload


def _old_file(data: np.ndarray) -> bytes:
    from gwyfile.objects import GwyDataField, GwySIUnit

    field = GwyDataField(
        data,
        xreal=30 * NM,
        yreal=20 * NM,
        si_unit_xy=GwySIUnit(unitstr="m"),
        si_unit_z=GwySIUnit(unitstr="m"),
    )
    body = (
        _item(80, "/0/data", field.serialize())  # G_TYPE_OBJECT
        + _item(64, "/0/data/title", b"Height\x00")  # G_TYPE_STRING
        + _item(60, "/0/base/min", struct.pack("<d", -1.5))  # G_TYPE_DOUBLE
        + _item(20, "/0/show/grid", b"\x01")  # G_TYPE_BOOLEAN
        + _item(24, "/0/base/range-type", struct.pack("<i", 2))  # G_TYPE_INT
        + _item(16, "/0/flag", b"x")  # G_TYPE_UCHAR
    )
    return b"GWYO" + b"GwyContainer\x00" + struct.pack("<I", len(body)) + body


def test_old_container_reads_like_a_new_one(tmp_path: Path) -> None:
    data = np.arange(12, dtype=float).reshape(3, 4) * 1e-10
    path = tmp_path / "old.gwy"
    path.write_bytes(_old_file(data))
    assert registry().detect(path).name == "gwyddion"
    (img,) = registry().read(path)
    assert isinstance(img, Image)
    assert list(img.channels) == ["Height"] and img.units == {"Height": "m"}
    np.testing.assert_allclose(img.channels["Height"], data[::-1], rtol=1e-6)  # top line first in the file
    assert img.frame.size == pytest.approx((30 * NM, 20 * NM))
    assert img.metadata["format"] == "Gwyddion GWYO"
    top = parse(path.read_bytes())
    assert top.items["/0/base/min"] == -1.5 and top.items["/0/show/grid"] is True
    assert top.items["/0/base/range-type"] == 2 and top.items["/0/flag"] == "x"


def test_dumps_old_writes_the_layout_parse_reads() -> None:
    blob = _old_file(np.ones((2, 2)))
    top = parse(blob)
    again = dumps_old(GwyObject("GwyContainer", {k: v for k, v in top.items.items() if k != "/0/flag"}))
    back = parse(again)
    assert list(back.items) == [k for k in top.items if k != "/0/flag"]
    np.testing.assert_array_equal(back.items["/0/data"].get("data"), top.items["/0/data"].get("data"))


def test_damaged_old_files_raise_read_error(tmp_path: Path) -> None:
    blob = _old_file(np.ones((3, 3)))
    for cut in (6, 20, 40, len(blob) - 3):
        p = tmp_path / f"cut{cut}.gwy"
        p.write_bytes(blob[:cut])
        with pytest.raises(ReadError):
            gwyddion.read(p)
    bad_code = bytearray(blob)
    start = len(b"GWYO" + b"GwyContainer\x00") + 4
    bad_code[start : start + 4] = struct.pack("<i", 999)
    p = tmp_path / "code.gwy"
    p.write_bytes(bytes(bad_code))
    with pytest.raises(ReadError, match="unknown type code 999"):
        gwyddion.read(p)
