"""``readerstudy dicom``: inspect, convert and de-identify head-CT series."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspect, convert and de-identify head-CT series.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dicom")
