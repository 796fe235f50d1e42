"""Labber measurement logs (``.hdf5``) as series, read with h5py.

Layout read (Labber's log format):

* ``/Data/Data``: (n_inner, n_columns, n_entries) float64; axis 0 runs over the innermost step, axis 2
  over the entries (the outer steps, flattened);
* ``/Data/Channel names``: the n_columns column names (a compound table whose first field is the name,
  or plain strings);
* ``/Channels``: a compound table with fields ``name`` and ``unitPhys`` (the channels' units);
* ``/Step list``: a compound table whose ``channel_name`` field lists the stepped channels, innermost first.

The first column is the swept quantity ``x``; every entry of axis 2 is one sweep. Columns of stepped
channels that are constant within each entry are tags (one value per sweep); the other columns are
channels. Units are converted to SI. Vector traces (``/Traces``) are not read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from analysis.dataset import Source
from analysis.errors import ReadError
from analysis.io.text_columns import to_si
from analysis.series import CURRENT_BIASED, VOLTAGE_BIASED, Series, Sweep

NAME = "labber"


def is_labber(path: str | os.PathLike[str]) -> bool:
    """True for an HDF5 file with a ``/Data/Data`` dataset."""
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != b"\x89HDF\r\n\x1a\n":
                return False
        with h5py.File(path, "r") as f:
            return "Data" in f and isinstance(f["Data"], h5py.Group) and "Data" in f["Data"]
    except (OSError, ValueError):
        return False


def _text(v: Any) -> str:
    if isinstance(v, np.void | tuple):
        v = v[0]
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _field(table: np.ndarray, name: str) -> list[str]:
    if table.dtype.names and name in table.dtype.names:
        return [_text(v) for v in table[name]]
    return [_text(v) for v in table]


def read_labber(path: str | os.PathLike[str]) -> Series:
    """A Labber log as one series (see the module docstring); ReadError names the file."""
    p = Path(path)
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise ReadError(p, f"not a readable HDF5 file: {exc}") from None
    with f:
        try:
            data = np.asarray(f["Data"]["Data"][()], dtype=np.float64)
            names = _field(np.asarray(f["Data"]["Channel names"][()]), "name")
        except KeyError as exc:
            raise ReadError(p, f"not a Labber log: missing {exc}") from None
        units: dict[str, str] = {}
        if "Channels" in f:
            ch = np.asarray(f["Channels"][()])
            if ch.dtype.names and "name" in ch.dtype.names and "unitPhys" in ch.dtype.names:
                units = dict(zip(_field(ch, "name"), _field(ch, "unitPhys")))
        steps = set(_field(np.asarray(f["Step list"][()]), "channel_name")) if "Step list" in f else set()
        attrs = {k: _text(v) if isinstance(v, bytes | str) else v for k, v in f.attrs.items()}
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3 or data.shape[1] != len(names) or data.shape[1] < 2:
        raise ReadError(
            p, f"/Data/Data has shape {data.shape}, expected (points, {len(names)} columns, entries)"
        )
    si = {n: to_si(units.get(n, ""))[:2] for n in names}
    data = data * np.array([si[n][1] for n in names])[None, :, None]
    xname = names[0]
    tag_cols = [
        j
        for j, n in enumerate(names[1:], start=1)
        if n in steps and np.all(np.nanmax(data[:, j, :], 0) == np.nanmin(data[:, j, :], 0))
    ]
    chan_cols = [j for j in range(len(names)) if j not in tag_cols]
    src = Source(str(p), NAME, 0)
    sweeps = []
    for k in range(data.shape[2]):
        chans = {names[j]: np.ascontiguousarray(data[:, j, k]) for j in chan_cols}
        sweeps.append(Sweep(x=chans[xname], channels=chans, label=f"{p.stem} #{k + 1}", source=src))
    xu = si[xname][0]
    return Series(
        name=str(attrs.get("log_name") or p.stem),
        sweeps=sweeps,
        x_name=xname,
        x_unit=xu,
        x_channel=xname,
        bias_mode=CURRENT_BIASED if xu == "A" else VOLTAGE_BIASED,
        units={names[j]: si[names[j]][0] for j in chan_cols},
        tags={names[j]: data[0, j, :].copy() for j in tag_cols},
        tag_units={names[j]: si[names[j]][0] for j in tag_cols},
        metadata={k: v for k, v in attrs.items() if isinstance(v, str | int | float)},
        source=src,
        provenance=[{"operation": "import", "parameters": {"reader": NAME}, "inputs": []}],
    )
