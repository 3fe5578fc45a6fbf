"""The audit hash chain: canonical JSON, event hashes, read digests and chain verification.

Each event's hash is ``SHA-256(prev_hash + canonical_json(event))`` where the event is
``{study, seq, kind, reader, session, case, payload, at}``; the first event's ``prev_hash`` is
:data:`GENESIS`. A submitted read is covered by the digest (SHA-256 of its canonical content)
carried in the payload of its ``submit`` or ``amend`` event, so changing a stored rating
breaks the match between the read and the chain.

:func:`read_digest` and :func:`event_hash` define the hashes from Python values. The forms
below (:data:`READ_FORM`, :data:`EVENT_FORM` ...) write the same canonical text from the
stored columns directly, which is how the store recomputes them for a whole study.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from readerstudy.store.canonical import CanonicalTemplate, canonical_json, json_fragment
from readerstudy.store.records import AuditEvent, AuditVerification, ReadSubmission, StoredRead

GENESIS = "0" * 64
"""``prev_hash`` of the first event of a study's chain."""

READ_EVENT_KINDS = frozenset({"submit", "amend"})
"""Event kinds written only by the store, each covering one read version."""

PROGRESS_EVERY = 1000
"""Events or reads between two progress reports of :func:`verify_chain`."""

CONTENT_FIELDS = (
    "reader",
    "session",
    "modality",
    "case",
    "order",
    "units",
    "active_s",
    "wall_s",
    "started_at",
    "submitted_at",
    "intervals",
    "flags",
    "extra",
)
"""Keys of a read's content (:meth:`ReadSubmission.content`), covered by its digest."""

READ_FORM = CanonicalTemplate(
    {"study": "study", "id": "id", "version": "version", "content": {f: f for f in CONTENT_FIELDS}}
)
"""The canonical text whose SHA-256 is a read's digest (see :func:`read_digest`)."""
EVENT_FORM = CanonicalTemplate(
    {f: f for f in ("study", "seq", "kind", "reader", "session", "case", "payload", "at")}
)
"""The canonical text hashed, after ``prev_hash``, into an event's hash."""


def text_digest(text: str) -> str:
    """SHA-256 (hex) of canonical text."""
    return hashlib.sha256(text.encode()).hexdigest()


def read_digest(study: str, read_id: int, version: int, content: dict[str, Any]) -> str:
    """SHA-256 of a read version's canonical content, bound to its study, row id and version."""
    body = {"study": study, "id": read_id, "version": version, "content": content}
    return text_digest(canonical_json(body))


def stored_read_digest(study: str, read: StoredRead) -> str:
    return read_digest(study, read.id, read.version, read.content())


JSON_FIELDS = ("units", "intervals", "flags", "extra")
"""Content fields stored as canonical JSON text (the rest are scalars and times)."""


def json_texts(sub: ReadSubmission) -> dict[str, str]:
    """The canonical JSON of a submission's :data:`JSON_FIELDS`: stored as they are, and the
    very pieces its digest text is made of."""
    return {
        "units": canonical_json(sub.units),
        "intervals": canonical_json(sub.intervals),
        "flags": canonical_json(list(sub.flags)),
        "extra": canonical_json(sub.extra),
    }


def submission_digest(
    study: str, read_id: int, version: int, sub: ReadSubmission, texts: Mapping[str, str]
) -> str:
    """:func:`read_digest` of a submission from its :func:`json_texts`, without encoding its
    content a second time (the interaction record in ``extra`` can be large)."""
    scalars = {
        name: json_fragment(getattr(sub, name))
        for name in ("reader", "session", "modality", "case", "order", "active_s", "wall_s")
    }
    times = {name: canonical_json(getattr(sub, name)) for name in ("started_at", "submitted_at")}
    return text_digest(
        READ_FORM.fill(
            {
                "study": json_fragment(study),
                "id": json_fragment(read_id),
                "version": json_fragment(version),
                **scalars,
                **times,
                **texts,
            }
        )
    )


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
    return text_digest(prev_hash + canonical_json(body))


