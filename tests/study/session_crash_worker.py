"""A workstation that kills itself inside a ReaderSession call, for test_session_crash.

``python session_crash_worker.py FOLDER PIN PHASE STEP [DB SCHEMA]`` logs reader r1 in and
reads the case on screen. PHASE ``submit``: SIGKILL at the STEP-th point of ``submit()``, a
point being each SQL statement (killed just before it) and each commit (killed just before
it). PHASE ``advance``: submit normally, then kill the same way inside ``advance()`` (opening
the next case). With fewer points than STEP the call returns and the kill follows. It
prints ``case CODE`` (the case acted on, then ``next CODE`` for advance) and ``kill WHERE``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from sqlalchemy import event

from readerstudy.study.protocol import Study


def _die(where: str) -> None:
    print(f"kill {where}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(engine, step: int) -> None:
    """Kill the process at point ``step``: before a statement or a commit, counted together."""
    points = 0

    def point(what: str) -> None:
        nonlocal points
        points += 1
        if points == step:
            _die(f"before {what} (point {step})")

    event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, sql, *rest: point("statement " + " ".join(sql.split()[:3])),
    )
    event.listen(engine, "commit", lambda conn: point("commit"))


def main(folder: str, pin: str, phase: str, step: int, db: str | None, schema: str | None) -> None:
    study = Study.open(Path(folder), db=db, db_schema=schema)
    session = study.login("r1", pin)
    view = session.current
    print(f"case {view.code}", flush=True)
    answers = {unit: {"call": 1, "rating": 4} for unit in view.units}
    engine = study.store._engine
    if phase == "advance":
        session.submit(answers)
        _arm(engine, step)
        opened = session.advance()
        print(f"next {opened.code if opened else None}", flush=True)
    else:
        _arm(engine, step)
        session.submit(answers)
    _die("after the call returned")


if __name__ == "__main__":
    folder_, pin_, phase_, step_ = sys.argv[1:5]
    db_, schema_ = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, None)
    main(folder_, pin_, phase_, int(step_), db_, schema_)
