"""Small study folders for the protocol tests, written without the imaging layer.

``make_study`` lays out exactly what ``readerstudy study init`` writes (study.toml, cases/,
manifest.csv, truth.csv, cases.csv, ai/ai_regions.csv) with tiny placeholder images, so the
protocol can be tested fast; the init tests import real NIfTI cases. With ``images=True``
the cases are small real NIfTI scans (see :func:`write_scan`) with an AI mask and an atlas
label map each on the scan's grid, as precompute writes them, and a ``levels.csv``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.units import UNITS
from readerstudy.study.clock import SimulatedTime
from readerstudy.study.definition import StudyDefinition, write_definition
from readerstudy.study.protocol import Study
from tests.files import write_table

PIN = "2468"


SCAN_SIZE = (12, 10, 5)
"""(x, y, z) voxels of :func:`write_scan`'s phantom."""


def write_scan(
    path: Path,
    *,
    direction=(1, 0, 0, 0, 1, 0, 0, 0, 1),
    spacing=(0.8, 0.9, 5.0),
    origin=(-4.4, -4.0, 10.0),
    pixel="int16",
) -> Path:
    """A small head-CT-like NIfTI: 20 HU background, a 70 HU block in the patient's LEFT
    anterior corner (the highest LPS x, the lowest y) of the lowest (most inferior) slice.

    The block is placed by world coordinates, so any ``direction`` gives the same anatomy.
    """
    import numpy as np
    import SimpleITK as sitk

    image = sitk.Image(SCAN_SIZE, sitk.sitkInt16 if pixel == "int16" else sitk.sitkFloat32)
    image.SetDirection(direction)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    values = np.full(SCAN_SIZE[::-1], 20, dtype=np.int16 if pixel == "int16" else np.float32)
    points = np.array(
        [
            image.TransformIndexToPhysicalPoint((x, y, z))
            for z in range(SCAN_SIZE[2])
            for y in range(SCAN_SIZE[1])
            for x in range(SCAN_SIZE[0])
        ]
    ).reshape(*SCAN_SIZE[::-1], 3)
    xs, ys, zs = points[..., 0], points[..., 1], points[..., 2]
    block = (xs >= np.sort(np.unique(xs))[-3]) & (ys <= np.sort(np.unique(ys))[2])
    values[block & (zs == zs.min())] = 70
    out = sitk.GetImageFromArray(values)
    out.CopyInformation(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(out, str(path))
    return path


def _write_ai_images(path: Path, code: str) -> None:
    """Likelihood mask and atlas labels on the case's grid (what precompute writes)."""
    import numpy as np
    import SimpleITK as sitk

    scan = sitk.ReadImage(str(path / "cases" / code / "image.nii.gz"))
    likelihood = np.zeros(SCAN_SIZE[::-1], np.float32)
    likelihood[0, :3, -3:] = 0.9
    labels = np.zeros(SCAN_SIZE[::-1], np.uint8)
    labels[:, :, SCAN_SIZE[0] // 2 :] = 1
    for folder, values in (("masks", likelihood), ("atlas", labels)):
        image = sitk.GetImageFromArray(values)
        image.CopyInformation(scan)
        (path / "ai" / folder).mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(image, str(path / "ai" / folder / f"{code}.nii.gz"))


def write_study_folder(
    path: Path,
    *,
    n_cases: int = 6,
    images: bool = False,
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
        if images:
            write_scan(path / "cases" / code / "image.nii.gz")
        else:
            (path / "cases" / code).mkdir(parents=True)
            (path / "cases" / code / "image.nii.gz").write_bytes(b"placeholder " + code.encode())
        for unit in UNITS:
            positive = int(side != "none" and unit.endswith(side) and rng.random() < 0.4)
            truth.append((code, unit, positive))
            p = round(min(1.0, max(0.0, 0.6 * positive + rng.random() * 0.5)), 3)
            ai.append((code, unit, p, int(p >= 0.5)))
    write_table(
        path / "manifest.csv",
        ("case", "format", "content_hash", "source"),
        [(c, "nifti", f"hash-{c}", f"src-{c}") for c in codes],
    )
    write_table(path / "truth.csv", ("case", "unit", "truth"), truth)
    write_table(path / "cases.csv", ("case", "side"), sides)
    (path / "ai" / "masks").mkdir(parents=True)
    write_table(path / "ai" / "ai_regions.csv", ("case", "unit", "probability", "call"), ai)
    if images:
        for code in codes:
            _write_ai_images(path, code)
        write_table(
            path / "levels.csv",
            ("case", "ganglionic", "supraganglionic"),
            [(c, 1, 3) for c in codes],
        )
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
        study = Study.open(folder, time=sim_time, create=True)
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.requires_postgres)])
def backend(request, postgres_url) -> Iterator[tuple[str | None, str | None]]:
    """(db URL, schema): the study folder's SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None, None
        return
    schema = f"study_test_{uuid.uuid4().hex[:12]}"
    yield postgres_url, schema
    from sqlalchemy import create_engine

    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()
