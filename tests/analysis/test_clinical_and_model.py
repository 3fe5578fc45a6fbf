"""Clinical ASPECTS views, mask overlap, exports and the analyze paths for partial inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analysis.analyze import Plan, analyze
from analysis.clinical import (
    bland_altman,
    case_aspects,
    dichotomised_accuracy,
    sensitivity_by_region,
)
from analysis.errors import AnalysisInputError
from analysis.exports import to_imrmc
from analysis.report import to_jsonable, write_json
from analysis.segmentation import overlap, segmentation_metrics
from tests.analysis.synthetic import paper_study


@pytest.fixture(scope="module")
def study():
    tables = paper_study(readers=3, cases=30, seed=21)
    ratings = tables["ratings"].merge(tables["truth"], on=["case", "unit"])
    return tables, ratings


def test_dichotomised_accuracy_and_bland_altman_by_hand(study):
    tables, ratings = study
    readers = case_aspects(ratings, by=("reader", "modality"), cases=tables["cases"])
    truth = case_aspects(tables["truth"], value="truth", cases=tables["cases"])
    accuracy = dichotomised_accuracy(readers, truth)
    summary, points = bland_altman(readers, truth)
    merged = readers.merge(truth[["case", "aspects"]], on="case", suffixes=("", "_truth"))
    one = merged[(merged["reader"] == "R2") & (merged["modality"] == "aided")]
    correct = ((one["aspects"] >= 6) == (one["aspects_truth"] >= 6)).sum()
    row = accuracy[(accuracy["reader"] == "R2") & (accuracy["modality"] == "aided")].iloc[0]
    assert (row["correct"], row["cases"]) == (correct, 30)
    diff = (one["aspects"] - one["aspects_truth"]).to_numpy()
    ba = summary[(summary["reader"] == "R2") & (summary["modality"] == "aided")].iloc[0]
    half = stats.norm.ppf(0.975) * diff.std(ddof=1)
    assert_allclose(
        [ba["bias"], ba["loa_low"], ba["loa_high"]],
        [diff.mean(), diff.mean() - half, diff.mean() + half],
    )
    pooled = summary[(summary["reader"] == "all") & (summary["modality"] == "aided")].iloc[0]
    assert pooled["n"] == 90
    assert len(points) == len(readers)


def test_region_sensitivity_counts_positive_units_once(study):
    tables, ratings = study
    table = sensitivity_by_region(ratings)
    positive = tables["truth"][tables["truth"]["truth"] == 1]
    counts = positive["unit"].str.rsplit("_", n=1).str[0].value_counts()
    for row in table.itertuples():
        assert row.positive_units == counts[row.region]
        assert row.reads == 3 * counts[row.region]
    m5 = ratings[
        (ratings["truth"] == 1)
        & ratings["unit"].str.startswith("M5_")
        & (ratings["modality"] == "unaided")
    ]
    got = table[(table["region"] == "M5") & (table["modality"] == "unaided")]["sensitivity"]
    assert got.iloc[0] == pytest.approx(m5["call"].mean())


def test_case_aspects_without_cases_uses_the_lower_side(study):
    _, ratings = study
    scores = case_aspects(ratings, by=("reader", "modality"))
    assert (scores["aspects"] == scores[["aspects_left", "aspects_right"]].min(axis=1)).all()
    with pytest.raises(AnalysisInputError, match="needs all 20 ASPECTS units"):
        case_aspects(ratings[ratings["unit"] != "M1_left"])


def test_overlap_by_hand_and_pooled_summary():
    reference = np.zeros((4, 4), bool)
    reference[:2, :2] = True  # 4 voxels
    predicted = np.zeros((4, 4), float)
    predicted[:2, :3] = 0.9  # 6 voxels, 4 overlapping
    predicted[3, 3] = 0.4  # below the 0.5 threshold
    result = overlap(predicted, reference)
    assert (result["tp"], result["fp"], result["fn"]) == (4, 2, 0)
    assert result["dsc"] == pytest.approx(8 / 10)
    assert result["precision"] == pytest.approx(4 / 6)
    assert result["recall"] == 1.0
    empty = np.zeros((4, 4), bool)
    per_case, summary = segmentation_metrics(
        {"a": predicted, "b": empty}, {"a": reference, "b": empty}
    )
    assert np.isnan(per_case.set_index("case").at["b", "dsc"])
    assert summary["mean"]["dsc"] == pytest.approx(0.8)
    assert summary["pooled"]["dsc"] == pytest.approx(0.8)
    with pytest.raises(AnalysisInputError, match="mask shapes differ"):
        overlap(predicted, np.zeros((3, 3)))
    with pytest.raises(AnalysisInputError, match="no case has both"):
        segmentation_metrics({"a": predicted}, {"b": reference})


def test_imrmc_round_trip_mapping(study, tmp_path):
    _, ratings = study
    path, mapping = to_imrmc(ratings, tmp_path / "study.imrmc")
    ids = pd.read_csv(mapping)
    lines = path.read_text().splitlines()
    data = [row.split(",") for row in lines[lines.index("BEGIN DATA:") + 1 :]]
    cases = ids[ids["kind"] == "case"].set_index("id")["label"]
    readers = ids[ids["kind"] == "reader"].set_index("id")["label"]
    first = next(r for r in data if r[0] != "-1")
    case, unit = cases[int(first[1])].split(":")
    original = ratings[
        (ratings["reader"] == readers[int(first[0])])
        & (ratings["case"] == case)
        & (ratings["unit"] == unit)
        & (ratings["modality"] == "unaided")
    ]
    assert float(first[3]) == original["rating"].iloc[0]


def test_partial_inputs_and_degenerate_readers(study, tmp_path):
    tables, _ = study
    ratings = tables["ratings"].copy()
    ratings.loc[ratings["modality"] == "unaided", "call"] = 0  # a reader who never calls
    results = analyze(ratings[ratings["reader"] != "R3"], tables["truth"])
    icc = results.summary["agreement"]["icc"]["region"]["unaided"]
    assert icc["icc"] != icc["icc"]  # NaN: no variance to apportion
    path = write_json(results, tmp_path / "results.json")
    loaded = json.loads(path.read_text())
    assert loaded["agreement"]["icc"]["region"]["unaided"]["icc"] is None
    single = analyze(tables["ratings"][tables["ratings"]["modality"] == "aided"], tables["truth"])
    assert single.summary["test"] is None
    assert "roc_mrmc" not in single.summary
    assert "mcnemar" not in single.summary["binary"]
    one_reader = analyze(tables["ratings"][tables["ratings"]["reader"] == "R1"], tables["truth"])
    assert "reader_average" not in one_reader.summary["binary"]
    left = tables["ratings"][tables["ratings"]["unit"].str.endswith("_left")]
    partial = analyze(left, tables["truth"][tables["truth"]["unit"].str.endswith("_left")])
    assert "clinical" not in partial.summary
    assert set(partial.summary["agreement"]["icc"]) == {"region"}
    with pytest.raises(AnalysisInputError, match=r"^plan needs confidence ratings"):
        analyze(tables["ratings"].drop(columns="rating"), tables["truth"], plan=Plan(6, 0.05))
    with pytest.raises(AnalysisInputError, match=r"^covariance must be one of"):
        analyze(tables["ratings"], tables["truth"], covariance="bootstrap")
    with pytest.raises(ValueError, match="plan readers must be at least 2"):
        Plan(1, 0.05)


def test_to_jsonable_turns_numpy_and_nan_into_json():
    value = to_jsonable({"a": np.float64("nan"), "b": [np.int64(3), float("inf")], 1: 2.5})
    assert value == {"a": None, "b": [3, None], "1": 2.5}
