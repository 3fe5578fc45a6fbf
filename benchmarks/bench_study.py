"""Reading-protocol costs against bare store/SQL baselines in the same process.

- ``submit``: ``ReaderSession.submit`` (answer validation, clock, the buffered interaction
  record of 200 slice steps and 10 window/level changes, one store transaction) against a
  bare insert (no checks, digest or audit event; one transaction, same durability) of the
  very rows that submit stored, interleaved read by read; target ratio of p50s <= 1.5. Also
  submit plus ``advance`` (opening the next case: one more transaction) against the same
  baseline. SQLite, and PostgreSQL when it answers on 127.0.0.1:5432.
- ``status``: ``Study.status()`` on 50 readers x 1000 cases (session 1 read, session 2 half
  read; 75,000 reads) against a plain SQL ``GROUP BY`` count of the same reads table.
"""

from __future__ import annotations

import csv
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, make_url

from analysis.units import UNITS
from benchmarks.bench_store import POSTGRES_URL, bare_insert, postgres_answers
from benchmarks.harness import compare, report
from readerstudy.store import schema as tables
from readerstudy.store.engine import make_engine, resolve_target
from readerstudy.study.clock import SimulatedTime
from readerstudy.study.definition import StudyDefinition, write_definition
from readerstudy.study.protocol import Study

if TYPE_CHECKING:
    from readerstudy.store import ReadSubmission
    from readerstudy.study.design import ScheduledRead

PIN = "bench-1234"
SUBMIT_RATIO = 1.5
"""Target: ReaderSession.submit p50 at most this many times a bare insert of its rows."""


