"""The results store: submitted reads, reads in progress, study metadata and the audit chain.

Every write runs in one transaction that first takes the study's write lock (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT ... FOR UPDATE`` on the study's chain-head row), so
audit sequence numbers stay gapless and a duplicate submission is caught even with many
workstations writing at once. There is no update or delete for reads or events.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.elements import ColumnElement

import readerstudy
from readerstudy.store import schema as t
from readerstudy.store.canonical import canonical_json, fast_loads, json_roundtrip
from readerstudy.store.chain import (
    GENESIS,
    META_EVENT,
    READ_EVENT_KINDS,
    event_hash,
    json_texts,
    meta_digest,
    meta_problems,
    stored_event_hash,
    stored_read_digest,
    submission_digest,
    verify_chain,
)
from readerstudy.store.engine import WRITE, make_engine, resolve_target, sqlite_read_only
from readerstudy.store.errors import (
    DuplicateReadError,
    ReadNotFoundError,
    StoreError,
    StoreMissingError,
)
from readerstudy.store.records import (
    AuditEvent,
    AuditVerification,
    ReadSubmission,
    StoredRead,
    utc,
)
from readerstudy.store.scan import driver_connection, event_checks, gc_paused, raw_rows, read_checks
from readerstudy.store.schema import utc_result

EVENT_KINDS: frozenset[str] = frozenset(
    {
        "login",
        "login_failed",
        "session_start",
        "case_open",
        "window_level",
        "slice_moves",
        "overlay_toggle",
        "pause",
        "resume",
        "idle",
        "focus_lost",
        "submit",
        "amend",
        "override",
        "crash_recovery",
        "lock",
        "definition",
        META_EVENT,
    }
)
"""Kinds the study layer logs; others are accepted if they are lower_snake_case."""

_SUBMISSION_FIELDS = tuple(f.name for f in fields(ReadSubmission))

# Statements of the submit path, built once (building them per call costs more than the SQL).
_HEAD_FOR_UPDATE = (
    select(t.chain_head.c.seq, t.chain_head.c.hash)
    .where(t.chain_head.c.study_id == bindparam("study"))
    .with_for_update()
)
_MOVE_HEAD = (
    t.chain_head.update()
    .where(t.chain_head.c.study_id == bindparam("study"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_FIRST_VERSION = select(
    t.reads.c.id, t.reads.c.reader, t.reads.c.session, t.reads.c.case, t.reads.c.submitted_at
).where(t.reads.c.study_id == bindparam("study"), t.reads.c.version == 1)
_FIRST_VERSION_OF_ONE = _FIRST_VERSION.where(
    t.reads.c.reader == bindparam("reader"),
    t.reads.c.session == bindparam("session"),
    t.reads.c.case == bindparam("case"),
)
_CLEAR_IN_PROGRESS = t.in_progress.delete().where(
    t.in_progress.c.study_id == bindparam("study"),
    t.in_progress.c.reader == bindparam("reader"),
    t.in_progress.c.session == bindparam("session"),
    t.in_progress.c.case == bindparam("case"),
)
_INSERT_READS = t.reads.insert().returning(t.reads.c.id, sort_by_parameter_order=True)


def _pg_type(column: Column) -> str:
    """The PostgreSQL type a column's parameter is cast to (``text`` for strings: a cast
    to ``varchar(n)`` would cut an over-long value silently instead of refusing it)."""
    kind = column.type
    if isinstance(kind, t.UTCDateTime):
        return "timestamptz"
    if isinstance(kind, Float):
        return "float8"
    if isinstance(kind, Integer):
        return "int"
    assert isinstance(kind, String)  # Text is a String
    return "text"


_RIDES = {
    t.in_progress.name: ("reader", "session", "case"),
    t.audit_events.name: (
        "seq",
        "kind",
        "reader",
        "session",
        "case",
        "payload",
        "at",
        "prev_hash",
        "hash",
    ),
}
"""Rows that ride along with a PostgreSQL transaction's chain-head update, by column."""


def _ridden(name: str) -> str:
    """The rows of table ``name`` from the ``:rides`` JSON parameter, typed."""
    table = t.metadata.tables[name]
    columns = ", ".join(f'"{c}" {_pg_type(table.c[c])}' for c in _RIDES[name])
    return f"json_to_recordset(CAST(:rides AS json) -> '{name}') AS x({columns})"


def _insert_cte(name: str) -> str:
    columns = ", ".join(f'"{column}"' for column in ("study_id", *_RIDES[name]))
    return f"{name} AS (INSERT INTO {name} ({columns}) SELECT :study, x.* FROM {_ridden(name)})"


