"""The SQLite store runs with the durability and locking settings the guarantees rely on."""

from __future__ import annotations

import sqlite3
import threading

from readerstudy.store import open_store


def test_connections_use_wal_full_sync_foreign_keys_and_a_busy_timeout(study_dir):
    with open_store(study_dir) as store, store._engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
        assert pragma == {
            "journal_mode": "wal",
            "synchronous": 2,  # FULL
            "foreign_keys": 1,
            "busy_timeout": 60_000,
        }
        conn.rollback()
    # WAL is a property of the file: any later connection sees it.
    with sqlite3.connect(study_dir / "results.sqlite") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_second_writer_waits_for_the_first_instead_of_failing(study_dir):
    """BEGIN IMMEDIATE plus the busy timeout: a writer blocked by an open write transaction
    goes through once that transaction ends."""
    with open_store(study_dir) as first, open_store(study_dir) as second:
        holding = first._engine.connect()
        holding.execution_options(readerstudy_write=True)
        holding.begin()  # BEGIN IMMEDIATE: holds the write lock
        done = threading.Event()

        def write() -> None:
            second.append_event("login", reader="r2")
            done.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert not done.wait(0.5)  # blocked by the open write transaction
        holding.commit()
        holding.close()
        writer.join(30)
        assert done.is_set()
        assert [e.reader for e in first.events()] == ["r2"]
