"""Multi-reader multi-case (MRMC) analysis: the Obuchowski-Rockette model with Hillis df.

The figure of merit (FOM) of reader ``j`` in modality ``i``, ``theta_ij``, follows the
Obuchowski-Rockette (OR) model ``theta_ij = mu + tau_i + R_j + (tau R)_ij + e_ij``, where the
errors ``e_ij`` come from sampling cases and are correlated: ``Var``, ``Cov1`` (same reader,
different modalities), ``Cov2`` (different readers, same modality) and ``Cov3`` (different
readers and modalities). The covariances are estimated by the case jackknife (default),
DeLong's method or Obuchowski's clustered method; the test is Hillis's (2007) F with his
denominator degrees of freedom. Readers and cases are random; the fixed-reader (random cases)
and fixed-case (random readers) analyses come alongside.

Units (ASPECTS regions, or whole cases) are nested in cases: every resampling and clustering
here is over CASES, never over units.

References
----------
Obuchowski NA, Rockette HE (1995). Hypothesis testing of diagnostic accuracy for multiple
readers and multiple tests: an ANOVA approach with dependent observations. Commun Stat Simul
Comput 24:285-308.

Hillis SL (2007). A comparison of denominator degrees of freedom methods for multiple observer
ROC analysis. Stat Med 26:596-619.

Hillis SL, Berbaum KS, Metz CE (2008). Recent developments in the Dorfman-Berbaum-Metz
procedure for multireader ROC study analysis. Acad Radiol 15:647-661.

Hillis SL, Obuchowski NA, Schartz KM, Berbaum KS (2005). A comparison of the
Dorfman-Berbaum-Metz and Obuchowski-Rockette methods for receiver operating characteristic
(ROC) data. Stat Med 24:1579-1607.

Hillis SL (2014). A marginal-mean ANOVA approach for analyzing multireader multicase
radiological imaging data. Stat Med 33:330-360.

Smith BJ, Hillis SL (2020). Multi-reader multi-case analysis of variance software for
diagnostic performance comparison of imaging modalities. Proc SPIE 11316:113160K (MRMCaov).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError, check_alpha
from analysis.roc import clustered_cov, delong_cov, jackknife_auc, ustat_cov

__all__ = [
    "COVARIANCES",
    "FOMS",
    "Contrast",
    "MRMCData",
    "ORResult",
    "fom_covariance",
    "jackknife_foms",
    "or_analysis",
    "or_from_covariance",
    "prepare_mrmc",
]

FOMS = ("auc", "sensitivity", "specificity")
COVARIANCES = ("jackknife", "delong", "obuchowski", "unbiased")
METHOD = "Obuchowski-Rockette, Hillis df"
RANDOM = "random readers, random cases"
FIXED_READERS = "fixed readers, random cases"
FIXED_CASES = "random readers, fixed cases"


# --------------------------------------------------------------------------------------------
# Input: long table -> dense (modality, reader, unit) array
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MRMCData:
    """A fully crossed study as arrays: ``ratings[modality, reader, unit]``, units by case."""

    ratings: np.ndarray
    truth: np.ndarray
    """Boolean, one per unit."""
    case_codes: np.ndarray
    """Case index 0..n_cases-1 of each unit (units sorted by case)."""
    modalities: tuple[object, ...]
    readers: tuple[object, ...]
    cases: tuple[object, ...]
    reference: int
    """Index of the reference modality."""

    @property
    def n_cases(self) -> int:
        return len(self.cases)

    def cases_with(self, positive: bool) -> np.ndarray:
        """Boolean per case: holds at least one positive (or negative) unit."""
        mask = self.truth if positive else ~self.truth
        return np.bincount(self.case_codes[mask], minlength=self.n_cases) > 0


def _check_columns(data: pd.DataFrame, columns: dict[str, str]) -> None:
    missing = [f"{role}={name!r}" for role, name in columns.items() if name not in data.columns]
    if missing:
        raise AnalysisInputError(
            f"the ratings table lacks column(s) {', '.join(missing)}; it has "
            f"{list(map(str, data.columns))}. Rename them or pass the names as keywords "
            "(reader=, modality=, case=, unit=, truth=, rating=)"
        )


def _first_row(data: pd.DataFrame, mask: np.ndarray, cols: list[str]) -> str:
    row = data.loc[mask, cols].iloc[0]
    return ", ".join(f"{c}={_plain(row[c])!r}" for c in cols)


def _plain(value: object) -> object:
    """numpy scalars as Python scalars, so messages read ``1``, not ``np.int64(1)``."""
    return value.item() if isinstance(value, np.generic) else value


def prepare_mrmc(
    data: pd.DataFrame,
    *,
    rating: str,
    binary: bool,
    reference: object | None = None,
    reader: str = "reader",
    modality: str = "modality",
    case: str = "case",
    unit: str = "unit",
    truth: str = "truth",
) -> MRMCData:
    """Validate a long ratings table and arrange it as a dense array (see :class:`MRMCData`).

    One row per reader x modality x case x unit; the ``unit`` column may be absent when each
    case is one unit (classic ROC data). The design must be fully crossed: every reader reads
    every unit in every modality. ``binary=True`` requires 0/1 ratings (calls).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame in long format, got {type(data)}")
    has_unit = unit in data.columns
    ids = {"reader": reader, "modality": modality, "case": case}
    _check_columns(data, {**ids, "truth": truth, "rating": rating})
    if data.empty:
        raise AnalysisInputError("the ratings table has no rows")
    id_cols = [*ids.values(), *([unit] if has_unit else [])]
    for col in [*id_cols, truth, rating]:
        bad = data[col].isna().to_numpy()
        if bad.any():
            where = _first_row(data, bad, [c for c in id_cols if c != col] or id_cols)
            raise AnalysisInputError(
                f"column {col!r} is empty in {int(bad.sum())} row(s), first at {where}; "
                "fill or drop those rows (missing reads are not imputed)"
            )
    scores = pd.to_numeric(data[rating], errors="coerce").to_numpy(dtype=float)
    if np.isnan(scores).any():
        bad = np.isnan(scores)
        raise AnalysisInputError(
            f"column {rating!r} must be numeric; {_plain(data[rating][bad].iloc[0])!r} at "
            f"{_first_row(data, bad, id_cols)} is not"
        )
    if binary and not np.isin(scores, (0.0, 1.0)).all():
        bad = ~np.isin(scores, (0.0, 1.0))
        raise AnalysisInputError(
            f"sensitivity and specificity need 0/1 calls in {rating!r}; found "
            f"{_plain(scores[bad][0])!r} at {_first_row(data, bad, id_cols)}"
        )
    truth_values = pd.to_numeric(data[truth], errors="coerce").to_numpy(dtype=float)
    if not np.isin(truth_values, (0.0, 1.0)).all():
        bad = ~np.isin(truth_values, (0.0, 1.0))
        raise AnalysisInputError(
            f"truth must be 0 or 1; found {_plain(data[truth][bad].iloc[0])!r} at "
            f"{_first_row(data, bad, id_cols)}"
        )

    m_codes, modalities = pd.factorize(data[modality])
    r_codes, readers = pd.factorize(data[reader])
    c_codes, cases = pd.factorize(data[case])
    if has_unit:
        u_codes, units = pd.factorize(data[unit])
    else:
        u_codes, units = np.zeros(len(data), dtype=np.int64), pd.Index(["case"])
    modalities, readers, cases, units = (
        idx.tolist() for idx in (modalities, readers, cases, units)
    )
    t, r = len(modalities), len(readers)
    keys, unit_idx = np.unique(c_codes.astype(np.int64) * len(units) + u_codes, return_inverse=True)
    n_units = keys.size
    case_codes = (keys // len(units)).astype(np.int64)

    cell = (m_codes.astype(np.int64) * r + r_codes) * n_units + unit_idx
    counts = np.bincount(cell, minlength=t * r * n_units)
    if (counts > 1).any():
        dup = pd.Series(cell).duplicated(keep=False).to_numpy()
        hint = "" if has_unit else f" (no {unit!r} column: pass unit= for unit-level data)"
        raise AnalysisInputError(
            f"{int((counts > 1).sum())} reader x modality x case x unit cell(s) have more than "
            f"one row, first at {_first_row(data, dup, id_cols)}; keep one rating per cell{hint}"
        )
    if (counts == 0).any():
        first = int(np.flatnonzero(counts == 0)[0])
        mi, rest = divmod(first, r * n_units)
        ri, ui = divmod(rest, n_units)
        unit_label = units[keys[ui] % len(units)]
        raise AnalysisInputError(
            f"the design is not fully crossed: {int((counts == 0).sum())} reader x modality x "
            f"unit reads are missing, first reader {readers[ri]!r}, modality "
            f"{modalities[mi]!r}, case {cases[case_codes[ui]]!r}, unit {unit_label!r}; "
            "every reader must rate every unit in every modality"
        )
    ratings = np.empty(t * r * n_units)
    ratings[cell] = scores
    unit_truth = np.empty(n_units)
    unit_truth[unit_idx] = truth_values
    if (unit_truth[unit_idx] != truth_values).any():
        bad = unit_truth[unit_idx] != truth_values
        raise AnalysisInputError(
            f"truth differs between rows of the same case and unit, e.g. at "
            f"{_first_row(data, bad, id_cols)}; truth belongs to the unit, not to the read"
        )
    if t < 2:
        raise AnalysisInputError(
            f"an MRMC comparison needs at least 2 modalities; found only {modalities[0]!r} in "
            f"column {modality!r}"
        )
    if reference is None:
        ref = 0
    elif reference in modalities:
        ref = modalities.index(reference)
    else:
        raise AnalysisInputError(
            f"reference modality {reference!r} is not in the data; modalities are {modalities}"
        )
    return MRMCData(
        ratings=ratings.reshape(t, r, n_units),
        truth=unit_truth.astype(bool),
        case_codes=case_codes,
        modalities=tuple(modalities),
        readers=tuple(readers),
        cases=tuple(cases),
        reference=ref,
    )


# --------------------------------------------------------------------------------------------
# Figures of merit and their case-sampling covariance
# --------------------------------------------------------------------------------------------


def prepare_for_fom(
    data: pd.DataFrame,
    fom: str,
    *,
    rating: str | None = None,
    reference: object | None = None,
    reader: str = "reader",
    modality: str = "modality",
    case: str = "case",
    unit: str = "unit",
    truth: str = "truth",
) -> MRMCData:
    """:func:`prepare_mrmc` for one figure of merit: the rating column defaults to
    ``rating`` for the AUC and ``call`` for sensitivity and specificity (0/1 required)."""
    if fom not in FOMS:
        raise AnalysisInputError(f"fom must be one of {FOMS}, got {fom!r}")
    return prepare_mrmc(
        data,
        rating=rating or ("rating" if fom == "auc" else "call"),
        binary=fom != "auc",
        reference=reference,
        reader=reader,
        modality=modality,
        case=case,
        unit=unit,
        truth=truth,
    )


def _binary_parts(prepared: MRMCData, fom: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-case successes (t x r x c), trials per case (c,), and the jackknife case mask."""
    positive = fom == "sensitivity"
    mask = prepared.truth if positive else ~prepared.truth
    correct = prepared.ratings if positive else 1.0 - prepared.ratings
    t, r, _ = correct.shape
    c = prepared.n_cases
    codes = prepared.case_codes[mask]
    flat = correct[:, :, mask].reshape(t * r, -1)
    # Row-wise bincount through an offset index: one pass over all rows.
    offsets = (np.arange(t * r)[:, None] * c + codes[None, :]).ravel()
    successes = np.bincount(offsets, weights=flat.ravel(), minlength=t * r * c).reshape(t, r, c)
    trials = np.bincount(codes, minlength=c).astype(float)
    return successes, trials, trials > 0


def jackknife_foms(prepared: MRMCData, fom: str) -> tuple[np.ndarray, np.ndarray]:
    """FOMs ``theta[t, r]`` and leave-one-case-out FOMs ``loo[t, r, m]``.

    For ``"auc"`` the m jackknife cases are all cases; for ``"sensitivity"`` only the cases
    holding a positive unit, for ``"specificity"`` only those holding a negative unit (leaving
    out any other case does not change the FOM). A binary FOM is the pooled proportion of
    correctly called units, so leaving a case out removes all its units together.
    """
    t, r, n = prepared.ratings.shape
    if fom == "auc":
        theta, loo = jackknife_auc(
            prepared.truth, prepared.ratings.reshape(t * r, n), prepared.case_codes
        )
        return theta.reshape(t, r), loo.reshape(t, r, -1)
    successes, trials, used = _binary_parts(prepared, fom)
    if int(used.sum()) < 2:
        kind = "positive" if fom == "sensitivity" else "negative"
        raise AnalysisInputError(
            f"{fom} needs {kind} units in at least 2 cases for the case jackknife; found "
            f"{int(used.sum())}"
        )
    successes, trials = successes[:, :, used], trials[used]
    total_s, total_n = successes.sum(axis=2), trials.sum()
    theta = total_s / total_n
    loo = (total_s[:, :, None] - successes) / (total_n - trials)
    return theta, loo


def _jackknife_cov(loo: np.ndarray) -> np.ndarray:
    """(m - 1) / m * sum_k (theta_(k) - mean)(theta_(k) - mean)' over the m left-out cases."""
    t, r, m = loo.shape
    flat = loo.reshape(t * r, m)
    dev = flat - flat.mean(axis=1, keepdims=True)
    return (m - 1) / m * (dev @ dev.T)


def fom_covariance(prepared: MRMCData, fom: str, covariance: str) -> tuple[np.ndarray, np.ndarray]:
    """FOMs ``theta[t, r]`` and their covariance over case sampling, ``cov[(t r), (t r)]``.

    Rows/columns of ``cov`` are ordered modality-major: index ``i * r + j``.
    """
    if covariance == "jackknife":
        theta, loo = jackknife_foms(prepared, fom)
        return theta, _jackknife_cov(loo)
    t, r, n = prepared.ratings.shape
    scores = prepared.ratings.reshape(t * r, n)
    if covariance == "delong":
        theta, cov = delong_cov(prepared.truth, scores)
    elif covariance == "unbiased":
        theta, cov = ustat_cov(prepared.truth, scores, "unbiased")
    else:
        theta, cov = clustered_cov(prepared.truth, scores, prepared.case_codes)
    return theta.reshape(t, r), cov


# --------------------------------------------------------------------------------------------
# The OR model
# --------------------------------------------------------------------------------------------


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
            "test": _json_label(self.test),
            "reference": _json_label(self.reference),
            "estimate": _json_float(self.estimate),
            "se": _json_float(self.se),
            "ci": [_json_float(self.ci_low), _json_float(self.ci_high)],
            "F": _json_float(self.F),
            "df1": _json_float(self.df1),
            "df2": _json_float(self.df2),
            "p": _json_float(self.p),
        }


@dataclass(frozen=True)
class ORResult:
    """Result of :func:`or_analysis`.

    Attributes
    ----------
    fom : str
        ``"auc"``, ``"sensitivity"`` or ``"specificity"``.
    method, covariance : str
        ``"Obuchowski-Rockette, Hillis df"``; ``"jackknife"``, ``"delong"`` or ``"obuchowski"``.
    reference : modality label
        Differences are ``test - reference``.
    alpha : float
        1 - confidence level.
    foms : DataFrame
        FOM per reader (index) and modality (columns).
    per_modality : DataFrame
        Reader-averaged FOM per modality (index) from that modality's data alone (OR-DBM
        MRMC's single-treatment analysis, random readers and cases): columns estimate, se,
        ci_low, ci_high (clipped to [0, 1]), df (Hillis), ms_r, var, cov2.
    difference : Contrast or None
        Random readers and random cases, first test modality against the reference.
        ``None`` only for a single-reader study analysed with ``allow_single_reader=True``.
    differences : dict
        Every test modality (key) against the reference, random readers and random cases.
    fixed_readers, fixed_cases : Contrast or None
        The same difference with readers fixed (chi-square test, df2 = inf) or cases fixed
        (F on (t - 1)(r - 1) df). ``fixed_cases`` is None with one reader.
    global_tests : DataFrame
        Index analysis; columns F, df1, df2, p, denominator: the F test of equal FOMs over all
        modalities.
    contrasts : DataFrame
        One row per analysis x test modality, columns as :class:`Contrast`.
    per_modality_all : DataFrame
        Per-modality estimates for each analysis (columns analysis, modality, estimate, se,
        ci_low, ci_high, df).
    per_reader : DataFrame
        Fixed-reader detail per reader and test modality: each reader's FOMs with their
        case-sampling SE and CI, and the reader's difference with SE, CI, z and p.
    variance_components : dict
        var_r, var_tr (OR variance components; may be negative, reported as estimated),
        cov1, cov2, cov3, var_error (the error variance ``Var``), msr, mstr, mst, and the
        correlations rho1..rho3 (Cov_k / Var).
    n_readers, n_cases, n_positive_cases, n_negative_cases, n_units, n_jackknife_cases : int
        Cases with at least one positive (negative) unit; jackknife cases used for the FOM.
    notes : tuple of str
        Degenerate situations met and how they were handled.
    """

    fom: str
    method: str
    covariance: str
    reference: object
    alpha: float
    foms: pd.DataFrame
    per_modality: pd.DataFrame
    difference: Contrast | None
    differences: dict[object, Contrast]
    fixed_readers: Contrast | None
    fixed_cases: Contrast | None
    global_tests: pd.DataFrame
    contrasts: pd.DataFrame
    per_modality_all: pd.DataFrame
    per_reader: pd.DataFrame
    variance_components: dict[str, float]
    n_readers: int
    n_cases: int
    n_positive_cases: int
    n_negative_cases: int
    n_units: int
    n_jackknife_cases: int | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready plain types: the ``roc_mrmc`` block of DATA_CONTRACTS.md plus extras.

        ``{method: "OR", covariance, df: "Hillis", <fom>: {<modality>: {estimate, ci,
        per_reader}}, difference: {estimate, se, ci, F, df2, p, ...}}``, where ``<fom>`` is
        ``auc`` (or ``sensitivity``/``specificity``). Extras: fom, reference, test, alpha,
        differences (per test modality), fixed_readers, fixed_cases, global_tests,
        variance_components, counts and notes. Non-finite numbers become ``None``.
        """
        main = self.difference if self.difference is not None else self.fixed_readers
        per_mod = self.per_modality
        block = {
            _json_label(m): {
                "estimate": _json_float(per_mod.at[m, "estimate"]),
                "ci": [_json_float(per_mod.at[m, "ci_low"]), _json_float(per_mod.at[m, "ci_high"])],
                "se": _json_float(per_mod.at[m, "se"]),
                "df": _json_float(per_mod.at[m, "df"]),
                "per_reader": {_json_label(rd): _json_float(v) for rd, v in self.foms[m].items()},
            }
            for m in per_mod.index
        }
        tests = self.global_tests
        return {
            "method": "OR",
            "covariance": self.covariance,
            "df": "Hillis",
            "fom": self.fom,
            "alpha": self.alpha,
            "reference": _json_label(self.reference),
            "test": _json_label(main.test) if main is not None else None,
            self.fom: block,
            "difference": main.to_dict() if main is not None else None,
            "differences": {_json_label(k): v.to_dict() for k, v in self.differences.items()},
            "fixed_readers": self.fixed_readers.to_dict() if self.fixed_readers else None,
            "fixed_cases": self.fixed_cases.to_dict() if self.fixed_cases else None,
            "global_tests": {
                a: {c: _json_float(tests.at[a, c]) for c in tests.columns} for a in tests.index
            },
            "variance_components": {k: _json_float(v) for k, v in self.variance_components.items()},
            "n_readers": self.n_readers,
            "n_cases": self.n_cases,
            "n_positive_cases": self.n_positive_cases,
            "n_negative_cases": self.n_negative_cases,
            "n_units": self.n_units,
            "n_jackknife_cases": self.n_jackknife_cases,
            "notes": list(self.notes),
        }


def _json_float(value: object) -> float | None:
    value = float(value)  # type: ignore[arg-type]
    return value if math.isfinite(value) else None


def _json_label(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str | int | float | bool) else str(value)


@dataclass(frozen=True)
class _Covariances:
    var: float
    cov1: float
    cov2: float
    cov3: float
    var_i: np.ndarray
    """Per modality: mean variance of its readers' FOMs."""
    cov2_i: np.ndarray
    """Per modality: mean covariance between its readers' FOMs."""


def _covariance_averages(cov: np.ndarray, t: int, r: int) -> _Covariances:
    c4 = cov.reshape(t, r, t, r)
    same_m = np.eye(t, dtype=bool)[:, None, :, None]
    same_r = np.eye(r, dtype=bool)[None, :, None, :]

    def mean(mask: np.ndarray) -> float:
        full = np.broadcast_to(mask, c4.shape)
        return float(c4[full].mean()) if full.any() else 0.0

    blocks = np.stack([c4[i, :, i, :] for i in range(t)])
    off = ~np.eye(r, dtype=bool)
    return _Covariances(
        var=mean(same_m & same_r),
        cov1=mean(~same_m & same_r),
        cov2=mean(same_m & ~same_r),
        cov3=mean(~same_m & ~same_r),
        var_i=np.array([np.diag(b).mean() for b in blocks]),
        cov2_i=np.array([b[off].mean() if r > 1 else 0.0 for b in blocks]),
    )


def f_test_p(f: float, df1: float, df2: float) -> float:
    """Upper tail of F(df1, df2); with df2 = inf, of chi2(df1) at df1 * F."""
    if not math.isfinite(f):
        return math.nan
    if math.isinf(df2):
        return float(stats.chi2.sf(f * df1, df1))
    return float(stats.f.sf(f, df1, df2))


def _quantile(alpha: float, df: float) -> float:
    if math.isinf(df):
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, df))


