"""``readerstudy simulate``: simulated readers through the reading API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RELIANCE_HELP = (
    "Probability that a reader takes the AI's call for a unit they are unsure of in aided "
    "reads: 0.7 for every reader, r2=0.2 for one (repeatable; default: each profile's "
    "calibrated reliance, docs/simulator.md; 0 ignores the AI)."
)


def simulate(
    study: Annotated[Path, typer.Argument(help="A locked study folder.")],
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the readers (default: study seed).")
    ] = None,
    pin: Annotated[
        str,
        typer.Option("--pin", help="PIN of the simulated readers (set where none is set yet)."),
    ] = "sim-0000",
    db: Annotated[str | None, typer.Option("--db", help="Shared store URL.")] = None,
    reliance: Annotated[
        list[str] | None,
        typer.Option("--reliance", help=RELIANCE_HELP),
    ] = None,
) -> None:
    """Read every session of a locked study with simulated readers (paper-like defaults).

    Where unsure, a reader takes the AI's call with the probability ``--reliance``. Time is
    simulated: washouts pass without waiting, and stored dates start on the study's simulated
    calendar. Each read goes through the same ReaderSession API as a workstation.
    """
    from readerstudy.study.clock import SimulatedTime
    from readerstudy.study.protocol import Study
    from readerstudy.workflows.simulate import SimulationConfig, parse_reliance, simulate_study

    every, by_reader = parse_reliance(reliance or [])
    with Study.open(study, db=db, time=SimulatedTime()) as opened:
        config = SimulationConfig(
            seed=opened.definition.seed if seed is None else seed,
            reliance=every,
            reader_reliance=by_reader,
        )
        summary = simulate_study(opened, config=config, pin=pin)
    typer.echo(
        f"simulated {summary.reads} reads by {summary.readers} readers "
        f"({summary.sessions_completed} sessions, {summary.simulated_days:.1f} simulated days)"
    )


def register(root: typer.Typer) -> None:
    root.command("simulate")(simulate)
