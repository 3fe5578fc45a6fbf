"""Storage exceptions: each message names the store, the read or the event concerned."""

from __future__ import annotations

from readerstudy.errors import ReaderStudyError


class StoreError(ReaderStudyError):
    """The results store cannot be opened or refused an operation."""


class SchemaVersionError(StoreError):
    """The store was written by a newer readerstudy, or by one too old to migrate."""


class DuplicateReadError(StoreError):
    """A read of this reader, session and case was already submitted."""


class ReadNotFoundError(StoreError):
    """An amendment names a read that was never submitted."""


class StoreMissingError(StoreError):
    """The store that should hold a study's reads is missing, empty or not a readerstudy store."""
