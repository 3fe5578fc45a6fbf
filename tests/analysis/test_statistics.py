"""The paper's statistics against published values and independent implementations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportion_confint

from analysis.agreement import icc
from analysis.binary import (
    clopper_pearson,
    clustered_mcnemar,
    mcnemar,
    sensitivity_specificity,
)
from analysis.clinical import case_aspects
from analysis.timing import paired_t_over_readers, time_per_modality, time_per_reader
from analysis.units import aspects_score
from tests.analysis.synthetic import paper_study


@pytest.fixture(scope="module")
def study():
    tables = paper_study(seed=7)
    ratings = tables["ratings"].merge(tables["truth"], on=["case", "unit"])
    return tables, ratings


# Shrout & Fleiss (1979), Psychol Bull 86:420, Table 2 and the values printed in the text.
SHROUT_FLEISS = {
    "ICC(1,1)": (0.1657, None),
    "ICC(A,1)": (0.2898, (0.019, 0.761)),
    "ICC(C,1)": (0.7148, None),
}


def test_icc_reproduces_shrout_and_fleiss(refdata):
    data = pd.read_csv(refdata / "shrout_fleiss_1979.csv")
    table = icc(data, targets="target", raters="judge", ratings="rating").set_index("type")
    for name, (value, ci) in SHROUT_FLEISS.items():
        assert round(table.at[name, "icc"], 4) == value
        if ci is not None:
            assert (round(table.at[name, "ci_low"], 3), round(table.at[name, "ci_high"], 3)) == ci


def test_icc_matches_pingouin_unrounded(refdata, study):
    _, ratings = study
    region = ratings[ratings["modality"] == "unaided"].assign(
        target=lambda d: d["case"] + "/" + d["unit"]
    )
    for data, args in [
        (pd.read_csv(refdata / "shrout_fleiss_1979.csv"), ("target", "judge", "rating")),
        (region, ("target", "reader", "call")),
    ]:
        ours = icc(data, targets=args[0], raters=args[1], ratings=args[2]).set_index("type")
        saved = pingouin.options.get("round.column.CI95")
        pingouin.options["round.column.CI95"] = None  # pingouin rounds CIs to 2 digits
        try:
            with warnings.catch_warnings():
                # pingouin 0.7.0 calls DataFrame.dropna(inplace=True), deprecated in pandas 3.1.
                warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
                theirs = pingouin.intraclass_corr(
                    data, targets=args[0], raters=args[1], ratings=args[2]
                ).set_index("Type")
        finally:
            pingouin.options["round.column.CI95"] = saved
        for name in ("ICC(1,1)", "ICC(A,1)", "ICC(C,1)"):
            assert_allclose(ours.at[name, "icc"], theirs.at[name, "ICC"], rtol=1e-10)
            assert_allclose(ours.at[name, "F"], theirs.at[name, "F"], rtol=1e-10)
            assert_allclose(ours.at[name, "p"], theirs.at[name, "pval"], rtol=1e-8, atol=1e-300)
            assert_allclose(
                [ours.at[name, "ci_low"], ours.at[name, "ci_high"]],
                theirs.at[name, "CI95"],
                rtol=1e-8,
            )


def test_icc_alpha_widens_interval(refdata):
    data = pd.read_csv(refdata / "shrout_fleiss_1979.csv")
    at95 = icc(data, targets="target", raters="judge", ratings="rating").set_index("type")
    at99 = icc(data, targets="target", raters="judge", ratings="rating", alpha=0.01)
    at99 = at99.set_index("type")
    assert (at99["ci_low"] < at95["ci_low"]).all()
    assert (at99["ci_high"] > at95["ci_high"]).all()


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.2])
def test_clopper_pearson_matches_statsmodels_beta(alpha):
    trials = np.array([1, 10, 10, 10, 136, 1564, 155])
    successes = np.array([0, 0, 3, 10, 22, 1380, 66])
    low, high = clopper_pearson(successes, trials, alpha)
    sm_low, sm_high = proportion_confint(successes, trials, alpha=alpha, method="beta")
    assert_allclose(low, sm_low, atol=1e-12)
    assert_allclose(high, sm_high, atol=1e-12)


def test_sensitivity_specificity_counts_units(study):
    _, ratings = study
    table = sensitivity_specificity(ratings)
    row = table[(table["reader"] == "R1") & (table["modality"] == "aided")]
    sens = row[row["metric"] == "sensitivity"].iloc[0]
    sub = ratings[(ratings["reader"] == "R1") & (ratings["modality"] == "aided")]
    positive = sub[sub["truth"] == 1]
    assert sens["trials"] == len(positive)
    assert sens["successes"] == positive["call"].sum()
    assert list(table["metric"][:2]) == ["sensitivity", "specificity"]


@pytest.mark.parametrize("method", ["exact", "chi2"])
def test_mcnemar_matches_statsmodels(study, method):
    _, ratings = study
    ours = mcnemar(ratings, reference="unaided", test="aided", method=method)
    for row in ours.itertuples():
        table = [[row.both, row.b], [row.c, row.neither]]
        # statsmodels corrects a symmetric table too; R (and we) do not: see the test below.
        theirs = sm_mcnemar(table, exact=method == "exact", correction=row.b != row.c)
        assert_allclose(row.p, theirs.pvalue, rtol=1e-10)
        assert_allclose(row.statistic, theirs.statistic, rtol=1e-10)


@pytest.mark.parametrize(
    ("b", "c", "statistic", "p"),
    [
        # R 4.2: mcnemar.test(matrix(c(40, 3, 3, 30), 2)) -> McNemar's chi-squared = 0, p-value = 1
        (3, 3, 0.0, 1.0),
        # R 4.2: mcnemar.test(matrix(c(40, 3, 10, 30), 2)) -> 2.7692, df = 1, p-value = 0.09609
        (10, 3, 36 / 13, 0.0960923),
    ],
)
def test_mcnemar_chi2_follows_r_on_symmetric_tables(b, c, statistic, p):
    truth = [1] * (40 + b + c + 30)
    ref = [1] * 40 + [1] * b + [0] * c + [0] * 30
    test = [1] * 40 + [0] * b + [1] * c + [0] * 30
    data = _two_modalities(ref, test, truth, [f"c{i}" for i in range(len(truth))])
    row = mcnemar(data, reference="a", test="b", method="chi2").iloc[0]
    assert (row["b"], row["c"]) == (b, c)
    assert_allclose(row["statistic"], statistic, rtol=1e-6)
    assert_allclose(row["p"], p, rtol=1e-5)


def _two_modalities(calls_ref, calls_test, truth, cases):
    n = len(truth)
    frame = pd.DataFrame(
        {
            "reader": "R1",
            "case": cases,
            "unit": [f"u{i}" for i in range(n)],
            "truth": truth,
        }
    )
    return pd.concat(
        [frame.assign(modality="a", call=calls_ref), frame.assign(modality="b", call=calls_test)]
    )


def test_mcnemar_without_discordant_pairs_gives_p_one():
    data = _two_modalities([1, 0, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], ["c1", "c1", "c2", "c2"])
    for method in ("exact", "chi2"):
        table = mcnemar(data, reference="a", test="b", method=method)
        assert (table["p"] == 1).all()
        assert (table[["b", "c"]] == 0).all(axis=None)
    clustered = clustered_mcnemar(data, reference="a", test="b")
    assert (clustered["p"] == 1).all()


def test_clustered_mcnemar_reduces_to_mcnemar_with_one_unit_per_case():
    rng = np.random.default_rng(3)
    n = 300
    truth = rng.integers(0, 2, n)
    ref = np.where(rng.random(n) < 0.7, truth, 1 - truth)
    test = np.where(rng.random(n) < 0.8, truth, 1 - truth)
    data = _two_modalities(ref, test, truth, [f"c{i}" for i in range(n)])
    clustered = clustered_mcnemar(data, reference="a", test="b")
    plain = mcnemar(data, reference="a", test="b", method="chi2")
    for c_row, p_row in zip(clustered.itertuples(), plain.itertuples(), strict=True):
        theirs = sm_mcnemar(
            [[p_row.both, p_row.b], [p_row.c, p_row.neither]], exact=False, correction=False
        )
        assert_allclose(c_row.statistic, theirs.statistic, rtol=1e-12)
        assert_allclose(c_row.p, theirs.pvalue, rtol=1e-12)


def test_clustered_mcnemar_is_wider_when_units_share_a_case():
    # Each case's calls repeated on 5 units: perfectly correlated within a case. Treated as
    # independent units the interval shrinks by sqrt(5); clustered by case it must not.
    rng = np.random.default_rng(11)
    n_cases, per_case = 120, 5
    truth = rng.integers(0, 2, n_cases)
    ref = np.where(rng.random(n_cases) < 0.7, truth, 1 - truth)
    test = np.where(rng.random(n_cases) < 0.85, truth, 1 - truth)
    repeated = [np.repeat(x, per_case) for x in (ref, test, truth)]
    cases = np.repeat([f"c{i}" for i in range(n_cases)], per_case)
    by_case = clustered_mcnemar(_two_modalities(*repeated, cases), reference="a", test="b")
    units = [f"u{i}" for i in range(n_cases * per_case)]
    by_unit = clustered_mcnemar(_two_modalities(*repeated, units), reference="a", test="b")
    assert_allclose(by_case["difference"], by_unit["difference"], rtol=1e-12)
    width = (by_case["ci_high"] - by_case["ci_low"]) / (by_unit["ci_high"] - by_unit["ci_low"])
    assert_allclose(width, np.sqrt(per_case), rtol=0.01)
    assert (by_case["p"] > by_unit["p"]).all()


def test_paired_t_matches_scipy(study):
    tables, _ = study
    per_reader = time_per_reader(tables["times"])
    result = paired_t_over_readers(per_reader, reference="unaided", test="aided")
    wide = per_reader.pivot(index="reader", columns="modality", values="mean_s")
    theirs = stats.ttest_rel(wide["aided"], wide["unaided"])
    assert_allclose(result.t, theirs.statistic, rtol=1e-12)
    assert_allclose(result.p, theirs.pvalue, rtol=1e-12)
    assert result.df == 3
    assert result.ci_low < result.difference_s < result.ci_high


def test_case_aspects_equals_aspects_score(study):
    tables, ratings = study
    scores = case_aspects(ratings, by=("reader", "modality"), cases=tables["cases"])
    sides = tables["cases"].set_index("case")["side"]
    sample = scores.sample(40, random_state=1)
    for row in sample.itertuples():
        sub = ratings[
            (ratings["reader"] == row.reader)
            & (ratings["modality"] == row.modality)
            & (ratings["case"] == row.case)
        ]
        called = sub.loc[sub["call"] == 1, "unit"]
        side = sides[row.case]
        expected = (
            aspects_score(called, side)
            if side != "none"
            else min(aspects_score(called, "left"), aspects_score(called, "right"))
        )
        assert row.aspects == expected


def test_clustered_interval_with_one_unit_per_case_is_the_paired_proportion_interval():
    rng = np.random.default_rng(5)
    n = 200
    truth = np.ones(n, int)  # all positive: one metric, n clusters of one unit
    ref = (rng.random(n) < 0.5).astype(int)
    test = np.where(rng.random(n) < 0.3, 1 - ref, ref)
    data = _two_modalities(ref, test, truth, [f"c{i}" for i in range(n)])
    row = clustered_mcnemar(data, reference="a", test="b", alpha=0.1).iloc[0]
    b, c = int(((ref == 1) & (test == 0)).sum()), int(((ref == 0) & (test == 1)).sum())
    diff = (c - b) / n
    # Paired difference of proportions: var = (b + c - (c - b)^2 / n) / n^2, times n / (n - 1).
    se = np.sqrt(n / (n - 1) * (b + c - (c - b) ** 2 / n)) / n
    assert row["difference"] == pytest.approx(diff)
    assert row["se"] == pytest.approx(se)
    z = stats.norm.ppf(0.95)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((diff - z * se, diff + z * se))


def test_alpha_reaches_every_interval(study):
    _, ratings = study
    wide = sensitivity_specificity(ratings, alpha=0.01)
    narrow = sensitivity_specificity(ratings, alpha=0.2)
    assert (wide["ci_high"] - wide["ci_low"] > narrow["ci_high"] - narrow["ci_low"]).all()
    with pytest.raises(ValueError, match="alpha must lie strictly between 0 and 1"):
        sensitivity_specificity(ratings, alpha=1.5)
    with pytest.raises(ValueError, match="method must be one of"):
        mcnemar(ratings, reference="unaided", test="aided", method="midp")


# Chen et al. (2022), Insights Imaging 13:184, Table 2: 85 cases x 20 units. The printed
# estimates and intervals of all 16 per-reader rows are reproduced by exactly one count pair:
# 135 positive and 1565 negative units (1700 in all, as the paper says), with these successes.
# So the paper's intervals are exact Clopper-Pearson ones, and ours print the same digits.
CHEN_TABLE2 = [
    # (successes, trials, estimate, ci_low, ci_high) as printed
    (22, 135, 0.163, 0.105, 0.236),
    (43, 135, 0.319, 0.241, 0.404),
    (25, 135, 0.185, 0.124, 0.261),
    (41, 135, 0.304, 0.228, 0.389),
    (51, 135, 0.378, 0.296, 0.465),
    (50, 135, 0.370, 0.289, 0.458),
    (39, 135, 0.289, 0.214, 0.373),
    (46, 135, 0.341, 0.261, 0.427),
    (1381, 1565, 0.882, 0.865, 0.898),
    (1429, 1565, 0.913, 0.898, 0.927),
    (1459, 1565, 0.932, 0.919, 0.944),
    (1486, 1565, 0.950, 0.937, 0.960),
    (1338, 1565, 0.855, 0.837, 0.872),
    (1377, 1565, 0.880, 0.863, 0.896),
    (1429, 1565, 0.913, 0.898, 0.927),
    (1436, 1565, 0.918, 0.903, 0.931),
]


@pytest.mark.parametrize(("successes", "trials", "estimate", "low", "high"), CHEN_TABLE2)
def test_clopper_pearson_prints_the_seed_papers_table2(successes, trials, estimate, low, high):
    ci_low, ci_high = clopper_pearson(successes, trials)
    assert round(successes / trials, 3) == estimate
    assert (round(float(ci_low), 3), round(float(ci_high), 3)) == (low, high)


def test_reading_time_summary_prints_the_seed_papers_table3():
    # Chen et al. (2022) Table 3: mean time per case (s) of each expert, baseline and aided;
    # "Average 219.0 ± 24.2 and 175.7 ± 1.4", paired t p = 0.035. From these rounded
    # per-reader means the paired t gives p = 0.037 (scipy agrees; see the test above), so
    # the paper's p must come from unrounded times: only the mean ± SD is pinned here.
    per_reader = pd.DataFrame(
        {
            "reader": ["E1", "E2", "E3", "E4"] * 2,
            "modality": ["baseline"] * 4 + ["aided"] * 4,
            "mean_s": [202.1, 250.1, 197.7, 226.1, 176.2, 176.8, 176.2, 173.7],
        }
    )
    table = time_per_modality(per_reader).set_index("modality")
    assert (round(table.at["baseline", "mean_s"], 1), round(table.at["baseline", "sd_s"], 1)) == (
        219.0,
        24.2,
    )
    assert (round(table.at["aided", "mean_s"], 1), round(table.at["aided", "sd_s"], 1)) == (
        175.7,
        1.4,
    )
    result = paired_t_over_readers(per_reader, reference="baseline", test="aided")
    assert round(result.p, 2) == 0.04
