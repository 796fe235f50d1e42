"""Project files through the reader registry: ``read_file("x.h5")`` gives the project's datasets.

The datasets are lazy (grid cubes stay ``h5py.Dataset``); the file is closed when they are garbage
collected. Use :func:`analysis.store.open_project` to control the file's lifetime, labels and attachments.
What opening left out or repaired (:attr:`analysis.store.Project.warnings`) is added to the warnings of the
first dataset, so that ``stsworkbench info`` and the data browser show it.
"""

from __future__ import annotations

from pathlib import Path

from analysis.dataset import Dataset
from analysis.io.registry import ReaderSpec
from analysis.store.hdf5 import open_project
from analysis.store.seal import MAGIC as SEAL_MAGIC

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def sniff(head: bytes, path: Path) -> bool:
    """An HDF5 file: the signature at the start, or the seal of a project file in its user block."""
    return head.startswith(HDF5_SIGNATURE) or head.startswith(SEAL_MAGIC)


def read(path: Path) -> list[Dataset]:
    project = open_project(path)
    datasets = project.datasets()
    if datasets and project.warnings:
        datasets[0].warnings.extend(f"project file: {w}" for w in project.warnings)
    return datasets


READER = ReaderSpec(
    name="project_hdf5",
    title="STS Workbench project",
    extensions=(".h5", ".hdf5", ".stsw"),
    sniff=sniff,
    read=read,
    priority=20,
)
