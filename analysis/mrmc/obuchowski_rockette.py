"""``or_analysis``: the OR MRMC analysis of a long ratings table, with its caveats as notes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.columns import COLUMNS, Columns
from analysis.errors import AnalysisInputError, check_alpha
from analysis.methods import FOM, Covariance
from analysis.mrmc.covariance import check_estimator, fom_covariance
from analysis.mrmc.data import MRMCData, prepare_for_fom
from analysis.mrmc.or_fit import ORFit, or_from_covariance
from analysis.mrmc.result import ORResult


def fit_notes(fit: ORFit, r: int) -> list[str]:
    """Degenerate situations of the fit: Cov2 < Cov3, negative components, no variability."""
    notes = []
    vc = fit.variance_components
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
    den = fit.global_tests["denominator"]
    if (den <= 0).any():
        notes.append(
            "no variability in the FOMs for "
            + ", ".join(den.index[den <= 0])
            + ": F, p and df are undefined there"
        )
    if r == 1:
        notes.append(
            "one reader: random-reader analyses are impossible; only the fixed-reader "
            "(random cases) analysis is reported"
        )
    return notes


def reader_notes(
    theta: np.ndarray, prepared: MRMCData, fom: FOM, covariance: Covariance
) -> list[str]:
    """Degenerate readers (constant ratings, a FOM of 0 or 1) and units taken as independent."""
    notes = []
    ratings = prepared.ratings
    for i, m in enumerate(prepared.modalities):
        for j, rd in enumerate(prepared.readers):
            if fom is FOM.AUC and np.ptp(ratings[i, j]) == 0:
                notes.append(f"reader {rd!r}, modality {m!r}: constant ratings (AUC 0.5)")
            elif theta[i, j] in (0.0, 1.0):
                notes.append(
                    f"reader {rd!r}, modality {m!r}: {fom} = {theta[i, j]:g} (no case-sampling "
                    "variance from this reader)"
                )
    units_per_case = ratings.shape[2] / prepared.n_cases
    if covariance in (Covariance.DELONG, Covariance.UNBIASED) and units_per_case > 1:
        notes.append(
            f"covariance {covariance.value!r} treats units as independent although cases hold "
            f"{units_per_case:g} units on average; prefer 'jackknife' or 'obuchowski'"
        )
    return notes


def check_design(prepared: MRMCData, fom: FOM, allow_single_reader: bool) -> None:
    if len(prepared.readers) < 2 and not allow_single_reader:
        raise AnalysisInputError(
            f"random-reader analysis needs at least 2 readers; found only "
            f"{prepared.readers[0]!r}. Pass allow_single_reader=True for the fixed-reader "
            "(random cases) analysis of this reader"
        )
    if fom is FOM.AUC and (prepared.truth.all() or not prepared.truth.any()):
        raise AnalysisInputError(
            "the AUC needs both positive and negative units; all units have truth "
            f"{int(prepared.truth[0])}"
        )


def or_analysis(
    data: pd.DataFrame,
    *,
    fom: FOM | str = FOM.AUC,
    rating: str | None = None,
    covariance: Covariance | str = Covariance.JACKKNIFE,
    reference: object | None = None,
    alpha: float = 0.05,
    columns: Columns = COLUMNS,
    allow_single_reader: bool = False,
) -> ORResult:
    """Obuchowski-Rockette MRMC analysis with Hillis degrees of freedom.

    Parameters
    ----------
    data : DataFrame
        Long format, one row per reader x modality x case x unit, fully crossed, with columns
        reader, modality, case, unit (optional: without it each case is one unit), truth (0/1
        per unit) and the rating column. Missing values are refused.
    fom : {"auc", "sensitivity", "specificity"}
        ``"auc"``: empirical (trapezoidal, Wilcoxon) AUC over all units. ``"sensitivity"``:
        pooled proportion of positive units called positive; ``"specificity"``: pooled
        proportion of negative units called negative.
    rating : str, optional
        Column with the score (``"auc"``; default ``columns.rating``) or the 0/1 call (binary
        FOMs; default ``columns.call``).
    covariance : {"jackknife", "delong", "obuchowski", "unbiased"}
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
    columns : Columns
        Column names (default the contract's: reader, modality, case, unit, truth, ...).
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
    >>> from analysis import datasets
    >>> res = or_analysis(datasets.load("tiny_mrmc"), reference="unaided")
    >>> d = res.difference
    >>> d.test, round(d.estimate, 4), round(d.df2, 2), round(d.p, 4)
    ('aided', 0.0839, 5.59, 0.082)
    >>> res.per_modality[["estimate", "ci_low", "ci_high"]].round(4)
              estimate  ci_low  ci_high
    modality
    unaided     0.7570   0.651   0.8630
    aided       0.8409   0.761   0.9208
    """
    fom, covariance = check_estimator(fom, covariance)
    check_alpha(alpha)
    prepared = prepare_for_fom(data, fom, rating=rating, reference=reference, columns=columns)
    check_design(prepared, fom, allow_single_reader)
    theta, cov = fom_covariance(prepared, fom, covariance)
    fit = or_from_covariance(
        theta,
        cov,
        modalities=prepared.modalities,
        readers=prepared.readers,
        reference=prepared.reference,
        alpha=alpha,
    )
    foms = pd.DataFrame(
        theta.T,
        index=pd.Index(prepared.readers, name="reader"),
        columns=pd.Index(prepared.modalities, name="modality"),
    )
    if fom is FOM.AUC:
        n_jack = prepared.n_cases if covariance is Covariance.JACKKNIFE else None
    else:
        n_jack = int(prepared.cases_with(fom is FOM.SENSITIVITY).sum())
    return ORResult(
        fom=fom.value,
        covariance=covariance.value,
        reference=prepared.modalities[prepared.reference],
        alpha=alpha,
        foms=foms,
        comparisons=fit.comparisons,
        global_tests=fit.global_tests,
        per_modality_all=fit.per_modality_all,
        per_reader=fit.per_reader,
        variance_components=fit.variance_components,
        n_cases=prepared.n_cases,
        n_positive_cases=int(prepared.cases_with(True).sum()),
        n_negative_cases=int(prepared.cases_with(False).sum()),
        n_units=prepared.ratings.shape[2],
        n_jackknife_cases=n_jack,
        notes=tuple(
            reader_notes(theta, prepared, fom, covariance) + fit_notes(fit, len(prepared.readers))
        ),
    )
