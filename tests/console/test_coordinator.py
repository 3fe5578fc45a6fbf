"""The coordinator façade without Qt: per-row checks that are ``study init``'s own, a balance
preview that is the lock's schedule, and an incremental monitor that equals a fresh one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from analysis.units import UNITS
from readerstudy.study.protocol import Study
from readerstudy.study.session import CRASH_FLAG
from readerstudy.workflows.coordinator import (
    CaseImportError,
    ConfidenceScale,
    Coordinator,
    Design,
    ReaderStudyError,
    StudySpec,
    balance_preview,
    check_ai_table,
    check_truth,
)
from readerstudy.workflows.importer import validate_truth
from tests.console.conftest import PIN
from tests.console.sources import CASES, truth_rows, write_table


def _spec(source, tmp_path, **options) -> StudySpec:
    defaults = {"folder": tmp_path / "study", "readers": ("r1", "r2", "r3", "r4")}
    return StudySpec(cases=source, truth=source / "truth.csv", **(defaults | options))


def test_each_row_problem_is_the_one_study_init_raises_for_that_row_alone(source):
    rows = truth_rows()
    rows[0] = ("anna", "C_left", "yes")
    rows[30] = ("bert", "M9_right", 0)
    rows[61] = rows[60]  # the same unit twice
    path = write_table(source / "bad.csv", ("case", "unit", "truth"), rows)
    check = check_truth(path)
    assert [p.line for p in check.problems] == [2, 32, 63]
    header = ("case", "unit", "truth")
    for problem in check.problems:
        # The same row as the only fault of an otherwise good table: init's own message.
        good = truth_rows()
        good[problem.line - 2] = rows[problem.line - 2]
        alone = write_table(source / "alone.csv", header, good)
        with pytest.raises(CaseImportError) as refused:
            validate_truth(
                [dict(zip(header, map(str, r), strict=True)) for r in good], UNITS, str(alone)
            )
        assert problem.message == str(refused.value).replace(str(alone), str(path))


def test_a_case_lacking_units_and_an_unreadable_table_are_table_problems(source, tmp_path):
    rows = [r for r in truth_rows() if not (r[0] == "dora" and r[1].startswith("M"))]
    check = check_truth(write_table(source / "short.csv", ("case", "unit", "truth"), rows))
    (problem,) = check.problems
    assert problem.line is None
    missing = "M1_left, M2_left, M3_left, M4_left, M5_left ..."
    assert problem.message.endswith(f"case dora lacks 12 of 20 units ({missing})")
    missing = check_truth(tmp_path / "nowhere.csv")
    assert [p.message for p in missing.problems] == [
        f"--truth {tmp_path / 'nowhere.csv'}: file not found"
    ]
    ai = write_table(
        source / "ai.csv",
        ("case", "unit", "probability", "call"),
        [(c, u, 1.5 if (c, u) == ("bert", "C_left") else 0.2, 0) for c, u, _ in truth_rows()],
    )
    (problem,) = check_ai_table(ai, CASES).problems
    assert (problem.line, problem.case) == (22, "bert")
    assert "probability must be in [0, 1], got 1.5" in problem.message


def test_the_balance_preview_is_the_schedule_the_lock_draws(source, tmp_path):
    spec = _spec(source, tmp_path, design=Design.CROSSOVER, seed=11, meta=source / "cases.csv")
    preview = balance_preview(spec, check_truth(spec.truth))
    spec.create()
    with Study.open(spec.folder, create=True) as study:
        balance = {b.case: b for b in study.case_balance()}
        from readerstudy.study.design import build_schedule

        schedule = build_schedule(study.definition, list(balance.values()))
    assert preview.groups == schedule.groups
    for half, members in zip(preview.halves, schedule.halves, strict=True):
        assert half.cases == len(members)
        assert half.positives == sum(balance[c].positives for c in members)
        assert half.sides == {
            s: sum(balance[c].side == s for c in members) for s in ("left", "none", "right")
        }
    counts = {(r, s): c for r, s, c in preview.reads}
    group = 0 if "r1" in preview.groups[0] else 1  # group 1 reads half A unaided in session 1
    first, second = ("A", "B") if group == 0 else ("B", "A")
    assert counts[("r1", 1)] == {("unaided", first): 2, ("aided", second): 2}
    assert counts[("r1", 2)] == {("aided", first): 2, ("unaided", second): 2}
    assert preview.aided_first == (2, 2)  # each case: aided first for one group of two


def test_spec_refusals_name_the_field(source, tmp_path):
    with pytest.raises(ReaderStudyError, match=r"^study init: --readers: reader id 'r 2'"):
        _spec(source, tmp_path, readers=("r1", "r 2")).check()
    with pytest.raises(ReaderStudyError, match="a crossover design needs at least two readers"):
        _spec(source, tmp_path, readers=("r1",), design=Design.CROSSOVER).definition()
    with pytest.raises(ReaderStudyError, match=r"^study init: --confidence: .*asks nothing"):
        _spec(source, tmp_path, binary_call=False).definition()
    spec = _spec(source, tmp_path, confidence=ConfidenceScale.PERCENT, names=("Ada",))
    spec.check()
    assert not spec.folder.exists()  # checking writes nothing
    assert [p.name for p in tmp_path.iterdir()] == ["source"]
    assert 'name = "Ada"' in spec.toml()
    assert (
        replace(spec, folder=source)
        .command_line()
        .startswith(f"readerstudy study init {source} --cases")
    )
    with pytest.raises(CaseImportError, match=r"already holds|exists and is not empty"):
        replace(spec, folder=source).check()


def test_an_incremental_refresh_equals_a_fresh_monitor(locked_study, sim_time):
    folder = locked_study(amendments=True)
    coordinator = Coordinator(folder, time=sim_time)
    monitor = coordinator.monitor()
    assert monitor.refresh().reads == 0
    with Study.open(folder, time=sim_time) as study:
        with pytest.raises(ReaderStudyError, match="wrong PIN"):
            study.login("r2", "0000")
        session = study.login("r1", PIN)
        for _ in range(2):
            sim_time.advance(30)
            session.submit({u: {"call": 0, "rating": 2} for u in session.current.units})
            session.advance()
        # The workstation dies with a case open; the reader logs in again.
        sim_time.advance(10)
        session = study.login("r1", PIN)
        codes = []
        while session.current is not None:
            sim_time.advance(45)
            codes.append(session.current.code)
            session.submit({u: {"call": 1, "rating": 4} for u in session.current.units})
            session.advance()
        session.amend(codes[-1], {u: {"call": 0, "rating": 2} for u in UNITS}, reason="typo")
        session.close()
    coordinator.unlock("r1", 2, "leaves on Friday")
    snapshot = monitor.refresh()
    fresh = coordinator.monitor()
    try:
        again = fresh.refresh()
    finally:
        fresh.close()
        monitor.close()
    assert snapshot.reads == again.reads == 4
    assert snapshot.sessions == again.sessions
    assert snapshot.times == again.times
    assert snapshot.flags == again.flags
    assert snapshot.times[("r1", "unaided")] == (30.0, 30.0, 45.0, 45.0)
    kinds = sorted(f.kind for f in snapshot.flags)
    assert kinds == ["amendment", "crash restart", "failed logins", "override"]
    amended = next(f for f in snapshot.flags if f.kind == "amendment")
    assert amended.detail == "version 2: typo"
    crash = next(f for f in snapshot.flags if f.kind == "crash restart")
    assert (crash.reader, crash.session) == ("r1", 1)
    assert crash.detail.startswith("the workstation stopped mid-read")
    with Study.open(folder, read_only=True) as study:
        (flagged,) = [r for r in study.store.reads() if r.flags]
    assert (flagged.case, flagged.flags) == (crash.case, (CRASH_FLAG,))
    r1_2 = next(s for s in snapshot.sessions if (s.reader, s.session) == ("r1", 2))
    assert r1_2.overridden
    assert r1_2.state.value == "open"
