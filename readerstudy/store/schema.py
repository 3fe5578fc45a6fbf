"""Tables of the results store (SQLAlchemy Core), their append-only triggers and schema version.

Every row carries ``study_id`` so several studies can share one PostgreSQL database. Submitted
reads (``reads``) and the audit log (``audit_events``) are insert-only: the store has no update
or delete for them, and database triggers refuse UPDATE and DELETE on both SQLite and
PostgreSQL.

A read's answers and clock intervals are canonical JSON columns of its ``reads`` row, so the
text its digest covers is stored as it was hashed and a whole study reads and verifies
without a million child rows; the views ``read_units`` and ``read_intervals`` derive the
per-unit and per-interval rows from them for SQL users.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    DDL,
    Column,
    Connection,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.types import TypeDecorator

from readerstudy.store.canonical import canonical_json
from readerstudy.store.errors import SchemaVersionError, StoreMissingError

SCHEMA_VERSION = 2
"""Version of the tables below; bump it and add a step to :data:`MIGRATIONS` on any change.

1: answers and intervals in the child tables ``read_units`` and ``read_intervals``.
2: answers and intervals as canonical JSON columns of ``reads``; the child tables are views.
"""


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, microseconds kept on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the store keeps UTC times")
        value = value.astimezone(UTC)
        # SQLite has no time zone type: store naive UTC text.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return utc_result(value)


def utc_result(value: datetime | str | None) -> datetime | None:
    """A stored time as an aware UTC datetime: what :class:`UTCDateTime` reads back, also
    from the raw text a SQLite cursor returns (naive UTC, ISO 8601)."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 26:  # the store's own form: parse it as UTC in one (fast) step
            try:
                return datetime.fromisoformat(value + "+00:00")
            except ValueError:  # not naive after all (e.g. ends in "Z"): the general way
                pass
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

schema_info = Table(
    "readerstudy_schema",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
)

study_meta = Table(
    "study_meta",
    metadata,
    Column("study_id", String(128), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),  # canonical JSON
    Column("updated_at", UTCDateTime, nullable=False),
)

chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("study_id", String(128), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("study_id", String(128), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("reader", String(128)),
    Column("session", Integer),
    Column("case", String(128)),
    Column("payload", Text, nullable=False),  # canonical JSON
    Column("at", UTCDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_reader", "study_id", "reader", "session"),
    Index("ix_audit_events_kind", "study_id", "kind"),
)

reads = Table(
    "reads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_id", String(128), nullable=False),
    Column("reader", String(128), nullable=False),
    Column("session", Integer, nullable=False),
    Column("case", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("modality", String(64), nullable=False),
    Column("ord", Integer, nullable=False),
    Column("active_s", Float(53), nullable=False),
    Column("wall_s", Float(53), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("flags", Text, nullable=False),  # canonical JSON list
    Column("extra", Text, nullable=False),  # canonical JSON object
    Column("amend_reason", Text),
    Column("units", Text, nullable=False),  # canonical JSON: unit -> {call, rating}
    Column("intervals", Text, nullable=False),  # canonical JSON list of {end, kind, start}
    UniqueConstraint("study_id", "reader", "session", "case", "version", name="uq_read_version"),
    UniqueConstraint("study_id", "id", name="uq_read_study"),
)

in_progress = Table(
    "reads_in_progress",
    metadata,
    Column("study_id", String(128), primary_key=True),
    Column("reader", String(128), primary_key=True),
    Column("session", Integer, primary_key=True),
    Column("case", String(128), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("restarted_at", UTCDateTime),
    Column("restarts", Integer, nullable=False),
)

APPEND_ONLY = ("audit_events", "reads")
"""Tables whose rows are never updated or deleted."""

_PG_REFUSE = DDL(
    """
    CREATE OR REPLACE FUNCTION readerstudy_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'readerstudy: %% on %% is refused: the table is append-only',
            TG_OP, TG_TABLE_NAME;
    END $$ LANGUAGE plpgsql
    """
)


def _install_triggers(table: Table) -> None:
    name = table.name
    for op in ("UPDATE", "DELETE"):
        event.listen(
            table,
            "after_create",
            DDL(
                f"CREATE TRIGGER {name}_no_{op.lower()} BEFORE {op} ON {name} "
                f"BEGIN SELECT RAISE(ABORT, 'readerstudy: {op} on {name} is refused: "
                "the table is append-only'); END"
            ).execute_if(dialect="sqlite"),
        )
    event.listen(table, "after_create", _PG_REFUSE.execute_if(dialect="postgresql"))
    event.listen(
        table,
        "after_create",
        DDL(
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
            "FOR EACH ROW EXECUTE FUNCTION readerstudy_refuse_change()"
        ).execute_if(dialect="postgresql"),
    )
    event.listen(
        table,
        "after_create",
        DDL(
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION readerstudy_refuse_change()"
        ).execute_if(dialect="postgresql"),
    )


for _name in APPEND_ONLY:
    _install_triggers(metadata.tables[_name])

# The child rows of schema 1, derived from the JSON columns (read-only by nature).
_VIEWS = {
    "sqlite": (
        """CREATE VIEW read_units AS SELECT r.study_id, r.id AS read_id, u.key AS unit,
        json_extract(u.value, '$.call') AS "call", json_extract(u.value, '$.rating') AS rating
        FROM reads r, json_each(r.units) u""",
        # Times in the store's own SQLite form, naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'.
        """CREATE VIEW read_intervals AS SELECT r.study_id, r.id AS read_id, i.key AS idx,
        json_extract(i.value, '$.kind') AS kind,
        replace(substr(json_extract(i.value, '$.start'), 1, 26), 'T', ' ') AS start,
        replace(substr(json_extract(i.value, '$.end'), 1, 26), 'T', ' ') AS "end"
        FROM reads r, json_each(r.intervals) i""",
    ),
    "postgresql": (
        """CREATE VIEW read_units AS SELECT r.study_id, r.id AS read_id, u.key AS unit,
        (u.value ->> 'call')::smallint AS "call", (u.value ->> 'rating')::float8 AS rating
        FROM reads r CROSS JOIN LATERAL jsonb_each(r.units::jsonb) AS u(key, value)""",
        """CREATE VIEW read_intervals AS SELECT r.study_id, r.id AS read_id,
        (i.idx - 1)::int AS idx, i.value ->> 'kind' AS kind,
        (i.value ->> 'start')::timestamptz AS start, (i.value ->> 'end')::timestamptz AS "end"
        FROM reads r CROSS JOIN LATERAL jsonb_array_elements(r.intervals::jsonb)
        WITH ORDINALITY AS i(value, idx)""",
    ),
}
VIEWS = ("read_units", "read_intervals")
"""Views over ``reads``: one row per unit answer and per clock interval."""


def _create_views(target: Table, conn: Connection, **_: object) -> None:
    for statement in _VIEWS[conn.dialect.name]:
        conn.exec_driver_sql(statement)


event.listen(reads, "after_create", _create_views)


def _child_rows_as_json(conn: Connection) -> list[dict]:
    """Schema 1's read_units and read_intervals of every read as the canonical JSON texts
    its digest covered (the values exactly as the store decoded them)."""
    units: dict[int, dict[str, dict]] = {}
    for read_id, unit, call, rating in conn.exec_driver_sql(
        'SELECT read_id, unit, "call", rating FROM read_units ORDER BY read_id, unit'
    ):
        units.setdefault(read_id, {})[unit] = {"call": call, "rating": rating}
    intervals: dict[int, list[dict]] = {}
    for read_id, kind, start, end in conn.exec_driver_sql(
        'SELECT read_id, kind, start, "end" FROM read_intervals ORDER BY read_id, idx'
    ):
        intervals.setdefault(read_id, []).append(
            {"kind": kind, "start": utc_result(start), "end": utc_result(end)}
        )
    rows = []
    for (read_id,) in conn.exec_driver_sql("SELECT id FROM reads ORDER BY id"):
        try:
            rows.append(
                {
                    "id": read_id,
                    "units": canonical_json(units.get(read_id, {})),
                    "intervals": canonical_json(intervals.get(read_id, [])),
                }
            )
        except (TypeError, ValueError) as exc:
            raise SchemaVersionError(
                f"read {read_id}: its stored answers or intervals cannot be migrated to "
                f"schema 2 ({exc}); restore the store from a backup"
            ) from None
    return rows


def _answers_into_reads(conn: Connection) -> None:
    """Schema 1 -> 2: each read's units and intervals move into JSON columns of its row."""
    rows = _child_rows_as_json(conn)
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.exec_driver_sql("ALTER TABLE reads DISABLE TRIGGER reads_append_only")
        conn.exec_driver_sql("ALTER TABLE reads ADD COLUMN units text, ADD COLUMN intervals text")
    else:
        conn.exec_driver_sql("DROP TRIGGER reads_no_update")
        # SQLite adds a NOT NULL column only with a default; '' is no JSON, so a row that
        # ever got it would fail verification instead of passing for an empty read.
        for column in ("units", "intervals"):
            conn.exec_driver_sql(f"ALTER TABLE reads ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    if rows:
        conn.execute(
            text("UPDATE reads SET units = :units, intervals = :intervals WHERE id = :id"), rows
        )
    if postgres:
        conn.exec_driver_sql(
            "ALTER TABLE reads ALTER COLUMN units SET NOT NULL, ALTER COLUMN intervals SET NOT NULL"
        )
        conn.exec_driver_sql("ALTER TABLE reads ENABLE TRIGGER reads_append_only")
    else:
        conn.exec_driver_sql(
            "CREATE TRIGGER reads_no_update BEFORE UPDATE ON reads BEGIN SELECT RAISE(ABORT, "
            "'readerstudy: UPDATE on reads is refused: the table is append-only'); END"
        )
    for table in VIEWS:
        conn.exec_driver_sql(f"DROP TABLE {table}")
    _create_views(reads, conn)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _answers_into_reads}
"""``from_version -> step`` upgrading a store by one version, run in one transaction."""


def check_schema(conn: Connection, *, store_name: str, allow_older: bool = False) -> int:
    """The schema version of an existing store, read without writing; refuses a store that
    is missing, foreign, or at another version than this readerstudy's (``allow_older``:
    an older one is returned, for a caller that migrates it next)."""
    existing = set(inspect(conn).get_table_names())
    if schema_info.name not in existing:
        damaged = " (its tables have no schema version)" if existing & set(metadata.tables) else ""
        raise StoreMissingError(f"{store_name} holds no readerstudy store{damaged}")
    version = conn.execute(select(schema_info.c.version).where(schema_info.c.id == 1)).scalar()
    if version is None:
        raise SchemaVersionError(f"{store_name} has an empty schema version table; restore it")
    if version != SCHEMA_VERSION and not (allow_older and version < SCHEMA_VERSION):
        raise SchemaVersionError(
            f"{store_name} has schema {version}, this readerstudy reads {SCHEMA_VERSION}: "
            + (
                "upgrade readerstudy"
                if version > SCHEMA_VERSION
                else "open it once with a command that writes (study lock, study pin, read) "
                "to migrate it"
            )
        )
    return version


def ensure_schema(conn: Connection, *, store_name: str, created_by: str) -> int:
    """Create the tables in a new store, migrate an older one, refuse a newer one.

    Runs inside the caller's (exclusive) transaction, so concurrent openers of a new store
    create it once. Returns the schema version now in the store.
    """
    existing = set(inspect(conn).get_table_names())
    if schema_info.name not in existing:
        ours = existing & set(metadata.tables)
        if ours:
            raise SchemaVersionError(
                f"{store_name} has readerstudy tables ({', '.join(sorted(ours))}) but no "
                "schema version: it was not written by readerstudy or is damaged; restore it "
                "from a backup"
            )
        metadata.create_all(conn)
        conn.execute(
            schema_info.insert().values(
                id=1, version=SCHEMA_VERSION, created_at=datetime.now(UTC), created_by=created_by
            )
        )
        return SCHEMA_VERSION
    version = conn.execute(select(schema_info.c.version).where(schema_info.c.id == 1)).scalar()
    if version is None:
        raise SchemaVersionError(f"{store_name} has an empty schema version table; restore it")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{store_name} has schema {version}, this readerstudy understands up to "
            f"{SCHEMA_VERSION}: upgrade readerstudy"
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise SchemaVersionError(
                f"{store_name} has schema {version}, which this readerstudy cannot migrate "
                f"to {SCHEMA_VERSION}: export it with the readerstudy that wrote it"
            )
        step(conn)
        version += 1
        conn.execute(
            text("UPDATE readerstudy_schema SET version = :v WHERE id = 1"), {"v": version}
        )
    return version
