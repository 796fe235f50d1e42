"""Project files through the reader registry: ``read_file("x.h5")`` gives the project's datasets.

The datasets are lazy (grid cubes stay ``h5py.Dataset``); the file is closed when they are garbage
collected. Use :func:`analysis.store.open_project` to control the file's lifetime, labels and attachments.
"""

from __future__ import annotations

from pathlib import Path

from analysis.dataset import Dataset
from analysis.io.registry import ReaderSpec
from analysis.store.hdf5 import open_project

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def sniff(head: bytes, path: Path) -> bool:
    return head.startswith(HDF5_SIGNATURE)


def read(path: Path) -> list[Dataset]:
    project = open_project(path)
    return project.datasets()


READER = ReaderSpec(
    name="project_hdf5",
    title="STS Workbench project",
    extensions=(".h5", ".hdf5", ".stsw"),
    sniff=sniff,
    read=read,
    priority=20,
)