_PG_FLUSH = text(
    "WITH "
    + ", ".join(
        [
            "cleared AS (DELETE FROM reads_in_progress WHERE study_id = :study AND "
            f'(reader, session, "case") IN (SELECT * FROM {_ridden(t.in_progress.name)}))',
            _insert_cte(t.audit_events.name),
        ]
    )
    + " UPDATE audit_chain_head SET seq = :new_seq, hash = :new_hash WHERE study_id = :study"
)
"""The end of every PostgreSQL write: the rows of :data:`_RIDES` and the chain head."""
_RIDES_JSON = json.JSONEncoder(ensure_ascii=False, default=datetime.isoformat)
"""The rides parameter: UTF-8 text as stored, times (aware UTC) as ISO 8601 to the
microsecond, which PostgreSQL reads back exactly."""


_PG_READ_TYPES = {c.name: _pg_type(c) for c in t.reads.columns if c.name not in ("id", "study_id")}
"""The reads columns a submission writes, with their parameter types."""
_PG_LOCK_AND_INSERT = text(
    "WITH head AS (SELECT seq, hash FROM audit_chain_head WHERE study_id = :study FOR UPDATE), "
    "inserted AS (INSERT INTO reads (study_id, "
    + ", ".join(f'"{column}"' for column in _PG_READ_TYPES)
    + ") SELECT :study, "
    + ", ".join(f"CAST(:{column} AS {kind})" for column, kind in _PG_READ_TYPES.items())
    + " FROM head RETURNING id) "
    "SELECT head.seq, head.hash, inserted.id FROM head, inserted"
)
"""The start of a PostgreSQL submission of one read: the study's write lock and the read row
in one statement (one round trip fewer). The row is drawn from the locked chain-head row, so
its id is taken only once the lock is held: ids still grow in commit order."""
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_PG_OPEN_LOCK = 0x72656164  # advisory lock key serialising schema creation ("read")
# How each backend names a violation of the reads' uq_read_version key.
_UNIQUE_VERSION = re.compile(r'"uq_read_version"|reads\.case, reads\.version')


class _MissingHead(Exception):
    """The study's chain-head row is missing (deleted behind the store): nothing is written."""


class _DuplicateVersion(Exception):
    """A read version insert hit the unique key: raised inside the write transaction so it
    rolls back, then turned into a DuplicateReadError naming the read stored first."""


def open_store(
    target: str | Path,
    *,
    study_id: str = "default",
    schema: str | None = None,
    create: bool = True,
    read_only: bool = False,
) -> Store:
    """Open the results store of a study, creating it when ``create`` allows.

    ``target`` is a study folder (its ``results.sqlite``), a ``.sqlite`` file, or an SQLAlchemy
    URL (``sqlite:///...``, ``postgresql+psycopg://user@host/db``). Several studies share a
    PostgreSQL database under different ``study_id``; ``schema`` puts the tables in a
    PostgreSQL schema of that name (created if missing). With ``create=False`` a missing or
    empty store is a :class:`StoreMissingError` and nothing is created. ``read_only`` opens
    without writing anything (an archived, write-protected study can still be inspected);
    a store whose schema needs migrating is refused then, and migrated by any other opening.
    """
    if not isinstance(study_id, str):
        raise TypeError(f"study_id must be a string, got {type(study_id).__name__}")
    if not study_id.strip() or len(study_id) > 128 or not study_id.isprintable():
        raise StoreError(f"study id {study_id!r}: use 1-128 printable characters")
    url, name = resolve_target(target)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None  # resolve_target refuses a SQLite URL without a file
        database = Path(url.database)
        if not create or read_only:
            _require_sqlite_file(database)
        if read_only:
            url = sqlite_read_only(database)
    engine = make_engine(url, schema=schema)
    if read_only or not create:
        # A store that must exist; a writable opening migrates an older one below.
        with _disposed_on_failure(engine, name), engine.connect() as conn:
            t.check_schema(conn, store_name=name, allow_older=not read_only)
        if read_only:
            return Store(engine, study_id=study_id, name=name)
    with _disposed_on_failure(engine, name), engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_OPEN_LOCK})
                if (
                    schema is not None
                    and not conn.execute(
                        text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
                    ).first()
                ):
                    # Only when missing: CREATE needs a privilege a reading user lacks.
                    conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            t.ensure_schema(
                conn, store_name=name, created_by=f"readerstudy {readerstudy.__version__}"
            )
            conn.execute(
                _dialect_insert(engine, t.chain_head)
                .values(study_id=study_id, seq=0, hash=GENESIS)
                .on_conflict_do_nothing()
            )
    return Store(engine, study_id=study_id, name=name)


