"""The OR model's ingredients: averaged error (co)variances, FOM mean squares, and the
variance components built from them (Hillis 2014, as RJafroc and MRMCaov report them).

A split-plot design (readers in groups, each group reading its own cases) enters through
:class:`ReaderPairs`: readers of different groups share no case, so their errors are
uncorrelated, and every coefficient of ``Cov2`` and ``Cov3`` counts the reader pairs of the
same group only (see :func:`analysis.mrmc.split_plot.split_plot_analysis` for the formulas).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReaderPairs:
    """The readers' grouping as the OR formulas use it: ``same_group`` = K, the number of
    ordered pairs of distinct readers that read the same cases (``r (r - 1)`` when crossed)."""

    r: int
    same_group: int

    @classmethod
    def of(cls, groups: np.ndarray) -> ReaderPairs:
        """From a group code per reader (all equal: fully crossed)."""
        sizes = np.unique(np.asarray(groups), return_counts=True)[1]
        return cls(int(sizes.sum()), int((sizes * (sizes - 1)).sum()))

    @classmethod
    def crossed(cls, r: int) -> ReaderPairs:
        return cls(r, r * (r - 1))

    @property
    def random(self) -> float:
        """Multiplier of ``max(Cov2 - Cov3, 0)`` beside MS(TR): ``K / (r - 1)``, r if crossed."""
        return self.same_group / (self.r - 1) if self.r > 1 else float(self.r)

    @property
    def fixed(self) -> float:
        """Multiplier beside ``Var - Cov1`` (fixed readers): ``K / r``, r - 1 if crossed."""
        return self.same_group / self.r

    @property
    def share(self) -> float:
        """Share of reader pairs in the same group, ``K / (r (r - 1))``: 1 when crossed."""
        return self.same_group / (self.r * (self.r - 1)) if self.r > 1 else 1.0


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


def error_covariances(
    cov: np.ndarray, t: int, r: int, groups: np.ndarray | None = None
) -> ErrorCovariances:
    """Average the ``(t r) x (t r)`` covariance of the FOMs (modality-major) by kind of pair.

    ``groups`` (a code per reader; default one group) restricts Cov2 and Cov3 to pairs of
    readers in the same group: in a split-plot design the others share no case.
    """
    c4 = cov.reshape(t, r, t, r)
    group = np.zeros(r) if groups is None else np.asarray(groups)
    same_g = group[:, None] == group[None, :]
    same_m = np.eye(t, dtype=bool)[:, None, :, None]
    same_r = np.eye(r, dtype=bool)[None, :, None, :]
    paired = ~same_r & same_g[None, :, None, :]

    def mean(mask: np.ndarray) -> float:
        full = np.broadcast_to(mask, c4.shape)
        return float(c4[full].mean()) if full.any() else 0.0

    blocks = np.stack([c4[i, :, i, :] for i in range(t)])
    off = ~np.eye(r, dtype=bool) & same_g
    return ErrorCovariances(
        var=mean(same_m & same_r),
        cov1=mean(~same_m & same_r),
        cov2=mean(same_m & paired),
        cov3=mean(~same_m & paired),
        var_i=np.array([np.diag(b).mean() for b in blocks]),
        cov2_i=np.array([b[off].mean() if off.any() else 0.0 for b in blocks]),
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


def variance_components(
    ms: MeanSquares, cv: ErrorCovariances, t: int, pairs: ReaderPairs | None = None
) -> dict[str, float]:
    """var_r, var_tr, the error (co)variances, the mean squares and rho1..rho3 = Cov_k / Var.

    ``pairs`` (default crossed) weights Cov2 and Cov3 by the share w of same-group reader
    pairs: ``var_tr = MS(TR) - Var + Cov1 + w max(Cov2 - Cov3, 0)``, ``var_r = (MS(R) - Var -
    (t - 1) Cov1 + w (Cov2 + (t - 1) Cov3) - var_tr) / t`` (w = 1 crossed). The components
    may come out negative; they are reported as estimated.
    """
    w = 1.0 if pairs is None else pairs.share
    var_tr = ms.ms_tr - cv.var + cv.cov1 + w * cv.cov23
    var_r = (ms.ms_r - cv.var - (t - 1) * cv.cov1 + w * (cv.cov2 + (t - 1) * cv.cov3) - var_tr) / t
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
