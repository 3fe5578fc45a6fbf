"""Dorfman-Berbaum-Metz (DBM) pseudovalue ANOVA with Hillis df: a cross-check of the OR analysis.

Jackknife pseudovalues ``Y_ijk = m theta_ij - (m - 1) theta_ij(-k)`` over the m jackknife
cases are analysed as a modality x reader x case ANOVA. Hillis (2005, 2008) showed that the
DBM F test with his denominator degrees of freedom equals the OR test with jackknife
covariance: ``MS_Y(T) = m MS(T)``, ``MS_Y(TR) = m MS(TR)`` and ``MS_Y(TC) - MS_Y(TRC) =
m r (Cov2 - Cov3)``, provided the pseudovalues are normalised so that their case mean is the
FOM (RJafroc's convention; a no-op for the AUC, whose jackknife mean is the AUC itself).

References
----------
Dorfman DD, Berbaum KS, Metz CE (1992). Receiver operating characteristic rating analysis:
generalization to the population of readers and patients with the jackknife method. Invest
Radiol 27:723-731.

Hillis SL, Obuchowski NA, Schartz KM, Berbaum KS (2005). A comparison of the
Dorfman-Berbaum-Metz and Obuchowski-Rockette methods for receiver operating characteristic
(ROC) data. Stat Med 24:1579-1607.

Hillis SL, Berbaum KS, Metz CE (2008). Recent developments in the Dorfman-Berbaum-Metz
procedure for multireader ROC study analysis. Acad Radiol 15:647-661.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.columns import COLUMNS, Columns
from analysis.errors import AnalysisInputError, check_alpha
from analysis.methods import FOM, choose
from analysis.mrmc import (
    RANDOM,
    Contrast,
    f_test_p,
    hillis_df,
    jackknife_foms,
    make_contrast,
    prepare_for_fom,
)

__all__ = ["DBMResult", "dbm_analysis", "dbm_from_pseudovalues", "pseudovalues"]

SOURCES = ("T", "R", "C", "TR", "TC", "RC", "TRC")


@dataclass(frozen=True)
class DBMResult:
    """Result of :func:`dbm_analysis` (random readers and random cases, Hillis df).

    Attributes
    ----------
    fom : str
    anova : DataFrame
        Index T, R, C, TR, TC, RC, TRC (modality, reader, case and interactions); columns
        ss, df, ms of the pseudovalues.
    variance_components : dict
        var_r, var_c, var_tr, var_tc, var_rc, var_error (DBM scale; may be negative).
    F, df1, df2, p : float
        ``F = MS(T) / (MS(TR) + max(MS(TC) - MS(TRC), 0))`` on t - 1 and Hillis's
        ``ddf = (MS(TR) + max(MS(TC) - MS(TRC), 0))^2 / (MS(TR)^2 / ((t - 1)(r - 1)))``.
    differences : dict
        Test modality -> :class:`~analysis.mrmc.Contrast` against the reference, with
        ``SE = sqrt(2 (MS(TR) + max(MS(TC) - MS(TRC), 0)) / (r m))``.
    n_cases : int
        Jackknife cases m.
    """

    fom: str
    anova: pd.DataFrame
    variance_components: dict[str, float]
    F: float
    df1: float
    df2: float
    p: float
    differences: dict[object, Contrast]
    n_cases: int


def pseudovalues(theta: np.ndarray, loo: np.ndarray, *, normalize: bool = True) -> np.ndarray:
    """Jackknife pseudovalues ``Y[t, r, k] = m theta - (m - 1) theta_(k)``.

    ``normalize`` shifts each reader-modality's pseudovalues so their mean is ``theta``.
    """
    m = loo.shape[2]
    y: np.ndarray = m * theta[:, :, None] - (m - 1) * loo
    if normalize:
        y += (theta - y.mean(axis=2))[:, :, None]
    return y


def _anova(y: np.ndarray) -> pd.DataFrame:
    t, r, c = y.shape
    grand = y.mean()
    m_t, m_r, m_c = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean(axis=(0, 1))
    m_tr, m_tc, m_rc = y.mean(axis=2), y.mean(axis=1), y.mean(axis=0)
    ss = {
        "T": r * c * ((m_t - grand) ** 2).sum(),
        "R": t * c * ((m_r - grand) ** 2).sum(),
        "C": t * r * ((m_c - grand) ** 2).sum(),
        "TR": c * ((m_tr - m_t[:, None] - m_r[None, :] + grand) ** 2).sum(),
        "TC": r * ((m_tc - m_t[:, None] - m_c[None, :] + grand) ** 2).sum(),
        "RC": t * ((m_rc - m_r[:, None] - m_c[None, :] + grand) ** 2).sum(),
    }
    resid = (
        y
        - m_tr[:, :, None]
        - m_tc[:, None, :]
        - m_rc[None, :, :]
        + m_t[:, None, None]
        + m_r[None, :, None]
        + m_c[None, None, :]
        - grand
    )
    ss["TRC"] = (resid**2).sum()
    df = {
        "T": t - 1,
        "R": r - 1,
        "C": c - 1,
        "TR": (t - 1) * (r - 1),
        "TC": (t - 1) * (c - 1),
        "RC": (r - 1) * (c - 1),
        "TRC": (t - 1) * (r - 1) * (c - 1),
    }
    table = pd.DataFrame(
        {"ss": [float(ss[s]) for s in SOURCES], "df": [df[s] for s in SOURCES]},
        index=pd.Index(SOURCES, name="source"),
    )
    table["ms"] = table["ss"] / table["df"]
    return table


def dbm_from_pseudovalues(
    y: np.ndarray,
    *,
    modalities: tuple[object, ...],
    reference: int = 0,
    alpha: float = 0.05,
    fom: str = "auc",
) -> DBMResult:
    """DBM-Hillis analysis of pseudovalues ``y[t, r, m]`` (modality, reader, case)."""
    t, r, c = y.shape
    if t < 2 or r < 2 or c < 2:
        raise AnalysisInputError(
            f"DBM needs at least 2 modalities, 2 readers and 2 cases, got {t}, {r} and {c}"
        )
    anova = _anova(y)
    ms = anova["ms"]
    den = ms["TR"] + max(ms["TC"] - ms["TRC"], 0.0)
    f = ms["T"] / den if den > 0 else math.nan
    df2 = hillis_df(den, ms["TR"], (t - 1) * (r - 1))
    means = y.mean(axis=(1, 2))
    se = math.sqrt(2.0 * den / (r * c))
    differences = {
        modalities[i]: make_contrast(
            RANDOM,
            modalities[i],
            modalities[reference],
            float(means[i] - means[reference]),
            se,
            df2,
            alpha,
        )
        for i in range(t)
        if i != reference
    }
    components = {
        "var_r": (ms["R"] - ms["TR"] - ms["RC"] + ms["TRC"]) / (t * c),
        "var_c": (ms["C"] - ms["TC"] - ms["RC"] + ms["TRC"]) / (t * r),
        "var_tr": (ms["TR"] - ms["TRC"]) / c,
        "var_tc": (ms["TC"] - ms["TRC"]) / r,
        "var_rc": (ms["RC"] - ms["TRC"]) / t,
        "var_error": ms["TRC"],
    }
    return DBMResult(
        fom=fom,
        anova=anova,
        variance_components={k: float(v) for k, v in components.items()},
        F=float(f),
        df1=float(t - 1),
        df2=float(df2),
        p=f_test_p(f, t - 1, df2),
        differences=differences,
        n_cases=c,
    )


def dbm_analysis(
    data: pd.DataFrame,
    *,
    fom: FOM | str = FOM.AUC,
    rating: str | None = None,
    reference: object | None = None,
    alpha: float = 0.05,
    normalize: bool = True,
    columns: Columns = COLUMNS,
) -> DBMResult:
    """DBM pseudovalue ANOVA with Hillis df on the same long table as ``or_analysis``.

    Parameters are those of :func:`analysis.mrmc.or_analysis` (the covariance is always the
    case jackknife); ``normalize`` selects normalised pseudovalues (default, and what makes
    the result identical to OR with jackknife covariance).
    """
    fom = choose(FOM, fom, "fom")
    check_alpha(alpha)
    prepared = prepare_for_fom(data, fom, rating=rating, reference=reference, columns=columns)
    theta, loo = jackknife_foms(prepared, fom)
    return dbm_from_pseudovalues(
        pseudovalues(theta, loo, normalize=normalize),
        modalities=prepared.modalities,
        reference=prepared.reference,
        alpha=alpha,
        fom=fom.value,
    )
