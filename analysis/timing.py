"""Reading time: the paper's Table 3 (mean active time per case, paired t-test over readers)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.columns import COLUMNS, Columns, handle_nan, require_columns, require_frame
from analysis.errors import AnalysisInputError, check_alpha


def time_per_reader(
    times: pd.DataFrame, *, columns: Columns = COLUMNS, nan_policy: str = "raise"
) -> pd.DataFrame:
    """Mean reading time per case for each reader and modality.

    Parameters
    ----------
    times : DataFrame
        One row per reader x modality x case with the active reading time in seconds.
    columns : Columns
        Column names (reader, modality and seconds are used).
    nan_policy : {"raise", "omit"}
        A row without its reader, modality or time is refused (default) or left out.

    Returns
    -------
    DataFrame
        ``reader, modality, mean_s, sd_s, n`` (n = cases timed).
    """
    require_frame(times)
    roles = ("reader", "modality", "seconds")
    require_columns(times, columns, roles, table="the times table")
    times = handle_nan(times, [columns[r] for r in roles], nan_policy, table="the times table")
    reader, modality, seconds = columns.reader, columns.modality, columns.seconds
    values = pd.to_numeric(times[seconds], errors="coerce")
    bad = ~(np.isfinite(values.to_numpy(dtype=float)) & (values.to_numpy(dtype=float) >= 0))
    if bad.any():
        raise AnalysisInputError(
            f"the times table: column {seconds!r} must hold finite, non-negative seconds; "
            f"found {times[seconds].iloc[int(np.flatnonzero(bad)[0])]!r} at row "
            f"{int(np.flatnonzero(bad)[0])}"
        )
    return (
        times.assign(**{seconds: values})
        .groupby([reader, modality], sort=False)[seconds]
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

    def to_dict(self) -> dict[str, Any]:
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
    check_alpha(alpha)
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
