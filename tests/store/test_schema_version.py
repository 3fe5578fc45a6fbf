"""The schema version is recorded; newer stores are refused, older ones migrated or refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from store_workload import make_submission

from readerstudy.store import SchemaVersionError, open_store
from readerstudy.store import schema as tables


def _set_version(location, version: int) -> None:
    engine = location.raw_engine()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE readerstudy_schema SET version = :v"), {"v": version})
    engine.dispose()


def test_new_store_records_the_current_schema_version(location):
    with location.open():
        pass
    engine = location.raw_engine()
    with engine.connect() as conn:
        version, created_by = conn.execute(
            sa.text("SELECT version, created_by FROM readerstudy_schema")
        ).one()
    engine.dispose()
    assert version == tables.SCHEMA_VERSION
    assert created_by.startswith("readerstudy ")


def test_a_newer_schema_is_refused_with_an_upgrade_hint(study_dir):
    with open_store(study_dir) as store:
        store.submit_read(make_submission("r1", 1, "c1", 1))
    engine = sa.create_engine(f"sqlite:///{study_dir / 'results.sqlite'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE readerstudy_schema SET version = 3"))
    engine.dispose()
    expected = (
        "results.sqlite has schema 3, this readerstudy understands up to "
        f"{tables.SCHEMA_VERSION}: upgrade readerstudy"
    )
    with pytest.raises(SchemaVersionError, match=expected):
        open_store(study_dir)


def test_a_newer_schema_is_refused_on_postgresql_too(location):
    with location.open():
        pass
    _set_version(location, tables.SCHEMA_VERSION + 1)
    with pytest.raises(SchemaVersionError, match="upgrade readerstudy"):
        location.open()


def test_an_older_schema_is_migrated_step_by_step(location, monkeypatch):
    with location.open() as store:
        store.submit_read(make_submission("r1", 1, "c1", 1))
    _set_version(location, tables.SCHEMA_VERSION - 1)
    applied = []

    def step(conn: sa.Connection) -> None:
        applied.append(conn.execute(sa.text("SELECT count(*) FROM reads")).scalar())

    monkeypatch.setitem(tables.MIGRATIONS, tables.SCHEMA_VERSION - 1, step)
    with location.open() as store:
        assert len(store.reads()) == 1
    assert applied == [1]
    with location.open():  # migrated once, recorded
        pass
    assert applied == [1]


def test_an_older_schema_without_a_migration_is_refused(location):
    with location.open():
        pass
    _set_version(location, 0)
    with pytest.raises(SchemaVersionError, match="has schema 0, which this readerstudy cannot"):
        location.open()


def test_tables_without_a_schema_version_are_refused(location):
    with location.open():
        pass
    engine = location.raw_engine()
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE readerstudy_schema"))
    engine.dispose()
    with pytest.raises(SchemaVersionError, match="no schema version"):
        location.open()


def test_an_existing_older_store_is_migrated_without_create(location, monkeypatch):
    """A locked study opens its store with create=False: an upgrade must still migrate it."""
    with location.open() as store:
        store.submit_read(make_submission("r1", 1, "c1", 1))
    _set_version(location, tables.SCHEMA_VERSION - 1)
    monkeypatch.setitem(tables.MIGRATIONS, tables.SCHEMA_VERSION - 1, lambda conn: None)
    read_only = pytest.raises(SchemaVersionError, match="with a command that writes")
    with read_only:
        open_store(location.target, study_id="study-a", schema=location.schema, read_only=True)
    with open_store(location.target, study_id="study-a", schema=location.schema, create=False):
        pass
    with open_store(
        location.target, study_id="study-a", schema=location.schema, read_only=True
    ) as store:
        assert len(store.reads()) == 1


def test_a_locked_study_with_an_older_store_is_migrated_by_a_writable_command(
    tmp_path, monkeypatch
):
    import sqlite3

    from readerstudy.study.protocol import Study
    from tests.study.conftest import write_study_folder

    folder = tmp_path / "study"
    write_study_folder(folder)
    with Study.open(folder, create=True) as study:
        study.lock()
    with sqlite3.connect(folder / "results.sqlite") as conn:
        conn.execute("UPDATE readerstudy_schema SET version = ?", (tables.SCHEMA_VERSION - 1,))
    monkeypatch.setitem(tables.MIGRATIONS, tables.SCHEMA_VERSION - 1, lambda conn: None)
    with Study.open(folder, create=True) as study:  # as `study lock` on a locked study does
        assert study.locked
    with sqlite3.connect(folder / "results.sqlite") as conn:
        assert conn.execute("SELECT version FROM readerstudy_schema").fetchone() == (
            tables.SCHEMA_VERSION,
        )
