"""Whole-study scans on the driver's own cursor: the rows behind ``Store.reads()`` and the
hashes ``Store.verify_audit()`` recomputes.

SQLAlchemy builds the SQL; the rows come straight from the DBAPI cursor as tuples (on
PostgreSQL a server-side cursor, so a study of any size streams), which skips the per-row
result processing that cost more than the database itself.

For the audit, the database server writes each read's and event's canonical text itself
(:mod:`readerstudy.store.canonical_sql`): one UTF-8 text per row, hashed here with hashlib.
This fast text only ever *confirms* a hash: a read or event whose text is unknown or does
not match is recomputed the exact way (decoded as ``reads()``/``events()`` return it) before
anything is reported, so the result is that of the exact recomputation.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ClauseElement, Connection, text
from sqlalchemy.sql.compiler import SQLCompiler

from readerstudy.store.canonical import fast_loads, json_fragment
from readerstudy.store.canonical_sql import SQLITE_FLOAT, event_texts, read_texts, sqlite_float
from readerstudy.store.chain import META_EVENT, READ_EVENT_KINDS, EventCheck, ReadCheck

BATCH = 10_000
"""Rows fetched per round trip of a scan."""

_cursor_names = itertools.count()


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a whole-study load: the rows, dicts and reads it
    builds hold no cycles, yet the collections their allocation triggers walk them again
    and again (a sizeable share of a million-row load)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def raw_rows(conn: Connection, query: ClauseElement, *, batch: int = BATCH) -> Iterator[tuple]:
    """The rows of ``query`` as plain tuples, as the driver returns them (SQLite times are
    text), streamed in batches inside ``conn``'s transaction."""
    compiled = query.compile(dialect=conn.dialect)
    assert isinstance(compiled, SQLCompiler)  # a statement, not DDL: positions are known
    params: Any = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    driver = driver_connection(conn)
    if conn.dialect.name == "postgresql":
        # A cursor is planned for its first rows by default (cursor_tuple_fraction 0.1),
        # which can turn the latest-version anti-join quadratic; this one is read to the end.
        driver.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        # Binary rows: numbers and times cross without text parsing (same Python types).
        cursor = driver.cursor(name=f"readerstudy_scan_{next(_cursor_names)}", binary=True)
    else:
        cursor = driver.cursor()
    # Chained in C: no Python frame per row.
    return itertools.chain.from_iterable(_batches(cursor, compiled.string, params, batch))


def driver_connection(conn: Connection) -> Any:
    """The DBAPI connection under ``conn`` (sqlite3's or psycopg's own object)."""
    driver = conn.connection.driver_connection
    assert driver is not None  # None only once a connection is invalidated or detached
    return driver


def _batches(cursor: Any, sql: str, params: Any, batch: int) -> Iterator[list[tuple]]:
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


def _texts_scan(conn: Connection, sql: str, study_id: str) -> Iterator[tuple]:
    """Rows of a :mod:`.canonical_sql` query for ``study_id``, the server set up to write
    them: shortest round-trip floats and pg_catalog's functions on PostgreSQL, the float
    writer registered on SQLite."""
    driver = driver_connection(conn)
    if conn.dialect.name == "postgresql":
        driver.execute(
            "SELECT set_config('search_path', 'pg_catalog, ' || current_setting('search_path'),"
            " true), set_config('extra_float_digits', '1', true)"
        )
    else:
        driver.create_function(SQLITE_FLOAT, 1, sqlite_float, deterministic=True)
    query = text(sql).bindparams(study=study_id, study_json=json_fragment(study_id))
    return raw_rows(conn, query)


def _sha256(text: bytes | None) -> str | None:
    return None if text is None else hashlib.sha256(text).hexdigest()


def event_checks(
    conn: Connection, study_id: str, *, exact: Callable[[int], str]
) -> Iterator[EventCheck]:
    """The study's events in sequence order, each with its hash recomputed from the text
    the server writes; ``exact(seq)`` recomputes one event's hash from its decoded row."""
    parsed_kinds = READ_EVENT_KINDS | {META_EVENT}
    rows = _texts_scan(conn, event_texts(conn.dialect.name, parsed_kinds), study_id)
    for seq, kind, prev_hash, stored, payload, hashed in rows:
        recomputed = _sha256(hashed)
        if recomputed is None or recomputed != stored:
            recomputed = exact(seq)
        yield EventCheck(seq, kind, prev_hash, stored, recomputed, _payload(payload))


def _payload(text: Any) -> dict:
    """The parsed payload of the event kinds the chain check reads, else ``{}``."""
    if text is None:
        return {}
    try:
        payload = fast_loads(text)
    except (TypeError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def read_checks(conn: Connection, study_id: str) -> Iterator[ReadCheck]:
    """Every stored read version of the study in id order with its digest recomputed from
    the text the server writes (None where it cannot: the caller recomputes exactly)."""
    rows = _texts_scan(conn, read_texts(conn.dialect.name), study_id)
    for read_id, version, reader, session, case_, body in rows:
        yield ReadCheck(read_id, version, reader, session, case_, _sha256(body))
