"""Contrasts of reader-averaged FOMs: a modality difference with its t (or z) test and CI,
and the tails and quantiles the OR and DBM tests share."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

RANDOM = "random readers, random cases"
FIXED_READERS = "fixed readers, random cases"
FIXED_CASES = "random readers, fixed cases"
ANALYSES = (RANDOM, FIXED_READERS, FIXED_CASES)
"""The three OR analyses, in report order; a one-reader study has only FIXED_READERS."""


@dataclass(frozen=True)
class Contrast:
    """One modality difference ``test - reference`` and its test.

    Attributes
    ----------
    analysis : str
        ``"random readers, random cases"``, ``"fixed readers, random cases"`` or
        ``"random readers, fixed cases"``.
    test, reference : modality labels.
    estimate : float
        Reader-averaged FOM of ``test`` minus that of ``reference``.
    se : float
        Its standard error.
    ci_low, ci_high : float
        ``estimate -/+ q * se`` with q the t quantile on ``df2`` df (normal when df2 is
        infinite), clipped to [-1, 1].
    F, df1, df2, p : float
        F statistic of this contrast (the square of the t statistic, df1 = 1), its
        denominator degrees of freedom (``inf`` for fixed readers, where it is a chi-square
        test) and the two-sided p-value. With two modalities this is the global F test.
    """

    analysis: str
    test: object
    reference: object
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    F: float
    df1: float
    df2: float
    p: float

    def to_dict(self) -> dict[str, object]:
        return {
            "analysis": self.analysis,
            "test": json_label(self.test),
            "reference": json_label(self.reference),
            "estimate": json_float(self.estimate),
            "se": json_float(self.se),
            "ci": [json_float(self.ci_low), json_float(self.ci_high)],
            "F": json_float(self.F),
            "df1": json_float(self.df1),
            "df2": json_float(self.df2),
            "p": json_float(self.p),
        }


def json_float(value: float) -> float | None:
    """A float for JSON; non-finite numbers become ``None``."""
    value = float(value)
    return value if math.isfinite(value) else None


def json_label(value: object) -> object:
    """A modality or reader label as a JSON scalar."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str | int | float | bool) else str(value)


def f_test_p(f: float, df1: float, df2: float) -> float:
    """Upper tail of F(df1, df2); with df2 = inf, of chi2(df1) at df1 * F."""
    if not math.isfinite(f):
        return math.nan
    if math.isinf(df2):
        return float(stats.chi2.sf(f * df1, df1))
    return float(stats.f.sf(f, df1, df2))


def quantile(alpha: float, df: float) -> float:
    """Two-sided ``1 - alpha`` quantile of t on ``df`` df (normal when df is infinite)."""
    if math.isinf(df):
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, df))


def hillis_df(denominator: float, ms_tr: float, df_tr: float) -> float:
    """Hillis's (2007) ddf = den^2 / (MS(TR)^2 / df_TR); infinite when MS(TR) = 0 < den."""
    if ms_tr > 0:
        return denominator**2 / (ms_tr**2 / df_tr)
    return math.inf if denominator > 0 else math.nan


def interval(est: float, se: float, q: float, low: float, high: float) -> tuple[float, float]:
    """``est -/+ q se`` clipped to [low, high]; NaN bounds when the SE is not finite."""
    if not math.isfinite(se):
        return math.nan, math.nan
    return float(np.clip(est - q * se, low, high)), float(np.clip(est + q * se, low, high))


def make_contrast(
    analysis: str,
    test: object,
    reference: object,
    estimate: float,
    se: float,
    df2: float,
    alpha: float,
) -> Contrast:
    """A difference with its t (df2 finite) or z (df2 = inf) test and CI clipped to [-1, 1]."""
    estimate, se, df2 = float(estimate), float(se), float(df2)
    lo, hi = interval(estimate, se, quantile(alpha, df2), -1.0, 1.0)
    if se > 0 and math.isfinite(df2):
        tstat = estimate / se
        p = float(2 * stats.t.sf(abs(tstat), df2))
    elif se > 0:
        tstat = estimate / se
        p = float(2 * stats.norm.sf(abs(tstat)))
    else:
        tstat, p = math.nan, math.nan
    return Contrast(analysis, test, reference, estimate, se, lo, hi, tstat**2, 1.0, df2, p)
