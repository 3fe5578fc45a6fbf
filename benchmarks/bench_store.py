"""Results store: submit latency against a bare insert, and a study of 50 x 1000 reads.

1. ``submit_read`` (one transaction: the read row with its answers and clock intervals,
   digest, hash-chained ``submit`` event, chain head) against a bare SQLAlchemy insert of the
   same rows into the same tables with the same durability settings (SQLite WAL with
   ``synchronous=FULL``; PostgreSQL when it answers on 127.0.0.1:5432), one transaction per
   read in both. Prints per-read p50/p95 and the ratio of medians.
2. A study of 50 readers x 1000 cases (50,000 reads, 1,000,000 unit rows), on SQLite and on
   PostgreSQL: ``progress()`` (one SQL aggregate, what ``study status`` needs) against
   summarising ``reads()`` in Python; ``reads()`` of the whole study against
   ``pandas.read_sql`` of the same rows, the million unit rows included (target ratio <= 2,
   <= 1.5 s), and for scale of the stored rows alone; ``verify_audit()``
   against a bare loop hashing the same canonical bytes with hashlib (target ratio <= 3,
   <= 2 s), and, for scale, against a bare cursor fetching its rows.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from analysis.units import UNITS
from benchmarks.harness import compare, verdict
from readerstudy.store import ReadSubmission, Store, open_store
from readerstudy.store import schema as tables
from readerstudy.store.canonical import canonical_json
from readerstudy.store.engine import WRITE, make_engine, resolve_target

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
READS_RATIO, READS_S = 2.0, 1.5
"""Targets for reads() of the whole study: ratio to pandas.read_sql, and seconds."""
VERIFY_RATIO, VERIFY_S = 3.0, 2.0
"""Targets for verify_audit() of the whole study: ratio to bare hashing, and seconds."""
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _submission(rng: random.Random, reader: str, session: int, order: int) -> ReadSubmission:
    started = T0 + timedelta(days=14 * (session - 1), seconds=90 * order)
    active = rng.uniform(30, 150)
    idle = rng.uniform(0, 20)
    mid = started + timedelta(seconds=active / 2)
    end = started + timedelta(seconds=active + idle)
    units = {}
    for unit in UNITS:
        call = int(rng.random() < 0.2)
        units[unit] = {"call": call, "rating": float(rng.randint(1, 5))}
    return ReadSubmission(
        reader=reader,
        session=session,
        modality="unaided" if session == 1 else "aided",
        case=f"case{order:04d}",
        order=order,
        units=units,
        active_s=active,
        wall_s=active + idle,
        started_at=started,
        submitted_at=end,
        intervals=(
            {"kind": "active", "start": started, "end": mid},
            {"kind": "idle", "start": mid, "end": mid + timedelta(seconds=idle)},
            {"kind": "active", "start": mid + timedelta(seconds=idle), "end": end},
        ),
        extra={"ai_exposure_s": 0.0},
    )


def bare_insert(engine: sa.Engine, sub: ReadSubmission) -> None:
    """The same rows as a submission, inserted with no checks, digest or audit event."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            conn.execute(
                tables.reads.insert().values(
                    study_id="bare",
                    reader=sub.reader,
                    session=sub.session,
                    case=sub.case,
                    version=1,
                    modality=sub.modality,
                    ord=sub.order,
                    active_s=sub.active_s,
                    wall_s=sub.wall_s,
                    started_at=sub.started_at,
                    submitted_at=sub.submitted_at,
                    flags=json.dumps(list(sub.flags)),
                    extra=json.dumps(sub.extra),
                    units=json.dumps(sub.units),
                    intervals=json.dumps(sub.intervals, default=datetime.isoformat),
                )
            )


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def _percentiles(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples) * 1e3:.2f} ms, p95 {_p95(samples) * 1e3:.2f} ms"


