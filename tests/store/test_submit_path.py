"""What one submission sends to the database: one transaction, no look-up before the insert,
and on PostgreSQL everything after the read row (units, intervals, in-progress mark, audit
event, chain head) in one statement."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event
from store_workload import make_submission

from readerstudy.store import DuplicateReadError


@pytest.fixture
def statements(store) -> list[str]:
    """SQL the store's engine sends from now on (BEGIN/COMMIT included)."""
    sent: list[str] = []
    engine = store._engine
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    event.listen(engine, "commit", lambda conn: sent.append("COMMIT"))
    return sent


def test_a_submission_is_one_transaction_without_a_look_up(store, statements):
    store.submit_read(make_submission("r1", 1, "c1", 1))
    assert statements.count("COMMIT") == 1
    lookups = [s for s in statements if re.match(r"\s*SELECT\b.*\bFROM reads\b", s, re.S)]
    assert lookups == []
    assert store.verify_audit().ok


def test_the_unique_key_refuses_a_second_submission_naming_the_first(store, statements):
    first = store.submit_read(make_submission("r1", 1, "c1", 1))
    statements.clear()
    with pytest.raises(DuplicateReadError, match=f"already submitted case c1 .*read {first.id}"):
        store.submit_read(make_submission("r1", 1, "c1", 1, seed=2))
    assert statements.count("COMMIT") == 0
    with pytest.raises(DuplicateReadError, match="already submitted case c1"):
        store.submit_many(
            [make_submission("r1", 1, "c2", 2), make_submission("r1", 1, "c1", 1, seed=3)]
        )
    assert [r.case for r in store.reads()] == ["c1"]
    assert [e.kind for e in store.events()] == ["submit"]
    assert store.verify_audit().ok


def test_postgresql_writes_a_read_in_two_statements(store, location, statements):
    if location.backend != "postgresql":
        pytest.skip("SQLite has no data-modifying CTE")
    store.start_read("r1", 1, "c1", at=make_submission("r1", 1, "c1", 1).started_at)
    statements.clear()
    store.submit_read(make_submission("r1", 1, "c1", 1))
    # The lock on the chain head with the read row (its id is in the digest), then the
    # rest; the pool's liveness ping aside.
    sql = [s for s in statements if s not in ("BEGIN", "COMMIT", "SELECT 1")]
    lock_and_read, rest = sql
    assert "FOR UPDATE" in lock_and_read
    assert "INSERT INTO reads" in lock_and_read
    for part in (
        "DELETE FROM reads_in_progress",
        "INSERT INTO audit_events",
        "UPDATE audit_chain_head",
    ):
        assert part in rest
    assert store.in_progress() == []
    assert store.verify_audit().ok
