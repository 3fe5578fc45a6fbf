"""Labelled case folders for evaluating and calibrating the model: scans with lesion masks and
unit truth.

The layout is a phantom set's (``readerstudy phantom generate``) and works for a site's own
cases too::

    <data>/<case>/            one DICOM series or NIfTI volume per case
    <data>/truth.csv          case, unit, truth (all 20 ASPECTS units of every case)
    <data>/masks/<case>.nii.gz  the acute lesion (0/1) on the case's grid

A mask on another grid of the same head (e.g. exported at another orientation) is resampled
onto the scan's grid, nearest neighbour.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from readerstudy.errors import ReaderStudyError

if TYPE_CHECKING:
    import SimpleITK as sitk

    from model.evaluate import LabelledCase
    from readerstudy.imaging.cases import SourceCase

TRUTH_FILE = "truth.csv"
MASKS_DIR = "masks"


class LabelledDataError(ReaderStudyError):
    """A labelled folder lacks truth, a mask or a readable scan; the message names it."""


def _truth(data_dir: Path) -> dict[str, dict[str, int]]:
    from analysis.errors import AnalysisInputError
    from analysis.tables import read_table, validate_truth
    from analysis.units import UNITS

    path = data_dir / TRUTH_FILE
    if not path.is_file():
        raise LabelledDataError(
            f"{data_dir} has no {TRUTH_FILE} (case, unit, truth); a labelled folder is laid out "
            "like `readerstudy phantom generate` output"
        )
    try:
        table = validate_truth(read_table(path))
    except AnalysisInputError as exc:
        raise LabelledDataError(str(exc)) from None
    truth: dict[str, dict[str, int]] = {}
    for row in table.itertuples():
        truth.setdefault(row.case, {})[row.unit] = int(row.truth)
    for case, units in truth.items():
        missing = sorted(set(UNITS) - set(units))
        if missing:
            raise LabelledDataError(
                f"{path}: case {case} lacks truth for {', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''} (all 20 ASPECTS units are needed)"
            )
    return truth


def _mask_on_grid(path: Path, scan: sitk.Image, case: str):
    import numpy as np
    import SimpleITK as sitk

    from model.infer import grid_mismatch

    try:
        mask = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise LabelledDataError(
            f"case {case}: cannot read the lesion mask {path}: {detail}"
        ) from None
    if mask.GetDimension() != 3:
        raise LabelledDataError(f"case {case}: the lesion mask {path} is not a 3-D volume")
    if grid_mismatch(mask, scan):
        mask = sitk.Resample(mask, scan, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    return (sitk.GetArrayFromImage(mask) > 0).astype(np.uint8)


def check_labelled(data_dir: Path) -> tuple[list[SourceCase], dict[str, dict[str, int]]]:
    """The cases and unit truth of a labelled folder, or a :class:`LabelledDataError`
    naming the first thing missing (checked before any scan is read)."""
    from readerstudy.workflows.ai import find_cases

    data_dir = Path(data_dir)
    cases = find_cases(data_dir)
    truth = _truth(data_dir)
    for case in (source.name for source in cases):
        if case not in truth:
            raise LabelledDataError(f"case {case} of {data_dir} is not in {TRUTH_FILE}")
        if not (data_dir / MASKS_DIR / f"{case}.nii.gz").is_file():
            raise LabelledDataError(
                f"case {case} has no lesion mask {data_dir / MASKS_DIR / f'{case}.nii.gz'}"
            )
    return cases, truth


def labelled_cases(data_dir: Path) -> Iterator[LabelledCase]:
    """Every case of a labelled folder as :class:`model.evaluate.LabelledCase` (Float32 HU)."""
    from model.evaluate import LabelledCase
    from readerstudy.workflows.ai import CaseError, load_scan

    data_dir = Path(data_dir)
    cases, truth = check_labelled(data_dir)
    for source in cases:
        case = source.name
        try:
            scan = load_scan(source.path, case)
        except CaseError as exc:
            raise LabelledDataError(str(exc)) from None
        lesion = _mask_on_grid(data_dir / MASKS_DIR / f"{case}.nii.gz", scan, case)
        yield LabelledCase(case, scan, lesion, truth[case])