def _submit_latency(label: str, store: Store, bare: sa.Engine, per_run: int = 20) -> None:
    rng = random.Random(1)
    counter = iter(range(1, 10**6))
    store_times: list[float] = []
    bare_times: list[float] = []

    def timed(fn: Callable[[ReadSubmission], object], sink: list[float]) -> Callable[[], None]:
        def batch() -> None:
            for _ in range(per_run):
                sub = _submission(rng, "r1", 1, next(counter))
                start = time.perf_counter()
                fn(sub)
                sink.append(time.perf_counter() - start)

        return batch

    compare(
        f"submit_read_vs_bare_insert[{label}] ({per_run} reads per run)",
        timed(store.submit_read, store_times),
        timed(lambda sub: bare_insert(bare, sub), bare_times),
        repeats=7,
    )
    print(f"  submit_read per read: {_percentiles(store_times)} (n={len(store_times)})")
    print(f"  bare insert per read: {_percentiles(bare_times)} (n={len(bare_times)})")
    print(
        f"  p50 ratio {statistics.median(store_times) / statistics.median(bare_times):.2f}, "
        f"p95 ratio {_p95(store_times) / _p95(bare_times):.2f}",
        flush=True,
    )


def _status_in_python(store: Store) -> list[dict]:
    """What a status command would do without progress(): load every read and sum."""
    groups: dict[tuple[str, int], dict] = {}
    for read in store.reads():
        row = groups.setdefault(
            (read.reader, read.session),
            {"n_submitted": 0, "active_s": 0.0, "first": read.submitted_at, "last": None},
        )
        row["n_submitted"] += 1
        row["active_s"] += read.active_s
        row["first"] = min(row["first"], read.submitted_at)
        row["last"] = (
            read.submitted_at if row["last"] is None else max(row["last"], read.submitted_at)
        )
    return list(groups.values())


