"""Light views of a store for live monitoring: read summaries since a row id, the chain head.

A coordinator's console refreshes every few seconds while workstations write. Loading every
read with its 20 unit answers (``Store.reads``) costs seconds on a large study; these queries
return only the columns a progress view needs, and only the rows added since the last call,
each in one read-only snapshot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from readerstudy.store import schema as t
from readerstudy.store.records import AuditEvent
from readerstudy.store.repository import Store, _event


@dataclass(frozen=True)
class ReadSummary:
    """One stored read version without its answers or clock intervals."""

    id: int
    reader: str
    session: int
    modality: str
    case: str
    order: int
    version: int
    active_s: float
    wall_s: float
    submitted_at: datetime
    flags: tuple[str, ...]
    amend_reason: str | None


def read_summaries(store: Store, *, after_id: int = 0) -> list[ReadSummary]:
    """Every read version stored with a row id above ``after_id``, in id order (row ids only
    grow, so passing the last id seen returns exactly what was added since)."""
    r = t.reads.c
    query = (
        select(
            r.id,
            r.reader,
            r.session,
            r.modality,
            r.case,
            r.ord,
            r.version,
            r.active_s,
            r.wall_s,
            r.submitted_at,
            r.flags,
            r.amend_reason,
        )
        .where(r.study_id == store.study_id, r.id > after_id)
        .order_by(r.id)
    )
    with store._read() as conn:
        rows = conn.execute(query).all()
    return [
        ReadSummary(
            id=row.id,
            reader=row.reader,
            session=row.session,
            modality=row.modality,
            case=row.case,
            order=row.ord,
            version=row.version,
            active_s=row.active_s,
            wall_s=row.wall_s,
            submitted_at=row.submitted_at,
            flags=tuple(json.loads(row.flags)),
            amend_reason=row.amend_reason,
        )
        for row in rows
    ]


def chain_head(store: Store) -> tuple[int, str] | None:
    """``(sequence, hash)`` of the study's last audit event; None before the chain exists."""
    h = t.chain_head.c
    with store._read() as conn:
        row = conn.execute(select(h.seq, h.hash).where(h.study_id == store.study_id)).one_or_none()
    return None if row is None else (row.seq, row.hash)


def events_since(
    store: Store, *, after_seq: int, up_to: int, kinds: tuple[str, ...]
) -> list[AuditEvent]:
    """The study's audit events of ``kinds`` with sequence numbers in ``(after_seq, up_to]``,
    in order: a range of the chain's key, however long the chain has grown."""
    e = t.audit_events.c
    query = (
        select(t.audit_events)
        .where(
            e.study_id == store.study_id,
            e.seq > after_seq,
            e.seq <= up_to,
            e.kind.in_(kinds),
        )
        .order_by(e.seq)
    )
    with store._read() as conn:
        return [_event(row) for row in conn.execute(query).all()]
