"""``readerstudy analyze``: the paper's statistics and MRMC ROC analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analysis.errors import AnalysisInputError
from analysis.methods import Covariance, McNemarMethod

OPTIONS = {
    "alpha": "--alpha",
    "covariance": "--covariance",
    "mcnemar_method": "--mcnemar",
    "reference": "--reference",
    "truth": "--truth",
    "masks": "--masks",
    "plan": "--plan-readers",
    "plan.readers": "--plan-readers",
    "plan.effect": "--plan-effect",
    "plan.power": "--plan-power",
}
"""The library's parameter (``AnalysisInputError.parameter``) -> this command's option."""


def _refusal(exc: AnalysisInputError) -> str:
    """The library's message, led by the option it concerns when it concerns one."""
    option = OPTIONS.get(exc.parameter or "")
    return f"{option}: {exc}" if option else str(exc)


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
    ] = Covariance.JACKKNIFE,
    mcnemar: Annotated[
        McNemarMethod,
        typer.Option(
            help="Per-reader McNemar: exact binomial, or chi-square with continuity correction."
        ),
    ] = McNemarMethod.EXACT,
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

    from readerstudy.errors import ReaderStudyError
    from readerstudy.workflows.reports import run_analysis

    if (plan_readers is None) != (plan_effect is None):
        raise ReaderStudyError("--plan-readers and --plan-effect go together; give both")
    console = Console()
    try:
        with console.status(f"analysing {source} ..."):
            report = run_analysis(
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
                plan=(plan_readers, plan_effect, plan_power)
                if plan_readers is not None and plan_effect is not None
                else None,
                figures=figures,
                ustat=ustat,
                gee=gee,
            )
    except AnalysisInputError as exc:
        raise ReaderStudyError(_refusal(exc)) from exc
    for line in report.summary:
        console.print(line, highlight=False, soft_wrap=True)
    for kind, path in report.paths.items():
        console.print(f"[dim]{kind}:[/dim] {path}", highlight=False)


def register(root: typer.Typer) -> None:
    root.command("analyze", no_args_is_help=True)(analyze_command)
