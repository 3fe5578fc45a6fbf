"""``analyze``: every statistic of a reader study, as the contract's results and tidy tables.

One call runs the paper's analyses (Tables 2 and 3 of Chen et al. 2022), the cluster-aware
comparisons, the clinical views, the MRMC ROC analysis, the model standalone and the study
planning, each where its inputs exist. :mod:`analysis.report` writes the results out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis import agreement, binary, clinical, timing
from analysis.errors import AnalysisInputError, check_alpha
from analysis.methods import Covariance, McNemarMethod, choose
from analysis.mrmc import ORResult, SplitPlotResult, or_analysis
from analysis.tables import StudyTables, load_study_tables

SCHEMA = "readerstudy.results/1"
ICC_REPORTED = "ICC(A,1)"


@dataclass(frozen=True)
class Plan:
    """A future study to size: ``readers`` readers, a true AUC difference of ``effect``."""

    readers: int
    effect: float
    power: float = 0.8

    def __post_init__(self) -> None:
        if self.readers < 2:
            raise AnalysisInputError(
                f"plan readers must be at least 2, got {self.readers}", parameter="plan.readers"
            )
        if not 0 < abs(self.effect) < 1:
            raise AnalysisInputError(
                f"plan effect must be an AUC difference in (0, 1), got {self.effect}",
                parameter="plan.effect",
            )
        if not 0 < self.power < 1:
            raise AnalysisInputError(
                f"plan power must lie in (0, 1), got {self.power}", parameter="plan.power"
            )


@dataclass(frozen=True)
class Results:
    """What :func:`analyze` found.

    ``summary`` is the ``results.json`` content (DATA_CONTRACTS.md keys and more); ``tables``
    holds the tidy tables behind it (one report sheet each); ``figures`` the plot data.
    """

    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, pd.DataFrame] = field(default_factory=dict)
    study: StudyTables | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.summary


def _ci(low: float, high: float) -> list[float]:
    return [float(low), float(high)]


def analyze(
    ratings: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    *,
    times: pd.DataFrame | None = None,
    cases: pd.DataFrame | None = None,
    ai: pd.DataFrame | None = None,
    masks: tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]] | None = None,
    reference: str | None = None,
    alpha: float = 0.05,
    covariance: Covariance | str = Covariance.JACKKNIFE,
    mcnemar_method: McNemarMethod | str = McNemarMethod.EXACT,
    plan: Plan | None = None,
    ustat: bool = False,
    gee: bool = False,
) -> Results:
    """Analyse a reader study given its tables (DATA_CONTRACTS.md formats).

    Parameters
    ----------
    ratings : DataFrame
        ``reader, modality, case, unit, call, rating`` (one of call/rating may be absent;
        ``treatment`` is accepted for ``modality``; a missing ``unit`` means whole cases).
    truth : DataFrame, optional
        ``case, unit, truth``; may be omitted when ``ratings`` has a ``truth`` column.
    times, cases, ai : DataFrame, optional
        Reading times, case metadata (infarct ``side``), the model's unit-level outputs.
    masks : (predicted, reference), optional
        Lesion masks by case id for DSC, precision and recall.
    reference : str, optional
        The reference modality; default ``unaided`` if present, else the first one.
    alpha : float
        Two-sided level of every interval and test.
    covariance : {"jackknife", "delong", "obuchowski", "unbiased"}
        Covariance of the OR analysis of AUC (binary FOMs always use the case jackknife).
    mcnemar_method : {"exact", "chi2"}
        Exact binomial McNemar (default) or chi-square with continuity correction.
    plan : Plan, optional
        Size a future study from this study's OR variance components.
    ustat : bool
        Add Gallas's U-statistic variance of the reader-averaged AUC difference (unbiased
        and MLE, as iMRMC reports them; units as independent cases) to ``roc_mrmc``.
    gee : bool
        Add the clustered-binary sensitivity analysis: a logistic GEE per metric with cases as
        clusters (:func:`analysis.gee.gee_binary`), in ``binary.clustered_models``.

    Returns
    -------
    Results
    """
    check_alpha(alpha)
    covariance = choose(Covariance, covariance, "covariance")
    mcnemar_method = choose(McNemarMethod, mcnemar_method, "mcnemar_method")
    study = load_study_tables(ratings, truth, times=times, cases=cases, ai=ai, reference=reference)
    reference = study.modalities[0]
    test = study.modalities[1] if len(study.modalities) > 1 else None
    summary: dict[str, Any] = {
        "schema": SCHEMA,
        "reference": reference,
        "test": test,
        "alpha": alpha,
        "design": {
            "readers": list(study.readers),
            "modalities": list(study.modalities),
            "cases": int(study.truth["case"].nunique()),
            "units_per_case": int(study.truth.groupby("case").size().max()),
            "positive_units": int(study.truth["truth"].sum()),
            "units": len(study.truth),
            "positive_cases": int(study.truth.groupby("case")["truth"].max().sum()),
            "fully_crossed": study.fully_crossed,
        },
    }
    tables: dict[str, pd.DataFrame] = {}
    figures: dict[str, pd.DataFrame] = {}
    data = study.ratings
    # Incomplete designs (docs/analysis.md, "Incomplete designs"): per-reader statistics use
    # every read, paired tests each reader's complete cases, crossed analyses the cases
    # complete for every reader; ``crossed`` is None when no such case exists.
    crossed = study.crossed()
    if study.crossing is not None and not study.crossing.fully_crossed:
        summary["design"]["complete_cases"] = len(study.crossing.complete_cases)
        summary["design"]["crossed_readers"] = list(study.crossing.crossed_readers)
    crossed_readers = len(crossed.readers) if crossed is not None else 0
    design_notes: list[str] = []
    if study.has_calls:
        summary["binary"] = _binary(
            data,
            reference,
            test,
            alpha,
            mcnemar_method,
            tables,
            paired=study.paired_ratings(),
            crossed=crossed.ratings if crossed is not None else None,
        )
        if gee and test is not None:
            summary["binary"]["clustered_models"] = _clustered_models(
                data, reference, test, alpha, tables
            )
        # Case ASPECTS need all 20 units; a whole-case or partial-region study has none.
        scores = (
            clinical.case_aspects(crossed.ratings, by=("reader", "modality"), cases=study.cases)
            if crossed is not None and study.all_aspects_units
            else None
        )
        if crossed is not None and crossed_readers >= 2:
            summary["agreement"] = _agreement(crossed, scores, alpha, tables)
        if crossed is not None and scores is not None:
            summary["clinical"] = _clinical(crossed, scores, alpha, tables, figures)
    if study.times is not None:
        summary["reading_time"] = _reading_time(study.times, reference, test, alpha, tables)
    if study.has_ratings and crossed is not None and crossed_readers >= 2 and test is not None:
        summary["roc_mrmc"], or_result = _roc_mrmc(
            crossed.ratings, reference, covariance, alpha, tables, ustat=ustat
        )
        if plan is not None:
            summary["planning"] = _planning(or_result, alpha, plan, tables)
    elif study.has_ratings and test is not None and crossed is None:
        # No case read by every reader: where the readers form groups that each read their
        # own cases, the split-plot OR analysis; the U-statistic takes any design.
        section, note = _split_plot(study.paired_ratings(), reference, covariance, alpha, tables)
        design_notes.append(note)
        if section is not None:
            summary["roc_mrmc"] = section
        if ustat:
            summary["roc_ustat"] = _ustat(study.paired_ratings(), reference, alpha, tables)
    if plan is not None and "planning" not in summary:
        raise AnalysisInputError(
            "plan needs confidence ratings (a 'rating' column) from 2+ readers in 2+ "
            "modalities: the plan uses this study's OR variance components of the AUC",
            parameter="plan",
        )
    if study.ai is not None:
        summary["model"] = _model(study.ai, masks, alpha, tables, figures)
    elif masks is not None:
        raise AnalysisInputError(
            "masks were given without AI outputs (ai_regions.csv)", parameter="masks"
        )
    summary["notes"] = (
        missing_statistics(study, summary)
        + list(study.crossing.notes if study.crossing else ())
        + design_notes
        + analysis_notes(summary)
    )
    return Results(summary=summary, tables=tables, figures=figures, study=study)


def missing_statistics(study: StudyTables, summary: dict[str, Any]) -> list[str]:
    """Why each statistic the paper reports is absent from ``summary`` (empty when none is)."""
    readers, test = len(study.readers), summary["test"]
    one_reader = f"only {readers} reader rated" if readers < 2 else None
    notes = []
    if test is None:
        notes.append(
            f"only one modality ({study.modalities[0]}) was rated: no comparison between "
            "modalities (McNemar, reader-averaged differences, AUC difference, paired t-test)"
        )
    if not study.has_calls:
        notes.append("no binary calls ('call' column): no sensitivity, specificity, McNemar or ICC")
    elif one_reader:
        notes.append(
            f"{one_reader}: no reader-averaged sensitivity and specificity and no ICC "
            "(both need 2+ readers)"
        )
    if not study.has_ratings:
        notes.append("no confidence ratings ('rating' column): no ROC/AUC analysis of readers")
    elif one_reader and test is not None:
        notes.append(f"{one_reader}: no MRMC analysis of AUC (it needs 2+ readers)")
    if study.times is None:
        notes.append("no reading times (times table): no reading-time comparison")
    elif test is not None and "paired_t" not in summary["reading_time"]:
        notes.append(
            "fewer than 2 readers were timed in both modalities: no paired t-test on reading time"
        )
    if study.ai is None:
        notes.append("no AI outputs (ai_regions): no standalone model performance")
    return notes


SMALL_DDF = 5.0
"""Below this random-reader denominator df the t quantile exceeds 2.57 (95%): say so."""


def analysis_notes(summary: dict[str, Any]) -> list[str]:
    """Caveats about statistics that were computed (small df, units taken as independent)."""
    notes = []
    design = summary["design"]
    readers = len(design.get("crossed_readers", design["readers"]))
    blocks = [
        (f"reader-averaged {metric}", entry)
        for metric, entry in summary.get("binary", {}).get("reader_average", {}).items()
    ]
    if "roc_mrmc" in summary and summary["roc_mrmc"].get("difference"):
        blocks.append(("reader-averaged AUC", summary["roc_mrmc"]))
    for label, entry in blocks:
        df2 = entry["difference"].get("df2")
        if df2 is not None and np.isfinite(df2) and df2 < SMALL_DDF:
            notes.append(
                f"{label}: the random-reader denominator df is {df2:.1f} (< {SMALL_DDF:g}; "
                f"{readers} readers), so its interval is wide and its test has little power; "
                "the fixed-reader result beside it (df = inf) is narrower but speaks for these "
                "readers only"
            )
    for entry in summary.get("binary", {}).get("clustered_models", {}).values():
        notes += entry["notes"]
    ustat = summary.get("roc_mrmc", {}).get("u_statistic") or summary.get("roc_ustat")
    if ustat and summary["design"]["units_per_case"] > 1:
        notes.append(
            "U-statistic (iMRMC) variance: it treats the "
            f"{summary['design']['units_per_case']} units of a case as independent cases, as "
            "iMRMC does; the case-clustered OR analysis is the one to report"
        )
    return notes


def _binary(
    data: pd.DataFrame,
    reference: str,
    test: str | None,
    alpha: float,
    mcnemar_method: str,
    tables: dict[str, pd.DataFrame],
    *,
    paired: pd.DataFrame,
    crossed: pd.DataFrame | None,
) -> dict[str, Any]:
    """Per-reader sensitivity/specificity from ``data`` (every read), McNemar tests from
    ``paired`` (each reader's complete cases), reader averages from ``crossed``."""
    per_reader = binary.sensitivity_specificity(data, alpha=alpha)
    tables["sensitivity_specificity"] = per_reader
    entries = []
    for (reader, modality), rows in per_reader.groupby(["reader", "modality"], sort=False):
        entry = {"reader": reader, "modality": modality}
        for row in rows.itertuples():
            entry[row.metric] = {
                "estimate": row.estimate,
                "ci": _ci(row.ci_low, row.ci_high),
                "successes": int(row.successes),
                "trials": int(row.trials),
            }
        entries.append(entry)
    section: dict[str, Any] = {"per_reader": entries}
    if test is None or paired.empty:
        return section
    table = binary.mcnemar(paired, reference=reference, test=test, method=mcnemar_method)
    tables["mcnemar"] = table
    section["mcnemar"] = [
        {
            "reader": r.reader,
            "metric": r.metric,
            "b": int(r.b),
            "c": int(r.c),
            "p": r.p,
            "method": r.method,
            "statistic": r.statistic,
            "difference": r.difference,
        }
        for r in table.itertuples()
    ]
    clustered = binary.clustered_mcnemar(paired, reference=reference, test=test, alpha=alpha)
    tables["clustered_comparison"] = clustered
    section["clustered"] = [
        {
            "reader": r.reader,
            "metric": r.metric,
            "cases": int(r.clusters),
            "b": int(r.b),
            "c": int(r.c),
            "difference": r.difference,
            "ci": _ci(r.ci_low, r.ci_high),
            "statistic": r.statistic,
            "p": r.p,
            "method": r.method,
        }
        for r in clustered.itertuples()
    ]
    if crossed is not None and crossed["reader"].nunique() >= 2:
        section["reader_average"] = _reader_average(crossed, reference, alpha, tables)
    return section


def _clustered_models(
    data: pd.DataFrame, reference: str, test: str, alpha: float, tables: dict[str, pd.DataFrame]
) -> dict[str, Any]:
    """GEE of sensitivity and specificity, cases as clusters (a sensitivity analysis)."""
    from analysis.gee import METHOD, gee_binary

    section: dict[str, dict[str, object]] = {}
    rows = []
    for metric in binary.METRICS:
        try:
            result = gee_binary(data, metric=metric, reference=reference, test=test, alpha=alpha)
        except AnalysisInputError as exc:
            section[metric] = {"method": METHOD, "models": [], "notes": [f"not fitted: {exc}"]}
            continue
        section[metric] = {
            "method": METHOD,
            "models": [result.to_dict()],
            "notes": list(result.notes),
        }
        rows.append({k: v for k, v in vars(result).items() if k != "notes"})
    if rows:
        tables["clustered_models"] = pd.DataFrame(rows)
    return section


def _reader_average(
    data: pd.DataFrame, reference: str, alpha: float, tables: dict[str, pd.DataFrame]
) -> dict[str, Any]:
    section, rows = {}, []
    for metric in binary.METRICS:
        result = or_analysis(
            data,
            fom=metric,
            rating="call",
            covariance="jackknife",
            reference=reference,
            alpha=alpha,
        )
        diff = result.difference
        if diff is None:  # or_analysis drops the random-reader contrast for one reader only
            raise AnalysisInputError("reader averages need at least two readers")
        section[metric] = {
            "per_modality": {
                str(m): {"estimate": r.estimate, "se": r.se, "ci": _ci(r.ci_low, r.ci_high)}
                for m, r in result.per_modality.iterrows()
            },
            "difference": {
                "estimate": diff.estimate,
                "se": diff.se,
                "ci": _ci(diff.ci_low, diff.ci_high),
                "F": diff.F,
                "df2": diff.df2,
                "p": diff.p,
            },
            "method": "Obuchowski-Rockette, jackknife over "
            + ("positive" if metric == "sensitivity" else "negative")
            + " cases, Hillis df",
            "fixed_readers": result.fixed_readers.to_dict() if result.fixed_readers else None,
            "fixed_cases": result.fixed_cases.to_dict() if result.fixed_cases else None,
            "notes": list(result.notes),
        }
        per_modality = result.per_modality[["estimate", "se", "ci_low", "ci_high", "df"]]
        rows.append(per_modality.rename_axis("modality").reset_index().assign(metric=metric))
        rows.append(result.contrasts.assign(metric=metric))
    table = pd.concat(rows, ignore_index=True)
    tables["reader_average"] = table[["metric", *[c for c in table if c != "metric"]]]
    return section


def _agreement(
    study: StudyTables, scores: pd.DataFrame | None, alpha: float, tables: dict[str, pd.DataFrame]
) -> dict[str, Any]:
    data = study.ratings
    region = data.assign(target=data["case"] + "|" + data["unit"])
    kinds = {"region": (region, "target", "call")}
    if scores is not None:
        kinds["score"] = (scores, "case", "aspects")
    section: dict[str, Any] = {}
    rows = []
    for kind, (frame, targets, values) in kinds.items():
        section[kind] = {}
        for modality in study.modalities:
            subset = frame[frame["modality"] == modality]
            table = agreement.icc(
                subset, targets=targets, raters="reader", ratings=values, alpha=alpha
            )
            rows.append(table.assign(basis=kind, modality=modality))
            chosen = table.set_index("type").loc[ICC_REPORTED]
            section[kind][modality] = {
                "icc": chosen["icc"],
                "ci": _ci(chosen["ci_low"], chosen["ci_high"]),
                "type": ICC_REPORTED,
                "targets": int(chosen["targets"]),
                "raters": int(chosen["raters"]),
            }
    icc_table = pd.concat(rows, ignore_index=True)
    tables["icc"] = icc_table[["basis", "modality", *icc_table.columns[:-2]]]
    return {"icc": section}


def _clinical(
    study: StudyTables,
    readers: pd.DataFrame,
    alpha: float,
    tables: dict[str, pd.DataFrame],
    figures: dict[str, pd.DataFrame],
) -> dict[str, Any]:
    data = study.ratings
    truth = clinical.case_aspects(study.truth, value="truth", cases=study.cases)
    dichotomised = clinical.dichotomised_accuracy(readers, truth, alpha=alpha)
    agreement_table, points = clinical.bland_altman(readers, truth, alpha=alpha)
    regions = clinical.sensitivity_by_region(data)
    tables.update(
        aspects_dichotomised=dichotomised, bland_altman=agreement_table, region_sensitivity=regions
    )
    figures["bland_altman"] = points
    figures["regions"] = regions
    return {
        "aspects_threshold": clinical.ASPECTS_THRESHOLD,
        "dichotomised": [
            {
                "reader": r.reader,
                "modality": r.modality,
                "accuracy": r.accuracy,
                "ci": _ci(r.ci_low, r.ci_high),
                "correct": int(r.correct),
                "cases": int(r.cases),
            }
            for r in dichotomised.itertuples()
        ],
        "bland_altman": [
            {
                "reader": r.reader,
                "modality": r.modality,
                "n": int(r.n),
                "bias": r.bias,
                "sd": r.sd,
                "limits": _ci(r.loa_low, r.loa_high),
            }
            for r in agreement_table.itertuples()
        ],
        "region_sensitivity": regions.to_dict(orient="records"),
    }


def _reading_time(
    times: pd.DataFrame,
    reference: str,
    test: str | None,
    alpha: float,
    tables: dict[str, pd.DataFrame],
) -> dict[str, Any]:
    per_reader = timing.time_per_reader(times)
    per_modality = timing.time_per_modality(per_reader)
    tables.update(reading_time=per_reader, reading_time_average=per_modality)
    section: dict[str, Any] = {
        "per_reader": [
            {"reader": r.reader, "modality": r.modality, "mean_s": r.mean_s, "n": int(r.n)}
            for r in per_reader.itertuples()
        ],
        "per_modality": {
            r.modality: {"mean_s": r.mean_s, "sd_s": r.sd_s, "readers": int(r.readers)}
            for r in per_modality.itertuples()
        },
    }
    both = per_reader.pivot(index="reader", columns="modality", values="mean_s")
    if (
        test is not None
        and {reference, test} <= set(both)
        and len(both[[reference, test]].dropna()) >= 2
    ):
        result = timing.paired_t_over_readers(
            per_reader, reference=reference, test=test, alpha=alpha
        )
        section["paired_t"] = {
            "t": result.t,
            "df": result.df,
            "p": result.p,
            "difference_s": result.difference_s,
            "ci": _ci(result.ci_low, result.ci_high),
        }
    return section


def _roc_mrmc(
    data: pd.DataFrame,
    reference: str,
    covariance: str,
    alpha: float,
    tables: dict[str, pd.DataFrame],
    *,
    ustat: bool = False,
) -> tuple[dict[str, Any], ORResult]:
    """OR analysis of the AUC (random and fixed readers/cases), the DBM cross-check and,
    on request, the U-statistic variance."""
    from analysis.dbm import dbm_analysis

    result = or_analysis(
        data, fom="auc", rating="rating", covariance=covariance, reference=reference, alpha=alpha
    )
    _or_tables(result, tables)
    section = result.to_dict()
    if result.difference is not None:
        dbm = dbm_analysis(data, fom="auc", rating="rating", reference=reference, alpha=alpha)
        tables["roc_dbm_anova"] = dbm.anova.rename_axis("source").reset_index()
        section["dbm"] = {
            "method": "DBM pseudovalue ANOVA (normalised jackknife pseudovalues), Hillis df",
            "F": dbm.F,
            "df1": dbm.df1,
            "df2": dbm.df2,
            "p": dbm.p,
            "difference": dbm.differences[result.difference.test].to_dict(),
            "variance_components": dbm.variance_components,
            "note": "equals OR with jackknife covariance; differs for DeLong or Obuchowski",
        }
    if ustat:
        section["u_statistic"] = _ustat(data, reference, alpha, tables)
    return section, result


def _or_tables(result: ORResult | SplitPlotResult, tables: dict[str, pd.DataFrame]) -> None:
    """The tidy tables of an OR analysis of the AUC (crossed or split-plot)."""
    tables["roc_auc_per_reader"] = result.foms.rename_axis("reader").reset_index()
    tables["roc_auc_per_modality"] = result.per_modality.rename_axis("modality").reset_index()
    tables["roc_or_contrasts"] = result.contrasts
    tables["roc_per_reader_tests"] = result.per_reader


def _split_plot(
    data: pd.DataFrame,
    reference: str,
    covariance: str,
    alpha: float,
    tables: dict[str, pd.DataFrame],
) -> tuple[dict[str, Any] | None, str]:
    """The split-plot OR analysis of the AUC and a note naming it, or None and the reason
    (the readers do not form groups reading disjoint case sets)."""
    from analysis.mrmc import SPLIT_PLOT_METHOD, split_plot_analysis

    try:
        result = split_plot_analysis(
            data,
            fom="auc",
            rating="rating",
            covariance=covariance,
            reference=reference,
            alpha=alpha,
        )
    except AnalysisInputError as exc:
        return None, f"split-plot OR analysis of the AUC not computed: {exc}"
    _or_tables(result, tables)
    groups = "; ".join(
        f"{', '.join(map(str, g))} ({n} cases)"
        for g, n in zip(result.groups, result.group_cases, strict=True)
    )
    return result.to_dict(), (
        f"split-plot design: the MRMC ROC analysis (roc_mrmc) is the {SPLIT_PLOT_METHOD}, "
        f"over {len(result.groups)} reader groups each reading its own cases: {groups}"
    )


def _ustat(
    data: pd.DataFrame, reference: str, alpha: float, tables: dict[str, pd.DataFrame]
) -> dict[str, Any]:
    """Gallas's U-statistic variance of the reader-averaged AUC difference (first test)."""
    from analysis.ustat import METHOD, ustat_difference

    table = ustat_difference(data, rating="rating", reference=reference, alpha=alpha)
    tables["roc_ustat"] = table
    first = table[table["test"] == table["test"].iloc[0]]
    return {
        "method": METHOD,
        "test": first["test"].iloc[0],
        **{
            r.method: {
                "estimate": r.estimate,
                "variance": r.variance,
                "se": r.se,
                "df": r.df,
                "ci": _ci(r.ci_low, r.ci_high),
                "t": r.t,
                "p": r.p,
            }
            for r in first.itertuples()
        },
    }


def _planning(
    result: ORResult, alpha: float, plan: Plan, tables: dict[str, pd.DataFrame]
) -> dict[str, Any]:
    """Power and cases needed for a future study from this study's OR variance components."""
    from analysis.planning import plan_study

    grid = plan_study(result, plan.readers, plan.effect, alpha=alpha, power=plan.power)
    tables["planning"] = grid
    return {
        "method": "Hillis, Obuchowski & Berbaum (2011) from the OR variance components",
        "readers": plan.readers,
        "effect": plan.effect,
        "power_target": plan.power,
        "pilot_cases": result.n_cases,
        "cases_needed": grid.attrs["n_cases_needed"].get(plan.readers),
        "grid": grid[["n_cases", "power"]].to_dict(orient="records"),
    }


def _model(
    ai: pd.DataFrame,
    masks: tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]] | None,
    alpha: float,
    tables: dict[str, pd.DataFrame],
    figures: dict[str, pd.DataFrame],
) -> dict[str, Any]:
    from analysis.standalone import model_standalone

    section, curve = model_standalone(ai, alpha=alpha)
    figures["model_roc"] = curve
    # Contract keys; they stay null without masks to compare.
    section.update(dsc=None, precision=None, recall=None)
    if masks is not None:
        from analysis.segmentation import segmentation_metrics

        per_case, overlap = segmentation_metrics(*masks)
        tables["segmentation"] = per_case
        section["segmentation"] = overlap
        section.update(overlap["mean"])
    return section
