"""Empirical AUC, DeLong and Obuchowski covariances and the case jackknife, against direct
O(n^2) and plain-loop computations written out from the papers' definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from analysis.errors import AnalysisInputError
from analysis.roc import (
    auc,
    auc_ci,
    clustered_cov,
    delong_cov,
    jackknife_auc,
    placements,
    roc_curve,
)


def _psi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mann-Whitney kernel for every (positive x, negative y) pair: 1, 1/2 on ties, 0."""
    return (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])


def _delong_direct(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) eq. 3-5 with explicit pair matrices."""
    pos, neg = truth == 1, truth == 0
    v10 = np.array([_psi(s[pos], s[neg]).mean(axis=1) for s in scores])
    v01 = np.array([_psi(s[pos], s[neg]).mean(axis=0) for s in scores])
    aucs = v10.mean(axis=1)
    k = len(scores)
    s10 = np.array([[np.cov(v10[a], v10[b])[0, 1] for b in range(k)] for a in range(k)])
    s01 = np.array([[np.cov(v01[a], v01[b])[0, 1] for b in range(k)] for a in range(k)])
    return aucs, s10 / pos.sum() + s01 / neg.sum()


def _obuchowski_direct(truth, scores, cluster) -> np.ndarray:
    """Obuchowski (1997) section 2, looping over clusters and unit pairs."""
    pos, neg = truth == 1, truth == 0
    n1, n0 = pos.sum(), neg.sum()
    labels = np.unique(cluster)
    k = len(scores)
    v10_sum = np.zeros((k, labels.size))
    v01_sum = np.zeros((k, labels.size))
    aucs = np.zeros(k)
    for a, s in enumerate(scores):
        psi = _psi(s[pos], s[neg])
        aucs[a] = psi.mean()
        v10 = psi.mean(axis=1)  # per positive unit, over all negatives
        v01 = psi.mean(axis=0)
        for i, lab in enumerate(labels):
            v10_sum[a, i] = v10[cluster[pos] == lab].sum()
            v01_sum[a, i] = v01[cluster[neg] == lab].sum()
    m1 = np.array([(cluster[pos] == lab).sum() for lab in labels])
    m0 = np.array([(cluster[neg] == lab).sum() for lab in labels])
    i10, i01, i_all = (m1 > 0).sum(), (m0 > 0).sum(), labels.size
    cov = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            da1, db1 = v10_sum[a] - m1 * aucs[a], v10_sum[b] - m1 * aucs[b]
            da0, db0 = v01_sum[a] - m0 * aucs[a], v01_sum[b] - m0 * aucs[b]
            s10 = i10 / ((i10 - 1) * n1) * (da1 * db1).sum()
            s01 = i01 / ((i01 - 1) * n0) * (da0 * db0).sum()
            s11 = i_all / (i_all - 1) * ((da1 * db0).sum() + (db1 * da0).sum())
            cov[a, b] = s10 / n1 + s01 / n0 + s11 / (n1 * n0)
    return cov


@pytest.fixture
def clustered(unit_study):
    data = unit_study(seed=3, readers=3, cases=30, units=20).query("modality == 'unaided'")
    wide = data.pivot_table(index="reader", columns=["case", "unit"], values="rating")
    truth = data.groupby(["case", "unit"])["truth"].first().loc[wide.columns].to_numpy()
    cluster = np.array([c for c, _ in wide.columns])
    return truth, wide.to_numpy(dtype=float), cluster


def test_auc_equals_pairwise_mann_whitney(clustered):
    truth, scores, _ = clustered
    direct = [_psi(s[truth == 1], s[truth == 0]).mean() for s in scores]
    assert_allclose(auc(truth, scores), direct, rtol=1e-12)
    assert isinstance(auc(truth, scores[0]), float)


def test_placements_match_direct(clustered):
    truth, scores, _ = clustered
    pl = placements(truth, scores)
    assert_allclose(pl.v10[1], _psi(scores[1][truth == 1], scores[1][truth == 0]).mean(axis=1))
    assert_allclose(pl.v01[2], _psi(scores[2][truth == 1], scores[2][truth == 0]).mean(axis=0))


def test_delong_matches_direct_computation(refdata):
    vd = pd.read_csv(refdata / "vandyke.csv")
    wide = vd.pivot_table(index=["treatment", "reader"], columns="case", values="rating")
    truth = vd.groupby("case")["truth"].first().loc[wide.columns].to_numpy()
    scores = wide.to_numpy(dtype=float)
    aucs, cov = delong_cov(truth, scores)
    d_aucs, d_cov = _delong_direct(truth, scores)
    assert_allclose(aucs, d_aucs, rtol=1e-12)
    assert_allclose(cov, d_cov, rtol=1e-10, atol=1e-15)


def test_clustered_matches_direct_and_reduces_to_delong(clustered):
    truth, scores, cluster = clustered
    _aucs, cov = clustered_cov(truth, scores, cluster)
    assert_allclose(cov, _obuchowski_direct(truth, scores, cluster), rtol=1e-10, atol=1e-15)
    # One unit per cluster: Obuchowski's estimator is DeLong's.
    singles = np.arange(truth.size)
    _, cov1 = clustered_cov(truth, scores, singles)
    _, dl = delong_cov(truth, scores)
    assert_allclose(cov1, dl, rtol=1e-12, atol=1e-16)
    # Ignoring the clustering understates the variance in this correlated design.
    assert np.diag(cov).mean() > np.diag(dl).mean()


@pytest.mark.parametrize("units", [1, 20])
def test_vectorised_jackknife_equals_plain_loop(unit_study, units):
    data = unit_study(seed=11, readers=2, cases=25, units=units)
    wide = data.pivot_table(index=["modality", "reader"], columns=["case", "unit"], values="rating")
    truth = data.groupby(["case", "unit"])["truth"].first().loc[wide.columns].to_numpy()
    cluster = np.array([c for c, _ in wide.columns])
    scores = wide.to_numpy(dtype=float)
    a1, fast = jackknife_auc(truth, scores, cluster)
    a2, slow = jackknife_auc(truth, scores, cluster, vectorised=False)
    assert_allclose(a1, a2, rtol=1e-12)
    assert_allclose(fast, slow, rtol=1e-12)
    assert fast.shape == (4, 25)


def test_jackknife_handles_unsorted_cluster_labels(clustered):
    truth, scores, cluster = clustered
    order = np.random.default_rng(0).permutation(truth.size)
    _, a = jackknife_auc(truth, scores, cluster)
    _, b = jackknife_auc(truth[order], scores[:, order], cluster[order])
    assert_allclose(a, b, rtol=1e-12)


def test_roc_curve_trapezoid_is_auc(clustered):
    truth, scores, _ = clustered
    curve = roc_curve(truth, scores[0])
    assert curve.iloc[0].tolist() == [np.inf, 0.0, 0.0]
    assert curve[["fpr", "tpr"]].iloc[-1].tolist() == [1.0, 1.0]
    assert (np.diff(curve["fpr"]) >= 0).all()
    assert (np.diff(curve["tpr"]) >= 0).all()
    area = np.trapezoid(curve["tpr"], curve["fpr"])
    assert area == pytest.approx(auc(truth, scores[0]), rel=1e-12)


def test_auc_ci_methods(clustered):
    truth, scores, cluster = clustered
    res = auc_ci(truth, scores[0], cluster)
    _, cov = clustered_cov(truth, scores[:1], cluster)
    assert res.method == "obuchowski"
    assert res.se == pytest.approx(np.sqrt(cov[0, 0]))
    assert res.ci_low == pytest.approx(res.estimate - 1.959963984540054 * res.se)
    assert res.n_clusters == 30
    dl = auc_ci(truth, scores[0], cluster, method="delong")
    assert dl.estimate == res.estimate
    assert dl.se < res.se
    assert auc_ci(truth, scores[0]).se == pytest.approx(dl.se)  # no cluster: DeLong
    wide = auc_ci(truth, scores[0], cluster, alpha=0.01)
    assert wide.ci_high - wide.ci_low > res.ci_high - res.ci_low
    assert res.to_dict()["ci"] == [res.ci_low, res.ci_high]


def test_auc_ci_clipped_for_perfect_score():
    truth = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    score = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.7, 0.4, 0.95])
    res = auc_ci(truth, score)
    assert res.estimate == 1.0
    assert res.se == 0.0
    assert (res.ci_low, res.ci_high) == (1.0, 1.0)
    near = auc_ci(truth, np.array([0.1, 0.2, 0.75, 0.9, 0.8, 0.7, 0.4, 0.95]))
    assert near.ci_high == 1.0
    assert near.ci_low < near.estimate < 1.0


def test_rejections():
    with pytest.raises(ValueError, match="truth must hold only 0 and 1"):
        auc([0, 2, 1], [1, 2, 3])
    with pytest.raises(AnalysisInputError, match="positive and negative units"):
        auc([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="to match truth"):
        auc([0, 1, 1], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        auc([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="method must be one of"):
        auc_ci([0, 1, 0, 1], [1, 2, 3, 4], method="bootstrap")
    with pytest.raises(AnalysisInputError, match="at least 2 clusters with positive"):
        clustered_cov([0, 1, 1, 0], [1, 2, 3, 4], ["a", "b", "b", "a"])
    with pytest.raises(AnalysisInputError, match="at least 2 cases with positive"):
        jackknife_auc([0, 1, 1, 0], [1, 2, 3, 4], ["a", "b", "b", "a"])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_units=st.integers(6, 60),
    n_clusters=st.integers(3, 12),
    levels=st.integers(2, 6),
)
def test_jackknife_property_vectorised_equals_loop(seed, n_units, n_clusters, levels):
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, n_clusters, n_units)
    truth = rng.random(n_units) < 0.4
    scores = rng.integers(0, levels, (3, n_units)).astype(float)  # many ties
    counts_pos = np.unique(cluster[truth]).size
    counts_neg = np.unique(cluster[~truth]).size
    assume(counts_pos >= 2 and counts_neg >= 2)
    _, fast = jackknife_auc(truth, scores, cluster)
    _, slow = jackknife_auc(truth, scores, cluster, vectorised=False)
    assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
