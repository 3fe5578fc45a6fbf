"""Stores of schema 1, written by an earlier readerstudy (see data/README.md), migrate to the
current schema with every read and the whole audit chain unchanged."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from readerstudy.store import open_store
from readerstudy.store import schema as tables
from readerstudy.store.errors import SchemaVersionError

DATA = Path(__file__).parent / "data"
HEADS = {
    "sqlite": "0d30376d8821e31e5f01414e131970789c102e1d00b560777a654059df3f583d",
    "postgresql": "63c617e0d990d02753df09d418449e9aaf8797b0b0a31d8121b911abcbf04c29",
}


@pytest.fixture
def schema1_sqlite(tmp_path: Path) -> Path:
    copy = tmp_path / "results.sqlite"
    shutil.copyfile(DATA / "schema1.sqlite", copy)
    return copy


@pytest.fixture
def schema1_postgresql(postgres_url: str):
    """The schema-1 dump loaded into a schema of its own; dropped afterwards."""
    schema = f"rs_test_v1_{uuid.uuid4().hex[:10]}"
    dump = (DATA / "schema1_postgresql.sql").read_text(encoding="utf-8")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            # The driver's own execute: no parameters, so the dump's '%' stay as they are.
            conn.connection.driver_connection.execute(dump.replace("rs_schema1_fixture", schema))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(f"PostgreSQL does not answer: {exc.orig}")
    yield schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


def _check_migrated(store, backend: str) -> None:
    verification = store.verify_audit(anchor=HEADS[backend])
    assert verification.ok, verification.problems
    assert (verification.n_events, verification.n_reads) == (15, 13)
    assert verification.head_hash == HEADS[backend]
    versions = store.reads(all_versions=True)
    assert len(versions) == 13
    amended = store.read("r1", 1, "c2")
    assert (amended.version, amended.amend_reason) == (2, "typo")
    assert amended.units["M1_left"] == {"call": None, "rating": 2.5}
    assert amended.units["M2_right"] == {"call": 1, "rating": None}
    assert (amended.intervals, amended.extra) == ((), {"note": "é ü 'q'", "x": 1e-7})
    original = store.read("r2", 2, "c3")
    assert [i["kind"] for i in original.intervals] == ["active", "idle", "active"]
    assert original.intervals[0]["start"] == original.started_at
    assert original.started_at.tzinfo is UTC
    assert store.read("r2", 1, "c2").flags == ("motion",)
    assert all(len(read.units) == 20 for read in versions)


def _schema_version(conn) -> int:
    return conn.execute(sa.select(tables.schema_info.c.version)).scalar_one()


def test_a_schema1_sqlite_store_is_refused_read_only_then_migrated(schema1_sqlite):
    with pytest.raises(SchemaVersionError, match=r"has schema 1.*open it once with a command"):
        open_store(schema1_sqlite, study_id="fixture", read_only=True)
    with open_store(schema1_sqlite, study_id="fixture") as store:
        _check_migrated(store, "sqlite")
        with store._engine.connect() as conn:
            assert _schema_version(conn) == tables.SCHEMA_VERSION == 2
            kinds = dict(
                conn.exec_driver_sql(
                    "SELECT name, type FROM sqlite_master WHERE name LIKE 'read%'"
                ).all()
            )
        assert kinds["read_units"] == kinds["read_intervals"] == "view"
    with open_store(schema1_sqlite, study_id="fixture", read_only=True) as store:
        assert store.verify_audit().ok


def test_a_migrated_sqlite_store_keeps_its_guards_and_takes_new_reads(schema1_sqlite):
    with open_store(schema1_sqlite, study_id="fixture") as store:
        latest = store.read("r1", 2, "c3")
        store.amend_read(latest.revised(active_s=latest.active_s + 1), reason="recount")
        assert store.verify_audit().ok
    with sqlite3.connect(schema1_sqlite) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE reads SET units = '{}'")
        units = conn.execute('SELECT count(*), sum("call") FROM read_units').fetchone()
    assert units[0] == 14 * 20


def test_a_value_tampered_before_migration_stays_detected(schema1_sqlite):
    # The migration carries stored values as they are: it neither hides nor repairs an edit.
    with sqlite3.connect(schema1_sqlite) as conn:
        conn.execute("DROP TRIGGER read_units_no_update")
        (read_id,) = conn.execute(
            "SELECT id FROM reads WHERE reader = 'r2' AND session = 1 AND \"case\" = 'c1'"
        ).fetchone()
        conn.execute(f"UPDATE read_units SET rating = 5 WHERE read_id = {read_id}")
    with open_store(schema1_sqlite, study_id="fixture") as store:
        verification = store.verify_audit()
        assert not verification.ok
        assert f"read {read_id} (reader r2, session 1, case c1, version 1)" in verification.reason
        assert all(a["rating"] == 5.0 for a in store.read("r2", 1, "c1").units.values())


@pytest.mark.requires_postgres
def test_a_schema1_postgresql_store_migrates(schema1_postgresql, postgres_url):
    with pytest.raises(SchemaVersionError, match="has schema 1"):
        open_store(postgres_url, study_id="fixture", schema=schema1_postgresql, read_only=True)
    with open_store(postgres_url, study_id="fixture", schema=schema1_postgresql) as store:
        _check_migrated(store, "postgresql")
        store.append_event("login", reader="r2", at=datetime(2026, 3, 20, tzinfo=UTC))
        assert store.verify_audit().ok
        with store._engine.connect() as conn:
            assert _schema_version(conn) == 2
            conn.rollback()
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), conn.begin():
                conn.exec_driver_sql("UPDATE reads SET units = '{}'")
            with pytest.raises(sa.exc.DBAPIError, match="view"), conn.begin():
                conn.exec_driver_sql("DELETE FROM read_units")
            count = conn.exec_driver_sql("SELECT count(*) FROM read_intervals").scalar_one()
    assert count == 12 * 3
