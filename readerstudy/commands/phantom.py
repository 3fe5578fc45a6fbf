"""``readerstudy phantom``: synthetic NCCT phantoms with per-region truth."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Generate synthetic NCCT phantoms with per-region truth.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="phantom")
