"""The results store is never replaced behind the coordinator's back: a locked study refuses
a missing, empty or wrong store, ``--db`` never starts a new file unless asked, an archived
(write-protected) study can still be checked and exported, and locking twice is harmless."""

from __future__ import annotations

import stat
import uuid

import pytest
from typer.testing import CliRunner

from readerstudy.cli import build_app
from readerstudy.study.protocol import Study
from tests.conftest import POSTGRES_URL
from tests.robustness.refusal import assert_one_line, digests
from tests.study.conftest import PIN, all_negative, write_study_folder

runner = CliRunner()


def _cli(*args):
    return runner.invoke(build_app(), [str(a) for a in args])


@pytest.fixture
def locked(tmp_path):
    """A locked study with one submitted read."""
    folder = tmp_path / "study"
    write_study_folder(folder)
    with Study.open(folder, create=True) as study:
        study.lock()
        study.set_pin("r1", PIN)
        session = study.login("r1", PIN)
        session.submit(all_negative(session.current))
        session.close()
    return folder


@pytest.mark.parametrize("damage", ["deleted", "emptied"])
@pytest.mark.parametrize("command", ["status", "audit", "lock", "pin", "export"])
def test_a_locked_study_refuses_a_missing_or_empty_store(locked, damage, command):
    store = locked / "results.sqlite"
    for sidecar in (locked / "results.sqlite-wal", locked / "results.sqlite-shm"):
        sidecar.unlink(missing_ok=True)
    if damage == "deleted":
        store.unlink()
    else:
        store.write_bytes(b"")
    before = digests(locked)
    extra = {
        "pin": ["--reader", "r1", "--pin", "1357"],
        "export": ["--out", locked.parent / "out"],
    }.get(command, [])
    result = _cli("study", command, locked, *extra)
    assert_one_line(result, "was locked", "Restore it from your backup", "nothing was created")
    assert digests(locked) == before
    assert not (locked.parent / "out").exists()


def test_db_pointing_at_a_new_file_is_refused_unless_created(tmp_path):
    folder = tmp_path / "study"
    write_study_folder(folder)
    typo = tmp_path / "resluts.sqlite"
    assert_one_line(_cli("study", "status", folder, "--db", typo), "there is no results store")
    assert_one_line(_cli("study", "lock", folder, "--db", typo), "add --create")
    assert not typo.exists()
    result = _cli("study", "lock", folder, "--db", typo, "--create")
    assert result.exit_code == 0, result.output
    assert typo.is_file()


def test_status_of_an_unlocked_study_creates_no_store(tmp_path):
    folder = tmp_path / "study"
    write_study_folder(folder)
    assert_one_line(_cli("study", "status", folder), "no results store yet", "study lock")
    assert not (folder / "results.sqlite").exists()


@pytest.mark.requires_postgres
def test_a_locked_study_refuses_a_postgres_store_that_does_not_hold_it(locked):
    other = f"{POSTGRES_URL}"
    schema = f"wrong_{uuid.uuid4().hex[:10]}"
    import sqlalchemy

    engine = sqlalchemy.create_engine(other)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        with pytest.raises(Exception, match="holds no readerstudy store"):
            Study.open(locked, db=other, db_schema=schema)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


def test_an_archived_write_protected_study_can_be_checked_and_exported(
    locked, tmp_path, monkeypatch
):
    # Root ignores permission bits, so the store also sees the folder as not writable, as
    # it would as a coordinator's user: SQLite opens the archive immutable then.
    monkeypatch.setattr("readerstudy.store.engine.folder_writable", lambda folder: False)
    before = digests(locked)
    modes = {}
    for path in [locked, *locked.rglob("*")]:
        modes[path] = path.stat().st_mode
        path.chmod(modes[path] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        assert _cli("study", "status", locked).exit_code == 0
        verified = _cli("study", "audit", locked, "--verify")
        assert verified.exit_code == 0, verified.output
        assert "audit chain OK" in verified.output
        exported = _cli("study", "export", locked, "--out", tmp_path / "export")
        assert exported.exit_code == 0, exported.output
        assert (tmp_path / "export" / "ratings.csv").is_file()
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    assert digests(locked) == before


def test_locking_twice_changes_nothing_and_says_so(tmp_path):
    folder = tmp_path / "study"
    write_study_folder(folder)
    assert _cli("study", "lock", folder).exit_code == 0
    with Study.open(folder) as study:
        events = len(study.store.events())
    schedule = (folder / "schedule.csv").read_bytes()
    again = _cli("study", "lock", folder)
    assert again.exit_code == 0, again.output
    assert "already locked on this design" in again.output
    assert (folder / "schedule.csv").read_bytes() == schedule
    with Study.open(folder) as study:
        assert len(study.store.events()) == events
