"""Binary reader decisions: unit-level sensitivity and specificity, and paired comparisons.

The paper's Table 2 (Chen et al. 2022): per reader and modality, sensitivity on positive units
and specificity on negative units with exact intervals, compared between modalities with
McNemar's test. McNemar treats the 20 units of a case as independent; the clustered tests
here (Durkalski et al. 2003; Obuchowski 1998) treat the case as the sampling unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from analysis.columns import (
    COLUMNS,
    Columns,
    handle_nan,
    require_binary,
    require_columns,
    require_frame,
)
from analysis.errors import AnalysisInputError, check_alpha
from analysis.methods import McNemarMethod, choose

METRICS = ("sensitivity", "specificity")
"""Sensitivity: calls of 1 among positive units; specificity: calls of 0 among negative units."""


def clopper_pearson(
    successes: ArrayLike, trials: ArrayLike, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval of a binomial proportion; coverage at least 1 - alpha.

    Scalars in give 0-d arrays out. ``trials == 0`` gives NaN bounds.

    References
    ----------
    Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the
    case of the binomial. Biometrika 26:404-413.
    """
    check_alpha(alpha)
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any((x < 0) | (x > n)):
        raise AnalysisInputError(
            f"successes must lie in [0, trials]; got {successes!r} of {trials!r}"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n - x + 1), 0.0)
        high = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, n - x), 1.0)
    empty = n == 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def _metric_order(table: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """Rows grouped in order of first appearance, sensitivity before specificity."""
    rank = {
        column: table[column].map({v: i for i, v in enumerate(pd.unique(table[column]))})
        for column in groups
    }
    rank["metric"] = table["metric"].map({m: i for i, m in enumerate(METRICS)})
    order = pd.DataFrame(rank).sort_values([*groups, "metric"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def _calls(
    data: pd.DataFrame, columns: Columns, roles: tuple[str, ...], nan_policy: str
) -> pd.DataFrame:
    """The checked reads: a DataFrame with the ``roles`` columns, 0/1 truth and call (rows
    missing any of them refused or, with ``nan_policy="omit"``, left out)."""
    require_frame(data)
    require_columns(data, columns, roles)
    data = handle_nan(data, [columns[role] for role in roles], nan_policy)
    if data.empty:
        raise AnalysisInputError("the ratings table has no rows with a truth and a call")
    require_binary(data, columns.truth)
    require_binary(data, columns.call)
    return data


def _correct(data: pd.DataFrame, columns: Columns) -> pd.DataFrame:
    """Per row: the metric it counts for and whether the call was right."""
    positive = data[columns.truth].to_numpy() == 1
    return data.assign(
        _metric=np.where(positive, METRICS[0], METRICS[1]),
        _correct=(data[columns.call].to_numpy() == positive).astype(np.int64),
    )


def sensitivity_specificity(
    data: pd.DataFrame,
    *,
    alpha: float = 0.05,
    columns: Columns = COLUMNS,
    nan_policy: str = "raise",
) -> pd.DataFrame:
    """Unit-level sensitivity and specificity per reader and modality with exact CIs.

    Parameters
    ----------
    data : DataFrame
        Long format, one row per reader x modality x case x unit, with 0/1 ``truth`` and
        ``call`` columns.
    alpha : float
        Two-sided level of the Clopper-Pearson interval.
    columns : Columns
        Column names (reader, modality, truth and call are used).
    nan_policy : {"raise", "omit"}
        A row missing its reader, modality, truth or call is refused (default) or left out.

    Returns
    -------
    DataFrame
        One row per reader x modality x metric: ``reader, modality, metric`` (sensitivity or
        specificity), ``estimate, ci_low, ci_high, successes, trials``.

    Notes
    -----
    Units are pooled over cases, as in the paper's Table 2. The interval assumes independent
    units; the clustered comparison (:func:`clustered_mcnemar`) and the reader-averaged
    jackknife over cases do not.

    Examples
    --------
    >>> from analysis import datasets
    >>> table = sensitivity_specificity(datasets.load("tiny_mrmc"))
    >>> r1 = table[table["reader"] == "R1"]
    >>> r1[["modality", "metric", "estimate", "successes", "trials"]].round(3)
      modality       metric  estimate  successes  trials
    0  unaided  sensitivity     0.800         24      30
    1  unaided  specificity     0.420         21      50
    2    aided  sensitivity     0.933         28      30
    3    aided  specificity     0.540         27      50
    """
    check_alpha(alpha)
    cols = columns
    data = _calls(data, cols, ("reader", "modality", "truth", "call"), nan_policy)
    marked = _correct(data, cols)
    table = (
        marked.groupby([cols.reader, cols.modality, "_metric"], sort=False)["_correct"]
        .agg(successes="sum", trials="size")
        .reset_index()
        .rename(columns={"_metric": "metric", cols.reader: "reader", cols.modality: "modality"})
    )
    table["estimate"] = table["successes"] / table["trials"]
    table["ci_low"], table["ci_high"] = clopper_pearson(table["successes"], table["trials"], alpha)
    table = _metric_order(table, ["reader", "modality"])
    return table[
        ["reader", "modality", "metric", "estimate", "ci_low", "ci_high", "successes", "trials"]
    ]


PAIRED_ROLES = ("reader", "modality", "case", "unit", "truth", "call")


def _paired(
    data: pd.DataFrame, reference: str, test: str, columns: Columns, nan_policy: str
) -> pd.DataFrame:
    """One row per reader x case x unit with the reference and test correctness side by side."""
    data = _calls(data, columns, PAIRED_ROLES, nan_policy)
    reader, modality, case, unit = columns.reader, columns.modality, columns.case, columns.unit
    present = set(data[modality].unique())
    for name in (reference, test):
        if name not in present:
            raise AnalysisInputError(
                f"modality {name!r} has no data (modalities: {', '.join(map(str, present))})"
            )
    marked = _correct(data, columns)
    # Align the two modalities on an integer (reader, case, unit) key: a sort, not a merge.
    key = np.zeros(len(marked), dtype=np.int64)
    for column in (reader, case, unit):
        codes, uniques = pd.factorize(marked[column])
        key = key * len(uniques) + codes
    modalities = marked[modality].to_numpy()
    in_ref, in_test = modalities == reference, modalities == test
    ref_order = np.argsort(key[in_ref], kind="stable")
    test_order = np.argsort(key[in_test], kind="stable")
    ref_keys, test_keys = key[in_ref][ref_order], key[in_test][test_order]
    if not np.array_equal(ref_keys, test_keys) or np.any(ref_keys[1:] == ref_keys[:-1]):
        raise AnalysisInputError(
            f"modalities {reference!r} and {test!r} are not paired: the same readers must read "
            "the same cases and units once in both"
        )
    paired = marked.loc[in_ref, [reader, case, unit, "_metric"]].iloc[ref_order]
    paired = paired.reset_index(drop=True)
    correct = marked["_correct"].to_numpy()
    paired["_correct_ref"] = correct[in_ref][ref_order]
    paired["_correct_test"] = correct[in_test][test_order]
    # b: right in the reference only; c: right in the test only (statsmodels' table[0, 1], [1, 0]).
    paired["b"] = (paired["_correct_ref"] == 1) & (paired["_correct_test"] == 0)
    paired["c"] = (paired["_correct_ref"] == 0) & (paired["_correct_test"] == 1)
    return paired


def mcnemar(
    data: pd.DataFrame,
    *,
    reference: str,
    test: str,
    method: McNemarMethod | str = McNemarMethod.EXACT,
    columns: Columns = COLUMNS,
    nan_policy: str = "raise",
) -> pd.DataFrame:
    """McNemar's test per reader between two modalities, for sensitivity and specificity.

    Parameters
    ----------
    data : DataFrame
        Long format with ``reader, modality, case, unit, truth, call`` columns.
    reference, test : str
        The two modalities compared (differences are test - reference).
    method : {"exact", "chi2"}
        ``"exact"``: two-sided exact binomial test on the discordant pairs (default).
        ``"chi2"``: chi-square with Edwards' continuity correction, (|b - c| - 1)^2 / (b + c),
        following R's ``mcnemar.test``: a symmetric table (b = c) is not corrected, so its
        statistic is 0 and p = 1 (statsmodels corrects it too, giving 1 / (b + c)).
    columns : Columns
        Column names.
    nan_policy : {"raise", "omit"}
        A row missing any of those columns is refused (default) or left out (its pair then
        fails the pairing check unless the other modality's row is missing too).

    Returns
    -------
    DataFrame
        One row per reader x metric: ``reader, metric, test, reference``, the 2x2 table as
        ``both`` (right in both), ``b`` (right in the reference only), ``c`` (right in the test
        only), ``neither``; ``difference`` = (c - b) / n, ``statistic``, ``p``, ``method``.

    Notes
    -----
    With no discordant pair (b + c = 0) the modalities agree on every unit: p = 1 and the
    statistic is 0 for both methods. Units are treated as independent; see
    :func:`clustered_mcnemar` for the case-clustered version.

    References
    ----------
    McNemar Q (1947). Note on the sampling error of the difference between correlated
    proportions or percentages. Psychometrika 12:153-157.
    Edwards AL (1948). Note on the "correction for continuity" in testing the significance of
    the difference between correlated proportions. Psychometrika 13:185-187.

    Examples
    --------
    >>> from analysis import datasets
    >>> table = mcnemar(datasets.load("tiny_mrmc"), reference="unaided", test="aided")
    >>> table[["reader", "metric", "b", "c", "p"]].round(4)
      reader       metric   b   c       p
    0     R1  sensitivity   2   6  0.2891
    1     R1  specificity   9  15  0.3075
    2     R2  sensitivity   2   3  1.0000
    3     R2  specificity  10   7  0.6291
    4     R3  sensitivity   1   5  0.2188
    5     R3  specificity   6  11  0.3323
    """
    method = choose(McNemarMethod, method, "method")
    reader = columns.reader
    paired = _paired(data, reference, test, columns, nan_policy)
    paired["both"] = (paired["_correct_ref"] == 1) & (paired["_correct_test"] == 1)
    paired["neither"] = (paired["_correct_ref"] == 0) & (paired["_correct_test"] == 0)
    table = (
        paired.groupby([reader, "_metric"], sort=False)[["both", "b", "c", "neither"]]
        .sum()
        .astype(np.int64)
        .reset_index()
        .rename(columns={reader: "reader", "_metric": "metric"})
    )
    b = table["b"].to_numpy()
    c = table["c"].to_numpy()
    discordant = b + c
    n = table[["both", "b", "c", "neither"]].sum(axis=1).to_numpy()
    if method is McNemarMethod.EXACT:
        statistic = np.minimum(b, c).astype(float)
        p = np.minimum(1.0, 2 * stats.binom.cdf(statistic, discordant, 0.5))
        label = "McNemar exact (binomial)"
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            # R's mcnemar.test corrects only an asymmetric table; (|0| - 1)^2 > 0 would
            # otherwise report a difference where there is none.
            correction = np.where(b == c, 0.0, 1.0)
            statistic = (np.abs(b - c) - correction) ** 2 / discordant
        p = stats.chi2.sf(statistic, 1)
        label = "McNemar chi-square, continuity-corrected unless b = c (as R's mcnemar.test)"
    none = discordant == 0
    statistic = np.where(none, 0.0, statistic)
    p = np.where(none, 1.0, p)
    table.insert(2, "test", test)
    table.insert(3, "reference", reference)
    table["difference"] = (c - b) / n
    table["statistic"] = statistic
    table["p"] = p
    table["method"] = label
    return _metric_order(table, ["reader"])


def clustered_mcnemar(
    data: pd.DataFrame,
    *,
    reference: str,
    test: str,
    alpha: float = 0.05,
    columns: Columns = COLUMNS,
    nan_policy: str = "raise",
) -> pd.DataFrame:
    """Case-clustered paired comparison per reader: units nested in cases, cases independent.

    Parameters
    ----------
    data : DataFrame
        Long format with ``reader, modality, case, unit, truth, call`` columns.
    reference, test : str
        The two modalities compared (differences are test - reference).
    alpha : float
        Two-sided level of the interval of the difference.
    columns : Columns
        Column names.
    nan_policy : {"raise", "omit"}
        As in :func:`mcnemar`.

    Returns
    -------
    DataFrame
        One row per reader x metric: ``reader, metric, test, reference``, ``clusters`` (cases
        with at least one unit of that metric), ``b, c`` (pooled discordant counts as in
        :func:`mcnemar`), ``difference`` (test - reference proportion), ``se, ci_low,
        ci_high`` (cluster-robust), ``statistic`` (Durkalski's chi-square, 1 df), ``p``,
        ``method``.

    Notes
    -----
    With ``d_k = c_k - b_k`` the discordance of case k, Durkalski's statistic is
    ``X^2 = (sum_k d_k)^2 / sum_k d_k^2``, referred to chi-square with 1 df. With one unit per
    case, ``d_k^2 = b_k + c_k`` and it reduces to McNemar's chi-square without continuity
    correction. The difference ``sum_k d_k / sum_k n_k`` (n_k units of that metric in case
    k) gets the ratio-estimator variance
    ``K / (K - 1) * sum_k (d_k - diff * n_k)^2 / (sum_k n_k)^2`` (Obuchowski 1998) and a
    normal interval. No discordant unit gives p = 1.

    References
    ----------
    Durkalski VL, Palesch YY, Lipsitz SR, Rust PF (2003). Analysis of clustered matched-pair
    data. Stat Med 22:2417-2428.
    Obuchowski NA (1998). On the comparison of correlated proportions for clustered data.
    Stat Med 17:1495-1507.
    """
    check_alpha(alpha)
    reader, case = columns.reader, columns.case
    paired = _paired(data, reference, test, columns, nan_policy)
    paired["d"] = paired["c"].astype(np.int64) - paired["b"].astype(np.int64)
    per_case = (
        paired.groupby([reader, "_metric", case], sort=False)
        .agg(d=("d", "sum"), n=("d", "size"), b=("b", "sum"), c=("c", "sum"))
        .reset_index()
    )
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for (reader_id, metric), group in per_case.groupby([reader, "_metric"], sort=False):
        d = group["d"].to_numpy(float)
        n = group["n"].to_numpy(float)
        k = len(d)
        difference = d.sum() / n.sum()
        sum_sq = float(np.sum(d**2))
        if sum_sq == 0:
            statistic, p = 0.0, 1.0
        else:
            statistic = d.sum() ** 2 / sum_sq
            p = float(stats.chi2.sf(statistic, 1))
        se = np.sqrt(k / (k - 1) * np.sum((d - difference * n) ** 2)) / n.sum() if k > 1 else np.nan
        rows.append(
            {
                "reader": reader_id,
                "metric": metric,
                "test": test,
                "reference": reference,
                "clusters": k,
                "b": int(group["b"].sum()),
                "c": int(group["c"].sum()),
                "difference": difference,
                "se": se,
                "ci_low": difference - z * se,
                "ci_high": difference + z * se,
                "statistic": statistic,
                "p": p,
                "method": "Durkalski clustered McNemar; Obuchowski ratio-estimator CI",
            }
        )
    return _metric_order(pd.DataFrame(rows), ["reader"])
