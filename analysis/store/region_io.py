"""Export of regions and region-averaged spectra: CSV, NPZ masks and project-file attachments.

* :func:`write_spectra_csv`: one row per (grid, region, sweep point) with mean, std and pixel counts
  (a tidy table that keeps grids with different sweeps apart).
* :func:`write_masks_npz`: every region's (ny, nx) bool mask in a given frame, plus the regions' JSON
  descriptions, in one ``.npz`` (no pickles).
* :func:`regions_attachment` / :func:`regions_from_attachment`: the regions (and optionally their spectra)
  as an :class:`analysis.store.Attachment` for the project file, and back.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.dataset import Frame
from analysis.maps.averaging import RegionAverage
from analysis.maps.regions import Region

ATTACHMENT_NAME = "regions"


@dataclass(frozen=True)
class SpectraBlock:
    """The region averages of one grid: ``grid`` label, ``channel`` and its ``unit``, ``bias`` (nb,) in V."""

    grid: str
    channel: str
    unit: str
    bias: np.ndarray
    averages: Mapping[str, RegionAverage]  # by region id


def write_spectra_csv(
    path: str | os.PathLike[str], blocks: Sequence[SpectraBlock], regions: Mapping[str, Region]
) -> int:
    """Write the region spectra as CSV; returns the number of data rows."""
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["grid", "channel", "unit", "region", "region_id", "n_used", "n_invalid", "bias_V", "mean", "std"]
        )
        for b in blocks:
            for rid, avg in b.averages.items():
                name = regions[rid].name if rid in regions else rid
                for v, m, s in zip(b.bias, avg.mean, avg.std):
                    w.writerow(
                        [
                            b.grid,
                            b.channel,
                            b.unit,
                            name,
                            rid,
                            avg.n_used,
                            avg.n_invalid,
                            f"{v:.9g}",
                            f"{m:.9g}",
                            f"{s:.9g}",
                        ]
                    )
                    rows += 1
    return rows


def read_spectra_csv(path: str | os.PathLike[str]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Read :func:`write_spectra_csv` output: {(grid, region_id): {"bias_V", "mean", "std"}} arrays."""
    out: dict[tuple[str, str], dict[str, list[float]]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            d = out.setdefault((row["grid"], row["region_id"]), {"bias_V": [], "mean": [], "std": []})
            for k in ("bias_V", "mean", "std"):
                d[k].append(float(row[k]))
    return {k: {n: np.asarray(v) for n, v in d.items()} for k, d in out.items()}


def write_masks_npz(path: str | os.PathLike[str], regions: Sequence[Region], frame: Frame) -> None:
    """Save each region's mask in ``frame`` (arrays named by region id) and ``regions_json``."""
    arrays: dict[str, np.ndarray] = {}
    described = []
    for r in regions:
        arrays[f"mask_{r.id}"] = r.mask_in(frame)
        d, _ = r.to_dict()
        described.append(d)
    meta = {"frame": frame.to_dict(), "regions": described}
    np.savez_compressed(path, regions_json=np.array(json.dumps(meta)), **arrays)


def read_masks_npz(path: str | os.PathLike[str]) -> tuple[Frame, list[Region]]:
    """Read :func:`write_masks_npz` output: the frame and the regions as mask regions in that frame."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["regions_json"]))
        frame = Frame.from_dict(meta["frame"])
        regions = []
        for d in meta["regions"]:
            mask = z[f"mask_{d['id']}"]
            d = dict(d)
            d.pop("geometry", None)
            d["frame"] = meta["frame"]
            regions.append(Region.from_dict(d, mask))
    return frame, regions


def regions_attachment(regions: Sequence[Region], blocks: Sequence[SpectraBlock] = ()) -> Any:
    """The regions (geometry or mask) and optionally their averaged spectra as a project attachment."""
    from analysis.store import Attachment

    data: dict[str, Any] = {"regions": [], "spectra": []}
    arrays: dict[str, np.ndarray] = {}
    for r in regions:
        d, mask = r.to_dict()
        if mask is not None:
            arrays[f"mask/{r.id}"] = mask
        data["regions"].append(d)
    for i, b in enumerate(blocks):
        data["spectra"].append(
            {"grid": b.grid, "channel": b.channel, "unit": b.unit, "index": i, "regions": []}
        )
        arrays[f"spectra/{i}/bias"] = np.asarray(b.bias, dtype=np.float64)
        for rid, avg in b.averages.items():
            data["spectra"][-1]["regions"].append(
                {"id": rid, "n_used": avg.n_used, "n_invalid": avg.n_invalid}
            )
            arrays[f"spectra/{i}/{rid}/mean"] = np.asarray(avg.mean)
            arrays[f"spectra/{i}/{rid}/std"] = np.asarray(avg.std)
    return Attachment(data=data, arrays=arrays)


def regions_from_attachment(att: Any) -> list[Region]:
    """Regions stored by :func:`regions_attachment` (ValueError on a malformed attachment)."""
    out = []
    for d in att.data.get("regions", []):
        mask = att.arrays.get(f"mask/{d.get('id')}")
        out.append(Region.from_dict(d, mask))
    return out
