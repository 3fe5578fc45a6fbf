"""The workstation's way into a study: the only app module ``readerstudy.gui`` imports.

:class:`Workstation` lists the readers and the state of each of their sessions, checks a PIN
and hands back a :class:`~readerstudy.study.session.ReaderSession`. It exposes nothing else:
no store, no schedule (which holds the real case ids), no truth, no AI outputs. The value
types the GUI needs are re-exported here (``__all__``), so the import-linter contract in
pyproject.toml can hold the GUI to this one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from readerstudy.errors import ReaderStudyError
from readerstudy.study.caseloader import CaseLoader, CaseLoadError, DisplayVolume, ViewerOptions
from readerstudy.study.clock import SimulatedTime, SystemTime, TimeSource
from readerstudy.study.protocol import LoginError, SessionStatus, Study
from readerstudy.study.session import (
    AIRegion,
    BlindingError,
    CaseView,
    Phase,
    Progress,
    ReaderSession,
    SessionError,
)
from readerstudy.study.washout import WashoutError


class SessionState(StrEnum):
    """What a reader can do with one of their sessions now."""

    DONE = "done"
    """Every case submitted."""
    OPEN = "open"
    """Can be read now (including a session in progress)."""
    LOCKED = "locked"
    """Washout not over (``opens_at`` says when), or the previous session is not done
    (``opens_at`` None)."""


@dataclass(frozen=True)
class SessionEntry:
    session: int
    state: SessionState
    done: int
    total: int
    opens_at: datetime | None
    """Aware UTC; when a LOCKED session's washout ends (None until the previous is done)."""


@dataclass(frozen=True)
class ReaderEntry:
    reader: str
    """The reader's id (what ``login`` takes)."""
    name: str
    """Display name (the id when the study gives none)."""
    sessions: tuple[SessionEntry, ...]


def session_state(row: SessionStatus, previous_done: bool, now: datetime) -> SessionState:
    """What the reader can do with the session of ``row`` at ``now`` (``previous_done``: the
    reader's previous session is complete)."""
    if row.complete:
        return SessionState.DONE
    if row.session == 1 or (
        previous_done and (row.overridden or (row.opens_at is not None and row.opens_at <= now))
    ):
        return SessionState.OPEN
    return SessionState.LOCKED


class Workstation:
    """One open study, as a reading workstation sees it. Use :meth:`open`; a context manager."""

    def __init__(self, study: Study) -> None:
        self._study = study
        self._sessions: list[ReaderSession] = []
        self.name = study.definition.name
        """The study's name (for the title bar)."""
        self.options = study.viewer_options
        """How the viewer shows images (study.toml ``[viewer]``)."""

    @classmethod
    def open(
        cls, study_dir: str | Path, *, db: str | None = None, time: TimeSource | None = None
    ) -> Workstation:
        """Open a locked study folder (``db`` overrides the definition's store URL)."""
        study = Study.open(study_dir, db=db, time=time)
        if not study.locked:
            study.close()
            raise ReaderStudyError(
                f"study {study.definition.name} is not locked: the coordinator runs "
                f"`readerstudy study lock {study.path}` before reading starts"
            )
        return cls(study)

    def readers(self) -> list[ReaderEntry]:
        """Every reader with each session's state, progress and washout opening."""
        rows = self._study.status()
        now = self._study.time.now()
        entries = []
        for reader in self._study.definition.readers:
            sessions = []
            previous_done = True
            for row in (r for r in rows if r.reader == reader.id):
                state = session_state(row, previous_done, now)
                sessions.append(
                    SessionEntry(
                        session=row.session,
                        state=state,
                        done=row.done,
                        total=row.total,
                        opens_at=row.opens_at if state is SessionState.LOCKED else None,
                    )
                )
                previous_done = state is SessionState.DONE
            entries.append(ReaderEntry(reader.id, reader.name or reader.id, tuple(sessions)))
        return entries

    def login(self, reader: str, pin: str) -> ReaderSession:
        """Check the PIN (slower after each failure) and the washout; the reader's current
        session, at their first unread case. LoginError or WashoutError otherwise."""
        session = self._study.login(reader, pin, loader=CaseLoader(self.options, prefetch=True))
        self._sessions.append(session)
        return session

    def close(self) -> None:
        """Log out every session handed out (open reads stay in progress) and close the study."""
        for session in self._sessions:
            session.close()
        self._sessions.clear()
        self._study.close()

    def __enter__(self) -> Workstation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "AIRegion",
    "BlindingError",
    "CaseLoadError",
    "CaseView",
    "DisplayVolume",
    "LoginError",
    "Phase",
    "Progress",
    "ReaderEntry",
    "ReaderSession",
    "ReaderStudyError",
    "SessionEntry",
    "SessionError",
    "SessionState",
    "SimulatedTime",
    "SystemTime",
    "TimeSource",
    "ViewerOptions",
    "WashoutError",
    "Workstation",
]
