"""The Obuchowski-Rockette tests from FOMs and their case-sampling covariance, with Hillis df.

:func:`or_from_covariance` reads as the method section: average the error covariances, take
the FOM mean squares, form each analysis's denominator and df, then the global F tests, the
modality contrasts, the single-modality estimates and the fixed-reader per-reader detail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.mrmc.components import (
    ErrorCovariances,
    MeanSquares,
    ReaderPairs,
    error_covariances,
    mean_squares,
    variance_components,
)
from analysis.mrmc.contrasts import (
    FIXED_CASES,
    FIXED_READERS,
    RANDOM,
    Contrast,
    f_test_p,
    hillis_df,
    interval,
    make_contrast,
    quantile,
)


@dataclass(frozen=True)
class ORFit:
    """What :func:`or_from_covariance` finds (the parts of :class:`~analysis.mrmc.ORResult`
    that depend on the FOMs and their covariance only).

    Attributes
    ----------
    global_tests : DataFrame
        Index analysis; columns F, df1, df2, p, denominator.
    comparisons : tuple of Contrast
        Every analysis x test modality, analysis-major, test modalities in data order.
    per_modality_all : DataFrame
        Single-modality estimates per analysis and modality.
    per_reader : DataFrame
        Fixed-reader detail per reader and test modality.
    variance_components : dict
        See :func:`analysis.mrmc.components.variance_components`.
    covariances : ErrorCovariances
    """

    global_tests: pd.DataFrame
    comparisons: tuple[Contrast, ...]
    per_modality_all: pd.DataFrame
    per_reader: pd.DataFrame
    variance_components: dict[str, float]
    covariances: ErrorCovariances

    def contrast(self, analysis: str, test: object) -> Contrast:
        """The contrast of ``test`` against the reference in ``analysis``."""
        return next(c for c in self.comparisons if c.analysis == analysis and c.test == test)


@dataclass(frozen=True)
class _Denominators:
    """Per analysis: the denominator of its F test and Hillis's (or the fixed) df."""

    value: dict[str, float]
    df2: dict[str, float]
    analyses: tuple[str, ...]


def _denominators(ms: MeanSquares, cv: ErrorCovariances, pairs: ReaderPairs) -> _Denominators:
    """Random: MS(TR) + r max(Cov2 - Cov3, 0), Hillis df; fixed readers: Var - Cov1 + (r - 1)
    max(Cov2 - Cov3, 0), df inf; fixed cases: MS(TR) on (t - 1)(r - 1) df. In a split-plot
    design r becomes K / (r - 1) and r - 1 becomes K / r (:class:`ReaderPairs`)."""
    r = pairs.r
    value = {
        RANDOM: ms.ms_tr + pairs.random * cv.cov23,
        FIXED_READERS: cv.var - cv.cov1 + pairs.fixed * cv.cov23,
        FIXED_CASES: ms.ms_tr,
    }
    df2 = {
        RANDOM: hillis_df(value[RANDOM], ms.ms_tr, ms.df_tr) if r > 1 else math.nan,
        FIXED_READERS: math.inf,
        FIXED_CASES: float(ms.df_tr) if r > 1 else math.nan,
    }
    analyses = (RANDOM, FIXED_READERS, FIXED_CASES) if r > 1 else (FIXED_READERS,)
    return _Denominators(value, df2, analyses)


def _global_tests(ms: MeanSquares, den: _Denominators, t: int) -> pd.DataFrame:
    """F = MS(T) / denominator on t - 1 and df2, one row per analysis."""
    rows = []
    for a in den.analyses:
        f = ms.ms_t / den.value[a] if den.value[a] > 0 else math.nan
        rows.append(
            {
                "analysis": a,
                "F": f,
                "df1": float(t - 1),
                "df2": den.df2[a],
                "p": f_test_p(f, t - 1, den.df2[a]),
                "denominator": den.value[a],
            }
        )
    return pd.DataFrame(rows).set_index("analysis")


def _comparisons(
    theta: np.ndarray,
    den: _Denominators,
    modalities: tuple[object, ...],
    reference: int,
    alpha: float,
) -> tuple[Contrast, ...]:
    """Each test modality minus the reference, SE = sqrt(2 denominator / r), per analysis."""
    r = theta.shape[1]
    mean_m = theta.mean(axis=1)
    out = []
    for a in den.analyses:
        d = den.value[a]
        se = math.sqrt(max(2.0 * d / r, 0.0)) if math.isfinite(d) else math.nan
        for i, m in enumerate(modalities):
            if i != reference:
                est = float(mean_m[i] - mean_m[reference])
                out.append(make_contrast(a, m, modalities[reference], est, se, den.df2[a], alpha))
    return tuple(out)


