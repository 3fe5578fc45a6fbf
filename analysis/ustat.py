"""Gallas's U-statistic variance of the reader-averaged AUC difference, as iMRMC reports it.

The reader-averaged difference ``d = 1/R sum_r (A_r^test - A_r^ref)`` is a U-statistic of
readers, negative units and positive units, with the kernel
``w_r(i, j) = s_r^test(i, j) - s_r^ref(i, j)`` (``s`` = 1 when the positive unit j is scored
above the negative unit i, 1/2 on a tie). Its variance is a fixed combination of eight
second moments ``E[w_r(i,j) w_r'(i',j')]``, one per pattern of shared reader, negative and
positive (Gallas 2006):

``Var(d) = sum_k c_k M_k - M_8``, with ``c_k`` the share of pairs of kernel terms in pattern
k (e.g. ``c_1 = 1 / (R n0 n1)`` for the same reader, negative and positive) and ``M_8`` the
moment of terms sharing nothing, ``(E d)^2``.

- ``"unbiased"``: each moment estimated by its U-statistic (the average over index tuples of
  exactly that pattern). The c_k sum to one and the eight estimates sum back to ``d^2``, so
  the estimate is ``d^2 - M_8_hat``; it is unbiased and may be negative. iMRMC's "BDG"
  (Ustat) variance and MRMCaov's ``cov = unbiased``.
- ``"mle"``: each moment taken over the empirical distribution (V-statistic); this is the
  exact (ideal) bootstrap variance when readers, negative units and positive units are each
  resampled with replacement, and it is biased upwards: ``Var_mle = Var_unbiased + bias``
  with the bias the same combination applied to the differences between the V- and the
  U-moments (Gallas et al. 2009). iMRMC reports it as "MLEstat"; the numbers here are
  checked against an exhaustive bootstrap, not against iMRMC's MLEstat output.

The degrees of freedom are Hillis's (2007) ``ddf = (MS(TR) + R max(Cov2 - Cov3, 0))^2 /
(MS(TR)^2 / (R - 1))`` from the Obuchowski-Rockette covariances estimated by the same
unbiased moments; iMRMC computes its Hillis df from the unbiased covariances for both
variants (``StatTest.calcDF_Hillis`` takes ``getOR(NO_MLE)``), and so does this module. The
interval and test use ``t`` on that df: ``d -/+ t * sqrt(Var)``.

Units are independent cases here (negatives and positives sampled separately), as in iMRMC
and MRMCaov, which know no clustering of units within patients: for ASPECTS regions use the
case jackknife or Obuchowski's clustered covariance of :func:`analysis.mrmc.or_analysis`.

Designs that are not fully crossed (a reader missed units, split-plot reading) go through
:func:`gallas_design_variance`: the same eight moments averaged over the pairs actually read,
weighted by the design (unbiased variance only, normal reference).

References
----------
Gallas BD (2006). One-shot estimate of MRMC variance: AUC. Acad Radiol 13:353-362.

Gallas BD, Bandos A, Samuelson FW, Wagner RF (2009). A framework for random-effects ROC
analysis: biases with the bootstrap and other variance estimators. Commun Stat Theory Methods
38:2586-2603.

Gallas BD, Brown DG (2008). Reader studies for validation of CAD systems. Neural Netw
21:387-397.

Hillis SL (2007). A comparison of denominator degrees of freedom methods for multiple observer
ROC analysis. Stat Med 26:596-619.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.columns import COLUMNS, Columns, require_columns, require_frame
from analysis.errors import AnalysisInputError, check_alpha
from analysis.mrmc import RANDOM, or_from_covariance, prepare_for_fom
from analysis.roc import USTAT_METHODS, SuccessMoments, success_moments, unbiased_cov

__all__ = ["USTAT_METHODS", "gallas_design_variance", "gallas_variance", "ustat_difference"]

METHOD = "U-statistic (Gallas 2006), units as independent cases, Hillis df"


def gallas_variance(
    moments: SuccessMoments, same_reader: SuccessMoments, n_readers: int, method: str
) -> float:
    """Variance of a reader-averaged AUC contrast from its kernel moments.

    ``moments`` holds the sums over all reader pairs of the contrast kernel (one row: the
    contrast summed over readers); ``same_reader`` the same sums restricted to pairs of
    terms from one reader. See the module docstring for the two methods.
    """
    if method not in USTAT_METHODS:
        raise AnalysisInputError(f"method must be one of {USTAT_METHODS}, got {method!r}")
    r, n0, n1 = n_readers, moments.n0, moments.n1
    d = float(moments.sums[0]) / (r * n0 * n1)
    if method == "unbiased":
        if r < 2 or n0 < 2 or n1 < 2:
            raise AnalysisInputError(
                "the unbiased U-statistic variance needs 2+ readers, 2+ negative and 2+ "
                f"positive units; got {r}, {n0} and {n1}"
            )
        # Terms of different readers sharing no unit: all pairs minus same-reader pairs,
        # then inclusion-exclusion over the shared negative and positive.
        distinct = float(moments.distinct_product()[0, 0] - same_reader.distinct_product()[0, 0])
        m8 = distinct / (r * (r - 1) * n0 * (n0 - 1) * n1 * (n1 - 1))
        return d * d - m8
    # A bootstrap draw repeats a reader position with probability 1/R (same reader) and
    # otherwise draws the two readers independently.
    same = float(same_reader.bootstrap_second_moment()[0, 0]) / r
    independent = float(moments.bootstrap_second_moment()[0, 0]) / r**2
    return same / r + (r - 1) / r * independent - d * d


def _exact_patterns(m: SuccessMoments) -> np.ndarray:
    """Sums over pairs of kernel terms sharing exactly (both units, the negative only, the
    positive only, neither), from the 'at least' sums by inclusion-exclusion (1 x 1 input)."""
    ij, i, j, total = (float(a[0, 0]) for a in (m.same_ij, m.same_i, m.same_j, m.total))
    return np.array([ij, i - ij, j - ij, total - i - j + ij])


def _pattern_sums(moments: SuccessMoments, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact-pattern sums of the contrast ``weights[t, r]`` for pairs of terms from the same
    reader and from different readers."""
    r = weights.shape[1]
    every = _exact_patterns(moments.contrast(weights.reshape(1, -1)))
    same = sum(
        (_exact_patterns(moments.contrast(_reader_weights(weights, j))) for j in range(r)),
        start=np.zeros(4),
    )
    return same, every - same


