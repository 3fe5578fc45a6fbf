"""``readerstudy phantom``: synthetic NCCT phantoms with per-region truth."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from readerstudy.imaging.formats import ImageFormat

app = typer.Typer(
    help="Generate synthetic NCCT phantoms with per-region truth.", no_args_is_help=True
)


class Anatomy(StrEnum):
    mni152 = "mni152"
    scct = "scct"
    mixed = "mixed"


@app.command("generate")
def generate_command(
    n: Annotated[int, typer.Option("--n", min=1, help="Number of phantoms (cases) to write.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            file_okay=False,
            help="Folder for <case>/ images, truth.csv, cases.csv and masks/; must not "
            "already hold a phantom set.",
        ),
    ],
    seed: Annotated[
        int, typer.Option("--seed", help="Set seed: case i gets a seed derived from it and i.")
    ] = 0,
    fmt: Annotated[
        ImageFormat,
        typer.Option(
            "--format",
            help="dicom: one CT series per case (vendor flavours mixed, gantry tilt applied "
            "when configured); nifti: <case>/image.nii.gz.",
        ),
    ] = ImageFormat.DICOM,
    thin: Annotated[
        bool,
        typer.Option("--thin", help="Write 1.25 mm thin slices instead of 5 mm slices."),
    ] = False,
    anatomy: Annotated[
        Anatomy | None,
        typer.Option(
            "--anatomy",
            help="Source head: mni152 (the atlas's own; the default), scct (a real-CT template "
            "of older adults) or mixed (either, half the cases each; the default with --varied).",
        ),
    ] = None,
    varied: Annotated[
        bool,
        typer.Option(
            "--varied",
            help="Varied heads: size, skull and scalp thickness, atrophy, pitch to 30 degrees, "
            "vertex and posterior-fossa cuts, headrests, table coordinates (docs/model.md).",
        ),
    ] = False,
) -> None:
    """Write N phantoms with per-unit ASPECTS truth (seeded, reproducible)."""
    from model.phantom import PhantomConfig, varied_config
    from readerstudy.commands._progress import progress_bar
    from readerstudy.workflows.phantoms import write_phantom_set

    config = varied_config(thin=thin) if varied else PhantomConfig(thin=thin)
    if anatomy is not None:
        config = replace(config, anatomy=anatomy.value)
    with progress_bar("phantoms") as update:
        result = write_phantom_set(
            out,
            n,
            seed,
            fmt=fmt,
            config=config,
            progress=lambda done, total: update(done, total),
        )
    typer.echo(
        f"wrote {len(result.cases)} phantoms ({result.positive_units} positive units of "
        f"{20 * len(result.cases)}) to {result.out_dir}"
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="phantom")
