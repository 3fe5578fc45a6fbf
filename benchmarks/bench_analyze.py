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


def _scenario(
    label: str,
    study: dict[str, pd.DataFrame],
    folder: Path,
    *,
    targets: tuple[float, float],
    repeats: tuple[int, int],
    warmup: int = 1,
) -> None:
    """Time ``analyze`` (numbers, then with reports) on ``study`` against reading its CSVs."""
    paths = _written(study, folder)

    def read_csvs() -> dict:
        return {name: pd.read_csv(path) for name, path in paths.items()}

    def numbers() -> object:
        return analyze(
            study["ratings"],
            study["truth"],
            times=study["times"],
            cases=study["cases"],
            ai=study["ai"],
        )

    def with_reports() -> None:
        write_reports(numbers(), folder / f"{label}_reports")

    for kind, candidate, target, n in zip(
        ("numbers", "with_reports"), (numbers, with_reports), targets, repeats, strict=True
    ):
        result = compare(
            f"analyze_{label}_{kind}_vs_read_csv",
            candidate,
            read_csvs,
            repeats=n,
            warmup=warmup,
        )
        _absolute(f"analyze_{label}_{kind}", result.candidate_s, target)


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _scenario("paper", paper_study(), tmp, targets=(1.0, 5.0), repeats=(5, 3))
        _scenario(
            "20x1000x20",
            paper_study(readers=20, cases=1000, seed=1),
            tmp,
            targets=(30.0, 30.0),
            repeats=(1, 1),
            warmup=0,
        )
