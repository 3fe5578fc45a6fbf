"""``readerstudy atlas``: the embedded ASPECTS atlas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Inspect and export the embedded ASPECTS atlas.", no_args_is_help=True)


@app.command("export")
def export_command(
    out_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder to write <unit>.nii.gz (one binary mask per ASPECTS unit, MNI world "
            "coordinates) and legend.json/legend.csv into; created if missing.",
            file_okay=False,
        ),
    ],
) -> None:
    """Write each of the 20 ASPECTS units as its own mask, plus a legend."""
    from model.anatomy.export import export_unit_masks
    from readerstudy.errors import ReaderStudyError

    try:
        written = export_unit_masks(out_dir)
    except (OSError, ValueError) as exc:
        raise ReaderStudyError(f"atlas export to {out_dir}: {exc}") from exc
    typer.echo(f"wrote {len(written)} unit masks and legend.json/legend.csv to {out_dir}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="atlas")
