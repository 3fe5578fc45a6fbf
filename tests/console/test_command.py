"""``readerstudy console``: refused without a display, else the window on the study and store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import readerstudy.display
import readerstudy.gui.console.app
from readerstudy.cli import app

runner = CliRunner()


def test_console_refuses_without_a_display(monkeypatch, tmp_path):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    result = runner.invoke(app, ["console", str(tmp_path)])
    assert result.exit_code == 2
    line = " ".join(result.output.split())
    assert "readerstudy console opens a window and needs a display" in line
    assert "use the `readerstudy study` commands instead" in line


def test_console_opens_on_the_study_and_store(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(readerstudy.display, "display_available", lambda: True)
    monkeypatch.setattr(
        readerstudy.gui.console.app, "run", lambda study, db: calls.append((study, db))
    )
    result = runner.invoke(app, ["console", str(tmp_path), "--db", "postgresql://h/db"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["console"])
    assert result.exit_code == 0, result.output
    assert calls == [(tmp_path, "postgresql://h/db"), (None, None)]


def test_console_help_imports_no_qt():
    probe = (
        "import sys; from readerstudy.cli import main; sys.argv = ['readerstudy', 'console', "
        "'--help']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('PySide6', 'torch', 'SimpleITK', 'pandas') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert "Set up, prepare, watch and close a study" in out.stdout
    assert out.stdout.strip().endswith("[]")
