"""``analyze`` on the paper's design and on a large study, against reading the same CSVs.

Baseline: ``pandas.read_csv`` of the study's tables (the least any analysis must do), in the
same process. Targets from the analysis issue: paper-size numbers <= 1 s and with reports
<= 5 s; 20 readers x 1000 cases x 20 units <= 30 s (numbers, and with reports).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from analysis.analyze import analyze
from analysis.report import write_reports
from benchmarks.harness import compare
from tests.analysis.synthetic import paper_study


def _written(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
    paths = {}
    for name, frame in tables.items():
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def _absolute(name: str, seconds: float, target: float) -> None:
    verdict = "met" if seconds <= target else "MISSED"
    print(f"{name}: {seconds:.3f} s absolute, target <= {target} s: {verdict}", flush=True)


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paper = paper_study()
        paths = _written(paper, tmp)

        def read_csvs() -> dict:
            return {name: pd.read_csv(path) for name, path in paths.items()}

        def numbers() -> object:
            return analyze(
                paper["ratings"],
                paper["truth"],
                times=paper["times"],
                cases=paper["cases"],
                ai=paper["ai"],
            )

        def with_reports() -> None:
            write_reports(numbers(), tmp / "out")

        result = compare("analyze_paper_numbers_vs_read_csv", numbers, read_csvs, repeats=5)
        _absolute("analyze_paper_numbers", result.candidate_s, 1.0)
        result = compare(
            "analyze_paper_with_reports_vs_read_csv", with_reports, read_csvs, repeats=3
        )
        _absolute("analyze_paper_with_reports", result.candidate_s, 5.0)

        large = paper_study(readers=20, cases=1000, seed=1)
        large_paths = _written(large, tmp)

        def read_large() -> dict:
            return {name: pd.read_csv(path) for name, path in large_paths.items()}

        def large_numbers() -> object:
            return analyze(
                large["ratings"],
                large["truth"],
                times=large["times"],
                cases=large["cases"],
                ai=large["ai"],
            )

        result = compare(
            "analyze_20x1000x20_numbers_vs_read_csv",
            large_numbers,
            read_large,
            repeats=1,
            warmup=0,
        )
        _absolute("analyze_20x1000x20_numbers", result.candidate_s, 30.0)

        def large_with_reports() -> None:
            write_reports(large_numbers(), tmp / "large")

        result = compare(
            "analyze_20x1000x20_with_reports_vs_read_csv",
            large_with_reports,
            read_large,
            repeats=1,
            warmup=0,
        )
        _absolute("analyze_20x1000x20_with_reports", result.candidate_s, 30.0)
