"""The project's own file format (HDF5): save and open collections of datasets with attachments.

See :mod:`analysis.store.hdf5` for the layout and the guarantees (atomic saves, lazy opening).
"""

from analysis.store.hdf5 import (
    FORMAT_VERSION,
    Attachment,
    Project,
    ProjectEntry,
    SaveCancelled,
    open_project,
    save_project,
)

__all__ = [
    "FORMAT_VERSION",
    "Attachment",
    "Project",
    "ProjectEntry",
    "SaveCancelled",
    "open_project",
    "save_project",
]
