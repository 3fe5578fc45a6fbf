"""``readerstudy analyze``: the paper's statistics and MRMC ROC analysis."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Covariance(StrEnum):
    jackknife = "jackknife"
    delong = "delong"
    obuchowski = "obuchowski"
    unbiased = "unbiased"


class McNemarMethod(StrEnum):
    exact = "exact"
    chi2 = "chi2"


def _study_tables(folder: Path) -> dict:
    """Tables of a study folder: exported from its store when it has a study.toml, else the
    exported CSV/XLSX files inside it (e.g. a folder written by another platform)."""
    from analysis.tables import read_study_folder

    if (folder / "study.toml").is_file():
        from readerstudy.errors import ReaderStudyError
        from readerstudy.study.export import export_tables

        tables = dict(export_tables(folder))
        if tables["ratings"].empty:
            raise ReaderStudyError(
                f"{folder}: no reads were submitted yet, so there is nothing to analyse; "
                f"`readerstudy study status {folder}` shows reading progress"
            )
        return tables
    return read_study_folder(folder)


def analyze_command(
    source: Annotated[
        Path,
        typer.Argument(
            help="A study folder, or the ratings table (CSV/XLSX: reader, modality, case, "
            "unit, call, rating; an XLSX may carry truth/times/cases/ai sheets)."
        ),
    ],
    truth: Annotated[
        Path | None,
        typer.Option(
            help="truth.csv (case, unit, truth); required unless the ratings carry a truth column."
        ),
    ] = None,
    times: Annotated[
        Path | None,
        typer.Option(
            help="times.csv (reader, modality, case, active_s): adds Table 3 and the paired t-test."
        ),
    ] = None,
    ai: Annotated[
        Path | None,
        typer.Option(
            help="ai_regions.csv (case, unit, probability, call): adds "
            "the model standalone ROC/AUC and its operating point."
        ),
    ] = None,
    cases: Annotated[
        Path | None,
        typer.Option(
            help="cases.csv (case, side): the infarct side for the "
            "score-based ICC and clinical ASPECTS; without it the lower hemispheric score is used."
        ),
    ] = None,
    masks: Annotated[
        Path | None,
        typer.Option(
            help="Folder of model lesion masks <case>.nii.gz (default "
            "<study>/ai/masks) for DSC, precision and recall."
        ),
    ] = None,
    truth_masks: Annotated[
        Path | None,
        typer.Option(
            help="Folder of reference lesion masks <case>.nii.gz (default <study>/truth_masks)."
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="Reference modality; differences are test - "
            "reference. Default: 'unaided' if present, else the first modality."
        ),
    ] = None,
    alpha: Annotated[
        float, typer.Option(help="1 - confidence level of every interval and test.")
    ] = 0.05,
    covariance: Annotated[
        Covariance,
        typer.Option(
            help="Covariance of the OR analysis of AUC: case jackknife, "
            "DeLong (units independent), Obuchowski (units clustered in cases) or unbiased "
            "(Gallas's U-statistic, units independent; MRMCaov's cov = unbiased)."
        ),
    ] = Covariance.jackknife,
    mcnemar: Annotated[
        McNemarMethod,
        typer.Option(
            help="Per-reader McNemar: exact binomial, or chi-square with continuity correction."
        ),
    ] = McNemarMethod.exact,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder (default: 'analysis' beside the "
            "source). Existing report files there are overwritten."
        ),
    ] = None,
    plan_readers: Annotated[
        int | None,
        typer.Option(
            help="Size a future study with this many readers (needs "
            "--plan-effect and confidence ratings)."
        ),
    ] = None,
    plan_effect: Annotated[
        float | None, typer.Option(help="AUC difference the future study must detect.")
    ] = None,
    plan_power: Annotated[float, typer.Option(help="Target power of the future study.")] = 0.8,
    figures: Annotated[
        bool, typer.Option(help="Draw the figures of report.html (matplotlib).")
    ] = True,
    ustat: Annotated[
        bool,
        typer.Option(
            "--ustat",
            help="Add Gallas's U-statistic variance of the AUC difference (unbiased and MLE, "
            "as iMRMC reports them; units as independent cases).",
        ),
    ] = False,
    gee: Annotated[
        bool,
        typer.Option(
            "--gee",
            help="Add the clustered-binary sensitivity analysis: logistic GEE of sensitivity "
            "and specificity with cases as clusters (modality odds ratio and difference).",
        ),
    ] = False,
) -> None:
    """Analyse a reader study: the paper's statistics, MRMC ROC and reports.

    Tables 2-3, clustered tests, ICCs, ASPECTS views, OR/DBM ROC, the model's standalone AUC.

    Writes results.json, report.xlsx, report.html and exports for iMRMC and RJafroc/MRMCaov.
    """
    from rich.console import Console

    from analysis.errors import AnalysisInputError
    from readerstudy.errors import ReaderStudyError

    if (plan_readers is None) != (plan_effect is None):
        raise ReaderStudyError("--plan-readers and --plan-effect go together; give both")
    console = Console()
    try:
        with console.status(f"analysing {source} ..."):
            paths = run_analysis(
                source,
                truth=truth,
                times=times,
                ai=ai,
                cases=cases,
                masks=masks,
                truth_masks=truth_masks,
                reference=reference,
                alpha=alpha,
                covariance=covariance.value,
                mcnemar=mcnemar.value,
                out=out,
                plan=(plan_readers, plan_effect, plan_power) if plan_readers is not None else None,
                figures=figures,
                ustat=ustat,
                gee=gee,
            )
    except (AnalysisInputError, ValueError) as exc:
        raise ReaderStudyError(str(exc)) from exc
    for line in paths.pop("summary"):
        console.print(line, highlight=False, soft_wrap=True)
    for kind, path in paths.items():
        console.print(f"[dim]{kind}:[/dim] {path}", highlight=False)


def run_analysis(
    source: Path,
    *,
    truth: Path | None = None,
    times: Path | None = None,
    ai: Path | None = None,
    cases: Path | None = None,
    masks: Path | None = None,
    truth_masks: Path | None = None,
    reference: str | None = None,
    alpha: float = 0.05,
    covariance: str = "jackknife",
    mcnemar: str = "exact",
    out: Path | None = None,
    plan: tuple[int, float, float] | None = None,
    figures: bool = True,
    ustat: bool = False,
    gee: bool = False,
) -> dict:
    """Read the inputs, analyse, write the reports and exports; return their paths."""
    from analysis.analyze import Plan, analyze
    from analysis.exports import to_imrmc, to_long_csv
    from analysis.files import check_output_folder, staged_folder
    from analysis.report import summary_lines, write_reports
    from analysis.segmentation import load_masks
    from analysis.tables import read_inputs, read_table
    from readerstudy.errors import ReaderStudyError

    masks_asked = masks is not None or truth_masks is not None
    if source.is_dir():
        tables = _study_tables(source)
        for name, path in (("truth", truth), ("times", times), ("ai", ai), ("cases", cases)):
            if path is not None:
                tables[name] = read_table(path, name)
        masks = masks or (source / "ai" / "masks")
        truth_masks = truth_masks or (source / "truth_masks")
        out = out or source / "analysis"
    elif source.is_file():
        tables = read_inputs(source, truth=truth, times=times, cases=cases, ai=ai)
        out = out or source.parent / "analysis"
    else:
        raise ReaderStudyError(f"{source}: no such study folder or ratings file")
    check_output_folder(out)  # before the analysis runs
    mask_pair = None
    if masks is not None and truth_masks is not None and masks.is_dir() and truth_masks.is_dir():
        mask_pair = (load_masks(masks), load_masks(truth_masks))
    elif masks_asked:
        raise ReaderStudyError(
            "DSC, precision and recall need both mask folders: --masks (the model's) and "
            f"--truth-masks (the reference); got {masks} and {truth_masks}"
        )
    results = analyze(
        tables["ratings"],
        tables.get("truth"),
        times=tables.get("times"),
        cases=tables.get("cases"),
        ai=tables.get("ai"),
        masks=mask_pair,
        reference=reference,
        alpha=alpha,
        covariance=covariance,
        mcnemar_method=mcnemar,
        plan=Plan(*plan) if plan is not None else None,
        ustat=ustat,
        gee=gee,
    )
    with staged_folder(out) as stage:
        paths = write_reports(results, stage, figures=figures)
        (stage / "exports").mkdir()
        ratings = results.study.ratings
        paths["imrmc"] = to_imrmc(ratings, stage / "exports" / "ratings.imrmc")[0]
        paths["long_csv"] = to_long_csv(ratings, stage / "exports" / "ratings_long.csv")
    paths = {kind: out / path.relative_to(stage) for kind, path in paths.items()}
    paths["summary"] = summary_lines(results)
    return paths


def register(root: typer.Typer) -> None:
    root.command("analyze", no_args_is_help=True)(analyze_command)
