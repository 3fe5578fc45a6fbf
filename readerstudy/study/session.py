"""``ReaderSession``: the only object a workstation talks to while a reader reads.

It enforces the protocol where no GUI can bypass it: the reader's seeded case order, neutral
per-session case codes (``S2-017``), the AI overlay only in aided reads, the reading clock, and
one audited store transaction per submitted case. It never returns truth, other readers'
answers, the reader's own answers from another session, or AI outputs in unaided reads.

State is typed and plain Python; changes are announced with psygnal signals (no Qt), the way
napari's models announce theirs, so widgets follow the model and tests need no event loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from psygnal import Signal

from readerstudy.errors import ReaderStudyError
from readerstudy.study.clock import ClockError, ClockState, ReadingClock, TimeSource
from readerstudy.study.definition import ConfidenceScale, StudyDefinition
from readerstudy.study.design import ScheduledRead

CRASH_FLAG = "clock_restarted_after_crash"
"""Flag of a read whose clock restarted because the workstation died mid-read."""
LOGOUT_FLAG = "clock_restarted_after_logout"
"""Flag of a read whose clock restarted because the reader logged out mid-read."""


class SessionError(ReaderStudyError):
    """The reading API refused a request (wrong phase, incomplete answers, closed session)."""


class BlindingError(SessionError):
    """A request would show the reader something the blinding rules hide."""


class Phase(StrEnum):
    """Where the reader is in the session."""

    READING = "reading"
    PAUSED = "paused"
    IDLE = "idle"
    FOCUS_LOST = "focus_lost"
    FINISHED = "finished"
    CLOSED = "closed"


_PHASE_OF_CLOCK = {
    ClockState.RUNNING: Phase.READING,
    ClockState.PAUSED: Phase.PAUSED,
    ClockState.IDLE: Phase.IDLE,
    ClockState.UNFOCUSED: Phase.FOCUS_LOST,
}


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
    """Private: a scheduled read with where its image and AI outputs are (never exposed)."""

    read: ScheduledRead
    image: Path
    ai: tuple[AIRegion, ...]
    ai_mask: Path | None


class ReaderSession:
    """One reader's session: current case, clock, interaction record, submissions.

    Built by :meth:`readerstudy.study.protocol.Study.login`; see docs/coordinator.md for the
    guarantees. Signals: ``case_changed(CaseView | None)``, ``phase_changed(Phase)``,
    ``clock_ticked(float active seconds)``, ``progress_changed(Progress)``,
    ``overlay_changed(bool)``.
    """

    case_changed = Signal(object)
    phase_changed = Signal(object)
    clock_ticked = Signal(float)
    progress_changed = Signal(object)
    overlay_changed = Signal(bool)

    def __init__(
        self,
        *,
        store: Any,
        definition: StudyDefinition,
        reader: str,
        session: int,
        slots: Sequence[_Slot],
        submitted: set[int],
        time: TimeSource,
        restart_flag: str | None = None,
        volume_loader: Callable[[Path], Any] | None = None,
    ) -> None:
        self._store = store
        self._form = definition.rating
        self._idle_timeout_s = definition.idle_timeout_s
        self._aided_modality = definition.aided
        self._allow_amendments = definition.allow_amendments
        self._time = time
        self._slots = list(slots)
        self._submitted = set(submitted)
        self._volume_loader = volume_loader
        self._restart_flag = restart_flag
        self.reader = reader
        self.reader_name = definition.reader(reader).name or reader
        self.session = session
        self._phase = Phase.READING
        self._slot: _Slot | None = None
        self._clock: ReadingClock | None = None
        self._current: CaseView | None = None
        self._reset_interaction()
        self._open_next()

    # -- state ------------------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def current(self) -> CaseView | None:
        """The case on screen (None once the session is finished)."""
        return self._current

    @property
    def progress(self) -> Progress:
        return Progress(self.session, len(self._submitted), len(self._slots))

    @property
    def active_s(self) -> float:
        """Active seconds of the current read so far."""
        return self._clock.active_s() if self._clock else 0.0

    @property
    def overlay_visible(self) -> bool:
        return self._overlay_visible

    def _set_phase(self, phase: Phase) -> None:
        if phase is not self._phase:
            self._phase = phase
            self.phase_changed.emit(phase)

    def _follow_clock(self) -> None:
        if self._clock is not None:
            self._set_phase(_PHASE_OF_CLOCK[self._clock.state])

    def _open_read(self, what: str) -> tuple[ReadingClock, _Slot, CaseView]:
        """The open read's clock, slot and view; SessionError when no case is open."""
        if self._phase is Phase.CLOSED:
            raise SessionError(f"{what}: the session is closed; log in again")
        if self._clock is None or self._slot is None or self._current is None:
            raise SessionError(f"{what}: the session is finished, there is no case open")
        return self._clock, self._slot, self._current

    def _require_reading(self, what: str) -> ReadingClock:
        return self._open_read(what)[0]

    def _clock_step(self, what: str) -> None:
        """Pass ``what`` (input, pause, resume) to the open read's clock; a refusal is a
        SessionError."""
        clock = self._require_reading(what)
        try:
            getattr(clock, what)()
        except ClockError as exc:
            raise SessionError(str(exc)) from None

    def _event(self, kind: str, payload: dict | None = None) -> None:
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
    def _reset_interaction(self) -> None:
        self._overlay_visible = False
        self._overlay_since: datetime | None = None
        self._overlay_exposure_s = 0.0
        self._window_level_changes = 0
        self._slices: list[int] = []

    def _open_next(self) -> None:
        self._slot = next((s for s in self._slots if s.read.order not in self._submitted), None)
        self._reset_interaction()
        if self._slot is None:
            self._clock = None
            self._current = None
            self._set_phase(Phase.FINISHED)
            self.case_changed.emit(None)
            return
        read = self._slot.read
        now = self._time.now()
        self._store.start_read(self.reader, self.session, read.case, at=now)
        self._clock = ReadingClock(self._time, idle_timeout_s=self._idle_timeout_s)
        aided = read.modality == self._aided_modality
        restarted = self._restart_flag is not None
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
            has_ai_mask=aided and self._slot.ai_mask is not None,
            clock_restarted=restarted,
        )
        self._event("case_open", {"code": read.code, "order": read.order, "aided": aided})
        if aided:
            self._overlay_visible = True
            self._overlay_since = now
        self._set_phase(Phase.READING)
        self.case_changed.emit(self._current)

    # -- images -----------------------------------------------------------------------
    def load_volume(self) -> Any:
        """The current case's CT volume (``readerstudy.imaging.load_volume``)."""
        _, slot, _ = self._open_read("load_volume")
        if self._volume_loader is not None:
            return self._volume_loader(slot.image)
        from readerstudy.imaging import load_volume

        return load_volume(slot.image)

    def load_ai_mask(self) -> Any:
        """The AI lesion mask of the current case (SimpleITK image); aided reads only."""
        _, slot, current = self._open_read("load_ai_mask")
        if not current.aided:
            raise BlindingError(f"{current.code} is an unaided read: AI outputs are not shown")
        if slot.ai_mask is None:
            raise SessionError(f"{current.code}: no AI mask was precomputed")
        import SimpleITK as sitk

        return sitk.ReadImage(str(slot.ai_mask))

    # -- interaction ------------------------------------------------------------------
    def input(self) -> None:
        """Any reader input (mouse move, key) that shows the reader is at work."""
        self._clock_step("input")
        self._follow_clock()

    def record_window_level(self, center: float, width: float) -> None:
        """A window/level change (call on release, not on every drag step)."""
        if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
            raise ValueError(f"window/level must be finite with width > 0, got {center}/{width}")
        self.input()
        self._window_level_changes += 1
        self._event("window_level", {"center": float(center), "width": float(width)})

    def record_slice(self, index: int) -> None:
        """A slice move; summarised into one ``slice_moves`` event per read."""
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"slice index must be a non-negative int, got {index!r}")
        self.input()
        self._slices.append(index)

    def set_overlay(self, visible: bool) -> None:
        """Show or hide the AI overlay (aided reads only); audited with exposure time."""
        _, _, current = self._open_read("set_overlay")
        if not current.aided:
            raise BlindingError(f"{current.code} is an unaided read: no AI overlay")
        if bool(visible) is self._overlay_visible:
            return
        self.input()
        self._account_overlay()
        self._overlay_visible = bool(visible)
        self._overlay_since = self._time.now() if visible else None
        self._event(
            "overlay_toggle",
            {"visible": bool(visible), "exposure_s": round(self._overlay_exposure_s, 3)},
        )
        self.overlay_changed.emit(bool(visible))

    def _account_overlay(self) -> None:
        if self._overlay_visible and self._overlay_since is not None:
            now = self._time.now()
            self._overlay_exposure_s += (now - self._overlay_since).total_seconds()
            self._overlay_since = now

    def tick(self) -> None:
        """Called by a timer (about once a second): detects idleness, emits the clock."""
        clock = self._require_reading("tick")
        if clock.tick():
            self._event(
                "idle", {"since_s": round(clock.intervals[-1].end_s, 3) if clock.intervals else 0.0}
            )
        self._follow_clock()
        self.clock_ticked.emit(clock.active_s())

    def pause(self) -> None:
        self._clock_step("pause")
        self._account_overlay()
        self._event("pause")
        self._follow_clock()

    def resume(self) -> None:
        self._clock_step("resume")
        self._event("resume")
        self._follow_clock()

    def focus_lost(self) -> None:
        clock = self._require_reading("focus_lost")
        if clock.state in (ClockState.RUNNING, ClockState.IDLE):
            clock.focus_lost()
            self._event("focus_lost")
            self._follow_clock()

    def focus_gained(self) -> None:
        clock = self._require_reading("focus_gained")
        if clock.state is ClockState.UNFOCUSED:
            clock.focus_gained()
            self._event("resume", {"after": "focus_lost"})
            self._follow_clock()

    # -- answers ----------------------------------------------------------------------
    def _validated(self, code: str, answers: Mapping[str, Any]) -> dict[str, dict]:
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
        clean: dict[str, dict] = {}
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

    def submit(self, answers: Mapping[str, Any]) -> CaseView | None:
        """Store the answers for the current case and open the next one (None when done).

        ``answers`` maps every unit of the form to ``{"call": 0|1, "rating": number}`` (or
        just the call). One store transaction; the audit chain gets a ``submit`` event.
        """
        clock, slot, current = self._open_read("submit")
        if clock.state is ClockState.PAUSED:
            raise SessionError("submit: the read is paused; resume it first")
        units = self._validated(current.code, answers)
        if self._slices:
            self._event(
                "slice_moves",
                {
                    "count": len(self._slices),
                    "min": min(self._slices),
                    "max": max(self._slices),
                    "last": self._slices[-1],
                },
            )
        self._account_overlay()
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
            extra={
                "code": read.code,
                "overlay_exposure_s": round(self._overlay_exposure_s, 3),
                "window_level_changes": self._window_level_changes,
                "slice_moves": len(self._slices),
            },
        )
        self._store.submit_read(submission)
        self._submitted.add(read.order)
        self._restart_flag = None
        self.progress_changed.emit(self.progress)
        self._open_next()
        return self._current

    def amend(self, code: str, answers: Mapping[str, Any], *, reason: str) -> None:
        """Replace the answers of a read submitted earlier in this session (a new version;
        the original stays). Only where study.toml sets ``allow_amendments = true``."""
        if not self._allow_amendments:
            raise SessionError("this study does not allow amendments (allow_amendments)")
        if self._phase is Phase.CLOSED:
            raise SessionError("amend: the session is closed; log in again")
        if not isinstance(reason, str) or not reason.strip():
            raise SessionError("an amendment needs a reason")
        slot = next((s for s in self._slots if s.read.code == code), None)
        if slot is None or slot.read.order not in self._submitted:
            raise SessionError(f"{code}: no read submitted under this code in this session")
        units = self._validated(code, answers)
        original = self._store.read(self.reader, self.session, slot.read.case)
        self._store.amend_read(
            original.revised(units=units, submitted_at=self._time.now()),
            reason=reason,
        )

    def close(self) -> None:
        """Log out. An open read stays in progress and reopens, flagged, at the next login."""
        if self._phase is Phase.CLOSED:
            return
        if self._slot is not None and self._clock is not None:
            self._event("pause", {"reason": "logout"})
        self._clock = None
        self._slot = None
        self._current = None
        self._set_phase(Phase.CLOSED)
