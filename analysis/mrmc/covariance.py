"""Figures of merit of every reader and modality, and their covariance over case sampling."""

from __future__ import annotations

import numpy as np

from analysis.errors import AnalysisInputError
from analysis.methods import FOM, Covariance, choose
from analysis.mrmc.data import MRMCData
from analysis.roc import clustered_cov, delong_cov, jackknife_auc, ustat_cov


def _binary_parts(prepared: MRMCData, fom: FOM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-case successes (t x r x c), trials per case (c,), and the jackknife case mask."""
    positive = fom is FOM.SENSITIVITY
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


def jackknife_foms(prepared: MRMCData, fom: FOM | str) -> tuple[np.ndarray, np.ndarray]:
    """FOMs ``theta[t, r]`` and leave-one-case-out FOMs ``loo[t, r, m]``.

    For ``"auc"`` the m jackknife cases are all cases; for ``"sensitivity"`` only the cases
    holding a positive unit, for ``"specificity"`` only those holding a negative unit (leaving
    out any other case does not change the FOM). A binary FOM is the pooled proportion of
    correctly called units, so leaving a case out removes all its units together.
    """
    fom = choose(FOM, fom, "fom")
    t, r, n = prepared.ratings.shape
    if fom is FOM.AUC:
        theta, loo = jackknife_auc(
            prepared.truth, prepared.ratings.reshape(t * r, n), prepared.case_codes
        )
        return theta.reshape(t, r), loo.reshape(t, r, -1)
    successes, trials, used = _binary_parts(prepared, fom)
    if int(used.sum()) < 2:
        kind = "positive" if fom is FOM.SENSITIVITY else "negative"
        raise AnalysisInputError(
            f"{fom} needs {kind} units in at least 2 cases for the case jackknife; found "
            f"{int(used.sum())}"
        )
    successes, trials = successes[:, :, used], trials[used]
    total_s, total_n = successes.sum(axis=2), trials.sum()
    theta = total_s / total_n
    loo = (total_s[:, :, None] - successes) / (total_n - trials)
    return theta, loo


def jackknife_cov(loo: np.ndarray) -> np.ndarray:
    """(m - 1) / m * sum_k (theta_(k) - mean)(theta_(k) - mean)' over the m left-out cases."""
    t, r, m = loo.shape
    flat = loo.reshape(t * r, m)
    dev = flat - flat.mean(axis=1, keepdims=True)
    cov: np.ndarray = (m - 1) / m * (dev @ dev.T)
    return cov


def check_estimator(fom: FOM | str, covariance: Covariance | str) -> tuple[FOM, Covariance]:
    """Refuse an unknown FOM or covariance, and a binary FOM with an AUC-only estimator."""
    fom = choose(FOM, fom, "fom")
    covariance = choose(Covariance, covariance, "covariance")
    if fom is not FOM.AUC and covariance is not Covariance.JACKKNIFE:
        raise AnalysisInputError(
            f"covariance {covariance.value!r} applies to the AUC only; {fom} uses 'jackknife' "
            "(over cases with "
            + ("positive" if fom is FOM.SENSITIVITY else "negative")
            + " units)",
            parameter="covariance",
        )
    return fom, covariance


def fom_covariance(
    prepared: MRMCData, fom: FOM | str, covariance: Covariance | str
) -> tuple[np.ndarray, np.ndarray]:
    """FOMs ``theta[t, r]`` and their covariance over case sampling, ``cov[(t r), (t r)]``.

    Rows/columns of ``cov`` are ordered modality-major: index ``i * r + j``. Every estimator
    but the jackknife is of the AUC only; an unknown name or a binary FOM with another
    estimator is refused.
    """
    fom, covariance = check_estimator(fom, covariance)
    if covariance is Covariance.JACKKNIFE:
        theta, loo = jackknife_foms(prepared, fom)
        return theta, jackknife_cov(loo)
    t, r, n = prepared.ratings.shape
    scores = prepared.ratings.reshape(t * r, n)
    if covariance is Covariance.DELONG:
        theta, cov = delong_cov(prepared.truth, scores)
    elif covariance is Covariance.UNBIASED:
        theta, cov = ustat_cov(prepared.truth, scores, "unbiased")
    else:
        theta, cov = clustered_cov(prepared.truth, scores, prepared.case_codes)
    return theta.reshape(t, r), cov
