"""The project's own file format (HDF5): datasets with attachments, generic records, region export.

May import the data model, errors and map analyses; never models or fitting.
Layout and guarantees: :mod:`analysis.store.hdf5`.
"""

from analysis.store.atomic import SaveError, remove_stale_temporaries
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
    "SaveError",
    "open_project",
    "remove_stale_temporaries",
    "save_project",
]
