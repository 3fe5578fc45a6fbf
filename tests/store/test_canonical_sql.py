"""The canonical text the database writes for a read or event is byte for byte the one
``canonical_json`` writes from the decoded rows, for the values where SQL formatting is most
likely to differ from Python's (floats, Unicode, key order, microseconds, time zones)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_workload import make_submission
from test_audit import _attack

from readerstudy.store import ReadSubmission
from readerstudy.store.canonical import canonical_json
from readerstudy.store.canonical_sql import event_texts, read_texts
from readerstudy.store.chain import META_EVENT, READ_EVENT_KINDS, stored_read_digest
from readerstudy.store.scan import _texts_scan

TRICKY_FLOATS = [
    0.1,
    0.1 + 0.2,
    1e-7,
    1.5e-5,
    1e-4,
    1e15,
    1234567890123456.8,
    9999999999999998.0,
    1e16,
    1e22,
    5e-324,
    1.7976931348623157e308,
    0.0,
    4.0,
    123456789.123,
]
_floats = st.sampled_from(TRICKY_FLOATS) | st.floats(allow_nan=False, allow_infinity=False)
_unicode = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
).filter(str.strip)
_zone = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60)
)
_instant = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=_zone
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | _floats | _unicode,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_unicode, inner, max_size=3),
    max_leaves=8,
)


def fast_texts(store) -> tuple[dict[int, bytes | None], dict[int, bytes | None]]:
    """The database's text of every read (by id) and event (by seq) of the store's study."""
    with store._read() as conn:
        dialect = conn.dialect.name
        reads = {row[0]: row[-1] for row in _texts_scan(conn, read_texts(dialect), "study-a")}
        kinds = READ_EVENT_KINDS | {META_EVENT}
        events = {
            row[0]: row[-1] for row in _texts_scan(conn, event_texts(dialect, kinds), "study-a")
        }
    return reads, events


def exact_read_text(store, read) -> bytes:
    body = {"study": store.study_id, "id": read.id, "version": read.version}
    return canonical_json({**body, "content": read.content()}).encode()


def exact_event_text(store, event) -> bytes:
    fields = ("seq", "kind", "reader", "session", "case", "payload", "at")
    body = {"study": store.study_id, **{name: getattr(event, name) for name in fields}}
    return (event.prev_hash + canonical_json(body)).encode()


def _differs_on_postgresql(read) -> bool:
    """A float PostgreSQL may write with other shortest digits than repr (>= 2**53)."""
    ratings = [a["rating"] for a in read.units.values() if a["rating"] is not None]
    return any(abs(x) >= 1e16 for x in (read.active_s, read.wall_s, *ratings))


def test_the_database_writes_the_exact_text(store, location):
    cases = (f"case-{i}" for i in itertools.count())

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        ratings=st.lists(_floats | st.none(), min_size=3, max_size=3),
        unit=_unicode,
        reader=_unicode,
        started=_instant,
        active=st.sampled_from(TRICKY_FLOATS) | st.floats(0, 1e6),
        micros=st.integers(0, 10**9),
        extra=st.dictionaries(_unicode, _json, max_size=4),
        payload=st.dictionaries(_unicode, _json, max_size=4),
    )
    def check(ratings, unit, reader, started, active, micros, extra, payload):
        template = make_submission("r1", 1, "c", 1)
        units = dict(itertools.islice(template.units.items(), 2))
        units[f"u-{unit}"] = {"call": 1, "rating": ratings[0]}
        for name, rating in zip(units, ratings[1:], strict=False):
            units[name] = {"call": 0, "rating": rating if rating is not None else 1.0}
        stopped = started + timedelta(microseconds=micros)
        sub = ReadSubmission(
            **{
                **template.__dict__,
                "reader": reader,
                "case": next(cases),
                "units": units,
                "active_s": active,
                "wall_s": active,
                "started_at": started,
                "submitted_at": stopped,
                "intervals": ({"kind": "paused", "start": started, "end": stopped},),
                "extra": extra,
            }
        )
        stored = store.submit_read(sub)
        (submitted,) = [e for e in store.events(kind="submit") if e.payload["read_id"] == stored.id]
        # Digested at submit from the stored JSON texts, recomputed here from the values.
        assert submitted.payload["digest"] == stored_read_digest(store.study_id, stored)
        event = store.append_event("note", reader=reader, case=sub.case, payload=payload)
        reads, events = fast_texts(store)
        if not (location.backend == "postgresql" and _differs_on_postgresql(stored)):
            assert reads[stored.id] == exact_read_text(store, stored)
        (stored_event,) = [e for e in store.events() if e.seq == event.seq]
        assert events[event.seq] == exact_event_text(store, stored_event)

    check()
    assert store.verify_audit().ok


UNIT = next(iter(make_submission("r1", 1, "c", 1).units))
MARK = 0.123456789


def _rating_row(location, read, literal: str) -> None:
    """Rewrite one rating in a read's stored answers as the JSON number ``literal``."""
    units = canonical_json(read.units | {UNIT: {"call": 0, "rating": MARK}})
    units = units.replace(repr(MARK), literal)
    _attack(
        location,
        f"UPDATE reads SET units = '{units}' WHERE id = {read.id}",
        unguard=("reads",),
    )


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("1e15", 1e15), ("1234567890123456.8", 1234567890123456.8), ("0.1", 0.1), ("-0.0", -0.0)],
)
def test_a_changed_float_in_other_notation_is_reported(store, location, literal, expected):
    # A stored JSON text goes into the fast text as it is: what it encodes differs from the
    # digest's, so its hash mismatches and the exact path (which decodes it) decides.
    first = store.submit_read(make_submission("r1", 1, "c1", 1))
    _rating_row(location, first, literal)
    (changed,) = store.reads()
    stored = changed.units[UNIT]["rating"]
    assert (stored, math.copysign(1, stored)) == (expected, math.copysign(1, expected))
    reads, _ = fast_texts(store)
    assert literal.encode() in reads[first.id]
    result = store.verify_audit()
    assert not result.ok
    assert "do not match the digest" in result.reason


