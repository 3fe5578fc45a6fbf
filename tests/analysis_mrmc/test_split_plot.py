"""The split-plot OR/Hillis analysis (analysis.mrmc.split_plot).

No R here, so it is validated three ways: with one reader group it equals ``or_analysis`` (Van
Dyke data, Van Dyke et al. 1993 via RJafroc, as test_or_published reads them); on studies
simulated with no modality difference its test rejects at the nominal rate; and its variance
of the AUC difference is close to the U-statistic (iMRMC-style) variance that
:func:`analysis.ustat.ustat_difference` computes for any design, an independent estimator.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.columns import Columns
from analysis.errors import AnalysisInputError
from analysis.mrmc import (
    FIXED_CASES,
    RANDOM,
    SPLIT_PLOT_METHOD,
    or_analysis,
    reader_groups,
    split_plot_analysis,
)
from analysis.ustat import ustat_difference
from tests.analysis_mrmc.split_plot_sim import rejection_rate, simulate

VD = Columns(modality="treatment")


@pytest.fixture(scope="module")
def vandyke(refdata) -> pd.DataFrame:
    return pd.read_csv(refdata / "vandyke.csv")


def _split(data: pd.DataFrame, groups: list[list[int]]) -> pd.DataFrame:
    """Readers of group g keep the cases with case % len(groups) == g."""
    group_of = {rd: g for g, readers in enumerate(groups) for rd in readers}
    keep = data["case"] % len(groups) == data["reader"].map(group_of)
    return data[keep.to_numpy()]


def _assert_same(a, b) -> None:
    pd.testing.assert_frame_equal(a.global_tests, b.global_tests, rtol=1e-10, atol=1e-12)
    pd.testing.assert_frame_equal(a.contrasts, b.contrasts, rtol=1e-10, atol=1e-12)
    pd.testing.assert_frame_equal(a.per_modality_all, b.per_modality_all, rtol=1e-10)
    pd.testing.assert_frame_equal(a.per_reader, b.per_reader, rtol=1e-10, atol=1e-12)
    pd.testing.assert_frame_equal(a.foms, b.foms, rtol=1e-10)
    for name, value in a.variance_components.items():
        assert b.variance_components[name] == pytest.approx(value, rel=1e-10, abs=1e-14), name


@pytest.mark.parametrize("covariance", ["jackknife", "delong", "unbiased"])
def test_one_group_equals_or_analysis_on_vandyke(vandyke, covariance):
    crossed = or_analysis(vandyke, covariance=covariance, columns=VD)
    split = split_plot_analysis(vandyke, covariance=covariance, columns=VD)
    assert split.groups == ((1, 2, 3, 4, 5),)
    _assert_same(crossed, split)
    assert split.n_cases == crossed.n_cases == 114


def test_one_group_equals_or_analysis_for_a_binary_fom(vandyke):
    data = vandyke.assign(call=(vandyke["rating"] >= 3).astype(int))
    crossed = or_analysis(data, fom="sensitivity", reference=2, columns=VD)
    split = split_plot_analysis(data, fom="sensitivity", reference=2, columns=VD)
    _assert_same(crossed, split)
    assert split.n_jackknife_cases == crossed.n_jackknife_cases == 45


def test_groups_each_get_their_own_covariance_and_zero_between(vandyke):
    data = _split(vandyke, [[1, 2], [3, 4, 5]])
    res = split_plot_analysis(data, columns=VD)
    assert res.groups == ((1, 2), (3, 4, 5))
    assert res.group_cases == (57, 57)
    # Each group's FOMs are those of the crossed analysis of that group alone.
    for readers in res.groups:
        alone = or_analysis(data[data["reader"].isin(readers)], columns=VD)
        pd.testing.assert_frame_equal(res.foms.loc[list(readers)], alone.foms, rtol=1e-12)
    # Var and Cov1 average over readers, Cov2 and Cov3 over same-group pairs: 2 + 6 ordered
    # pairs, so the 2-reader group weighs 2/8 in Cov2.
    g1 = or_analysis(data[data["reader"].isin([1, 2])], columns=VD).variance_components
    g2 = or_analysis(data[data["reader"].isin([3, 4, 5])], columns=VD).variance_components
    vc = res.variance_components
    assert vc["var_error"] == pytest.approx((2 * g1["var_error"] + 3 * g2["var_error"]) / 5)
    assert vc["cov1"] == pytest.approx((2 * g1["cov1"] + 3 * g2["cov1"]) / 5)
    assert vc["cov2"] == pytest.approx((2 * g1["cov2"] + 6 * g2["cov2"]) / 8)
    assert vc["cov3"] == pytest.approx((2 * g1["cov3"] + 6 * g2["cov3"]) / 8)
    # The random-reader denominator: MS(TR) + K / (r - 1) max(Cov2 - Cov3, 0), K = 8, r = 5.
    den = vc["mstr"] + 8 / 4 * max(vc["cov2"] - vc["cov3"], 0.0)
    test = res.global_tests.loc[RANDOM]
    assert test["denominator"] == pytest.approx(den, rel=1e-12)
    assert test["F"] == pytest.approx(vc["mst"] / den, rel=1e-12)
    assert test["df2"] == pytest.approx(den**2 / (vc["mstr"] ** 2 / 4), rel=1e-12)
    assert res.difference.se == pytest.approx(math.sqrt(2 * den / 5), rel=1e-12)
    assert res.method == SPLIT_PLOT_METHOD
    assert res.to_dict()["design"] == "split-plot"


def test_readers_reading_alone_have_the_fixed_case_denominator(vandyke):
    # Every reader its own cases (K = 0): no Cov2/Cov3 term is left, den = MS(TR).
    data = _split(vandyke, [[1], [2], [3], [4], [5]])
    res = split_plot_analysis(data, columns=VD)
    tests = res.global_tests
    assert tests.at[RANDOM, "F"] == pytest.approx(tests.at[FIXED_CASES, "F"], rel=1e-12)
    assert tests.at[RANDOM, "df2"] == pytest.approx(4.0)
    assert res.variance_components["cov2"] == 0.0


def test_partly_overlapping_groups_are_refused(vandyke):
    data = vandyke[~((vandyke["reader"] == 1) & (vandyke["case"] <= 10))]
    with pytest.raises(AnalysisInputError, match="readers 1 and 2 read 104 case"):
        reader_groups(data)
    with pytest.raises(AnalysisInputError, match="neither fully crossed nor split-plot"):
        split_plot_analysis(data, columns=VD)


def test_a_group_missing_a_read_is_refused_naming_the_group(vandyke):
    data = _split(vandyke, [[1, 2], [3, 4, 5]])
    data = data[~((data["reader"] == 4) & (data["treatment"] == 2) & (data["case"] == 3))]
    # Reader 4 still reads case 3 (in treatment 1), so the groups are those of the design.
    with pytest.raises(AnalysisInputError, match=r"split-plot reader group 2 .*not fully crossed"):
        split_plot_analysis(data, columns=VD)


def test_a_group_without_both_truths_is_refused(vandyke):
    groups = {1: vandyke["case"] <= 69, 2: vandyke["case"] > 69}
    keep = np.where(vandyke["reader"] <= 2, groups[1], groups[2])
    with pytest.raises(AnalysisInputError, match=r"group 1 .*both positive and negative"):
        split_plot_analysis(vandyke[keep], columns=VD)


@pytest.mark.slow
@pytest.mark.parametrize(("readers", "cases"), [((3, 3), 40), ((2, 2, 2, 2), 30)])
def test_type_one_error_is_nominal_on_simulated_null_studies(readers, cases):
    # 250 null studies per design (500 in all); the larger runs are reported in
    # docs/analysis.md (python -m tests.analysis_mrmc.split_plot_sim).
    sims = 250
    rate, cover = rejection_rate(sims, readers=readers, cases=cases)
    low, high = stats.binom.ppf([0.0005, 0.9995], sims, 0.05) / sims
    assert low <= rate <= high, rate
    assert cover == pytest.approx(1 - rate)


@pytest.mark.slow
def test_the_test_has_power_against_a_modality_difference():
    rate, _ = rejection_rate(40, readers=(3, 3), cases=40, shift=0.8)
    assert rate > 0.6


@pytest.mark.parametrize(("readers", "cases"), [((4, 4), 300), ((3, 3, 3, 3), 300), ((2, 5), 300)])
def test_variance_of_the_difference_is_close_to_the_u_statistic_on_large_samples(readers, cases):
    data = simulate(7, readers=readers, cases=cases)
    split = split_plot_analysis(data, reference="unaided", covariance="unbiased")
    ustat = ustat_difference(data, rating="rating", reference="unaided")
    u_var = float(ustat.loc[ustat["method"] == "unbiased", "variance"].iloc[0])
    assert split.difference.se**2 == pytest.approx(u_var, rel=0.03)


@pytest.mark.slow
def test_unequal_groups_variance_matches_the_spread_of_the_difference():
    # Groups of 3 readers reading 60 and 120 cases: each study's OR and U-statistic variances
    # differ (both are noisy in the readers), but over null studies both average to the
    # variance of the difference itself.
    estimates, or_var, u_var = [], [], []
    for seed in range(150):
        data = simulate(1000 + seed, readers=(3, 3), cases=(60, 120))
        split = split_plot_analysis(data, reference="unaided", covariance="unbiased")
        ustat = ustat_difference(data, rating="rating", reference="unaided")
        estimates.append(split.difference.estimate)
        or_var.append(split.difference.se**2)
        u_var.append(float(ustat.loc[ustat["method"] == "unbiased", "variance"].iloc[0]))
    spread = float(np.var(estimates, ddof=1))
    assert np.mean(or_var) == pytest.approx(spread, rel=0.25)
    assert np.mean(or_var) == pytest.approx(np.mean(u_var), rel=0.1)


def test_row_order_within_a_group_does_not_matter(vandyke):
    data = _split(vandyke, [[1, 2], [3, 4, 5]])
    second = data["reader"] >= 3
    # Group 2's rows come treatment 2 first: its modalities are re-ordered to the study's.
    shuffled = pd.concat([data[~second], data[second].iloc[::-1]], ignore_index=True)
    a, b = split_plot_analysis(data, columns=VD), split_plot_analysis(shuffled, columns=VD)
    assert b.groups == ((1, 2), (5, 4, 3))  # readers in order of appearance
    pd.testing.assert_frame_equal(a.foms, b.foms.loc[list(a.foms.index)], rtol=1e-12)
    pd.testing.assert_frame_equal(a.global_tests, b.global_tests, rtol=1e-10)
    pd.testing.assert_frame_equal(a.contrasts, b.contrasts, rtol=1e-10)
    for name, value in a.variance_components.items():
        assert b.variance_components[name] == pytest.approx(value, rel=1e-10), name
