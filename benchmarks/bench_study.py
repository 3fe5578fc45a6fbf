"""Reading-protocol costs against bare store/SQL baselines in the same process.

- ``submit``: one read's ``ReaderSession.submit`` (answer validation, clock, the buffered
  interaction record of 200 slice steps and 10 window/level changes, store transaction) plus
  ``advance`` (opening the next case) against ``Store.submit_read`` of the same row; p50/p95
  of each, and the ratio of medians. The interactions themselves are recorded in memory.
- ``status``: ``Study.status()`` on 50 readers x 1000 cases (session 1 read, session 2 half
  read; 75,000 reads) against a plain SQL ``GROUP BY`` count of the same reads table.
"""

from __future__ import annotations

import csv
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.units import UNITS
from benchmarks.harness import compare
from readerstudy.study.clock import SimulatedTime
from readerstudy.study.definition import StudyDefinition, write_definition
from readerstudy.study.protocol import Study

if TYPE_CHECKING:
    from readerstudy.store import ReadSubmission
    from readerstudy.study.design import ScheduledRead

PIN = "bench-1234"


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


def bench_submit(root: Path, n: int = 60) -> None:
    from readerstudy.store import ReadSubmission

    folder = root / "submit"
    build_folder(folder, n_readers=2, n_cases=n + 2)
    clock = SimulatedTime()
    study = Study.open(folder, time=clock, create=True)
    study.lock()
    study.set_pin("r00", PIN)
    session = study.login("r00", PIN)
    baseline_plan = iter(study.schedule.for_reader("r01", 1))
    session_times: list[float] = []
    advance_times: list[float] = []
    record_times: list[float] = []
    store_times: list[float] = []

    def through_session() -> None:
        start = time.perf_counter()
        for step in range(200):
            clock.advance(0.1)
            session.record_slice(step % 40)
            if step % 20 == 0:
                session.record_window_level(40.0 + step / 20, 80.0)
        record_times.append((time.perf_counter() - start) / 210)
        answers = _answers(session.current)
        start = time.perf_counter()
        session.submit(answers)
        middle = time.perf_counter()
        session.advance()
        advance_times.append(time.perf_counter() - middle)
        session_times.append(middle - start)

    def bare_store() -> None:
        read = next(baseline_plan)
        clock.advance(30)
        now = clock.now()
        sub = ReadSubmission(
            reader="r01",
            session=1,
            modality=read.modality,
            case=read.case,
            order=read.order,
            units={u: {"call": 0, "rating": 1.0} for u in UNITS},
            active_s=30.0,
            wall_s=30.0,
            started_at=now - timedelta(seconds=30),
            submitted_at=now,
            intervals=({"kind": "active", "start": now - timedelta(seconds=30), "end": now},),
            extra={"code": read.code},
        )
        start = time.perf_counter()
        study.store.submit_read(sub)
        store_times.append(time.perf_counter() - start)

    compare("submit_via_session_vs_bare_store_insert", through_session, bare_store, repeats=n)
    print(f"  ReaderSession.submit: {_percentiles(session_times)} ({len(session_times)} submits)")
    print(f"  ReaderSession.advance: {_percentiles(advance_times)}")
    print(f"  one slice step or window/level change: {_percentiles(record_times)}")
    print(f"  Store.submit_read:    {_percentiles(store_times)} ({len(store_times)} submits)")
    study.close()


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
        bench_submit(Path(tmp))
        bench_status(Path(tmp))


if __name__ == "__main__":
    run()
