"""QCoDeS datasets (``.db`` SQLite files) as series, read with :mod:`sqlite3` (qcodes is not needed).

Layout read (the QCoDeS database schema):

* table ``experiments`` (``exp_id``, ``name``, ``sample_name``);
* table ``runs`` (``run_id``, ``exp_id``, ``name``, ``result_table_name``, ``run_description``, ...):
  ``run_description`` is JSON whose ``interdependencies.paramspecs`` lists every parameter with ``name``,
  ``paramtype`` (``numeric``, ``array``, ``text``, ``complex``), ``label``, ``unit`` and ``depends_on``
  (a list, or a comma-separated string in the oldest versions);
* the run's result table (``"results-<exp>-<counter>"``): an ``id`` column and one column per parameter;
  a ``numeric`` value is a number per row, an ``array`` value a ``.npy`` blob per row.

qcodes itself is not needed to read a database (the optional extra ``[transport]`` installs it, for writing
databases and cross-checks). Each run is one series. Its dependent parameters (those with ``depends_on``)
sharing the first one's setpoints are the channels; the last (innermost, fastest) setpoint is the swept
quantity ``x``; the other setpoints are tags, one value per sweep. With numeric rows a sweep is a run of
consecutive rows with the same outer setpoint values; with array rows each row is a sweep. Units are
converted to SI (``mV`` -> V).
"""

from __future__ import annotations

import io
import json
import math
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from analysis.dataset import Source
from analysis.errors import ReadError
from analysis.io.text_columns import to_si
from analysis.series import CURRENT_BIASED, VOLTAGE_BIASED, Series, Sweep

NAME = "qcodes_db"


