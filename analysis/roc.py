"""Empirical ROC analysis: AUC, DeLong and Obuchowski (clustered) covariances, case jackknife.

Everything works on *units* (the rated objects: whole cases in a classic ROC study, the 20
ASPECTS regions of a case here) that may be nested in *clusters* (cases, patients). Scores may
be one vector or a 2-D array with one row per reader/modality, so that the AUCs of all readers
and their covariance matrix come from one vectorised pass. Ranks replace the O(n0 n1) pair
comparisons: a positive unit's placement among the negatives is its midrank among all units
minus its midrank among the positives.

References
----------
DeLong ER, DeLong DM, Clarke-Pearson DL (1988). Comparing the areas under two or more correlated
receiver operating characteristic curves: a nonparametric approach. Biometrics 44:837-845.

Obuchowski NA (1997). Nonparametric analysis of clustered ROC curve data. Biometrics 53:567-578.

Hanley JA, McNeil BJ (1982). The meaning and use of the area under a receiver operating
characteristic (ROC) curve. Radiology 143:29-36.

Gallas BD (2006). One-shot estimate of MRMC variance: AUC. Acad Radiol 13:353-362.

Gallas BD, Bandos A, Samuelson FW, Wagner RF (2009). A framework for random-effects ROC
analysis: biases with the bootstrap and other variance estimators. Commun Stat Theory Methods
38:2586-2603.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError, check_alpha

__all__ = [
    "AUCResult",
    "Placements",
    "auc",
    "auc_ci",
    "clustered_cov",
    "delong_cov",
    "jackknife_auc",
    "placements",
    "roc_curve",
    "success_moments",
    "unbiased_cov",
    "ustat_cov",
]

AUC_CI_METHODS = ("obuchowski", "delong")


@dataclass(frozen=True)
class Placements:
    """DeLong's structural components of the empirical AUC, one row per score vector.

    ``v10[:, p]`` is the placement of positive unit ``p`` among the negatives (the fraction of
    negatives scored lower, ties counting 1/2); ``v01[:, q]`` is the fraction of positives
    scored higher than negative unit ``q``. Each row's mean of either is its AUC.
    """

    v10: np.ndarray
    v01: np.ndarray
    positive: np.ndarray
    """Boolean mask of the positive units in the caller's unit order."""

    @property
    def auc(self) -> np.ndarray:
        auc: np.ndarray = self.v10.mean(axis=1)
        return auc


@dataclass(frozen=True)
class AUCResult:
    """AUC of one score with its standard error and a Wald confidence interval.

    Attributes
    ----------
    estimate : float
        Empirical (trapezoidal, Mann-Whitney) AUC, ties counting 1/2.
    se : float
        Standard error by ``method``.
    ci_low, ci_high : float
        ``estimate -/+ z(1 - alpha/2) * se``, clipped to [0, 1].
    method : str
        ``"obuchowski"`` (clustered, Obuchowski 1997) or ``"delong"`` (DeLong et al. 1988).
    alpha : float
        1 - confidence level.
    n_positive, n_negative : int
        Positive and negative units.
    n_clusters : int
        Clusters (cases); equals the number of units when no cluster was given.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    method: str
    alpha: float
    n_positive: int
    n_negative: int
    n_clusters: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: the contract's ``{estimate, ci: [lo, hi], method}`` plus the rest."""
        out = asdict(self)
        out["ci"] = [self.ci_low, self.ci_high]
        return out


