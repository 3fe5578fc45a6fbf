"""Study results storage: SQLAlchemy 2 tables, repository and hash-chained audit log.

SQLite in the study folder by default; PostgreSQL for multi-site studies. See docs/storage.md.
"""

from readerstudy.store.errors import (
    DuplicateReadError,
    ReadNotFoundError,
    SchemaVersionError,
    StoreError,
    StoreMissingError,
)
from readerstudy.store.records import (
    INTERVAL_KINDS,
    AuditEvent,
    AuditVerification,
    ReadSubmission,
    StoredRead,
)
from readerstudy.store.repository import EVENT_KINDS, Store, open_store

__all__ = [
    "EVENT_KINDS",
    "INTERVAL_KINDS",
    "AuditEvent",
    "AuditVerification",
    "DuplicateReadError",
    "ReadNotFoundError",
    "ReadSubmission",
    "SchemaVersionError",
    "Store",
    "StoreError",
    "StoreMissingError",
    "StoredRead",
    "open_store",
]
