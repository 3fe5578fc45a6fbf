"""Degenerate MRMC situations and input rejections, one test each."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis.columns import Columns
from analysis.errors import AnalysisInputError
from analysis.mrmc import or_analysis


@pytest.fixture(scope="module")
def vandyke(refdata) -> pd.DataFrame:
    return pd.read_csv(refdata / "vandyke.csv").rename(columns={"treatment": "modality"})


def test_perfect_reader(vandyke):
    data = vandyke.copy()
    perfect = (data["reader"] == 1) & (data["modality"] == 2)
    data.loc[perfect, "rating"] = 1 + 4 * data.loc[perfect, "truth"]
    res = or_analysis(data)
    assert res.foms.loc[1, 2] == 1.0
    row = res.per_reader.set_index("reader").loc[1]
    assert row["se_test"] == 0.0
    assert (row["ci_low_test"], row["ci_high_test"]) == (1.0, 1.0)
    assert all(math.isfinite(v) for v in (res.difference.se, res.difference.p, res.difference.df2))
    assert any("reader 1, modality 2: auc = 1" in n for n in res.notes)


def test_all_readers_perfect_gives_undefined_test_not_a_crash(vandyke):
    data = vandyke.assign(rating=1 + 4 * vandyke["truth"])
    res = or_analysis(data)
    d = res.difference
    assert (d.estimate, d.se) == (0.0, 0.0)
    assert math.isnan(d.F)
    assert math.isnan(d.p)
    assert res.per_modality["estimate"].tolist() == [1.0, 1.0]
    assert any("no variability" in n for n in res.notes)
    json.dumps(res.to_dict(), allow_nan=False)  # NaN travels as null


def test_cov2_below_cov3_uses_hillis_max(refdata):
    # Franken: Cov2 < Cov3 (RJafroc prints 4.836377e-04 < 5.125091e-04).
    res = or_analysis(pd.read_csv(refdata / "franken.csv"), columns=Columns(modality="treatment"))
    vc = res.variance_components
    assert vc["cov2"] < vc["cov3"]
    tests = res.global_tests
    assert tests.at["random readers, random cases", "denominator"] == pytest.approx(vc["mstr"])
    assert res.difference.df2 == pytest.approx(3.0)  # (t - 1)(r - 1): the max(.) term is 0
    fixed = tests.at["fixed readers, random cases", "denominator"]
    assert fixed == pytest.approx(vc["var_error"] - vc["cov1"])


def test_negative_variance_component_reported_not_rooted(refdata):
    res = or_analysis(pd.read_csv(refdata / "franken.csv"), columns=Columns(modality="treatment"))
    assert res.variance_components["var_tr"] < 0
    assert res.per_modality["se"].notna().all()
    assert math.isfinite(res.difference.se)
    assert any("var_tr" in n for n in res.notes)


def test_ci_clipping_of_foms_and_differences(vandyke):
    data = vandyke.copy()
    worse = data["modality"] == 1
    # Modality 1 rates backwards (AUC near 0), modality 2 nearly perfectly: difference near 1.
    data.loc[worse, "rating"] = 6 - data.loc[worse, "rating"]
    data.loc[~worse, "rating"] = np.where(data.loc[~worse, "truth"] == 1, 5, 1)
    data.loc[~worse & (data["case"] == 1), "rating"] = 5  # one false positive per reader
    res = or_analysis(data)
    assert res.difference.ci_high <= 1.0
    assert res.per_modality.loc[2, "ci_high"] == 1.0
    assert res.per_modality["ci_low"].min() >= 0.0
    assert res.per_reader["ci_high"].max() <= 1.0


def test_constant_ratings_reader_has_auc_one_half(vandyke):
    data = vandyke.copy()
    data.loc[(data["reader"] == 2) & (data["modality"] == 1), "rating"] = 3
    res = or_analysis(data)
    assert res.foms.loc[2, 1] == 0.5
    assert math.isfinite(res.difference.p)
    assert any("constant ratings" in n for n in res.notes)


def test_single_reader(vandyke):
    one = vandyke[vandyke["reader"] == 1]
    with pytest.raises(AnalysisInputError, match=r"at least 2 readers.*allow_single_reader"):
        or_analysis(one)
    res = or_analysis(one, allow_single_reader=True)
    assert res.difference is None
    assert res.fixed_cases is None
    assert res.fixed_readers.analysis == "fixed readers, random cases"
    per = res.per_reader.iloc[0]
    assert res.fixed_readers.se == pytest.approx(per["se"])
    assert res.fixed_readers.estimate == pytest.approx(0.02818035, rel=1e-6)  # MRMCaov reader 1
    out = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert out["difference"]["analysis"] == "fixed readers, random cases"
    assert any("one reader" in n for n in res.notes)


def test_three_modalities_global_test_and_pairwise_contrasts(vandyke):
    third = vandyke[vandyke["modality"] == 2].assign(
        modality=3, rating=lambda d: np.clip(d["rating"] + (d["reader"] % 2), 1, 5)
    )
    data = pd.concat([vandyke, third], ignore_index=True)
    res = or_analysis(data, reference=2)
    assert res.reference == 2
    assert set(res.differences) == {1, 3}
    assert res.difference.test == 1
    assert res.global_tests.loc["random readers, random cases", "df1"] == 2.0
    est = res.foms.mean()
    assert res.differences[3].estimate == pytest.approx(est[3] - est[2])
    assert res.differences[1].estimate == pytest.approx(est[1] - est[2])
    assert len(res.contrasts) == 6  # 3 analyses x 2 test modalities


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.drop(columns="truth"), "lacks column.*truth='truth'"),
        (lambda d: pd.concat([d, d.iloc[:1]]), "more than one row.*keep one rating"),
        (lambda d: d.iloc[1:], "not fully crossed.*reader 1"),
        (
            lambda d: d.assign(truth=np.where(d.index == 0, 1 - d["truth"], d["truth"])),
            "truth differs",
        ),
        (
            lambda d: d.assign(rating=d["rating"].astype(object).where(d.index != 5, "high")),
            "must be numeric",
        ),
        (lambda d: d.assign(rating=d["rating"].where(d.index != 5)), "is empty in 1 row"),
        (lambda d: d.assign(truth=d["truth"] * 2), "truth must be 0 or 1"),
        (lambda d: d[d["modality"] == 1], "at least 2 modalities"),
    ],
)
def test_input_rejections(vandyke, mutate, message):
    with pytest.raises(AnalysisInputError, match=message):
        or_analysis(mutate(vandyke))


def test_option_rejections(vandyke):
    with pytest.raises(TypeError, match="DataFrame"):
        or_analysis(vandyke.to_dict())
    with pytest.raises(AnalysisInputError, match="reference modality 'CT' is not in the data"):
        or_analysis(vandyke, reference="CT")
    with pytest.raises(AnalysisInputError, match="fom must be one of"):
        or_analysis(vandyke, fom="accuracy")
    with pytest.raises(AnalysisInputError, match="covariance must be one of"):
        or_analysis(vandyke, covariance="bootstrap")
    calls = vandyke.assign(call=(vandyke["rating"] >= 3).astype(int))
    with pytest.raises(AnalysisInputError, match="applies to the AUC only"):
        or_analysis(calls, fom="sensitivity", covariance="delong")
    with pytest.raises(AnalysisInputError, match="need 0/1 calls"):
        or_analysis(vandyke, fom="sensitivity", rating="rating")
    with pytest.raises(AnalysisInputError, match="alpha must lie"):
        or_analysis(vandyke, alpha=1.5)
