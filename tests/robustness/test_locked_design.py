"""The locked design cannot change unseen: editing the stored schedule, design hash, session
totals or any study setting in the store breaks ``study audit --verify`` and refuses every
login, so simulated or real readers never follow an altered schedule."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from readerstudy.cli import build_app
from readerstudy.study.protocol import Study, StudyLockedError
from tests.study.conftest import PIN, write_study_folder

runner = CliRunner()


@pytest.fixture
def locked(tmp_path):
    folder = tmp_path / "study"
    write_study_folder(folder)
    with Study.open(folder, create=True) as study:
        study.lock()
        for reader in ("r1", "r2"):
            study.set_pin(reader, PIN)
    return folder


def _edit_meta(folder, key, change) -> None:
    with sqlite3.connect(folder / "results.sqlite") as conn:
        (value,) = conn.execute("SELECT value FROM study_meta WHERE key = ?", (key,)).fetchone()
        conn.execute("UPDATE study_meta SET value = ? WHERE key = ?", (change(value), key))


def _aided_to_unaided(value: str) -> str:
    schedule = json.loads(value)
    # Rows are (reader, session, order, code, case, modality).
    for read in schedule["reads"]:
        if read[0] == "r1" and read[1] == 2:
            read[5] = "unaided"
    return json.dumps(schedule)


def _more_reads(value: str) -> str:
    totals = json.loads(value)
    totals["r1"]["1"] += 5
    return json.dumps(totals)


EDITS = {
    "r1 session 2 switched to unaided": ("schedule", _aided_to_unaided),
    "design hash replaced": ("design_hash", lambda v: json.dumps("0" * 64)),
    "session totals changed": ("schedule_totals", _more_reads),
    "garbled definition page": ("definition", lambda v: v[: len(v) // 2] + "\x00garbage"),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_a_changed_design_breaks_the_audit_and_refuses_logins(locked, edit):
    key, change = EDITS[edit]
    assert runner.invoke(build_app(), ["study", "audit", str(locked), "--verify"]).exit_code == 0
    _edit_meta(locked, key, change)
    result = runner.invoke(build_app(), ["study", "audit", str(locked), "--verify"])
    assert result.exit_code == 1, result.output
    assert key in result.output
    with Study.open(locked, check_definition=False) as study:
        with pytest.raises(StudyLockedError, match="changed outside readerstudy"):
            study.login("r1", PIN)
        assert study.store.events(kind="login") == []


def test_an_untouched_study_verifies_and_logs_in(locked):
    result = runner.invoke(build_app(), ["study", "audit", str(locked), "--verify"])
    assert result.exit_code == 0, result.output
    with Study.open(locked) as study:
        assert study.design_problems() == []
        study.login("r1", PIN).close()
