"""Analyse a study (or exported tables) and write its reports: what ``readerstudy analyze``
and the coordinator's console run.

Heavy libraries (pandas, statsmodels, pingouin, matplotlib) are imported inside the functions,
so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AnalysisReport:
    """What :func:`run_analysis` wrote, and the summary it prints."""

    paths: Mapping[str, Path]
    """Every written file by kind (``json``, ``html``, ``xlsx``, figures, ``imrmc``, ...)."""
    summary: tuple[str, ...]
    """The report's headline lines, as ``readerstudy analyze`` prints them."""

    @property
    def html(self) -> Path:
        return self.paths["html"]


def _study_tables(folder: Path, db: str | None = None) -> dict:
    """Tables of a study folder: exported from its store (``db`` overrides the definition's
    store URL) when it has a study.toml, else the exported CSV/XLSX files inside it (e.g. a
    folder written by another platform)."""
    from analysis.tables import read_study_folder

    if (folder / "study.toml").is_file():
        from readerstudy.errors import ReaderStudyError
        from readerstudy.workflows.export import export_tables

        tables = dict(export_tables(folder, db=db))
        if tables["ratings"].empty:
            raise ReaderStudyError(
                f"{folder}: no reads were submitted yet, so there is nothing to analyse; "
                f"`readerstudy study status {folder}` shows reading progress"
            )
        return tables
    return read_study_folder(folder)


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
    db: str | None = None,
    exports: bool = True,
) -> AnalysisReport:
    """Read the inputs, analyse, write the reports and, with ``exports``, the iMRMC and long
    CSV exports; return the written paths and the summary lines. ``db``: the results store of
    a study folder, when it is not the one its study.toml names."""
    from analysis.analyze import Plan, analyze
    from analysis.exports import to_imrmc, to_long_csv
    from analysis.files import check_output_folder, staged_folder
    from analysis.report import summary_lines, write_reports
    from analysis.segmentation import load_masks
    from analysis.tables import read_inputs, read_table
    from readerstudy.errors import ReaderStudyError

    masks_asked = masks is not None or truth_masks is not None
    if source.is_dir():
        from readerstudy.study.protocol import AI_DIR
        from readerstudy.workflows.importer import TRUTH_MASKS_DIR

        tables = _study_tables(source, db)
        for name, path in (("truth", truth), ("times", times), ("ai", ai), ("cases", cases)):
            if path is not None:
                tables[name] = read_table(path, name)
        masks = masks or (source / AI_DIR / "masks")
        truth_masks = truth_masks or (source / TRUTH_MASKS_DIR)
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
        if exports:
            (stage / "exports").mkdir()
            assert results.study is not None  # analyze() keeps the tables it read
            ratings = results.study.ratings
            paths["imrmc"] = to_imrmc(ratings, stage / "exports" / "ratings.imrmc")[0]
            paths["long_csv"] = to_long_csv(ratings, stage / "exports" / "ratings_long.csv")
    return AnalysisReport(
        {kind: out / Path(path).relative_to(stage) for kind, path in paths.items()},
        tuple(summary_lines(results)),
    )
