"""Designs and the reading schedule: who reads which case, when, with which modality.

``sequential`` is the paper's design: session 1 reads every case with the reference modality
(unaided), session 2, after the washout, every case with the AI (aided). ``crossover`` splits
the cases into two halves balanced on positive units and infarct side and the readers into
two groups; each session mixes both halves and both modalities, and a case's modality order
is reversed between the groups, so every reader reads every case once per modality.

Each reader gets a seeded random case order per session, different between sessions, and sees
neutral per-session codes (``S2-017``) that do not link a session-1 read to a session-2 read.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from analysis.files import atomic_output
from readerstudy.errors import ReaderStudyError
from readerstudy.study.definition import Design, StudyDefinition

SESSIONS = (1, 2)
SCHEDULE_COLUMNS = ("reader", "session", "order", "code", "case", "modality")


@dataclass(frozen=True)
class ScheduledRead:
    """One planned read: the reader's ``order``-th case (1-based) of ``session``."""

    reader: str
    session: int
    order: int
    code: str
    """Neutral per-session code shown to the reader, e.g. ``S2-017``."""
    case: str
    """The study's case code (never shown to the reader)."""
    modality: str


@dataclass(frozen=True)
class CaseBalance:
    """What the crossover balances: positive units and the infarct side of one case."""

    case: str
    positives: int
    side: str


def _two_lists(rows: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A stored pair of case or reader lists (the halves, the groups) as tuples."""
    first, second = (tuple(row) for row in rows)
    return first, second


@dataclass(frozen=True)
class Schedule:
    """The full, seeded reading plan of a study."""

    design: Design
    seed: int
    reads: tuple[ScheduledRead, ...]
    halves: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    groups: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    def for_reader(self, reader: str, session: int) -> list[ScheduledRead]:
        """The reader's reads of one session, in reading order."""
        return sorted(
            (r for r in self.reads if r.reader == reader and r.session == session),
            key=lambda r: r.order,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "design": self.design.value,
            "seed": self.seed,
            "halves": [list(h) for h in self.halves] if self.halves else None,
            "groups": [list(g) for g in self.groups] if self.groups else None,
            "reads": [list(asdict(r).values()) for r in self.reads],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        return cls(
            design=Design(data["design"]),
            seed=int(data["seed"]),
            reads=tuple(ScheduledRead(*row) for row in data["reads"]),
            halves=_two_lists(data["halves"]) if data.get("halves") else None,
            groups=_two_lists(data["groups"]) if data.get("groups") else None,
        )

    def content_hash(self) -> str:
        blob = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()

    def write_csv(self, path: Path) -> Path:
        """The human-readable schedule (``STUDY/schedule.csv``)."""
        with (
            atomic_output(path) as temporary,
            temporary.open("w", newline="", encoding="utf-8") as handle,
        ):
            writer = csv.writer(handle)
            writer.writerow(SCHEDULE_COLUMNS)
            for read in sorted(self.reads, key=lambda r: (r.reader, r.session, r.order)):
                writer.writerow(asdict(read).values())
        return Path(path)


def _rng(seed: int, *labels: object) -> random.Random:
    """An independent, reproducible stream per (seed, labels): orders differ by label."""
    digest = hashlib.sha256(json.dumps([seed, *map(str, labels)]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def split_balanced(
    cases: Sequence[CaseBalance], seed: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Two halves with (nearly) equal counts per side and equal positive units.

    Within each side, cases are sorted by positive units (ties broken by the seed) and dealt
    in a snake A B B A A B ..., so the halves' positive-unit totals differ by at most the
    largest per-case count and each side's counts differ by at most one.
    """
    rng = _rng(seed, "halves")
    halves: tuple[list[str], list[str]] = ([], [])
    for side in sorted({c.side for c in cases}):
        members = [c for c in cases if c.side == side]
        rng.shuffle(members)
        members.sort(key=lambda c: -c.positives)
        # The smaller half so far takes this side's first case, keeping the sizes equal.
        first = int(len(halves[1]) < len(halves[0]))
        for k, case in enumerate(members):
            halves[first ^ int(k % 4 in (1, 2))].append(case.case)
    return tuple(sorted(halves[0])), tuple(sorted(halves[1]))


def split_groups(readers: Sequence[str], seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Readers into two groups of (nearly) equal size, seeded."""
    shuffled = list(readers)
    _rng(seed, "groups").shuffle(shuffled)
    return tuple(sorted(shuffled[0::2])), tuple(sorted(shuffled[1::2]))


def _ordered(
    reader: str, session: int, seed: int, plan: Sequence[tuple[str, str]]
) -> list[ScheduledRead]:
    items = sorted(plan)
    _rng(seed, "order", reader, session).shuffle(items)
    return [
        ScheduledRead(reader, session, i, f"S{session}-{i:03d}", case, modality)
        for i, (case, modality) in enumerate(items, start=1)
    ]


def build_schedule(
    definition: StudyDefinition, cases: Sequence[CaseBalance], *, seed: int | None = None
) -> Schedule:
    """The seeded schedule of ``definition`` over ``cases`` (same seed, same schedule)."""
    if not cases:
        raise ReaderStudyError("the study has no cases: nothing to schedule")
    seed = definition.seed if seed is None else seed
    reference, aided = definition.modalities
    names = [c.case for c in cases]
    reads: list[ScheduledRead] = []
    if definition.design is Design.SEQUENTIAL:
        for reader in definition.reader_ids:
            for session, modality in zip(SESSIONS, (reference, aided), strict=True):
                reads += _ordered(reader, session, seed, [(c, modality) for c in names])
        return Schedule(Design.SEQUENTIAL, seed, tuple(reads))
    if len(cases) < 2:
        raise ReaderStudyError("a crossover design needs at least two cases (two halves)")
    halves = split_balanced(cases, seed)
    groups = split_groups(definition.reader_ids, seed)
    for g, group in enumerate(groups):
        for session in SESSIONS:
            # Group 0 reads half A unaided in session 1; group 1 the reverse; session 2 swaps.
            first = (g + session - 1) % 2
            plan = [(c, reference) for c in halves[first]]
            plan += [(c, aided) for c in halves[1 - first]]
            for reader in group:
                reads += _ordered(reader, session, seed, plan)
    return Schedule(Design.CROSSOVER, seed, tuple(reads), halves=halves, groups=groups)
