"""Eight workstation processes write one store at once: no lost or duplicated rows."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from store_workload import write_reads

N_PROCESSES = 8
READS_EACH = 12


@pytest.mark.slow
def test_eight_processes_writing_one_fresh_store(location):
    """The store does not exist yet: all eight create, then write it concurrently."""
    context = multiprocessing.get_context("spawn")
    readers = [f"r{i}" for i in range(1, N_PROCESSES + 1)]
    with ProcessPoolExecutor(N_PROCESSES, mp_context=context) as pool:
        futures = [
            pool.submit(write_reads, location.target, "study-a", r, READS_EACH, location.schema)
            for r in readers
        ]
        acknowledged = {r: f.result(timeout=300) for r, f in zip(readers, futures, strict=True)}

    with location.open() as store:
        reads = store.reads(all_versions=True)
        events = store.events()
        verification = store.verify_audit()
        assert store.in_progress() == []
    assert len(reads) == N_PROCESSES * READS_EACH
    assert sorted(r.id for r in reads) == sorted(i for ids in acknowledged.values() for i in ids)
    assert len({(r.reader, r.session, r.case) for r in reads}) == len(reads)
    for reader in readers:
        mine = [r for r in reads if r.reader == reader]
        assert [r.case for r in mine] == [f"case{i:03d}" for i in range(1, READS_EACH + 1)]
        kinds = [e.kind for e in events if e.reader == reader]
        assert kinds == ["login"] + ["case_open", "submit"] * READS_EACH
    # login + (case_open + submit) per read, one gapless chain across all processes
    assert [e.seq for e in events] == list(range(1, N_PROCESSES * (1 + 2 * READS_EACH) + 1))
    # Read ids are taken under the write lock, so they grow in commit (chain) order: a
    # monitor asking for the reads after the last id it saw misses none.
    submitted = [e.payload["read_id"] for e in events if e.kind == "submit"]
    assert submitted == sorted(submitted)
    assert verification.ok, verification.reason
