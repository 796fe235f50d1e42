"""The integrity seal of a project file: a checksum of everything HDF5 interprets, in the HDF5 user block.

HDF5 trusts its own structures. A damaged object header, heap or index can make the library loop forever
or crash the process (a single flipped byte in the global heap of string attributes is enough to make
``attrs[...]`` spin), and no timer can interrupt a call into the C library. So a project file is opened
in-process only when it is known to be exactly what the workbench wrote; anything else is first opened
in a separate, time- and memory-limited process (:mod:`analysis.store.probe`).

"Exactly what was written" is checked with this seal: the writer reserves the first :data:`USERBLOCK`
bytes of the file (HDF5's user block, which the library never reads) and, once the file is complete,
stores there a BLAKE2b digest of the whole file except the raw, unfiltered chunks of the grid cubes
(their bytes are only ever copied, never interpreted, and hashing a 1 GB cube at every open would cost a
second). Metadata, attributes, heaps, chunk indexes and the small arrays are all covered, so a matching
digest means HDF5 will read structures it wrote itself. The seal detects damage, not forgery: a file
crafted on purpose with a recomputed digest is opened in-process like an intact one (external data are
refused in any case, see :mod:`analysis.store.hdf5`).

Layout of the user block (little-endian)::

    0   8s  b"STSWSEAL"
    8   H   seal version (1)
    10  H   number of excluded ranges n (at most MAX_RANGES)
    12  I   reserved (0)
    16  Q   file size in bytes
    24  32s BLAKE2b-256 digest (computed with these 32 bytes zeroed)
    56  n x (Q offset, Q length)   excluded byte ranges, sorted, inside [USERBLOCK, file size)
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable
from typing import Any

import h5py

USERBLOCK = 4096
MAGIC = b"STSWSEAL"
VERSION = 1
_HEAD = struct.Struct("<8sHHIQ32s")
_RANGE = struct.Struct("<QQ")
MAX_RANGES = (USERBLOCK - _HEAD.size) // _RANGE.size
#: Raw ranges shorter than this are hashed rather than excluded (hashing them costs nothing).
MIN_EXCLUDED = 64 << 10
_BLOCK = 1 << 20


def raw_ranges(datasets: Iterable[h5py.Dataset]) -> list[tuple[int, int]]:
    """Sorted, merged ``(offset, length)`` byte ranges of the unfiltered chunks of ``datasets``; at most
    :data:`MAX_RANGES` of the largest ones (the others stay hashed). Empty when HDF5 cannot say."""
    spans: list[tuple[int, int]] = []
    for ds in datasets:
        if ds.chunks is None or ds.compression or ds.shuffle or ds.fletcher32 or ds.scaleoffset is not None:
            continue

        def visit(info: Any) -> None:
            if info.filter_mask == 0 and info.byte_offset is not None and info.size:
                spans.append((int(info.byte_offset), int(info.size)))

        try:
            ds.id.chunk_iter(visit)
        except Exception:  # an HDF5 without chunk iteration: hash everything
            return []
    spans.sort()
    merged: list[list[int]] = []
    for off, n in spans:
        if merged and off <= merged[-1][0] + merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], off + n - merged[-1][0])
        else:
            merged.append([off, n])
    big = [(o, n) for o, n in merged if n >= MIN_EXCLUDED and o >= USERBLOCK]
    if len(big) > MAX_RANGES:
        big = sorted(sorted(big, key=lambda r: -r[1])[:MAX_RANGES])
    return big


def _digest(fh: Any, size: int, head: bytes, ranges: list[tuple[int, int]]) -> bytes:
    """BLAKE2b-256 of ``head`` and of the bytes of the raw file ``fh`` from :data:`USERBLOCK` to ``size``,
    skipping ``ranges``."""
    h = hashlib.blake2b(digest_size=32)
    h.update(head)
    view = memoryview(bytearray(_BLOCK))
    pos = USERBLOCK
    for off, n in [*ranges, (size, 0)]:
        fh.seek(pos)
        while pos < off:
            k = fh.readinto(view[: min(_BLOCK, off - pos)])
            if not k:
                raise OSError("the file shrank while it was being checked")
            h.update(view[:k])
            pos += k
        pos = max(pos, off + n)
    return h.digest()


def _head(size: int, ranges: list[tuple[int, int]], digest: bytes) -> bytes:
    out = _HEAD.pack(MAGIC, VERSION, len(ranges), 0, size, digest)
    out += b"".join(_RANGE.pack(o, n) for o, n in ranges)
    return out.ljust(USERBLOCK, b"\x00")


def write_seal(fh: Any, ranges: list[tuple[int, int]]) -> None:
    """Compute the digest of the complete file open in ``fh`` (raw, read-write) and write the seal into
    its user block."""
    size = os.fstat(fh.fileno()).st_size
    blank = _head(size, ranges, b"\x00" * 32)
    digest = _digest(fh, size, blank, ranges)
    fh.seek(0)
    fh.write(_head(size, ranges, digest))


def check_seal(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` carries a seal and its content matches it (the file is as it was written)."""
    try:
        with open(path, "rb", buffering=0) as fh:
            size = os.fstat(fh.fileno()).st_size
            block = fh.read(USERBLOCK)
            if len(block) < USERBLOCK or not block.startswith(MAGIC):
                return False
            magic, version, n, _r, stored_size, digest = _HEAD.unpack_from(block)
            if version != VERSION or n > MAX_RANGES or stored_size != size:
                return False
            ranges = [_RANGE.unpack_from(block, _HEAD.size + i * _RANGE.size) for i in range(n)]
            end = USERBLOCK
            for off, length in ranges:
                if off < end or length <= 0 or off + length > size:
                    return False
                end = off + length
            blank = _head(size, ranges, b"\x00" * 32)
            if blank[_HEAD.size + n * _RANGE.size :] != block[_HEAD.size + n * _RANGE.size :]:
                return False
            return _digest(fh, size, blank, ranges) == digest
    except OSError:
        return False
