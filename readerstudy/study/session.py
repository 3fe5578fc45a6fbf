"""``ReaderSession``: the only object a workstation talks to while a reader reads.

It enforces the protocol where no GUI can bypass it: the reader's seeded case order, neutral
per-session case codes (``S2-017``), the AI overlay only in aided reads, the reading clock, and
one audited store transaction per submitted case. It never returns truth, other readers'
answers, the reader's own answers from another session, or AI outputs in unaided reads.

State is typed and plain Python; changes are announced with psygnal signals (no Qt), the way
napari's models announce theirs, so widgets follow the model and tests need no event loop.

A read's life: the case opens (its clock starts), the reader reads, :meth:`ReaderSession.submit`
stores the answers (phase ``SUBMITTED``: the clock is stopped, a confirmation screen costs
the next case nothing), and :meth:`ReaderSession.advance` opens the next case. Input from a
GUI never raises in normal use: see each method for what it does in which phase.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from psygnal import Signal

from readerstudy.errors import ReaderStudyError
from readerstudy.study.caseloader import CaseFiles, CaseLoader, DisplayVolume
from readerstudy.study.clock import ClockError, ReadingClock, Spell, TimeSource
from readerstudy.study.definition import ConfidenceScale, StudyDefinition
from readerstudy.study.design import ScheduledRead
from readerstudy.study.telemetry import ReadTelemetry

if TYPE_CHECKING:
    from readerstudy.store import ReadSubmission, StoredRead

CRASH_FLAG = "clock_restarted_after_crash"
"""Flag of a read whose clock restarted because the workstation died mid-read."""
LOGOUT_FLAG = "clock_restarted_after_logout"
"""Flag of a read whose clock restarted because the reader logged out mid-read."""


class SessionError(ReaderStudyError):
    """The reading API refused a request (wrong phase, incomplete answers, closed session)."""


class BlindingError(SessionError):
    """A request would show the reader something the blinding rules hide."""


class Phase(StrEnum):
    """Where the reader is in the session: while a read is open, the clock's :class:`Spell`
    (same strings; ``reading`` for its active spell), then submitted, finished, closed."""

    READING = "reading"
    PAUSED = Spell.PAUSED.value
    IDLE = Spell.IDLE.value
    FOCUS_LOST = Spell.UNFOCUSED.value
    SUBMITTED = "submitted"
    """The case was submitted; the next opens on ``advance()``."""
    FINISHED = "finished"
    CLOSED = "closed"

    @classmethod
    def of_spell(cls, spell: Spell) -> Phase:
        """The phase of an open read whose clock is in ``spell``."""
        return cls.READING if spell is Spell.ACTIVE else cls(spell.value)


@dataclass(frozen=True)
class AIRegion:
    """The AI's output for one unit of the current case (aided reads only)."""

    unit: str
    probability: float
    call: int


@dataclass(frozen=True)
class CaseView:
    """What the reader may know about the case on screen."""

    code: str
    """Neutral per-session code, e.g. ``S2-017``; never the study's case code."""
    session: int
    order: int
    total: int
    modality: str
    aided: bool
    units: tuple[str, ...]
    binary_call: bool
    confidence: ConfidenceScale
    ai_regions: tuple[AIRegion, ...]
    """Empty in unaided reads."""
    has_ai_mask: bool
    clock_restarted: bool
    """True when this read reopened after a crash or logout (its clock started again)."""


@dataclass(frozen=True)
class Progress:
    """How far the reader is in this session."""

    session: int
    done: int
    total: int

    @property
    def remaining(self) -> int:
        return self.total - self.done


@dataclass(frozen=True)
class _Slot:
    """Private: a scheduled read with its files and AI outputs (never exposed)."""

    read: ScheduledRead
    files: CaseFiles
    ai: tuple[AIRegion, ...]


