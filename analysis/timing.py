"""Reading time: the paper's Table 3 (mean active time per case, paired t-test over readers)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError


def time_per_reader(
    times: pd.DataFrame,
    *,
    reader: str = "reader",
    modality: str = "modality",
    seconds: str = "active_s",
) -> pd.DataFrame:
    """Mean reading time per case for each reader and modality.

    Returns
    -------
    DataFrame
        ``reader, modality, mean_s, sd_s, n`` (n = cases timed).
    """
    return (
        times.groupby([reader, modality], sort=False)[seconds]
        .agg(mean_s="mean", sd_s="std", n="size")
        .reset_index()
        .rename(columns={reader: "reader", modality: "modality"})
    )


def time_per_modality(per_reader: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD (n - 1) of the per-reader mean times, per modality (Table 3's "Average")."""
    return (
        per_reader.groupby("modality", sort=False)["mean_s"]
        .agg(mean_s="mean", sd_s="std", readers="size")
        .reset_index()
    )


@dataclass(frozen=True)
class PairedT:
    """Paired t-test of readers' mean times, test - reference."""

    test: str
    reference: str
    difference_s: float
    ci_low: float
    ci_high: float
    t: float
    df: int
    p: float
    readers: int

    def to_dict(self) -> dict:
        return asdict(self)


def paired_t_over_readers(
    per_reader: pd.DataFrame, *, reference: str, test: str, alpha: float = 0.05
) -> PairedT:
    """Student's paired t-test over readers' mean times per case (test - reference).

    Notes
    -----
    Each reader contributes one pair of means, so df = readers - 1; it is the test the paper
    reports for Table 3 (p = 0.035 for four readers).

    References
    ----------
    Student (1908). The probable error of a mean. Biometrika 6:1-25.
    """
    wide = per_reader.pivot(index="reader", columns="modality", values="mean_s")
    for name in (reference, test):
        if name not in wide:
            raise AnalysisInputError(f"times: modality {name!r} has no reading times")
    pairs = wide[[reference, test]].dropna()
    if len(pairs) < 2:
        raise AnalysisInputError(
            f"times: a paired t-test needs 2+ readers timed in both {reference!r} and {test!r}; "
            f"found {len(pairs)}"
        )
    result = stats.ttest_rel(pairs[test], pairs[reference])
    diff = (pairs[test] - pairs[reference]).to_numpy()
    half = stats.t.ppf(1 - alpha / 2, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
    return PairedT(
        test=test,
        reference=reference,
        difference_s=float(diff.mean()),
        ci_low=float(diff.mean() - half),
        ci_high=float(diff.mean() + half),
        t=float(result.statistic),
        df=len(diff) - 1,
        p=float(result.pvalue),
        readers=len(diff),
    )
