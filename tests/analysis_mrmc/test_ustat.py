"""Gallas's U-statistic variance (iMRMC's "BDG"/Ustat and MLEstat) of the reader-averaged AUC.

Sources:
- Van Dyke, unbiased: variance of the difference 4.27313e-4 on 15.0342 df, as iMRMC 4.0.3
  (``doIMRMC`` Ustat: varAUCAminusAUCB, dfHillis) and MRMCaov 0.3.0
  (``mrmc(empirical_auc(truth, rating), treatment, reader, case, VanDyke, cov = unbiased)``)
  report it (issue 14, from runs of both programs on the project's exports).
- MLE: Gallas et al. (2009) show the MLE is the ideal bootstrap variance; checked here
  against an exhaustive enumeration of every bootstrap resample of a tiny study.
- Unbiasedness: the mean of the estimate over every possible sample drawn with replacement
  from a tiny population equals the variance of the estimator over those samples (exact
  enumeration, nothing simulated).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis.columns import Columns
from analysis.errors import AnalysisInputError
from analysis.mrmc import or_analysis
from analysis.roc import auc, ustat_cov
from analysis.ustat import ustat_difference


@pytest.fixture(scope="module")
def vandyke(refdata) -> pd.DataFrame:
    return pd.read_csv(refdata / "vandyke.csv")


def test_vandyke_unbiased_matches_imrmc_and_mrmcaov(vandyke):
    table = ustat_difference(vandyke, columns=Columns(modality="treatment")).set_index("method")
    row = table.loc["unbiased"]
    assert row["variance"] == pytest.approx(4.27313e-4, abs=5e-10)
    assert row["df"] == pytest.approx(15.0342, abs=5e-5)
    assert row["estimate"] == pytest.approx(0.04380032, abs=5e-9)
    # MRMCaov's cov = unbiased runs the OR model on these covariances: same variance here
    # (Cov2 >= Cov3, so Hillis's truncation does not bite).
    res = or_analysis(vandyke, columns=Columns(modality="treatment"), covariance="unbiased")
    assert res.difference.se**2 == pytest.approx(row["variance"], rel=1e-12)
    assert res.difference.df2 == pytest.approx(row["df"], rel=1e-12)
    # The MLE (ideal bootstrap) exceeds the unbiased estimate; same df, as in iMRMC.
    assert table.loc["mle", "variance"] > row["variance"]
    assert table.loc["mle", "df"] == row["df"]


def test_unbiased_equals_untruncated_or_form_on_franken(refdata):
    # Franken has Cov2 < Cov3: OR truncates max(Cov2 - Cov3, 0), Gallas's estimate does not.
    # Algebraically d^2 - M8 = s_d^2 / r + 2 (Cov2 - Cov3) with unbiased covariances.
    franken = pd.read_csv(refdata / "franken.csv")
    row = (
        ustat_difference(franken, columns=Columns(modality="treatment"))
        .set_index("method")
        .loc["unbiased"]
    )
    vc = or_analysis(
        franken, columns=Columns(modality="treatment"), covariance="unbiased"
    ).variance_components
    r = 4
    assert vc["cov2"] < vc["cov3"]
    expected = 2 * vc["mstr"] / r + 2 * (vc["cov2"] - vc["cov3"])
    assert row["variance"] == pytest.approx(expected, rel=1e-10)


def _tiny_study(seed: int, readers: int, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores[modality, reader, unit] on a 1-4 scale (many ties) and truth per unit."""
    rng = np.random.default_rng(seed)
    truth = np.r_[np.zeros(n0, bool), np.ones(n1, bool)]
    scores = rng.integers(1, 5, size=(2, readers, n0 + n1)) + truth
    return scores.astype(float), truth


def _long(scores: np.ndarray, truth: np.ndarray) -> pd.DataFrame:
    t, r, n = scores.shape
    m, rd, c = np.meshgrid(np.arange(t), np.arange(r), np.arange(n), indexing="ij")
    return pd.DataFrame(
        {
            "modality": m.ravel(),
            "reader": rd.ravel(),
            "case": c.ravel(),
            "truth": truth[c.ravel()].astype(int),
            "rating": scores.ravel(),
        }
    )


def _difference(scores: np.ndarray, truth: np.ndarray) -> float:
    t, r, n = scores.shape
    a = auc(truth, scores.reshape(t * r, n)).reshape(t, r).mean(axis=1)
    return float(a[1] - a[0])


def test_mle_is_the_exhaustive_bootstrap_variance():
    scores, truth = _tiny_study(3, readers=3, n0=2, n1=3)
    neg, pos = np.flatnonzero(~truth), np.flatnonzero(truth)
    values = []
    for rs in itertools.product(range(3), repeat=3):
        for ns in itertools.product(neg, repeat=2):
            for ps in itertools.product(pos, repeat=3):
                units = np.r_[ns, ps]
                values.append(_difference(scores[:, list(rs)][:, :, units], truth[units]))
    table = ustat_difference(_long(scores, truth)).set_index("method")
    assert table.loc["mle", "variance"] == pytest.approx(np.var(values), rel=1e-12)
    assert table.loc["mle", "estimate"] == pytest.approx(np.mean(values), rel=1e-12)


