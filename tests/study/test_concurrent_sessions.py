"""Several workstations (processes) reading different readers of one study at once."""

from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter
from pathlib import Path

import pytest

from readerstudy.study.clock import SimulatedTime
from readerstudy.study.protocol import Study

from .conftest import PIN, all_negative, write_study_folder

READERS = tuple(f"r{i}" for i in range(1, 9))
N_CASES = 6


def _workstation(folder: str, reader: str, db: str | None, schema: str | None) -> int:
    time = SimulatedTime()
    with Study.open(Path(folder), db=db, db_schema=schema, time=time) as study:
        session = study.login(reader, PIN)
        n = 0
        while session.current is not None:
            time.advance(20)
            session.record_slice(n)
            session.submit(all_negative(session.current))
            session.advance()
            n += 1
        return n


def test_eight_workstations_read_one_study_without_lost_or_duplicated_reads(tmp_path, backend):
    db, schema = backend
    folder = tmp_path / "study"
    write_study_folder(folder, n_cases=N_CASES, readers=READERS, name=f"ws-{uuid.uuid4().hex[:12]}")
    with Study.open(folder, db=db, db_schema=schema, create=True) as study:
        study.lock()
        for reader in READERS:
            study.set_pin(reader, PIN)
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(READERS)) as pool:
        counts = pool.starmap(_workstation, [(str(folder), r, db, schema) for r in READERS])
    assert counts == [N_CASES] * len(READERS)
    with Study.open(folder, db=db, db_schema=schema) as study:
        reads = study.store.reads()
        keys = Counter((r.reader, r.session, r.case) for r in reads)
        assert len(keys) == len(reads) == N_CASES * len(READERS)
        assert set(keys.values()) == {1}
        for reader in READERS:
            plan = study.schedule.for_reader(reader, 1)
            mine = sorted((r for r in reads if r.reader == reader), key=lambda r: r.order)
            assert [r.case for r in mine] == [p.case for p in plan]
        assert study.store.in_progress() == []
        verification = study.store.verify_audit()
        assert verification.ok, verification.reason


@pytest.mark.requires_postgres
def test_a_study_reads_the_same_on_postgresql(tmp_path, postgres_url):
    folder = tmp_path / "study"
    write_study_folder(folder, n_cases=3, readers=("r1",), name=f"pg-{uuid.uuid4().hex[:12]}")
    time = SimulatedTime()
    schema = f"study_test_{uuid.uuid4().hex[:12]}"
    try:
        _read_on(folder, postgres_url, schema, time)
    finally:
        from sqlalchemy import create_engine

        engine = create_engine(postgres_url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


def _read_on(folder, url, schema, time):
    with Study.open(folder, db=url, db_schema=schema, time=time, create=True) as study:
        study.lock()
        study.set_pin("r1", PIN)
        session = study.login("r1", PIN)
        while session.current is not None:
            time.advance(15)
            session.submit(all_negative(session.current))
            session.advance()
        assert len(study.store.reads(reader="r1")) == 3
        assert study.status()[0].done == 3
        assert study.store.verify_audit().ok
