"""The demo study: the paper's design at small scale, built from phantoms and read end to end.

Steps: synthetic NCCT phantoms (cached in ``<out>/phantoms``), ``study init`` (4 readers,
sequential or crossover, 14-day washout), AI outputs with the embedded model (``predict_many``,
reused on a rerun), lock, simulated readers through ``ReaderSession`` (who take the AI's call
where unsure, docs/simulator.md), export, and the analysis report.
A failing step raises a ReaderStudyError naming it; nothing is faked.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from readerstudy.errors import ReaderStudyError
from readerstudy.imaging.formats import ImageFormat

if TYPE_CHECKING:
    from readerstudy.study.definition import Design

DEMO_READERS = ("r1", "r2", "r3", "r4")
DEMO_SEED = 2022
WORKSTATION_READER = "demo"
WORKSTATION_PIN = "2022"
"""PIN of the demo's own reader (printed by ``readerstudy demo``; a demo, not a secret)."""


@dataclass(frozen=True)
class WorkstationDemo:
    """The study a person reads in the workstation after the demo."""

    study: Path
    reader: str
    pin: str
    cases: int


@dataclass
class DemoResult:
    study: Path
    steps: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    report: Path | None = None


def _phantoms(out: Path, n_cases: int, seed: int, echo: Callable[[str], None]) -> Path:
    """The demo's DICOM phantom set (mixed vendors), written once and reused."""
    from readerstudy.workflows.phantoms import write_phantom_set

    folder = out / "phantoms"
    marker = folder / f".complete-{n_cases}-{seed}"
    if marker.is_file() and (folder / "truth.csv").is_file():
        echo(f"  phantoms: reusing {n_cases} cached cases in {folder}")
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    echo(f"  phantoms: generating {n_cases} synthetic NCCT cases (DICOM) in {folder} ...")
    write_phantom_set(
        folder,
        n_cases,
        seed,
        fmt=ImageFormat.DICOM,
        progress=lambda done, total: echo(f"  phantom {done}/{total}"),
    )
    marker.touch()
    return folder


def _init_on_phantoms(
    folder: Path,
    phantoms: Path,
    seed: int,
    *,
    readers: Sequence[str],
    design: Design,
    washout_days: float,
    name: str,
    description: str,
    definition_overrides: dict[str, Any],
) -> None:
    """``study init`` of ``folder`` on the demo's phantom set. Both demo studies take the
    same salt, so their cases hash alike and the workstation study reuses the demo's AI
    outputs."""
    from readerstudy.workflows.importer import init_study

    meta = phantoms / "cases.csv"
    init_study(
        folder,
        cases=phantoms,
        truth=phantoms / "truth.csv",
        meta=meta if meta.is_file() else None,
        seed=seed,
        salt=f"readerstudy-demo-{seed}",
        readers=readers,
        design=design,
        washout_days=washout_days,
        name=name,
        description=description,
        definition_overrides=definition_overrides,
    )


