"""Small study folders for the protocol tests, written without the imaging layer.

``make_study`` lays out exactly what ``readerstudy study init`` writes (study.toml, cases/,
manifest.csv, truth.csv, cases.csv, ai/ai_regions.csv) with tiny placeholder images, so the
protocol can be tested fast; the init tests import real NIfTI cases.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from analysis.units import UNITS
from readerstudy.study.clock import SimulatedTime
from readerstudy.study.definition import StudyDefinition, write_definition
from readerstudy.study.protocol import Study

PIN = "2468"


def _write(path: Path, columns, rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def write_study_folder(
    path: Path,
    *,
    n_cases: int = 6,
    readers=("r1", "r2"),
    design: str = "sequential",
    confidence: str = "1-5",
    seed: int = 3,
    **definition,
) -> StudyDefinition:
    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    spec = StudyDefinition.model_validate(
        {
            "name": "teststudy",
            "design": design,
            "seed": seed,
            "idle_timeout_s": 60,
            "readers": [{"id": r, "name": r.upper()} for r in readers],
            "rating": {"confidence": confidence},
            **definition,
        }
    )
    write_definition(path, spec)
    codes = [f"C{i:02d}" for i in range(1, n_cases + 1)]
    truth, sides, ai = [], [], []
    for code in codes:
        side = rng.choice(["left", "right", "none"])
        sides.append((code, side))
        (path / "cases" / code).mkdir(parents=True)
        (path / "cases" / code / "image.nii.gz").write_bytes(b"placeholder " + code.encode())
        for unit in UNITS:
            positive = int(side != "none" and unit.endswith(side) and rng.random() < 0.4)
            truth.append((code, unit, positive))
            p = round(min(1.0, max(0.0, 0.6 * positive + rng.random() * 0.5)), 3)
            ai.append((code, unit, p, int(p >= 0.5)))
    _write(
        path / "manifest.csv",
        ("case", "format", "content_hash", "source"),
        [(c, "nifti", f"hash-{c}", f"src-{c}") for c in codes],
    )
    _write(path / "truth.csv", ("case", "unit", "truth"), truth)
    _write(path / "cases.csv", ("case", "side"), sides)
    (path / "ai" / "masks").mkdir(parents=True)
    _write(path / "ai" / "ai_regions.csv", ("case", "unit", "probability", "call"), ai)
    return spec


@pytest.fixture
def sim_time() -> SimulatedTime:
    return SimulatedTime()


@pytest.fixture
def make_study(tmp_path, sim_time):
    """``make_study(**kw) -> Study``: a locked study with PIN 2468 for every reader."""
    opened: list[Study] = []

    def make(*, lock: bool = True, **kw) -> Study:
        folder = tmp_path / f"study{len(opened)}"
        spec = write_study_folder(folder, **kw)
        study = Study.open(folder, time=sim_time)
        opened.append(study)
        if lock:
            study.lock()
            for reader in spec.reader_ids:
                study.set_pin(reader, PIN)
        return study

    yield make
    for study in opened:
        study.close()


def all_negative(view) -> dict:
    """Answers calling every unit normal, with the lowest confidence where asked."""
    rating = {"1-5": 1, "0-100": 0}.get(view.confidence.value)
    return {u: {"call": 0, "rating": rating} for u in view.units}
