"""The method vocabularies of the analysis package, defined once: the CLI offers these.

Each is a ``str``-valued enum, so the plain strings (``"auc"``, ``"jackknife"``) keep working
wherever a member is expected. Pure Python: importing it costs nothing (``readerstudy --help``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from analysis.errors import AnalysisInputError


class FOM(StrEnum):
    """Figure of merit of an MRMC analysis."""

    AUC = "auc"
    """Empirical (trapezoidal, Wilcoxon) AUC over all units."""
    SENSITIVITY = "sensitivity"
    """Pooled proportion of positive units called positive."""
    SPECIFICITY = "specificity"
    """Pooled proportion of negative units called negative."""


class Covariance(StrEnum):
    """Estimator of the case-sampling covariance of the FOMs (see ``analysis.mrmc``)."""

    JACKKNIFE = "jackknife"
    DELONG = "delong"
    OBUCHOWSKI = "obuchowski"
    UNBIASED = "unbiased"


class McNemarMethod(StrEnum):
    """Reference distribution of McNemar's test (see :func:`analysis.binary.mcnemar`)."""

    EXACT = "exact"
    CHI2 = "chi2"


class NanPolicy(StrEnum):
    """What a function does with missing values: refuse them (default) or drop those rows."""

    RAISE = "raise"
    OMIT = "omit"


Choice = TypeVar("Choice", bound=StrEnum)


def choose(kind: type[Choice], value: object, parameter: str) -> Choice:
    """``value`` as a member of ``kind``, or an AnalysisInputError naming ``parameter``."""
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    allowed = tuple(member.value for member in kind)
    raise AnalysisInputError(
        f"{parameter} must be one of {allowed}, got {value!r}", parameter=parameter
    )