def hillis_df(denominator: float, ms_tr: float, df_tr: float) -> float:
    """Hillis's (2007) ddf = den^2 / (MS(TR)^2 / df_TR); infinite when MS(TR) = 0 < den."""
    if ms_tr > 0:
        return denominator**2 / (ms_tr**2 / df_tr)
    return math.inf if denominator > 0 else math.nan


def _interval(est: float, se: float, q: float, low: float, high: float) -> tuple[float, float]:
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
    lo, hi = _interval(estimate, se, _quantile(alpha, df2), -1.0, 1.0)
    if se > 0 and math.isfinite(df2):
        tstat = estimate / se
        p = float(2 * stats.t.sf(abs(tstat), df2))
    elif se > 0:
        tstat = estimate / se
        p = float(2 * stats.norm.sf(abs(tstat)))
    else:
        tstat, p = math.nan, math.nan
    return Contrast(analysis, test, reference, estimate, se, lo, hi, tstat**2, 1.0, df2, p)


def or_from_covariance(
    theta: np.ndarray,
    cov: np.ndarray,
    *,
    modalities: tuple[object, ...],
    readers: tuple[object, ...],
    reference: int = 0,
    alpha: float = 0.05,
) -> dict[str, object]:
    """OR statistics from FOMs ``theta[t, r]`` and their case-sampling covariance matrix.

    Returns a dict with the pieces of :class:`ORResult` that depend on these two inputs
    (``or_analysis`` adds data-dependent counts and notes).
    """
    t, r = theta.shape
    if t < 2:
        raise AnalysisInputError("the OR comparison needs at least 2 modalities")
    cv = _covariance_averages(cov, t, r)
    mean_m = theta.mean(axis=1)
    mean_r = theta.mean(axis=0)
    grand = float(theta.mean())
    ms_t = r * float(((mean_m - grand) ** 2).sum()) / (t - 1)
    df_tr = (t - 1) * (r - 1)
    if r > 1:
        ms_r = t * float(((mean_r - grand) ** 2).sum()) / (r - 1)
        resid = theta - mean_m[:, None] - mean_r[None, :] + grand
        ms_tr = float((resid**2).sum()) / df_tr
        ms_r_i = theta.var(axis=1, ddof=1)
    else:
        ms_r = ms_tr = math.nan
        ms_r_i = np.full(t, math.nan)
    cov23 = max(cv.cov2 - cv.cov3, 0.0)

    # Variance components (Hillis 2014; as RJafroc and MRMCaov report them): may be negative.
    var_tr = ms_tr - cv.var + cv.cov1 + cov23
    var_r = (ms_r - cv.var - (t - 1) * cv.cov1 + cv.cov2 + (t - 1) * cv.cov3 - var_tr) / t

    den = {
        RANDOM: ms_tr + r * cov23,
        FIXED_READERS: cv.var - cv.cov1 + (r - 1) * cov23,
        FIXED_CASES: ms_tr,
    }
    df2 = {
        RANDOM: hillis_df(den[RANDOM], ms_tr, df_tr) if r > 1 else math.nan,
        FIXED_READERS: math.inf,
        FIXED_CASES: float(df_tr) if r > 1 else math.nan,
    }
    analyses = [RANDOM, FIXED_READERS, FIXED_CASES] if r > 1 else [FIXED_READERS]

    global_rows = []
    for a in analyses:
        f = ms_t / den[a] if den[a] > 0 else math.nan
        global_rows.append(
            {
                "analysis": a,
                "F": f,
                "df1": float(t - 1),
                "df2": df2[a],
                "p": f_test_p(f, t - 1, df2[a]),
                "denominator": den[a],
            }
        )
    global_tests = pd.DataFrame(global_rows).set_index("analysis")

    contrasts: dict[str, dict[object, Contrast]] = {a: {} for a in analyses}
    for i in range(t):
        if i == reference:
            continue
        est = float(mean_m[i] - mean_m[reference])
        for a in analyses:
            se = math.sqrt(max(2.0 * den[a] / r, 0.0)) if math.isfinite(den[a]) else math.nan
            contrasts[a][modalities[i]] = make_contrast(
                a, modalities[i], modalities[reference], est, se, df2[a], alpha
            )
    contrast_table = pd.DataFrame([vars(c) for per in contrasts.values() for c in per.values()])

    # Single-modality analyses (each from that modality's data only).
    per_rows = []
    for i, m in enumerate(modalities):
        est = float(mean_m[i])
        cov2_i = max(float(cv.cov2_i[i]), 0.0)
        single = {
            RANDOM: (
                ms_r_i[i] + r * cov2_i,
                hillis_df(ms_r_i[i] + r * cov2_i, ms_r_i[i], r - 1) if r > 1 else math.nan,
            ),
            FIXED_READERS: (cv.var_i[i] + (r - 1) * float(cv.cov2_i[i]), math.inf),
            FIXED_CASES: (ms_r_i[i], float(r - 1)),
        }
        for a in analyses:
            total, df = single[a]
            se = math.sqrt(max(total, 0.0) / r)
            lo, hi = _interval(est, se, _quantile(alpha, df), 0.0, 1.0)
            per_rows.append(
                {
                    "analysis": a,
                    "modality": m,
                    "estimate": est,
                    "se": se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "df": df,
                    "ms_r": ms_r_i[i],
                    "var": cv.var_i[i],
                    "cov2": float(cv.cov2_i[i]),
                }
            )
    per_modality_all = pd.DataFrame(per_rows)

    # Fixed readers: each reader's FOMs and own difference (case sampling only).
    z = _quantile(alpha, math.inf)
    c4 = cov.reshape(t, r, t, r)
    reader_rows = []
    for j, rd in enumerate(readers):
        fom_ref = float(theta[reference, j])
        ref_se = math.sqrt(max(c4[reference, j, reference, j], 0.0))
        ref_lo, ref_hi = _interval(fom_ref, ref_se, z, 0.0, 1.0)
        for i in range(t):
            if i == reference:
                continue
            fom_i = float(theta[i, j])
            d = fom_i - fom_ref
            var_d = c4[i, j, i, j] + c4[reference, j, reference, j] - 2 * c4[i, j, reference, j]
            se_d = math.sqrt(max(var_d, 0.0))
            se_i = math.sqrt(max(c4[i, j, i, j], 0.0))
            lo_i, hi_i = _interval(fom_i, se_i, z, 0.0, 1.0)
            lo_d, hi_d = _interval(d, se_d, z, -1.0, 1.0)
            zstat = d / se_d if se_d > 0 else math.nan
            reader_rows.append(
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
    rho = {
        f"rho{k}": (getattr(cv, f"cov{k}") / cv.var if cv.var > 0 else math.nan) for k in (1, 2, 3)
    }
    return {
        "theta": theta,
        "global_tests": global_tests,
        "contrasts": contrasts,
        "contrast_table": contrast_table,
        "per_modality_all": per_modality_all,
        "per_reader": pd.DataFrame(reader_rows),
        "variance_components": {
            "var_r": var_r,
            "var_tr": var_tr,
            "cov1": cv.cov1,
            "cov2": cv.cov2,
            "cov3": cv.cov3,
            "var_error": cv.var,
            "msr": ms_r,
            "mstr": ms_tr,
            "mst": ms_t,
            **rho,
        },
        "covariances": cv,
    }


def _degenerate_notes(
    theta: np.ndarray,
    prepared: MRMCData,
    fom: str,
    covariance: str,
    parts: dict[str, object],
) -> list[str]:
    notes = []
    vc = parts["variance_components"]
    r = theta.shape[1]
    if r > 1 and vc["cov2"] < vc["cov3"]:
        notes.append(
            f"Cov2 ({vc['cov2']:.3g}) < Cov3 ({vc['cov3']:.3g}): Hillis's max(Cov2 - Cov3, 0) "
            "= 0 is used in the test denominators"
        )
    for name in ("var_r", "var_tr"):
        if math.isfinite(vc[name]) and vc[name] < 0:
            notes.append(
                f"variance component {name} = {vc[name]:.3g} is negative; reported as "
                "estimated (it enters no square root; the tests use Hillis's max(., 0) rules)"
            )
    ratings = prepared.ratings
    for i, m in enumerate(prepared.modalities):
        for j, rd in enumerate(prepared.readers):
            if fom == "auc" and np.ptp(ratings[i, j]) == 0:
                notes.append(f"reader {rd!r}, modality {m!r}: constant ratings (AUC 0.5)")
            elif theta[i, j] in (0.0, 1.0):
                notes.append(
                    f"reader {rd!r}, modality {m!r}: {fom} = {theta[i, j]:g} (no case-sampling "
                    "variance from this reader)"
                )
    den = parts["global_tests"]["denominator"]
    if (den <= 0).any():
        notes.append(
            "no variability in the FOMs for "
            + ", ".join(den.index[den <= 0])
            + ": F, p and df are undefined there"
        )
    units_per_case = ratings.shape[2] / prepared.n_cases
    if covariance in ("delong", "unbiased") and units_per_case > 1:
        notes.append(
            f"covariance {covariance!r} treats units as independent although cases hold "
            f"{units_per_case:g} units on average; prefer 'jackknife' or 'obuchowski'"
        )
    if r == 1:
        notes.append(
            "one reader: random-reader analyses are impossible; only the fixed-reader "
            "(random cases) analysis is reported"
        )
    return notes


def or_analysis(
    data: pd.DataFrame,
    *,
    fom: str = "auc",
    rating: str | None = None,
    covariance: str = "jackknife",
    reference: object | None = None,
    alpha: float = 0.05,
    reader: str = "reader",
    modality: str = "modality",
    case: str = "case",
    unit: str = "unit",
    truth: str = "truth",
    allow_single_reader: bool = False,
) -> ORResult:
    """Obuchowski-Rockette MRMC analysis with Hillis degrees of freedom.

    Parameters
    ----------
    data : DataFrame
        Long format, one row per reader x modality x case x unit, fully crossed, with columns
        reader, modality, case, unit (optional: without it each case is one unit), truth (0/1
        per unit) and the rating column.
    fom : {"auc", "sensitivity", "specificity"}
        ``"auc"``: empirical (trapezoidal, Wilcoxon) AUC over all units. ``"sensitivity"``:
        pooled proportion of positive units called positive; ``"specificity"``: pooled
        proportion of negative units called negative.
    rating : str, optional
        Column with the score (``"auc"``; default ``"rating"``) or the 0/1 call (binary FOMs;
        default ``"call"``).
    covariance : {"jackknife", "delong", "obuchowski"}
        How the case-sampling covariance of the FOMs is estimated. ``"jackknife"``: leave one
        case (all its units) out; for binary FOMs over the cases that hold positive
        (sensitivity) or negative (specificity) units only. ``"delong"`` (AUC only): DeLong et
        al. 1988, units taken as independent. ``"obuchowski"`` (AUC only): Obuchowski 1997,
        units clustered within cases; equals DeLong with one unit per case. ``"unbiased"``
        (AUC only): Gallas's (2006) U-statistic covariance, units taken as independent
        (MRMCaov's ``cov = unbiased``; iMRMC's "BDG" moments); with it the random-reader
        variance of the difference is iMRMC's unbiased total variance whenever
        Cov2 >= Cov3 (see :func:`analysis.ustat.ustat_difference`).
    reference : modality label, optional
        Differences are ``test - reference``; default the first modality in order of
        appearance.
    alpha : float
        1 - confidence level of every interval.
    reader, modality, case, unit, truth : str
        Column names.
    allow_single_reader : bool
        With one reader, random-reader analysis is impossible and an AnalysisInputError is
        raised; True returns the fixed-reader analysis only (``difference`` is None).

    Returns
    -------
    ORResult
        See :class:`ORResult`.

    Notes
    -----
    With MS(T), MS(R), MS(TR) the modality, reader and interaction mean squares of the FOMs
    and Var, Cov1, Cov2, Cov3 the averaged error (co)variances:

    - random readers and cases (Hillis 2007): ``F = MS(T) / (MS(TR) + r max(Cov2 - Cov3,
      0))`` on ``t - 1`` and ``ddf = (MS(TR) + r max(Cov2 - Cov3, 0))^2 / (MS(TR)^2 /
      ((t - 1)(r - 1)))`` df; the difference of two modalities has
      ``SE = sqrt(2 / r (MS(TR) + r max(Cov2 - Cov3, 0)))``;
    - fixed readers: ``chi2 = (t - 1) MS(T) / (Var - Cov1 + (r - 1) max(Cov2 - Cov3, 0))``
      (reported as F with df2 = inf), ``SE = sqrt(2 / r (Var - Cov1 + (r - 1) max(Cov2 -
      Cov3, 0)))``;
    - fixed cases: ``F = MS(T) / MS(TR)`` on ``t - 1`` and ``(t - 1)(r - 1)`` df.

    Single-modality CIs use that modality's MS(R) and Cov2 (OR-DBM MRMC's "single
    treatment" analyses): ``SE = sqrt((MS(R)_i + r max(Cov2_i, 0)) / r)`` with Hillis df
    ``(MS(R)_i + r max(Cov2_i, 0))^2 / (MS(R)_i^2 / (r - 1))``. FOM CIs are clipped to
    [0, 1], difference CIs to [-1, 1]. Variance components may come out negative; they are
    reported as estimated and never square-rooted.

    Examples
    --------
    >>> res = or_analysis(vandyke, modality="treatment")  # doctest: +SKIP
    >>> round(res.difference.estimate, 8), round(res.difference.p, 4)  # doctest: +SKIP
    (0.04380032, 0.0517)
    """
    if fom not in FOMS:
        raise AnalysisInputError(f"fom must be one of {FOMS}, got {fom!r}")
    if covariance not in COVARIANCES:
        raise AnalysisInputError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    if fom != "auc" and covariance != "jackknife":
        raise AnalysisInputError(
            f"covariance {covariance!r} applies to the AUC only; {fom} uses 'jackknife' (over "
            "cases with " + ("positive" if fom == "sensitivity" else "negative") + " units)"
        )
    check_alpha(alpha)
    prepared = prepare_for_fom(
        data,
        fom,
        rating=rating,
        reference=reference,
        reader=reader,
        modality=modality,
        case=case,
        unit=unit,
        truth=truth,
    )
    _, r, n_units = prepared.ratings.shape
    if r < 2 and not allow_single_reader:
        raise AnalysisInputError(
            f"random-reader analysis needs at least 2 readers; found only "
            f"{prepared.readers[0]!r}. Pass allow_single_reader=True for the fixed-reader "
            "(random cases) analysis of this reader"
        )
    if fom == "auc" and (prepared.truth.all() or not prepared.truth.any()):
        raise AnalysisInputError(
            "the AUC needs both positive and negative units; all units have truth "
            f"{int(prepared.truth[0])}"
        )
    theta, cov = fom_covariance(prepared, fom, covariance)
    parts = or_from_covariance(
        theta,
        cov,
        modalities=prepared.modalities,
        readers=prepared.readers,
        reference=prepared.reference,
        alpha=alpha,
    )
    notes = _degenerate_notes(theta, prepared, fom, covariance, parts)
    contrasts = parts["contrasts"]
    per_all = parts["per_modality_all"]
    main_analysis = RANDOM if r > 1 else FIXED_READERS
    per_modality = (
        per_all[per_all["analysis"] == main_analysis].drop(columns="analysis").set_index("modality")
    )
    per_modality.index.name = "modality"
    foms = pd.DataFrame(
        theta.T,
        index=pd.Index(prepared.readers, name="reader"),
        columns=pd.Index(prepared.modalities, name="modality"),
    )
    random = contrasts.get(RANDOM, {})
    first = prepared.modalities[1] if prepared.reference == 0 else prepared.modalities[0]
    if fom == "auc":
        n_jack = prepared.n_cases if covariance == "jackknife" else None
    else:
        n_jack = int(prepared.cases_with(fom == "sensitivity").sum())
    return ORResult(
        fom=fom,
        method=METHOD,
        covariance=covariance,
        reference=prepared.modalities[prepared.reference],
        alpha=alpha,
        foms=foms,
        per_modality=per_modality,
        difference=random.get(first),
        differences=random,
        fixed_readers=contrasts[FIXED_READERS][first],
        fixed_cases=contrasts.get(FIXED_CASES, {}).get(first),
        global_tests=parts["global_tests"],
        contrasts=parts["contrast_table"],
        per_modality_all=per_all,
        per_reader=parts["per_reader"],
        variance_components=parts["variance_components"],
        n_readers=r,
        n_cases=prepared.n_cases,
        n_positive_cases=int(prepared.cases_with(True).sum()),
        n_negative_cases=int(prepared.cases_with(False).sum()),
        n_units=n_units,
        n_jackknife_cases=n_jack,
        notes=tuple(notes),
    )
