"""The reading clock on scripted event sequences: exact wall and active times."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readerstudy.study.clock import (
    ClockError,
    Interval,
    ReadingClock,
    SimulatedTime,
    Spell,
    active_seconds,
)


def _run(script, *, timeout=60.0):
    """Play (seconds-from-start, event) pairs on a simulated clock; return the ReadTimes."""
    time = SimulatedTime()
    clock = ReadingClock(time, idle_timeout_s=timeout)
    start = time.now()
    result = None
    for at, event in script:
        time.advance_to(start + timedelta(seconds=at))
        result = getattr(clock, event)()
    return clock, result


def test_uninterrupted_read_is_all_active():
    _, times = _run([(10, "input"), (40, "input"), (95, "stop")])
    assert times.wall_s == 95
    assert times.active_s == 95
    assert times.intervals == (Interval(Spell.ACTIVE, 0, 95),)


def test_idle_is_counted_from_the_last_input_not_from_its_detection():
    # last input at 20 s; the tick at 100 s detects idleness (timeout 60 s): the whole gap
    # 20-130 is idle, not just 80-130.
    _, result = _run([(20, "input"), (100, "tick"), (130, "input"), (150, "stop")])
    assert result.wall_s == 150
    assert result.active_s == 20 + 20
    assert result.intervals == (
        Interval(Spell.ACTIVE, 0, 20),
        Interval(Spell.IDLE, 20, 130),
        Interval(Spell.ACTIVE, 130, 150),
    )


def test_a_gap_past_the_timeout_is_idle_even_without_a_tick():
    _, result = _run([(10, "input"), (100, "input"), (110, "stop")])
    assert result.active_s == 20
    assert [i.spell for i in result.intervals] == [Spell.ACTIVE, Spell.IDLE, Spell.ACTIVE]


def test_a_gap_just_under_the_timeout_stays_active():
    _, result = _run([(10, "input"), (69.5, "input"), (80, "stop")])
    assert result.active_s == 80


def test_pause_and_resume_are_subtracted():
    _, result = _run([(30, "pause"), (330, "resume"), (350, "input"), (360, "stop")])
    assert result.wall_s == 360
    assert result.active_s == 30 + 30
    assert result.intervals[1] == Interval(Spell.PAUSED, 30, 330)


def test_focus_loss_counts_as_idle_until_focus_returns():
    _, result = _run(
        [(15, "input"), (25, "focus_lost"), (85, "focus_gained"), (90, "input"), (100, "stop")]
    )
    assert result.active_s == 25 + 15
    assert Interval(Spell.UNFOCUSED, 25, 85) in result.intervals


def test_idle_before_a_pause_is_idle_not_active():
    _, result = _run([(5, "input"), (200, "pause"), (260, "resume"), (270, "stop")])
    assert result.intervals == (
        Interval(Spell.ACTIVE, 0, 5),
        Interval(Spell.IDLE, 5, 200),
        Interval(Spell.PAUSED, 200, 260),
        Interval(Spell.ACTIVE, 260, 270),
    )
    assert result.active_s == 15


def test_submitting_after_a_long_stare_loses_the_gap():
    _, result = _run([(10, "input"), (200, "stop")])
    assert result.active_s == 10


def test_intervals_partition_the_read_and_recompute_active_time():
    script = [
        (3, "input"),
        (40, "focus_lost"),
        (41, "focus_lost"),
        (50, "focus_gained"),
        (170, "tick"),
        (171, "input"),
        (180, "pause"),
        (200, "resume"),
        (230, "stop"),
    ]
    _, result = _run(script)
    starts = [i.start_s for i in result.intervals]
    ends = [i.end_s for i in result.intervals]
    assert starts[0] == 0
    assert ends[-1] == result.wall_s == 230
    assert starts[1:] == ends[:-1]
    assert active_seconds(result.intervals) == result.active_s == 40 + 0 + 9 + 30


def test_running_active_time_excludes_a_gap_already_past_the_timeout():
    time = SimulatedTime()
    clock = ReadingClock(time, idle_timeout_s=60)
    time.advance(10)
    clock.input()
    time.advance(30)
    assert clock.active_s() == 40
    time.advance(45)
    assert clock.active_s() == 10


@pytest.mark.parametrize(
    ("script", "match"),
    [
        ([(5, "pause"), (6, "input")], "input while the read is paused"),
        ([(5, "resume")], "not paused"),
        ([(5, "pause"), (6, "pause")], "already paused"),
        ([(5, "stop"), (6, "input")], "already stopped"),
    ],
)
def test_impossible_transitions_are_refused(script, match):
    with pytest.raises(ClockError, match=match):
        _run(script)


def test_simulated_time_refuses_to_go_backwards():
    with pytest.raises(ValueError, match="backwards"):
        SimulatedTime().advance(-1)


def test_interval_json_round_trip():
    interval = Interval(Spell.IDLE, 1.5, 70.25)
    assert Interval.from_json(interval.to_json()) == interval


EVENTS = ("input", "tick", "pause", "resume", "focus_lost", "focus_gained")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 200, allow_nan=False), st.sampled_from(EVENTS)), max_size=40)
)
def test_any_valid_event_stream_partitions_the_read(script):
    """Whatever happens, the intervals tile [0, wall] and active time is their active sum."""
    time = SimulatedTime()
    clock = ReadingClock(time, idle_timeout_s=60)
    for gap, event in script:
        time.advance(gap)
        try:
            getattr(clock, event)()
        except ClockError:
            continue  # refused transitions leave the clock unchanged
    if clock.state.value == "paused":
        clock.resume()
    result = clock.stop()
    intervals = result.intervals
    if result.wall_s == 0:
        assert intervals == ()
        return
    assert intervals[0].start_s == 0
    assert intervals[-1].end_s == pytest.approx(result.wall_s)
    for before, after in itertools.pairwise(intervals):
        assert before.end_s == after.start_s
        assert before.spell is not after.spell
        assert before.seconds > 0
    assert result.active_s == pytest.approx(active_seconds(intervals))
    assert 0 <= result.active_s <= result.wall_s


def test_reading_states_have_one_vocabulary():
    """The clock's spells are the stored interval kinds and the open-read phases of a session;
    the stored strings are pinned (a renamed spell would orphan every stored read)."""
    from readerstudy.store import INTERVAL_KINDS
    from readerstudy.study.session import Phase

    assert {"active", "paused", "idle", "focus_lost"} == INTERVAL_KINDS
    assert {spell.value for spell in Spell} == INTERVAL_KINDS
    phases = {spell: Phase.of_spell(spell) for spell in Spell}
    assert phases[Spell.ACTIVE] is Phase.READING
    assert all(
        phase.value == spell.value for spell, phase in phases.items() if spell is not Spell.ACTIVE
    )
    assert set(phases.values()) == {Phase.READING, Phase.PAUSED, Phase.IDLE, Phase.FOCUS_LOST}
