"""``readerstudy model``: run the embedded ASPECTS model on cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Run the embedded ASPECTS model on cases.", no_args_is_help=True)

MethodOption = Annotated[
    str,
    typer.Option(
        "--method",
        help="Model to run: 'asymmetry' (left-right density comparison per ASPECTS unit). "
        "Outputs are cached per (case content, method version), so a new method or new "
        "weights recompute every case.",
    ),
]
DeviceOption = Annotated[
    str,
    typer.Option(
        "--device",
        help="Where a method runs: auto, cpu, cuda, cuda:N or mps (the asymmetry method always "
        "runs on the CPU).",
    ),
]
WeightsOption = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        exists=True,
        dir_okay=False,
        help="The method's weights instead of its committed ones (for asymmetry: a calibration "
        "JSON); new weights change the version hash, so cases are recomputed.",
    ),
]
OutOption = Annotated[
    Path,
    typer.Option(
        "--out",
        help="Output folder: ai_regions.csv, masks/<case>.nii.gz, atlas/<case>.nii.gz, "
        "quicklook/<case>.png and predictions/<case>.json are written here; failed.csv and "
        "failed/<case>.png for cases that failed.",
    ),
]


@app.command("predict")
def predict_cmd(
    case: Annotated[
        Path, typer.Argument(help="A case folder (DICOM series or NIfTI inside) or a NIfTI file.")
    ],
    out: OutOption,
    method: MethodOption = "asymmetry",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
) -> None:
    """Score the 20 ASPECTS units of one case and write its AI outputs."""
    from readerstudy.ai import MethodChoice, case_id_of, predict_case
    from readerstudy.commands._batch import print_case_warnings

    table = predict_case(case, out, method=MethodChoice(method, device, weights))
    print_case_warnings(out, table["case"])
    called = table.loc[table["call"] == 1, "unit"].tolist()
    typer.echo(
        f"case {case_id_of(case)}: {len(called)} unit(s) called "
        f"({', '.join(called) or 'none'}); outputs in {out}"
    )


@app.command("predict-many")
def predict_many_cmd(
    cases: Annotated[
        Path, typer.Argument(help="A folder of case folders; each folder's name is its case id.")
    ],
    out: OutOption,
    method: MethodOption = "asymmetry",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
) -> None:
    """Score every case in a folder (finished cases are taken from the cache).

    A case that fails does not stop the others; the command then lists the failed cases with
    their reasons (also in OUT/failed.csv) and exits with status 2.
    """
    from readerstudy.ai import MethodChoice, predict_many
    from readerstudy.commands._batch import batch_report, print_case_warnings
    from readerstudy.commands._progress import progress_bar

    with batch_report(out), progress_bar("predicting") as update:
        table = predict_many(
            cases,
            out,
            method=MethodChoice(method, device, weights),
            progress=lambda case_id, done, total: update(done, total, f"case {case_id}"),
        )
    print_case_warnings(out, table["case"])
    typer.echo(f"{table['case'].nunique()} case(s) scored; {out / 'ai_regions.csv'}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="model")
