"""Clustered binary outcomes by model: GEE of sensitivity and specificity, cases as clusters.

A sensitivity analysis beside the jackknife OR results (Genders et al. 2012): the correct-call
indicator of each read of a truth-positive unit (sensitivity) or truth-negative unit
(specificity) is modelled by a logistic GEE with modality and reader as covariates,

``logit P(correct) = b0 + b_modality [test] + sum_r b_r [reader r]``,

with an exchangeable working correlation within each case (all reads of all its units by all
readers in both modalities form one cluster) and the robust (sandwich) covariance, which is
valid whatever the true within-case correlation (Liang & Zeger 1986). It answers "how much
more often is a unit called correctly with the test modality, for these readers, across
patients": readers are fixed effects, so its inference generalises over cases, not readers
(compare the fixed-reader OR analysis, not the random-reader one).

Reported per metric:

- the modality odds ratio ``exp(b_modality)`` (population-averaged over cases, adjusted for
  reader), Wald CI ``exp(b -/+ z se)`` and p;
- the model-based difference in sensitivity (specificity): the mean predicted probability
  over the observed reads with modality set to test, minus the same with modality set to
  reference (marginal standardisation over the observed readers and units), with a
  delta-method SE from the sandwich covariance, ``se^2 = g' V g``,
  ``g = mean(p_test (1 - p_test) x_test) - mean(p_ref (1 - p_ref) x_ref)``, and a Wald CI.

statsmodels is imported lazily; its warnings (non-convergence, a boundary working
correlation, perfect prediction) are caught and returned as notes rather than raised.

No GLMM is offered: statsmodels' ``BinomialBayesMixedGLM`` was tried with random case and
reader intercepts; its variational fit (``fit_vb``) undercovered (87% of 95% intervals in a
60-run simulation), and its joint posterior mode (``fit_map``) collapsed the case variance
to zero without converging on the paper-size synthetic study. A GLMM needs a marginal
Laplace or adaptive-quadrature fit (lme4's ``glmer``), which no dependency here provides.

References
----------
Liang KY, Zeger SL (1986). Longitudinal data analysis using generalized linear models.
Biometrika 73:13-22.

Genders TSS, Spronk S, Stijnen T, Steyerberg EW, Lesaffre E, Hunink MGM (2012). Methods for
calculating sensitivity and specificity of clustered data: a tutorial. Radiology
265:910-916.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.binary import METRICS
from analysis.columns import COLUMNS, Columns, require_columns
from analysis.errors import AnalysisInputError, check_alpha

__all__ = ["WORKING", "GEEResult", "gee_binary"]

METHOD = "GEE, logit link, exchangeable working correlation, cases as clusters, robust SE"
WORKING = ("exchangeable", "independence")


@dataclass(frozen=True)
class GEEResult:
    """One metric's GEE: modality odds ratio and model-based difference (test - reference).

    Attributes
    ----------
    metric : ``"sensitivity"`` or ``"specificity"``.
    test, reference : modality labels.
    odds_ratio, or_ci_low, or_ci_high, or_p : float
        ``exp(b_modality)``, its Wald CI and two-sided p.
    log_or, log_or_se : float
        ``b_modality`` and its robust SE.
    p_test, p_reference : float
        Mean predicted probability of a correct call over the observed reads with modality
        set to test (reference).
    difference, se, ci_low, ci_high, p : float
        ``p_test - p_reference`` with its delta-method SE, Wald CI and p.
    working_correlation : float
        The estimated exchangeable correlation within a case.
    clusters, observations : int
        Cases and reads in the model.
    alpha : float
    method : str
    notes : tuple of str
        Warnings from the fit.
    """

    metric: str
    test: object
    reference: object
    odds_ratio: float
    or_ci_low: float
    or_ci_high: float
    or_p: float
    log_or: float
    log_or_se: float
    p_test: float
    p_reference: float
    difference: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    working_correlation: float
    clusters: int
    observations: int
    alpha: float
    method: str = METHOD
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: ``odds_ratio {estimate, ci, p}``, ``difference {estimate, se, ci, p}``."""
        return {
            "label": "GEE (exchangeable, cases as clusters; fixed readers)",
            "method": self.method,
            "test": self.test,
            "reference": self.reference,
            "odds_ratio": {
                "estimate": self.odds_ratio,
                "ci": [self.or_ci_low, self.or_ci_high],
                "p": self.or_p,
                "log": self.log_or,
                "log_se": self.log_or_se,
            },
            "difference": {
                "estimate": self.difference,
                "se": self.se,
                "ci": [self.ci_low, self.ci_high],
                "p": self.p,
                "p_test": self.p_test,
                "p_reference": self.p_reference,
            },
            "working_correlation": self.working_correlation,
            "clusters": self.clusters,
            "observations": self.observations,
            "notes": list(self.notes),
        }


