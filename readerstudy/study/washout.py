"""Washout between a reader's sessions: session k+1 opens ``washout_days`` after session k."""

from __future__ import annotations

from datetime import datetime, timedelta

from readerstudy.errors import ReaderStudyError


class WashoutError(ReaderStudyError):
    """A session was requested before its washout ended (the message gives the opening date)."""

    def __init__(self, message: str, *, opens_at: datetime | None = None) -> None:
        super().__init__(message)
        self.opens_at = opens_at


def opening(previous_completed_at: datetime, washout_days: float) -> datetime:
    """When the next session opens, given when the reader completed the previous one."""
    return previous_completed_at + timedelta(days=washout_days)


def check_open(
    reader: str,
    session: int,
    *,
    now: datetime,
    previous_completed_at: datetime | None,
    washout_days: float,
    overridden: bool,
) -> None:
    """Raise WashoutError unless ``session`` is open for ``reader`` at ``now``."""
    if session == 1 or overridden:
        return
    if previous_completed_at is None:
        raise WashoutError(
            f"reader {reader}: session {session} opens only after session {session - 1} is complete"
        )
    opens_at = opening(previous_completed_at, washout_days)
    if now < opens_at:
        raise WashoutError(
            f"reader {reader}: session {session} opens on {opens_at:%Y-%m-%d %H:%M} UTC, "
            f"{washout_days:g} days after session {session - 1} was completed on "
            f"{previous_completed_at:%Y-%m-%d %H:%M} UTC (a coordinator can override with "
            f"`readerstudy study unlock --reader {reader} --session {session} --reason ...`)",
            opens_at=opens_at,
        )
