"""Tables of the results store (SQLAlchemy Core), their append-only triggers and schema version.

Every row carries ``study_id`` so several studies can share one PostgreSQL database. Submitted
reads (``reads``, ``read_units``, ``read_intervals``) and the audit log (``audit_events``) are
insert-only: the store has no update or delete for them, and database triggers refuse UPDATE
and DELETE on both SQLite and PostgreSQL.
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
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
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

from readerstudy.store.errors import SchemaVersionError, StoreMissingError

SCHEMA_VERSION = 1
"""Version of the tables below; bump it and add a step to :data:`MIGRATIONS` on any change."""

MIGRATIONS: dict[int, Callable[[Connection], None]] = {}
"""``from_version -> step`` upgrading a store by one version, run in one transaction."""


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
    UniqueConstraint("study_id", "reader", "session", "case", "version", name="uq_read_version"),
    UniqueConstraint("study_id", "id", name="uq_read_study"),  # target of the child tables' FK
)

read_units = Table(
    "read_units",
    metadata,
    Column("study_id", String(128), nullable=False),
    Column("read_id", Integer, primary_key=True),
    Column("unit", String(32), primary_key=True),
    Column("call", SmallInteger),
    Column("rating", Float(53)),
    ForeignKeyConstraint(
        ["study_id", "read_id"], ["reads.study_id", "reads.id"], ondelete="RESTRICT"
    ),
)

read_intervals = Table(
    "read_intervals",
    metadata,
    Column("study_id", String(128), nullable=False),
    Column("read_id", Integer, primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime),
    ForeignKeyConstraint(
        ["study_id", "read_id"], ["reads.study_id", "reads.id"], ondelete="RESTRICT"
    ),
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

APPEND_ONLY = ("audit_events", "reads", "read_units", "read_intervals")
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
