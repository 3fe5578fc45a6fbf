"""The CLI skeleton: version, help, domain errors and lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys

import typer
from typer.testing import CliRunner

from readerstudy import __version__
from readerstudy.cli import app, build_app
from readerstudy.errors import ReaderStudyError

runner = CliRunner()

HEAVY_MODULES = ("torch", "SimpleITK", "PySide6", "pyqtgraph", "statsmodels", "pingouin")


def test_version_prints_the_version_commit_and_model_hash():
    from readerstudy.provenance import git_commit
    from readerstudy.workflows.ai import method_hash, resolved

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"readerstudy {__version__}",
        f"commit {git_commit()}",
        f"model {resolved().name} {method_hash(resolved())}",
    ]


def test_help_lists_the_registered_subcommands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("study", "dicom", "phantom", "atlas", "model", "demo"):
        assert name in result.output


def test_help_imports_no_heavy_module():
    code = (
        "import sys, json\n"
        "sys.argv = ['readerstudy', '--help']\n"
        "from readerstudy.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def _failing_app() -> typer.Typer:
    probe = typer.Typer()

    @probe.command("fail")
    def fail() -> None:
        raise ReaderStudyError("case 17: 3 slices missing between z=40 and z=55 mm")

    root = build_app()
    root.add_typer(probe, name="probe-failure")
    return root


def test_domain_error_is_one_line_and_exit_status_2():
    probe_app = _failing_app()
    result = runner.invoke(probe_app, ["probe-failure", "fail"])
    assert result.exit_code == 2
    assert "case 17: 3 slices missing between z=40 and z=55 mm" in result.output
    assert "Traceback" not in result.output


def test_debug_shows_the_exception():
    probe_app = _failing_app()
    result = runner.invoke(probe_app, ["--debug", "probe-failure", "fail"])
    assert isinstance(result.exception, ReaderStudyError)


def test_demo_simulates_where_no_display_exists(monkeypatch, tmp_path):
    import readerstudy.workflows.demo as demo

    calls = []

    def fake_run_demo(out, **kwargs):
        calls.append((out, kwargs["n_cases"]))
        return demo.DemoResult(study=out / "study", summary=["sensitivity: unaided 0.2"])

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--cases", "6"])
    assert result.exit_code == 0, result.output
    assert "simulate the four readers through the reading API (no display)" in result.output
    assert "sensitivity: unaided 0.2" in result.output
    assert calls == [(tmp_path, 6)]


def test_version_imports_no_torch():
    code = (
        "import sys\n"
        "sys.argv = ['readerstudy', '--version']\n"
        "from readerstudy.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "False"
