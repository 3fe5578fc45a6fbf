"""Every number of ``study.toml`` has a documented range (docs/coordinator.md): a value
outside it, infinite or NaN is refused in one line naming the key, its line and the range
when the file is read, so it never reaches a date sum or a schedule (``washout_days = inf``
used to crash ``lock``; ``1e300`` locked, then crashed ``simulate`` and ``status``)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from readerstudy.cli import build_app
from readerstudy.study.protocol import Study
from tests.robustness.refusal import assert_one_line, snapshot
from tests.study.conftest import write_study_folder

runner = CliRunner()

OUT_OF_RANGE = [
    ("washout_days", "inf", "from 0 to 365 days, got inf"),
    ("washout_days", "1e300", "from 0 to 365 days, got 1e+300"),
    ("washout_days", "nan", "from 0 to 365 days, got nan"),
    ("washout_days", "-3", "from 0 to 365 days, got -3"),
    ("washout_days", "366", "from 0 to 365 days, got 366"),
    ("seed", "-1", "from 0 to 9223372036854775807, got -1"),
    ("seed", str(2**64), f"got {2**64}"),
    ("idle_timeout_s", "0", "from 10 to 3600 seconds, got 0"),
    ("idle_timeout_s", "1e300", "from 10 to 3600 seconds"),
    ("idle_timeout_s", "-inf", "got -inf"),
    ("window_center", "1e300", "from -1024 to 3071 HU"),
    ("window_width", "0", "from 1 to 4096 HU, got 0"),
    ("window_width", "1e9", "from 1 to 4096 HU"),
]


def _set(folder, key: str, value: str) -> None:
    """Give ``key`` the raw TOML ``value`` (window keys go in a [viewer] table)."""
    path = folder / "study.toml"
    text = path.read_text()
    if key.startswith("window_"):
        text += f"\n[viewer]\n{key} = {value}\n"
    else:
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert n == 1
    path.write_text(text)


@pytest.mark.parametrize(("key", "value", "needle"), OUT_OF_RANGE)
def test_out_of_range_numbers_are_refused_before_anything_is_written(tmp_path, key, value, needle):
    folder = tmp_path / "study"
    write_study_folder(folder)
    _set(folder, key, value)
    before = snapshot(folder)
    for command in (["study", "lock"], ["study", "status"], ["simulate"]):
        result = runner.invoke(build_app(), [*command, str(folder)])
        assert_one_line(result, "study.toml", f"{key} (line ", needle)
    assert snapshot(folder) == before
    assert not (folder / "results.sqlite").exists()


def test_an_edit_out_of_range_after_reading_started_changes_nothing(tmp_path):
    folder = tmp_path / "study"
    write_study_folder(folder)
    assert runner.invoke(build_app(), ["study", "lock", str(folder)]).exit_code == 0
    simulated = runner.invoke(build_app(), ["simulate", str(folder)])
    assert simulated.exit_code == 0, simulated.output
    _set(folder, "washout_days", "1e300")
    before = snapshot(folder)
    assert before["rows"]["reads"] > 0
    assert before["audit"][0] == 2  # the audit refuses the file too
    for command in (["study", "status"], ["simulate"], ["study", "export"]):
        extra = ["--out", str(tmp_path / "out")] if command[-1] == "export" else []
        result = runner.invoke(build_app(), [*command, str(folder), *extra])
        assert_one_line(result, "washout_days (line ", "from 0 to 365 days, got 1e+300")
    assert snapshot(folder) == before
    assert not (tmp_path / "out").exists()


def test_the_edges_of_each_range_are_accepted(tmp_path):
    folder = tmp_path / "study"
    write_study_folder(folder, washout_days=365, seed=2**63 - 1, idle_timeout_s=3600)
    _set(folder, "window_width", "4096")
    with Study.open(folder, create=True) as study:
        study.lock()
        assert study.definition.washout_days == 365
