"""Realistic reads for store tests, and the worker processes of the crash and concurrency tests.

Run as a script it is the crash-test writer: ``python store_workload.py TARGET STUDY READER
[SCHEMA]`` submits reads in a loop and prints ``open CASE`` after each start is committed
and ``ack ID CASE`` after each submission is committed (flushed), until killed.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta

from analysis.units import UNITS
from readerstudy.store import ReadSubmission, open_store

T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def make_submission(
    reader: str,
    session: int,
    case: str,
    order: int,
    *,
    seed: int = 0,
    modality: str = "unaided",
    flags: tuple[str, ...] = (),
) -> ReadSubmission:
    """A 20-unit ASPECTS read with calls, 1-5 confidence ratings and an idle interval."""
    rng = random.Random(f"{reader}/{session}/{case}/{seed}")
    started = T0 + timedelta(days=14 * (session - 1), minutes=3 * order)
    active = round(rng.uniform(30, 150), 3)
    idle = round(rng.uniform(0, 20), 3)
    mid = started + timedelta(seconds=active / 2)
    units = {}
    for unit in UNITS:
        call = int(rng.random() < 0.2)
        units[unit] = {
            "call": call,
            "rating": float(rng.randint(3, 5) if call else rng.randint(1, 3)),
        }
    return ReadSubmission(
        reader=reader,
        session=session,
        modality=modality,
        case=case,
        order=order,
        units=units,
        active_s=active,
        wall_s=active + idle,
        started_at=started,
        submitted_at=started + timedelta(seconds=active + idle),
        intervals=(
            {"kind": "active", "start": started, "end": mid},
            {"kind": "idle", "start": mid, "end": mid + timedelta(seconds=idle)},
            {
                "kind": "active",
                "start": mid + timedelta(seconds=idle),
                "end": started + timedelta(seconds=active + idle),
            },
        ),
        flags=flags,
        extra={"aspects_left": 10 - sum(units[u]["call"] for u in UNITS[:10])},
    )


def write_reads(
    target: str, study_id: str, reader: str, n_reads: int, schema: str | None = None
) -> list[int]:
    """Open the store and submit ``n_reads`` reads of one reader, logging events around each."""
    ids = []
    with open_store(target, study_id=study_id, schema=schema) as store:
        store.append_event("login", reader=reader)
        for order in range(1, n_reads + 1):
            case = f"case{order:03d}"
            sub = make_submission(reader, 1, case, order)
            store.append_event("case_open", reader=reader, session=1, case=case)
            store.start_read(reader, 1, case, at=sub.started_at)
            ids.append(store.submit_read(sub).id)
    return ids


def crash_writer(target: str, study_id: str, reader: str, schema: str | None) -> None:
    """Submit reads until killed; resume an interrupted read flagged, as the study layer will."""
    with open_store(target, study_id=study_id, schema=schema) as store:
        done = store.submitted_cases(reader, 1)
        order = len(done)
        for open_read in store.in_progress(reader):
            store.append_event("crash_recovery", reader=reader, session=1, case=open_read["case"])
        resumed = {r["case"] for r in store.in_progress(reader)}
        print("ready", flush=True)
        while True:
            order += 1
            case = f"case{order:04d}"
            store.start_read(reader, 1, case, at=T0 + timedelta(minutes=order))
            print(f"open {case}", flush=True)
            flags = ("clock_restarted_after_crash",) if case in resumed else ()
            stored = store.submit_read(make_submission(reader, 1, case, order, flags=flags))
            print(f"ack {stored.id} {case}", flush=True)


if __name__ == "__main__":
    target_, study_, reader_ = sys.argv[1:4]
    crash_writer(target_, study_, reader_, sys.argv[4] if len(sys.argv) > 4 else None)
