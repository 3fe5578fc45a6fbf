"""The audit chain verifies, and every kind of tampering names the first broken link."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from store_workload import T0, make_submission

from readerstudy.store import StoreError
from readerstudy.store.canonical import canonical_json


def _fill(store) -> dict:
    """A small study history: logins, case opens, three submitted reads, one amendment."""
    store.append_event("login", reader="r1", at=T0)
    subs = [make_submission("r1", 1, f"c{i}", i) for i in (1, 2, 3)]
    reads = []
    for sub in subs:
        store.append_event("case_open", reader="r1", session=1, case=sub.case, at=sub.started_at)
        store.start_read("r1", 1, sub.case, at=sub.started_at)
        reads.append(store.submit_read(sub))
    store.append_event("overlay_toggle", reader="r1", session=1, case="c3", payload={"on": True})
    store.amend_read(subs[0], reason="re-checked")
    submits = {e.payload["read_id"]: e.seq for e in store.events() if e.kind in ("submit", "amend")}
    return {"reads": reads, "submit_seq": submits, "n_events": len(store.events())}


def _attack(location, *statements: str, unguard: tuple[str, ...] = ()) -> None:
    """Run SQL as an attacker with direct database access, dropping the guards first."""
    engine = location.raw_engine()
    try:
        with engine.begin() as conn:
            for table in unguard:
                if location.backend == "sqlite":
                    conn.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
                    conn.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")
                else:
                    conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_untouched_chain_verifies(store):
    history = _fill(store)
    result = store.verify_audit()
    assert result.ok
    assert result.n_events == history["n_events"] == 9
    assert result.n_reads == 4
    assert (result.first_broken, result.reason) == (None, None)
    assert result.head_hash == store.events()[-1].hash
    assert store.verify_audit(anchor=store.events()[3].hash).ok


def test_verification_reports_progress_over_events_then_reads(store, monkeypatch):
    from readerstudy.store import chain

    _fill(store)
    monkeypatch.setattr(chain, "PROGRESS_EVERY", 2)
    calls: list[tuple[int, int]] = []
    assert store.verify_audit(progress=lambda done, total: calls.append((done, total))).ok
    # 9 events (every 2nd reported), then 4 reads (every 2nd), then the end.
    assert calls == [(2, 13), (4, 13), (6, 13), (8, 13), (11, 13), (13, 13), (13, 13)]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE reads SET units = '{}'",
        "DELETE FROM audit_events WHERE seq = 2",
        "UPDATE audit_events SET payload = '{}' WHERE seq = 1",
        "DELETE FROM reads WHERE version = 2",
        "UPDATE reads SET active_s = 1",
    ],
)
def test_triggers_refuse_updates_and_deletes(store, location, statement):
    _fill(store)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _attack(location, statement)
    assert store.verify_audit().ok


def _rewritten_units(read, **changes: dict) -> str:
    """SQL rewriting a read's stored answers, ``unit=answer`` replaced or added."""
    return f"UPDATE reads SET units = '{canonical_json(read.units | changes)}' WHERE id = {read.id}"


def test_the_unit_views_give_the_stored_answers_and_refuse_writes(store, location):
    history = _fill(store)
    engine = location.raw_engine()
    try:
        with engine.connect() as conn:
            units = conn.exec_driver_sql(
                'SELECT read_id, unit, "call", rating FROM read_units ORDER BY read_id, unit'
            ).all()
            intervals = conn.exec_driver_sql(
                'SELECT read_id, idx, kind, start, "end" FROM read_intervals ORDER BY read_id, idx'
            ).all()
    finally:
        engine.dispose()
    stored = store.reads(all_versions=True)
    assert units == [
        (read.id, unit, answer["call"], answer["rating"])
        for read in sorted(stored, key=lambda read: read.id)
        for unit, answer in sorted(read.units.items())
    ]
    assert len(units) == 4 * 20
    expected = [
        (read.id, i, interval["kind"], interval["start"], interval["end"])
        for read in sorted(stored, key=lambda read: read.id)
        for i, interval in enumerate(read.intervals)
    ]
    if location.backend == "sqlite":  # times as the store's own SQLite text
        expected = [
            (*row[:3], *(t.replace(tzinfo=None).isoformat(" ", "microseconds") for t in row[3:]))
            for row in expected
        ]
    assert intervals == expected
    for statement in ("UPDATE read_units SET rating = 5", "DELETE FROM read_intervals"):
        with pytest.raises(sa.exc.DBAPIError, match="view"):
            _attack(location, statement)
    assert store.verify_audit().ok
    assert history["n_events"] == len(store.events())