def test_nan_written_behind_the_store_is_reported_not_raised(store, location):
    first = store.submit_read(make_submission("r1", 1, "c1", 1))
    _rating_row(location, first, "NaN")
    reads, _ = fast_texts(store)
    assert b"NaN" in reads[first.id]  # never a text canonical_json writes, so never a match
    result = store.verify_audit()
    assert [seq for seq, _ in result.problems] == [1]


def test_keys_written_in_another_order_are_equal_json(store, location, exact_rechecks):
    first = store.submit_read(
        dataclasses.replace(
            make_submission("r1", 1, "c1", 1), extra={"b": 1, "a": {"d": 2.5, "c": None}}
        )
    )
    reordered = json.dumps({"b": 1, "a": {"c": None, "d": 2.5}}, separators=(",", ":"))
    _attack(
        location,
        f"UPDATE reads SET extra = '{reordered}' WHERE id = {first.id}",
        unguard=("reads",),
    )
    assert store.verify_audit().ok
    assert exact_rechecks == [("_exact_digest", first.id)]


def test_a_time_zone_or_microsecond_change_is_caught(store, location):
    first = store.submit_read(make_submission("r1", 1, "c1", 1))
    shifted = first.started_at + timedelta(microseconds=1)
    value = (
        f"'{shifted.replace(tzinfo=None).isoformat(sep=' ')}'"
        if location.backend == "sqlite"
        else f"'{shifted.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()}'"
    )
    _attack(location, f"UPDATE reads SET started_at = {value}", unguard=("reads",))
    result = store.verify_audit()
    assert not result.ok
    assert "do not match the digest" in result.reason
    assert first.started_at.tzinfo is UTC


def test_two_json_columns_garbled_into_the_same_text_are_reported(store, location):
    # A JSON column goes into the fast text as stored, so an extra that contains the text
    # after it (',"flags":') could be cut there and the cut-off part moved into flags: the
    # same text, the same hash, yet neither column is JSON. Such a read is recomputed the
    # exact way, which cannot decode it.
    sub = dataclasses.replace(make_submission("r1", 1, "c1", 1), extra={"a": 1, "flags": 2})
    first = store.submit_read(sub)
    assert canonical_json({"extra": first.extra, "flags": []}) == (
        '{"extra":{"a":1,"flags":2},"flags":[]}'
    )
    _attack(
        location,
        f"""UPDATE reads SET extra = '{{"a":1', flags = '2}},"flags":[]' WHERE id = {first.id}""",
        unguard=("reads",),
    )
    result = store.verify_audit()
    assert [seq for seq, _ in result.problems] == [1]
    assert "do not match the digest" in result.reason
