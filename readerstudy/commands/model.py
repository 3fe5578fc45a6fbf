"""``readerstudy model``: run the embedded ASPECTS model on cases."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run the embedded ASPECTS model on cases.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="model")
