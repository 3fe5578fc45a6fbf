"""ReaderSession: order, answers, washout, login, blinding, crash recovery, events."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from readerstudy.errors import ReaderStudyError
from readerstudy.study.clock import Spell
from readerstudy.study.protocol import LoginError, Study, StudyLockedError
from readerstudy.study.session import (
    CRASH_FLAG,
    LOGOUT_FLAG,
    BlindingError,
    CaseView,
    Phase,
    ReaderSession,
    SessionError,
)
from readerstudy.study.washout import WashoutError

from .conftest import PIN, all_negative


def _read_all(session: ReaderSession, sim_time, seconds: float = 30.0) -> list[str]:
    codes = []
    while session.current is not None:
        codes.append(session.current.code)
        sim_time.advance(seconds)
        session.input()
        session.submit(all_negative(session.current))
        session.advance()
    return codes


def test_reads_follow_the_schedule_with_neutral_codes(make_study, sim_time):
    study = make_study()
    session = study.login("r1", PIN)
    plan = study.schedule.for_reader("r1", 1)
    assert session.session == 1
    assert session.progress.total == len(plan)
    codes = _read_all(session, sim_time)
    assert codes == [f"S1-{i:03d}" for i in range(1, len(plan) + 1)]
    assert session.phase is Phase.FINISHED
    stored = study.store.reads(reader="r1", session=1)
    assert [(r.order, r.case) for r in sorted(stored, key=lambda r: r.order)] == [
        (p.order, p.case) for p in plan
    ]
    assert all(r.extra["code"] == f"S1-{r.order:03d}" for r in stored)
    assert {r.active_s for r in stored} == {30.0}


def test_answers_must_cover_the_form(make_study):
    session = make_study().login("r1", PIN)
    view = session.current
    answers = all_negative(view)
    with pytest.raises(SessionError, match="missing M6_right"):
        session.submit({u: a for u, a in answers.items() if u != "M6_right"})
    with pytest.raises(SessionError, match="unknown bogus"):
        session.submit({**answers, "bogus": {"call": 1, "rating": 2}})
    with pytest.raises(SessionError, match="call must be 0 or 1"):
        session.submit({**answers, "C_left": {"call": 2, "rating": 3}})
    with pytest.raises(SessionError, match="confidence must be a number in 1-5"):
        session.submit({**answers, "C_left": {"call": 1, "rating": 7}})
    assert session.current == view  # nothing was submitted


def test_washout_refuses_with_the_opening_date_then_opens(make_study, sim_time):
    study = make_study()
    _read_all(study.login("r1", PIN), sim_time)
    done_at = sim_time.now()
    with pytest.raises(WashoutError) as info:
        study.login("r1", PIN)
    opens = done_at + timedelta(days=14)
    assert info.value.opens_at == opens
    assert f"opens on {opens:%Y-%m-%d %H:%M} UTC" in str(info.value)
    sim_time.advance(14 * 86400 - 1)
    with pytest.raises(WashoutError):
        study.login("r1", PIN)
    sim_time.advance(1)
    assert study.login("r1", PIN).session == 2


def test_override_opens_early_and_is_audited(make_study, sim_time):
    study = make_study()
    _read_all(study.login("r2", PIN), sim_time)
    study.unlock("r2", 2, "reader leaves the department next week")
    session = study.login("r2", PIN)
    assert session.session == 2
    (event,) = study.store.events(kind="override")
    assert (event.reader, event.session) == ("r2", 2)
    assert event.payload["reason"] == "reader leaves the department next week"
    assert study.store.verify_audit().ok


def test_session_2_cannot_start_before_session_1_is_complete(make_study, sim_time):
    study = make_study()
    session = study.login("r1", PIN)
    session.submit(all_negative(session.current))
    session.close()
    sim_time.advance(30 * 86400)
    again = study.login("r1", PIN)
    assert again.session == 1
    assert again.progress.done == 1


def test_wrong_pins_slow_down_and_are_audited(make_study, sim_time):
    study = make_study()
    start = sim_time.now()
    for _ in range(4):
        with pytest.raises(LoginError, match="wrong PIN"):
            study.login("r1", "0000")
    # delays before the 2nd, 3rd and 4th attempt: 0.5 + 1 + 2 s
    assert (sim_time.now() - start).total_seconds() == pytest.approx(3.5)
    failures = study.store.events(reader="r1", kind="login_failed")
    assert [e.payload["delay_s"] for e in failures] == [0, 0.5, 1.0, 2.0]
    before = sim_time.now()
    study.login("r1", PIN)  # the 5th attempt waits 4 s, then succeeds
    assert (sim_time.now() - before).total_seconds() == pytest.approx(4.0)
    after = sim_time.now()
    study.login("r1", PIN)  # a success resets the count
    assert sim_time.now() == after


def test_pins_are_stored_as_salted_scrypt_hashes(make_study):
    study = make_study()
    pins = study.store.get_meta("pins")
    assert pins["r1"].startswith("scrypt$")
    assert PIN not in pins["r1"]
    assert pins["r1"] != pins["r2"]  # same PIN, different salts
    with pytest.raises(LoginError, match=r"not in study|no PIN"):
        study.login("r9", PIN)


# -- blinding -------------------------------------------------------------------------


def _public(obj) -> dict:
    return {n: getattr(obj, n) for n in dir(obj) if not n.startswith("_")}


def test_unaided_reads_expose_no_ai_output(make_study):
    study = make_study()
    session = study.login("r1", PIN)
    view = session.current
    assert view.aided is False
    assert view.ai_regions == ()
    assert view.has_ai_mask is False
    with pytest.raises(BlindingError, match="unaided read"):
        session.set_overlay(True)
    with pytest.raises(BlindingError, match="unaided read"):
        session.set_overlay_opacity(0.5)
    # nothing AI-related is loaded, or even named, anywhere in an unaided session
    assert all(slot.ai == () for slot in session._slots)
    assert all(s.files.ai_mask is None and s.files.atlas is None for s in session._slots)


def test_aided_reads_show_the_ai_of_this_case_only(make_study, sim_time):
    study = make_study()
    _read_all(study.login("r1", PIN), sim_time)
    sim_time.advance(15 * 86400)
    session = study.login("r1", PIN)
    view = session.current
    assert view.aided is True
    assert len(view.ai_regions) == 20
    assert session.overlay_visible is True
    case = study.schedule.for_reader("r1", 2)[0].case
    rows = [r for r in _ai_rows(study) if r["case"] == case]
    assert [(a.unit, a.probability) for a in view.ai_regions] == [
        (r["unit"], float(r["probability"])) for r in rows
    ]
    sim_time.advance(12)
    session.set_overlay(False)
    sim_time.advance(8)
    session.submit(all_negative(view))
    (read,) = study.store.reads(reader="r1", session=2)
    assert read.extra["overlay_exposure_s"] == 12.0
    assert read.extra["overlay_toggles"] == 1
    assert read.extra["events"] == [[12.0, "overlay", False]]


def _ai_rows(study: Study):
    import csv

    with (study.ai_dir / "ai_regions.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_the_session_exposes_no_truth_case_ids_or_other_answers(make_study, sim_time):
    study = make_study()
    _read_all(study.login("r2", PIN), sim_time)
    first = study.login("r1", PIN)
    _read_all(first, sim_time, seconds=5)
    sim_time.advance(15 * 86400)
    session = study.login("r1", PIN)
    case_codes = set(study.case_codes())
    public = _public(session)
    # no public attribute reaches the store, the study, the truth or the schedule
    for name, value in public.items():
        assert not name.startswith(("store", "truth", "schedule", "study")), name
        assert value is not study.store
    view = session.current
    values = [str(v) for v in dataclasses.asdict(view).values()]
    assert not any(code in v for code in case_codes for v in values)
    assert set(vars(CaseView)["__dataclass_fields__"]) == {
        "code",
        "session",
        "order",
        "total",
        "modality",
        "aided",
        "units",
        "binary_call",
        "confidence",
        "ai_regions",
        "has_ai_mask",
        "clock_restarted",
    }
    # no method returns answers (own or others'), truth or case ids
    methods = {n for n, v in public.items() if callable(v)}
    assert methods <= {
        "input",
        "record_window_level",
        "record_slice",
        "set_overlay",
        "set_overlay_opacity",
        "tick",
        "pause",
        "resume",
        "focus_lost",
        "focus_gained",
        "submit",
        "advance",
        "amend",
        "close",
        "display_volume",
    } | {
        n
        for n in methods
        if n.endswith("_changed") or n in ("clock_ticked", "submitted", "amended")
    }
    # the session-2 code of a case does not reveal its session-1 code: codes number the
    # reading order, and the two sessions' orders are independent permutations
    first = {r.case: r.code for r in study.schedule.for_reader("r1", 1)}
    second = {r.case: r.code for r in study.schedule.for_reader("r1", 2)}
    assert view.code == "S2-001"
    assert set(first.values()).isdisjoint(second.values())
    same_number = [c for c in first if first[c][3:] == second[c][3:]]
    assert len(same_number) < len(first) / 2


# -- clock, events, crash -------------------------------------------------------------


def test_idle_focus_and_pause_reach_the_stored_intervals(make_study, sim_time):
    study = make_study()
    session = study.login("r1", PIN)
    phases = []
    session.phase_changed.connect(phases.append)
    sim_time.advance(10)
    session.record_window_level(40, 80)
    sim_time.advance(70)
    session.tick()  # idle since 10 s
    sim_time.advance(5)
    session.record_slice(12)
    session.record_slice(14)
    sim_time.advance(5)
    session.focus_lost()
    sim_time.advance(20)
    session.focus_gained()
    session.pause()
    sim_time.advance(100)
    session.resume()
    sim_time.advance(10)
    session.submit(all_negative(session.current))
    assert phases[:5] == [Phase.IDLE, Phase.READING, Phase.FOCUS_LOST, Phase.READING, Phase.PAUSED]
    (read,) = study.store.reads(reader="r1")
    assert read.active_s == 10 + 5 + 10
    assert read.wall_s == 220
    kinds = [i["kind"] for i in read.intervals]
    assert kinds == ["active", "idle", "active", "focus_lost", "paused", "active"]
    assert read.extra["slice_moves"] == 2
    assert read.extra["window_level_changes"] == 1
    events = [e.kind for e in study.store.events(reader="r1", session=1)]
    for kind in ("session_start", "case_open", "idle", "focus_lost", "pause", "resume", "submit"):
        assert kind in events, kind
    # window/level and slice steps are buffered into the read, not audited one by one
    assert not {"window_level", "slice_moves"} & set(events)
    assert Spell.ACTIVE.value == kinds[0]


def test_submit_while_paused_is_refused_and_signals_fire_once(make_study, sim_time):
    session = make_study().login("r1", PIN)
    cases, progress = [], []
    session.case_changed.connect(cases.append)
    session.progress_changed.connect(progress.append)
    session.pause()
    with pytest.raises(SessionError, match="paused"):
        session.submit(all_negative(session.current))
    with pytest.raises(SessionError, match="already paused"):
        session.pause()
    session.resume()
    session.submit(all_negative(session.current))
    assert cases == []  # the next case opens only on advance()
    assert [p.done for p in progress] == [1]
    assert session.phase is Phase.SUBMITTED
    session.advance()
    assert len(cases) == 1
    assert cases[0].order == 2


def test_resume_after_a_crash_keeps_order_and_flags_the_reopened_read(make_study, sim_time):
    study = make_study()
    session = study.login("r1", PIN)
    for _ in range(2):
        sim_time.advance(20)
        session.submit(all_negative(session.current))
        session.advance()
    interrupted = session.current
    sim_time.advance(50)
    session.input()
    del session  # the workstation dies: no close(), the read stays in progress
    # a fresh process opens the study again
    sim_time.advance(600)
    reopened = Study.open(study.path, time=sim_time)
    again = reopened.login("r1", PIN)
    assert again.current.code == interrupted.code
    assert again.current.clock_restarted is True
    assert again.progress.done == 2
    assert [r.order for r in reopened.store.reads(reader="r1")] == [1, 2]
    (recovery,) = reopened.store.events(kind="crash_recovery")
    assert recovery.payload["order"] == 3
    sim_time.advance(40)
    again.submit(all_negative(again.current))
    third = next(r for r in reopened.store.reads(reader="r1") if r.order == 3)
    assert third.flags == (CRASH_FLAG,)
    assert third.active_s == 40
    assert again.advance().clock_restarted is False
    assert reopened.store.verify_audit().ok
    reopened.close()


def test_logout_mid_read_reopens_flagged_without_crash_recovery(make_study, sim_time):
    study = make_study()
    session = study.login("r1", PIN)
    session.close()
    assert session.phase is Phase.CLOSED
    with pytest.raises(SessionError, match="closed"):
        session.input()
    again = study.login("r1", PIN)
    assert again.current.clock_restarted
    again.submit(all_negative(again.current))
    (read,) = study.store.reads(reader="r1")
    assert read.flags == (LOGOUT_FLAG,)
    assert not study.store.events(kind="crash_recovery")


# -- lock -----------------------------------------------------------------------------


def test_a_changed_definition_is_refused_after_reading_started(make_study):
    study = make_study()
    study.login("r1", PIN)
    toml = study.path / "study.toml"
    toml.write_text(toml.read_text().replace("washout_days = 14", "washout_days = 2"))
    with pytest.raises(StudyLockedError, match="changed after reading started"):
        Study.open(study.path)
    with pytest.raises(StudyLockedError, match="reading has started"):
        study.lock()


def test_before_reading_a_changed_definition_needs_a_new_lock(make_study):
    study = make_study()
    toml = study.path / "study.toml"
    toml.write_text(toml.read_text().replace("seed = 3", "seed = 4"))
    with pytest.raises(StudyLockedError, match=r"lock .* again"):
        Study.open(study.path)
    relocked = Study.open(study.path, check_definition=False)
    assert relocked.lock().seed == 4
    Study.open(study.path).close()
    relocked.close()


def test_login_needs_a_lock(make_study):
    study = make_study(lock=False)
    with pytest.raises(ReaderStudyError, match="not locked"):
        study.login("r1", PIN)


def test_amendments_only_where_allowed_and_as_new_versions(make_study, sim_time):
    strict = make_study()
    session = strict.login("r1", PIN)
    code = session.current.code
    answers = all_negative(session.current)
    session.submit(answers)
    with pytest.raises(SessionError, match="does not allow amendments"):
        session.amend(code, answers, reason="typo")

    lenient = make_study(allow_amendments=True)
    session = lenient.login("r1", PIN)
    code = session.current.code
    session.submit(answers)
    with pytest.raises(SessionError, match="S1-002: no read submitted"):
        session.amend("S1-002", answers, reason="typo")
    changed = {**answers, "M5_left": {"call": 1, "rating": 4}}
    sim_time.advance(5)
    session.amend(code, changed, reason="clicked the wrong region")
    (latest,) = lenient.store.reads(reader="r1")
    assert latest.version == 2
    assert latest.units["M5_left"] == {"call": 1, "rating": 4.0}
    assert latest.amend_reason == "clicked the wrong region"
    assert len(lenient.store.reads(reader="r1", all_versions=True)) == 2
    assert lenient.store.verify_audit().ok
