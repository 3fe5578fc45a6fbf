"""Run the embedded ASPECTS model on case folders and write the AI outputs of DATA_CONTRACTS.md.

Layout of an output folder::

    <out>/ai_regions.csv            case, unit, probability, call (all cases, all 20 units)
    <out>/masks/<case>.nii.gz       lesion likelihood (0-1) on the scan grid
    <out>/atlas/<case>.nii.gz       the ASPECTS atlas warped onto the scan grid (uint8 labels
                                    of model.anatomy.labels; the workstation's region outlines)
    <out>/quicklook/<case>.png      ganglionic and supraganglionic slices, atlas and likelihood
    <out>/predictions/<case>.json   method, version hash, registration quality, levels,
                                    ASPECTS, timings, content hash and the 20 unit rows

The per-case JSON doubles as the cache: a case whose JSON carries the same content hash and
method hash, with its mask and PNG present, is not recomputed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from readerstudy.errors import ReaderStudyError

if TYPE_CHECKING:
    import pandas as pd
    import SimpleITK as sitk

    from model.infer import Prediction

REGION_COLUMNS = ["case", "unit", "probability", "call"]
NIFTI_SUFFIXES = (".nii", ".nii.gz")

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(case_id, done, total)`` after each case."""


def _is_nifti(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(NIFTI_SUFFIXES)


def case_id_of(path: Path) -> str:
    """The case id of a case folder (its name) or of a NIfTI file (its name without suffix)."""
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def load_scan(path: Path, case: str) -> sitk.Image:
    """The case's CT volume as Float32 HU in LPS (what model methods take): a DICOM series, or
    a NIfTI file or folder.

    A folder without a DICOM series is read through its single NIfTI file.
    """
    import SimpleITK as sitk

    from readerstudy.imaging import ImagingError, SeriesSelectionError, load_volume

    try:
        try:
            image = load_volume(path).image
        except SeriesSelectionError:
            nifti = sorted(p for p in path.rglob("*") if _is_nifti(p)) if path.is_dir() else []
            if len(nifti) != 1:
                raise
            image = load_volume(nifti[0]).image
    except ImagingError as exc:
        raise ReaderStudyError(f"case {case}: {exc}") from exc
    return sitk.Cast(image, sitk.sitkFloat32)


def _method(name: str):
    from model.infer import get_method

    try:
        return get_method(name)
    except ValueError as exc:
        raise ReaderStudyError(str(exc)) from None
    except OSError as exc:
        raise ReaderStudyError(f"method {name!r} cannot load its weights: {exc}") from None


def _paths(out_dir: Path, case: str) -> dict[str, Path]:
    return {
        "mask": out_dir / "masks" / f"{case}.nii.gz",
        "png": out_dir / "quicklook" / f"{case}.png",
        "json": out_dir / "predictions" / f"{case}.json",
    }


def _cached_rows(out_dir: Path, case: str, digest: str, method_hash: str) -> list[dict] | None:
    paths = _paths(out_dir, case)
    if not all(p.is_file() for p in paths.values()):
        return None
    try:
        record = json.loads(paths["json"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("content_hash") != digest or record.get("method_hash") != method_hash:
        return None
    return record.get("regions")


def write_quicklook(scan: sitk.Image, prediction: Prediction, path: Path, title: str) -> None:
    """PNG of the ganglionic and supraganglionic slices: atlas outline and likelihood overlay."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import SimpleITK as sitk
    from matplotlib.figure import Figure

    values = sitk.GetArrayViewFromImage(scan)
    labels = sitk.GetArrayViewFromImage(prediction.registration.atlas)
    likelihood = sitk.GetArrayViewFromImage(prediction.likelihood)
    sx, sy = scan.GetSpacing()[:2]
    ny, nx = values.shape[1:]
    extent = (0, nx * sx, ny * sy, 0)
    figure = Figure(figsize=(9, 4.8), dpi=100)
    levels = prediction.registration.levels
    for n, level in enumerate(("ganglionic", "supraganglionic")):
        k = levels[level]
        axes = figure.add_subplot(1, 2, n + 1)
        axes.imshow(values[k], cmap="gray", vmin=0, vmax=80, extent=extent)
        edges = np.zeros(labels[k].shape, bool)
        edges[:-1] |= labels[k][:-1] != labels[k][1:]
        edges[:, :-1] |= labels[k][:, :-1] != labels[k][:, 1:]
        axes.imshow(np.ma.masked_where(~edges, edges), cmap="autumn", alpha=0.9, extent=extent)
        overlay = np.ma.masked_where(likelihood[k] < 0.5, likelihood[k])
        axes.imshow(overlay, cmap="Reds", vmin=0.5, vmax=1, alpha=0.5, extent=extent)
        axes.set_title(f"{level} (slice {k}); R | L")
        axes.set_axis_off()
    aspects = prediction.aspects
    figure.suptitle(
        f"{title}: ASPECTS right {aspects['right']}, left {aspects['left']} "
        f"({prediction.method} {prediction.method_hash})"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def _predict_and_write(
    scan: sitk.Image, case: str, out_dir: Path, method: str, digest: str
) -> list[dict]:
    import SimpleITK as sitk

    from model.errors import ModelError

    runner = _method(method)
    try:
        prediction = runner.predict(scan)
    except ModelError as exc:
        raise ReaderStudyError(f"case {case}: {exc}") from exc
    paths = _paths(out_dir, case)
    start = time.perf_counter()
    paths["mask"].parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(prediction.likelihood, str(paths["mask"]), useCompression=True)
    if prediction.registration is not None:
        atlas = out_dir / "atlas" / f"{case}.nii.gz"
        atlas.parent.mkdir(parents=True, exist_ok=True)
        labels = sitk.Cast(prediction.registration.atlas, sitk.sitkUInt8)
        sitk.WriteImage(labels, str(atlas), useCompression=True)
    write_quicklook(scan, prediction, paths["png"], f"case {case}")
    rows = [
        {"case": case, "unit": r.unit, "probability": float(r.probability), "call": int(r.call)}
        for r in prediction.regions.itertuples()
    ]
    registration = prediction.registration
    record = {
        "case": case,
        "method": prediction.method,
        "method_hash": prediction.method_hash,
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
        "timings": {**prediction.timings, "writing": time.perf_counter() - start},
        "regions": rows,
    }
    paths["json"].parent.mkdir(parents=True, exist_ok=True)
    paths["json"].write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return rows


def _case_rows(case_path: Path, out_dir: Path, method: str, case: str) -> list[dict]:
    from readerstudy.imaging.hashing import image_hash

    method_hash = _method(method).version_hash
    if not case_path.exists():
        raise ReaderStudyError(f"case {case}: {case_path} does not exist")
    scan = load_scan(case_path, case)
    # Equal to readerstudy.imaging.content_hash(case_path) (HU and geometry), loading once.
    digest = image_hash(scan)
    cached = _cached_rows(out_dir, case, digest, method_hash)
    if cached is not None:
        return cached
    return _predict_and_write(scan, case, out_dir, method, digest)


def _write_regions(rows: list[dict], out_dir: Path) -> pd.DataFrame:
    import pandas as pd

    table = pd.DataFrame(rows, columns=REGION_COLUMNS)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "ai_regions.csv", index=False)
    return table


def predict_case(
    case_path: Path, out_dir: Path, *, method: str = "asymmetry", case_id: str | None = None
) -> pd.DataFrame:
    """Predict one case (a case folder or a NIfTI file); write the outputs; return its rows."""
    case_path, out_dir = Path(case_path), Path(out_dir)
    case = case_id or case_id_of(case_path)
    return _write_regions(_case_rows(case_path, out_dir, method, case), out_dir)


NOT_CASES = frozenset({"masks"})
"""Folder names beside the cases that are not cases (a phantom set's lesion masks)."""


def find_cases(cases_dir: Path) -> list[Path]:
    """Case folders (and NIfTI files) directly inside ``cases_dir``, sorted by name.

    Hidden entries and ``masks/`` (the lesion masks of a phantom set) are skipped.
    """
    if not cases_dir.is_dir():
        raise ReaderStudyError(f"{cases_dir} is not a folder of cases")
    cases = sorted(
        p
        for p in cases_dir.iterdir()
        if not p.name.startswith(".") and ((p.is_dir() and p.name not in NOT_CASES) or _is_nifti(p))
    )
    if not cases:
        raise ReaderStudyError(f"{cases_dir} holds no case folders or NIfTI files")
    return cases


def predict_many(
    cases_dir: Path,
    out_dir: Path,
    *,
    method: str = "asymmetry",
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Predict every case in ``cases_dir`` (cached), write ``ai_regions.csv``; return it."""
    cases_dir, out_dir = Path(cases_dir), Path(out_dir)
    cases = find_cases(cases_dir)
    rows: list[dict] = []
    for done, path in enumerate(cases, start=1):
        case = case_id_of(path)
        rows.extend(_case_rows(path, out_dir, method, case))
        if progress is not None:
            progress(case, done, len(cases))
    return _write_regions(rows, out_dir)
