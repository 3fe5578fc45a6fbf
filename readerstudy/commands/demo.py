"""``readerstudy demo``: build the synthetic demo study and run it end to end."""

from __future__ import annotations

from typing import Annotated

import typer

PLAN = """\
readerstudy demo will:
  1. generate synthetic NCCT phantoms (4 readers x 2 sessions, sequential design, 14-day washout)
  2. import them into a demo study folder and lock its schedule
  3. precompute the embedded model's AI outputs for the aided session
  4. {read}
  5. print the analysis summary and point to report.html"""


def demo(
    headless: Annotated[
        bool,
        typer.Option("--headless", help="Always simulate the readers; never open a window."),
    ] = False,
) -> None:
    """Build the synthetic demo study and run the whole reading protocol."""
    from readerstudy.display import display_available

    windowed = not headless and display_available()
    read = (
        "open the workstation for you to read"
        if windowed
        else "simulate the four readers through the reading API (no display)"
    )
    typer.echo(PLAN.format(read=read))
    typer.echo("The demo study is not built yet: its issue (study protocol engine) makes it real.")


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)