class ReadStore(Protocol):
    """What a reading session needs of its store (:class:`readerstudy.store.Store` has it)."""

    def append_event(
        self,
        kind: str,
        *,
        reader: str | None = None,
        session: int | None = None,
        case: str | None = None,
        payload: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> object: ...

    def start_read(
        self,
        reader: str,
        session: int,
        case: str,
        *,
        at: datetime,
        opened: dict[str, Any] | None = None,
    ) -> None: ...

    def submit_read(self, sub: ReadSubmission) -> object: ...

    def read(self, reader: str, session: int, case: str) -> StoredRead | None: ...

    def amend_read(self, sub: ReadSubmission, *, reason: str) -> object: ...


class ReaderSession:
    """One reader's session: current case, clock, interaction record, submissions.

    Built by :meth:`readerstudy.study.protocol.Study.login` (or
    :meth:`readerstudy.study.workstation.Workstation.login`); see docs/coordinator.md for the
    guarantees. Signals (psygnal, types as declared, not checked at emit):
    ``case_changed(CaseView | None)`` (None when the session finishes or closes),
    ``phase_changed(Phase)``, ``clock_ticked(float active seconds)``,
    ``progress_changed(Progress)``, ``overlay_changed(bool)`` (also ``True`` when an aided
    case opens), ``submitted(CaseView)``, ``amended(str code)``.
    """

    # psygnal takes the union at run time; its stub declares only a type or a Signature.
    case_changed = Signal(CaseView | None)  # type: ignore[arg-type]
    phase_changed = Signal(Phase)
    clock_ticked = Signal(float)
    progress_changed = Signal(Progress)
    overlay_changed = Signal(bool)
    submitted = Signal(CaseView)
    amended = Signal(str)

    def __init__(
        self,
        *,
        store: ReadStore,
        definition: StudyDefinition,
        reader: str,
        session: int,
        slots: Sequence[_Slot],
        submitted: set[int],
        time: TimeSource,
        loader: CaseLoader,
        restart_flag: str | None = None,
    ) -> None:
        self._store = store
        self._form = definition.rating
        self._idle_timeout_s = definition.idle_timeout_s
        self._aided_modality = definition.aided
        self._allow_amendments = definition.allow_amendments
        self._time = time
        self._slots = list(slots)
        self._submitted = set(submitted)
        self._loader = loader
        self._restart_flag = restart_flag
        self.reader = reader
        self.reader_name = definition.reader(reader).name or reader
        self.session = session
        self._phase = Phase.READING
        self._slot: _Slot | None = None
        self._clock: ReadingClock | None = None
        self._current: CaseView | None = None
        self._telemetry = ReadTelemetry(overlay_visible=False)
        self._open_next()

    # -- state ------------------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def current(self) -> CaseView | None:
        """The case on screen: the open read, or the one just submitted until ``advance()``;
        None once the session is finished or closed."""
        return self._current

    @property
    def progress(self) -> Progress:
        return Progress(self.session, len(self._submitted), len(self._slots))

    @property
    def active_s(self) -> float:
        """Active seconds of the current read so far (0 when no read is open)."""
        return self._clock.active_s() if self._clock else 0.0

    @property
    def overlay_visible(self) -> bool:
        return self._telemetry.overlay_visible

    def _set_phase(self, phase: Phase) -> None:
        if phase is not self._phase:
            self._phase = phase
            self.phase_changed.emit(phase)

    def _follow_clock(self) -> None:
        if self._clock is not None and self._clock.state is not None:
            self._set_phase(Phase.of_spell(self._clock.state))

    def _check_open(self, what: str) -> None:
        if self._phase is Phase.CLOSED:
            raise SessionError(f"{what}: the session is closed; log in again")

    def _open_read(self, what: str) -> tuple[ReadingClock, _Slot, CaseView]:
        """The open read's clock, slot and view; SessionError when no read is open."""
        self._check_open(what)
        if self._clock is None or self._slot is None or self._current is None:
            if self._phase is Phase.SUBMITTED:
                raise SessionError(f"{what}: the case was submitted; advance() opens the next")
            raise SessionError(f"{what}: the session is finished, there is no case open")
        return self._clock, self._slot, self._current

    def _clock_step(self, what: str) -> None:
        """The reader's ``pause`` or ``resume``: passed to the open read's clock (a refusal is a
        SessionError) and audited as an event of that kind. A no-op when no read is open."""
        self._check_open(what)
        if self._clock is None:
            return
        clock = self._open_read(what)[0]
        try:
            getattr(clock, what)()
        except ClockError as exc:
            raise SessionError(str(exc)) from None
        self._event(what)
        self._follow_clock()

    def _elapsed(self) -> float:
        """Seconds since the open read's case opened."""
        assert self._clock is not None
        return (self._time.now() - self._clock.started_at).total_seconds()

    def _event(self, kind: str, payload: dict[str, Any] | None = None) -> None:
        case = self._slot.read.case if self._slot else None
        self._store.append_event(
            kind,
            reader=self.reader,
            session=self.session,
            case=case,
            payload=payload or {},
            at=self._time.now(),
        )

    # -- opening cases ----------------------------------------------------------------
    def _upcoming(self, after: _Slot) -> _Slot | None:
        return next(
            (
                s
                for s in self._slots
                if s.read.order > after.read.order and s.read.order not in self._submitted
            ),
            None,
        )

    def _open_next(self) -> None:
        self._slot = next((s for s in self._slots if s.read.order not in self._submitted), None)
        if self._slot is None:
            self._clock = None
            self._current = None
            self._telemetry = ReadTelemetry(overlay_visible=False)
            self._loader.close()
            self._set_phase(Phase.FINISHED)
            self.case_changed.emit(None)
            return
        read = self._slot.read
        aided = read.modality == self._aided_modality
        # The open read and its case_open event: one transaction.
        self._store.start_read(
            self.reader,
            self.session,
            read.case,
            at=self._time.now(),
            opened={"code": read.code, "order": read.order, "aided": aided},
        )
        upcoming = self._upcoming(self._slot)
        self._loader.opened(self._slot.files, upcoming.files if upcoming else None)
        self._current = CaseView(
            code=read.code,
            session=self.session,
            order=read.order,
            total=len(self._slots),
            modality=read.modality,
            aided=aided,
            units=self._form.units.units,
            binary_call=self._form.binary_call,
            confidence=self._form.confidence,
            ai_regions=self._slot.ai if aided else (),
            has_ai_mask=aided and self._slot.files.ai_mask is not None,
            clock_restarted=self._restart_flag is not None,
        )
        self._telemetry = ReadTelemetry(overlay_visible=aided)
        self._clock = ReadingClock(self._time, idle_timeout_s=self._idle_timeout_s)
        self._set_phase(Phase.READING)
        self.case_changed.emit(self._current)
        if aided:
            self.overlay_changed.emit(True)

    def advance(self) -> CaseView | None:
        """After ``submit()``: open the next case and start its clock (None when the session
        is finished; then also a no-op). SessionError while a read is still open."""
        self._check_open("advance")
        if self._phase is Phase.FINISHED:
            return None
        if self._phase is not Phase.SUBMITTED:
            raise SessionError("advance: submit the case on screen first")
        self._open_next()
        return self._current

    # -- images -----------------------------------------------------------------------
    def display_volume(self) -> DisplayVolume:
        """The case on screen as the viewer shows it (prefetched: no wait once loaded).

        The AI mask and region labels are present in aided reads only; in unaided reads no
        AI file is opened. Raises CaseLoadError when the case's files cannot be shown.
        """
        self._check_open("display_volume")
        if self._slot is None:
            raise SessionError("display_volume: the session is finished, there is no case open")
        upcoming = self._upcoming(self._slot)
        return self._loader.volume(self._slot.files, upcoming.files if upcoming else None)

    # -- interaction ------------------------------------------------------------------
    def input(self) -> None:
        """Any reader input (mouse move, key) that shows the reader is at work.

        Resumes an idle read, and a read without window focus (input means it has focus).
        Ignored during a manual pause (only ``resume()`` ends it) and when no read is open
        (submitted or finished). SessionError only once the session is closed.
        """
        self._check_open("input")
        clock = self._clock
        if clock is None or clock.state is Spell.PAUSED:
            return
        if clock.state is Spell.UNFOCUSED:
            self.focus_gained()
        clock.input()
        self._follow_clock()

    def _accepts_input(self, what: str) -> bool:
        """Count an interaction as input; False where it is ignored (paused, no read open)."""
        self._check_open(what)
        self.input()
        return self._clock is not None and self._clock.state is Spell.ACTIVE

    def record_window_level(self, center: float, width: float) -> None:
        """A window/level change (on release, not every drag step); buffered with the read.

        Ignored while paused or when no read is open, like ``input()``."""
        if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
            raise ValueError(f"window/level must be finite with width > 0, got {center}/{width}")
        if self._accepts_input("record_window_level"):
            self._telemetry.window_level(self._elapsed(), float(center), float(width))

    def record_slice(self, index: int) -> None:
        """A slice step to ``index`` (display slice); buffered with the read.

        Ignored while paused or when no read is open, like ``input()``."""
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"slice index must be a non-negative int, got {index!r}")
        if self._accepts_input("record_slice"):
            self._telemetry.slice(self._elapsed(), index)

    def _aided_read(self, what: str) -> bool:
        """True in an open aided read; BlindingError in an unaided one; False when none is
        open."""
        self._check_open(what)
        if self._clock is None or self._current is None:
            return False
        if not self._current.aided:
            raise BlindingError(f"{self._current.code} is an unaided read: no AI overlay")
        return True

    def set_overlay(self, visible: bool) -> None:
        """Show or hide the AI overlay (aided reads only; BlindingError in unaided ones).

        Counts as input; buffered with the read (toggles, exposure). Ignored when no read is
        open."""
        if not self._aided_read("set_overlay") or bool(visible) is self.overlay_visible:
            return
        self.input()
        self._telemetry.overlay(self._elapsed(), bool(visible))
        self.overlay_changed.emit(bool(visible))

    def set_overlay_opacity(self, opacity: float) -> None:
        """The overlay's opacity, 0-1 (aided reads only); at 0 it counts as hidden for
        exposure. Buffered with the read; ignored when no read is open."""
        if isinstance(opacity, bool) or not isinstance(opacity, int | float):
            raise ValueError(f"opacity must be a number in 0-1, got {opacity!r}")
        if not (math.isfinite(opacity) and 0.0 <= opacity <= 1.0):
            raise ValueError(f"opacity must be in 0-1, got {opacity}")
        if self._aided_read("set_overlay_opacity"):
            self.input()
            self._telemetry.opacity(self._elapsed(), float(opacity))

    def tick(self) -> None:
        """Called by a timer (about once a second): detects idleness, emits the clock.

        A no-op when no read is open (submitted, finished or closed)."""
        clock = self._clock
        if self._phase is Phase.CLOSED or clock is None:
            return
        if clock.tick():
            self._event(
                "idle", {"since_s": round(clock.intervals[-1].end_s, 3) if clock.intervals else 0.0}
            )
        self._follow_clock()
        self.clock_ticked.emit(clock.active_s())

    def pause(self) -> None:
        """The reader's pause (the GUI hides the image). A no-op when no read is open;
        SessionError when already paused."""
        self._clock_step("pause")

    def resume(self) -> None:
        """End the reader's pause. A no-op when no read is open; SessionError when the read is
        not paused."""
        self._clock_step("resume")

    def focus_lost(self) -> None:
        """The window lost focus: the read stops counting until focus or input returns.
        A no-op when paused or when no read is open."""
        clock = self._clock
        if self._phase is Phase.CLOSED or clock is None:
            return
        if clock.state in (Spell.ACTIVE, Spell.IDLE):
            clock.focus_lost()
            self._event("focus_lost")
            self._follow_clock()

    def focus_gained(self) -> None:
        """The window has focus again. A no-op unless the read was waiting for focus."""
        clock = self._clock
        if self._phase is Phase.CLOSED or clock is None:
            return
        if clock.state is Spell.UNFOCUSED:
            clock.focus_gained()
            self._event("resume", {"after": "focus_lost"})
            self._follow_clock()

    # -- answers ----------------------------------------------------------------------
    def _validated(self, code: str, answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        if not isinstance(answers, Mapping):
            raise TypeError(f"answers must be a dict unit -> {{call, rating}}, got {answers!r}")
        units = self._form.units.units
        missing = [u for u in units if u not in answers]
        unknown = sorted(set(answers) - set(units))
        if missing or unknown:
            raise SessionError(
                f"{code}: answers must cover exactly the form's {len(units)} units"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            )
        bounds = self._form.confidence.bounds
        clean: dict[str, dict[str, Any]] = {}
        for unit in units:
            answer = answers[unit]
            if not isinstance(answer, Mapping):
                answer = {"call": answer}
            call, rating = answer.get("call"), answer.get("rating")
            if self._form.binary_call and (isinstance(call, bool) or call not in (0, 1)):
                raise SessionError(f"{code}, {unit}: call must be 0 or 1, got {call!r}")
            if not self._form.binary_call:
                call = None
            if bounds is None:
                rating = None
            elif (
                rating is None
                or isinstance(rating, bool)
                or not isinstance(rating, int | float)
                or not bounds[0] <= rating <= bounds[1]
            ):
                raise SessionError(
                    f"{code}, {unit}: confidence must be a number in "
                    f"{bounds[0]:g}-{bounds[1]:g}, got {rating!r}"
                )
            clean[unit] = {"call": call, "rating": None if rating is None else float(rating)}
        return clean

    def submit(self, answers: Mapping[str, Any]) -> None:
        """Store the answers for the case on screen; the next case opens on ``advance()``.

        ``answers`` maps every unit of the form to ``{"call": 0|1, "rating": number}`` (or
        just the call). One store transaction holds the read, its clock intervals and its
        interaction record (covered by the audit chain's ``submit`` event). SessionError for
        incomplete answers, a paused read, or a case already submitted.
        """
        clock, slot, current = self._open_read("submit")
        if clock.state is Spell.PAUSED:
            raise SessionError("submit: the read is paused; resume it first")
        units = self._validated(current.code, answers)
        times = clock.stop()
        from readerstudy.store import ReadSubmission

        read = slot.read
        flags = (self._restart_flag,) if self._restart_flag else ()
        submission = ReadSubmission(
            reader=self.reader,
            session=self.session,
            modality=read.modality,
            case=read.case,
            order=read.order,
            units=units,
            active_s=times.active_s,
            wall_s=times.wall_s,
            started_at=times.started_at,
            submitted_at=times.stopped_at,
            intervals=tuple(
                {
                    "kind": i.spell.value,
                    "start": times.started_at + timedelta(seconds=i.start_s),
                    "end": times.started_at + timedelta(seconds=i.end_s),
                }
                for i in times.intervals
            ),
            flags=flags,
            extra={"code": read.code, **self._telemetry.record(times.intervals, times.wall_s)},
        )
        self._store.submit_read(submission)
        self._submitted.add(read.order)
        self._restart_flag = None
        self._clock = None
        self._set_phase(Phase.SUBMITTED)
        self.submitted.emit(current)
        self.progress_changed.emit(self.progress)

    def amend(self, code: str, answers: Mapping[str, Any], *, reason: str) -> None:
        """Replace the answers of a read submitted earlier in this session (a new version;
        the original stays). Only where study.toml sets ``allow_amendments = true``."""
        if not self._allow_amendments:
            raise SessionError("this study does not allow amendments (allow_amendments)")
        self._check_open("amend")
        if not isinstance(reason, str) or not reason.strip():
            raise SessionError("an amendment needs a reason")
        slot = next((s for s in self._slots if s.read.code == code), None)
        if slot is None or slot.read.order not in self._submitted:
            raise SessionError(f"{code}: no read submitted under this code in this session")
        units = self._validated(code, answers)
        original = self._store.read(self.reader, self.session, slot.read.case)
        if original is None:
            raise SessionError(f"{code}: the store holds no submitted read to amend")
        self._store.amend_read(
            original.revised(units=units, submitted_at=self._time.now()),
            reason=reason,
        )
        self.amended.emit(code)

    def close(self) -> None:
        """Log out. An open read stays in progress and reopens, flagged, at the next login.

        Emits ``case_changed(None)``; closing twice is a no-op."""
        if self._phase is Phase.CLOSED:
            return
        if self._clock is not None:
            self._event("pause", {"reason": "logout"})
        self._loader.close()
        self._clock = None
        self._slot = None
        self._current = None
        self._set_phase(Phase.CLOSED)
        self.case_changed.emit(None)