def gallas_design_variance(
    scores: np.ndarray, read: np.ndarray, truth: np.ndarray, *, test: int = 1, reference: int = 0
) -> tuple[float, float]:
    """Reader-averaged AUC difference and its unbiased U-statistic variance for any design.

    ``scores[modality, reader, unit]`` (ignored where unread), ``read[reader, unit]`` (the
    reader rated the unit in every modality), ``truth[unit]``. Reader r's AUC is over the
    pairs of negative and positive units r read; ``d`` is the mean over readers of their
    differences. ``Var(d) = sum_p c_p M_p - M_8`` over the eight patterns p of shared
    reader / negative / positive, where ``c_p`` is the design's weight of pattern p (the sum
    over pairs of read kernel terms in pattern p of their weights 1/(R n0_r n1_r)) and
    ``M_p`` is estimated by the average of the kernel products over the pairs of read terms
    in that pattern (Gallas & Brown 2008's generalisation of Gallas 2006 to arbitrary
    designs). With every unit read by every reader it is the crossed estimate exactly.
    """
    t, r, n = scores.shape
    read = np.asarray(read, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    n0_r = (read & ~truth).sum(axis=1)
    n1_r = (read & truth).sum(axis=1)
    if r < 2 or (n0_r == 0).any() or (n1_r == 0).any():
        raise AnalysisInputError(
            "the U-statistic variance needs 2+ readers, each with a negative and a positive "
            f"unit read in every modality; readers' negative/positive units: "
            f"{n0_r.tolist()} / {n1_r.tolist()}"
        )
    filled = np.where(np.broadcast_to(read, scores.shape), scores, 0.0).reshape(t * r, n)
    mask = np.broadcast_to(read, (t, r, n)).reshape(t * r, n)
    data = success_moments(truth, filled, read=mask)
    # Kernel 1 on every read pair: positives score 1, negatives 0.
    counts = success_moments(truth, np.tile(truth.astype(float), (r, 1)), read=read)
    contrast = np.zeros((t, r))
    contrast[test], contrast[reference] = 1.0, -1.0
    weight = 1.0 / (r * n0_r * n1_r)
    per_reader = data.sums.reshape(t, r) / (n0_r * n1_r)
    estimate = float((per_reader[test] - per_reader[reference]).mean())
    s_same, s_diff = _pattern_sums(data, contrast)
    n_same, n_diff = _pattern_sums(counts, np.ones((1, r)))
    c_same, c_diff = _pattern_sums(counts, weight[None, :])
    if n_diff[3] == 0:
        raise AnalysisInputError(
            "the U-statistic variance needs two readers with no unit in common or with "
            "different units read; every pair of readers shares every unit it read"
        )
    total = 0.0
    for s_p, n_p, c_p in zip(
        (*s_same, *s_diff), (*n_same, *n_diff), (*c_same, *c_diff), strict=True
    ):
        if n_p > 0:
            total += c_p * s_p / n_p
    return estimate, total - s_diff[3] / n_diff[3]


def ustat_difference(
    data: pd.DataFrame,
    *,
    rating: str | None = None,
    reference: object | None = None,
    alpha: float = 0.05,
    columns: Columns = COLUMNS,
) -> pd.DataFrame:
    """Reader-averaged AUC difference with Gallas's U-statistic variance (iMRMC's numbers).

    Parameters
    ----------
    data : DataFrame
        Long format, fully crossed, as :func:`analysis.mrmc.or_analysis` takes it.
    rating : str, optional
        Confidence rating column (higher = abnormal); default ``columns.rating``.
    reference : modality label, optional
        Differences are ``test - reference``; default the first modality.
    alpha : float
        1 - confidence level.
    columns : Columns
        Column names.

    Returns
    -------
    DataFrame
        One row per test modality x method (``"unbiased"``, ``"mle"``): ``test, reference,
        method, estimate, variance, se, df, ci_low, ci_high, t, p, n_readers, n_negative,
        n_positive``. ``se`` and the interval are NaN when the variance is not positive.
        An incomplete or split-plot design (not every reader rates every unit in every
        modality) gets the unbiased row only, from :func:`gallas_design_variance`, with a
        normal reference (``df`` infinite): Hillis's df needs the crossed OR components.

    Notes
    -----
    See the module docstring. On Van Dyke et al. (1993) the unbiased variance of the
    difference is 4.27313e-4 on 15.0342 df, as iMRMC and MRMCaov (``cov = unbiased``)
    report it.

    Examples
    --------
    >>> from analysis import datasets
    >>> table = ustat_difference(datasets.load("tiny_mrmc"), reference="unaided")
    >>> table[["method", "estimate", "se", "df", "p"]].round(4)
         method  estimate      se      df       p
    0  unbiased    0.0839  0.0406  6.1533  0.0831
    1       mle    0.0839  0.0546  6.1533  0.1743
    """
    check_alpha(alpha)
    require_frame(data)
    cols = replace(columns, rating=rating or columns.rating)
    require_columns(data, cols, ("reader", "modality", "case", "truth", "rating"))
    keys = [cols.case, cols.unit] if cols.unit in data.columns else [cols.case]
    shape = [data[c].nunique() for c in (cols.modality, cols.reader)]
    shape.append(len(data.drop_duplicates(keys)))
    if (
        len(data) < np.prod(shape)
        and not data.duplicated([cols.modality, cols.reader, *keys]).any()
    ):
        return _incomplete(data, reference, alpha, cols, keys)
    prepared = prepare_for_fom(data, "auc", rating=cols.rating, reference=reference, columns=cols)
    t, r, n = prepared.ratings.shape
    if r < 2:
        raise AnalysisInputError(
            f"the U-statistic MRMC variance needs at least 2 readers; found {r}"
        )
    moments = success_moments(prepared.truth, prepared.ratings.reshape(t * r, n))
    theta = moments.auc.reshape(t, r)
    # Hillis df from the OR covariances of the same unbiased moments (as iMRMC does).
    fit = or_from_covariance(
        theta,
        unbiased_cov(moments),
        modalities=prepared.modalities,
        readers=prepared.readers,
        reference=prepared.reference,
        alpha=alpha,
    )
    ref = prepared.reference
    rows = []
    for i in range(t):
        if i == ref:
            continue
        weights = np.zeros((t, r))
        weights[i], weights[ref] = 1.0, -1.0
        overall = moments.contrast(weights.reshape(1, -1))
        # Same-reader pairs: the sum over readers of each reader's own contrast moments.
        per_reader = [moments.contrast(_reader_weights(weights, j)) for j in range(r)]
        same_ij, same_i, same_j, total = (
            sum(getattr(m, a) for m in per_reader) for a in ("same_ij", "same_i", "same_j", "total")
        )
        same = SuccessMoments(
            same_ij,
            same_i,
            same_j,
            total,
            sums=overall.sums,
            n0=moments.n0,
            n1=moments.n1,
        )
        estimate = float(theta[i].mean() - theta[ref].mean())
        df = fit.contrast(RANDOM, prepared.modalities[i]).df2
        for method in USTAT_METHODS:
            variance = gallas_variance(overall, same, r, method)
            rows.append(
                _row(
                    prepared.modalities[i],
                    prepared.modalities[ref],
                    method,
                    estimate,
                    variance,
                    df,
                    alpha,
                )
                | {"n_readers": r, "n_negative": moments.n0, "n_positive": moments.n1}
            )
    return pd.DataFrame(rows)


def _incomplete(
    data: pd.DataFrame, reference: object | None, alpha: float, cols: Columns, keys: list[str]
) -> pd.DataFrame:
    """:func:`ustat_difference` of an incomplete or split-plot design: unbiased variance
    only, normal reference (iMRMC's "Normal" columns); a unit counts for a reader when the
    reader rated it in every modality."""
    m_codes, modalities = pd.factorize(data[cols.modality])
    r_codes, readers = pd.factorize(data[cols.reader])
    u_codes, units = pd.factorize(pd.MultiIndex.from_frame(data[keys]))
    t, r, n = len(modalities), len(readers), len(units)
    if t < 2:
        raise AnalysisInputError("the U-statistic comparison needs at least 2 modalities")
    values = pd.to_numeric(data[cols.rating], errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        raise AnalysisInputError(f"column {cols.rating!r} must be numeric and complete")
    scores = np.full((t, r, n), np.nan)
    scores[m_codes, r_codes, u_codes] = values
    unit_truth = np.full(n, np.nan)
    unit_truth[u_codes] = data[cols.truth].to_numpy(dtype=float)
    if (unit_truth[u_codes] != data[cols.truth].to_numpy(dtype=float)).any():
        raise AnalysisInputError("truth differs between rows of the same unit")
    if reference is not None and reference not in list(modalities):
        raise AnalysisInputError(
            f"reference modality {reference!r} is not in the data; modalities are "
            f"{list(modalities)}",
            parameter="reference",
        )
    ref = 0 if reference is None else list(modalities).index(reference)
    read = ~np.isnan(scores).any(axis=0)
    rows = []
    for i in range(t):
        if i == ref:
            continue
        estimate, variance = gallas_design_variance(
            scores, read, unit_truth.astype(bool), test=i, reference=ref
        )
        rows.append(
            _row(modalities[i], modalities[ref], "unbiased", estimate, variance, math.inf, alpha)
            | {
                "n_readers": r,
                "n_negative": int((unit_truth == 0).sum()),
                "n_positive": int((unit_truth == 1).sum()),
            }
        )
    return pd.DataFrame(rows)


def _reader_weights(weights: np.ndarray, j: int) -> np.ndarray:
    """The contrast restricted to reader ``j`` (one row over the t x r score rows)."""
    only = np.zeros_like(weights)
    only[:, j] = weights[:, j]
    return only.reshape(1, -1)


def _row(
    test: object,
    reference: object,
    method: str,
    estimate: float,
    variance: float,
    df: float,
    alpha: float,
) -> dict[str, object]:
    se = math.sqrt(variance) if variance > 0 else math.nan
    if math.isfinite(se) and math.isfinite(df):
        q = float(stats.t.ppf(1 - alpha / 2, df))
        tstat = estimate / se
        p = float(2 * stats.t.sf(abs(tstat), df))
    elif math.isfinite(se):
        q = float(stats.norm.ppf(1 - alpha / 2))
        tstat = estimate / se
        p = float(2 * stats.norm.sf(abs(tstat)))
    else:
        q = tstat = p = math.nan
    return {
        "test": test,
        "reference": reference,
        "method": method,
        "estimate": estimate,
        "variance": variance,
        "se": se,
        "df": df,
        "ci_low": estimate - q * se,
        "ci_high": estimate + q * se,
        "t": tstat,
        "p": p,
    }
