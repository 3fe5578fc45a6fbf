"""The console on a locked study: live monitoring of reads another process writes, the audited
washout override, the command's refusals beside their fields, audit verification, closing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from typer.testing import CliRunner

from readerstudy.cli import build_app
from readerstudy.gui.console import closing
from readerstudy.gui.console.monitor import REFRESH_MS
from readerstudy.study.protocol import Study
from readerstudy.study.washout import opening
from tests.console.conftest import PIN

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def cli(*args: str) -> str:
    """What the command prints, on one line (its refusal without the ``error:`` prefix)."""
    result = runner.invoke(build_app(), [str(a) for a in args])
    return " ".join(result.output.split()).removeprefix("error: ")


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def read_session(folder: Path, sim_time, reader: str) -> None:
    """``reader`` reads their current session to the end through the reading API."""
    with Study.open(folder, time=sim_time) as study:
        session = study.login(reader, PIN)
        while session.current is not None:
            sim_time.advance(40)
            session.submit({u: {"call": 0, "rating": 1} for u in session.current.units})
            session.advance()
        session.close()


def cell(table, row: int, column: str) -> str:
    """The text of ``row`` under the header ``column``."""
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return table.item(row, headers.index(column)).text()


def submitted(window) -> int:
    snapshot = window.study.monitor.snapshot
    return -1 if snapshot is None else sum(row.done for row in snapshot.sessions)


def test_monitoring_follows_reads_another_process_writes(qtbot, console, locked_study):
    folder = locked_study()
    window = console(folder)
    monitor = window.study.monitor
    assert window.study.tabs.currentWidget() is monitor
    assert monitor.timer.isActive()
    assert monitor.timer.interval() == REFRESH_MS
    qtbot.waitUntil(lambda: submitted(window) == 0, timeout=10000)
    assert monitor.sessions.rowCount() == 6  # 3 readers x 2 sessions
    assert cell(monitor.sessions, 0, "state") == "open"
    assert cell(monitor.sessions, 1, "state") == "locked"

    # A simulated reading room in another process writes every read of the study.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "readerstudy", "simulate", str(folder), "--pin", PIN],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "simulated 24 reads by 3 readers" in done.stdout
    # The next timed refresh shows them (the refresh itself may take a moment on a busy CI).
    qtbot.waitUntil(lambda: submitted(window) == 24, timeout=REFRESH_MS + 3000)

    sessions = monitor.sessions
    assert [cell(sessions, r, "state") for r in range(6)] == ["done"] * 6
    assert [cell(sessions, r, "done") for r in range(6)] == ["4 / 4"] * 6
    with Study.open(folder, read_only=True) as study:
        status = study.status()
        by_reader = {(r.reader, r.modality): r for r in study.store.reads()}
    for r, row in enumerate(status):
        assert cell(sessions, r, "active") == f"{row.active_s / 60:.1f} min"
    times = monitor.times
    assert times.rowCount() == 3
    spark = times.cellWidget(0, 2)  # r1, aided
    assert len(spark.values) == 4
    assert by_reader[("r1", "aided")].active_s in spark.values
    head = monitor.snapshot.audit_events
    assert cli("study", "audit", folder) == f"{head} audit events (use --verify to check the chain)"


@pytest.mark.requires_postgres
def test_monitoring_a_shared_postgresql_store(qtbot, console, locked_study, postgres_store):
    folder = locked_study(db=postgres_store)
    window = console(folder, db=postgres_store)
    qtbot.waitUntil(lambda: submitted(window) == 0, timeout=10000)
    assert window.study.monitor.snapshot.audit_events > 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "readerstudy", "simulate", str(folder), "--pin", PIN]
    done = subprocess.run(
        [*command, "--db", postgres_store], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: submitted(window) == 24, timeout=REFRESH_MS + 3000)
    status = cli("study", "status", folder, "--db", postgres_store, "--json")
    assert status.count('"complete": true') == 6


def test_a_washout_override_is_audited_like_study_unlock(qtbot, console, locked_study, sim_time):
    folder = locked_study()
    read_session(folder, sim_time, "r1")
    window = console(folder)
    monitor = window.study.monitor
    qtbot.waitUntil(lambda: submitted(window) == 4, timeout=10000)
    row = next(
        i for i, s in enumerate(monitor.snapshot.sessions) if (s.reader, s.session) == ("r1", 2)
    )
    assert cell(monitor.sessions, row, "state") == "locked"
    last = monitor.snapshot.sessions[row - 1].last_at
    opens = opening(last, 14)
    assert monitor.snapshot.sessions[row].opens_at == opens

    monitor.sessions.selectRow(row)
    assert monitor.override_reader.currentText() == "r1"
    assert monitor.override_session.value() == 2
    click(qtbot, monitor.override_button)
    refusal = cli("study", "unlock", folder, "--reader", "r1", "--session", "2", "--reason", "")
    qtbot.waitUntil(lambda: monitor.override_note.is_error)
    assert monitor.override_note.text() == refusal == "an override needs a reason (--reason)"

    monitor.reason.setText("leaves the department on Friday")
    click(qtbot, monitor.override_button)
    qtbot.waitUntil(lambda: monitor.override_note.text().startswith("session 2 of reader r1"))
    qtbot.waitUntil(lambda: monitor.snapshot.sessions[row].overridden, timeout=10000)
    assert cell(monitor.sessions, row, "state") == "open"
    assert cell(monitor.sessions, row, "opens (washout)") == "early (override)"
    flags = [
        [monitor.flags.item(r, c).text() for c in range(6)] for r in range(monitor.flags.rowCount())
    ]
    assert ["override", "r1", "2", "", "leaves the department on Friday"] in [f[1:] for f in flags]
    with Study.open(folder, read_only=True) as study:
        (event,) = study.store.events(kind="override")
    assert (event.reader, event.session) == ("r1", 2)
    assert event.payload == {
        "reason": "leaves the department on Friday",
        "washout_opens_at": opens.isoformat(),
    }
    with Study.open(folder, time=sim_time) as study:
        study.login("r1", PIN).close()  # the reader gets in before the washout ends


def test_pin_and_lock_refusals_are_the_commands(qtbot, console, locked_study, sim_time):
    folder = locked_study()
    window = console(folder)
    prepare = window.study.prepare
    window.study.tabs.setCurrentWidget(prepare)
    prepare.pin_reader.setCurrentText("r2")
    prepare.pin.setText("12")
    prepare.pin_again.setText("12")
    click(qtbot, prepare.pin_button)
    qtbot.waitUntil(lambda: prepare.pin_note.is_error)
    refusal = cli("study", "pin", folder, "--reader", "r2", "--pin", "12")
    assert prepare.pin_note.text() == refusal
    assert refusal == "reader r2: a PIN has 4 to 32 characters and no leading or trailing spaces"
    prepare.pin.setText("4711")
    prepare.pin_again.setText("4712")
    click(qtbot, prepare.pin_button)
    assert prepare.pin_note.text() == "Error: The two entered values do not match."
    prepare.pin.setText("4711")
    prepare.pin_again.setText("4711")
    click(qtbot, prepare.pin_button)
    qtbot.waitUntil(lambda: prepare.pin_note.text() == "PIN set for reader r2")
    assert prepare.pin_table.item(1, 2).text() == "set"

    click(qtbot, prepare.lock_button)
    qtbot.waitUntil(lambda: prepare.lock_note.text().startswith("already locked"))
    assert prepare.lock_note.text() == cli("study", "lock", folder)
    shown = prepare.lock_state.text().split("Design hash:\n")[1].replace(" ", "")
    assert shown == window.study.coordinator.overview().design_hash

    read_session(folder, sim_time, "r1")
    window.study.reload()
    assert not prepare.lock_button.isEnabled()  # reading has started: nothing to lock
    refusal = cli("study", "lock", folder)
    assert refusal == "study study-0: reading has started; the definition and schedule are frozen"
    prepare.lock()
    qtbot.waitUntil(lambda: prepare.lock_note.is_error)
    assert prepare.lock_note.text() == refusal
    with Study.open(folder, time=sim_time) as study:
        study.login("r2", "4711").close()  # the PIN set in the console


def test_verify_and_closing(qtbot, console, locked_study, sim_time, monkeypatch, tmp_path):
    folder = locked_study()
    for reader in ("r1", "r2", "r3"):
        read_session(folder, sim_time, reader)
    window = console(folder)
    monitor = window.study.monitor
    qtbot.waitUntil(lambda: submitted(window) == 12, timeout=10000)
    click(qtbot, monitor.verify_button)
    qtbot.waitUntil(lambda: monitor.verify_button.isEnabled(), timeout=30000)
    assert monitor.verify_note.text().splitlines()[0] == cli("study", "audit", folder, "--verify")
    assert monitor.verify_note.text().startswith("audit chain OK: ")

    close = window.study.closing
    window.study.tabs.setCurrentWidget(close)
    close.export_folder.set_path(tmp_path / "console-export")
    click(qtbot, close.export_button)
    qtbot.waitUntil(lambda: close.export_button.isEnabled(), timeout=60000)
    assert close.export_note.text() == f"8 files written to {tmp_path / 'console-export'}"
    cli("study", "export", folder, "--out", tmp_path / "cli-export")
    ours = sorted(p.name for p in (tmp_path / "console-export").iterdir())
    assert ours == sorted(p.name for p in (tmp_path / "cli-export").iterdir())
    for name in ours:
        if name.endswith(".csv"):
            mine, theirs = tmp_path / "console-export" / name, tmp_path / "cli-export" / name
            assert mine.read_text() == theirs.read_text(), name

    opened = []
    monkeypatch.setattr(closing, "open_in_browser", lambda path: opened.append(path) or True)
    click(qtbot, close.analysis_button)
    qtbot.waitUntil(lambda: close.analysis_button.isEnabled(), timeout=180000)
    assert not close.analysis_note.is_error, close.analysis_note.text()
    report = folder / "analysis" / "report.html"
    assert opened == [report]
    assert report.is_file()
    assert (folder / "analysis" / "results.json").is_file()
    assert "model AUC 1.000" in close.summary.text()  # the imported AI is the truth, blurred


def test_precompute_failures_and_a_lock_without_ai_are_the_commands(
    qtbot, console, source, tmp_path
):
    from readerstudy.workflows.coordinator import StudySpec

    truth = source / "truth.csv"
    spec = StudySpec(folder=tmp_path / "embedded", cases=source, truth=truth, readers=("r1",))
    spec.create()  # the embedded model: its AI outputs are precomputed before the lock
    window = console(spec.folder)
    prepare = window.study.prepare
    assert window.study.tabs.currentWidget() is prepare
    assert window.study.problem.text().startswith("not locked yet: precompute the AI outputs")
    click(qtbot, prepare.lock_button)
    qtbot.waitUntil(lambda: prepare.lock_note.is_error)
    assert prepare.lock_note.text() == cli("study", "lock", spec.folder)
    assert "run `readerstudy study precompute" in prepare.lock_note.text()

    click(qtbot, prepare.precompute_button)
    qtbot.waitUntil(lambda: prepare.precompute_button.isEnabled(), timeout=120000)
    # The phantom set's noise volumes hold no head: every case fails, with its reason.
    assert prepare.ai_note.is_error
    assert prepare.ai_note.text().startswith("4 of 4 case(s) failed (C01, C02, C03, C04)")
    with (spec.folder / "ai" / "failed.csv").open() as handle:
        failed = [line.rstrip("\n").split(",", 1) for line in handle][1:]
    shown = [
        [prepare.failed.item(r, c).text() for c in range(2)]
        for r in range(prepare.failed.rowCount())
    ]
    assert shown == [[case, reason.strip('"')] for case, reason in failed]
    assert all("no head found" in reason for _, reason in shown)
    gallery = prepare.gallery
    assert [gallery.tiles.item(i).text() for i in range(4)] == [
        f"C0{i}  FAILED" for i in range(1, 5)
    ]
    gallery.tiles.setCurrentRow(2)
    assert gallery.caption.text().startswith("case C03: failed: no head found")


def test_closing_drops_the_outcome_of_work_still_under_way(qtbot, console, locked_study):
    """A task that finishes while the study closes reports to no one: its callback would start
    the monitor again (PIN set -> the study re-read -> locked -> refresh) on a view being torn
    down, with a new worker reading a store that was just closed."""
    window = console(locked_study())
    study = window.study
    monitor, prepare = study.monitor, study.prepare
    qtbot.waitUntil(lambda: monitor.snapshot is not None, timeout=10000)
    prepare.pin_reader.setCurrentText("r1")
    prepare.pin.setText("4711")
    prepare.pin_again.setText("4711")
    prepare.set_pin()
    study.shutdown()  # what closing the window or opening another study does
    QApplication.processEvents()  # the PIN task's outcome arrives now
    assert not monitor.timer.isActive()
    assert not study.runner.busy
    assert monitor.monitor is None  # the monitor's store stays closed
    assert prepare.pin_note.text() == "…"


def test_the_console_is_gone_once_closed(qtbot, locked_study, sim_time):
    """The window and its work go before the QApplication does, not in whatever order the
    interpreter's exit tears objects down."""
    import shiboken6

    from readerstudy.gui.app import close_now
    from readerstudy.gui.console.app import open_console

    window = open_console(locked_study(), time=sim_time)
    window.show()
    qtbot.waitExposed(window)
    runner = window.study.runner
    window.study.monitor.refresh()
    close_now(window)
    assert not shiboken6.isValid(window)
    assert not shiboken6.isValid(runner)
