"""Clinical views of ASPECTS reads: case scores, dichotomised ASPECTS, Bland-Altman, regions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.binary import clopper_pearson
from analysis.errors import AnalysisInputError
from analysis.units import REGIONS, UNITS, split_unit

ASPECTS_THRESHOLD = 6
"""ASPECTS >= 6 vs < 6: the usual cut-off for thrombectomy eligibility."""


def case_aspects(
    data: pd.DataFrame,
    *,
    value: str = "call",
    by: tuple[str, ...] = (),
    cases: pd.DataFrame | None = None,
    case: str = "case",
    unit: str = "unit",
) -> pd.DataFrame:
    """Per-case ASPECTS from unit-level 0/1 values (calls or truth).

    The score is 10 minus the positive regions on the infarct side given by ``cases``
    (``case, side``); where the side is unknown or ``none``, the lower of the two hemispheric
    scores. It equals :func:`analysis.units.aspects_score` of the positive units (tested).

    Returns
    -------
    DataFrame
        ``*by, case, aspects_left, aspects_right, side, aspects``.
    """
    units = data[unit].unique()
    if set(units) != set(UNITS):
        raise AnalysisInputError(
            "case ASPECTS needs all 20 ASPECTS units per case; these data rate "
            f"{len(units)} unit code(s) ({', '.join(map(str, sorted(units)[:3]))} ...)"
        )
    side_of = {u: split_unit(u)[1] for u in UNITS}
    keys = [*by, case]
    left = data[value].where(data[unit].map(side_of) == "left", 0)
    right = data[value].where(data[unit].map(side_of) == "right", 0)
    per_case = (
        pd.DataFrame({"left": left, "right": right})
        .groupby([data[k] for k in keys], sort=False)
        .sum()
        .reset_index()
    )
    per_case["aspects_left"] = 10 - per_case.pop("left").astype(int)
    per_case["aspects_right"] = 10 - per_case.pop("right").astype(int)
    if cases is not None:
        per_case = per_case.merge(
            cases[["case", "side"]], left_on=case, right_on="case", how="left"
        )
        per_case["side"] = per_case["side"].fillna("none")
    else:
        per_case["side"] = "none"
    lower = per_case[["aspects_left", "aspects_right"]].min(axis=1)
    per_case["aspects"] = np.select(
        [per_case["side"] == "left", per_case["side"] == "right"],
        [per_case["aspects_left"], per_case["aspects_right"]],
        lower,
    )
    return per_case[[*keys, "aspects_left", "aspects_right", "side", "aspects"]]


def dichotomised_accuracy(
    reader_scores: pd.DataFrame,
    truth_scores: pd.DataFrame,
    *,
    threshold: int = ASPECTS_THRESHOLD,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Agreement of reader and truth ASPECTS dichotomised at ``>= threshold``.

    Parameters
    ----------
    reader_scores : DataFrame
        ``reader, modality, case, aspects`` (from :func:`case_aspects`).
    truth_scores : DataFrame
        ``case, aspects``.

    Returns
    -------
    DataFrame
        ``reader, modality, correct, cases, accuracy, ci_low, ci_high`` (Clopper-Pearson),
        ``low_truth`` (cases with truth ASPECTS below the threshold) and ``low_detected``
        (those the reader also scored below it).
    """
    merged = reader_scores.merge(
        truth_scores[["case", "aspects"]], on="case", suffixes=("", "_truth")
    )
    merged["reader_low"] = merged["aspects"] < threshold
    merged["truth_low"] = merged["aspects_truth"] < threshold
    merged["correct"] = merged["reader_low"] == merged["truth_low"]
    merged["low_detected"] = merged["reader_low"] & merged["truth_low"]
    table = (
        merged.groupby(["reader", "modality"], sort=False)
        .agg(
            correct=("correct", "sum"),
            cases=("correct", "size"),
            low_truth=("truth_low", "sum"),
            low_detected=("low_detected", "sum"),
        )
        .reset_index()
    )
    table["accuracy"] = table["correct"] / table["cases"]
    table["ci_low"], table["ci_high"] = clopper_pearson(table["correct"], table["cases"], alpha)
    columns = ["reader", "modality", "correct", "cases", "accuracy", "ci_low", "ci_high"]
    return table[[*columns, "low_truth", "low_detected"]]


def bland_altman(
    reader_scores: pd.DataFrame, truth_scores: pd.DataFrame, *, alpha: float = 0.05
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bland-Altman agreement of reader ASPECTS with truth ASPECTS.

    Returns
    -------
    summary : DataFrame
        One row per reader x modality and one per modality with ``reader == "all"`` (pooled,
        descriptive: cases repeat across readers): ``reader, modality, n, bias, sd, loa_low,
        loa_high`` where the limits of agreement are bias -/+ z(1 - alpha/2) SD.
    points : DataFrame
        ``reader, modality, case, mean, difference`` (reader - truth) for the plot.

    References
    ----------
    Bland JM, Altman DG (1986). Statistical methods for assessing agreement between two
    methods of clinical measurement. Lancet 1:307-310.
    """
    merged = reader_scores.merge(
        truth_scores[["case", "aspects"]], on="case", suffixes=("", "_truth")
    )
    points = merged.assign(
        mean=(merged["aspects"] + merged["aspects_truth"]) / 2,
        difference=merged["aspects"] - merged["aspects_truth"],
    )[["reader", "modality", "case", "mean", "difference"]]
    z = stats.norm.ppf(1 - alpha / 2)

    def summarise(groups: pd.api.typing.DataFrameGroupBy) -> pd.DataFrame:
        table = groups["difference"].agg(n="size", bias="mean", sd="std").reset_index()
        table["loa_low"] = table["bias"] - z * table["sd"]
        table["loa_high"] = table["bias"] + z * table["sd"]
        return table

    per_reader = summarise(points.groupby(["reader", "modality"], sort=False))
    pooled = summarise(points.groupby("modality", sort=False)).assign(reader="all")
    summary = pd.concat([per_reader, pooled[per_reader.columns]], ignore_index=True)
    return summary, points


def sensitivity_by_region(
    data: pd.DataFrame, *, truth: str = "truth", call: str = "call", unit: str = "unit"
) -> pd.DataFrame:
    """Reader-pooled sensitivity per ASPECTS region (both sides) and modality.

    Returns
    -------
    DataFrame
        ``region, modality, positive_units`` (truth-positive units of that region, counted
        once as in the paper's Fig. 3), ``detected`` (calls of 1 on them, summed over readers),
        ``reads`` (positive units x readers) and ``sensitivity`` = detected / reads.
    """
    positive = data[data[truth] == 1]
    region = positive[unit].map(lambda u: split_unit(u)[0])
    table = (
        positive.assign(region=region)
        .groupby(["region", "modality"], sort=False)
        .agg(detected=(call, "sum"), reads=(call, "size"))
        .reset_index()
    )
    counts = (
        positive.assign(region=region)
        .drop_duplicates(["case", unit])
        .groupby("region")
        .size()
        .rename("positive_units")
    )
    table = table.merge(counts, on="region")
    table["sensitivity"] = table["detected"] / table["reads"]
    table["region"] = pd.Categorical(table["region"], categories=REGIONS, ordered=True)
    table = table.sort_values(["region", "modality"], kind="stable", ignore_index=True)
    table["region"] = table["region"].astype(str)
    return table[["region", "modality", "positive_units", "detected", "reads", "sensitivity"]]
