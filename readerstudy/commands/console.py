"""``readerstudy console``: the coordinator's window (Qt) over a study, or a new one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def console(
    study: Annotated[
        Path | None,
        typer.Argument(help="A study folder; without it the console offers new or open study."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Shared store URL (PostgreSQL); the study's own by default."),
    ] = None,
) -> None:
    """Set up, prepare, watch and close a study: the new-study wizard, AI outputs and
    quick-looks, PINs and lock, live monitoring, washout overrides, export and analysis.

    Needs a display. Everything it does is also a `readerstudy study` command.
    """
    from readerstudy.display import require_display

    require_display("console", "the `readerstudy study` commands")
    from readerstudy.gui.console.app import run

    code = run(study, db=db)
    if code:
        raise typer.Exit(code=code)


def register(root: typer.Typer) -> None:
    root.command("console")(console)
