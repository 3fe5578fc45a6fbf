"""The audit hash chain: canonical JSON, event hashes, read digests and chain verification.

Each event's hash is ``SHA-256(prev_hash + canonical_json(event))`` where the event is
``{study, seq, kind, reader, session, case, payload, at}``; the first event's ``prev_hash`` is
:data:`GENESIS`. A submitted read is covered by the digest (SHA-256 of its canonical content)
carried in the payload of its ``submit`` or ``amend`` event, so changing a stored rating
breaks the match between the read and the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from readerstudy.store.canonical import canonical_json
from readerstudy.store.records import AuditEvent, AuditVerification, StoredRead

GENESIS = "0" * 64
"""``prev_hash`` of the first event of a study's chain."""

READ_EVENT_KINDS = frozenset({"submit", "amend"})
"""Event kinds written only by the store, each covering one read version."""

PROGRESS_EVERY = 1000
"""Events or reads between two progress reports of :func:`verify_chain`."""


def read_digest(study: str, read_id: int, version: int, content: dict[str, Any]) -> str:
    """SHA-256 of a read version's canonical content, bound to its study, row id and version."""
    body = {"study": study, "id": read_id, "version": version, "content": content}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def stored_read_digest(study: str, read: StoredRead) -> str:
    return read_digest(study, read.id, read.version, read.content())


def event_hash(
    prev_hash: str,
    *,
    study: str,
    seq: int,
    kind: str,
    reader: str | None,
    session: int | None,
    case: str | None,
    payload: dict,
    at: datetime,
) -> str:
    """The hash of one event, chained to the previous event's hash."""
    body = {
        "study": study,
        "seq": seq,
        "kind": kind,
        "reader": reader,
        "session": session,
        "case": case,
        "payload": payload,
        "at": at,
    }
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()


def verify_chain(
    study: str,
    events: Sequence[AuditEvent],
    reads: Sequence[StoredRead],
    *,
    head: tuple[int, str] | None,
    anchor: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    meta: Mapping[str, str] | None = None,
) -> AuditVerification:
    """Check every link, the chain head, each read against its submit/amend digest, and
    each study setting in ``meta`` (key -> stored JSON text) against its audited hash.

    ``anchor`` is an event hash recorded outside the store earlier (e.g. ``head_hash`` of a
    past verification, printed in an export); it must still be the hash of a stored event,
    which reveals a chain rewritten from scratch.

    ``events`` must come in sequence order; ``head`` is the stored ``(last seq, last hash)``.
    ``progress(done, total)`` is called every PROGRESS_EVERY events and reads, and at the end.
    """
    total = len(events) + len(reads)
    problems: list[tuple[int | None, str]] = []
    covered: dict[int, tuple[int, str, int]] = {}  # read id -> (event seq, digest, version)
    prev_hash, expected_seq, n_events = GENESIS, 1, 0
    anchored = anchor is None
    for event in events:
        n_events += 1
        if progress is not None and n_events % PROGRESS_EVERY == 0:
            progress(n_events, total)
        anchored = anchored or event.hash == anchor
        if event.seq != expected_seq:
            missing = (
                f"events {expected_seq}-{event.seq - 1} are"
                if event.seq - expected_seq > 1
                else f"event {expected_seq} is"
            )
            problems.append((expected_seq, f"{missing} missing (next stored event is {event.seq})"))
        if event.prev_hash != prev_hash:
            problems.append(
                (
                    event.seq,
                    f"event {event.seq} ({event.kind}): prev_hash does not match the "
                    "hash of the event before it",
                )
            )
        recomputed = event_hash(
            event.prev_hash,
            study=study,
            seq=event.seq,
            kind=event.kind,
            reader=event.reader,
            session=event.session,
            case=event.case,
            payload=event.payload,
            at=event.at,
        )
        if recomputed != event.hash:
            problems.append(
                (
                    event.seq,
                    f"event {event.seq} ({event.kind}): content does not match its hash "
                    "(kind, reader, session, case, payload or time was changed)",
                )
            )
        if event.kind in READ_EVENT_KINDS:
            read_id = event.payload.get("read_id")
            if not isinstance(read_id, int) or read_id in covered:
                problems.append(
                    (
                        event.seq,
                        f"event {event.seq} ({event.kind}): names read {read_id!r}, "
                        "which is missing or covered twice",
                    )
                )
            else:
                covered[read_id] = (
                    event.seq,
                    event.payload.get("digest"),
                    event.payload.get("version"),
                )
        prev_hash, expected_seq = event.hash, event.seq + 1

    last_hash = prev_hash if n_events else None
    if not anchored:
        problems.append(
            (None, f"the recorded hash {anchor} is no longer in the chain: events were rewritten")
        )
    problems.extend(_check_head(head, last=(expected_seq - 1, prev_hash)))

    n_reads = 0
    for read in reads:
        n_reads += 1
        if progress is not None and n_reads % PROGRESS_EVERY == 0:
            progress(n_events + n_reads, total)
        where = (
            f"read {read.id} (reader {read.reader}, session {read.session}, case {read.case}, "
            f"version {read.version})"
        )
        link = covered.pop(read.id, None)
        if link is None:
            problems.append((None, f"{where} has no submit/amend event in the audit log"))
            continue
        seq, digest, version = link
        if version != read.version or digest != stored_read_digest(study, read):
            problems.append(
                (seq, f"{where}: stored calls/ratings/times do not match the digest in event {seq}")
            )
    for read_id, (seq, _, _) in covered.items():
        problems.append((seq, f"event {seq} covers read {read_id}, which is not in the store"))

    problems.extend(meta_problems(events, meta or {}))
    if progress is not None:
        progress(total, total)
    problems.sort(key=lambda p: (p[0] is None, p[0] or 0))
    first_seq, first_reason = problems[0] if problems else (None, None)
    return AuditVerification(
        ok=not problems,
        n_events=n_events,
        first_broken=first_seq,
        reason=first_reason,
        problems=tuple(problems),
        n_reads=n_reads,
        head_hash=last_hash,
    )


