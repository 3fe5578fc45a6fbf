"""Whole-study scans on the driver's own cursor: the rows behind ``Store.reads()`` and the
hashes ``Store.verify_audit()`` recomputes.

SQLAlchemy builds the SQL; the rows come straight from the DBAPI cursor as tuples (on
PostgreSQL a server-side cursor, so a study of any size streams), which skips the per-row
result processing that cost more than the database itself.

For the audit, each read's and event's canonical text is written from the stored columns
(the forms of :mod:`readerstudy.store.chain`) without decoding them into Python objects:
times go from their stored text to JSON text (PostgreSQL's server writes it), the flags,
extra and payload columns already hold canonical JSON, and a read's units are written with
C-level maps over its columns.
This fast text only ever *confirms* a hash: a read or event whose fast text does not match
is recomputed the exact way (decoded as ``reads()``/``events()`` return it) before anything
is reported, so the result is that of the exact recomputation.
"""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Select, String, func, literal, literal_column
from sqlalchemy import select as sql_select
from sqlalchemy.sql.elements import ColumnElement

from readerstudy.store import schema as t
from readerstudy.store.canonical import canonical_json, json_fragment
from readerstudy.store.chain import (
    EVENT_FORM,
    INTERVAL_FORM,
    META_EVENT,
    READ_EVENT_KINDS,
    READ_FORM,
    UNIT_FORM,
    EventCheck,
    ReadCheck,
    text_digest,
)

BATCH = 10_000
"""Rows fetched per round trip of a scan."""

_PG_ISO = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'  # = datetime.isoformat(timespec="microseconds")
_cursor_names = itertools.count()


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a whole-study load: the rows, dicts and reads it
    builds hold no cycles, yet the collections their allocation triggers walk them again
    and again (a sizeable share of a million-row load)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def raw_rows(conn: Connection, query: Select, *, batch: int = BATCH) -> Iterator[tuple]:
    """The rows of ``query`` as plain tuples, as the driver returns them (SQLite times are
    text), streamed in batches inside ``conn``'s transaction."""
    compiled = query.compile(dialect=conn.dialect)
    params: Any = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        # A cursor is planned for its first rows by default (cursor_tuple_fraction 0.1),
        # which can turn the latest-version anti-join quadratic; this one is read to the end.
        driver.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        # Binary rows: numbers and times cross without text parsing (same Python types).
        cursor = driver.cursor(name=f"readerstudy_scan_{next(_cursor_names)}", binary=True)
    else:
        cursor = driver.cursor()
    # Chained in C: no Python frame per row.
    return itertools.chain.from_iterable(_batches(cursor, compiled.string, params, batch))


def _batches(cursor: Any, sql: str, params: Any, batch: int) -> Iterator[list[tuple]]:
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


def _time_column(conn: Connection, column: ColumnElement) -> ColumnElement:
    """``column`` selected for :func:`_time_fragments`: on PostgreSQL already as its JSON
    text (the server writes it), on SQLite as the stored text."""
    if conn.dialect.name == "postgresql":
        iso = func.to_char(func.timezone("UTC", column), _PG_ISO, type_=String)
        return func.coalesce(literal('"') + iso + literal('"'), literal("null"))
    return column


def _sqlite_time_fragment(stored: Any) -> str:
    """A SQLite time as canonical JSON text. The store keeps UTC times as text
    ``YYYY-MM-DD HH:MM:SS.ffffff``; anything else there (another form, a number) becomes
    ``?``, which matches no digest, so its read or event is recomputed the exact way."""
    if stored is None:
        return "null"
    if stored.__class__ is str and len(stored) == 26:
        return f'"{stored[:10]}T{stored[11:]}+00:00"'
    return "?"


def _time_fragments(conn: Connection) -> Callable[[Any], str]:
    """Fetched :func:`_time_column` value -> the time's canonical JSON text (``"2026-03-02T
    08:00:00.000000+00:00"`` with the quotes, ``null`` for NULL)."""
    if conn.dialect.name == "postgresql":
        return str
    return _sqlite_time_fragment


