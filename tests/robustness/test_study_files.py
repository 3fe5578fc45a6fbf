"""A study folder that lost or damaged one of its own files (a bad restore, a hand edit) is
named with how to restore it, never a traceback, and never analysed or exported without it
(without cases.csv the analysis would quietly take another infarct side); ``--out`` that is
a file is refused before anything is computed."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from readerstudy.cli import build_app
from tests.robustness.refusal import assert_one_line, snapshot
from tests.study.conftest import write_study_folder

runner = CliRunner()


@pytest.fixture(scope="module")
def read_study(tmp_path_factory):
    """A locked study with every read submitted (simulated); copied per test."""
    folder = tmp_path_factory.mktemp("read") / "study"
    write_study_folder(folder)
    assert runner.invoke(build_app(), ["study", "lock", str(folder)]).exit_code == 0
    assert runner.invoke(build_app(), ["simulate", str(folder)]).exit_code == 0
    return folder


@pytest.fixture
def study(read_study, tmp_path):
    return shutil.copytree(read_study, tmp_path / "study")


def _cli(*args):
    return runner.invoke(build_app(), [str(a) for a in args])


COMMANDS = {
    "analyze": lambda s: ("analyze", s, "--no-figures"),
    "export": lambda s: ("study", "export", s, "--out", s.parent / "export"),
    "simulate": lambda s: ("simulate", s),
    "lock": lambda s: ("study", "lock", s),
}
NEEDS = {
    "truth.csv": ("analyze", "export", "simulate", "lock"),
    "cases.csv": ("analyze", "export"),
    "manifest.csv": ("lock",),
}


@pytest.mark.parametrize(
    ("name", "command"), [(n, c) for n, commands in NEEDS.items() for c in commands]
)
@pytest.mark.parametrize("damage", ["deleted", "binary", "cut"])
def test_a_missing_or_damaged_study_file_is_named_and_nothing_changes(
    study, tmp_path, name, command, damage
):
    if command == "lock":  # before reading starts; once it has, lock is refused anyway
        study = tmp_path / "new"
        write_study_folder(study)
    path = study / name
    if damage == "deleted":
        path.unlink()
    elif damage == "binary":
        path.write_bytes(bytes(range(256)))
    else:
        text = path.read_text()
        path.write_text(text[: text.index("\n", len(text) // 2) + 3])
    before = snapshot(study)
    result = _cli(*COMMANDS[command](study))
    state = "is missing from the study" if damage == "deleted" else "is damaged"
    assert_one_line(result, f"{path} {state}", "restore it from your backup", "nothing was changed")
    assert snapshot(study) == before
    assert not (study / "analysis").exists()
    assert not (study.parent / "export").exists()


def test_the_audit_names_a_missing_truth_table(study):
    (study / "truth.csv").unlink()
    result = _cli("study", "audit", study, "--verify")
    assert result.exit_code == 1, result.output
    assert "locked design BROKEN" in result.output
    assert f"{study / 'truth.csv'} is missing from the study" in result.output


@pytest.mark.parametrize("below", [False, True], ids=["file", "below-a-file"])
def test_export_out_that_is_a_file_is_refused(study, below):
    target = study.parent / "report.txt"
    target.write_text("keep me")
    out = target / "export" if below else target
    before = snapshot(study)
    line = assert_one_line(_cli("study", "export", study, "--out", out), f"error: {out}")
    assert f"{target} above it is a file" in line if below else f"{target} is a file" in line
    assert target.read_text() == "keep me"
    assert snapshot(study) == before
    assert sorted(p.name for p in study.parent.iterdir()) == ["report.txt", "study"]
