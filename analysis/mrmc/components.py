"""The OR model's ingredients: averaged error (co)variances, FOM mean squares, and the
variance components built from them (Hillis 2014, as RJafroc and MRMCaov report them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ErrorCovariances:
    """``Var``, ``Cov1`` (same reader), ``Cov2`` (same modality), ``Cov3`` (neither), averaged
    over the covariance matrix of the FOMs; and per modality its readers' mean variance and
    covariance (the single-modality analyses)."""

    var: float
    cov1: float
    cov2: float
    cov3: float
    var_i: np.ndarray
    cov2_i: np.ndarray

    @property
    def cov23(self) -> float:
        """Hillis's ``max(Cov2 - Cov3, 0)``, the term every test denominator uses."""
        return max(self.cov2 - self.cov3, 0.0)


def error_covariances(cov: np.ndarray, t: int, r: int) -> ErrorCovariances:
    """Average the ``(t r) x (t r)`` covariance of the FOMs (modality-major) by kind of pair."""
    c4 = cov.reshape(t, r, t, r)
    same_m = np.eye(t, dtype=bool)[:, None, :, None]
    same_r = np.eye(r, dtype=bool)[None, :, None, :]

    def mean(mask: np.ndarray) -> float:
        full = np.broadcast_to(mask, c4.shape)
        return float(c4[full].mean()) if full.any() else 0.0

    blocks = np.stack([c4[i, :, i, :] for i in range(t)])
    off = ~np.eye(r, dtype=bool)
    return ErrorCovariances(
        var=mean(same_m & same_r),
        cov1=mean(~same_m & same_r),
        cov2=mean(same_m & ~same_r),
        cov3=mean(~same_m & ~same_r),
        var_i=np.array([np.diag(b).mean() for b in blocks]),
        cov2_i=np.array([b[off].mean() if r > 1 else 0.0 for b in blocks]),
    )


@dataclass(frozen=True)
class MeanSquares:
    """Modality, reader and interaction mean squares of the FOMs ``theta[t, r]``.

    With one reader ``ms_r``, ``ms_tr`` and ``ms_r_i`` are NaN (no reader variation).
    """

    ms_t: float
    ms_r: float
    ms_tr: float
    df_tr: int
    ms_r_i: np.ndarray
    """Per modality: the reader mean square of that modality's FOMs."""


def mean_squares(theta: np.ndarray) -> MeanSquares:
    """Two-way (modality x reader) ANOVA mean squares of the FOMs."""
    t, r = theta.shape
    mean_m, mean_r, grand = theta.mean(axis=1), theta.mean(axis=0), float(theta.mean())
    ms_t = r * float(((mean_m - grand) ** 2).sum()) / (t - 1)
    df_tr = (t - 1) * (r - 1)
    if r < 2:
        return MeanSquares(ms_t, math.nan, math.nan, df_tr, np.full(t, math.nan))
    ms_r = t * float(((mean_r - grand) ** 2).sum()) / (r - 1)
    resid = theta - mean_m[:, None] - mean_r[None, :] + grand
    ms_tr = float((resid**2).sum()) / df_tr
    return MeanSquares(ms_t, ms_r, ms_tr, df_tr, theta.var(axis=1, ddof=1))


def variance_components(ms: MeanSquares, cv: ErrorCovariances, t: int) -> dict[str, float]:
    """var_r, var_tr, the error (co)variances, the mean squares and rho1..rho3 = Cov_k / Var.

    The components may come out negative; they are reported as estimated.
    """
    var_tr = ms.ms_tr - cv.var + cv.cov1 + cv.cov23
    var_r = (ms.ms_r - cv.var - (t - 1) * cv.cov1 + cv.cov2 + (t - 1) * cv.cov3 - var_tr) / t
    rho = {
        f"rho{k}": (c / cv.var if cv.var > 0 else math.nan)
        for k, c in ((1, cv.cov1), (2, cv.cov2), (3, cv.cov3))
    }
    return {
        "var_r": var_r,
        "var_tr": var_tr,
        "cov1": cv.cov1,
        "cov2": cv.cov2,
        "cov3": cv.cov3,
        "var_error": cv.var,
        "msr": ms.ms_r,
        "mstr": ms.ms_tr,
        "mst": ms.ms_t,
        **rho,
    }