def _as_truth(truth: object) -> np.ndarray:
    arr = np.asarray(truth)
    if arr.ndim != 1:
        raise AnalysisInputError(f"truth must be one-dimensional, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    values = set(np.unique(arr).tolist())
    if not values <= {0, 1}:
        raise AnalysisInputError(f"truth must hold only 0 and 1, got values {sorted(values)[:10]}")
    return arr.astype(bool)


def _as_scores(scores: object, n_units: int) -> tuple[np.ndarray, bool]:
    """Scores as a float 2-D array (rows x units) and whether the input was one vector."""
    arr = np.asarray(scores, dtype=float)
    single = arr.ndim == 1
    arr = np.atleast_2d(arr)
    if arr.ndim != 2 or arr.shape[1] != n_units:
        raise AnalysisInputError(
            f"scores must have shape ({n_units},) or (rows, {n_units}) to match truth, "
            f"got {np.asarray(scores).shape}"
        )
    if np.isnan(arr).any():
        raise AnalysisInputError("scores contain NaN; drop or impute those units first")
    return arr, single


def _check_both_classes(positive: np.ndarray) -> None:
    n1 = int(positive.sum())
    n0 = positive.size - n1
    if n1 == 0 or n0 == 0:
        raise AnalysisInputError(
            f"an AUC needs positive and negative units; got {n1} positive and {n0} negative"
        )


def placements(truth: object, scores: object) -> Placements:
    """Structural components (placement values) of DeLong et al. (1988), via midranks.

    Parameters
    ----------
    truth : array-like of 0/1 or bool, shape (n_units,)
    scores : array-like, shape (n_units,) or (n_rows, n_units)
        Higher = more likely positive. Each row is one reader/modality.
    """
    positive = _as_truth(truth)
    x, _ = _as_scores(scores, positive.size)
    _check_both_classes(positive)
    return _placements(positive, x, stats.rankdata(x, axis=1))


def _placements(positive: np.ndarray, x: np.ndarray, rank_all: np.ndarray) -> Placements:
    """:func:`placements` of validated inputs, given the midranks ``rank_all`` of ``x``."""
    n1 = int(positive.sum())
    n0 = positive.size - n1
    rank_pos = stats.rankdata(x[:, positive], axis=1)
    rank_neg = stats.rankdata(x[:, ~positive], axis=1)
    v10 = (rank_all[:, positive] - rank_pos) / n0
    v01 = (n1 - (rank_all[:, ~positive] - rank_neg)) / n1
    return Placements(v10=v10, v01=v01, positive=positive)


def auc(truth: object, scores: object) -> float | np.ndarray:
    """Empirical (trapezoidal = Mann-Whitney) AUC, ties counting 1/2; one per score row."""
    _, single = _as_scores(scores, np.asarray(truth).size)
    values = placements(truth, scores).auc
    return float(values[0]) if single else values


def delong_cov(truth: object, scores: object) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their DeLong covariance matrix, units taken as independent.

    Returns ``(aucs, cov)`` with ``cov = S10 / n1 + S01 / n0``, where S10 and S01 are the
    sample covariance matrices (denominators n1 - 1 and n0 - 1) of the placement values
    (DeLong et al. 1988, eq. 3-5).
    """
    pl = placements(truth, scores)
    n1, n0 = pl.v10.shape[1], pl.v01.shape[1]
    if n1 < 2 or n0 < 2:
        raise AnalysisInputError(
            f"DeLong's variance needs at least 2 positive and 2 negative units, got {n1} and {n0}"
        )
    s10 = np.atleast_2d(np.cov(pl.v10, ddof=1))
    s01 = np.atleast_2d(np.cov(pl.v01, ddof=1))
    return pl.auc, s10 / n1 + s01 / n0


def _cluster_codes(cluster: object, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 (in sorted label order) and the labels of a cluster vector."""
    arr = np.asarray(cluster)
    if arr.shape != (n_units,):
        raise AnalysisInputError(
            f"cluster must have shape ({n_units},) to match truth, got {arr.shape}"
        )
    labels, codes = np.unique(arr, return_inverse=True)
    return codes, labels


def _segment_sums(values: np.ndarray, codes: np.ndarray, n_segments: int) -> np.ndarray:
    """Row-wise sums of ``values`` (rows x units) within each code 0..n_segments-1."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_segments)
    ends = np.cumsum(counts)
    csum = np.zeros((values.shape[0], values.shape[1] + 1))
    np.cumsum(values[:, order], axis=1, out=csum[:, 1:])
    return csum[:, ends] - csum[:, ends - counts]


def clustered_cov(truth: object, scores: object, cluster: object) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their covariance for units nested in clusters (Obuchowski 1997).

    With ``N1``/``N0`` positive/negative units in all, ``n1_k``/``n0_k`` in cluster ``k``, and
    the per-cluster sums of placements ``V10_k``, ``V01_k``::

        S10 = I10 / ((I10 - 1) N1) * sum_k (V10_k - n1_k AUC)(V10_k - n1_k AUC)'
        S01 = I01 / ((I01 - 1) N0) * sum_k (V01_k - n0_k AUC)(V01_k - n0_k AUC)'
        S11 = I / (I - 1) * sum_k (V10_k - n1_k AUC)(V01_k - n0_k AUC)'
        cov = S10 / N1 + S01 / N0 + (S11 + S11') / (N1 N0)

    where I10 (I01) counts the clusters holding a positive (negative) unit and I all clusters.
    With one unit per cluster S11 vanishes and this is DeLong's covariance exactly.
    """
    positive = _as_truth(truth)
    pl = placements(positive, scores)
    codes, _ = _cluster_codes(cluster, positive.size)
    k = int(codes.max()) + 1
    n1_k = np.bincount(codes[positive], minlength=k).astype(float)
    n0_k = np.bincount(codes[~positive], minlength=k).astype(float)
    i10, i01 = int((n1_k > 0).sum()), int((n0_k > 0).sum())
    if i10 < 2 or i01 < 2:
        raise AnalysisInputError(
            "the clustered AUC variance needs at least 2 clusters with positive units and 2 "
            f"with negative units, got {i10} and {i01}"
        )
    n1, n0 = float(positive.sum()), float((~positive).sum())
    theta = pl.auc[:, None]
    a = _segment_sums(pl.v10, codes[positive], k) - n1_k * theta
    b = _segment_sums(pl.v01, codes[~positive], k) - n0_k * theta
    s10 = i10 / ((i10 - 1) * n1) * (a @ a.T)
    s01 = i01 / ((i01 - 1) * n0) * (b @ b.T)
    s11 = k / (k - 1) * (a @ b.T)
    return pl.auc, s10 / n1 + s01 / n0 + (s11 + s11.T) / (n1 * n0)


USTAT_METHODS = ("unbiased", "mle")

_KERNEL_CHUNK = 4_000_000
"""Kernel values (rows x negatives x positives) built at once by :func:`success_moments`."""


@dataclass(frozen=True)
class SuccessMoments:
    """Sums of products of the success kernel ``s_k(i, j)`` of score rows ``k`` and ``l``.

    ``s_k(i, j)`` is 1 when row k scores positive unit j above negative unit i, 1/2 on a tie,
    else 0; its mean over all (i, j) is the AUC. Each matrix is rows x rows:
    ``same_ij[k, l] = sum_ij s_k(i,j) s_l(i,j)``, ``same_i = sum_i R_k(i) R_l(i)`` with
    ``R_k(i) = sum_j s_k(i, j)``, ``same_j = sum_j C_k(j) C_l(j)`` with
    ``C_k(j) = sum_i s_k(i, j)``, ``total = T_k T_l`` with ``T_k = sum_ij s_k(i, j)``
    (``sums``): the sums over pairs of kernel terms that share both units, the negative,
    the positive, or any. Gallas's (2006) moments are these sums with the shared-unit
    patterns made exact.
    """

    same_ij: np.ndarray
    same_i: np.ndarray
    same_j: np.ndarray
    total: np.ndarray
    sums: np.ndarray
    n0: int
    n1: int

    @property
    def auc(self) -> np.ndarray:
        """Mean kernel per row: the AUC (or the contrast of AUCs)."""
        return self.sums / (self.n0 * self.n1)

    def contrast(self, weights: np.ndarray) -> SuccessMoments:
        """The same sums for the kernels ``sum_k weights[g, k] s_k``, one per row g."""
        w = np.atleast_2d(weights)
        same_ij, same_i, same_j, total = (
            w @ m @ w.T for m in (self.same_ij, self.same_i, self.same_j, self.total)
        )
        return SuccessMoments(
            same_ij,
            same_i,
            same_j,
            total,
            sums=w @ self.sums,
            n0=self.n0,
            n1=self.n1,
        )

    def distinct_product(self) -> np.ndarray:
        """``sum over i != i', j != j'`` of ``s_k(i, j) s_l(i', j')`` (inclusion-exclusion)."""
        product: np.ndarray = self.total - self.same_i - self.same_j + self.same_ij
        return product

    def bootstrap_second_moment(self) -> np.ndarray:
        """``E*[s_k(I, J) s_l(I', J')]`` averaged over the positions of a resample of n0
        negatives and n1 positives drawn with replacement (the V-statistic moments)."""
        n0, n1 = float(self.n0), float(self.n1)
        return (
            self.same_ij / (n0 * n1)
            + (n1 - 1) * self.same_i / (n0 * n1**2)
            + (n0 - 1) * self.same_j / (n0**2 * n1)
            + (n0 - 1) * (n1 - 1) * self.total / (n0**2 * n1**2)
        ) / (n0 * n1)


def success_moments(
    truth: object, scores: object, read: np.ndarray | None = None
) -> SuccessMoments:
    """:class:`SuccessMoments` of every score row (O(rows^2 n0 n1): the pairs are built).

    ``read`` (rows x units, boolean), when given, marks the units each row's reader rated:
    the kernel of a row is 0 on every pair with an unread unit (its scores are ignored), so
    the sums run over the pairs that row actually has (an incomplete or split-plot design).
    """
    positive = _as_truth(truth)
    x, _ = _as_scores(scores, positive.size)
    _check_both_classes(positive)
    neg, pos = x[:, ~positive], x[:, positive]
    k, n0, n1 = x.shape[0], neg.shape[1], pos.shape[1]
    if read is None:
        pl = _placements(positive, x, stats.rankdata(x, axis=1))
        rows = n1 * pl.v01  # R_k(i): positives above negative i
        cols = n0 * pl.v10  # C_k(j): negatives below positive j
    else:
        read = np.asarray(read, dtype=bool)
        if read.shape != x.shape:
            raise AnalysisInputError(
                f"read must have the scores' shape {x.shape}, got {read.shape}"
            )
        read_neg, read_pos = read[:, ~positive].astype(float), read[:, positive].astype(float)
        rows, cols = np.zeros((k, n0)), np.zeros((k, n1))
    same_ij = np.zeros((k, k))
    step = max(1, _KERNEL_CHUNK // max(1, k * n1))
    for start in range(0, n0, step):
        block = neg[:, start : start + step, None]
        kernel = 0.5 * (np.sign(pos[:, None, :] - block) + 1.0)
        if read is not None:
            kernel *= read_neg[:, start : start + step, None] * read_pos[:, None, :]
            rows[:, start : start + step] = kernel.sum(axis=2)
            cols += kernel.sum(axis=1)
        flat = kernel.reshape(k, -1)
        same_ij += flat @ flat.T
    sums = rows.sum(axis=1)
    return SuccessMoments(
        same_ij=same_ij,
        same_i=rows @ rows.T,
        same_j=cols @ cols.T,
        total=np.outer(sums, sums),
        sums=sums,
        n0=n0,
        n1=n1,
    )


def ustat_cov(
    truth: object, scores: object, method: str = "unbiased"
) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their covariance over case sampling from Gallas's U-statistic moments.

    Units are independent cases, negatives and positives sampled separately (as iMRMC and
    MRMCaov's ``cov = unbiased``). ``"unbiased"``: ``Cov(A_k, A_l) = A_k A_l - M_kl`` with
    ``M_kl = sum_{i != i', j != j'} s_k(i,j) s_l(i',j') / (n0 (n0-1) n1 (n1-1))``, the
    unbiased estimate of ``E A_k E A_l`` (Gallas 2006); it can be negative.
    ``"mle"``: the same moments taken over the empirical distribution, which is the exact
    (ideal) bootstrap covariance, resampling negatives and positives with replacement
    (Gallas et al. 2009); it is biased (too large) by the case-sampling terms.
    """
    if method not in USTAT_METHODS:
        raise AnalysisInputError(f"method must be one of {USTAT_METHODS}, got {method!r}")
    mom = success_moments(truth, scores)
    theta = mom.auc
    if method == "mle":
        return theta, mom.bootstrap_second_moment() - np.outer(theta, theta)
    return theta, unbiased_cov(mom)


def unbiased_cov(moments: SuccessMoments) -> np.ndarray:
    """The unbiased U-statistic covariance of the AUCs behind ``moments`` (see
    :func:`ustat_cov`)."""
    n0, n1 = moments.n0, moments.n1
    if n0 < 2 or n1 < 2:
        raise AnalysisInputError(
            "the unbiased U-statistic variance needs 2+ negative and 2+ positive units, got "
            f"{n0} and {n1}"
        )
    distinct = moments.distinct_product() / (n0 * (n0 - 1) * n1 * (n1 - 1))
    return np.outer(moments.auc, moments.auc) - distinct


def jackknife_auc(
    truth: object, scores: object, cluster: object | None = None, *, vectorised: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-cluster-out AUCs: every unit of the left-out cluster (case) goes together.

    Returns ``(aucs, loo)`` where ``loo[row, k]`` is the AUC without cluster ``k`` (clusters in
    sorted label order). The vectorised path updates the Mann-Whitney sum: removing cluster
    ``k`` removes its units' pairs with all others and adds back the within-cluster pairs,
    which come from midranks within clusters. ``vectorised=False`` recomputes the AUC once per
    cluster (the plain-loop reference used by tests and benchmarks).
    """
    positive = _as_truth(truth)
    x, _ = _as_scores(scores, positive.size)
    if cluster is None:
        cluster = np.arange(positive.size)
    codes, _ = _cluster_codes(cluster, positive.size)
    k = int(codes.max()) + 1
    n1_k = np.bincount(codes[positive], minlength=k)
    n0_k = np.bincount(codes[~positive], minlength=k)
    n1, n0 = int(positive.sum()), int((~positive).sum())
    if int((n1_k > 0).sum()) < 2 or int((n0_k > 0).sum()) < 2:
        raise AnalysisInputError(
            "the case jackknife of the AUC needs at least 2 cases with positive units and 2 "
            f"with negative units, got {int((n1_k > 0).sum())} and {int((n0_k > 0).sum())}"
        )
    if not vectorised:
        loo = np.empty((x.shape[0], k))
        for j in range(k):
            keep = codes != j
            loo[:, j] = placements(positive[keep], x[:, keep]).auc
        return placements(positive, x).auc, loo

    rank_all = stats.rankdata(x, axis=1)
    pl = _placements(positive, x, rank_all)
    # Midranks within clusters: rank (cluster, global midrank) pairs, then subtract the number
    # of units in earlier clusters. Global midranks keep ties tied inside a cluster.
    size = positive.size + 1.0
    counts = np.bincount(codes, minlength=k)
    within_all = stats.rankdata(codes * size + rank_all, axis=1)
    within_all -= (np.cumsum(counts) - counts)[codes]
    pos_codes = codes[positive]
    within_pos = stats.rankdata(pos_codes * size + rank_all[:, positive], axis=1)
    within_pos -= (np.cumsum(n1_k) - n1_k)[pos_codes]
    pairs_within = _segment_sums(within_all[:, positive] - within_pos, pos_codes, k)
    pairs_pos = _segment_sums(pl.v10 * n0, pos_codes, k)
    pairs_neg = _segment_sums(pl.v01 * n1, codes[~positive], k)
    total = pl.auc[:, None] * (n0 * n1)
    remaining = total - pairs_pos - pairs_neg + pairs_within
    return pl.auc, remaining / ((n0 - n0_k) * (n1 - n1_k))


def roc_curve(truth: object, score: object) -> pd.DataFrame:
    """Empirical ROC operating points of one score.

    Returns a DataFrame with columns ``threshold`` (call positive when score >= threshold;
    the first row, ``inf``, calls nothing positive), ``fpr``, ``tpr``, from (0, 0) to (1, 1).
    The trapezoidal area under these points equals :func:`auc`.
    """
    positive = _as_truth(truth)
    x, single = _as_scores(score, positive.size)
    if not single:
        raise AnalysisInputError("roc_curve takes one score vector; loop over readers for several")
    _check_both_classes(positive)
    x = x[0]
    thresholds, inverse = np.unique(-x, return_inverse=True)
    tp = np.cumsum(np.bincount(inverse, weights=positive, minlength=thresholds.size))
    fp = np.cumsum(np.bincount(inverse, weights=~positive, minlength=thresholds.size))
    return pd.DataFrame(
        {
            "threshold": np.concatenate([[np.inf], -thresholds]),
            "fpr": np.concatenate([[0.0], fp / (~positive).sum()]),
            "tpr": np.concatenate([[0.0], tp / positive.sum()]),
        }
    )


def auc_ci(
    truth: object,
    score: object,
    cluster: object | None = None,
    method: str = "obuchowski",
    alpha: float = 0.05,
) -> AUCResult:
    """Unit-level AUC of one score (e.g. a model's probabilities) with a Wald CI.

    Parameters
    ----------
    truth : array-like of 0/1, shape (n_units,)
    score : array-like, shape (n_units,)
        Higher = more likely positive.
    cluster : array-like, shape (n_units,), optional
        Case (patient) of each unit. Units of a case are correlated; ``"obuchowski"`` accounts
        for it. Without clusters each unit is its own cluster.
    method : {"obuchowski", "delong"}
        ``"obuchowski"``: clustered variance of Obuchowski (1997), valid for several units per
        case; equal to DeLong's with one unit per case. ``"delong"``: DeLong et al. (1988),
        treating units as independent (too narrow when units share a case).
    alpha : float
        1 - confidence level.

    Returns
    -------
    AUCResult
        estimate, se, ci_low, ci_high (clipped to [0, 1]), method and counts.

    Examples
    --------
    One reader's unit-level AUC, units clustered in their cases:

    >>> from analysis import datasets
    >>> data = datasets.load("tiny_mrmc")
    >>> r1 = data[(data["reader"] == "R1") & (data["modality"] == "aided")]
    >>> res = auc_ci(r1["truth"], r1["rating"], cluster=r1["case"])
    >>> round(res.estimate, 4), round(res.ci_low, 4), round(res.ci_high, 4), res.n_clusters
    (0.8333, 0.7173, 0.9493, 20)
    """
    if method not in AUC_CI_METHODS:
        raise AnalysisInputError(f"method must be one of {AUC_CI_METHODS}, got {method!r}")
    check_alpha(alpha)
    positive = _as_truth(truth)
    if np.asarray(score, dtype=float).ndim != 1:
        raise AnalysisInputError("auc_ci takes one score vector")
    if cluster is None:
        cluster = np.arange(positive.size)
    if method == "obuchowski":
        est, cov = clustered_cov(positive, score, cluster)
    else:
        est, cov = delong_cov(positive, score)
    n_clusters = int(np.unique(np.asarray(cluster)).size)
    se = float(np.sqrt(max(cov[0, 0], 0.0)))
    z = float(stats.norm.ppf(1 - alpha / 2))
    theta = float(est[0])
    return AUCResult(
        estimate=theta,
        se=se,
        ci_low=float(np.clip(theta - z * se, 0.0, 1.0)),
        ci_high=float(np.clip(theta + z * se, 0.0, 1.0)),
        method=method,
        alpha=alpha,
        n_positive=int(positive.sum()),
        n_negative=int((~positive).sum()),
        n_clusters=n_clusters,
    )
