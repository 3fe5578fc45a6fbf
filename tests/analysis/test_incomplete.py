"""Incomplete designs: a reader who missed cases (complete-case rule), split-plot reading.

Each analysis is checked against the same function run by hand on the subset the documented
rule names (docs/analysis.md, "Incomplete designs"), so the rule, not only the absence of an
error, is tested.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.analyze import analyze
from analysis.binary import mcnemar, sensitivity_specificity
from analysis.errors import AnalysisInputError
from analysis.mrmc import or_analysis, split_plot_analysis
from analysis.report import write_reports
from tests.analysis.synthetic import paper_study


@pytest.fixture(scope="module")
def study() -> dict[str, pd.DataFrame]:
    return paper_study(seed=9, cases=30)


def _cases(ratings: pd.DataFrame) -> list[str]:
    return sorted(ratings["case"].unique())


def test_reader_who_missed_cases_complete_case_rule(study):
    ratings, truth = study["ratings"], study["truth"]
    missed = _cases(ratings)[:4]
    gone = (ratings["reader"] == "R2") & (ratings["modality"] == "aided")
    gone &= ratings["case"].isin(missed)
    # R2 also skipped three regions of a fifth case in the unaided reading.
    fifth = _cases(ratings)[4]
    partial = (ratings["reader"] == "R2") & (ratings["modality"] == "unaided")
    partial &= (ratings["case"] == fifth) & ratings["unit"].isin(["M1_left", "M2_left", "C_left"])
    data = ratings[~(gone | partial)]
    res = analyze(data, truth)
    s = res.summary
    assert s["design"]["fully_crossed"] is False
    assert s["design"]["complete_cases"] == 30 - 5
    assert any("reader R2, modality aided: 4 case(s) not read in full" in n for n in s["notes"])
    assert any("complete-case rule" in n and "25 of 30 cases" in n for n in s["notes"])

    # Reader averages and ROC: OR on the cases every reader completed.
    complete = data[~data["case"].isin([*missed, fifth])].merge(truth, on=["case", "unit"])
    expected = or_analysis(complete, fom="sensitivity", rating="call", reference="unaided")
    got = s["binary"]["reader_average"]["sensitivity"]["difference"]
    assert got["estimate"] == pytest.approx(expected.difference.estimate, rel=1e-12)
    assert got["p"] == pytest.approx(expected.difference.p, rel=1e-12)
    auc = or_analysis(complete, fom="auc", rating="rating", reference="unaided")
    assert s["roc_mrmc"]["difference"]["se"] == pytest.approx(auc.difference.se, rel=1e-12)

    # McNemar per reader on that reader's own complete cases: R1 keeps all 30 cases.
    merged = data.merge(truth, on=["case", "unit"])
    own = merged[~((merged["reader"] == "R2") & merged["case"].isin([*missed, fifth]))]
    table = mcnemar(own, reference="unaided", test="aided")
    by = {(e["reader"], e["metric"]): e for e in s["binary"]["mcnemar"]}
    for row in table.itertuples():
        assert by[(row.reader, row.metric)]["p"] == pytest.approx(row.p, rel=1e-12)

    # Per-reader sensitivity and specificity: every read, including R2's partial case.
    per = sensitivity_specificity(merged)
    r2 = per[(per["reader"] == "R2") & (per["modality"] == "unaided")]
    entry = next(
        e for e in s["binary"]["per_reader"] if e["reader"] == "R2" and e["modality"] == "unaided"
    )
    assert entry["specificity"]["trials"] == int(
        r2.query("metric == 'specificity'")["trials"].iloc[0]
    )


def test_split_plot_reading_gets_the_split_plot_or_analysis_not_the_crossed_ones(study):
    ratings, truth = study["ratings"], study["truth"]
    cases = _cases(ratings)
    group_a = ratings["reader"].isin(["R1", "R2"]) & ratings["case"].isin(cases[:15])
    group_b = ratings["reader"].isin(["R3", "R4"]) & ratings["case"].isin(cases[15:])
    res = analyze(ratings[group_a | group_b], truth, gee=True, ustat=True)
    s = res.summary
    assert "agreement" not in s
    assert "reader_average" not in s["binary"]
    # The MRMC ROC analysis is the split-plot OR one, equal to the function run by hand.
    by_hand = split_plot_analysis(
        ratings[group_a | group_b].merge(truth, on=["case", "unit"]),
        rating="rating",
        reference="unaided",
    )
    assert s["roc_mrmc"]["design"] == "split-plot"
    assert s["roc_mrmc"]["groups"] == [
        {"readers": ["R1", "R2"], "cases": 15},
        {"readers": ["R3", "R4"], "cases": 15},
    ]
    assert s["roc_mrmc"]["difference"]["p"] == pytest.approx(by_hand.difference.p, rel=1e-12)
    assert s["roc_mrmc"]["difference"]["se"] == pytest.approx(by_hand.difference.se, rel=1e-12)
    assert any(n.startswith("split-plot design: the MRMC ROC analysis") for n in s["notes"])
    # What can be analysed still is: per-reader results, per-reader McNemar and the GEE.
    assert len(s["binary"]["per_reader"]) == 8
    assert {e["reader"] for e in s["binary"]["mcnemar"]} == {"R1", "R2", "R3", "R4"}
    assert s["binary"]["clustered_models"]["sensitivity"]["models"][0]["clusters"] <= 30
    # The U-statistic variance takes any design (unbiased, normal reference).
    assert s["roc_ustat"]["unbiased"]["variance"] > 0
    assert np.isinf(s["roc_ustat"]["unbiased"]["df"])
    assert "mle" not in s["roc_ustat"]


def test_split_plot_result_reaches_the_json_xlsx_and_html(study, tmp_path):
    ratings, truth = study["ratings"], study["truth"]
    cases = _cases(ratings)
    group_a = ratings["reader"].isin(["R1", "R2"]) & ratings["case"].isin(cases[:15])
    group_b = ratings["reader"].isin(["R3", "R4"]) & ratings["case"].isin(cases[15:])
    res = analyze(ratings[group_a | group_b], truth)
    paths = write_reports(res, tmp_path, figures=False)
    saved = json.loads(paths["json"].read_text())
    assert saved["roc_mrmc"]["design"] == "split-plot"
    comparisons = pd.read_excel(paths["xlsx"], sheet_name="Comparisons")
    auc = comparisons[comparisons["comparison"] == "AUC"]
    assert auc["analysis"].tolist() == [
        "random readers and cases (OR, Hillis df) (split-plot)",
        "fixed readers, random cases (split-plot)",
        "random readers, fixed cases (split-plot)",
    ]
    notes = pd.read_excel(paths["xlsx"], sheet_name="notes")
    assert notes.apply(
        lambda row: row.astype(str).str.contains("split-plot design: the MRMC").any(), axis=1
    ).any()
    page = paths["html"].read_text()
    assert "Obuchowski-Rockette model for split-plot designs [splitplot]" in page
    assert "Obuchowski NA, Gallas BD, Hillis SL (2012)" in page


def test_groups_sharing_some_cases_get_no_mrmc_analysis_and_the_reason(study):
    ratings, truth = study["ratings"], study["truth"]
    cases = _cases(ratings)
    # No case read by all four, and R3's cases overlap those of R1 and R2 in part.
    group_a = ratings["reader"].isin(["R1", "R2"]) & ratings["case"].isin(cases[:16])
    r3 = (ratings["reader"] == "R3") & ratings["case"].isin(cases[14:])
    r4 = (ratings["reader"] == "R4") & ratings["case"].isin(cases[16:])
    s = analyze(ratings[group_a | r3 | r4], truth).summary
    assert "roc_mrmc" not in s
    assert any(
        n.startswith("split-plot OR analysis of the AUC not computed")
        and "neither fully crossed nor split-plot" in n
        for n in s["notes"]
    )


def test_reader_of_one_modality_only_is_left_out_of_the_crossed_analyses(study):
    ratings, truth = study["ratings"], study["truth"]
    data = ratings[~((ratings["reader"] == "R4") & (ratings["modality"] == "aided"))]
    s = analyze(data, truth).summary
    assert any("R4 completed no case in every modality" in n for n in s["notes"])
    assert s["design"]["crossed_readers"] == ["R1", "R2", "R3"]
    assert s["roc_mrmc"]["n_readers"] == 3
    assert {e["reader"] for e in s["binary"]["mcnemar"]} == {"R1", "R2", "R3"}


def test_or_analysis_itself_still_requires_a_fully_crossed_design(study):
    data = study["ratings"].merge(study["truth"], on=["case", "unit"]).iloc[1:]
    with pytest.raises(AnalysisInputError, match="not fully crossed"):
        or_analysis(data, fom="auc", rating="rating")
