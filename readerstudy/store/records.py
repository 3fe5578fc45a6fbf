"""Values the store takes and returns: submissions, stored reads, audit events, verification.

A :class:`ReadSubmission` normalises itself on construction (calls to int, ratings and times to
float, timestamps to aware UTC datetimes, intervals to dicts of datetimes), so that the digest
computed when it is submitted is the digest recomputed from the stored rows later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from readerstudy.store.canonical import json_roundtrip
from readerstudy.study.clock import Spell

INTERVAL_KINDS: frozenset[str] = frozenset(spell.value for spell in Spell)
"""Kinds of reading-clock interval stored with a read: the clock's spells."""


def utc(value: datetime | str, *, what: str) -> datetime:
    """An aware datetime (or ISO 8601 string with an offset) converted to UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime or ISO string, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _finite(value: Any, *, what: str, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {number}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {number}")
    # SQLite stores -0.0 as 0.0; normalising here keeps the digest of a read the same
    # before and after storage.
    return number + 0.0


def _text(value: Any, *, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value


def _units(units: Any, *, where: str) -> dict[str, dict]:
    if not isinstance(units, Mapping):
        raise TypeError(f"{where}: units must be a dict unit -> {{call, rating}}")
    if not units:
        raise ValueError(f"{where}: units is empty; a read rates at least one unit")
    normalised: dict[str, dict] = {}
    for unit, answer in units.items():
        _text(unit, what=f"{where}: unit code")
        if not isinstance(answer, Mapping):
            raise TypeError(f"{where}, unit {unit}: expected {{call, rating}}, got {answer!r}")
        unknown = set(answer) - {"call", "rating"}
        if unknown:
            raise ValueError(f"{where}, unit {unit}: unknown keys {sorted(unknown)}")
        call, rating = answer.get("call"), answer.get("rating")
        if call is not None and (isinstance(call, bool) or call not in (0, 1)):
            raise ValueError(f"{where}, unit {unit}: call must be 0 or 1, got {call!r}")
        if call is None and rating is None:
            raise ValueError(f"{where}, unit {unit}: neither call nor rating given")
        normalised[unit] = {
            "call": None if call is None else int(call),
            "rating": None
            if rating is None
            else _finite(rating, what=f"{where}, unit {unit}: rating"),
        }
    return normalised


def _intervals(intervals: Any, *, where: str) -> tuple[dict, ...]:
    if isinstance(intervals, str | bytes | Mapping):
        raise TypeError(f"{where}: intervals must be a sequence of {{kind, start, end}} dicts")
    normalised = []
    for i, interval in enumerate(intervals):
        what = f"{where}, interval {i}"
        if not isinstance(interval, Mapping):
            raise TypeError(f"{what}: expected a {{kind, start, end}} dict, got {interval!r}")
        if set(interval) != {"kind", "start", "end"}:
            raise ValueError(f"{what}: keys must be kind, start, end; got {sorted(interval)}")
        kind = interval["kind"]
        if kind not in INTERVAL_KINDS:
            raise ValueError(f"{what}: kind {kind!r} is not one of {sorted(INTERVAL_KINDS)}")
        start = utc(interval["start"], what=f"{what} start")
        end = None if interval["end"] is None else utc(interval["end"], what=f"{what} end")
        if end is not None and end < start:
            raise ValueError(f"{what}: ends {end.isoformat()} before it starts")
        normalised.append({"kind": kind, "start": start, "end": end})
    return tuple(normalised)


@dataclass(frozen=True)
class ReadSubmission:
    """One reader's answers for one case in one session, as submitted."""

    reader: str
    session: int
    modality: str
    case: str
    order: int
    """Position of the case in the reader's session (1-based)."""
    units: dict[str, dict]
    """Unit code -> ``{"call": 0|1|None, "rating": float|None}``."""
    active_s: float
    wall_s: float
    started_at: datetime
    submitted_at: datetime
    intervals: tuple[dict, ...] = ()
    """Reading-clock intervals ``{kind: active|idle|paused|focus_lost, start, end}``."""
    flags: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "reader", _text(self.reader, what="reader"))
        where = f"read of reader {self.reader}, case {self.case!r}"
        set_(self, "modality", _text(self.modality, what=f"{where}: modality"))
        set_(self, "case", _text(self.case, what=f"{where}: case"))
        for name in ("session", "order"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{where}: {name} must be an int, got {value!r}")
            if value < 1:
                raise ValueError(f"{where}: {name} must be >= 1, got {value}")
        set_(self, "units", _units(self.units, where=where))
        set_(self, "active_s", _finite(self.active_s, what=f"{where}: active_s", minimum=0))
        set_(self, "wall_s", _finite(self.wall_s, what=f"{where}: wall_s", minimum=0))
        set_(self, "started_at", utc(self.started_at, what=f"{where}: started_at"))
        set_(self, "submitted_at", utc(self.submitted_at, what=f"{where}: submitted_at"))
        if self.submitted_at < self.started_at:
            raise ValueError(
                f"{where}: submitted_at {self.submitted_at.isoformat()} is before "
                f"started_at {self.started_at.isoformat()}"
            )
        set_(self, "intervals", _intervals(self.intervals, where=where))
        if isinstance(self.flags, str):
            raise TypeError(f"{where}: flags must be a tuple of strings, not one string")
        set_(self, "flags", tuple(_text(f, what=f"{where}: flag") for f in self.flags))
        if not isinstance(self.extra, Mapping):
            raise TypeError(f"{where}: extra must be a dict, got {type(self.extra).__name__}")
        try:
            set_(self, "extra", json_roundtrip(dict(self.extra)))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{where}: extra cannot be stored as JSON: {exc}") from None

    def content(self) -> dict[str, Any]:
        """The JSON-ready content covered by the read's digest (everything but id/version)."""
        return {
            "reader": self.reader,
            "session": self.session,
            "modality": self.modality,
            "case": self.case,
            "order": self.order,
            "units": {unit: dict(answer) for unit, answer in sorted(self.units.items())},
            "active_s": self.active_s,
            "wall_s": self.wall_s,
            "started_at": self.started_at,
            "submitted_at": self.submitted_at,
            "intervals": [dict(i) for i in self.intervals],
            "flags": list(self.flags),
            "extra": self.extra,
        }


@dataclass(frozen=True, kw_only=True)
class StoredRead(ReadSubmission):
    """A submitted read as stored: the submission plus its row id and version (1 = original)."""

    id: int
    version: int
    amend_reason: str | None = None

    def revised(self, **changes: Any) -> ReadSubmission:
        """This read as a submission, with ``changes``: the starting point of an amendment."""
        values = {f.name: getattr(self, f.name) for f in fields(ReadSubmission)}
        return ReadSubmission(**{**values, **changes})


@dataclass(frozen=True)
class AuditEvent:
    """One link of the hash chain."""

    seq: int
    kind: str
    reader: str | None
    session: int | None
    case: str | None
    payload: dict
    at: datetime
    hash: str
    prev_hash: str


@dataclass(frozen=True)
class AuditVerification:
    """Outcome of :meth:`Store.verify_audit`: the first broken link, if any, and why."""

    ok: bool
    n_events: int
    first_broken: int | None
    """Sequence number of the first event found broken (None when ok, or when no single
    event can be named, e.g. a read stored without any submit event)."""
    reason: str | None
    problems: tuple[tuple[int | None, str], ...] = ()
    """Every problem found, ``(sequence or None, what is wrong)``, in chain order."""
    n_reads: int = 0
    head_hash: str | None = None
    """Hash of the last stored event; record it elsewhere (report, export) to detect later a
    rewrite of the whole chain, which the chain alone cannot reveal."""
