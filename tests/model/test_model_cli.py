"""``readerstudy model evaluate / calibrate / card``: bad inputs are one-line errors (exit 2)."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from analysis.units import UNITS
from readerstudy.cli import app

runner = CliRunner()


def _labelled(folder, *, truth_units=UNITS, mask=True):
    """A labelled folder with one (placeholder) case: what the checks read before any scan."""
    (folder / "case001").mkdir(parents=True)
    (folder / "case001" / "image.nii.gz").write_bytes(b"not read by the checks")
    with (folder / "truth.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("case", "unit", "truth"))
        writer.writerows(("case001", unit, 0) for unit in truth_units)
    if mask:
        (folder / "masks").mkdir()
        (folder / "masks" / "case001.nii.gz").write_bytes(b"")
    return folder


def _one_line_error(result, text: str) -> None:
    assert result.exit_code == 2, result.output
    assert text in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["evaluate", "calibrate"])
def test_labelled_folders_are_checked_before_any_work(tmp_path, command):
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(
        runner.invoke(app, ["model", command, "--data", str(empty)]), "holds no case folders"
    )
    no_truth = _labelled(tmp_path / "no-truth")
    (no_truth / "truth.csv").unlink()
    _one_line_error(
        runner.invoke(app, ["model", command, "--data", str(no_truth)]), "has no truth.csv"
    )
    partial = _labelled(tmp_path / "partial", truth_units=UNITS[:19])
    _one_line_error(
        runner.invoke(app, ["model", command, "--data", str(partial)]),
        "case case001 lacks truth for M6_right",
    )
    unmasked = _labelled(tmp_path / "unmasked", mask=False)
    _one_line_error(
        runner.invoke(app, ["model", command, "--data", str(unmasked)]),
        "case case001 has no lesion mask",
    )


def test_a_card_needs_a_weights_folder_with_model_json(tmp_path):
    _one_line_error(
        runner.invoke(app, ["model", "card", "--weights", str(tmp_path)]),
        "cannot read",
    )