def _child_order(conn: Connection, table: t.Table) -> list[ColumnElement]:
    """The order a child table streams in: grouped by read, as cheaply as the database can.

    SQLite returns rows in insertion order without sorting (a read's rows are written
    together, after its read); PostgreSQL sorts by read. Rows out of that order are caught by
    :class:`_ChildStream` and their reads rechecked."""
    if conn.dialect.name == "sqlite":
        return [literal_column("rowid")]
    return [table.c.read_id]


class _ChildStream:
    """Rows of a child table whose first column is the read id, handed out read by read
    while the reads stream past in id order."""

    def __init__(self, rows: Iterator[tuple]) -> None:
        self._groups = itertools.groupby(rows, itemgetter(0))
        self._next = next(self._groups, None)
        self.late: set[int] = set()
        """Read ids whose rows came after a later read's: those reads were incomplete."""

    def take(self, read_id: int) -> list[tuple]:
        taken: list[tuple] = []
        while self._next is not None and self._next[0] <= read_id:
            key, group = self._next
            if key == read_id:
                taken.extend(group)
            else:
                self.late.add(key)
            self._next = next(self._groups, None)
        return taken

    def finish(self) -> None:
        """Read the rest: any rows left belong to reads already passed (late) or to none."""
        while self._next is not None:
            self.late.add(self._next[0])
            self._next = next(self._groups, None)


class _UnitsText:
    """The canonical text of a read's units (``{unit: {call, rating}}``) from its rows
    ``(read_id, unit, call, rating)``, with C-level maps over the read's columns.

    Each unit's text is memoised per (unit, call, rating) where equal keys are equal JSON:
    calls that are int or None, ratings that are float or None, and no zero rating (``-0.0
    == 0.0`` but they are different JSON; ``1 == 1.0 == True`` is why the types are checked).
    A read with other types goes through :func:`canonical_json` whole."""

    _CALLS = frozenset({int, type(None)})
    _RATINGS = frozenset({float, type(None)})
    MEMO_SIZE = 100_000
    """Most unit texts remembered (a 1-5 or 0-100 scale needs a few thousand)."""

    def __init__(self) -> None:
        self._before, self._between, self._after = UNIT_FORM.literals
        self._memo: dict[tuple, str] = {}

    def _text(self, key: tuple) -> str:
        unit, call, rating = key
        text = (
            f"{json_fragment(unit)}:{self._before}{json_fragment(call)}{self._between}"
            f"{json_fragment(rating)}{self._after}"
        )
        if rating != 0 and len(self._memo) < self.MEMO_SIZE:
            self._memo[key] = text
        return text

    def __call__(self, rows: list[tuple]) -> str:
        if not rows:
            return "{}"
        rows.sort(key=itemgetter(1))  # canonical order: by unit
        _, units, calls, ratings = zip(*rows, strict=True)
        if not (set(map(type, calls)) <= self._CALLS and set(map(type, ratings)) <= self._RATINGS):
            return canonical_json({unit: {"call": c, "rating": v} for _, unit, c, v in rows})
        keys = list(zip(units, calls, ratings, strict=True))
        texts = list(map(self._memo.get, keys))
        if None in texts:
            texts = [text or self._text(key) for text, key in zip(texts, keys, strict=True)]
        return "{" + ",".join(texts) + "}"


def _intervals_text(rows: list[tuple], time: Callable[[Any], str]) -> str:
    """The canonical text of a read's clock intervals from its rows ``(read_id, idx, kind,
    start, end)``; ``time`` writes a fetched time as JSON text."""
    if not rows:
        return "[]"
    rows.sort(key=itemgetter(1))  # stored order
    _, _, kinds, starts, ends = zip(*rows, strict=True)
    columns = {
        "kind": map(json_fragment, kinds),
        "start": map(time, starts),
        "end": map(time, ends),
    }
    fields = zip(*(columns[name] for name in INTERVAL_FORM.fields), strict=True)
    return "[" + ",".join(map(INTERVAL_FORM.positional.__mod__, fields)) + "]"


