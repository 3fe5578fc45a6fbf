"""Where a store lives and how its engine is configured (SQLite file or PostgreSQL URL).

SQLite: WAL journal, ``synchronous=FULL`` (a committed read survives power loss), foreign keys
on, a 60 s busy timeout, and ``BEGIN IMMEDIATE`` for every writing transaction so concurrent
workstations queue for the write lock instead of failing with "database is locked".
PostgreSQL: writers serialise per study on a row lock of the study's chain head.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from readerstudy.store.errors import StoreError

DEFAULT_FILENAME = "results.sqlite"
"""The store of a study folder."""

BUSY_TIMEOUT_S = 60.0
"""How long a SQLite writer waits for another workstation's transaction before failing."""

WRITE = "readerstudy_write"
"""Execution option marking a connection whose transaction will write (BEGIN IMMEDIATE)."""

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

POSTGRES_DRIVERS = ("psycopg",)
"""PostgreSQL drivers the store is built and tested with (psycopg 3, the ``postgres`` extra);
a ``postgresql://`` URL without a driver is given psycopg."""


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def resolve_target(target: str | Path) -> tuple[URL, str]:
    """The SQLAlchemy URL of a study folder, ``.sqlite`` file or URL, and a name for messages."""
    if isinstance(target, str) and "://" in target:
        try:
            url = make_url(target)
            url.port  # noqa: B018 - parsed lazily; a port like ":badport" fails only here
        except (ArgumentError, ValueError) as exc:
            raise StoreError(
                f"{_hide_password(target)} is not a database URL ({exc}); write it as "
                "postgresql+psycopg://USER@HOST:PORT/DATABASE or sqlite:////path/results.sqlite"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise StoreError(
                f"{url.render_as_string(hide_password=True)}: only sqlite and postgresql "
                "stores are supported"
            )
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        driver = url.get_driver_name()
        if url.get_backend_name() == "postgresql" and driver not in POSTGRES_DRIVERS:
            raise StoreError(
                f"{url.render_as_string(hide_password=True)}: the PostgreSQL driver {driver!r} "
                f"is not supported; use postgresql+psycopg:// (supported drivers: "
                f"{', '.join(POSTGRES_DRIVERS)})"
            )
        if url.get_backend_name() == "sqlite":
            if url.database in (None, "", ":memory:"):
                raise StoreError("an in-memory SQLite store would vanish on close: give a file")
            return url, url.database
        return url, url.render_as_string(hide_password=True)
    if not isinstance(target, str | Path):
        raise TypeError(f"store target must be a path or URL, got {type(target).__name__}")
    path = Path(target).expanduser()
    if path.is_dir():
        path = path / DEFAULT_FILENAME
    elif path.suffix not in (".sqlite", ".sqlite3", ".db"):
        raise StoreError(f"{path}: not a study folder, and not a .sqlite file or database URL")
    if not path.parent.is_dir():
        raise StoreError(f"{path}: folder {path.parent} does not exist")
    path = path.resolve()
    return URL.create("sqlite", database=str(path)), str(path)


def folder_writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


def sqlite_read_only(database: Path) -> URL:
    """A URL that opens ``database`` without writing. In a write-protected folder SQLite
    cannot create the WAL index either, so the file is then opened as immutable (an archived
    study changes no more)."""
    immutable = "" if folder_writable(database.parent) else "&immutable=1"
    return URL.create(
        "sqlite", database=f"file:{database}?mode=ro{immutable}", query={"uri": "true"}
    )


def make_engine(url: URL, *, schema: str | None = None) -> Engine:
    """An engine with the store's durability and locking settings for ``url``'s backend."""
    if url.get_backend_name() == "sqlite":
        if schema is not None:
            raise StoreError("schema= applies to PostgreSQL stores only")
        return _sqlite_engine(url)
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise StoreError(f"schema {schema!r}: use letters, digits and underscores (max 63)")
    return _postgres_engine(url, schema)


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own BEGIN is deferred
        # and lazy, which breaks snapshot reads and lets two writers deadlock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: URL, schema: str | None) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)
    if schema is not None:

        @event.listens_for(engine, "connect", insert=True)
        def _search_path(dbapi_connection, _record) -> None:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            cursor = dbapi_connection.cursor()
            cursor.execute(f'SET SESSION search_path TO "{schema}"')
            cursor.close()
            dbapi_connection.autocommit = autocommit

    return engine