def test_a_changed_rating_is_detected_at_its_submit_event(store, location):
    history = _fill(store)
    target = history["reads"][1]
    _attack(
        location,
        _rewritten_units(target, M3_right={"call": 1, "rating": 5.0}),
        unguard=("reads",),
    )
    assert store.reads(reader="r1")[1].units["M3_right"] == {"call": 1, "rating": 5.0}
    result = store.verify_audit()
    assert not result.ok
    assert result.first_broken == history["submit_seq"][target.id]
    assert f"read {target.id} (reader r1, session 1, case c2, version 1)" in result.reason
    assert "do not match the digest" in result.reason


def test_a_changed_reading_time_is_detected(store, location):
    history = _fill(store)
    target = history["reads"][2]
    _attack(
        location, f"UPDATE reads SET active_s = 12.5 WHERE id = {target.id}", unguard=("reads",)
    )
    result = store.verify_audit()
    assert result.first_broken == history["submit_seq"][target.id]
    assert "case c3" in result.reason


def test_a_changed_event_payload_is_detected_at_that_event(store, location):
    _fill(store)
    (toggle,) = store.events(kind="overlay_toggle")
    _attack(
        location,
        f"UPDATE audit_events SET payload = '{{\"on\":false}}' WHERE seq = {toggle.seq}",
        unguard=("audit_events",),
    )
    result = store.verify_audit()
    assert not result.ok
    assert result.first_broken == toggle.seq
    assert result.reason.startswith(f"event {toggle.seq} (overlay_toggle): content does not match")


def test_a_rehashed_event_breaks_the_next_link(store, location):
    _fill(store)
    events = store.events()
    forged = events[2]
    _attack(
        location,
        f"UPDATE audit_events SET reader = 'r9', hash = '{'f' * 64}' WHERE seq = {forged.seq}",
        unguard=("audit_events",),
    )
    result = store.verify_audit()
    assert result.first_broken == forged.seq
    assert [seq for seq, _ in result.problems][:2] == [forged.seq, forged.seq + 1]
    assert "prev_hash does not match" in result.problems[1][1]


def test_a_deleted_event_is_detected(store, location):
    _fill(store)
    _attack(location, "DELETE FROM audit_events WHERE seq = 4", unguard=("audit_events",))
    result = store.verify_audit()
    assert not result.ok
    assert result.first_broken == 4
    assert result.reason == "event 4 is missing (next stored event is 5)"


def test_a_deleted_last_event_is_detected_by_the_chain_head(store, location):
    history = _fill(store)
    last = history["n_events"]
    _attack(location, f"DELETE FROM audit_events WHERE seq = {last}", unguard=("audit_events",))
    result = store.verify_audit()
    assert result.first_broken == last
    assert f"events {last}-{last} are missing" in result.reason


def test_a_deleted_read_is_detected(store, location):
    history = _fill(store)
    gone = history["reads"][2]
    _attack(location, f"DELETE FROM reads WHERE id = {gone.id}", unguard=("reads",))
    result = store.verify_audit()
    assert result.first_broken == history["submit_seq"][gone.id]
    assert f"covers read {gone.id}, which is not in the store" in result.reason


def test_a_read_inserted_behind_the_store_has_no_event(store, location):
    history = _fill(store)
    source = history["reads"][1]
    _attack(
        location,
        'INSERT INTO reads (study_id, reader, session, "case", version, modality, ord, '
        "active_s, wall_s, started_at, submitted_at, flags, extra, units, intervals) SELECT "
        "study_id, reader, session, 'c99', version, modality, 99, active_s, wall_s, started_at, "
        f"submitted_at, flags, extra, units, intervals FROM reads WHERE id = {source.id}",
    )
    result = store.verify_audit()
    assert not result.ok
    assert result.first_broken is None
    assert "case c99" in result.reason
    assert "has no submit/amend event" in result.reason


def test_a_chain_rewritten_from_scratch_fails_against_a_recorded_anchor(store, location):
    _fill(store)
    anchor = store.verify_audit().head_hash
    _attack(
        location,
        "DELETE FROM audit_events",
        "DELETE FROM audit_chain_head",
        unguard=("audit_events",),
    )
    _attack(location, "INSERT INTO audit_chain_head VALUES ('study-a', 0, '" + "0" * 64 + "')")
    store.append_event("login", reader="r1")
    result = store.verify_audit(anchor=anchor)
    assert not result.ok
    assert any("no longer in the chain" in reason for _, reason in result.problems)