@pytest.mark.slow
def test_unbiased_over_every_sample_of_a_tiny_population():
    population, truth = _tiny_study(5, readers=2, n0=3, n1=3)
    neg, pos = np.flatnonzero(~truth), np.flatnonzero(truth)
    estimates, estimated_variances = [], []
    for rs in itertools.product(range(2), repeat=2):
        for ns in itertools.product(neg, repeat=2):
            for ps in itertools.product(pos, repeat=2):
                units = np.r_[ns, ps]
                sample = population[:, list(rs)][:, :, units]
                row = ustat_difference(_long(sample, truth[units])).iloc[0]
                estimates.append(row["estimate"])
                estimated_variances.append(row["variance"])
    assert np.mean(estimated_variances) == pytest.approx(np.var(estimates), rel=1e-10)


def test_case_covariance_unbiased_and_mle_by_enumeration():
    population, truth = _tiny_study(7, readers=1, n0=3, n1=3)
    rows = population[:, 0]
    neg, pos = np.flatnonzero(~truth), np.flatnonzero(truth)
    aucs, unbiased = [], []
    for ns in itertools.product(neg, repeat=2):
        for ps in itertools.product(pos, repeat=3):
            units = np.r_[ns, ps]
            theta, cov = ustat_cov(truth[units], rows[:, units], "unbiased")
            aucs.append(theta)
            unbiased.append(cov)
    assert_allclose(np.mean(unbiased, axis=0), np.cov(np.array(aucs).T, ddof=0), rtol=1e-10)
    # The MLE of one sample is the covariance over every case resample of that sample.
    boot = []
    for ns in itertools.product(neg, repeat=3):
        for ps in itertools.product(pos, repeat=3):
            units = np.r_[ns, ps]
            boot.append(auc(truth[units], rows[:, units]))
    _, mle = ustat_cov(truth, rows, "mle")
    assert_allclose(mle, np.cov(np.array(boot).T, ddof=0), rtol=1e-10)


def test_refusals():
    scores, truth = _tiny_study(1, readers=1, n0=3, n1=3)
    with pytest.raises(AnalysisInputError, match="at least 2 readers"):
        ustat_difference(_long(scores, truth))
    scores, truth = _tiny_study(1, readers=2, n0=1, n1=3)
    with pytest.raises(AnalysisInputError, match="2\\+ negative"):
        ustat_difference(_long(scores, truth))
    with pytest.raises(ValueError, match="method must be one of"):
        ustat_cov(truth, scores[0], "bootstrap")


def test_design_variance_of_a_crossed_study_is_the_crossed_estimate(vandyke):
    from analysis.mrmc import prepare_for_fom
    from analysis.ustat import gallas_design_variance

    prepared = prepare_for_fom(vandyke, "auc", columns=Columns(modality="treatment"))
    read = np.ones(prepared.ratings.shape[1:], bool)
    estimate, variance = gallas_design_variance(prepared.ratings, read, prepared.truth)
    assert estimate == pytest.approx(0.04380032, abs=5e-9)
    assert variance == pytest.approx(4.27313e-4, abs=5e-10)


def test_design_variance_unbiased_over_every_sample_of_a_split_plot_design():
    """Two reader groups reading overlapping unit sets (positions): readers and units are drawn
    with replacement from a tiny population into the positions; over all 512 samples the mean
    estimated variance equals the variance of the estimate (exact enumeration)."""
    from analysis.ustat import gallas_design_variance

    population, truth = _tiny_study(9, readers=2, n0=2, n1=2)
    # Positions: 3 readers, 3 negatives, 3 positives; reader 2 reads other units than 0 and 1.
    read = np.array([[1, 1, 0, 1, 1, 0], [1, 1, 0, 1, 1, 0], [0, 1, 1, 0, 1, 1]], dtype=bool)
    position_truth = np.r_[np.zeros(3, bool), np.ones(3, bool)]
    neg, pos = np.flatnonzero(~truth), np.flatnonzero(truth)
    estimates, variances = [], []
    for rs in itertools.product(range(2), repeat=3):
        for ns in itertools.product(neg, repeat=3):
            for ps in itertools.product(pos, repeat=3):
                units = np.r_[ns, ps]
                sample = population[:, list(rs)][:, :, units]
                estimate, variance = gallas_design_variance(sample, read, position_truth)
                estimates.append(estimate)
                variances.append(variance)
    assert np.var(estimates) > 0
    assert np.mean(variances) == pytest.approx(np.var(estimates), rel=1e-10)


def test_ustat_difference_of_a_split_plot_table(vandyke):
    first = vandyke["reader"].isin([1, 2, 3]) & (vandyke["case"] <= 40)
    first |= vandyke["reader"].isin([1, 2, 3]) & vandyke["case"].between(70, 90)
    second = vandyke["reader"].isin([4, 5]) & ~first.groupby(vandyke["case"]).transform("any")
    table = ustat_difference(vandyke[first | second], columns=Columns(modality="treatment"))
    (row,) = table.itertuples()
    assert row.method == "unbiased"
    assert np.isinf(row.df)
    assert 0 < row.variance < 0.01