@contextmanager
def _disposed_on_failure(engine: Engine, name: str) -> Iterator[None]:
    """Release ``engine`` if opening fails; a driver error becomes a StoreError naming it."""
    try:
        yield
    except DBAPIError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the results store {name}: {exc.orig}") from exc
    except BaseException:
        engine.dispose()
        raise


def _require_sqlite_file(database: Path) -> None:
    """A store that should exist: refuse a missing or 0-byte file (SQLite would silently
    start an empty store in its place)."""
    if not database.is_file():
        raise StoreMissingError(f"there is no results store at {database}")
    if database.stat().st_size == 0:
        raise StoreMissingError(f"the results store {database} is empty (0 bytes)")


def _dialect_insert(engine: Engine, table: Table):
    """The backend's INSERT, which has ``on_conflict_do_nothing/update``."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class _Writer:
    """One write transaction holding the study's lock; appends events to the chain."""

    def __init__(self, conn: Connection, study_id: str, head: tuple[int, str] | None) -> None:
        self.conn, self.study_id = conn, study_id
        self.locked = head is not None
        """False until the study's write lock is held (see :meth:`lock_inserting`)."""
        self.seq, self.hash = head if head is not None else (0, GENESIS)
        self._pending: list[dict] = []
        self._postgres = conn.dialect.name == "postgresql"
        self._rides: dict[str, list[tuple]] = {name: [] for name in _RIDES}

    def insert(self, table: Table, rows: list[dict]) -> None:
        """Insert rows whose ids nobody needs back (audit events). On PostgreSQL they ride
        along with the chain-head update at the end; elsewhere they are inserted now."""
        if not rows:
            return
        if self._postgres:
            columns = _RIDES[table.name]
            self._rides[table.name].extend(tuple(row[c] for c in columns) for row in rows)
        else:
            self.conn.execute(table.insert(), rows[0] if len(rows) == 1 else rows)

    def lock_inserting(self, row: dict) -> int:
        """Take the study's write lock and insert this read row in one statement
        (PostgreSQL); its id."""
        params = {column: row[column] for column in _PG_READ_TYPES}
        locked = self.conn.execute(_PG_LOCK_AND_INSERT, {"study": self.study_id, **params})
        head = locked.one_or_none()
        if head is None:
            raise _MissingHead
        self.seq, self.hash, read_id = head
        self.locked = True
        return read_id

    def clear_in_progress(self, keys: list[tuple[str, int, str]]) -> None:
        """Remove the in-progress marks of these (reader, session, case)."""
        if self._postgres:
            self._rides[t.in_progress.name].extend(keys)
            return
        marks = [{"study": self.study_id, "reader": r, "session": s, "case": c} for r, s, c in keys]
        self.conn.execute(_CLEAR_IN_PROGRESS, marks[0] if len(marks) == 1 else marks)

    def append(
        self,
        kind: str,
        *,
        reader: str | None,
        session: int | None,
        case: str | None,
        payload: dict,
        at: datetime,
    ) -> AuditEvent:
        """Chain one event; it is inserted with the others when the transaction commits."""
        assert self.locked, "events are chained only under the study's write lock"
        seq, prev = self.seq + 1, self.hash
        digest = event_hash(
            prev,
            study=self.study_id,
            seq=seq,
            kind=kind,
            reader=reader,
            session=session,
            case=case,
            payload=payload,
            at=at,
        )
        self._pending.append(
            {
                "study_id": self.study_id,
                "seq": seq,
                "kind": kind,
                "reader": reader,
                "session": session,
                "case": case,
                "payload": canonical_json(payload),
                "at": at,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        self.seq, self.hash = seq, digest
        return AuditEvent(seq, kind, reader, session, case, payload, at, digest, prev)

    def flush(self) -> None:
        """Insert the chained events and move the chain head, in the open transaction."""
        if not self._pending:
            return
        head = {"study": self.study_id, "new_seq": self.seq, "new_hash": self.hash}
        if not self._postgres:
            rows = self._pending
            self.conn.execute(t.audit_events.insert(), rows[0] if len(rows) == 1 else rows)
            self.conn.execute(_MOVE_HEAD, head)
            self._pending = []
            return
        # One statement, one round trip, the same text every time (prepared once): every
        # row in one JSON parameter (encoded in C; the driver's per-element escaping of
        # text arrays cost more than the statement), inserted by data-modifying CTEs of the
        # chain-head update.
        self.insert(t.audit_events, self._pending)
        rides = {
            name: [dict(zip(columns, row, strict=True)) for row in self._rides[name]]
            for name, columns in _RIDES.items()
        }
        self.conn.execute(_PG_FLUSH, head | {"rides": _RIDES_JSON.encode(rides)})
        self._pending = []
        self._rides = {name: [] for name in _RIDES}


class Store:
    """A study's results store; obtain one with :func:`open_store`. Use as a context manager."""

    def __init__(self, engine: Engine, *, study_id: str, name: str) -> None:
        self._engine = engine
        self.study_id = study_id
        self.name = name
        """The SQLite file or the PostgreSQL URL (password hidden), for messages."""
        self._closed = False

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()
        self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.name} study={self.study_id}>"

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read-only transaction on one consistent snapshot."""
        self._check_open()
        try:
            with self._engine.connect() as conn:
                if self.backend == "postgresql":
                    conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
        except DBAPIError as exc:
            raise StoreError(f"{self.name}: {exc.orig}") from exc

    @contextmanager
    def _write(self, *, lock: bool = True) -> Iterator[_Writer]:
        """A write transaction holding this study's write lock; commits on success.

        ``lock=False`` (a PostgreSQL submission of one read): the caller's first statement
        takes the lock, with :meth:`_Writer.lock_inserting`."""
        self._check_open()
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE: True})
                with conn.begin():
                    head = None
                    if lock:
                        head = conn.execute(_HEAD_FOR_UPDATE, {"study": self.study_id}).first()
                        if head is None:
                            raise _MissingHead
                    writer = _Writer(conn, self.study_id, None if head is None else tuple(head))
                    yield writer
                    writer.flush()
        except _MissingHead:
            raise StoreError(
                f"{self.name}: the audit chain head of study {self.study_id} is missing; run "
                "`readerstudy study audit --verify`"
            ) from None
        except DBAPIError as exc:
            raise StoreError(f"{self.name}: {exc.orig}") from exc

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{self.name}: the store was closed")

    # -- metadata ----------------------------------------------------------------------------

    def put_meta(self, key: str, value: dict | list | str | int | float | None) -> None:
        """Set a JSON value (definition, schedule, design hash, lock state...) for the study."""
        _check_key(key)
        try:
            encoded = canonical_json(value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"meta {key!r}: {exc}") from None
        now = datetime.now(UTC)
        with self._write() as w:
            stmt = _dialect_insert(self._engine, t.study_meta).values(
                study_id=self.study_id, key=key, value=encoded, updated_at=now
            )
            w.conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["study_id", "key"],
                    set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
                )
            )
            # Chained in the same transaction, so no setting changes unseen by verify_audit.
            w.append(
                META_EVENT,
                reader=None,
                session=None,
                case=None,
                payload={"key": key, "sha256": meta_digest(encoded)},
                at=now,
            )

    def _raw_meta(self, conn: Connection, keys: Iterable[str] | None = None) -> dict[str, str]:
        query = select(t.study_meta.c.key, t.study_meta.c.value).where(
            t.study_meta.c.study_id == self.study_id
        )
        if keys is not None:
            query = query.where(t.study_meta.c.key.in_(list(keys)))
        return dict(conn.execute(query).all())

    def settings_problems(self, keys: Iterable[str]) -> list[str]:
        """What is wrong with the stored settings ``keys`` against the audit log (empty when
        each matches the hash chained when it was written); cheap enough for every login."""
        keys = list(keys)
        with self._read() as conn:
            meta = self._raw_meta(conn, keys)
            events = self._load_events(conn, kind=META_EVENT)
        wanted = set(keys)
        return [
            reason
            for _, reason in meta_problems(
                [e for e in events if e.payload.get("key") in wanted], meta
            )
        ]

    def get_meta(self, key: str, default: Any = None) -> Any:
        _check_key(key)
        with self._read() as conn:
            value = conn.execute(
                select(t.study_meta.c.value).where(
                    t.study_meta.c.study_id == self.study_id, t.study_meta.c.key == key
                )
            ).scalar()
        return default if value is None else json.loads(value)

    # -- audit log ---------------------------------------------------------------------------

    def append_event(
        self,
        kind: str,
        *,
        reader: str | None = None,
        session: int | None = None,
        case: str | None = None,
        payload: dict | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        """Append one event to the study's hash chain and return it."""
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise ValueError(f"event kind {kind!r}: use lower_snake_case, at most 32 characters")
        if kind in READ_EVENT_KINDS:
            raise ValueError(
                f"event kind {kind!r} is written by submit_read/amend_read only, with the "
                "read's digest"
            )
        _check_optional(reader=reader, session=session, case=case)
        payload = _event_payload(kind, payload)
        at = datetime.now(UTC) if at is None else utc(at, what=f"{kind} event time")
        with self._write() as w:
            return w.append(kind, reader=reader, session=session, case=case, payload=payload, at=at)

    def events(
        self,
        *,
        reader: str | None = None,
        session: int | None = None,
        kind: str | None = None,
        case: str | None = None,
    ) -> list[AuditEvent]:
        """The study's audit events in sequence order, optionally filtered."""
        with self._read() as conn:
            return self._load_events(conn, reader=reader, session=session, kind=kind, case=case)

    def verify_audit(
        self,
        *,
        anchor: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> AuditVerification:
        """Check the hash chain, the chain head, and every stored read against its event.

        ``anchor``: a ``head_hash`` recorded earlier outside the store, which must still be in
        the chain (detects a chain rewritten and re-hashed from scratch). ``progress(done,
        total)`` counts events and reads checked.

        Everything streams from one snapshot (a server-side cursor on PostgreSQL), and each
        hash is recomputed from the stored columns' canonical text; see :mod:`.scan`.
        """
        with self._read() as conn, gc_paused():
            head = conn.execute(
                select(t.chain_head.c.seq, t.chain_head.c.hash).where(
                    t.chain_head.c.study_id == self.study_id
                )
            ).one_or_none()
            meta = self._raw_meta(conn)
            total = sum(
                conn.execute(
                    select(func.count()).select_from(table).where(table.c.study_id == self.study_id)
                ).scalar_one()
                for table in (t.audit_events, t.reads)
            )
            return verify_chain(
                event_checks(
                    conn, self.study_id, exact=lambda seq: self._exact_event_hash(conn, seq)
                ),
                read_checks(conn, self.study_id),
                total=total,
                head=None if head is None else tuple(head),
                anchor=anchor,
                progress=progress,
                meta=meta,
                recheck=lambda read_id: self._exact_digest(conn, read_id),
            )

    def _exact_event_hash(self, conn: Connection, seq: int) -> str:
        """An event's hash recomputed from its decoded row ("" if it cannot be decoded)."""
        try:
            (event,) = self._load_events(conn, seq=seq)
            return stored_event_hash(self.study_id, event)
        except (TypeError, ValueError):
            return ""

    def _exact_digest(self, conn: Connection, read_id: int) -> str | None:
        """A read version's digest recomputed from its decoded rows (None if they cannot be
        decoded, which no digest matches)."""
        try:
            (read,) = self._load_reads(conn, read_id=read_id, all_versions=True)
            return stored_read_digest(self.study_id, read)
        except (StoreError, TypeError, ValueError):
            return None

    # -- reads in progress -------------------------------------------------------------------

    def start_read(
        self, reader: str, session: int, case: str, *, at: datetime, opened: dict | None = None
    ) -> None:
        """Mark a read as open; a second start of an open read counts a restart.

        ``opened``: the payload of a ``case_open`` event (at ``at``) chained in the same
        transaction, so showing a case costs one durable commit, not two.
        Raises DuplicateReadError if the read was already submitted.
        """
        _check_optional(reader=reader, session=session, case=case, required=True)
        at = utc(at, what="start_read at")
        payload = None if opened is None else _event_payload("case_open", opened)
        p = t.in_progress.c
        key = and_(
            p.study_id == self.study_id, p.reader == reader, p.session == session, p.case == case
        )
        with self._write() as w:
            self._refuse_duplicates(w.conn, [(reader, session, case)])
            if w.conn.execute(select(p.restarts).where(key)).one_or_none() is None:
                w.conn.execute(
                    t.in_progress.insert().values(
                        study_id=self.study_id,
                        reader=reader,
                        session=session,
                        case=case,
                        started_at=at,
                        restarts=0,
                    )
                )
            else:
                w.conn.execute(
                    t.in_progress.update()
                    .where(key)
                    .values(restarts=p.restarts + 1, restarted_at=at)
                )
            if payload is not None:
                w.append(
                    "case_open", reader=reader, session=session, case=case, payload=payload, at=at
                )

    def in_progress(self, reader: str | None = None) -> list[dict]:
        """Reads opened and not submitted: reader, session, case, started_at, restarted_at,
        restarts (how often the read was reopened, e.g. after a crash)."""
        p = t.in_progress.c
        query = (
            select(p.reader, p.session, p.case, p.started_at, p.restarted_at, p.restarts)
            .where(p.study_id == self.study_id)
            .order_by(p.reader, p.session, p.started_at)
        )
        if reader is not None:
            query = query.where(p.reader == reader)
        with self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- submitted reads ---------------------------------------------------------------------

    def submit_read(self, sub: ReadSubmission) -> StoredRead:
        """Store a read, its units and clock intervals and its ``submit`` event atomically.

        Raises DuplicateReadError if this reader already submitted the case in this session.
        """
        return self.submit_many([sub])[0]

    def submit_many(self, subs: Iterable[ReadSubmission]) -> list[StoredRead]:
        """Submit several reads in one transaction (imports, simulations); all or none.

        Each read gets its own ``submit`` event, exactly as with :meth:`submit_read`.
        """
        subs = list(subs)
        for sub in subs:
            if not isinstance(sub, ReadSubmission):
                raise TypeError(f"submit takes ReadSubmission objects, got {type(sub).__name__}")
        keys = [(s.reader, s.session, s.case) for s in subs]
        if len(set(keys)) != len(keys):
            twice = next(k for k in keys if keys.count(k) > 1)
            raise DuplicateReadError(
                f"reader {twice[0]}, session {twice[1]}, case {twice[2]} appears twice in one "
                "batch of submissions"
            )
        if not subs:
            return []
        try:
            with self._write(lock=self.backend != "postgresql" or len(subs) > 1) as w:
                stored = self._insert_reads(w, subs, versions=[1] * len(subs))
                w.clear_in_progress(keys)
        except _DuplicateVersion:
            # Rolled back; name the read that was there first (from a fresh snapshot).
            with self._read() as conn:
                self._refuse_duplicates(conn, keys)
            raise DuplicateReadError(
                f"{self.name}: a read of this batch of {len(keys)} was submitted already"
            ) from None
        return stored

    def amend_read(self, sub: ReadSubmission, *, reason: str) -> StoredRead:
        """Store a new version of a submitted read (the old one stays); logs an ``amend`` event.

        Whether amendments are allowed is the study's decision, made by the caller.
        """
        if not isinstance(sub, ReadSubmission):
            raise TypeError(f"amend_read takes a ReadSubmission, got {type(sub).__name__}")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("an amendment needs a reason")
        r = t.reads.c
        with self._write() as w:
            latest = w.conn.execute(
                select(r.id, r.version, r.modality)
                .where(*self._read_key(sub.reader, sub.session, sub.case))
                .order_by(r.version.desc())
                .limit(1)
            ).one_or_none()
            if latest is None:
                raise ReadNotFoundError(
                    f"reader {sub.reader}, session {sub.session}, case {sub.case}: nothing "
                    "submitted to amend"
                )
            if latest.modality != sub.modality:
                raise StoreError(
                    f"reader {sub.reader}, session {sub.session}, case {sub.case}: an amendment "
                    f"cannot change the modality ({latest.modality} -> {sub.modality})"
                )
            (stored,) = self._insert_reads(
                w,
                [sub],
                versions=[latest.version + 1],
                amends={"reason": reason, "supersedes": latest.id},
            )
        return stored

    def reads(
        self,
        *,
        reader: str | None = None,
        session: int | None = None,
        all_versions: bool = False,
    ) -> list[StoredRead]:
        """Submitted reads ordered by reader, session, order; latest versions unless asked."""
        with self._read() as conn, gc_paused():
            return self._load_reads(conn, reader=reader, session=session, all_versions=all_versions)

    def read(self, reader: str, session: int, case: str) -> StoredRead | None:
        """The latest version of one submitted read, or None."""
        with self._read() as conn:
            found = self._load_reads(conn, reader=reader, session=session, case=case)
        return found[0] if found else None

    def submitted_cases(self, reader: str, session: int) -> set[str]:
        """Cases this reader has submitted in this session."""
        r = t.reads.c
        with self._read() as conn:
            return set(
                conn.execute(
                    select(r.case).where(
                        r.study_id == self.study_id,
                        r.reader == reader,
                        r.session == session,
                        r.version == 1,
                    )
                ).scalars()
            )

    def progress(self) -> list[dict]:
        """Per reader and session (latest versions): n_submitted, n_amended,
        first_submitted_at, last_submitted_at, active_s and wall_s sums; one SQL aggregate."""
        r = t.reads.c
        query = (
            select(
                r.reader,
                r.session,
                func.count().label("n_submitted"),
                func.sum((r.version > 1).cast(Integer)).label("n_amended"),
                func.min(r.submitted_at).label("first_submitted_at"),
                func.max(r.submitted_at).label("last_submitted_at"),
                func.sum(r.active_s).label("active_s"),
                func.sum(r.wall_s).label("wall_s"),
            )
            .where(r.study_id == self.study_id, self._is_latest())
            .group_by(r.reader, r.session)
            .order_by(r.reader, r.session)
        )
        with self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def backup(self, destination: str | Path) -> Path:
        """Copy a SQLite store, with its write-ahead log, to a new file while it stays in use.

        Copying ``results.sqlite`` with the file manager can miss reads still in the WAL file;
        this uses SQLite's online backup. PostgreSQL stores are backed up with ``pg_dump``.
        """
        self._check_open()
        if self.backend != "sqlite":
            raise StoreError(f"{self.name}: back up a PostgreSQL store with pg_dump")
        destination = Path(destination)
        if destination.exists():
            raise StoreError(f"backup {destination} exists already; choose a new file")
        if not destination.parent.is_dir():
            raise StoreError(f"backup {destination}: folder {destination.parent} does not exist")
        target = sqlite3.connect(destination)
        try:
            with self._engine.connect() as conn:
                driver_connection(conn).backup(target)
        except (sqlite3.Error, DBAPIError) as exc:
            raise StoreError(f"backup of {self.name} to {destination} failed: {exc}") from exc
        finally:
            target.close()
        return destination

    # -- internals ---------------------------------------------------------------------------

    def _read_key(self, reader: str, session: int, case: str) -> list[ColumnElement[bool]]:
        r = t.reads.c
        return [
            r.study_id == self.study_id,
            r.reader == reader,
            r.session == session,
            r.case == case,
        ]

    def _refuse_duplicates(self, conn: Connection, keys: list[tuple[str, int, str]]) -> None:
        wanted = set(keys)
        if len(keys) == 1:
            reader, session, case = keys[0]
            params = {"study": self.study_id, "reader": reader, "session": session, "case": case}
            rows = conn.execute(_FIRST_VERSION_OF_ONE, params)
        else:
            readers = sorted({k[0] for k in wanted})
            rows = conn.execute(
                _FIRST_VERSION.where(t.reads.c.reader.in_(readers)), {"study": self.study_id}
            )
        for row in rows:
            if (row.reader, row.session, row.case) in wanted:
                raise DuplicateReadError(
                    f"reader {row.reader} already submitted case {row.case} in session "
                    f"{row.session} (read {row.id}, {row.submitted_at.isoformat()}); amend it "
                    "instead if the study allows amendments"
                )

    def _insert_reads(
        self,
        w: _Writer,
        subs: list[ReadSubmission],
        *,
        versions: list[int],
        amends: dict[str, Any] | None = None,
    ) -> list[StoredRead]:
        """Insert read versions and chain an event for each."""
        reason = None if amends is None else amends["reason"]
        texts = [json_texts(sub) for sub in subs]
        rows = [
            {
                "study_id": self.study_id,
                "reader": sub.reader,
                "session": sub.session,
                "case": sub.case,
                "version": version,
                "modality": sub.modality,
                "ord": sub.order,
                "active_s": sub.active_s,
                "wall_s": sub.wall_s,
                "started_at": sub.started_at,
                "submitted_at": sub.submitted_at,
                "amend_reason": reason,
                **json_text,
            }
            for sub, version, json_text in zip(subs, versions, texts, strict=True)
        ]
        try:
            if w.locked:
                statement = rows[0] if len(rows) == 1 else rows
                ids = w.conn.execute(_INSERT_READS, statement).scalars().all()
            else:
                (row,) = rows
                ids = [w.lock_inserting(row)]
        except IntegrityError as exc:
            # The unique (study, reader, session, case, version) key refuses a second
            # submission inside the insert itself: no separate look-up on the submit path.
            if _UNIQUE_VERSION.search(str(exc.orig)):
                raise _DuplicateVersion from exc
            raise
        stored = []
        for read_id, sub, version, json_text in zip(ids, subs, versions, texts, strict=True):
            read = _unchecked_read(
                **{name: getattr(sub, name) for name in _SUBMISSION_FIELDS},
                id=read_id,
                version=version,
                amend_reason=reason,
            )
            payload: dict[str, Any] = {
                "read_id": read_id,
                "version": version,
                "digest": submission_digest(self.study_id, read_id, version, sub, json_text),
                "modality": sub.modality,
                "order": sub.order,
            }
            w.append(
                "submit" if amends is None else "amend",
                reader=sub.reader,
                session=sub.session,
                case=sub.case,
                payload=payload if amends is None else payload | amends,
                at=sub.submitted_at,
            )
            stored.append(read)
        return stored

    def _load_events(
        self,
        conn: Connection,
        *,
        reader: str | None = None,
        session: int | None = None,
        kind: str | None = None,
        case: str | None = None,
        seq: int | None = None,
    ) -> list[AuditEvent]:
        e = t.audit_events.c
        query = select(t.audit_events).where(e.study_id == self.study_id).order_by(e.seq)
        for column, value in (
            (e.reader, reader),
            (e.session, session),
            (e.kind, kind),
            (e.case, case),
            (e.seq, seq),
        ):
            if value is not None:
                query = query.where(column == value)
        return [_event(row) for row in conn.execute(query).all()]

    def _is_latest(self) -> ColumnElement[bool]:
        r = t.reads.c
        newer = t.reads.alias("newer")
        return ~exists().where(
            newer.c.study_id == r.study_id,
            newer.c.reader == r.reader,
            newer.c.session == r.session,
            newer.c.case == r.case,
            newer.c.version > r.version,
        )

    def _load_reads(
        self,
        conn: Connection,
        *,
        reader: str | None = None,
        session: int | None = None,
        case: str | None = None,
        read_id: int | None = None,
        all_versions: bool = False,
    ) -> list[StoredRead]:
        r = t.reads.c
        where: list[ColumnElement[bool]] = [r.study_id == self.study_id]
        for column, value in (
            (r.reader, reader),
            (r.session, session),
            (r.case, case),
            (r.id, read_id),
        ):
            if value is not None:
                where.append(column == value)
        latest = [] if all_versions else [self._is_latest()]
        # Raw cursor rows: SQLAlchemy's per-row processing cost more than the database here.
        # Fetched to the end before decoding, so a row that cannot be decoded leaves no
        # half-read cursor behind.
        rows = list(
            raw_rows(
                conn,
                select(*_READ_COLUMNS)
                .where(*where, *latest)
                .order_by(r.reader, r.session, r.ord, r.version),
            )
        )
        try:
            return [_stored_read(row) for row in rows]
        except ValueError as exc:
            raise StoreError(
                f"{self.name}: {exc}; run `readerstudy study audit --verify`"
            ) from None


_READ_COLUMNS = tuple(
    t.reads.c[name]
    for name in (
        "id",
        "reader",
        "session",
        "modality",
        "case",
        "ord",
        "active_s",
        "wall_s",
        "started_at",
        "submitted_at",
        "flags",
        "extra",
        "version",
        "amend_reason",
        "units",
        "intervals",
    )
)
"""The reads columns :func:`_stored_read` takes, in its order."""


def _stored_read(row: tuple) -> StoredRead:
    """A StoredRead from a raw row of :data:`_READ_COLUMNS`, built without re-validation so
    tampered values still load; ValueError for a JSON column that is no JSON."""
    (
        read_id,
        reader,
        session,
        modality,
        case,
        order,
        active_s,
        wall_s,
        started_at,
        submitted_at,
        flags,
        extra,
        version,
        amend_reason,
        units,
        intervals,
    ) = row
    try:
        values = {
            "reader": reader,
            "session": session,
            "modality": modality,
            "case": case,
            "order": order,
            "units": fast_loads(units),
            "active_s": active_s,
            "wall_s": wall_s,
            "started_at": utc_result(started_at),
            "submitted_at": utc_result(submitted_at),
            "intervals": () if intervals == "[]" else _intervals(fast_loads(intervals)),
            "flags": () if flags == "[]" else tuple(fast_loads(flags)),
            "extra": fast_loads(extra),
            "id": read_id,
            "version": version,
            "amend_reason": amend_reason,
        }
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValueError(f"read {read_id}: its stored JSON cannot be decoded ({exc})") from None
    return _unchecked_read(**values)


def _intervals(decoded: list[dict]) -> tuple[dict, ...]:
    """Clock intervals from their stored JSON, times back to aware UTC datetimes (in place:
    the decoded dicts are this read's own)."""
    for interval in decoded:
        interval["start"] = datetime.fromisoformat(interval["start"])
        end = interval["end"]
        interval["end"] = None if end is None else datetime.fromisoformat(end)
    return tuple(decoded)


def _unchecked_read(**values: Any) -> StoredRead:
    """A StoredRead from values already normalised (a submission, or stored rows)."""
    read = object.__new__(StoredRead)
    read.__dict__.update(values)  # frozen dataclass: bypass __setattr__, skip __post_init__
    return read


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        kind=row.kind,
        reader=row.reader,
        session=row.session,
        case=row.case,
        payload=json.loads(row.payload),
        at=row.at,
        hash=row.hash,
        prev_hash=row.prev_hash,
    )


def _event_payload(kind: str, payload: Any) -> dict:
    """An event payload as it will read back from the store; TypeError/ValueError naming the
    kind for anything JSON cannot hold."""
    if payload is not None and not isinstance(payload, dict):
        raise TypeError(f"event payload must be a dict, got {type(payload).__name__}")
    try:
        return json_roundtrip(payload or {})
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{kind} event payload: {exc}") from None


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not 0 < len(key) <= 128:
        raise ValueError(f"meta key must be a string of 1-128 characters, got {key!r}")


def _check_optional(*, reader: Any, session: Any, case: Any, required: bool = False) -> None:
    for name, value, kind in (
        ("reader", reader, str),
        ("session", session, int),
        ("case", case, str),
    ):
        if value is None and not required:
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            raise TypeError(f"{name} must be {kind.__name__}, got {value!r}")
        if isinstance(value, str) and not value.strip():
            raise ValueError(f"{name} must not be empty")