def _write(path: Path, columns, rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def build_folder(path: Path, *, n_readers: int, n_cases: int) -> None:
    """A study folder as ``study init`` leaves it (placeholder images, all-negative AI)."""
    path.mkdir(parents=True)
    write_definition(
        path,
        StudyDefinition(
            name="bench",
            readers=[{"id": f"r{i:02d}"} for i in range(n_readers)],
            rating={"confidence": "1-5"},
        ),
    )
    codes = [f"C{i:04d}" for i in range(n_cases)]
    for code in codes:
        (path / "cases" / code).mkdir(parents=True)
    _write(
        path / "manifest.csv",
        ("case", "format", "content_hash", "source"),
        [(c, "nifti", "-", c) for c in codes],
    )
    _write(
        path / "truth.csv",
        ("case", "unit", "truth"),
        [
            (c, u, int(i % 7 == 0 and u.endswith("left")))
            for i, c in enumerate(codes)
            for u in UNITS
        ],
    )
    _write(path / "cases.csv", ("case", "side"), [(c, "left") for c in codes])
    (path / "ai").mkdir()
    _write(
        path / "ai" / "ai_regions.csv",
        ("case", "unit", "probability", "call"),
        [(c, u, 0.1, 0) for c in codes for u in UNITS],
    )


def _answers(view) -> dict:
    return {u: {"call": 0, "rating": 1} for u in view.units}


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms"


def bench_submit(root: Path, label: str, db: str | None, schema: str | None, n: int = 150) -> None:
    """``ReaderSession.submit`` and ``advance`` against a bare insert of the same rows."""
    folder = root / f"submit-{label}"
    build_folder(folder, n_readers=1, n_cases=n + 2)
    clock = SimulatedTime()
    study = Study.open(folder, db=db, db_schema=schema, time=clock, create=True)
    study.lock()
    study.set_pin("r00", PIN)
    session = study.login("r00", PIN)
    if db is None:
        url, _ = resolve_target(root / f"bare-{label}.sqlite")
        bare = make_engine(url)
    else:
        bare = make_engine(make_url(db), schema=schema)
    tables.metadata.create_all(bare)
    case_of = {r.code: r.case for r in study.schedule.for_reader("r00", 1)}
    commits = [0]
    event.listen(study.store._engine, "commit", lambda conn: commits.__setitem__(0, commits[0] + 1))
    per_call = {"submit": set(), "advance": set()}
    submit_times: list[float] = []
    advance_times: list[float] = []
    record_times: list[float] = []
    bare_times: list[float] = []
    for _ in range(n):
        start = time.perf_counter()
        for step in range(200):
            clock.advance(0.1)
            session.record_slice(step % 40)
            if step % 20 == 0:
                session.record_window_level(40.0 + step / 20, 80.0)
        record_times.append((time.perf_counter() - start) / 210)
        code = session.current.code
        answers = _answers(session.current)
        before = commits[0]
        start = time.perf_counter()
        session.submit(answers)
        middle = time.perf_counter()
        submitted = commits[0]
        session.advance()
        advance_times.append(time.perf_counter() - middle)
        submit_times.append(middle - start)
        per_call["submit"].add(submitted - before)
        per_call["advance"].add(commits[0] - submitted)
        # The rows that submit stored (its interaction record included), inserted bare.
        stored = study.store.read("r00", 1, case_of[code])
        start = time.perf_counter()
        bare_insert(bare, stored)
        bare_times.append(time.perf_counter() - start)
    report(
        f"session_submit_vs_bare_insert[{label}] (per read, {n} interleaved)",
        submit_times,
        bare_times,
        target=SUBMIT_RATIO,
    )
    cycle = [a + b for a, b in zip(submit_times, advance_times, strict=True)]
    report(f"session_submit_and_advance_vs_bare_insert[{label}]", cycle, bare_times)
    submits, advances = (sorted(per_call[k]) for k in ("submit", "advance"))
    print(f"  ReaderSession.submit:  {_percentiles(submit_times)} ({n}; commits each: {submits})")
    print(f"  ReaderSession.advance: {_percentiles(advance_times)} (commits each: {advances})")
    print(f"  bare insert:           {_percentiles(bare_times)} (1 commit)")
    print(f"  one slice step or window/level change: {_percentiles(record_times)}")
    study.close()
    bare.dispose()


def submission(
    read: ScheduledRead,
    now: datetime,
    *,
    active_s: float,
    wall_s: float,
    flags: tuple[str, ...] = (),
) -> ReadSubmission:
    """The stored form of a scheduled read with one unit (all ``status`` looks at)."""
    from readerstudy.store import ReadSubmission

    return ReadSubmission(
        reader=read.reader,
        session=read.session,
        modality=read.modality,
        case=read.case,
        order=read.order,
        units={"C_left": {"call": 0, "rating": 1.0}},
        active_s=active_s,
        wall_s=wall_s,
        started_at=now,
        submitted_at=now + timedelta(seconds=wall_s),
        flags=flags,
    )


def populated_study(folder: Path, *, n_readers: int, n_cases: int) -> Study:
    """A locked study of ``n_readers`` x ``n_cases`` with session 1 read and session 2 half
    read; opened, on a simulated clock."""
    build_folder(folder, n_readers=n_readers, n_cases=n_cases)
    clock = SimulatedTime()
    study = Study.open(folder, time=clock, create=True)
    t0 = time.perf_counter()
    schedule = study.lock()
    now = clock.now()
    subs = [
        submission(r, now, active_s=60.0, wall_s=70.0)
        for r in schedule.reads
        if r.session == 1 or r.order <= n_cases // 2
    ]
    for start in range(0, len(subs), 5000):
        study.store.submit_many(subs[start : start + 5000])
    print(f"  populated {len(subs)} reads in {time.perf_counter() - t0:.1f} s")
    return study


def bench_status(root: Path, n_readers: int = 50, n_cases: int = 1000) -> None:
    from sqlalchemy import func, select

    from readerstudy.store import schema as tables

    study = populated_study(root / "status", n_readers=n_readers, n_cases=n_cases)
    engine = study.store._engine
    r = tables.reads.c

    def plain_count() -> None:
        with engine.connect() as conn:
            conn.execute(
                select(r.reader, r.session, func.count()).group_by(r.reader, r.session)
            ).all()

    result = compare(
        f"study_status_{n_readers}x{n_cases}_vs_sql_count", study.status, plain_count, repeats=5
    )
    print(f"  study status: {result.candidate_s:.3f} s absolute")
    study.close()


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench_submit(Path(tmp), "sqlite", None, None)
        if postgres_answers():
            schema = f"rs_bench_{uuid.uuid4().hex[:8]}"
            try:
                bench_submit(Path(tmp), "postgresql", POSTGRES_URL, schema)
            finally:
                admin = create_engine(POSTGRES_URL)
                with admin.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                admin.dispose()
        else:
            print("PostgreSQL does not answer on 127.0.0.1:5432: PostgreSQL part skipped")
        bench_status(Path(tmp))


if __name__ == "__main__":
    run()
