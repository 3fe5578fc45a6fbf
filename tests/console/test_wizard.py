"""The new-study wizard: the same study as ``study init``, and the command's refusals per field."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from typer.testing import CliRunner

from analysis.units import UNITS
from readerstudy.cli import build_app
from tests.console.sources import CASES, truth_rows, write_table

pytestmark = pytest.mark.gui

runner = CliRunner()
STUDY_FILES = ("study.toml", "manifest.csv", "truth.csv", "cases.csv")


def click(qtbot, button) -> None:
    assert button.isVisible(), button.text()
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def next_step(qtbot, wizard, expected: int) -> None:
    click(qtbot, wizard.next)
    assert wizard.index == expected, (wizard.note.text(), _errors(wizard))


def _errors(wizard) -> list[str]:
    return [note.text() for _, note in wizard._fields.values() if note.is_error]


def cli_init(folder: Path, *args: str):
    result = runner.invoke(build_app(), ["study", "init", str(folder), *args])
    return result


def test_the_wizard_creates_the_study_study_init_creates(qtbot, console, source, tmp_path):
    cli_args = [
        "--cases", str(source), "--truth", str(source / "truth.csv"),
        "--readers", "r1,r2,r3", "--names", "Dr Ada,Dr Bo,r3",
        "--meta", str(source / "cases.csv"), "--design", "crossover",
        "--washout-days", "10", "--seed", "7", "--idle-timeout", "60",
        "--confidence", "1-5", "--description", "pilot",
    ]  # fmt: skip
    result = cli_init(tmp_path / "cli" / "pilot", *cli_args)
    assert result.exit_code == 0, result.output

    window = console()
    wizard = window.new_study()
    wizard.cases.folder.set_path(source)
    qtbot.waitUntil(lambda: len(wizard.cases.rows) == len(CASES), timeout=20000)
    table = wizard.cases.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert table.item(rows["dora"], 5).text() == "12.0"  # the tilted series
    assert "gantry tilt 12.00 deg" in table.item(rows["dora"], 7).text()
    assert table.item(rows["carl"], 6).text() == "GE MEDICAL SYSTEMS"
    assert table.item(rows["anna"], 3).text() == "8"
    assert "2 DICOM, 2 NIfTI; 1 with warnings, 0 unreadable" in wizard.cases.summary.text()
    next_step(qtbot, wizard, 1)

    wizard.truth.truth.set_path(source / "truth.csv")
    qtbot.waitUntil(lambda: wizard.truth.result is not None)
    assert wizard.truth.note.text().startswith("80 rows: 4 cases")
    wizard.truth.meta.set_path(source / "cases.csv")
    assert wizard.truth.meta_note.text().startswith("cases.csv accepted")
    next_step(qtbot, wizard, 2)

    readers = wizard.readers
    readers.table.selectRow(3)
    click(qtbot, next(b for b in readers.findChildren(type(wizard.next)) if "Remove" in b.text()))
    assert readers.table.rowCount() == 3
    readers.table.item(0, 1).setText("Dr Ada")
    readers.table.item(1, 1).setText("Dr Bo")
    next_step(qtbot, wizard, 3)

    design = wizard.design
    click(qtbot, design.crossover)
    design.washout.setValue(10)
    design.seed.setValue(7)
    design.idle.setValue(60)
    qtbot.waitUntil(lambda: design.halves.rowCount() == 2)
    halves = [
        [design.halves.item(r, c).text() for c in range(6)] for r in range(2)
    ]  # half, cases, left, right, none, positives
    assert sorted(int(h[1]) for h in halves) == [2, 2]
    assert sum(int(h[2]) for h in halves) == 2  # anna and carl are left-sided
    assert [design.reads.item(r, 0).text() for r in range(3)] == ["r1", "r2", "r3"]
    next_step(qtbot, wizard, 4)

    wizard.rating.confidence.setCurrentText("1-5")
    next_step(qtbot, wizard, 5)

    folder = tmp_path / "gui" / "pilot"
    wizard.review.folder.set_path(folder)
    wizard.review.description.setText("pilot")
    wizard.review.description.editingFinished.emit()
    qtbot.waitUntil(lambda: 'description = "pilot"' in wizard.review.toml.toPlainText())
    preview = wizard.review.toml.toPlainText()
    shown = shlex.split(wizard.review.command.text())
    assert shown[:4] == ["readerstudy", "study", "init", str(folder)]
    assert sorted(_pairs(shown[4:])) == sorted(_pairs(cli_args))

    click(qtbot, wizard.next)  # "Create the study"
    qtbot.waitUntil(lambda: wizard.importing.report is not None, timeout=60000)
    assert wizard.importing.table.rowCount() == len(CASES)
    assert preview == (folder / "study.toml").read_text()
    for name in STUDY_FILES:
        ours, theirs = (folder / name).read_text(), (tmp_path / "cli" / "pilot" / name).read_text()
        assert ours == theirs, name
    codes = ["C01", "C02", "C03", "C04"]
    assert sorted(p.name for p in (folder / "cases").iterdir()) == codes
    assert sorted(p.name for p in (tmp_path / "cli" / "pilot" / "cases").iterdir()) == codes

    click(qtbot, wizard.importing.open)
    assert window.study is not None
    assert window.study.title.text() == "Study pilot"


def _pairs(words: list[str]) -> list[tuple[str, str]]:
    """Options as (name, value) pairs, so their order does not matter."""
    return [(words[i], words[i + 1]) for i in range(0, len(words), 2)]


def bad_truth(source: Path) -> tuple[Path, dict[int, str]]:
    """truth.csv with three bad rows; line -> what study init says about it."""
    rows = truth_rows()
    rows[3] = ("anna", "M7_left", 0)
    rows[10] = ("anna", rows[10][1], "2")
    rows[45] = ("carl", rows[44][1], 0)  # a unit twice
    path = write_table(source / "bad_truth.csv", ("case", "unit", "truth"), rows)
    return path, {
        5: "case anna: unknown unit 'M7_left'",
        12: f"case anna, unit {rows[10][1]}: truth must be 0 or 1, got '2'",
        47: f"case carl, unit {rows[44][1]} appears twice",
    }


def test_bad_truth_rows_are_shown_row_by_row_with_the_commands_messages(
    qtbot, console, source, tmp_path
):
    path, expected = bad_truth(source)
    result = cli_init(
        tmp_path / "cli", "--cases", str(source), "--truth", str(path), "--readers", "r1"
    )
    assert result.exit_code == 2
    cli_message = " ".join(result.output.split()).removeprefix("error: ")
    assert cli_message == f"{path} line 5: {expected[5]}"

    wizard = console().new_study()
    wizard.cases.folder.set_path(source)
    next_step(qtbot, wizard, 1)
    wizard.truth.truth.set_path(path)
    qtbot.waitUntil(lambda: wizard.truth.result is not None)
    table = wizard.truth.table
    shown = {int(table.item(r, 0).text()): table.item(r, 4).text() for r in range(table.rowCount())}
    assert sorted(shown) == sorted(expected)  # only the refused rows are listed
    for line, message in expected.items():
        assert shown[line] in message
        assert table.item([*shown].index(line), 4).toolTip() == f"{path} line {line}: {message}"
    assert wizard.truth.note.is_error
    assert "3 of 80 rows refused" in wizard.truth.note.text()
    assert cli_message in wizard.truth.note.text()
    wizard.truth.only_problems.click()  # every row, the refused ones marked
    assert table.rowCount() == len(CASES) * len(UNITS)
    click(qtbot, wizard.next)
    assert wizard.index == 1  # refused: the study cannot be made from this table


def test_a_refusal_of_study_init_is_shown_beside_its_field(qtbot, console, source, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("something else")
    result = cli_init(
        taken, "--cases", str(source), "--truth", str(source / "truth.csv"), "--readers", "r1"
    )
    assert result.exit_code == 2

    wizard = console().new_study()
    wizard.cases.folder.set_path(source)
    next_step(qtbot, wizard, 1)
    wizard.truth.truth.set_path(source / "truth.csv")
    qtbot.waitUntil(lambda: wizard.truth.result is not None)
    next_step(qtbot, wizard, 2)
    wizard.readers.table.item(1, 0).setText("r 2")
    click(qtbot, wizard.next)
    assert wizard.index == 2
    assert wizard.readers.note.text() == (
        "study init: --readers: reader id 'r 2' must be 1-64 letters, digits, '_', '.' or '-' "
        "(it names the reader in every exported table)"
    )
    wizard.readers.table.item(1, 0).setText("r2")
    for expected in (3, 4, 5):
        next_step(qtbot, wizard, expected)
    wizard.review.folder.set_path(taken)
    click(qtbot, wizard.next)
    assert wizard.index == 5
    assert wizard.review.folder_note.text() == " ".join(result.output.split()).removeprefix(
        "error: "
    )
