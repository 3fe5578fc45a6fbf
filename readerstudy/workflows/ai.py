"""Run the embedded ASPECTS model on case folders and write the AI outputs of DATA_CONTRACTS.md.

Layout of an output folder::

    <out>/ai_regions.csv            case, unit, probability, call (all cases, all 20 units)
    <out>/masks/<case>.nii.gz       lesion likelihood (0-1) on the scan grid
    <out>/atlas/<case>.nii.gz       the registered ASPECTS label map on the scan grid (UInt8,
                                    values of model.anatomy.LABELS; methods that register)
    <out>/quicklook/<case>.png      ganglionic and supraganglionic slices, atlas and likelihood
    <out>/predictions/<case>.json   method, version hash, device, model (weights sha256, ...),
                                    registration quality, levels, ASPECTS, warnings, per-stage
                                    timings, content hash and the 20 unit rows
    <out>/failed.csv                case, reason: the cases of the last batch that failed
    <out>/failed/<case>.png         the failed alignment, when the registration could draw it

The per-case JSON doubles as the cache: a case whose JSON carries the same content hash and
method hash, with its outputs present, is not recomputed. A batch goes on past a failed case
and raises :class:`BatchError` (exit status 2 in the CLI) once the others are written.
What the model changed or doubted about an input (e.g. air restored in a scan clipped at
0 HU) is kept in the case's JSON; :func:`case_warnings` lists it, naming the case and its file.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.files import atomic_output, check_output_folder, write_text
from readerstudy.errors import ReaderStudyError
from readerstudy.imaging.cases import SourceCase, nifti_stem
from readerstudy.imaging.cases import find_cases as find_source_cases

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import SimpleITK as sitk

    from model.infer import Method, Prediction

REGION_COLUMNS = ["case", "unit", "probability", "call"]
FAILED_TABLE = "failed.csv"
FAILED_DIR = "failed"
LEVEL_COLUMNS = ("ganglionic", "supraganglionic")

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(case_id, done, total)`` after each case (failed ones included)."""


class CaseError(ReaderStudyError):
    """One case cannot be predicted; ``quicklook`` is the failed alignment, when there is one."""

    def __init__(self, message: str, *, quicklook: np.ndarray | None = None) -> None:
        super().__init__(message)
        self.quicklook = quicklook


@dataclass(frozen=True)
class CaseFailure:
    """A case a batch could not predict, and why."""

    case: str
    reason: str
    quicklook: Path | None = None


class BatchError(ReaderStudyError):
    """Some cases of a batch failed; every other case was predicted and written."""

    def __init__(self, failures: list[CaseFailure], table: pd.DataFrame, out_dir: Path) -> None:
        self.failures, self.table, self.out_dir = failures, table, out_dir
        done = table["case"].nunique()
        super().__init__(
            f"{len(failures)} of {len(failures) + done} case(s) failed "
            f"({', '.join(f.case for f in failures[:5])}{', ...' if len(failures) > 5 else ''}); "
            f"{done} other case(s) written to {out_dir}; reasons in {out_dir / FAILED_TABLE}"
        )


@dataclass(frozen=True)
class MethodChoice:
    """Which embedded method runs, where, with which weights (None: the method's own).

    ``auto`` is the dual-path network when its weights are present, else the asymmetry method.
    """

    name: str = "auto"
    device: str = "auto"
    weights: Path | None = None


def _choice(method: str | MethodChoice) -> MethodChoice:
    return method if isinstance(method, MethodChoice) else MethodChoice(method)


def _load(path: Path, case: str):
    from readerstudy.imaging import ImagingError, load_volume
    from readerstudy.imaging.cases import source_case

    try:
        return load_volume(source_case(path).path)
    except ImagingError as exc:
        raise CaseError(f"case {case}: {exc}") from exc


def load_scan(path: Path, case: str) -> sitk.Image:
    """The case's CT volume as Float32 HU in LPS (what model methods take): a DICOM series, or
    a NIfTI file or folder.

    A folder holding one NIfTI file is read from it (:mod:`readerstudy.imaging.cases`).
    """
    import SimpleITK as sitk

    return sitk.Cast(_load(path, case).image, sitk.sitkFloat32)


