"""Designs and schedules: coverage, crossover balance, seeded orders."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from readerstudy.study.definition import Design, StudyDefinition
from readerstudy.study.design import CaseBalance, Schedule, build_schedule, split_balanced


def _definition(design: Design, n_readers: int = 4, seed: int = 7) -> StudyDefinition:
    readers = [{"id": f"r{i}"} for i in range(1, n_readers + 1)]
    return StudyDefinition(name="t", design=design, readers=readers, seed=seed)


def _cases(n: int = 30, seed: int = 1) -> list[CaseBalance]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        side = rng.choice(["left", "right", "none"])
        out.append(CaseBalance(f"C{i:03d}", 0 if side == "none" else rng.randint(1, 8), side))
    return out


@pytest.mark.parametrize("design", list(Design))
def test_every_reader_reads_every_case_once_per_modality(design):
    definition = _definition(design)
    cases = _cases()
    schedule = build_schedule(definition, cases)
    counts = Counter((r.reader, r.case, r.modality) for r in schedule.reads)
    expected = {
        (reader, c.case, m)
        for reader in definition.reader_ids
        for c in cases
        for m in definition.modalities
    }
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    # Each reader's session has unique codes S<k>-001..N and contiguous orders.
    for reader in definition.reader_ids:
        for session in (1, 2):
            reads = schedule.for_reader(reader, session)
            assert [r.order for r in reads] == list(range(1, len(cases) + 1))
            assert all(r.code == f"S{session}-{r.order:03d}" for r in reads)


def test_sequential_is_all_unaided_then_all_aided():
    schedule = build_schedule(_definition(Design.SEQUENTIAL), _cases())
    assert {r.modality for r in schedule.reads if r.session == 1} == {"unaided"}
    assert {r.modality for r in schedule.reads if r.session == 2} == {"aided"}


def test_crossover_halves_are_balanced_on_positives_and_side():
    cases = _cases(41, seed=3)
    a, b = split_balanced(cases, seed=11)
    assert sorted(a + b) == sorted(c.case for c in cases)
    assert abs(len(a) - len(b)) <= 1
    by_case = {c.case: c for c in cases}
    biggest = max(c.positives for c in cases)
    assert abs(sum(by_case[x].positives for x in a) - sum(by_case[x].positives for x in b)) <= (
        biggest
    )
    for side in ("left", "right", "none"):
        na = sum(by_case[x].side == side for x in a)
        nb = sum(by_case[x].side == side for x in b)
        assert abs(na - nb) <= 1, side


def test_crossover_counterbalances_modality_order_and_mixes_sessions():
    definition = _definition(Design.CROSSOVER)
    schedule = build_schedule(definition, _cases())
    groups = schedule.groups
    assert groups is not None
    assert sorted(groups[0] + groups[1]) == list(definition.reader_ids)
    assert abs(len(groups[0]) - len(groups[1])) <= 1
    first_modality = Counter()
    for read in schedule.reads:
        if read.session == 1:
            first_modality[(read.case, read.modality)] += 1
        # every session mixes both modalities
    for reader in definition.reader_ids:
        for session in (1, 2):
            assert {r.modality for r in schedule.for_reader(reader, session)} == {
                "unaided",
                "aided",
            }
    # for every case, half the readers read it unaided first and half aided first
    for case in {r.case for r in schedule.reads}:
        assert first_modality[(case, "unaided")] == first_modality[(case, "aided")] == 2


def test_orders_reproduce_from_the_seed_and_differ_between_sessions_and_seeds():
    cases = _cases()
    one = build_schedule(_definition(Design.SEQUENTIAL, seed=5), cases)
    again = build_schedule(_definition(Design.SEQUENTIAL, seed=5), list(reversed(cases)))
    other = build_schedule(_definition(Design.SEQUENTIAL, seed=6), cases)
    assert one == again
    assert one.content_hash() == again.content_hash() != other.content_hash()
    for reader in ("r1", "r2"):
        s1 = [r.case for r in one.for_reader(reader, 1)]
        s2 = [r.case for r in one.for_reader(reader, 2)]
        assert s1 != s2
    assert [r.case for r in one.for_reader("r1", 1)] != [r.case for r in one.for_reader("r2", 1)]


def test_schedule_json_and_csv_round_trip(tmp_path):
    schedule = build_schedule(_definition(Design.CROSSOVER), _cases(10))
    assert Schedule.from_json(schedule.to_json()) == schedule
    path = schedule.write_csv(tmp_path / "schedule.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "reader,session,order,code,case,modality"
    assert len(lines) == 1 + len(schedule.reads)