def _large_study(label: str, store: Store, n_readers: int = 50, n_cases: int = 1000) -> None:
    rng = random.Random(2)
    start = time.perf_counter()
    for r in range(1, n_readers + 1):
        store.submit_many(_submission(rng, f"r{r:02d}", 1, i) for i in range(1, n_cases + 1))
    print(
        f"[{label}] populated {n_readers} readers x {n_cases} cases with submit_many (one "
        f"transaction per reader): {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    rows = store.progress()
    if len(rows) != n_readers or any(row["n_submitted"] != n_cases for row in rows):
        raise RuntimeError(f"progress() disagrees with what was written: {rows[:2]}")
    size = f"{n_readers}x{n_cases}"
    compare(
        f"progress_vs_summarising_reads[{label},{size}]",
        store.progress,
        lambda: _status_in_python(store),
        repeats=3,
    )
    start = time.perf_counter()
    store.reads(reader="r07")
    print(f"  reads() of one reader: {time.perf_counter() - start:.2f} s", flush=True)
    _whole_study(label, size, store)
    _verification(label, size, store)


def _read_sql(store: Store, names: tuple[str, ...]) -> Callable[[], None]:
    """pandas.read_sql of the study's rows in these tables or views."""

    def run() -> None:
        with store._engine.connect() as conn:
            for name in names:
                query = sa.text(f"SELECT * FROM {name} WHERE study_id = :study")
                pd.read_sql(query, conn, params={"study": store.study_id})

    return run


def _whole_study(label: str, size: str, store: Store) -> None:
    """``reads()`` of the whole study against pandas.read_sql of the same rows: the reads,
    their million unit rows and their intervals (the views over the reads' JSON columns);
    and, for scale, against read_sql of the stored rows alone (JSON left undecoded)."""
    result = compare(
        f"reads_vs_pandas_read_sql[{label},{size}]",
        store.reads,
        _read_sql(store, ("reads", *tables.VIEWS)),
        repeats=3,
        target=READS_RATIO,
    )
    compare(
        f"reads_vs_pandas_read_sql_of_the_stored_rows[{label},{size}] (context: JSON undecoded)",
        store.reads,
        _read_sql(store, ("reads",)),
        repeats=3,
    )
    print(
        f"  reads() of the whole study: {result.candidate_s:.2f} s "
        f"(target <= {READS_S} s: {verdict(result.candidate_s, READS_S)})",
        flush=True,
    )


def _canonical_bytes(store: Store) -> list[bytes]:
    """What verify_audit hashes, written by the chain's reference functions from the
    decoded events and reads: each event's prev_hash + canonical JSON, each read's body."""
    blobs = []
    for e in store.events():
        body = {
            "study": store.study_id,
            "seq": e.seq,
            "kind": e.kind,
            "reader": e.reader,
            "session": e.session,
            "case": e.case,
            "payload": e.payload,
            "at": e.at,
        }
        blobs.append((e.prev_hash + canonical_json(body)).encode())
    for read in store.reads(all_versions=True):
        body = {
            "study": store.study_id,
            "id": read.id,
            "version": read.version,
            "content": read.content(),
        }
        blobs.append(canonical_json(body).encode())
    return blobs


def _bare_fetch(store: Store) -> None:
    """Every row verify_audit reads, fetched with a plain DBAPI cursor and dropped."""
    marker = "?" if store.backend == "sqlite" else "%s"
    connection = store._engine.raw_connection()
    try:
        cursor = connection.cursor()
        for table in ("audit_events", "reads"):
            cursor.execute(f"SELECT * FROM {table} WHERE study_id = {marker}", (store.study_id,))
            while cursor.fetchmany(10_000):
                pass
        cursor.close()
        connection.rollback()
    finally:
        connection.close()


def _verification(label: str, size: str, store: Store) -> None:
    """``verify_audit()`` against a bare loop hashing the same canonical bytes, and (for
    scale) against only fetching its rows."""
    blobs = _canonical_bytes(store)
    megabytes = sum(map(len, blobs)) / 1e6
    hashes = [hashlib.sha256(blob).hexdigest() for blob in blobs]
    stored = [e.hash for e in store.events()]
    if hashes[: len(stored)] != stored:
        raise RuntimeError("the reference canonical bytes do not hash to the stored hashes")

    def bare_hashing() -> None:
        for blob in blobs:
            hashlib.sha256(blob).hexdigest()

    outcome: list = []
    result = compare(
        f"verify_audit_vs_bare_hashing[{label},{size}] ({len(blobs)} texts, {megabytes:.0f} MB)",
        lambda: outcome.append(store.verify_audit()),
        bare_hashing,
        repeats=3,
        target=VERIFY_RATIO,
    )
    if not all(v.ok for v in outcome):
        raise RuntimeError(f"audit does not verify: {outcome[-1].reason}")
    print(
        f"  verify_audit() of the whole study: {result.candidate_s:.2f} s "
        f"(target <= {VERIFY_S} s: {verdict(result.candidate_s, VERIFY_S)})",
        flush=True,
    )
    compare(
        f"verify_audit_vs_bare_cursor_fetch[{label},{size}] (context: the rows alone)",
        store.verify_audit,
        lambda: _bare_fetch(store),
        repeats=3,
    )


def postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1.0):
            return True
    except OSError:
        return False


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare_url, _ = resolve_target(folder / "bare.sqlite")
        bare = make_engine(bare_url)
        tables.metadata.create_all(bare)
        with open_store(folder / "results.sqlite") as store:
            _submit_latency("sqlite", store, bare)
        bare.dispose()
        with open_store(folder / "large.sqlite") as store:
            _large_study("sqlite", store)
    if not postgres_answers():
        print("PostgreSQL does not answer on 127.0.0.1:5432: PostgreSQL part skipped")
        return
    schema = f"rs_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with open_store(POSTGRES_URL, study_id="bench", schema=schema) as store:
            bare = make_engine(sa.make_url(POSTGRES_URL), schema=schema)
            _submit_latency("postgresql", store, bare)
            bare.dispose()
        with open_store(POSTGRES_URL, study_id="large", schema=schema) as store:
            _large_study("postgresql", store)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
