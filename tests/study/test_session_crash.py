"""A workstation killed inside ``ReaderSession.submit`` or ``.advance`` leaves the whole step
or nothing: the read with all its units, intervals and submit event, or no trace of it; the
opened case with its case_open event, or neither. Killed before every statement and every
commit of each call, on SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from itertools import pairwise
from pathlib import Path

import pytest

from analysis.units import UNITS
from readerstudy.study.protocol import Study

from .conftest import PIN, write_study_folder

WORKER = Path(__file__).with_name("session_crash_worker.py")
MAX_POINTS = 30
"""More statements and commits than either call has."""


def _kill_at(folder: Path, backend, phase: str, step: int) -> dict[str, str]:
    """Run the worker to its self-inflicted SIGKILL; its ``case``/``next``/``kill`` lines."""
    db, schema = backend
    command = [sys.executable, str(WORKER), str(folder), PIN, phase, str(step)]
    if db is not None:
        command += [db, schema]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def _state(folder: Path, backend) -> dict:
    """What the store holds for reader r1 after a kill, checked for whole reads first."""
    db, schema = backend
    with Study.open(folder, db=db, db_schema=schema) as study:
        verification = study.store.verify_audit()
        assert verification.ok, verification.reason
        plan = study.schedule.for_reader("r1", 1)
        case_of = {r.code: r.case for r in plan}
        following = {a.code: b.code for a, b in pairwise(plan)}
        reads = {read.extra["code"]: read for read in study.store.reads(reader="r1")}
        for read in reads.values():
            assert sorted(read.units) == sorted(UNITS)
            assert all(u == {"call": 1, "rating": 4.0} for u in read.units.values())
            assert read.intervals
        return {
            "case_of": case_of,
            "following": following,
            "reads": reads,
            "open": {p["case"] for p in study.store.in_progress("r1")},
            "opened": [e.payload["code"] for e in study.store.events(kind="case_open")],
        }


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_kill_inside_submit_or_advance_leaves_all_of_it_or_nothing(tmp_path, backend):
    db, schema = backend
    folder = tmp_path / "study"
    write_study_folder(folder, n_cases=30, readers=("r1",), name=f"crash-{uuid.uuid4().hex[:12]}")
    with Study.open(folder, db=db, db_schema=schema, create=True) as study:
        study.lock()
        study.set_pin("r1", PIN)

    for phase in ("submit", "advance"):
        for step in range(1, MAX_POINTS):
            before = _state(folder, backend)
            lines = _kill_at(folder, backend, phase, step)
            after = _state(folder, backend)
            code, case = lines["case"], before["case_of"][lines["case"]]
            nxt = before["following"][code]
            if lines["kill"] == "after the call returned":
                # Past the last point: all of it is there.
                assert code in after["reads"]
                if phase == "advance":
                    assert lines["next"] == nxt
                    assert before["case_of"][nxt] in after["open"]
                    assert after["opened"][-1] == nxt
                break
            if phase == "submit":
                # Nothing of the read, and it is still open (it reopens, flagged, next time).
                assert after["reads"].keys() == before["reads"].keys(), lines["kill"]
                assert case in after["open"]
            else:
                # The read is whole; the next case was not opened: no open row, no event.
                assert after["reads"].keys() == before["reads"].keys() | {code}
                assert case not in after["open"]
                assert before["case_of"][nxt] not in after["open"], lines["kill"]
                assert nxt not in after["opened"], lines["kill"]
        else:
            pytest.fail(f"{phase} still running after {MAX_POINTS} kill points")

    with Study.open(folder, db=db, db_schema=schema) as study:
        flagged = [r for r in study.store.reads(reader="r1") if r.flags]
        assert flagged, "no read resumed after a kill inside submit"
        assert study.store.verify_audit().ok
