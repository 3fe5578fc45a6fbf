"""Whether a results store can be reached and written, and its schema version, changing nothing.

Used by ``readerstudy doctor``: SQLite takes and releases its write lock (``BEGIN IMMEDIATE``,
then ``ROLLBACK``); PostgreSQL is asked for the privileges reading needs and whether the server
accepts writes at all (a hot standby does not).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError

from readerstudy.store import schema as t
from readerstudy.store.engine import WRITE, make_engine, resolve_target
from readerstudy.store.errors import StoreError

WORKSTATION_PRIVILEGES = (
    *((table, "SELECT") for table in t.metadata.tables),
    *((table, "INSERT") for table in t.metadata.tables if table != t.schema_info.name),
    (t.chain_head.name, "UPDATE"),
    (t.study_meta.name, "UPDATE"),
    (t.in_progress.name, "UPDATE"),
    (t.in_progress.name, "DELETE"),
)
"""``(table, privilege)`` a reading workstation needs on PostgreSQL (docs/storage.md)."""


@dataclass(frozen=True)
class StoreProbe:
    """What a store answered."""

    backend: str
    name: str
    version: int | None
    """The store's schema version; None where no store exists yet."""
    writable: bool
    detail: str
    """Why it is not writable, or what was checked."""


def probe_store(target: str | Path, *, schema: str | None = None) -> StoreProbe:
    """Probe the store at ``target`` (study folder, ``.sqlite`` file or URL).

    Raises :class:`~readerstudy.store.errors.StoreError` when it cannot be reached, and
    :class:`~readerstudy.store.errors.SchemaVersionError` when its schema is one this
    readerstudy cannot read.
    """
    url, name = resolve_target(target)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None  # resolve_target refuses a SQLite URL without a file
        database = Path(url.database)
        if not database.exists():
            writable, detail = _folder_writable(database.parent)
            return StoreProbe("sqlite", name, None, writable, detail)
    engine = make_engine(url, schema=schema)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return _probe_sqlite(conn, name)
            return _probe_postgres(conn, name, schema)
    except DBAPIError as exc:
        raise StoreError(f"cannot reach the results store {name}: {exc.orig}") from None
    finally:
        engine.dispose()


def _folder_writable(folder: Path) -> tuple[bool, str]:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".readerstudy-doctor-"):
            pass
    except OSError as exc:
        return False, f"cannot create files in {folder}: {exc.strerror}"
    return True, f"no store yet; {folder} accepts new files"


def _probe_sqlite(conn: Connection, name: str) -> StoreProbe:
    version = t.check_schema(conn, store_name=name)
    conn.rollback()  # end the read transaction the schema check began
    conn.execution_options(**{WRITE: True})
    try:
        conn.begin().rollback()  # BEGIN IMMEDIATE takes the write lock; nothing is written
    except DBAPIError as exc:
        return StoreProbe("sqlite", name, version, False, f"the write lock is refused: {exc.orig}")
    folder = Path(name).parent
    if not os.access(folder, os.W_OK):
        # WAL mode writes its -wal and -shm files beside the store.
        return StoreProbe("sqlite", name, version, False, f"{folder} is not writable")
    return StoreProbe("sqlite", name, version, True, "write lock taken and released")


def _probe_postgres(conn: Connection, name: str, schema: str | None) -> StoreProbe:
    if schema is not None and not _pg_schema_exists(conn, schema):
        ok = conn.execute(text("SELECT has_database_privilege(current_database(), 'CREATE')"))
        detail = f"no store yet (schema {schema} does not exist)"
        return _pg_creatable(conn, name, bool(ok.scalar()), detail, "CREATE on the database")
    version = _stored_version(conn, name)
    if version is None:
        ok = conn.execute(text("SELECT has_schema_privilege(current_schema(), 'CREATE')"))
        return _pg_creatable(conn, name, bool(ok.scalar()), "no store yet", "CREATE on the schema")
    if _pg_standby(conn):
        return StoreProbe("postgresql", name, version, False, STANDBY)
    missing = [
        f"{privilege} on {table}"
        for table, privilege in WORKSTATION_PRIVILEGES
        if not conn.execute(
            text("SELECT has_table_privilege(:table, :privilege)"),
            {"table": table, "privilege": privilege},
        ).scalar()
    ]
    if missing:
        return StoreProbe("postgresql", name, version, False, f"missing {', '.join(missing)}")
    user = conn.execute(text("SELECT current_user")).scalar()
    return StoreProbe(
        "postgresql", name, version, True, f"user {user} holds the reading privileges"
    )


STANDBY = "the server is a read-only standby"


def _pg_standby(conn: Connection) -> bool:
    return bool(conn.execute(text("SELECT pg_is_in_recovery()")).scalar())


def _pg_creatable(conn: Connection, name: str, ok: bool, detail: str, need: str) -> StoreProbe:
    if _pg_standby(conn):
        return StoreProbe("postgresql", name, None, False, f"{detail}; {STANDBY}")
    if not ok:
        return StoreProbe("postgresql", name, None, False, f"{detail}; creating it needs {need}")
    return StoreProbe("postgresql", name, None, True, f"{detail}; this account may create it")


def _pg_schema_exists(conn: Connection, schema: str) -> bool:
    found = conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema})
    return found.first() is not None


def _stored_version(conn: Connection, name: str) -> int | None:
    """The schema version, or None where none of the store's tables exist."""
    if not set(inspect(conn).get_table_names()) & set(t.metadata.tables):
        return None
    return t.check_schema(conn, store_name=name)
