"""``readerstudy console``: the coordinator's window (Qt) over a study, or a new one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from readerstudy.errors import ReaderStudyError


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
    from readerstudy.display import display_available

    if not display_available():
        raise ReaderStudyError(
            "readerstudy console opens a window and needs a display (DISPLAY or "
            "WAYLAND_DISPLAY unset, or QT_QPA_PLATFORM=offscreen); on a headless machine use "
            "the `readerstudy study` commands instead"
        )
    from readerstudy.gui.console.app import run

    code = run(study, db=db)
    if code:
        raise typer.Exit(code=code)


def register(root: typer.Typer) -> None:
    root.command("console")(console)
