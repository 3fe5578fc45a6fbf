"""The reading flow a GUI drives: explicit advance, tolerant input, events, buffered telemetry."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from readerstudy.study.session import BlindingError, Phase, SessionError
from readerstudy.study.telemetry import MAX_EVENTS

from .conftest import PIN, all_negative


def _aided_session(study, sim_time):
    session = study.login("r1", PIN)
    while session.current is not None:
        session.submit(all_negative(session.current))
        session.advance()
    sim_time.advance(15 * 86400)
    return study.login("r1", PIN)


def _stored(study, session, order):
    return next(r for r in study.store.reads(reader="r1", session=session) if r.order == order)


def test_the_next_clock_starts_on_advance_not_on_submit(make_study, sim_time):
    study = make_study()
    session = study.login("r1", PIN)
    sim_time.advance(30)
    first = session.current
    assert session.submit(all_negative(first)) is None
    assert session.phase is Phase.SUBMITTED
    assert session.current == first  # still on screen until advance()
    assert session.active_s == 0.0
    with pytest.raises(SessionError, match="submitted; advance"):
        session.submit(all_negative(first))
    sim_time.advance(45)  # a confirmation screen: billed to no case
    second = session.advance()
    assert second.order == 2
    with pytest.raises(SessionError, match="submit the case on screen first"):
        session.advance()
    sim_time.advance(10)
    session.submit(all_negative(second))
    read = _stored(study, 1, 2)
    assert (read.active_s, read.wall_s) == (10, 10)
    assert (read.started_at - _stored(study, 1, 1).submitted_at).total_seconds() == 45


def test_a_crash_between_submit_and_advance_loses_nothing_and_flags_nothing(make_study, sim_time):
    study = make_study()
    session = study.login("r1", PIN)
    session.submit(all_negative(session.current))
    del session  # dies on the confirmation screen
    again = study.login("r1", PIN)
    assert again.current.order == 2
    assert again.current.clock_restarted is False
    assert not study.store.events(kind="crash_recovery")


def test_gui_input_never_raises_in_normal_use(make_study, sim_time):
    study = make_study(n_cases=2)
    session = study.login("r1", PIN)
    session.pause()
    sim_time.advance(50)
    session.input()  # ignored: only resume() ends a pause
    session.record_slice(3)
    session.record_window_level(40, 80)
    assert session.phase is Phase.PAUSED
    session.resume()
    sim_time.advance(5)
    session.focus_lost()
    sim_time.advance(20)
    session.input()  # input means the window has focus again
    assert session.phase is Phase.READING
    sim_time.advance(5)
    session.submit(all_negative(session.current))
    for call in (
        session.input,
        session.tick,
        session.pause,
        session.resume,
        session.focus_lost,
        session.focus_gained,
        lambda: session.record_slice(1),
        lambda: session.record_window_level(30, 60),
    ):
        call()  # on the confirmation screen: all no-ops
    assert session.phase is Phase.SUBMITTED
    session.advance()
    session.submit(all_negative(session.current))
    assert session.advance() is None
    assert session.phase is Phase.FINISHED
    session.tick()
    session.input()
    session.focus_lost()
    assert session.advance() is None
    first = _stored(study, 1, 1)
    assert first.active_s == 10
    assert [i["kind"] for i in first.intervals] == ["paused", "active", "focus_lost", "active"]
    assert first.extra["slice_moves"] == 0  # the paused steps were not counted
    assert first.extra["window_level_changes"] == 0
    session.close()
    session.tick()  # a timer firing after logout does nothing
    with pytest.raises(SessionError, match="closed"):
        session.input()


def test_events_are_complete_and_typed(make_study, sim_time):
    study = make_study(allow_amendments=True, n_cases=2)
    session = _aided_session(study, sim_time)
    seen: list[tuple] = []
    for name in ("case_changed", "phase_changed", "progress_changed", "overlay_changed"):
        getattr(session, name).connect(lambda value, name=name: seen.append((name, value)))
    session.submitted.connect(lambda view: seen.append(("submitted", view.code)))
    session.amended.connect(lambda code: seen.append(("amended", code)))
    first = session.current
    session.submit(all_negative(first))
    session.amend(first.code, all_negative(first), reason="second look")
    second = session.advance()
    session.close()
    assert [(n, getattr(v, "code", v)) for n, v in seen] == [
        ("phase_changed", Phase.SUBMITTED),
        ("submitted", first.code),
        ("progress_changed", session.progress),
        ("amended", first.code),
        ("phase_changed", Phase.READING),
        ("case_changed", second.code),
        ("overlay_changed", True),  # an aided case opens with the overlay on
        ("phase_changed", Phase.CLOSED),
        ("case_changed", None),
    ]
    signals = type(session)
    typed = {
        n: str(getattr(signals, n).signature) for n in ("case_changed", "submitted", "amended")
    }
    assert typed == {
        "case_changed": "(p0: readerstudy.study.session.CaseView | None, /)",
        "submitted": "(p0: readerstudy.study.session.CaseView, /)",
        "amended": "(p0: str, /)",
    }
    assert str(signals.phase_changed.signature) == "(p0: readerstudy.study.session.Phase, /)"


def test_overlay_exposure_stops_during_a_pause(make_study, sim_time):
    """The reported bug: 10 s aided, a 100 s pause, 10 s stored exposure 120 s."""
    study = make_study()
    session = _aided_session(study, sim_time)
    assert session.overlay_visible
    sim_time.advance(10)
    session.pause()
    sim_time.advance(100)
    session.resume()
    sim_time.advance(10)
    session.submit(all_negative(session.current))
    read = _stored(study, 2, 1)
    assert read.active_s == 20
    assert read.extra["overlay_exposure_s"] == 20


def test_overlay_exposure_counts_only_visible_active_focused_time(make_study, sim_time):
    study = make_study()
    session = _aided_session(study, sim_time)
    sim_time.advance(10)  # shown, active: 10
    session.set_overlay(False)
    sim_time.advance(10)  # hidden: 0
    session.set_overlay(True)
    sim_time.advance(5)  # shown: 5
    session.focus_lost()
    sim_time.advance(30)  # no focus: 0
    session.focus_gained()
    sim_time.advance(4)  # shown: 4
    session.set_overlay_opacity(0.0)
    sim_time.advance(6)  # opacity 0: 0
    session.set_overlay_opacity(0.35)
    sim_time.advance(2)  # shown: 2, then no input for the idle timeout (60 s) ...
    session.input()
    sim_time.advance(70)
    session.tick()  # ... idle since the last input, 2 s ago: the 70 s count nothing
    session.input()
    sim_time.advance(3)  # shown: 3
    session.submit(all_negative(session.current))
    read = _stored(study, 2, 1)
    assert read.active_s == 10 + 10 + 5 + 4 + 6 + 2 + 3
    assert read.extra["overlay_exposure_s"] == 10 + 5 + 4 + 2 + 3
    assert read.extra["overlay_toggles"] == 2
    assert read.extra["overlay_opacity_changes"] == 2
    assert read.extra["overlay_opacity"] == 0.35
    kinds = [e[1] for e in read.extra["events"]]
    assert kinds == ["overlay", "overlay", "opacity", "opacity"]


def test_overlay_keys_in_unaided_reads_are_blinding_errors(make_study):
    session = make_study().login("r1", PIN)
    with pytest.raises(BlindingError):
        session.set_overlay(True)
    with pytest.raises(BlindingError):
        session.set_overlay_opacity(0.5)
    with pytest.raises(ValueError, match="opacity must be in 0-1"):
        session.set_overlay_opacity(1.5)


def test_telemetry_is_buffered_and_written_with_the_read_in_one_transaction(
    make_study, sim_time, monkeypatch
):
    study = make_study()
    session = study.login("r1", PIN)
    writes = []
    monkeypatch.setattr(study.store, "append_event", lambda *a, **k: writes.append(a))
    for step in range(MAX_EVENTS + 20):
        sim_time.advance(0.1)
        session.record_slice(step % 30)
    session.record_window_level(35.0, 60.0)
    session.record_window_level(40.0, 80.0)
    assert writes == []
    session.submit(all_negative(session.current))
    read = _stored(study, 1, 1)
    extra = read.extra
    assert extra["slice_moves"] == MAX_EVENTS + 20
    assert extra["slices"] == {"distinct": 30, "min": 0, "max": 29, "last": (MAX_EVENTS + 19) % 30}
    assert extra["window_level_changes"] == 2
    assert extra["window_level"] == [40.0, 80.0]
    assert len(extra["events"]) == MAX_EVENTS
    assert extra["events_dropped"] == 22
    assert extra["events"][-1][1:] == ["window", 40.0, 80.0]
    assert extra["events"][-3][1:] == ["slice", (MAX_EVENTS + 19) % 30]


def test_tampering_with_stored_telemetry_breaks_the_audit(make_study, sim_time):
    study = make_study()
    session = _aided_session(study, sim_time)
    sim_time.advance(30)
    session.set_overlay(False)
    session.submit(all_negative(session.current))
    assert study.store.verify_audit().ok
    read = _stored(study, 2, 1)
    forged = {**read.extra, "overlay_exposure_s": 0.0, "overlay_toggles": 0}
    # an attacker with direct database access drops the append-only guard first
    engine = sa.create_engine(f"sqlite:///{study.path / 'results.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER reads_no_update")
        conn.execute(
            text("UPDATE reads SET extra = :extra WHERE id = :id"),
            {"extra": json.dumps(forged), "id": read.id},
        )
    engine.dispose()
    assert _stored(study, 2, 1).extra["overlay_exposure_s"] == 0.0
    result = study.store.verify_audit()
    assert not result.ok
    assert "do not match the digest" in result.reason
