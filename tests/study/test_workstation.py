"""The workstation façade: reader list with session states, login, options, what it exposes."""

from __future__ import annotations

from datetime import timedelta

import pytest

import readerstudy.study.workstation as ws
from readerstudy.errors import ReaderStudyError
from readerstudy.study.workstation import (
    LoginError,
    Phase,
    SessionState,
    ViewerOptions,
    WashoutError,
    Workstation,
)

from .conftest import PIN, all_negative


def _states(station: Workstation, reader: str = "r1") -> list[tuple]:
    (entry,) = [r for r in station.readers() if r.reader == reader]
    return [(s.session, s.state, s.done, s.total, s.opens_at) for s in entry.sessions]


def _read_all(session, sim_time) -> None:
    while session.current is not None:
        sim_time.advance(10)
        session.submit(all_negative(session.current))
        session.advance()


def test_readers_list_each_session_done_open_or_locked_with_the_washout_opening(
    make_study, sim_time
):
    study = make_study()
    station = Workstation.open(study.path, time=sim_time)
    assert [(r.reader, r.name) for r in station.readers()] == [("r1", "R1"), ("r2", "R2")]
    assert _states(station) == [
        (1, SessionState.OPEN, 0, 6, None),
        (2, SessionState.LOCKED, 0, 6, None),
    ]
    session = station.login("r1", PIN)
    sim_time.advance(10)
    session.submit(all_negative(session.current))
    assert _states(station)[0] == (1, SessionState.OPEN, 1, 6, None)  # in progress is open
    session.advance()
    _read_all(session, sim_time)
    done_at = sim_time.now()
    opens = done_at + timedelta(days=14)
    assert _states(station) == [
        (1, SessionState.DONE, 6, 6, None),
        (2, SessionState.LOCKED, 0, 6, opens),
    ]
    assert opens.tzinfo is not None
    with pytest.raises(WashoutError) as refused:
        station.login("r1", PIN)
    assert refused.value.opens_at == opens
    sim_time.advance_to(opens)
    assert _states(station)[1] == (2, SessionState.OPEN, 0, 6, None)
    assert station.login("r1", PIN).session == 2
    # r2 has not started; an override opens nothing before session 1 is done
    study.unlock("r2", 2, "leaves on Friday")
    assert _states(station, "r2")[1][1] is SessionState.LOCKED
    station.close()


def test_an_override_opens_a_session_before_its_washout(make_study, sim_time):
    study = make_study()
    station = Workstation.open(study.path, time=sim_time)
    _read_all(station.login("r2", PIN), sim_time)
    assert _states(station, "r2")[1][1] is SessionState.LOCKED
    study.unlock("r2", 2, "leaves on Friday")
    assert _states(station, "r2")[1] == (2, SessionState.OPEN, 0, 6, None)
    station.close()


def test_login_backs_off_after_wrong_pins_as_the_study_does(make_study, sim_time):
    study = make_study()
    with Workstation.open(study.path, time=sim_time) as station:
        start = sim_time.now()
        for _ in range(3):
            with pytest.raises(LoginError, match="wrong PIN"):
                station.login("r1", "0000")
        assert (sim_time.now() - start).total_seconds() == pytest.approx(0.5 + 1.0)
        with pytest.raises(LoginError, match="not in study"):
            station.login("nobody", PIN)
        session = station.login("r1", PIN)
        assert session.phase is Phase.READING
    # closing the workstation logs the session out: the read reopens flagged
    assert session.phase is Phase.CLOSED
    assert [e.payload for e in study.store.events(kind="login_failed")][-1] == {"delay_s": 1.0}


def test_the_facade_exposes_no_store_schedule_or_truth(make_study, sim_time):
    study = make_study()
    station = Workstation.open(study.path, time=sim_time)
    public = {n for n in dir(station) if not n.startswith("_")}
    assert public == {"name", "options", "readers", "login", "close", "open"}
    assert station.name == "teststudy"
    assert station.options == ViewerOptions("radiological", False, (40.0, 80.0), {})
    cases = set(study.case_codes())
    listed = repr(station.readers())
    assert not any(case in listed for case in cases)
    # everything the GUI needs comes from this one module
    assert {"ReaderSession", "CaseView", "DisplayVolume", "SimulatedTime", "SessionError"} <= set(
        ws.__all__
    )
    assert all(hasattr(ws, name) for name in ws.__all__)
    station.close()


def test_viewer_options_come_from_study_toml(make_study, sim_time):
    study = make_study(
        viewer={
            "orientation": "neurological",
            "level_jumps": True,
            "window_center": 35,
            "window_width": 50,
            "keymap": {"submit": "Ctrl+Return", "overlay_toggle": "O"},
        }
    )
    with Workstation.open(study.path, time=sim_time) as station:
        assert station.options == ViewerOptions(
            "neurological", True, (35.0, 50.0), {"submit": "Ctrl+Return", "overlay_toggle": "O"}
        )
        assert station.options.screen_left == "L"


def test_an_unlocked_study_is_refused(make_study, sim_time):
    study = make_study(lock=False)
    with pytest.raises(ReaderStudyError, match="is not locked"):
        Workstation.open(study.path, time=sim_time)
