"""Exceptions raised by the computing core."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the workbench reports to a user."""


class ReadError(WorkbenchError):
    """A file could not be read.

    The message names the file, what was expected and where (byte offset or line), so that a user can
    act on it without a traceback.
    """

    def __init__(self, path: object, message: str, *, offset: int | None = None, line: int | None = None):
        self.path = str(path)
        self.reason = message
        self.offset = offset
        self.line = line
        where = ""
        if offset is not None:
            where = f" (at byte {offset})"
        elif line is not None:
            where = f" (at line {line})"
        super().__init__(f"{self.path}: {message}{where}")


class FormatVersionError(ReadError):
    """A project file written by a newer version of the format."""


class ModelError(WorkbenchError):
    """A physical model was used with inconsistent parameters or could not be loaded."""


class FitError(WorkbenchError):
    """A fit could not be started or failed in a way the user must know about."""