def _single_modality(
    theta: np.ndarray,
    ms: MeanSquares,
    cv: ErrorCovariances,
    modalities: tuple[object, ...],
    analyses: tuple[str, ...],
    alpha: float,
    pairs: ReaderPairs,
) -> pd.DataFrame:
    """Each modality from its own data (OR-DBM MRMC's single-treatment analyses)."""
    r = theta.shape[1]
    mean_m = theta.mean(axis=1)
    rows = []
    for i, m in enumerate(modalities):
        est = float(mean_m[i])
        cov2_i = max(float(cv.cov2_i[i]), 0.0)
        random_total = ms.ms_r_i[i] + pairs.random * cov2_i
        single = {
            RANDOM: (
                random_total,
                hillis_df(random_total, ms.ms_r_i[i], r - 1) if r > 1 else math.nan,
            ),
            FIXED_READERS: (cv.var_i[i] + pairs.fixed * float(cv.cov2_i[i]), math.inf),
            FIXED_CASES: (ms.ms_r_i[i], float(r - 1)),
        }
        for a in analyses:
            total, df = single[a]
            se = math.sqrt(max(total, 0.0) / r)
            lo, hi = interval(est, se, quantile(alpha, df), 0.0, 1.0)
            rows.append(
                {
                    "analysis": a,
                    "modality": m,
                    "estimate": est,
                    "se": se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "df": df,
                    "ms_r": ms.ms_r_i[i],
                    "var": cv.var_i[i],
                    "cov2": float(cv.cov2_i[i]),
                }
            )
    return pd.DataFrame(rows)


def _per_reader(
    theta: np.ndarray,
    cov: np.ndarray,
    modalities: tuple[object, ...],
    readers: tuple[object, ...],
    reference: int,
    alpha: float,
) -> pd.DataFrame:
    """Fixed readers: each reader's FOMs and own difference, case sampling only (z tests)."""
    t, r = theta.shape
    z = quantile(alpha, math.inf)
    c4 = cov.reshape(t, r, t, r)
    rows = []
    for j, rd in enumerate(readers):
        fom_ref = float(theta[reference, j])
        ref_se = math.sqrt(max(c4[reference, j, reference, j], 0.0))
        ref_lo, ref_hi = interval(fom_ref, ref_se, z, 0.0, 1.0)
        for i in range(t):
            if i == reference:
                continue
            fom_i = float(theta[i, j])
            d = fom_i - fom_ref
            var_d = c4[i, j, i, j] + c4[reference, j, reference, j] - 2 * c4[i, j, reference, j]
            se_d = math.sqrt(max(var_d, 0.0))
            se_i = math.sqrt(max(c4[i, j, i, j], 0.0))
            lo_i, hi_i = interval(fom_i, se_i, z, 0.0, 1.0)
            lo_d, hi_d = interval(d, se_d, z, -1.0, 1.0)
            zstat = d / se_d if se_d > 0 else math.nan
            rows.append(
                {
                    "reader": rd,
                    "test": modalities[i],
                    "reference": modalities[reference],
                    "fom_test": fom_i,
                    "se_test": se_i,
                    "ci_low_test": lo_i,
                    "ci_high_test": hi_i,
                    "fom_reference": fom_ref,
                    "se_reference": ref_se,
                    "ci_low_reference": ref_lo,
                    "ci_high_reference": ref_hi,
                    "difference": d,
                    "se": se_d,
                    "ci_low": lo_d,
                    "ci_high": hi_d,
                    "z": zstat,
                    "p": float(2 * stats.norm.sf(abs(zstat))) if se_d > 0 else math.nan,
                }
            )
    return pd.DataFrame(rows)


def or_from_covariance(
    theta: np.ndarray,
    cov: np.ndarray,
    *,
    modalities: tuple[object, ...],
    readers: tuple[object, ...],
    reference: int = 0,
    alpha: float = 0.05,
    groups: np.ndarray | None = None,
) -> ORFit:
    """OR statistics from FOMs ``theta[t, r]`` and their case-sampling covariance matrix.

    ``groups`` (a code per reader) describes a split-plot design: readers of different
    groups read different cases, ``cov`` is zero between them, and Cov2/Cov3 and their
    coefficients count same-group pairs only (default: one group, fully crossed).
    """
    t, r = theta.shape
    if t < 2:
        raise AnalysisInputError("the OR comparison needs at least 2 modalities")
    pairs = ReaderPairs.crossed(r) if groups is None else ReaderPairs.of(groups)
    cv = error_covariances(cov, t, r, groups)
    ms = mean_squares(theta)
    den = _denominators(ms, cv, pairs)
    return ORFit(
        global_tests=_global_tests(ms, den, t),
        comparisons=_comparisons(theta, den, modalities, reference, alpha),
        per_modality_all=_single_modality(theta, ms, cv, modalities, den.analyses, alpha, pairs),
        per_reader=_per_reader(theta, cov, modalities, readers, reference, alpha),
        variance_components=variance_components(ms, cv, t, pairs),
        covariances=cv,
    )