def resolved(method: str | MethodChoice = "auto") -> MethodChoice:
    """The choice with ``auto`` replaced by the method it stands for."""
    from model.infer import resolve_method

    choice = _choice(method)
    return MethodChoice(resolve_method(choice.name, choice.weights), choice.device, choice.weights)


def _method(method: str | MethodChoice, *, ready: bool = False) -> Method:
    """The embedded method (``ready``: loaded as a prediction would load it), its model
    errors as :class:`ReaderStudyError`."""
    from model.errors import ModelError
    from model.infer import get_method

    choice = _choice(method)
    try:
        return get_method(choice.name, device=choice.device, weights=choice.weights, ready=ready)
    except ModelError as exc:
        raise ReaderStudyError(str(exc)) from None


def method_hash(method: str | MethodChoice = "auto") -> str:
    """The version hash of the embedded method (changes with its weights, code and anatomy)."""
    return _method(method).version_hash


def _paths(out_dir: Path, case: str) -> dict[str, Path]:
    return {
        "mask": out_dir / "masks" / f"{case}.nii.gz",
        "png": out_dir / "quicklook" / f"{case}.png",
        "json": out_dir / "predictions" / f"{case}.json",
        "atlas": out_dir / "atlas" / f"{case}.nii.gz",
    }


def _cached_record(out_dir: Path, case: str, digest: str, version: str) -> dict | None:
    paths = _paths(out_dir, case)
    try:
        record = json.loads(paths["json"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("content_hash") != digest or record.get("method_hash") != version:
        return None
    needed = ["mask", "png"] + (["atlas"] if record.get("registration") else [])
    if not all(paths[name].is_file() for name in needed):
        return None
    return record


def _outline(labels: np.ndarray) -> np.ndarray:
    import numpy as np

    edges = np.zeros(labels.shape, bool)
    edges[:-1] |= labels[:-1] != labels[1:]
    edges[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    return edges


def write_quicklook(scan: sitk.Image, prediction: Prediction, path: Path, title: str) -> None:
    """PNG of two axial slices with the likelihood overlay: the ganglionic and
    supraganglionic levels with the atlas outline when the method registered the atlas,
    otherwise the slices at 45% and 65% of the volume's height."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import SimpleITK as sitk
    from matplotlib.figure import Figure

    values = sitk.GetArrayViewFromImage(scan)
    likelihood = sitk.GetArrayViewFromImage(prediction.likelihood)
    registration = prediction.registration
    if registration is not None:
        labels = sitk.GetArrayViewFromImage(registration.atlas)
        slices = {f"{level} (slice {k})": k for level, k in registration.levels.items()}
    else:
        labels = None
        top = values.shape[0] - 1
        slices = {f"slice {round(f * top)}": round(f * top) for f in (0.45, 0.65)}
    sx, sy = scan.GetSpacing()[:2]
    ny, nx = values.shape[1:]
    extent = (0, nx * sx, ny * sy, 0)
    figure = Figure(figsize=(9, 4.8), dpi=100)
    for n, (name, k) in enumerate(slices.items()):
        axes = figure.add_subplot(1, len(slices), n + 1)
        axes.imshow(values[k], cmap="gray", vmin=0, vmax=80, extent=extent)
        if labels is not None:
            edges = _outline(labels[k])
            axes.imshow(np.ma.masked_where(~edges, edges), cmap="autumn", alpha=0.9, extent=extent)
        overlay = np.ma.masked_where(likelihood[k] < 0.5, likelihood[k])
        axes.imshow(overlay, cmap="Reds", vmin=0.5, vmax=1, alpha=0.5, extent=extent)
        axes.set_title(f"{name}; R | L")
        axes.set_axis_off()
    aspects = prediction.aspects
    figure.suptitle(
        f"{title}: ASPECTS right {aspects['right']}, left {aspects['left']} "
        f"({prediction.method} {prediction.method_hash})"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png")


def _predict_and_write(
    scan: sitk.Image, case: str, source: str, out_dir: Path, choice: MethodChoice, digest: str
) -> dict:
    import SimpleITK as sitk

    from model.errors import ModelError
    from model.infer import predict
    from readerstudy.imaging import write_nifti

    try:
        prediction = predict(scan, choice.name, device=choice.device, weights=choice.weights)
    except ModelError as exc:
        raise CaseError(f"case {case}: {exc}", quicklook=getattr(exc, "quicklook", None)) from exc
    paths = _paths(out_dir, case)
    start = time.perf_counter()
    paths["mask"].parent.mkdir(parents=True, exist_ok=True)
    write_nifti(prediction.likelihood, paths["mask"])
    registration = prediction.registration
    if registration is not None:
        paths["atlas"].parent.mkdir(parents=True, exist_ok=True)
        atlas = sitk.Cast(registration.atlas, sitk.sitkUInt8)
        write_nifti(atlas, paths["atlas"])
    write_quicklook(scan, prediction, paths["png"], f"case {case}")
    rows = [
        {"case": case, "unit": r.unit, "probability": float(r.probability), "call": int(r.call)}
        for r in prediction.regions.itertuples()
    ]
    record = {
        "case": case,
        "source": source,
        "method": prediction.method,
        "method_hash": prediction.method_hash,
        "device": prediction.device,
        "model": prediction.model,
        "content_hash": digest,
        "aspects": prediction.aspects,
        "registration": None
        if registration is None
        else {
            "quality": registration.quality,
            "levels": registration.levels,
            "midsagittal": {
                "point": list(registration.midsagittal.point),
                "normal": list(registration.midsagittal.normal),
            },
        },
        "warnings": list(prediction.warnings),
        "timings": {**prediction.timings, "writing": time.perf_counter() - start},
        "regions": rows,
    }
    paths["json"].parent.mkdir(parents=True, exist_ok=True)
    write_text(paths["json"], json.dumps(record, indent=2) + "\n")
    return record


def _case_record(case_path: Path, out_dir: Path, choice: MethodChoice, case: str) -> dict:
    import SimpleITK as sitk

    from readerstudy.imaging.hashing import image_hash

    version = method_hash(choice)
    if not case_path.exists():
        raise CaseError(f"case {case}: {case_path} does not exist")
    volume = _load(case_path, case)
    scan = sitk.Cast(volume.image, sitk.sitkFloat32)
    # Equal to readerstudy.imaging.content_hash(case_path) (HU and geometry), loading once.
    digest = image_hash(scan)
    record = _cached_record(out_dir, case, digest, version)
    if record is None:
        record = _predict_and_write(scan, case, volume.source, out_dir, choice, digest)
    return record


def _write_regions(rows: list[dict], out_dir: Path) -> pd.DataFrame:
    import pandas as pd

    table = pd.DataFrame(rows, columns=REGION_COLUMNS)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_dir / "ai_regions.csv") as temporary:
        table.to_csv(temporary, index=False)
    return table


def predict_case(
    case_path: Path,
    out_dir: Path,
    *,
    method: str | MethodChoice = "auto",
    case_id: str | None = None,
) -> pd.DataFrame:
    """Predict one case (a case folder or a NIfTI file); write the outputs; return its rows.

    Raises :class:`CaseError` (a :class:`ReaderStudyError`) naming the case when it fails;
    a failed registration's quick-look is written as ``failed/<case>.png``.
    """
    case_path, out_dir = Path(case_path), Path(out_dir)
    check_output_folder(out_dir)
    case = case_id or nifti_stem(case_path)
    try:
        record = _case_record(case_path, out_dir, _choice(method), case)
    except CaseError as exc:
        failure = _failure(exc, case, out_dir)
        if failure.quicklook is None:
            raise
        raise CaseError(f"{exc} (quick-look: {failure.quicklook})") from exc
    return _write_regions(record["regions"], out_dir)


def find_cases(cases_dir: Path) -> list[SourceCase]:
    """The cases of ``cases_dir`` (:func:`readerstudy.imaging.cases.find_cases`); refuses a
    folder that is missing or holds none."""
    if not cases_dir.is_dir():
        raise ReaderStudyError(f"{cases_dir} is not a folder of cases")
    cases = find_source_cases(cases_dir)
    if not cases:
        raise ReaderStudyError(f"{cases_dir} holds no case folders or NIfTI files")
    return cases


def _write_failures(failures: list[CaseFailure], out_dir: Path, done: list[str]) -> None:
    """``failed.csv`` and ``failed/<case>.png`` of this batch; earlier ones of cases now done
    (or of a batch without failures) are removed."""
    table = out_dir / FAILED_TABLE
    for case in done:
        (out_dir / FAILED_DIR / f"{case}.png").unlink(missing_ok=True)
    if not failures:
        table.unlink(missing_ok=True)
        return
    with (
        atomic_output(table) as temporary,
        temporary.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(("case", "reason"))
        writer.writerows((f.case, f.reason) for f in failures)


def _failure(error: ReaderStudyError, case: str, out_dir: Path) -> CaseFailure:
    """The failure of ``case``; its quick-look (an RGB image), if any, as ``failed/<case>.png``."""
    import numpy as np

    reason = str(error).removeprefix(f"case {case}: ")
    path = out_dir / FAILED_DIR / f"{case}.png"
    picture = getattr(error, "quicklook", None)
    picture = None if picture is None else np.asarray(picture)
    if picture is None or picture.ndim != 3 or picture.shape[2] not in (3, 4):
        path.unlink(missing_ok=True)
        return CaseFailure(case, reason)
    import matplotlib.image

    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, picture)
    return CaseFailure(case, reason, path)


def predict_many(
    cases_dir: Path,
    out_dir: Path,
    *,
    method: str | MethodChoice = "auto",
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Predict every case in ``cases_dir`` (cached), write ``ai_regions.csv``; return it.

    A case that fails does not stop the others: once every case was tried, the failures are
    written to ``failed.csv`` (and ``failed/<case>.png``) and :class:`BatchError` is raised,
    carrying the table of the cases that succeeded.
    """
    cases_dir, out_dir = Path(cases_dir), Path(out_dir)
    check_output_folder(out_dir)
    choice = _choice(method)
    cases = find_cases(cases_dir)
    # An unknown method, unusable weights or a missing GPU fail the batch at once.
    _method(choice, ready=True)
    rows: list[dict] = []
    done: list[str] = []
    failures: list[CaseFailure] = []
    for count, source in enumerate(cases, start=1):
        case = source.name
        try:
            rows.extend(_case_record(source.path, out_dir, choice, case)["regions"])
            done.append(case)
        except ReaderStudyError as exc:
            failures.append(_failure(exc, case, out_dir))
        if progress is not None:
            progress(case, count, len(cases))
    table = _write_regions(rows, out_dir)
    _write_failures(failures, out_dir, done)
    if failures:
        raise BatchError(failures, table, out_dir)
    return table


def _record(out_dir: Path, case: str) -> dict | None:
    try:
        return json.loads(_paths(out_dir, case)["json"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def case_warnings(out_dir: Path, cases: list[str]) -> list[str]:
    """``case <id> (<file>): <warning>`` for every warning of the ``cases`` predicted in
    ``out_dir`` (what the model changed or doubted about their input)."""
    lines = []
    for case in cases:
        record = _record(out_dir, case) or {}
        source = record.get("source", "?")
        lines += [f"case {case} ({source}): {warning}" for warning in record.get("warnings", [])]
    return lines


def case_levels(out_dir: Path, cases: list[str]) -> list[dict]:
    """``case, ganglionic, supraganglionic`` slice indices (scan grid) of the ``cases`` whose
    prediction in ``out_dir`` carries a registration."""
    rows = []
    for case in cases:
        record = _record(out_dir, case) or {}
        levels = (record.get("registration") or {}).get("levels")
        if levels:
            rows.append({"case": case, **{k: int(levels[k]) for k in LEVEL_COLUMNS}})
    return rows
