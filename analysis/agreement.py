"""Inter-reader agreement: intraclass correlation coefficients with exact F-based intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError, check_alpha

ICC_TYPES = ("ICC(1,1)", "ICC(A,1)", "ICC(C,1)")


def icc(
    data: pd.DataFrame,
    *,
    targets: str,
    raters: str,
    ratings: str,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Single-measure intraclass correlations of a fully crossed targets x raters design.

    Parameters
    ----------
    data : DataFrame
        Long format, one row per target x rater.
    targets, raters, ratings : str
        Column names; every rater must rate every target once.
    alpha : float
        Two-sided level of the intervals.

    Returns
    -------
    DataFrame
        One row per type (``ICC(1,1)``, ``ICC(A,1)``, ``ICC(C,1)``): ``type, icc, F, df1, df2,
        p, ci_low, ci_high, targets, raters``.

    Notes
    -----
    From the two-way ANOVA mean squares of targets (MSR), raters (MSC), residual (MSE) and
    within targets (MSW), with n targets and k raters:

    - ICC(1,1) = (MSR - MSW) / (MSR + (k - 1) MSW): one-way random (Shrout & Fleiss 1).
    - ICC(A,1) = (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n): two-way, absolute
      agreement, single measures (McGraw & Wong A,1 = Shrout & Fleiss ICC(2,1)). This is the
      one to report for readers who should give the same score (the paper's "two-way mixed
      single absolute agreement" has the same estimator).
    - ICC(C,1) = (MSR - MSE) / (MSR + (k - 1) MSE): consistency (Shrout & Fleiss ICC(3,1)).

    Intervals are the exact F intervals of McGraw & Wong (1996), with Satterthwaite's df for
    ICC(A,1). The estimates and 95% intervals equal pingouin 0.7.0's ``intraclass_corr`` rows
    ``ICC(1,1)``, ``ICC(A,1)``, ``ICC(C,1)`` (tested); this function also honours ``alpha``
    and never rounds. Identical ratings everywhere leave the ICC undefined (NaN).

    References
    ----------
    Shrout PE, Fleiss JL (1979). Intraclass correlations: uses in assessing rater reliability.
    Psychol Bull 86:420-428.
    McGraw KO, Wong SP (1996). Forming inferences about some intraclass correlation
    coefficients. Psychol Methods 1:30-46.

    Examples
    --------
    Agreement of three readers' ratings on the units of the aided modality:

    >>> from analysis import datasets
    >>> data = datasets.load("tiny_mrmc")
    >>> aided = data[data["modality"] == "aided"].assign(target=data["case"] + "|" + data["unit"])
    >>> table = icc(aided, targets="target", raters="reader", ratings="rating")
    >>> table[["type", "icc", "ci_low", "ci_high"]].round(3)
           type    icc  ci_low  ci_high
    0  ICC(1,1)  0.528   0.401    0.646
    1  ICC(A,1)  0.527   0.399    0.646
    2  ICC(C,1)  0.525   0.397    0.643
    """
    check_alpha(alpha)
    wide = data.pivot_table(index=targets, columns=raters, values=ratings, aggfunc="size")
    if (wide != 1).any(axis=None):
        raise AnalysisInputError(
            f"ICC needs every {raters} to rate every {targets} exactly once; the design is "
            "unbalanced or has duplicates"
        )
    y = data.pivot(index=targets, columns=raters, values=ratings).to_numpy(float)
    n, k = y.shape
    if n < 2 or k < 2:
        raise AnalysisInputError(f"ICC needs 2+ targets and 2+ raters; got {n} and {k}")
    grand = y.mean()
    ss_total = ((y - grand) ** 2).sum()
    ss_rows = k * ((y.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((y.mean(axis=0) - grand) ** 2).sum()
    ss_error = ss_total - ss_rows - ss_cols
    df_rows, df_cols, df_error, df_within = n - 1, k - 1, (n - 1) * (k - 1), n * (k - 1)
    msr, msc = ss_rows / df_rows, ss_cols / df_cols
    mse, msw = ss_error / df_error, (ss_total - ss_rows) / df_within

    with np.errstate(invalid="ignore", divide="ignore"):
        icc1 = (msr - msw) / (msr + (k - 1) * msw)
        icc_a = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        icc_c = (msr - mse) / (msr + (k - 1) * mse)
        f1, f2 = msr / msw, msr / mse
        q = 1 - alpha / 2

        # One-way and consistency: exact F intervals.
        f1_low, f1_high = (
            f1 / stats.f.ppf(q, df_rows, df_within),
            f1 * stats.f.ppf(q, df_within, df_rows),
        )
        f2_low, f2_high = (
            f2 / stats.f.ppf(q, df_rows, df_error),
            f2 * stats.f.ppf(q, df_error, df_rows),
        )
        ci1 = ((f1_low - 1) / (f1_low + k - 1), (f1_high - 1) / (f1_high + k - 1))
        ci_c = ((f2_low - 1) / (f2_low + k - 1), (f2_high - 1) / (f2_high + k - 1))

        # Absolute agreement: Satterthwaite df (McGraw & Wong 1996, Table 7, case 2A).
        a, b = k * icc_a / (n * (1 - icc_a)), 1 + k * icc_a * (n - 1) / (n * (1 - icc_a))
        v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / df_cols + (b * mse) ** 2 / df_error)
        f_upper = stats.f.ppf(q, df_rows, v)
        f_lower = stats.f.ppf(q, v, df_rows)
        ci_a = (
            n * (msr - f_upper * mse) / (f_upper * (k * msc + (k * n - k - n) * mse) + n * msr),
            n * (f_lower * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_lower * msr),
        )
    rows = [
        ("ICC(1,1)", icc1, f1, df_rows, df_within, ci1),
        ("ICC(A,1)", icc_a, f2, df_rows, df_error, ci_a),
        ("ICC(C,1)", icc_c, f2, df_rows, df_error, ci_c),
    ]
    return pd.DataFrame(
        [
            {
                "type": name,
                "icc": float(value),
                "F": float(f),
                "df1": int(d1),
                "df2": int(d2),
                "p": float(stats.f.sf(f, d1, d2)),
                "ci_low": float(ci[0]),
                "ci_high": float(ci[1]),
                "targets": n,
                "raters": k,
            }
            for name, value, f, d1, d2, ci in rows
        ]
    )
