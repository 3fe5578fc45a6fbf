"""``readerstudy atlas``: the embedded ASPECTS atlas."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspect and export the embedded ASPECTS atlas.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="atlas")