def run_demo(
    out: Path,
    *,
    n_cases: int = 24,
    seed: int = DEMO_SEED,
    fresh: bool = False,
    design: str = "sequential",
    reliance: float | None = None,
    reader_reliance: Mapping[str, float] | None = None,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Build, read and analyse the demo study under ``out``; returns what was done.

    ``design`` is ``sequential`` (the paper) or ``crossover``; ``reliance`` and
    ``reader_reliance`` override the simulated readers' reliance on the AI
    (:class:`~readerstudy.workflows.simulate.SimulationConfig`).
    """
    from readerstudy.study.clock import SimulatedTime
    from readerstudy.study.definition import ConfidenceScale, Design
    from readerstudy.study.protocol import AI_DIR, Study
    from readerstudy.workflows.simulate import SimulationConfig, simulate_study

    if n_cases < 4:
        raise ReaderStudyError(f"--cases must be at least 4 for a meaningful demo, got {n_cases}")
    if design not in tuple(Design):
        raise ReaderStudyError(
            f"--design must be {' or '.join(d.value for d in Design)}, got {design!r}"
        )
    unknown = sorted(set(reader_reliance or {}) - set(DEMO_READERS))
    if unknown:
        raise ReaderStudyError(
            f"--reliance for reader(s) not in the demo: {', '.join(unknown)} "
            f"(readers: {', '.join(DEMO_READERS)})"
        )
    try:
        config = SimulationConfig(
            seed=seed, reliance=reliance, reader_reliance=dict(reader_reliance or {})
        )
    except ValueError as exc:
        raise ReaderStudyError(f"simulated readers: {exc}") from None
    out = Path(out)
    study_dir = out / "study"
    result = DemoResult(study=study_dir)
    echo("1/5 cases")
    if fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    phantoms = _phantoms(out, n_cases, seed, echo)
    result.steps.append("phantoms")

    echo(f"2/5 study init (4 readers, {design}, 14-day washout)")
    previous_ai = out / ".ai-cache"
    if study_dir.exists():
        if (study_dir / AI_DIR).is_dir():
            shutil.rmtree(previous_ai, ignore_errors=True)
            shutil.move(study_dir / AI_DIR, previous_ai)
        shutil.rmtree(study_dir)
    _init_on_phantoms(
        study_dir,
        phantoms,
        seed,
        readers=DEMO_READERS,
        design=Design(design),
        washout_days=14,
        name="demo",
        description="readerstudy demo: the design of Chen et al. 2022 on synthetic phantoms",
        definition_overrides={"rating": {"confidence": ConfidenceScale.FIVE_POINT}},
    )
    if previous_ai.is_dir():
        shutil.move(previous_ai, study_dir / AI_DIR)
    result.steps.append("init")

    with Study.open(study_dir, time=SimulatedTime(), create=True) as study:
        echo("3/5 AI outputs for the aided session (embedded model, asymmetry method)")
        from readerstudy.workflows.precompute import precompute_ai

        precomputed = precompute_ai(
            study, progress=lambda case, done, total: echo(f"  AI {done}/{total}")
        )
        echo(f"  {'reused cached' if precomputed.cached else 'computed'} outputs")
        study.lock()
        result.steps.append("ai")

        echo(
            "4/5 simulated readers (paper-like operating points, the AI's call taken where "
            "unsure, simulated 14-day washout)"
        )
        summary = simulate_study(study, config=config)
        echo(
            f"  {summary.reads} reads by {summary.readers} readers over "
            f"{summary.simulated_days:.0f} simulated days"
        )
        result.steps.append("simulate")
        from readerstudy.workflows.export import export_study

        export_study(study, out / "export")

    echo("5/5 analysis")
    from readerstudy.workflows.reports import run_analysis

    # The iMRMC and long-CSV exports are left out: the export step above wrote the tables.
    report = run_analysis(study_dir, out=out / "analysis", exports=False)
    result.summary = list(report.summary)
    result.report = report.html
    result.steps.append("analysis")
    return result


def prepare_workstation_study(
    out: Path, *, n_cases: int = 24, seed: int = DEMO_SEED, echo: Callable[[str], None] = print
) -> WorkstationDemo:
    """A one-reader study on the demo's phantoms for a person at the workstation.

    Built once under ``<out>/workstation`` (progress is kept on a rerun) after
    :func:`run_demo`: the same cases and AI outputs (copied from the demo study, whose cache
    key they match), no washout so the aided session opens as soon as the unaided one is
    done, and no confidence ratings, so a read is the 20 calls.
    """
    from readerstudy.study.definition import ConfidenceScale, Design
    from readerstudy.study.protocol import AI_DIR, Study
    from readerstudy.workflows.precompute import precompute_ai

    out = Path(out)
    folder = out / "workstation"
    demo = WorkstationDemo(folder, WORKSTATION_READER, WORKSTATION_PIN, n_cases)
    if folder.is_dir():
        with Study.open(folder, create=True) as study:
            if study.locked and study.has_pin(WORKSTATION_READER):
                echo(f"  workstation study: reusing {folder} (your progress is kept)")
                return demo
        shutil.rmtree(folder)
    phantoms = _phantoms(out, n_cases, seed, echo)
    _init_on_phantoms(
        folder,
        phantoms,
        seed,
        readers=(WORKSTATION_READER,),
        design=Design.SEQUENTIAL,
        washout_days=0,
        name="demo-workstation",
        description="readerstudy demo: read the synthetic phantoms yourself",
        definition_overrides={
            "rating": {"confidence": ConfidenceScale.NONE},
            "readers": [{"id": WORKSTATION_READER, "name": "Demo reader"}],
        },
    )
    simulated_ai = out / "study" / AI_DIR
    if simulated_ai.is_dir():
        shutil.copytree(simulated_ai, folder / AI_DIR, dirs_exist_ok=True)
    with Study.open(folder, create=True) as study:
        precompute_ai(study, progress=lambda case, done, total: echo(f"  AI {done}/{total}"))
        study.lock()
        study.set_pin(WORKSTATION_READER, WORKSTATION_PIN)
    echo(f"  workstation study: {folder}")
    return demo
