"""``readerstudy demo``: build the synthetic demo study and run it end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from readerstudy.commands.simulate import RELIANCE_HELP
from readerstudy.commands.study import DesignOpt

PLAN = """\
readerstudy demo will:
  1. generate synthetic NCCT phantoms ({cases} cases; cached in {out}/phantoms)
  2. import them into {out}/study (4 readers, {design} design, 14-day washout)
  3. precompute the embedded model's AI outputs for the aided session
  4. {read}
  5. print the analysis summary and point to report.html{then}"""

WORKSTATION_STEP = """
  6. open the reading workstation on the same cases for you (reader "Demo reader")"""


def demo(
    headless: Annotated[
        bool,
        typer.Option("--headless", help="Always simulate the readers; never open a window."),
    ] = False,
    cases: Annotated[int, typer.Option("--cases", help="Number of phantom cases.")] = 24,
    out: Annotated[
        Path, typer.Option("--out", help="Demo folder; phantoms and AI outputs are reused.")
    ] = Path("demo-study"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Delete the demo folder first and rebuild everything.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of phantoms, orders, readers.")] = 2022,
    design: DesignOpt = "sequential",
    reliance: Annotated[list[str] | None, typer.Option("--reliance", help=RELIANCE_HELP)] = None,
) -> None:
    """Build the synthetic demo study and run the whole reading protocol."""
    from readerstudy.display import display_available
    from readerstudy.workflows.simulate import parse_reliance

    every, by_reader = parse_reliance(reliance or [])
    window = not headless and display_available()
    read = "simulate the four readers through the reading API" + (
        " (a simulated 14-day washout)" if window else " (no display)"
    )
    typer.echo(
        PLAN.format(
            read=read,
            then=WORKSTATION_STEP if window else "",
            cases=cases,
            out=out,
            design=design,
        )
    )

    from readerstudy.workflows.demo import prepare_workstation_study, run_demo

    result = run_demo(
        out,
        n_cases=cases,
        seed=seed,
        fresh=fresh,
        design=design,
        reliance=every,
        reader_reliance=by_reader,
        echo=typer.echo,
    )
    typer.echo("")
    for line in result.summary:
        typer.echo(line)
    typer.echo(f"\nreport: {result.report}")
    typer.echo(f"study:  {result.study} (readerstudy study status {result.study})")
    if not window:
        return
    typer.echo("\n6/6 workstation")
    mine = prepare_workstation_study(out, n_cases=cases, seed=seed, echo=typer.echo)
    typer.echo(
        f"\nOpening the workstation on {mine.study}: log in as Demo reader with PIN {mine.pin}. "
        "F1 shows the keys; session 1 is unaided, session 2 (aided) opens right after it. "
        f"Later: readerstudy read {mine.study}"
    )
    from readerstudy.gui.app import run

    code = run(mine.study)
    if code:
        raise typer.Exit(code=code)


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)
