"""``readerstudy study``: build, lock, monitor and export a reader study."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build, lock, monitor and export a reader study.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="study")
