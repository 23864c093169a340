"""User-facing errors: every mistake a user can make becomes one MsmeshError subclass.

The CLI catches MsmeshError, prints its message on one line and exits with code 2; anything
else is a bug and may show a traceback.
"""

from __future__ import annotations


class MsmeshError(Exception):
    """A problem with the user's input or environment, reported as one line, exit code 2."""

    exit_code = 2

    def one_line(self) -> str:
        """The message flattened onto one line."""
        return " ".join(str(self).split())


class InputError(MsmeshError):
    """A file or argument given by the user is missing, unreadable or malformed."""


class FormatError(InputError):
    """A run-folder file (JSON/NPZ) does not match its documented format."""

    def __init__(self, path: object, field: str, problem: str) -> None:
        super().__init__(f"{path}: field '{field}': {problem}")
        self.path = path
        self.field = field
        self.problem = problem


class VideoError(InputError):
    """A video cannot be opened or decoded, or has no usable frames."""


class NoPeopleError(MsmeshError):
    """Detection found nobody to reconstruct."""


class ModelUnavailableError(MsmeshError):
    """Weights or a body model are not installed/cached and cannot be fetched."""


class OutputError(MsmeshError):
    """The output location cannot be written."""


class MsmeshWarning(UserWarning):
    """Something the user should know that does not stop the run; the CLI prints it as one line."""


class VideoWarning(MsmeshWarning):
    """Part of a video could not be decoded and was skipped."""


class RunFolderBusyError(OutputError):
    """Another msmesh process is writing to the same run folder."""


class ResultError(MsmeshError):
    """A computed result is unusable (e.g. a fit that diverged to NaN); nothing was written."""
