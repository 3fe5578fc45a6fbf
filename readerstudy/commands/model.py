"""``readerstudy model``: run, train and evaluate the embedded ASPECTS model."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from readerstudy.errors import ReaderStudyError

app = typer.Typer(help="Run, train and evaluate the embedded ASPECTS model.", no_args_is_help=True)


class NetworkSize(StrEnum):
    lite = "lite"
    full = "full"


MethodOption = Annotated[
    str,
    typer.Option(
        "--method",
        help="Model to run: 'dualpath' (the paper's dual-path network: segmentation scored by "
        "overlap with the registered atlas), 'asymmetry' (left-right density comparison per "
        "ASPECTS unit, the yardstick) or 'auto' (dualpath when its weights are present, else "
        "asymmetry). Outputs are cached per (case content, method version), so a new method or "
        "new weights recompute every case.",
    ),
]
DeviceOption = Annotated[
    str,
    typer.Option(
        "--device",
        help="Where a method runs: auto (CUDA when torch sees a GPU, else the CPU), cpu, cuda, "
        "cuda:N or mps (the asymmetry method always runs on the CPU).",
    ),
]
WeightsOption = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        exists=True,
        help="The method's weights instead of the shipped ones: for dualpath a weights folder "
        "(model.json, weights.pt, thresholds.json, as `model train` writes it), for asymmetry a "
        "calibration JSON; new weights change the version hash, so cases are recomputed.",
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
    method: MethodOption = "auto",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
) -> None:
    """Score the 20 ASPECTS units of one case and write its AI outputs."""
    from readerstudy.commands._batch import print_case_warnings
    from readerstudy.imaging.cases import nifti_stem
    from readerstudy.workflows.ai import MethodChoice, predict_case

    table = predict_case(case, out, method=MethodChoice(method, device, weights))
    print_case_warnings(out, table["case"])
    called = table.loc[table["call"] == 1, "unit"].tolist()
    typer.echo(
        f"case {nifti_stem(case)}: {len(called)} unit(s) called "
        f"({', '.join(called) or 'none'}); outputs in {out}"
    )


@app.command("predict-many")
def predict_many_cmd(
    cases: Annotated[
        Path, typer.Argument(help="A folder of case folders; each folder's name is its case id.")
    ],
    out: OutOption,
    method: MethodOption = "auto",
    device: DeviceOption = "auto",
    weights: WeightsOption = None,
) -> None:
    """Score every case in a folder (finished cases are taken from the cache).

    A case that fails does not stop the others; the command then lists the failed cases with
    their reasons (also in OUT/failed.csv) and exits with status 2.
    """
    from readerstudy.commands._batch import batch_report, print_case_warnings
    from readerstudy.commands._progress import progress_bar
    from readerstudy.workflows.ai import MethodChoice, predict_many

    with batch_report(out), progress_bar("predicting") as update:
        table = predict_many(
            cases,
            out,
            method=MethodChoice(method, device, weights),
            progress=lambda case_id, done, total: update(done, total, f"case {case_id}"),
        )
    print_case_warnings(out, table["case"])
    typer.echo(f"{table['case'].nunique()} case(s) scored; {out / 'ai_regions.csv'}")


DataOption = Annotated[
    list[Path],
    typer.Option(
        "--data",
        exists=True,
        file_okay=False,
        help="A labelled folder: case folders, truth.csv and masks/<case>.nii.gz (a phantom set "
        "from `readerstudy phantom generate`, or a site's own cases). Repeat for several sets, "
        "e.g. own and other-anatomy (--anatomy scct) phantoms.",
    ),
]


def _model_errors():
    """Model errors (bad weights, data, calibration) as one-line domain errors."""
    import contextlib

    from model.errors import ModelError

    @contextlib.contextmanager
    def mapped():
        try:
            yield
        except ModelError as exc:
            raise ReaderStudyError(str(exc)) from None

    return mapped()


def _counter(update, total: int):
    """A per-case progress callback that advances ``update(done, total, label)``."""
    done: list[str] = []

    def tick(case: str) -> None:
        done.append(case)
        update(len(done), total, f"case {case}")

    return tick


def _ci(entry: dict) -> str:
    low, high = entry["ci"]
    return f"{entry['estimate']:.3f} ({low:.3f}-{high:.3f})"


def _number(value) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


def evaluation_lines(name: str, report: dict) -> list[str]:
    """The side-by-side summary of :func:`model.evaluate.compare` as text lines."""
    methods = ("dualpath", "asymmetry")
    rows = {m: report["methods"][m] for m in methods}
    failures = report["registration_failures"]
    network = report["network"]
    lines = [
        f"{name}: {report['n_cases']} case(s) evaluated, {len(failures)} not registered"
        f"{' (' + ', '.join(list(failures)[:5]) + ')' if failures else ''}; network "
        f"{network['config']} {network['weights_sha256'][:12]} on {report['device']}",
        f"{'':34}{'dualpath':>22}{'asymmetry':>22}",
    ]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"{label:34}" + "".join(f"{v:>22}" for v in values))

    row("region AUC (95% CI, clustered)", [_ci(rows[m]["units"]["auc"]) for m in methods])
    row("sensitivity (calls)", [_number(rows[m]["units"]["sensitivity"]) for m in methods])
    row("specificity (calls)", [_number(rows[m]["units"]["specificity"]) for m in methods])
    row(
        "false calls per lesion-free case",
        [_number(rows[m]["false_calls_per_lesion_free_case"]) for m in methods],
    )
    for key, label in (("dsc", "DSC"), ("precision", "precision"), ("recall", "recall")):
        row(f"{label} pooled", [_number(rows[m]["segmentation"]["pooled"][key]) for m in methods])
        row(
            f"{label} mean, cases with a lesion",
            [_number(rows[m]["segmentation"]["mean_on_lesion_cases"][key]) for m in methods],
        )
    difference = report["difference_auc_dualpath_minus_asymmetry"]
    low, high = difference["ci"]
    lines.append(
        f"AUC difference dualpath - asymmetry: {difference['estimate']:+.3f} "
        f"({low:+.3f} to {high:+.3f}), p = {difference['p']:.3g} (paired, clustered by case)"
    )
    lines.append(
        f"{'case':12}{'DSC net':>10}{'DSC base':>10}{'prec net':>10}{'prec base':>10}"
        f"{'rec net':>10}{'rec base':>10}{'truth':>7}{'calls net':>10}{'calls base':>11}"
    )
    by_case: dict[str, dict] = {}
    for entry in report["cases"]:
        by_case.setdefault(entry["case"], {})[entry["method"]] = entry
    for case, entry in by_case.items():
        net, base = entry["dualpath"], entry["asymmetry"]
        lines.append(
            f"{case:12}"
            + "".join(
                f"{_number(e[k]):>10}" for k in ("dsc", "precision", "recall") for e in (net, base)
            )
            + f"{net['positive_units']:>7}{net['calls']:>10}{base['calls']:>11}"
        )
    return lines


@app.command("evaluate")
def evaluate_cmd(
    data: DataOption,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights",
            exists=True,
            file_okay=False,
            help="The dual-path weights folder (default: the shipped model/weights/dualpath-lite).",
        ),
    ] = None,
    device: DeviceOption = "auto",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            file_okay=False,
            help="Also write every figure (per case and pooled) as <set>.json per --data set "
            "here; WEIGHTS/evaluation is where the model card looks (`model card`).",
        ),
    ] = None,
) -> None:
    """The dual-path network beside the asymmetry method on labelled cases.

    Per set: lesion DSC, precision and recall per case and pooled (likelihood >= 0.5), region
    (unit-level) ROC AUC with Obuchowski's clustered 95% CI (cases are clusters of 20 units)
    for both methods and their paired difference, calls and false calls per lesion-free case.
    """
    import json

    from analysis.files import write_text
    from readerstudy.commands._progress import progress_bar
    from readerstudy.workflows.labelled import check_labelled, labelled_cases

    # Every set is checked before the first one takes minutes.
    totals = {folder: len(check_labelled(folder)[0]) for folder in data}
    with _model_errors():
        from model.dualpath import DualPathMethod
        from model.evaluate import compare

        network = DualPathMethod(weights, device=device)
        for folder, total in totals.items():
            with progress_bar(f"evaluating {folder.name}") as update:
                report = compare(labelled_cases(folder), network, progress=_counter(update, total))
            report["command"] = (
                f"readerstudy model evaluate --data {folder}"
                + (f" --weights {weights}" if weights else "")
                + f" --device {device}"
            )
            typer.echo("\n".join(evaluation_lines(str(folder), report)))
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                write_text(out / f"{folder.name}.json", json.dumps(report, indent=2) + "\n")
                typer.echo(f"written to {out / f'{folder.name}.json'}")


@app.command("train")
def train_cmd(
    data: Annotated[
        list[Path],
        typer.Option(
            "--data",
            exists=True,
            file_okay=False,
            help="Training folder: case folders (DICOM or NIfTI) with masks/<case>.nii.gz and "
            "truth.csv, as `readerstudy phantom generate` writes them, or a site's own cases in "
            "that layout. Repeat for several folders.",
        ),
    ],
    config: Annotated[
        NetworkSize,
        typer.Option(
            "--config",
            help="lite: narrow, 128 x 128 input, for CPUs (the shipped weights); full: the "
            "paper's scale (512 x 512), for a GPU.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            file_okay=False,
            help="Weights folder to write (weights.pt, model.json, thresholds.json, "
            "MODEL_CARD.md; checkpoint.pt and cache/ while training). A folder with a checkpoint "
            "of the same settings resumes.",
        ),
    ],
    device: DeviceOption = "auto",
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="At most this many.")] = 100,
    max_minutes: Annotated[
        float | None,
        typer.Option("--max-minutes", help="Stop after the epoch that passes this wall time."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Split, sampling and init seed.")] = 0,
    samples_per_epoch: Annotated[
        int, typer.Option("--samples-per-epoch", min=1, help="Slices drawn per epoch.")
    ] = 512,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Slices per step.")] = 8,
    val_fraction: Annotated[
        float,
        typer.Option(
            "--val-fraction",
            min=0.01,
            max=0.99,
            help="Share of the cases (stratified by lesion presence) kept for the validation "
            "loss, early stopping and the thresholds.",
        ),
    ] = 0.2,
    dehaze: Annotated[
        bool, typer.Option("--dehaze/--no-dehaze", help="The dark-image enhancement step.")
    ] = True,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Ignore a checkpoint in OUT and start again.")
    ] = False,
) -> None:
    """Train the dual-path network, then choose its per-unit thresholds on the validation cases.

    The recipe is the paper's: cross-entropy plus Dice loss, SGD with momentum, a stepped
    power-decay learning rate from 0.002, early stopping on the validation loss. The
    validation cases (a seeded fifth, stratified by lesion presence) then give the per-unit
    thresholds by region-level ROC, and the folder gets its model card.
    """
    import json
    import shlex

    from readerstudy.commands._progress import progress_bar
    from readerstudy.imaging.cases import nifti_stem
    from readerstudy.workflows.ai import load_scan
    from readerstudy.workflows.labelled import TRUTH_FILE

    lacking = [str(folder) for folder in data if not (folder / TRUTH_FILE).is_file()]
    if lacking:
        raise ReaderStudyError(
            f"{', '.join(lacking)}: no {TRUTH_FILE} (case, unit, truth); the per-unit thresholds "
            "are chosen on the validation cases' unit truth"
        )
    with _model_errors():
        from model.dualpath import calibrate_thresholds, validation_cases
        from model.errors import CalibrationError
        from model.model_card import write_model_card
        from model.preprocess import PreprocessConfig
        from model.train import CARD_FILE, TrainRecipe, train

        def load(path: Path):
            return load_scan(path, nifti_stem(path))

        recipe = TrainRecipe(
            epochs=epochs,
            max_minutes=max_minutes,
            seed=seed,
            samples_per_epoch=samples_per_epoch,
            batch_size=batch_size,
            val_fraction=val_fraction,
        )
        with progress_bar("training") as update:
            card = train(
                data,
                config.value,
                out,
                recipe=recipe,
                preprocess=PreprocessConfig(dehaze=dehaze),
                device=device,
                resume=not fresh,
                load_image=load,
                progress=update,
            )
        command = ["readerstudy", "model", "train"]
        command += [item for folder in data for item in ("--data", str(folder))]
        command += ["--config", config.value, "--out", str(out), "--device", device]
        command += ["--epochs", str(epochs), "--seed", str(seed)]
        command += ["--samples-per-epoch", str(samples_per_epoch), "--batch-size", str(batch_size)]
        command += ["--val-fraction", f"{val_fraction:g}"]
        command += [] if max_minutes is None else ["--max-minutes", f"{max_minutes:g}"]
        command += [] if dehaze else ["--no-dehaze"]
        card["training"]["command"] = shlex.join(command)
        (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        names = card["training"]["data"]["val_cases"]
        try:
            with progress_bar("thresholds") as update:
                thresholds = calibrate_thresholds(
                    out,
                    validation_cases(data, names, load),
                    device=device,
                    progress=_counter(update, len(names)),
                )
        except CalibrationError as exc:
            raise ReaderStudyError(
                f"the network is trained (in {out}), but its thresholds could not be chosen on "
                f"the {len(names)} validation case(s): {exc}; run `readerstudy model calibrate "
                f"--weights {out} --data DIR` on labelled cases with lesions"
            ) from None
        write_model_card(out)
    region = card["metrics"].get("region_auc", {})
    typer.echo(
        f"trained {config.value} for {card['training']['epochs_run']} epoch(s) "
        f"({card['training']['stopped']}); validation loss {card['metrics']['val_loss']:.4f}"
        + (f", region AUC {region['estimate']:.3f}" if region else "")
        + f"; thresholds from {len(thresholds.provenance['validation_cases'])} validation "
        f"case(s); weights folder {out}"
    )


WeightsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        exists=True,
        file_okay=False,
        help="A dual-path weights folder (default: the shipped model/weights/dualpath-lite).",
    ),
]


@app.command("calibrate")
def calibrate_cmd(
    data: DataOption,
    weights: WeightsDirOption = None,
    device: DeviceOption = "auto",
) -> None:
    """Choose the network's per-unit call thresholds on labelled validation cases.

    Region-level ROC as the paper does (Youden J per unit, specificity >= 0.975, a region's
    or all units' cut-off where a unit has fewer than 5 positives or negatives); written as
    thresholds.json into the weights folder. Use validation cases, never the cases you
    evaluate on.
    """
    import itertools

    from readerstudy.commands._progress import progress_bar
    from readerstudy.workflows.labelled import check_labelled, labelled_cases

    total = sum(len(check_labelled(folder)[0]) for folder in data)
    with _model_errors():
        from model.dualpath import WEIGHTS_DIR, calibrate_thresholds

        folder = weights or WEIGHTS_DIR
        with progress_bar("calibrating") as update:
            thresholds = calibrate_thresholds(
                folder,
                itertools.chain.from_iterable(labelled_cases(f) for f in data),
                device=device,
                progress=_counter(update, total),
                provenance={"data": [str(f) for f in data]},
            )
    bases = sorted(set(thresholds.basis.values()))
    typer.echo(
        f"thresholds for 20 units from {len(thresholds.provenance['validation_cases'])} "
        f"case(s) ({', '.join(bases)} ROC) written to {folder / 'thresholds.json'}"
    )


@app.command("card")
def card_cmd(weights: WeightsDirOption = None) -> None:
    """Write MODEL_CARD.md of a weights folder from its measured figures (model.json,
    thresholds.json, evaluation/*.json, timings.json)."""
    with _model_errors():
        from model.dualpath import WEIGHTS_DIR
        from model.model_card import write_model_card

        path = write_model_card(weights or WEIGHTS_DIR)
    typer.echo(f"model card written to {path}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="model")