def design(
    data: pd.DataFrame,
    metric: str,
    *,
    reference: object,
    test: object,
    columns: Columns = COLUMNS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Outcome (correct call), design matrix (intercept, test, readers 2..R), case codes and
    column names of one metric's reads, sorted by case (GEE wants clusters contiguous)."""
    if metric not in METRICS:
        raise AnalysisInputError(f"metric must be one of {METRICS}, got {metric!r}")
    require_columns(data, columns, ("reader", "modality", "case", "truth", "call"))
    reader, modality, case = columns.reader, columns.modality, columns.case
    truth, call = columns.truth, columns.call
    positive = metric == "sensitivity"
    rows = data[(data[truth].to_numpy() == (1 if positive else 0))]
    rows = rows[rows[modality].isin([reference, test])]
    for name in (reference, test):
        if not (rows[modality] == name).any():
            raise AnalysisInputError(
                f"{metric} GEE: modality {name!r} has no "
                + ("positive" if positive else "negative")
                + " units"
            )
    case_codes, _ = pd.factorize(rows[case], sort=True)
    order = np.argsort(case_codes, kind="stable")
    rows, case_codes = rows.iloc[order], case_codes[order]
    calls = rows[call].to_numpy(dtype=float)
    y = calls if positive else 1.0 - calls
    reader_codes, readers = pd.factorize(rows[reader], sort=True)
    x = np.zeros((len(rows), 2 + len(readers) - 1))
    x[:, 0] = 1.0
    x[:, 1] = (rows[modality].to_numpy() == test).astype(float)
    for k in range(1, len(readers)):
        x[:, 1 + k] = reader_codes == k
    names = ["intercept", "test", *[f"reader {r}" for r in list(readers)[1:]]]
    return y, x, case_codes, names


def _check_variation(
    y: np.ndarray, x: np.ndarray, metric: str, reference: object, test: object
) -> None:
    """Refuse a modality whose reads are all correct or all wrong (infinite odds ratio)."""
    for value, label in ((0.0, reference), (1.0, test)):
        outcome = y[x[:, 1] == value]
        if outcome.min() == outcome.max():
            raise AnalysisInputError(
                f"{metric} model: every read in modality {label!r} is "
                + ("correct" if outcome[0] == 1 else "wrong")
                + "; the odds ratio is infinite or undefined (use the exact per-reader results)"
            )


def standardised_difference(
    params: np.ndarray, cov: np.ndarray, x: np.ndarray
) -> tuple[float, float, float, float]:
    """Mean predicted probability with column 1 set to 1 and to 0 over the rows of ``x``:
    ``(p_test, p_reference, difference, delta-method se)``."""
    x_test, x_ref = x.copy(), x.copy()
    x_test[:, 1], x_ref[:, 1] = 1.0, 0.0
    p_test = 1.0 / (1.0 + np.exp(-(x_test @ params)))
    p_ref = 1.0 / (1.0 + np.exp(-(x_ref @ params)))
    grad = (p_test * (1 - p_test)) @ x_test / len(x) - (p_ref * (1 - p_ref)) @ x_ref / len(x)
    se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    return float(p_test.mean()), float(p_ref.mean()), float(p_test.mean() - p_ref.mean()), se


def gee_binary(
    data: pd.DataFrame,
    *,
    metric: str,
    reference: object,
    test: object,
    alpha: float = 0.05,
    working: str = "exchangeable",
    columns: Columns = COLUMNS,
) -> GEEResult:
    """Logistic GEE of correct calls (sensitivity or specificity), cases as clusters.

    Parameters
    ----------
    data : DataFrame
        Long format, one row per reader x modality x case x unit, with 0/1 ``truth`` and
        ``call``. Units of a case may be any number; designs need not be fully crossed.
    metric : {"sensitivity", "specificity"}
        Reads of truth-positive units (correct = call 1) or truth-negative units (call 0).
    reference, test : modality labels
        The two modalities compared (other modalities are left out).
    alpha : float
        1 - confidence level.
    working : {"exchangeable", "independence"}
        Working correlation within a case. ``"exchangeable"`` (default) weights cases by
        their information; ``"independence"`` is the plain logistic regression with a
        cluster-robust covariance (its estimates equal the pooled-proportion ones).
    columns : Columns
        Column names (reader, modality, case, truth and call are used).

    Returns
    -------
    GEEResult

    Notes
    -----
    See the module docstring for the model, the odds ratio and the standardised difference.
    The fit raises nothing for a perfect reader: statsmodels' warnings become notes, and a
    modality with every read correct (no variation) is refused with the reason.
    """
    check_alpha(alpha)
    if working not in WORKING:
        raise AnalysisInputError(f"working must be one of {WORKING}, got {working!r}")
    y, x, groups, _ = design(data, metric, reference=reference, test=test, columns=columns)
    clusters = int(groups.max()) + 1
    if clusters < 2:
        raise AnalysisInputError(f"{metric} GEE needs units in at least 2 cases; found 1")
    _check_variation(y, x, metric, reference, test)
    import statsmodels.api as sm
    from statsmodels.genmod.cov_struct import Exchangeable, Independence

    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        structure = Exchangeable() if working == "exchangeable" else Independence()
        family = sm.families.Binomial()
        fit = sm.GEE(y, x, groups=groups, family=family, cov_struct=structure).fit()
    notes += sorted({f"{metric} GEE: {w.message}" for w in caught})
    params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    z = float(stats.norm.ppf(1 - alpha / 2))
    b, se_b = float(params[1]), math.sqrt(max(float(cov[1, 1]), 0.0))
    p_test, p_ref, diff, se = standardised_difference(params, cov, x)
    return GEEResult(
        metric=metric,
        test=test,
        reference=reference,
        odds_ratio=math.exp(b),
        or_ci_low=math.exp(b - z * se_b),
        or_ci_high=math.exp(b + z * se_b),
        or_p=float(2 * stats.norm.sf(abs(b / se_b))) if se_b > 0 else math.nan,
        log_or=b,
        log_or_se=se_b,
        p_test=p_test,
        p_reference=p_ref,
        difference=diff,
        se=se,
        ci_low=diff - z * se,
        ci_high=diff + z * se,
        p=float(2 * stats.norm.sf(abs(diff / se))) if se > 0 else math.nan,
        working_correlation=float(fit.cov_struct.dep_params) if working == "exchangeable" else 0.0,
        clusters=clusters,
        observations=len(y),
        alpha=alpha,
        method=METHOD if working == "exchangeable" else METHOD.replace("exchangeable", working),
        notes=tuple(notes),
    )