def is_qcodes_db(path: str | os.PathLike[str]) -> bool:
    """True for an SQLite file with a ``runs`` table."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return False
    except OSError:
        return False
    try:
        with _connect(p) as con:
            return (
                con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='runs'").fetchone()
                is not None
            )
    except (sqlite3.Error, ReadError):
        return False


class _Closing:
    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()


def _connect(path: Path) -> _Closing:
    try:
        return _Closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True))
    except sqlite3.Error as exc:
        raise ReadError(path, f"not a readable SQLite file: {exc}") from None


def _specs(path: Path, run_id: int, desc: str) -> dict[str, dict[str, Any]]:
    try:
        d = json.loads(desc)
        specs = d["interdependencies"]["paramspecs"]
    except (ValueError, KeyError, TypeError):
        raise ReadError(path, f"run {run_id}: unreadable run_description (no interdependencies)") from None
    out = {}
    for s in specs:
        dep = s.get("depends_on") or []
        if isinstance(dep, str):
            dep = [t.strip() for t in dep.split(",") if t.strip()]
        out[str(s["name"])] = {**s, "depends_on": list(dep)}
    return out


def _array(blob: Any) -> np.ndarray:
    if isinstance(blob, bytes | memoryview):
        return np.asarray(np.load(io.BytesIO(bytes(blob)), allow_pickle=False), dtype=np.float64).reshape(-1)
    return np.asarray([math.nan if blob is None else blob], dtype=np.float64)


def _number(v: Any) -> float:
    try:
        return math.nan if v is None else float(v)
    except (TypeError, ValueError):
        return math.nan


def list_runs(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """[{run_id, name, experiment, sample}] of a QCoDeS database."""
    p = Path(path)
    with _connect(p) as con:
        try:
            rows = con.execute(
                "SELECT runs.run_id, runs.name, experiments.name, experiments.sample_name FROM runs "
                "LEFT JOIN experiments ON runs.exp_id = experiments.exp_id ORDER BY runs.run_id"
            ).fetchall()
        except sqlite3.Error as exc:
            raise ReadError(p, f"not a QCoDeS database: {exc}") from None
    return [
        {"run_id": int(r[0]), "name": r[1] or "", "experiment": r[2] or "", "sample": r[3] or ""}
        for r in rows
    ]


def read_qcodes_run(path: str | os.PathLike[str], run_id: int) -> Series:
    """Run ``run_id`` of a QCoDeS database as a series (see the module docstring)."""
    p = Path(path)
    with _connect(p) as con:
        try:
            row = con.execute(
                "SELECT runs.name, runs.result_table_name, runs.run_description, experiments.name, "
                "experiments.sample_name FROM runs LEFT JOIN experiments ON runs.exp_id = experiments.exp_id "
                "WHERE runs.run_id = ?",
                (int(run_id),),
            ).fetchone()
        except sqlite3.Error as exc:
            raise ReadError(p, f"not a QCoDeS database: {exc}") from None
        if row is None:
            raise ReadError(p, f"no run {run_id}")
        run_name, table, desc, exp_name, sample = row
        specs = _specs(p, run_id, desc)
        deps = [n for n, s in specs.items() if s["depends_on"]]
        if not deps:
            raise ReadError(p, f"run {run_id}: no dependent parameter to make sweeps of")
        setpoints = specs[deps[0]]["depends_on"]
        deps = [d for d in deps if specs[d]["depends_on"] == setpoints]
        cols = [*setpoints, *deps]
        for c in cols:
            if c not in specs:
                raise ReadError(p, f"run {run_id}: parameter {c!r} is not described")
        quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in cols)
        try:
            data = con.execute(f'SELECT {quoted} FROM "{table}" ORDER BY id').fetchall()
        except sqlite3.Error as exc:
            raise ReadError(p, f"run {run_id}: cannot read its results table {table!r}: {exc}") from None
    units, factors = {}, {}
    for c in cols:
        si, factor, _ = to_si(str(specs[c].get("unit", "") or ""))
        units[c], factors[c] = si, factor
    xname = setpoints[-1]
    outer = setpoints[:-1]
    arrays = specs[xname].get("paramtype") == "array"
    sweeps: list[Sweep] = []
    tag_rows: list[list[float]] = []
    src = Source(str(p), NAME, int(run_id))
    if arrays:
        for k, r in enumerate(data):
            chans = {c: _array(v) * factors[c] for c, v in zip(cols, r)}
            n = chans[xname].shape[0]
            chans = {
                c: (v if v.shape[0] == n else np.full(n, v[0] if v.size == 1 else math.nan))
                for c, v in chans.items()
            }
            tag_rows.append([float(chans[o][0]) for o in outer])
            for o in outer:
                chans.pop(o)
            sweeps.append(Sweep(x=chans[xname], channels=chans, label=f"run {run_id} #{k + 1}", source=src))
    else:
        table_ = np.array([[_number(v) for v in r] for r in data], dtype=np.float64).reshape(-1, len(cols))
        table_ *= np.array([factors[c] for c in cols])
        no = len(outer)
        if table_.shape[0]:
            if no:
                key = table_[:, :no]
                same = np.all((key[1:] == key[:-1]) | (np.isnan(key[1:]) & np.isnan(key[:-1])), axis=1)
                bounds = [0, *(np.flatnonzero(~same) + 1).tolist(), table_.shape[0]]
            else:
                bounds = [0, table_.shape[0]]
            for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
                block = table_[a:b]
                chans = {c: np.ascontiguousarray(block[:, no + j]) for j, c in enumerate(cols[no:])}
                tag_rows.append([float(v) for v in block[0, :no]])
                sweeps.append(
                    Sweep(x=chans[xname], channels=chans, label=f"run {run_id} #{k + 1}", source=src)
                )
    tags = {o: np.array([t[j] for t in tag_rows], dtype=np.float64) for j, o in enumerate(outer)}
    chan_units = {c: units[c] for c in cols if c not in outer}
    return Series(
        name=f"{exp_name or 'experiment'} run {run_id}" + (f" {run_name}" if run_name else ""),
        sweeps=sweeps,
        x_name=str(specs[xname].get("label") or xname),
        x_unit=units[xname],
        x_channel=xname,
        bias_mode=CURRENT_BIASED if units[xname] == "A" else VOLTAGE_BIASED,
        units=chan_units,
        tags=tags,
        tag_units={o: units[o] for o in outer},
        metadata={
            "experiment": exp_name or "",
            "sample": sample or "",
            "run_id": int(run_id),
            "run_name": run_name or "",
        },
        source=src,
        provenance=[
            {"operation": "import", "parameters": {"reader": NAME, "run_id": int(run_id)}, "inputs": []}
        ],
    )


def read_qcodes_db(path: str | os.PathLike[str]) -> list[Series]:
    """Every run of a QCoDeS database that has a dependent parameter, each as a series."""
    out = []
    for run in list_runs(path):
        try:
            out.append(read_qcodes_run(path, run["run_id"]))
        except ReadError as exc:
            if "no dependent parameter" not in exc.reason:
                raise
    return out
