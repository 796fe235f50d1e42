"""A minimal RHK SM4 writer for tests: image and line pages with strings and curve positions.

It follows the documented layout (file header, page index header, page index array, page headers with
string and drift objects, int32 page data) so that the reader can be tested on page kinds for which no
freely licensed sample file exists (images, grid spectroscopy).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PAGE_HEADER = struct.Struct("<HHIIIiiIIIIIIii11fIIIIB63x")


@dataclass
class Page:
    """One page: ``raw`` (y_size, x_size) int32 values, physical = raw * z_scale + z_offset."""

    raw: np.ndarray
    data_type: int = 0  # 0 image, 1 line
    label: str = "Topography"
    x_unit: str = "m"
    y_unit: str = "m"
    z_unit: str = "m"
    page_type: int = 1
    line_type: int = 0
    scan_type: int = 0
    x_scale: float = 1e-10
    y_scale: float = -1e-10
    z_scale: float = 1e-12
    x_offset: float = 0.0
    y_offset: float = 0.0
    z_offset: float = 0.0
    bias: float = 0.1
    current: float = 1e-10
    angle: float = 0.0
    grid: tuple[int, int] = (0, 0)
    positions: np.ndarray | None = None  # (y_size, 2) metres
    extra_strings: list[str] = field(default_factory=list)


def _strings(page: Page) -> bytes:
    texts = [page.label, "", "", "", "C:\\data\\file.SM4", "01/02/24", "10:11:12", page.x_unit, page.y_unit,
             page.z_unit, "", "", "", "0", "0", "", "", "", ""]  # fmt: skip
    out = b""
    for t in texts:
        enc = t.encode("utf-16-le")
        out += struct.pack("<H", len(enc) // 2) + enc
    return out


def write_sm4(path: Path, pages: list[Page]) -> Path:
    """Write ``pages`` as an SM4 file and return ``path``."""
    sig = "STiMage 005.006 1".encode("utf-16-le") + b"\x00\x00"
    sig = sig[:36].ljust(36, b"\x00")
    file_header_size = 2 + 36 + 20 + 12 * 1
    pih_offset = file_header_size
    pih_size = 16 + 12
    pia_offset = pih_offset + pih_size
    pia_size = sum(32 + 12 * 2 for _ in pages)
    blobs: list[tuple[int, bytes]] = []
    cursor = pia_offset + pia_size
    index_entries = b""
    for k, page in enumerate(pages):
        ny, nx = page.raw.shape
        strings = _strings(page)
        nstr = 19
        hobjs_count = 3 if page.positions is not None else 1
        header_offset = cursor
        header_len = PAGE_HEADER.size + 12 * hobjs_count
        strings_offset = header_offset + header_len
        drift_header_offset = strings_offset + len(strings)
        drift_data_offset = drift_header_offset + 12
        drift = b""
        if page.positions is not None:
            table = np.zeros((ny, 7), dtype="<f4")
            table[:, 0] = np.arange(ny) * 0.5
            table[:, 1:3] = page.positions
            drift = struct.pack("<QI", 0, 0) + table.tobytes()
        data_offset = strings_offset + len(strings) + len(drift)
        data = page.raw.astype("<i4").tobytes()
        hobjs = [(10, strings_offset, len(strings))]
        if page.positions is not None:
            hobjs += [(7, drift_header_offset, 12), (8, drift_data_offset, 28 * ny)]
        header = PAGE_HEADER.pack(
            0, nstr, page.page_type, 0, page.line_type, 0, 0, nx, ny, 0, page.scan_type, 0, len(data),
            int(page.raw.min()), int(page.raw.max()), page.x_scale, page.y_scale, page.z_scale, 0.0,
            page.x_offset, page.y_offset, page.z_offset, 0.0, page.bias, page.current, page.angle, 0,
            page.grid[0], page.grid[1], hobjs_count, 0,
        )  # fmt: skip
        header += b"".join(struct.pack("<III", *o) for o in hobjs)
        blob = header + strings + drift + data
        blobs.append((header_offset, blob))
        cursor = header_offset + len(blob)
        index_entries += struct.pack("<16sIIII", k.to_bytes(16, "little"), page.data_type, 0, 2, 6)
        index_entries += struct.pack("<III", 3, header_offset, header_len)
        index_entries += struct.pack("<III", 4, data_offset, len(data))
    out = bytearray(
        struct.pack("<H", file_header_size) + sig + struct.pack("<IIIII", len(pages), 1, 12, 0, 0)
    )
    out += struct.pack("<III", 1, pih_offset, pih_size)
    out += struct.pack("<IIII", len(pages), 1, 0, 0) + struct.pack("<III", 2, pia_offset, pia_size)
    out += index_entries
    for offset, blob in blobs:
        assert len(out) == offset
        out += blob
    path.write_bytes(bytes(out))
    return path