def event_checks(
    conn: Connection, study_id: str, *, exact: Callable[[int], str]
) -> Iterator[EventCheck]:
    """The study's events in sequence order, each with its hash recomputed from its stored
    columns; ``exact(seq)`` recomputes one event's hash from its decoded row."""
    e = t.audit_events.c
    query = (
        sql_select(
            e.seq,
            e.kind,
            e.reader,
            e.session,
            e.case,
            e.payload,
            _time_column(conn, e.at),
            e.prev_hash,
            e.hash,
        )
        .where(e.study_id == study_id)
        .order_by(e.seq)
    )
    study = json_fragment(study_id)
    fill, fragment, time = EVENT_FORM.fill, json_fragment, _time_fragments(conn)
    parsed_kinds = READ_EVENT_KINDS | {META_EVENT}
    for seq, kind, reader, session, case_, payload, at, prev_hash, stored in raw_rows(conn, query):
        try:
            body = fill(
                {
                    "study": study,
                    "seq": fragment(seq),
                    "kind": fragment(kind),
                    "reader": fragment(reader),
                    "session": fragment(session),
                    "case": fragment(case_),
                    "payload": payload,
                    "at": time(at),
                }
            )
            recomputed = text_digest(prev_hash + body)
        except (TypeError, ValueError):
            recomputed = ""
        if recomputed != stored:
            recomputed = exact(seq)
        yield EventCheck(
            seq, kind, prev_hash, stored, recomputed, _payload(payload, kind in parsed_kinds)
        )


def _payload(text: Any, wanted: bool) -> dict:
    """The parsed payload of the event kinds the chain check reads, else ``{}``."""
    if not wanted:
        return {}
    try:
        payload = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def read_checks(conn: Connection, study_id: str) -> Iterator[ReadCheck]:
    """Every stored read version of the study in id order with its digest recomputed from
    its stored rows; reads whose child rows came out of order are named again at the end
    with no digest (for the caller to recompute exactly)."""
    r, u, i = t.reads.c, t.read_units.c, t.read_intervals.c
    reads = (
        sql_select(
            r.id,
            r.version,
            r.reader,
            r.session,
            r.case,
            r.modality,
            r.ord,
            r.active_s,
            r.wall_s,
            _time_column(conn, r.started_at),
            _time_column(conn, r.submitted_at),
            r.flags,
            r.extra,
        )
        .where(r.study_id == study_id)
        .order_by(r.id)
    )
    units = _ChildStream(
        raw_rows(
            conn,
            sql_select(u.read_id, u.unit, u.call, u.rating)
            .where(u.study_id == study_id)
            .order_by(*_child_order(conn, t.read_units)),
        )
    )
    intervals = _ChildStream(
        raw_rows(
            conn,
            sql_select(
                i.read_id,
                i.idx,
                i.kind,
                _time_column(conn, i.start),
                _time_column(conn, i.end),
            )
            .where(i.study_id == study_id)
            .order_by(*_child_order(conn, t.read_intervals), i.idx),
        )
    )
    study = json_fragment(study_id)
    fill, fragment, units_text = READ_FORM.fill, json_fragment, _UnitsText()
    time = _time_fragments(conn)
    passed: dict[int, ReadCheck] = {}
    for row in raw_rows(conn, reads):
        read_id, version, reader, session, case_, modality, order, active, wall = row[:9]
        started, submitted, flags, extra = row[9:]
        try:
            body = fill(
                {
                    "study": study,
                    "id": fragment(read_id),
                    "version": fragment(version),
                    "reader": fragment(reader),
                    "session": fragment(session),
                    "modality": fragment(modality),
                    "case": fragment(case_),
                    "order": fragment(order),
                    "units": units_text(units.take(read_id)),
                    "active_s": fragment(active),
                    "wall_s": fragment(wall),
                    "started_at": time(started),
                    "submitted_at": time(submitted),
                    "intervals": _intervals_text(intervals.take(read_id), time),
                    "flags": flags,
                    "extra": extra,
                }
            )
            digest: str | None = text_digest(body)
        except (TypeError, ValueError):
            digest = None
        check = ReadCheck(read_id, version, reader, session, case_, digest)
        passed[read_id] = check
        yield check
    units.finish()
    intervals.finish()
    for read_id in sorted((units.late | intervals.late) & passed.keys()):
        yield passed[read_id]._replace(digest=None)