META_EVENT = "meta"
"""Event kind chained with every study setting written (key and SHA-256 of its JSON)."""


def meta_digest(encoded: str) -> str:
    return hashlib.sha256(encoded.encode()).hexdigest()


def meta_problems(
    events: Sequence[AuditEvent], meta: Mapping[str, str]
) -> list[tuple[int | None, str]]:
    """Settings (schedule, design hash, totals, PINs ...) whose stored JSON is not the one
    the audit log last recorded: changed, garbled or removed outside readerstudy.

    A store written before settings were chained has no ``meta`` event at all; its settings
    are then left to the lock event's design hash (checked at login)."""
    audited: dict[str, tuple[int, str]] = {}
    for event in events:
        if event.kind == META_EVENT:
            audited[event.payload.get("key", "")] = (event.seq, event.payload.get("sha256", ""))
    if not audited:
        return []
    problems: list[tuple[int | None, str]] = []
    for key, encoded in meta.items():
        if key not in audited:
            problems.append((None, f"study setting {key!r} is not in the audit log"))
        elif meta_digest(encoded) != audited[key][1]:
            seq = audited[key][0]
            problems.append(
                (
                    seq,
                    f"study setting {key!r} does not match its audited hash in event {seq}: "
                    "it was changed outside readerstudy",
                )
            )
    problems.extend(
        (seq, f"study setting {key!r}, audited in event {seq}, is missing from the store")
        for key, (seq, _) in audited.items()
        if key not in meta
    )
    return problems


def _check_head(head: tuple[int, str] | None, *, last: tuple[int, str]) -> list:
    """Compare the stored chain head with the last stored event (catches deletions at the end)."""
    if head is None:
        return [] if last[0] == 0 else [(None, "the chain head record is missing")]
    if head == last:
        return []
    if head[0] > last[0]:
        return [
            (
                last[0] + 1,
                f"events {last[0] + 1}-{head[0]} are missing: the chain head records {head[0]} "
                f"events, the last stored event is {last[0]}",
            )
        ]
    if head[0] < last[0]:
        return [
            (
                head[0] + 1,
                f"events {head[0] + 1}-{last[0]} were appended outside the store (the chain "
                f"head records {head[0]} events)",
            )
        ]
    return [(last[0], f"event {last[0]}: its hash differs from the one in the chain head")]
