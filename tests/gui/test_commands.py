"""``readerstudy read`` and the demo's workstation step (the window itself is patched out)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import readerstudy.display
import readerstudy.gui.app
import readerstudy.workflows.demo as demo
from readerstudy.cli import app
from readerstudy.study.workstation import SessionState, Workstation
from tests.study.test_demo import model_calls  # noqa: F401 (fixture: tiny phantoms, no model)

runner = CliRunner()


def test_read_refuses_without_a_display(monkeypatch, tmp_path):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    result = runner.invoke(app, ["read", str(tmp_path)])
    assert result.exit_code == 2
    assert "readerstudy read opens a window and needs a display" in result.output


def test_read_opens_the_workstation_on_the_study(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(readerstudy.display, "display_available", lambda: True)
    monkeypatch.setattr(readerstudy.gui.app, "run", lambda study, db: calls.append((study, db)))
    result = runner.invoke(app, ["read", str(tmp_path), "--db", "postgresql://h/db"])
    assert result.exit_code == 0, result.output
    assert calls == [(tmp_path, "postgresql://h/db")]


def test_demo_with_a_display_opens_the_workstation_for_a_demo_reader(monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr(readerstudy.display, "display_available", lambda: True)
    monkeypatch.setattr(
        demo, "run_demo", lambda out, **kw: demo.DemoResult(study=out / "study", summary=["ok"])
    )
    monkeypatch.setattr(
        demo,
        "prepare_workstation_study",
        lambda out, **kw: demo.WorkstationDemo(out / "workstation", "demo", "2022", 6),
    )
    monkeypatch.setattr(readerstudy.gui.app, "run", lambda study: opened.append(study))
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--cases", "6"])
    assert result.exit_code == 0, result.output
    assert "6. open the reading workstation on the same cases for you" in result.output
    assert "log in as Demo reader with PIN 2022" in result.output
    assert opened == [tmp_path / "workstation"]


def test_the_workstation_demo_study_is_read_by_a_demo_reader(tmp_path, model_calls):  # noqa: F811
    lines: list[str] = []
    made = demo.prepare_workstation_study(tmp_path, n_cases=6, echo=lines.append)
    assert made.study == tmp_path / "workstation"
    with Workstation.open(made.study) as workstation:
        (entry,) = workstation.readers()
        assert (entry.reader, entry.name) == ("demo", "Demo reader")
        assert [(s.session, s.state, s.total) for s in entry.sessions] == [
            (1, SessionState.OPEN, 6),
            (2, SessionState.LOCKED, 6),
        ]
        session = workstation.login(made.reader, made.pin)
        assert session.current.code == "S1-001"
        assert not session.current.aided
        assert session.current.confidence.bounds is None
    again: list[str] = []
    assert demo.prepare_workstation_study(tmp_path, n_cases=6, echo=again.append) == made
    assert any("reusing" in line for line in again)
    assert model_calls == ["asymmetry"]
    assert Path(made.study / "ai" / "ai_regions.csv").is_file()