def stored_event_hash(study: str, event: AuditEvent) -> str:
    """The hash of a stored event recomputed from its decoded content."""
    return event_hash(
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


class EventCheck(NamedTuple):
    """A stored event as verification sees it: its links, and its hash recomputed from the
    stored content (the store recomputes it; :func:`verify_chain` compares)."""

    seq: int
    kind: str
    prev_hash: str
    hash: str
    recomputed: str
    payload: dict
    """The parsed payload (read, meta and any other event); ``{}`` when it is not an object."""


class ReadCheck(NamedTuple):
    """A stored read version and the digest recomputed from its stored rows (None: unknown,
    ask ``recheck``)."""

    id: int
    version: Any
    reader: Any
    session: Any
    case: Any
    digest: str | None


def verify_chain(
    events: Iterable[EventCheck],
    reads: Iterable[ReadCheck],
    *,
    total: int,
    head: tuple[int, str] | None,
    anchor: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    meta: Mapping[str, str] | None = None,
    recheck: Callable[[int], str | None] | None = None,
) -> AuditVerification:
    """Check every link, the chain head, each read against its submit/amend digest, and
    each study setting in ``meta`` (key -> stored JSON text) against its audited hash.

    ``anchor`` is an event hash recorded outside the store earlier (e.g. ``head_hash`` of a
    past verification, printed in an export); it must still be the hash of a stored event,
    which reveals a chain rewritten from scratch.

    ``events`` must come in sequence order; ``head`` is the stored ``(last seq, last hash)``.
    ``reads`` may name a read again later with a corrected digest (the last one counts).
    ``recheck(read_id)`` recomputes one read's digest the exact, slow way; it is asked for
    each read whose digest is unknown or differs from its event's, so a fast recomputation
    can never report a read that the exact one accepts. ``progress(done, total)`` is called
    every PROGRESS_EVERY events and reads, and at the end; ``total`` counts both.
    """
    problems: list[tuple[int | None, str]] = []
    covered: dict[int, tuple[int, Any, Any]] = {}  # read id -> (event seq, digest, version)
    audited: dict[str, tuple[int, str]] = {}  # setting -> (event seq, sha256)
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
        if event.recomputed != event.hash:
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
        elif event.kind == META_EVENT:
            _audit_setting(audited, event.seq, event.payload)
        prev_hash, expected_seq = event.hash, event.seq + 1

    last_hash = prev_hash if n_events else None
    if not anchored:
        problems.append(
            (None, f"the recorded hash {anchor} is no longer in the chain: events were rewritten")
        )
    problems.extend(_check_head(head, last=(expected_seq - 1, prev_hash)))

    outcomes: dict[int, tuple[int | None, str] | None] = {}
    n_reads = 0
    for read in reads:
        if read.id not in outcomes:
            n_reads += 1
            if progress is not None and n_reads % PROGRESS_EVERY == 0:
                progress(n_events + n_reads, total)
        outcomes[read.id] = _read_problem(read, covered.get(read.id), recheck)
    problems.extend(problem for problem in outcomes.values() if problem is not None)
    problems.extend(
        (seq, f"event {seq} covers read {read_id}, which is not in the store")
        for read_id, (seq, _, _) in covered.items()
        if read_id not in outcomes
    )

    problems.extend(_setting_problems(audited, meta or {}))
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


def _read_problem(
    read: ReadCheck,
    link: tuple[int, Any, Any] | None,
    recheck: Callable[[int], str | None] | None,
) -> tuple[int | None, str] | None:
    """What is wrong with one stored read version against the event covering it, or None."""
    where = (
        f"read {read.id} (reader {read.reader}, session {read.session}, case {read.case}, "
        f"version {read.version})"
    )
    if link is None:
        return (None, f"{where} has no submit/amend event in the audit log")
    seq, digest, version = link
    if version == read.version and digest is not None:
        if read.digest == digest:
            return None
        if recheck is not None and recheck(read.id) == digest:
            return None
    return (seq, f"{where}: stored calls/ratings/times do not match the digest in event {seq}")


META_EVENT = "meta"
"""Event kind chained with every study setting written (key and SHA-256 of its JSON)."""


def meta_digest(encoded: str) -> str:
    return hashlib.sha256(encoded.encode()).hexdigest()


def _audit_setting(audited: dict[str, tuple[int, str]], seq: int, payload: dict) -> None:
    audited[payload.get("key", "")] = (seq, payload.get("sha256", ""))


def meta_problems(
    events: Iterable[AuditEvent], meta: Mapping[str, str]
) -> list[tuple[int | None, str]]:
    """Settings (schedule, design hash, totals, PINs ...) whose stored JSON is not the one
    the audit log last recorded: changed, garbled or removed outside readerstudy.

    A store written before settings were chained has no ``meta`` event at all; its settings
    are then left to the lock event's design hash (checked at login)."""
    audited: dict[str, tuple[int, str]] = {}
    for event in events:
        if event.kind == META_EVENT:
            _audit_setting(audited, event.seq, event.payload)
    return _setting_problems(audited, meta)


def _setting_problems(
    audited: Mapping[str, tuple[int, str]], meta: Mapping[str, str]
) -> list[tuple[int | None, str]]:
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
