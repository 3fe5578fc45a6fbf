"""The reading clock: wall time and active time of one read, from a stream of events.

Rules (docs/coordinator.md, "Reading time"):

- wall time runs from the case opening to the submission;
- active time is wall time minus pauses, idle spells and spells without window focus;
- idle begins at the *last input*, not when it is detected: a reader who stops touching the
  workstation for ``idle_timeout_s`` or longer loses the whole gap since their last input;
- every spell is kept as an :class:`Interval`, so times can be recomputed from the record.

Time comes from an injectable source (:class:`SystemTime`, or :class:`SimulatedTime` in tests
and simulations), so nothing here sleeps.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol


class TimeSource(Protocol):
    """Where the clock reads the time (aware UTC datetimes)."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemTime:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        _time.sleep(seconds)


class SimulatedTime:
    """A clock that only moves when told to: tests and simulated readers (sleep advances it)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("SimulatedTime needs an aware datetime (tzinfo=UTC)")

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError(f"time cannot go backwards (advance by {seconds} s)")
        self._now += timedelta(seconds=seconds)
        return self._now

    def advance_to(self, moment: datetime) -> datetime:
        if moment > self._now:
            self._now = moment
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


class Spell(StrEnum):
    """What the reader is doing during a read: the one vocabulary of reading states.

    The clock is in one spell at a time (:attr:`ReadingClock.state`), each stored interval
    is one spell (its value is the stored ``kind``, :data:`readerstudy.store.INTERVAL_KINDS`),
    and the session's :class:`~readerstudy.study.session.Phase` takes its open-read phases
    from it.
    """

    ACTIVE = "active"
    PAUSED = "paused"
    IDLE = "idle"
    UNFOCUSED = "focus_lost"


class ClockError(ValueError):
    """An event that cannot happen in the clock's current state (e.g. input while paused)."""


@dataclass(frozen=True)
class Interval:
    """One spell, in seconds from the start of the read."""

    spell: Spell
    start_s: float
    end_s: float

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s

    def to_json(self) -> list[str | float]:
        return [self.spell.value, round(self.start_s, 6), round(self.end_s, 6)]

    @classmethod
    def from_json(cls, row: Iterable[Any]) -> Interval:
        spell, start, end = row
        return cls(Spell(spell), float(start), float(end))


def active_seconds(intervals: Iterable[Interval]) -> float:
    """Active time recomputed from stored intervals."""
    return sum(i.seconds for i in intervals if i.spell is Spell.ACTIVE)


@dataclass(frozen=True)
class ReadTimes:
    """The clock's result for one read."""

    started_at: datetime
    stopped_at: datetime
    active_s: float
    wall_s: float
    intervals: tuple[Interval, ...]


class ReadingClock:
    """Timing of one read, driven by explicit events stamped with the time source."""

    def __init__(self, time: TimeSource, *, idle_timeout_s: float) -> None:
        if idle_timeout_s <= 0:
            raise ValueError(f"idle_timeout_s must be positive, got {idle_timeout_s}")
        self._time = time
        self.idle_timeout_s = float(idle_timeout_s)
        self.started_at = time.now()
        self._state: Spell | None = Spell.ACTIVE
        self._spell_start = 0.0
        self._last_input = 0.0
        self._intervals: list[Interval] = []

    # -- reading the clock -------------------------------------------------------------
    @property
    def state(self) -> Spell | None:
        """The spell in progress; None once the clock is stopped."""
        return self._state

    def _elapsed(self) -> float:
        seconds = (self._time.now() - self.started_at).total_seconds()
        if seconds < 0:
            raise ClockError("the time source went backwards during a read")
        return seconds

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return tuple(self._intervals)

    def active_s(self) -> float:
        """Active seconds so far; a gap that already reached the timeout is not counted."""
        done = active_seconds(self._intervals)
        if self._state is Spell.ACTIVE:
            now = self._elapsed()
            idle = now - self._last_input >= self.idle_timeout_s
            done += (self._last_input if idle else now) - self._spell_start
        return done

    # -- internals ---------------------------------------------------------------------
    def _close(self, spell: Spell, end: float) -> None:
        if end <= self._spell_start:
            return
        last = self._intervals[-1] if self._intervals else None
        if last is not None and last.spell is spell and last.end_s == self._spell_start:
            self._intervals[-1] = Interval(spell, last.start_s, end)
        else:
            self._intervals.append(Interval(spell, self._spell_start, end))
        self._spell_start = end

    def _settle_idle(self, now: float) -> None:
        """While running: if the gap since the last input reached the timeout, it was idle."""
        if self._state is Spell.ACTIVE and now - self._last_input >= self.idle_timeout_s:
            self._close(Spell.ACTIVE, self._last_input)
            self._state = Spell.IDLE

    def _switch(self, state: Spell, now: float) -> None:
        self._close(self._require_open("switch"), now)
        self._spell_start = now
        self._state = state

    def _require_open(self, what: str) -> Spell:
        """The running spell, or a ClockError once the read was stopped."""
        if self._state is None:
            raise ClockError(f"{what}: the read's clock is already stopped")
        return self._state

    # -- events ------------------------------------------------------------------------
    def input(self) -> None:
        """Any reader input (mouse, keys, window/level, slice move)."""
        self._require_open("input")
        if self._state in (Spell.PAUSED, Spell.UNFOCUSED):
            raise ClockError(f"input while the read is {self._state.value}: resume it first")
        now = self._elapsed()
        self._settle_idle(now)
        if self._state is Spell.IDLE:
            self._switch(Spell.ACTIVE, now)
        self._last_input = now

    def tick(self) -> bool:
        """Periodic check (a GUI timer); True when this tick detected idleness."""
        self._require_open("tick")
        before = self._state
        self._settle_idle(self._elapsed())
        return before is Spell.ACTIVE and self._state is Spell.IDLE

    def pause(self) -> None:
        self._require_open("pause")
        if self._state is Spell.PAUSED:
            raise ClockError("pause: the read is already paused")
        now = self._elapsed()
        self._settle_idle(now)
        self._switch(Spell.PAUSED, now)

    def resume(self) -> None:
        state = self._require_open("resume")
        if state is not Spell.PAUSED:
            raise ClockError(f"resume: the read is {state.value}, not paused")
        now = self._elapsed()
        self._switch(Spell.ACTIVE, now)
        self._last_input = now

    def focus_lost(self) -> None:
        """The workstation lost window focus: counts as idle until focus returns."""
        self._require_open("focus_lost")
        if self._state in (Spell.PAUSED, Spell.UNFOCUSED):
            return
        now = self._elapsed()
        self._settle_idle(now)
        self._switch(Spell.UNFOCUSED, now)

    def focus_gained(self) -> None:
        self._require_open("focus_gained")
        if self._state is not Spell.UNFOCUSED:
            return
        now = self._elapsed()
        self._switch(Spell.ACTIVE, now)
        self._last_input = now

    def stop(self) -> ReadTimes:
        """End the read (submission counts as input); returns the times and every interval."""
        self._require_open("stop")
        now = self._elapsed()
        self._settle_idle(now)
        self._close(self._require_open("stop"), now)
        self._state = None
        return ReadTimes(
            started_at=self.started_at,
            stopped_at=self.started_at + timedelta(seconds=now),
            active_s=active_seconds(self._intervals),
            wall_s=now,
            intervals=tuple(self._intervals),
        )
