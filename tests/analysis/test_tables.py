"""Input validation: every rejection names the problem and the fix."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import AnalysisInputError
from analysis.tables import (
    load_study_tables,
    read_inputs,
    read_study_folder,
    validate_cases,
    validate_times,
)
from tests.analysis.synthetic import paper_study


@pytest.fixture(scope="module")
def small():
    return paper_study(readers=2, cases=6, seed=11)


def _load(tables, **changes):
    args = {"ratings": tables["ratings"], "truth": tables["truth"], **changes}
    return load_study_tables(args.pop("ratings"), args.pop("truth"), **args)


def test_valid_tables_put_the_reference_first(small):
    study = _load(small)
    assert study.modalities == ("unaided", "aided")
    assert study.ratings["modality"].iloc[0] == "unaided"
    assert study.has_calls
    assert study.has_ratings
    assert not study.whole_case
    study = _load(small, reference="aided")
    assert study.modalities == ("aided", "unaided")


def test_unknown_unit_is_named(small):
    ratings = small["ratings"].copy()
    ratings.loc[3, "unit"] = "M7_left"
    with pytest.raises(AnalysisInputError, match=r"ratings: unknown unit\(s\) 'M7_left'"):
        _load(small, ratings=ratings)


def test_duplicate_rows_are_named(small):
    ratings = pd.concat([small["ratings"], small["ratings"].iloc[[5]]])
    row = small["ratings"].iloc[5]
    with pytest.raises(
        AnalysisInputError,
        match=rf"2 duplicate rows .*\('{row['reader']}', '{row['modality']}', '{row['case']}'",
    ):
        _load(small, ratings=ratings)


def test_reader_missing_reads_names_reader_modality_and_cases(small):
    ratings = small["ratings"]
    drop = (ratings["reader"] == "R2") & (ratings["modality"] == "aided")
    drop &= ratings["case"].isin(["P0002", "P0005"])
    # Accepted (complete-case rule), and the notes say who missed what.
    study = _load(small, ratings=ratings[~drop])
    assert not study.fully_crossed
    assert study.crossing.notes[0] == (
        "the design is not fully crossed: reader R2, modality aided: 2 case(s) not read in "
        "full (P0002, P0005)"
    )
    crossed = study.crossed()
    assert sorted(crossed.ratings["case"].unique()) == ["P0001", "P0003", "P0004", "P0006"]
    assert len(crossed.ratings) == 2 * 2 * 4 * 20
    assert set(crossed.truth["case"]) == {"P0001", "P0003", "P0004", "P0006"}
    assert study.paired_ratings().query("reader == 'R1'")["case"].nunique() == 6


def test_truth_missing_for_a_unit(small):
    truth = small["truth"].iloc[1:]
    first = small["truth"].iloc[0]
    with pytest.raises(
        AnalysisInputError, match=rf"truth: no row for 1 rated .*case {first['case']} unit"
    ):
        _load(small, truth=truth)


def test_modality_with_no_data(small):
    ratings = small["ratings"].copy()
    ratings.loc[ratings["modality"] == "aided", "call"] = None
    with pytest.raises(AnalysisInputError, match=r"modality 'aided' has no data"):
        _load(small, ratings=ratings)


def test_call_must_be_binary(small):
    ratings = small["ratings"].copy()
    ratings.loc[7, "call"] = 2
    with pytest.raises(
        AnalysisInputError, match=r"column 'call' must be 0 or 1; bad value at row 9"
    ):
        _load(small, ratings=ratings)


def test_neither_call_nor_rating(small):
    ratings = small["ratings"].drop(columns=["call", "rating"])
    with pytest.raises(AnalysisInputError, match=r"neither a 'call' .* nor a 'rating'"):
        _load(small, ratings=ratings)


def test_unknown_reference(small):
    with pytest.raises(AnalysisInputError, match=r"reference 'AI' is not a modality"):
        _load(small, reference="AI")


def test_no_truth_anywhere(small):
    with pytest.raises(AnalysisInputError, match="no truth: pass a truth table"):
        load_study_tables(small["ratings"], None)


def test_times_and_cases_are_checked(small):
    times = small["times"].copy()
    times.loc[0, "active_s"] = -3
    with pytest.raises(AnalysisInputError, match=r"times: column 'active_s' must be"):
        validate_times(times)
    late = small["times"].copy()
    late.loc[late["modality"] == "aided", "modality"] = "late"
    with pytest.raises(AnalysisInputError, match=r"times: modality 'late' has no ratings"):
        _load(small, times=late)
    cases = small["cases"].assign(side="up")
    with pytest.raises(AnalysisInputError, match=r"cases: column 'side' must be left, right"):
        validate_cases(cases)


def test_ai_must_cover_every_truth_unit(small):
    with pytest.raises(AnalysisInputError, match=r"ai_regions: no output for 1 truth unit"):
        _load(small, ai=small["ai"].iloc[1:])


def test_whole_case_ratings_with_treatment_alias_and_truth_column(refdata):
    vandyke = pd.read_csv(refdata / "vandyke.csv")
    study = load_study_tables(vandyke, None)
    assert study.whole_case
    assert study.modalities == ("1", "2")
    assert len(study.truth) == 114
    assert int(study.truth["truth"].sum()) == 45


def test_xlsx_workbook_carries_every_table(small, tmp_path):
    path = tmp_path / "study.xlsx"
    with pd.ExcelWriter(path) as writer:
        for name in ("ratings", "truth", "times", "cases"):
            small[name].to_excel(writer, sheet_name=name, index=False)
    tables = read_inputs(path)
    assert set(tables) == {"ratings", "truth", "times", "cases"}
    study = load_study_tables(tables["ratings"], tables["truth"], times=tables["times"])
    assert len(study.ratings) == len(small["ratings"])


def test_study_folder_of_exported_tables(small, tmp_path):
    (tmp_path / "ai").mkdir()
    for name in ("ratings", "truth", "times"):
        small[name].to_csv(tmp_path / f"{name}.csv", index=False)
    small["ai"].to_csv(tmp_path / "ai" / "ai_regions.csv", index=False)
    assert set(read_study_folder(tmp_path)) == {"ratings", "truth", "times", "ai"}
    with pytest.raises(AnalysisInputError, match=r"no ratings\.csv or ratings\.xlsx"):
        read_study_folder(tmp_path / "ai")
