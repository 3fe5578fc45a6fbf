"""``readerstudy read``: open the reading workstation (Qt) on a locked study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def read(
    study: Annotated[Path, typer.Argument(help="A locked study folder.")],
    db: Annotated[
        str | None,
        typer.Option("--db", help="Shared store URL (PostgreSQL); the study's own by default."),
    ] = None,
) -> None:
    """Open the workstation: readers log in with their PIN and read their current session.

    Needs a display. Closing the window logs the reader out; an unfinished read reopens,
    flagged, at the next login.
    """
    from readerstudy.display import require_display

    require_display("read", "`readerstudy simulate`")
    from readerstudy.gui.app import run

    code = run(study, db=db)
    if code:
        raise typer.Exit(code=code)


def register(root: typer.Typer) -> None:
    root.command("read")(read)
