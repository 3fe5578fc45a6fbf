"""``readerstudy analyze`` on the tables a coordinator really sends: Excel's CSV flavours,
files of the wrong kind, time rows with nothing behind them, and studies too small for
some statistics. Each bad input ends in exit 2 with one line naming the file and the fix,
and nothing is written; each statistic that cannot be computed says why."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from readerstudy.cli import app
from readerstudy.study.protocol import Study
from tests.analysis.synthetic import paper_study
from tests.robustness.refusal import assert_one_line, digests
from tests.study.conftest import write_study_folder

runner = CliRunner()


@pytest.fixture(scope="module")
def tables():
    return paper_study(readers=3, cases=30, seed=11)


def _write(folder, tables, **override):
    """The tables as CSV in ``folder``; ``override`` maps a table name to raw bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("ratings", "truth", "times"):
        path = folder / f"{name}.csv"
        if name in override:
            path.write_bytes(override[name])
        else:
            tables[name].to_csv(path, index=False)
    return folder


def _analyze(folder, *extra):
    args = ["analyze", str(folder / "ratings.csv"), "--truth", str(folder / "truth.csv")]
    return runner.invoke(app, [*args, "--times", str(folder / "times.csv"), "--no-figures", *extra])


def _refused(result, folder, before, *needles):
    """Exit 2, one line naming the problem, no traceback, nothing written or changed."""
    assert_one_line(result, *needles)
    assert digests(folder) == before
    assert not (folder / "analysis").exists()


def _headline(folder) -> dict:
    return json.loads((folder / "analysis" / "results.json").read_text())["binary"]


def test_excel_csv_utf8_with_bom_and_semicolons_read_like_plain_csv(tables, tmp_path):
    plain = _write(tmp_path / "plain", tables)
    assert _analyze(plain).exit_code == 0
    ratings = tables["ratings"].to_csv(index=False)
    bom = _write(tmp_path / "bom", tables, ratings=b"\xef\xbb\xbf" + ratings.encode())
    assert _analyze(bom).exit_code == 0
    # Excel in a decimal-comma locale separates fields with ';'.
    semicolon = tables["ratings"].to_csv(index=False, sep=";").encode()
    european = _write(tmp_path / "semicolon", tables, ratings=semicolon)
    assert _analyze(european).exit_code == 0
    assert _headline(bom) == _headline(plain) == _headline(european)


def test_workbook_renamed_csv_is_named(tables, tmp_path):
    workbook = tmp_path / "book.xlsx"
    tables["ratings"].head(40).to_excel(workbook, index=False)
    folder = _write(tmp_path / "s", tables, ratings=workbook.read_bytes())
    before = digests(folder)
    _refused(_analyze(folder), folder, before, "ratings.csv", "rename it to .xlsx")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (bytes(range(256)) * 4, "not UTF-8 text"),
        (b"case,unit,truth\n\x00\x00\x00\x01", "binary data"),
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
    ],
    ids=["binary", "nul-bytes", "empty", "blank-lines"],
)
def test_unreadable_truth_file_is_named(tables, tmp_path, content, needle):
    folder = _write(tmp_path / "s", tables, truth=content)
    before = digests(folder)
    _refused(_analyze(folder), folder, before, "truth.csv", needle)


@pytest.mark.parametrize("role", ["ratings", "times", "ai", "cases"])
@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (bytes(range(256)) * 4, "not UTF-8 text"),
        (b"PK\x03\x04 a workbook", "is an Excel workbook with a .csv name"),
        (b"", "the file is empty"),
    ],
    ids=["binary", "workbook", "empty"],
)
def test_every_unreadable_table_is_named(tables, tmp_path, role, content, needle):
    folder = _write(tmp_path / "s", tables)
    (folder / f"{role}.csv").write_bytes(content)
    before = digests(folder)
    extra = [f"--{role}", str(folder / f"{role}.csv")] if role in ("ai", "cases") else []
    _refused(_analyze(folder, *extra), folder, before, f"{role}.csv", needle)


def test_fake_xlsx_is_named(tables, tmp_path):
    folder = _write(tmp_path / "s", tables)
    (folder / "ratings.xlsx").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    before = digests(folder)
    args = ["analyze", str(folder / "ratings.xlsx"), "--truth", str(folder / "truth.csv")]
    _refused(runner.invoke(app, args), folder, before, "ratings.xlsx", "not a readable Excel")


def test_time_rows_without_ratings_are_refused_by_name(tables, tmp_path):
    times = tables["times"]
    extra = times[times["reader"] == "R1"].head(2).assign(reader="R9")
    content = pd.concat([times, extra]).to_csv(index=False).encode()
    folder = _write(tmp_path / "s", tables, times=content)
    before = digests(folder)
    _refused(_analyze(folder), folder, before, "times", "no ratings behind them", "reader R9")


@pytest.mark.parametrize("value", ["inf", "-1", "nan", "soon"])
def test_non_finite_or_negative_time_is_refused(tables, tmp_path, value):
    times = tables["times"].astype({"active_s": object})
    times.loc[times.index[3], "active_s"] = value
    folder = _write(tmp_path / "s", tables, times=times.to_csv(index=False).encode())
    before = digests(folder)
    _refused(_analyze(folder), folder, before, "active_s", "finite", "row(s) 5")


def test_one_reader_says_which_statistics_are_missing_and_why(tables, tmp_path):
    one = {k: v[v["reader"] == "R1"] if "reader" in v else v for k, v in tables.items()}
    folder = _write(tmp_path / "s", one)
    result = _analyze(folder)
    assert result.exit_code == 0, result.output
    summary = json.loads((folder / "analysis" / "results.json").read_text())
    assert "reader_average" not in summary["binary"]
    assert "agreement" not in summary
    assert "roc_mrmc" not in summary
    notes = summary["notes"]
    assert any("no reader-averaged sensitivity and specificity and no ICC" in n for n in notes)
    assert any("no MRMC analysis of AUC" in n for n in notes)
    assert any("no paired t-test" in n for n in notes)
    for note in notes:
        assert f"not computed: {note}" in " ".join(result.output.split())
    html = (folder / "analysis" / "report.html").read_text()
    assert "Not computed" in html


def test_a_full_study_has_no_missing_statistic_but_the_model(tables, tmp_path):
    folder = _write(tmp_path / "s", tables)
    assert _analyze(folder).exit_code == 0
    notes = json.loads((folder / "analysis" / "results.json").read_text())["notes"]
    assert notes[0] == "no AI outputs (ai_regions): no standalone model performance"
    # The rest are caveats about computed statistics (3 readers: small random-reader df).
    assert all("denominator df" in note for note in notes[1:])


def test_out_that_is_a_file_is_refused(tables, tmp_path):
    folder = _write(tmp_path / "s", tables)
    (folder / "report.txt").write_text("keep me")
    before = digests(folder)
    result = _analyze(folder, "--out", str(folder / "report.txt"))
    _refused(result, folder, before, "report.txt", "is a file")


def test_study_with_no_reads_says_so(tmp_path):
    folder = tmp_path / "study"
    write_study_folder(folder)
    with Study.open(folder, create=True) as study:
        study.lock()
    result = runner.invoke(app, ["analyze", str(folder), "--no-figures"])
    assert result.exit_code == 2, result.output
    assert "no reads were submitted yet" in result.output
    assert not (folder / "analysis").exists()
