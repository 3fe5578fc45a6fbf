"""Reads, metadata, events and in-progress reads round-trip unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from store_workload import T0, make_submission

from readerstudy.store import (
    DuplicateReadError,
    ReadNotFoundError,
    ReadSubmission,
    StoreError,
    open_store,
)


def test_submitted_read_round_trips(store, location):
    sub = make_submission("r1", 1, "case001", 1)
    stored = store.submit_read(sub)
    assert (stored.id, stored.version) == (stored.id, 1)
    with location.open() as reopened:
        (back,) = reopened.reads()
    assert back == stored
    assert back.revised() == sub
    assert back.units["M5_left"] == sub.units["M5_left"]
    assert [i["kind"] for i in back.intervals] == ["active", "idle", "active"]
    assert back.intervals[1]["start"].tzinfo is UTC


def test_microseconds_and_time_zones_survive(store):
    cet = timezone(timedelta(hours=1))
    started = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=cet)
    sub = dataclasses.replace(
        make_submission("r1", 1, "c", 1),
        started_at=started,
        submitted_at=started + timedelta(seconds=61, microseconds=7),
        intervals=({"kind": "active", "start": started.isoformat(), "end": None},),
    )
    (back,) = [store.submit_read(sub)]
    (read,) = store.reads()
    assert read.started_at == started
    assert read.started_at.tzinfo is UTC
    assert read.submitted_at.microsecond == (123456 + 7) % 1_000_000
    assert read.intervals[0] == {"kind": "active", "start": started, "end": None}
    assert back == read


def test_negative_zero_rating_keeps_the_audit_verifying(store):
    # SQLite stores -0.0 as 0.0; the digest is taken over the normalised value, so the read
    # still matches its submit event after storage (found by the hypothesis round trip).
    sub = make_submission("r1", 1, "c", 1)
    units = {**sub.units, "M5_left": {"call": 0, "rating": -0.0}}
    store.submit_read(dataclasses.replace(sub, units=units, active_s=-0.0))
    verification = store.verify_audit()
    assert verification.ok, verification.reason


def test_meta_round_trips_json_values(store, location):
    store.put_meta("definition", {"name": "demo", "readers": ["r1", "r2"], "washout_days": 14})
    store.put_meta("design_hash", "ab" * 32)
    store.put_meta("locked", True)
    store.put_meta("locked", False)
    with location.open() as again:
        assert again.get_meta("definition")["readers"] == ["r1", "r2"]
        assert again.get_meta("design_hash") == "ab" * 32
        assert again.get_meta("locked") is False
        assert again.get_meta("missing", {"default": 1}) == {"default": 1}
    with pytest.raises(ValueError, match="meta 'bad'"):
        store.put_meta("bad", float("nan"))


def test_studies_sharing_a_database_do_not_see_each_other(location):
    with location.open("study-a") as a, location.open("study-b") as b:
        a.submit_read(make_submission("r1", 1, "c1", 1))
        b.submit_read(make_submission("r1", 1, "c1", 1))
        b.submit_read(make_submission("r1", 1, "c2", 2))
        a.put_meta("k", 1)
        assert [len(a.reads()), len(b.reads())] == [1, 2]
        assert b.get_meta("k") is None
        assert [e.seq for e in b.events()] == [1, 2]
        assert a.verify_audit().ok
        assert b.verify_audit().ok


def test_events_are_chained_and_filtered(store):
    login = store.append_event("login", reader="r1", payload={"workstation": "ws-3"})
    store.append_event(
        "window_level",
        reader="r1",
        session=1,
        case="c1",
        payload={"window": 80, "level": 40},
        at=T0,
    )
    store.append_event("login", reader="r2")
    assert login.seq == 1
    assert login.prev_hash == "0" * 64
    events = store.events()
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash
    assert events[1].at == T0
    assert events[1].payload == {"window": 80, "level": 40}
    assert [e.kind for e in store.events(reader="r1")] == ["login", "window_level"]
    assert [e.seq for e in store.events(kind="login")] == [1, 3]
    assert store.events(session=1, reader="r1")[0].case == "c1"


@pytest.mark.parametrize(
    ("kind", "kwargs", "error", "match"),
    [
        ("submit", {}, ValueError, "written by submit_read"),
        ("Login", {}, ValueError, "lower_snake_case"),
        ("login", {"payload": {"x": object()}}, TypeError, "login event payload"),
        ("login", {"at": datetime(2026, 1, 1)}, ValueError, "timezone-aware"),
        ("login", {"session": "1"}, TypeError, "session must be int"),
    ],
)
def test_bad_events_are_refused(store, kind, kwargs, error, match):
    with pytest.raises(error, match=match):
        store.append_event(kind, **kwargs)
    assert store.events() == []


def test_in_progress_reads_are_recorded_counted_and_cleared(store):
    store.start_read("r1", 1, "c1", at=T0)
    store.start_read("r2", 1, "c9", at=T0)
    store.start_read("r1", 1, "c1", at=T0 + timedelta(minutes=5))
    (open_read,) = store.in_progress("r1")
    assert open_read == {
        "reader": "r1",
        "session": 1,
        "case": "c1",
        "started_at": T0,
        "restarted_at": T0 + timedelta(minutes=5),
        "restarts": 1,
    }
    store.submit_read(make_submission("r1", 1, "c1", 1))
    assert [r["reader"] for r in store.in_progress()] == ["r2"]
    with pytest.raises(DuplicateReadError, match="already submitted case c1"):
        store.start_read("r1", 1, "c1", at=T0)


def test_opening_a_read_chains_its_case_open_event_in_the_same_transaction(store):
    store.start_read("r1", 1, "c1", at=T0, opened={"code": "S1-001", "order": 1})
    store.start_read("r1", 1, "c1", at=T0 + timedelta(minutes=1), opened={"code": "S1-001"})
    opens = store.events(kind="case_open")
    assert [(e.reader, e.session, e.case, e.at) for e in opens] == [
        ("r1", 1, "c1", T0),
        ("r1", 1, "c1", T0 + timedelta(minutes=1)),
    ]
    assert opens[0].payload == {"code": "S1-001", "order": 1}
    assert store.in_progress("r1")[0]["restarts"] == 1
    store.submit_read(make_submission("r1", 1, "c1", 1))
    with pytest.raises(DuplicateReadError):
        store.start_read("r1", 1, "c1", at=T0, opened={"code": "S1-001"})
    with pytest.raises(TypeError, match="case_open event payload"):
        store.start_read("r1", 1, "c2", at=T0, opened={"code": object()})
    assert len(store.events(kind="case_open")) == 2  # neither refusal logged anything
    assert store.in_progress("r1") == []
    assert store.verify_audit().ok


def test_duplicate_submission_is_refused_and_leaves_no_trace(store):
    first = store.submit_read(make_submission("r1", 1, "c1", 1))
    with pytest.raises(DuplicateReadError, match=f"read {first.id}"):
        store.submit_read(make_submission("r1", 1, "c1", 1, seed=2))
    assert store.reads() == [first]
    assert [e.kind for e in store.events()] == ["submit"]
    # The same case in another session or by another reader is a different read.
    store.submit_read(make_submission("r1", 2, "c1", 1))
    store.submit_read(make_submission("r2", 1, "c1", 1))
    assert len(store.reads()) == 3


def test_amendment_is_a_new_version_and_the_original_stays(store):
    original = store.submit_read(make_submission("r1", 1, "c1", 1))
    changed = dict(original.units)
    changed["M2_right"] = {"call": 1, "rating": 5.0}
    amended = store.amend_read(
        dataclasses.replace(original.revised(), units=changed), reason="missed M2"
    )
    assert (amended.version, amended.amend_reason) == (2, "missed M2")
    assert amended.id != original.id
    assert store.reads() == [amended]
    assert store.reads(all_versions=True) == [original, amended]
    assert store.read("r1", 1, "c1") == amended
    assert store.read("r1", 1, "c2") is None
    amend = store.events(kind="amend")[0]
    assert amend.payload["supersedes"] == original.id
    assert amend.payload["reason"] == "missed M2"
    assert store.verify_audit().ok
    with pytest.raises(ReadNotFoundError, match="nothing submitted to amend"):
        store.amend_read(make_submission("r1", 1, "c2", 2), reason="x")
    with pytest.raises(ValueError, match="needs a reason"):
        store.amend_read(original.revised(), reason=" ")
    with pytest.raises(StoreError, match="cannot change the modality"):
        store.amend_read(dataclasses.replace(original.revised(), modality="aided"), reason="x")


def test_stored_reads_are_immutable_objects(store):
    stored = store.submit_read(make_submission("r1", 1, "c1", 1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        stored.active_s = 1.0  # type: ignore[misc]
    assert not hasattr(store, "update_read")
    assert not hasattr(store, "delete_read")


def test_progress_aggregates_latest_versions_per_reader_and_session(store):
    subs = [
        make_submission(r, s, f"c{i}", i) for r in ("r1", "r2") for s in (1, 2) for i in range(1, 4)
    ]
    for sub in subs:
        store.submit_read(sub)
    store.amend_read(dataclasses.replace(subs[0], active_s=1.0), reason="clock fix")
    rows = store.progress()
    assert [(row["reader"], row["session"], row["n_submitted"]) for row in rows] == [
        ("r1", 1, 3),
        ("r1", 2, 3),
        ("r2", 1, 3),
        ("r2", 2, 3),
    ]
    assert rows[0]["n_amended"] == 1
    assert rows[0]["active_s"] == pytest.approx(1.0 + subs[1].active_s + subs[2].active_s)
    assert rows[3]["wall_s"] == pytest.approx(sum(s.wall_s for s in subs[9:]))
    assert rows[1]["first_submitted_at"] == min(s.submitted_at for s in subs[3:6])
    assert rows[1]["last_submitted_at"] == max(s.submitted_at for s in subs[3:6])
    assert store.submitted_cases("r2", 2) == {"c1", "c2", "c3"}


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"units": {}}, ValueError, "units is empty"),
        ({"units": {"M1_left": {"call": 2}}}, ValueError, "call must be 0 or 1"),
        ({"units": {"M1_left": {"call": None, "rating": None}}}, ValueError, "neither call"),
        ({"units": {"M1_left": {"call": 1, "rating": float("inf")}}}, ValueError, "finite"),
        ({"session": 0}, ValueError, "session must be >= 1"),
        ({"order": "3"}, TypeError, "order must be an int"),
        ({"active_s": -1.0}, ValueError, "active_s must be >= 0"),
        ({"started_at": datetime(2026, 1, 1)}, ValueError, "timezone-aware"),
        ({"submitted_at": T0 - timedelta(days=1)}, ValueError, "is before started_at"),
        ({"intervals": ({"kind": "coffee", "start": T0, "end": T0},)}, ValueError, "coffee"),
        (
            {"intervals": ({"kind": "idle", "start": "yesterday", "end": None},)},
            ValueError,
            "not an ISO 8601",
        ),
        ({"flags": "restarted"}, TypeError, "tuple of strings"),
        ({"extra": {"when": {1, 2}}}, TypeError, "extra cannot be stored"),
    ],
)
def test_invalid_submissions_are_refused_with_the_field_named(change, error, match):
    base = make_submission("r1", 1, "c1", 1)
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(ReadSubmission)}
    with pytest.raises(error, match=match):
        ReadSubmission(**(fields | change))


def test_targets_resolve_to_the_study_folder_file(study_dir, tmp_path):
    with open_store(study_dir) as store:
        store.put_meta("x", 1)
    assert (study_dir / "results.sqlite").is_file()
    with open_store(study_dir / "results.sqlite") as store:
        assert store.get_meta("x") == 1
        assert store.backend == "sqlite"
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nowhere" / "results.sqlite")
    with pytest.raises(StoreError, match="not a study folder"):
        open_store(tmp_path / "notes.txt")
    with pytest.raises(StoreError, match="only sqlite and postgresql"):
        open_store("mysql://u@h/db")
    with pytest.raises(StoreError, match="study id"):
        open_store(study_dir, study_id="")
    closed = open_store(study_dir)
    closed.close()
    with pytest.raises(StoreError, match="closed"):
        closed.reads()


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    bogus = tmp_path / "results.sqlite"
    bogus.write_text("not a database, just notes\n" * 100)
    with pytest.raises(StoreError, match=r"cannot open the results store .*results\.sqlite"):
        open_store(bogus)


def test_a_batch_submission_is_all_or_nothing(store):
    batch = [make_submission("r1", 1, f"c{i}", i) for i in range(1, 6)]
    store.start_read("r1", 1, "c3", at=T0)
    stored = store.submit_many(batch)
    assert [r.case for r in store.reads()] == [f"c{i}" for i in range(1, 6)]
    assert store.reads() == stored
    assert [e.payload["read_id"] for e in store.events(kind="submit")] == [r.id for r in stored]
    assert store.in_progress() == []
    late = [make_submission("r1", 1, "c6", 6), make_submission("r1", 1, "c2", 2)]
    with pytest.raises(DuplicateReadError, match="already submitted case c2"):
        store.submit_many(late)
    twice = [make_submission("r2", 1, "c1", 1), make_submission("r2", 1, "c1", 1, seed=1)]
    with pytest.raises(DuplicateReadError, match="appears twice"):
        store.submit_many(twice)
    assert len(store.reads()) == 5
    assert len(store.events()) == 5
    assert store.verify_audit().ok


def test_a_free_text_study_name_is_a_valid_study_id(location):
    with location.open("Demo study (2026, site B)") as store:
        store.submit_read(make_submission("r1", 1, "c1", 1))
    with location.open("Demo study (2026, site B)") as store:
        assert len(store.reads()) == 1
        assert store.verify_audit().ok


def test_an_online_backup_holds_every_committed_read(study_dir, tmp_path):
    with open_store(study_dir) as store:
        store.submit_many(make_submission("r1", 1, f"c{i}", i) for i in range(1, 31))
        store.append_event("lock", payload={"by": "coordinator"})
        assert (study_dir / "results.sqlite-wal").stat().st_size > 0  # not yet checkpointed
        copy = store.backup(tmp_path / "backup.sqlite")
        with pytest.raises(StoreError, match="exists already"):
            store.backup(copy)
        expected = store.reads()
    with open_store(copy) as restored:
        assert restored.reads() == expected
        assert restored.verify_audit().ok
        assert restored.events()[-1].kind == "lock"
