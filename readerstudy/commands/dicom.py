"""``readerstudy dicom``: inspect, convert and de-identify head-CT series."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Inspect, convert and de-identify head-CT series.", no_args_is_help=True)

PROGRESS_MIN_FILES = 50  # folders with fewer files finish before a bar would help


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dicom")


def _progress(description: str):
    """A progress bar that appears once a folder has many files."""
    from readerstudy.commands._progress import progress_bar

    return progress_bar(description, min_total=PROGRESS_MIN_FILES)


def _nothing_found(
    path: Path, reasons: list[str], skipped: int = 0, what: str = "DICOM image series"
) -> str:
    """Why ``path`` gave no DICOM: how many files were unreadable (the first reason shown)
    or skipped."""
    parts = []
    if reasons:
        parts.append(f"{len(reasons)} file(s) unreadable or not DICOM, first: {reasons[0]}")
    if skipped:
        parts.append(f"{skipped} non-DICOM or non-image file(s) skipped")
    why = f" ({'; '.join(parts)})" if parts else ""
    return f"{path}: no {what} found{why}"


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.2f}{unit}"


@app.command()
def inspect(
    path: Annotated[Path, typer.Argument(help="DICOM folder, file or DICOMDIR, or a NIfTI file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")
    ] = False,
) -> None:
    """List the image series under PATH and mark the one `convert` would read."""
    from readerstudy.imaging.cases import is_nifti
    from readerstudy.imaging.errors import ImagingError
    from readerstudy.imaging.series import choose_series, scan_tree
    from readerstudy.imaging.volume import load_volume

    if path.is_file() and is_nifti(path):
        volume = load_volume(path)
        info = {
            "path": str(path),
            "size": list(volume.image.GetSize()),
            "pixel_type": volume.pixel_type,
            "spacing_mm": list(volume.image.GetSpacing()),
            "origin_mm": list(volume.image.GetOrigin()),
            "direction": list(volume.image.GetDirection()),
            "warnings": list(volume.warnings),
        }
        typer.echo(
            json.dumps(info, indent=2)
            if as_json
            else "\n".join(f"{k}: {v}" for k, v in info.items())
        )
        return
    with _progress("reading headers") as progress:
        result = scan_tree(path, progress=progress)
    if not result.series:
        reasons = [reason for _, reason in result.unreadable]
        raise ImagingError(_nothing_found(path, reasons, result.skipped))
    chosen = None
    if any(s.modality == "CT" for s in result.series):
        chosen = choose_series(result.series).uid
    if as_json:
        payload = {
            "path": str(path),
            "chosen": chosen,
            "series": [s.to_dict() for s in result.series],
            "unreadable": [reason for _, reason in result.unreadable],
            "skipped": result.skipped,
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{path}: {len(result.series)} series")
    for column in (
        "",
        "series UID",
        "mod",
        "description",
        "slices",
        "thick",
        "spacing",
        "orient",
        "tilt",
        "kernel",
        "image type",
        "transfer syntax",
    ):
        table.add_column(column)
    for s in result.series:
        table.add_row(
            "*" if s.uid == chosen else "",
            s.uid if len(s.uid) <= 20 else "…" + s.uid[-19:],
            s.modality,
            s.description,
            str(s.n_slices),
            _fmt(s.thickness_mm),
            _fmt(s.spacing_mm),
            s.orientation,
            _fmt(s.tilt_deg),
            s.kernel,
            "\\".join(s.image_type),
            s.transfer_syntax,
        )
    console = Console()
    console.print(table)
    for s in result.series:
        for line in ([s.problem] if s.problem else []) + list(s.warnings):
            console.print(f"[yellow]series {s.uid}: {line}[/yellow]", markup=True, highlight=False)
    for _, reason in result.unreadable:
        console.print(f"[red]unreadable: {reason}[/red]", highlight=False)
    if chosen:
        console.print(f"* default choice for reading: {chosen}")


@app.command()
def convert(
    path: Annotated[Path, typer.Argument(help="DICOM folder, file or DICOMDIR, or a NIfTI file.")],
    out: Annotated[Path, typer.Argument(help="Output NIfTI file (.nii or .nii.gz).")],
    series: Annotated[
        str | None,
        typer.Option("--series", help="Series Instance UID to read instead of the default choice."),
    ] = None,
) -> None:
    """Write the chosen series as a NIfTI volume in HU, tilt-corrected, geometry preserved."""
    from readerstudy.imaging.cases import is_nifti
    from readerstudy.imaging.errors import ImagingError
    from readerstudy.imaging.volume import load_volume
    from readerstudy.imaging.writer import write_nifti

    if not is_nifti(out):
        raise ImagingError(f"{out}: the output must end in .nii or .nii.gz")
    with _progress("reading series") as progress:
        volume = load_volume(path, series_uid=series, progress=progress)
    write_nifti(volume.image, out)
    size = "x".join(str(v) for v in volume.image.GetSize())
    spacing = " x ".join(f"{v:.3g}" for v in volume.image.GetSpacing())
    tilt = f", gantry tilt {volume.tilt_deg:.2f} deg corrected" if volume.tilt_deg else ""
    typer.echo(f"wrote {out}: {size} voxels, {spacing} mm, {volume.pixel_type} HU{tilt}")
    for line in volume.warnings:
        typer.echo(f"warning: {line}", err=True)


@app.command()
def deidentify(
    src: Annotated[Path, typer.Argument(help="Folder (or file) of DICOM to de-identify.")],
    dst: Annotated[Path, typer.Argument(help="Output folder, outside SRC.")],
    salt: Annotated[
        str,
        typer.Option(
            "--salt",
            envvar="READERSTUDY_DEID_SALT",
            help="Study secret: the same secret maps the same UIDs and pseudonyms on every run. "
            "Keep it out of the study folder.",
        ),
    ],
    keep_private: Annotated[
        list[str] | None,
        typer.Option(
            "--keep-private", help="Private creator whose elements are kept (repeatable)."
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Where to write the JSON report (default: beside DST, never inside it, since "
            "it lists the source file names).",
        ),
    ] = None,
) -> None:
    """De-identify SRC into DST (DICOM PS3.15 Basic Profile); pixel data is left untouched."""
    from analysis.files import staged_folder
    from readerstudy.imaging.deid import check_destination, deidentify_tree
    from readerstudy.imaging.errors import ImagingError

    check_destination(src, dst)  # before staging: the staged folder lies beside dst
    # Staged, so a file that fails half-way through leaves no partial copy in dst.
    with _progress("de-identifying") as progress, staged_folder(dst) as stage:
        result = deidentify_tree(
            src, stage, salt=salt, whitelist_private=keep_private or (), progress=progress
        )
        if not result.files:
            nothing = _nothing_found(src, result.skipped, what="DICOM files to de-identify")
            raise ImagingError(f"{nothing}; nothing was written")
    report_path = result.to_json(report or dst.parent / f"{dst.name}_deid_report.json")
    typer.echo(
        f"de-identified {len(result.files)} file(s) into {dst}; "
        f"{len(result.skipped)} skipped; report {report_path}"
    )
    for change in result.flagged:
        typer.echo(f"check pixels: {change.source}: {'; '.join(change.flags)}", err=True)