def test_truncate_is_refused_on_postgresql(store, location):
    if location.backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _fill(store)
    for table in ("audit_events", "reads"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            _attack(location, f"TRUNCATE {table} CASCADE")
    assert store.verify_audit().ok


# -- the fast recomputation --------------------------------------------------------------


def test_an_untouched_store_verifies_without_any_exact_recheck(store, exact_rechecks):
    # The canonical text written from the stored columns is byte for byte the one hashed at
    # submit time, for every read version and event kind of the history.
    history = _fill(store)
    result = store.verify_audit()
    assert (result.ok, result.n_reads, result.n_events) == (True, 4, history["n_events"])
    assert exact_rechecks == []


def test_equal_json_written_differently_is_no_tampering(store, location, exact_rechecks):
    # Whitespace in a JSON column, or a time without its zero microseconds (SQLite text),
    # changes no value: the exact recomputation accepts it, as verify_audit always did.
    history = _fill(store)
    target = history["reads"][1]
    (toggle,) = store.events(kind="overlay_toggle")
    statements = [
        f"UPDATE reads SET extra = ' ' || extra || ' ' WHERE id = {target.id}",
        f"UPDATE audit_events SET payload = '{{ \"on\": true }}' WHERE seq = {toggle.seq}",
    ]
    if location.backend == "sqlite":
        statements.append(
            f"UPDATE reads SET started_at = substr(started_at, 1, 19) WHERE id = {target.id}"
        )
    _attack(location, *statements, unguard=("reads", "audit_events"))
    assert store.verify_audit().ok
    assert ("_exact_digest", target.id) in exact_rechecks
    assert ("_exact_event_hash", toggle.seq) in exact_rechecks


def test_a_unit_or_interval_added_behind_the_store_is_detected_at_its_read(store, location):
    history = _fill(store)
    target, other = history["reads"][0], history["reads"][2]
    longer = canonical_json([*other.intervals, other.intervals[0]])
    _attack(
        location,
        _rewritten_units(target, extra_unit={"call": 1, "rating": 5.0}),
        f"UPDATE reads SET intervals = '{longer}' WHERE id = {other.id}",
        unguard=("reads",),
    )
    result = store.verify_audit()
    assert [seq for seq, _ in result.problems] == [
        history["submit_seq"][target.id],
        history["submit_seq"][other.id],
    ]
    assert all("do not match the digest" in reason for _, reason in result.problems)


def test_garbled_stored_json_is_reported_not_raised(store, location):
    history = _fill(store)
    target = history["reads"][2]
    (toggle,) = store.events(kind="overlay_toggle")
    _attack(
        location,
        f"UPDATE reads SET extra = '{{not json' WHERE id = {target.id}",
        f"UPDATE audit_events SET payload = '[1' WHERE seq = {toggle.seq}",
        unguard=("reads", "audit_events"),
    )
    result = store.verify_audit()
    assert [seq for seq, _ in result.problems] == sorted(
        [toggle.seq, history["submit_seq"][target.id]]
    )


def test_reading_a_garbled_answer_column_names_the_read(store, location):
    history = _fill(store)
    target = history["reads"][1]
    _attack(
        location,
        f"UPDATE reads SET units = '{{\"C_left\":' WHERE id = {target.id}",
        unguard=("reads",),
    )
    with pytest.raises(StoreError, match=rf"read {target.id}: its stored JSON cannot be decoded"):
        store.reads()
    with pytest.raises(StoreError, match=r"run `readerstudy study audit --verify`"):
        store.read("r1", 1, "c2")
    assert store.verify_audit().first_broken == history["submit_seq"][target.id]


def test_a_garbled_time_is_reported_not_raised(store, location):
    if location.backend != "sqlite":
        pytest.skip("PostgreSQL keeps times typed")
    history = _fill(store)
    target = history["reads"][1]
    _attack(
        location,
        f"UPDATE reads SET submitted_at = 'yesterday' WHERE id = {target.id}",
        "UPDATE audit_events SET at = 42 WHERE seq = 1",
        unguard=("reads", "audit_events"),
    )
    result = store.verify_audit()
    assert [seq for seq, _ in result.problems] == [1, history["submit_seq"][target.id]]
